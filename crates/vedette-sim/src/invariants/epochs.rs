//! `epoch_monotonic` and `persist_before_speak`.
//!
//! Epochs are checked against what is *on disk* (the simulated disk's durable snapshot), not against the
//! node's memory: a sentinel may reveal an epoch (hello, vote request, vote reply) or a vote only once the
//! state that covers it is durable, so that a crash can never make it reuse an epoch or vote twice.

use vedette_core::PersistedState;

use super::{violation, Check};

/// Highest epoch a durable snapshot accounts for: `current_epoch`, or a higher `config-epoch` (Redis takes
/// the max of both when loading).
pub fn durable_epoch(s: &PersistedState) -> u64 {
    s.masters
        .values()
        .map(|m| m.config_epoch)
        .fold(s.current_epoch, u64::max)
}

/// A persisted snapshot's epochs: current epoch, and per master (name, leader epoch, config epoch).
type EpochSnapshot = (u64, Vec<(String, u64, u64)>);

/// Per-node epoch bookkeeping.
#[derive(Debug)]
pub struct Epochs {
    /// Last issued persist: (current_epoch, per master (leader_epoch, config_epoch)) — within an incarnation.
    issued: Vec<Option<EpochSnapshot>>,
    /// Highest current epoch revealed on the network by this incarnation.
    revealed: Vec<u64>,
}

impl Epochs {
    /// For `n` nodes.
    pub fn new(n: usize) -> Self {
        Epochs {
            issued: vec![None; n],
            revealed: vec![0; n],
        }
    }

    /// A node (re)started from `durable`.
    pub fn restarted(&mut self, node: usize, durable: &PersistedState) {
        self.issued[node] = Some(snapshot(durable));
        self.revealed[node] = 0;
    }

    /// A persist was issued.
    pub fn persist_issued(&mut self, t: u64, node: usize, st: &PersistedState) -> Check {
        let new = snapshot(st);
        if let Some((prev_epoch, prev_masters)) = &self.issued[node] {
            if new.0 < *prev_epoch {
                return Err(violation(
                    "epoch_monotonic",
                    t,
                    format!(
                        "S{node} persisted current_epoch {} after {}",
                        new.0, prev_epoch
                    ),
                ));
            }
            for (name, le, ce) in &new.1 {
                if let Some((_, ple, pce)) = prev_masters.iter().find(|(n, _, _)| n == name) {
                    if le < ple {
                        return Err(violation(
                            "epoch_monotonic",
                            t,
                            format!("S{node} persisted leader-epoch {le} of {name} after {ple}"),
                        ));
                    }
                    if ce < pce {
                        return Err(violation(
                            "epoch_monotonic",
                            t,
                            format!("S{node} persisted config-epoch {ce} of {name} after {pce}"),
                        ));
                    }
                }
            }
        }
        self.issued[node] = Some(new);
        Ok(())
    }

    /// The node sends something revealing its current epoch `epoch`; `durable` is its disk now.
    pub fn reveal(
        &mut self,
        t: u64,
        node: usize,
        epoch: u64,
        what: &str,
        durable: &PersistedState,
    ) -> Check {
        durable_covers(t, epoch, durable, || {
            format!("S{node} revealed epoch {epoch} in {what}")
        })?;
        if epoch < self.revealed[node] {
            return Err(violation(
                "epoch_monotonic",
                t,
                format!(
                    "S{node} revealed epoch {epoch} in {what} after revealing {}",
                    self.revealed[node]
                ),
            ));
        }
        self.revealed[node] = epoch;
        Ok(())
    }

    /// The node asks for votes in `epoch` (vedette asks in its attempt's failover epoch, which later
    /// attempts for other masters may have passed: it is not a current-epoch reveal). It must be durable,
    /// and it must be the epoch of the node's current attempt for that master (`attempt`): a request in any
    /// other epoch gathers votes the tally never counts.
    pub fn reveal_vote_request(
        &mut self,
        t: u64,
        node: usize,
        epoch: u64,
        attempt: Option<u64>,
        durable: &PersistedState,
    ) -> Check {
        durable_covers(t, epoch, durable, || {
            format!("S{node} asked for votes in epoch {epoch}")
        })?;
        if attempt != Some(epoch) {
            return Err(violation(
                "vote_request_epoch",
                t,
                format!(
                    "S{node} asked for votes in epoch {epoch}, but its attempt runs in epoch {attempt:?}"
                ),
            ));
        }
        Ok(())
    }

    /// The node sends a vote in `epoch` for `master_name`; the durable state must cover it: the master's
    /// leader-epoch, or the current epoch (a restarted sentinel grants no vote at or below the current
    /// epoch it loaded, so a vote is as durable as its epoch; `one_vote_per_epoch` checks that rule).
    pub fn reveal_vote(
        &mut self,
        t: u64,
        node: usize,
        master_name: &str,
        epoch: u64,
        durable: &PersistedState,
    ) -> Check {
        let le = durable
            .masters
            .get(master_name)
            .map(|m| m.leader_epoch)
            .unwrap_or(0);
        let d = durable_epoch(durable);
        if epoch > le.max(d) {
            return Err(violation(
                "persist_before_speak",
                t,
                format!("S{node} sent a vote for {master_name} in epoch {epoch} while its durable leader-epoch is {le} and its durable epoch {d}"),
            ));
        }
        Ok(())
    }
}

/// `persist_before_speak` for an epoch a node reveals: the durable snapshot must account for `epoch`.
/// `said` describes what the node sent, for the violation (built only when there is one).
fn durable_covers(
    t: u64,
    epoch: u64,
    durable: &PersistedState,
    said: impl FnOnce() -> String,
) -> Check {
    let d = durable_epoch(durable);
    if epoch > d {
        return Err(violation(
            "persist_before_speak",
            t,
            format!("{} while its durable epoch is {d}", said()),
        ));
    }
    Ok(())
}

fn snapshot(s: &PersistedState) -> EpochSnapshot {
    (
        s.current_epoch,
        s.masters
            .iter()
            .map(|(n, m)| (n.clone(), m.leader_epoch, m.config_epoch))
            .collect(),
    )
}

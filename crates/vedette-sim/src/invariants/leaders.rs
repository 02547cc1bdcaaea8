//! `one_leader_per_epoch`, `one_promotion_per_epoch` and `minority_never_promotes`.
//!
//! A sentinel's failover epoch is the epoch of the `+new-epoch` it emitted just before `+try-failover`.
//! At `+elected-leader` the winner must hold votes (that actually reached it) from an absolute majority of
//! the configured sentinels and at least `quorum`; a `REPLICAOF NO ONE` may only be sent by the winner of
//! that epoch, to one replica; and a sentinel that could not talk to a majority at any moment since it
//! started trying must not promote.

use std::collections::BTreeMap;

use super::{violation, Check};

/// Leader and promotion bookkeeping.
#[derive(Debug)]
pub struct Leaders {
    majority: usize,
    quorum: u32,
    /// Highest epoch each node announced with `+new-epoch` (reset from disk at restart).
    node_epoch: Vec<u64>,
    /// (node, master) -> failover epoch of its latest attempt.
    attempt: BTreeMap<(usize, usize), u64>,
    /// (master, epoch) -> winner.
    elected: BTreeMap<(usize, u64), usize>,
    /// Every (node, master, epoch) that emitted +elected-leader.
    elected_by: std::collections::BTreeSet<(usize, usize, u64)>,
    /// (master, epoch) -> promoted instance.
    promoted: BTreeMap<(usize, u64), usize>,
    /// (node, master, epoch) -> every sentinel (bitmask, incl. itself) it could talk to in both directions at
    /// some moment since the attempt began. Votes may be gathered across partition changes, so it is the
    /// union that bounds what it can have heard from, not the largest simultaneous group.
    reach: BTreeMap<(usize, usize, u64), u64>,
    /// Distinct (master, epoch) with an attempt.
    pub rounds: BTreeMap<usize, Vec<u64>>,
}

impl Leaders {
    /// For `n` nodes.
    pub fn new(n: usize, _groups: usize, majority: usize, quorum: u32) -> Self {
        Leaders {
            majority,
            quorum,
            node_epoch: vec![0; n],
            attempt: BTreeMap::new(),
            elected: BTreeMap::new(),
            elected_by: std::collections::BTreeSet::new(),
            promoted: BTreeMap::new(),
            reach: BTreeMap::new(),
            rounds: BTreeMap::new(),
        }
    }

    /// `+new-epoch <e>` from `node`.
    pub fn new_epoch(&mut self, node: usize, epoch: u64) {
        self.node_epoch[node] = self.node_epoch[node].max(epoch);
    }

    /// The node restarted knowing `epoch`.
    pub fn restarted(&mut self, node: usize, epoch: u64) {
        self.node_epoch[node] = epoch;
    }

    /// `+try-failover` from `node`; `reach` = bitmask of sentinels it can currently talk to (incl. itself).
    pub fn try_failover(&mut self, node: usize, master: usize, reach: u64) -> u64 {
        let e = self.node_epoch[node];
        self.attempt.insert((node, master), e);
        self.reach.insert((node, master, e), reach);
        let r = self.rounds.entry(master).or_default();
        if !r.contains(&e) {
            r.push(e);
        }
        e
    }

    /// The network changed: `reach(node)` is the bitmask it can talk to now.
    pub fn network_changed(&mut self, reach: impl Fn(usize) -> u64) {
        for ((node, _, _), r) in self.reach.iter_mut() {
            *r |= reach(*node);
        }
    }

    /// Failover epoch of the node's current attempt for master.
    pub fn attempt_epoch(&self, node: usize, master: usize) -> Option<u64> {
        self.attempt.get(&(node, master)).copied()
    }

    /// `+elected-leader`: `votes` = distinct voters whose vote reached it (+1 if it voted for itself).
    pub fn elected(
        &mut self,
        t: u64,
        node: usize,
        master: usize,
        votes: usize,
    ) -> (Check, Check, u64) {
        let Some(e) = self.attempt_epoch(node, master) else {
            return (
                Err(violation(
                    "one_leader_per_epoch",
                    t,
                    format!(
                        "S{node} emitted +elected-leader for m{master} without a +try-failover"
                    ),
                )),
                Ok(()),
                0,
            );
        };
        self.elected_by.insert((node, master, e));
        let unique = match self.elected.get(&(master, e)) {
            Some(&other) if other != node => Err(violation(
                "one_leader_per_epoch",
                t,
                format!("S{node} and S{other} were both elected leader for m{master} in epoch {e}"),
            )),
            _ => {
                self.elected.insert((master, e), node);
                Ok(())
            }
        };
        let enough = if votes < self.majority || (votes as u32) < self.quorum {
            Err(violation(
                "leader_has_majority",
                t,
                format!(
                    "S{node} elected for m{master} in epoch {e} holding {votes} votes (majority {}, quorum {})",
                    self.majority, self.quorum
                ),
            ))
        } else {
            Ok(())
        };
        (unique, enough, e)
    }

    /// `REPLICAOF NO ONE` sent by `node` to `redis` of `master`.
    /// Returns (won the epoch — strict, only replica of the epoch, minority check — both agreed-set-only, epoch).
    pub fn promote(
        &mut self,
        t: u64,
        node: usize,
        master: usize,
        redis: usize,
    ) -> (Check, Check, Check, u64) {
        let Some(e) = self.attempt_epoch(node, master) else {
            return (
                Err(violation(
                    "one_promotion_per_epoch",
                    t,
                    format!("S{node} sent REPLICAOF NO ONE to R{redis} (m{master}) without any failover attempt"),
                )),
                Ok(()),
                Ok(()),
                0,
            );
        };
        let won = match self.elected.get(&(master, e)) {
            Some(&w) if w == node => Ok(()),
            Some(_) if self.elected_by.contains(&(node, master, e)) => Ok(()),
            other => Err(violation(
                "one_promotion_per_epoch",
                t,
                format!(
                    "S{node} sent REPLICAOF NO ONE to R{redis} for m{master} in epoch {e} without winning it (winner: {})",
                    other.map(|w| format!("S{w}")).unwrap_or_else(|| "none".into())
                ),
            )),
        };
        let unique = match self.promoted.get(&(master, e)) {
            Some(&other) if other != redis => Err(violation(
                "one_promotion_per_epoch",
                t,
                format!("m{master} epoch {e}: R{other} and R{redis} were both promoted"),
            )),
            _ => {
                self.promoted.insert((master, e), redis);
                Ok(())
            }
        };
        let reach = self
            .reach
            .get(&(node, master, e))
            .copied()
            .unwrap_or(0)
            .count_ones() as usize;
        let minority = if reach < self.majority {
            Err(violation(
                "minority_never_promotes",
                t,
                format!(
                    "S{node} promoted R{redis} for m{master} in epoch {e} but could talk to only {reach} \
                     sentinels (majority {}) since its attempt began",
                    self.majority
                ),
            ))
        } else {
            Ok(())
        };
        (won, unique, minority, e)
    }

    /// Epochs in which some replica of `master` was promoted.
    pub fn promotion_epochs(&self, master: usize) -> Vec<u64> {
        self.promoted
            .keys()
            .filter(|(m, _)| *m == master)
            .map(|(_, e)| *e)
            .collect()
    }

    /// Number of distinct (master, epoch) promotions.
    pub fn promotions(&self) -> usize {
        self.promoted.len()
    }
}

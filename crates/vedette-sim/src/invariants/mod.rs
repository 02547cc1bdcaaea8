//! The safety properties, checked from the history of acts after every step.
//!
//! | property | source of the rule |
//! |---|---|
//! | `one_vote_per_epoch` | sentinel.c `sentinelVoteLeader`: `leader_epoch < req_epoch` (raft-rs `test_follower_vote`) |
//! | `epoch_monotonic` | sentinel.c: `current_epoch` only grows; persisted before it is used (reference §6.1) |
//! | `persist_before_speak` | DESIGN.md "Persist before you speak"; reference §6.3 ("written before the reply is sent") |
//! | `one_leader_per_epoch` | at most one `+elected-leader` per (master, epoch) |
//! | `leader_has_majority` | sentinel.c `sentinelGetLeader`: the winner holds votes *of its failover epoch* from an absolute majority and ≥ quorum |
//! | `one_promotion_per_epoch` | only the epoch's leader leaves WAIT_START (reference §6.5, §7.1) |
//! | `config_epoch_agreement` | hello processing: the highest config epoch wins (reference §2.5 step 5) |
//! | `odown_needs_quorum` | ODOWN only with quorum − 1 fresh down-replies about the same address (§5.3, §5.4) |
//! | `sdown_needs_down_after` (finding only) | after `+switch-master` the new address gets a full down-after period (§7.9) |
//! | `minority_never_promotes` | a leader needs a majority's votes, which a minority side cannot reach |
//!
//! Properties that only hold when every sentinel counts the same voters (leader, promotion and config
//! epoch uniqueness, minority) are strict in plans with a pre-seeded agreed sentinel set; in discovery
//! plans their breaches are counted as findings (Redis Sentinel itself can elect twice there).

mod config_epochs;
mod epochs;
mod leaders;
mod odown;
mod votes;

use std::fmt;

pub use config_epochs::ConfigEpochs;
pub use epochs::durable_epoch;
pub use epochs::Epochs;
pub use leaders::Leaders;
pub use odown::Odown;
pub use votes::{Via, Votes};

/// A broken property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Property name (table above).
    pub invariant: &'static str,
    /// Global time (ms).
    pub time: u64,
    /// What exactly.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] at {} ms: {}",
            self.invariant, self.time, self.detail
        )
    }
}

/// Result of a check.
pub type Check = Result<(), Violation>;

/// Build a violation.
pub fn violation(invariant: &'static str, time: u64, detail: String) -> Violation {
    Violation {
        invariant,
        time,
        detail,
    }
}

/// All stateful checkers together.
#[derive(Debug)]
pub struct Checker {
    /// Votes.
    pub votes: Votes,
    /// Epochs and persistence.
    pub epochs: Epochs,
    /// Leaders, promotions, minority.
    pub leaders: Leaders,
    /// Config epochs.
    pub config: ConfigEpochs,
    /// ODOWN evidence.
    pub odown: Odown,
    /// Breaches of the agreed-set-only properties in discovery plans (reported, not failed).
    pub findings: Vec<Violation>,
    strict: bool,
}

impl Checker {
    /// A checker for `n` sentinels; `strict` when the plan pre-seeds an agreed sentinel set.
    pub fn new(n: usize, groups: usize, majority: usize, quorum: u32, strict: bool) -> Self {
        Checker {
            votes: Votes::default(),
            epochs: Epochs::new(n),
            leaders: Leaders::new(n, groups, majority, quorum),
            config: ConfigEpochs::default(),
            odown: Odown::default(),
            findings: Vec::new(),
            strict,
        }
    }

    /// Pass strict violations through; turn the agreed-set-only ones into findings in discovery plans.
    pub fn soft(&mut self, r: Check) -> Check {
        match r {
            Err(v) if !self.strict => self.finding(v),
            r => r,
        }
    }

    /// Record a breach as a finding instead of failing the run.
    pub fn finding(&mut self, v: Violation) -> Check {
        if self.findings.len() < 100 {
            self.findings.push(v);
        }
        Ok(())
    }
}

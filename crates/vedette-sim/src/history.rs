//! The append-only record of observable acts at the node boundary, and the run's fingerprint.
//!
//! Acts are what a node *did* as seen from outside (a vote sent, an epoch persisted, a promotion sent),
//! never its internal state, so the checker works across crashes exactly like an outside observer would.
//! Every scheduler step is also folded into [`History::hash`], which is what the determinism test
//! compares.

use std::fmt;

/// One observable act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// A vote left the node (`is-master-down-by-addr` reply or its own `+vote-for-leader`).
    Vote {
        /// Voter.
        voter: usize,
        /// Master group.
        master: usize,
        /// Epoch.
        epoch: u64,
        /// Candidate index (None: an id that is not a sentinel of the run).
        leader: Option<usize>,
    },
    /// A persist was issued with this current epoch.
    Persist {
        /// Node.
        node: usize,
        /// `current_epoch` in the snapshot.
        epoch: u64,
    },
    /// The node emitted `+try-failover` (its failover epoch as tracked from `+new-epoch`).
    TryFailover {
        /// Node.
        node: usize,
        /// Master group.
        master: usize,
        /// Epoch.
        epoch: u64,
    },
    /// `+elected-leader`.
    Elected {
        /// Node.
        node: usize,
        /// Master group.
        master: usize,
        /// Epoch.
        epoch: u64,
    },
    /// `REPLICAOF NO ONE` sent.
    Promote {
        /// Node.
        node: usize,
        /// Master group.
        master: usize,
        /// Epoch.
        epoch: u64,
        /// Redis instance.
        redis: usize,
    },
    /// `+switch-master` to this port.
    Switch {
        /// Node.
        node: usize,
        /// Master group.
        master: usize,
        /// New master port.
        port: u16,
    },
    /// `+tilt`.
    Tilt {
        /// Node.
        node: usize,
    },
    /// Sentinel crashed.
    Crash {
        /// Node.
        node: usize,
    },
    /// Sentinel restarted from its durable state.
    Restart {
        /// Node.
        node: usize,
        /// Durable current epoch.
        epoch: u64,
    },
    /// A fault started or ended (description).
    Fault(String),
}

impl fmt::Display for Act {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Act::Vote {
                voter,
                master,
                epoch,
                leader,
            } => {
                write!(f, "S{voter} votes m{master} epoch {epoch} for ")?;
                match leader {
                    Some(l) => write!(f, "S{l}"),
                    None => write!(f, "<unknown id>"),
                }
            }
            Act::Persist { node, epoch } => write!(f, "S{node} persists current_epoch {epoch}"),
            Act::TryFailover {
                node,
                master,
                epoch,
            } => write!(f, "S{node} +try-failover m{master} epoch {epoch}"),
            Act::Elected {
                node,
                master,
                epoch,
            } => write!(f, "S{node} +elected-leader m{master} epoch {epoch}"),
            Act::Promote {
                node,
                master,
                epoch,
                redis,
            } => {
                write!(
                    f,
                    "S{node} sends REPLICAOF NO ONE to R{redis} (m{master} epoch {epoch})"
                )
            }
            Act::Switch { node, master, port } => {
                write!(f, "S{node} +switch-master m{master} -> :{port}")
            }
            Act::Tilt { node } => write!(f, "S{node} +tilt"),
            Act::Crash { node } => write!(f, "S{node} crashes"),
            Act::Restart { node, epoch } => write!(f, "S{node} restarts (durable epoch {epoch})"),
            Act::Fault(s) => write!(f, "fault: {s}"),
        }
    }
}

/// FNV-1a style 64-bit mixing (stable across Rust releases, unlike `DefaultHasher`).
#[derive(Debug, Clone, Copy)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Mix bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    /// Mix a number.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// The record of a run.
#[derive(Debug, Default)]
pub struct History {
    /// (global time, act).
    pub acts: Vec<(u64, Act)>,
    /// Fingerprint of every step and act.
    pub hash: Fnv,
}

impl History {
    /// Record an act.
    pub fn push(&mut self, t: u64, act: Act) {
        self.hash.u64(t);
        self.hash.bytes(act.to_string().as_bytes());
        self.acts.push((t, act));
    }

    /// The last `n` acts, formatted.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let start = self.acts.len().saturating_sub(n);
        self.acts[start..]
            .iter()
            .map(|(t, a)| format!("{t:>8} ms  {a}"))
            .collect()
    }
}

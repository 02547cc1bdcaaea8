//! `ModelRedis`: just enough of a Redis instance for a sentinel to monitor, fail over and reconfigure.
//!
//! The data set is a replication log of write ids (0 = the master's periodic replication ping), so the
//! replication offset is the log length, a replica that tails its master copies a prefix, and a replica
//! re-pointed at a master whose history diverged does a full resync (losing what only it had). That is
//! exactly what makes acknowledged writes disappear after a failover, which the run reports.

use crate::plan::{InstancePlan, HOST};

/// The instance's configured role (survives restarts: `CONFIG REWRITE` is part of every reconfiguration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `role:master`.
    Master,
    /// `role:slave` of host:port.
    Replica {
        /// Master host.
        host: String,
        /// Master port.
        port: u16,
    },
}

/// A replication log with prefix hashes, so "is my log a prefix of yours" is O(1).
#[derive(Debug, Clone, Default)]
pub struct Log {
    entries: Vec<u64>,
    prefix_hash: Vec<u64>,
}

impl Log {
    /// Append one entry.
    pub fn push(&mut self, v: u64) {
        let prev = self
            .prefix_hash
            .last()
            .copied()
            .unwrap_or(0xcbf2_9ce4_8422_2325);
        let h = (prev ^ v)
            .wrapping_mul(0x0000_0100_0000_01B3)
            .rotate_left(17)
            ^ v.wrapping_mul(0x9E37_79B9);
        self.entries.push(v);
        self.prefix_hash.push(h);
    }
    /// Length (= replication offset).
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Whether `self` is a prefix of `other`.
    pub fn is_prefix_of(&self, other: &Log) -> bool {
        match self.prefix_hash.last() {
            None => true,
            Some(h) => other.prefix_hash.get(self.len() - 1) == Some(h),
        }
    }
    /// Copy `other`'s entries beyond our length (caller checked the prefix).
    pub fn catch_up(&mut self, other: &Log) {
        for &v in &other.entries[self.len().min(other.len())..] {
            self.push(v);
        }
    }
    /// The entries.
    pub fn entries(&self) -> &[u64] {
        &self.entries
    }
    /// Forget everything.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.prefix_hash.clear();
    }
}

/// One model Redis instance.
#[derive(Debug, Clone)]
pub struct ModelRedis {
    /// Index in the world.
    pub idx: usize,
    /// Port.
    pub port: u16,
    /// Group it belongs to.
    pub group: usize,
    /// `replica-priority`.
    pub priority: u32,
    /// Current run id (new at every restart).
    pub run_id: String,
    /// Process running.
    pub alive: bool,
    /// Answers `-LOADING` to PING until this global time.
    pub loading_until: u64,
    /// Configured role.
    pub role: Role,
    /// Data.
    pub log: Log,
    /// Replica: link to its master is up and synced.
    pub link_up: bool,
    /// Replica: global time the link went down (None = up, or never connected since start).
    pub link_down_since: Option<u64>,
    /// Replica: a (full or partial) sync completes at this global time.
    pub sync_done_at: Option<u64>,
    /// Master: last global time a replication ping entry was appended.
    pub last_ping_entry: u64,
}

impl ModelRedis {
    /// A running instance.
    pub fn new(idx: usize, p: &InstancePlan, run_id: String, role: Role) -> Self {
        ModelRedis {
            idx,
            port: p.port,
            group: p.group,
            priority: p.priority,
            run_id,
            alive: true,
            loading_until: 0,
            role,
            log: Log::default(),
            link_up: false,
            link_down_since: None,
            sync_done_at: None,
            last_ping_entry: 0,
        }
    }

    /// Whether it answers `-LOADING` now.
    pub fn loading(&self, now: u64) -> bool {
        now < self.loading_until
    }

    /// Whether it is configured as master.
    pub fn is_master(&self) -> bool {
        self.role == Role::Master
    }

    /// The master port it replicates from, if a replica.
    pub fn master_port(&self) -> Option<u16> {
        match &self.role {
            Role::Master => None,
            Role::Replica { port, .. } => Some(*port),
        }
    }

    /// `SLAVEOF NO ONE`: keeps the data, starts its own history from here.
    pub fn become_master(&mut self) {
        self.role = Role::Master;
        self.link_up = false;
        self.link_down_since = None;
        self.sync_done_at = None;
    }

    /// `SLAVEOF host port`.
    pub fn become_replica(&mut self, host: String, port: u16, now: u64) {
        let same =
            matches!(&self.role, Role::Replica { host: h, port: p } if *h == host && *p == port);
        if same {
            return;
        }
        self.role = Role::Replica { host, port };
        self.link_up = false;
        self.link_down_since = Some(now);
        self.sync_done_at = None;
    }

    /// Kill the process.
    pub fn crash(&mut self) {
        self.alive = false;
        self.link_up = false;
        self.sync_done_at = None;
    }

    /// Start the process again (same config file), with its data or empty.
    pub fn restart(&mut self, now: u64, keep_data: bool, loading_ms: u64, run_id: String) {
        self.alive = true;
        self.run_id = run_id;
        self.loading_until = now + if keep_data { loading_ms } else { 0 };
        if !keep_data {
            self.log.clear();
        }
        self.link_up = false;
        self.link_down_since = None;
        self.sync_done_at = None;
        self.last_ping_entry = now;
    }

    /// INFO text, in Redis's format (sections, CRLF), for the core's own parser.
    /// `replicas` are (port, offset) of replicas currently connected to this instance.
    pub fn render_info(&self, now: u64, replicas: &[(u16, u64)]) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(512);
        let _ = write!(
            s,
            "# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\nrun_id:{}\r\ntcp_port:{}\r\n\r\n# Replication\r\n",
            self.run_id, self.port
        );
        let offset = self.log.len() as u64;
        match &self.role {
            Role::Master => {
                let _ = write!(s, "role:master\r\nconnected_slaves:{}\r\n", replicas.len());
                for (i, (port, off)) in replicas.iter().enumerate() {
                    let _ = write!(
                        s,
                        "slave{i}:ip={HOST},port={port},state=online,offset={off},lag=0\r\n"
                    );
                }
            }
            Role::Replica { host, port } => {
                let _ = write!(
                    s,
                    "role:slave\r\nmaster_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\n\
                     master_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{offset}\r\n\
                     slave_repl_offset:{offset}\r\n",
                    if self.link_up { "up" } else { "down" },
                    if self.link_up { 0 } else { -1 },
                    u8::from(self.sync_done_at.is_some()),
                );
                if !self.link_up {
                    let since = match self.link_down_since {
                        Some(t) => (now.saturating_sub(t) / 1000) as i64,
                        None => -1,
                    };
                    let _ = write!(s, "master_link_down_since_seconds:{since}\r\n");
                }
                let _ = write!(
                    s,
                    "slave_priority:{}\r\nslave_read_only:1\r\nreplica_announced:1\r\nconnected_slaves:{}\r\n",
                    self.priority,
                    replicas.len()
                );
                for (i, (port, off)) in replicas.iter().enumerate() {
                    let _ = write!(
                        s,
                        "slave{i}:ip={HOST},port={port},state=online,offset={off},lag=0\r\n"
                    );
                }
            }
        }
        let _ = write!(
            s,
            "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_repl_offset:{offset}\r\n",
            &self.run_id
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vedette_core::wire::info::{InfoReport, Role as InfoRole};

    fn inst(role: Role) -> ModelRedis {
        let p = InstancePlan {
            port: 6401,
            group: 0,
            priority: 42,
        };
        ModelRedis::new(1, &p, "a".repeat(40), role)
    }

    #[test]
    fn info_round_trips_through_the_core_parser() {
        let mut m = inst(Role::Master);
        m.log.push(1);
        let r = InfoReport::parse(&m.render_info(0, &[(6402, 1)]));
        assert_eq!(r.role, Some(InfoRole::Master));
        assert_eq!(r.replicas.len(), 1);
        assert_eq!(r.replicas[0].port, 6402);
        assert_eq!(r.run_id.as_deref(), Some("a".repeat(40).as_str()));

        let mut rep = inst(Role::Replica {
            host: HOST.into(),
            port: 6400,
        });
        rep.link_down_since = Some(0);
        let r = InfoReport::parse(&rep.render_info(5_500, &[]));
        assert_eq!(r.role, Some(InfoRole::Slave));
        assert_eq!(r.master_port, Some(6400));
        assert_eq!(r.master_link_up, Some(false));
        assert_eq!(r.master_link_down_ms, 5_000);
        assert_eq!(r.slave_priority, Some(42));
    }

    #[test]
    fn log_prefixes() {
        let mut a = Log::default();
        let mut b = Log::default();
        for i in 0..10 {
            a.push(i);
        }
        assert!(b.is_prefix_of(&a));
        b.catch_up(&a);
        assert!(b.is_prefix_of(&a) && a.is_prefix_of(&b));
        b.push(99);
        a.push(100);
        assert!(!b.is_prefix_of(&a));
    }
}

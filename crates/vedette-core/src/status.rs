//! A typed, owned picture of everything a sentinel knows, for the shell's HTTP endpoints (`/metrics`,
//! `/status`, the load-balancer probes).
//!
//! The shell builds one with [`Sentinel::status`] after a step of the core and publishes it; HTTP handlers
//! read the published copy, so a scrape never waits for (or delays) the sentinel loop. The values are the
//! ones `SENTINEL MASTER`, `REPLICAS`, `SENTINELS`, `CKQUORUM` and `INFO` show, computed by the same code
//! (flags, ckquorum), so a dashboard reading either sees the same numbers.

use crate::instance::Master;
use crate::reply::Reply;
use crate::sentinel::Sentinel;

/// The whole sentinel at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Our run id.
    pub myid: String,
    /// Current epoch.
    pub current_epoch: u64,
    /// Whether TILT is on.
    pub tilt: bool,
    /// How long TILT has been on, in ms (`None` when off).
    pub tilt_since_ms: Option<u64>,
    /// `SENTINEL SIMULATE-FAILURE` flags in force (INFO `sentinel_simulate_failure_flags`).
    pub simulate_failure_flags: u8,
    /// Whether state writes are failing now (the last one failed, or one has hung).
    pub state_write_failing: bool,
    /// State writes that succeeded since start.
    pub state_writes_ok: u64,
    /// State writes that failed since start.
    pub state_writes_failed: u64,
    /// Every monitored master, in name order.
    pub masters: Vec<MasterStatus>,
}

/// One monitored master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterStatus {
    /// Configured name.
    pub name: String,
    /// The master instance's address (`SENTINEL MASTER` `ip` / `port`).
    pub host: String,
    /// See `host`.
    pub port: u16,
    /// The address clients are told to use (`GET-MASTER-ADDR-BY-NAME`): the promoted replica once a
    /// failover reached the reconfiguration phase.
    pub addr_host: String,
    /// See `addr_host`.
    pub addr_port: u16,
    /// `SENTINEL MASTER` `flags`.
    pub flags: String,
    /// Subjectively down here.
    pub s_down: bool,
    /// Objectively down.
    pub o_down: bool,
    /// Config epoch.
    pub config_epoch: u64,
    /// Epoch of the leader we last voted for / saw.
    pub leader_epoch: u64,
    /// `quorum`.
    pub quorum: u32,
    /// `failover-timeout` (ms).
    pub failover_timeout_ms: u64,
    /// `parallel-syncs`.
    pub parallel_syncs: u32,
    /// `down-after-milliseconds`.
    pub down_after_ms: u64,
    /// `last-ok-ping-reply` (ms ago).
    pub last_ok_ping_reply_ms: u64,
    /// The master's own `master_repl_offset` from its last INFO.
    pub repl_offset: Option<u64>,
    /// `SENTINEL CKQUORUM` succeeds.
    pub ckquorum_ok: bool,
    /// Its status or error text (`OK 3 usable Sentinels. …`, `NOQUORUM …`).
    pub ckquorum_message: String,
    /// Our failover of this master, when one is running.
    pub failover: Option<FailoverStatus>,
    /// Known replicas, in name order.
    pub replicas: Vec<ReplicaStatus>,
    /// Other sentinels watching it, in run id order.
    pub sentinels: Vec<PeerStatus>,
}

impl MasterStatus {
    /// INFO's `status=`: `odown`, `sdown` or `ok`.
    pub fn status_word(&self) -> &'static str {
        if self.o_down {
            "odown"
        } else if self.s_down {
            "sdown"
        } else {
            "ok"
        }
    }
}

/// A failover in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailoverStatus {
    /// Redis's state name (`wait_start`, `select_slave`, … `update_config`).
    pub state: &'static str,
    /// The epoch it runs in.
    pub epoch: u64,
    /// How long it has been in this state (ms).
    pub state_age_ms: u64,
    /// How long ago it started (ms).
    pub started_ms_ago: Option<u64>,
    /// The replica chosen for promotion (`ip:port`), once chosen.
    pub promoted: Option<String>,
}

/// A replica of a master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// `ip:port`.
    pub name: String,
    /// Address.
    pub host: String,
    /// See `host`.
    pub port: u16,
    /// `SENTINEL REPLICAS` `flags`.
    pub flags: String,
    /// Subjectively down here.
    pub s_down: bool,
    /// No usable link to it.
    pub disconnected: bool,
    /// `master-link-status` is `ok`.
    pub master_link_up: bool,
    /// `master-link-down-time` (ms).
    pub master_link_down_time_ms: i64,
    /// `slave-repl-offset`.
    pub repl_offset: u64,
    /// `slave-priority`.
    pub priority: u32,
    /// `last-ok-ping-reply` (ms ago).
    pub last_ok_ping_reply_ms: u64,
}

/// Another sentinel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerStatus {
    /// Run id.
    pub runid: String,
    /// Address.
    pub host: String,
    /// See `host`.
    pub port: u16,
    /// `SENTINEL SENTINELS` `flags`.
    pub flags: String,
    /// Subjectively down here.
    pub s_down: bool,
    /// The leader it last voted for, if any.
    pub leader: Option<String>,
    /// The epoch of that vote.
    pub leader_epoch: u64,
    /// `last-hello-message` (ms ago).
    pub last_hello_ms: u64,
}

impl Sentinel {
    /// Everything the HTTP endpoints show, as of the last input. Costs one pass over the tables; the shell
    /// calls it only when an HTTP listener is configured.
    pub fn status(&self) -> Status {
        let now = self.now;
        let mut masters: Vec<MasterStatus> = self
            .masters
            .iter()
            .map(|(name, m)| self.master_status(name, m))
            .collect();
        masters.sort_by(|a, b| a.name.cmp(&b.name));
        let (state_writes_ok, state_writes_failed) = self.state_writes();
        Status {
            myid: self.myid.clone(),
            current_epoch: self.current_epoch,
            tilt: self.tilt,
            tilt_since_ms: self.tilt.then(|| now.since(self.tilt_start)),
            simulate_failure_flags: self.simfailure,
            state_write_failing: self.state_write_failing(),
            state_writes_ok,
            state_writes_failed,
            masters,
        }
    }

    fn master_status(&self, name: &str, m: &Master) -> MasterStatus {
        let now = self.now;
        let last_ok = |link| {
            self.links
                .get(&link)
                .map_or(0, |l: &crate::instance::Link| now.since(l.last_avail_time))
        };
        let (addr_host, addr_port) = m.current_addr();
        let (ckquorum_ok, ckquorum_message) = match self.cmd_ckquorum(name) {
            Reply::Status(s) => (true, s),
            Reply::Error(e) => (false, e),
            other => (false, format!("{other:?}")),
        };
        let failover = m.failover.map(|f| FailoverStatus {
            state: f.state.name(),
            epoch: f.epoch,
            state_age_ms: now.since(f.changed),
            started_ms_ago: m.failover_start_time.map(|t| now.since(t)),
            promoted: f
                .state
                .promoted()
                .and_then(|id| m.replicas.at(id))
                .map(|r| r.name()),
        });
        let mut replicas: Vec<ReplicaStatus> = m
            .replicas
            .iter_ids()
            .map(|(id, r)| ReplicaStatus {
                name: m.replicas.name_of(id).unwrap_or_default().to_string(),
                host: r.c.host.clone(),
                port: r.c.port,
                flags: self.replica_flags(r, m.is_promoted(id)),
                s_down: r.c.s_down,
                disconnected: self.links.get(&r.c.link).is_none_or(|l| l.disconnected()),
                master_link_up: r.master_link_up,
                master_link_down_time_ms: r.master_link_down_time,
                repl_offset: r.repl_offset,
                priority: r.priority,
                last_ok_ping_reply_ms: last_ok(r.c.link),
            })
            .collect();
        replicas.sort_by(|a, b| a.name.cmp(&b.name));
        let mut sentinels: Vec<PeerStatus> = m
            .sentinels
            .iter()
            .map(|(id, p)| PeerStatus {
                runid: id.clone(),
                host: p.c.host.clone(),
                port: p.c.port,
                flags: self.peer_flags(p),
                s_down: p.c.s_down,
                leader: p.leader.clone(),
                leader_epoch: p.leader_epoch,
                last_hello_ms: now.since(p.last_hello_time),
            })
            .collect();
        sentinels.sort_by(|a, b| a.runid.cmp(&b.runid));
        MasterStatus {
            name: name.to_string(),
            host: m.c.host.clone(),
            port: m.c.port,
            addr_host,
            addr_port,
            flags: self.master_flags(m),
            s_down: m.c.s_down,
            o_down: m.o_down,
            config_epoch: m.config_epoch,
            leader_epoch: m.leader_epoch,
            quorum: m.cfg.quorum,
            failover_timeout_ms: m.cfg.failover_timeout_ms,
            parallel_syncs: m.cfg.parallel_syncs,
            down_after_ms: m.cfg.down_after_ms,
            last_ok_ping_reply_ms: last_ok(m.c.link),
            repl_offset: m.info.repl_offset,
            ckquorum_ok,
            ckquorum_message,
            failover,
            replicas,
            sentinels,
        }
    }
}

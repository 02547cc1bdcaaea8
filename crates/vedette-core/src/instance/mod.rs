//! The records a sentinel keeps (reference §2): masters, their replicas and the other sentinels watching
//! them, each in a [`table::Table`] under a `Copy` id, and the links they talk on (`link`: the health clocks
//! Redis keeps per connection, sentinel.c `instanceLink`). Only data and the rules that need nothing else
//! live here; what the sentinel does with them is in `monitor`, `detect`, `election` and `failover`.

pub(crate) mod link;
pub(crate) mod table;

pub(crate) use link::{Link, LinkKey, Sent};

use crate::config::MasterConfig;
use crate::io::LinkId;
use crate::time::Instant;
use crate::wire::info::Role;
use table::{MasterId, PeerId, ReplicaId, Table};

/// Which of a master's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Who {
    Master,
    Replica(ReplicaId),
    Peer(PeerId),
}

/// A reference to one instance object: `Copy`, so commands in flight, events and the tick carry it
/// without cloning names, and resolving it is two slab lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Inst {
    pub(crate) master: MasterId,
    pub(crate) who: Who,
}

impl Inst {
    pub(crate) fn master(master: MasterId) -> Inst {
        Inst {
            master,
            who: Who::Master,
        }
    }
    pub(crate) fn replica(master: MasterId, r: ReplicaId) -> Inst {
        Inst {
            master,
            who: Who::Replica(r),
        }
    }
    pub(crate) fn peer(master: MasterId, p: PeerId) -> Inst {
        Inst {
            master,
            who: Who::Peer(p),
        }
    }
}

/// Replica reconfiguration progress during a failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reconf {
    None,
    Sent(Instant),
    InProg,
    Done,
}

/// Fields every kind of instance has.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) link: LinkId,
    pub(crate) runid: Option<String>,
    pub(crate) s_down: bool,
    pub(crate) s_down_since: Option<Instant>,
    pub(crate) down_after: u64,
    pub(crate) last_pub_time: Instant,
    /// A hello carrying a new configuration must go out on the next tick, even while an older hello
    /// is still unanswered: that older hello's reply would otherwise restart the 2 s period and hold the
    /// news back until the next periodic hello (seen in 1000-master storms, where peer links are busy).
    pub(crate) hello_forced: bool,
    pub(crate) script_kill_sent: bool,
}

impl Common {
    pub(crate) fn new(
        host: &str,
        port: u16,
        link: LinkId,
        down_after: u64,
        now: Instant,
    ) -> Common {
        Common {
            host: host.to_string(),
            port,
            link,
            runid: None,
            s_down: false,
            s_down_since: None,
            down_after,
            last_pub_time: now,
            hello_forced: false,
            script_kill_sent: false,
        }
    }
}

/// What INFO told us about a master or replica.
#[derive(Debug, Clone)]
pub(crate) struct InfoState {
    pub(crate) refresh: Option<Instant>,
    pub(crate) text: Option<String>,
    pub(crate) role_reported: Role,
    pub(crate) role_reported_time: Instant,
    /// `master_repl_offset` of the last INFO (the instance's own replication offset), for the lag the
    /// HTTP endpoints show.
    pub(crate) repl_offset: Option<u64>,
}

impl InfoState {
    pub(crate) fn new(role: Role, now: Instant) -> InfoState {
        InfoState {
            refresh: None,
            text: None,
            role_reported: role,
            role_reported_time: now,
            repl_offset: None,
        }
    }
}

/// A replica of a monitored master.
#[derive(Debug, Clone)]
pub(crate) struct Replica {
    pub(crate) c: Common,
    pub(crate) info: InfoState,
    pub(crate) slave_conf_change_time: Instant,
    pub(crate) master_link_down_time: i64,
    pub(crate) master_host: Option<String>,
    pub(crate) master_port: u16,
    pub(crate) master_link_up: bool,
    pub(crate) priority: u32,
    pub(crate) repl_offset: u64,
    pub(crate) announced: bool,
    pub(crate) reconf: Reconf,
    pub(crate) o_down_since: Option<Instant>,
    /// This replica object stands for the master we switched away from and it has not reported `role:slave`
    /// since: the one case where vedette demotes a `role:master` replica without Redis's 8 s wait.
    pub(crate) former_master: bool,
}

impl Replica {
    pub(crate) fn new(c: Common, now: Instant) -> Replica {
        Replica {
            c,
            info: InfoState::new(Role::Slave, now),
            slave_conf_change_time: now,
            master_link_down_time: 0,
            master_host: None,
            master_port: 0,
            master_link_up: false,
            priority: 100,
            repl_offset: 0,
            announced: true,
            reconf: Reconf::None,
            o_down_since: None,
            former_master: false,
        }
    }

    pub(crate) fn name(&self) -> String {
        addr_name(&self.c.host, self.c.port)
    }
}

/// Another sentinel watching the same master.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) c: Common,
    pub(crate) master_down: bool,
    pub(crate) last_master_down_reply: Option<Instant>,
    pub(crate) leader: Option<String>,
    pub(crate) leader_epoch: u64,
    /// vedette: when this peer began reporting the master down (cleared when it stops), so the ordered start
    /// waits for the peers ranked before us from the moment they see the failure, not from ours.
    pub(crate) down_since: Option<Instant>,
    /// vedette: its answer to our latest vote request.
    pub(crate) vote_reply: Option<VoteReply>,
    pub(crate) last_hello_time: Instant,
    /// The master address and config epoch its last hello carried (for vedette's fast rejoin check).
    pub(crate) hello_view: Option<(String, u16, u64)>,
    pub(crate) last_hello_at: Option<Instant>,
}

/// A peer's answer to one of our vote requests (`is-master-down-by-addr` with our run id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VoteReply {
    /// The epoch we asked for.
    pub(crate) asked: u64,
    /// The leader it reported (`None` for `*`).
    pub(crate) leader: Option<String>,
    /// The epoch of that vote.
    pub(crate) epoch: u64,
}

/// Our failover of a master, while it runs (reference §7): what Redis spreads over `failover_state`,
/// `failover_epoch`, `failover_state_change_time`, the FORCE_FAILOVER flag and the PROMOTED replica, in one
/// value that exists only during the failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failover {
    /// The epoch we asked votes in.
    pub(crate) epoch: u64,
    /// SENTINEL FAILOVER: no election, no agreement needed.
    pub(crate) forced: bool,
    /// When `state` last changed; the per-state timeouts count from it.
    pub(crate) changed: Instant,
    /// Where it is.
    pub(crate) state: FailoverState,
}

/// A failover's state (Redis's `SENTINEL_FAILOVER_STATE_*` but NONE, which is `Master::failover` being
/// None). From the selection on, the state names the replica being promoted: there is no promoted
/// replica outside a failover, and none before one is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailoverState {
    /// Waiting to be elected (or for the forced start).
    WaitStart,
    /// Elected: pick a replica.
    SelectSlave,
    /// Send `replica` SLAVEOF NO ONE.
    SendSlaveofNoone { replica: ReplicaId },
    /// Sent; wait for `replica` to report `role:master`.
    WaitPromotion { replica: ReplicaId },
    /// `replica` is the master now: point the others at it.
    ReconfSlaves { replica: ReplicaId },
    /// Done: switch the master's address to `replica`'s.
    UpdateConfig { replica: ReplicaId },
}

impl FailoverState {
    /// The `failover-state` field of SENTINEL MASTER.
    pub(crate) fn name(self) -> &'static str {
        match self {
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone { .. } => "send_slaveof_noone",
            FailoverState::WaitPromotion { .. } => "wait_promotion",
            FailoverState::ReconfSlaves { .. } => "reconf_slaves",
            FailoverState::UpdateConfig { .. } => "update_config",
        }
    }

    /// The replica being promoted, once one is selected.
    pub(crate) fn promoted(self) -> Option<ReplicaId> {
        match self {
            FailoverState::WaitStart | FailoverState::SelectSlave => None,
            FailoverState::SendSlaveofNoone { replica }
            | FailoverState::WaitPromotion { replica }
            | FailoverState::ReconfSlaves { replica }
            | FailoverState::UpdateConfig { replica } => Some(replica),
        }
    }

    /// The promotion was seen: past the point where a failover can be aborted, and the promoted replica's
    /// address is the one clients are given.
    pub(crate) fn promotion_seen(self) -> bool {
        matches!(
            self,
            FailoverState::ReconfSlaves { .. } | FailoverState::UpdateConfig { .. }
        )
    }
}

/// A monitored master.
#[derive(Debug, Clone)]
pub(crate) struct Master {
    pub(crate) cfg: MasterConfig,
    pub(crate) c: Common,
    pub(crate) info: InfoState,
    pub(crate) o_down: bool,
    pub(crate) o_down_since: Option<Instant>,
    pub(crate) master_reboot: bool,
    pub(crate) master_reboot_since: Instant,
    pub(crate) config_epoch: u64,
    pub(crate) leader: Option<String>,
    pub(crate) leader_epoch: u64,
    /// Our failover, while one runs.
    pub(crate) failover: Option<Failover>,
    /// Redis's `failover_start_time`: our last attempt, or (plus jitter) our last vote for a peer, which
    /// both hold the next attempt back; None = never (so the first attempt may start at once).
    pub(crate) failover_start_time: Option<Instant>,
    pub(crate) failover_delay_logged: Option<Instant>,
    /// vedette's ordered start: the jitter drawn for the current ODOWN (the delay itself is recomputed
    /// as the peers ranked before us report the failure; see `start_at`).
    pub(crate) start_jitter: Option<u64>,
    /// Set when we asked peers after SDOWN began, so the first ask goes out at once.
    pub(crate) last_ask: Option<Instant>,
    /// vedette: our last attempt ran in this epoch, every voter's vote in it is known and nobody can win
    /// it; the next attempt may start without Redis's 2 × failover-timeout wait (see `fast_retry_allowed`).
    pub(crate) fast_retry: Option<u64>,
    /// Fast retries since the master was last reset or left ODOWN.
    pub(crate) fast_retries: u32,
    /// Replicas by id; named `ip:port`.
    pub(crate) replicas: Table<ReplicaId, Replica>,
    /// Other sentinels by id; named by run id.
    pub(crate) sentinels: Table<PeerId, Peer>,
    /// `-max-sentinels-reached` was emitted and the table has not had room since.
    pub(crate) sentinels_full: bool,
    /// `-max-replicas-reached` was emitted and the table has not had room since.
    pub(crate) replicas_full: bool,
    /// Its place in the timer set (see `timers`).
    pub(crate) due: Option<Instant>,
}

/// Which table of a master a discovery would grow.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Known {
    Sentinel,
    Replica,
}

impl Master {
    /// What Redis's master reset clears (reference §7.9): every flag but MASTER, our vote target, the
    /// failover and its timers, the run id and the reported role. Links, tables and epochs are the caller's.
    pub(crate) fn reset_state(&mut self, now: Instant) {
        self.c.s_down = false;
        self.c.runid = None;
        self.c.script_kill_sent = false;
        self.o_down = false;
        self.master_reboot = false;
        self.leader = None;
        self.failover = None;
        self.failover_start_time = None;
        self.start_jitter = None;
        self.last_ask = None;
        self.fast_retry = None;
        self.fast_retries = 0;
        self.info.role_reported = Role::Master;
        self.info.role_reported_time = now;
    }

    pub(crate) fn in_failover(&self) -> bool {
        self.failover.is_some()
    }

    /// Our failover's state, if one runs.
    pub(crate) fn failover_state(&self) -> Option<FailoverState> {
        self.failover.map(|f| f.state)
    }

    /// The replica our failover is promoting (Redis's PROMOTED flag), if any.
    pub(crate) fn promoted(&self) -> Option<ReplicaId> {
        self.failover_state().and_then(FailoverState::promoted)
    }

    /// Whether `replica` is the one being promoted.
    pub(crate) fn is_promoted(&self, replica: ReplicaId) -> bool {
        self.promoted() == Some(replica)
    }

    /// We sent `replica` SLAVEOF NO ONE and wait for it to say `role:master`.
    pub(crate) fn awaits_promotion_of(&self, replica: ReplicaId) -> bool {
        self.failover_state() == Some(FailoverState::WaitPromotion { replica })
    }

    /// The address clients should use: the promoted replica once a failover reached RECONF_SLAVES.
    pub(crate) fn current_addr(&self) -> (String, u16) {
        if let Some(st) = self.failover_state().filter(|s| s.promotion_seen()) {
            if let Some(p) = st.promoted().and_then(|n| self.replicas.at(n)) {
                return (p.c.host.clone(), p.c.port);
            }
        }
        (self.c.host.clone(), self.c.port)
    }
}

/// `ip:port`, with IPv6 in brackets, as Redis names replicas.
pub(crate) fn addr_name(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Redis's "same host": equal ignoring case, or the same IP written differently.
pub(crate) fn same_host(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    match (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A key equal for two hosts exactly when [`same_host`] holds: the canonical form of an IP literal, else
/// the name lower-cased (for set lookups instead of pairwise comparisons).
pub(crate) fn host_key(host: &str) -> String {
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => host.to_ascii_lowercase(),
    }
}

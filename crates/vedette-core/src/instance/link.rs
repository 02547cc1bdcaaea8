//! One logical link to an instance and what is in flight on it: Redis's `instanceLink` health clocks
//! (last PING sent and answered, last time it was available) and the FIFO of commands awaiting replies,
//! so each reply is matched to what it was about.

use std::collections::{BTreeMap, VecDeque};

use super::table::MasterId;
use super::Inst;
use crate::time::Instant;

/// Redis's SENTINEL_MAX_PENDING_COMMANDS (per instance sharing a link).
pub(crate) const MAX_PENDING: usize = 100;

/// What a command sent on a link was, so its reply (FIFO) can be matched to what it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sent {
    Ping(Inst),
    Info(Inst),
    Publish(Inst),
    /// An is-master-down-by-addr ask: which master, at which address, in which of our epochs, and whether
    /// it carried our run id (a vote request) or `*`.
    Ask {
        master: MasterId,
        host: String,
        port: u16,
        epoch: u64,
        vote: bool,
    },
    Other,
}

/// Commands sent on a link and not answered yet (FIFO: replies come back in order), with counts of the
/// kinds the periodic checks ask about. "Is an INFO / this instance's hello / this ask pending?" is then a
/// lookup, not a scan of a queue that a peer which stops reading (a SIGSTOPped sentinel keeps its socket
/// open) grows to 100 × the number of masters sharing its link — scanned once per master per tick.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inflight {
    q: VecDeque<Sent>,
    /// Per instance: a link shared by several names carries each one's INFO, and one name's INFO in
    /// flight must not hold back another's (each keeps its own period, e.g. 10 ms for a replica being
    /// promoted under one name only).
    infos: BTreeMap<Inst, usize>,
    publishes: BTreeMap<Inst, usize>,
    asks: BTreeMap<(MasterId, u64), usize>,
}

impl Inflight {
    pub(crate) fn push(&mut self, s: Sent) {
        match &s {
            Sent::Info(k) => *self.infos.entry(*k).or_default() += 1,
            Sent::Publish(k) => *self.publishes.entry(*k).or_default() += 1,
            Sent::Ask { master, epoch, .. } => {
                *self.asks.entry((*master, *epoch)).or_default() += 1
            }
            Sent::Ping(_) | Sent::Other => {}
        }
        self.q.push_back(s);
    }

    /// The oldest unanswered command.
    pub(crate) fn pop(&mut self) -> Option<Sent> {
        let s = self.q.pop_front()?;
        match &s {
            Sent::Info(k) => decrement(&mut self.infos, k),
            Sent::Publish(k) => decrement(&mut self.publishes, k),
            Sent::Ask { master, epoch, .. } => decrement(&mut self.asks, &(*master, *epoch)),
            Sent::Ping(_) | Sent::Other => {}
        }
        Some(s)
    }

    pub(crate) fn clear(&mut self) {
        *self = Inflight::default();
    }

    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    pub(crate) fn info_pending(&self, key: Inst) -> bool {
        self.infos.contains_key(&key)
    }

    pub(crate) fn publish_pending(&self, key: Inst) -> bool {
        self.publishes.contains_key(&key)
    }

    pub(crate) fn ask_pending(&self, master: MasterId, epoch: u64) -> bool {
        self.asks.contains_key(&(master, epoch))
    }
}

fn decrement<K: Ord>(m: &mut BTreeMap<K, usize>, k: &K) {
    if let Some(n) = m.get_mut(k) {
        *n -= 1;
        if *n == 0 {
            m.remove(k);
        }
    }
}

/// What a master or replica link is dialled with ([`crate::io::ConnectSpec`]: the address, and the
/// master's `auth-user` / `auth-pass` / `rename-command`; the rest is global). Instances whose keys are
/// equal share one link: ten names monitoring one server cost one command and one pub/sub connection,
/// one PING schedule and one copy of each hello published there, instead of ten.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LinkKey {
    /// [`super::host_key`] of the host: equal exactly when Redis's "same host" holds.
    host: String,
    port: u16,
    auth_user: Option<String>,
    auth_pass: Option<String>,
    renames: BTreeMap<String, String>,
}

impl LinkKey {
    pub(crate) fn new(cfg: &crate::config::MasterConfig, host: &str, port: u16) -> LinkKey {
        LinkKey {
            host: super::host_key(host),
            port,
            // The user goes out only with a password (see `reconnect`).
            auth_user: cfg.auth_pass.as_ref().and(cfg.auth_user.clone()),
            auth_pass: cfg.auth_pass.clone(),
            renames: cfg.rename_commands.clone(),
        }
    }
}

/// One logical link and its health clocks.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Instance objects sharing it (sentinel links are shared by run id across masters, master and
    /// replica links by [`LinkKey`]).
    pub(crate) refcount: u32,
    /// For a master or replica link: its key in the sentinel's index of shared links.
    pub(crate) key: Option<LinkKey>,
    /// For a master or replica link: the masters with instances on it, with how many each (a hint kept
    /// beside `refcount`, so events on a shared link touch its users without scanning every master;
    /// whoever uses it checks the instance's `link` before acting).
    pub(crate) users: BTreeMap<MasterId, u32>,

    /// The instance whose tick dialled it last: who the first PING after connecting is for. A hint (it may
    /// have been removed since), so a link coming up need not search every master for a user.
    pub(crate) owner: Option<Inst>,
    /// Current connection generation, when up.
    pub(crate) conn: Option<u64>,
    /// A `Connect` was issued and neither `LinkUp` nor `LinkDown` came back yet.
    pub(crate) connecting: bool,
    pub(crate) local_ip: String,
    pub(crate) inflight: Inflight,
    pub(crate) cc_conn_time: Instant,
    pub(crate) last_reconn_time: Option<Instant>,
    /// Oldest unanswered PING (Redis initialises it to "now" so a never-answering instance goes down).
    pub(crate) act_ping_time: Option<Instant>,
    pub(crate) last_ping_time: Option<Instant>,
    pub(crate) last_avail_time: Instant,
    pub(crate) last_pong_time: Instant,
    pub(crate) pc_last_activity: Instant,
    /// When the last connection that was up went away (a closed or reset socket).
    pub(crate) lost_time: Option<Instant>,
}

impl Link {
    pub(crate) fn new(host: &str, port: u16, now: Instant) -> Link {
        Link {
            host: host.to_string(),
            port,
            refcount: 1,
            key: None,
            users: BTreeMap::new(),
            owner: None,
            conn: None,
            connecting: false,
            local_ip: String::new(),
            inflight: Inflight::default(),
            cc_conn_time: now,
            last_reconn_time: None,
            act_ping_time: Some(now),
            last_ping_time: None,
            last_avail_time: now,
            last_pong_time: now,
            pc_last_activity: now,
            lost_time: None,
        }
    }

    pub(crate) fn disconnected(&self) -> bool {
        self.conn.is_none()
    }

    /// The connection (or the attempt) is gone: nothing in flight survives it, and a connection that was
    /// up dates the loss (see [`Link::avail_mark`]).
    pub(crate) fn disconnect(&mut self, now: Instant) {
        if self.conn.is_some() {
            self.lost_time = Some(now);
        }
        self.conn = None;
        self.connecting = false;
        self.inflight.clear();
    }

    /// Since when a disconnected instance counts as unreachable (Redis: its last available time). The
    /// last PONG can be a whole PING interval old when the connection breaks, and with many links that
    /// interval is Redis's 1 s; so the instance is credited as available until `fast` ms (the fast
    /// schedule's interval) before the connection was lost: a crash is flagged down-after − at most
    /// down-after/10 after it, however rarely the link was being pinged.
    pub(crate) fn avail_mark(&self, fast: u64) -> Instant {
        match self.lost_time {
            Some(t) => self.last_avail_time.max(t.minus(fast)),
            None => self.last_avail_time,
        }
    }

    pub(crate) fn pending(&self) -> usize {
        self.inflight.len()
    }
}

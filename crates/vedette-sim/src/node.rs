//! `SimNode`: one sentinel process — a real `vedette_core::Sentinel`, its clock, its disk, and the
//! output-execution state the real driver keeps (writes in flight, client sessions, links).
//!
//! Crash = drop the `Sentinel` (and whatever was queued for it); restart = `Sentinel::new` from the
//! disk's durable snapshot only.

use std::collections::{BTreeMap, VecDeque};

use vedette_core::{ClientId, Input, LinkId, OutCommand, PersistSeq, PersistedState, Sentinel};

use crate::clock::LocalClock;

/// Work for a node, queued while it is paused.
#[derive(Debug)]
pub enum NodeCall {
    /// `handle_input`.
    Input(Input),
    /// `handle_argv` (parsed there, as the shell parses client commands).
    Command {
        /// Client.
        client: ClientId,
        /// Arguments.
        argv: Vec<Vec<u8>>,
    },
    /// `handle_timeout`.
    Timeout,
    /// Continue a peer session's queued commands.
    Pump(ClientId),
}

/// The node's disk: the last acknowledged snapshot, and one in flight.
#[derive(Debug)]
pub struct Disk {
    /// What a restart loads.
    pub durable: PersistedState,
    /// Issued but not yet durable, completing in order (the last flag: this write will fail). A crash
    /// keeps a prefix of them — each write is atomic, never half-done.
    pub pending: VecDeque<(PersistSeq, PersistedState, bool)>,
    /// Extra latency (slow-disk fault).
    pub extra_ms: u64,
}

/// An executed command of a peer session whose reply is not sent yet.
#[derive(Debug, Clone)]
pub enum Slot {
    /// Run by the core under its own client id (as the real driver gives every command one), so the core
    /// may answer pipelined commands in any order; the reply (once there) leaves in command order.
    Core {
        /// The command's client id in the core.
        id: ClientId,
        /// What the reply is about.
        aw: Awaiting,
        /// The reply, once the core gave it, as it goes on the wire (with the vote it carries, if any).
        done: Option<(vedette_core::LinkReply, Option<crate::world::VoteTag>)>,
    },
    /// Answered by the shell; leaves once the replies before it have.
    Ready(vedette_core::LinkReply),
}

/// What an incoming peer connection's command waits for from the core.
#[derive(Debug, Clone)]
pub enum Awaiting {
    /// `PUBLISH __sentinel__:hello`.
    Publish,
    /// `SENTINEL is-master-down-by-addr` about master group `master`, asked by node `from`.
    Ask {
        /// Master group.
        master: usize,
        /// Master port asked about.
        port: u16,
        /// Requested run id (`*` = no vote requested).
        runid: String,
    },
    /// A command the sim answers itself but through the core (none yet).
    Other,
}

/// An incoming connection from another sentinel (a RESP client session of this sentinel's shell).
#[derive(Debug)]
pub struct Session {
    /// Connection id.
    pub conn: u64,
    /// The dialing sentinel.
    pub from: usize,
    /// Commands received and not yet executed, in order.
    pub pending: VecDeque<OutCommand>,
    /// Executed commands whose replies have not been sent yet, in order. Like the real shell's session,
    /// every command received is executed at once (core commands are pipelined into the core), and replies
    /// leave in order.
    pub awaiting: VecDeque<Slot>,
    /// A `Pump` is queued in the inbox.
    pub pump_queued: bool,
}

/// One sentinel process.
#[derive(Debug)]
pub struct SimNode {
    /// Index.
    pub idx: usize,
    /// Run id (fixed for the node's life; persisted as `myid`).
    pub myid: String,
    /// Port.
    pub port: u16,
    /// The algorithm (None = crashed).
    pub core: Option<Sentinel>,
    /// Bumped at every crash, so events of a previous life are ignored.
    pub incarnation: u64,
    /// Clock.
    pub clock: LocalClock,
    /// Disk.
    pub disk: Disk,
    /// The process is stopped (SIGSTOP fault).
    pub paused: bool,
    /// Queued work.
    pub inbox: VecDeque<NodeCall>,
    /// A `Timeout` is already in the inbox.
    pub timeout_queued: bool,
    /// Global time of the scheduled timer event, if any.
    pub timer_at: Option<u64>,
    /// Generation of the scheduled timer event.
    pub timer_gen: u64,
    /// Incoming peer sessions.
    pub sessions: BTreeMap<ClientId, Session>,
    /// Client id of a core command in flight -> the session it came from.
    pub commands: BTreeMap<ClientId, ClientId>,
    /// Outgoing links -> connection id.
    pub links: BTreeMap<LinkId, u64>,
    /// Local time of the last `Persist` executed (outputs behind it are released late).
    pub last_persist_local: u64,
    /// Base seed for the core's PRNG (mixed with the incarnation).
    pub seed: u64,
}

impl SimNode {
    /// Whether the process runs.
    pub fn alive(&self) -> bool {
        self.core.is_some()
    }

    /// Whether it can execute work now.
    pub fn runnable(&self) -> bool {
        self.core.is_some() && !self.paused
    }
}

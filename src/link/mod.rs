//! Outbound links to masters, replicas and peer sentinels.
//!
//! The driver executes the core's [`Output::Connect`](vedette_core::Output::Connect),
//! [`Output::Close`](vedette_core::Output::Close) and [`Output::Send`](vedette_core::Output::Send) by calling
//! [`LinkManager::connect`], [`LinkManager::close`] and [`LinkManager::send`]. None of them blocks or awaits:
//! each link generation runs in its own tokio task (see [`conn`]), and the manager only hands work over,
//! so a stopped or slow instance can never stall the driver or another link.
//!
//! What the core can rely on (the contract of `vedette_core::io`):
//! * every `connect` starts a new generation `conn` (a process-wide counter, never reused); it ends in
//!   either `LinkUp{conn}` … `LinkDown{conn}`, or just `LinkDown{conn}` if the dial failed, unless the core
//!   itself ends it with `close`/`connect`, which report nothing;
//! * `LinkDown` is reported exactly once per generation, after every `Reply` of that generation;
//! * every command accepted by `send` yields exactly one `Reply` (in send order), or the generation goes down;
//! * `send` for a stale generation or a link that is not up is dropped silently (a `LinkDown` for that
//!   generation is already on its way, or was already delivered);
//! * inputs already queued in the channel when the core calls `close`/`connect` still arrive; they carry
//!   the old `conn` (`Hello` has none, but its content is self-describing).
//!
//! The wire: the command connection pipelines `AUTH` (if credentials), `CLIENT SETNAME` and then the core's
//! commands; instances also get a pub/sub connection with `AUTH`, `CLIENT SETNAME`, `SUBSCRIBE
//! __sentinel__:hello`. Command words go through the link's rename-command table. See [`command`] for the
//! exact commands and reply reductions and [`codec`] for the RESP parser.

pub mod codec;
pub mod command;
pub mod conn;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, trace};
use vedette_core::{ConnectSpec, Input, LinkId, OutCommand};

/// Commands the manager queues for one link before declaring it overflowed (and closing it). The core
/// already caps pending commands at 100 × link refcount, and the task moves commands to its write buffer
/// as fast as they arrive, so this only fills up when the peer stopped reading.
pub const COMMAND_QUEUE: usize = 4096;

/// Where link tasks deliver [`Input`]s: the driver's channel.
///
/// Implemented for both channel kinds so the driver can choose:
/// * `mpsc::UnboundedSender<Input>`: delivery never waits. Memory is bounded in practice because replies
///   are bounded by the commands the core sent (which it caps) and the only unsolicited traffic is hello
///   messages, at the rate the instances publish them.
/// * `mpsc::Sender<Input>` (bounded): a link task whose input does not fit waits, which stops it reading
///   its sockets — backpressure onto the instances instead of memory growth in the driver. The manager
///   itself never sends on the channel, so the driver cannot deadlock on it.
///
/// `deliver` returns false when the receiver is gone (the task then ends without further reports).
pub trait InputSink: Clone + Send + Sync + 'static {
    /// Hand one input to the driver.
    fn deliver(&self, input: Input) -> impl Future<Output = bool> + Send;
}

impl InputSink for mpsc::UnboundedSender<Input> {
    fn deliver(&self, input: Input) -> impl Future<Output = bool> + Send {
        let ok = self.send(input).is_ok();
        std::future::ready(ok)
    }
}

impl InputSink for mpsc::Sender<Input> {
    fn deliver(&self, input: Input) -> impl Future<Output = bool> + Send {
        let tx = self.clone();
        async move { tx.send(input).await.is_ok() }
    }
}

/// Process-wide generation counter: a `conn` is never reused, even across links, so a stale reply can
/// never be mistaken for a current one.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// The manager's handle on one link generation.
struct Handle {
    conn: u64,
    commands: mpsc::Sender<OutCommand>,
    /// Taken (and fired) when the command queue overflowed: the task then reports `LinkDown` and exits.
    kill: Option<oneshot::Sender<()>>,
    up: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

/// Owns all outbound links. Lives in (and is only called from) the driver task; its methods never block.
///
/// Must be used from within a tokio runtime (`connect` spawns tasks). Dropping it aborts every link
/// task, closing their sockets, without reports.
pub struct LinkManager<S: InputSink = mpsc::UnboundedSender<Input>> {
    sink: S,
    links: HashMap<LinkId, Handle>,
    /// Descriptors held for every link the core wants, from its first `connect` until its `close` —
    /// also while it is down and being redialled — so clients cannot take them (see [`crate::fds`]).
    reserved: HashMap<LinkId, crate::fds::LinkReservation>,
}

impl<S: InputSink> std::fmt::Debug for LinkManager<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkManager")
            .field("links", &self.links.len())
            .finish()
    }
}

impl<S: InputSink> LinkManager<S> {
    /// A manager delivering inputs to `inputs`.
    pub fn new(inputs: S) -> Self {
        LinkManager {
            sink: inputs,
            links: HashMap::new(),
            reserved: HashMap::new(),
        }
    }

    /// Open a new generation of `link` (closing the previous one silently). Returns the generation number
    /// that its `LinkUp` / `Reply` / `LinkDown` inputs will carry.
    pub fn connect(&mut self, link: LinkId, spec: ConnectSpec) -> u64 {
        self.close(link);
        let sockets = match spec.kind {
            vedette_core::LinkKind::Instance => 2,
            vedette_core::LinkKind::Sentinel => 1,
        };
        self.reserved
            .insert(link, crate::fds::LinkReservation::new(sockets));
        let conn = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
        debug!(link = link.0, conn, host = %spec.host, port = spec.port, kind = ?spec.kind, "connecting");
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let (kill_tx, kill_rx) = oneshot::channel();
        let up = Arc::new(AtomicBool::new(false));
        let task = conn::Task {
            link,
            conn,
            spec,
            sink: self.sink.clone(),
            commands: rx,
            kill: kill_rx,
            up: Arc::clone(&up),
        };
        let task = tokio::spawn(task.run());
        self.links.insert(
            link,
            Handle {
                conn,
                commands: tx,
                kill: Some(kill_tx),
                up,
                task,
            },
        );
        conn
    }

    /// Close the link's connections. Reports nothing (the core asked for it); inputs already queued for
    /// the old generation may still arrive.
    pub fn close(&mut self, link: LinkId) {
        self.reserved.remove(&link);
        if let Some(h) = self.links.remove(&link) {
            trace!(link = link.0, conn = h.conn, "closing");
            h.task.abort();
        }
    }

    /// Queue a command on the link's command connection, if `conn` is its current generation and it is
    /// up; otherwise drop it. If the link's queue is full the link is closed (reported as `LinkDown`).
    pub fn send(&mut self, link: LinkId, conn: u64, cmd: OutCommand) {
        let Some(h) = self.links.get_mut(&link) else {
            trace!(link = link.0, conn, "send on unknown link dropped");
            return;
        };
        if h.conn != conn || !h.up.load(Ordering::Acquire) || h.kill.is_none() {
            trace!(
                link = link.0,
                conn,
                current = h.conn,
                "send on stale or down link dropped"
            );
            return;
        }
        match h.commands.try_send(cmd) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                debug!(link = link.0, conn, "command queue full, closing link");
                if let Some(kill) = h.kill.take() {
                    let _ = kill.send(());
                }
            }
            // The task already ended; its LinkDown is queued.
            Err(TrySendError::Closed(_)) => {}
        }
    }

    /// Close every link (shutdown). Reports nothing.
    pub fn close_all(&mut self) {
        self.reserved.clear();
        for (_, h) in self.links.drain() {
            h.task.abort();
        }
    }

    /// Filter for the driver: whether an input from the link tasks belongs to its link's current
    /// generation and should reach the core. Inputs of a generation the core already replaced (`connect`)
    /// or ended (`close`) may still be queued in the channel; without this filter a stale `LinkUp` would
    /// make the core believe a dead generation is up until the next input corrects it, and a stale
    /// `LinkDown` would cancel a connect in progress. An accepted `LinkDown` also makes the manager forget
    /// the generation. Hellos always pass (their payload is self-describing).
    pub fn accept(&mut self, input: &Input) -> bool {
        match *input {
            Input::LinkUp { link, conn, .. } | Input::Reply { link, conn, .. } => {
                self.generation(link) == Some(conn)
            }
            Input::LinkDown { link, conn } => {
                let current = self.generation(link) == Some(conn);
                if current {
                    self.links.remove(&link);
                }
                current
            }
            _ => true,
        }
    }

    /// The current generation of `link`, if it has one: from `connect` until `close`, or until its
    /// `LinkDown` passed [`LinkManager::accept`].
    pub fn generation(&self, link: LinkId) -> Option<u64> {
        self.links.get(&link).map(|h| h.conn)
    }

    /// Whether `link`'s current generation is up (accepting commands).
    pub fn is_up(&self, link: LinkId) -> bool {
        self.links
            .get(&link)
            .is_some_and(|h| h.up.load(Ordering::Acquire) && h.kill.is_some())
    }
}

impl<S: InputSink> Drop for LinkManager<S> {
    fn drop(&mut self) {
        self.close_all();
    }
}

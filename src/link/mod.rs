//! Outbound links to masters, replicas and peer sentinels.
//!
//! The driver executes the core's [`Output::Connect`](vedette_core::Output::Connect),
//! [`Output::Close`](vedette_core::Output::Close) and [`Output::Send`](vedette_core::Output::Send) by calling
//! [`LinkManager::connect`], [`LinkManager::close`] and [`LinkManager::send`]. None of them blocks or awaits.
//!
//! One I/O loop for all links: the manager owns every outbound socket in one table and is polled by the
//! driver's task ([`LinkManager::poll_inputs`]). Each link generation has one [`Waker`] that its sockets
//! and timers are registered with; waking it puts the link on a ready list and wakes the driver, which
//! then polls exactly the links on the list (see [`conn`]). So a batch of replies that arrive together
//! costs one wake-up of one task, and a command goes from the core to the socket without a channel hop:
//! `send` encodes it into the link's bounded write buffer and the next poll writes it. Writes and reads
//! are non-blocking, so a stopped or slow instance can never stall the driver or another link.
//!
//! What the core can rely on (the contract of `vedette_core::io`):
//! * every `connect` starts a new generation `conn` (a process-wide counter, never reused); it ends in
//!   either `LinkUp{conn}` … `LinkDown{conn}`, or just `LinkDown{conn}` if the dial failed, unless the core
//!   itself ends it with `close`/`connect`, which report nothing;
//! * `LinkDown` is reported exactly once per generation, after every `Reply` of that generation;
//! * every command accepted by `send` yields exactly one `Reply` (in send order), or the generation goes down;
//! * `send` for a stale generation or a link that is not up is dropped silently (a `LinkDown` for that
//!   generation is already on its way, or was already delivered);
//! * nothing of a generation is reported after the core ended it with `close`/`connect` (inputs produced
//!   but not yet taken are dropped then; `Hello` has no `conn`, its content is self-describing, and is
//!   kept).
//!
//! The wire: the command connection pipelines `AUTH` (if credentials), `CLIENT SETNAME` and then the core's
//! commands; instances also get a pub/sub connection with `AUTH`, `CLIENT SETNAME`, `SUBSCRIBE
//! __sentinel__:hello`. Command words go through the link's rename-command table. See [`command`] for the
//! exact commands and reply reductions and [`codec`] for the RESP parser.

pub mod codec;
pub mod command;
pub mod conn;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tracing::{debug, trace};
use vedette_core::{ConnectSpec, Input, LinkId, OutCommand};

/// Unwritten command bytes one link may hold (its peer stopped reading and the kernel's socket buffer
/// is full) before it is closed and reported down. The core caps pending commands at 100 × link refcount,
/// so a live peer never comes near.
pub const WRITE_LIMIT: usize = 1 << 20;

/// Inputs one [`LinkManager::poll_inputs`] produces before it returns (the rest of the ready links are
/// polled next time), so a flood cannot delay the driver's timers.
pub const INPUT_BUDGET: usize = 256;

/// Size of the read buffer shared by all links.
const SCRATCH: usize = 64 * 1024;

/// Process-wide generation counter: a `conn` is never reused, even across links, so a stale reply can
/// never be mistaken for a current one.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Links whose waker fired since the last poll, and the waker of the task polling the manager.
#[derive(Default)]
struct Ready {
    links: Mutex<Vec<(LinkId, u64)>>,
    task: Mutex<Option<Waker>>,
}

impl Ready {
    fn wake_task(&self) {
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = task.as_ref() {
            w.wake_by_ref();
        }
    }

    fn register(&self, waker: &Waker) {
        let mut task = self.task.lock().unwrap_or_else(|p| p.into_inner());
        match task.as_ref() {
            Some(w) if w.will_wake(waker) => {}
            _ => *task = Some(waker.clone()),
        }
    }
}

/// The waker of one link generation: queues its token (once until polled) and wakes the manager's task.
struct LinkWake {
    token: (LinkId, u64),
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for LinkWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queue() {
            self.ready.wake_task();
        }
    }
}

impl LinkWake {
    /// Put the link on the ready list (once until polled); true if it was not on it yet.
    fn queue(&self) -> bool {
        let first = !self.queued.swap(true, Ordering::AcqRel);
        if first {
            self.ready
                .links
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.token);
        }
        first
    }
}

/// The manager's entry for one link generation.
struct Entry {
    link: conn::Link,
    wake: Arc<LinkWake>,
}

/// Owns all outbound links. Lives in (and is only called from) the driver task; its methods never block.
///
/// Must be used from within a tokio runtime (sockets and timers register with its reactor), and polled
/// ([`LinkManager::poll_inputs`] / [`LinkManager::next_input`]) for anything to happen. Dropping it closes
/// every socket without reports.
pub struct LinkManager {
    links: HashMap<LinkId, Entry>,
    /// Descriptors held for every link the core wants, from its first `connect` until its `close` —
    /// also while it is down and being redialled — so clients cannot take them (see [`crate::fds`]).
    reserved: HashMap<LinkId, crate::fds::LinkReservation>,
    ready: Arc<Ready>,
    /// Tokens being polled (kept to reuse the allocation).
    batch: Vec<(LinkId, u64)>,
    /// Inputs produced and not yet taken.
    inputs: VecDeque<Input>,
    scratch: conn::Scratch,
}

impl std::fmt::Debug for LinkManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkManager")
            .field("links", &self.links.len())
            .field("inputs", &self.inputs.len())
            .finish()
    }
}

impl Default for LinkManager {
    fn default() -> Self {
        Self::new()
    }
}

fn link_of(input: &Input) -> Option<LinkId> {
    match input {
        Input::LinkUp { link, .. } | Input::LinkDown { link, .. } | Input::Reply { link, .. } => {
            Some(*link)
        }
        _ => None,
    }
}

impl LinkManager {
    /// A manager with no links.
    pub fn new() -> Self {
        LinkManager {
            links: HashMap::new(),
            reserved: HashMap::new(),
            ready: Arc::default(),
            batch: Vec::new(),
            inputs: VecDeque::new(),
            scratch: conn::Scratch::new(SCRATCH),
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
        let wake = Arc::new(LinkWake {
            token: (link, conn),
            queued: AtomicBool::new(false),
            ready: Arc::clone(&self.ready),
        });
        let l = conn::Link::new(link, conn, spec, Waker::from(Arc::clone(&wake)));
        // First poll (the dial) on the next round.
        l.wake();
        self.links.insert(link, Entry { link: l, wake });
        conn
    }

    /// Close the link's connections. Reports nothing (the core asked for it), and drops what the closed
    /// generation produced and was not yet taken.
    pub fn close(&mut self, link: LinkId) {
        self.reserved.remove(&link);
        if let Some(e) = self.links.remove(&link) {
            trace!(link = link.0, conn = e.link.conn, "closing");
        }
        if !self.inputs.is_empty() {
            self.inputs.retain(|i| link_of(i) != Some(link));
        }
    }

    /// Queue a command on the link's command connection, if `conn` is its current generation and it is
    /// up; otherwise drop it. If the link's write buffer is over [`WRITE_LIMIT`] the link is closed
    /// (reported as `LinkDown`).
    pub fn send(&mut self, link: LinkId, conn: u64, cmd: OutCommand) {
        let Some(e) = self.links.get_mut(&link) else {
            trace!(link = link.0, conn, "send on unknown link dropped");
            return;
        };
        if e.link.conn != conn || !e.link.is_up() {
            trace!(
                link = link.0,
                conn,
                current = e.link.conn,
                "send on stale or down link dropped"
            );
            return;
        }
        match e.link.send(&cmd, WRITE_LIMIT) {
            // Ready for a write at the next poll, without waking the task: `send` is called by the task
            // that polls the manager, which polls it again before it sleeps. (The driver runs in
            // `block_on`, where a wake-up is an eventfd write and one more epoll round per command.)
            Ok(()) => {
                e.wake.queue();
            }
            Err(why) => self.down(link, why),
        }
    }

    /// Close every link (shutdown). Reports nothing.
    pub fn close_all(&mut self) {
        self.reserved.clear();
        self.links.clear();
        self.inputs.clear();
    }

    /// The current generation of `link`, if it has one: from `connect` until `close`, or until its
    /// `LinkDown` was produced.
    pub fn generation(&self, link: LinkId) -> Option<u64> {
        self.links.get(&link).map(|e| e.link.conn)
    }

    /// Whether `link`'s current generation is up (accepting commands).
    pub fn is_up(&self, link: LinkId) -> bool {
        self.links.get(&link).is_some_and(|e| e.link.is_up())
    }

    /// Poll the links whose sockets or timers fired. `Ready` when inputs are waiting to be taken with
    /// [`LinkManager::take_input`] (at most about [`INPUT_BUDGET`] are produced per call); `Pending`
    /// registers `cx` to be woken when a link has something to do.
    pub fn poll_inputs(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.ready.register(cx.waker());
        if self.inputs.len() < INPUT_BUDGET {
            let mut batch = std::mem::take(&mut self.batch);
            batch.append(&mut self.ready.links.lock().unwrap_or_else(|p| p.into_inner()));
            let mut done = 0;
            for &(link, conn) in &batch {
                if self.inputs.len() >= INPUT_BUDGET {
                    break;
                }
                done += 1;
                self.poll_link(link, conn);
            }
            if done < batch.len() {
                // Still flagged as queued: put them back for the next call.
                let mut q = self.ready.links.lock().unwrap_or_else(|p| p.into_inner());
                let mut rest: Vec<_> = batch[done..].to_vec();
                rest.append(&mut q);
                *q = rest;
            }
            batch.clear();
            self.batch = batch;
        }
        if self.inputs.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// The oldest input produced by [`LinkManager::poll_inputs`].
    pub fn take_input(&mut self) -> Option<Input> {
        self.inputs.pop_front()
    }

    /// Wait for the next input (for callers without their own poll loop, such as tests).
    pub async fn next_input(&mut self) -> Input {
        std::future::poll_fn(|cx| {
            if let Some(i) = self.take_input() {
                return Poll::Ready(i);
            }
            match self.poll_inputs(cx) {
                Poll::Ready(()) => match self.take_input() {
                    Some(i) => Poll::Ready(i),
                    None => Poll::Pending,
                },
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    fn poll_link(&mut self, link: LinkId, conn: u64) {
        let Some(e) = self.links.get_mut(&link) else {
            return;
        };
        if e.link.conn != conn {
            return;
        }
        // Cleared before polling: a wake-up during the poll queues the link again.
        e.wake.queued.store(false, Ordering::Release);
        if let Err(why) = e.link.poll(&mut self.scratch, &mut self.inputs) {
            self.down(link, why);
        }
    }

    /// The current generation of `link` ended: forget it and report `LinkDown`.
    fn down(&mut self, link: LinkId, why: conn::Down) {
        let Some(e) = self.links.remove(&link) else {
            return;
        };
        if matches!(why, conn::Down::Quiet) {
            return;
        }
        debug!(link = link.0, conn = e.link.conn, reason = %why, "link down");
        self.inputs.push_back(Input::LinkDown {
            link,
            conn: e.link.conn,
        });
        self.ready.wake_task();
    }
}

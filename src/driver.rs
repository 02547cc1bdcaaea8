//! The one task that owns the [`vedette_core::Sentinel`] and executes its outputs in order.
//!
//! Everything that happens — a reply on a link, a client command, a finished state write, a timer — becomes
//! one call into the core, after which the driver drains the core's outputs and executes them in order.
//! Outputs that depend on a state write are held inside the core until the write is reported, so the
//! driver never waits: a `Persist` runs on a blocking thread (a hung disk hangs only that thread), at most
//! one at a time (the core asks for the next only after the result of the last), and its result comes
//! back as an input. A failing disk is logged once when writes start failing and once when they recover.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use vedette_core::{
    ClientId, Input, Instant, Level, Output, PersistSeq, PersistedState, Reply, Sentinel,
    SentinelCommand, SetOption,
};

use crate::link::LinkManager;
use crate::scripts::ScriptRunner;

/// A request from a client session to the core.
#[derive(Debug)]
pub enum CoreRequest {
    /// `SENTINEL ...`, `ROLE`, `PUBLISH`: answered by the core.
    Command {
        /// The command, parsed once by the session.
        cmd: SentinelCommand,
        /// Where the answer goes.
        reply: oneshot::Sender<Reply>,
    },
    /// The `# Sentinel` section of INFO.
    InfoSection {
        /// Where the text goes.
        reply: oneshot::Sender<String>,
    },
}

/// Masters' advertised addresses as of the driver's last step, so `GET-MASTER-ADDR-BY-NAME` — the command
/// every client sends on every (re)connect — is answered by the sessions without a round trip through the
/// driver. `None` until a driver maintains it.
///
/// Each answer is kept already encoded (`*2 $host $port`, the same in RESP2 and RESP3), so serving one
/// costs a map look-up and a reference-count increment: no allocation per request.
#[derive(Debug, Clone, Default)]
pub struct AddrSnapshot(Arc<std::sync::RwLock<Option<Arc<AddrMap>>>>);

type AddrMap = std::collections::HashMap<Vec<u8>, CachedAddr>;

/// One master's answer: encoded, and as host and port.
#[derive(Debug)]
struct CachedAddr {
    encoded: bytes::Bytes,
    host: Vec<u8>,
    port: Vec<u8>,
}

impl AddrSnapshot {
    /// `Some(answer)` when the snapshot is maintained (answer None = no such master), `None` otherwise.
    fn lookup<T>(&self, name: &[u8], f: impl FnOnce(&CachedAddr) -> T) -> Option<Option<T>> {
        let guard = self.0.read().unwrap_or_else(|p| p.into_inner());
        let map = guard.as_ref()?;
        Some(map.get(name).map(f))
    }

    fn set(&self, core: &Sentinel) {
        let map: AddrMap = core
            .master_addrs()
            .into_iter()
            .map(|(n, h, p)| {
                let port = p.to_string();
                let reply = format!("*2\r\n${}\r\n{h}\r\n${}\r\n{port}\r\n", h.len(), port.len());
                let cached = CachedAddr {
                    encoded: bytes::Bytes::from(reply.into_bytes()),
                    host: h.into_bytes(),
                    port: port.into_bytes(),
                };
                (n.into_bytes(), cached)
            })
            .collect();
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(map));
    }
}

/// What the driver publishes for readers outside it, refreshed after its steps.
#[derive(Debug, Clone, Default)]
pub struct Feeds {
    /// Masters' addresses for the RESP sessions' `GET-MASTER-ADDR-BY-NAME`.
    pub addrs: AddrSnapshot,
    /// The HTTP endpoints' snapshot; `None` without an HTTP listener (then none is built).
    pub status: Option<crate::web::StatusFeed>,
}

/// The answer to a command handed to the core with [`CoreHandle::submit`].
#[derive(Debug)]
pub struct PendingReply(Option<oneshot::Receiver<Reply>>);

impl PendingReply {
    /// Wait for the answer; a stopped driver answers with an error reply.
    pub async fn wait(self) -> Reply {
        match self.0 {
            Some(rx) => rx
                .await
                .unwrap_or_else(|_| Reply::err("ERR sentinel is shutting down")),
            None => Reply::err("ERR sentinel is shutting down"),
        }
    }
}

/// Cheap handle sessions use to reach the core.
#[derive(Debug, Clone)]
pub struct CoreHandle {
    tx: mpsc::Sender<CoreRequest>,
    addrs: AddrSnapshot,
}

impl CoreHandle {
    /// Wrap the driver's request channel (no address snapshot: every query goes to the driver).
    pub fn new(tx: mpsc::Sender<CoreRequest>) -> Self {
        CoreHandle {
            tx,
            addrs: AddrSnapshot::default(),
        }
    }

    /// Wrap the driver's request channel and the address snapshot it maintains.
    pub fn with_snapshot(tx: mpsc::Sender<CoreRequest>, addrs: AddrSnapshot) -> Self {
        CoreHandle { tx, addrs }
    }

    /// `SENTINEL GET-MASTER-ADDR-BY-NAME <name>` from the snapshot, when one is maintained.
    pub fn cached_master_addr(&self, name: &[u8]) -> Option<Reply> {
        let found = self
            .addrs
            .lookup(name, |a| (a.host.clone(), a.port.clone()))?;
        Some(match found {
            Some((h, p)) => Reply::Array(vec![Reply::Bulk(h), Reply::Bulk(p)]),
            None => Reply::NilArray,
        })
    }

    /// Like [`CoreHandle::cached_master_addr`], with a found address already encoded (the hot path:
    /// nothing to build or encode per request).
    pub fn cached_master_addr_encoded(&self, name: &[u8]) -> Option<Result<bytes::Bytes, Reply>> {
        Some(match self.addrs.lookup(name, |a| a.encoded.clone())? {
            Some(encoded) => Ok(encoded),
            None => Err(Reply::NilArray),
        })
    }

    /// Run a core command; a stopped driver answers with an error reply.
    pub async fn command(&self, cmd: SentinelCommand) -> Reply {
        self.submit(cmd).await.wait().await
    }

    /// Hand a core command to the driver now and get its answer later, so a pipelining client can have
    /// several in flight: the driver handles them in submission order, and answers that wait for a state
    /// write (votes, configuration changes) then share one write instead of one write each.
    pub async fn submit(&self, cmd: SentinelCommand) -> PendingReply {
        let (reply, rx) = oneshot::channel();
        match self.tx.send(CoreRequest::Command { cmd, reply }).await {
            Ok(()) => PendingReply(Some(rx)),
            Err(_) => PendingReply(None),
        }
    }

    /// The `# Sentinel` INFO section.
    pub async fn info_section(&self) -> String {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(CoreRequest::InfoSection { reply })
            .await
            .is_err()
        {
            return String::new();
        }
        rx.await.unwrap_or_default()
    }
}

/// Where state snapshots go (a Redis-format config rewrite, or a TOML state file). Must be atomic and durable.
pub trait StateWriter: Send + Sync + 'static {
    /// Write `state` durably; on error the previous state must still be intact on disk.
    fn write(&self, state: &PersistedState) -> Result<(), String>;
}

/// Where published events go (the server's pub/sub hub).
pub trait EventSink: Send + Sync + 'static {
    /// Publish `payload` on `channel` to our own subscribers.
    fn publish(&self, channel: &str, payload: &str);
}

/// Monotonic milliseconds since the driver started, and the wall clock for TILT.
#[derive(Debug, Clone, Copy)]
struct Clock(std::time::Instant);

impl Clock {
    fn now(&self) -> Instant {
        Instant(self.0.elapsed().as_millis() as u64)
    }
    fn wall() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Longest the final state write at shutdown may take.
const SHUTDOWN_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests taken per driver turn beyond the one its branch received (bounded, so a flood of client
/// commands cannot hold back links and timers for long: 1024 core commands cost ~1 ms).
const REQUEST_BUDGET: usize = 1024;

/// One client request: answered at once (pending scripts, the INFO section) or handed to the core.
fn handle_request(
    req: CoreRequest,
    core: &mut Sentinel,
    ctx: &mut Exec<'_>,
    next_client: &mut u64,
    now: Instant,
) {
    match req {
        CoreRequest::Command { cmd, reply } => {
            if cmd == SentinelCommand::PendingScripts {
                let _ = reply.send(ctx.scripts.pending_reply());
            } else {
                let cmd = check_script_paths(core, cmd);
                let id = *next_client;
                *next_client += 1;
                ctx.pending.insert(id, reply);
                core.handle_command(now, ClientId(id), cmd);
            }
        }
        CoreRequest::InfoSection { reply } => {
            let _ = reply.send(core.info_section(ctx.scripts.running(), ctx.scripts.queued()));
        }
    }
}

/// Run the driver until `shutdown` is cancelled. Returns the final state (already written).
pub async fn run_driver(
    mut core: Sentinel,
    mut requests: mpsc::Receiver<CoreRequest>,
    writer: Arc<dyn StateWriter>,
    events: Box<dyn EventSink>,
    shutdown: CancellationToken,
    clock_start: std::time::Instant,
    feeds: Feeds,
) -> PersistedState {
    let Feeds { addrs, status } = feeds;
    let clock = Clock(clock_start);
    let (persist_tx, mut persist_rx) = mpsc::unbounded_channel::<(u64, Result<(), String>)>();
    let mut write_failures: u64 = 0;
    let mut links = LinkManager::new();
    let mut scripts = ScriptRunner::default();
    let mut pending: std::collections::BTreeMap<u64, oneshot::Sender<Reply>> = Default::default();
    let mut next_client: u64 = 1;
    let mut script_tick = tokio::time::interval(Duration::from_millis(100));
    script_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut persist_in_flight = false;
    let mut loglevel = core.persisted_state().global.loglevel;
    let mut counters = crate::web::Counters::default();
    let mut ctx = Exec {
        counters: &mut counters,
        links: &mut links,
        scripts: &mut scripts,
        pending: &mut pending,
        events: events.as_ref(),
        writer: &writer,
        persist_tx: &persist_tx,
        persist_in_flight: &mut persist_in_flight,
        loglevel: &mut loglevel,
    };
    ctx.drain(&mut core);
    let mut timer = crate::deadline::DeadlineTimer::new();
    let mut addr_version = core.addr_version();
    addrs.set(&core);
    // The HTTP snapshot (only with an HTTP listener): rebuilt after changes (see StatusPublisher).
    let mut status_pub = status.map(StatusPublisher::new);
    if let Some(sp) = status_pub.as_mut() {
        sp.publish(&core, &ctx);
    }
    loop {
        // The core says when it next needs the time; the driver adds no periodic wake-up of its own
        // (an idle sentinel should wake once per due timer).
        let deadline = core
            .poll_timeout()
            .map(|t| clock_start + Duration::from_millis(t.0))
            .unwrap_or_else(|| std::time::Instant::now() + Duration::from_millis(100));
        let scripts_pending = ctx.scripts.queued() > 0;
        let status_due = status_pub.as_ref().and_then(StatusPublisher::due);
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some((seq, result)) = persist_rx.recv() => {
                *ctx.persist_in_flight = false;
                if let Some(sp) = status_pub.as_mut() {
                    sp.dirty = true;
                }
                let input = match result {
                    Ok(()) => {
                        if write_failures > 0 {
                            tracing::warn!(
                                "Sentinel state saved on disk again after {write_failures} failed attempts"
                            );
                            write_failures = 0;
                        }
                        Input::Persisted(PersistSeq(seq))
                    }
                    Err(e) => {
                        if write_failures == 0 {
                            tracing::warn!(
                                "WARNING: Sentinel was not able to save the new configuration on disk!!!: {e} \
                                 (retrying with backoff; commands that change the configuration answer errors until a write succeeds)"
                            );
                        } else {
                            tracing::debug!("state write failed again: {e}");
                        }
                        write_failures += 1;
                        core.note_write_error(e);
                        Input::PersistFailed(PersistSeq(seq))
                    }
                };
                core.handle_input(clock.now(), input);
            }
            _ = timer.wait_until(deadline) => {
                core.handle_timeout(clock.now(), Clock::wall());
            }
            // Outside tokio's cooperative budget: the manager bounds its own work per poll
            // (`INPUT_BUDGET`), while the budget would force a yield — an extra epoll round and a
            // re-queue of every remaining ready link — after ~128 socket operations, i.e. several times
            // per tick at 1000 masters.
            _ = tokio::task::unconstrained(std::future::poll_fn(|cx| ctx.links.poll_inputs(cx))) => {
                // Every socket that became ready since the last round, in one go (bounded by
                // `INPUT_BUDGET`, so a flood cannot delay a deadline).
                while let Some(input) = ctx.links.take_input() {
                    core.handle_input(clock.now(), input);
                }
            }
            Some(req) = requests.recv() => {
                handle_request(req, &mut core, &mut ctx, &mut next_client, clock.now());
            }
            // Only while scripts are queued or running: an empty queue needs no 10 Hz timer.
            _ = script_tick.tick(), if scripts_pending => {
                let t = core.timings().clone();
                for e in ctx.scripts.tick(t.script_max_runtime, t.script_retry_delay) {
                    if e.debug {
                        tracing::debug!(target: "vedette::event", "{} {}", e.kind, e.message);
                    } else {
                        tracing::warn!(target: "vedette::event", "{} {}", e.kind, e.message);
                        ctx.events.publish(e.kind, &e.message);
                    }
                }
            }
            // Last: the HTTP snapshot never takes a turn from the sentinel's own work.
            _ = async {
                match status_pub.as_ref() {
                    Some(sp) => sp.feed.requested().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(sp) = status_pub.as_mut() {
                    sp.dirty = true;
                    sp.last = None;
                }
            }
            // A snapshot rebuild held back by its spacing (lazy: no timer exists without one pending).
            _ = async {
                match status_due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
        // Every request already queued, in one go and whichever branch ran: the link branch comes first
        // in the biased select and is ready all through a storm, so one request per turn would leave a
        // peer's pipelined vote requests (and the PING behind them) waiting seconds for their turns.
        for _ in 0..REQUEST_BUDGET {
            match requests.try_recv() {
                Ok(req) => handle_request(req, &mut core, &mut ctx, &mut next_client, clock.now()),
                Err(_) => break,
            }
        }
        ctx.drain(&mut core);
        let addr_changed = core.addr_version() != addr_version;
        if addr_changed {
            addr_version = core.addr_version();
            addrs.set(&core);
        }
        if let Some(sp) = status_pub.as_mut() {
            sp.after_step(&core, &ctx, addr_changed);
        }
    }
    // Shutdown: let an in-flight write finish, then write the final state. A hung disk must not hang
    // the exit: both waits are bounded (the blocking thread is left behind).
    while *ctx.persist_in_flight {
        match tokio::time::timeout(Duration::from_secs(2), persist_rx.recv()).await {
            Ok(Some(_)) => *ctx.persist_in_flight = false,
            _ => break,
        }
    }
    let state = core.persisted_state();
    if *ctx.persist_in_flight {
        tracing::warn!("WARNING: a state write is still in flight at shutdown (disk hung?): the final state is not saved");
    } else {
        let w = writer.clone();
        let st = state.clone();
        let write = tokio::task::spawn_blocking(move || w.write(&st));
        match tokio::time::timeout(SHUTDOWN_WRITE_TIMEOUT, write).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(
                "WARNING: Sentinel was not able to save the new configuration on disk!!!: {e}"
            ),
            Ok(Err(e)) => tracing::warn!("state writer task failed: {e}"),
            Err(_) => tracing::warn!(
                "WARNING: the final state write did not finish within {} s (disk hung?)",
                SHUTDOWN_WRITE_TIMEOUT.as_secs()
            ),
        }
    }
    ctx.links.close_all();
    ctx.scripts.kill_all();
    state
}

/// `SENTINEL SET`'s script options must name an executable file (or be empty), which only the shell can
/// check. As in Redis, the options before the first bad path still apply: the command is cut there and
/// answers the error after them. While `deny-scripts-reconfig` is on, the core refuses scripts first.
fn check_script_paths(core: &Sentinel, cmd: SentinelCommand) -> SentinelCommand {
    use std::os::unix::fs::PermissionsExt;
    let SentinelCommand::Set {
        name,
        mut options,
        mut error,
    } = cmd
    else {
        return cmd;
    };
    if !core.deny_scripts_reconfig() {
        let bad = options.iter().position(|a| {
            let (SetOption::NotificationScript(Some(path))
            | SetOption::ClientReconfigScript(Some(path))) = &a.setting
            else {
                return false;
            };
            !std::fs::metadata(path)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        });
        if let Some(i) = bad {
            let which = match options[i].setting {
                SetOption::NotificationScript(_) => "Notification script",
                _ => "Client reconfiguration script",
            };
            error = Some(format!("ERR {which} seems non existing or non executable"));
            options.truncate(i);
        }
    }
    SentinelCommand::Set {
        name,
        options,
        error,
    }
}

/// Keeps the HTTP endpoints' snapshot ([`crate::web::feed`]) fresh: rebuilt after a step that emitted
/// events or finished a state write, soonest when an advertised address changed, and when a handler asks
/// for a newer one. Rebuilds are spaced so that they take at most a tenth of the loop's time however many
/// masters change at once (see [`crate::web::feed::spacing`]).
struct StatusPublisher {
    feed: crate::web::StatusFeed,
    /// Something a reader would see changed since the last snapshot.
    dirty: bool,
    /// An advertised address changed since the last snapshot (`/primary` should show it soonest).
    urgent: bool,
    /// When the last snapshot was built (`None`: the next may be built at once).
    last: Option<std::time::Instant>,
    /// How long building the last one took.
    cost: Duration,
    /// Events executed as of the last look, to notice new ones.
    events_seen: u64,
}

impl StatusPublisher {
    fn new(feed: crate::web::StatusFeed) -> Self {
        StatusPublisher {
            feed,
            dirty: false,
            urgent: false,
            last: None,
            cost: Duration::ZERO,
            events_seen: 0,
        }
    }

    fn publish(&mut self, core: &Sentinel, ctx: &Exec<'_>) {
        let now = std::time::Instant::now();
        self.feed.publish(crate::web::Published {
            taken: now,
            status: core.status(),
            running_scripts: ctx.scripts.running(),
            queued_scripts: ctx.scripts.queued(),
            counters: ctx.counters.clone(),
        });
        self.cost = now.elapsed();
        self.last = Some(now);
        self.dirty = false;
        self.urgent = false;
    }

    /// When a pending rebuild may run (`None`: nothing pending).
    fn due_std(&self) -> Option<std::time::Instant> {
        if !self.dirty {
            return None;
        }
        Some(match self.last {
            None => std::time::Instant::now(),
            Some(t) => t + crate::web::feed::spacing(self.urgent, self.cost),
        })
    }

    fn due(&self) -> Option<tokio::time::Instant> {
        self.due_std().map(tokio::time::Instant::from_std)
    }

    fn after_step(&mut self, core: &Sentinel, ctx: &Exec<'_>, addr_changed: bool) {
        let seen = ctx.counters.total();
        if seen != self.events_seen {
            self.events_seen = seen;
            self.dirty = true;
        }
        if addr_changed {
            self.dirty = true;
            self.urgent = true;
        }
        if self
            .due_std()
            .is_some_and(|at| at <= std::time::Instant::now())
        {
            self.publish(core, ctx);
        }
    }
}

/// What executing outputs needs.
struct Exec<'a> {
    /// Event counts for the HTTP metrics.
    counters: &'a mut crate::web::Counters,
    links: &'a mut LinkManager,
    scripts: &'a mut ScriptRunner,
    pending: &'a mut std::collections::BTreeMap<u64, oneshot::Sender<Reply>>,
    events: &'a dyn EventSink,
    writer: &'a Arc<dyn StateWriter>,
    persist_tx: &'a mpsc::UnboundedSender<(u64, Result<(), String>)>,
    persist_in_flight: &'a mut bool,
    /// Log level in force, so `SENTINEL CONFIG SET loglevel` takes effect when it is persisted.
    loglevel: &'a mut String,
}

impl Exec<'_> {
    fn drain(&mut self, core: &mut Sentinel) {
        while let Some(o) = core.poll_output() {
            match o {
                Output::Connect { link, spec } => {
                    self.links.connect(link, spec);
                }
                Output::Close { link } => self.links.close(link),
                Output::Send { link, conn, cmd } => self.links.send(link, conn, cmd),
                Output::Reply { client, reply } => {
                    if let Some(tx) = self.pending.remove(&client.0) {
                        let _ = tx.send(reply);
                    }
                }
                Output::Event(e) => {
                    self.counters.record(&e.kind, e.master.as_deref());
                    // Redis's text, rendered once for the log and the channel.
                    let (channel, text) = (e.kind.channel(), e.kind.to_string());
                    match e.level() {
                        Level::Warning => {
                            tracing::warn!(target: "vedette::event", "{channel} {text}")
                        }
                        Level::Notice => {
                            tracing::info!(target: "vedette::event", "{channel} {text}")
                        }
                        Level::Verbose => {
                            tracing::debug!(target: "vedette::event", "{channel} {text}")
                        }
                        Level::Debug => {
                            tracing::trace!(target: "vedette::event", "{channel} {text}")
                        }
                    }
                    if e.is_published() {
                        self.events.publish(channel, &text);
                    }
                }
                Output::Persist { seq, state } => {
                    if *self.loglevel != state.global.loglevel {
                        self.loglevel.clone_from(&state.global.loglevel);
                        crate::config::apply_log_level(&state.global.loglevel);
                    }
                    *self.persist_in_flight = true;
                    let w = self.writer.clone();
                    let tx = self.persist_tx.clone();
                    // The core emits the next Persist only after this result: one write in flight.
                    tokio::task::spawn_blocking(move || {
                        let _ = tx.send((seq.0, w.write(&state)));
                    });
                }
                Output::RunScript(job) => self.scripts.enqueue(job.path, job.args),
                Output::Crash => {
                    tracing::warn!("Sentinel CRASH because of SENTINEL simulate-failure");
                    std::process::exit(99);
                }
            }
        }
    }
}

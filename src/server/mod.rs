//! The RESP server clients and peer sentinels talk to: listener, sessions, command dispatch, pub/sub.
//!
//! ```text
//!  TcpListener ──accept──► maxclients check ──► session task (session.rs) ──► dispatch.rs
//!                                                  │  resp.rs: parse requests,            ├─ local: PING INFO AUTH HELLO     
//!                                                  │  encode RESP2/RESP3                  │         CLIENT COMMAND SHUTDOWN (P)SUBSCRIBE
//!                                                  ◄── pubsub.rs (broadcast) ◄── driver   └─ core:  SENTINEL ROLE PUBLISH (CoreHandle)
//! ```
//!
//! Usage (the driver does this):
//! ```no_run
//! # async fn f(core: vedette::driver::CoreHandle, cfg: vedette::config::ServerConfig) -> Result<(), vedette::server::BindError> {
//! use std::sync::Arc;
//! use vedette::server::{self, PubSubHub, ServerContext};
//! let hub = PubSubHub::new(); // keep a clone: hub.publish("+switch-master", "...") for events
//! let cfg = Arc::new(cfg);
//! let listeners = server::bind(&cfg).await?;
//! let ctx = ServerContext::new(core, hub.clone(), cfg, None);
//! let shutdown = tokio_util::sync::CancellationToken::new(); // SHUTDOWN cancels it
//! server::serve(ctx, listeners, shutdown.clone()).await;
//! # Ok(()) }
//! ```

mod clients;
mod commands;
mod dispatch;
pub(crate) use dispatch::ct_eq;
mod info;
mod pubsub;
pub mod resp;
mod session;
mod stop;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;
use crate::driver::CoreHandle;

pub use clients::{ClientEntry, ClientKind, ClientRegistry, Stats};
pub use commands::{CommandNames, CommandSpec, COMMANDS};
pub(crate) use dispatch::sha256_hex;
pub use info::{Sections, REDIS_VERSION};
pub use pubsub::{Message, PubSubHub, SUBSCRIBER_BACKLOG};

/// Redis's listen backlog (`tcp-backlog` default).
const BACKLOG: u32 = 511;
/// First pause after a failed `accept` (e.g. out of descriptors) so the loop does not spin; doubled on
/// each further failure up to [`ACCEPT_ERROR_PAUSE_MAX`].
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// Longest pause between `accept` retries.
const ACCEPT_ERROR_PAUSE_MAX: Duration = Duration::from_secs(1);
/// What a client over `maxclients` (or the descriptor budget) reads before being closed.
const MAXCLIENTS_ERROR: &[u8] = b"-ERR max number of clients reached\r\n";
/// What a non-loopback client reads under `protected-mode yes` without a password (Redis 7.0's text,
/// typo included).
const PROTECTED_MODE_ERROR: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Everything sessions share.
#[derive(Debug)]
pub struct ServerContext {
    /// The core, for SENTINEL / ROLE / PUBLISH and the `# Sentinel` INFO section.
    pub core: CoreHandle,
    /// Event fan-out.
    pub hub: PubSubHub,
    /// Listener settings, limits, requirepass, timeout.
    pub config: Arc<ServerConfig>,
    /// Connected clients.
    pub clients: Arc<ClientRegistry>,
    /// Counters for INFO.
    pub stats: Stats,
    /// Process start (uptime).
    pub started: Instant,
    /// Config file, shown by INFO `config_file`.
    pub config_file: Option<PathBuf>,
    /// INFO `run_id`: random per process (distinct from the sentinel's persistent myid, as in Redis).
    pub run_id: String,
    /// INFO `hz`: a sentinel runs its timer at a randomised 10–19 Hz.
    pub hz: u32,
    /// The command table after `rename-command`.
    pub commands: CommandNames,
    listen_addrs: Mutex<Vec<SocketAddr>>,
}

impl ServerContext {
    /// Build the shared context.
    pub fn new(
        core: CoreHandle,
        hub: PubSubHub,
        config: Arc<ServerConfig>,
        config_file: Option<PathBuf>,
    ) -> Arc<Self> {
        let mut rng = rand::thread_rng();
        let run_id: String = (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
            .collect();
        // The loader validated the renames already; a config built by hand that fails keeps the
        // plain table (and says so) rather than refusing to serve.
        let commands = CommandNames::build(&config.rename_commands).unwrap_or_else(|(i, why)| {
            tracing::warn!(rename = ?config.rename_commands.get(i), "{why}: rename-command ignored");
            CommandNames::default()
        });
        Arc::new(ServerContext {
            commands,
            core,
            hub,
            config,
            clients: Arc::new(ClientRegistry::default()),
            stats: Stats::default(),
            started: Instant::now(),
            config_file,
            run_id,
            hz: rng.gen_range(10..20),
            listen_addrs: Mutex::new(Vec::new()),
        })
    }

    /// Addresses being served (set by [`serve`]).
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.listen_addrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The TCP port actually listened on (INFO `tcp_port`), or the configured one before [`serve`].
    pub fn port(&self) -> u16 {
        self.listen_addrs()
            .first()
            .map(|a| a.port())
            .unwrap_or(self.config.port)
    }
}

/// A listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A `bind` entry is not an IP address.
    #[error("invalid bind address '{0}'")]
    InvalidAddress(String),
    /// The OS refused.
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Every entry was optional (`-` prefix) and unavailable.
    #[error("no address to listen on")]
    Nothing,
}

/// Bind every address of `cfg.bind` on `cfg.port`, like Redis: an empty list means `* -::*` (all IPv4
/// and, if available, all IPv6 interfaces); a `-` prefix marks an address that may be unavailable;
/// `*` / `::*` are the wildcards. IPv6 sockets are v6-only so they can coexist with the IPv4 wildcard.
pub async fn bind(cfg: &ServerConfig) -> Result<Vec<TcpListener>, BindError> {
    bind_addrs(&cfg.bind, cfg.port)
}

/// Bind every entry of `bind` (written like the `bind` directive; empty = `* -::*`) on `port`.
pub fn bind_addrs(bind: &[String], port: u16) -> Result<Vec<TcpListener>, BindError> {
    let default = ["*".to_string(), "-::*".to_string()];
    let entries: &[String] = if bind.is_empty() { &default } else { bind };
    let mut out = Vec::new();
    for entry in entries {
        let (optional, host) = match entry.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, entry.as_str()),
        };
        let ip: IpAddr = match host {
            "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            h => h
                .parse()
                .map_err(|_| BindError::InvalidAddress(entry.clone()))?,
        };
        let addr = SocketAddr::new(ip, port);
        match listen(addr) {
            Ok(l) => out.push(l),
            Err(e) if optional => {
                tracing::debug!(%addr, error = %e, "optional bind address unavailable, skipped");
            }
            Err(source) => return Err(BindError::Io { addr, source }),
        }
    }
    if out.is_empty() {
        return Err(BindError::Nothing);
    }
    Ok(out)
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => {
            let s = TcpSocket::new_v6()?;
            set_v6only(&s)?;
            s
        }
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(BACKLOG)
}

fn set_v6only(sock: &TcpSocket) -> std::io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a pointer to a live c_int of the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            std::ptr::from_ref(&one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Serve clients on `listeners` until `shutdown` is cancelled (by the caller or by a `SHUTDOWN`
/// command); then stop accepting, close every client and return once all sessions have ended.
pub async fn serve(
    ctx: Arc<ServerContext>,
    listeners: Vec<TcpListener>,
    shutdown: CancellationToken,
) {
    {
        let mut addrs = ctx.listen_addrs.lock().unwrap_or_else(|p| p.into_inner());
        *addrs = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
    }
    let tracker = TaskTracker::new();
    for listener in listeners {
        tracker.spawn(accept_loop(
            ctx.clone(),
            listener,
            shutdown.clone(),
            tracker.clone(),
        ));
    }
    {
        let ctx = ctx.clone();
        tracker.spawn(async move {
            shutdown.cancelled().await;
            ctx.clients.stop_all(stop::StopReason::Shutdown);
        });
    }
    tracker.close();
    tracker.wait().await;
}

async fn accept_loop(
    ctx: Arc<ServerContext>,
    listener: TcpListener,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    // Consecutive failed accepts, for back-off and a log line per streak rather than per failure.
    let mut failures: u32 = 0;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, addr)) => {
                if failures > 0 {
                    tracing::info!(failures, "accepting client connections again");
                    failures = 0;
                }
                admit(&ctx, stream, addr, &shutdown, &tracker)
            }
            Err(e) => {
                // Typically EMFILE/ENFILE: the connection stays queued in the kernel and the listener
                // stays readable, so retrying at once would spin. Existing clients and links keep working.
                if failures == 0 {
                    tracing::warn!("Accepting client connection: {e} (retrying with back-off)");
                } else {
                    tracing::debug!(error = %e, failures, "accepting client connection failed again");
                }
                let pause = ACCEPT_ERROR_PAUSE
                    .saturating_mul(1u32 << failures.min(10))
                    .min(ACCEPT_ERROR_PAUSE_MAX);
                failures = failures.saturating_add(1);
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
}

/// Redis `connIsLocal`: a loopback peer (`127.0.0.0/8`, `::1`, or an IPv4-mapped loopback).
fn is_local(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn admit(
    ctx: &Arc<ServerContext>,
    stream: TcpStream,
    addr: SocketAddr,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
) {
    Stats::add(&ctx.stats.connections_received, 1);
    let _ = stream.set_nodelay(true);
    let laddr = stream
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let fd = i64::from(stream.as_raw_fd());
    let authenticated = ctx.config.requirepass.is_none();
    let budget = crate::fds::client_budget(ctx.config.maxclients);
    let Some(reg) = ctx.clients.register(budget, addr, laddr, fd, authenticated) else {
        // Best effort and non-blocking, as Redis: the accept loop never waits on a refused client.
        let _ = stream.try_write(MAXCLIENTS_ERROR);
        Stats::add(&ctx.stats.rejected_connections, 1);
        tracing::debug!(%addr, budget, "refused client: max number of clients reached");
        return;
    };
    // Redis checks protected mode after maxclients, once the client exists.
    if ctx.config.protected_mode && ctx.config.requirepass.is_none() && !is_local(&addr) {
        let _ = stream.try_write(PROTECTED_MODE_ERROR);
        Stats::add(&ctx.stats.rejected_connections, 1);
        tracing::info!(%addr, "refused client from a non-loopback address: protected mode");
        drop(reg);
        return;
    }
    tracing::debug!(id = reg.entry.id, %addr, "accepted client");
    tracker.spawn(session::run(ctx.clone(), stream, reg, shutdown.clone()));
}

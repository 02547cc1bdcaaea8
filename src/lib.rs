//! # vedette: the shell around `vedette-core`
//!
//! The algorithm lives in the pure `vedette-core` crate; this crate owns everything with side effects:
//!
//! ```text
//!  clients, peers ──► server/ (RESP listener, sessions, pub/sub) ──CoreRequest──►┐
//!                                                                                 driver.rs ── owns Sentinel
//!  masters, replicas, peers ◄── link/ (outbound connections) ◄──Output::Send───── │   ▲ Input
//!                              persist.rs (atomic state writes) ◄─Output::Persist─┘   │
//!                              scripts.rs (notification / reconfig scripts)           │
//!                              ticks (tokio time) ────────────────────────────────────┘
//! ```
//!
//! `web/` is the optional HTTP listener (`/metrics`, health probes, `/status`); it reads a snapshot the
//! driver publishes and never calls into the core.
//!
//! `config/` reads `sentinel.conf` or TOML with file:line errors and rewrites state the way Redis does.

pub mod config;
pub mod deadline;
pub mod driver;
pub mod fds;
pub mod link;
pub mod lockfile;
pub mod persist;
pub mod scripts;
pub mod server;
pub mod web;

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Could not bind the listener.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Other I/O failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Adapts the config's [`config::StateStore`] to the driver.
struct StoreWriter {
    store: config::StateStore,
    server: config::ServerConfig,
}

impl driver::StateWriter for StoreWriter {
    fn write(&self, state: &vedette_core::PersistedState) -> Result<(), String> {
        self.store
            .write(state, &self.server)
            .map_err(|e| e.to_string())
    }
}

/// Run the sentinel until SIGTERM, SIGINT or `SHUTDOWN`; the state is written before returning.
pub async fn run(cfg: config::LoadedConfig) -> Result<(), RunError> {
    use std::sync::Arc;

    let start = std::time::Instant::now();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let listeners = server::bind(&cfg.server)
        .await
        .map_err(|e| RunError::Bind {
            addr: format!("{:?}:{}", cfg.server.bind, cfg.server.port),
            source: std::io::Error::other(e.to_string()),
        })?;
    // The HTTP listener, bound before anything runs so a busy port fails start-up like the RESP port.
    let http_listeners = if cfg.server.http_port != 0 {
        let bind = if cfg.server.http_bind.is_empty() {
            &cfg.server.bind
        } else {
            &cfg.server.http_bind
        };
        let ls = server::bind_addrs(bind, cfg.server.http_port).map_err(|e| RunError::Bind {
            addr: format!("{bind:?}:{}", cfg.server.http_port),
            source: std::io::Error::other(e.to_string()),
        })?;
        Some(ls)
    } else {
        None
    };
    let status_feed = http_listeners.as_ref().map(|_| web::StatusFeed::new());
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    let hub = server::PubSubHub::new();
    let addrs = driver::AddrSnapshot::default();
    let ctx = server::ServerContext::new(
        driver::CoreHandle::with_snapshot(tx, addrs.clone()),
        hub.clone(),
        Arc::new(cfg.server.clone()),
        cfg.store.path().map(|p| p.to_path_buf()),
    );
    let seed: u64 = rand::random();
    let mut state = cfg.state;
    state.global.port = cfg.server.port;
    if state.global.requirepass.is_none() {
        state.global.requirepass = cfg.server.requirepass.clone();
    }
    tracing::info!("Sentinel ID is {}", state.myid);
    let core = vedette_core::Sentinel::new(state, seed, vedette_core::Instant(0));
    let writer = Arc::new(StoreWriter {
        store: cfg.store,
        server: cfg.server,
    });
    let server_task = tokio::spawn(server::serve(ctx, listeners, shutdown.clone()));
    let http_task = match (http_listeners, &status_feed) {
        (Some(ls), Some(feed)) => {
            for l in &ls {
                if let Ok(a) = l.local_addr() {
                    tracing::info!("HTTP listener on {a}");
                }
            }
            Some(tokio::spawn(web::serve(
                ls,
                feed.clone(),
                writer.server.requirepass.clone(),
                shutdown.clone(),
            )))
        }
        _ => None,
    };
    let signals = shutdown.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot install SIGTERM handler: {e}");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
            _ = tokio::signal::ctrl_c() => tracing::warn!("Received SIGINT scheduling shutdown..."),
            _ = signals.cancelled() => {}
        }
        signals.cancel();
    });
    driver::run_driver(
        core,
        rx,
        writer,
        Box::new(hub),
        shutdown.clone(),
        start,
        driver::Feeds {
            addrs,
            status: status_feed,
        },
    )
    .await;
    shutdown.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), server_task).await;
    if let Some(t) = http_task {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), t).await;
    }
    tracing::warn!("Sentinel is now ready to exit, bye bye...");
    Ok(())
}

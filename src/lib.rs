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
//! `config/` reads `sentinel.conf` or TOML with file:line errors and rewrites state the way Redis does.

pub mod config;
pub mod driver;
pub mod link;
pub mod persist;
pub mod scripts;
pub mod server;

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

/// Run the sentinel until SIGTERM/SIGINT/`SHUTDOWN`. (Wired up by the driver.)
pub async fn run(cfg: config::LoadedConfig) -> Result<(), RunError> {
    let _ = cfg;
    Ok(())
}

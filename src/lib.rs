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

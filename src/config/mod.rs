//! Configuration: `sentinel.conf` and TOML readers, the Redis-style rewriter, CLI overrides.
//!
//! Loading yields a [`LoadedConfig`]: the process settings the shell needs ([`ServerConfig`]) and the
//! durable sentinel state the core runs on ([`vedette_core::PersistedState`]).

use std::path::PathBuf;

use vedette_core::PersistedState;

/// Settings of the process itself (listener, logging, limits): the generic redis-server directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `port` (26379).
    pub port: u16,
    /// `bind` addresses (empty = all interfaces, like Redis).
    pub bind: Vec<String>,
    /// `maxclients` (10000).
    pub maxclients: usize,
    /// `requirepass`: password of the `default` user for incoming clients.
    pub requirepass: Option<String>,
    /// `timeout`: idle client timeout in seconds (0 = never).
    pub timeout_secs: u64,
    /// `logfile` ("" = stdout).
    pub logfile: String,
    /// `loglevel`.
    pub loglevel: String,
    /// `pidfile`.
    pub pidfile: Option<String>,
    /// `daemonize`.
    pub daemonize: bool,
    /// `dir` (absolute).
    pub dir: PathBuf,
    /// Largest request a client may send (Redis `proto-max-bulk-len`, 512 MiB).
    pub proto_max_bulk_len: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: 26379,
            bind: Vec::new(),
            maxclients: 10_000,
            requirepass: None,
            timeout_secs: 0,
            logfile: String::new(),
            loglevel: "notice".into(),
            pidfile: None,
            daemonize: false,
            dir: PathBuf::from("."),
            proto_max_bulk_len: 512 * 1024 * 1024,
        }
    }
}

/// A loaded configuration.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// Process settings.
    pub server: ServerConfig,
    /// Sentinel state (masters, epochs, known instances, id).
    pub state: PersistedState,
}

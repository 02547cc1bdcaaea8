//! Configuration: `sentinel.conf` and TOML readers, the Redis-style rewriter, CLI overrides.
//!
//! Loading yields a [`LoadedConfig`]: the process settings the shell needs ([`ServerConfig`]), the
//! durable sentinel state the core runs on ([`vedette_core::PersistedState`]) and the
//! [`StateStore`] that writes that state back (into the `sentinel.conf` itself, Redis-style, or into a
//! separate state file next to a TOML config).
//!
//! Format: a path ending in `.toml`, or a file whose first directive line is a TOML table header
//! (`[sentinel]`, `[[master]]`), is TOML; anything else is Redis `sentinel.conf` syntax.
//!
//! Directives given on the command line (`vedette sentinel.conf --port 26380 --sentinel monitor …`) are
//! extra config lines read after the file, exactly like `redis-sentinel` (see [`args_to_lines`]).

mod directives;
pub mod rewrite;
pub mod sentinel_conf;
mod store;
pub mod tokenize;
pub mod toml_conf;

use std::path::{Path, PathBuf};

use vedette_core::PersistedState;

pub use store::StateStore;

/// Settings of the process itself (listener, logging, limits): the generic redis-server directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `port` (26379).
    pub port: u16,
    /// `bind` addresses (empty = all interfaces, like Redis). As written: a leading `-` marks an address
    /// that may be unavailable (Redis skips it instead of failing).
    pub bind: Vec<String>,
    /// `maxclients` (10000).
    pub maxclients: usize,
    /// `requirepass`: password of the `default` user for incoming clients (`requirepass ""` = none).
    pub requirepass: Option<String>,
    /// `timeout`: idle client timeout in seconds (0 = never).
    pub timeout_secs: u64,
    /// `logfile` ("" = stdout). A relative path is relative to `dir`.
    pub logfile: String,
    /// `loglevel` (debug, verbose, notice, warning, nothing).
    pub loglevel: String,
    /// `pidfile` (relative to `dir`). Written when set, or when daemonized (then `/var/run/redis.pid`).
    pub pidfile: Option<String>,
    /// `daemonize`.
    pub daemonize: bool,
    /// `dir` (absolute). `main` changes into it after parsing; relative paths resolve against it.
    pub dir: PathBuf,
    /// Largest request a client may send (Redis `proto-max-bulk-len`, 512 MiB).
    pub proto_max_bulk_len: usize,
    /// `tcp-keepalive` in seconds (300; 0 = off).
    pub tcp_keepalive_secs: u64,
    /// `tcp-backlog` (511).
    pub tcp_backlog: u32,
    /// `client-query-buffer-limit` (1 GiB, at least 1 MiB): a client whose pending input (unparsed bytes
    /// plus the arguments of the command being read) exceeds it is closed, as in Redis.
    pub client_query_buffer_limit: usize,
    /// `client-output-buffer-limit` per client class (Redis's defaults: normal unlimited, pubsub 32mb
    /// hard / 8mb soft for 60 s).
    pub output_buffer_limits: OutputBufferLimits,
    /// `rename-command <command> <new-name>` lines in order, command lower-cased; an empty new name
    /// disables the command. They apply to this sentinel's own commands (Redis semantics).
    pub rename_commands: Vec<(String, String)>,
    /// `protected-mode` (Sentinel default: no). With `yes` and no password, clients from non-loopback
    /// addresses get Redis's `-DENIED` text and are closed.
    pub protected_mode: bool,
    /// `http-port` (vedette only): port of the HTTP listener for `/metrics`, `/health`, `/status` and the
    /// load-balancer probes; 0 (the default) = no HTTP listener.
    pub http_port: u16,
    /// `http-bind` (vedette only): addresses of the HTTP listener, written like `bind`; empty = the same
    /// addresses as `bind`, so restricting the RESP port to one interface restricts the HTTP port too.
    pub http_bind: Vec<String>,
    /// Absolute path of the configuration file that was loaded.
    pub config_file: PathBuf,
    /// One message per directive that was accepted but is not implemented (or was ignored); `main` logs
    /// each with `tracing::warn!` once logging is set up.
    pub warnings: Vec<String>,
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
            tcp_keepalive_secs: 300,
            tcp_backlog: 511,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            output_buffer_limits: OutputBufferLimits::default(),
            rename_commands: Vec::new(),
            protected_mode: false,
            http_port: 0,
            http_bind: Vec::new(),
            config_file: PathBuf::new(),
            warnings: Vec::new(),
        }
    }
}

/// One class of `client-output-buffer-limit`: a client whose pending output reaches `hard` bytes, or
/// stays at or above `soft` bytes for more than `soft_secs` seconds, is closed. 0 = no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputBufferLimit {
    /// Hard limit in bytes.
    pub hard: u64,
    /// Soft limit in bytes.
    pub soft: u64,
    /// How long the soft limit may be exceeded.
    pub soft_secs: u64,
}

/// `client-output-buffer-limit` for the classes a sentinel has (Redis's `slave` class is accepted and
/// kept, but no replica ever connects to a sentinel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBufferLimits {
    /// Ordinary clients (default unlimited: they get TCP backpressure instead, see `server::session`).
    pub normal: OutputBufferLimit,
    /// `slave` / `replica` (default 256mb 64mb 60; unused by a sentinel).
    pub replica: OutputBufferLimit,
    /// Subscribed clients (default 32mb 8mb 60).
    pub pubsub: OutputBufferLimit,
}

impl Default for OutputBufferLimits {
    fn default() -> Self {
        const MB: u64 = 1024 * 1024;
        OutputBufferLimits {
            normal: OutputBufferLimit::default(),
            replica: OutputBufferLimit {
                hard: 256 * MB,
                soft: 64 * MB,
                soft_secs: 60,
            },
            pubsub: OutputBufferLimit {
                hard: 32 * MB,
                soft: 8 * MB,
                soft_secs: 60,
            },
        }
    }
}

/// A loaded configuration.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// Process settings.
    pub server: ServerConfig,
    /// Sentinel state (masters, epochs, known instances, id). `myid` is empty when the file has none:
    /// `main` generates one with [`generate_myid`] and writes it through `store` before running.
    pub state: PersistedState,
    /// Where and how the state is written back.
    pub store: StateStore,
}

/// A configuration that cannot be used. `Display` names file, line and directive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file (or an included one) cannot be read.
    #[error("{}: can't open config file: {reason}", file.display())]
    Open {
        /// File.
        file: PathBuf,
        /// `strerror` text.
        reason: String,
    },
    /// A line was rejected.
    #[error("{}:{line}: '{directive}': {reason}", file.display())]
    Directive {
        /// File (or `(command line)`).
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Directive (`port`, `sentinel monitor`, a TOML key…).
        directive: String,
        /// The line as written (trimmed).
        text: String,
        /// Redis's reason text where Redis has one.
        reason: String,
    },
}

impl ConfigError {
    /// The block redis-server prints on stderr before exiting, followed by the file:line summary.
    pub fn redis_report(&self) -> String {
        match self {
            ConfigError::Open { file, reason } => format!(
                "Fatal error, can't open config file '{}': {reason}\n",
                file.display()
            ),
            ConfigError::Directive {
                line, text, reason, ..
            } => format!(
                "\n*** FATAL CONFIG FILE ERROR (vedette {}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}\n{self}\n",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// Syntax of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// Redis `sentinel.conf`; the state is rewritten into it.
    Redis,
    /// vedette TOML; the state goes to a separate state file in `dir`.
    Toml,
}

/// Choose the syntax: `.toml` extension, or a first directive line that is a TOML table header.
pub fn detect_format(path: &Path, content: &[u8]) -> ConfigFormat {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return ConfigFormat::Toml;
    }
    let first = content
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty() && !l.starts_with(b"#"));
    match first {
        Some(l) if l.starts_with(b"[") => ConfigFormat::Toml,
        _ => ConfigFormat::Redis,
    }
}

/// Load a configuration file with no command-line directives.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    load_with_args(path, &[])
}

/// Load a configuration file, then the command-line directives `args` (`["--port", "26380", …]`).
pub fn load_with_args(path: &Path, args: &[String]) -> Result<LoadedConfig, ConfigError> {
    let lines = args_to_lines(args);
    let path = absolute(path);
    let content = std::fs::read(&path).map_err(|e| ConfigError::Open {
        file: path.clone(),
        reason: strerror(&e),
    })?;
    match detect_format(&path, &content) {
        ConfigFormat::Toml => toml_conf::load(&path, &content, &lines),
        ConfigFormat::Redis => load_redis(&path, &content, &lines),
    }
}

/// Load `content` as if it were the file at `path` (absolute), with `state_file` as the content of a TOML
/// config's state file (`None`: there is none). The same code as [`load`] minus reading those two files,
/// so fuzzing and property tests can check loading and the write/load round trip without a disk. Other
/// files the content names (`include`, `dir`, scripts) are still looked up on disk.
pub fn load_from_memory(
    path: &Path,
    content: &[u8],
    state_file: Option<&[u8]>,
) -> Result<LoadedConfig, ConfigError> {
    match detect_format(path, content) {
        ConfigFormat::Toml => toml_conf::load_with(path, content, &[], &|_| match state_file {
            Some(bytes) => Ok(bytes.to_vec()),
            None => Err(std::io::ErrorKind::NotFound.into()),
        }),
        ConfigFormat::Redis => load_redis(path, content, &[]),
    }
}

fn load_redis(path: &Path, content: &[u8], lines: &[String]) -> Result<LoadedConfig, ConfigError> {
    let cwd = std::env::current_dir().map_err(|e| ConfigError::Open {
        file: PathBuf::from("."),
        reason: strerror(&e),
    })?;
    let server = ServerConfig {
        dir: cwd.clone(),
        config_file: path.to_path_buf(),
        ..ServerConfig::default()
    };
    let mut reader = sentinel_conf::Reader::new(server, cwd);
    reader.read_text(path, content, sentinel_conf::Origin::File, 0)?;
    reader.read_command_line(lines)?;
    let mut state = PersistedState::new("");
    reader.apply_queue(&mut state)?;
    let server = reader.server;
    finish_state(&mut state, &server);
    let store = StateStore::redis_conf(path.to_path_buf(), reader.overrides);
    Ok(LoadedConfig {
        server,
        state,
        store,
    })
}

/// Copy the process settings the core also needs into the state.
pub(crate) fn finish_state(state: &mut PersistedState, server: &ServerConfig) {
    state.global.port = server.port;
    state.global.requirepass = server.requirepass.clone();
    state.global.loglevel = server.loglevel.clone();
}

/// Turn `redis-sentinel`-style command-line arguments into config lines (Redis `main()`): every `--name`
/// starts a line, the following arguments are appended quoted; `--save` / `--sentinel` without a value
/// are accepted.
pub fn args_to_lines(args: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut handled_last = true;
    for (j, a) in args.iter().enumerate() {
        if handled_last && a.starts_with("--") {
            let name = &a[2..];
            let mut line = format!("{name} ");
            let words = tokenize::split_args(a.as_bytes()).map_or(0, |v| v.len());
            if words == 1 {
                handled_last = false;
                let is_last = j + 1 == args.len();
                let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
                if a.eq_ignore_ascii_case("--save") && (next_is_option || is_last) {
                    line.push_str("\"\"");
                    handled_last = true;
                } else if a.eq_ignore_ascii_case("--sentinel") && (next_is_option || is_last) {
                    handled_last = true;
                }
            } else {
                handled_last = true;
            }
            lines.push(line);
        } else {
            if lines.is_empty() {
                lines.push(String::new());
            }
            if let Some(last) = lines.last_mut() {
                last.push_str(&tokenize::quote(a));
                last.push(' ');
            }
            handled_last = true;
        }
    }
    lines
}

/// A fresh sentinel id: 40 lowercase hex characters from the OS random source.
pub fn generate_myid() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

type LogLevelHook = Box<dyn Fn(&str) + Send + Sync>;

/// How to change the process's log filter at runtime; installed by `main` once logging is set up.
static LOG_LEVEL_HOOK: std::sync::OnceLock<LogLevelHook> = std::sync::OnceLock::new();

/// Install the runtime log-level changer (called once by `main`; later calls are ignored).
pub fn set_log_level_hook(hook: impl Fn(&str) + Send + Sync + 'static) {
    let _ = LOG_LEVEL_HOOK.set(Box::new(hook));
}

/// Apply a Redis log level (`debug`, `verbose`, `notice`, `warning`, `nothing`) to the running process,
/// for `SENTINEL CONFIG SET loglevel`. Does nothing when no hook is installed (tests, embedded use).
pub fn apply_log_level(level: &str) {
    if let Some(hook) = LOG_LEVEL_HOOK.get() {
        hook(level);
    }
}

/// A readable dump of the effective configuration (for `vedette --check-config`); secrets are masked.
pub fn describe(cfg: &LoadedConfig) -> String {
    let s = &cfg.server;
    let mut out = String::new();
    out.push_str(&format!("# config file: {}\n", s.config_file.display()));
    out.push_str(&format!(
        "# state is written to: {}\n",
        cfg.store.describe()
    ));
    let q = tokenize::quote;
    out.push_str(&format!("port {}\n", s.port));
    if !s.bind.is_empty() {
        out.push_str(&format!("bind {}\n", tokenize::join_line(&s.bind)));
    }
    out.push_str(&format!("dir {}\n", q(&s.dir.to_string_lossy())));
    out.push_str(&format!("logfile {}\n", q(&s.logfile)));
    out.push_str(&format!("loglevel {}\n", s.loglevel));
    if let Some(p) = &s.pidfile {
        out.push_str(&format!("pidfile {}\n", q(p)));
    }
    let yn = |b: bool| if b { "yes" } else { "no" };
    out.push_str(&format!("daemonize {}\n", yn(s.daemonize)));
    out.push_str(&format!("protected-mode {}\n", yn(s.protected_mode)));
    out.push_str(&format!("maxclients {}\n", s.maxclients));
    out.push_str(&format!(
        "client-query-buffer-limit {}\n",
        s.client_query_buffer_limit
    ));
    let l = &s.output_buffer_limits;
    out.push_str(&format!(
        "client-output-buffer-limit normal {} {} {} replica {} {} {} pubsub {} {} {}\n",
        l.normal.hard,
        l.normal.soft,
        l.normal.soft_secs,
        l.replica.hard,
        l.replica.soft,
        l.replica.soft_secs,
        l.pubsub.hard,
        l.pubsub.soft,
        l.pubsub.soft_secs
    ));
    for (cmd, new) in &s.rename_commands {
        out.push_str(&format!("rename-command {} {}\n", q(cmd), q(new)));
    }
    if s.http_port != 0 {
        out.push_str(&format!("http-port {}\n", s.http_port));
    }
    if !s.http_bind.is_empty() {
        out.push_str(&format!(
            "http-bind {}\n",
            tokenize::join_line(&s.http_bind)
        ));
    }
    out.push_str(&format!("timeout {}\n", s.timeout_secs));
    out.push_str(&format!("tcp-keepalive {}\n", s.tcp_keepalive_secs));
    out.push_str(&format!("tcp-backlog {}\n", s.tcp_backlog));
    if s.requirepass.is_some() {
        out.push_str("requirepass ********\n");
    }
    if cfg.state.myid.is_empty() {
        out.push_str("# sentinel myid: none yet (generated and saved at start-up)\n");
    }
    for line in rewrite::effective_lines(&cfg.state, &cfg.server, &[]) {
        if line.starts_with("sentinel ")
            && !(cfg.state.myid.is_empty() && line.starts_with("sentinel myid"))
        {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// `path` made absolute against the current directory (Redis `getAbsolutePath`).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `strerror(errno)` text of an I/O error (without Rust's " (os error N)" suffix).
pub(crate) fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod tests;

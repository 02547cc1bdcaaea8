//! `vedette <config-file> [--<directive> <value>...]`: the process around [`vedette::run`].
//!
//! Start-up order (redis-server `main()` in Sentinel mode):
//! 1. Load the config (file, then command-line directives); a bad one prints Redis's
//!    `*** FATAL CONFIG FILE ERROR ***` block plus `file:line: 'directive': reason` and exits 1.
//! 2. The config (or, for TOML, the state file's directory) must be writable (Redis's exact messages);
//!    then the state file's lock is taken ([`vedette::lockfile`]): a second instance exits 1 here.
//! 3. `daemonize yes`: fork before any thread exists (the tokio runtime comes later), `setsid`, stdio to
//!    /dev/null.
//! 4. `chdir` to `dir`, then logging to `logfile` (relative to `dir`; stdout when empty) at `loglevel`;
//!    then `RLIMIT_NOFILE` is raised and `maxclients` fitted to it ([`vedette::fds`]).
//! 5. The pid file (when set, or daemonized), removed again on exit.
//! 6. A missing `myid` is generated and persisted before anything runs.
//! 7. A 2-worker tokio runtime runs [`vedette::run`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tracing::{error, warn};
use tracing_subscriber::filter::LevelFilter;

use vedette::config::{self, LoadedConfig};
use vedette::lockfile::StateLock;

/// Pid file Redis uses when daemonized without `pidfile`.
const DEFAULT_PIDFILE: &str = "/var/run/redis.pid";

#[derive(Debug, Parser)]
#[command(
    name = "vedette",
    version,
    about = "A Redis Sentinel-compatible failover monitor",
    after_help = "Directives after the config file override it, as with redis-sentinel:\n  \
                  vedette /etc/sentinel.conf --port 26380 --sentinel monitor mymaster 127.0.0.1 6379 2\n\
                  A config ending in .toml is vedette's TOML format (see sentinel.toml.example); \
                  anything else is Redis sentinel.conf syntax."
)]
struct Cli {
    /// Validate the configuration, print the effective settings and exit (status 1 if invalid).
    #[arg(long)]
    check_config: bool,
    /// Configuration file: Redis sentinel.conf syntax, or vedette TOML (`.toml`).
    config: PathBuf,
    /// Config directives overriding the file: `--<directive> <value>...`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "--DIRECTIVE VALUE"
    )]
    directives: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match config::load_with_args(&cli.config, &cli.directives) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{}", e.redis_report());
            return ExitCode::from(1);
        }
    };
    if cli.check_config {
        for w in &loaded.server.warnings {
            eprintln!("warning: {w}");
        }
        print!("{}", config::describe(&loaded));
        println!("# configuration OK");
        return ExitCode::SUCCESS;
    }
    if let Err(msg) = loaded.store.check_writable() {
        eprintln!("{msg}");
        return ExitCode::from(1);
    }
    // One owner per state file: before anything is written, and before daemonizing, so a second
    // instance fails in the foreground with a non-zero status.
    let lock = match loaded.store.path().map(StateLock::acquire) {
        None => None,
        Some(Ok(lock)) => Some(lock),
        Some(Err(e)) => {
            eprintln!("vedette: {e}");
            return ExitCode::from(1);
        }
    };
    match start(loaded, lock) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("vedette: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn start(mut loaded: LoadedConfig, mut lock: Option<StateLock>) -> anyhow::Result<()> {
    if loaded.server.daemonize {
        daemonize().context("cannot daemonize")?;
        if let Some(l) = lock.as_mut() {
            l.record_pid()
                .with_context(|| format!("cannot write {}", l.path().display()))?;
        }
    }
    std::env::set_current_dir(&loaded.server.dir)
        .with_context(|| format!("cannot chdir to {}", loaded.server.dir.display()))?;
    init_logging(&loaded.server.logfile, &loaded.server.loglevel)?;
    for w in &loaded.server.warnings {
        warn!("{w}");
    }
    // Redis's adjustOpenFilesLimit, with descriptors kept for the links of the loaded state.
    let links = vedette::fds::links_of(&loaded.state);
    loaded.server.maxclients =
        vedette::fds::adjust_open_files_limit(loaded.server.maxclients, links)
            .map_err(|msg| anyhow::anyhow!(msg))?;
    let pidfile = match (&loaded.server.pidfile, loaded.server.daemonize) {
        (Some(p), _) => Some(PidFile::create(Path::new(p))),
        (None, true) => Some(PidFile::create(Path::new(DEFAULT_PIDFILE))),
        (None, false) => None,
    };
    if loaded.state.myid.is_empty() {
        loaded.state.myid = config::generate_myid();
        loaded
            .store
            .write(&loaded.state, &loaded.server)
            .context("WARNING: Sentinel was not able to save the new configuration on disk!!!")?;
    }
    // One event-loop thread, like Redis: a sentinel's work is many tiny messages, and cross-thread wake-ups
    // cost more than they buy (measured: idle CPU and CPU per query both drop). State writes (fsync) still
    // run on tokio's blocking pool, so they never stall the loop. VEDETTE_WORKER_THREADS=N opts into a
    // multi-threaded runtime.
    let workers: usize = std::env::var("VEDETTE_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let runtime = if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    }
    .context("cannot start the tokio runtime")?;
    let result = runtime.block_on(vedette::run(loaded));
    // Bounded: a state write stuck on a hung disk must not keep the process from exiting.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    drop(pidfile);
    drop(lock);
    result.map_err(Into::into)
}

/// Redis `daemonize()`: fork (parent exits), new session, stdio to /dev/null. Must run before any
/// thread is started.
fn daemonize() -> std::io::Result<()> {
    // SAFETY: called from the single-threaded start of `main`; the child only continues normally.
    unsafe {
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd != -1 {
            libc::dup2(fd, libc::STDIN_FILENO);
            libc::dup2(fd, libc::STDOUT_FILENO);
            libc::dup2(fd, libc::STDERR_FILENO);
            if fd > libc::STDERR_FILENO {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// Redis log levels → tracing: debug/verbose → DEBUG, notice → INFO, warning → WARN, nothing → OFF.
fn level_filter(loglevel: &str) -> LevelFilter {
    match loglevel {
        "debug" | "verbose" => LevelFilter::DEBUG,
        "warning" => LevelFilter::WARN,
        "nothing" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

fn init_logging(logfile: &str, loglevel: &str) -> anyhow::Result<()> {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, reload};

    // A reloadable level so that `SENTINEL CONFIG SET loglevel` takes effect (config::apply_log_level).
    let (filter, handle) = reload::Layer::new(level_filter(loglevel));
    let registry = tracing_subscriber::registry().with(filter);
    if logfile.is_empty() {
        use std::io::IsTerminal;
        registry
            .with(fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .init();
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .with_context(|| format!("Can't open the log file: {logfile}"))?;
        registry
            .with(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file)),
            )
            .init();
    }
    config::set_log_level_hook(move |level| {
        let _ = handle.modify(|f| *f = level_filter(level));
    });
    Ok(())
}

/// The pid file, removed when dropped (Redis unlinks it on shutdown).
struct PidFile {
    path: Option<PathBuf>,
}

impl PidFile {
    /// Write our pid; a failure is only logged, as in Redis.
    fn create(path: &Path) -> Self {
        match std::fs::write(path, format!("{}\n", std::process::id())) {
            Ok(()) => PidFile {
                path: Some(path.to_path_buf()),
            },
            Err(e) => {
                warn!("Failed to write PID file: {e}");
                PidFile { path: None }
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

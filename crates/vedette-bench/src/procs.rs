//! Child processes, ports and temp dirs.
//!
//! Every process the bench starts is a [`Proc`] of the shared fixture crate (`vedette-fixture`, which
//! tests/it uses too): killed by PID (SIGKILL, then reaped) when dropped, which covers normal trial ends
//! and panics; its PID also sits in a global registry so Ctrl-C / SIGTERM can kill whatever is still alive
//! before exiting ([`kill_all_registered`]). Children additionally get `PR_SET_PDEATHSIG = SIGKILL`, so
//! even a SIGKILLed bench leaves nothing behind.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;

use crate::client;

// ---------------------------------------------------------------------------------------------------------
// Processes and ports: the shared fixture crate (also used by tests/it)

pub use vedette_fixture::{kill_all_registered, Proc};

/// Spawns `cmd` with stdout and stderr appended to `log`, dying with the bench (`PR_SET_PDEATHSIG`: the
/// runtime's threads outlive every trial).
fn spawn(name: String, cmd: Command, log: &Path) -> Result<Proc> {
    let opts = vedette_fixture::Spawn {
        die_with_parent: true,
        panic_tail: 0,
    };
    Ok(Proc::spawn(name, cmd, log, opts)?)
}

/// A free TCP port on 127.0.0.1 (checked by binding it), unique within this run.
pub fn free_port() -> Result<u16> {
    Ok(vedette_fixture::free_port()?)
}

// ---------------------------------------------------------------------------------------------------------
// Work directories

fn live_dirs() -> &'static Mutex<BTreeSet<PathBuf>> {
    static DIRS: OnceLock<Mutex<BTreeSet<PathBuf>>> = OnceLock::new();
    DIRS.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// Removes every temp dir not marked to keep (used on Ctrl-C / SIGTERM, after [`kill_all_registered`]).
pub fn remove_all_dirs() {
    let dirs: Vec<PathBuf> = live_dirs()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .cloned()
        .collect();
    for d in dirs {
        fs::remove_dir_all(&d).ok();
    }
}

/// A temp directory removed on drop unless [`WorkDir::keep`] was called.
pub struct WorkDir {
    pub path: PathBuf,
    keep: bool,
}

impl WorkDir {
    pub fn new(label: &str) -> Result<WorkDir> {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("vedette-bench.{}.{n}.{label}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).ok();
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        live_dirs()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.clone());
        Ok(WorkDir { path, keep: false })
    }

    pub fn keep(&mut self) {
        self.keep = true;
        live_dirs()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.path);
    }

    pub fn sub(&self, name: &str) -> Result<PathBuf> {
        let p = self.path.join(name);
        fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(p)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            fs::remove_dir_all(&self.path).ok();
            live_dirs()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.path);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Starting redis-server and sentinels

/// Which sentinel implementation a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Impl {
    #[serde(rename = "vedette")]
    Vedette,
    #[serde(rename = "redis-sentinel")]
    Redis,
}

impl Impl {
    pub fn label(self) -> &'static str {
        match self {
            Impl::Vedette => "vedette",
            Impl::Redis => "redis-sentinel",
        }
    }
}

/// Paths of the binaries under comparison.
#[derive(Clone, Debug)]
pub struct Bins {
    pub vedette: PathBuf,
    pub redis_sentinel: PathBuf,
    pub redis_server: PathBuf,
    pub redis_benchmark: PathBuf,
}

impl Bins {
    pub fn sentinel(&self, imp: Impl) -> &Path {
        match imp {
            Impl::Vedette => &self.vedette,
            Impl::Redis => &self.redis_sentinel,
        }
    }
}

/// Polls `PING` on `port` until it answers, at most `timeout`.
pub async fn wait_pong(port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(v) = client::cmd_once(port, &["PING"], Duration::from_millis(200)).await {
            if client::as_string(&v).as_deref() == Some("PONG") {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            bail!("127.0.0.1:{port} did not answer PING within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Checks every item with `check` (at most `parallel` at once) in rounds `pause` apart until all pass;
/// fails at `deadline` naming how many, and which, did not.
pub async fn wait_each<T, F, Fut>(
    what: &str,
    items: Vec<T>,
    parallel: usize,
    pause: Duration,
    deadline: Instant,
    check: F,
) -> Result<()>
where
    T: Copy + std::fmt::Debug,
    F: Fn(T) -> Fut,
    Fut: Future<Output = bool>,
{
    let total = items.len();
    let mut pending = items;
    loop {
        let results: Vec<(T, bool)> = futures_util::stream::iter(pending.iter().copied())
            .map(|t| {
                let f = check(t);
                async move { (t, f.await) }
            })
            .buffer_unordered(parallel)
            .collect()
            .await;
        pending = results
            .into_iter()
            .filter(|(_, ok)| !ok)
            .map(|(t, _)| t)
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let first: Vec<String> = pending.iter().take(5).map(|t| format!("{t:?}")).collect();
            bail!(
                "{} of {total} {what} not ready in time (first: {})",
                pending.len(),
                first.join(", ")
            );
        }
        tokio::time::sleep(pause).await;
    }
}

/// A server [`wait_servers`] waited for exited instead of answering: most often its port was taken
/// between the bench's check and the server's bind (another session's processes draw from the same
/// range), so a caller may start over on fresh ports.
#[derive(Debug)]
pub struct ExitedEarly {
    pub name: String,
    pub status: String,
    pub not_up: usize,
    pub total: usize,
    pub what: String,
    pub log: String,
}

impl std::fmt::Display for ExitedEarly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} exited ({}) before answering PING ({} of {} {} not up yet):\n{}",
            self.name, self.status, self.not_up, self.total, self.what, self.log
        )
    }
}

impl std::error::Error for ExitedEarly {}

impl ExitedEarly {
    /// Its log says its port was taken (the only reason worth starting over for; a crash is not).
    pub fn port_taken(&self) -> bool {
        self.log.contains("Address already in use")
    }
}

/// `e` is an [`ExitedEarly`] whose port was taken: the caller may start over on fresh ports.
pub fn port_was_taken(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ExitedEarly>()
        .is_some_and(ExitedEarly::port_taken)
}

/// How many times a start whose port was taken is tried in all.
pub const START_ATTEMPTS: usize = 3;

/// Waits until every process of `procs` answers PING on its port (`ports[i]` for `procs[i]`), asking at
/// most 64 at once in rounds 50 ms apart — 1000 redis-servers spawned together answer within seconds,
/// where waiting for each in turn with its own timeout would let one slow server hold up the rest and
/// report nothing useful. Fails as soon as one has exited (naming it, with its log), or at `deadline`
/// with how many are not up, which, and the log of the first.
pub async fn wait_servers(
    what: &str,
    procs: &mut [Proc],
    ports: &[u16],
    deadline: Instant,
) -> Result<()> {
    let total = procs.len().min(ports.len());
    let mut pending: Vec<usize> = (0..total).collect();
    loop {
        if let Some(&i) = pending.iter().find(|&&i| !procs[i].alive()) {
            return Err(ExitedEarly {
                name: procs[i].name.clone(),
                status: procs[i]
                    .exited()
                    .map_or_else(|| "?".into(), |s| s.to_string()),
                not_up: pending.len(),
                total,
                what: what.to_string(),
                log: procs[i].log_tail(10),
            }
            .into());
        }
        let up: Vec<(usize, bool)> = futures_util::stream::iter(pending.iter().copied())
            .map(|i| async move { (i, pongs(ports[i]).await) })
            .buffer_unordered(64)
            .collect()
            .await;
        pending = up
            .into_iter()
            .filter(|&(_, ok)| !ok)
            .map(|(i, _)| i)
            .collect();
        pending.sort_unstable();
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let names: Vec<&str> = pending
                .iter()
                .take(5)
                .map(|&i| procs[i].name.as_str())
                .collect();
            bail!(
                "{} of {total} {what} did not answer PING in time (first: {}); log of {}:\n{}",
                pending.len(),
                names.join(", "),
                procs[pending[0]].name,
                procs[pending[0]].log_tail(10)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One `PING` with a 500 ms timeout answered `PONG`.
pub async fn pongs(port: u16) -> bool {
    matches!(
        client::cmd_once(port, &["PING"], Duration::from_millis(500)).await,
        Ok(v) if client::as_string(&v).as_deref() == Some("PONG")
    )
}

/// Starts `redis-server` on `port` (optionally replicating from `master`), data dir under `dir`, and
/// waits until it answers PING.
pub async fn start_redis(
    bins: &Bins,
    dir: &Path,
    port: u16,
    master: Option<u16>,
    extra: &[&str],
) -> Result<Proc> {
    let proc = spawn_redis(bins, dir, port, master, extra)?;
    answering(proc, port, Duration::from_secs(10)).await
}

/// `proc` once it answers PING on `port` within `timeout`; else the error with the end of its log.
async fn answering(proc: Proc, port: u16, timeout: Duration) -> Result<Proc> {
    if let Err(e) = wait_pong(port, timeout).await {
        bail!("{e}\n{}", proc.log_tail(10));
    }
    Ok(proc)
}

/// Spawns `redis-server` like [`start_redis`] without waiting for it (to start many at once).
pub fn spawn_redis(
    bins: &Bins,
    dir: &Path,
    port: u16,
    master: Option<u16>,
    extra: &[&str],
) -> Result<Proc> {
    spawn_redis_grouped(bins, dir, port, master, extra, None)
}

/// [`spawn_redis`] into process group `pgroup` (`Some(0)`: a new group led by this server), so that a
/// whole set of servers dies in one `kill(-pgid, SIGKILL)` — a loop of 1000 `kill`s on a loaded machine
/// takes most of a second, which would spread "at once" over the measurement.
pub fn spawn_redis_grouped(
    bins: &Bins,
    dir: &Path,
    port: u16,
    master: Option<u16>,
    extra: &[&str],
    pgroup: Option<i32>,
) -> Result<Proc> {
    use std::os::unix::process::CommandExt;
    let data = dir.join(format!("redis-{port}"));
    fs::create_dir_all(&data)?;
    let mut cmd =
        vedette_fixture::redis_server_command(&bins.redis_server, port, &data, master, extra);
    if let Some(g) = pgroup {
        cmd.process_group(g);
    }
    spawn(
        format!("redis-server:{port}"),
        cmd,
        &dir.join(format!("redis-{port}.log")),
    )
}

/// The descriptor limit the bench wants for itself and its children (they inherit it): 10,000 masters
/// on one sentinel need ~20,064 descriptors, a 1000-master storm ~4100 per sentinel plus the bench's own
/// connections. Capped by `/proc/sys/fs/nr_open`, the most a hard limit may be.
pub const NOFILE_WANTED: u64 = 1 << 20;

/// `RLIMIT_NOFILE` before and after [`raise_nofile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nofile {
    pub soft_before: u64,
    pub hard_before: u64,
    pub soft: u64,
    pub hard: u64,
    /// Why the hard limit could not be raised to the wanted value (errno; EPERM without
    /// `CAP_SYS_RESOURCE`, as in a container that drops it even for root).
    pub hard_errno: Option<i32>,
    /// The limit asked for: [`NOFILE_WANTED`] capped by `/proc/sys/fs/nr_open`.
    pub wanted: u64,
}

impl std::fmt::Display for Nofile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RLIMIT_NOFILE soft {} / hard {}", self.soft, self.hard)?;
        if (self.soft, self.hard) != (self.soft_before, self.hard_before) {
            write!(f, " (was {} / {})", self.soft_before, self.hard_before)?;
        }
        if let Some(e) = self.hard_errno {
            write!(
                f,
                "; raising the hard limit to {} failed: {} (needs CAP_SYS_RESOURCE)",
                self.wanted,
                std::io::Error::from_raw_os_error(e)
            )?;
        }
        Ok(())
    }
}

fn getrlimit_nofile() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0)
        .then_some((lim.rlim_cur, lim.rlim_max))
}

fn setrlimit_nofile(soft: u64, hard: u64) -> bool {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 }
}

/// Raises this process's `RLIMIT_NOFILE` (children inherit it) to [`NOFILE_WANTED`] or
/// `/proc/sys/fs/nr_open`, whichever is lower: soft and hard when permitted (`CAP_SYS_RESOURCE`, which
/// root has unless a container drops it), otherwise the soft limit up to the hard one. Never lowers either. Both sentinel
/// implementations start under the same limit and raise their own soft limit from there as far as their
/// `maxclients` asks.
pub fn raise_nofile() -> Nofile {
    let Some((soft_before, hard_before)) = getrlimit_nofile() else {
        return Nofile {
            soft_before: 0,
            hard_before: 0,
            soft: 0,
            hard: 0,
            hard_errno: None,
            wanted: 0,
        };
    };
    let nr_open = fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(NOFILE_WANTED);
    let want = NOFILE_WANTED.min(nr_open);
    let mut hard_errno = None;
    // Fails with EPERM without the privilege; the soft limit then goes up to the old hard one.
    if hard_before < want && !setrlimit_nofile(want, want) {
        hard_errno = std::io::Error::last_os_error().raw_os_error();
    }
    let (soft, hard) = getrlimit_nofile().unwrap_or((soft_before, hard_before));
    // The hard limit may be far above `want` (RLIM_INFINITY); the soft one may not exceed nr_open.
    let soft_target = hard.min(want.max(soft));
    if soft < soft_target {
        setrlimit_nofile(soft_target, hard);
    }
    let (soft, hard) = getrlimit_nofile().unwrap_or((soft, hard));
    Nofile {
        soft_before,
        hard_before,
        soft,
        hard,
        hard_errno,
        wanted: want,
    }
}

/// Starts a sentinel of implementation `imp` from `conf_body` (written to `<dir>/sentinel.conf`) and waits
/// until it answers PING.
pub async fn start_sentinel(
    bins: &Bins,
    imp: Impl,
    dir: &Path,
    port: u16,
    conf_body: &str,
) -> Result<Proc> {
    let proc = spawn_sentinel(bins, imp, dir, port, conf_body)?;
    answering(proc, port, Duration::from_secs(15)).await
}

/// Spawns a sentinel like [`start_sentinel`] without waiting for it (the storm starts three at once and
/// waits longer: redis-sentinel saves its config, with an fsync, for each of 1000 replicas it discovers
/// before it answers).
pub fn spawn_sentinel(
    bins: &Bins,
    imp: Impl,
    dir: &Path,
    port: u16,
    conf_body: &str,
) -> Result<Proc> {
    fs::create_dir_all(dir)?;
    let conf = dir.join("sentinel.conf");
    let text = format!(
        "port {port}\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir \"{}\"\n{conf_body}",
        dir.display()
    );
    fs::write(&conf, text).with_context(|| format!("writing {}", conf.display()))?;
    // `redis-server` as the Redis sentinel binary gets `--sentinel`.
    let cmd = vedette_fixture::sentinel_command(bins.sentinel(imp), &conf);
    spawn(format!("{}:{port}", imp.label()), cmd, &dir.join("log.txt"))
}

// ---------------------------------------------------------------------------------------------------------
// /proc sampling

/// utime + stime of `pid`, in clock ticks.
pub fn cpu_ticks(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after the closing parenthesis are fixed.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`_SC_CLK_TCK`).
pub fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: i32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------------------
// fsync latency probe

fn fsync_samples() -> &'static Mutex<Vec<(Instant, f64)>> {
    static S: OnceLock<Mutex<Vec<(Instant, f64)>>> = OnceLock::new();
    S.get_or_init(|| Mutex::new(Vec::new()))
}

/// Starts a background thread that every 200 ms writes, fsyncs and renames a small file in the temp dir
/// (what a sentinel does to persist a vote) and records how long that took. Both implementations fsync
/// their config before answering a vote, so a slow disk shows up in election times; this lets the report
/// tell such trials apart.
pub fn start_fsync_probe() -> Result<()> {
    let dir = WorkDir::new("fsync-probe")?;
    let handle = std::thread::Builder::new()
        .name("fsync-probe".into())
        .spawn(move || {
            let tmp = dir.path.join("probe.tmp");
            let dst = dir.path.join("probe");
            while !PROBE_STOP.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = (|| -> std::io::Result<()> {
                    use std::io::Write;
                    let mut f = File::create(&tmp)?;
                    f.write_all(&[b'x'; 2048])?;
                    f.sync_all()?;
                    fs::rename(&tmp, &dst)?;
                    File::open(&dir.path)?.sync_all()
                })();
                if ok.is_ok() {
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    fsync_samples()
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((t, ms));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .context("starting the fsync probe")?;
    *probe_handle().lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
    Ok(())
}

static PROBE_STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn probe_handle() -> &'static Mutex<Option<std::thread::JoinHandle<()>>> {
    static H: OnceLock<Mutex<Option<std::thread::JoinHandle<()>>>> = OnceLock::new();
    H.get_or_init(|| Mutex::new(None))
}

/// Stops the probe and removes its directory (no-op when it was not started).
pub fn stop_fsync_probe() {
    PROBE_STOP.store(true, Ordering::Relaxed);
    let h = probe_handle()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(h) = h {
        let _ = h.join();
    }
}

/// Slowest probe fsync that started in `[from, to]` (None when the probe is off or has no sample).
pub fn fsync_max_between(from: Instant, to: Instant) -> Option<f64> {
    fsync_samples()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(t, _)| *t >= from && *t <= to)
        .map(|&(_, ms)| ms)
        .reduce(f64::max)
}

/// All probe latencies so far (ms).
pub fn fsync_all() -> Vec<f64> {
    fsync_samples()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|&(_, ms)| ms)
        .collect()
}

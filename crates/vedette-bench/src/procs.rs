//! Child processes, ports and temp dirs.
//!
//! Every process the bench starts is a [`Proc`] of the shared fixture crate (`vedette-fixture`, which
//! tests/it uses too): killed by PID (SIGKILL, then reaped) when dropped, which covers normal trial ends
//! and panics; its PID also sits in a global registry so Ctrl-C / SIGTERM can kill whatever is still alive
//! before exiting ([`kill_all_registered`]). Children additionally get `PR_SET_PDEATHSIG = SIGKILL`, so
//! even a SIGKILLed bench leaves nothing behind.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

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
    if let Err(e) = wait_pong(port, Duration::from_secs(10)).await {
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
    spawn_redis_grouped(bins, dir, port, master, extra, None, 0)
}

/// [`spawn_redis`] into process group `pgroup` (`Some(0)`: a new group led by this server), so that a
/// whole set of servers dies in one `kill(-pgid, SIGKILL)` — a loop of 1000 `kill`s on a loaded machine
/// takes most of a second, which would spread "at once" over the measurement. `nice` > 0 lowers its
/// priority (and its threads') by that much.
pub fn spawn_redis_grouped(
    bins: &Bins,
    dir: &Path,
    port: u16,
    master: Option<u16>,
    extra: &[&str],
    pgroup: Option<i32>,
    nice: i32,
) -> Result<Proc> {
    use std::os::unix::process::CommandExt;
    let data = dir.join(format!("redis-{port}"));
    fs::create_dir_all(&data)?;
    let mut cmd =
        vedette_fixture::redis_server_command(&bins.redis_server, port, &data, master, extra);
    if let Some(g) = pgroup {
        cmd.process_group(g);
    }
    if nice > 0 {
        // SAFETY: setpriority is async-signal-safe; it only changes the forked child's niceness.
        unsafe {
            cmd.pre_exec(move || {
                libc::setpriority(libc::PRIO_PROCESS, 0, nice);
                Ok(())
            });
        }
    }
    spawn(
        format!("redis-server:{port}"),
        cmd,
        &dir.join(format!("redis-{port}.log")),
    )
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit (children inherit it): a storm cluster
/// holds thousands of connections. Returns the soft limit in force afterwards.
pub fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
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
    if let Err(e) = wait_pong(port, Duration::from_secs(15)).await {
        bail!("{e}\n{}", proc.log_tail(10));
    }
    Ok(proc)
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

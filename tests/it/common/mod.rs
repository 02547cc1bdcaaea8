//! Process fixtures shared by every integration test.
//!
//! Everything here talks to real processes on 127.0.0.1: `redis-server` ([`RedisServer`]), and sentinels
//! ([`Sentinel`]) that are either the real `redis-sentinel` or the `vedette` binary under test, both started
//! from the same generated `sentinel.conf` ([`SentinelConf`]) so that differential tests compare like with
//! like. Rules the fixtures enforce so tests stay honest:
//!
//! * ports come from [`free_port`] (unique within this test binary, below the kernel's ephemeral range so an
//!   outbound connection of some other process cannot steal them);
//! * every child is killed by PID in `Drop`, also when the test panics, and a panicking test prints the last
//!   lines of each child's log;
//! * nothing sleeps and hopes: [`wait_until`] / [`wait_for`] poll a condition against a deadline and panic
//!   with what they were waiting for.

#![allow(dead_code)] // Each test module uses a different subset of the fixtures.

pub mod diff;
pub mod resp;

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use resp::{RespConn, Value};

/// Name of the master most tests monitor.
pub const MASTER: &str = "mymaster";

/// How long a process may take to answer its first PING.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------------------
// Ports, waiting, child processes: the shared fixture crate (also used by vedette-bench)

pub use vedette_fixture::{log_tail, port_answers, wait_for, wait_until};
use vedette_fixture::{Proc, Spawn, POLL};

/// A free TCP port on 127.0.0.1, unique within this test binary ([`vedette_fixture::free_port`]).
pub fn free_port() -> u16 {
    vedette_fixture::free_port().unwrap_or_else(|e| panic!("{e}"))
}

/// Start `cmd` (its output in `log`), printing the last `panic_tail` log lines if a test panics while it
/// runs; panics if it cannot start.
fn spawn(name: String, cmd: Command, log: &Path, panic_tail: usize) -> Proc {
    let opts = Spawn {
        panic_tail,
        ..Spawn::default()
    };
    Proc::spawn(name, cmd, log, opts).unwrap_or_else(|e| panic!("{e}"))
}

fn tempdir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create temp dir: {e}"))
}

/// Wait until `port` answers PING with PONG (not `-LOADING`), failing fast if the process died.
fn wait_ping(proc: &mut Proc, port: u16) {
    let start = Instant::now();
    loop {
        if let Some(status) = proc.exited() {
            panic!(
                "{} exited with {status} before answering PING on port {port}; log:\n{}",
                proc.name,
                log_tail(&proc.log, 40)
            );
        }
        match resp::call(port, &["PING"]) {
            Ok(Value::Status(s)) if s == "PONG" => return,
            // Up, with `requirepass` set.
            Ok(Value::Error(e)) if e.starts_with("NOAUTH") => return,
            _ => {}
        }
        if start.elapsed() > START_TIMEOUT {
            panic!(
                "{} did not answer PING on port {port} within {START_TIMEOUT:?}; log:\n{}",
                proc.name,
                log_tail(&proc.log, 40)
            );
        }
        thread::sleep(POLL);
    }
}

/// Run `redis-cli -p port args...` and return its stdout (trimmed); panics if it cannot run.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = redis_cli_output(port, args);
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// Run `redis-cli -p port args...` and return the whole output (status, stdout, stderr).
pub fn redis_cli_output(port: u16, args: &[&str]) -> std::process::Output {
    Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}"))
}

// ---------------------------------------------------------------------------------------------------------
// redis-server

/// A `redis-server` on 127.0.0.1 with persistence off, in its own temp dir.
pub struct RedisServer {
    /// Listening port (kept across restarts).
    pub port: u16,
    /// `Some(master port)` if started as a replica.
    pub replicaof: Option<u16>,
    extra: Vec<String>,
    // Field order matters: `proc` drops (and prints its log on panic) before `dir` is deleted.
    proc: Option<Proc>,
    dir: TempDir,
    starts: u32,
}

impl RedisServer {
    /// Start a master.
    pub fn start() -> RedisServer {
        RedisServer::start_with(None, &[])
    }

    /// Start a replica of the server on `master_port`.
    pub fn start_replica(master_port: u16) -> RedisServer {
        RedisServer::start_with(Some(master_port), &[])
    }

    /// Start with extra `--option value` arguments (e.g. `["--replica-priority", "0"]`).
    pub fn start_with(replicaof: Option<u16>, extra: &[&str]) -> RedisServer {
        let mut s = RedisServer {
            port: free_port(),
            replicaof,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            dir: tempdir("vedette-redis-"),
            proc: None,
            starts: 0,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let cmd = vedette_fixture::redis_server_command(
            "redis-server",
            self.port,
            self.dir.path(),
            self.replicaof,
            &self.extra,
        );
        self.starts += 1;
        let log = self.dir.path().join("redis.log");
        let mut proc = spawn(format!("redis-server:{}", self.port), cmd, &log, 15);
        wait_ping(&mut proc, self.port);
        self.proc = Some(proc);
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Process id, if running.
    pub fn pid(&self) -> Option<i32> {
        self.proc.as_ref().map(Proc::pid)
    }

    /// SIGKILL the server (it stays down until [`restart`](Self::restart)).
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    /// SIGSTOP: the server keeps its socket but stops answering.
    pub fn stop(&self) {
        if let Some(p) = &self.proc {
            let _ = p.signal(libc::SIGSTOP);
        }
    }

    /// SIGCONT after [`stop`](Self::stop).
    pub fn cont(&self) {
        if let Some(p) = &self.proc {
            let _ = p.signal(libc::SIGCONT);
        }
    }

    /// Kill if running, then start again on the same port with the same arguments (as a master unless
    /// `replicaof` was given at start; use [`set_replicaof`](Self::set_replicaof) to change that).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Change what a later [`restart`](Self::restart) starts as.
    pub fn set_replicaof(&mut self, master: Option<u16>) {
        self.replicaof = master;
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.proc.as_mut().is_some_and(|p| p.exited().is_none())
    }

    /// Send one command over raw RESP2; panics on I/O errors.
    pub fn cmd(&self, args: &[&str]) -> Value {
        resp::call(self.port, args)
            .unwrap_or_else(|e| panic!("redis-server:{} {args:?}: {e}", self.port))
    }

    /// `redis-cli -p port args...` stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }

    /// A `redis` crate connection. Don't open one to a stopped server: the crate's connection handshake
    /// (`CLIENT SETINFO`) waits for a reply; use [`RespConn`] with a read timeout for that.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
            .unwrap_or_else(|e| panic!("redis-server:{}: {e}", self.port))
    }

    /// One field of `INFO <section>` (None if absent or unreachable).
    pub fn info_field(&self, section: &str, field: &str) -> Option<String> {
        let text = resp::call(self.port, &["INFO", section]).ok()?.as_str()?;
        info_field(&text, field)
    }

    /// `master` or `slave` according to ROLE (None if unreachable).
    pub fn role(&self) -> Option<String> {
        resp::call(self.port, &["ROLE"])
            .ok()?
            .items()?
            .first()?
            .as_str()
    }

    /// Path of the server's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }
}

/// Value of `field` in INFO text (`field:value` lines).
pub fn info_field(text: &str, field: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == field).then(|| v.trim_end().to_string())
    })
}

/// A master with `n` replicas, all linked (`master_link_status:up`) before this returns.
pub struct Topology {
    /// The master.
    pub master: RedisServer,
    /// Its replicas.
    pub replicas: Vec<RedisServer>,
}

impl Topology {
    /// Start a master and `n` replicas and wait for replication to be up.
    pub fn start(n: usize) -> Topology {
        let master = RedisServer::start();
        let replicas: Vec<RedisServer> = (0..n)
            .map(|_| RedisServer::start_replica(master.port))
            .collect();
        for r in &replicas {
            wait_until(
                Duration::from_secs(20),
                format!("replica {} linked to master {}", r.port, master.port),
                || r.info_field("replication", "master_link_status").as_deref() == Some("up"),
            );
        }
        Topology { master, replicas }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Sentinel configuration

/// One `sentinel monitor` block.
#[derive(Clone, Debug)]
pub struct MonitorSpec {
    /// Master name.
    pub name: String,
    /// Master port on 127.0.0.1.
    pub port: u16,
    /// Quorum.
    pub quorum: u32,
    /// `down-after-milliseconds`, if not the default.
    pub down_after_ms: Option<u64>,
    /// `failover-timeout`, if not the default.
    pub failover_timeout_ms: Option<u64>,
    /// `parallel-syncs`, if not the default.
    pub parallel_syncs: Option<u32>,
}

/// A `sentinel.conf` to start either implementation with. The same text is given to `redis-sentinel` and
/// to `vedette`, so both see identical settings.
#[derive(Clone, Debug)]
pub struct SentinelConf {
    /// Listening port.
    pub port: u16,
    /// Monitored masters.
    pub masters: Vec<MonitorSpec>,
    /// Extra raw lines appended at the end (e.g. `sentinel announce-hostnames no`).
    pub extra: Vec<String>,
}

impl Default for SentinelConf {
    fn default() -> Self {
        SentinelConf::new()
    }
}

impl SentinelConf {
    /// A config on a fresh free port, monitoring nothing.
    pub fn new() -> SentinelConf {
        SentinelConf {
            port: free_port(),
            masters: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Monitor `name` at 127.0.0.1:`port` with `quorum`.
    pub fn monitor(mut self, name: &str, port: u16, quorum: u32) -> SentinelConf {
        self.masters.push(MonitorSpec {
            name: name.to_string(),
            port,
            quorum,
            down_after_ms: None,
            failover_timeout_ms: None,
            parallel_syncs: None,
        });
        self
    }

    fn last(&mut self) -> &mut MonitorSpec {
        self.masters
            .last_mut()
            .expect("call monitor() before per-master settings")
    }

    /// `down-after-milliseconds` of the last monitored master.
    pub fn down_after(mut self, ms: u64) -> SentinelConf {
        self.last().down_after_ms = Some(ms);
        self
    }

    /// `failover-timeout` of the last monitored master.
    pub fn failover_timeout(mut self, ms: u64) -> SentinelConf {
        self.last().failover_timeout_ms = Some(ms);
        self
    }

    /// `parallel-syncs` of the last monitored master.
    pub fn parallel_syncs(mut self, n: u32) -> SentinelConf {
        self.last().parallel_syncs = Some(n);
        self
    }

    /// Append a raw config line.
    pub fn line(mut self, line: &str) -> SentinelConf {
        self.extra.push(line.to_string());
        self
    }

    /// The same settings on another free port (for the second process of a pair or cluster).
    pub fn on_new_port(&self) -> SentinelConf {
        SentinelConf {
            port: free_port(),
            ..self.clone()
        }
    }

    /// The config file text. `dir` is where the sentinel keeps its working files.
    pub fn render(&self, dir: &Path) -> String {
        let mut s = format!(
            "port {}\nbind 127.0.0.1\ndir \"{}\"\n",
            self.port,
            dir.display()
        );
        for m in &self.masters {
            s += &format!(
                "sentinel monitor {} 127.0.0.1 {} {}\n",
                m.name, m.port, m.quorum
            );
            if let Some(v) = m.down_after_ms {
                s += &format!("sentinel down-after-milliseconds {} {v}\n", m.name);
            }
            if let Some(v) = m.failover_timeout_ms {
                s += &format!("sentinel failover-timeout {} {v}\n", m.name);
            }
            if let Some(v) = m.parallel_syncs {
                s += &format!("sentinel parallel-syncs {} {v}\n", m.name);
            }
        }
        for l in &self.extra {
            s += l;
            s.push('\n');
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------------------
// Sentinels (redis-sentinel or vedette)

/// Which implementation a [`Sentinel`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// The real `redis-sentinel` (reference behaviour).
    Redis,
    /// The `vedette` binary built by cargo for this test run.
    Vedette,
}

impl Flavor {
    /// The implementation under test: `vedette`, unless `VEDETTE_IT_SUBJECT=redis-sentinel` is set, which
    /// runs every "vedette" test against redis-sentinel instead (validates the tests and fixtures
    /// themselves).
    pub fn subject() -> Flavor {
        match std::env::var("VEDETTE_IT_SUBJECT").as_deref() {
            Ok("redis-sentinel") | Ok("redis") => Flavor::Redis,
            _ => Flavor::Vedette,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Flavor::Redis => "redis-sentinel",
            Flavor::Vedette => "vedette",
        }
    }
}

/// `CAP_SYS_RESOURCE` from `<linux/capability.h>` (not in the libc crate).
const CAP_SYS_RESOURCE: libc::c_ulong = 24;

/// Run `cmd` under `RLIMIT_NOFILE` = `n` (soft and hard), without the privilege to raise it.
pub fn limit_nofile(cmd: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe system
    // calls (setrlimit, geteuid, prctl) on plain values.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Root keeps CAP_SYS_RESOURCE across exec unless it leaves the bounding set, and with it
            // could raise the hard limit again.
            if libc::geteuid() == 0
                && libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A running sentinel process with its config file in a temp dir. Killed by PID on drop.
pub struct Sentinel {
    /// Implementation.
    pub flavor: Flavor,
    /// Listening port.
    pub port: u16,
    /// The settings it was started with (the file on disk may since have been rewritten by the sentinel).
    pub conf: SentinelConf,
    /// A config file the caller wrote elsewhere ([`Sentinel::start_with_file`]); None = `dir/sentinel.conf`.
    conf_file: Option<PathBuf>,
    /// `RLIMIT_NOFILE` (soft and hard) the process is started under, if not inherited.
    nofile: Option<u64>,
    // Field order matters: `proc` drops (and prints its log on panic) before `dir` is deleted.
    proc: Option<Proc>,
    dir: TempDir,
}

impl Sentinel {
    /// Start `flavor` with `conf` and wait until it answers PING.
    pub fn start(flavor: Flavor, conf: SentinelConf) -> Sentinel {
        Sentinel::start_limited(flavor, conf, None)
    }

    /// Start `flavor` under `RLIMIT_NOFILE` = `nofile` (soft and hard, set in the child before exec,
    /// as `ulimit -n` would). When the tests run as root the child also loses `CAP_SYS_RESOURCE`, so
    /// it cannot raise the limit again (an unprivileged `ulimit -n` is what is being modelled).
    pub fn start_limited(flavor: Flavor, conf: SentinelConf, nofile: Option<u64>) -> Sentinel {
        let dir = tempdir(match flavor {
            Flavor::Redis => "vedette-it-rs-",
            Flavor::Vedette => "vedette-it-vd-",
        });
        let text = conf.render(dir.path());
        let path = dir.path().join("sentinel.conf");
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        let mut s = Sentinel {
            flavor,
            port: conf.port,
            conf,
            conf_file: None,
            nofile,
            dir,
            proc: None,
        };
        s.spawn();
        s
    }

    /// Start `flavor` on a config file the caller wrote at `conf_file` (e.g. on a file system the test
    /// mounted, or a TOML file for vedette); it must listen on `port`. The log stays in a temp dir.
    pub fn start_with_file(flavor: Flavor, port: u16, conf_file: PathBuf) -> Sentinel {
        let dir = tempdir("vedette-it-file-");
        let mut s = Sentinel {
            flavor,
            port,
            conf: SentinelConf {
                port,
                masters: Vec::new(),
                extra: Vec::new(),
            },
            conf_file: Some(conf_file),
            nofile: None,
            dir,
            proc: None,
        };
        s.spawn();
        s
    }

    /// Start the real `redis-sentinel`.
    pub fn redis(conf: SentinelConf) -> Sentinel {
        Sentinel::start(Flavor::Redis, conf)
    }

    /// Start `vedette`.
    pub fn vedette(conf: SentinelConf) -> Sentinel {
        Sentinel::start(Flavor::Vedette, conf)
    }

    /// Start the implementation under test ([`Flavor::subject`]).
    pub fn subject(conf: SentinelConf) -> Sentinel {
        Sentinel::start(Flavor::subject(), conf)
    }

    fn spawn(&mut self) {
        let conf_path = self.conf_path();
        let mut cmd = match self.flavor {
            Flavor::Redis => {
                vedette_fixture::sentinel_command(Path::new("redis-sentinel"), &conf_path)
            }
            Flavor::Vedette => {
                let mut c = vedette_fixture::sentinel_command(
                    Path::new(env!("CARGO_BIN_EXE_vedette")),
                    &conf_path,
                );
                if std::env::var_os("RUST_LOG").is_none() {
                    c.env("RUST_LOG", "debug");
                }
                c
            }
        };
        if let Some(n) = self.nofile {
            limit_nofile(&mut cmd, n);
        }
        let mut proc = spawn(
            format!("{}:{}", self.flavor.name(), self.port),
            cmd,
            &self.log_path(),
            40,
        );
        wait_ping(&mut proc, self.port);
        self.proc = Some(proc);
    }

    /// Path of the (possibly rewritten) config file.
    pub fn conf_path(&self) -> PathBuf {
        self.conf_file
            .clone()
            .unwrap_or_else(|| self.dir.path().join("sentinel.conf"))
    }

    /// Path of the captured stdout/stderr.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sentinel.log")
    }

    /// The last `n` log lines.
    pub fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log_path(), n)
    }

    /// Process id, if running.
    pub fn pid(&self) -> Option<i32> {
        self.proc.as_ref().map(Proc::pid)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    /// SIGSTOP.
    pub fn stop(&self) {
        if let Some(p) = &self.proc {
            let _ = p.signal(libc::SIGSTOP);
        }
    }

    /// SIGCONT.
    pub fn cont(&self) {
        if let Some(p) = &self.proc {
            let _ = p.signal(libc::SIGCONT);
        }
    }

    /// Kill if running and start again from the config file as it is now on disk (persisted state kept).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Exit status if the process has exited by itself.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.proc.as_mut().and_then(Proc::exited)
    }

    /// A raw RESP2 connection.
    pub fn conn(&self) -> RespConn {
        RespConn::connect(self.port)
            .unwrap_or_else(|e| panic!("{}:{}: {e}", self.flavor.name(), self.port))
    }

    /// One command over a fresh RESP2 connection.
    pub fn cmd(&self, args: &[&str]) -> Value {
        self.conn().cmd(args)
    }

    /// `redis-cli -p port args...` stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }

    /// `SENTINEL MASTER name` as key/value pairs (None on error or unknown master).
    pub fn master(&self, name: &str) -> Option<Vec<(String, Value)>> {
        let v = resp::call(self.port, &["SENTINEL", "MASTER", name]).ok()?;
        if matches!(v, Value::Error(_)) {
            return None;
        }
        v.pairs()
    }

    /// One field of `SENTINEL MASTER name`.
    pub fn master_field(&self, name: &str, field: &str) -> Option<String> {
        self.master(name)?
            .into_iter()
            .find(|(k, _)| k == field)
            .and_then(|(_, v)| v.as_str())
    }

    /// `SENTINEL GET-MASTER-ADDR-BY-NAME` as a port (None if unknown/unreachable).
    pub fn master_port(&self, name: &str) -> Option<u16> {
        let v = resp::call(self.port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]).ok()?;
        v.items()?.get(1)?.as_str()?.parse().ok()
    }

    /// Wait until the sentinel reports `name` healthy (flags exactly `master`) with `replicas` replicas and
    /// `sentinels` other sentinels (None = don't care).
    pub fn wait_settled(&self, name: &str, replicas: usize, sentinels: Option<usize>) {
        let what = format!(
            "{}:{} to see {name} with flags=master, {replicas} replicas, {sentinels:?} other sentinels",
            self.flavor.name(),
            self.port
        );
        wait_until(Duration::from_secs(30), what, || {
            let Some(m) = self.master(name) else {
                return false;
            };
            let get = |k: &str| {
                m.iter()
                    .find(|(kk, _)| kk == k)
                    .and_then(|(_, v)| v.as_str())
            };
            let replicas_ok = || {
                let Ok(v) = resp::call(self.port, &["SENTINEL", "REPLICAS", name]) else {
                    return false;
                };
                v.items().is_some_and(|rs| {
                    rs.len() == replicas
                        && rs
                            .iter()
                            .all(|r| r.field("flags").as_deref() == Some("slave"))
                })
            };
            get("flags").as_deref() == Some("master")
                && get("num-slaves") == Some(replicas.to_string())
                && sentinels.is_none_or(|n| get("num-other-sentinels") == Some(n.to_string()))
                && replicas_ok()
        });
    }

    /// Start recording this sentinel's events.
    pub fn events(&self) -> Events {
        Events::subscribe(self.port)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Events

/// One event received on a sentinel's pub/sub.
#[derive(Clone, Debug)]
pub struct Event {
    /// When the subscriber read it.
    pub at: Instant,
    /// Channel = event type, e.g. `+sdown`.
    pub channel: String,
    /// Message, e.g. `master mymaster 127.0.0.1 6379`.
    pub payload: String,
}

/// Records every event a sentinel publishes (`PSUBSCRIBE *`) on a background thread.
pub struct Events {
    /// When recording started (reference point for latencies).
    pub since: Instant,
    /// Sentinel port.
    pub port: u16,
    seen: Arc<Mutex<Vec<Event>>>,
    sock: Option<TcpStream>,
    thread: Option<JoinHandle<()>>,
}

impl Events {
    /// Connect, `PSUBSCRIBE *`, wait for the confirmation (so no later event is missed), start recording.
    pub fn subscribe(port: u16) -> Events {
        let mut conn =
            RespConn::connect(port).unwrap_or_else(|e| panic!("subscribe to {port}: {e}"));
        let confirm = conn.cmd(&["PSUBSCRIBE", "*"]);
        let ok = confirm
            .items()
            .and_then(|i| i.first())
            .and_then(Value::as_str)
            .as_deref()
            == Some("psubscribe");
        assert!(ok, "PSUBSCRIBE * on {port} answered {confirm:?}");
        let sock = conn
            .shutdown_handle()
            .unwrap_or_else(|e| panic!("clone socket: {e}"));
        let _ = conn.set_read_timeout(None);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let thread = thread::spawn(move || {
            while let Ok(v) = conn.read() {
                let Some(items) = v.items() else { continue };
                let texts: Vec<String> = items.iter().filter_map(Value::as_str).collect();
                let (channel, payload) = match texts.as_slice() {
                    [kind, _pattern, channel, payload] if kind == "pmessage" => {
                        (channel.clone(), payload.clone())
                    }
                    [kind, channel, payload] if kind == "message" => {
                        (channel.clone(), payload.clone())
                    }
                    _ => continue,
                };
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(Event {
                    at: Instant::now(),
                    channel,
                    payload,
                });
            }
        });
        Events {
            since: Instant::now(),
            port,
            seen,
            sock: Some(sock),
            thread: Some(thread),
        }
    }

    /// Everything recorded so far.
    pub fn all(&self) -> Vec<Event> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// First event on `channel` whose payload contains `needle`.
    pub fn find(&self, channel: &str, needle: &str) -> Option<Event> {
        self.all()
            .into_iter()
            .find(|e| e.channel == channel && e.payload.contains(needle))
    }

    /// Number of events on `channel`.
    pub fn count(&self, channel: &str) -> usize {
        self.all().iter().filter(|e| e.channel == channel).count()
    }

    /// Wait for an event on `channel` whose payload contains `needle`; panics listing what was seen.
    #[track_caller]
    pub fn wait_for(&self, channel: &str, needle: &str, timeout: Duration) -> Event {
        let start = Instant::now();
        loop {
            if let Some(e) = self.find(channel, needle) {
                return e;
            }
            if start.elapsed() >= timeout {
                panic!(
                    "port {}: no `{channel}` event containing {needle:?} within {timeout:?}; seen:\n{}",
                    self.port,
                    self.render()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Human-readable list: `+1234ms channel payload`, one per line.
    pub fn render(&self) -> String {
        self.all()
            .iter()
            .map(|e| {
                format!(
                    "  +{}ms {} {}",
                    e.at.saturating_duration_since(self.since).as_millis(),
                    e.channel,
                    e.payload
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if let Some(s) = self.sock.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// A whole monitored cluster

/// A master with two replicas watched by one sentinel per entry of `flavors` (quorum as given, down-after
/// 1 s, failover-timeout 10 s), settled (every sentinel sees both replicas and all other sentinels) and
/// recording events.
pub struct Cluster {
    /// The Redis servers.
    pub topo: Topology,
    /// The sentinels, in the order of `flavors`.
    pub sentinels: Vec<Sentinel>,
    /// Event recorders, one per sentinel.
    pub events: Vec<Events>,
}

impl Cluster {
    /// Start and settle.
    pub fn start(flavors: &[Flavor], quorum: u32) -> Cluster {
        let topo = Topology::start(2);
        let conf = SentinelConf::new()
            .monitor(MASTER, topo.master.port, quorum)
            .down_after(1000)
            .failover_timeout(10000);
        let sentinels: Vec<Sentinel> = flavors
            .iter()
            .map(|&f| Sentinel::start(f, conf.on_new_port()))
            .collect();
        for s in &sentinels {
            s.wait_settled(MASTER, 2, Some(flavors.len() - 1));
        }
        let events = sentinels.iter().map(Sentinel::events).collect();
        Cluster {
            topo,
            sentinels,
            events,
        }
    }

    /// Every sentinel's events, for failure messages.
    pub fn timeline(&self) -> String {
        self.events
            .iter()
            .zip(&self.sentinels)
            .map(|(e, s)| format!("{} {}:\n{}", s.flavor.name(), e.port, e.render()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Kill the master and check a complete failover: every sentinel announces the same promoted replica,
    /// exactly one promotion happens, the other replica follows the new master, and the old master, restarted,
    /// is converted into its replica. Returns the new master's port.
    pub fn kill_master_and_check_failover(&mut self) -> u16 {
        let old = self.topo.master.port;
        self.topo.master.kill();
        let mut new_port = None;
        for e in &self.events {
            // 45 s: redis-sentinel retries a split vote only after 2 × failover-timeout (20 s).
            let ev = e.wait_for("+switch-master", MASTER, Duration::from_secs(45));
            // `<name> <old-ip> <old-port> <new-ip> <new-port>`
            let parts: Vec<&str> = ev.payload.split(' ').collect();
            assert_eq!(parts.len(), 5, "{}", ev.payload);
            assert_eq!(parts[..3], [MASTER, "127.0.0.1", &old.to_string()]);
            let p: u16 = parts[4].parse().unwrap_or(0);
            assert!(
                self.topo.replicas.iter().any(|r| r.port == p),
                "promoted {p} is not a replica\n{}",
                self.timeline()
            );
            assert!(
                new_port.is_none_or(|n| n == p),
                "sentinels disagree\n{}",
                self.timeline()
            );
            new_port = Some(p);
        }
        let new_port = new_port.unwrap_or(0);
        for s in &self.sentinels {
            assert_eq!(s.master_port(MASTER), Some(new_port));
        }
        let promoted: usize = self.events.iter().map(|e| e.count("+promoted-slave")).sum();
        assert_eq!(promoted, 1, "exactly one promotion\n{}", self.timeline());

        let (new, other): (Vec<&RedisServer>, Vec<&RedisServer>) =
            self.topo.replicas.iter().partition(|r| r.port == new_port);
        wait_until(
            Duration::from_secs(10),
            "promoted replica reports role master",
            || new[0].role().as_deref() == Some("master"),
        );
        wait_until(
            Duration::from_secs(30),
            "the other replica replicates from the new master",
            || other[0].info_field("replication", "master_port") == Some(new_port.to_string()),
        );

        // The old master comes back as a master and must be turned into a replica of the new one.
        self.topo.master.restart();
        let master = &self.topo.master;
        wait_until(
            Duration::from_secs(40),
            "old master reconfigured as a replica of the new master",
            || master.info_field("replication", "master_port") == Some(new_port.to_string()),
        );
        assert!(
            self.events
                .iter()
                .any(|e| e.find("+convert-to-slave", &format!(":{old} ")).is_some()),
            "{}",
            self.timeline()
        );
        new_port
    }
}

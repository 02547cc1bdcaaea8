//! Step 3 — unmodified Sentinel clients follow a vedette failover: the `redis` crate's `SentinelClient`
//! (in-process) and redis-py's `Sentinel` (a child process running `tests/it/clients/redis_py_failover.py`).
//! Both write continuously; the master is SIGKILLed; their writes must resume on the promoted replica.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use redis::sentinel::{SentinelClient, SentinelServerType};

use crate::cluster::{Cluster, Spec};
use crate::common::MASTER;

/// Successful writes: (when, port of the master that took it).
type Log = Arc<Mutex<Vec<(Instant, u16)>>>;

fn snapshot(log: &Log) -> Vec<(Instant, u16)> {
    log.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Wait until a write on `port` after `t` succeeded; returns (first such write, last write before `t`).
#[track_caller]
fn wait_write_on(
    c: &Cluster,
    log: &Log,
    t: Instant,
    port: u16,
    timeout: Duration,
    what: &str,
) -> (Instant, Option<Instant>) {
    let start = Instant::now();
    loop {
        let l = snapshot(log);
        if let Some((at, _)) = l.iter().find(|(at, p)| *at >= t && *p == port) {
            let before = l.iter().rev().find(|(a, _)| *a < t).map(|(a, _)| *a);
            return (*at, before);
        }
        if start.elapsed() > timeout {
            c.fail(format!(
                "{what}: no successful write on port {port} within {timeout:?}; last writes: {:?}",
                l.iter()
                    .rev()
                    .take(5)
                    .map(|(a, p)| (a.saturating_duration_since(t), *p))
                    .collect::<Vec<_>>()
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The `redis` crate's sync `SentinelClient` (master type): a new connection from the client after every
/// error; writes resume on the promoted replica.
#[test]
fn redis_crate_sentinel_client_follows_failover() {
    let mut c = Cluster::start(Spec::vedettes(3, &[50, 100]));
    let (old, best) = (c.port(0), c.port(1));
    let urls: Vec<String> = c
        .sentinel_ports()
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}/"))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let log: Log = Arc::default();
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let writer = {
        let (stop, log, errors) = (Arc::clone(&stop), Arc::clone(&log), Arc::clone(&errors));
        thread::spawn(move || {
            let mut client = match SentinelClient::build(
                urls,
                MASTER.to_string(),
                None,
                SentinelServerType::Master,
            ) {
                Ok(c) => c,
                Err(e) => {
                    errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("build: {e}"));
                    return;
                }
            };
            let mut conn: Option<(u16, redis::Connection)> = None;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let Some((port, con)) = conn.as_mut() else {
                    let got = client.get_connection().and_then(|mut con| {
                        con.set_read_timeout(Some(Duration::from_millis(500)))?;
                        let kv: Vec<String> = redis::cmd("CONFIG")
                            .arg("GET")
                            .arg("port")
                            .query(&mut con)?;
                        let port = kv.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
                        Ok((port, con))
                    });
                    match got {
                        Ok(pc) => conn = Some(pc),
                        Err(e) => {
                            errors
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(format!("connect: {e}"));
                            thread::sleep(Duration::from_millis(20));
                        }
                    }
                    continue;
                };
                n += 1;
                let r: redis::RedisResult<()> =
                    redis::cmd("SET").arg(format!("rs:{n}")).arg(n).query(con);
                match r {
                    Ok(()) => log
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((Instant::now(), *port)),
                    Err(e) => {
                        errors
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!("SET on {port}: {e}"));
                        conn = None;
                    }
                }
                thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let t0 = Instant::now();
    wait_write_on(
        &c,
        &log,
        t0,
        old,
        Duration::from_secs(10),
        "redis crate before the kill",
    );
    let t = Instant::now();
    c.servers[0].kill();
    let (first, before) = wait_write_on(
        &c,
        &log,
        t,
        best,
        Duration::from_secs(20),
        "redis crate after the kill",
    );
    // A few more writes: they keep going.
    let more = Instant::now();
    wait_write_on(
        &c,
        &log,
        more,
        best,
        Duration::from_secs(5),
        "redis crate keeps writing",
    );
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    let errs = errors.lock().unwrap_or_else(|e| e.into_inner()).clone();
    eprintln!(
        "redis crate: writes resumed on the new master {:?} after the kill (outage {:?}), {} errors meanwhile, \
         first: {:?}",
        first - t,
        before.map(|b| first - b),
        errs.len(),
        errs.first()
    );
}

/// Kills the child (by PID) and reaps it on drop.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_py_available() -> bool {
    Command::new("python3")
        .args(["-c", "import redis.sentinel"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// redis-py's `Sentinel.master_for` client writes through a SIGKILL of the master.
#[test]
fn redis_py_sentinel_follows_failover() {
    if !redis_py_available() {
        eprintln!("SKIPPED redis_py_sentinel_follows_failover: python3 cannot import redis (pip install redis)");
        return;
    }
    let mut c = Cluster::start(Spec::vedettes(3, &[50, 100]));
    let (old, best) = (c.port(0), c.port(1));
    let ports: Vec<String> = c.sentinel_ports().iter().map(u16::to_string).collect();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/clients/redis_py_failover.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .args([ports.join(","), MASTER.to_string(), "90".to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 {script}: {e}"));
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout pipe"));
    let _guard = ChildGuard(child);
    let log: Log = Arc::default();
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let (log, errors) = (Arc::clone(&log), Arc::clone(&errors));
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let parts: Vec<&str> = line.splitn(3, ' ').collect();
                match parts.as_slice() {
                    ["ok", _, port] => {
                        if let Ok(p) = port.trim().parse() {
                            log.lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((Instant::now(), p));
                        }
                    }
                    _ => errors.lock().unwrap_or_else(|e| e.into_inner()).push(line),
                }
            }
        });
    }
    let t0 = Instant::now();
    wait_write_on(
        &c,
        &log,
        t0,
        old,
        Duration::from_secs(20),
        "redis-py before the kill",
    );
    let t = Instant::now();
    c.servers[0].kill();
    let (first, before) = wait_write_on(
        &c,
        &log,
        t,
        best,
        Duration::from_secs(30),
        "redis-py after the kill",
    );
    let more = Instant::now();
    wait_write_on(
        &c,
        &log,
        more,
        best,
        Duration::from_secs(5),
        "redis-py keeps writing",
    );
    let errs = errors.lock().unwrap_or_else(|e| e.into_inner()).clone();
    eprintln!(
        "redis-py: writes resumed on the new master {:?} after the kill (outage {:?}), {} error lines, first: {:?}",
        first - t,
        before.map(|b| first - b),
        errs.len(),
        errs.first()
    );
}

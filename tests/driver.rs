//! The driver and core against real `redis-server` processes, without the RESP server: one sentinel with
//! quorum 1 discovers a replica, sees the master die, and fails over.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vedette::driver::{run_driver, CoreHandle, EventSink, StateWriter};
use vedette_core::{
    MasterConfig, PersistedMaster, PersistedState, Reply, Sentinel, SentinelCommand,
};
use vedette_fixture::{redis_server_command, wait_until, Proc, Spawn};

/// A `redis-server` (the shared fixture's process: killed by PID on drop, log in its temp dir).
struct Redis {
    proc: Proc,
    port: u16,
    // After `proc`: the process goes (and prints its log if a test panics) before its dir.
    _dir: tempfile::TempDir,
}

fn redis(replicaof: Option<u16>) -> Redis {
    let port = vedette_fixture::free_port().expect("free port");
    let dir = tempfile::tempdir().unwrap();
    let no_args: &[&str] = &[];
    let cmd = redis_server_command("redis-server", port, dir.path(), replicaof, no_args);
    let log = dir.path().join("redis.log");
    let proc = Proc::spawn(format!("redis-server:{port}"), cmd, &log, Spawn::default())
        .expect("redis-server");
    let r = Redis {
        proc,
        port,
        _dir: dir,
    };
    wait_until(Duration::from_secs(5), "redis-server answers PING", || {
        cli(port, &["PING"]) == "PONG"
    });
    r
}

fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[derive(Default)]
struct Recorder(Arc<Mutex<Vec<(String, String)>>>);
impl EventSink for Recorder {
    fn publish(&self, channel: &str, payload: &str) {
        self.0
            .lock()
            .unwrap()
            .push((channel.to_string(), payload.to_string()));
    }
}
struct NoDisk;
impl StateWriter for NoDisk {
    fn write(&self, _state: &PersistedState) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sentinel_fails_over_a_killed_master() {
    let mut master = redis(None);
    let replica = redis(Some(master.port));
    wait_until(Duration::from_secs(10), "replica linked", || {
        cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up")
    });
    let mut st = PersistedState::new("0123456789abcdef0123456789abcdef01234567");
    let mut cfg = MasterConfig::new("mymaster", "127.0.0.1", master.port, 1);
    cfg.down_after_ms = 1000;
    cfg.failover_timeout_ms = 10_000;
    st.masters
        .insert("mymaster".into(), PersistedMaster::new(cfg));
    let start = std::time::Instant::now();
    let core = Sentinel::new(st, 7, vedette_core::Instant(0));
    let (tx, rx) = mpsc::channel(64);
    let handle = CoreHandle::new(tx);
    let events = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_driver(
        core,
        rx,
        Arc::new(NoDisk),
        Box::new(Recorder(events.clone())),
        shutdown.clone(),
        start,
        vedette::driver::Feeds::default(),
    ));
    let has = |kind: &str| events.lock().unwrap().iter().any(|(k, _)| k == kind);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !has("+slave") {
        assert!(
            Instant::now() < deadline,
            "no +slave: {:?}",
            events.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = Instant::now();
    master.proc.kill();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !has("+switch-master") {
        assert!(
            Instant::now() < deadline,
            "no +switch-master: {:?}",
            events.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("failover took {:?} after kill", killed.elapsed());
    let addr = handle
        .command(SentinelCommand::GetMasterAddrByName("mymaster".into()))
        .await;
    assert_eq!(
        addr,
        Reply::Array(vec![
            Reply::bulk("127.0.0.1"),
            Reply::bulk(replica.port.to_string())
        ])
    );
    assert!(cli(replica.port, &["INFO", "replication"]).contains("role:master"));
    eprintln!("{:#?}", events.lock().unwrap());
    shutdown.cancel();
    let _ = task.await;
}

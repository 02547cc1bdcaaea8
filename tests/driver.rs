//! The driver and core against real `redis-server` processes, without the RESP server: one sentinel with
//! quorum 1 discovers a replica, sees the master die, and fails over.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vedette::driver::{run_driver, CoreHandle, EventSink, StateWriter};
use vedette_core::{MasterConfig, PersistedMaster, PersistedState, Reply, Sentinel};

struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn redis(replicaof: Option<u16>) -> Redis {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("redis-server");
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ])
    .arg("--dir")
    .arg(dir.path())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(m) = replicaof {
        cmd.args(["--replicaof", "127.0.0.1", &m.to_string()]);
    }
    let child = cmd.spawn().expect("redis-server");
    let r = Redis {
        child,
        port,
        _dir: dir,
    };
    wait_until(Duration::from_secs(5), || cli(port, &["PING"]) == "PONG");
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

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("condition not met within {limit:?}");
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
    wait_until(Duration::from_secs(10), || {
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
        vedette::driver::AddrSnapshot::default(),
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
    let _ = master.child.kill();
    let _ = master.child.wait();
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
        .command(vec![
            b"SENTINEL".to_vec(),
            b"get-master-addr-by-name".to_vec(),
            b"mymaster".to_vec(),
        ])
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

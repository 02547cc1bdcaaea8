//! Self-tests of the fixtures in `common`, always against the real redis-server / redis-sentinel, so a
//! broken harness is told apart from a broken vedette. (Ports, waits and process handling are tested in
//! the `vedette-fixture` crate they come from.)

use std::time::{Duration, Instant};

use crate::common::{
    port_answers, wait_until, RedisServer, RespConn, Sentinel, SentinelConf, Topology, Value,
    MASTER,
};

#[test]
fn redis_server_kill_stop_cont_restart() {
    let mut s = RedisServer::start();
    assert_eq!(s.cmd(&["SET", "k", "v"]), Value::Status("OK".into()));
    assert_eq!(s.cli(&["GET", "k"]), "v");
    assert_eq!(s.role().as_deref(), Some("master"));

    s.stop();
    let mut c = RespConn::connect(s.port).unwrap_or_else(|e| panic!("{e}"));
    let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
    assert!(
        c.call(&["PING"]).is_err(),
        "a stopped server must not answer"
    );
    s.cont();
    wait_until(
        Duration::from_secs(5),
        "PING after SIGCONT",
        || matches!(s.cmd(&["PING"]), Value::Status(p) if p == "PONG"),
    );

    let pid = s.pid();
    s.kill();
    assert!(!port_answers(s.port), "killed server still answers");
    s.restart();
    assert_ne!(s.pid(), pid);
    assert_eq!(s.cmd(&["GET", "k"]), Value::NullBulk, "persistence is off");
}

#[test]
fn topology_replicates() {
    let t = Topology::start(2);
    t.master.cmd(&["SET", "x", "1"]);
    for r in &t.replicas {
        assert_eq!(r.role().as_deref(), Some("slave"));
        wait_until(Duration::from_secs(5), "replicated write", || {
            r.cmd(&["GET", "x"]) == Value::Bulk(b"1".to_vec())
        });
    }
}

#[test]
fn redis_sentinel_fixture_and_events() {
    let t = Topology::start(1);
    let conf = SentinelConf::new()
        .monitor(MASTER, t.master.port, 2)
        .down_after(500)
        .failover_timeout(10000);
    let s = Sentinel::redis(conf);
    s.wait_settled(MASTER, 1, Some(0));
    assert_eq!(s.master_port(MASTER), Some(t.master.port));
    let text = std::fs::read_to_string(s.conf_path()).unwrap_or_default();
    assert!(
        text.contains("sentinel myid"),
        "config not rewritten:\n{text}"
    );

    let ev = s.events();
    let t0 = Instant::now();
    t.master.stop();
    let e = ev.wait_for("+sdown", "master mymaster", Duration::from_secs(5));
    assert_eq!(
        e.payload,
        format!("master {MASTER} 127.0.0.1 {}", t.master.port)
    );
    assert!(
        e.at.duration_since(t0) >= Duration::from_millis(400),
        "{}",
        ev.render()
    );
    assert!(s
        .master_field(MASTER, "flags")
        .is_some_and(|f| f.contains("s_down")));
    t.master.cont();
    ev.wait_for("-sdown", "master mymaster", Duration::from_secs(5));
    assert_eq!(
        ev.count("+odown"),
        0,
        "quorum 2 with one sentinel: no ODOWN"
    );
}

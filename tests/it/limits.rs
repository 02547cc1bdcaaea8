//! Resource limits with real processes (issue 9): under a low descriptor limit, idle clients must not
//! starve the links that monitoring needs.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;

/// `ulimit -n` the sentinel runs under.
const NOFILE: u64 = 256;
/// Idle client connections opened against it.
const CLIENTS: usize = 400;
/// `down-after-milliseconds` of the master.
const DOWN_AFTER: u64 = 2000;

/// With `ulimit -n 256` and 400 idle clients, the master is never flagged down: clients beyond the
/// descriptor budget are refused with Redis's error while links keep their descriptors — also when
/// every link has to reconnect with all client slots taken.
#[test]
fn idle_clients_under_ulimit_256_never_make_the_master_look_down() {
    let topo = Topology::start(1);
    let conf = SentinelConf::new()
        .monitor(MASTER, topo.master.port, 2)
        .down_after(DOWN_AFTER);
    let _peer = Sentinel::redis(conf.on_new_port());
    let vd = Sentinel::start_limited(Flavor::Vedette, conf, Some(NOFILE));
    vd.wait_settled(MASTER, 1, Some(1));
    let log = std::fs::read_to_string(vd.log_path()).unwrap_or_default();
    assert!(
        log.contains("maxclients has been reduced to"),
        "the 256 limit must hold and maxclients be fitted to it:\n{}",
        vd.log_tail(30)
    );

    // Opened before the flood, so they hold client slots: the event stream and a probe connection.
    let events = vd.events();
    let mut probe = vd.conn();
    let myid = probe.cmd(&["SENTINEL", "MYID"]).text();
    let stat = |probe: &mut RespConn, section: &str, field: &str| -> u64 {
        let text = probe.cmd(&["INFO", section]).text();
        info_field(&text, field)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("INFO {section} {field} in {text}"))
    };
    let received_before = stat(&mut probe, "stats", "total_connections_received");

    let mut idle: Vec<TcpStream> = (0..CLIENTS)
        .map(|i| {
            TcpStream::connect(("127.0.0.1", vd.port))
                .unwrap_or_else(|e| panic!("client {i}: connect: {e}"))
        })
        .collect();
    wait_until(
        Duration::from_secs(20),
        format!("vedette to have admitted or refused all {CLIENTS} clients"),
        || {
            stat(&mut probe, "stats", "total_connections_received")
                >= received_before + CLIENTS as u64
        },
    );
    let connected = stat(&mut probe, "clients", "connected_clients");
    let rejected = stat(&mut probe, "stats", "rejected_connections");
    let maxclients = stat(&mut probe, "clients", "maxclients");
    // Every refused client read Redis's error and was closed.
    let mut refused = 0;
    for s in &mut idle {
        s.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) if n > 0 => {
                assert_eq!(&buf[..n], b"-ERR max number of clients reached\r\n");
                refused += 1;
            }
            Ok(_) => panic!("a client was closed without the maxclients error"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("client read: {e}"),
        }
    }
    eprintln!(
        "ulimit -n {NOFILE}: maxclients {maxclients}, {connected} clients connected, \
         {refused} of {CLIENTS} new ones refused (rejected_connections {rejected})"
    );
    assert!(refused > 0 && rejected >= refused as u64);
    // The reserve exists: with 400 clients knocking, descriptors are left for the links (2 per
    // instance, 1 per peer) and the process itself, instead of the table being full.
    let pid = vd.pid().expect("running");
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/<pid>/fd")
        .count() as u64;
    eprintln!("vedette holds {open} of {NOFILE} descriptors");
    assert!(
        open + 32 <= NOFILE,
        "only {} descriptors left under the {NOFILE} limit",
        NOFILE - open.min(NOFILE)
    );

    // Every link of vedette (and of the peer) to the master and the replica is dropped: reconnecting
    // needs new descriptors while all client slots are taken.
    let started = Instant::now();
    for server in [&topo.master, &topo.replicas[0]] {
        server.cmd(&["CLIENT", "KILL", "TYPE", "normal"]);
        server.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    }
    let cmd_name = format!("name=sentinel-{}-cmd", &myid[..8]);
    let pubsub_name = format!("name=sentinel-{}-pubsub", &myid[..8]);
    wait_until(
        Duration::from_secs(10),
        "vedette's links to the master and the replica to be back",
        || {
            [&topo.master, &topo.replicas[0]].iter().all(|s| {
                let list = s.cmd(&["CLIENT", "LIST"]).text();
                list.contains(&cmd_name) && list.contains(&pubsub_name)
            })
        },
    );
    let reconnected = started.elapsed();

    // Several down-after periods: the master is never subjectively down and vedette answers the
    // probe (PING and SENTINEL MASTER) all along.
    let mut worst_ping = Duration::ZERO;
    let until = started + Duration::from_millis(3 * DOWN_AFTER);
    while Instant::now() < until {
        let t = Instant::now();
        assert_eq!(probe.cmd(&["PING"]).text(), "PONG");
        worst_ping = worst_ping.max(t.elapsed());
        let flags = probe
            .cmd(&["SENTINEL", "MASTER", MASTER])
            .field("flags")
            .unwrap_or_default();
        assert_eq!(flags, "master", "{}", events.render());
        std::thread::sleep(Duration::from_millis(50));
    }
    let downs: Vec<_> = events
        .all()
        .into_iter()
        .filter(|e| {
            matches!(e.channel.as_str(), "+sdown" | "+odown")
                && e.payload.starts_with(&format!("master {MASTER} "))
        })
        .collect();
    assert!(downs.is_empty(), "master flagged down: {downs:?}");
    assert_eq!(
        probe
            .cmd(&["SENTINEL", "MASTER", MASTER])
            .field("num-other-sentinels")
            .as_deref(),
        Some("1")
    );
    eprintln!(
        "links back {reconnected:?} after CLIENT KILL; no +sdown over {} ms; worst probe PING {worst_ping:?}",
        3 * DOWN_AFTER
    );
    drop(idle);
}

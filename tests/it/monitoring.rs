//! Step 2 — Monitoring: discovery of replicas and sentinels, mixed clusters with the real `redis-sentinel`,
//! subjective-down detection latency, persistence across restarts, robustness against malformed hellos, and
//! the monitoring-related SENTINEL subcommands (RESET, MONITOR/SET/REMOVE, INFO-CACHE, CKQUORUM).
//!
//! Reference: sentinel-reference.md §2 (hello), §3–§5.2 (links, INFO, SDOWN), §8 (events), §9.4–9.6
//! (rewrite). Every test builds its own topology on fresh ports, waits on conditions with deadlines and
//! prints measured figures with `eprintln!` (run with `--nocapture` to see them; `SDOWN-LATENCY` lines are
//! the ones to quote). The tests mostly wait on timers, so `--test-threads 8` keeps the module well under
//! two minutes even on two cores.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::common::diff::{compare, Opts, Pair};
use crate::common::{
    free_port, log_tail, redis_cli, resp, wait_until, Event, Events, Flavor, RespConn, Sentinel,
    SentinelConf, Topology, Value, MASTER, START_TIMEOUT,
};

/// The hello channel (§2.1).
const HELLO: &str = "__sentinel__:hello";

/// `failover-timeout` for the clusters below: short, so a stuck failover shows up quickly.
const FAILOVER_TIMEOUT: u64 = 10_000;

/// Fields of a `SENTINEL REPLICAS` entry that must be equal on two sentinels watching the same topology.
const REPLICA_EQUAL: &[&str] = &[
    "name",
    "ip",
    "port",
    "runid",
    "flags",
    "role-reported",
    "master-link-status",
    "master-host",
    "master-port",
    "slave-priority",
    "replica-announced",
];

// ---------------------------------------------------------------------------------------------------------
// Helpers

/// A sentinel as another sentinel lists it in `SENTINEL SENTINELS`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Peer {
    runid: String,
    ip: String,
    port: u16,
}

/// `SENTINEL SENTINELS mymaster` as a set of peers (None if unreachable or malformed).
fn sentinels_of(port: u16) -> Option<BTreeSet<Peer>> {
    let v = resp::call(port, &["SENTINEL", "SENTINELS", MASTER]).ok()?;
    v.items()?
        .iter()
        .map(|e| {
            Some(Peer {
                runid: e.field("runid")?,
                ip: e.field("ip")?,
                port: e.field("port")?.parse().ok()?,
            })
        })
        .collect()
}

/// Ports listed by `SENTINEL REPLICAS mymaster` (None if unreachable or malformed).
fn replica_ports(port: u16) -> Option<BTreeSet<u16>> {
    let v = resp::call(port, &["SENTINEL", "REPLICAS", MASTER]).ok()?;
    v.items()?
        .iter()
        .map(|e| e.field("port")?.parse().ok())
        .collect()
}

/// `SENTINEL MYID`.
fn myid(s: &Sentinel) -> String {
    s.cmd(&["SENTINEL", "MYID"]).text()
}

/// One field of `SENTINEL MASTER mymaster` as a number.
fn master_num(s: &Sentinel, field: &str) -> Option<u64> {
    s.master_field(MASTER, field)?.parse().ok()
}

/// Send a signal to a process we started.
fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) on the PID of a child this test started and has not reaped.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// SIGTERM a sentinel and wait (bounded) for it to exit cleanly; returns how long the exit took.
fn sigterm(s: &mut Sentinel) -> Duration {
    let pid = s
        .pid()
        .unwrap_or_else(|| panic!("sentinel:{} is not running", s.port));
    let t0 = Instant::now();
    signal(pid, libc::SIGTERM);
    let mut status = None;
    wait_until(
        Duration::from_secs(10),
        format!("sentinel:{} to exit after SIGTERM", s.port),
        || {
            status = s.exited();
            status.is_some()
        },
    );
    assert!(
        status.is_some_and(|st| st.success()),
        "sentinel:{} exited with {status:?} after SIGTERM; log:\n{}",
        s.port,
        s.log_tail(30)
    );
    t0.elapsed()
}

/// True if `port` answers PING with PONG.
fn pongs(port: u16) -> bool {
    matches!(resp::call(port, &["PING"]), Ok(Value::Status(s)) if s == "PONG")
}

/// First event at or after `after` on `channel` whose payload is exactly `payload`; panics with everything
/// seen after `timeout`.
#[track_caller]
fn wait_event(
    ev: &Events,
    after: Instant,
    channel: &str,
    payload: &str,
    timeout: Duration,
) -> Event {
    let start = Instant::now();
    loop {
        let hit = ev
            .all()
            .into_iter()
            .find(|e| e.at >= after && e.channel == channel && e.payload == payload);
        if let Some(e) = hit {
            return e;
        }
        if start.elapsed() >= timeout {
            panic!(
                "port {}: no `{channel} {payload}` within {timeout:?}; seen:\n{}",
                ev.port,
                ev.render()
            );
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A hello seen on a master's `__sentinel__:hello` channel.
#[derive(Clone, Debug)]
struct HelloMsg {
    at: Instant,
    port: u16,
    runid: String,
    current_epoch: u64,
    master_port: u16,
    config_epoch: u64,
}

/// Parse a hello payload (None if it is not a well-formed hello about `mymaster`).
fn parse_hello(at: Instant, payload: &[u8]) -> Option<HelloMsg> {
    let text = std::str::from_utf8(payload).ok()?;
    let f: Vec<&str> = text.split(',').collect();
    if f.len() != 8 || f[4] != MASTER {
        return None;
    }
    Some(HelloMsg {
        at,
        port: f[1].parse().ok()?,
        runid: f[2].to_string(),
        current_epoch: f[3].parse().ok()?,
        master_port: f[6].parse().ok()?,
        config_epoch: f[7].parse().ok()?,
    })
}

/// Records every well-formed hello published on a set of redis-servers. Unlike [`Events`] it resubscribes
/// when the subscription is dropped: a sentinel reconfiguring a server sends `CLIENT KILL TYPE pubsub`
/// (§7.5), which would otherwise silence the tap right after a failover.
struct HelloTap {
    seen: Arc<Mutex<Vec<HelloMsg>>>,
    /// `true` once dropping; the sockets of the live subscriptions (shut down on drop).
    socks: Arc<Mutex<(bool, Vec<TcpStream>)>>,
    threads: Vec<JoinHandle<()>>,
}

impl HelloTap {
    fn start(ports: &[u16]) -> HelloTap {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let socks = Arc::new(Mutex::new((false, Vec::new())));
        let threads = ports
            .iter()
            .map(|&port| {
                let (seen, socks) = (Arc::clone(&seen), Arc::clone(&socks));
                thread::spawn(move || HelloTap::run(port, &seen, &socks))
            })
            .collect();
        HelloTap {
            seen,
            socks,
            threads,
        }
    }

    fn run(port: u16, seen: &Mutex<Vec<HelloMsg>>, socks: &Mutex<(bool, Vec<TcpStream>)>) {
        loop {
            let Ok(mut c) = RespConn::connect(port) else {
                if socks.lock().unwrap_or_else(|e| e.into_inner()).0 {
                    return;
                }
                thread::sleep(Duration::from_millis(50));
                continue;
            };
            {
                let mut g = socks.lock().unwrap_or_else(|e| e.into_inner());
                if g.0 {
                    return;
                }
                match c.shutdown_handle() {
                    Ok(h) => g.1.push(h),
                    Err(_) => continue,
                }
            }
            let _ = c.set_read_timeout(None);
            if c.send(&["SUBSCRIBE", HELLO]).is_err() {
                continue;
            }
            while let Ok(v) = c.read() {
                if let Some([Value::Bulk(kind), _, Value::Bulk(payload)]) = v.items() {
                    if kind == b"message" {
                        if let Some(h) = parse_hello(Instant::now(), payload) {
                            seen.lock().unwrap_or_else(|e| e.into_inner()).push(h);
                        }
                    }
                }
            }
            if socks.lock().unwrap_or_else(|e| e.into_inner()).0 {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last hello sent by `runid` seen after `after`.
    fn last(&self, runid: &str, after: Instant) -> Option<HelloMsg> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|h| h.runid == runid && h.at >= after)
            .max_by_key(|h| h.at)
            .cloned()
    }
}

impl Drop for HelloTap {
    fn drop(&mut self) {
        {
            let mut g = self.socks.lock().unwrap_or_else(|e| e.into_inner());
            g.0 = true;
            for s in &g.1 {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// `SENTINEL REPLICAS mymaster` in `proto`, entries sorted by name (the order of the replica table is a
/// hash-table order in redis-sentinel, not part of the contract).
fn replicas_sorted(port: u16, proto: u8) -> Value {
    let (mut c, _) = RespConn::connect_proto(port, proto)
        .unwrap_or_else(|e| panic!("connect {port} RESP{proto}: {e}"));
    let v = c.cmd(&["SENTINEL", "REPLICAS", MASTER]);
    let Value::Array(mut entries) = v else {
        return v;
    };
    entries.sort_by_key(|e| e.field("name"));
    Value::Array(entries)
}

/// Differences between the replica tables of `reference` and `subject`, RESP2 and RESP3.
fn replica_diffs(reference: u16, subject: u16) -> Vec<String> {
    let mut out = Vec::new();
    for proto in [2, 3] {
        let a = replicas_sorted(reference, proto);
        let b = replicas_sorted(subject, proto);
        let d = compare(&a, &b, &Opts::new().equal(REPLICA_EQUAL));
        out.extend(d.into_iter().map(|l| format!("RESP{proto} {l}")));
    }
    out
}

/// Wait (bounded) until the replica tables of `reference` and `subject` agree field by field.
#[track_caller]
fn assert_replicas_agree(reference: u16, subject: u16, timeout: Duration) {
    let start = Instant::now();
    loop {
        let d = replica_diffs(reference, subject);
        if d.is_empty() {
            return;
        }
        if start.elapsed() >= timeout {
            panic!(
                "SENTINEL REPLICAS differs between redis-sentinel:{reference} and subject:{subject} for \
                 {timeout:?}:\n  {}\nreference: {:#?}\nsubject: {:#?}",
                d.join("\n  "),
                replicas_sorted(reference, 2),
                replicas_sorted(subject, 2)
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------------------
// A cluster: one master with replicas, several sentinels, a hello tap on the master.

struct Cluster {
    /// Every sentinel's hellos, as published on the master and the replicas.
    hellos: HelloTap,
    sentinels: Vec<Sentinel>,
    /// Run ids, in the order of `sentinels`.
    ids: Vec<String>,
    topo: Topology,
    /// When the first sentinel was started.
    started: Instant,
}

impl Cluster {
    fn start(flavors: &[Flavor], replicas: usize, quorum: u32, down_after: u64) -> Cluster {
        let topo = Topology::start(replicas);
        let ports: Vec<u16> = std::iter::once(&topo.master)
            .chain(&topo.replicas)
            .map(|r| r.port)
            .collect();
        let hellos = HelloTap::start(&ports);
        let conf = SentinelConf::new()
            .monitor(MASTER, topo.master.port, quorum)
            .down_after(down_after)
            .failover_timeout(FAILOVER_TIMEOUT);
        let started = Instant::now();
        let sentinels: Vec<Sentinel> = flavors
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                Sentinel::start(
                    f,
                    if i == 0 {
                        conf.clone()
                    } else {
                        conf.on_new_port()
                    },
                )
            })
            .collect();
        let ids = sentinels.iter().map(myid).collect();
        Cluster {
            hellos,
            sentinels,
            ids,
            topo,
            started,
        }
    }

    fn peer(&self, i: usize) -> Peer {
        Peer {
            runid: self.ids[i].clone(),
            ip: "127.0.0.1".into(),
            port: self.sentinels[i].port,
        }
    }

    fn replica_set(&self) -> BTreeSet<u16> {
        self.topo.replicas.iter().map(|r| r.port).collect()
    }

    /// Ok if every sentinel lists exactly the other sentinels and exactly `replicas`.
    fn mesh(&self, replicas: &BTreeSet<u16>) -> Result<(), String> {
        for (i, s) in self.sentinels.iter().enumerate() {
            let want: BTreeSet<Peer> = (0..self.sentinels.len())
                .filter(|&j| j != i)
                .map(|j| self.peer(j))
                .collect();
            let got = sentinels_of(s.port);
            if got.as_ref() != Some(&want) {
                return Err(format!(
                    "{:?}:{} SENTINELS {got:?}, want {want:?}",
                    s.flavor, s.port
                ));
            }
            let got = replica_ports(s.port);
            if got.as_ref() != Some(replicas) {
                return Err(format!(
                    "{:?}:{} REPLICAS {got:?}, want {replicas:?}",
                    s.flavor, s.port
                ));
            }
        }
        Ok(())
    }

    /// Wait until [`mesh`](Self::mesh) holds; returns the time since the sentinels were started.
    #[track_caller]
    fn wait_mesh(&self, replicas: &BTreeSet<u16>, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            match self.mesh(replicas) {
                Ok(()) => return self.started.elapsed(),
                Err(e) if start.elapsed() >= timeout => {
                    panic!("cluster did not converge within {timeout:?}: {e}")
                }
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Ok if every sentinel reports the master at `master_port` with `config-epoch` = `epoch`, and its last
    /// hello after `after` carries current epoch `epoch`, master config epoch `epoch` and `master_port`.
    fn epochs(&self, master_port: u16, epoch: u64, after: Instant) -> Result<(), String> {
        for (i, s) in self.sentinels.iter().enumerate() {
            let tag = format!("{:?}:{}", s.flavor, s.port);
            let port = s.master_port(MASTER);
            if port != Some(master_port) {
                return Err(format!("{tag}: master port {port:?}, want {master_port}"));
            }
            let ce = master_num(s, "config-epoch");
            if ce != Some(epoch) {
                return Err(format!(
                    "{tag}: SENTINEL MASTER config-epoch {ce:?}, want {epoch}"
                ));
            }
            let h = self.hellos.last(&self.ids[i], after);
            let ok = h.as_ref().is_some_and(|h| {
                h.current_epoch == epoch
                    && h.config_epoch == epoch
                    && h.master_port == master_port
                    && h.port == s.port
            });
            if !ok {
                return Err(format!(
                    "{tag}: last hello {h:?}, want current/config epoch {epoch} and master port {master_port}"
                ));
            }
        }
        Ok(())
    }

    #[track_caller]
    fn wait_epochs(&self, master_port: u16, epoch: u64, after: Instant, timeout: Duration) {
        let start = Instant::now();
        loop {
            match self.epochs(master_port, epoch, after) {
                Ok(()) => return,
                Err(e) if start.elapsed() >= timeout => {
                    panic!("epochs did not agree within {timeout:?}: {e}")
                }
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Discovery

/// Three sentinels of the implementation under test on 1 master + 2 replicas: each lists both replicas and
/// the two other sentinels within seconds.
#[test]
fn subject_cluster_discovers_replicas_and_sentinels() {
    let f = Flavor::subject();
    let c = Cluster::start(&[f, f, f], 2, 2, 5000);
    let took = c.wait_mesh(&c.replica_set(), Duration::from_secs(15));
    eprintln!("DISCOVERY 3x{f:?}: full mesh (2 replicas, 2 other sentinels each) after {took:?}");
    for s in &c.sentinels {
        let v = s.cmd(&["SENTINEL", "REPLICAS", MASTER]);
        for r in v.items().unwrap_or_default() {
            let port = c.topo.master.port.to_string();
            assert_eq!(
                r.field("master-host").as_deref(),
                Some("127.0.0.1"),
                "{r:?}"
            );
            assert_eq!(r.field("master-port"), Some(port), "{r:?}");
            assert_eq!(r.field("role-reported").as_deref(), Some("slave"), "{r:?}");
        }
        assert_eq!(
            s.master_field(MASTER, "num-other-sentinels").as_deref(),
            Some("2")
        );
    }
    c.wait_epochs(c.topo.master.port, 0, c.started, Duration::from_secs(5));
}

/// A mixed cluster: everyone lists everyone, epochs agree, replica tables agree with redis-sentinel field
/// by field; then a forced failover started on sentinel `failover_on`, after which the master address, the
/// config epoch and the current epoch agree everywhere again.
fn mixed_cluster(flavors: &[Flavor], failover_on: usize) {
    let c = Cluster::start(flavors, 2, 2, 5000);
    let took = c.wait_mesh(&c.replica_set(), Duration::from_secs(15));
    eprintln!("DISCOVERY {flavors:?}: full mesh after {took:?}");
    c.wait_epochs(c.topo.master.port, 0, c.started, Duration::from_secs(5));

    let reference = c
        .sentinels
        .iter()
        .position(|s| s.flavor == Flavor::Redis)
        .unwrap_or_else(|| panic!("no redis-sentinel in {flavors:?}"));
    for (i, s) in c.sentinels.iter().enumerate() {
        if i != reference && s.flavor != Flavor::Redis {
            assert_replicas_agree(c.sentinels[reference].port, s.port, Duration::from_secs(5));
        }
    }

    // Forced failover on one sentinel; the others learn the outcome from its hellos (§2.5 step 5).
    let leader = &c.sentinels[failover_on];
    let ev: Vec<Events> = c.sentinels.iter().map(Sentinel::events).collect();
    let t0 = Instant::now();
    let r = leader.cmd(&["SENTINEL", "FAILOVER", MASTER]);
    assert_eq!(
        r,
        Value::Status("OK".into()),
        "SENTINEL FAILOVER on {:?}",
        leader.flavor
    );
    let sw = ev[failover_on]
        .wait_for("+switch-master", MASTER, Duration::from_secs(30))
        .payload;
    let new_port: u16 = sw
        .rsplit(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("bad +switch-master payload {sw:?}"));
    assert!(c.replica_set().contains(&new_port), "{sw}");
    c.wait_epochs(new_port, 1, t0, Duration::from_secs(20));
    eprintln!(
        "FAILOVER {flavors:?} led by {:?}: all agree on master {new_port}, epoch 1 after {:?}",
        leader.flavor,
        t0.elapsed()
    );
    for (i, e) in ev.iter().enumerate() {
        if i != failover_on {
            e.wait_for("+switch-master", MASTER, Duration::from_secs(5));
        }
    }
    // Everyone still lists everyone; the replicas are now the old master and the other replica.
    let mut reps = c.replica_set();
    reps.remove(&new_port);
    reps.insert(c.topo.master.port);
    c.wait_mesh(&reps, Duration::from_secs(10));
    // The old master is converted to a replica (+convert-to-slave after 8 s of reporting master), after
    // which the replica tables must agree again.
    for (i, s) in c.sentinels.iter().enumerate() {
        if i != reference && s.flavor != Flavor::Redis {
            assert_replicas_agree(c.sentinels[reference].port, s.port, Duration::from_secs(30));
        }
    }
}

#[test]
fn mixed_two_redis_one_subject() {
    // The subject leads the failover; the real sentinels follow it.
    mixed_cluster(&[Flavor::Redis, Flavor::Redis, Flavor::subject()], 2);
}

#[test]
fn mixed_one_redis_two_subjects() {
    // redis-sentinel leads the failover; the subjects follow it.
    mixed_cluster(&[Flavor::Redis, Flavor::subject(), Flavor::subject()], 0);
}

// ---------------------------------------------------------------------------------------------------------
// Subjective down

/// down-after-milliseconds of the SDOWN tests.
const SDOWN_AFTER: u64 = 1000;

/// Upper bound asserted for fault → `+sdown`.
///
/// vedette pings every min(ping period, down-after/8) (`ping_interval` in the core), so it can detect
/// within down-after + ~200 ms; we assert the generous down-after + 1000 ms and print the figure.
/// redis-sentinel pings every P = min(down-after, 1000 ms) and its clock starts at the first unanswered
/// PING, which may go out up to P after the fault: down-after + P (measured ~2.0 s for SIGSTOP with
/// down-after 1000), so a `VEDETTE_IT_SUBJECT=redis-sentinel` run gets down-after + P + 500 ms.
fn sdown_bound() -> Duration {
    match Flavor::subject() {
        Flavor::Vedette => Duration::from_millis(SDOWN_AFTER + 1000),
        Flavor::Redis => Duration::from_millis(SDOWN_AFTER + SDOWN_AFTER.min(1000) + 500),
    }
}

/// Apply `fault`, measure the `+sdown` of `payload`, apply `heal`, measure the `-sdown`.
fn measure_sdown(
    ev: &Events,
    what: &str,
    payload: &str,
    fault: impl FnOnce(),
    heal: impl FnOnce(),
) -> (Duration, Duration) {
    let t0 = Instant::now();
    fault();
    let e = wait_event(ev, t0, "+sdown", payload, Duration::from_secs(10));
    let down = e.at.saturating_duration_since(t0);
    let t1 = Instant::now();
    heal();
    let e = wait_event(ev, t1, "-sdown", payload, Duration::from_secs(15));
    let up = e.at.saturating_duration_since(t1);
    eprintln!(
        "SDOWN-LATENCY {what}: down-after={SDOWN_AFTER}ms fault->+sdown={}ms heal->-sdown={}ms",
        down.as_millis(),
        up.as_millis()
    );
    assert!(
        down <= sdown_bound(),
        "{what}: +sdown after {down:?}, bound {:?}; events:\n{}",
        sdown_bound(),
        ev.render()
    );
    (down, up)
}

/// Master SIGSTOP/SIGCONT, then SIGKILL/restart. A single sentinel with quorum 2 never reaches ODOWN, so
/// no failover interferes.
#[test]
fn sdown_master_stop_and_kill() {
    let mut topo = Topology::start(1);
    let port = topo.master.port;
    let s = Sentinel::subject(
        SentinelConf::new()
            .monitor(MASTER, port, 2)
            .down_after(SDOWN_AFTER)
            .failover_timeout(FAILOVER_TIMEOUT),
    );
    s.wait_settled(MASTER, 1, None);
    let ev = s.events();
    let payload = format!("master {MASTER} 127.0.0.1 {port}");
    let m = &topo.master;
    measure_sdown(&ev, "master SIGSTOP", &payload, || m.stop(), || m.cont());
    let m = std::cell::RefCell::new(&mut topo.master);
    measure_sdown(
        &ev,
        "master SIGKILL",
        &payload,
        || m.borrow_mut().kill(),
        || m.borrow_mut().restart(),
    );
    assert_eq!(ev.count("+odown"), 0, "no ODOWN expected:\n{}", ev.render());
}

/// Replica SIGSTOP/SIGCONT, then SIGKILL/restart.
#[test]
fn sdown_replica_stop_and_kill() {
    let mut topo = Topology::start(2);
    let s = Sentinel::subject(
        SentinelConf::new()
            .monitor(MASTER, topo.master.port, 2)
            .down_after(SDOWN_AFTER)
            .failover_timeout(FAILOVER_TIMEOUT),
    );
    s.wait_settled(MASTER, 2, None);
    let ev = s.events();
    let mport = topo.master.port;
    let r = &mut topo.replicas[0];
    let payload = format!(
        "slave 127.0.0.1:{p} 127.0.0.1 {p} @ {MASTER} 127.0.0.1 {mport}",
        p = r.port
    );
    {
        let r = &*r;
        measure_sdown(&ev, "replica SIGSTOP", &payload, || r.stop(), || r.cont());
    }
    let r = std::cell::RefCell::new(r);
    measure_sdown(
        &ev,
        "replica SIGKILL",
        &payload,
        || r.borrow_mut().kill(),
        || r.borrow_mut().restart(),
    );
    // The other replica and the master were never affected.
    assert_eq!(ev.count("+sdown"), 2, "{}", ev.render());
}

/// Peer sentinel (a real redis-sentinel) SIGSTOP/SIGCONT, then SIGKILL/restart from its own config.
#[test]
fn sdown_sentinel_stop_and_kill() {
    let topo = Topology::start(1);
    let conf = SentinelConf::new()
        .monitor(MASTER, topo.master.port, 2)
        .down_after(SDOWN_AFTER)
        .failover_timeout(FAILOVER_TIMEOUT);
    let s = Sentinel::subject(conf.clone());
    let mut peer = Sentinel::redis(conf.on_new_port());
    s.wait_settled(MASTER, 1, Some(1));
    let peer_id = myid(&peer);
    let ev = s.events();
    let payload = format!(
        "sentinel {peer_id} 127.0.0.1 {} @ {MASTER} 127.0.0.1 {}",
        peer.port, topo.master.port
    );
    {
        let p = &peer;
        measure_sdown(&ev, "sentinel SIGSTOP", &payload, || p.stop(), || p.cont());
    }
    let p = std::cell::RefCell::new(&mut peer);
    measure_sdown(
        &ev,
        "sentinel SIGKILL",
        &payload,
        || p.borrow_mut().kill(),
        || p.borrow_mut().restart(),
    );
    assert_eq!(ev.count("+odown"), 0, "{}", ev.render());
}

// ---------------------------------------------------------------------------------------------------------
// Persistence

/// A `redis-sentinel` started from a config file we wrote verbatim (the fixtures render their own).
struct RawSentinel {
    child: Child,
    port: u16,
    log: PathBuf,
    // Dropped after `child` is killed.
    _dir: TempDir,
}

impl RawSentinel {
    fn start(text: &str, port: u16) -> RawSentinel {
        let dir = tempfile::Builder::new()
            .prefix("vedette-it-raw-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temp dir: {e}"));
        let conf = dir.path().join("sentinel.conf");
        fs::write(&conf, text).unwrap_or_else(|e| panic!("write {}: {e}", conf.display()));
        let log = dir.path().join("sentinel.log");
        let out = fs::File::create(&log).unwrap_or_else(|e| panic!("create log: {e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("dup log: {e}"));
        let child = Command::new("redis-sentinel")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn redis-sentinel: {e}"));
        let mut s = RawSentinel {
            child,
            port,
            log,
            _dir: dir,
        };
        let start = Instant::now();
        while !pongs(port) {
            if let Ok(Some(st)) = s.child.try_wait() {
                panic!(
                    "redis-sentinel exited with {st} on the copied config:\n{text}\nlog:\n{}",
                    log_tail(&s.log, 30)
                );
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "redis-sentinel on the copied config did not answer PING; log:\n{}",
                log_tail(&s.log, 30)
            );
            thread::sleep(Duration::from_millis(20));
        }
        s
    }
}

impl Drop for RawSentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "----- last lines of redis-sentinel:{} (copied config) -----\n{}",
                self.port,
                log_tail(&self.log, 30)
            );
        }
    }
}

/// The subject learns replicas, a peer and epoch 1 (its own failover), persists them, and after a restart
/// with every redis-server and the peer frozen (so neither INFO nor hellos can be the source) answers from
/// what it persisted. A real redis-sentinel started from the rewritten file sees the same state.
#[test]
fn restart_keeps_learnt_state() {
    let mut c = Cluster::start(&[Flavor::subject(), Flavor::Redis], 2, 2, 5000);
    c.wait_mesh(&c.replica_set(), Duration::from_secs(15));

    // A failover makes the epochs non-zero and the replica list non-trivial (it includes the old master).
    let ev = c.sentinels[0].events();
    let t0 = Instant::now();
    let r = c.sentinels[0].cmd(&["SENTINEL", "FAILOVER", MASTER]);
    assert_eq!(r, Value::Status("OK".into()));
    let sw = ev
        .wait_for("+switch-master", MASTER, Duration::from_secs(30))
        .payload;
    let new_port: u16 = sw
        .rsplit(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("bad +switch-master payload {sw:?}"));
    c.wait_epochs(new_port, 1, t0, Duration::from_secs(20));
    let mut reps = c.replica_set();
    reps.remove(&new_port);
    reps.insert(c.topo.master.port);
    c.wait_mesh(&reps, Duration::from_secs(10));
    drop(ev);

    let id = c.ids[0].clone();
    let peer = c.peer(1);
    sigterm(&mut c.sentinels[0]);
    let path = c.sentinels[0].conf_path();
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let lines: BTreeSet<&str> = text.lines().map(str::trim).collect();
    let mut want = vec![
        format!("sentinel myid {id}"),
        format!("sentinel monitor {MASTER} 127.0.0.1 {new_port} 2"),
        format!("sentinel config-epoch {MASTER} 1"),
        "sentinel current-epoch 1".to_string(),
        format!(
            "sentinel known-sentinel {MASTER} 127.0.0.1 {} {}",
            peer.port, peer.runid
        ),
    ];
    want.extend(
        reps.iter()
            .map(|p| format!("sentinel known-replica {MASTER} 127.0.0.1 {p}")),
    );
    for w in &want {
        assert!(
            lines.contains(w.as_str()),
            "rewritten config lacks `{w}`:\n{text}"
        );
    }

    // Freeze every source of INFO and hellos, then restart.
    let pids: Vec<i32> = std::iter::once(&c.topo.master)
        .chain(&c.topo.replicas)
        .filter_map(|r| r.pid())
        .chain(c.sentinels[1].pid())
        .collect();
    let freeze = |on: bool| {
        let sig = if on { libc::SIGSTOP } else { libc::SIGCONT };
        for &pid in &pids {
            signal(pid, sig);
        }
    };
    freeze(true);
    c.sentinels[0].restart();
    let s = &c.sentinels[0];
    let got_reps = replica_ports(s.port);
    let got_sentinels = sentinels_of(s.port);
    let got_port = s.master_port(MASTER);
    let got_epoch = master_num(s, "config-epoch");
    let got_id = myid(s);
    freeze(false);
    assert_eq!(got_id, id, "run id changed across restart");
    assert_eq!(got_port, Some(new_port), "master address after restart");
    assert_eq!(got_epoch, Some(1), "config-epoch after restart");
    assert_eq!(
        got_reps.as_ref(),
        Some(&reps),
        "replicas right after restart"
    );
    assert_eq!(
        got_sentinels,
        Some(BTreeSet::from([peer.clone()])),
        "sentinels right after restart"
    );
    // Current epoch: the restarted subject's hellos carry epoch 1.
    let t1 = Instant::now();
    wait_until(
        Duration::from_secs(10),
        "restarted subject to hello with current epoch 1",
        || {
            c.hellos
                .last(&id, t1)
                .is_some_and(|h| h.current_epoch == 1 && h.config_epoch == 1)
        },
    );

    // A real redis-sentinel takes over the subject's rewritten file (port changed), same frozen setup.
    sigterm(&mut c.sentinels[0]);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let port = free_port();
    let copied: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("port ") {
                format!("port {port}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    freeze(true);
    let real = RawSentinel::start(&copied, port);
    let got_reps = replica_ports(port);
    let got_sentinels = sentinels_of(port);
    let got_master = resp::call(port, &["SENTINEL", "MASTER", MASTER]);
    let got_id = resp::call(port, &["SENTINEL", "MYID"]);
    freeze(false);
    let m = got_master.unwrap_or_else(|e| panic!("SENTINEL MASTER: {e}"));
    assert_eq!(m.field("port"), Some(new_port.to_string()), "{m:?}");
    assert_eq!(m.field("config-epoch").as_deref(), Some("1"), "{m:?}");
    assert_eq!(m.field("num-slaves").as_deref(), Some("2"), "{m:?}");
    assert_eq!(
        m.field("num-other-sentinels").as_deref(),
        Some("1"),
        "{m:?}"
    );
    assert_eq!(got_reps.as_ref(), Some(&reps));
    assert_eq!(got_sentinels, Some(BTreeSet::from([peer])));
    assert_eq!(got_id.ok().and_then(|v| v.as_str()), Some(id.clone()));
    let t2 = Instant::now();
    wait_until(
        Duration::from_secs(10),
        "redis-sentinel on the copied file to hello with current epoch 1",
        || {
            c.hellos
                .last(&id, t2)
                .is_some_and(|h| h.current_epoch == 1 && h.port == port)
        },
    );
    drop(real);
}

// ---------------------------------------------------------------------------------------------------------
// Malformed hellos

/// Payloads that are not valid hellos (§2.5 step 1 and numeric fields). `p` is an unused port, `id` an
/// unknown run id: if one of these were accepted, the peer list would grow (and the new peer would only
/// ever be dialled on 127.0.0.1).
fn junk_hellos(p: u16, id: &str, mport: u16) -> Vec<Vec<u8>> {
    let good = |f: [&str; 8]| f.join(",").into_bytes();
    let ps = p.to_string();
    let ms = mport.to_string();
    let mut v: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"hello".to_vec(),
        b",,,,,,,".to_vec(),
        format!("127.0.0.1,{p},{id},0,{MASTER},127.0.0.1,{mport}").into_bytes(),
        format!("127.0.0.1,{p},{id},0,{MASTER},127.0.0.1,{mport},0,0").into_bytes(),
        good(["127.0.0.1", "abc", id, "0", MASTER, "127.0.0.1", &ms, "0"]),
        good(["127.0.0.1", "70000", id, "0", MASTER, "127.0.0.1", &ms, "0"]),
        good(["127.0.0.1", "-1", id, "0", MASTER, "127.0.0.1", &ms, "0"]),
        good(["127.0.0.1", &ps, id, "epoch", MASTER, "127.0.0.1", &ms, "0"]),
        good(["127.0.0.1", &ps, id, "-1", MASTER, "127.0.0.1", &ms, "0"]),
        good([
            "127.0.0.1",
            &ps,
            id,
            "99999999999999999999999",
            MASTER,
            "127.0.0.1",
            &ms,
            "0",
        ]),
        good(["127.0.0.1", &ps, id, "0", MASTER, "127.0.0.1", "x", "0"]),
        good(["127.0.0.1", &ps, id, "0", MASTER, "127.0.0.1", &ms, "1e3"]),
        good(["", &ps, id, "0", MASTER, "127.0.0.1", &ms, "0"]),
        good(["127.0.0.1", &ps, "", "0", MASTER, "127.0.0.1", &ms, "0"]),
    ];
    // ~1 MB: a no-comma blob, and an 8-field hello whose last field is a million digits.
    v.push(vec![b'x'; 1 << 20]);
    let mut big = format!("127.0.0.1,{p},{id},0,{MASTER},127.0.0.1,{mport},").into_bytes();
    big.resize(big.len() + (1 << 20), b'9');
    v.push(big);
    // Binary junk: every byte value, and a hello-shaped payload with NUL/0xff/CRLF inside fields.
    v.push((0..=255u8).cycle().take(4096).collect());
    let mut bin = format!("127.0.0.1,{p}\0,{id},0,{MASTER}").into_bytes();
    bin.extend_from_slice(b"\xff\xfe\r\n,127.0.0.1,");
    bin.extend_from_slice(ms.as_bytes());
    bin.extend_from_slice(b",0");
    v.push(bin);
    v
}

/// Junk on the master's hello channel and PUBLISHed straight to the subject is ignored: `:1` replies, no
/// new peer, no epoch change, no panic. This is stricter than redis-sentinel 7.0.15, which parses the
/// numeric fields with atoi/strtoull and so adds a sentinel at port 0 (or 70000) for a non-numeric port and
/// jumps to epoch 2^64-1 on an overflowing one: a `VEDETTE_IT_SUBJECT=redis-sentinel` run fails here.
#[test]
fn malformed_hellos_are_ignored() {
    // The peer is a subject too: a real redis-sentinel on the same channel accepts several of these
    // payloads (atoi/strtoull: port "abc" -> 0, epoch overflow -> 2^64-1) and would then legitimately pass
    // the poisoned epoch on to the subject.
    let mut c = Cluster::start(&[Flavor::subject(), Flavor::subject()], 1, 2, 5000);
    c.wait_mesh(&c.replica_set(), Duration::from_secs(15));
    let s = &c.sentinels[0];
    let before = sentinels_of(s.port);
    let epoch_before = master_num(s, "config-epoch");
    let mport = c.topo.master.port;
    let fake_id = "f00dfacef00dfacef00dfacef00dfacef00dface";
    let junk = junk_hellos(free_port(), fake_id, mport);

    let t0 = Instant::now();
    // 1. On the monitored master's channel: textual ones through redis-cli, all of them over raw RESP
    //    (redis-cli cannot pass NUL bytes or a 1 MB argument).
    for j in &junk {
        if j.len() < 10_000 && !j.iter().any(|&b| b == 0 || b >= 0x80 || b == b'\n') {
            let text = String::from_utf8_lossy(j).into_owned();
            let out = redis_cli(mport, &["PUBLISH", HELLO, &text]);
            assert!(
                out.parse::<u64>().is_ok(),
                "redis-cli PUBLISH answered {out:?}"
            );
        }
    }
    let mut m = RespConn::connect(mport).unwrap_or_else(|e| panic!("connect master: {e}"));
    for (i, j) in junk.iter().enumerate() {
        let r = m.cmd(&[b"PUBLISH".as_slice(), HELLO.as_bytes(), j.as_slice()]);
        assert!(
            matches!(r, Value::Int(_)),
            "master PUBLISH junk #{i}: {r:?}"
        );
    }
    // 2. Directly to the subject: always `:1`, and it keeps answering after each one.
    let mut conn = s.conn();
    for (i, j) in junk.iter().enumerate() {
        let r = conn.cmd(&[b"PUBLISH".as_slice(), HELLO.as_bytes(), j.as_slice()]);
        assert_eq!(r, Value::Int(1), "junk #{i} ({} bytes)", j.len());
        assert_eq!(
            conn.cmd(&["PING"]),
            Value::Status("PONG".into()),
            "after junk #{i}"
        );
    }

    // The peer's hellos go through the same master channel after our junk; once one sent after the junk
    // has been processed (last-hello-message younger than the time since), the junk has been too.
    let junk_done = t0.elapsed();
    wait_until(
        Duration::from_secs(10),
        "a peer hello processed after the junk",
        || {
            let Ok(v) = resp::call(s.port, &["SENTINEL", "SENTINELS", MASTER]) else {
                return false;
            };
            let age = v
                .items()
                .and_then(|i| {
                    i.iter()
                        .find(|e| e.field("runid").as_deref() == Some(c.ids[1].as_str()))
                })
                .and_then(|e| e.field("last-hello-message"))
                .and_then(|a| a.parse::<u128>().ok());
            age.is_some_and(|a| a + 50 < (t0.elapsed() - junk_done).as_millis())
        },
    );
    assert!(pongs(s.port), "subject stopped answering");
    assert!(c.sentinels[0].exited().is_none(), "subject exited");
    let s = &c.sentinels[0];
    assert_eq!(sentinels_of(s.port), before, "peer list changed");
    assert_eq!(
        master_num(s, "config-epoch"),
        epoch_before,
        "config epoch changed"
    );
    let t1 = Instant::now();
    wait_until(
        Duration::from_secs(10),
        "subject hello after the junk with current epoch 0",
        || {
            c.hellos
                .last(&c.ids[0], t1)
                .is_some_and(|h| h.current_epoch == 0)
        },
    );
    let log = fs::read_to_string(s.log_path()).unwrap_or_default();
    assert!(
        !log.contains("panicked"),
        "log has a panic:\n{}",
        s.log_tail(40)
    );
    // The other subject was not confused either (it saw the same channel).
    assert_eq!(
        sentinels_of(c.sentinels[1].port),
        Some(BTreeSet::from([c.peer(0)]))
    );
}

// ---------------------------------------------------------------------------------------------------------
// SENTINEL RESET / MONITOR / SET / REMOVE / INFO-CACHE / CKQUORUM

#[test]
fn reset_empties_and_repopulates() {
    let c = Cluster::start(&[Flavor::Redis, Flavor::subject()], 2, 2, 5000);
    let reps = c.replica_set();
    c.wait_mesh(&reps, Duration::from_secs(15));
    let pair = Pair::new(c.sentinels[0].port, c.sentinels[1].port);
    pair.check_with(&["SENTINEL", "RESET", "nomatch*"], Opts::exact());
    pair.check_with(&["SENTINEL", "RESET", "MYMASTER"], Opts::exact());
    let s = &c.sentinels[1];
    let mut conn = s.conn();
    let t0 = Instant::now();
    assert_eq!(conn.cmd(&["SENTINEL", "RESET", MASTER]), Value::Int(1));
    assert_eq!(
        conn.cmd(&["SENTINEL", "REPLICAS", MASTER]),
        Value::Array(vec![])
    );
    assert_eq!(
        conn.cmd(&["SENTINEL", "SENTINELS", MASTER]),
        Value::Array(vec![])
    );
    let m = conn.cmd(&["SENTINEL", "MASTER", MASTER]);
    assert_eq!(m.field("num-slaves").as_deref(), Some("0"), "{m:?}");
    assert_eq!(
        m.field("num-other-sentinels").as_deref(),
        Some("0"),
        "{m:?}"
    );
    // Replicas come back with the next INFO (info_refresh is not cleared by a reset, in redis-sentinel
    // either: up to info-period = 10 s), sentinels with the next hello (2 s).
    let (mut t_reps, mut t_sent) = (None, None);
    wait_until(
        Duration::from_secs(15),
        "replicas and sentinels back after RESET",
        || {
            if t_reps.is_none() && replica_ports(s.port).as_ref() == Some(&reps) {
                t_reps = Some(t0.elapsed());
            }
            if t_sent.is_none() && sentinels_of(s.port).is_some_and(|p| p.len() == 1) {
                t_sent = Some(t0.elapsed());
            }
            t_reps.is_some() && t_sent.is_some()
        },
    );
    c.wait_mesh(&reps, Duration::from_secs(15));
    eprintln!(
        "RESET: replicas back after {t_reps:?}, sentinels after {t_sent:?}, full mesh after {:?}",
        t0.elapsed()
    );
    // Pattern match, on both: `my*` resets one master.
    let t1 = Instant::now();
    pair.check_with(&["SENTINEL", "RESET", "my*"], Opts::exact().resp2());
    c.wait_mesh(&reps, Duration::from_secs(15));
    eprintln!("RESET my* on both: repopulated after {:?}", t1.elapsed());
    assert_replicas_agree(c.sentinels[0].port, s.port, Duration::from_secs(10));
}

#[test]
fn monitor_set_remove_flow() {
    let topo = Topology::start(1);
    let mport = topo.master.port;
    let ms = mport.to_string();
    let conf = SentinelConf::new();
    let reference = Sentinel::redis(conf.clone());
    let subject = Sentinel::subject(conf.on_new_port());
    let (er, es) = (reference.events(), subject.events());
    let pair = Pair::new(reference.port, subject.port);
    let mut s = pair.session(2);
    let name = "m2";
    s.check_with(
        &["SENTINEL", "MONITOR", name, "127.0.0.1", &ms, "2"],
        Opts::exact(),
    );
    s.check_with(
        &["SENTINEL", "MONITOR", name, "127.0.0.1", &ms, "2"],
        Opts::exact(),
    );
    s.check_with(
        &["SENTINEL", "MONITOR", "m3", "127.0.0.1", &ms, "0"],
        Opts::exact(),
    );
    s.check_with(
        &["SENTINEL", "MONITOR", "m3", "127.0.0.1", "x", "2"],
        Opts::exact(),
    );
    s.check_with(
        &["SENTINEL", "MONITOR", "m3", "not-an-ip", &ms, "2"],
        Opts::exact(),
    );
    reference.wait_settled(name, 1, Some(1));
    subject.wait_settled(name, 1, Some(1));
    s.check_with(
        &[
            "SENTINEL",
            "SET",
            name,
            "down-after-milliseconds",
            "1234",
            "failover-timeout",
            "23456",
            "parallel-syncs",
            "2",
            "quorum",
            "1",
        ],
        Opts::exact(),
    );
    for bad in [
        &["SENTINEL", "SET", name, "quorum", "0"][..],
        &["SENTINEL", "SET", name, "down-after-milliseconds", "abc"],
        &["SENTINEL", "SET", name, "parallel-syncs", "-1"],
        &["SENTINEL", "SET", name, "quorum"],
        &["SENTINEL", "SET", "nosuch", "quorum", "2"],
    ] {
        s.check_with(bad, Opts::exact());
    }
    s.check_with(
        &["SENTINEL", "MASTER", name],
        Opts::new().equal(&[
            "name",
            "ip",
            "port",
            "flags",
            "quorum",
            "down-after-milliseconds",
            "failover-timeout",
            "parallel-syncs",
            "num-slaves",
            "num-other-sentinels",
            "config-epoch",
        ]),
    );
    let text = fs::read_to_string(subject.conf_path()).unwrap_or_default();
    for w in [
        format!("sentinel monitor {name} 127.0.0.1 {mport} 1"),
        format!("sentinel down-after-milliseconds {name} 1234"),
        format!("sentinel failover-timeout {name} 23456"),
        format!("sentinel parallel-syncs {name} 2"),
    ] {
        assert!(
            text.lines().any(|l| l.trim() == w),
            "config lacks `{w}`:\n{text}"
        );
    }
    s.check_with(&["SENTINEL", "REMOVE", name], Opts::exact());
    s.check_with(&["SENTINEL", "MASTER", name], Opts::exact());
    s.check_with(&["SENTINEL", "REMOVE", name], Opts::exact());
    s.check_with(&["SENTINEL", "MASTERS"], Opts::exact());
    let text = fs::read_to_string(subject.conf_path()).unwrap_or_default();
    assert!(
        !text
            .lines()
            .any(|l| l.split_whitespace().nth(2) == Some(name)),
        "config still mentions {name} after REMOVE:\n{text}"
    );
    // The same admin events, with the same payloads, in the same order.
    es.wait_for("-monitor", name, Duration::from_secs(5));
    er.wait_for("-monitor", name, Duration::from_secs(5));
    let admin = |e: &Events| -> Vec<(String, String)> {
        e.all()
            .into_iter()
            .filter(|e| ["+monitor", "-monitor", "+set"].contains(&e.channel.as_str()))
            .map(|e| (e.channel, e.payload))
            .collect()
    };
    let (a, b) = (admin(&er), admin(&es));
    assert_eq!(a, b, "admin events differ (redis-sentinel vs subject)");
    assert!(
        b.contains(&(
            "+monitor".to_string(),
            format!("master {name} 127.0.0.1 {mport} quorum 2")
        )),
        "{b:?}"
    );
}

#[test]
fn info_cache() {
    let c = Cluster::start(&[Flavor::Redis, Flavor::subject()], 2, 2, 5000);
    c.wait_mesh(&c.replica_set(), Duration::from_secs(15));
    let pair = Pair::new(c.sentinels[0].port, c.sentinels[1].port);
    let (_, v) = pair.check_with(&["SENTINEL", "INFO-CACHE", MASTER], Opts::structure());
    pair.check_with(&["SENTINEL", "INFO-CACHE", "nosuch"], Opts::exact());
    pair.check_with(
        &["SENTINEL", "INFO-CACHE", "nosuch", MASTER, MASTER],
        Opts::structure(),
    );
    pair.check_with(&["SENTINEL", "INFO-CACHE"], Opts::exact());
    // Content: [name, [[age, master INFO], [age, replica INFO], ...]].
    let items = v.items().unwrap_or_default();
    assert_eq!(items.len(), 2, "{v:?}");
    assert_eq!(items[0].as_str().as_deref(), Some(MASTER));
    let entries = items[1].items().unwrap_or_default();
    assert_eq!(entries.len(), 3, "{v:?}");
    let mut ports = BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        let e = e.items().unwrap_or_default();
        assert_eq!(e.len(), 2, "{e:?}");
        let age = e[0].as_int().unwrap_or(-1);
        assert!((0..12_000).contains(&age), "entry {i}: age {age}");
        let info = e[1].as_str().unwrap_or_default();
        let role = if i == 0 { "role:master" } else { "role:slave" };
        assert!(info.contains(role), "entry {i} lacks {role}");
        let port = crate::common::info_field(&info, "tcp_port").and_then(|p| p.parse::<u16>().ok());
        if i == 0 {
            assert_eq!(port, Some(c.topo.master.port));
        } else if let Some(p) = port {
            ports.insert(p);
        }
    }
    assert_eq!(ports, c.replica_set());
}

#[test]
fn ckquorum_texts_match_redis() {
    let mut c = Cluster::start(
        &[
            Flavor::Redis,
            Flavor::subject(),
            Flavor::Redis,
            Flavor::Redis,
        ],
        1,
        2,
        1000,
    );
    c.wait_mesh(&c.replica_set(), Duration::from_secs(20));
    let pair = Pair::new(c.sentinels[0].port, c.sentinels[1].port);
    let ck = ["SENTINEL", "CKQUORUM", MASTER];
    let (_, v) = pair.check_with(&ck, Opts::exact());
    assert_eq!(
        v,
        Value::Status(
            "OK 4 usable Sentinels. Quorum and failover authorization can be reached".into()
        )
    );
    pair.check_with(&["SENTINEL", "CKQUORUM", "nosuch"], Opts::exact());
    pair.check_with(
        &["SENTINEL", "SET", MASTER, "quorum", "5"],
        Opts::exact().resp2(),
    );
    pair.check_with(&ck, Opts::exact());

    // Two of the four down: 2 usable of 4 voters, majority 3.
    let victims: Vec<Peer> = vec![c.peer(2), c.peer(3)];
    c.sentinels[2].kill();
    c.sentinels[3].kill();
    for s in &c.sentinels[..2] {
        wait_until(
            Duration::from_secs(10),
            format!(
                "{:?}:{} to see both killed sentinels S_DOWN",
                s.flavor, s.port
            ),
            || {
                let Ok(v) = resp::call(s.port, &["SENTINEL", "SENTINELS", MASTER]) else {
                    return false;
                };
                let down: BTreeMap<String, bool> = v
                    .items()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|e| Some((e.field("runid")?, e.field("flags")?.contains("s_down"))))
                    .collect();
                victims.iter().all(|p| down.get(&p.runid) == Some(&true))
            },
        );
    }
    let (_, v) = pair.check_with(&ck, Opts::exact());
    assert_eq!(
        v,
        Value::Error(
            "NOQUORUM 2 usable Sentinels. Not enough available Sentinels to reach the specified quorum \
             for this master. Not enough available Sentinels to reach the majority and authorize a failover"
                .into()
        )
    );
    pair.check_with(
        &["SENTINEL", "SET", MASTER, "quorum", "2"],
        Opts::exact().resp2(),
    );
    pair.check_with(&ck, Opts::exact());
}

/// A burst of events longer than one delivery batch of a subscriber's session (256 messages) arrives
/// whole: a batch used to take one message more off the queue than it encoded, so every subscriber lost
/// the same event per batch (seen as missing `+switch-master` messages in a 1000-master storm).
#[test]
fn a_burst_of_events_reaches_a_subscriber_whole() {
    const N: usize = 1000;
    let redis = crate::common::RedisServer::start();
    let s = Sentinel::subject(SentinelConf::new());
    let mut pipeline = Vec::new();
    let port = redis.port.to_string();
    for i in 0..N {
        let name = format!("burst{i}");
        pipeline.extend(resp::encode_command(&[
            "SENTINEL",
            "MONITOR",
            &name,
            "127.0.0.1",
            &port,
            "1",
        ]));
    }
    let mut c = RespConn::connect(s.port).expect("client");
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    c.send_raw(&pipeline).expect("pipeline");
    for i in 0..N {
        let r = c.read().expect("MONITOR reply");
        assert_eq!(r.as_str().as_deref(), Some("OK"), "MONITOR {i}: {r:?}");
    }
    let mut sub = RespConn::connect(s.port).expect("subscriber");
    sub.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    sub.send(&["PSUBSCRIBE", "+reset-master"])
        .expect("psubscribe");
    sub.read().expect("psubscribe confirmation");
    // One command publishes N events at once: they queue up for the subscriber in one go.
    assert_eq!(
        c.cmd(&["SENTINEL", "RESET", "burst*"]),
        Value::Int(N as i64)
    );
    let mut got = BTreeSet::new();
    while got.len() < N {
        let v = sub
            .read()
            .unwrap_or_else(|e| panic!("after {} of {N} +reset-master messages: {e}", got.len()));
        let texts: Vec<String> = v
            .items()
            .map(|i| i.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if texts.first().map(String::as_str) == Some("pmessage") && texts.len() == 4 {
            let name = texts[3].split(' ').nth(1).unwrap_or_default().to_string();
            assert!(got.insert(name.clone()), "+reset-master for {name} twice");
        }
    }
    assert_eq!(got.len(), N);
}

//! Failover fixtures (Step 3): a master with replicas watched by several sentinels of any mix of flavors, with
//! every sentinel's events recorded from the start, plus a sequenced writer that follows the master through
//! `SENTINEL GET-MASTER-ADDR-BY-NAME` and counts only writes that reached a replica (`WAIT 1 100`).
//!
//! Set `VEDETTE_IT_TIMELINE=1` to print every sentinel's event timeline after each checked failover.
//!
//! Kept out of `common` on purpose (another helper owns it); everything here builds on `common`'s
//! process fixtures, so processes are still killed by PID on drop and logs are printed when a test panics.

#![allow(dead_code)] // Each failover test module uses a different subset.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::{
    resp, wait_until, Event, Events, Flavor, RedisServer, RespConn, Sentinel, SentinelConf, Value,
    MASTER,
};

/// `down-after-milliseconds` used by every failover test (as the issue asks).
pub const DOWN_AFTER_MS: u64 = 1000;
/// `failover-timeout` used by every failover test.
pub const FAILOVER_TIMEOUT_MS: u64 = 10_000;
/// Upper bound for one failover to complete everywhere (kill → every sentinel switched). The expected figure
/// is ~1–2 s, but a split vote (several sentinels start an attempt in the same epoch at the same moment,
/// which happens with real redis-sentinels) is only retried 2 × failover-timeout = 20 s later, so one split
/// vote must fit.
pub const FAILOVER_DEADLINE: Duration = Duration::from_secs(45);

/// True when the tests run against vedette (not `VEDETTE_IT_SUBJECT=redis-sentinel`): vedette-specific
/// timing assertions (e.g. immediate demotion of a returning master) only apply then.
pub fn subject_is_vedette() -> bool {
    Flavor::subject() == Flavor::Vedette
}

/// `redis-sentinel` / `vedette`.
pub fn flavor_name(f: Flavor) -> &'static str {
    match f {
        Flavor::Redis => "redis-sentinel",
        Flavor::Vedette => "vedette",
    }
}

/// What to start.
pub struct Spec {
    /// One sentinel per entry.
    pub flavors: Vec<Flavor>,
    /// `replica-priority` of each replica (one replica per entry). The master gets priority 100.
    pub priorities: Vec<u32>,
    /// Quorum in `sentinel monitor`.
    pub quorum: u32,
    /// Extra `sentinel.conf` lines for every sentinel (appended after the monitor block).
    pub lines: Vec<String>,
    /// Extra lines for single sentinels: `(index, line)`.
    pub own_lines: Vec<(usize, String)>,
    /// Wait until every sentinel sees all others (hellos) before returning.
    pub wait_peers: bool,
}

impl Spec {
    /// Sentinels of `flavors`, replicas with `priorities`, quorum 2.
    pub fn new(flavors: &[Flavor], priorities: &[u32]) -> Spec {
        Spec {
            flavors: flavors.to_vec(),
            priorities: priorities.to_vec(),
            quorum: 2,
            lines: Vec::new(),
            own_lines: Vec::new(),
            wait_peers: true,
        }
    }

    /// `n` sentinels of the implementation under test (vedette, unless `VEDETTE_IT_SUBJECT=redis-sentinel`
    /// validates the tests against the real thing).
    pub fn vedettes(n: usize, priorities: &[u32]) -> Spec {
        Spec::new(&vec![Flavor::subject(); n], priorities)
    }

    /// Give sentinel `i` a fixed run id (`sentinel myid`), e.g. to decide who ranks first.
    pub fn myid(mut self, i: usize, id: &str) -> Spec {
        self.own_lines.push((i, format!("sentinel myid {id}")));
        self
    }

    /// Change the quorum.
    pub fn quorum(mut self, q: u32) -> Spec {
        self.quorum = q;
        self
    }
}

/// A master + replicas (`servers[0]` is the initial master) and the sentinels watching them.
///
/// Field order is drop order: subscriptions close first, then sentinels die, then the servers.
pub struct Cluster {
    /// Events of `sentinels[i]`, recorded since the cluster settled.
    pub events: Vec<Events>,
    /// The sentinels.
    pub sentinels: Vec<Sentinel>,
    /// `servers[0]` started as the master, the others as its replicas.
    pub servers: Vec<RedisServer>,
}

impl Cluster {
    /// Start everything and wait until every sentinel sees the master healthy with all replicas (and, if
    /// `spec.wait_peers`, all other sentinels). Events are recorded from then on.
    pub fn start(spec: Spec) -> Cluster {
        let master = RedisServer::start_with(None, &["--replica-priority", "100"]);
        let mut servers = vec![master];
        for p in &spec.priorities {
            let p = p.to_string();
            servers.push(RedisServer::start_with(
                Some(servers[0].port),
                &["--replica-priority", &p],
            ));
        }
        for r in &servers[1..] {
            wait_until(
                Duration::from_secs(20),
                format!("replica {} linked to master {}", r.port, servers[0].port),
                || r.info_field("replication", "master_link_status").as_deref() == Some("up"),
            );
        }
        let mut conf = SentinelConf::new()
            .monitor(MASTER, servers[0].port, spec.quorum)
            .down_after(DOWN_AFTER_MS)
            .failover_timeout(FAILOVER_TIMEOUT_MS);
        for l in &spec.lines {
            conf = conf.line(l);
        }
        let sentinels: Vec<Sentinel> = spec
            .flavors
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut c = if i == 0 {
                    conf.clone()
                } else {
                    conf.on_new_port()
                };
                for (_, l) in spec.own_lines.iter().filter(|(j, _)| *j == i) {
                    c = c.line(l);
                }
                Sentinel::start(*f, c)
            })
            .collect();
        // As Redis's own test-suite does (init-tests.tcl): a stalled test machine (2 s without a tick) puts
        // sentinels in TILT, which freezes failovers for tilt-period; keep that short.
        for s in &sentinels {
            let r = s.cmd(&["SENTINEL", "DEBUG", "tilt-period", "5000"]);
            assert_eq!(
                r,
                Value::Status("OK".into()),
                "SENTINEL DEBUG tilt-period on {}",
                s.port
            );
        }
        let peers = spec.wait_peers.then(|| sentinels.len() - 1);
        for s in &sentinels {
            s.wait_settled(MASTER, spec.priorities.len(), peers);
        }
        let events = sentinels.iter().map(Sentinel::events).collect();
        Cluster {
            events,
            sentinels,
            servers,
        }
    }

    /// Port of `servers[i]`.
    pub fn port(&self, i: usize) -> u16 {
        self.servers[i].port
    }

    /// Index of the server listening on `port`.
    pub fn index_of(&self, port: u16) -> usize {
        self.servers
            .iter()
            .position(|s| s.port == port)
            .unwrap_or_else(|| panic!("no server on port {port}"))
    }

    /// Ports of all sentinels.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|s| s.port).collect()
    }

    /// Indexes of the sentinels whose process runs.
    pub fn live(&self) -> Vec<usize> {
        (0..self.sentinels.len())
            .filter(|&i| self.sentinels[i].pid().is_some())
            .collect()
    }

    /// `flavor:port` of sentinel `i`.
    pub fn sname(&self, i: usize) -> String {
        format!(
            "{}:{}",
            flavor_name(self.sentinels[i].flavor),
            self.sentinels[i].port
        )
    }

    /// Events of sentinel `i` on `channel`.
    pub fn on(&self, i: usize, channel: &str) -> Vec<Event> {
        self.events[i]
            .all()
            .into_iter()
            .filter(|e| e.channel == channel)
            .collect()
    }

    /// Number of `channel` events per sentinel.
    pub fn counts(&self, channel: &str) -> Vec<usize> {
        (0..self.events.len())
            .map(|i| self.on(i, channel).len())
            .collect()
    }

    /// Number of `channel` events over all sentinels.
    pub fn total(&self, channel: &str) -> usize {
        self.counts(channel).iter().sum()
    }

    /// Indexes of the sentinels that published `channel` at least once.
    pub fn who(&self, channel: &str) -> Vec<usize> {
        (0..self.events.len())
            .filter(|&i| !self.on(i, channel).is_empty())
            .collect()
    }

    /// Earliest `channel` event over all sentinels at or after `t`.
    pub fn first_after(&self, channel: &str, t: Instant) -> Option<Instant> {
        (0..self.events.len())
            .flat_map(|i| self.on(i, channel))
            .map(|e| e.at)
            .filter(|at| *at >= t)
            .min()
    }

    /// Every sentinel's events, for failure messages.
    pub fn render_events(&self) -> String {
        let mut s = String::new();
        for (i, ev) in self.events.iter().enumerate() {
            let _ = writeln!(s, "--- events of {} ---\n{}", self.sname(i), ev.render());
        }
        s
    }

    /// Every sentinel's events recorded at or after `t` (times relative to `t`), for reports on slow runs.
    pub fn render_events_since(&self, t: Instant) -> String {
        let mut s = String::new();
        for (i, ev) in self.events.iter().enumerate() {
            let _ = writeln!(s, "--- events of {} ---", self.sname(i));
            for e in ev.all().iter().filter(|e| e.at >= t) {
                let _ = writeln!(
                    s,
                    "  +{}ms {} {}",
                    (e.at - t).as_millis(),
                    e.channel,
                    e.payload
                );
            }
        }
        s
    }

    /// The last `n` log lines of every sentinel that mention the election or the failover.
    pub fn log_tails(&self, n: usize) -> String {
        const WORDS: &[&str] = &[
            "vote",
            "epoch",
            "leader",
            "failover",
            "elect",
            "abort",
            "is-master-down",
            "tilt",
        ];
        let mut s = String::new();
        for (i, sen) in self.sentinels.iter().enumerate() {
            let all = sen.log_tail(usize::MAX);
            let hits: Vec<&str> = all
                .lines()
                .filter(|l| {
                    let l = l.to_ascii_lowercase();
                    WORDS.iter().any(|w| l.contains(w))
                })
                .collect();
            let _ = writeln!(
                s,
                "--- log of {} (election/failover lines) ---\n{}",
                self.sname(i),
                hits[hits.len().saturating_sub(n)..].join("\n")
            );
        }
        s
    }

    /// Panic with `msg` and every sentinel's events.
    #[track_caller]
    pub fn fail(&self, msg: impl std::fmt::Display) -> ! {
        let tilt = if self.total("+tilt") > 0 {
            "\nNOTE: a sentinel entered TILT: the test machine stalled for > 2 s (overloaded?)"
        } else {
            ""
        };
        panic!("{msg}{tilt}\n{}", self.render_events())
    }

    /// Wait until every live sentinel has published at least `n` `channel` events.
    #[track_caller]
    pub fn wait_counts(&self, channel: &str, n: usize, timeout: Duration) {
        let start = Instant::now();
        loop {
            let counts = self.counts(channel);
            if self.live().iter().all(|&i| counts[i] >= n) {
                return;
            }
            if start.elapsed() > timeout {
                self.fail(format!(
                    "timed out after {timeout:?}: want ≥{n} `{channel}` on every live sentinel, have {counts:?}"
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until every live sentinel answers GET-MASTER-ADDR-BY-NAME with `port`.
    #[track_caller]
    pub fn wait_master_everywhere(&self, port: u16, timeout: Duration) {
        let start = Instant::now();
        loop {
            let seen: Vec<Option<u16>> = self
                .live()
                .iter()
                .map(|&i| self.sentinels[i].master_port(MASTER))
                .collect();
            if seen.iter().all(|p| *p == Some(port)) {
                return;
            }
            if start.elapsed() > timeout {
                self.fail(format!(
                    "timed out after {timeout:?}: want every sentinel to report master port {port}, have {seen:?}"
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `config-epoch` of `SENTINEL MASTER` on every live sentinel.
    pub fn config_epochs(&self) -> Vec<Option<u64>> {
        self.live()
            .iter()
            .map(|&i| {
                self.sentinels[i]
                    .master_field(MASTER, "config-epoch")
                    .and_then(|v| v.parse().ok())
            })
            .collect()
    }

    /// Wait until every live sentinel reports the same config epoch; returns it.
    #[track_caller]
    pub fn wait_same_config_epoch(&self, timeout: Duration) -> u64 {
        let start = Instant::now();
        loop {
            let e = self.config_epochs();
            if let Some(Some(first)) = e.first() {
                if e.iter().all(|x| *x == Some(*first)) {
                    return *first;
                }
            }
            if start.elapsed() > timeout {
                self.fail(format!(
                    "timed out after {timeout:?}: config epochs differ: {e:?}"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until `servers[i]` replicates from `master_port` with the link up; returns how long it took.
    #[track_caller]
    pub fn wait_replica_of(&self, i: usize, master_port: u16, timeout: Duration) -> Duration {
        let start = Instant::now();
        let s = &self.servers[i];
        loop {
            let info = resp::call(s.port, &["INFO", "replication"])
                .ok()
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let f = |k: &str| crate::common::info_field(&info, k);
            if f("role").as_deref() == Some("slave")
                && f("master_port") == Some(master_port.to_string())
                && f("master_link_status").as_deref() == Some("up")
            {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                self.fail(format!(
                    "timed out after {timeout:?}: server {} should replicate from {master_port} with link up; \
                     INFO replication:\n{info}",
                    s.port
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait until every live sentinel sees `n` healthy replicas of a healthy master.
    pub fn wait_settled(&self, n: usize) {
        for i in self.live() {
            self.sentinels[i].wait_settled(MASTER, n, None);
        }
    }

    /// Assert for `d` that no live sentinel's `channel` count changes from `expect` (per sentinel) and
    /// that the overall `+elected-leader` count stays at `leaders`.
    #[track_caller]
    pub fn watch_quiet(&self, d: Duration, channel: &str, expect: &[usize], leaders: usize) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            let c = self.counts(channel);
            if c != expect {
                self.fail(format!(
                    "`{channel}` counts changed while watching: want {expect:?}, have {c:?}"
                ));
            }
            let l = self.total("+elected-leader");
            if l != leaders {
                self.fail(format!(
                    "+elected-leader total changed while watching: want {leaders}, have {l}"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.render_events());
        }
    }
}

/// The `+switch-master` payload for a switch from `from` to `to`.
pub fn switch_payload(from: u16, to: u16) -> String {
    format!("{MASTER} 127.0.0.1 {from} 127.0.0.1 {to}")
}

/// Send `SENTINEL FAILOVER mymaster` to `port` until it answers OK, tolerating `-NOGOODSLAVE` (as Redis's
/// 05-manual test does). Returns the final reply; panics on any other error or after `timeout`.
#[track_caller]
pub fn failover_until_ok(port: u16, timeout: Duration) -> Value {
    let start = Instant::now();
    loop {
        let v = resp::call(port, &["SENTINEL", "FAILOVER", MASTER])
            .unwrap_or_else(|e| panic!("SENTINEL FAILOVER on {port}: {e}"));
        match &v {
            Value::Status(s) if s == "OK" => return v,
            Value::Error(e) if e.starts_with("NOGOODSLAVE") => {}
            other => panic!("SENTINEL FAILOVER on {port} answered {other:?}"),
        }
        if start.elapsed() > timeout {
            panic!("SENTINEL FAILOVER on {port} still -NOGOODSLAVE after {timeout:?}");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Sequenced writer

/// One acknowledged write.
#[derive(Clone, Copy, Debug)]
pub struct Ack {
    /// Sequence number (key `seq:<n>` holds `<n>`).
    pub n: u64,
    /// When WAIT returned.
    pub at: Instant,
    /// Port of the master that took it.
    pub port: u16,
}

/// Everything the writer recorded.
#[derive(Default)]
struct WriterLog {
    acked: Vec<Ack>,
    /// Writes that the master accepted but WAIT did not confirm (may legitimately be lost).
    unconfirmed: u64,
    errors: u64,
    last_error: String,
}

/// Writes `SET seq:<n> <n>` + `WAIT 1 100` in a loop to whatever the sentinels report as master (asking them
/// in turn), about 100 writes per second. Only writes WAIT confirmed on ≥ 1 replica count as acknowledged.
pub struct SeqWriter {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<WriterLog>>,
    thread: Option<JoinHandle<()>>,
}

impl SeqWriter {
    /// Start writing; `sentinels` are the ports to ask for the master.
    pub fn start(sentinels: Vec<u16>) -> SeqWriter {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(WriterLog::default()));
        let (stop2, log2) = (Arc::clone(&stop), Arc::clone(&log));
        let thread = thread::spawn(move || writer_loop(&sentinels, &stop2, &log2));
        SeqWriter {
            stop,
            log,
            thread: Some(thread),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&WriterLog) -> T) -> T {
        f(&self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// All acknowledged writes so far.
    pub fn acked(&self) -> Vec<Ack> {
        self.with(|l| l.acked.clone())
    }

    /// Last acknowledged write.
    pub fn last_ack(&self) -> Option<Ack> {
        self.with(|l| l.acked.last().copied())
    }

    /// `(unconfirmed writes, errors, last error)`.
    pub fn stats(&self) -> (u64, u64, String) {
        self.with(|l| (l.unconfirmed, l.errors, l.last_error.clone()))
    }

    /// Wait until a write after `t` is acknowledged by the server on `port`; returns it.
    #[track_caller]
    pub fn wait_ack_after(&self, t: Instant, port: u16, timeout: Duration) -> Ack {
        let start = Instant::now();
        loop {
            let found = self.with(|l| {
                l.acked
                    .iter()
                    .find(|a| a.at >= t && a.port == port)
                    .copied()
            });
            if let Some(a) = found {
                return a;
            }
            if start.elapsed() > timeout {
                let (u, e, last) = self.stats();
                panic!(
                    "writer: no acknowledged write on port {port} within {timeout:?} \
                     (unconfirmed {u}, errors {e}, last error {last:?}, last ack {:?})",
                    self.last_ack()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The writer's outage caused by a failover at `t` to the master on `new`: from the last write
    /// acknowledged by another server to the first acknowledged by `new` after `t`.
    pub fn outage_around(&self, t: Instant, new: u16) -> Option<Duration> {
        self.with(|l| {
            let after = l.acked.iter().find(|a| a.at >= t && a.port == new)?;
            let before = l
                .acked
                .iter()
                .rev()
                .find(|a| a.at < after.at && a.port != new)?;
            Some(after.at - before.at)
        })
    }

    /// Stop the writer thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SeqWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

fn writer_loop(sentinels: &[u16], stop: &AtomicBool, log: &Mutex<WriterLog>) {
    let mut n: u64 = 0;
    let mut ask = 0usize;
    let mut conn: Option<(u16, RespConn)> = None;
    let err = |msg: String| {
        let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
        l.errors += 1;
        l.last_error = msg;
    };
    while !stop.load(Ordering::Relaxed) {
        if conn.is_none() {
            ask = (ask + 1) % sentinels.len();
            let port = resp::call(
                sentinels[ask],
                &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER],
            )
            .ok()
            .and_then(|v| v.items()?.get(1)?.as_str()?.parse::<u16>().ok());
            conn = port.and_then(|p| {
                let c = RespConn::connect(p).ok()?;
                c.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
                Some((p, c))
            });
            if conn.is_none() {
                thread::sleep(Duration::from_millis(20));
                continue;
            }
        }
        let Some((port, c)) = conn.as_mut() else {
            continue;
        };
        let port = *port;
        n += 1;
        let key = format!("seq:{n}");
        let val = n.to_string();
        match c.call(&["SET", key.as_str(), val.as_str()]) {
            Ok(Value::Status(s)) if s == "OK" => {}
            Ok(other) => {
                err(format!("SET on {port}: {other:?}"));
                conn = None;
                continue;
            }
            Err(e) => {
                err(format!("SET on {port}: {e}"));
                conn = None;
                continue;
            }
        }
        match c.call(&["WAIT", "1", "100"]) {
            Ok(Value::Int(k)) if k >= 1 => {
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .acked
                    .push(Ack {
                        n,
                        at: Instant::now(),
                        port,
                    });
            }
            Ok(Value::Int(_)) => {
                log.lock().unwrap_or_else(|e| e.into_inner()).unconfirmed += 1;
            }
            Ok(other) => {
                err(format!("WAIT on {port}: {other:?}"));
                conn = None;
                continue;
            }
            Err(e) => {
                err(format!("WAIT on {port}: {e}"));
                conn = None;
                continue;
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The acknowledged writes missing on the server at `port` (checked with MGET in batches).
pub fn missing_writes(port: u16, acked: &[Ack]) -> Vec<u64> {
    let mut c = RespConn::connect(port).unwrap_or_else(|e| panic!("connect {port}: {e}"));
    let mut missing = Vec::new();
    for chunk in acked.chunks(500) {
        let mut args = vec!["MGET".to_string()];
        args.extend(chunk.iter().map(|a| format!("seq:{}", a.n)));
        let v = c.cmd(&args);
        let items = v
            .items()
            .unwrap_or_else(|| panic!("MGET on {port} answered {v:?}"));
        for (a, item) in chunk.iter().zip(items) {
            if item.as_str() != Some(a.n.to_string()) {
                missing.push(a.n);
            }
        }
    }
    missing
}

/// Wait until `servers[i]` says `role:slave` with `master_port` in INFO (link state not required); returns
/// how long it took. Polls every 5 ms so sub-second reaction times can be measured.
#[track_caller]
pub fn wait_role_slave(c: &Cluster, i: usize, master_port: u16, timeout: Duration) -> Duration {
    let start = Instant::now();
    let port = c.servers[i].port;
    loop {
        let info = resp::call(port, &["INFO", "replication"])
            .ok()
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let f = |k: &str| crate::common::info_field(&info, k);
        if f("role").as_deref() == Some("slave")
            && f("master_port") == Some(master_port.to_string())
        {
            return start.elapsed();
        }
        if start.elapsed() > timeout {
            c.fail(format!(
                "timed out after {timeout:?}: server {port} should be a replica of {master_port}; \
                 INFO replication:\n{info}"
            ));
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// After the master on `old` went away at `t`: wait until every live sentinel switched to `new`, and check it
/// was exactly one failover: one `+switch-master` (with the right payload) per sentinel, one
/// `+elected-leader` and one `+promoted-slave` (of `new`) overall, the leader's epoch is the config epoch
/// everybody ends up with, and every sentinel answers GET-MASTER-ADDR-BY-NAME with `new`.
/// Returns (time from `t` to the first `+switch-master`, index of the leader).
#[track_caller]
pub fn assert_single_failover(c: &Cluster, t: Instant, old: u16, new: u16) -> (Duration, usize) {
    c.wait_counts("+switch-master", 1, FAILOVER_DEADLINE);
    let first = c
        .first_after("+switch-master", t)
        .unwrap_or_else(|| c.fail("+switch-master recorded before the master went down?"));
    let want = switch_payload(old, new);
    for i in c.live() {
        let sw = c.on(i, "+switch-master");
        if sw.len() != 1 || sw[0].payload != want {
            c.fail(format!(
                "{}: want exactly one `+switch-master {want}`, have {:?}",
                c.sname(i),
                sw.iter().map(|e| &e.payload).collect::<Vec<_>>()
            ));
        }
    }
    c.wait_master_everywhere(new, Duration::from_secs(10));
    let leaders = c.who("+elected-leader");
    if leaders.len() != 1 || c.total("+elected-leader") != 1 {
        c.fail(format!(
            "want exactly one +elected-leader overall, have {:?} (by {leaders:?})",
            c.counts("+elected-leader")
        ));
    }
    let leader = leaders[0];
    let promoted = format!("slave 127.0.0.1:{new} ");
    let p: Vec<Event> = (0..c.events.len())
        .flat_map(|i| c.on(i, "+promoted-slave"))
        .collect();
    if p.len() != 1 || !p[0].payload.starts_with(&promoted) {
        c.fail(format!(
            "want exactly one `+promoted-slave {promoted}…`, have {:?}",
            p.iter().map(|e| &e.payload).collect::<Vec<_>>()
        ));
    }
    // The epoch the leader was elected in: its last +new-epoch before +elected-leader.
    let elected_at = c.on(leader, "+elected-leader")[0].at;
    let epoch: Option<u64> = c
        .on(leader, "+new-epoch")
        .iter()
        .rfind(|e| e.at <= elected_at)
        .and_then(|e| e.payload.trim().parse().ok());
    let agreed = c.wait_same_config_epoch(Duration::from_secs(10));
    if epoch != Some(agreed) {
        c.fail(format!(
            "leader {} was elected in epoch {epoch:?} but the agreed config epoch is {agreed}",
            c.sname(leader)
        ));
    }
    if std::env::var_os("VEDETTE_IT_TIMELINE").is_some() {
        eprintln!("{}", c.render_events());
    }
    (first - t, leader)
}

//! Failover storm: one host carrying many masters dies at once. N masters (default 100), each a real
//! redis-server with its own replica (2 × N processes), are watched by 3 sentinels of one
//! implementation; once every sentinel is out of TILT and sees every master healthy at its original
//! address, every master server is SIGKILLed at once (one `kill(2)` of their process group). A master
//! counts as switched on a sentinel from the event after which that sentinel's
//! `get-master-addr-by-name` names the replica, as a client sees it: its `+switch-master` to the
//! replica, or on the failover's leader its `+promoted-slave` (see [`switches_to_replica`]),
//! timestamped when the bench's `PSUBSCRIBE *` connection receives it. A 1 Hz poll of the names not
//! seen switched backs the events up, and one `SENTINEL MASTERS` per sentinel checks the result at the
//! end. The sentinels are not polled fast: 1000 names × 3 sentinels asked every 50 ms would be 60,000
//! queries a second added to the load under test. The
//! events also give the timeline (when every master was `+sdown` / `+odown` / elected / promoted),
//! whether any master was switched twice (a spurious second failover) and how many elections were lost
//! (`-failover-abort-not-elected`); and, since the bench subscribes as soon as the sentinels answer,
//! whether the cluster flapped (`+sdown` of a master) or failed over before the kill, which voids a run.
//!
//! Scale: 1000 masters mean 2000 redis-servers and 12,000 sentinel links on one machine. By default
//! every master keeps its own process and replica (`--storm-servers` deals the names over fewer servers,
//! whose names then share one replica, so each of their failovers promotes the same server); the
//! servers are started all at once and waited for together. Storms of more than [`LARGE_ABOVE`]
//! masters run their servers with [`LARGE_ARGS`] (`hz 1` and a small backlog): that is the fixture's
//! own load, the same for both implementations, not the sentinel under test. Ports are kept between
//! runs ([`storm_ports`]): the fixture never hands a port out twice, and 2003 ports per run would
//! exhaust its range after six runs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::client;
use crate::cluster::{self, Timings};
use crate::failover::{ms_since, subscriber, Event, Events, Tasks};
use crate::procs::{self, Bins, Impl, Proc, WorkDir};

/// The deadlines at which the switched masters are counted (seconds after the kill).
pub const MARKS_S: [u64; 6] = [1, 2, 3, 4, 5, 10];

/// Knobs of a storm run.
#[derive(Clone, Debug)]
pub struct StormOpts {
    pub masters: usize,
    /// Master redis-servers (each with one replica server) carrying the masters, names dealt round-robin
    /// (`m<i>` on server `i % servers`); 0 or ≥ `masters`: one server per master. A server carrying
    /// several names is several masters that share one replica, so each of their failovers promotes the
    /// same server.
    pub servers: usize,
    pub timings: Timings,
    /// From the kill until every master must be switched on every sentinel.
    pub timeout: Duration,
    /// How long to keep watching for spurious second switches after that.
    pub watch: Duration,
    pub keep: bool,
}

impl StormOpts {
    /// Master servers actually started.
    pub fn server_count(&self) -> usize {
        if self.servers == 0 || self.servers >= self.masters {
            self.masters
        } else {
            self.servers
        }
    }

    /// More than [`LARGE_ABOVE`] masters: the servers run with [`LARGE_ARGS`].
    pub fn large(&self) -> bool {
        self.masters > LARGE_ABOVE
    }
}

/// Storms of more masters than this run their redis-servers with [`LARGE_ARGS`] too (the 100-master
/// storm of Steps 6 and 7 keeps the plain servers its published figures were taken with).
pub const LARGE_ABOVE: usize = 100;

/// Every storm redis-server: persistence-free (the fixture adds `--save '' --appendonly no`), small.
pub const REDIS_ARGS: &[&str] = &["--maxmemory", "16mb", "--maxclients", "1000"];
/// Added for large storms — the fixture's load, not the sentinels': a 1 Hz server cron (2000 idle
/// servers at the default 10 Hz cost a whole core of a 2-core machine, ~0.3 core at 1 Hz) and the
/// smallest replication backlog. Neither is on a failover path: PING, INFO, the hello channel and
/// promotion (`REPLICAOF NO ONE`) are served by the event loop, and the replication cron runs once a
/// second at any hz.
pub const LARGE_ARGS: &[&str] = &["--hz", "1", "--repl-backlog-size", "16kb"];

/// Everything measured in one storm run. Times are milliseconds after the first SIGKILL.
#[derive(Clone, Debug, Serialize)]
pub struct StormResult {
    pub implementation: Impl,
    pub run: usize,
    pub masters: usize,
    /// Master redis-servers (as many replica servers again).
    pub servers: usize,
    pub error: Option<String>,
    /// `/proc/loadavg` when the run started.
    pub load_avg: String,
    /// Starting every process and waiting for every sentinel to see every master, replica and peer.
    pub settle_ms: Option<f64>,
    /// Of that: until every redis-server answered PING, every replica was linked, the sentinels were
    /// started, and every sentinel reported every master settled.
    pub servers_up_ms: Option<f64>,
    pub replicas_linked_ms: Option<f64>,
    pub sentinels_started_ms: Option<f64>,
    pub discovered_ms: Option<f64>,
    /// Master `+sdown` events from the sentinels' start until the kill, over all sentinels (a healthy
    /// fixture has none; thousands mean the machine could not keep up with the layout).
    pub settle_sdown: usize,
    /// (sentinel, master) switches with no `+switch-master` to the replica from that sentinel by the end
    /// of the watch: never published (a client waiting for the event would not learn of it), or, on a
    /// failover's leader still reconfiguring, not yet.
    pub missing_switch_events: usize,
    /// `+odown`, `+try-failover` and `+switch-master` events before the kill (the run is void if any).
    pub pre_kill_failover_events: usize,
    /// How long the one `kill(-pgid, SIGKILL)` of all master servers took.
    pub kill_spread_ms: Option<f64>,
    /// Every master `+sdown` on every sentinel (from the events).
    pub all_sdown_ms: Option<f64>,
    /// Every master `+odown` on some sentinel (per master the first, then the latest master).
    pub all_odown_ms: Option<f64>,
    /// Every master had an `+elected-leader`, `+promoted-slave` (per master the first).
    pub all_elected_ms: Option<f64>,
    pub all_promoted_ms: Option<f64>,
    /// First `+switch-master` event of any master on any sentinel.
    pub first_switch_ms: Option<f64>,
    /// Every sentinel published `+switch-master` for every master (the event-stream view of the next).
    pub all_switch_events_ms: Option<f64>,
    /// Every sentinel names every master's replica (`get-master-addr-by-name`; None: not within the
    /// timeout).
    pub all_switched_ms: Option<f64>,
    /// Median over masters of "switched on every sentinel".
    pub median_switched_ms: Option<f64>,
    /// Masters switched on every sentinel within each of [`MARKS_S`].
    pub switched_within: Vec<usize>,
    /// Masters not switched on every sentinel at the end.
    pub unswitched: usize,
    /// Masters with more than one `+switch-master` on some sentinel (spurious second failovers).
    pub spurious_masters: usize,
    /// `+switch-master` events beyond the first per (sentinel, master).
    pub extra_switches: usize,
    /// Switches to an address other than the master's replica.
    pub wrong_switches: usize,
    /// `+try-failover`, `+elected-leader` and `-failover-abort-not-elected` over all sentinels.
    pub try_failover: usize,
    pub elected: usize,
    pub aborts_not_elected: usize,
    /// `+sdown` of a peer sentinel during the storm (a sign of a stalled loop).
    pub peer_sdown: usize,
    /// `+tilt` events (a sentinel's loop stalled > 2 s; it then acts on nothing for 30 s).
    pub tilts: usize,
    /// Distinct sentinels that led at least one master.
    pub leaders: usize,
    /// CPU time (utime + stime) each sentinel used from the kill until every master was switched (or
    /// the timeout): close to the elapsed time means that sentinel was CPU-bound.
    pub sentinel_cpu_ms: Vec<f64>,
    /// Elapsed time of that window.
    pub cpu_window_ms: Option<f64>,
    pub workdir: Option<String>,
}

impl StormResult {
    fn new(imp: Impl, run: usize, o: &StormOpts) -> StormResult {
        StormResult {
            implementation: imp,
            run,
            masters: o.masters,
            servers: o.server_count(),
            error: None,
            load_avg: std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
                .to_string(),
            settle_ms: None,
            servers_up_ms: None,
            replicas_linked_ms: None,
            sentinels_started_ms: None,
            discovered_ms: None,
            settle_sdown: 0,
            missing_switch_events: 0,
            pre_kill_failover_events: 0,
            kill_spread_ms: None,
            all_sdown_ms: None,
            all_odown_ms: None,
            all_elected_ms: None,
            all_promoted_ms: None,
            first_switch_ms: None,
            all_switch_events_ms: None,
            all_switched_ms: None,
            median_switched_ms: None,
            switched_within: vec![0; MARKS_S.len()],
            unswitched: o.masters,
            spurious_masters: 0,
            extra_switches: 0,
            wrong_switches: 0,
            try_failover: 0,
            elected: 0,
            aborts_not_elected: 0,
            peer_sdown: 0,
            tilts: 0,
            leaders: 0,
            sentinel_cpu_ms: Vec::new(),
            cpu_window_ms: None,
            workdir: None,
        }
    }

    /// One line for the progress log.
    pub fn summary(&self) -> String {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        let within: Vec<String> = self.switched_within.iter().map(|n| n.to_string()).collect();
        let cpu: Vec<String> = self
            .sentinel_cpu_ms
            .iter()
            .map(|c| format!("{c:.0}"))
            .collect();
        let mut s = format!(
            "all switched {} ms (first {} ms, median master {} ms; events: all +sdown {}, +odown {}, \
             elected {}, promoted {}, +switch-master {}); switched within {} s: {} of {}; unswitched {}; \
             spurious {}; +try-failover {}, +elected-leader {} ({} leader(s)), \
             -failover-abort-not-elected {}; peer +sdown {}; +tilt {}; sentinel CPU {} ms in {} ms; \
             settle {} ms (servers {}, replicas {}, sentinels {}, discovered {}; master +sdown before the \
             kill {}); kill {} ms; load {}",
            f(self.all_switched_ms),
            f(self.first_switch_ms),
            f(self.median_switched_ms),
            f(self.all_sdown_ms),
            f(self.all_odown_ms),
            f(self.all_elected_ms),
            f(self.all_promoted_ms),
            f(self.all_switch_events_ms),
            MARKS_S.map(|m| m.to_string()).join("/"),
            within.join("/"),
            self.masters,
            self.unswitched,
            self.spurious_masters,
            self.try_failover,
            self.elected,
            self.leaders,
            self.aborts_not_elected,
            self.peer_sdown,
            self.tilts,
            cpu.join("/"),
            f(self.cpu_window_ms),
            f(self.settle_ms),
            f(self.servers_up_ms),
            f(self.replicas_linked_ms),
            f(self.sentinels_started_ms),
            f(self.discovered_ms),
            self.settle_sdown,
            self.kill_spread_ms.map_or("-".into(), |v| format!("{v:.1}")),
            self.load_avg,
        );
        if self.missing_switch_events > 0 {
            s.push_str(&format!(
                "; {} switch(es) without a +switch-master event",
                self.missing_switch_events
            ));
        }
        if self.wrong_switches > 0 {
            s.push_str(&format!(
                "; {} switch(es) to a wrong address",
                self.wrong_switches
            ));
        }
        if let Some(e) = &self.error {
            s.push_str(&format!("; ERROR: {e}"));
        }
        s
    }

    /// Failed to run, or some master was never switched everywhere.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.all_switched_ms.is_none()
    }
}

/// The storm topology: `masters` masters `m0..` with one replica each, and the sentinels.
struct StormCluster {
    dir: WorkDir,
    /// (master port, replica port) per master server.
    servers: Vec<(u16, u16)>,
    /// (master port, replica port) per master name index (`servers[i % servers.len()]`).
    pairs: Vec<(u16, u16)>,
    masters: Vec<Proc>,
    replicas: Vec<Proc>,
    sentinel_ports: Vec<u16>,
    sentinels: Vec<Proc>,
}

impl StormCluster {
    /// Kills every process: sentinels first (so they do not react to the servers going away), then
    /// SIGKILL to every server before reaping any, so 2000 servers die in parallel.
    fn kill_all(&mut self) {
        for s in &mut self.sentinels {
            s.kill();
        }
        for p in self.masters.iter().chain(&self.replicas) {
            let _ = p.signal(libc::SIGKILL);
        }
        for p in self.masters.iter_mut().chain(&mut self.replicas) {
            p.kill();
        }
    }
}

impl Drop for StormCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Ports of earlier storm runs, reused (when still free) before new ones are taken.
fn port_pool() -> &'static Mutex<Vec<u16>> {
    static POOL: OnceLock<Mutex<Vec<u16>>> = OnceLock::new();
    POOL.get_or_init(|| Mutex::new(Vec::new()))
}

/// `n` distinct free ports on 127.0.0.1: first those of earlier runs that can be bound again (the
/// previous run's servers are killed and reaped; listeners use `SO_REUSEADDR`, as redis-server does, so
/// TIME_WAIT does not block them), then new ones from the fixture.
fn storm_ports(n: usize) -> Result<Vec<u16>> {
    let mut pool = port_pool().lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::with_capacity(n);
    for &p in pool.iter() {
        if out.len() == n {
            break;
        }
        if TcpListener::bind(("127.0.0.1", p)).is_ok() && !vedette_fixture::port_answers(p) {
            out.push(p);
        }
    }
    while out.len() < n {
        let p = procs::free_port()?;
        pool.push(p);
        out.push(p);
    }
    Ok(out)
}

/// Milliseconds since `t`.
fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

async fn start(
    bins: &Bins,
    imp: Impl,
    o: &StormOpts,
    run: usize,
    r: &mut StormResult,
    t_start: Instant,
) -> Result<StormCluster> {
    let n = o.server_count();
    let dir = WorkDir::new(&format!("storm{}-{}-{}", o.masters, run, imp.label()))?;
    let ports = storm_ports(2 * n + 3)?;
    let servers: Vec<(u16, u16)> = ports[..2 * n].chunks(2).map(|c| (c[0], c[1])).collect();
    let pairs: Vec<(u16, u16)> = (0..o.masters).map(|i| servers[i % n]).collect();
    let sentinel_ports = ports[2 * n..].to_vec();
    let mut args: Vec<&str> = REDIS_ARGS.to_vec();
    if o.large() {
        args.extend_from_slice(LARGE_ARGS);
    }
    // Spawn everything at once (a replica started before its master retries once a second), then wait
    // for all of it in bounded parallel rounds: 2000 servers start in about half a minute on 2 cores.
    let mut c = StormCluster {
        dir,
        servers,
        pairs,
        masters: Vec::with_capacity(n),
        replicas: Vec::with_capacity(n),
        sentinel_ports,
        sentinels: Vec::new(),
    };
    // The master servers share one process group (led by the first), so one kill(2) kills them all.
    for i in 0..n {
        let m = c.servers[i].0;
        let group = c.masters.first().map_or(0, Proc::pid);
        c.masters.push(procs::spawn_redis_grouped(
            bins,
            &c.dir.path,
            m,
            None,
            &args,
            Some(group),
        )?);
    }
    for i in 0..n {
        let (m, rp) = c.servers[i];
        c.replicas.push(procs::spawn_redis_grouped(
            bins,
            &c.dir.path,
            rp,
            Some(m),
            &args,
            None,
        )?);
    }
    let scaled = |base_s: u64, per_server_ms: u64| {
        Instant::now()
            + Duration::from_secs(base_s)
            + Duration::from_millis(per_server_ms * n as u64)
    };
    let deadline = scaled(30, 60);
    let (mports, rports): (Vec<u16>, Vec<u16>) = c.servers.iter().copied().unzip();
    procs::wait_servers("master redis-servers", &mut c.masters, &mports, deadline).await?;
    procs::wait_servers("replica redis-servers", &mut c.replicas, &rports, deadline).await?;
    r.servers_up_ms = Some(ms(t_start));
    procs::wait_each(
        "replicas linked to their master",
        c.servers.clone(),
        64,
        Duration::from_millis(100),
        scaled(30, 120),
        |(m, rp)| cluster::replica_linked(rp, m),
    )
    .await?;
    r.replicas_linked_ms = Some(ms(t_start));
    let mut conf = String::new();
    for (i, &(m, _)) in c.pairs.iter().enumerate() {
        let _ = write!(
            conf,
            "sentinel monitor m{i} 127.0.0.1 {m} 2\n\
             sentinel down-after-milliseconds m{i} {}\n\
             sentinel failover-timeout m{i} {}\n",
            o.timings.down_after_ms, o.timings.failover_timeout_ms
        );
    }
    // All three at once; redis-sentinel answers only after saving its config (an fsync) for every
    // replica its first INFOs discover, which at 1000 masters takes tens of seconds.
    for i in 0..3 {
        let port = c.sentinel_ports[i];
        let sdir = c.dir.sub(&format!("sentinel-{i}"))?;
        c.sentinels
            .push(procs::spawn_sentinel(bins, imp, &sdir, port, &conf)?);
    }
    let sentinel_deadline =
        Instant::now() + Duration::from_secs(30) + Duration::from_millis(240 * o.masters as u64);
    procs::wait_servers(
        "sentinels",
        &mut c.sentinels,
        &c.sentinel_ports,
        sentinel_deadline,
    )
    .await?;
    r.sentinels_started_ms = Some(ms(t_start));
    Ok(c)
}

/// Every sentinel is out of TILT and sees every master healthy (`status=ok`) at its original address
/// with its replica and both peers. (A sentinel whose start-up stalled it — redis-sentinel
/// fsyncs its config for each of the 3000 replicas and peers it discovers at 1000 masters — stays in
/// TILT for 30 s and would not act on the storm at all.) `Err` says, for every sentinel, how far it
/// got.
async fn settled(c: &StormCluster) -> std::result::Result<(), String> {
    let views = futures_util::future::join_all(
        c.sentinel_ports
            .iter()
            .map(|&port| settle_view(port, &c.pairs)),
    )
    .await;
    let done = views
        .iter()
        .all(|v| v.as_ref().is_ok_and(|v| v.ok == c.pairs.len()));
    if done {
        return Ok(());
    }
    let text: Vec<String> = c
        .sentinel_ports
        .iter()
        .zip(views)
        .enumerate()
        .map(|(i, (port, v))| match v {
            Ok(v) => format!(
                "sentinel {i} ({port}): {}{} of {} masters settled{}",
                if v.tilt { "in TILT, " } else { "" },
                v.ok,
                c.pairs.len(),
                v.first_bad
                    .map(|b| format!(" (one not: {b})"))
                    .unwrap_or_default()
            ),
            Err(e) => format!("sentinel {i} ({port}): {e:#}"),
        })
        .collect();
    Err(text.join("; "))
}

/// One sentinel's view while the storm cluster settles.
struct SettleView {
    tilt: bool,
    /// Masters settled (healthy at the original address, 1 replica, 2 peers).
    ok: usize,
    first_bad: Option<String>,
}

/// From one `INFO sentinel`: its `masterN:name=…,status=…,address=…,slaves=…,sentinels=…` lines carry
/// everything the check needs in ~80 bytes a master, where `SENTINEL MASTERS` would be ~400 (at 1000
/// masters, once a second per sentinel, that is fixture load too).
async fn settle_view(port: u16, pairs: &[(u16, u16)]) -> Result<SettleView> {
    let info = client::cmd_once(
        port,
        &["INFO", "sentinel"],
        Duration::from_secs(5) + Duration::from_millis(pairs.len() as u64),
    )
    .await?;
    let fields = client::info_fields(&info);
    let tilt = fields.get("sentinel_tilt").is_some_and(|t| t != "0");
    let mut ok = 0usize;
    let mut first_bad = None;
    for (key, line) in &fields {
        if !key.starts_with("master") || !line.starts_with("name=") {
            continue;
        }
        let m: BTreeMap<&str, &str> = line
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let get = |k: &str| m.get(k).copied().unwrap_or("?");
        let original = get("name")
            .strip_prefix('m')
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| pairs.get(i))
            .map(|p| format!("127.0.0.1:{}", p.0));
        if get("status") == "ok"
            && get("slaves") == "1"
            && get("sentinels") == "3"
            && original.as_deref() == Some(get("address"))
        {
            ok += 1;
        } else if first_bad.is_none() {
            first_bad = Some(line.clone());
        }
    }
    Ok(SettleView {
        tilt,
        ok: if tilt { 0 } else { ok },
        first_bad,
    })
}

/// PSUBSCRIBEs `*` on every sentinel (retrying while a busy sentinel does not confirm within the
/// subscriber's 2 s, until `deadline`).
async fn subscribe_all(ports: &[u16], events: &Events, deadline: Instant) -> Result<Tasks> {
    let mut tasks = Tasks(Vec::new());
    for (i, &p) in ports.iter().enumerate() {
        loop {
            let (tx, rx) = oneshot::channel();
            let task = tokio::spawn(subscriber(p, i, events.clone(), tx));
            let res = rx
                .await
                .map_err(|_| anyhow!("subscriber {p} ended"))
                .and_then(|r| r);
            match res {
                Ok(()) => {
                    tasks.0.push(task);
                    break;
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!("subscribing to sentinel {p}")));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
    Ok(tasks)
}

/// Counts events before `t0` of `events`: (master `+sdown`, `+odown` / `+try-failover` /
/// `+switch-master`).
fn pre_kill_counts(events: &Events, t0: Instant) -> (usize, usize) {
    let evs = events.lock().unwrap_or_else(|e| e.into_inner());
    let before = evs.iter().filter(|e| e.at < t0);
    let mut sdown = 0;
    let mut failover = 0;
    for e in before {
        match e.channel.as_str() {
            "+sdown" if e.payload.starts_with("master ") => sdown += 1,
            "+odown" | "+try-failover" | "+switch-master" => failover += 1,
            _ => {}
        }
    }
    (sdown, failover)
}

/// Runs one storm; every process it started is killed before it returns.
pub async fn run(bins: &Bins, imp: Impl, run: usize, o: &StormOpts) -> StormResult {
    let mut r = StormResult::new(imp, run, o);
    let mut cluster = None;
    let mut events: Vec<Event> = Vec::new();
    let mut t0 = None;
    if let Err(e) = inner(
        bins,
        imp,
        run,
        o,
        &mut r,
        &mut cluster,
        &mut events,
        &mut t0,
    )
    .await
    {
        r.error = Some(format!("{e:#}"));
    }
    if let Some(mut c) = cluster {
        c.kill_all();
        if r.failed() || o.keep {
            if let Some(t0) = t0 {
                write_events(&c.dir.path.join("events.tsv"), &events, t0);
            }
            c.dir.keep();
            r.workdir = Some(c.dir.path.display().to_string());
        }
    }
    r
}

/// The event log of a kept run, one `ms-after-kill <TAB> sentinel <TAB> channel <TAB> payload` a line.
fn write_events(path: &std::path::Path, events: &[Event], t0: Instant) {
    let mut text = String::new();
    for e in events {
        let _ = writeln!(
            text,
            "{:.1}\t{}\t{}\t{}",
            ms_since(t0, e.at),
            e.sentinel,
            e.channel,
            e.payload
        );
    }
    if let Err(e) = std::fs::write(path, text) {
        eprintln!("storm: writing {}: {e}", path.display());
    }
}

#[allow(clippy::too_many_arguments)]
async fn inner(
    bins: &Bins,
    imp: Impl,
    run: usize,
    o: &StormOpts,
    r: &mut StormResult,
    slot: &mut Option<StormCluster>,
    events_out: &mut Vec<Event>,
    t0_out: &mut Option<Instant>,
) -> Result<()> {
    let t_start = Instant::now();
    let mut attempt = 1;
    let c = loop {
        match start(bins, imp, o, run, r, t_start).await {
            Ok(c) => break slot.insert(c),
            Err(e) if attempt < procs::START_ATTEMPTS && procs::port_was_taken(&e) => {
                eprintln!("[storm] a port was taken, starting over: {e:#}");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    // Subscribed from the start, so that flapping or a failover before the kill shows.
    let events: Events = Arc::new(Mutex::new(Vec::new()));
    let _subscribers = subscribe_all(
        &c.sentinel_ports,
        &events,
        Instant::now() + Duration::from_secs(30),
    )
    .await?;
    // Discovery needs each sentinel's first INFO of every master (the replica) and two hellos per master
    // from each peer (every 2 s); at 1000 masters a loaded sentinel may need several periods.
    let settle_limit = Duration::from_secs(90) + Duration::from_millis(150 * o.masters as u64);
    let settle_deadline = Instant::now() + settle_limit;
    let settle_pause = if o.masters <= 100 {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(1)
    };
    loop {
        if let Some(s) = c
            .sentinels
            .iter_mut()
            .find_map(|s| (!s.alive()).then_some(s))
        {
            bail!("{} exited while settling:\n{}", s.name, s.log_tail(10));
        }
        match settled(c).await {
            Ok(()) => break,
            Err(e) if Instant::now() >= settle_deadline => {
                let (sdown, failover) = pre_kill_counts(&events, Instant::now());
                bail!(
                    "the storm cluster did not settle within {settle_limit:?}: {e}; since the start \
                     {sdown} master +sdown and {failover} +odown/+try-failover/+switch-master events"
                );
            }
            Err(_) => tokio::time::sleep(settle_pause).await,
        }
    }
    r.discovered_ms = Some(ms(t_start));
    r.settle_ms = r.discovered_ms;
    // A quiet second (more for large storms), so the sentinels' links and hellos are in their steady
    // state.
    tokio::time::sleep(Duration::from_millis(1000 + 2 * o.masters as u64)).await;

    // The host dies: every master server SIGKILLed by one kill(2) of their process group.
    let cpu0: Vec<Option<u64>> = c
        .sentinels
        .iter()
        .map(|s| procs::cpu_ticks(s.pid()))
        .collect();
    let t0 = Instant::now();
    *t0_out = Some(t0);
    let group = c.masters.first().map_or(0, Proc::pid);
    // SAFETY: kill(2) on the process group of our own unreaped children (its leader is one of them, so
    // the group cannot have been recycled).
    if group <= 0 || unsafe { libc::kill(-group, libc::SIGKILL) } != 0 {
        bail!(
            "kill(-{group}, SIGKILL): {}",
            std::io::Error::last_os_error()
        );
    }
    r.kill_spread_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);
    let (sdown, failover) = pre_kill_counts(&events, t0);
    r.settle_sdown = sdown;
    r.pre_kill_failover_events = failover;

    let names: BTreeMap<String, usize> = (0..o.masters).map(|i| (format!("m{i}"), i)).collect();
    let sentinels = c.sentinel_ports.len();
    let deadline = t0 + o.timeout;
    // Switch times come from the events; a 1 Hz poll of the names not switched yet backs them up (a
    // sentinel that changes the address without publishing `+switch-master` is still seen switched, at
    // the coarser poll time, and counted in `missing_switch_events`).
    let switched: Switched = Arc::new(Mutex::new(BTreeMap::new()));
    let _pollers = Tasks(
        c.sentinel_ports
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let want: Vec<u16> = c.pairs.iter().map(|p| p.1).collect();
                tokio::spawn(poll_unswitched(i, p, want, t0, switched.clone()))
            })
            .collect(),
    );
    // Every 20 ms, read the events that arrived since the last look (the lock is held for a slice copy).
    let mut evented: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let mut scanned = 0;
    loop {
        let new: Vec<Event> = {
            let evs = events.lock().unwrap_or_else(|e| e.into_inner());
            let new = evs[scanned..].to_vec();
            scanned = evs.len();
            new
        };
        let n = {
            let mut sw = switched.lock().unwrap_or_else(|e| e.into_inner());
            for (k, at, is_switch) in switches_to_replica(&new, t0, &names, &c.pairs) {
                if is_switch {
                    evented.entry(k).or_insert(at);
                }
                let t = sw.entry(k).or_insert(at);
                *t = t.min(at);
            }
            sw.len()
        };
        if n == o.masters * sentinels || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let tck = procs::clk_tck();
    r.cpu_window_ms = Some(ms(t0));
    r.sentinel_cpu_ms = c
        .sentinels
        .iter()
        .zip(&cpu0)
        .map(|(s, c0)| match (c0, procs::cpu_ticks(s.pid())) {
            (Some(a), Some(b)) => b.saturating_sub(*a) as f64 * 1000.0 / tck,
            _ => f64::NAN,
        })
        .collect();
    tokio::time::sleep(o.watch).await;
    let evs = events.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // Late events (after the loop above) still count; what has none is a missing `+switch-master`.
    for (k, at, is_switch) in switches_to_replica(&evs, t0, &names, &c.pairs) {
        if is_switch {
            evented.entry(k).or_insert(at);
        }
    }
    let mut seen: BTreeMap<(usize, usize), f64> =
        switched.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let unevented: Vec<(usize, usize)> = seen
        .keys()
        .filter(|k| !evented.contains_key(k))
        .copied()
        .collect();
    r.missing_switch_events = unevented.len();
    // The events' view checked against what clients are told: one pipeline of every name per sentinel.
    let mut notes = Vec::new();
    let all: Vec<usize> = (0..o.masters).collect();
    for (s, &port) in c.sentinel_ports.iter().enumerate() {
        let timeout = Duration::from_secs(5) + Duration::from_millis(o.masters as u64);
        let answer = match client::connect(port, timeout).await {
            Ok(mut con) => master_ports(&mut con, &all, timeout).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(now) => {
                for (m, pair) in c.pairs.iter().enumerate() {
                    let at_replica = now.get(m).copied().flatten() == Some(pair.1);
                    if seen.contains_key(&(s, m)) && !at_replica {
                        seen.remove(&(s, m));
                        notes.push(format!(
                            "sentinel {s} m{m}: was switched to the replica, now names port {:?}",
                            now.get(m).copied().flatten()
                        ));
                    } else if at_replica && !seen.contains_key(&(s, m)) {
                        notes.push(format!(
                            "sentinel {s} m{m}: at the replica only after the timeout"
                        ));
                    }
                }
            }
            Err(e) => notes.push(format!(
                "sentinel {s} ({port}): final check failed, events trusted: {e:#}"
            )),
        }
    }
    let a = analyse(&evs, &seen, t0, &names, &c.pairs, sentinels);
    *events_out = evs;
    r.first_switch_ms = a.first_switch_ms;
    r.all_switched_ms = a.all_switched_ms;
    r.median_switched_ms = a.median_switched_ms;
    r.all_switch_events_ms = a.all_switch_events_ms;
    r.all_sdown_ms = a.all_sdown_ms;
    r.all_odown_ms = a.all_odown_ms;
    r.all_elected_ms = a.all_elected_ms;
    r.all_promoted_ms = a.all_promoted_ms;
    r.switched_within = a.switched_within.clone();
    r.unswitched = a.unswitched;
    r.spurious_masters = a.spurious_masters;
    r.extra_switches = a.extra_switches;
    r.wrong_switches = a.wrong_switches;
    r.try_failover = a.count("+try-failover");
    r.elected = a.count("+elected-leader");
    r.aborts_not_elected = a.count("-failover-abort-not-elected");
    r.tilts = a.count("+tilt");
    r.peer_sdown = a.peer_sdown;
    r.leaders = a.leaders;
    if r.pre_kill_failover_events > 0 {
        bail!(
            "not a steady state: {} +odown/+try-failover/+switch-master events and {} master +sdown \
             before the kill",
            r.pre_kill_failover_events,
            r.settle_sdown
        );
    }
    if r.unswitched > 0 {
        let first: Vec<String> = a
            .missing
            .iter()
            .take(10)
            .map(|&(s, m)| format!("sentinel {s} m{m}"))
            .collect();
        notes.truncate(10);
        bail!(
            "{} of {} masters not switched on every sentinel within {:?} (first: {}){}",
            r.unswitched,
            o.masters,
            o.timeout,
            first.join(", "),
            if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join("; "))
            }
        );
    }
    if !unevented.is_empty() {
        let first: Vec<String> = unevented
            .iter()
            .take(10)
            .map(|&(s, m)| format!("sentinel {s} m{m}"))
            .collect();
        notes.push(format!(
            "{} switch(es) without a +switch-master event by the end of the watch (first: {})",
            unevented.len(),
            first.join(", ")
        ));
    }
    if !notes.is_empty() {
        eprintln!("storm: {}", notes.join("; "));
    }
    Ok(())
}

/// (sentinel, master) -> ms after the kill when it was first seen switched to the master's replica (by
/// its `+switch-master` event or by the poll).
type Switched = Arc<Mutex<BTreeMap<(usize, usize), f64>>>;

/// Once a second (from 1 s after the kill), asks sentinel `idx` on `port` in one pipeline where each
/// master `m<i>` not yet seen switched there is, and records those that name `want[i]` (the replica).
/// At most one query per name per second, against the 50 per second an address poll at 20 ms would
/// add to a storm's load; the events give the precise times.
async fn poll_unswitched(idx: usize, port: u16, want: Vec<u16>, t0: Instant, switched: Switched) {
    let mut con = None;
    let mut next = t0 + Duration::from_secs(1);
    loop {
        tokio::time::sleep_until(next.into()).await;
        next += Duration::from_secs(1);
        let pending: Vec<usize> = {
            let sw = switched.lock().unwrap_or_else(|e| e.into_inner());
            (0..want.len())
                .filter(|&i| !sw.contains_key(&(idx, i)))
                .collect()
        };
        if pending.is_empty() {
            return;
        }
        if con.is_none() {
            con = client::connect(port, Duration::from_millis(500)).await.ok();
        }
        let Some(c) = con.as_mut() else {
            continue;
        };
        match master_ports(c, &pending, Duration::from_secs(2)).await {
            Ok(ports) => {
                // The time of the answer: an upper bound (the switch happened at most a second
                // before).
                let at = ms_since(t0, Instant::now());
                let mut sw = switched.lock().unwrap_or_else(|e| e.into_inner());
                for (&i, port) in pending.iter().zip(ports) {
                    if port == Some(want[i]) {
                        sw.entry((idx, i)).or_insert(at);
                    }
                }
            }
            Err(_) => con = None,
        }
    }
}

/// `get-master-addr-by-name` of every `m<i>` for `i` in `masters`, in one pipeline: the port each is
/// reported at (None: no address in the reply).
async fn master_ports(
    con: &mut redis::aio::MultiplexedConnection,
    masters: &[usize],
    timeout: Duration,
) -> Result<Vec<Option<u16>>> {
    let mut pipe = redis::pipe();
    for &i in masters {
        pipe.cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(format!("m{i}"));
    }
    let vals = tokio::time::timeout(timeout, pipe.query_async::<Vec<redis::Value>>(con))
        .await
        .map_err(|_| anyhow!("{} get-master-addr-by-name timed out", masters.len()))??;
    Ok(vals.iter().map(client::as_addr_port).collect())
}

/// ((sentinel, master), ms after `t0`, is `+switch-master`) of every event in `events` (at or after
/// `t0`) from which that sentinel names the master's replica to clients: its `+switch-master` to the
/// replica, or — on the sentinel leading the failover — its `+promoted-slave` of the replica. Both
/// implementations answer `get-master-addr-by-name` with the promoted replica from then on (Redis's
/// `sentinelGetCurrentMasterAddress`, failover state `reconf-slaves`), and redis-sentinel publishes
/// its own `+switch-master` only when the failover ends, seconds later in a large storm; timing by
/// `+switch-master` alone would not be what a client sees.
fn switches_to_replica(
    events: &[Event],
    t0: Instant,
    names: &BTreeMap<String, usize>,
    pairs: &[(u16, u16)],
) -> Vec<((usize, usize), f64, bool)> {
    events
        .iter()
        .filter(|e| e.at >= t0)
        .filter_map(|e| {
            let (m, new, is_switch) = match e.channel.as_str() {
                // "<name> <old ip> <old port> <new ip> <new port>"
                "+switch-master" => {
                    let mut f = e.payload.split_whitespace();
                    let m = *names.get(f.next()?)?;
                    (m, f.nth(3)?.parse::<u16>().ok()?, true)
                }
                // "slave <ip:port> <ip> <port> @ <name> <ip> <port>"
                "+promoted-slave" => {
                    let mut f = e.payload.split_whitespace();
                    let port = f.nth(3)?.parse::<u16>().ok()?;
                    let m = *names.get(event_master(&e.channel, &e.payload)?)?;
                    (m, port, false)
                }
                _ => return None,
            };
            (new == pairs.get(m)?.1).then(|| ((e.sentinel, m), ms_since(t0, e.at), is_switch))
        })
        .collect()
}

/// What the event log says about the storm.
struct Analysis {
    first_switch_ms: Option<f64>,
    all_switched_ms: Option<f64>,
    median_switched_ms: Option<f64>,
    all_switch_events_ms: Option<f64>,
    all_sdown_ms: Option<f64>,
    all_odown_ms: Option<f64>,
    all_elected_ms: Option<f64>,
    all_promoted_ms: Option<f64>,
    switched_within: Vec<usize>,
    unswitched: usize,
    spurious_masters: usize,
    extra_switches: usize,
    wrong_switches: usize,
    counts: BTreeMap<String, usize>,
    peer_sdown: usize,
    leaders: usize,
    /// (sentinel, master) pairs with no switch to the replica.
    missing: Vec<(usize, usize)>,
}

impl Analysis {
    fn count(&self, kind: &str) -> usize {
        self.counts.get(kind).copied().unwrap_or(0)
    }
}

/// The master an event is about: `master <name> …` payloads, `… @ <name> <ip> <port>` ones (replicas,
/// peers), and `+switch-master <name> …`.
fn event_master<'a>(channel: &str, payload: &'a str) -> Option<&'a str> {
    let mut f = payload.split_whitespace();
    if channel == "+switch-master" {
        return f.next();
    }
    let first = f.next()?;
    if first == "master" {
        return f.next();
    }
    let mut f = payload.split_whitespace().skip_while(|w| *w != "@");
    f.next()?;
    f.next()
}

/// The latest of the per-key first times, or None unless every one of `keys` has one.
fn latest_of_firsts<K: Ord>(firsts: &BTreeMap<K, f64>, keys: usize) -> Option<f64> {
    if firsts.len() < keys {
        return None;
    }
    firsts.values().copied().reduce(f64::max)
}

fn analyse(
    events: &[Event],
    polled: &BTreeMap<(usize, usize), f64>,
    t0: Instant,
    names: &BTreeMap<String, usize>,
    pairs: &[(u16, u16)],
    sentinels: usize,
) -> Analysis {
    // (sentinel, master) -> switch times.
    let mut switches: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong = 0usize;
    let mut peer_sdown = 0usize;
    let mut leaders = BTreeSet::new();
    let mut sdown: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let mut odown: BTreeMap<usize, f64> = BTreeMap::new();
    let mut elected: BTreeMap<usize, f64> = BTreeMap::new();
    let mut promoted: BTreeMap<usize, f64> = BTreeMap::new();
    for e in events.iter().filter(|e| e.at >= t0) {
        *counts.entry(e.channel.clone()).or_default() += 1;
        let at = ms_since(t0, e.at);
        let master = event_master(&e.channel, &e.payload).and_then(|n| names.get(n).copied());
        let first = |map: &mut BTreeMap<usize, f64>| {
            if let Some(m) = master {
                map.entry(m).or_insert(at);
            }
        };
        match e.channel.as_str() {
            "+switch-master" => {
                // "<name> <old ip> <old port> <new ip> <new port>"
                let Some(m) = master else {
                    continue;
                };
                let new: Option<u16> = e
                    .payload
                    .split_whitespace()
                    .nth(4)
                    .and_then(|p| p.parse().ok());
                if new != Some(pairs[m].1) {
                    wrong += 1;
                }
                switches.entry((e.sentinel, m)).or_default().push(at);
            }
            "+sdown" if e.payload.starts_with("sentinel ") => peer_sdown += 1,
            "+sdown" if e.payload.starts_with("master ") => {
                if let Some(m) = master {
                    sdown.entry((e.sentinel, m)).or_insert(at);
                }
            }
            "+odown" => first(&mut odown),
            "+promoted-slave" => first(&mut promoted),
            "+elected-leader" => {
                leaders.insert(e.sentinel);
                first(&mut elected);
            }
            _ => {}
        }
    }
    let mut per_master: Vec<Option<f64>> = Vec::with_capacity(pairs.len());
    let mut spurious = 0usize;
    let mut extra = 0usize;
    let mut missing = Vec::new();
    for m in 0..pairs.len() {
        let mut last: Option<f64> = Some(0.0);
        let mut twice = false;
        for s in 0..sentinels {
            match polled.get(&(s, m)) {
                Some(&t) => last = last.map(|l| l.max(t)),
                None => {
                    last = None;
                    missing.push((s, m));
                }
            }
            if let Some(v) = switches.get(&(s, m)) {
                if v.len() > 1 {
                    twice = true;
                    extra += v.len() - 1;
                }
            }
        }
        spurious += usize::from(twice);
        per_master.push(last);
    }
    let unswitched = per_master.iter().filter(|t| t.is_none()).count();
    let all_switched_ms = if unswitched == 0 {
        per_master.iter().flatten().copied().reduce(f64::max)
    } else {
        None
    };
    let median_switched_ms = if unswitched == 0 {
        let mut v: Vec<f64> = per_master.iter().flatten().copied().collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    } else {
        None
    };
    let switched_within = MARKS_S
        .iter()
        .map(|&s| {
            per_master
                .iter()
                .filter(|t| t.is_some_and(|t| t <= (s * 1000) as f64))
                .count()
        })
        .collect();
    let first_switches: BTreeMap<(usize, usize), f64> =
        switches.iter().map(|(k, v)| (*k, v[0])).collect();
    let n = pairs.len();
    Analysis {
        first_switch_ms: switches.values().map(|v| v[0]).reduce(f64::min),
        all_switched_ms,
        median_switched_ms,
        all_switch_events_ms: latest_of_firsts(&first_switches, n * sentinels),
        all_sdown_ms: latest_of_firsts(&sdown, n * sentinels),
        all_odown_ms: latest_of_firsts(&odown, n),
        all_elected_ms: latest_of_firsts(&elected, n),
        all_promoted_ms: latest_of_firsts(&promoted, n),
        switched_within,
        unswitched,
        spurious_masters: spurious,
        extra_switches: extra,
        wrong_switches: wrong,
        counts,
        peer_sdown,
        leaders: leaders.len(),
        missing,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use super::{event_master, switches_to_replica};
    use crate::failover::Event;

    #[test]
    fn a_switch_is_a_switch_master_or_the_leaders_promotion_of_the_replica() {
        let t0 = Instant::now();
        let ev = |ms: u64, sentinel: usize, channel: &str, payload: &str| Event {
            at: t0 + Duration::from_millis(ms),
            sentinel,
            channel: channel.into(),
            payload: payload.into(),
        };
        let names: BTreeMap<String, usize> = [("m0".to_string(), 0), ("m1".to_string(), 1)].into();
        let pairs = [(100, 101), (200, 201)];
        let events = [
            ev(
                5,
                0,
                "+promoted-slave",
                "slave 127.0.0.1:101 127.0.0.1 101 @ m0 127.0.0.1 100",
            ),
            ev(7, 1, "+switch-master", "m0 127.0.0.1 100 127.0.0.1 101"),
            // To an address other than the replica: not a switch to it.
            ev(8, 2, "+switch-master", "m1 127.0.0.1 200 127.0.0.1 999"),
            ev(9, 0, "+sdown", "master m1 127.0.0.1 200"),
            ev(10, 0, "+switch-master", "unknown 127.0.0.1 1 127.0.0.1 2"),
        ];
        let got: Vec<((usize, usize), u64, bool)> =
            switches_to_replica(&events, t0, &names, &pairs)
                .into_iter()
                .map(|(k, at, sw)| (k, at.round() as u64, sw))
                .collect();
        assert_eq!(got, vec![((0, 0), 5, false), ((1, 0), 7, true)]);
    }

    #[test]
    fn event_master_reads_every_payload_shape() {
        assert_eq!(
            event_master("+sdown", "master m7 127.0.0.1 20001"),
            Some("m7")
        );
        assert_eq!(
            event_master(
                "+promoted-slave",
                "slave 127.0.0.1:20002 127.0.0.1 20002 @ m12 127.0.0.1 20001"
            ),
            Some("m12")
        );
        assert_eq!(
            event_master("+switch-master", "m3 127.0.0.1 1 127.0.0.1 2"),
            Some("m3")
        );
        assert_eq!(
            event_master(
                "+sdown",
                "sentinel abc 127.0.0.1 26379 @ m0 127.0.0.1 20001"
            ),
            Some("m0")
        );
        assert_eq!(event_master("+tilt", "#tilt mode entered"), None);
    }
}

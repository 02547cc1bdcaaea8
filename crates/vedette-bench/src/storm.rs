//! Failover storm: one host carrying many masters dies at once. N masters (default 100), each a real
//! redis-server with one replica, are watched by 3 sentinels of one implementation; once every sentinel
//! sees every master healthy, every master is SIGKILLed in one tight loop. A master counts as switched on
//! a sentinel once that sentinel's `SENTINEL get-master-addr-by-name` names the replica (every sentinel is
//! polled with one pipeline of all names every 20 ms, as a client would see it); the sentinels' events
//! tell whether any master was switched twice (a spurious second failover) and how many elections were
//! lost (`-failover-abort-not-elected`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::client;
use crate::cluster::{self, Timings};
use crate::failover::{ms_since, subscriber, Event, Events, Tasks};
use crate::procs::{self, Bins, Impl, Proc, WorkDir};

/// The deadlines at which the switched masters are counted (seconds after the kill).
pub const MARKS_S: [u64; 4] = [1, 2, 5, 10];

/// Knobs of a storm run.
#[derive(Clone, Debug)]
pub struct StormOpts {
    pub masters: usize,
    pub timings: Timings,
    /// From the kill until every master must be switched on every sentinel.
    pub timeout: Duration,
    /// How long to keep watching for spurious second switches after that.
    pub watch: Duration,
    pub keep: bool,
}

/// Everything measured in one storm run. Times are milliseconds after the first SIGKILL.
#[derive(Clone, Debug, Serialize)]
pub struct StormResult {
    pub implementation: Impl,
    pub run: usize,
    pub masters: usize,
    pub error: Option<String>,
    /// Starting every process and waiting for every sentinel to see every master, replica and peer.
    pub settle_ms: Option<f64>,
    /// How long the SIGKILL loop over all masters took.
    pub kill_spread_ms: Option<f64>,
    /// First `+switch-master` event of any master on any sentinel.
    pub first_switch_ms: Option<f64>,
    /// Every sentinel names every master's replica (`get-master-addr-by-name`; None: not within the
    /// timeout).
    pub all_switched_ms: Option<f64>,
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
    /// Distinct sentinels that led at least one master.
    pub leaders: usize,
    pub workdir: Option<String>,
}

impl StormResult {
    fn new(imp: Impl, run: usize, masters: usize) -> StormResult {
        StormResult {
            implementation: imp,
            run,
            masters,
            error: None,
            settle_ms: None,
            kill_spread_ms: None,
            first_switch_ms: None,
            all_switched_ms: None,
            switched_within: vec![0; MARKS_S.len()],
            unswitched: masters,
            spurious_masters: 0,
            extra_switches: 0,
            wrong_switches: 0,
            try_failover: 0,
            elected: 0,
            aborts_not_elected: 0,
            peer_sdown: 0,
            leaders: 0,
            workdir: None,
        }
    }

    /// One line for the progress log.
    pub fn summary(&self) -> String {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        let within: Vec<String> = self.switched_within.iter().map(|n| n.to_string()).collect();
        let mut s = format!(
            "all switched {} ms (first {} ms); switched within {} s: {} of {}; unswitched {}; spurious {}; \
             +try-failover {}, +elected-leader {} ({} leader(s)), -failover-abort-not-elected {}; \
             peer +sdown {}; kill loop {} ms",
            f(self.all_switched_ms),
            f(self.first_switch_ms),
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
            self.kill_spread_ms.map_or("-".into(), |v| format!("{v:.1}")),
        );
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
    /// (master port, replica port) per master name index.
    pairs: Vec<(u16, u16)>,
    masters: Vec<Proc>,
    _replicas: Vec<Proc>,
    sentinel_ports: Vec<u16>,
    sentinels: Vec<Proc>,
}

impl StormCluster {
    fn kill_all(&mut self) {
        for s in &mut self.sentinels {
            s.kill();
        }
        for m in &mut self.masters {
            m.kill();
        }
        for r in &mut self._replicas {
            r.kill();
        }
    }
}

impl Drop for StormCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Small, persistence-free redis-servers: 200 of them must fit a small machine.
const REDIS_ARGS: &[&str] = &["--maxmemory", "16mb", "--maxclients", "1000"];

async fn start(bins: &Bins, imp: Impl, o: &StormOpts, run: usize) -> Result<StormCluster> {
    let dir = WorkDir::new(&format!("storm{}-{}-{}", o.masters, run, imp.label()))?;
    let mut pairs = Vec::with_capacity(o.masters);
    for _ in 0..o.masters {
        pairs.push((procs::free_port()?, procs::free_port()?));
    }
    // Spawn everything, then wait for all of it at once: 200 servers start in about a second.
    let mut masters = Vec::with_capacity(o.masters);
    for &(m, _) in &pairs {
        masters.push(procs::spawn_redis(bins, &dir.path, m, None, REDIS_ARGS)?);
    }
    wait_all_pong(pairs.iter().map(|p| p.0)).await?;
    let mut replicas = Vec::with_capacity(o.masters);
    for &(m, r) in &pairs {
        replicas.push(procs::spawn_redis(bins, &dir.path, r, Some(m), REDIS_ARGS)?);
    }
    wait_all_pong(pairs.iter().map(|p| p.1)).await?;
    let linked = futures_util::future::join_all(
        pairs
            .iter()
            .map(|&(m, r)| cluster::wait_link_up(r, m, Duration::from_secs(30))),
    )
    .await;
    for l in linked {
        l?;
    }
    let mut conf = String::new();
    for (i, &(m, _)) in pairs.iter().enumerate() {
        conf.push_str(&format!(
            "sentinel monitor m{i} 127.0.0.1 {m} 2\n\
             sentinel down-after-milliseconds m{i} {}\n\
             sentinel failover-timeout m{i} {}\n",
            o.timings.down_after_ms, o.timings.failover_timeout_ms
        ));
    }
    let mut c = StormCluster {
        dir,
        pairs,
        masters,
        _replicas: replicas,
        sentinel_ports: Vec::new(),
        sentinels: Vec::new(),
    };
    for i in 0..3 {
        let port = procs::free_port()?;
        let sdir = c.dir.sub(&format!("sentinel-{i}"))?;
        let p = procs::start_sentinel(bins, imp, &sdir, port, &conf).await?;
        c.sentinel_ports.push(port);
        c.sentinels.push(p);
    }
    Ok(c)
}

async fn wait_all_pong(ports: impl Iterator<Item = u16>) -> Result<()> {
    let waits: Vec<_> = ports
        .map(|p| procs::wait_pong(p, Duration::from_secs(30)))
        .collect();
    for r in futures_util::future::join_all(waits).await {
        r?;
    }
    Ok(())
}

/// Every sentinel sees every master as a plain healthy `master` with its replica and both peers.
async fn settled(c: &StormCluster, masters: usize) -> Result<()> {
    for &s in &c.sentinel_ports {
        let v = client::cmd_once(s, &["SENTINEL", "masters"], Duration::from_secs(2)).await?;
        let redis::Value::Array(items) = v else {
            bail!("sentinel {s}: SENTINEL MASTERS is not an array");
        };
        let mut ok = 0usize;
        let mut first_bad = None;
        for item in &items {
            let m = client::as_map(item);
            let get = |k: &str| m.get(k).map(String::as_str).unwrap_or("?");
            if get("flags") == "master"
                && get("num-slaves") == "1"
                && get("num-other-sentinels") == "2"
            {
                ok += 1;
            } else if first_bad.is_none() {
                first_bad = Some(format!(
                    "{}: flags={} num-slaves={} num-other-sentinels={}",
                    get("name"),
                    get("flags"),
                    get("num-slaves"),
                    get("num-other-sentinels")
                ));
            }
        }
        if ok != masters {
            bail!(
                "sentinel {s}: {ok} of {masters} masters settled; first not: {}",
                first_bad.unwrap_or_else(|| "missing".into())
            );
        }
    }
    Ok(())
}

/// Runs one storm; every process it started is killed before it returns.
pub async fn run(bins: &Bins, imp: Impl, run: usize, o: &StormOpts) -> StormResult {
    let mut r = StormResult::new(imp, run, o.masters);
    let mut cluster = None;
    if let Err(e) = inner(bins, imp, run, o, &mut r, &mut cluster).await {
        r.error = Some(format!("{e:#}"));
    }
    if let Some(mut c) = cluster {
        c.kill_all();
        if r.failed() || o.keep {
            c.dir.keep();
            r.workdir = Some(c.dir.path.display().to_string());
        }
    }
    r
}

async fn inner(
    bins: &Bins,
    imp: Impl,
    run: usize,
    o: &StormOpts,
    r: &mut StormResult,
    slot: &mut Option<StormCluster>,
) -> Result<()> {
    let t_start = Instant::now();
    let c = slot.insert(start(bins, imp, o, run).await?);
    let settle_deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match settled(c, o.masters).await {
            Ok(()) => break,
            Err(e) if Instant::now() >= settle_deadline => {
                return Err(e.context("the storm cluster did not settle"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    r.settle_ms = Some(t_start.elapsed().as_secs_f64() * 1000.0);

    let events: Events = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Tasks(Vec::new());
    for (i, &p) in c.sentinel_ports.iter().enumerate() {
        let (tx, rx) = oneshot::channel();
        tasks
            .0
            .push(tokio::spawn(subscriber(p, i, events.clone(), tx)));
        rx.await
            .map_err(|_| anyhow!("subscriber {p} ended"))?
            .with_context(|| format!("subscribing to sentinel {p}"))?;
    }
    // A quiet second, so the sentinels' links and hellos are in their steady state.
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The host dies: every master SIGKILLed in one loop, no await in between.
    let t0 = Instant::now();
    let seen: Polled = Arc::new(Mutex::new(BTreeMap::new()));
    let pollers = Tasks(
        c.sentinel_ports
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let want: Vec<u16> = c.pairs.iter().map(|p| p.1).collect();
                tokio::spawn(poll_addresses(i, p, want, t0, seen.clone()))
            })
            .collect(),
    );
    for m in &c.masters {
        m.signal(libc::SIGKILL)?;
    }
    r.kill_spread_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);

    let names: BTreeMap<String, usize> = (0..o.masters).map(|i| (format!("m{i}"), i)).collect();
    let deadline = t0 + o.timeout;
    loop {
        let n = seen.lock().unwrap_or_else(|e| e.into_inner()).len();
        if n == o.masters * c.sentinel_ports.len() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(o.watch).await;
    drop(pollers);
    let evs = events.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let polled = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let a = analyse(&evs, &polled, t0, &names, &c.pairs, c.sentinel_ports.len());
    r.first_switch_ms = a.first_switch_ms;
    r.all_switched_ms = a.all_switched_ms;
    r.switched_within = a.switched_within.clone();
    r.unswitched = a.unswitched;
    r.spurious_masters = a.spurious_masters;
    r.extra_switches = a.extra_switches;
    r.wrong_switches = a.wrong_switches;
    r.try_failover = a.count("+try-failover");
    r.elected = a.count("+elected-leader");
    r.aborts_not_elected = a.count("-failover-abort-not-elected");
    r.peer_sdown = a.peer_sdown;
    r.leaders = a.leaders;
    if r.unswitched > 0 {
        // Tell a missing event from a missing switch: ask the sentinels where those masters are now.
        let mut detail = Vec::new();
        for &(s, m) in a.missing.iter().take(10) {
            let name = format!("m{m}");
            let port = c.sentinel_ports[s];
            let now = client::cmd_once(
                port,
                &["SENTINEL", "get-master-addr-by-name", &name],
                Duration::from_secs(2),
            )
            .await
            .ok()
            .and_then(|v| client::as_addr_port(&v));
            detail.push(format!(
                "sentinel {s} ({port}) {name}: now reports {now:?} (replica {})",
                c.pairs[m].1
            ));
        }
        bail!(
            "{} of {} masters not switched on every sentinel within {:?}: {}",
            r.unswitched,
            o.masters,
            o.timeout,
            detail.join("; ")
        );
    }
    Ok(())
}

/// (sentinel, master) -> ms after the kill when the sentinel first named the master's replica.
type Polled = Arc<Mutex<BTreeMap<(usize, usize), f64>>>;

/// How often every sentinel is asked where every master is.
const ADDR_POLL: Duration = Duration::from_millis(20);

/// Asks sentinel `idx` (on `port`) where each master `m<i>` is, in one pipeline every [`ADDR_POLL`], and
/// records when it first names `want[i]` (the replica).
async fn poll_addresses(idx: usize, port: u16, want: Vec<u16>, t0: Instant, seen: Polled) {
    let mut con = None;
    let mut done = vec![false; want.len()];
    loop {
        if con.is_none() {
            con = client::connect(port, Duration::from_millis(500)).await.ok();
        }
        if let Some(c) = con.as_mut() {
            let mut pipe = redis::pipe();
            for i in 0..want.len() {
                pipe.cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(format!("m{i}"));
            }
            let r = tokio::time::timeout(
                Duration::from_secs(1),
                pipe.query_async::<Vec<redis::Value>>(c),
            )
            .await;
            match r {
                Ok(Ok(vals)) => {
                    let at = ms_since(t0, Instant::now());
                    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                    for (i, v) in vals.iter().enumerate().take(want.len()) {
                        if !done[i] && client::as_addr_port(v) == Some(want[i]) {
                            done[i] = true;
                            seen.insert((idx, i), at);
                        }
                    }
                }
                _ => con = None,
            }
        }
        if done.iter().all(|d| *d) {
            return;
        }
        tokio::time::sleep(ADDR_POLL).await;
    }
}

/// What the polls and the event log say about the storm so far.
struct Analysis {
    first_switch_ms: Option<f64>,
    all_switched_ms: Option<f64>,
    switched_within: Vec<usize>,
    unswitched: usize,
    spurious_masters: usize,
    extra_switches: usize,
    wrong_switches: usize,
    counts: BTreeMap<String, usize>,
    peer_sdown: usize,
    leaders: usize,
    /// (sentinel, master) pairs that never named the replica.
    missing: Vec<(usize, usize)>,
}

impl Analysis {
    fn count(&self, kind: &str) -> usize {
        self.counts.get(kind).copied().unwrap_or(0)
    }
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
    let mut leaders = std::collections::BTreeSet::new();
    for e in events.iter().filter(|e| e.at >= t0) {
        *counts.entry(e.channel.clone()).or_default() += 1;
        match e.channel.as_str() {
            "+switch-master" => {
                // "<name> <old ip> <old port> <new ip> <new port>"
                let f: Vec<&str> = e.payload.split_whitespace().collect();
                let Some(&m) = f.first().and_then(|n| names.get(*n)) else {
                    continue;
                };
                let new: Option<u16> = f.get(4).and_then(|p| p.parse().ok());
                if new != Some(pairs[m].1) {
                    wrong += 1;
                }
                switches
                    .entry((e.sentinel, m))
                    .or_default()
                    .push(ms_since(t0, e.at));
            }
            "+sdown" if e.payload.starts_with("sentinel ") => peer_sdown += 1,
            "+elected-leader" => {
                leaders.insert(e.sentinel);
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
    let switched_within = MARKS_S
        .iter()
        .map(|&s| {
            per_master
                .iter()
                .filter(|t| t.is_some_and(|t| t <= (s * 1000) as f64))
                .count()
        })
        .collect();
    Analysis {
        first_switch_ms: switches.values().map(|v| v[0]).reduce(f64::min),
        all_switched_ms,
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

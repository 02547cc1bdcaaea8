//! Resource use of one idle sentinel monitoring 1, 100, 1000... masters: RSS and CPU% over a window, for
//! several layouts and down-after settings.
//!
//! The masters are real redis-servers, each monitored under several names. A [`Layout`] says how many
//! names share one server. redis-sentinel monitors each name independently, with its own command and
//! pub/sub connection: every hello it publishes on a server reaches all of that server's hello
//! subscribers, so its hello fan-out grows with the square of the name count (100 masters as 10 servers
//! × 10 names receive 10× the hellos of 100 servers × 1 name), and it needs 2 descriptors per name.
//! vedette shares one link per server among the names there: 2 descriptors per server, and each hello
//! published there is received once.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use crate::client;
use crate::cluster::Timings;
use crate::procs::{self, Bins, Impl, Proc, WorkDir};

/// Redis's default `maxclients`.
const REDIS_DEFAULT_MAXCLIENTS: u64 = 10_000;

/// `masters` names spread over servers carrying `names_per_server` names each (the last may carry fewer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub masters: usize,
    pub names_per_server: usize,
}

impl Layout {
    pub fn servers(&self) -> usize {
        self.masters.div_ceil(self.names_per_server.max(1)).max(1)
    }

    /// Descriptors a sentinel of `imp` needs for it, plus listeners, logs and slack: redis-sentinel
    /// opens two connections (command + pub/sub) per master name, vedette two per server (the names
    /// monitoring one address share its link).
    pub fn descriptors(&self, imp: Impl) -> u64 {
        let links = match imp {
            Impl::Redis => self.masters,
            Impl::Vedette => self.servers(),
        };
        2 * links as u64 + 64
    }

    /// The `maxclients` line a sentinel of `imp` gets, when the default (10,000) is too low for its
    /// descriptors. Redis sizes its event loop to `maxclients + 128` descriptors and cannot watch a
    /// socket numbered above that: a redis-sentinel with 20,000 links would never hear back on the
    /// upper half of them, and its masters would look down. vedette counts its links apart from its
    /// clients, so for it the line would only raise the client cap; the configs differ only in what
    /// they must.
    pub fn maxclients(&self, imp: Impl) -> Option<u64> {
        let n = self.descriptors(imp);
        (n > REDIS_DEFAULT_MAXCLIENTS).then_some(n)
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.servers();
        match self.masters {
            1 => write!(f, "1 master"),
            m if s == 1 => write!(f, "{m} masters on 1 server"),
            m => write!(
                f,
                "{m} masters = {s} servers × {}",
                self.names_per_server.min(m)
            ),
        }
    }
}

/// `M` (masters, names per server from `--names-per-server`) or `M:N` (N names per server); `M` alone
/// is parsed with `names_per_server` 0, filled in by the caller.
impl FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (m, n) = match s.split_once(':') {
            Some((m, n)) => (m, Some(n)),
            None => (s, None),
        };
        let masters: usize = m.trim().parse().map_err(|_| {
            format!("bad layout {s:?}: expected MASTERS or MASTERS:NAMES_PER_SERVER")
        })?;
        let names_per_server = match n {
            Some(n) => n
                .trim()
                .parse()
                .ok()
                .filter(|&n: &usize| n > 0)
                .ok_or_else(|| format!("bad names per server in {s:?}"))?,
            None => 0,
        };
        if masters == 0 {
            return Err(format!("bad layout {s:?}: no masters"));
        }
        Ok(Layout {
            masters,
            names_per_server,
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ResourceResult {
    pub implementation: Impl,
    pub run: usize,
    pub masters: usize,
    pub names_per_server: usize,
    pub down_after_ms: u64,
    pub servers: usize,
    pub window_s: f64,
    /// VmRSS at the end of the window.
    pub rss_mib: Option<f64>,
    /// (utime + stime) over the window / window length.
    pub cpu_pct: Option<f64>,
    /// Every master still flagged plain `master` (no s_down) at the end of the window.
    pub all_masters_ok: Option<bool>,
    /// How long the final `SENTINEL MASTERS` (every master's state, ~400 bytes each) took to arrive.
    pub masters_reply_ms: Option<f64>,
    pub error: Option<String>,
}

/// A pool of plain redis-servers (masters without replicas) shared by all resource runs.
pub struct Pool {
    pub dir: WorkDir,
    pub ports: Vec<u16>,
    /// How long starting them took (spawn to every one answering PING).
    pub started_in: Duration,
    _procs: Vec<Proc>,
}

/// Above this many servers the pool runs with [`FLEET_ARGS`].
pub const FLEET_ABOVE: usize = 200;

/// Arguments of the servers of a large pool. They are the fixture, not the sentinel under test: 1000
/// idle redis-servers at the default `hz 10` cost about half a core of this 2-core machine, which both
/// implementations would compete with. `hz 1` runs their server cron once a second instead (nothing a
/// sentinel sees depends on it: PING, INFO and the hello channel are served by the event loop), and
/// `maxclients 1000` keeps each server's event-loop table small (a sentinel opens 2 links per name).
pub const FLEET_ARGS: &[&str] = &["--hz", "1", "--maxclients", "1000"];

impl Pool {
    /// `n` servers, spawned all at once and then waited for together (see [`procs::wait_servers`]); the
    /// deadline grows with `n` (30 s + 60 ms per server).
    pub async fn start(bins: &Bins, n: usize) -> Result<Pool> {
        let mut attempt = 1;
        loop {
            match Pool::start_once(bins, n).await {
                Err(e) if attempt < procs::START_ATTEMPTS && procs::port_was_taken(&e) => {
                    eprintln!("[resources] a port was taken, starting the pool over: {e:#}");
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    async fn start_once(bins: &Bins, n: usize) -> Result<Pool> {
        let t = Instant::now();
        let dir = WorkDir::new("resources")?;
        let args: &[&str] = if n > FLEET_ABOVE { FLEET_ARGS } else { &[] };
        let mut ports = Vec::with_capacity(n);
        let mut ps = Vec::with_capacity(n);
        for _ in 0..n {
            let port = procs::free_port()?;
            ps.push(procs::spawn_redis(bins, &dir.path, port, None, args)?);
            ports.push(port);
        }
        let deadline =
            Instant::now() + Duration::from_secs(30) + Duration::from_millis(60 * n as u64);
        procs::wait_servers("redis-servers", &mut ps, &ports, deadline).await?;
        Ok(Pool {
            dir,
            ports,
            started_in: t.elapsed(),
            _procs: ps,
        })
    }
}

/// Knobs of one resource run.
#[derive(Clone, Copy, Debug)]
pub struct ResourceOpts {
    pub layout: Layout,
    pub warmup: Duration,
    pub window: Duration,
    pub timings: Timings,
}

pub async fn run(
    bins: &Bins,
    imp: Impl,
    run: usize,
    pool: &Pool,
    o: ResourceOpts,
) -> ResourceResult {
    let servers = o.layout.servers().clamp(1, pool.ports.len().max(1));
    let mut r = ResourceResult {
        implementation: imp,
        run,
        masters: o.layout.masters,
        names_per_server: o.layout.names_per_server,
        down_after_ms: o.timings.down_after_ms,
        servers,
        window_s: o.window.as_secs_f64(),
        rss_mib: None,
        cpu_pct: None,
        all_masters_ok: None,
        masters_reply_ms: None,
        error: None,
    };
    if let Err(e) = inner(bins, imp, run, pool, o, servers, &mut r).await {
        r.error = Some(format!("{e:#}"));
    }
    r
}

async fn inner(
    bins: &Bins,
    imp: Impl,
    run: usize,
    pool: &Pool,
    o: ResourceOpts,
    servers: usize,
    r: &mut ResourceResult,
) -> Result<()> {
    let mut conf = String::new();
    if let Some(n) = o.layout.maxclients(imp) {
        conf.push_str(&format!("maxclients {n}\n"));
    }
    for i in 0..o.layout.masters {
        let port = pool
            .ports
            .get(i % servers)
            .ok_or_else(|| anyhow!("empty redis-server pool"))?;
        conf.push_str(&format!(
            "sentinel monitor m{i} 127.0.0.1 {port} 1\n\
             sentinel down-after-milliseconds m{i} {}\n\
             sentinel failover-timeout m{i} {}\n",
            o.timings.down_after_ms, o.timings.failover_timeout_ms
        ));
    }
    let port = procs::free_port()?;
    let dir = pool.dir.sub(&format!(
        "{}-{}x{}-{}-{run}",
        imp.label(),
        o.layout.masters,
        o.layout.names_per_server,
        o.timings.down_after_ms
    ))?;
    let mut sentinel = procs::start_sentinel(bins, imp, &dir, port, &conf).await?;
    let res = measure(&mut sentinel, port, o, r).await;
    sentinel.kill();
    res
}

async fn measure(
    sentinel: &mut Proc,
    port: u16,
    o: ResourceOpts,
    r: &mut ResourceResult,
) -> Result<()> {
    // Ready when every master has been INFOed (run id known).
    let masters = o.layout.masters;
    let limit = Duration::from_secs(60 + masters as u64 / 100);
    let deadline = Instant::now() + limit;
    loop {
        let (known, _) = masters_state(port, masters).await.unwrap_or((0, 0));
        if known == masters {
            break;
        }
        if !sentinel.alive() {
            bail!(
                "sentinel exited before it knew every master:\n{}",
                sentinel.log_tail(10)
            );
        }
        if Instant::now() >= deadline {
            bail!("only {known}/{masters} masters have a run id after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(o.warmup).await;
    let pid = sentinel.pid();
    let t0 = Instant::now();
    let c0 = procs::cpu_ticks(pid).ok_or_else(|| anyhow!("cannot read /proc/{pid}/stat"))?;
    tokio::time::sleep(o.window).await;
    let c1 = procs::cpu_ticks(pid).ok_or_else(|| anyhow!("cannot read /proc/{pid}/stat"))?;
    let secs = t0.elapsed().as_secs_f64();
    r.cpu_pct = Some((c1.saturating_sub(c0)) as f64 / procs::clk_tck() / secs * 100.0);
    r.rss_mib = procs::rss_kib(pid).map(|k| k as f64 / 1024.0);
    if !sentinel.alive() {
        bail!(
            "sentinel exited during the window:\n{}",
            sentinel.log_tail(10)
        );
    }
    let t = Instant::now();
    let (_, ok) = masters_state(port, masters).await?;
    r.masters_reply_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
    r.all_masters_ok = Some(ok == masters);
    Ok(())
}

/// (masters with a run id, masters flagged exactly `master`) from `SENTINEL MASTERS`.
async fn masters_state(port: u16, masters: usize) -> Result<(usize, usize)> {
    let items = client::sentinel_masters(port, masters).await?;
    let known = items
        .iter()
        .filter(|m| m.get("runid").is_some_and(|id| !id.is_empty()))
        .count();
    let ok = items
        .iter()
        .filter(|m| m.get("flags").map(String::as_str) == Some("master"))
        .count();
    Ok((known, ok))
}

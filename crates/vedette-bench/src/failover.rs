//! One failover trial: settle a cluster, write through the sentinels, fault the master, time every step of
//! the failover from the sentinels' events and from what a client sees, then check that no write the
//! cluster acknowledged after the failover was lost.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::{self, Conns};
use crate::cluster::{self, Cluster, Timings, MASTER_NAME};
use crate::procs::{self, Bins, Impl};

/// How the master is made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// SIGKILL: connections are refused at once.
    Kill,
    /// SIGSTOP: the process hangs; its kernel still accepts connections, nothing answers.
    Stop,
}

impl Fault {
    pub fn label(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Stop => "stop",
        }
    }
}

/// Knobs of a failover trial.
#[derive(Clone, Debug)]
pub struct TrialOpts {
    pub timings: Timings,
    /// From the fault until the failover must have converged.
    pub trial_timeout: Duration,
    /// How long to keep watching (writer running, events recorded) after convergence / rejoin.
    pub watch: Duration,
    pub rejoin: bool,
    /// Pause between two acknowledged writes of the writer.
    pub write_interval: Duration,
    pub keep: bool,
}

/// Timeout of every client command and connect of the writer and the pollers.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(100);
/// Poll period of the writer's re-discovery and of every convergence check.
const POLL: Duration = Duration::from_millis(10);

/// One sentinel event as recorded by a subscriber.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(crate) at: Instant,
    pub(crate) sentinel: usize,
    pub(crate) channel: String,
    pub(crate) payload: String,
}

/// An event in a trial's result: milliseconds after the fault.
#[derive(Clone, Debug, Serialize)]
pub struct EventRec {
    pub ms: f64,
    pub sentinel: usize,
    pub channel: String,
    pub payload: String,
}

/// Everything measured in one trial. Times are milliseconds after the fault; `None` = not reached.
#[derive(Clone, Debug, Serialize)]
pub struct TrialResult {
    pub implementation: Impl,
    pub fault: Fault,
    pub trial: usize,
    pub converged: bool,
    pub error: Option<String>,
    pub settle_ms: Option<f64>,
    pub sdown_ms: Option<f64>,
    pub odown_ms: Option<f64>,
    pub elected_ms: Option<f64>,
    pub promoted_ms: Option<f64>,
    pub switch_ms: Option<f64>,
    pub all_agree_ms: Option<f64>,
    pub first_write_ms: Option<f64>,
    /// first_write_ms − down-after: the part of the outage that is not failure detection.
    pub outage_beyond_detection_ms: Option<f64>,
    /// Last write acknowledged by the old master before the fault → first one on the new master.
    pub write_gap_ms: Option<f64>,
    pub relinked_ms: Option<f64>,
    /// Time the returned old master stayed a master (first PONG → `role:slave`).
    pub rejoin_writable_ms: Option<f64>,
    /// Probe writes the returned old master accepted.
    pub rejoin_acked_writes: Option<u64>,
    /// `+switch-master` events beyond the first, summed over sentinels.
    pub spurious_switches: Option<u64>,
    pub acked_writes: u64,
    pub lost_writes: Option<u64>,
    /// Lost writes that were acknowledged by another server than the old master, or after the first
    /// `+switch-master`: these must never be lost.
    pub lost_after_failover: Option<u64>,
    /// Acknowledged writes per server port (shows where a client kept writing).
    pub acks_by_port: BTreeMap<u16, u64>,
    /// Lost writes per port that acknowledged them.
    pub lost_by_port: BTreeMap<u16, u64>,
    /// Slowest fsync of the `--fsync-probe` from 1 s before the fault to convergence.
    pub fsync_max_ms: Option<f64>,
    pub old_master: u16,
    pub new_master: Option<u16>,
    pub final_master: Option<u16>,
    pub workdir: Option<String>,
    pub events: Vec<EventRec>,
}

impl TrialResult {
    fn new(imp: Impl, fault: Fault, trial: usize) -> TrialResult {
        TrialResult {
            implementation: imp,
            fault,
            trial,
            converged: false,
            error: None,
            settle_ms: None,
            sdown_ms: None,
            odown_ms: None,
            elected_ms: None,
            promoted_ms: None,
            switch_ms: None,
            all_agree_ms: None,
            first_write_ms: None,
            outage_beyond_detection_ms: None,
            write_gap_ms: None,
            relinked_ms: None,
            rejoin_writable_ms: None,
            rejoin_acked_writes: None,
            spurious_switches: None,
            acked_writes: 0,
            lost_writes: None,
            lost_after_failover: None,
            acks_by_port: BTreeMap::new(),
            lost_by_port: BTreeMap::new(),
            fsync_max_ms: None,
            old_master: 0,
            new_master: None,
            final_master: None,
            workdir: None,
            events: Vec::new(),
        }
    }

    /// One line for the progress log.
    pub fn summary(&self) -> String {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        let n = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        let mut s = format!(
            "sdown {} odown {} elected {} promoted {} switch {} all-agree {} first-write {} relinked {} ms; \
             rejoin-writable {} ms; lost {}/{} (after failover {}); spurious {}",
            f(self.sdown_ms),
            f(self.odown_ms),
            f(self.elected_ms),
            f(self.promoted_ms),
            f(self.switch_ms),
            f(self.all_agree_ms),
            f(self.first_write_ms),
            f(self.relinked_ms),
            f(self.rejoin_writable_ms),
            n(self.lost_writes),
            self.acked_writes,
            n(self.lost_after_failover),
            n(self.spurious_switches),
        );
        if let Some(f) = self.fsync_max_ms {
            s.push_str(&format!("; fsync max {f:.0} ms"));
        }
        if self.lost_writes.unwrap_or(0) > 0 || self.spurious_switches.unwrap_or(0) > 0 {
            s.push_str(&format!(
                "; old master {}, acks by port {:?}, lost by port {:?}, final master {:?}",
                self.old_master, self.acks_by_port, self.lost_by_port, self.final_master
            ));
        }
        if let Some(e) = &self.error {
            s.push_str(&format!("; ERROR: {e}"));
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------------------
// Subscribers

pub(crate) type Events = Arc<Mutex<Vec<Event>>>;

/// PSUBSCRIBEs `*` on a sentinel and records every message with its arrival time. `ready` fires once the
/// subscription is confirmed.
pub(crate) async fn subscriber(
    port: u16,
    idx: usize,
    events: Events,
    ready: oneshot::Sender<Result<()>>,
) {
    let setup = async {
        let c = redis::Client::open(("127.0.0.1", port))?;
        let mut ps = tokio::time::timeout(Duration::from_secs(2), c.get_async_pubsub())
            .await
            .map_err(|_| anyhow!("pubsub connect to {port} timed out"))??;
        tokio::time::timeout(Duration::from_secs(2), ps.psubscribe("*"))
            .await
            .map_err(|_| anyhow!("psubscribe on {port} timed out"))??;
        Ok::<_, anyhow::Error>(ps)
    };
    let ps = match setup.await {
        Ok(ps) => {
            let _ = ready.send(Ok(()));
            ps
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut stream = ps.into_on_message();
    while let Some(msg) = stream.next().await {
        let at = Instant::now();
        let ev = Event {
            at,
            sentinel: idx,
            channel: msg.get_channel_name().to_string(),
            payload: msg.get_payload::<String>().unwrap_or_default(),
        };
        events.lock().unwrap_or_else(|e| e.into_inner()).push(ev);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Writer

#[derive(Clone, Copy, Debug)]
struct Ack {
    seq: u64,
    at: Instant,
    port: u16,
}

struct Writer {
    acks: Mutex<Vec<Ack>>,
    stop: AtomicBool,
}

impl Writer {
    fn acks(&self) -> Vec<Ack> {
        self.acks.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Asks one sentinel where the master is, (re)connecting when needed.
async fn ask_sentinel(slot: &mut Option<MultiplexedConnection>, port: u16) -> Option<u16> {
    if slot.is_none() {
        *slot = client::connect(port, CLIENT_TIMEOUT).await.ok();
    }
    let con = slot.as_mut()?;
    let answer = client::master_port(con, MASTER_NAME, CLIENT_TIMEOUT).await;
    if answer.is_none() {
        *slot = None;
    }
    answer
}

/// Asks every sentinel at once; prefers an address other than `bad` (the one that just failed), so the
/// writer follows the first sentinel that knows about the failover, like a client rotating through its
/// sentinel list would.
async fn discover(
    slots: &mut [Option<MultiplexedConnection>],
    ports: &[u16],
    bad: Option<u16>,
) -> Option<u16> {
    let answers: Vec<u16> = futures_util::future::join_all(
        slots
            .iter_mut()
            .zip(ports)
            .map(|(s, &p)| ask_sentinel(s, p)),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for &a in answers.iter().filter(|&&a| Some(a) != bad) {
        *counts.entry(a).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(_, n)| n)
        .map(|(p, _)| p)
        .or_else(|| answers.first().copied())
}

/// Writes `SET k:<seq> <seq>` to wherever the sentinels say the master is, recording every acknowledged
/// write; on any error re-discovers the master every [`POLL`].
async fn writer(sentinels: Vec<u16>, w: Arc<Writer>, interval: Duration) {
    let mut slots: Vec<Option<MultiplexedConnection>> = vec![None; sentinels.len()];
    let mut cur: Option<(u16, MultiplexedConnection)> = None;
    let mut bad: Option<u16> = None;
    let mut seq = 0u64;
    while !w.stop.load(Ordering::Relaxed) {
        let Some((port, con)) = cur.as_mut() else {
            match discover(&mut slots, &sentinels, bad).await {
                Some(p) => match client::connect(p, CLIENT_TIMEOUT).await {
                    Ok(c) => cur = Some((p, c)),
                    Err(_) => {
                        bad = Some(p);
                        tokio::time::sleep(POLL).await;
                    }
                },
                None => tokio::time::sleep(POLL).await,
            }
            continue;
        };
        seq += 1;
        let s = seq.to_string();
        let key = format!("k:{s}");
        match client::run(con, &["SET", &key, &s], CLIENT_TIMEOUT).await {
            Ok(redis::Value::Okay) => {
                let ack = Ack {
                    seq,
                    at: Instant::now(),
                    port: *port,
                };
                w.acks.lock().unwrap_or_else(|e| e.into_inner()).push(ack);
                bad = None;
                tokio::time::sleep(interval).await;
            }
            _ => {
                bad = Some(*port);
                cur = None;
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The trial

pub(crate) fn ms_since(t0: Instant, t: Instant) -> f64 {
    if t >= t0 {
        (t - t0).as_secs_f64() * 1000.0
    } else {
        -((t0 - t).as_secs_f64() * 1000.0)
    }
}

/// Aborts the spawned tasks of a trial when it ends, however it ends.
pub(crate) struct Tasks(pub(crate) Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// First-occurrence times of the failover milestones, read from the event log.
#[derive(Default)]
struct Milestones {
    sdown: Option<Instant>,
    odown: Option<Instant>,
    elected: Option<Instant>,
    promoted: Option<Instant>,
    switch: Option<(Instant, u16)>,
}

impl Milestones {
    /// Writes the milestones into `r` as milliseconds since the fault at `t0`.
    fn record(&self, r: &mut TrialResult, t0: Instant) {
        let ms = |t: Option<Instant>| t.map(|t| ms_since(t0, t));
        r.sdown_ms = ms(self.sdown);
        r.odown_ms = ms(self.odown);
        r.elected_ms = ms(self.elected);
        r.promoted_ms = ms(self.promoted);
        r.switch_ms = ms(self.switch.map(|s| s.0));
    }
}

fn milestones(events: &[Event], since: Instant, old: u16) -> Milestones {
    let master_prefix = format!("master {MASTER_NAME} 127.0.0.1 {old}");
    let mut m = Milestones::default();
    for e in events.iter().filter(|e| e.at >= since) {
        let first = |slot: &mut Option<Instant>| {
            if slot.is_none() {
                *slot = Some(e.at);
            }
        };
        match e.channel.as_str() {
            "+sdown" if e.payload.starts_with(&master_prefix) => first(&mut m.sdown),
            "+odown" if e.payload.starts_with(&master_prefix) => first(&mut m.odown),
            "+elected-leader" if e.payload.starts_with(&master_prefix) => first(&mut m.elected),
            "+promoted-slave" => first(&mut m.promoted),
            "+switch-master" if m.switch.is_none() => {
                let new = e
                    .payload
                    .split_whitespace()
                    .last()
                    .and_then(|p| p.parse().ok());
                if let Some(new) = new {
                    m.switch = Some((e.at, new));
                }
            }
            _ => {}
        }
    }
    m
}

/// Runs one trial; never returns early without killing its processes (the [`Cluster`] does on drop).
pub async fn run_trial(
    bins: &Bins,
    imp: Impl,
    fault: Fault,
    trial: usize,
    o: &TrialOpts,
) -> TrialResult {
    let mut r = TrialResult::new(imp, fault, trial);
    let mut cluster = None;
    if let Err(e) = trial_inner(bins, o, &mut r, &mut cluster).await {
        r.error = Some(format!("{e:#}"));
    }
    if let Some(mut c) = cluster {
        c.kill_all();
        if r.error.is_some() || !r.converged || o.keep {
            c.dir.keep();
            r.workdir = Some(c.dir.path.display().to_string());
            if r.error.is_some() {
                eprintln!("{}", c.sentinel_logs(15));
            }
        }
    }
    r
}

async fn trial_inner(
    bins: &Bins,
    o: &TrialOpts,
    r: &mut TrialResult,
    slot: &mut Option<Cluster>,
) -> Result<()> {
    let label = format!("{}-{}", r.fault.label(), r.trial);
    let c = slot.insert(Cluster::start(bins, r.implementation, o.timings, &label).await?);
    r.old_master = c.master;
    let settle = c.settle(Duration::from_secs(30)).await?;
    r.settle_ms = Some(settle.as_secs_f64() * 1000.0);

    // Subscribers, connected before anything happens.
    let events: Events = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Tasks(Vec::new());
    let mut readies = Vec::new();
    for (i, &p) in c.sentinel_ports.iter().enumerate() {
        let (tx, rx) = oneshot::channel();
        tasks
            .0
            .push(tokio::spawn(subscriber(p, i, events.clone(), tx)));
        readies.push(rx);
    }
    for rx in readies {
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .map_err(|_| anyhow!("subscriber not ready within 5 s"))?
            .map_err(|_| anyhow!("subscriber task ended"))??;
    }

    // The writer, warmed up on the master.
    let w = Arc::new(Writer {
        acks: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });
    let writer_task = tokio::spawn(writer(
        c.sentinel_ports.clone(),
        w.clone(),
        o.write_interval,
    ));
    let warm_deadline = Instant::now() + Duration::from_secs(10);
    let warm_start = Instant::now();
    loop {
        let n = w.acks.lock().unwrap_or_else(|e| e.into_inner()).len();
        if n >= 50 && warm_start.elapsed() >= Duration::from_millis(500) {
            break;
        }
        if Instant::now() >= warm_deadline {
            bail!("writer got only {n} acknowledged writes in 10 s before the fault");
        }
        tokio::time::sleep(POLL).await;
    }

    // The fault.
    let old = c.master;
    let sig = match r.fault {
        Fault::Kill => libc::SIGKILL,
        Fault::Stop => libc::SIGSTOP,
    };
    let old_proc = c
        .redis
        .get(&old)
        .ok_or_else(|| anyhow!("no process for the master"))?;
    old_proc.signal(sig)?;
    let t0 = Instant::now();

    // Convergence: switch seen, all sentinels agree, a write acknowledged by the new master, the other
    // replica replicating from it with its link up.
    let deadline = t0 + o.trial_timeout;
    let mut polls = Conns::new(CLIENT_TIMEOUT);
    let mut all_agree: Option<Instant> = None;
    let mut relinked: Option<Instant> = None;
    let mut first_write: Option<Instant> = None;
    let mut m;
    loop {
        m = milestones(&events.lock().unwrap_or_else(|e| e.into_inner()), t0, old);
        if let Some((_, new)) = m.switch {
            if all_agree.is_none() {
                let mut ok = true;
                for &s in &c.sentinel_ports {
                    let v = polls
                        .run(s, &["SENTINEL", "get-master-addr-by-name", MASTER_NAME])
                        .await;
                    if v.ok().as_ref().and_then(client::as_addr_port) != Some(new) {
                        ok = false;
                        break;
                    }
                }
                if ok {
                    all_agree = Some(Instant::now());
                }
            }
            if relinked.is_none() {
                if let Some(&other) = c.replicas.iter().find(|&&p| p != new) {
                    if cluster::replica_linked(other, new).await {
                        relinked = Some(Instant::now());
                    }
                }
            }
            if first_write.is_none() {
                first_write = w
                    .acks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .find(|a| a.port == new && a.at > t0)
                    .map(|a| a.at);
            }
        }
        if all_agree.is_some() && relinked.is_some() && first_write.is_some() {
            r.converged = true;
            break;
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let converged_at = Instant::now();
    r.fsync_max_ms = procs::fsync_max_between(
        t0.checked_sub(Duration::from_secs(1)).unwrap_or(t0),
        converged_at,
    );
    m.record(r, t0);
    let ms = |t: Option<Instant>| t.map(|t| ms_since(t0, t));
    r.new_master = m.switch.map(|s| s.1);
    r.all_agree_ms = ms(all_agree);
    r.first_write_ms = ms(first_write);
    r.relinked_ms = ms(relinked);
    r.outage_beyond_detection_ms = r.first_write_ms.map(|f| f - o.timings.down_after_ms as f64);
    let last_old = w
        .acks()
        .iter()
        .rev()
        .find(|a| a.port == old && a.at <= t0)
        .map(|a| a.at);
    if let (Some(a), Some(b)) = (last_old, first_write) {
        r.write_gap_ms = Some(ms_since(a, b));
    }
    let result = if r.converged {
        after_convergence(bins, o, r, c, &w, t0, converged_at).await
    } else {
        let mut missing = Vec::new();
        if m.switch.is_none() {
            missing.push("+switch-master");
        }
        if all_agree.is_none() {
            missing.push("all sentinels reporting the new master");
        }
        if first_write.is_none() {
            missing.push("a write acknowledged by the new master");
        }
        if relinked.is_none() {
            missing.push("the other replica re-linked");
        }
        Err(anyhow!(
            "failover did not converge within {:?}; missing: {}",
            o.trial_timeout,
            missing.join(", ")
        ))
    };
    w.stop.store(true, Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer_task).await;
    let acks = w.acks();
    r.acked_writes = acks.len() as u64;
    for a in &acks {
        *r.acks_by_port.entry(a.port).or_default() += 1;
    }

    let evs = events.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let since = t0.checked_sub(Duration::from_secs(1)).unwrap_or(t0);
    r.events = evs
        .iter()
        .filter(|e| e.at >= since)
        .map(|e| EventRec {
            ms: ms_since(t0, e.at),
            sentinel: e.sentinel,
            channel: e.channel.clone(),
            payload: e.payload.clone(),
        })
        .collect();
    let mut per_sentinel = vec![0u64; c.sentinel_ports.len()];
    for e in evs
        .iter()
        .filter(|e| e.at >= t0 && e.channel == "+switch-master")
    {
        if let Some(n) = per_sentinel.get_mut(e.sentinel) {
            *n += 1;
        }
    }
    r.spurious_switches = Some(per_sentinel.iter().map(|&n| n.saturating_sub(1)).sum());
    // The convergence loop may have stopped before a milestone event arrived (the leader can publish
    // +promoted-slave after the observers' +switch-master and the client's first write): take the first
    // occurrences from the complete log.
    milestones(&evs, t0, old).record(r, t0);
    if result.is_err() || !r.converged {
        print_timeline(r);
    }
    result
}

/// Rejoin, watch, and the lost-write check.
async fn after_convergence(
    bins: &Bins,
    o: &TrialOpts,
    r: &mut TrialResult,
    c: &mut Cluster,
    w: &Writer,
    t0: Instant,
    converged_at: Instant,
) -> Result<()> {
    let old = c.master;
    let mut watch_from = converged_at;
    if o.rejoin {
        let res = rejoin(bins, r.fault, c, old, o.trial_timeout).await;
        watch_from = Instant::now();
        match res {
            Ok((writable, acked)) => {
                r.rejoin_writable_ms = Some(writable.as_secs_f64() * 1000.0);
                r.rejoin_acked_writes = Some(acked);
            }
            Err(e) => bail!("rejoin: {e:#}"),
        }
    }
    tokio::time::sleep_until((watch_from + o.watch).into()).await;
    w.stop.store(true, Ordering::Relaxed);
    // Let an in-flight write finish (bounded by its own timeout) before reading back.
    tokio::time::sleep(CLIENT_TIMEOUT + POLL).await;

    // Final master by majority of the sentinels.
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for &s in &c.sentinel_ports {
        let v = client::cmd_once(
            s,
            &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
            Duration::from_millis(500),
        )
        .await;
        if let Some(p) = v.ok().as_ref().and_then(client::as_addr_port) {
            *counts.entry(p).or_default() += 1;
        }
    }
    let fin = counts
        .into_iter()
        .max_by_key(|&(_, n)| n)
        .map(|(p, _)| p)
        .ok_or_else(|| anyhow!("no sentinel reports a master at the end"))?;
    r.final_master = Some(fin);

    let acks = w.acks();
    // Writes acknowledged after this instant were acknowledged after the failover.
    let switch_at = t0 + Duration::from_secs_f64(r.switch_ms.unwrap_or(0.0).max(0.0) / 1000.0);
    let mut con = client::connect(fin, Duration::from_secs(5)).await?;
    let mut lost = 0u64;
    let mut lost_after = 0u64;
    for chunk in acks.chunks(500) {
        let mut pipe = redis::pipe();
        for a in chunk {
            pipe.cmd("EXISTS").arg(format!("k:{}", a.seq));
        }
        let found: Vec<i64> =
            tokio::time::timeout(Duration::from_secs(5), pipe.query_async(&mut con))
                .await
                .map_err(|_| anyhow!("EXISTS pipeline timed out"))??;
        for (a, f) in chunk.iter().zip(found) {
            if f == 0 {
                lost += 1;
                *r.lost_by_port.entry(a.port).or_default() += 1;
                if a.port != old || a.at > switch_at {
                    lost_after += 1;
                }
            }
        }
    }
    r.lost_writes = Some(lost);
    r.lost_after_failover = Some(lost_after);
    Ok(())
}

/// Brings the old master back (restart after SIGKILL, SIGCONT after SIGSTOP) and measures how long it
/// stays a writable master: from its first PONG until it reports `role:slave`. Returns that time and the
/// number of probe writes it accepted.
async fn rejoin(
    bins: &Bins,
    fault: Fault,
    c: &mut Cluster,
    old: u16,
    timeout: Duration,
) -> Result<(Duration, u64)> {
    match fault {
        Fault::Kill => {
            if let Some(mut p) = c.redis.remove(&old) {
                p.kill();
            }
            let p = procs::start_redis(bins, &c.dir.path, old, None, &[]).await?;
            c.redis.insert(old, p);
        }
        Fault::Stop => {
            let p = c
                .redis
                .get(&old)
                .ok_or_else(|| anyhow!("no process for the old master"))?;
            p.signal(libc::SIGCONT)?;
            procs::wait_pong(old, Duration::from_secs(5)).await?;
        }
    }
    let up = Instant::now();
    let deadline = up + timeout;
    let mut conns = Conns::new(CLIENT_TIMEOUT);
    let mut acked = 0u64;
    let mut n = 0u64;
    loop {
        if let Ok(v) = conns.run(old, &["INFO", "replication"]).await {
            if client::info_fields(&v).get("role").map(String::as_str) == Some("slave") {
                return Ok((up.elapsed(), acked));
            }
        }
        n += 1;
        let key = format!("rejoin:{n}");
        if let Ok(redis::Value::Okay) = conns.run(old, &["SET", &key, "1"]).await {
            acked += 1;
        }
        if Instant::now() >= deadline {
            bail!("old master 127.0.0.1:{old} still a master {timeout:?} after it came back");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Prints the failover-relevant events of a failed trial to stderr.
fn print_timeline(r: &TrialResult) {
    eprintln!(
        "  timeline of {} {} trial {} (ms after the fault; S0..S2 = sentinels):",
        r.implementation.label(),
        r.fault.label(),
        r.trial
    );
    for e in &r.events {
        if e.channel.starts_with("+sdown")
            || e.channel.contains("odown")
            || e.channel.contains("failover")
            || e.channel.contains("elected")
            || e.channel.contains("vote")
            || e.channel.contains("epoch")
            || e.channel.contains("slave")
            || e.channel.contains("switch")
            || e.channel.contains("tilt")
        {
            eprintln!(
                "  {:>8.0}  S{}  {:<32} {}",
                e.ms, e.sentinel, e.channel, e.payload
            );
        }
    }
}

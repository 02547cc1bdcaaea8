//! The world: sentinels, model Redis instances, the network, the client, and the event scheduler.
//!
//! Virtual time only moves when the scheduler pops the next event (a `BinaryHeap` ordered by
//! `(time, insertion seq)` — never by hash or pointer order). Each pop is one `handle_*` call on one node
//! (or one step of a model), after which the node's outputs are executed with the same rules as the real
//! driver: in order, each `Persist` handed to the node's disk (the core emits the next one only after the
//! result of the last; what depends on a write is held inside the core until then).
//! Nothing executing an output ever calls into another core directly; cross-node effects are events.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use vedette_core::{
    ClientId, ConnectSpec, Event, Input, Instant, LinkId, LinkKind, LinkReply, MasterConfig,
    OutCommand, Output, PersistSeq, PersistedMaster, PersistedState, Reply, Sentinel,
};

use crate::clock::LocalClock;
use crate::history::{Act, History};
use crate::invariants::Via;
use crate::invariants::{durable_epoch, Check, Checker, Violation};
use crate::node::{Awaiting, Disk, NodeCall, Session, SimNode};
use crate::plan::{FaultKind, Host, Plan, RedisSel, HOST, REDIS_BASE_PORT, SENTINEL_BASE_PORT};
use crate::redis_model::{ModelRedis, Role};
use crate::rng::Rng;

/// The shell calls `handle_timeout` at least this often (local ms).
const TICK_MS: u64 = 100;
/// Liveness probe period (global ms).
const PROBE_MS: u64 = 250;
/// Consecutive converged probes needed to end the liveness phase.
const STABLE_PROBES: u32 = 3;
/// Client id used for the plan's `SENTINEL DEBUG` commands.
const INTERNAL_CLIENT: ClientId = ClientId(u64::MAX - 1);
/// Base of the liveness probes' client ids.
const PROBE_BASE: u64 = 1 << 40;
/// Base of the writing client's query ids.
const WRITER_BASE: u64 = 1 << 41;

/// How much tracing a run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceMode {
    /// None (fast path).
    Off,
    /// Keep the last `n` lines (for failure reports).
    Tail(usize),
    /// Print every line to stdout as it happens.
    Full,
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
pub struct RunOpts {
    /// Tracing.
    pub trace: TraceMode,
    /// Livelock bound on scheduler steps.
    pub max_events: u64,
    /// Called on every freshly built `Sentinel` (start and restarts), e.g. to enable a mutation knob.
    pub on_new_sentinel: Option<fn(&mut Sentinel, usize)>,
    /// Stop at the first violation (default) or keep going and collect only the first.
    pub stop_at_violation: bool,
    /// Let the plan's disks fail writes (`PersistFailed`); off to hunt other bugs.
    pub persist_failures: bool,
    /// Properties whose breaches are only counted as findings (to look past a known bug).
    pub relaxed: &'static [&'static str],
}

impl Default for RunOpts {
    fn default() -> Self {
        RunOpts {
            trace: TraceMode::Off,
            max_events: 3_000_000,
            on_new_sentinel: None,
            stop_at_violation: true,
            persist_failures: true,
            relaxed: &[],
        }
    }
}

/// Figures of one run.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Scheduler steps.
    pub events: u64,
    /// Calls into cores.
    pub core_calls: u64,
    /// Simulated time at the end (ms).
    pub sim_ms: u64,
    /// Distinct (master, epoch) promotions.
    pub failovers: u64,
    /// Distinct (master, epoch) failover attempts.
    pub election_rounds: u64,
    /// Some failover needed more than one election round.
    pub multi_round: bool,
    /// Writes acknowledged to the client.
    pub acked_writes: u64,
    /// Acknowledged writes missing from the final master.
    pub lost_writes: u64,
    /// Time from heal to convergence (ms).
    pub recovery_ms: Option<u64>,
    /// `+tilt` events.
    pub tilts: u64,
    /// Sentinel crashes.
    pub crashes: u64,
    /// Persists issued.
    pub persists: u64,
    /// Votes recorded.
    pub votes: u64,
    /// Agreed-set-only property breaches in discovery plans.
    pub findings: u64,
    /// Events emitted by cores.
    pub core_events: u64,
    /// `SENTINEL DEBUG` was rejected by the core (timings stayed at defaults).
    pub debug_rejected: bool,
    /// `+sdown` of a freshly switched master before down-after elapsed (finding `sdown_needs_down_after`).
    pub early_sdown: u64,
}

/// Where a link goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Redis(usize),
    Sentinel(usize),
    Nowhere,
}

/// What an is-master-down-by-addr reply said, so its arrival at the asker can be recorded.
#[derive(Debug, Clone)]
struct VoteTag {
    voter: usize,
    master: usize,
    epoch: u64,
    leader: String,
    port: u16,
    down: bool,
}

#[derive(Debug, Clone)]
enum Msg {
    Cmd(OutCommand),
    Reply(LinkReply, Option<Box<VoteTag>>),
    Hello(Vec<u8>),
    /// Graceful close by the server (CLIENT KILL) after what was queued before.
    Close,
}

#[derive(Debug, Default)]
struct Dir {
    q: VecDeque<(u64, Msg)>,
    wake: bool,
    last: u64,
    stalled_since: Option<u64>,
}

#[derive(Debug)]
struct Conn {
    node: usize,
    link: LinkId,
    target: Target,
    up: bool,
    fwd: Dir,
    back: Dir,
    client: Option<ClientId>,
}

#[derive(Debug)]
enum Ev {
    Timer {
        node: usize,
        gen: u64,
    },
    PersistDone {
        node: usize,
        inc: u64,
    },
    ConnectDone {
        conn: u64,
    },
    ConnectFail {
        conn: u64,
    },
    Wake {
        conn: u64,
        fwd: bool,
    },
    StallCheck {
        conn: u64,
        fwd: bool,
        since: u64,
    },
    LinkDown {
        node: usize,
        inc: u64,
        link: LinkId,
        gen: u64,
    },
    ReplTick,
    ClientTick,
    Probe,
    FaultStart(usize),
    FaultEnd(usize),
    FlapToggle(usize),
    RestartSentinel {
        node: usize,
        inc: u64,
    },
    StartSafety,
    Heal,
}

struct Sched {
    t: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Sched {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Sched {}
impl PartialOrd for Sched {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Sched {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.seq).cmp(&(self.t, self.seq))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Safety,
    Liveness,
    Done,
}

#[derive(Debug, Default)]
struct ClientModel {
    believed: Vec<Option<usize>>,
    last_query: Vec<u64>,
    next_id: u64,
    acked: Vec<(u64, usize)>,
    rr: usize,
}

#[derive(Debug, Default)]
struct FaultRt {
    active: bool,
    blocks: Vec<(usize, usize)>,
    redis: Option<usize>,
    flap_on: bool,
    fired: bool,
}

/// One simulated world.
pub struct World {
    plan: Plan,
    opts: RunOpts,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Sched>,
    nodes: Vec<SimNode>,
    redis: Vec<ModelRedis>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    next_client: u64,
    n_hosts: usize,
    blocked: Vec<u32>,
    loss_extra_ppm: u32,
    latency_extra: u64,
    ids: BTreeMap<String, usize>,
    history: History,
    checker: Checker,
    client: ClientModel,
    faults: Vec<FaultRt>,
    phase: Phase,
    heal_at: u64,
    probe_round: u64,
    probe_answers: BTreeMap<(usize, usize), (u64, Option<u16>)>,
    /// (node, master) -> global time of its last `+switch-master`.
    switched_at: BTreeMap<(usize, usize), u64>,
    stable: u32,
    first_converged: Option<u64>,
    stats: Stats,
    trace: VecDeque<String>,
    violation: Option<Violation>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Seed.
    pub seed: u64,
    /// Fingerprint of the whole run (equal for equal seeds).
    pub history_hash: u64,
    /// The first broken property.
    pub violation: Option<Violation>,
    /// Figures.
    pub stats: Stats,
    /// Last trace lines (when tracing).
    pub trace: Vec<String>,
    /// Last acts of the history.
    pub acts: Vec<String>,
    /// Agreed-set-only breaches in discovery plans.
    pub findings: Vec<Violation>,
}

fn argv(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn short(s: String) -> String {
    if s.len() > 240 {
        let mut cut = 240;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &s[..cut])
    } else {
        s
    }
}

impl World {
    /// Build the world of a plan (nothing runs yet).
    pub fn new(plan: Plan, opts: RunOpts) -> World {
        let mut rng = Rng::new(plan.seed ^ 0xD1B5_4A32_D192_ED03);
        let n = plan.n_sentinels;
        let n_r = plan.instances.len();
        let n_hosts = n + n_r + 1;
        let myids: Vec<String> = (0..n).map(|_| rng.hex40()).collect();
        let redis: Vec<ModelRedis> = plan
            .instances
            .iter()
            .enumerate()
            .map(|(k, ip)| {
                let g = &plan.groups[ip.group];
                let role = if g.master == k {
                    Role::Master
                } else {
                    Role::Replica {
                        host: HOST.into(),
                        port: plan.instances[g.master].port,
                    }
                };
                ModelRedis::new(k, ip, rng.hex40(), role)
            })
            .collect();
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let mut st = PersistedState::new(myids[i].clone());
            st.global.port = SENTINEL_BASE_PORT + i as u16;
            for g in &plan.groups {
                let mut mc = MasterConfig::new(
                    g.name.clone(),
                    HOST,
                    plan.instances[g.master].port,
                    plan.quorum,
                );
                mc.down_after_ms = plan.down_after_ms;
                mc.failover_timeout_ms = plan.failover_timeout_ms;
                mc.parallel_syncs = plan.parallel_syncs;
                let mut pm = PersistedMaster::new(mc);
                if plan.known_replicas {
                    pm.known_replicas = g
                        .replicas
                        .iter()
                        .map(|&k| (HOST.to_string(), plan.instances[k].port))
                        .collect();
                }
                if plan.agreed_set {
                    pm.known_sentinels = (0..n)
                        .filter(|&j| j != i)
                        .map(|j| {
                            (
                                HOST.to_string(),
                                SENTINEL_BASE_PORT + j as u16,
                                myids[j].clone(),
                            )
                        })
                        .collect();
                }
                st.masters.insert(g.name.clone(), pm);
            }
            let c = &plan.clocks[i];
            nodes.push(SimNode {
                idx: i,
                myid: myids[i].clone(),
                port: SENTINEL_BASE_PORT + i as u16,
                core: None,
                incarnation: 0,
                clock: LocalClock::new(0, c.offset, c.rate_ppm, c.wall_base),
                disk: Disk {
                    durable: st,
                    pending: VecDeque::new(),
                    extra_ms: 0,
                },
                paused: false,
                inbox: VecDeque::new(),
                timeout_queued: false,
                timer_at: None,
                timer_gen: 0,
                sessions: BTreeMap::new(),
                links: BTreeMap::new(),
                last_persist_local: 0,
                seed: rng.next_u64(),
            });
        }
        let ids = myids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let checker = Checker::new(
            n,
            plan.groups.len(),
            plan.majority(),
            plan.quorum,
            plan.agreed_set,
        );
        let n_groups = plan.groups.len();
        let faults = plan.faults.iter().map(|_| FaultRt::default()).collect();
        World {
            opts,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes,
            redis,
            conns: BTreeMap::new(),
            next_conn: 1,
            next_client: 1,
            n_hosts,
            blocked: vec![0; n_hosts * n_hosts],
            loss_extra_ppm: 0,
            latency_extra: 0,
            ids,
            history: History::default(),
            checker,
            client: ClientModel {
                believed: vec![None; n_groups],
                last_query: vec![0; n_groups],
                ..ClientModel::default()
            },
            faults,
            phase: Phase::Warmup,
            heal_at: 0,
            probe_round: 0,
            probe_answers: BTreeMap::new(),
            switched_at: BTreeMap::new(),
            stable: 0,
            first_converged: None,
            stats: Stats::default(),
            trace: VecDeque::new(),
            violation: None,
            plan,
        }
    }

    /// Run to the end (convergence after heal, a violation, or the event bound).
    pub fn run(mut self) -> Outcome {
        for i in 0..self.nodes.len() {
            self.start_sentinel(i);
        }
        self.schedule(0, Ev::ReplTick);
        if self.plan.write_every_ms > 0 {
            self.schedule(self.plan.warmup_ms / 2, Ev::ClientTick);
        }
        self.schedule(self.plan.warmup_ms, Ev::StartSafety);
        self.schedule(self.plan.warmup_ms + self.plan.safety_ms, Ev::Heal);
        while let Some(s) = self.queue.pop() {
            self.now = s.t;
            self.stats.events += 1;
            self.history.hash.u64(s.t);
            self.history.hash.u64(s.seq);
            self.handle(s.ev);
            if self.violation.is_some() || self.phase == Phase::Done {
                break;
            }
            if self.stats.events >= self.opts.max_events {
                self.fail(Err(crate::invariants::violation(
                    "bounded_progress",
                    self.now,
                    format!(
                        "more than {} scheduler steps (livelock?)",
                        self.opts.max_events
                    ),
                )));
                break;
            }
        }
        self.finish()
    }

    fn finish(mut self) -> Outcome {
        self.stats.sim_ms = self.now;
        self.stats.failovers = self.checker.leaders.promotions() as u64;
        let rounds: usize = self.checker.leaders.rounds.values().map(Vec::len).sum();
        self.stats.election_rounds = rounds as u64;
        self.stats.multi_round = rounds as u64 > self.stats.failovers;
        self.stats.acked_writes = self.client.acked.len() as u64;
        self.stats.findings = self.checker.findings.len() as u64;
        self.stats.votes = self.checker.votes.len() as u64;
        if self.phase == Phase::Done {
            let mut lost = 0;
            for g in 0..self.plan.groups.len() {
                let masters: Vec<usize> = self.group_masters(g);
                if let [k] = masters[..] {
                    let mut have: Vec<u64> = self.redis[k].log.entries().to_vec();
                    have.sort_unstable();
                    lost += self
                        .client
                        .acked
                        .iter()
                        .filter(|(id, grp)| *grp == g && have.binary_search(id).is_err())
                        .count() as u64;
                }
            }
            self.stats.lost_writes = lost;
        }
        let mut h = self.history.hash;
        h.u64(self.stats.events);
        Outcome {
            seed: self.plan.seed,
            history_hash: h.0,
            violation: self.violation.clone(),
            stats: self.stats.clone(),
            trace: self.trace.iter().cloned().collect(),
            acts: self.history.tail(60),
            findings: self.checker.findings.clone(),
        }
    }

    // ----------------------------------------------------------------------------------------- plumbing

    fn schedule(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Sched {
            t,
            seq: self.seq,
            ev,
        });
    }

    fn tracing(&self) -> bool {
        self.opts.trace != TraceMode::Off
    }

    fn tr(&mut self, f: impl FnOnce() -> String) {
        match self.opts.trace {
            TraceMode::Off => {}
            TraceMode::Full => println!("{:>8} {}", self.now, f()),
            TraceMode::Tail(n) => {
                let line = format!("{:>8} {}", self.now, f());
                if self.trace.len() >= n {
                    self.trace.pop_front();
                }
                self.trace.push_back(line);
            }
        }
    }

    fn act(&mut self, a: Act) {
        if self.tracing() {
            let s = a.to_string();
            self.tr(|| format!("ACT {s}"));
        }
        self.history.push(self.now, a);
    }

    fn fail(&mut self, r: Check) {
        if let Err(v) = r {
            if self.opts.relaxed.contains(&v.invariant) {
                let _ = self.checker.finding(v);
                return;
            }
            if self.violation.is_none() {
                let s = v.to_string();
                self.tr(|| format!("VIOLATION {s}"));
                self.violation = Some(v);
            }
        }
    }

    fn soft(&mut self, r: Check) {
        let r = self.checker.soft(r);
        self.fail(r);
    }

    fn host_idx(&self, h: Host) -> usize {
        match h {
            Host::Sentinel(i) => i,
            Host::Redis(k) => self.plan.n_sentinels + k,
            Host::Client => self.n_hosts - 1,
        }
    }

    fn all_hosts(&self) -> Vec<Host> {
        let mut v: Vec<Host> = (0..self.plan.n_sentinels).map(Host::Sentinel).collect();
        v.extend((0..self.redis.len()).map(Host::Redis));
        v.push(Host::Client);
        v
    }

    fn reachable(&self, a: Host, b: Host) -> bool {
        self.blocked[self.host_idx(a) * self.n_hosts + self.host_idx(b)] == 0
    }

    fn both_ways(&self, a: Host, b: Host) -> bool {
        self.reachable(a, b) && self.reachable(b, a)
    }

    fn reach_mask(&self, i: usize) -> u64 {
        (0..self.plan.n_sentinels)
            .filter(|&j| j == i || self.both_ways(Host::Sentinel(i), Host::Sentinel(j)))
            .fold(0, |m, j| m | (1 << j))
    }

    fn set_block(&mut self, pairs: &[(usize, usize)], add: bool) {
        for &(a, b) in pairs {
            let c = &mut self.blocked[a * self.n_hosts + b];
            if add {
                *c += 1;
            } else {
                *c = c.saturating_sub(1);
            }
        }
        self.network_changed();
    }

    fn network_changed(&mut self) {
        let reach: Vec<u64> = (0..self.plan.n_sentinels)
            .map(|i| self.reach_mask(i))
            .collect();
        self.checker.leaders.network_changed(|i| reach[i]);
        self.release_stalled();
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = self.plan.latency;
        self.rng.range(lo, hi) + self.latency_extra
    }

    fn target_host(&self, t: Target) -> Option<Host> {
        match t {
            Target::Redis(k) => Some(Host::Redis(k)),
            Target::Sentinel(j) => Some(Host::Sentinel(j)),
            Target::Nowhere => None,
        }
    }

    fn group_of_name(&self, name: &str) -> Option<usize> {
        self.plan.groups.iter().position(|g| g.name == name)
    }

    fn redis_by_port(&self, port: u16) -> Option<usize> {
        let k = port.checked_sub(REDIS_BASE_PORT)? as usize;
        (k < self.redis.len()).then_some(k)
    }

    fn group_masters(&self, g: usize) -> Vec<usize> {
        self.redis
            .iter()
            .filter(|r| r.group == g && r.alive && r.is_master())
            .map(|r| r.idx)
            .collect()
    }

    // ------------------------------------------------------------------------------------------ events

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Timer { node, gen } => {
                let n = &mut self.nodes[node];
                if n.timer_gen != gen || !n.alive() {
                    return;
                }
                n.timer_at = None;
                if !n.timeout_queued {
                    n.timeout_queued = true;
                    n.inbox.push_back(NodeCall::Timeout);
                }
                self.run_node(node);
            }
            Ev::PersistDone { node, inc } => self.persist_done(node, inc),
            Ev::ConnectDone { conn } => self.connect_done(conn),
            Ev::ConnectFail { conn } => {
                if self.conns.get(&conn).is_some_and(|c| !c.up) {
                    self.reset_conn(conn, 0);
                }
            }
            Ev::Wake { conn, fwd } => self.wake(conn, fwd),
            Ev::StallCheck { conn, fwd, since } => {
                let still = self.conns.get(&conn).is_some_and(|c| {
                    let d = if fwd { &c.fwd } else { &c.back };
                    d.stalled_since == Some(since)
                });
                if still {
                    self.tr(|| format!("NET conn {conn} reset after stalling since {since}"));
                    self.reset_conn(conn, 0);
                }
            }
            Ev::LinkDown {
                node,
                inc,
                link,
                gen,
            } => {
                if self.nodes[node].incarnation == inc && self.nodes[node].alive() {
                    self.node_call(node, NodeCall::Input(Input::LinkDown { link, conn: gen }));
                }
            }
            Ev::ReplTick => {
                self.repl_tick();
                self.schedule(self.now + self.plan.repl_tick_ms, Ev::ReplTick);
            }
            Ev::ClientTick => {
                if self.phase != Phase::Done {
                    self.client_tick();
                    self.schedule(self.now + self.plan.write_every_ms, Ev::ClientTick);
                }
            }
            Ev::Probe => self.probe(),
            Ev::FaultStart(i) => self.fault_start(i),
            Ev::FaultEnd(i) => self.fault_end(i),
            Ev::FlapToggle(i) => self.flap_toggle(i),
            Ev::RestartSentinel { node, inc } => {
                if self.nodes[node].incarnation == inc && !self.nodes[node].alive() {
                    self.start_sentinel(node);
                }
            }
            Ev::StartSafety => {
                self.phase = Phase::Safety;
                self.tr(|| "PHASE safety".into());
                for i in 0..self.plan.faults.len() {
                    let f = &self.plan.faults[i];
                    let (at, end) = (self.now + f.at, self.now + f.at + f.dur);
                    self.schedule(at, Ev::FaultStart(i));
                    self.schedule(end, Ev::FaultEnd(i));
                }
            }
            Ev::Heal => self.heal(),
        }
    }

    // ---------------------------------------------------------------------------------------- sentinels

    fn start_sentinel(&mut self, i: usize) {
        let local = self.nodes[i].clock.local(self.now);
        let n = &mut self.nodes[i];
        let durable = n.disk.durable.clone();
        let epoch = durable_epoch(&durable);
        let seed = n.seed ^ n.incarnation.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut core = Sentinel::new(durable.clone(), seed, Instant(local));
        if let Some(f) = self.opts.on_new_sentinel {
            f(&mut core, i);
        }
        n.core = Some(core);
        n.timeout_queued = false;
        n.timer_at = None;
        let mut args: Vec<&str> = vec!["SENTINEL", "DEBUG"];
        let vals: Vec<(String, String)> = self
            .plan
            .debug
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in &vals {
            args.push(k);
            args.push(v);
        }
        n.inbox.push_front(NodeCall::Command {
            client: INTERNAL_CLIENT,
            argv: argv(&args),
        });
        self.checker.epochs.restarted(i, &durable);
        self.checker.leaders.restarted(i, epoch);
        self.checker.votes.restarted(i);
        if self.nodes[i].incarnation > 0 {
            self.act(Act::Restart { node: i, epoch });
        }
        self.run_node(i);
    }

    fn crash_sentinel(&mut self, i: usize) {
        if !self.nodes[i].alive() {
            return;
        }
        self.stats.crashes += 1;
        let keep_new = self.rng.chance_pct(50);
        let n = &mut self.nodes[i];
        n.core = None;
        n.incarnation += 1;
        n.inbox.clear();
        n.paused = false;
        n.timeout_queued = false;
        n.timer_at = None;
        // Writes in flight: the first may or may not have reached the disk; later ones wait behind it.
        if let Some((_, st, fail)) = n.disk.pending.pop_front() {
            if keep_new && !fail {
                n.disk.durable = st;
            }
        }
        n.disk.pending.clear();
        let links: Vec<u64> = std::mem::take(&mut n.links).into_values().collect();
        let sessions: Vec<u64> = std::mem::take(&mut n.sessions)
            .into_values()
            .map(|s| s.conn)
            .collect();
        for c in links {
            if let Some(conn) = self.conns.remove(&c) {
                if let (Target::Sentinel(j), Some(cl)) = (conn.target, conn.client) {
                    self.nodes[j].sessions.remove(&cl);
                }
            }
        }
        for c in sessions {
            let d = self.latency();
            self.reset_conn(c, d);
        }
        self.act(Act::Crash { node: i });
    }

    fn node_call(&mut self, i: usize, call: NodeCall) {
        if !self.nodes[i].alive() {
            return;
        }
        self.nodes[i].inbox.push_back(call);
        self.run_node(i);
    }

    fn run_node(&mut self, i: usize) {
        while self.nodes[i].runnable() {
            let Some(call) = self.nodes[i].inbox.pop_front() else {
                break;
            };
            self.invoke(i, call);
            self.drain(i);
            if self.violation.is_some() && self.opts.stop_at_violation {
                return;
            }
        }
        self.schedule_timer(i);
    }

    fn invoke(&mut self, i: usize, call: NodeCall) {
        let local = Instant(self.nodes[i].clock.local(self.now));
        if self.tracing() {
            let s = match &call {
                NodeCall::Input(Input::Hello { link, payload }) => {
                    format!(
                        "S{i} <- Hello {{ link: {}, payload: {:?} }}",
                        link.0,
                        String::from_utf8_lossy(payload)
                    )
                }
                NodeCall::Input(inp) => format!("S{i} <- {inp:?}"),
                NodeCall::Command { client, argv } => format!(
                    "S{i} <- command c{} {:?}",
                    client.0,
                    argv.iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>()
                ),
                NodeCall::Timeout => format!("S{i} <- timeout (local {})", local.0),
                NodeCall::Pump(c) => format!("S{i} <- pump session c{}", c.0),
            };
            self.tr(|| short(s));
        }
        self.stats.core_calls += 1;
        match call {
            NodeCall::Input(inp) => {
                if let Some(core) = self.nodes[i].core.as_mut() {
                    core.handle_input(local, inp);
                }
            }
            NodeCall::Command { client, argv } => {
                if let Some(core) = self.nodes[i].core.as_mut() {
                    core.handle_command(local, client, &argv);
                }
            }
            NodeCall::Timeout => {
                let wall = self.nodes[i].clock.wall(self.now);
                let n = &mut self.nodes[i];
                n.timeout_queued = false;
                if let Some(core) = n.core.as_mut() {
                    core.handle_timeout(local, wall);
                }
            }
            NodeCall::Pump(client) => {
                if let Some(s) = self.nodes[i].sessions.get_mut(&client) {
                    s.pump_queued = false;
                }
                self.pump(i, client, true);
            }
        }
    }

    fn drain(&mut self, i: usize) {
        while let Some(out) = self.nodes[i].core.as_mut().and_then(Sentinel::poll_output) {
            let inc = self.nodes[i].incarnation;
            self.exec(i, out);
            if self.nodes[i].incarnation != inc
                || (self.violation.is_some() && self.opts.stop_at_violation)
            {
                break;
            }
        }
    }

    fn schedule_timer(&mut self, i: usize) {
        let now = self.now;
        let n = &mut self.nodes[i];
        if !n.runnable() {
            return;
        }
        let local_now = n.clock.local(now);
        let deadline = n
            .core
            .as_ref()
            .and_then(Sentinel::poll_timeout)
            .map_or(u64::MAX, |d| d.0)
            .min(local_now + TICK_MS);
        let g = n
            .clock
            .global_at(now, deadline)
            .unwrap_or(now + TICK_MS)
            .clamp(now + 1, now + TICK_MS);
        if n.timer_at.is_none_or(|t| g < t) {
            n.timer_at = Some(g);
            n.timer_gen += 1;
            let gen = n.timer_gen;
            self.schedule(g, Ev::Timer { node: i, gen });
        }
    }

    fn persist_done(&mut self, i: usize, inc: u64) {
        let n = &mut self.nodes[i];
        if n.incarnation != inc || !n.alive() {
            return;
        }
        let Some((seq, st, fail)) = n.disk.pending.pop_front() else {
            return;
        };
        if !fail {
            n.disk.durable = st;
        }
        if !n.disk.pending.is_empty() {
            self.schedule_disk(i);
        }
        let input = if fail {
            Input::PersistFailed(seq)
        } else {
            Input::Persisted(seq)
        };
        self.node_call(i, NodeCall::Input(input));
    }

    /// The disk writes one snapshot at a time, in order.
    fn schedule_disk(&mut self, i: usize) {
        let (lo, hi) = self.plan.disk;
        let d = self.rng.range(lo, hi) + self.nodes[i].disk.extra_ms;
        let inc = self.nodes[i].incarnation;
        self.schedule(self.now + d, Ev::PersistDone { node: i, inc });
    }

    // ------------------------------------------------------------------------------------------ outputs

    fn exec(&mut self, i: usize, out: Output) {
        if self.tracing() {
            let s = match &out {
                Output::Persist { seq, state } => format!(
                    "S{i} -> Persist seq {} current_epoch {} masters {:?}",
                    seq.0,
                    state.current_epoch,
                    state
                        .masters
                        .values()
                        .map(|m| (
                            m.config.name.clone(),
                            m.config.port,
                            m.config_epoch,
                            m.leader_epoch
                        ))
                        .collect::<Vec<_>>()
                ),
                o => format!("S{i} -> {o:?}"),
            };
            self.tr(|| short(s));
        }
        match out {
            Output::Connect { link, spec } => self.connect(i, link, &spec),
            Output::Close { link } => {
                if let Some(c) = self.nodes[i].links.remove(&link) {
                    self.drop_conn(c);
                }
            }
            Output::Send { link, conn, cmd } => self.send(i, link, conn, cmd),
            Output::Reply { client, reply } => self.route_reply(i, client, reply),
            Output::Event(e) => self.on_event(i, &e),
            Output::Persist { seq, state } => self.persist(i, seq, *state),
            Output::RunScript(_) => {}
            Output::Crash => {
                self.crash_sentinel(i);
                let inc = self.nodes[i].incarnation;
                let d = self.plan.failover_timeout_ms;
                self.schedule(self.now + d, Ev::RestartSentinel { node: i, inc });
            }
        }
    }

    fn persist(&mut self, i: usize, seq: PersistSeq, state: PersistedState) {
        self.stats.persists += 1;
        let r = self.checker.epochs.persist_issued(self.now, i, &state);
        self.fail(r);
        self.act(Act::Persist {
            node: i,
            epoch: state.current_epoch,
        });
        let fail = self.rng.chance_ppm(self.plan.persist_fail_ppm) && self.opts.persist_failures;
        let n = &mut self.nodes[i];
        n.last_persist_local = n.clock.local(self.now);
        n.disk.pending.push_back((seq, state, fail));
        if n.disk.pending.len() == 1 {
            self.schedule_disk(i);
        }
    }

    fn on_event(&mut self, i: usize, e: &Event) {
        self.stats.core_events += 1;
        let master = e.master.as_deref().and_then(|m| self.group_of_name(m));
        match (e.kind, master) {
            ("+new-epoch", _) => {
                if let Ok(v) = e.message.trim().parse::<u64>() {
                    self.checker.leaders.new_epoch(i, v);
                }
            }
            ("+try-failover", Some(m)) => {
                let reach = self.reach_mask(i);
                let epoch = self.checker.leaders.try_failover(i, m, reach);
                self.act(Act::TryFailover {
                    node: i,
                    master: m,
                    epoch,
                });
            }
            ("+vote-for-leader", Some(m)) => {
                let mut it = e.message.split_whitespace();
                if let (Some(id), Some(Ok(epoch))) = (it.next(), it.next().map(str::parse::<u64>)) {
                    let r = self
                        .checker
                        .votes
                        .cast(self.now, i, m, epoch, id, Via::Event);
                    self.fail(r);
                    let leader = self.ids.get(&id.to_ascii_lowercase()).copied();
                    self.act(Act::Vote {
                        voter: i,
                        master: m,
                        epoch,
                        leader,
                    });
                }
            }
            ("+elected-leader", Some(m)) => {
                let myid = self.nodes[i].myid.clone();
                let e_att = self.checker.leaders.attempt_epoch(i, m).unwrap_or(0);
                let mut votes = self
                    .checker
                    .votes
                    .received_by(&myid, m, e_att)
                    .iter()
                    .filter(|&&v| v != i)
                    .count();
                if self
                    .checker
                    .votes
                    .vote_of(i, m, e_att)
                    .is_some_and(|l| l.eq_ignore_ascii_case(&myid))
                {
                    votes += 1;
                }
                let (unique, enough, epoch) = self.checker.leaders.elected(self.now, i, m, votes);
                self.act(Act::Elected {
                    node: i,
                    master: m,
                    epoch,
                });
                self.soft(unique);
                self.soft(enough);
            }
            ("+switch-master", Some(m)) => {
                self.switched_at.insert((i, m), self.now);
                let port = e
                    .message
                    .split_whitespace()
                    .nth(4)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                self.act(Act::Switch {
                    node: i,
                    master: m,
                    port,
                });
            }
            ("+sdown", Some(m)) if e.message.starts_with("master ") => {
                // After a switch the master's availability clocks start afresh (reference §7.9: as for a
                // brand-new link), so SDOWN needs a full down-after period of silence from the new address.
                if let Some(&at) = self.switched_at.get(&(i, m)) {
                    let rate = self.nodes[i].clock.rate_ppm().max(1);
                    let needed =
                        self.plan.down_after_ms.saturating_mul(1_000_000) / rate.max(1_000_000);
                    let elapsed = self.now - at;
                    if elapsed + 1 < needed {
                        self.stats.early_sdown += 1;
                        let _ = self.checker.finding(crate::invariants::violation(
                            "sdown_needs_down_after",
                            self.now,
                            format!(
                                "S{i} declared the new master of m{m} +sdown {elapsed} ms after +switch-master \
                                 (down-after {} ms): {}",
                                self.plan.down_after_ms, e.message
                            ),
                        ));
                    }
                }
            }
            ("+odown", Some(_)) => {
                // "master <name> <ip> <port> #quorum <n>/<q>"
                if let Some(port) = e
                    .message
                    .split_whitespace()
                    .nth(3)
                    .and_then(|p| p.parse::<u16>().ok())
                {
                    // Replies expire after 5 ask periods of the node's own clock: measure on that clock.
                    let window = 5 * self.plan.debug_value("ask-period") + 1;
                    let local = self.nodes[i].clock.local(self.now);
                    let since = self.nodes[i]
                        .last_persist_local
                        .max(local.saturating_sub(10_000));
                    let q = self.plan.quorum;
                    let r = self.checker.odown.odown(local, since, i, port, q, window);
                    self.fail(r.map_err(|mut v| {
                        v.time = self.now;
                        v
                    }));
                }
            }
            ("+tilt", _) => {
                self.stats.tilts += 1;
                self.act(Act::Tilt { node: i });
            }
            _ => {}
        }
        // Reactive crash faults ("kill a sentinel right after it was elected").
        if self.phase == Phase::Safety {
            for fi in 0..self.faults.len() {
                let rt = &self.faults[fi];
                if !rt.active || rt.fired {
                    continue;
                }
                if let FaultKind::CrashOnEvent { node, event } = &self.plan.faults[fi].kind {
                    if *event == e.kind && node.is_none_or(|n| n == i) {
                        self.faults[fi].fired = true;
                        let ev = e.kind;
                        self.act(Act::Fault(format!("crash S{i} right after {ev}")));
                        self.crash_sentinel(i);
                        let inc = self.nodes[i].incarnation;
                        let d = self
                            .rng
                            .range(self.plan.down_after_ms, 2 * self.plan.failover_timeout_ms);
                        self.schedule(self.now + d, Ev::RestartSentinel { node: i, inc });
                        return;
                    }
                }
            }
        }
    }

    fn route_reply(&mut self, i: usize, client: ClientId, reply: Reply) {
        if client == INTERNAL_CLIENT {
            if reply.is_error() {
                self.stats.debug_rejected = true;
            }
            return;
        }
        if client.0 >= PROBE_BASE {
            let base = if client.0 >= WRITER_BASE {
                WRITER_BASE
            } else {
                PROBE_BASE
            };
            let g = ((client.0 - base) % 16) as usize;
            let port = match &reply {
                Reply::Array(v) => match v.get(1) {
                    Some(Reply::Bulk(b)) => std::str::from_utf8(b)
                        .ok()
                        .and_then(|s| s.parse::<u16>().ok()),
                    _ => None,
                },
                _ => None,
            };
            if base == WRITER_BASE {
                if let Some(k) = port.and_then(|p| self.redis_by_port(p)) {
                    self.client.believed[g] = Some(k);
                }
            } else {
                self.probe_answers.insert((i, g), (self.probe_round, port));
            }
            return;
        }
        let n = &mut self.nodes[i];
        let Some(s) = n.sessions.get_mut(&client) else {
            return;
        };
        let conn = s.conn;
        let aw = s.awaiting.take();
        if !s.pending.is_empty() && !s.pump_queued {
            s.pump_queued = true;
            n.inbox.push_back(NodeCall::Pump(client));
        }
        let (lr, tag) = match aw {
            Some(Awaiting::Publish) => (LinkReply::Publish(!reply.is_error()), None),
            Some(Awaiting::Ask { master, port, .. }) => {
                let parsed = match &reply {
                    Reply::Array(v) => match &v[..] {
                        [Reply::Int(d), Reply::Bulk(l), Reply::Int(e)] => {
                            Some((*d, String::from_utf8_lossy(l).into_owned(), *e))
                        }
                        _ => None,
                    },
                    _ => None,
                };
                let mut tag = None;
                if let Some((down, leader, e)) = &parsed {
                    tag = Some(Box::new(VoteTag {
                        voter: i,
                        master,
                        epoch: (*e).max(0) as u64,
                        leader: leader.clone(),
                        port,
                        down: *down == 1,
                    }));
                    if leader != "*" {
                        let epoch = (*e).max(0) as u64;
                        let r =
                            self.checker
                                .votes
                                .cast(self.now, i, master, epoch, leader, Via::Reply);
                        self.fail(r);
                        let name = self.plan.groups[master].name.clone();
                        let r = self.checker.epochs.reveal_vote(
                            self.now,
                            i,
                            &name,
                            epoch,
                            &self.nodes[i].disk.durable,
                        );
                        self.fail(r);
                        let l = self.ids.get(&leader.to_ascii_lowercase()).copied();
                        self.act(Act::Vote {
                            voter: i,
                            master,
                            epoch,
                            leader: l,
                        });
                    }
                }
                (LinkReply::MasterDown(parsed), tag)
            }
            Some(Awaiting::Other) | None => (LinkReply::Other, None),
        };
        self.transmit(conn, false, Msg::Reply(lr, tag));
    }

    // ------------------------------------------------------------------------------------------ network

    fn connect(&mut self, i: usize, link: LinkId, spec: &ConnectSpec) {
        if let Some(old) = self.nodes[i].links.remove(&link) {
            self.drop_conn(old);
        }
        let target = if spec.host != HOST {
            Target::Nowhere
        } else if let Some(k) = self.redis_by_port(spec.port) {
            if spec.kind == LinkKind::Instance {
                Target::Redis(k)
            } else {
                Target::Nowhere
            }
        } else {
            match spec.port.checked_sub(SENTINEL_BASE_PORT).map(usize::from) {
                Some(j) if j < self.plan.n_sentinels && spec.kind == LinkKind::Sentinel => {
                    Target::Sentinel(j)
                }
                _ => Target::Nowhere,
            }
        };
        let id = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                node: i,
                link,
                target,
                up: false,
                fwd: Dir::default(),
                back: Dir::default(),
                client: None,
            },
        );
        self.nodes[i].links.insert(link, id);
        let rtt = self.latency() + self.latency();
        self.schedule(self.now + rtt, Ev::ConnectDone { conn: id });
    }

    fn target_alive(&self, t: Target) -> bool {
        match t {
            Target::Redis(k) => self.redis[k].alive,
            Target::Sentinel(j) => self.nodes[j].alive(),
            Target::Nowhere => false,
        }
    }

    fn connect_done(&mut self, id: u64) {
        let Some(c) = self.conns.get(&id) else { return };
        let (node, link, target) = (c.node, c.link, c.target);
        let path = self
            .target_host(target)
            .is_some_and(|h| self.both_ways(Host::Sentinel(node), h));
        if !path {
            let t = self.now + self.plan.connect_timeout_ms;
            self.schedule(t, Ev::ConnectFail { conn: id });
            return;
        }
        if !self.target_alive(target) {
            self.reset_conn(id, 0);
            return;
        }
        let client = if let Target::Sentinel(j) = target {
            let cl = ClientId(self.next_client);
            self.next_client += 1;
            self.nodes[j].sessions.insert(
                cl,
                Session {
                    conn: id,
                    from: node,
                    pending: VecDeque::new(),
                    awaiting: None,
                    pump_queued: false,
                },
            );
            Some(cl)
        } else {
            None
        };
        if let Some(c) = self.conns.get_mut(&id) {
            c.up = true;
            c.client = client;
        }
        self.node_call(
            node,
            NodeCall::Input(Input::LinkUp {
                link,
                conn: id,
                local_ip: HOST.to_string(),
            }),
        );
    }

    /// Remove a connection without telling the dialer (it closed it itself, or it is gone).
    fn drop_conn(&mut self, id: u64) {
        if let Some(c) = self.conns.remove(&id) {
            if let (Target::Sentinel(j), Some(cl)) = (c.target, c.client) {
                self.nodes[j].sessions.remove(&cl);
            }
        }
    }

    /// Remove a connection and tell the dialer after `delay`.
    fn reset_conn(&mut self, id: u64, delay: u64) {
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        if let (Target::Sentinel(j), Some(cl)) = (c.target, c.client) {
            self.nodes[j].sessions.remove(&cl);
        }
        let n = &mut self.nodes[c.node];
        if n.links.get(&c.link) == Some(&id) {
            n.links.remove(&c.link);
        }
        if n.alive() {
            let inc = n.incarnation;
            self.schedule(
                self.now + delay,
                Ev::LinkDown {
                    node: c.node,
                    inc,
                    link: c.link,
                    gen: id,
                },
            );
        }
    }

    fn transmit(&mut self, id: u64, fwd: bool, msg: Msg) {
        let base = if self.phase == Phase::Liveness {
            0
        } else {
            self.plan.loss_ppm
        };
        let ppm = base.saturating_add(self.loss_extra_ppm);
        if self.rng.chance_ppm(ppm) {
            self.tr(|| format!("NET conn {id} reset by loss"));
            let d = self.latency();
            self.reset_conn(id, d);
            return;
        }
        let lat = self.latency();
        let now = self.now;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let d = if fwd { &mut c.fwd } else { &mut c.back };
        let t = (now + lat).max(d.last);
        d.last = t;
        d.q.push_back((t, msg));
        if !d.wake && d.stalled_since.is_none() {
            d.wake = true;
            self.schedule(t, Ev::Wake { conn: id, fwd });
        }
    }

    fn wake(&mut self, id: u64, fwd: bool) {
        let now = self.now;
        let Some(c) = self.conns.get(&id) else { return };
        let (src, dst) = match self.target_host(c.target) {
            Some(h) if fwd => (Host::Sentinel(c.node), h),
            Some(h) => (h, Host::Sentinel(c.node)),
            None => return,
        };
        let open = self.reachable(src, dst);
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let d = if fwd { &mut c.fwd } else { &mut c.back };
        d.wake = false;
        let Some(&(t, _)) = d.q.front() else { return };
        if t > now {
            d.wake = true;
            self.schedule(t, Ev::Wake { conn: id, fwd });
            return;
        }
        if !open {
            if d.stalled_since.is_none() {
                d.stalled_since = Some(now);
                let since = now;
                let at = now + self.plan.stall_reset_ms;
                self.schedule(
                    at,
                    Ev::StallCheck {
                        conn: id,
                        fwd,
                        since,
                    },
                );
            }
            return;
        }
        let Some((_, msg)) = d.q.pop_front() else {
            return;
        };
        if let Some(&(t2, _)) = d.q.front() {
            d.wake = true;
            self.schedule(t2.max(now), Ev::Wake { conn: id, fwd });
        }
        self.deliver(id, fwd, msg);
    }

    fn release_stalled(&mut self) {
        let mut wakes = Vec::new();
        for (&id, c) in &self.conns {
            let Some(h) = self.target_host(c.target) else {
                continue;
            };
            let s = Host::Sentinel(c.node);
            if c.fwd.stalled_since.is_some() && self.reachable(s, h) {
                wakes.push((id, true));
            }
            if c.back.stalled_since.is_some() && self.reachable(h, s) {
                wakes.push((id, false));
            }
        }
        for (id, fwd) in wakes {
            let lat = self.latency();
            if let Some(c) = self.conns.get_mut(&id) {
                let d = if fwd { &mut c.fwd } else { &mut c.back };
                d.stalled_since = None;
                if !d.wake {
                    d.wake = true;
                    self.schedule(self.now + lat, Ev::Wake { conn: id, fwd });
                }
            }
        }
    }

    fn deliver(&mut self, id: u64, fwd: bool, msg: Msg) {
        let Some(c) = self.conns.get(&id) else { return };
        let (node, link, target, client) = (c.node, c.link, c.target, c.client);
        if !fwd {
            match msg {
                Msg::Reply(reply, tag) => {
                    if let Some(t) = tag {
                        if t.leader.eq_ignore_ascii_case(&self.nodes[node].myid) {
                            self.checker
                                .votes
                                .received(&t.leader, t.master, t.epoch, t.voter);
                        }
                        let local = self.nodes[node].clock.local(self.now);
                        self.checker
                            .odown
                            .reply(local, node, t.port, t.voter, t.down);
                    }
                    self.node_call(
                        node,
                        NodeCall::Input(Input::Reply {
                            link,
                            conn: id,
                            reply,
                        }),
                    );
                }
                Msg::Hello(payload) => {
                    self.node_call(node, NodeCall::Input(Input::Hello { link, payload }))
                }
                Msg::Close => {
                    self.conns.remove(&id);
                    if self.nodes[node].links.get(&link) == Some(&id) {
                        self.nodes[node].links.remove(&link);
                    }
                    self.node_call(node, NodeCall::Input(Input::LinkDown { link, conn: id }));
                }
                Msg::Cmd(_) => {}
            }
            return;
        }
        let Msg::Cmd(cmd) = msg else { return };
        match target {
            Target::Redis(k) => self.redis_cmd(id, k, cmd),
            Target::Sentinel(j) => {
                let Some(cl) = client else { return };
                let paused = self.nodes[j].paused;
                let n = &mut self.nodes[j];
                let Some(s) = n.sessions.get_mut(&cl) else {
                    return;
                };
                s.pending.push_back(cmd);
                if paused {
                    if !s.pump_queued {
                        s.pump_queued = true;
                        n.inbox.push_back(NodeCall::Pump(cl));
                    }
                } else {
                    self.pump(j, cl, false);
                    self.run_node(j);
                }
            }
            Target::Nowhere => {}
        }
    }

    /// Answer a peer session's queued commands in order. Commands the shell answers itself (PING, INFO)
    /// are answered at once; ones that need the core wait for `core_ok` (the core is free to run).
    fn pump(&mut self, j: usize, cl: ClientId, core_ok: bool) {
        loop {
            let n = &mut self.nodes[j];
            let Some(s) = n.sessions.get_mut(&cl) else {
                return;
            };
            if s.awaiting.is_some() {
                return;
            }
            let Some(cmd) = s.pending.front() else { return };
            let conn = s.conn;
            let needs_core = matches!(
                cmd,
                OutCommand::PublishHello(_) | OutCommand::AskMasterDown { .. }
            );
            if needs_core && !core_ok {
                if !s.pump_queued {
                    s.pump_queued = true;
                    n.inbox.push_back(NodeCall::Pump(cl));
                }
                return;
            }
            let Some(cmd) = s.pending.pop_front() else {
                return;
            };
            match cmd {
                OutCommand::Ping => self.transmit(
                    conn,
                    false,
                    Msg::Reply(LinkReply::Ping(Ok("PONG".into())), None),
                ),
                OutCommand::Info => {
                    let text = self.nodes[j].core.as_ref().map(|c| c.info_section(0, 0));
                    self.transmit(conn, false, Msg::Reply(LinkReply::Info(text), None));
                }
                OutCommand::Reconfigure(_) | OutCommand::ScriptKill => {
                    self.transmit(conn, false, Msg::Reply(LinkReply::Other, None))
                }
                OutCommand::PublishHello(t) => {
                    s_set_awaiting(&mut self.nodes[j], cl, Awaiting::Publish);
                    let payload = t.render(HOST);
                    let a = vec![
                        b"PUBLISH".to_vec(),
                        b"__sentinel__:hello".to_vec(),
                        payload.into_bytes(),
                    ];
                    self.core_command(j, cl, a);
                    return;
                }
                OutCommand::AskMasterDown {
                    ip,
                    port,
                    epoch,
                    runid,
                } => {
                    let master = self
                        .redis_by_port(port)
                        .map(|k| self.redis[k].group)
                        .unwrap_or(usize::MAX);
                    if master == usize::MAX {
                        s_set_awaiting(&mut self.nodes[j], cl, Awaiting::Other);
                    } else {
                        s_set_awaiting(
                            &mut self.nodes[j],
                            cl,
                            Awaiting::Ask {
                                master,
                                port,
                                runid: runid.clone(),
                            },
                        );
                    }
                    let (p, e) = (port.to_string(), epoch.to_string());
                    let a = argv(&["SENTINEL", "is-master-down-by-addr", &ip, &p, &e, &runid]);
                    self.core_command(j, cl, a);
                    return;
                }
            }
        }
    }

    fn core_command(&mut self, j: usize, cl: ClientId, a: Vec<Vec<u8>>) {
        let local = Instant(self.nodes[j].clock.local(self.now));
        if self.tracing() {
            let s = format!(
                "S{j} <- peer command c{} {:?}",
                cl.0,
                a.iter()
                    .map(|x| String::from_utf8_lossy(x).into_owned())
                    .collect::<Vec<_>>()
            );
            self.tr(|| short(s));
        }
        self.stats.core_calls += 1;
        if let Some(core) = self.nodes[j].core.as_mut() {
            core.handle_command(local, cl, &a);
        }
    }

    fn send(&mut self, i: usize, link: LinkId, gen: u64, cmd: OutCommand) {
        let Some(&id) = self.nodes[i].links.get(&link) else {
            return;
        };
        if id != gen {
            return;
        }
        let Some(c) = self.conns.get(&id) else { return };
        if !c.up {
            return;
        }
        let target = c.target;
        match &cmd {
            OutCommand::PublishHello(t) => {
                let r = self.checker.epochs.reveal(
                    self.now,
                    i,
                    t.current_epoch,
                    "hello",
                    &self.nodes[i].disk.durable,
                );
                self.fail(r);
                if let Some(m) = self.group_of_name(&t.master_name) {
                    let (agree, forward) = self.checker.config.hello(
                        self.now,
                        i,
                        m,
                        t.master_port,
                        t.master_config_epoch,
                    );
                    self.soft(agree);
                    self.fail(forward);
                }
            }
            OutCommand::AskMasterDown {
                epoch, runid, port, ..
            } => {
                let r = self.checker.epochs.reveal(
                    self.now,
                    i,
                    *epoch,
                    "is-master-down-by-addr request",
                    &self.nodes[i].disk.durable,
                );
                self.fail(r);
                // A vote request reveals our self-vote in that epoch: it must be on disk.
                let master = self.redis_by_port(*port).map(|k| self.redis[k].group);
                if let Some(m) = master {
                    if runid.eq_ignore_ascii_case(&self.nodes[i].myid)
                        && self.checker.votes.reveal_self_vote(i, m, *epoch, runid)
                    {
                        let name = self.plan.groups[m].name.clone();
                        let r = self.checker.epochs.reveal_vote(
                            self.now,
                            i,
                            &name,
                            *epoch,
                            &self.nodes[i].disk.durable,
                        );
                        self.fail(r);
                    }
                }
            }
            OutCommand::Reconfigure(None) => {
                if let Target::Redis(k) = target {
                    let m = self.redis[k].group;
                    let (won, unique, minority, epoch) =
                        self.checker.leaders.promote(self.now, i, m, k);
                    self.act(Act::Promote {
                        node: i,
                        master: m,
                        epoch,
                        redis: k,
                    });
                    self.fail(won);
                    self.soft(unique);
                    self.soft(minority);
                }
            }
            _ => {}
        }
        self.transmit(id, true, Msg::Cmd(cmd));
    }

    // -------------------------------------------------------------------------------------------- redis

    fn redis_cmd(&mut self, conn: u64, k: usize, cmd: OutCommand) {
        let loading = self.redis[k].loading(self.now);
        let reply = match cmd {
            OutCommand::Ping => LinkReply::Ping(if loading {
                Err("LOADING Redis is loading the dataset in memory".into())
            } else {
                Ok("PONG".into())
            }),
            OutCommand::Info => {
                let port = self.redis[k].port;
                let reps: Vec<(u16, u64)> = self
                    .redis
                    .iter()
                    .filter(|r| r.alive && r.link_up && r.master_port() == Some(port))
                    .map(|r| (r.port, r.log.len() as u64))
                    .collect();
                LinkReply::Info(Some(self.redis[k].render_info(self.now, &reps)))
            }
            OutCommand::PublishHello(t) => {
                let payload = t.render(HOST).into_bytes();
                let subs: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.up && c.target == Target::Redis(k))
                    .map(|(&id, _)| id)
                    .collect();
                for s in subs {
                    self.transmit(s, false, Msg::Hello(payload.clone()));
                }
                LinkReply::Publish(true)
            }
            OutCommand::AskMasterDown { .. } => LinkReply::MasterDown(None),
            OutCommand::ScriptKill => LinkReply::Other,
            OutCommand::Reconfigure(to) => {
                self.transmit(conn, false, Msg::Reply(LinkReply::Other, None));
                if loading {
                    return;
                }
                match to {
                    None => self.redis[k].become_master(),
                    Some((host, port)) => {
                        if port != self.redis[k].port {
                            self.redis[k].become_replica(host, port, self.now)
                        }
                    }
                }
                // CLIENT KILL TYPE normal / pubsub: every client connection goes, including the sender's
                // pub/sub connection (so its link goes down too).
                let victims: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.up && c.target == Target::Redis(k))
                    .map(|(&id, _)| id)
                    .collect();
                for v in victims {
                    self.transmit_close(v);
                }
                return;
            }
        };
        self.transmit(conn, false, Msg::Reply(reply, None));
    }

    fn transmit_close(&mut self, id: u64) {
        let lat = self.latency();
        let now = self.now;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let d = &mut c.back;
        let t = (now + lat).max(d.last);
        d.last = t;
        d.q.push_back((t, Msg::Close));
        if !d.wake && d.stalled_since.is_none() {
            d.wake = true;
            self.schedule(
                t,
                Ev::Wake {
                    conn: id,
                    fwd: false,
                },
            );
        }
    }

    fn crash_redis(&mut self, k: usize) {
        self.redis[k].crash();
        let victims: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.target == Target::Redis(k))
            .map(|(&id, _)| id)
            .collect();
        for v in victims {
            let d = self.latency();
            self.reset_conn(v, d);
        }
    }

    fn restart_redis(&mut self, k: usize, keep_data: bool) {
        if self.redis[k].alive {
            return;
        }
        let id = self.rng.hex40();
        self.redis[k].restart(self.now, keep_data, self.plan.loading_ms, id);
    }

    fn repl_tick(&mut self) {
        let now = self.now;
        for k in 0..self.redis.len() {
            let r = &self.redis[k];
            if !r.alive || r.loading(now) {
                continue;
            }
            if r.is_master() {
                if now.saturating_sub(r.last_ping_entry) >= 1000 {
                    let r = &mut self.redis[k];
                    r.last_ping_entry = now;
                    r.log.push(0);
                }
                continue;
            }
            let Some(mp) = r.master_port() else { continue };
            let m = self.redis_by_port(mp);
            let ok = m.is_some_and(|m| {
                m != k
                    && self.redis[m].alive
                    && !self.redis[m].loading(now)
                    && self.both_ways(Host::Redis(k), Host::Redis(m))
            });
            let Some(m) = m.filter(|_| ok) else {
                let r = &mut self.redis[k];
                if r.link_up || r.sync_done_at.is_some() {
                    r.link_up = false;
                    r.sync_done_at = None;
                    r.link_down_since = Some(now);
                }
                continue;
            };
            let prefix = self.redis[k].log.is_prefix_of(&self.redis[m].log);
            let master_log = std::mem::take(&mut self.redis[m].log);
            let sync_ms = self.plan.sync_ms;
            self.sync_replica(k, &master_log, prefix, sync_ms);
            self.redis[m].log = master_log;
        }
    }

    fn sync_replica(
        &mut self,
        k: usize,
        master_log: &crate::redis_model::Log,
        prefix: bool,
        sync_ms: u64,
    ) {
        let now = self.now;
        {
            let r = &mut self.redis[k];
            if r.link_up {
                if prefix {
                    r.log.catch_up(master_log);
                } else {
                    r.link_up = false;
                    r.link_down_since = Some(now);
                    r.sync_done_at = Some(now + sync_ms);
                }
            } else {
                match r.sync_done_at {
                    None => r.sync_done_at = Some(now + if prefix { 0 } else { sync_ms }),
                    Some(t) if t <= now => {
                        if !prefix {
                            r.log.clear();
                        }
                        r.log.catch_up(master_log);
                        r.link_up = true;
                        r.link_down_since = None;
                        r.sync_done_at = None;
                    }
                    Some(_) => {}
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------- client

    fn client_tick(&mut self) {
        let ng = self.plan.groups.len();
        let g = self.client.rr % ng;
        self.client.rr += 1;
        if self.client.believed[g].is_none()
            || self.now.saturating_sub(self.client.last_query[g]) > 1000
        {
            let cands: Vec<usize> = (0..self.plan.n_sentinels)
                .filter(|&j| {
                    self.nodes[j].alive() && self.both_ways(Host::Client, Host::Sentinel(j))
                })
                .collect();
            if !cands.is_empty() {
                let j = cands[self.rng.index(cands.len())];
                self.client.last_query[g] = self.now;
                let name = self.plan.groups[g].name.clone();
                let cl = ClientId(WRITER_BASE + (j as u64) * 16 + g as u64);
                self.node_call(
                    j,
                    NodeCall::Command {
                        client: cl,
                        argv: argv(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &name]),
                    },
                );
            }
        }
        if let Some(k) = self.client.believed[g] {
            let r = &self.redis[k];
            let ok =
                r.alive && !r.loading(self.now) && self.both_ways(Host::Client, Host::Redis(k));
            if ok && r.is_master() {
                self.client.next_id += 1;
                let id = self.client.next_id;
                self.redis[k].log.push(id);
                self.client.acked.push((id, g));
            } else {
                self.client.believed[g] = None;
            }
        }
    }

    // ------------------------------------------------------------------------------------------- faults

    fn resolve(&self, sel: RedisSel) -> usize {
        match sel {
            RedisSel::Instance(k) => k,
            RedisSel::CurrentMaster(g) => {
                let ms = self.group_masters(g);
                ms.first().copied().unwrap_or(self.plan.groups[g].master)
            }
        }
    }

    fn side_pairs(&self, side_a: &[Host]) -> Vec<(usize, usize)> {
        let all = self.all_hosts();
        let mut pairs = Vec::new();
        for &a in side_a {
            for &b in &all {
                if !side_a.contains(&b) {
                    pairs.push((self.host_idx(a), self.host_idx(b)));
                    pairs.push((self.host_idx(b), self.host_idx(a)));
                }
            }
        }
        pairs
    }

    fn fault_start(&mut self, fi: usize) {
        let kind = self.plan.faults[fi].kind.clone();
        self.faults[fi].active = true;
        let mut desc = format!("{kind:?}");
        match kind {
            FaultKind::IsolateRedis {
                redis,
                with_sentinels,
                with_client,
            } => {
                let k = self.resolve(redis);
                let mut side: Vec<Host> = vec![Host::Redis(k)];
                side.extend(with_sentinels.iter().map(|&i| Host::Sentinel(i)));
                if with_client {
                    side.push(Host::Client);
                }
                desc = format!("isolate R{k} with {side:?}");
                let pairs = self.side_pairs(&side);
                self.set_block(&pairs, true);
                self.faults[fi].blocks = pairs;
            }
            FaultKind::KillRedis { redis, keep_data } => {
                let k = self.resolve(redis);
                desc = format!("kill R{k} (restart keep_data={keep_data})");
                self.faults[fi].redis = Some(k);
                self.crash_redis(k);
            }
            FaultKind::Split {
                sentinels_a,
                redis_a,
                client_a,
            } => {
                let mut side: Vec<Host> = sentinels_a.iter().map(|&i| Host::Sentinel(i)).collect();
                side.extend(redis_a.iter().map(|&k| Host::Redis(k)));
                if client_a {
                    side.push(Host::Client);
                }
                desc = format!("split {side:?} | rest");
                let pairs = self.side_pairs(&side);
                self.set_block(&pairs, true);
                self.faults[fi].blocks = pairs;
            }
            FaultKind::OneWay { from, to } => {
                let mut pairs = Vec::new();
                for &a in &from {
                    for &b in &to {
                        if a != b {
                            pairs.push((self.host_idx(a), self.host_idx(b)));
                        }
                    }
                }
                self.set_block(&pairs, true);
                self.faults[fi].blocks = pairs;
            }
            FaultKind::KillSentinel { node } => self.crash_sentinel(node),
            FaultKind::CrashOnEvent { .. } => {}
            FaultKind::Flap { a, b, period } => {
                let pairs = vec![
                    (self.host_idx(a), self.host_idx(b)),
                    (self.host_idx(b), self.host_idx(a)),
                ];
                self.set_block(&pairs, true);
                self.faults[fi].blocks = pairs;
                self.faults[fi].flap_on = true;
                self.schedule(self.now + period, Ev::FlapToggle(fi));
            }
            FaultKind::LossBurst { ppm } => self.loss_extra_ppm += ppm,
            FaultKind::LatencySpike { extra } => self.latency_extra += extra,
            FaultKind::ClockRate { node, rate_ppm } => {
                self.nodes[node].clock.set_rate(self.now, rate_ppm);
                self.nodes[node].timer_at = None;
                self.schedule_timer(node);
            }
            FaultKind::WallJump { node, delta } => self.nodes[node].clock.jump_wall(delta),
            FaultKind::Pause { node } => self.nodes[node].paused = true,
            FaultKind::SlowDisk { node, extra } => self.nodes[node].disk.extra_ms += extra,
        }
        self.act(Act::Fault(format!("start #{fi}: {desc}")));
    }

    fn fault_end(&mut self, fi: usize) {
        if !self.faults[fi].active {
            return;
        }
        self.faults[fi].active = false;
        let kind = self.plan.faults[fi].kind.clone();
        match kind {
            FaultKind::IsolateRedis { .. } | FaultKind::Split { .. } | FaultKind::OneWay { .. } => {
                let pairs = std::mem::take(&mut self.faults[fi].blocks);
                self.set_block(&pairs, false);
            }
            FaultKind::Flap { .. } => {
                if self.faults[fi].flap_on {
                    let pairs = std::mem::take(&mut self.faults[fi].blocks);
                    self.set_block(&pairs, false);
                    self.faults[fi].flap_on = false;
                }
            }
            FaultKind::KillRedis { keep_data, .. } => {
                if let Some(k) = self.faults[fi].redis {
                    self.restart_redis(k, keep_data);
                }
            }
            FaultKind::KillSentinel { node } => {
                if !self.nodes[node].alive() {
                    self.start_sentinel(node);
                }
            }
            FaultKind::CrashOnEvent { .. } => {}
            FaultKind::LossBurst { ppm } => {
                self.loss_extra_ppm = self.loss_extra_ppm.saturating_sub(ppm)
            }
            FaultKind::LatencySpike { extra } => {
                self.latency_extra = self.latency_extra.saturating_sub(extra)
            }
            FaultKind::ClockRate { node, .. } => {
                let r = self.plan.clocks[node].rate_ppm;
                self.nodes[node].clock.set_rate(self.now, r);
                self.nodes[node].timer_at = None;
                self.schedule_timer(node);
            }
            FaultKind::WallJump { .. } => {}
            FaultKind::Pause { node } => {
                self.nodes[node].paused = false;
                self.run_node(node);
            }
            FaultKind::SlowDisk { node, extra } => {
                self.nodes[node].disk.extra_ms =
                    self.nodes[node].disk.extra_ms.saturating_sub(extra)
            }
        }
        self.act(Act::Fault(format!("end #{fi}")));
    }

    fn flap_toggle(&mut self, fi: usize) {
        if !self.faults[fi].active {
            return;
        }
        let FaultKind::Flap { period, .. } = self.plan.faults[fi].kind else {
            return;
        };
        let on = !self.faults[fi].flap_on;
        self.faults[fi].flap_on = on;
        let pairs = self.faults[fi].blocks.clone();
        self.set_block(&pairs, on);
        self.schedule(self.now + period, Ev::FlapToggle(fi));
    }

    fn heal(&mut self) {
        self.tr(|| "PHASE heal".into());
        for fi in 0..self.faults.len() {
            self.fault_end(fi);
        }
        self.blocked.iter_mut().for_each(|c| *c = 0);
        self.loss_extra_ppm = 0;
        self.latency_extra = 0;
        for i in 0..self.nodes.len() {
            let r = self.plan.clocks[i].rate_ppm;
            if self.nodes[i].clock.rate_ppm() != r {
                self.nodes[i].clock.set_rate(self.now, r);
            }
            if self.nodes[i].paused {
                self.nodes[i].paused = false;
                self.run_node(i);
            }
            if !self.nodes[i].alive() {
                self.start_sentinel(i);
            }
        }
        for k in 0..self.redis.len() {
            self.restart_redis(k, true);
        }
        self.network_changed();
        self.phase = Phase::Liveness;
        self.heal_at = self.now;
        self.act(Act::Fault("heal".into()));
        self.schedule(self.now + PROBE_MS, Ev::Probe);
    }

    // ----------------------------------------------------------------------------------------- liveness

    fn probe(&mut self) {
        if self.phase != Phase::Liveness {
            return;
        }
        if self.probe_round > 0 {
            match self.convergence() {
                Ok(()) => {
                    self.first_converged.get_or_insert(self.now);
                    self.stable += 1;
                    if self.stable >= STABLE_PROBES {
                        self.stats.recovery_ms = self.first_converged.map(|t| t - self.heal_at);
                        self.phase = Phase::Done;
                        self.tr(|| "PHASE done (converged)".into());
                        return;
                    }
                }
                Err(why) => {
                    self.stable = 0;
                    self.first_converged = None;
                    if self.now >= self.heal_at + self.plan.liveness_ms {
                        let d = self.plan.liveness_ms;
                        self.fail(Err(crate::invariants::violation(
                            "liveness",
                            self.now,
                            format!("not converged {d} ms after heal: {why}"),
                        )));
                        return;
                    }
                }
            }
        }
        self.probe_round += 1;
        for j in 0..self.nodes.len() {
            if !self.nodes[j].alive() {
                continue;
            }
            for g in 0..self.plan.groups.len() {
                let name = self.plan.groups[g].name.clone();
                let cl = ClientId(PROBE_BASE + (j as u64) * 16 + g as u64);
                self.node_call(
                    j,
                    NodeCall::Command {
                        client: cl,
                        argv: argv(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &name]),
                    },
                );
            }
        }
        self.schedule(self.now + PROBE_MS, Ev::Probe);
    }

    /// Exactly one model master per group, every live sentinel names it, agrees on its config epoch and is
    /// not stuck in a failover, and every other live instance replicates it with its link up.
    fn convergence(&self) -> Result<(), String> {
        let round = self.probe_round;
        for (g, gp) in self.plan.groups.iter().enumerate() {
            let masters = self.group_masters(g);
            let [k] = masters[..] else {
                return Err(format!("{}: model masters {:?}", gp.name, masters));
            };
            let port = self.redis[k].port;
            let mut cfg = None;
            for (j, n) in self.nodes.iter().enumerate() {
                let Some(core) = n.core.as_ref() else {
                    continue;
                };
                match self.probe_answers.get(&(j, g)) {
                    Some(&(r, Some(p))) if r == round && p == port => {}
                    other => {
                        return Err(format!(
                            "{}: master is R{k} :{port} but S{j} says {:?}",
                            gp.name,
                            other.map(|(r, p)| (r, p))
                        ))
                    }
                }
                if core.failover_in_progress(&gp.name) {
                    return Err(format!("{}: S{j} is still in a failover", gp.name));
                }
                let ce = core.master_config_epoch(&gp.name);
                match cfg {
                    None => cfg = Some(ce),
                    Some(c) if c != ce => {
                        return Err(format!(
                            "{}: config epochs differ ({c:?} vs S{j} {ce:?})",
                            gp.name
                        ));
                    }
                    _ => {}
                }
            }
            for r in self
                .redis
                .iter()
                .filter(|r| r.group == g && r.alive && r.idx != k)
            {
                if r.master_port() != Some(port) || !r.link_up {
                    return Err(format!(
                        "{}: R{} replicates {:?} (link up: {}) instead of :{port}",
                        gp.name,
                        r.idx,
                        r.master_port(),
                        r.link_up
                    ));
                }
            }
        }
        Ok(())
    }
}

fn s_set_awaiting(n: &mut SimNode, cl: ClientId, a: Awaiting) {
    if let Some(s) = n.sessions.get_mut(&cl) {
        s.awaiting = Some(a);
    }
}

//! The world: sentinels, model Redis instances, the network, the client, and the event scheduler.
//!
//! Virtual time only moves when the scheduler pops the next event (a `BinaryHeap` ordered by
//! `(time, insertion seq)` — never by hash or pointer order). Each pop is one `handle_*` call on one node
//! (or one step of a model), after which the node's outputs are executed with the same rules as the real
//! driver: in order, each `Persist` handed to the node's disk (the core emits the next one only after the
//! result of the last; what depends on a write is held inside the core until then).
//! Nothing executing an output ever calls into another core directly; cross-node effects are events.
//!
//! One [`World`] owns all of that state; its methods are split by concern so each part can be read (and
//! changed) on its own. Every file below is an `impl World` block over the same private state, so the
//! split moves no data and changes no order of operations (a run's history hash is the same):
//!
//! - this file: the state, building a world, the run loop, the outcome, tracing and verdict plumbing;
//! - `opts`: what a caller chooses ([`RunOpts`], [`TraceMode`]) and gets back ([`Stats`], [`StormStats`]);
//! - `sched`: the event queue and the dispatch of each popped event;
//! - `sentinel`: driving one core as the real driver does (start, crash, inbox, timer, disk, outputs);
//! - `observe`: what the cores emit (events, outgoing commands) fed to the safety checker;
//! - `session`: the peer sessions a sentinel serves, and the replies to the client and the probes;
//! - `net`: reachability, links, lossy in-order delivery, stalls and resets;
//! - `redis`: model Redis instances (commands, replication) and the writing client;
//! - `faults`: starting and ending the plan's faults, and the heal;
//! - `liveness`: the failover-storm deadline and the convergence probes after the heal.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use vedette_core::{ClientId, MasterConfig, PersistedMaster, PersistedState};

use crate::clock::LocalClock;
use crate::history::{Act, History};
use crate::invariants::{Check, Checker, Violation};
use crate::node::{Disk, SimNode};
use crate::plan::{Plan, HOST, REDIS_BASE_PORT, SENTINEL_BASE_PORT};
use crate::redis_model::{ModelRedis, Role};
use crate::rng::Rng;

mod faults;
mod liveness;
mod net;
mod observe;
mod opts;
mod redis;
mod sched;
mod sentinel;
mod session;

use faults::FaultRt;
use net::Conn;
pub use net::VoteTag;
pub use opts::{RunOpts, Stats, StormStats, TraceMode};
use redis::ClientModel;
use sched::{Ev, Sched};

/// When the core has no deadline (or the node's clock stands still), the shell wakes it this often
/// (local ms), as the driver does.
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
/// Probe and writer client ids are base + node * stride + group (groups < stride).
const CLIENT_STRIDE: u64 = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Safety,
    Liveness,
    Done,
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
    /// Storm plans: global time of the kill, and (node, master) -> switch times since then.
    storm_kill_at: Option<u64>,
    storm_switches: BTreeMap<(usize, usize), Vec<u64>>,
    storm_attempts: u64,
    storm_aborts_before: u64,
    /// (node, master) -> local time of its last `+try-failover` (cleared by a restart or a switch).
    last_try: BTreeMap<(usize, usize), u64>,
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
                commands: BTreeMap::new(),
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
            storm_kill_at: None,
            storm_switches: BTreeMap::new(),
            storm_attempts: 0,
            storm_aborts_before: 0,
            last_try: BTreeMap::new(),
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
        self.stats.storm = self.storm_stats();
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
}

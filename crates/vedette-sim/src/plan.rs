//! Everything about one run, derived from its seed (openraft's `DerivedConfig`).
//!
//! A plan fixes the topology (sentinels, masters, replicas), the sentinel settings, the network and disk
//! characteristics, each node's clock, and the fault schedule. Nothing else in a run is random except
//! per-message draws (latency, loss) taken from the world's generator in scheduler order.

use vedette_core::EventKind;

use crate::rng::Rng;

/// A host on the simulated network (the unit of partitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// Sentinel `i`.
    Sentinel(usize),
    /// Redis instance `i`.
    Redis(usize),
    /// The writing client.
    Client,
}

/// Which Redis instance a fault targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisSel {
    /// Whatever instance of the group is a model master when the fault starts.
    CurrentMaster(usize),
    /// A fixed instance.
    Instance(usize),
}

/// The events a [`FaultKind::CrashOnEvent`] can follow: the steps of an election and a promotion.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CrashTrigger {
    /// `+elected-leader`.
    ElectedLeader,
    /// `+vote-for-leader`.
    VoteForLeader,
    /// `+try-failover`.
    TryFailover,
    /// `+promoted-slave`.
    PromotedSlave,
    /// `+new-epoch`.
    NewEpoch,
}

impl CrashTrigger {
    /// Every trigger, in the order plans draw them from.
    pub const ALL: [CrashTrigger; 5] = [
        CrashTrigger::ElectedLeader,
        CrashTrigger::VoteForLeader,
        CrashTrigger::TryFailover,
        CrashTrigger::PromotedSlave,
        CrashTrigger::NewEpoch,
    ];

    /// Whether `kind` is this event.
    pub fn fires_on(self, kind: &EventKind) -> bool {
        matches!(
            (self, kind),
            (CrashTrigger::ElectedLeader, EventKind::ElectedLeader(_))
                | (CrashTrigger::VoteForLeader, EventKind::VoteForLeader { .. })
                | (CrashTrigger::TryFailover, EventKind::TryFailover(_))
                | (CrashTrigger::PromotedSlave, EventKind::PromotedSlave(_))
                | (CrashTrigger::NewEpoch, EventKind::NewEpoch(_))
        )
    }

    /// The event's channel, for reports.
    pub fn channel(self) -> &'static str {
        match self {
            CrashTrigger::ElectedLeader => "+elected-leader",
            CrashTrigger::VoteForLeader => "+vote-for-leader",
            CrashTrigger::TryFailover => "+try-failover",
            CrashTrigger::PromotedSlave => "+promoted-slave",
            CrashTrigger::NewEpoch => "+new-epoch",
        }
    }
}

/// Shown as the channel, quoted, as plans have always printed it.
impl std::fmt::Debug for CrashTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.channel())
    }
}

/// One fault of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Cut a Redis instance from every other host, except the sentinels (and client) placed on its side.
    IsolateRedis {
        /// Target.
        redis: RedisSel,
        /// Sentinels that stay with it.
        with_sentinels: Vec<usize>,
        /// Whether the client stays with it (its writes are then the ones a failover loses).
        with_client: bool,
    },
    /// Kill a Redis instance; restart it at the end with its data or empty.
    KillRedis {
        /// Target.
        redis: RedisSel,
        /// Restart with the same data (RDB/AOF) or empty.
        keep_data: bool,
    },
    /// Split the hosts in two sides (symmetric).
    Split {
        /// Sentinels on side A.
        sentinels_a: Vec<usize>,
        /// Redis instances on side A.
        redis_a: Vec<usize>,
        /// Whether the client is on side A.
        client_a: bool,
    },
    /// Drop traffic from `from` to `to` only.
    OneWay {
        /// Senders.
        from: Vec<Host>,
        /// Receivers.
        to: Vec<Host>,
    },
    /// Crash a sentinel; restart it from its durable state at the end.
    KillSentinel {
        /// Target.
        node: usize,
    },
    /// Crash a sentinel right after it emits an event of this kind (e.g. `+elected-leader`); restart after `dur`.
    CrashOnEvent {
        /// Target (`None`: whichever sentinel emits it first).
        node: Option<usize>,
        /// The event.
        event: CrashTrigger,
    },
    /// Toggle the link between two hosts every `period` ms.
    Flap {
        /// One end.
        a: Host,
        /// Other end.
        b: Host,
        /// Toggle period.
        period: u64,
    },
    /// Every message resets its connection with this probability.
    LossBurst {
        /// Parts per million.
        ppm: u32,
    },
    /// Extra latency on every message.
    LatencySpike {
        /// Extra ms.
        extra: u64,
    },
    /// A node's monotonic clock runs at another rate (0 = stands still).
    ClockRate {
        /// Target.
        node: usize,
        /// Rate in ppm.
        rate_ppm: u64,
    },
    /// A node's wall clock jumps (must cause TILT when the jump exceeds the trigger).
    WallJump {
        /// Target.
        node: usize,
        /// Jump in ms (negative = backwards).
        delta: i64,
    },
    /// A sentinel process is paused (SIGSTOP); timers and messages pile up.
    Pause {
        /// Target.
        node: usize,
    },
    /// A host carrying many Redis instances dies: all of them are killed in the same instant (a failover
    /// storm when they are masters); restarted at the end with their data.
    KillHost {
        /// Targets, resolved when the fault starts.
        redis: Vec<RedisSel>,
    },
    /// Persists of a node take longer.
    SlowDisk {
        /// Target.
        node: usize,
        /// Extra ms.
        extra: u64,
    },
}

/// A fault with its window, relative to the start of the safety phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Start, ms after the safety phase begins.
    pub at: u64,
    /// Duration in ms (for reactive crashes: how long the node stays down).
    pub dur: u64,
    /// What.
    pub kind: FaultKind,
}

/// One model Redis instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstancePlan {
    /// Port (host is 127.0.0.1).
    pub port: u16,
    /// Group (monitored master name) it belongs to.
    pub group: usize,
    /// `replica-priority`.
    pub priority: u32,
}

/// One monitored master and its replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    /// Master name.
    pub name: String,
    /// Instance that starts as master.
    pub master: usize,
    /// Instances that start as its replicas.
    pub replicas: Vec<usize>,
}

/// A node's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockPlan {
    /// Monotonic reading at global time 0.
    pub offset: u64,
    /// Rate in ppm.
    pub rate_ppm: u64,
    /// Wall clock at global time 0 (unix ms).
    pub wall_base: i64,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The seed everything came from.
    pub seed: u64,
    /// Number of sentinels (3-7).
    pub n_sentinels: usize,
    /// Monitored masters.
    pub groups: Vec<GroupPlan>,
    /// Redis instances.
    pub instances: Vec<InstancePlan>,
    /// Quorum of every master.
    pub quorum: u32,
    /// `down-after-milliseconds`.
    pub down_after_ms: u64,
    /// `failover-timeout`.
    pub failover_timeout_ms: u64,
    /// `parallel-syncs`.
    pub parallel_syncs: u32,
    /// `SENTINEL DEBUG` settings applied at every (re)start (not persisted, like in Redis).
    pub debug: Vec<(&'static str, u64)>,
    /// Sentinels start knowing each other (`known-sentinel` lines): the leader-uniqueness check is strict.
    pub agreed_set: bool,
    /// Sentinels start knowing the replicas (`known-replica` lines).
    pub known_replicas: bool,
    /// One-way message latency range (ms).
    pub latency: (u64, u64),
    /// Per-message connection reset probability during warm-up and the safety phase (ppm); the liveness
    /// phase runs without loss.
    pub loss_ppm: u32,
    /// How long a connect into a black hole takes to fail.
    pub connect_timeout_ms: u64,
    /// How long a connection may be stalled by a partition before the shell resets it.
    pub stall_reset_ms: u64,
    /// Per-node clocks.
    pub clocks: Vec<ClockPlan>,
    /// Persist latency range.
    pub disk: (u64, u64),
    /// Probability that a persist fails (ppm).
    pub persist_fail_ppm: u32,
    /// Replication step period.
    pub repl_tick_ms: u64,
    /// Time a full resync takes.
    pub sync_ms: u64,
    /// Time a restarted Redis answers `-LOADING`.
    pub loading_ms: u64,
    /// Client write period (0 = no client).
    pub write_every_ms: u64,
    /// Fault schedule.
    pub faults: Vec<Fault>,
    /// Warm-up length.
    pub warmup_ms: u64,
    /// Safety phase length.
    pub safety_ms: u64,
    /// Liveness deadline after heal.
    pub liveness_ms: u64,
    /// A failover-storm plan ([`Plan::storm`]): what to measure and the deadline to assert.
    pub storm: Option<StormPlan>,
}

/// What a failover-storm plan measures: every master of the killed host must be switched on every
/// sentinel within `bound_ms` of the kill, each exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormPlan {
    /// Index of the `KillHost` fault in [`Plan::faults`].
    pub fault: usize,
    /// Deadline after the kill (ms).
    pub bound_ms: u64,
    /// Check the deadline and the single failover per master (off in chaos plans, whose other faults
    /// may legitimately delay a switch or cause a second failover).
    pub checked: bool,
}

/// First Redis port.
pub const REDIS_BASE_PORT: u16 = 6400;
/// First sentinel port.
pub const SENTINEL_BASE_PORT: u16 = 26400;
/// Everything listens on loopback (the simulation never opens a socket; the address is only a name).
pub const HOST: &str = "127.0.0.1";

impl Plan {
    /// Derive a plan from a seed.
    pub fn from_seed(seed: u64) -> Plan {
        let mut rng = Rng::new(seed);
        let r = &mut rng;
        let n_sentinels = match r.below(10) {
            0..=4 => 3,
            5..=7 => 5,
            8 => 4,
            _ => 7,
        };
        let n_groups = match r.below(10) {
            0..=6 => 1,
            7..=8 => 2,
            _ => 3,
        };
        let mut instances = Vec::new();
        let mut groups = Vec::new();
        for g in 0..n_groups {
            let n_replicas = r.range(1, 4) as usize;
            let master = instances.len();
            for _ in 0..=n_replicas {
                let priority = if r.chance_pct(10) {
                    0
                } else {
                    [100, 100, 100, 50, 10][r.index(5)]
                };
                instances.push(InstancePlan {
                    port: REDIS_BASE_PORT + instances.len() as u16,
                    group: g,
                    priority,
                });
            }
            // The initial master's own priority is irrelevant until it is demoted; keep it promotable.
            instances[master].priority = 100;
            groups.push(GroupPlan {
                name: format!("m{g}"),
                master,
                replicas: (master + 1..instances.len()).collect(),
            });
        }
        let majority = n_sentinels as u32 / 2 + 1;
        let quorum = match r.below(10) {
            0..=5 => majority,
            6..=7 => (majority - 1).max(1),
            _ => r.range(1, n_sentinels as u64) as u32,
        };
        let down_after_ms = [100, 200, 300, 500, 1000, 2000][r.index(6)];
        let failover_timeout_ms = [1000, 2000, 3000, 5000, 8000][r.index(5)].max(down_after_ms * 2);
        let info_period = [500, 1000, 2000][r.index(3)];
        let publish_period = [300, 500, 1000, 2000][r.index(4)];
        let ask_period = [300, 500, 1000][r.index(3)];
        let ping_period = [300, 500, 1000][r.index(3)];
        let tilt_period = [2000, 5000, 10000][r.index(3)];
        let debug = vec![
            ("info-period", info_period),
            ("ping-period", ping_period),
            ("ask-period", ask_period),
            ("publish-period", publish_period),
            ("tilt-period", tilt_period),
            ("slave-reconf-timeout", [1000, 3000, 10000][r.index(3)]),
            ("min-link-reconnect-period", [2000, 5000, 15000][r.index(3)]),
        ];
        let adversarial_clocks = r.chance_pct(5);
        let wide_clocks = r.chance_pct(25);
        let clocks = (0..n_sentinels)
            .map(|_| ClockPlan {
                offset: r.below(1_000_000_000),
                rate_ppm: if adversarial_clocks {
                    r.range(500_000, 2_000_000)
                } else if wide_clocks {
                    r.range(900_000, 1_100_000)
                } else {
                    r.range(990_000, 1_010_000)
                },
                wall_base: 1_700_000_000_000 + r.below(10_000) as i64,
            })
            .collect();
        // Round trips stay well below down-after (a real deployment's down-after is many RTTs); latency
        // spikes beyond it are faults.
        let lat_lo = [0, 1, 1, 2, 5][r.index(5)].min(down_after_ms / 8);
        let lat_hi = (lat_lo + [1, 3, 10, 30, 100][r.index(5)])
            .min(down_after_ms / 4)
            .max(lat_lo);
        let loss_ppm = [0, 0, 0, 100, 1000, 5000][r.index(6)];
        let mut plan = Plan {
            seed,
            n_sentinels,
            groups,
            instances,
            quorum,
            down_after_ms,
            failover_timeout_ms,
            parallel_syncs: r.range(1, 2) as u32,
            debug,
            agreed_set: r.chance_pct(75),
            known_replicas: r.chance_pct(50),
            latency: (lat_lo, lat_hi),
            loss_ppm,
            connect_timeout_ms: [200, 1000, 3000][r.index(3)],
            stall_reset_ms: [500, 2000, 10_000][r.index(3)],
            clocks,
            disk: {
                let lo = [0, 1, 5][r.index(3)];
                (lo, lo + [0, 5, 50][r.index(3)])
            },
            persist_fail_ppm: if r.chance_pct(10) { 20_000 } else { 0 },
            repl_tick_ms: 100,
            sync_ms: [50, 200, 1000][r.index(3)],
            loading_ms: [0, 100, 1000][r.index(3)],
            write_every_ms: if r.chance_pct(70) {
                r.range(20, 200)
            } else {
                0
            },
            faults: Vec::new(),
            warmup_ms: 0,
            safety_ms: 0,
            liveness_ms: 0,
            storm: None,
        };
        plan.warmup_ms = 2 * info_period + 3 * publish_period + 1000;
        plan.safety_ms = (8_000 + 2 * failover_timeout_ms).min(20_000);
        plan.faults = gen_faults(r, &plan);
        let min_rate = plan
            .clocks
            .iter()
            .map(|c| c.rate_ppm)
            .min()
            .unwrap_or(1_000_000)
            .max(1);
        let base =
            10_000 + tilt_period + 6 * failover_timeout_ms + 4 * info_period + 8 * publish_period;
        plan.liveness_ms = base.saturating_mul(1_000_000) / min_rate.min(1_000_000);
        plan
    }

    /// A failover storm derived from `seed`: three sentinels monitor `masters` masters with one replica each
    /// (the real-process test: down-after 1000, failover-timeout 10000, Redis's default periods), and
    /// one host carrying every master dies at once. Network, clocks, disks and the instant of the kill vary
    /// with the seed; there is no other fault. Every master must be switched on every sentinel within
    /// down-after + 1 s of the kill (checked as `storm_liveness`), exactly once (`storm_one_failover`).
    pub fn storm(seed: u64, masters: usize) -> Plan {
        let mut rng = Rng::new(seed ^ 0x5707_3A11_0000_0001);
        let r = &mut rng;
        let n_sentinels = 3;
        let mut instances = Vec::new();
        let mut groups = Vec::new();
        for g in 0..masters.max(1) {
            let master = instances.len();
            for _ in 0..2 {
                instances.push(InstancePlan {
                    port: REDIS_BASE_PORT + instances.len() as u16,
                    group: g,
                    priority: 100,
                });
            }
            groups.push(GroupPlan {
                name: format!("m{g}"),
                master,
                replicas: vec![master + 1],
            });
        }
        let down_after_ms = 1000;
        let failover_timeout_ms = 10_000;
        let clocks = (0..n_sentinels)
            .map(|_| ClockPlan {
                offset: r.below(1_000_000_000),
                rate_ppm: r.range(999_000, 1_001_000),
                wall_base: 1_700_000_000_000 + r.below(10_000) as i64,
            })
            .collect();
        let lat_lo = [0, 0, 1][r.index(3)];
        let lat_hi = lat_lo + [1, 2, 5][r.index(3)];
        // fsync of a small file on this project's machines: 0.5-1 ms, with an occasional slow one.
        let disk_lo = [0, 1][r.index(2)];
        let disk = (disk_lo, disk_lo + [1, 2, 10][r.index(3)]);
        let at = r.below(1000);
        let safety_ms = 12_000;
        let mut plan = Plan {
            seed,
            n_sentinels,
            groups,
            instances,
            quorum: 2,
            down_after_ms,
            failover_timeout_ms,
            parallel_syncs: 1,
            debug: Vec::new(),
            agreed_set: true,
            known_replicas: true,
            latency: (lat_lo, lat_hi),
            loss_ppm: 0,
            connect_timeout_ms: 1000,
            stall_reset_ms: 10_000,
            clocks,
            disk,
            persist_fail_ppm: 0,
            repl_tick_ms: 100,
            sync_ms: 50,
            loading_ms: 0,
            write_every_ms: 0,
            faults: Vec::new(),
            warmup_ms: 0,
            safety_ms,
            liveness_ms: 0,
            storm: Some(StormPlan {
                fault: 0,
                bound_ms: down_after_ms + 1000,
                checked: true,
            }),
        };
        let redis = (0..masters.max(1)).map(RedisSel::CurrentMaster).collect();
        plan.faults.push(Fault {
            at,
            dur: safety_ms - at,
            kind: FaultKind::KillHost { redis },
        });
        // Warm-up: replicas and peers are pre-seeded; links, first INFO and a couple of hello rounds.
        plan.warmup_ms = 5000;
        plan.liveness_ms = 10_000 + 6 * failover_timeout_ms;
        plan
    }

    /// A failover storm over slow links (one-way latency 20–300 ms): the sentinels' rank delays are often
    /// too short, several candidates meet, votes split, and the early abort and fast retry run. No other
    /// fault, so every master must still fail over exactly once (`storm_one_failover`), and within
    /// down-after + 1 s plus 12 one-way latencies (`storm_liveness`: a vote round trip, the promotion, its
    /// confirmation and the hello that tells the others, through at most one fast retry).
    pub fn storm_slow(seed: u64, masters: usize) -> Plan {
        let mut p = Plan::storm(seed, masters);
        let mut rng = Rng::new(seed ^ 0x5103_0000_0000_0003);
        let r = &mut rng;
        let lo = r.range(20, 100);
        p.latency = (lo, lo + r.range(0, 200));
        // Links stall longer than that before the shell gives up on them.
        p.stall_reset_ms = 10_000;
        if let Some(st) = p.storm.as_mut() {
            st.bound_ms = p.down_after_ms + 1000 + 12 * p.latency.1;
        }
        p
    }

    /// A failover storm with the general fault mix on top ([`Plan::from_seed`]'s faults: partitions,
    /// sentinel crashes (also right after an election or a vote), one-way links, loss, clock faults, slow
    /// or failing disks), on 3 or 5 sentinels. Only the general safety properties are checked: it exists
    /// to exercise vedette's storm rules (epoch reuse, the early abort, the fast retry) under faults.
    pub fn storm_chaos(seed: u64, masters: usize) -> Plan {
        let mut p = Plan::storm(seed, masters);
        let mut rng = Rng::new(seed ^ 0xC4A0_5000_0000_0002);
        let r = &mut rng;
        if r.chance_pct(40) {
            p.n_sentinels = 5;
            p.quorum = [2, 3, 3][r.index(3)];
            while p.clocks.len() < 5 {
                p.clocks.push(ClockPlan {
                    offset: r.below(1_000_000_000),
                    rate_ppm: r.range(990_000, 1_010_000),
                    wall_base: 1_700_000_000_000 + r.below(10_000) as i64,
                });
            }
        }
        p.loss_ppm = [0, 0, 100, 1000][r.index(4)];
        // Slow links make the sentinels' rank delays too short now and then, so several candidates meet,
        // votes split and the early abort and fast retry run.
        if r.chance_pct(40) {
            let lo = r.range(20, 100);
            p.latency = (lo, lo + r.range(0, 200));
        }
        p.persist_fail_ppm = if r.chance_pct(10) { 20_000 } else { 0 };
        p.agreed_set = r.chance_pct(80);
        let kill = p.faults.remove(0);
        let mut faults = gen_faults(r, &p);
        faults.push(kill.clone());
        faults.sort_by_key(|f| f.at);
        let fault = faults.iter().position(|f| *f == kill).unwrap_or(0);
        p.faults = faults;
        p.storm = Some(StormPlan {
            fault,
            bound_ms: p.storm.as_ref().map_or(0, |s| s.bound_ms),
            checked: false,
        });
        // As in the general plans: the liveness deadline after heal covers TILT and retries.
        p.liveness_ms = 10_000 + 30_000 + 6 * p.failover_timeout_ms;
        p
    }

    /// `SENTINEL DEBUG` value by name (Redis default when not set by the plan).
    pub fn debug_value(&self, name: &str) -> u64 {
        self.debug
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or(match name {
                "info-period" => 10_000,
                "ping-period" => 1_000,
                "ask-period" => 1_000,
                "publish-period" => 2_000,
                "tilt-period" => 30_000,
                _ => 0,
            })
    }

    /// Majority of the configured sentinels.
    pub fn majority(&self) -> usize {
        self.n_sentinels / 2 + 1
    }

    /// One line describing the plan.
    pub fn summary(&self) -> String {
        format!(
            "seed={} sentinels={} masters={} instances={} quorum={} down_after={} failover_timeout={} agreed_set={} \
             latency={:?} loss_ppm={} faults={}",
            self.seed,
            self.n_sentinels,
            self.groups.len(),
            self.instances.len(),
            self.quorum,
            self.down_after_ms,
            self.failover_timeout_ms,
            self.agreed_set,
            self.latency,
            self.loss_ppm,
            self.faults.len()
        )
    }
}

fn some_sentinels(r: &mut Rng, n: usize, count: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    r.shuffle(&mut all);
    all.truncate(count);
    all.sort_unstable();
    all
}

fn gen_faults(r: &mut Rng, p: &Plan) -> Vec<Fault> {
    let n = p.n_sentinels;
    let minority = (n - 1) / 2;
    let s = p.safety_ms;
    let n_faults = match r.below(10) {
        0 => 0,
        1..=4 => 1,
        5..=7 => 2,
        8 => 3,
        _ => 4,
    };
    let mut faults = Vec::new();
    for _ in 0..n_faults {
        let group = r.index(p.groups.len());
        let at = r.below(s * 6 / 10);
        let max_dur = s - at;
        let dur = r.range(p.down_after_ms.min(max_dur), max_dur);
        let kind = match r.below(100) {
            0..=19 => FaultKind::IsolateRedis {
                redis: RedisSel::CurrentMaster(group),
                with_sentinels: if r.chance_pct(50) {
                    let c = r.range(0, minority as u64) as usize;
                    some_sentinels(r, n, c)
                } else {
                    Vec::new()
                },
                with_client: r.chance_pct(50),
            },
            20..=34 => FaultKind::KillRedis {
                redis: if r.chance_pct(80) {
                    RedisSel::CurrentMaster(group)
                } else {
                    RedisSel::Instance(r.index(p.instances.len()))
                },
                keep_data: r.chance_pct(70),
            },
            35..=47 => {
                let side = if r.chance_pct(70) {
                    minority
                } else {
                    n - minority
                };
                let sentinels_a = some_sentinels(r, n, side);
                let redis_a = (0..p.instances.len())
                    .filter(|_| r.chance_pct(40))
                    .collect();
                FaultKind::Split {
                    sentinels_a,
                    redis_a,
                    client_a: r.chance_pct(50),
                }
            }
            48..=53 => {
                let c = r.range(1, n as u64 - 1) as usize;
                let a = some_sentinels(r, n, c);
                let mut from: Vec<Host> = a.iter().map(|&i| Host::Sentinel(i)).collect();
                let mut to: Vec<Host> = (0..n)
                    .filter(|i| !a.contains(i))
                    .map(Host::Sentinel)
                    .collect();
                if r.chance_pct(50) {
                    to.push(Host::Redis(p.groups[group].master));
                }
                if r.chance_pct(50) {
                    std::mem::swap(&mut from, &mut to);
                }
                FaultKind::OneWay { from, to }
            }
            54..=61 => FaultKind::KillSentinel { node: r.index(n) },
            62..=71 => FaultKind::CrashOnEvent {
                node: if r.chance_pct(50) {
                    Some(r.index(n))
                } else {
                    None
                },
                event: CrashTrigger::ALL[r.index(CrashTrigger::ALL.len())],
            },
            72..=77 => {
                let a = if r.chance_pct(50) {
                    Host::Redis(p.groups[group].master)
                } else {
                    Host::Sentinel(r.index(n))
                };
                let b = Host::Sentinel(r.index(n));
                FaultKind::Flap {
                    a,
                    b,
                    period: r.range(50, 2 * p.down_after_ms + 100),
                }
            }
            78..=82 => FaultKind::LossBurst {
                ppm: [10_000, 50_000, 200_000][r.index(3)],
            },
            83..=86 => FaultKind::LatencySpike {
                extra: [50, 300, 1500][r.index(3)],
            },
            87..=90 => FaultKind::ClockRate {
                node: r.index(n),
                rate_ppm: [0, 0, 300_000, 3_000_000][r.index(4)],
            },
            91..=94 => FaultKind::WallJump {
                node: r.index(n),
                delta: [-5_000, 3_000, 60_000, -60_000][r.index(4)],
            },
            95..=97 => FaultKind::Pause { node: r.index(n) },
            _ => FaultKind::SlowDisk {
                node: r.index(n),
                extra: [100, 1000][r.index(2)],
            },
        };
        faults.push(Fault { at, dur, kind });
    }
    faults.sort_by_key(|f| f.at);
    faults
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_deterministic_and_sane() {
        for seed in 0..500 {
            let a = Plan::from_seed(seed);
            assert_eq!(a, Plan::from_seed(seed));
            assert!((3..=7).contains(&a.n_sentinels));
            assert!(a.quorum >= 1 && a.quorum as usize <= a.n_sentinels);
            for f in &a.faults {
                assert!(f.at + f.dur <= a.safety_ms);
            }
        }
    }
}

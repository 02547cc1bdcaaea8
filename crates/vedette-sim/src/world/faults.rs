//! The plan's faults: starting and ending each one (partitions, kills, flapping links, loss and latency
//! bursts, clock faults, pauses, slow disks, a host that takes many masters down) and the heal that ends
//! the safety phase.
//!
//! Each fault keeps what it did in its `FaultRt` so ending it undoes exactly that, and overlapping
//! partitions compose (a pair of hosts is blocked while any fault blocks it).

use super::{Ev, Phase, World, PROBE_MS};
use crate::history::Act;
use crate::plan::{FaultKind, Host, RedisSel};

#[derive(Debug, Default)]
pub(super) struct FaultRt {
    pub(super) active: bool,
    pub(super) blocks: Vec<(usize, usize)>,
    pub(super) redis: Option<usize>,
    pub(super) flap_on: bool,
    pub(super) fired: bool,
    /// `KillHost`: the instances it killed.
    pub(super) killed: Vec<usize>,
}

impl World {
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

    pub(super) fn fault_start(&mut self, fi: usize) {
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
            FaultKind::KillHost { redis } => {
                let ks: Vec<usize> = redis.iter().map(|&r| self.resolve(r)).collect();
                desc = format!("kill host of {} instances", ks.len());
                for &k in &ks {
                    self.crash_redis(k);
                }
                self.faults[fi].killed = ks;
                if let Some(st) = self.plan.storm.as_ref().filter(|st| st.fault == fi) {
                    let (bound, checked) = (st.bound_ms, st.checked);
                    self.storm_kill_at = Some(self.now);
                    self.storm_aborts_before = self.stats.aborts_not_elected;
                    if checked {
                        self.schedule(self.now + bound, Ev::StormCheck);
                    }
                }
            }
        }
        self.act(Act::Fault(format!("start #{fi}: {desc}")));
    }

    pub(super) fn fault_end(&mut self, fi: usize) {
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
            FaultKind::KillHost { .. } => {
                for k in std::mem::take(&mut self.faults[fi].killed) {
                    self.restart_redis(k, true);
                }
            }
        }
        self.act(Act::Fault(format!("end #{fi}")));
    }

    pub(super) fn flap_toggle(&mut self, fi: usize) {
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

    pub(super) fn heal(&mut self) {
        self.tr(|| "PHASE heal".into());
        let checked = self.plan.storm.as_ref().is_some_and(|s| s.checked);
        if let Some(st) = self.storm_stats().filter(|_| checked) {
            let mut twice: Vec<String> = self
                .storm_switches
                .iter()
                .filter(|(_, v)| v.len() > 1)
                .map(|((i, m), v)| format!("S{i} switched m{m} {} times", v.len()))
                .collect();
            for m in 0..st.masters {
                let e = self.checker.leaders.promotion_epochs(m);
                if e.len() > 1 {
                    twice.push(format!("m{m} promoted in epochs {e:?}"));
                }
            }
            if !twice.is_empty() {
                twice.truncate(10);
                self.fail(Err(crate::invariants::violation(
                    "storm_one_failover",
                    self.now,
                    format!(
                        "a master of the storm failed over more than once: {}",
                        twice.join(", ")
                    ),
                )));
            }
        }
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
}

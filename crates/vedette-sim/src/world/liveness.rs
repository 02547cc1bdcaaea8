//! Liveness: the failover-storm deadline (every killed master switched on every sentinel in time) and the
//! convergence probes after the heal (one master per group, named by every live sentinel, replicated by
//! every other instance), which end a run.

use vedette_core::ClientId;

use super::{
    argv, Ev, Phase, StormStats, World, CLIENT_STRIDE, PROBE_BASE, PROBE_MS, STABLE_PROBES,
};
use crate::node::NodeCall;

impl World {
    /// The storm's figures so far (None outside storm plans or before the kill).
    pub(super) fn storm_stats(&self) -> Option<StormStats> {
        let kill = self.storm_kill_at?;
        let n = self.plan.groups.len();
        let all_switched_ms = (0..n)
            .map(|m| {
                (0..self.nodes.len()).try_fold(0u64, |acc, i| {
                    let t = self.storm_switches.get(&(i, m))?.first()?;
                    Some(acc.max(t - kill))
                })
            })
            .collect();
        Some(StormStats {
            masters: n,
            all_switched_ms,
            double_switches: self.storm_switches.values().filter(|v| v.len() > 1).count() as u64,
            attempts: self.storm_attempts,
            aborts_not_elected: self.stats.aborts_not_elected - self.storm_aborts_before,
        })
    }

    /// `storm_liveness`: at the deadline every killed master is switched on every sentinel.
    pub(super) fn storm_check(&mut self) {
        let Some(st) = self.storm_stats() else { return };
        let bound = self.plan.storm.as_ref().map_or(0, |s| s.bound_ms);
        let late: Vec<String> = st
            .all_switched_ms
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_none())
            .map(|(m, _)| {
                let on: Vec<usize> = (0..self.nodes.len())
                    .filter(|&i| self.storm_switches.contains_key(&(i, m)))
                    .collect();
                format!("m{m} (switched on {on:?})")
            })
            .collect();
        if !late.is_empty() {
            let shown: Vec<&String> = late.iter().take(10).collect();
            self.fail(Err(crate::invariants::violation(
                "storm_liveness",
                self.now,
                format!(
                    "{} of {} masters not switched on every sentinel {bound} ms after the kill: {shown:?}",
                    late.len(),
                    st.masters
                ),
            )));
        }
    }

    pub(super) fn probe(&mut self) {
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
                let cl = ClientId(PROBE_BASE + (j as u64) * CLIENT_STRIDE + g as u64);
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

//! The failover state machine (reference §7): once elected, select the best replica, promote it, wait for
//! the promotion, reconfigure the other replicas (`parallel-syncs` at a time) and switch (`switch`);
//! abort before the promotion on timeouts. Each step is a method named for its Redis state.

mod switch;

use crate::events::{EventKind, Instance};
use crate::instance::table::{MasterId, ReplicaId};
use crate::instance::{FailoverState, Inst, Reconf, Sent};
use crate::io::{LinkId, OutCommand};
use crate::sentinel::{Mutation, Sentinel};

/// How long selection waits for a replica whose link was just lost (see
/// [`Sentinel::replica_reconnecting`]).
const RESELECT_GRACE_MS: u64 = 2_000;

impl Sentinel {
    /// One step of the failover state machine; loops while states advance so nothing waits for a tick.
    pub(crate) fn failover_step(&mut self, mid: MasterId) {
        for _ in 0..8 {
            let Some(before) = self.masters.at(mid).and_then(|m| m.failover_state()) else {
                return;
            };
            match before {
                FailoverState::WaitStart => self.step_wait_start(mid),
                FailoverState::SelectSlave => self.step_select_slave(mid),
                FailoverState::SendSlaveofNoone { replica } => {
                    self.step_send_slaveof_noone(mid, replica)
                }
                FailoverState::WaitPromotion { .. } => self.step_wait_promotion(mid),
                FailoverState::ReconfSlaves { replica } => self.step_reconf_slaves(mid, replica),
                FailoverState::UpdateConfig { .. } => {
                    self.switch_to_promoted(mid);
                    return;
                }
            }
            if self.masters.at(mid).and_then(|m| m.failover_state()) == Some(before) {
                return;
            }
        }
    }

    /// Move our running failover to `st`, now.
    fn set_state(&mut self, mid: MasterId, st: FailoverState) {
        let now = self.now;
        if let Some(f) = self.masters.at_mut(mid).and_then(|m| m.failover.as_mut()) {
            f.state = st;
            f.changed = now;
        }
    }

    fn step_wait_start(&mut self, mid: MasterId) {
        let now = self.now;
        let winner = self.tally(mid);
        let Some((m, f)) = self.masters.at(mid).and_then(|m| Some((m, m.failover?))) else {
            return;
        };
        let forced = f.forced;
        let elected = winner
            .as_deref()
            .is_some_and(|w| w.eq_ignore_ascii_case(&self.myid));
        if elected || forced {
            self.event_master(mid, EventKind::ElectedLeader);
            if self.simfailure & 1 != 0 {
                tracing::warn!("Sentinel CRASH because of SENTINEL simulate-failure");
                self.out.crash(self.now);
            }
            self.set_state(mid, FailoverState::SelectSlave);
            self.event_master(mid, EventKind::FailoverStateSelectSlave);
            return;
        }
        let timeout = self.t.election_timeout.min(m.cfg.failover_timeout_ms);
        let started = m.failover_start_time.unwrap_or(now);
        let timed_out = now > started && now.since(started) > timeout;
        let outlook = self.election_outlook(mid);
        if timed_out || outlook.lost {
            self.event_master(mid, EventKind::FailoverAbortNotElected);
            self.abort_failover(mid);
            let eager = self.mutated(Mutation::EagerRetry);
            if eager || (outlook.dead_for_all && self.first_of_known(mid)) {
                if let Some(m) = self.masters.at_mut(mid) {
                    m.fast_retry = Some(f.epoch);
                }
            }
        }
    }

    /// Eligible replicas, best first (reference §7.2).
    pub(crate) fn select_replica(&self, mid: MasterId) -> Option<ReplicaId> {
        let now = self.now;
        let m = self.masters.at(mid)?;
        let ping5 = self.t.ping_period.saturating_mul(5);
        let info_max = if m.c.s_down {
            ping5
        } else {
            self.t.info_period.saturating_mul(3)
        };
        let mut max_down = m.cfg.down_after_ms.saturating_mul(10);
        if m.c.s_down {
            if let Some(s) = m.c.s_down_since {
                max_down = max_down.saturating_add(now.since(s));
            }
        }
        let mut cands: Vec<(ReplicaId, &crate::instance::Replica)> = m
            .replicas
            .iter_ids()
            .filter(|(_, r)| {
                let l = self.links.get(&r.c.link);
                !r.c.s_down
                    && l.is_some_and(|l| !l.disconnected() && now.since(l.last_avail_time) <= ping5)
                    && r.priority != 0
                    && r.info.refresh.is_some_and(|t| now.since(t) <= info_max)
                    && r.master_link_down_time <= max_down as i64
            })
            .collect();
        cands.sort_by(|a, b| {
            let (ra, rb) = (a.1, b.1);
            ra.priority
                .cmp(&rb.priority)
                .then(rb.repl_offset.cmp(&ra.repl_offset))
                .then_with(|| match (&ra.c.runid, &rb.c.runid) {
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
        });
        cands.first().map(|(n, _)| *n)
    }

    /// vedette: whether selection may wait for a replica that is eligible but for its link, lost less
    /// than [`RESELECT_GRACE_MS`] ago, while we have been selecting for less than that. A promotion sends
    /// `CLIENT KILL TYPE normal`, which also cuts every sentinel's connection to that server; when two
    /// masters' replicas live on one server (or a replica was just restarted), Redis's immediate
    /// `-failover-abort-no-good-slave` costs 2 × failover-timeout for a link that is back in milliseconds.
    fn replica_reconnecting(&self, mid: MasterId) -> bool {
        let now = self.now;
        let Some(m) = self.masters.at(mid) else {
            return false;
        };
        let selecting_since = m.failover.map_or(now, |f| f.changed);
        if now.since(selecting_since) >= RESELECT_GRACE_MS {
            return false;
        }
        m.replicas.values().any(|r| {
            !r.c.s_down
                && r.priority != 0
                && self.links.get(&r.c.link).is_some_and(|l| {
                    l.lost_time
                        .is_some_and(|t| now.since(t) < RESELECT_GRACE_MS)
                })
        })
    }

    fn step_select_slave(&mut self, mid: MasterId) {
        match self.select_replica(mid) {
            None if self.replica_reconnecting(mid) => {}
            None => {
                self.event_master(mid, EventKind::FailoverAbortNoGoodSlave);
                self.abort_failover(mid);
            }
            Some(rn) => {
                let key = Inst::replica(mid, rn);
                self.set_state(mid, FailoverState::SendSlaveofNoone { replica: rn });
                self.event(key, EventKind::SelectedSlave);
                self.event(key, EventKind::FailoverStateSendSlaveofNoone);
            }
        }
    }

    fn promoted_key(&self, mid: MasterId) -> Option<(Inst, LinkId)> {
        let m = self.masters.at(mid)?;
        let rn = m.promoted()?;
        let link = m.replicas.at(rn)?.c.link;
        Some((Inst::replica(mid, rn), link))
    }

    fn step_send_slaveof_noone(&mut self, mid: MasterId, replica: ReplicaId) {
        let now = self.now;
        let Some((key, link)) = self.promoted_key(mid) else {
            self.abort_failover(mid);
            return;
        };
        let Some((m, f)) = self.masters.at(mid).and_then(|m| Some((m, m.failover?))) else {
            return;
        };
        let timeout = m.cfg.failover_timeout_ms;
        let changed = f.changed;
        let connected = self.links.get(&link).is_some_and(|l| !l.disconnected());
        if !connected {
            if now.since(changed) > timeout {
                self.event_master(mid, EventKind::FailoverAbortSlaveTimeout);
                self.abort_failover(mid);
            }
            return;
        }
        if self.send(link, Sent::Other, OutCommand::Reconfigure(None)) {
            self.event(key, EventKind::FailoverStateWaitPromotion);
            self.set_state(mid, FailoverState::WaitPromotion { replica });
            // Confirm at once: INFO right behind the transaction on the same connection.
            self.send(link, Sent::Info(key), OutCommand::Info);
        }
    }

    fn step_wait_promotion(&mut self, mid: MasterId) {
        let now = self.now;
        let Some((m, f)) = self.masters.at(mid).and_then(|m| Some((m, m.failover?))) else {
            return;
        };
        if now.since(f.changed) > m.cfg.failover_timeout_ms {
            self.event_master(mid, EventKind::FailoverAbortSlaveTimeout);
            self.abort_failover(mid);
        }
    }

    fn step_reconf_slaves(&mut self, mid: MasterId, promoted: ReplicaId) {
        let now = self.now;
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let Some(p) = m.replicas.at(promoted) else {
            return;
        };
        let target = (p.c.host.clone(), p.c.port);
        let parallel = m.cfg.parallel_syncs.max(1) as usize;
        let reconf_timeout = self.t.slave_reconf_timeout;
        let mut in_progress = m
            .replicas
            .values()
            .filter(|r| matches!(r.reconf, Reconf::Sent(_) | Reconf::InProg))
            .count();
        let names: Vec<ReplicaId> = m.replicas.ids().collect();
        for rn in names {
            if in_progress >= parallel {
                break;
            }
            let Some(r) = self.masters.at(mid).and_then(|m| m.replicas.at(rn)) else {
                continue;
            };
            if rn == promoted || r.reconf == Reconf::Done {
                continue;
            }
            let key = Inst::replica(mid, rn);
            if let Reconf::Sent(t) = r.reconf {
                if now.since(t) > reconf_timeout {
                    self.event(key, EventKind::SlaveReconfSentTimeout);
                    self.set_reconf(mid, rn, Reconf::Done);
                }
                continue;
            }
            if r.reconf == Reconf::InProg {
                continue;
            }
            let link = r.c.link;
            if self.links.get(&link).is_none_or(|l| l.disconnected()) {
                continue;
            }
            if self.send_reconf(mid, rn, link, &target, EventKind::SlaveReconfSent) {
                in_progress += 1;
                self.send(link, Sent::Info(key), OutCommand::Info);
            }
        }
        self.check_failover_end(mid);
    }

    /// Sends the reconfiguration transaction (`SLAVEOF target`) to one replica and, if it went out, marks
    /// it `Sent` now and emits `kind`.
    /// Shared by the paced reconfiguration and the best-effort sweep at the failover timeout, which
    /// differ only in the event they report.
    fn send_reconf(
        &mut self,
        mid: MasterId,
        rn: ReplicaId,
        link: LinkId,
        target: &(String, u16),
        kind: fn(Instance) -> EventKind,
    ) -> bool {
        if !self.send(
            link,
            Sent::Other,
            OutCommand::Reconfigure(Some(target.clone())),
        ) {
            return false;
        }
        self.set_reconf(mid, rn, Reconf::Sent(self.now));
        self.event(Inst::replica(mid, rn), kind);
        true
    }

    fn check_failover_end(&mut self, mid: MasterId) {
        let now = self.now;
        let Some((m, f)) = self.masters.at(mid).and_then(|m| Some((m, m.failover?))) else {
            return;
        };
        let Some(pid) = f.state.promoted() else {
            return;
        };
        let Some(p) = m.replicas.at(pid) else {
            return;
        };
        if p.c.s_down {
            return;
        }
        let target = (p.c.host.clone(), p.c.port);
        let not_done = m
            .replicas
            .iter_ids()
            .filter(|&(id, r)| id != pid && r.reconf != Reconf::Done && !r.c.s_down)
            .count();
        let timed_out = now.since(f.changed) > m.cfg.failover_timeout_ms;
        if timed_out {
            self.event_master(mid, EventKind::FailoverEndForTimeout);
            let names: Vec<(ReplicaId, LinkId, Reconf, bool)> = self
                .masters
                .at(mid)
                .map(|m| {
                    m.replicas
                        .iter_ids()
                        .map(|(n, r)| (n, r.c.link, r.reconf, n == pid))
                        .collect()
                })
                .unwrap_or_default();
            for (rn, link, reconf, promoted) in names {
                if promoted || matches!(reconf, Reconf::Done | Reconf::Sent(_)) {
                    continue;
                }
                self.send_reconf(mid, rn, link, &target, EventKind::SlaveReconfSentBe);
            }
        }
        if not_done == 0 || timed_out {
            self.event_master(mid, EventKind::FailoverEnd);
            self.set_state(mid, FailoverState::UpdateConfig { replica: pid });
        }
    }

    /// Abort before promotion (reference §7.7).
    pub(crate) fn abort_failover(&mut self, mid: MasterId) {
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        if m.failover_state()
            .is_some_and(FailoverState::promotion_seen)
        {
            return;
        }
        m.failover = None;
    }
}

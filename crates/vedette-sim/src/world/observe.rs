//! What the cores emit, fed to the safety checker: their events (`+try-failover`, votes, elections,
//! switches, `+sdown`/`+odown`, `+tilt`) and the commands they send (hellos and vote requests reveal epochs
//! that must already be on disk; a promotion must come from an elected leader).
//!
//! Kept apart from execution (`sentinel`, `net`) so the properties read in one place; this is also where the
//! plan's reactive crash faults fire ("kill a sentinel right after it was elected").

use vedette_core::{Event, EventKind, InstanceKind, LinkId, OutCommand};

use super::net::{Msg, Target};
use super::{Phase, World};
use crate::history::Act;
use crate::invariants::Via;
use crate::plan::FaultKind;

impl World {
    pub(super) fn on_event(&mut self, i: usize, e: &Event) {
        self.stats.core_events += 1;
        let master = e.master.as_deref().and_then(|m| self.group_of_name(m));
        match (&e.kind, master) {
            (EventKind::NewEpoch(v), _) => self.checker.leaders.new_epoch(i, *v),
            (EventKind::FailoverAbortNotElected(_), _) => self.stats.aborts_not_elected += 1,
            (EventKind::TryFailover(_), Some(m)) => {
                if self.storm_kill_at.is_some() {
                    self.storm_attempts += 1;
                }
                let local = self.nodes[i].clock.local(self.now);
                if let Some(prev) = self.last_try.insert((i, m), local) {
                    if local.saturating_sub(prev) < 2 * self.plan.failover_timeout_ms {
                        self.stats.early_retries += 1;
                    }
                }
                let reach = self.reach_mask(i);
                let epoch = self.checker.leaders.try_failover(i, m, reach);
                self.act(Act::TryFailover {
                    node: i,
                    master: m,
                    epoch,
                });
            }
            (EventKind::VoteForLeader { leader: id, epoch }, Some(m)) => {
                let epoch = *epoch;
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
            (EventKind::ElectedLeader(_), Some(m)) => {
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
            (EventKind::SwitchMaster { new, .. }, Some(m)) => {
                self.switched_at.insert((i, m), self.now);
                self.last_try.remove(&(i, m));
                if self.storm_kill_at.is_some() {
                    self.storm_switches
                        .entry((i, m))
                        .or_default()
                        .push(self.now);
                }
                self.act(Act::Switch {
                    node: i,
                    master: m,
                    port: new.1,
                });
            }
            (EventKind::Sdown(inst), Some(m)) if inst.kind() == InstanceKind::Master => {
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
                                self.plan.down_after_ms, e.kind
                            ),
                        ));
                    }
                }
            }
            (EventKind::Odown { master: inst, .. }, Some(_)) => {
                let port = inst.addr().port;
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
            (EventKind::Tilt, _) => {
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
                    if event.fires_on(&e.kind) && node.is_none_or(|n| n == i) {
                        self.faults[fi].fired = true;
                        let ev = e.kind.channel();
                        self.act(Act::Fault(format!("crash S{i} right after {ev}")));
                        let p = &self.plan;
                        self.crash_and_restart(i, (p.down_after_ms, 2 * p.failover_timeout_ms));
                        return;
                    }
                }
            }
        }
    }

    pub(super) fn send(&mut self, i: usize, link: LinkId, gen: u64, cmd: OutCommand) {
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
                let r = if runid == "*" {
                    self.checker.epochs.reveal(
                        self.now,
                        i,
                        *epoch,
                        "is-master-down-by-addr request",
                        &self.nodes[i].disk.durable,
                    )
                } else {
                    let attempt = self
                        .redis_by_port(*port)
                        .map(|k| self.redis[k].group)
                        .and_then(|g| self.checker.leaders.attempt_epoch(i, g));
                    self.checker.epochs.reveal_vote_request(
                        self.now,
                        i,
                        *epoch,
                        attempt,
                        &self.nodes[i].disk.durable,
                    )
                };
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
}

//! INFO replies (reference §4): what a master's INFO says about its replicas (discovery), what a replica's
//! says about its role and master, and what we do about it (fix a replica's configuration, demote a
//! returning old master, follow reconfiguration during our failover).

use std::collections::BTreeSet;

use crate::config::valid_host;
use crate::events::EventKind;
use crate::instance::table::{MasterId, ReplicaId};
use crate::instance::{host_key, same_host, Inst, Known, Reconf, Sent, Who};
use crate::io::{LinkId, OutCommand};
use crate::sentinel::Sentinel;
use crate::time::Instant;
use crate::wire::info::{InfoReport, Role};

impl Sentinel {
    /// Send INFO to every replica of `master` that has none outstanding.
    pub(crate) fn refresh_replicas(&mut self, master: MasterId) {
        let Some(m) = self.masters.at(master) else {
            return;
        };
        let targets: Vec<(ReplicaId, LinkId)> =
            m.replicas.iter_ids().map(|(n, r)| (n, r.c.link)).collect();
        for (rn, link) in targets {
            let inflight = self
                .links
                .get(&link)
                .is_some_and(|l| l.inflight.info_pending(Inst::replica(master, rn)));
            if !inflight {
                self.send(
                    link,
                    Sent::Info(Inst::replica(master, rn)),
                    OutCommand::Info,
                );
            }
        }
    }

    /// "Master looks sane" (reference §4.1).
    pub(crate) fn master_sane(&self, master: MasterId) -> bool {
        self.masters.at(master).is_some_and(|m| {
            m.info.role_reported == Role::Master
                && !m.c.s_down
                && !m.o_down
                && m.info
                    .refresh
                    .is_some_and(|t| self.now.since(t) < self.t.info_period.saturating_mul(2))
        })
    }

    /// vedette's confirmation that our view of `master` is the cluster's: a majority of the sentinels we know
    /// (us included) sent a recent hello, and every recent hello names our master address and config epoch.
    pub(crate) fn view_confirmed(&self, master: MasterId) -> bool {
        let Some(m) = self.masters.at(master) else {
            return false;
        };
        if !self.master_sane(master) {
            return false;
        }
        let recent = self.t.publish_period.saturating_mul(3);
        let mut agreeing = 1usize;
        for p in m.sentinels.values() {
            let Some(at) = p.last_hello_at else { continue };
            if self.now.since(at) > recent {
                continue;
            }
            match &p.hello_view {
                Some((h, port, e))
                    if same_host(h, &m.c.host) && *port == m.c.port && *e == m.config_epoch =>
                {
                    agreeing += 1
                }
                _ => return false,
            }
        }
        2 * agreeing > m.sentinels.len() + 1
    }

    pub(crate) fn no_down_within(
        s_down_since: Option<Instant>,
        o_down_since: Option<Instant>,
        now: Instant,
        t: u64,
    ) -> bool {
        let last = s_down_since.max(o_down_since);
        last.is_none_or(|at| now.since(at) > t)
    }

    pub(crate) fn process_info(&mut self, key: Inst, link: LinkId, text: String) {
        let now = self.now;
        let r = InfoReport::parse(&text);
        let master = key.master;
        let Some(m) = self.masters.at_mut(master) else {
            return;
        };
        let is_master = key.who == Who::Master;
        let reboot_period = m.cfg.master_reboot_down_after_period_ms;
        // Shared bookkeeping for both kinds.
        let (c, info) = match key.who {
            Who::Master => (&mut m.c, &mut m.info),
            Who::Replica(rn) => match m.replicas.at_mut(rn) {
                Some(rep) => (&mut rep.c, &mut rep.info),
                None => return,
            },
            Who::Peer(_) => return,
        };
        if c.link != link {
            return;
        }
        info.text = Some(text);
        info.refresh = Some(now);
        info.repl_offset = r.master_repl_offset;
        let mut rebooted = false;
        if let Some(id) = &r.run_id {
            match &c.runid {
                None => c.runid = Some(id.clone()),
                Some(old) if old != id => {
                    rebooted = true;
                    c.runid = Some(id.clone());
                }
                _ => {}
            }
        }
        let role_changed = r.role != Some(info.role_reported);
        if role_changed {
            info.role_reported =
                r.role
                    .unwrap_or(if is_master { Role::Slave } else { Role::Master });
            info.role_reported_time = now;
        }
        let new_role = info.role_reported;
        if rebooted && is_master && reboot_period != 0 {
            m.master_reboot = true;
            m.master_reboot_since = now;
        }
        if let Who::Replica(rn) = key.who {
            if let Some(rep) = m.replicas.at_mut(rn) {
                rep.master_link_down_time = r.master_link_down_ms;
                if r.role == Some(Role::Slave) {
                    if let Some(h) = &r.master_host {
                        if !rep
                            .master_host
                            .as_deref()
                            .is_some_and(|o| o.eq_ignore_ascii_case(h))
                        {
                            rep.master_host = Some(h.clone());
                            rep.slave_conf_change_time = now;
                        }
                    }
                    if let Some(p) = r.master_port {
                        if p != rep.master_port {
                            rep.master_port = p;
                            rep.slave_conf_change_time = now;
                        }
                    }
                    if let Some(up) = r.master_link_up {
                        rep.master_link_up = up;
                    }
                    if let Some(p) = r.slave_priority {
                        rep.priority = p;
                    }
                    if let Some(o) = r.slave_repl_offset {
                        rep.repl_offset = o;
                    }
                    if let Some(a) = r.replica_announced {
                        rep.announced = a;
                    }
                }
                if role_changed && new_role == Role::Slave {
                    rep.slave_conf_change_time = now;
                    rep.former_master = false;
                }
            }
        }
        if rebooted {
            self.event(key, EventKind::Reboot);
        }
        // Replica discovery from the master's INFO. An address is taken only if Redis would take it (an IP
        // literal unless `resolve-hostnames yes`; port 0 reaches nothing) and is not the master's own (a
        // master does not replicate from itself; such a line is a NAT/announce misconfiguration or forged).
        // Known addresses go in a set, so a huge INFO costs one lookup per line, not one scan.
        if is_master {
            let resolve = self.global.resolve_hostnames;
            let mut known: BTreeSet<(String, u16)> = self
                .masters
                .at(master)
                .map(|m| {
                    m.replicas
                        .values()
                        .map(|x| (host_key(&x.c.host), x.c.port))
                        .chain([(host_key(&m.c.host), m.c.port)])
                        .collect()
                })
                .unwrap_or_default();
            let mut added = false;
            for line in &r.replicas {
                if line.port == 0 || !valid_host(&line.ip, resolve) {
                    tracing::debug!(master = ?master, ip = %line.ip, port = line.port, "ignoring invalid replica address in INFO");
                    continue;
                }
                if known.insert((host_key(&line.ip), line.port)) {
                    if !self.room_for(master, Known::Replica) {
                        break;
                    }
                    let down_after = self
                        .masters
                        .at(master)
                        .map_or(30_000, |m| m.cfg.down_after_ms);
                    let Some(lk) = self.link_key(master, &line.ip, line.port) else {
                        break;
                    };
                    let rep = self.make_replica(&line.ip, line.port, lk, down_after, now);
                    let (rn, rlink) = (rep.name(), rep.c.link);
                    if let Some(m) = self.masters.at_mut(master) {
                        let rid = m.replicas.insert(rn, rep);
                        self.add_link_user(rlink, master);
                        self.event(Inst::replica(master, rid), EventKind::Slave);
                    }
                    added = true;
                }
            }
            if added {
                self.flush();
            }
        }
        if role_changed {
            let configured = if is_master { Role::Master } else { Role::Slave };
            self.event(key, |instance| EventKind::RoleChange {
                instance,
                reported: new_role,
                as_configured: new_role == configured,
            });
        }
        if self.tilt {
            return;
        }
        if let Who::Replica(rn) = key.who {
            self.replica_acting_half(master, rn, new_role);
            self.failover_step(master);
        }
    }

    /// What a replica's INFO makes us do (reference §4.1 items 4–6).
    pub(crate) fn replica_acting_half(&mut self, master: MasterId, rn: ReplicaId, role: Role) {
        let now = self.now;
        let Some(m) = self.masters.at(master) else {
            return;
        };
        let Some(r) = m.replicas.at(rn) else {
            return;
        };
        let key = Inst::replica(master, rn);
        let master_addr = (m.c.host.clone(), m.c.port);
        if role == Role::Master {
            if m.awaits_promotion_of(rn) {
                self.promotion_detected(master);
                return;
            }
            if m.is_promoted(rn) {
                return;
            }
            let stable = self.t.publish_period.saturating_mul(4);
            let redis_rule = Self::no_down_within(r.c.s_down_since, r.o_down_since, now, stable)
                && now.since(r.info.role_reported_time) > stable;
            // It answered INFO, so it is alive again; what matters is that our view is the cluster's.
            let fast_rule = r.former_master && self.view_confirmed(master);
            let link = r.c.link;
            if self.master_sane(master) && (redis_rule || fast_rule) {
                let target = Some(master_addr);
                if self.send(link, Sent::Other, OutCommand::Reconfigure(target)) {
                    self.event(key, EventKind::ConvertToSlave);
                }
            }
            return;
        }
        // role slave
        let wrong_master = r.master_port != master_addr.1
            || !r
                .master_host
                .as_deref()
                .is_some_and(|h| same_host(h, &master_addr.0));
        let ft = m.cfg.failover_timeout_ms;
        if wrong_master
            && r.reconf == Reconf::None
            && !m.is_promoted(rn)
            && self.master_sane(master)
            && Self::no_down_within(r.c.s_down_since, r.o_down_since, now, ft)
            && now.since(r.slave_conf_change_time) > ft
        {
            let link = r.c.link;
            if self.send(
                link,
                Sent::Other,
                OutCommand::Reconfigure(Some(master_addr)),
            ) {
                self.event(key, EventKind::FixSlaveConfig);
            }
            return;
        }
        // Reconfiguration progress during our failover.
        let Some(promoted) = m.promoted().and_then(|p| m.replicas.at(p)) else {
            return;
        };
        let (ph, pp) = (promoted.c.host.clone(), promoted.c.port);
        let points_to_promoted =
            r.master_port == pp && r.master_host.as_deref().is_some_and(|h| same_host(h, &ph));
        let link_up = r.master_link_up;
        let mut state = r.reconf;
        if matches!(state, Reconf::Sent(_)) && points_to_promoted {
            state = Reconf::InProg;
            self.set_reconf(master, rn, state);
            self.event(key, EventKind::SlaveReconfInprog);
        }
        if state == Reconf::InProg && link_up {
            self.set_reconf(master, rn, Reconf::Done);
            self.event(key, EventKind::SlaveReconfDone);
        }
    }

    pub(crate) fn set_reconf(&mut self, master: MasterId, rn: ReplicaId, state: Reconf) {
        if let Some(r) = self
            .masters
            .at_mut(master)
            .and_then(|m| m.replicas.at_mut(rn))
        {
            r.reconf = state;
        }
    }
}

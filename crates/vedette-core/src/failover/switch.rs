//! The switch (reference §7.8): after our promotion, or on a peer's newer configuration, the master
//! object takes the new address and the old master becomes a replica; scripts hear about it.

use crate::events::EventKind;
use crate::instance::table::{MasterId, ReplicaId};
use crate::instance::{addr_name, same_host, FailoverState, Inst, Reconf};
use crate::io::{LinkId, Output, ScriptJob};
use crate::sentinel::Sentinel;

impl Sentinel {
    /// Queue the client-reconfig script for `master`, if configured.
    pub(crate) fn client_reconfig(
        &mut self,
        master: MasterId,
        role: &str,
        from: (&str, u16),
        to: (&str, u16),
    ) {
        let Some(m) = self.masters.at(master) else {
            return;
        };
        let Some(script) = m.cfg.client_reconfig_script.clone() else {
            return;
        };
        let name = m.cfg.name.clone();
        self.out.push(Output::RunScript(ScriptJob {
            path: script,
            args: vec![
                name,
                role.to_string(),
                "start".to_string(),
                from.0.to_string(),
                from.1.to_string(),
                to.0.to_string(),
                to.1.to_string(),
            ],
        }));
    }

    /// Reset a master to a new address, keeping its sentinels; replicas (and the old master) are re-created
    /// as replica objects (reference §7.8). vedette keeps the links of instances it already talks to, and
    /// forgets every peer's down-state and vote, so nothing said about the old address counts for the new one.
    /// Replicas it keeps keep their ids, so replies to commands sent before the switch still reach them.
    pub(crate) fn reset_and_switch(&mut self, mid: MasterId, host: &str, port: u16) {
        let now = self.now;
        self.addr_version += 1;
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        let old = (m.c.host.clone(), m.c.port, m.c.link);
        // The promoted replica (the new address) becomes the master object.
        let promoted: Vec<ReplicaId> = m
            .replicas
            .iter_ids()
            .filter(|(_, r)| r.c.port == port && same_host(&r.c.host, host))
            .map(|(id, _)| id)
            .collect();
        let mut new_master_link = None;
        let mut extra_links = Vec::new();
        for id in promoted {
            if let Some(r) = m.replicas.remove_at(id) {
                extra_links.extend(new_master_link.replace(r.c.link));
            }
        }
        let new_key = crate::instance::LinkKey::new(&m.cfg, host, port);
        let kept: Vec<ReplicaId> = m.replicas.ids().collect();
        let old_becomes_replica = !(old.1 == port && same_host(&old.0, host));
        let down_after = m.cfg.down_after_ms;
        m.c.host = host.to_string();
        m.c.port = port;
        m.cfg.host = host.to_string();
        m.cfg.port = port;
        m.reset_state(now);
        m.c.s_down_since = None;
        m.o_down_since = None;
        for p in m.sentinels.values_mut() {
            p.master_down = false;
            p.leader = None;
            p.last_master_down_reply = None;
        }
        let old_link = old.2;
        // The master keeps talking on the promoted replica's link when we had one (no reconnect gap).
        for l in extra_links {
            self.release_instance_link(l, mid);
        }
        let master_link = match new_master_link {
            Some(l) => l,
            None => {
                // Shared with any other name's instance already at the new address.
                let l = self.shared_link(new_key, host, port, now);
                self.add_link_user(l, mid);
                l
            }
        };
        if let Some(m) = self.masters.at_mut(mid) {
            m.c.link = master_link;
            m.info.refresh = None;
        }
        // Reused links start with fresh ping clocks, as Redis's new links do: an outstanding ping from
        // before the switch (e.g. lost when CLIENT KILL dropped a connection) must not make the new master
        // look down at once.
        // Not on a link other names share: their clocks are what that server really did (a dead old
        // master stays down for the other names failing over from it).
        for l in [master_link, old_link] {
            let alone = self
                .links
                .get(&l)
                .is_some_and(|l| l.users.keys().all(|&u| u == mid));
            if alone {
                self.fresh_ping_clocks(l);
            }
        }
        // A link still waiting on an old connect attempt (the instance was unreachable before) is restarted,
        // so the new master is dialled on the next tick rather than when that attempt times out.
        if let Some(l) = self.links.get_mut(&master_link) {
            if l.conn.is_none() {
                l.connecting = false;
                l.last_reconn_time = None;
                self.out.push(Output::Close { link: master_link });
            }
        }
        for rid in kept {
            if let Some(r) = self
                .masters
                .at_mut(mid)
                .and_then(|m| m.replicas.at_mut(rid))
            {
                r.reconf = Reconf::None;
                r.c.s_down = false;
                r.c.s_down_since = None;
                r.c.down_after = down_after;
            }
            self.event(Inst::replica(mid, rid), EventKind::Slave);
        }
        if old_becomes_replica {
            // The old master: keep talking on its link; it must now behave as a replica.
            let mut r = crate::instance::Replica::new(
                crate::instance::Common::new(&old.0, old.1, old_link, down_after, now),
                now,
            );
            r.former_master = true;
            let rn = addr_name(&old.0, old.1);
            let rid = self.masters.at_mut(mid).map(|m| m.replicas.insert(rn, r));
            if let Some(rid) = rid {
                self.event(Inst::replica(mid, rid), EventKind::Slave);
            }
        } else {
            self.release_instance_link(old_link, mid);
        }
        // Announce the new configuration at once (Redis: only the leader forces hellos), so peers converge,
        // and confirm our view for the quick demotion of a returning old master, without waiting 2 s.
        self.force_hellos(mid);
        self.flush();
    }

    pub(crate) fn fresh_ping_clocks(&mut self, link: LinkId) {
        let now = self.now;
        if let Some(l) = self.links.get_mut(&link) {
            l.act_ping_time = Some(now);
            l.last_ping_time = None;
            l.last_avail_time = now;
            l.last_pong_time = now;
        }
    }
}

impl Sentinel {
    /// The promoted replica reported `role:master` (reference §7.1 "promotion detected").
    pub(crate) fn promotion_detected(&mut self, mid: MasterId) {
        let Some((key, _)) = self.promoted_key(mid) else {
            return;
        };
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        // A promoted replica implies a running failover.
        let Some(f) = m.failover else {
            return;
        };
        let Some(replica) = f.state.promoted() else {
            return;
        };
        m.config_epoch = f.epoch;
        let old = (m.c.host.clone(), m.c.port);
        self.addr_version += 1;
        self.set_state(mid, FailoverState::ReconfSlaves { replica });
        self.flush();
        self.event(key, EventKind::PromotedSlave);
        if self.simfailure & 2 != 0 {
            tracing::warn!("Sentinel CRASH because of SENTINEL simulate-failure");
            self.out.crash(self.now);
        }
        self.event_master(mid, EventKind::FailoverStateReconfSlaves);
        let new = self
            .masters
            .at(mid)
            .map(|m| m.current_addr())
            .unwrap_or_default();
        self.client_reconfig(mid, "leader", (&old.0, old.1), (&new.0, new.1));
        self.force_hellos(mid);
        // Tell the peers now rather than at the next tick.
        let keys: Vec<Inst> = self
            .masters
            .at(mid)
            .map(|m| {
                let mut v: Vec<Inst> = m.sentinels.ids().map(|s| Inst::peer(mid, s)).collect();
                v.extend(m.replicas.ids().map(|r| Inst::replica(mid, r)));
                v
            })
            .unwrap_or_default();
        for k in keys {
            self.periodic(k);
        }
    }

    /// UPDATE_CONFIG: announce and switch to the promoted replica (reference §7.8, leader path).
    pub(crate) fn switch_to_promoted(&mut self, mid: MasterId) {
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let Some(p) = m.promoted().and_then(|p| m.replicas.at(p)) else {
            return;
        };
        let (nh, np) = (p.c.host.clone(), p.c.port);
        let (oh, op) = (m.c.host.clone(), m.c.port);
        let kind = EventKind::SwitchMaster {
            name: m.cfg.name.clone(),
            old: (oh, op),
            new: (nh.clone(), np),
        };
        self.emit(kind, Some(mid));
        self.reset_and_switch(mid, &nh, np);
    }
}

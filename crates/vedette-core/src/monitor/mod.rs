//! Monitoring (reference §2–§4): links to every instance, the periodic PING / INFO / hello each one gets,
//! and the replies. What INFO and hellos teach us is in `info` and `hello`; the timer walks masters here
//! (`handle_master`) at the deadlines `timers` computes.

mod hello;
mod info;

use crate::instance::table::MasterId;
use crate::instance::{Inst, Sent, Who};
use crate::io::{
    ConnectSpec, HelloTemplate, LinkId, LinkKind, LinkReply, OutCommand, Output, PingReply,
};
use crate::sentinel::Sentinel;

use crate::instance::link::MAX_PENDING;
/// vedette's INFO period for replicas while their master is down or failing over (Redis: 1000 ms), as
/// long as `ping-budget` allows it.
const FAST_INFO_MS: u64 = 100;
/// INFO period for the replica being promoted: confirm the promotion as soon as it happens.
const PROMOTION_INFO_MS: u64 = 10;

/// The interval of the fast schedule: 10 PINGs per down-after, never more often than every 50 ms.
pub(crate) fn fast_ping_interval(down_after: u64) -> u64 {
    (down_after / 10).max(50)
}

impl Sentinel {
    /// PING interval. Redis pings every min(down-after, ping-period). vedette pings each instance 10 times
    /// per down-after (never more than every 50 ms), so a hung instance is flagged within ~down-after/10 of
    /// down-after — as long as that fits in `ping-budget` PINGs per second over all links; with more links
    /// each is pinged less often (links × 1000 / budget ms), never less often than Redis would. A crashed
    /// instance is noticed by its closed connection whatever the interval (see `Link::avail_mark`).
    pub(crate) fn ping_interval(&self, down_after: u64) -> u64 {
        self.t
            .ping_period
            .min(down_after)
            .min(fast_ping_interval(down_after).max(self.budget_floor()))
            .max(1)
    }

    /// The shortest period the fast schedules (PINGs, and INFO to the replicas of a master in trouble)
    /// may use on every link at once within `ping-budget` commands per second.
    fn budget_floor(&self) -> u64 {
        match u64::from(self.global.ping_budget) {
            0 => 0,
            b => (self.links.len() as u64).saturating_mul(1000) / b,
        }
    }

    pub(crate) fn common(&self, key: Inst) -> Option<&crate::instance::Common> {
        let m = self.masters.at(key.master)?;
        Some(match key.who {
            Who::Master => &m.c,
            Who::Replica(r) => &m.replicas.at(r)?.c,
            Who::Peer(id) => &m.sentinels.at(id)?.c,
        })
    }

    pub(crate) fn common_mut(&mut self, key: Inst) -> Option<&mut crate::instance::Common> {
        let m = self.masters.at_mut(key.master)?;
        Some(match key.who {
            Who::Master => &mut m.c,
            Who::Replica(r) => &mut m.replicas.at_mut(r)?.c,
            Who::Peer(id) => &mut m.sentinels.at_mut(id)?.c,
        })
    }

    /// Queue a command on a link; false if the link is not up.
    pub(crate) fn send(&mut self, link: LinkId, sent: Sent, cmd: OutCommand) -> bool {
        let Some(l) = self.links.get_mut(&link) else {
            return false;
        };
        let Some(conn) = l.conn else {
            return false;
        };
        if matches!(cmd, OutCommand::Ping) {
            l.last_ping_time = Some(self.now);
            if l.act_ping_time.is_none() {
                l.act_ping_time = Some(self.now);
            }
        }
        l.inflight.push(sent);
        self.out.push(Output::Send { link, conn, cmd });
        true
    }

    /// Close a link's connections so the next tick reconnects it.
    pub(crate) fn drop_connection(&mut self, link: LinkId) {
        self.touch_link_users(link);
        if let Some(l) = self.links.get_mut(&link) {
            l.disconnect(self.now);
            self.out.push(Output::Close { link });
        }
    }

    pub(crate) fn on_link_up(&mut self, link: LinkId, conn: u64, local_ip: String) {
        let now = self.now;
        self.touch_link_users(link);
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        l.conn = Some(conn);
        l.connecting = false;
        l.cc_conn_time = now;
        l.pc_last_activity = now;
        l.local_ip = local_ip;
        l.inflight.clear();
        // Redis pipelines a PING right after connecting; it counts as a ping.
        if let Some(key) = self.any_key_of_link(link) {
            self.send(link, Sent::Ping(key), OutCommand::Ping);
            self.periodic(key);
        }
    }

    pub(crate) fn on_link_down(&mut self, link: LinkId, conn: u64) {
        let Some(l) = self.links.get(&link) else {
            return;
        };
        if l.connecting || l.conn == Some(conn) {
            self.touch_link_users(link);
        }
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        if l.connecting || l.conn == Some(conn) {
            l.disconnect(self.now);
        }
    }

    /// One instance that uses `link`: for a link of one instance, the one that dialled it (if it still
    /// uses it); else (a sentinel link shared across masters) the first in name order.
    fn any_key_of_link(&self, link: LinkId) -> Option<Inst> {
        let owner = self
            .links
            .get(&link)
            .filter(|l| l.refcount == 1)
            .and_then(|l| l.owner);
        if let Some(o) = owner {
            if self.common(o).is_some_and(|c| c.link == link) {
                return Some(o);
            }
        }
        if let Some(l) = self.links.get(&link).filter(|l| l.key.is_some()) {
            if let Some(k) = l
                .users
                .keys()
                .find_map(|&mid| self.instances_on(mid, link).into_iter().next())
            {
                return Some(k);
            }
        }
        for (mid, m) in self.masters.iter_ids() {
            if m.c.link == link {
                return Some(Inst::master(mid));
            }
            for (rid, r) in m.replicas.iter_ids() {
                if r.c.link == link {
                    return Some(Inst::replica(mid, rid));
                }
            }
            for (pid, p) in m.sentinels.iter_ids() {
                if p.c.link == link {
                    return Some(Inst::peer(mid, pid));
                }
            }
        }
        None
    }

    pub(crate) fn on_reply(&mut self, link: LinkId, conn: u64, reply: LinkReply) {
        let now = self.now;
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        if l.conn != Some(conn) {
            return;
        }
        let Some(sent) = l.inflight.pop() else {
            return;
        };
        // What the reply was about may now be due sooner (a freed slot, an answered INFO or hello).
        // A PONG on a link shared by several names moves every one's PING clock.
        let shared = l.key.is_some() && l.refcount > 1;
        match &sent {
            Sent::Ping(_) if shared => self.touch_link_users(link),
            Sent::Ping(k) | Sent::Info(k) | Sent::Publish(k) => self.masters.touch(k.master),
            Sent::Ask { master, .. } => self.masters.touch(*master),
            Sent::Other => self.touch_link_users(link),
        }
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        match (sent, reply) {
            (Sent::Ping(key), LinkReply::Ping(r)) => {
                l.last_pong_time = now;
                // No allocation for a link of one instance (the common case, and every peer link).
                let on_link = if shared {
                    self.keys_on(link)
                } else {
                    Vec::new()
                };
                let keys: &[Inst] = if shared {
                    &on_link
                } else {
                    std::slice::from_ref(&key)
                };
                let Some(l) = self.links.get_mut(&link) else {
                    return;
                };
                if r.is_valid() {
                    l.last_avail_time = now;
                    l.act_ping_time = None;
                    if r == PingReply::Pong {
                        // Whichever name's PING it answered: the server is the same.
                        for &k in keys {
                            if k.who == Who::Master {
                                if let Some(m) = self.masters.at_mut(k.master) {
                                    m.master_reboot = false;
                                }
                            }
                        }
                    }
                } else if r == PingReply::Busy {
                    // One SCRIPT KILL per busy episode, for every SDOWN instance on the link.
                    let mut kill = false;
                    for &k in keys {
                        let busy_down = self
                            .common(k)
                            .is_some_and(|c| c.s_down && !c.script_kill_sent);
                        if busy_down {
                            if let Some(c) = self.common_mut(k) {
                                c.script_kill_sent = true;
                            }
                            kill = true;
                        }
                    }
                    if kill {
                        self.send(link, Sent::Other, OutCommand::ScriptKill);
                    }
                }
            }
            (Sent::Info(key), LinkReply::Info(Some(text))) => {
                self.process_info(key, link, text);
            }
            (Sent::Publish(key), LinkReply::Publish(true)) => {
                if let Some(c) = self.common_mut(key) {
                    c.last_pub_time = now;
                }
            }
            (
                Sent::Ask {
                    master,
                    host,
                    port,
                    epoch,
                    vote,
                },
                LinkReply::MasterDown(r),
            ) => {
                self.on_ask_reply(link, master, &host, port, (epoch, vote), r);
            }
            _ => {}
        }
    }

    /// The master and replica instances of `mid` that use `link`.
    pub(crate) fn instances_on(&self, mid: MasterId, link: LinkId) -> Vec<Inst> {
        let Some(m) = self.masters.at(mid) else {
            return Vec::new();
        };
        let mut v = Vec::new();
        if m.c.link == link {
            v.push(Inst::master(mid));
        }
        v.extend(
            m.replicas
                .iter_ids()
                .filter(|(_, r)| r.c.link == link)
                .map(|(rid, _)| Inst::replica(mid, rid)),
        );
        v
    }

    /// Every master and replica instance sharing `link` (a reply to one speaks for all: the server is
    /// the same).
    fn keys_on(&self, link: LinkId) -> Vec<Inst> {
        self.links.get(&link).map_or_else(Vec::new, |l| {
            l.users
                .keys()
                .flat_map(|&mid| self.instances_on(mid, link))
                .collect()
        })
    }

    /// Per tick, for one master and everything under it.
    /// The master first, then its replicas and its sentinels, each in name order (walked by index over
    /// the tables' snapshots, so nothing is cloned or allocated).
    pub(crate) fn handle_master(&mut self, mid: MasterId) {
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        let replicas = m.replicas.sync_order();
        let peers = m.sentinels.sync_order();
        self.handle_instance(Inst::master(mid));
        for i in 0..replicas {
            let r = self.masters.at(mid).and_then(|m| m.replicas.ordered(i));
            if let Some(r) = r {
                self.handle_instance(Inst::replica(mid, r));
            }
        }
        for i in 0..peers {
            let p = self.masters.at(mid).and_then(|m| m.sentinels.ordered(i));
            if let Some(p) = p {
                self.handle_instance(Inst::peer(mid, p));
            }
        }
        if !self.tilt {
            self.odown_check(mid);
            self.start_failover_if_needed(mid);
            self.failover_step(mid);
            self.ask_peers(mid, false);
        }
    }

    fn handle_instance(&mut self, key: Inst) {
        self.reconnect(key);
        self.periodic(key);
        self.tilt_exit_check();
        if !self.tilt {
            self.sdown_check(key);
        }
    }

    fn reconnect(&mut self, key: Inst) {
        let now = self.now;
        let Some(link) = self.common(key).map(|c| c.link) else {
            return;
        };
        let Some(l) = self.links.get(&link) else {
            return;
        };
        if l.port == 0 || l.conn.is_some() {
            return;
        }
        let retry_after = if l.connecting {
            self.t.ping_period.saturating_mul(2)
        } else {
            self.t.ping_period
        };
        if l.last_reconn_time
            .is_some_and(|t| now.since(t) < retry_after)
        {
            return;
        }
        let Some(m) = self.masters.at(key.master) else {
            return;
        };
        let (kind, auth) = match key.who {
            Who::Peer(_) => {
                let pass = self
                    .global
                    .sentinel_pass
                    .clone()
                    .or_else(|| self.global.requirepass.clone());
                let user = if self.global.sentinel_pass.is_some() {
                    self.global.sentinel_user.clone()
                } else {
                    None
                };
                (LinkKind::Sentinel, pass.map(|p| (user, p)))
            }
            _ => (
                LinkKind::Instance,
                m.cfg
                    .auth_pass
                    .clone()
                    .map(|p| (m.cfg.auth_user.clone(), p)),
            ),
        };
        let id8: String = self.myid.chars().take(8).collect();
        let spec = ConnectSpec {
            host: l.host.clone(),
            port: l.port,
            kind,
            auth,
            client_name_cmd: format!("sentinel-{id8}-cmd"),
            client_name_pubsub: format!("sentinel-{id8}-pubsub"),
            renames: m.cfg.rename_commands.clone(),
        };
        if let Some(l) = self.links.get_mut(&link) {
            l.connecting = true;
            l.last_reconn_time = Some(now);
            l.owner = Some(key);
        }
        self.out.push(Output::Connect { link, spec });
    }

    /// The INFO period for an instance right now (0 = not an INFO target).
    pub(crate) fn info_period(&self, key: Inst) -> u64 {
        self.masters
            .at(key.master)
            .map_or(0, |m| self.info_period_of(m, key))
    }

    /// [`Sentinel::info_period`] for an instance of `m`.
    pub(crate) fn info_period_of(&self, m: &crate::instance::Master, key: Inst) -> u64 {
        match key.who {
            Who::Master => {
                if m.c.s_down {
                    1000.min(self.t.info_period)
                } else {
                    self.t.info_period
                }
            }
            Who::Replica(rid) => {
                let Some(r) = m.replicas.at(rid) else {
                    return 0;
                };
                if m.awaits_promotion_of(rid) {
                    PROMOTION_INFO_MS
                } else if m.in_failover() || m.o_down || m.c.s_down || r.c.s_down || r.former_master
                {
                    // Within the budget: a storm of 1000 masters would otherwise send 10,000 INFOs a
                    // second to their replicas; never slower than Redis's 1 s.
                    FAST_INFO_MS
                        .max(self.budget_floor())
                        .min(1000)
                        .min(self.t.info_period)
                } else if r.master_link_down_time != 0 {
                    1000.min(self.t.info_period)
                } else {
                    self.t.info_period
                }
            }
            Who::Peer(_) => 0,
        }
    }

    pub(crate) fn periodic(&mut self, key: Inst) {
        let now = self.now;
        let Some(link) = self.common(key).map(|c| c.link) else {
            return;
        };
        let Some(l) = self.links.get(&link) else {
            return;
        };
        if l.disconnected() || l.pending() >= MAX_PENDING * l.refcount.max(1) as usize {
            return;
        }
        let info_inflight = l.inflight.info_pending(key);
        let pub_inflight = l.inflight.publish_pending(key);
        let (last_pong, last_ping) = (l.last_pong_time, l.last_ping_time);
        let Some(c) = self.common(key) else {
            return;
        };
        let (down_after, last_pub, forced) = (c.down_after, c.last_pub_time, c.hello_forced);

        let period = self.info_period(key);
        if period > 0 && !info_inflight {
            let refresh = self.masters.at(key.master).and_then(|m| match key.who {
                Who::Master => m.info.refresh,
                Who::Replica(r) => m.replicas.at(r).and_then(|r| r.info.refresh),
                Who::Peer(_) => None,
            });
            if refresh.is_none_or(|t| now.since(t) >= period) {
                self.send(link, Sent::Info(key), OutCommand::Info);
            }
        }

        let p = self.ping_interval(down_after);
        if now.since(last_pong) > p && last_ping.is_none_or(|t| now.since(t) > p / 2) {
            self.send(link, Sent::Ping(key), OutCommand::Ping);
        }

        if forced || (!pub_inflight && now.since(last_pub) > self.t.publish_period) {
            if let Some(t) = self.hello_template(key.master) {
                self.send(link, Sent::Publish(key), OutCommand::PublishHello(t));
            }
            if let Some(c) = self.common_mut(key) {
                c.hello_forced = false;
            }
        }
    }

    pub(crate) fn hello_template(&self, master: MasterId) -> Option<HelloTemplate> {
        let m = self.masters.at(master)?;
        let (mip, mport) = m.current_addr();
        Some(HelloTemplate {
            ip: self.global.announce_ip.clone().filter(|s| !s.is_empty()),
            port: if self.global.announce_port != 0 {
                self.global.announce_port
            } else {
                self.global.port
            },
            runid: self.myid.clone(),
            // The durable epoch: a hello never waits for a write (a newer epoch goes out in the next
            // hello after the write that covers it).
            current_epoch: self.revealable_epoch(),
            master_name: m.cfg.name.clone(),
            master_ip: mip,
            master_port: mport,
            master_config_epoch: m.config_epoch,
        })
    }

    /// Make hellos for `master` (and its replicas and sentinels) go out on the next tick.
    pub(crate) fn force_hellos(&mut self, master: MasterId) {
        if let Some(m) = self.masters.at_mut(master) {
            m.c.hello_forced = true;
            for r in m.replicas.values_mut() {
                r.c.hello_forced = true;
            }
            for p in m.sentinels.values_mut() {
                p.c.hello_forced = true;
            }
        }
    }
}

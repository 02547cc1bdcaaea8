//! The monitoring half: links, periodic PING / INFO / hello, replies, subjective down, INFO and hello
//! processing (reference §2–§5.2).

use std::collections::BTreeSet;

use crate::config::valid_host;
use crate::events::Level;
use crate::instance::{
    addr_name, host_key, same_host, FailoverState, Inst, Known, Reconf, Sent, Who,
};
use crate::io::{
    ConnectSpec, HelloTemplate, LinkId, LinkKind, LinkReply, OutCommand, Output, ScriptJob,
};
use crate::sentinel::Sentinel;
use crate::table::{MasterId, PeerId, ReplicaId};
use crate::time::Instant;
use crate::wire::hello::Hello;
use crate::wire::info::{InfoReport, Role};

use crate::timers::MAX_PENDING;
/// vedette's INFO period for replicas while their master is down or failing over (Redis: 1000 ms).
const FAST_INFO_MS: u64 = 100;
/// INFO period for the replica being promoted: confirm the promotion as soon as it happens.
const PROMOTION_INFO_MS: u64 = 10;

impl Sentinel {
    /// PING interval: Redis uses min(down-after, ping-period); vedette also pings at least 10 times per
    /// down-after (never more than every 50 ms) so a dead instance is noticed within ~down-after/10 of
    /// down-after. With the default down-after (30 s) this is Redis's 1 s.
    pub(crate) fn ping_interval(&self, down_after: u64) -> u64 {
        self.t
            .ping_period
            .min(down_after)
            .min((down_after / 10).max(50))
            .max(1)
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
            l.conn = None;
            l.connecting = false;
            l.inflight.clear();
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
            l.conn = None;
            l.connecting = false;
            l.inflight.clear();
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
        match &sent {
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
                let text = match &r {
                    Ok(s) | Err(s) => s.as_str(),
                };
                let valid = text.starts_with("PONG")
                    || text.starts_with("LOADING")
                    || text.starts_with("MASTERDOWN");
                if valid {
                    l.last_avail_time = now;
                    l.act_ping_time = None;
                    if text.starts_with("PONG") && key.who == Who::Master {
                        if let Some(m) = self.masters.at_mut(key.master) {
                            m.master_reboot = false;
                        }
                    }
                } else if text.starts_with("BUSY") {
                    let busy_down = self
                        .common(key)
                        .is_some_and(|c| c.s_down && !c.script_kill_sent);
                    if busy_down {
                        if let Some(c) = self.common_mut(key) {
                            c.script_kill_sent = true;
                        }
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
    fn info_period(&self, key: Inst) -> u64 {
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
            Who::Replica(r) => {
                let Some(r) = m.replicas.at(r) else {
                    return 0;
                };
                if r.promoted && m.failover_state == FailoverState::WaitPromotion {
                    PROMOTION_INFO_MS
                } else if m.in_failover() || m.o_down || m.c.s_down || r.c.s_down || r.former_master
                {
                    FAST_INFO_MS.min(self.t.info_period)
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
        let info_inflight = l.inflight.info_pending();
        let pub_inflight = l.inflight.publish_pending(key);
        let (last_pong, last_ping) = (l.last_pong_time, l.last_ping_time);
        let Some(c) = self.common(key) else {
            return;
        };
        let (down_after, last_pub) = (c.down_after, c.last_pub_time);

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

        if !pub_inflight && now.since(last_pub) > self.t.publish_period {
            if let Some(t) = self.hello_template(key.master) {
                self.send(link, Sent::Publish(key), OutCommand::PublishHello(t));
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
        let back = self.t.publish_period.saturating_add(1);
        if let Some(m) = self.masters.at_mut(master) {
            m.c.last_pub_time = m.c.last_pub_time.minus(back);
            for r in m.replicas.values_mut() {
                r.c.last_pub_time = r.c.last_pub_time.minus(back);
            }
            for p in m.sentinels.values_mut() {
                p.c.last_pub_time = p.c.last_pub_time.minus(back);
            }
        }
    }

    fn sdown_check(&mut self, key: Inst) {
        let now = self.now;
        let Some(link) = self.common(key).map(|c| c.link) else {
            return;
        };
        let Some(l) = self.links.get(&link) else {
            return;
        };
        let Some(c) = self.common(key) else {
            return;
        };
        let down_after = c.down_after;
        let elapsed = match l.act_ping_time {
            Some(a) => now.since(a),
            None if l.disconnected() => now.since(l.last_avail_time),
            None => 0,
        };
        let recycle_cmd = !l.disconnected()
            && now.since(l.cc_conn_time) > self.t.min_link_reconnect_period
            && l.act_ping_time
                .is_some_and(|a| now.since(a) > down_after / 2)
            && now.since(l.last_pong_time) > down_after / 2;
        let recycle_pubsub = !l.disconnected()
            && !matches!(key.who, Who::Peer(_))
            && now.since(l.cc_conn_time) > self.t.min_link_reconnect_period
            && now.since(l.pc_last_activity) > self.t.publish_period.saturating_mul(3);
        if recycle_cmd || recycle_pubsub {
            self.drop_connection(link);
        }
        let mut down = elapsed > down_after;
        if key.who == Who::Master {
            if let Some(m) = self.masters.at(key.master) {
                if m.info.role_reported == Role::Slave
                    && now.since(m.info.role_reported_time)
                        > down_after.saturating_add(self.t.info_period.saturating_mul(2))
                {
                    down = true;
                }
                if m.master_reboot
                    && now.since(m.master_reboot_since) > m.cfg.master_reboot_down_after_period_ms
                {
                    down = true;
                }
            }
        }
        let was = self.common(key).is_some_and(|c| c.s_down);
        if down && !was {
            if let Some(c) = self.common_mut(key) {
                c.s_down = true;
                c.s_down_since = Some(now);
            }
            self.event(Level::Warning, "+sdown", key, "");
            if key.who == Who::Master {
                // vedette: ask the peers at once and refresh replica INFO now, not on the next 1 s cycle.
                self.ask_peers(key.master, true);
                self.refresh_replicas(key.master);
            }
        } else if !down && was {
            if let Some(c) = self.common_mut(key) {
                c.s_down = false;
                c.script_kill_sent = false;
            }
            self.event(Level::Warning, "-sdown", key, "");
        }
    }

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
                .is_some_and(|l| l.inflight.info_pending());
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

    fn no_down_within(
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
            self.event(Level::Notice, "+reboot", key, "");
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
                    let rep = self.make_replica(&line.ip, line.port, down_after, now);
                    let rn = rep.name();
                    if let Some(m) = self.masters.at_mut(master) {
                        let rid = m.replicas.insert(rn, rep);
                        self.event(Level::Notice, "+slave", Inst::replica(master, rid), "");
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
            let kind = if new_role == configured {
                "+role-change"
            } else {
                "-role-change"
            };
            let word = if new_role == Role::Master {
                "master"
            } else {
                "slave"
            };
            self.event(
                Level::Verbose,
                kind,
                key,
                &format!("new reported role is {word}"),
            );
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
    fn replica_acting_half(&mut self, master: MasterId, rn: ReplicaId, role: Role) {
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
            if r.promoted && m.failover_state == FailoverState::WaitPromotion {
                self.promotion_detected(master);
                return;
            }
            if r.promoted {
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
                    self.event(Level::Notice, "+convert-to-slave", key, "");
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
            && !r.promoted
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
                self.event(Level::Notice, "+fix-slave-config", key, "");
            }
            return;
        }
        // Reconfiguration progress during our failover.
        let Some(promoted) = m.promoted.and_then(|p| m.replicas.at(p)) else {
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
            self.event(Level::Notice, "+slave-reconf-inprog", key, "");
        }
        if state == Reconf::InProg && link_up {
            self.set_reconf(master, rn, Reconf::Done);
            self.event(Level::Notice, "+slave-reconf-done", key, "");
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

    /// A hello, from an instance's pub/sub link (`via_instance`) or a PUBLISH to our port (reference §2.5).
    pub(crate) fn on_hello(&mut self, payload: &[u8], via_instance: bool) {
        let now = self.now;
        // Our own hellos come back on every instance's channel: drop them before parsing (Redis: substring
        // test for our run id).
        if via_instance
            && payload
                .windows(self.myid.len().max(1))
                .any(|w| w == self.myid.as_bytes())
        {
            return;
        }
        let h = match Hello::parse(payload)
            .and_then(|h| h.check_addresses(self.global.resolve_hostnames).map(|()| h))
        {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(error = %e, "ignoring malformed hello");
                return;
            }
        };
        if via_instance && h.runid.eq_ignore_ascii_case(&self.myid) {
            return;
        }
        if via_instance && std::str::from_utf8(payload).is_ok_and(|p| p.contains(&self.myid)) {
            return;
        }
        if h.runid.eq_ignore_ascii_case(&self.myid) {
            // Someone claims our id: two sentinels with one id can never see each other; ignore it.
            return;
        }
        let Some(mid) = self.masters.id(&h.master_name) else {
            return;
        };
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let found = m
            .sentinels
            .get(&h.runid)
            .is_some_and(|p| p.c.port == h.port && same_host(&p.c.host, &h.ip));
        if !found {
            let mut address_switch = false;
            if let Some(old) = self
                .masters
                .at_mut(mid)
                .and_then(|m| m.sentinels.remove(&h.runid))
            {
                self.release_link(old.c.link);
                address_switch = true;
                let suffix = format!("ip {} port {} for {}", h.ip, h.port, h.runid);
                self.event_master(Level::Notice, "+sentinel-address-switch", mid, &suffix);
            } else {
                let stale: Option<(PeerId, String)> = self.masters.at(mid).and_then(|m| {
                    m.sentinels
                        .iter_ids()
                        .find(|(_, p)| p.c.port == h.port && same_host(&p.c.host, &h.ip))
                        .and_then(|(id, _)| Some((id, m.sentinels.name_of(id)?.to_string())))
                });
                if let Some((old, old_id)) = stale {
                    self.event(
                        Level::Notice,
                        "+sentinel-invalid-addr",
                        Inst::peer(mid, old),
                        "",
                    );
                    self.remove_sentinel_everywhere(&old_id);
                }
            }
            if !address_switch && !self.room_for(mid, Known::Sentinel) {
                return;
            }
            let down_after = self.masters.at(mid).map_or(30_000, |m| m.cfg.down_after_ms);
            let link = self.sentinel_link(&h.runid, &h.ip, h.port, now);
            let peer = self.make_peer(&h.runid, &h.ip, h.port, link, down_after, now);
            let pid = self
                .masters
                .at_mut(mid)
                .map(|m| m.sentinels.insert(h.runid.clone(), peer));
            if !address_switch {
                if let Some(pid) = pid {
                    self.event(Level::Notice, "+sentinel", Inst::peer(mid, pid), "");
                }
            } else {
                self.update_sentinel_address_elsewhere(mid, &h);
            }
            self.flush();
        }
        if h.current_epoch > self.current_epoch {
            self.current_epoch = h.current_epoch;
            self.flush();
            self.event_raw(
                Level::Warning,
                "+new-epoch",
                mid,
                h.current_epoch.to_string(),
            );
        }
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        let pid = m.sentinels.id(&h.runid);
        if let Some(p) = pid.and_then(|pid| m.sentinels.at_mut(pid)) {
            p.last_hello_time = now;
            p.last_hello_at = Some(now);
            p.hello_view = Some((h.master_ip.clone(), h.master_port, h.master_config_epoch));
        }
        if m.config_epoch < h.master_config_epoch {
            m.config_epoch = h.master_config_epoch;
            // A config epoch is the epoch of some failover, so our current epoch is at least that: keep
            // the invariant the config loader restores anyway (it raises current-epoch to every config-epoch).
            if self.current_epoch < h.master_config_epoch {
                self.current_epoch = h.master_config_epoch;
                self.flush();
            }
            let Some(m) = self.masters.at_mut(mid) else {
                return;
            };
            // Compare with the address we currently advertise (the promoted replica once our own failover
            // reached RECONF_SLAVES), so a higher epoch for another address always wins and one config
            // epoch never names two addresses.
            let (cur_host, cur_port) = m.current_addr();
            let differs = h.master_port != cur_port || !same_host(&h.master_ip, &cur_host);
            if differs {
                let (old_host, old_port) = (m.c.host.clone(), m.c.port);
                let name = m.cfg.name.clone();
                if let Some(pid) = pid {
                    self.event(
                        Level::Warning,
                        "+config-update-from",
                        Inst::peer(mid, pid),
                        "",
                    );
                }
                self.event_raw(
                    Level::Warning,
                    "+switch-master",
                    mid,
                    format!(
                        "{name} {old_host} {old_port} {} {}",
                        h.master_ip, h.master_port
                    ),
                );
                self.reset_and_switch(mid, &h.master_ip, h.master_port);
                self.client_reconfig(
                    mid,
                    "observer",
                    (&old_host, old_port),
                    (&h.master_ip, h.master_port),
                );
            }
        }
    }

    /// Whether `master` may learn one more sentinel or replica (`sentinel max-known-sentinels` /
    /// `max-known-replicas`). When full, the first refusal emits `-max-sentinels-reached` /
    /// `-max-replicas-reached` (once until the table has room again, e.g. after SENTINEL RESET), so a
    /// flood of forged hellos or a huge INFO cannot grow links, dials and rewrites without bound.
    fn room_for(&mut self, master: MasterId, kind: Known) -> bool {
        let (cap, event) = match kind {
            Known::Sentinel => (self.global.max_known_sentinels, "-max-sentinels-reached"),
            Known::Replica => (self.global.max_known_replicas, "-max-replicas-reached"),
        };
        let Some(m) = self.masters.at_mut(master) else {
            return false;
        };
        let (len, warned) = match kind {
            Known::Sentinel => (m.sentinels.len(), &mut m.sentinels_full),
            Known::Replica => (m.replicas.len(), &mut m.replicas_full),
        };
        if len < cap as usize {
            *warned = false;
            return true;
        }
        if !std::mem::replace(warned, true) {
            self.event_master(Level::Warning, event, master, &cap.to_string());
        }
        false
    }

    fn remove_sentinel_everywhere(&mut self, runid: &str) {
        let mut links = Vec::new();
        let masters: Vec<MasterId> = self.masters.ids().collect();
        for mid in masters {
            if let Some(p) = self
                .masters
                .at_mut(mid)
                .and_then(|m| m.sentinels.remove(runid))
            {
                links.push(p.c.link);
            }
        }
        for l in links {
            self.release_link(l);
        }
    }

    /// A peer moved: point its objects under other masters at the new address too.
    fn update_sentinel_address_elsewhere(&mut self, origin: MasterId, h: &Hello) {
        let now = self.now;
        let others: Vec<MasterId> = self
            .masters
            .iter_ids()
            .filter(|(n, m)| {
                *n != origin
                    && m.sentinels
                        .get(&h.runid)
                        .is_some_and(|p| p.c.port != h.port || !same_host(&p.c.host, &h.ip))
            })
            .map(|(n, _)| n)
            .collect();
        // The new address's link, created under `origin`: every other master shares it (looked up once;
        // `sentinel_link` per master would rescan all masters each time, O(masters²) for a peer known under
        // all of them).
        let shared = self
            .masters
            .at(origin)
            .and_then(|m| m.sentinels.get(&h.runid))
            .map(|p| p.c.link);
        for &n in &others {
            let old_link = self
                .masters
                .at_mut(n)
                .and_then(|m| m.sentinels.remove(&h.runid))
                .map(|p| p.c.link);
            if let Some(l) = old_link {
                self.release_link(l);
            }
            let down_after = self.masters.at(n).map_or(30_000, |m| m.cfg.down_after_ms);
            let link = match shared.and_then(|l| self.links.get_mut(&l).map(|link| (l, link))) {
                Some((l, link)) => {
                    link.refcount += 1;
                    l
                }
                None => self.sentinel_link(&h.runid, &h.ip, h.port, now),
            };
            let peer = self.make_peer(&h.runid, &h.ip, h.port, link, down_after, now);
            if let Some(m) = self.masters.at_mut(n) {
                m.sentinels.insert(h.runid.clone(), peer);
            }
        }
        let pid = self
            .masters
            .at(origin)
            .and_then(|m| m.sentinels.id(&h.runid));
        if let (false, Some(pid)) = (others.is_empty(), pid) {
            self.event(
                Level::Notice,
                "+sentinel-address-update",
                Inst::peer(origin, pid),
                &format!("{} additional matching instances", others.len()),
            );
        }
    }

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
        for id in promoted {
            if let Some(r) = m.replicas.remove_at(id) {
                new_master_link = Some(r.c.link);
            }
        }
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
        let master_link = match new_master_link {
            Some(l) => l,
            None => self.new_link(host, port, now),
        };
        if let Some(m) = self.masters.at_mut(mid) {
            m.c.link = master_link;
            m.info.refresh = None;
        }
        // Reused links start with fresh ping clocks, as Redis's new links do: an outstanding ping from
        // before the switch (e.g. lost when CLIENT KILL dropped a connection) must not make the new master
        // look down at once.
        self.fresh_ping_clocks(master_link);
        self.fresh_ping_clocks(old_link);
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
                r.promoted = false;
                r.reconf = Reconf::None;
                r.c.s_down = false;
                r.c.s_down_since = None;
                r.c.down_after = down_after;
            }
            self.event(Level::Notice, "+slave", Inst::replica(mid, rid), "");
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
                self.event(Level::Notice, "+slave", Inst::replica(mid, rid), "");
            }
        } else {
            self.release_link(old_link);
        }
        // Announce the new configuration at once (Redis: only the leader forces hellos), so peers converge,
        // and confirm our view for the quick demotion of a returning old master, without waiting 2 s.
        self.force_hellos(mid);
        self.flush();
    }

    fn fresh_ping_clocks(&mut self, link: LinkId) {
        let now = self.now;
        if let Some(l) = self.links.get_mut(&link) {
            l.act_ping_time = Some(now);
            l.last_ping_time = None;
            l.last_avail_time = now;
            l.last_pong_time = now;
        }
    }
}

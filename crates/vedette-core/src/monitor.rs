//! The monitoring half: links, periodic PING / INFO / hello, replies, subjective down, INFO and hello
//! processing (reference §2–§5.2).

use std::collections::BTreeSet;

use crate::config::valid_host;
use crate::events::Level;
use crate::instance::{addr_name, host_key, same_host, FailoverState, Known, Reconf, Sent};
use crate::io::{
    ConnectSpec, HelloTemplate, LinkId, LinkKind, LinkReply, OutCommand, Output, ScriptJob,
};
use crate::sentinel::{InstKey, Sentinel};
use crate::time::Instant;
use crate::wire::hello::Hello;
use crate::wire::info::{InfoReport, Role};

/// Redis's SENTINEL_MAX_PENDING_COMMANDS.
const MAX_PENDING: usize = 100;
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

    fn link_of(&self, key: &InstKey) -> Option<LinkId> {
        let m = self.masters.get(key.master())?;
        Some(match key {
            InstKey::Master(_) => m.c.link,
            InstKey::Replica(_, r) => m.replicas.get(r)?.c.link,
            InstKey::Sentinel(_, id) => m.sentinels.get(id)?.c.link,
        })
    }

    pub(crate) fn common(&self, key: &InstKey) -> Option<&crate::instance::Common> {
        let m = self.masters.get(key.master())?;
        Some(match key {
            InstKey::Master(_) => &m.c,
            InstKey::Replica(_, r) => &m.replicas.get(r)?.c,
            InstKey::Sentinel(_, id) => &m.sentinels.get(id)?.c,
        })
    }

    pub(crate) fn common_mut(&mut self, key: &InstKey) -> Option<&mut crate::instance::Common> {
        let m = self.masters.get_mut(key.master())?;
        Some(match key {
            InstKey::Master(_) => &mut m.c,
            InstKey::Replica(_, r) => &mut m.replicas.get_mut(r)?.c,
            InstKey::Sentinel(_, id) => &mut m.sentinels.get_mut(id)?.c,
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
        if let Some(l) = self.links.get_mut(&link) {
            l.conn = None;
            l.connecting = false;
            l.inflight.clear();
            self.out.push(Output::Close { link });
        }
    }

    pub(crate) fn on_link_up(&mut self, link: LinkId, conn: u64, local_ip: String) {
        let now = self.now;
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
            self.send(link, Sent::Ping(key.clone()), OutCommand::Ping);
            self.periodic(&key);
        }
    }

    pub(crate) fn on_link_down(&mut self, link: LinkId, conn: u64) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        if l.connecting || l.conn == Some(conn) {
            l.conn = None;
            l.connecting = false;
            l.inflight.clear();
        }
    }

    /// One instance that uses `link` (for shared sentinel links, any of them).
    fn any_key_of_link(&self, link: LinkId) -> Option<InstKey> {
        for (name, m) in &self.masters {
            if m.c.link == link {
                return Some(InstKey::Master(name.clone()));
            }
            for (rn, r) in &m.replicas {
                if r.c.link == link {
                    return Some(InstKey::Replica(name.clone(), rn.clone()));
                }
            }
            for (id, p) in &m.sentinels {
                if p.c.link == link {
                    return Some(InstKey::Sentinel(name.clone(), id.clone()));
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
                    if text.starts_with("PONG") {
                        if let InstKey::Master(name) = &key {
                            if let Some(m) = self.masters.get_mut(name) {
                                m.master_reboot = false;
                            }
                        }
                    }
                } else if text.starts_with("BUSY") {
                    let busy_down = self
                        .common(&key)
                        .is_some_and(|c| c.s_down && !c.script_kill_sent);
                    if busy_down {
                        if let Some(c) = self.common_mut(&key) {
                            c.script_kill_sent = true;
                        }
                        self.send(link, Sent::Other, OutCommand::ScriptKill);
                    }
                }
            }
            (Sent::Info(key), LinkReply::Info(Some(text))) => {
                self.process_info(&key, link, text);
            }
            (Sent::Publish(key), LinkReply::Publish(true)) => {
                if let Some(c) = self.common_mut(&key) {
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
                self.on_ask_reply(link, &master, &host, port, (epoch, vote), r);
            }
            _ => {}
        }
    }

    /// Per tick, for one master and everything under it.
    pub(crate) fn handle_master(&mut self, name: &str) {
        let Some(m) = self.masters.get(name) else {
            return;
        };
        let mut keys = vec![InstKey::Master(name.to_string())];
        keys.extend(
            m.replicas
                .keys()
                .map(|r| InstKey::Replica(name.to_string(), r.clone())),
        );
        keys.extend(
            m.sentinels
                .keys()
                .map(|s| InstKey::Sentinel(name.to_string(), s.clone())),
        );
        for key in &keys {
            self.reconnect(key);
            self.periodic(key);
            self.tilt_exit_check();
            if !self.tilt {
                self.sdown_check(key);
            }
        }
        if !self.tilt {
            self.odown_check(name);
            self.start_failover_if_needed(name);
            self.failover_step(name);
            self.ask_peers(name, false);
        }
    }

    fn reconnect(&mut self, key: &InstKey) {
        let now = self.now;
        let Some(link) = self.link_of(key) else {
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
        let Some(m) = self.masters.get(key.master()) else {
            return;
        };
        let (kind, auth) = match key {
            InstKey::Sentinel(..) => {
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
        }
        self.out.push(Output::Connect { link, spec });
    }

    /// The INFO period for an instance right now (0 = not an INFO target).
    fn info_period(&self, key: &InstKey) -> u64 {
        let Some(m) = self.masters.get(key.master()) else {
            return 0;
        };
        match key {
            InstKey::Master(_) => {
                if m.c.s_down {
                    1000.min(self.t.info_period)
                } else {
                    self.t.info_period
                }
            }
            InstKey::Replica(_, r) => {
                let Some(r) = m.replicas.get(r) else {
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
            InstKey::Sentinel(..) => 0,
        }
    }

    pub(crate) fn periodic(&mut self, key: &InstKey) {
        let now = self.now;
        let Some(link) = self.link_of(key) else {
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
            let refresh = match key {
                InstKey::Master(n) => self.masters.get(n).and_then(|m| m.info.refresh),
                InstKey::Replica(n, r) => self
                    .masters
                    .get(n)
                    .and_then(|m| m.replicas.get(r))
                    .and_then(|r| r.info.refresh),
                InstKey::Sentinel(..) => None,
            };
            if refresh.is_none_or(|t| now.since(t) >= period) {
                self.send(link, Sent::Info(key.clone()), OutCommand::Info);
            }
        }

        let p = self.ping_interval(down_after);
        if now.since(last_pong) > p && last_ping.is_none_or(|t| now.since(t) > p / 2) {
            self.send(link, Sent::Ping(key.clone()), OutCommand::Ping);
        }

        if !pub_inflight && now.since(last_pub) > self.t.publish_period {
            if let Some(t) = self.hello_template(key.master()) {
                self.send(
                    link,
                    Sent::Publish(key.clone()),
                    OutCommand::PublishHello(t),
                );
            }
        }
    }

    pub(crate) fn hello_template(&self, master: &str) -> Option<HelloTemplate> {
        let m = self.masters.get(master)?;
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
            master_name: master.to_string(),
            master_ip: mip,
            master_port: mport,
            master_config_epoch: m.config_epoch,
        })
    }

    /// Make hellos for `master` (and its replicas and sentinels) go out on the next tick.
    pub(crate) fn force_hellos(&mut self, master: &str) {
        let back = self.t.publish_period.saturating_add(1);
        if let Some(m) = self.masters.get_mut(master) {
            m.c.last_pub_time = m.c.last_pub_time.minus(back);
            for r in m.replicas.values_mut() {
                r.c.last_pub_time = r.c.last_pub_time.minus(back);
            }
            for p in m.sentinels.values_mut() {
                p.c.last_pub_time = p.c.last_pub_time.minus(back);
            }
        }
    }

    fn sdown_check(&mut self, key: &InstKey) {
        let now = self.now;
        let Some(link) = self.link_of(key) else {
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
            && !matches!(key, InstKey::Sentinel(..))
            && now.since(l.cc_conn_time) > self.t.min_link_reconnect_period
            && now.since(l.pc_last_activity) > self.t.publish_period.saturating_mul(3);
        if recycle_cmd || recycle_pubsub {
            self.drop_connection(link);
        }
        let mut down = elapsed > down_after;
        if let InstKey::Master(n) = key {
            if let Some(m) = self.masters.get(n) {
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
            if let InstKey::Master(n) = key {
                // vedette: ask the peers at once and refresh replica INFO now, not on the next 1 s cycle.
                let n = n.clone();
                self.ask_peers(&n, true);
                self.refresh_replicas(&n);
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
    pub(crate) fn refresh_replicas(&mut self, master: &str) {
        let Some(m) = self.masters.get(master) else {
            return;
        };
        let targets: Vec<(String, LinkId)> = m
            .replicas
            .iter()
            .map(|(n, r)| (n.clone(), r.c.link))
            .collect();
        for (rn, link) in targets {
            let inflight = self
                .links
                .get(&link)
                .is_some_and(|l| l.inflight.info_pending());
            if !inflight {
                self.send(
                    link,
                    Sent::Info(InstKey::Replica(master.to_string(), rn)),
                    OutCommand::Info,
                );
            }
        }
    }

    /// "Master looks sane" (reference §4.1).
    pub(crate) fn master_sane(&self, master: &str) -> bool {
        self.masters.get(master).is_some_and(|m| {
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
    pub(crate) fn view_confirmed(&self, master: &str) -> bool {
        let Some(m) = self.masters.get(master) else {
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

    pub(crate) fn process_info(&mut self, key: &InstKey, link: LinkId, text: String) {
        let now = self.now;
        let r = InfoReport::parse(&text);
        let master = key.master().to_string();
        let Some(m) = self.masters.get_mut(&master) else {
            return;
        };
        let is_master = matches!(key, InstKey::Master(_));
        let reboot_period = m.cfg.master_reboot_down_after_period_ms;
        // Shared bookkeeping for both kinds.
        let (c, info) = match key {
            InstKey::Master(_) => (&mut m.c, &mut m.info),
            InstKey::Replica(_, rn) => match m.replicas.get_mut(rn) {
                Some(rep) => (&mut rep.c, &mut rep.info),
                None => return,
            },
            InstKey::Sentinel(..) => return,
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
        if let InstKey::Replica(_, rn) = key {
            if let Some(rep) = m.replicas.get_mut(rn) {
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
                .get(&master)
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
                    tracing::debug!(master = %master, ip = %line.ip, port = line.port, "ignoring invalid replica address in INFO");
                    continue;
                }
                if known.insert((host_key(&line.ip), line.port)) {
                    if !self.room_for(&master, Known::Replica) {
                        break;
                    }
                    let down_after = self
                        .masters
                        .get(&master)
                        .map_or(30_000, |m| m.cfg.down_after_ms);
                    let rep = self.make_replica(&line.ip, line.port, down_after, now);
                    let rn = rep.name();
                    if let Some(m) = self.masters.get_mut(&master) {
                        m.replicas.insert(rn.clone(), rep);
                    }
                    self.event(
                        Level::Notice,
                        "+slave",
                        &InstKey::Replica(master.clone(), rn),
                        "",
                    );
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
        if let InstKey::Replica(_, rn) = key {
            self.replica_acting_half(&master, rn, new_role);
            self.failover_step(&master);
        }
    }

    /// What a replica's INFO makes us do (reference §4.1 items 4–6).
    fn replica_acting_half(&mut self, master: &str, rn: &str, role: Role) {
        let now = self.now;
        let Some(m) = self.masters.get(master) else {
            return;
        };
        let Some(r) = m.replicas.get(rn) else {
            return;
        };
        let key = InstKey::Replica(master.to_string(), rn.to_string());
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
                    self.event(Level::Notice, "+convert-to-slave", &key, "");
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
                self.event(Level::Notice, "+fix-slave-config", &key, "");
            }
            return;
        }
        // Reconfiguration progress during our failover.
        let Some(promoted) = m.promoted.as_ref().and_then(|p| m.replicas.get(p)) else {
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
            self.event(Level::Notice, "+slave-reconf-inprog", &key, "");
        }
        if state == Reconf::InProg && link_up {
            self.set_reconf(master, rn, Reconf::Done);
            self.event(Level::Notice, "+slave-reconf-done", &key, "");
        }
    }

    pub(crate) fn set_reconf(&mut self, master: &str, rn: &str, state: Reconf) {
        if let Some(r) = self
            .masters
            .get_mut(master)
            .and_then(|m| m.replicas.get_mut(rn))
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
        let name = h.master_name.clone();
        let Some(m) = self.masters.get(&name) else {
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
                .get_mut(&name)
                .and_then(|m| m.sentinels.remove(&h.runid))
            {
                self.release_link(old.c.link);
                address_switch = true;
                let suffix = format!("ip {} port {} for {}", h.ip, h.port, h.runid);
                self.event_master(Level::Notice, "+sentinel-address-switch", &name, &suffix);
            } else {
                let stale: Option<String> = self.masters.get(&name).and_then(|m| {
                    m.sentinels
                        .iter()
                        .find(|(_, p)| p.c.port == h.port && same_host(&p.c.host, &h.ip))
                        .map(|(id, _)| id.clone())
                });
                if let Some(old_id) = stale {
                    self.event(
                        Level::Notice,
                        "+sentinel-invalid-addr",
                        &InstKey::Sentinel(name.clone(), old_id.clone()),
                        "",
                    );
                    self.remove_sentinel_everywhere(&old_id);
                }
            }
            if !address_switch && !self.room_for(&name, Known::Sentinel) {
                return;
            }
            let down_after = self
                .masters
                .get(&name)
                .map_or(30_000, |m| m.cfg.down_after_ms);
            let link = self.sentinel_link(&h.runid, &h.ip, h.port, now);
            let peer = self.make_peer(&h.runid, &h.ip, h.port, link, down_after, now);
            if let Some(m) = self.masters.get_mut(&name) {
                m.sentinels.insert(h.runid.clone(), peer);
            }
            if !address_switch {
                self.event(
                    Level::Notice,
                    "+sentinel",
                    &InstKey::Sentinel(name.clone(), h.runid.clone()),
                    "",
                );
            } else {
                self.update_sentinel_address_elsewhere(&name, &h);
            }
            self.flush();
        }
        if h.current_epoch > self.current_epoch {
            self.current_epoch = h.current_epoch;
            self.flush();
            self.event_raw(
                Level::Warning,
                "+new-epoch",
                &name,
                h.current_epoch.to_string(),
            );
        }
        let Some(m) = self.masters.get_mut(&name) else {
            return;
        };
        if let Some(p) = m.sentinels.get_mut(&h.runid) {
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
            let Some(m) = self.masters.get_mut(&name) else {
                return;
            };
            // Compare with the address we currently advertise (the promoted replica once our own failover
            // reached RECONF_SLAVES), so a higher epoch for another address always wins and one config
            // epoch never names two addresses.
            let (cur_host, cur_port) = m.current_addr();
            let differs = h.master_port != cur_port || !same_host(&h.master_ip, &cur_host);
            if differs {
                let (old_host, old_port) = (m.c.host.clone(), m.c.port);
                self.event(
                    Level::Warning,
                    "+config-update-from",
                    &InstKey::Sentinel(name.clone(), h.runid.clone()),
                    "",
                );
                self.event_raw(
                    Level::Warning,
                    "+switch-master",
                    &name,
                    format!(
                        "{name} {old_host} {old_port} {} {}",
                        h.master_ip, h.master_port
                    ),
                );
                self.reset_and_switch(&name, &h.master_ip, h.master_port);
                self.client_reconfig(
                    &name,
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
    fn room_for(&mut self, master: &str, kind: Known) -> bool {
        let (cap, event) = match kind {
            Known::Sentinel => (self.global.max_known_sentinels, "-max-sentinels-reached"),
            Known::Replica => (self.global.max_known_replicas, "-max-replicas-reached"),
        };
        let Some(m) = self.masters.get_mut(master) else {
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
        for m in self.masters.values_mut() {
            if let Some(p) = m.sentinels.remove(runid) {
                links.push(p.c.link);
            }
        }
        for l in links {
            self.release_link(l);
        }
    }

    /// A peer moved: point its objects under other masters at the new address too.
    fn update_sentinel_address_elsewhere(&mut self, origin: &str, h: &Hello) {
        let now = self.now;
        let others: Vec<String> = self
            .masters
            .iter()
            .filter(|(n, m)| {
                n.as_str() != origin
                    && m.sentinels
                        .get(&h.runid)
                        .is_some_and(|p| p.c.port != h.port || !same_host(&p.c.host, &h.ip))
            })
            .map(|(n, _)| n.clone())
            .collect();
        // The new address's link, created under `origin`: every other master shares it (looked up once;
        // `sentinel_link` per master would rescan all masters each time, O(masters²) for a peer known under
        // all of them).
        let shared = self
            .masters
            .get(origin)
            .and_then(|m| m.sentinels.get(&h.runid))
            .map(|p| p.c.link);
        for n in &others {
            let old_link = self
                .masters
                .get_mut(n)
                .and_then(|m| m.sentinels.remove(&h.runid))
                .map(|p| p.c.link);
            if let Some(l) = old_link {
                self.release_link(l);
            }
            let down_after = self.masters.get(n).map_or(30_000, |m| m.cfg.down_after_ms);
            let link = match shared.and_then(|l| self.links.get_mut(&l).map(|link| (l, link))) {
                Some((l, link)) => {
                    link.refcount += 1;
                    l
                }
                None => self.sentinel_link(&h.runid, &h.ip, h.port, now),
            };
            let peer = self.make_peer(&h.runid, &h.ip, h.port, link, down_after, now);
            if let Some(m) = self.masters.get_mut(n) {
                m.sentinels.insert(h.runid.clone(), peer);
            }
        }
        if !others.is_empty() {
            self.event(
                Level::Notice,
                "+sentinel-address-update",
                &InstKey::Sentinel(origin.to_string(), h.runid.clone()),
                &format!("{} additional matching instances", others.len()),
            );
        }
    }

    /// Queue the client-reconfig script for `master`, if configured.
    pub(crate) fn client_reconfig(
        &mut self,
        master: &str,
        role: &str,
        from: (&str, u16),
        to: (&str, u16),
    ) {
        let Some(script) = self
            .masters
            .get(master)
            .and_then(|m| m.cfg.client_reconfig_script.clone())
        else {
            return;
        };
        self.out.push(Output::RunScript(ScriptJob {
            path: script,
            args: vec![
                master.to_string(),
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
    pub(crate) fn reset_and_switch(&mut self, name: &str, host: &str, port: u16) {
        let now = self.now;
        self.addr_version += 1;
        let Some(m) = self.masters.get_mut(name) else {
            return;
        };
        let old = (m.c.host.clone(), m.c.port, m.c.link);
        let mut keep: Vec<(String, u16, Option<crate::instance::Replica>)> = Vec::new();
        let replicas = std::mem::take(&mut m.replicas);
        let mut new_master_link = None;
        for (_, r) in replicas {
            if r.c.port == port && same_host(&r.c.host, host) {
                new_master_link = Some(r.c.link);
                continue;
            }
            keep.push((r.c.host.clone(), r.c.port, Some(r)));
        }
        if !(old.1 == port && same_host(&old.0, host)) {
            keep.push((old.0.clone(), old.1, None));
        }
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
        if let Some(m) = self.masters.get_mut(name) {
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
        let mut old_link_used = false;
        for (h, p, existing) in keep {
            let mut r = match existing {
                Some(mut r) => {
                    r.promoted = false;
                    r.reconf = Reconf::None;
                    r.c.s_down = false;
                    r.c.s_down_since = None;
                    r
                }
                None => {
                    // The old master: keep talking on its link; it must now behave as a replica.
                    old_link_used = true;
                    let mut r = crate::instance::Replica::new(
                        crate::instance::Common::new(&h, p, old_link, down_after, now),
                        now,
                    );
                    r.former_master = true;
                    r
                }
            };
            r.c.down_after = down_after;
            let rn = addr_name(&h, p);
            if let Some(m) = self.masters.get_mut(name) {
                m.replicas.insert(rn.clone(), r);
            }
            self.event(
                Level::Notice,
                "+slave",
                &InstKey::Replica(name.to_string(), rn),
                "",
            );
        }
        if !old_link_used {
            self.release_link(old_link);
        }
        // Announce the new configuration at once (Redis: only the leader forces hellos), so peers converge,
        // and confirm our view for the quick demotion of a returning old master, without waiting 2 s.
        self.force_hellos(name);
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

//! `SENTINEL <subcommand>` as functions of the state, answering with [`Reply`] values (reference §1.2–§1.3).

use crate::config::{is_valid_myid, valid_host, MasterConfig, PersistedMaster, MAX_COUNT};
use crate::events::Level;
use crate::glob::Pattern;
use crate::instance::{same_host, Master, Reconf};
use crate::io::ClientId;
use crate::reply::{errors, Reply};
use crate::sentinel::Sentinel;
use crate::table::MasterId;
use crate::wire::info::Role;

/// (name, arity) of every SENTINEL subcommand; negative arity = at least.
const SUBCOMMANDS: &[(&str, i32)] = &[
    ("ckquorum", 3),
    ("config", -4),
    ("debug", -2),
    ("failover", 3),
    ("flushconfig", 2),
    ("get-master-addr-by-name", 3),
    ("get-primary-addr-by-name", 3),
    ("help", 2),
    ("info-cache", -3),
    ("is-master-down-by-addr", 6),
    ("is-primary-down-by-addr", 6),
    ("master", 3),
    ("primary", 3),
    ("masters", 2),
    ("primaries", 2),
    ("monitor", 6),
    ("myid", 2),
    ("pending-scripts", 2),
    ("remove", 3),
    ("replicas", 3),
    ("slaves", 3),
    ("reset", 3),
    ("sentinels", 3),
    ("set", -5),
    ("simulate-failure", -3),
];

const HELP: &[&str] = &[
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum needed",
    "    to failover a master and the majority needed to authorize the failover.",
    "CONFIG SET param value [param value ...]",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param> [param param param ...]",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration paramters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
];

const DEBUG_NAMES: &[&str] = &[
    "info-period",
    "ping-period",
    "ask-period",
    "publish-period",
    "default-down-after",
    "default-failover-timeout",
    "tilt-trigger",
    "tilt-period",
    "slave-reconf-timeout",
    "min-link-reconnect-period",
    "election-timeout",
    "script-max-runtime",
    "script-retry-delay",
];

const CONFIG_PARAMS: &[&str] = &[
    "resolve-hostnames",
    "announce-hostnames",
    "announce-ip",
    "announce-port",
    "sentinel-user",
    "sentinel-pass",
    "loglevel",
];

fn s(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

/// A command's integer argument, parsed as Redis's `getLongLongFromObject` does.
fn parse_i64(a: &[u8]) -> Option<i64> {
    crate::config::parse_redis_i64(a)
}

fn ms(v: u64) -> String {
    v.to_string()
}

impl Sentinel {
    pub(crate) fn sentinel_command(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        if argv.len() < 2 {
            self.reply(client, Reply::err(errors::wrong_arity("sentinel")));
            return;
        }
        let sub = s(&argv[1]).to_ascii_lowercase();
        let Some(&(_, arity)) = SUBCOMMANDS.iter().find(|(n, _)| *n == sub) else {
            self.reply(
                client,
                Reply::err(errors::unknown_subcommand("sentinel", &argv[1])),
            );
            return;
        };
        let n = argv.len() as i32;
        if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
            self.reply(
                client,
                Reply::err(errors::wrong_arity(&format!("sentinel|{sub}"))),
            );
            return;
        }
        let r = match sub.as_str() {
            "masters" | "primaries" => {
                let names: Vec<String> = self.masters.keys().cloned().collect();
                Reply::Array(names.iter().map(|n| self.master_map(n)).collect())
            }
            "master" | "primary" => match self.masters.get(&s(&argv[2])) {
                Some(_) => self.master_map(&s(&argv[2])),
                None => Reply::err(errors::NO_SUCH_MASTER),
            },
            "replicas" | "slaves" => match self.masters.get(&s(&argv[2])) {
                Some(m) => {
                    let name = s(&argv[2]);
                    let rs: Vec<String> = m
                        .replicas
                        .iter()
                        .filter(|(_, r)| r.announced)
                        .map(|(n, _)| n.clone())
                        .collect();
                    Reply::Array(rs.iter().map(|r| self.replica_map(&name, r)).collect())
                }
                None => Reply::err(errors::NO_SUCH_MASTER),
            },
            "sentinels" => match self.masters.get(&s(&argv[2])) {
                Some(m) => {
                    let name = s(&argv[2]);
                    let ids: Vec<String> = m.sentinels.keys().cloned().collect();
                    Reply::Array(ids.iter().map(|id| self.peer_map(&name, id)).collect())
                }
                None => Reply::err(errors::NO_SUCH_MASTER),
            },
            "get-master-addr-by-name" | "get-primary-addr-by-name" => {
                match self.master_addr(&s(&argv[2])) {
                    Some((h, p)) => Reply::Array(vec![Reply::bulk(h), Reply::bulk(p.to_string())]),
                    None => Reply::NilArray,
                }
            }
            "myid" => Reply::bulk(&self.myid),
            "is-master-down-by-addr" | "is-primary-down-by-addr" => {
                return self.cmd_is_master_down(client, argv);
            }
            "monitor" => return self.cmd_monitor(client, argv),
            "remove" => return self.cmd_remove(client, argv),
            "reset" => self.cmd_reset(&argv[2]),
            "failover" => self.cmd_failover(&s(&argv[2])),
            "ckquorum" => self.cmd_ckquorum(&s(&argv[2])),
            "flushconfig" => {
                self.ack_after_flush(client, Reply::ok());
                return;
            }
            "set" => return self.cmd_set(client, argv),
            "config" => return self.cmd_config(client, argv),
            "info-cache" => self.cmd_info_cache(&argv[2..]),
            "pending-scripts" => Reply::Array(vec![]),
            "simulate-failure" => self.cmd_simulate_failure(&argv[2..]),
            "debug" => self.cmd_debug(&argv[2..]),
            "help" => {
                let mut v = vec![Reply::Status(
                    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into(),
                )];
                v.extend(HELP.iter().map(|l| Reply::Status((*l).into())));
                v.push(Reply::Status("HELP".into()));
                v.push(Reply::Status("    Print this help.".into()));
                Reply::Array(v)
            }
            _ => Reply::err(errors::unknown_subcommand("sentinel", &argv[1])),
        };
        self.reply(client, r);
    }

    fn link_fields(&self, c: &crate::instance::Common, v: &mut Vec<(String, String)>) {
        let now = self.now;
        let l = self.links.get(&c.link);
        v.push((
            "link-pending-commands".into(),
            l.map_or(0, |l| l.pending()).to_string(),
        ));
        v.push((
            "link-refcount".into(),
            l.map_or(1, |l| l.refcount).to_string(),
        ));
        let _ = now;
    }

    fn ping_fields(&self, c: &crate::instance::Common, v: &mut Vec<(String, String)>) {
        let now = self.now;
        let l = self.links.get(&c.link);
        v.push((
            "last-ping-sent".into(),
            l.and_then(|l| l.act_ping_time)
                .map_or(0, |t| now.since(t))
                .to_string(),
        ));
        v.push((
            "last-ok-ping-reply".into(),
            l.map_or(0, |l| now.since(l.last_avail_time)).to_string(),
        ));
        v.push((
            "last-ping-reply".into(),
            l.map_or(0, |l| now.since(l.last_pong_time)).to_string(),
        ));
    }

    fn flags(
        &self,
        c: &crate::instance::Common,
        kind: &str,
        extra: &[(&str, bool)],
        o_down: bool,
    ) -> String {
        let mut f: Vec<&str> = Vec::new();
        if c.s_down {
            f.push("s_down");
        }
        if o_down {
            f.push("o_down");
        }
        f.push(kind);
        if self.links.get(&c.link).is_none_or(|l| l.disconnected()) {
            f.push("disconnected");
        }
        for (name, on) in extra {
            if *on {
                f.push(name);
            }
        }
        f.join(",")
    }

    pub(crate) fn master_map(&self, name: &str) -> Reply {
        let Some(m) = self.masters.get(name) else {
            return Reply::Nil;
        };
        let now = self.now;
        let mut v: Vec<(String, String)> = vec![
            ("name".into(), name.into()),
            ("ip".into(), m.c.host.clone()),
            ("port".into(), m.c.port.to_string()),
            ("runid".into(), m.c.runid.clone().unwrap_or_default()),
        ];
        let flags = self.master_flags(m);
        v.push(("flags".into(), flags));
        self.link_fields(&m.c, &mut v);
        if m.in_failover() {
            v.push(("failover-state".into(), m.failover_state.name().into()));
        }
        self.ping_fields(&m.c, &mut v);
        if m.c.s_down {
            v.push((
                "s-down-time".into(),
                m.c.s_down_since.map_or(0, |t| now.since(t)).to_string(),
            ));
        }
        if m.o_down {
            v.push((
                "o-down-time".into(),
                m.o_down_since.map_or(0, |t| now.since(t)).to_string(),
            ));
        }
        v.push(("down-after-milliseconds".into(), ms(m.cfg.down_after_ms)));
        v.push((
            "info-refresh".into(),
            m.info.refresh.map_or(0, |t| now.since(t)).to_string(),
        ));
        v.push((
            "role-reported".into(),
            role_name(m.info.role_reported).into(),
        ));
        v.push((
            "role-reported-time".into(),
            now.since(m.info.role_reported_time).to_string(),
        ));
        v.push(("config-epoch".into(), m.config_epoch.to_string()));
        v.push(("num-slaves".into(), m.replicas.len().to_string()));
        v.push(("num-other-sentinels".into(), m.sentinels.len().to_string()));
        v.push(("quorum".into(), m.cfg.quorum.to_string()));
        v.push(("failover-timeout".into(), ms(m.cfg.failover_timeout_ms)));
        v.push(("parallel-syncs".into(), m.cfg.parallel_syncs.to_string()));
        if let Some(sc) = &m.cfg.notification_script {
            v.push(("notification-script".into(), sc.clone()));
        }
        if let Some(sc) = &m.cfg.client_reconfig_script {
            v.push(("client-reconfig-script".into(), sc.clone()));
        }
        Reply::bulk_map(v)
    }

    fn master_flags(&self, m: &Master) -> String {
        self.flags(
            &m.c,
            "master",
            &[
                ("failover_in_progress", m.in_failover()),
                ("force_failover", m.force_failover),
                ("script_kill_sent", m.c.script_kill_sent),
                ("master_reboot", m.master_reboot),
            ],
            m.o_down,
        )
    }

    fn replica_map(&self, master: &str, rn: &str) -> Reply {
        let Some(m) = self.masters.get(master) else {
            return Reply::Nil;
        };
        let Some(r) = m.replicas.get(rn) else {
            return Reply::Nil;
        };
        let now = self.now;
        let mut v: Vec<(String, String)> = vec![
            ("name".into(), rn.into()),
            ("ip".into(), r.c.host.clone()),
            ("port".into(), r.c.port.to_string()),
            ("runid".into(), r.c.runid.clone().unwrap_or_default()),
        ];
        v.push((
            "flags".into(),
            self.flags(
                &r.c,
                "slave",
                &[
                    ("promoted", r.promoted),
                    ("reconf_sent", matches!(r.reconf, Reconf::Sent(_))),
                    ("reconf_inprog", r.reconf == Reconf::InProg),
                    ("reconf_done", r.reconf == Reconf::Done),
                    ("script_kill_sent", r.c.script_kill_sent),
                ],
                false,
            ),
        ));
        self.link_fields(&r.c, &mut v);
        self.ping_fields(&r.c, &mut v);
        if r.c.s_down {
            v.push((
                "s-down-time".into(),
                r.c.s_down_since.map_or(0, |t| now.since(t)).to_string(),
            ));
        }
        v.push(("down-after-milliseconds".into(), ms(r.c.down_after)));
        v.push((
            "info-refresh".into(),
            r.info.refresh.map_or(0, |t| now.since(t)).to_string(),
        ));
        v.push((
            "role-reported".into(),
            role_name(r.info.role_reported).into(),
        ));
        v.push((
            "role-reported-time".into(),
            now.since(r.info.role_reported_time).to_string(),
        ));
        v.push((
            "master-link-down-time".into(),
            r.master_link_down_time.to_string(),
        ));
        v.push((
            "master-link-status".into(),
            if r.master_link_up { "ok" } else { "err" }.into(),
        ));
        v.push((
            "master-host".into(),
            r.master_host.clone().unwrap_or_else(|| "?".into()),
        ));
        v.push(("master-port".into(), r.master_port.to_string()));
        v.push(("slave-priority".into(), r.priority.to_string()));
        v.push(("slave-repl-offset".into(), r.repl_offset.to_string()));
        v.push((
            "replica-announced".into(),
            u8::from(r.announced).to_string(),
        ));
        Reply::bulk_map(v)
    }

    fn peer_map(&self, master: &str, id: &str) -> Reply {
        let Some(p) = self.masters.get(master).and_then(|m| m.sentinels.get(id)) else {
            return Reply::Nil;
        };
        let now = self.now;
        let mut v: Vec<(String, String)> = vec![
            ("name".into(), id.into()),
            ("ip".into(), p.c.host.clone()),
            ("port".into(), p.c.port.to_string()),
            ("runid".into(), id.into()),
        ];
        v.push((
            "flags".into(),
            self.flags(&p.c, "sentinel", &[("master_down", p.master_down)], false),
        ));
        self.link_fields(&p.c, &mut v);
        self.ping_fields(&p.c, &mut v);
        if p.c.s_down {
            v.push((
                "s-down-time".into(),
                p.c.s_down_since.map_or(0, |t| now.since(t)).to_string(),
            ));
        }
        v.push(("down-after-milliseconds".into(), ms(p.c.down_after)));
        v.push((
            "last-hello-message".into(),
            now.since(p.last_hello_time).to_string(),
        ));
        v.push((
            "voted-leader".into(),
            p.leader.clone().unwrap_or_else(|| "?".into()),
        ));
        v.push(("voted-leader-epoch".into(), p.leader_epoch.to_string()));
        Reply::bulk_map(v)
    }

    fn cmd_is_master_down(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        let (Some(port), Some(epoch)) = (parse_i64(&argv[3]), parse_i64(&argv[4])) else {
            self.reply(client, Reply::err(errors::NOT_INTEGER));
            return;
        };
        let ip = s(&argv[2]);
        let runid = s(&argv[5]);
        let found = self
            .masters
            .iter_ids()
            .find(|(_, m)| i64::from(m.c.port) == port && same_host(&m.c.host, &ip))
            .map(|(id, _)| id);
        let down =
            !self.tilt && found.is_some_and(|id| self.masters.at(id).is_some_and(|m| m.c.s_down));
        let mut leader = "*".to_string();
        let mut leader_epoch = 0u64;
        if let (Some(id), true) = (found, runid != "*") {
            let (l, e) = self.vote_leader(id, epoch.max(0) as u64, &runid);
            leader = l.unwrap_or_else(|| "*".into());
            leader_epoch = e;
        }
        let reply = Reply::Array(vec![
            Reply::Int(i64::from(down)),
            Reply::bulk(&leader),
            Reply::Int(leader_epoch as i64),
        ]);
        // A vote must be durable before the reply reveals it; if its write fails, abstain (Redis would
        // reveal it anyway). A reply without a vote, or with one already on disk, leaves at once.
        let found_name = found
            .and_then(|id| self.masters.at(id))
            .map(|m| m.cfg.name.clone());
        let dep = match &found_name {
            Some(name)
                if leader != "*"
                    && !self.mutated(crate::sentinel::Mutation::SkipPersistBarrier) =>
            {
                self.out.dep_for(|d| d.vote_epoch(name) >= leader_epoch)
            }
            _ => None,
        };
        let abstain = Reply::Array(vec![
            Reply::Int(i64::from(down)),
            Reply::bulk("*"),
            Reply::Int(0),
        ]);
        let now = self.now;
        self.out.guarded(client, reply, dep, abstain, now);
    }

    /// Answer a command that changed persisted state once the write covering the change is durable:
    /// `reply` then, or Redis's `-ERR Failed to save config file. Check server logs.` if that write fails
    /// (an error reply stays itself). The in-memory change is kept either way, as in Redis.
    fn ack_after_flush(&mut self, client: ClientId, reply: Reply) {
        let dep = self.flush();
        let fail = if reply.is_error() {
            reply.clone()
        } else {
            Reply::err(errors::FLUSH_FAILED)
        };
        let now = self.now;
        self.out.guarded(client, reply, Some(dep), fail, now);
    }

    fn cmd_monitor(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        let name = s(&argv[2]);
        let host = s(&argv[3]);
        let Some(quorum) = parse_i64(&argv[5]) else {
            return self.reply(client, Reply::err("ERR Invalid quorum"));
        };
        let Some(port) = parse_i64(&argv[4]) else {
            return self.reply(client, Reply::err("ERR Invalid port"));
        };
        if quorum <= 0 {
            return self.reply(client, Reply::err("ERR Quorum must be 1 or greater."));
        }
        if quorum > i64::from(MAX_COUNT) {
            // Redis stores it in 32 bits, truncating 4294967296 to 0; vedette refuses it instead.
            return self.reply(client, Reply::err("ERR Invalid quorum"));
        }
        let quorum = quorum as u32;
        if !valid_host(&host, self.global.resolve_hostnames) {
            return self.reply(
                client,
                Reply::err("ERR Invalid IP address or hostname specified"),
            );
        }
        if self.masters.contains_key(&name) {
            return self.reply(client, Reply::err("ERR Duplicate master name."));
        }
        if !(0..=65535).contains(&port) {
            return self.reply(client, Reply::err("ERR Invalid port number."));
        }
        let mut cfg = MasterConfig::new(&name, &host, port as u16, quorum);
        cfg.down_after_ms = self.t.default_down_after;
        cfg.failover_timeout_ms = self.t.default_failover_timeout;
        let now = self.now;
        let id = self.add_master(&PersistedMaster::new(cfg), now);
        self.ack_after_flush(client, Reply::ok());
        self.event_master(Level::Warning, "+monitor", id, &format!("quorum {quorum}"));
    }

    fn cmd_remove(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        let name = s(&argv[2]);
        let Some(id) = self.masters.id(&name) else {
            return self.reply(client, Reply::err(errors::NO_SUCH_MASTER));
        };
        self.event_master(Level::Warning, "-monitor", id, "");
        self.remove_master(&name);
        self.ack_after_flush(client, Reply::ok());
    }

    fn remove_master(&mut self, name: &str) {
        self.addr_version += 1;
        if let Some(id) = self.masters.id(name) {
            self.unschedule(id);
        }
        if let Some(m) = self.masters.remove(name) {
            self.release_link(m.c.link);
            for r in m.replicas.values() {
                self.release_link(r.c.link);
            }
            for p in m.sentinels.values() {
                self.release_link(p.c.link);
            }
        }
    }

    fn cmd_reset(&mut self, pattern: &[u8]) -> Reply {
        let pattern = Pattern::new(pattern, false);
        let ids: Vec<MasterId> = self
            .masters
            .iter_ids()
            .filter(|(_, m)| pattern.matches(m.cfg.name.as_bytes()))
            .map(|(id, _)| id)
            .collect();
        for &id in &ids {
            self.reset_master(id);
            self.event_master(Level::Warning, "+reset-master", id, "");
        }
        let names = ids;
        Reply::Int(names.len() as i64)
    }

    /// SENTINEL RESET: forget replicas and sentinels, clear state, reconnect (reference §7.9).
    fn reset_master(&mut self, id: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at_mut(id) else {
            return;
        };
        let mut links: Vec<_> = m.replicas.values().map(|r| r.c.link).collect();
        links.extend(m.sentinels.values().map(|p| p.c.link));
        m.replicas.clear();
        m.sentinels.clear();
        let old_master_link = m.c.link;
        m.reset_state(now);
        let (h, p) = (m.c.host.clone(), m.c.port);
        for l in links {
            self.release_link(l);
        }
        self.release_link(old_master_link);
        let link = self.new_link(&h, p, now);
        if let Some(m) = self.masters.at_mut(id) {
            m.c.link = link;
        }
    }

    fn cmd_failover(&mut self, name: &str) -> Reply {
        let Some(id) = self.masters.id(name) else {
            return Reply::err(errors::NO_SUCH_MASTER);
        };
        if self.masters.at(id).is_some_and(|m| m.in_failover()) {
            return Reply::err("INPROG Failover already in progress");
        }
        if self.select_replica(id).is_none() {
            return Reply::err("NOGOODSLAVE No suitable replica to promote");
        }
        tracing::info!(
            master = name,
            "Executing user requested FAILOVER of '{name}'"
        );
        self.start_failover(id, true);
        Reply::ok()
    }

    fn cmd_ckquorum(&self, name: &str) -> Reply {
        let Some(m) = self.masters.get(name) else {
            return Reply::err(errors::NO_SUCH_MASTER);
        };
        let usable = 1 + m.sentinels.values().filter(|p| !p.c.s_down).count();
        let voters = m.sentinels.len() + 1;
        let mut why = Vec::new();
        if usable < m.cfg.quorum as usize {
            why.push(
                "Not enough available Sentinels to reach the specified quorum for this master",
            );
        }
        if usable < voters / 2 + 1 {
            why.push(
                "Not enough available Sentinels to reach the majority and authorize a failover",
            );
        }
        if why.is_empty() {
            Reply::Status(format!(
                "OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
            ))
        } else {
            Reply::err(format!(
                "NOQUORUM {usable} usable Sentinels. {}",
                why.join(". ")
            ))
        }
    }

    fn cmd_set(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        let name = s(&argv[2]);
        if !self.masters.contains_key(&name) {
            return self.reply(client, Reply::err(errors::NO_SUCH_MASTER));
        }
        let mut changed = false;
        let mut err: Option<String> = None;
        let mut i = 3;
        let mut drop_links = false;
        while i < argv.len() {
            let opt_raw = s(&argv[i]);
            let opt = opt_raw.to_ascii_lowercase();
            let needs = if opt == "rename-command" { 2 } else { 1 };
            let known = matches!(
                opt.as_str(),
                "down-after-milliseconds"
                    | "failover-timeout"
                    | "parallel-syncs"
                    | "quorum"
                    | "notification-script"
                    | "client-reconfig-script"
                    | "auth-pass"
                    | "auth-user"
                    | "rename-command"
                    | "master-reboot-down-after-period"
            );
            if !known || i + needs >= argv.len() {
                err = Some(format!(
                    "ERR Unknown option or number of arguments for SENTINEL SET '{opt_raw}'"
                ));
                break;
            }
            let val = s(&argv[i + 1]);
            let bad = |v: &str| format!("ERR Invalid argument '{v}' for SENTINEL SET '{opt_raw}'");
            let positive = |v: &str| parse_i64(v.as_bytes()).filter(|x| *x > 0);
            // Counts Redis keeps in an `int`: 1..=MAX_COUNT.
            let count = |v: &str| {
                positive(v)
                    .and_then(|x| u32::try_from(x).ok())
                    .filter(|x| *x <= MAX_COUNT)
            };
            let deny = self.global.deny_scripts_reconfig;
            let Some(m) = self.masters.get_mut(&name) else {
                break;
            };
            let mut shown = val.clone();
            match opt.as_str() {
                "down-after-milliseconds" => match positive(&val) {
                    Some(x) => {
                        m.cfg.down_after_ms = x as u64;
                        m.c.down_after = x as u64;
                        for r in m.replicas.values_mut() {
                            r.c.down_after = x as u64;
                        }
                        for p in m.sentinels.values_mut() {
                            p.c.down_after = x as u64;
                        }
                    }
                    None => {
                        err = Some(bad(&val));
                        break;
                    }
                },
                "failover-timeout" => match positive(&val) {
                    Some(x) => m.cfg.failover_timeout_ms = x as u64,
                    None => {
                        err = Some(bad(&val));
                        break;
                    }
                },
                "parallel-syncs" => match count(&val) {
                    Some(x) => m.cfg.parallel_syncs = x,
                    None => {
                        err = Some(bad(&val));
                        break;
                    }
                },
                "quorum" => match count(&val) {
                    Some(x) => m.cfg.quorum = x,
                    None => {
                        err = Some(bad(&val));
                        break;
                    }
                },
                "master-reboot-down-after-period" => {
                    match parse_i64(val.as_bytes()).filter(|x| *x >= 0) {
                        Some(x) => m.cfg.master_reboot_down_after_period_ms = x as u64,
                        None => {
                            err = Some(bad(&val));
                            break;
                        }
                    }
                }
                "notification-script" | "client-reconfig-script" => {
                    if deny {
                        err = Some("ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration".into());
                        break;
                    }
                    let v = if val.is_empty() {
                        None
                    } else {
                        Some(val.clone())
                    };
                    if opt == "notification-script" {
                        m.cfg.notification_script = v;
                    } else {
                        m.cfg.client_reconfig_script = v;
                    }
                }
                "auth-pass" => {
                    m.cfg.auth_pass = if val.is_empty() {
                        None
                    } else {
                        Some(val.clone())
                    };
                    shown = "******".into();
                    drop_links = true;
                }
                "auth-user" => {
                    m.cfg.auth_user = if val.is_empty() {
                        None
                    } else {
                        Some(val.clone())
                    };
                    drop_links = true;
                }
                "rename-command" => {
                    let newname = s(&argv[i + 2]);
                    if val.is_empty() || newname.is_empty() {
                        let which = if val.is_empty() {
                            val.clone()
                        } else {
                            newname.clone()
                        };
                        err = Some(bad(&which));
                        break;
                    }
                    let key = val.to_ascii_lowercase();
                    m.cfg.rename_commands.remove(&key);
                    if !newname.eq_ignore_ascii_case(&val) {
                        m.cfg.rename_commands.insert(key, newname.clone());
                    }
                    shown = format!("{val} {newname}");
                    drop_links = true;
                }
                _ => {}
            }
            changed = true;
            if let Some(id) = self.masters.id(&name) {
                self.event_master(Level::Warning, "+set", id, &format!("{opt_raw} {shown}"));
            }
            i += 1 + needs;
        }
        if drop_links {
            let links: Vec<_> = self
                .masters
                .get(&name)
                .map(|m| {
                    let mut v = vec![m.c.link];
                    v.extend(m.replicas.values().map(|r| r.c.link));
                    v
                })
                .unwrap_or_default();
            for l in links {
                self.drop_connection(l);
            }
        }
        let reply = err.map(Reply::err).unwrap_or_else(Reply::ok);
        if changed {
            self.ack_after_flush(client, reply);
        } else {
            self.reply(client, reply);
        }
    }

    fn config_get(&self, p: &str) -> String {
        let g = &self.global;
        match p {
            "resolve-hostnames" => yes_no(g.resolve_hostnames),
            "announce-hostnames" => yes_no(g.announce_hostnames),
            "announce-ip" => g.announce_ip.clone().unwrap_or_default(),
            "announce-port" => g.announce_port.to_string(),
            "sentinel-user" => g.sentinel_user.clone().unwrap_or_default(),
            "sentinel-pass" => g.sentinel_pass.clone().unwrap_or_default(),
            "loglevel" => g.loglevel.clone(),
            _ => String::new(),
        }
    }

    fn cmd_config(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        let shape_err = "ERR Only SENTINEL CONFIG GET <param> [<param> <param> ...] / SET <param> <value> [<param> <value> ...] are supported.";
        let op = s(&argv[2]).to_ascii_lowercase();
        if op == "get" {
            let mut out: Vec<(String, String)> = Vec::new();
            for pat in &argv[3..] {
                let pat = Pattern::new(pat, true);
                for p in CONFIG_PARAMS {
                    if pat.matches(p.as_bytes()) && !out.iter().any(|(k, _)| k == p) {
                        out.push(((*p).to_string(), self.config_get(p)));
                    }
                }
            }
            return self.reply(client, Reply::bulk_map(out));
        }
        if op != "set" || argv.len() < 5 {
            return self.reply(client, Reply::err(shape_err));
        }
        // Validate everything first: nothing is applied if any pair is bad.
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut i = 3;
        while i < argv.len() {
            let p_raw = s(&argv[i]);
            let p = p_raw.to_ascii_lowercase();
            if !CONFIG_PARAMS.contains(&p.as_str()) {
                return self.reply(
                    client,
                    Reply::err(format!(
                        "ERR Invalid argument '{p_raw}' to SENTINEL CONFIG SET"
                    )),
                );
            }
            if pairs.iter().any(|(k, _)| *k == p) {
                return self.reply(
                    client,
                    Reply::err(format!(
                        "ERR Duplicate argument '{p_raw}' to SENTINEL CONFIG SET"
                    )),
                );
            }
            if i + 1 >= argv.len() {
                return self.reply(
                    client,
                    Reply::err(format!("ERR Missing argument '{p_raw}' value")),
                );
            }
            let v = s(&argv[i + 1]);
            let ok = match p.as_str() {
                "resolve-hostnames" if v.eq_ignore_ascii_case("no") => {
                    // Refused while an instance is known by name: the config written next would no
                    // longer load ("Can't resolve instance hostname."), which Redis only finds at restart.
                    match self.hostname_in_use() {
                        Some(h) => {
                            tracing::warn!(host = %h, "refusing resolve-hostnames no: an instance is known by host name");
                            false
                        }
                        None => true,
                    }
                }
                "resolve-hostnames" | "announce-hostnames" => {
                    v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("no")
                }
                "announce-port" => {
                    parse_i64(v.as_bytes()).is_some_and(|p| (0..=65535).contains(&p))
                }
                "loglevel" => matches!(
                    v.to_ascii_lowercase().as_str(),
                    "debug" | "verbose" | "notice" | "warning" | "nothing"
                ),
                _ => true,
            };
            if !ok {
                return self.reply(
                    client,
                    Reply::err(format!(
                        "ERR Invalid value '{v}' to SENTINEL CONFIG SET '{p_raw}'"
                    )),
                );
            }
            pairs.push((p, v));
            i += 2;
        }
        let mut drop_sentinel_links = false;
        for (p, v) in pairs {
            let g = &mut self.global;
            let opt = |v: String| if v.is_empty() { None } else { Some(v) };
            match p.as_str() {
                "resolve-hostnames" => g.resolve_hostnames = v.eq_ignore_ascii_case("yes"),
                "announce-hostnames" => g.announce_hostnames = v.eq_ignore_ascii_case("yes"),
                "announce-ip" => g.announce_ip = opt(v),
                "announce-port" => g.announce_port = v.parse().unwrap_or(0),
                "sentinel-user" => {
                    g.sentinel_user = opt(v);
                    drop_sentinel_links = true;
                }
                "sentinel-pass" => {
                    g.sentinel_pass = opt(v);
                    drop_sentinel_links = true;
                }
                "loglevel" => g.loglevel = v.to_ascii_lowercase(),
                _ => {}
            }
        }
        if drop_sentinel_links {
            let links: std::collections::BTreeSet<_> = self
                .masters
                .values()
                .flat_map(|m| m.sentinels.values().map(|p| p.c.link))
                .collect();
            for l in links {
                self.drop_connection(l);
            }
        }
        self.ack_after_flush(client, Reply::ok());
    }

    /// Some stored address that is a host name, not an IP literal.
    fn hostname_in_use(&self) -> Option<String> {
        let mut hosts = self.masters.values().flat_map(|m| {
            std::iter::once(&m.c.host)
                .chain(m.replicas.values().map(|r| &r.c.host))
                .chain(m.sentinels.values().map(|p| &p.c.host))
        });
        hosts
            .find(|h| h.parse::<std::net::IpAddr>().is_err())
            .cloned()
    }

    fn cmd_info_cache(&self, names: &[Vec<u8>]) -> Reply {
        let now = self.now;
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for n in names {
            let name = s(n);
            let Some(m) = self.masters.get(&name) else {
                continue;
            };
            if !seen.insert(name.clone()) {
                continue;
            }
            let entry = |refresh: Option<crate::time::Instant>, text: &Option<String>| {
                Reply::Array(vec![
                    Reply::Int(refresh.map_or(0, |t| now.since(t)) as i64),
                    match text {
                        Some(t) => Reply::bulk(t),
                        None => Reply::Nil,
                    },
                ])
            };
            let mut list = vec![entry(m.info.refresh, &m.info.text)];
            for r in m.replicas.values() {
                list.push(entry(r.info.refresh, &r.info.text));
            }
            out.push(Reply::bulk(&name));
            out.push(Reply::Array(list));
        }
        Reply::Array(out)
    }

    fn cmd_simulate_failure(&mut self, args: &[Vec<u8>]) -> Reply {
        self.simfailure = 0;
        for a in args {
            match s(a).to_ascii_lowercase().as_str() {
                "crash-after-election" => self.simfailure |= 1,
                "crash-after-promotion" => self.simfailure |= 2,
                "help" => {
                    return Reply::Array(vec![
                        Reply::bulk("crash-after-election"),
                        Reply::bulk("crash-after-promotion"),
                    ])
                }
                _ => return Reply::err("ERR Unknown failure simulation specified"),
            }
        }
        Reply::ok()
    }

    fn timing_mut(&mut self, name: &str) -> Option<&mut u64> {
        timing_field(&mut self.t, name)
    }

    fn cmd_debug(&mut self, args: &[Vec<u8>]) -> Reply {
        if args.is_empty() {
            let pairs: Vec<(String, String)> = DEBUG_NAMES
                .iter()
                .map(|n| {
                    let v = self.clone_timing(n);
                    (n.to_ascii_uppercase(), v.to_string())
                })
                .collect();
            return Reply::bulk_map(pairs);
        }
        let mut i = 0;
        while i < args.len() {
            let raw = s(&args[i]);
            let name = raw.to_ascii_lowercase();
            if i + 1 >= args.len() || !DEBUG_NAMES.contains(&name.as_str()) {
                return Reply::err(format!(
                    "ERR Unknown option or number of arguments for SENTINEL DEBUG '{raw}'"
                ));
            }
            let v = s(&args[i + 1]);
            match parse_i64(v.as_bytes()).filter(|x| *x > 0) {
                Some(x) => {
                    if let Some(slot) = self.timing_mut(&name) {
                        *slot = x as u64;
                    }
                }
                None => {
                    return Reply::err(format!(
                        "ERR Invalid argument '{v}' for SENTINEL DEBUG '{raw}'"
                    ))
                }
            }
            i += 2;
        }
        // Every deadline depends on the timings.
        self.masters.touch_all();
        Reply::ok()
    }

    fn clone_timing(&self, name: &str) -> u64 {
        let mut t = self.t.clone();
        timing_field(&mut t, name).map_or(0, |v| *v)
    }

    /// Validate a myid (used by tests and the shell).
    pub fn valid_myid(id: &str) -> bool {
        is_valid_myid(id)
    }
}

/// The `SENTINEL DEBUG` name of each tunable, mapped to its field (one table for reading and writing).
fn timing_field<'a>(t: &'a mut crate::sentinel::Timings, name: &str) -> Option<&'a mut u64> {
    Some(match name {
        "info-period" => &mut t.info_period,
        "ping-period" => &mut t.ping_period,
        "ask-period" => &mut t.ask_period,
        "publish-period" => &mut t.publish_period,
        "default-down-after" => &mut t.default_down_after,
        "default-failover-timeout" => &mut t.default_failover_timeout,
        "tilt-trigger" => &mut t.tilt_trigger,
        "tilt-period" => &mut t.tilt_period,
        "slave-reconf-timeout" => &mut t.slave_reconf_timeout,
        "min-link-reconnect-period" => &mut t.min_link_reconnect_period,
        "election-timeout" => &mut t.election_timeout,
        "script-max-runtime" => &mut t.script_max_runtime,
        "script-retry-delay" => &mut t.script_retry_delay,
        _ => return None,
    })
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Master => "master",
        Role::Slave => "slave",
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

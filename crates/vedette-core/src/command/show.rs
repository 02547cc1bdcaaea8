//! What `SENTINEL MASTER(S)`, `REPLICAS`, `SENTINELS` and `INFO-CACHE` show (reference §1.2): Redis's field
//! names and flag words, from the instance records.

use super::ms;
use crate::instance::{Master, Peer, Reconf, Replica};
use crate::reply::Reply;
use crate::sentinel::Sentinel;
use crate::wire::info::Role;

impl Sentinel {
    pub(crate) fn link_fields(&self, c: &crate::instance::Common, v: &mut Vec<(String, String)>) {
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

    pub(crate) fn ping_fields(&self, c: &crate::instance::Common, v: &mut Vec<(String, String)>) {
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

    pub(crate) fn flags(
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
        if let Some(st) = m.failover_state() {
            v.push(("failover-state".into(), st.name().into()));
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

    pub(crate) fn master_flags(&self, m: &Master) -> String {
        self.flags(
            &m.c,
            "master",
            &[
                ("failover_in_progress", m.in_failover()),
                ("force_failover", m.failover.is_some_and(|f| f.forced)),
                ("script_kill_sent", m.c.script_kill_sent),
                ("master_reboot", m.master_reboot),
            ],
            m.o_down,
        )
    }

    /// `promoted`: it is the replica our failover promotes.
    pub(crate) fn replica_flags(&self, r: &Replica, promoted: bool) -> String {
        self.flags(
            &r.c,
            "slave",
            &[
                ("promoted", promoted),
                ("reconf_sent", matches!(r.reconf, Reconf::Sent(_))),
                ("reconf_inprog", r.reconf == Reconf::InProg),
                ("reconf_done", r.reconf == Reconf::Done),
                ("script_kill_sent", r.c.script_kill_sent),
            ],
            false,
        )
    }

    pub(crate) fn peer_flags(&self, p: &Peer) -> String {
        self.flags(&p.c, "sentinel", &[("master_down", p.master_down)], false)
    }

    pub(crate) fn replica_map(&self, master: &str, rn: &str) -> Reply {
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
        let promoted = m.replicas.id(rn).is_some_and(|id| m.is_promoted(id));
        v.push(("flags".into(), self.replica_flags(r, promoted)));
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

    pub(crate) fn peer_map(&self, master: &str, id: &str) -> Reply {
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
        v.push(("flags".into(), self.peer_flags(p)));
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

    pub(crate) fn cmd_info_cache(&self, names: &[String]) -> Reply {
        let now = self.now;
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for name in names {
            let Some(m) = self.masters.get(name) else {
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
            out.push(Reply::bulk(name));
            out.push(Reply::Array(list));
        }
        Reply::Array(out)
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Master => "master",
        Role::Slave => "slave",
    }
}

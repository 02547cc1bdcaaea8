//! Commands that change what is monitored (reference §1.3): MONITOR, REMOVE, RESET, SET, FAILOVER, and
//! CKQUORUM's check of the same tables. Each answers once the write covering its change is durable.

use super::parse::{SetArg, SetOption};
use crate::config::{valid_host, MasterConfig, PersistedMaster};
use crate::events::EventKind;
use crate::glob::Pattern;
use crate::instance::table::MasterId;
use crate::instance::Inst;
use crate::io::{ClientId, LinkId};
use crate::reply::{errors, Reply};
use crate::sentinel::Sentinel;

impl Sentinel {
    /// MONITOR's checks that need the state, in Redis's order: the host (acceptable hosts depend on
    /// `resolve-hostnames`), the port's range, then a duplicate name.
    pub(crate) fn cmd_monitor(
        &mut self,
        client: ClientId,
        name: String,
        host: &str,
        port: Option<u16>,
        quorum: u32,
    ) {
        if !valid_host(host, self.global.resolve_hostnames) {
            return self.reply(
                client,
                Reply::err("ERR Invalid IP address or hostname specified"),
            );
        }
        let Some(port) = port else {
            return self.reply(client, Reply::err("ERR Invalid port number."));
        };
        if self.masters.contains_key(&name) {
            return self.reply(client, Reply::err("ERR Duplicate master name."));
        }
        let mut cfg = MasterConfig::new(&name, host, port, quorum);
        cfg.down_after_ms = self.t.default_down_after;
        cfg.failover_timeout_ms = self.t.default_failover_timeout;
        let now = self.now;
        let id = self.add_master(&PersistedMaster::new(cfg), now);
        self.ack_after_flush(client, Reply::ok());
        self.event_master(id, |master| EventKind::Monitor { master, quorum });
    }

    pub(crate) fn cmd_remove(&mut self, client: ClientId, name: &str) {
        let Some(id) = self.masters.id(name) else {
            return self.reply(client, Reply::err(errors::NO_SUCH_MASTER));
        };
        self.event_master(id, EventKind::Unmonitor);
        self.remove_master(name);
        self.ack_after_flush(client, Reply::ok());
    }

    pub(crate) fn remove_master(&mut self, name: &str) {
        self.addr_version += 1;
        let Some(id) = self.masters.id(name) else {
            return;
        };
        self.unschedule(id);
        if let Some(m) = self.masters.remove(name) {
            self.release_instance_link(m.c.link, id);
            for r in m.replicas.values() {
                self.release_instance_link(r.c.link, id);
            }
            for p in m.sentinels.values() {
                self.release_link(p.c.link);
            }
        }
    }

    pub(crate) fn cmd_reset(&mut self, pattern: &[u8]) -> Reply {
        let pattern = Pattern::new(pattern, false);
        let ids: Vec<MasterId> = self
            .masters
            .iter_ids()
            .filter(|(_, m)| pattern.matches(m.cfg.name.as_bytes()))
            .map(|(id, _)| id)
            .collect();
        for &id in &ids {
            self.reset_master(id);
            self.event_master(id, EventKind::ResetMaster);
        }
        let names = ids;
        Reply::Int(names.len() as i64)
    }

    /// SENTINEL RESET: forget replicas and sentinels, clear state, reconnect (reference §7.9).
    pub(crate) fn reset_master(&mut self, id: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at_mut(id) else {
            return;
        };
        let replica_links: Vec<_> = m.replicas.values().map(|r| r.c.link).collect();
        let peer_links: Vec<_> = m.sentinels.values().map(|p| p.c.link).collect();
        m.replicas.clear();
        m.sentinels.clear();
        let old_master_link = m.c.link;
        m.reset_state(now);
        let (h, p) = (m.c.host.clone(), m.c.port);
        let key = crate::instance::LinkKey::new(&m.cfg, &h, p);
        for l in replica_links {
            self.release_instance_link(l, id);
        }
        for l in peer_links {
            self.release_link(l);
        }
        // Released first: a link of this master alone closes and a fresh one is dialled, as in Redis;
        // one shared with other names stays up and the master rejoins it.
        self.release_instance_link(old_master_link, id);
        let link = self.shared_link(key, &h, p, now);
        self.add_link_user(link, id);
        if let Some(m) = self.masters.at_mut(id) {
            m.c.link = link;
        }
    }

    pub(crate) fn cmd_failover(&mut self, name: &str) -> Reply {
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

    pub(crate) fn cmd_ckquorum(&self, name: &str) -> Reply {
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

    /// SET applies its options left to right, each kept even if a later one fails (reference §1.2): the
    /// parsed prefix, stopped early by the one state-dependent refusal (scripts while
    /// `deny-scripts-reconfig`), then the parse error if any.
    pub(crate) fn cmd_set(
        &mut self,
        client: ClientId,
        name: &str,
        options: Vec<SetArg>,
        error: Option<String>,
    ) {
        let Some(id) = self.masters.id(name) else {
            return self.reply(client, Reply::err(errors::NO_SUCH_MASTER));
        };
        let mut changed = false;
        let mut err = error;
        let mut drop_links = false;
        let deny = self.global.deny_scripts_reconfig;
        for arg in options {
            let Some(m) = self.masters.at_mut(id) else {
                break;
            };
            match arg.setting {
                SetOption::DownAfter(x) => {
                    m.cfg.down_after_ms = x;
                    m.c.down_after = x;
                    for r in m.replicas.values_mut() {
                        r.c.down_after = x;
                    }
                    for p in m.sentinels.values_mut() {
                        p.c.down_after = x;
                    }
                }
                SetOption::FailoverTimeout(x) => m.cfg.failover_timeout_ms = x,
                SetOption::ParallelSyncs(x) => m.cfg.parallel_syncs = x,
                SetOption::Quorum(x) => m.cfg.quorum = x,
                SetOption::MasterRebootDownAfterPeriod(x) => {
                    m.cfg.master_reboot_down_after_period_ms = x;
                }
                SetOption::NotificationScript(_) | SetOption::ClientReconfigScript(_) if deny => {
                    err = Some("ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration".into());
                    break;
                }
                SetOption::NotificationScript(v) => m.cfg.notification_script = v,
                SetOption::ClientReconfigScript(v) => m.cfg.client_reconfig_script = v,
                SetOption::AuthPass(v) => {
                    m.cfg.auth_pass = v;
                    drop_links = true;
                }
                SetOption::AuthUser(v) => {
                    m.cfg.auth_user = v;
                    drop_links = true;
                }
                SetOption::RenameCommand { command, to } => {
                    m.cfg.rename_commands.remove(&command);
                    if let Some(to) = to {
                        m.cfg.rename_commands.insert(command, to);
                    }
                    drop_links = true;
                }
            }
            changed = true;
            let (option, value) = (arg.option, arg.shown);
            self.event_master(id, |master| EventKind::Set {
                master,
                option,
                value,
            });
        }
        if drop_links {
            self.rehome_links(id);
        }
        let reply = err.map(Reply::err).unwrap_or_else(Reply::ok);
        if changed {
            self.ack_after_flush(client, reply);
        } else {
            self.reply(client, reply);
        }
    }
}

impl Sentinel {
    /// `mid`'s credentials or renames changed: each of its master and replica instances moves to the
    /// link dialled with the new ones. A link it used alone is re-keyed and reconnected (as before
    /// sharing: the same link, its clocks kept); one shared with other names stays theirs, and the
    /// instance joins (or opens) the link matching its new key.
    pub(crate) fn rehome_links(&mut self, mid: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let mut insts: Vec<(crate::instance::Inst, String, u16, LinkId)> =
            vec![(Inst::master(mid), m.c.host.clone(), m.c.port, m.c.link)];
        insts.extend(m.replicas.iter_ids().map(|(rid, r)| {
            (
                Inst::replica(mid, rid),
                r.c.host.clone(),
                r.c.port,
                r.c.link,
            )
        }));
        for (inst, host, port, old) in insts {
            let Some(key) = self.link_key(mid, &host, port) else {
                return;
            };
            let Some(l) = self.links.get(&old) else {
                continue;
            };
            if l.key.as_ref() == Some(&key) {
                self.drop_connection(old);
                continue;
            }
            let alone = l.refcount <= 1 && !self.shared_links.contains_key(&key);
            if alone {
                if let Some(k) = self
                    .links
                    .get_mut(&old)
                    .and_then(|l| l.key.replace(key.clone()))
                {
                    if self.shared_links.get(&k) == Some(&old) {
                        self.shared_links.remove(&k);
                    }
                }
                self.shared_links.insert(key, old);
                self.drop_connection(old);
                continue;
            }
            let link = self.shared_link(key, &host, port, now);
            self.add_link_user(link, mid);
            if let Some(c) = self.common_mut(inst) {
                c.link = link;
            }
            self.release_instance_link(old, mid);
        }
    }
}

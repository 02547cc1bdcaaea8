//! The model Redis instances as the sentinels see them (PING, INFO, hello publishing, REPLICAOF with its
//! CLIENT KILL, crash and restart, replication ticks) and the client that writes to whichever instance the
//! sentinels name as master, so acknowledged writes lost by a failover can be counted.

use vedette_core::{ClientId, LinkReply, OutCommand, PingReply};

use super::net::{Msg, Target};
use super::{argv, World, CLIENT_STRIDE, WRITER_BASE};
use crate::node::NodeCall;
use crate::plan::{Host, HOST};

#[derive(Debug, Default)]
pub(super) struct ClientModel {
    pub(super) believed: Vec<Option<usize>>,
    pub(super) last_query: Vec<u64>,
    pub(super) next_id: u64,
    pub(super) acked: Vec<(u64, usize)>,
    pub(super) rr: usize,
}

impl World {
    pub(super) fn redis_cmd(&mut self, conn: u64, k: usize, cmd: OutCommand) {
        let loading = self.redis[k].loading(self.now);
        let reply = match cmd {
            OutCommand::Ping => LinkReply::Ping(if loading {
                PingReply::Loading
            } else {
                PingReply::Pong
            }),
            OutCommand::Info => {
                let port = self.redis[k].port;
                let reps: Vec<(u16, u64)> = self
                    .redis
                    .iter()
                    .filter(|r| r.alive && r.link_up && r.master_port() == Some(port))
                    .map(|r| (r.port, r.log.len() as u64))
                    .collect();
                LinkReply::Info(Some(self.redis[k].render_info(self.now, &reps)))
            }
            OutCommand::PublishHello(t) => {
                let payload = t.render(HOST).into_bytes();
                let subs: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.up && c.target == Target::Redis(k))
                    .map(|(&id, _)| id)
                    .collect();
                for s in subs {
                    self.transmit(s, false, Msg::Hello(payload.clone()));
                }
                LinkReply::Publish(true)
            }
            OutCommand::AskMasterDown { .. } => LinkReply::MasterDown(None),
            OutCommand::ScriptKill => LinkReply::Other,
            OutCommand::Reconfigure(to) => {
                self.transmit(conn, false, Msg::Reply(LinkReply::Other, None));
                if loading {
                    return;
                }
                match to {
                    None => self.redis[k].become_master(),
                    Some((host, port)) => {
                        if port != self.redis[k].port {
                            self.redis[k].become_replica(host, port, self.now)
                        }
                    }
                }
                // CLIENT KILL TYPE normal / pubsub: every client connection goes, including the sender's
                // pub/sub connection (so its link goes down too).
                let victims: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.up && c.target == Target::Redis(k))
                    .map(|(&id, _)| id)
                    .collect();
                for v in victims {
                    self.transmit_close(v);
                }
                return;
            }
        };
        self.transmit(conn, false, Msg::Reply(reply, None));
    }

    pub(super) fn crash_redis(&mut self, k: usize) {
        self.redis[k].crash();
        let victims: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.target == Target::Redis(k))
            .map(|(&id, _)| id)
            .collect();
        for v in victims {
            let d = self.latency();
            self.reset_conn(v, d);
        }
    }

    pub(super) fn restart_redis(&mut self, k: usize, keep_data: bool) {
        if self.redis[k].alive {
            return;
        }
        let id = self.rng.hex40();
        self.redis[k].restart(self.now, keep_data, self.plan.loading_ms, id);
    }

    pub(super) fn repl_tick(&mut self) {
        let now = self.now;
        for k in 0..self.redis.len() {
            let r = &self.redis[k];
            if !r.alive || r.loading(now) {
                continue;
            }
            if r.is_master() {
                if now.saturating_sub(r.last_ping_entry) >= 1000 {
                    let r = &mut self.redis[k];
                    r.last_ping_entry = now;
                    r.log.push(0);
                }
                continue;
            }
            let Some(mp) = r.master_port() else { continue };
            let m = self.redis_by_port(mp);
            let ok = m.is_some_and(|m| {
                m != k
                    && self.redis[m].alive
                    && !self.redis[m].loading(now)
                    && self.both_ways(Host::Redis(k), Host::Redis(m))
            });
            let Some(m) = m.filter(|_| ok) else {
                let r = &mut self.redis[k];
                if r.link_up || r.sync_done_at.is_some() {
                    r.link_up = false;
                    r.sync_done_at = None;
                    r.link_down_since = Some(now);
                }
                continue;
            };
            let prefix = self.redis[k].log.is_prefix_of(&self.redis[m].log);
            let master_log = std::mem::take(&mut self.redis[m].log);
            let sync_ms = self.plan.sync_ms;
            self.sync_replica(k, &master_log, prefix, sync_ms);
            self.redis[m].log = master_log;
        }
    }

    fn sync_replica(
        &mut self,
        k: usize,
        master_log: &crate::redis_model::Log,
        prefix: bool,
        sync_ms: u64,
    ) {
        let now = self.now;
        {
            let r = &mut self.redis[k];
            if r.link_up {
                if prefix {
                    r.log.catch_up(master_log);
                } else {
                    r.link_up = false;
                    r.link_down_since = Some(now);
                    r.sync_done_at = Some(now + sync_ms);
                }
            } else {
                match r.sync_done_at {
                    None => r.sync_done_at = Some(now + if prefix { 0 } else { sync_ms }),
                    Some(t) if t <= now => {
                        if !prefix {
                            r.log.clear();
                        }
                        r.log.catch_up(master_log);
                        r.link_up = true;
                        r.link_down_since = None;
                        r.sync_done_at = None;
                    }
                    Some(_) => {}
                }
            }
        }
    }

    pub(super) fn client_tick(&mut self) {
        let ng = self.plan.groups.len();
        let g = self.client.rr % ng;
        self.client.rr += 1;
        if self.client.believed[g].is_none()
            || self.now.saturating_sub(self.client.last_query[g]) > 1000
        {
            let cands: Vec<usize> = (0..self.plan.n_sentinels)
                .filter(|&j| {
                    self.nodes[j].alive() && self.both_ways(Host::Client, Host::Sentinel(j))
                })
                .collect();
            if !cands.is_empty() {
                let j = cands[self.rng.index(cands.len())];
                self.client.last_query[g] = self.now;
                let name = self.plan.groups[g].name.clone();
                let cl = ClientId(WRITER_BASE + (j as u64) * CLIENT_STRIDE + g as u64);
                self.node_call(
                    j,
                    NodeCall::Command {
                        client: cl,
                        argv: argv(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &name]),
                    },
                );
            }
        }
        if let Some(k) = self.client.believed[g] {
            let r = &self.redis[k];
            let ok =
                r.alive && !r.loading(self.now) && self.both_ways(Host::Client, Host::Redis(k));
            if ok && r.is_master() {
                self.client.next_id += 1;
                let id = self.client.next_id;
                self.redis[k].log.push(id);
                self.client.acked.push((id, g));
            } else {
                self.client.believed[g] = None;
            }
        }
    }
}

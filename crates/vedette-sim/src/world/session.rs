//! The sessions a sentinel serves: commands from peer sentinels executed in order as the real shell's
//! session does (PING/INFO answered at once, the rest by the core, replies leaving in command order), and
//! the routing of core replies to those sessions, to the writing client and to the liveness probes.
//!
//! A vote a reply carries is tagged here ([`VoteTag`]) so its arrival at the asker can be recorded.

use vedette_core::{ClientId, Instant, LinkReply, OutCommand, Reply};

use super::net::Msg;
use super::{
    argv, short, Phase, VoteTag, World, CLIENT_STRIDE, INTERNAL_CLIENT, PROBE_BASE, WRITER_BASE,
};
use crate::history::Act;
use crate::invariants::Via;
use crate::node::{Awaiting, NodeCall, Slot};
use crate::plan::HOST;

impl World {
    pub(super) fn route_reply(&mut self, i: usize, client: ClientId, reply: Reply) {
        if client == INTERNAL_CLIENT {
            if reply.is_error() {
                self.stats.debug_rejected = true;
            }
            return;
        }
        if client.0 >= PROBE_BASE {
            let base = if client.0 >= WRITER_BASE {
                WRITER_BASE
            } else {
                PROBE_BASE
            };
            let g = ((client.0 - base) % CLIENT_STRIDE) as usize;
            let port = match &reply {
                Reply::Array(v) => match v.get(1) {
                    Some(Reply::Bulk(b)) => std::str::from_utf8(b)
                        .ok()
                        .and_then(|s| s.parse::<u16>().ok()),
                    _ => None,
                },
                _ => None,
            };
            if base == WRITER_BASE {
                if let Some(k) = port.and_then(|p| self.redis_by_port(p)) {
                    self.client.believed[g] = Some(k);
                }
            } else {
                self.probe_answers.insert((i, g), (self.probe_round, port));
            }
            return;
        }
        let n = &mut self.nodes[i];
        let Some(session) = n.commands.remove(&client) else {
            return;
        };
        let Some(s) = n.sessions.get_mut(&session) else {
            return;
        };
        let aw = s.awaiting.iter().find_map(|slot| match slot {
            Slot::Core { id, aw, .. } if *id == client => Some(aw.clone()),
            _ => None,
        });
        if !s.pending.is_empty() && !s.pump_queued {
            s.pump_queued = true;
            n.inbox.push_back(NodeCall::Pump(session));
        }
        let mut floor_vote = false;
        let (lr, tag) = match aw {
            Some(Awaiting::Publish) => (LinkReply::Publish(!reply.is_error()), None),
            Some(Awaiting::Ask { master, port, .. }) => {
                let parsed = match &reply {
                    Reply::Array(v) => match &v[..] {
                        [Reply::Int(d), Reply::Bulk(l), Reply::Int(e)] => {
                            Some((*d, String::from_utf8_lossy(l).into_owned(), *e))
                        }
                        _ => None,
                    },
                    _ => None,
                };
                let mut tag = None;
                if let Some((down, leader, e)) = &parsed {
                    tag = Some(VoteTag {
                        voter: i,
                        master,
                        epoch: (*e).max(0) as u64,
                        leader: leader.clone(),
                        port,
                        down: *down == 1,
                    });
                    if leader != "*" {
                        let epoch = (*e).max(0) as u64;
                        let r =
                            self.checker
                                .votes
                                .cast(self.now, i, master, epoch, leader, Via::Reply);
                        self.fail(r);
                        let name = self.plan.groups[master].name.clone();
                        let durable = &self.nodes[i].disk.durable;
                        floor_vote = durable
                            .masters
                            .get(&name)
                            .is_none_or(|m| m.leader_epoch < epoch);
                        let r = self
                            .checker
                            .epochs
                            .reveal_vote(self.now, i, &name, epoch, durable);
                        self.fail(r);
                        let l = self.ids.get(&leader.to_ascii_lowercase()).copied();
                        self.act(Act::Vote {
                            voter: i,
                            master,
                            epoch,
                            leader: l,
                        });
                    }
                }
                (LinkReply::MasterDown(parsed), tag)
            }
            Some(Awaiting::Other) | None => (LinkReply::Other, None),
        };
        if let Some(s) = self.nodes[i].sessions.get_mut(&session) {
            for slot in s.awaiting.iter_mut() {
                if let Slot::Core { id, done, .. } = slot {
                    if *id == client {
                        *done = Some((lr, tag));
                        break;
                    }
                }
            }
        }
        self.send_ready(i, session);
        if floor_vote && self.opts.crash_after_floor_vote && self.phase == Phase::Safety {
            self.act(Act::Fault(format!(
                "crash S{i} right after a vote its leader-epoch does not yet cover"
            )));
            let down_after = self.plan.down_after_ms;
            self.crash_and_restart(i, (down_after, 2 * down_after));
        }
    }

    /// Send the replies that have reached the front of a session's queue, in command order.
    fn send_ready(&mut self, i: usize, session: ClientId) {
        loop {
            let Some(s) = self.nodes[i].sessions.get_mut(&session) else {
                return;
            };
            let conn = s.conn;
            let ready = matches!(
                s.awaiting.front(),
                Some(Slot::Ready(_)) | Some(Slot::Core { done: Some(_), .. })
            );
            if !ready {
                return;
            }
            let msg = match s.awaiting.pop_front() {
                Some(Slot::Ready(r)) => Msg::Reply(r, None),
                Some(Slot::Core {
                    done: Some((r, tag)),
                    ..
                }) => Msg::Reply(r, tag),
                _ => return,
            };
            self.transmit(conn, false, msg);
        }
    }

    /// Execute a peer session's queued commands in order, as the real shell's session does: the ones the
    /// shell answers itself (PING, INFO) at once, the ones that need the core when `core_ok` (the core is
    /// free to run), all of them without waiting for earlier replies; replies leave in order.
    pub(super) fn pump(&mut self, j: usize, cl: ClientId, core_ok: bool) {
        loop {
            let n = &mut self.nodes[j];
            let Some(s) = n.sessions.get_mut(&cl) else {
                return;
            };
            let Some(cmd) = s.pending.front() else { return };
            let needs_core = matches!(
                cmd,
                OutCommand::PublishHello(_) | OutCommand::AskMasterDown { .. }
            );
            if needs_core && !core_ok {
                if !s.pump_queued {
                    s.pump_queued = true;
                    n.inbox.push_back(NodeCall::Pump(cl));
                }
                return;
            }
            let Some(cmd) = s.pending.pop_front() else {
                return;
            };
            let ready = match cmd {
                OutCommand::Ping => Some(LinkReply::Ping(vedette_core::PingReply::Pong)),
                OutCommand::Info => Some(LinkReply::Info(
                    self.nodes[j].core.as_ref().map(|c| c.info_section(0, 0)),
                )),
                OutCommand::Reconfigure(_) | OutCommand::ScriptKill => Some(LinkReply::Other),
                OutCommand::PublishHello(t) => {
                    let id = self.core_slot(j, cl, Awaiting::Publish);
                    let payload = t.render(HOST);
                    let a = vec![
                        b"PUBLISH".to_vec(),
                        b"__sentinel__:hello".to_vec(),
                        payload.into_bytes(),
                    ];
                    self.core_command(j, id, a);
                    None
                }
                OutCommand::AskMasterDown {
                    ip,
                    port,
                    epoch,
                    runid,
                } => {
                    let master = self
                        .redis_by_port(port)
                        .map(|k| self.redis[k].group)
                        .unwrap_or(usize::MAX);
                    let aw = if master == usize::MAX {
                        Awaiting::Other
                    } else {
                        Awaiting::Ask {
                            master,
                            port,
                            runid: runid.clone(),
                        }
                    };
                    let id = self.core_slot(j, cl, aw);
                    let (p, e) = (port.to_string(), epoch.to_string());
                    let a = argv(&["SENTINEL", "is-master-down-by-addr", &ip, &p, &e, &runid]);
                    self.core_command(j, id, a);
                    None
                }
            };
            if let Some(r) = ready {
                let Some(s) = self.nodes[j].sessions.get_mut(&cl) else {
                    return;
                };
                let conn = s.conn;
                if s.awaiting.is_empty() {
                    self.transmit(conn, false, Msg::Reply(r, None));
                } else {
                    s.awaiting.push_back(Slot::Ready(r));
                }
            }
        }
    }

    /// Queue a reply slot for a core command of session `cl` on node `j`; returns the command's client id.
    fn core_slot(&mut self, j: usize, cl: ClientId, aw: Awaiting) -> ClientId {
        let id = ClientId(self.next_client);
        self.next_client += 1;
        let n = &mut self.nodes[j];
        n.commands.insert(id, cl);
        if let Some(s) = n.sessions.get_mut(&cl) {
            s.awaiting.push_back(Slot::Core { id, aw, done: None });
        }
        id
    }

    fn core_command(&mut self, j: usize, cl: ClientId, a: Vec<Vec<u8>>) {
        let local = Instant(self.nodes[j].clock.local(self.now));
        if self.tracing() {
            let s = format!(
                "S{j} <- peer command c{} {:?}",
                cl.0,
                a.iter()
                    .map(|x| String::from_utf8_lossy(x).into_owned())
                    .collect::<Vec<_>>()
            );
            self.tr(|| short(s));
        }
        self.stats.core_calls += 1;
        if let Some(core) = self.nodes[j].core.as_mut() {
            core.handle_argv(local, cl, &a);
        }
    }
}

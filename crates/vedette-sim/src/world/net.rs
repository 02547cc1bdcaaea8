//! The network: which hosts can reach which, the links sentinels dial, and in-order, lossy delivery.
//!
//! A connection has one queue per direction; a message is due after a random latency but never before the
//! one queued ahead of it (TCP order). A direction whose path is blocked stalls (nothing is delivered or
//! dropped) until the path opens again or `stall_reset_ms` passes, when the connection resets as a real
//! socket would. Loss is modelled as a reset (a real TCP stream does not lose one message and go on).

use std::collections::VecDeque;

use vedette_core::{ClientId, ConnectSpec, Input, LinkId, LinkKind, LinkReply, OutCommand};

use super::{Ev, Phase, World};
use crate::node::{NodeCall, Session};
use crate::plan::{Host, HOST, SENTINEL_BASE_PORT};

/// Where a link goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Redis(usize),
    Sentinel(usize),
    Nowhere,
}

/// What an is-master-down-by-addr reply said, so its arrival at the asker can be recorded.
#[derive(Debug, Clone)]
pub struct VoteTag {
    pub(super) voter: usize,
    pub(super) master: usize,
    pub(super) epoch: u64,
    pub(super) leader: String,
    pub(super) port: u16,
    pub(super) down: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Msg {
    Cmd(OutCommand),
    Reply(LinkReply, Option<VoteTag>),
    Hello(Vec<u8>),
    /// Graceful close by the server (CLIENT KILL) after what was queued before.
    Close,
}

#[derive(Debug, Default)]
pub(super) struct Dir {
    pub(super) q: VecDeque<(u64, Msg)>,
    pub(super) wake: bool,
    pub(super) last: u64,
    pub(super) stalled_since: Option<u64>,
}

#[derive(Debug)]
pub(super) struct Conn {
    pub(super) node: usize,
    pub(super) link: LinkId,
    pub(super) target: Target,
    pub(super) up: bool,
    pub(super) fwd: Dir,
    pub(super) back: Dir,
    pub(super) client: Option<ClientId>,
}

impl World {
    pub(super) fn host_idx(&self, h: Host) -> usize {
        match h {
            Host::Sentinel(i) => i,
            Host::Redis(k) => self.plan.n_sentinels + k,
            Host::Client => self.n_hosts - 1,
        }
    }

    pub(super) fn all_hosts(&self) -> Vec<Host> {
        let mut v: Vec<Host> = (0..self.plan.n_sentinels).map(Host::Sentinel).collect();
        v.extend((0..self.redis.len()).map(Host::Redis));
        v.push(Host::Client);
        v
    }

    fn reachable(&self, a: Host, b: Host) -> bool {
        self.blocked[self.host_idx(a) * self.n_hosts + self.host_idx(b)] == 0
    }

    pub(super) fn both_ways(&self, a: Host, b: Host) -> bool {
        self.reachable(a, b) && self.reachable(b, a)
    }

    pub(super) fn reach_mask(&self, i: usize) -> u64 {
        (0..self.plan.n_sentinels)
            .filter(|&j| j == i || self.both_ways(Host::Sentinel(i), Host::Sentinel(j)))
            .fold(0, |m, j| m | (1 << j))
    }

    pub(super) fn set_block(&mut self, pairs: &[(usize, usize)], add: bool) {
        for &(a, b) in pairs {
            let c = &mut self.blocked[a * self.n_hosts + b];
            if add {
                *c += 1;
            } else {
                *c = c.saturating_sub(1);
            }
        }
        self.network_changed();
    }

    pub(super) fn network_changed(&mut self) {
        let reach: Vec<u64> = (0..self.plan.n_sentinels)
            .map(|i| self.reach_mask(i))
            .collect();
        self.checker.leaders.network_changed(|i| reach[i]);
        self.release_stalled();
    }

    pub(super) fn latency(&mut self) -> u64 {
        let (lo, hi) = self.plan.latency;
        self.rng.range(lo, hi) + self.latency_extra
    }

    fn target_host(&self, t: Target) -> Option<Host> {
        match t {
            Target::Redis(k) => Some(Host::Redis(k)),
            Target::Sentinel(j) => Some(Host::Sentinel(j)),
            Target::Nowhere => None,
        }
    }

    pub(super) fn connect(&mut self, i: usize, link: LinkId, spec: &ConnectSpec) {
        if let Some(old) = self.nodes[i].links.remove(&link) {
            self.drop_conn(old);
        }
        let target = if spec.host != HOST {
            Target::Nowhere
        } else if let Some(k) = self.redis_by_port(spec.port) {
            if spec.kind == LinkKind::Instance {
                Target::Redis(k)
            } else {
                Target::Nowhere
            }
        } else {
            match spec.port.checked_sub(SENTINEL_BASE_PORT).map(usize::from) {
                Some(j) if j < self.plan.n_sentinels && spec.kind == LinkKind::Sentinel => {
                    Target::Sentinel(j)
                }
                _ => Target::Nowhere,
            }
        };
        let id = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                node: i,
                link,
                target,
                up: false,
                fwd: Dir::default(),
                back: Dir::default(),
                client: None,
            },
        );
        self.nodes[i].links.insert(link, id);
        let rtt = self.latency() + self.latency();
        self.schedule(self.now + rtt, Ev::ConnectDone { conn: id });
    }

    fn target_alive(&self, t: Target) -> bool {
        match t {
            Target::Redis(k) => self.redis[k].alive,
            Target::Sentinel(j) => self.nodes[j].alive(),
            Target::Nowhere => false,
        }
    }

    pub(super) fn connect_done(&mut self, id: u64) {
        let Some(c) = self.conns.get(&id) else { return };
        let (node, link, target) = (c.node, c.link, c.target);
        let path = self
            .target_host(target)
            .is_some_and(|h| self.both_ways(Host::Sentinel(node), h));
        if !path {
            let t = self.now + self.plan.connect_timeout_ms;
            self.schedule(t, Ev::ConnectFail { conn: id });
            return;
        }
        if !self.target_alive(target) {
            self.reset_conn(id, 0);
            return;
        }
        let client = if let Target::Sentinel(j) = target {
            let cl = ClientId(self.next_client);
            self.next_client += 1;
            self.nodes[j].sessions.insert(
                cl,
                Session {
                    conn: id,
                    from: node,
                    pending: VecDeque::new(),
                    awaiting: VecDeque::new(),
                    pump_queued: false,
                },
            );
            Some(cl)
        } else {
            None
        };
        if let Some(c) = self.conns.get_mut(&id) {
            c.up = true;
            c.client = client;
        }
        self.node_call(
            node,
            NodeCall::Input(Input::LinkUp {
                link,
                conn: id,
                local_ip: HOST.to_string(),
            }),
        );
    }

    /// Remove a connection without telling the dialer (it closed it itself, or it is gone).
    pub(super) fn drop_conn(&mut self, id: u64) {
        if let Some(c) = self.conns.remove(&id) {
            if let (Target::Sentinel(j), Some(cl)) = (c.target, c.client) {
                self.nodes[j].sessions.remove(&cl);
            }
        }
    }

    /// Remove a connection and tell the dialer after `delay`.
    pub(super) fn reset_conn(&mut self, id: u64, delay: u64) {
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        if let (Target::Sentinel(j), Some(cl)) = (c.target, c.client) {
            self.nodes[j].sessions.remove(&cl);
        }
        let n = &mut self.nodes[c.node];
        if n.links.get(&c.link) == Some(&id) {
            n.links.remove(&c.link);
        }
        if n.alive() {
            let inc = n.incarnation;
            self.schedule(
                self.now + delay,
                Ev::LinkDown {
                    node: c.node,
                    inc,
                    link: c.link,
                    gen: id,
                },
            );
        }
    }

    pub(super) fn transmit(&mut self, id: u64, fwd: bool, msg: Msg) {
        let base = if self.phase == Phase::Liveness {
            0
        } else {
            self.plan.loss_ppm
        };
        let ppm = base.saturating_add(self.loss_extra_ppm);
        if self.rng.chance_ppm(ppm) {
            self.tr(|| format!("NET conn {id} reset by loss"));
            let d = self.latency();
            self.reset_conn(id, d);
            return;
        }
        let lat = self.latency();
        let now = self.now;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let d = if fwd { &mut c.fwd } else { &mut c.back };
        let t = (now + lat).max(d.last);
        d.last = t;
        d.q.push_back((t, msg));
        if !d.wake && d.stalled_since.is_none() {
            d.wake = true;
            self.schedule(t, Ev::Wake { conn: id, fwd });
        }
    }

    pub(super) fn wake(&mut self, id: u64, fwd: bool) {
        let now = self.now;
        let Some(c) = self.conns.get(&id) else { return };
        let (src, dst) = match self.target_host(c.target) {
            Some(h) if fwd => (Host::Sentinel(c.node), h),
            Some(h) => (h, Host::Sentinel(c.node)),
            None => return,
        };
        let open = self.reachable(src, dst);
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let d = if fwd { &mut c.fwd } else { &mut c.back };
        d.wake = false;
        let Some(&(t, _)) = d.q.front() else { return };
        if t > now {
            d.wake = true;
            self.schedule(t, Ev::Wake { conn: id, fwd });
            return;
        }
        if !open {
            if d.stalled_since.is_none() {
                d.stalled_since = Some(now);
                let since = now;
                let at = now + self.plan.stall_reset_ms;
                self.schedule(
                    at,
                    Ev::StallCheck {
                        conn: id,
                        fwd,
                        since,
                    },
                );
            }
            return;
        }
        let Some((_, msg)) = d.q.pop_front() else {
            return;
        };
        if let Some(&(t2, _)) = d.q.front() {
            d.wake = true;
            self.schedule(t2.max(now), Ev::Wake { conn: id, fwd });
        }
        self.deliver(id, fwd, msg);
    }

    fn release_stalled(&mut self) {
        let mut wakes = Vec::new();
        for (&id, c) in &self.conns {
            let Some(h) = self.target_host(c.target) else {
                continue;
            };
            let s = Host::Sentinel(c.node);
            if c.fwd.stalled_since.is_some() && self.reachable(s, h) {
                wakes.push((id, true));
            }
            if c.back.stalled_since.is_some() && self.reachable(h, s) {
                wakes.push((id, false));
            }
        }
        for (id, fwd) in wakes {
            let lat = self.latency();
            if let Some(c) = self.conns.get_mut(&id) {
                let d = if fwd { &mut c.fwd } else { &mut c.back };
                d.stalled_since = None;
                if !d.wake {
                    d.wake = true;
                    self.schedule(self.now + lat, Ev::Wake { conn: id, fwd });
                }
            }
        }
    }

    fn deliver(&mut self, id: u64, fwd: bool, msg: Msg) {
        let Some(c) = self.conns.get(&id) else { return };
        let (node, link, target, client) = (c.node, c.link, c.target, c.client);
        if !fwd {
            match msg {
                Msg::Reply(reply, tag) => {
                    if let Some(t) = tag {
                        if t.leader.eq_ignore_ascii_case(&self.nodes[node].myid) {
                            self.checker
                                .votes
                                .received(&t.leader, t.master, t.epoch, t.voter);
                        }
                        let local = self.nodes[node].clock.local(self.now);
                        self.checker
                            .odown
                            .reply(local, node, t.port, t.voter, t.down);
                    }
                    self.node_call(
                        node,
                        NodeCall::Input(Input::Reply {
                            link,
                            conn: id,
                            reply,
                        }),
                    );
                }
                Msg::Hello(payload) => {
                    self.node_call(node, NodeCall::Input(Input::Hello { link, payload }))
                }
                Msg::Close => {
                    self.conns.remove(&id);
                    if self.nodes[node].links.get(&link) == Some(&id) {
                        self.nodes[node].links.remove(&link);
                    }
                    self.node_call(node, NodeCall::Input(Input::LinkDown { link, conn: id }));
                }
                Msg::Cmd(_) => {}
            }
            return;
        }
        let Msg::Cmd(cmd) = msg else { return };
        match target {
            Target::Redis(k) => self.redis_cmd(id, k, cmd),
            Target::Sentinel(j) => {
                let Some(cl) = client else { return };
                let paused = self.nodes[j].paused;
                let n = &mut self.nodes[j];
                let Some(s) = n.sessions.get_mut(&cl) else {
                    return;
                };
                s.pending.push_back(cmd);
                if paused {
                    if !s.pump_queued {
                        s.pump_queued = true;
                        n.inbox.push_back(NodeCall::Pump(cl));
                    }
                } else {
                    self.pump(j, cl, false);
                    self.run_node(j);
                }
            }
            Target::Nowhere => {}
        }
    }

    pub(super) fn transmit_close(&mut self, id: u64) {
        let lat = self.latency();
        let now = self.now;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let d = &mut c.back;
        let t = (now + lat).max(d.last);
        d.last = t;
        d.q.push_back((t, Msg::Close));
        if !d.wake && d.stalled_since.is_none() {
            d.wake = true;
            self.schedule(
                t,
                Ev::Wake {
                    conn: id,
                    fwd: false,
                },
            );
        }
    }
}

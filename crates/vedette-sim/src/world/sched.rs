//! The scheduler: the events of a run and the dispatch of each one.
//!
//! Events are ordered by `(time, insertion seq)` only, so a run never depends on hash or pointer order;
//! `seq` breaks ties in the order the events were scheduled. Each popped event is one step on one node or
//! model; the handlers it calls live with their concern (`sentinel`, `net`, `redis`, `faults`, `liveness`).

use std::cmp::Ordering;

use vedette_core::{Input, LinkId};

use super::{Phase, World};
use crate::node::NodeCall;

#[derive(Debug)]
pub(super) enum Ev {
    Timer {
        node: usize,
        gen: u64,
    },
    PersistDone {
        node: usize,
        inc: u64,
    },
    ConnectDone {
        conn: u64,
    },
    ConnectFail {
        conn: u64,
    },
    Wake {
        conn: u64,
        fwd: bool,
    },
    StallCheck {
        conn: u64,
        fwd: bool,
        since: u64,
    },
    LinkDown {
        node: usize,
        inc: u64,
        link: LinkId,
        gen: u64,
    },
    ReplTick,
    ClientTick,
    Probe,
    FaultStart(usize),
    FaultEnd(usize),
    FlapToggle(usize),
    RestartSentinel {
        node: usize,
        inc: u64,
    },
    StartSafety,
    /// Storm plans: the deadline by which every killed master must be switched everywhere.
    StormCheck,
    Heal,
}

pub(super) struct Sched {
    pub(super) t: u64,
    pub(super) seq: u64,
    pub(super) ev: Ev,
}

impl PartialEq for Sched {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Sched {}
impl PartialOrd for Sched {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Sched {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.seq).cmp(&(self.t, self.seq))
    }
}

impl World {
    pub(super) fn schedule(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Sched {
            t,
            seq: self.seq,
            ev,
        });
    }

    pub(super) fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Timer { node, gen } => {
                let n = &mut self.nodes[node];
                if n.timer_gen != gen || !n.alive() {
                    return;
                }
                n.timer_at = None;
                if !n.timeout_queued {
                    n.timeout_queued = true;
                    n.inbox.push_back(NodeCall::Timeout);
                }
                self.run_node(node);
            }
            Ev::PersistDone { node, inc } => self.persist_done(node, inc),
            Ev::ConnectDone { conn } => self.connect_done(conn),
            Ev::ConnectFail { conn } => {
                if self.conns.get(&conn).is_some_and(|c| !c.up) {
                    self.reset_conn(conn, 0);
                }
            }
            Ev::Wake { conn, fwd } => self.wake(conn, fwd),
            Ev::StallCheck { conn, fwd, since } => {
                let still = self.conns.get(&conn).is_some_and(|c| {
                    let d = if fwd { &c.fwd } else { &c.back };
                    d.stalled_since == Some(since)
                });
                if still {
                    self.tr(|| format!("NET conn {conn} reset after stalling since {since}"));
                    self.reset_conn(conn, 0);
                }
            }
            Ev::LinkDown {
                node,
                inc,
                link,
                gen,
            } => {
                if self.nodes[node].incarnation == inc && self.nodes[node].alive() {
                    self.node_call(node, NodeCall::Input(Input::LinkDown { link, conn: gen }));
                }
            }
            Ev::ReplTick => {
                self.repl_tick();
                self.schedule(self.now + self.plan.repl_tick_ms, Ev::ReplTick);
            }
            Ev::ClientTick => {
                if self.phase != Phase::Done {
                    self.client_tick();
                    self.schedule(self.now + self.plan.write_every_ms, Ev::ClientTick);
                }
            }
            Ev::Probe => self.probe(),
            Ev::FaultStart(i) => self.fault_start(i),
            Ev::FaultEnd(i) => self.fault_end(i),
            Ev::FlapToggle(i) => self.flap_toggle(i),
            Ev::RestartSentinel { node, inc } => {
                if self.nodes[node].incarnation == inc && !self.nodes[node].alive() {
                    self.start_sentinel(node);
                }
            }
            Ev::StartSafety => {
                self.phase = Phase::Safety;
                self.tr(|| "PHASE safety".into());
                for i in 0..self.plan.faults.len() {
                    let f = &self.plan.faults[i];
                    let (at, end) = (self.now + f.at, self.now + f.at + f.dur);
                    self.schedule(at, Ev::FaultStart(i));
                    self.schedule(end, Ev::FaultEnd(i));
                }
            }
            Ev::StormCheck => self.storm_check(),
            Ev::Heal => self.heal(),
        }
    }
}

//! Driving one sentinel core the way the real driver does: start and crash, the inbox of calls, the
//! timer, the disk that writes one snapshot at a time, and the execution of each output in order.
//!
//! A crash keeps only what reached the disk (the first in-flight write may or may not have), so restarts
//! exercise exactly the durability the core relies on.

use vedette_core::{Input, Instant, Output, PersistSeq, PersistedState, Sentinel};

use super::net::Target;
use super::{argv, short, Ev, World, INTERNAL_CLIENT, TICK_MS};
use crate::history::Act;
use crate::invariants::durable_epoch;
use crate::node::NodeCall;

impl World {
    pub(super) fn start_sentinel(&mut self, i: usize) {
        let local = self.nodes[i].clock.local(self.now);
        let n = &mut self.nodes[i];
        let durable = n.disk.durable.clone();
        let epoch = durable_epoch(&durable);
        let seed = n.seed ^ n.incarnation.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut core = Sentinel::new(durable.clone(), seed, Instant(local));
        if let Some(f) = self.opts.on_new_sentinel {
            f(&mut core, i);
        }
        n.core = Some(core);
        n.timeout_queued = false;
        n.timer_at = None;
        let mut args: Vec<&str> = vec!["SENTINEL", "DEBUG"];
        let vals: Vec<(String, String)> = self
            .plan
            .debug
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in &vals {
            args.push(k);
            args.push(v);
        }
        n.inbox.push_front(NodeCall::Command {
            client: INTERNAL_CLIENT,
            argv: argv(&args),
        });
        self.checker.epochs.restarted(i, &durable);
        self.checker.leaders.restarted(i, epoch);
        self.last_try.retain(|(n, _), _| *n != i);
        self.checker.votes.restarted(i);
        if self.nodes[i].incarnation > 0 {
            self.act(Act::Restart { node: i, epoch });
        }
        self.run_node(i);
    }

    /// Crash sentinel `i` and restart it (this incarnation) after a delay drawn from `delay_ms`: the
    /// fault injected right after something happens (an event, a vote).
    pub(super) fn crash_and_restart(&mut self, i: usize, delay_ms: (u64, u64)) {
        self.crash_sentinel(i);
        let inc = self.nodes[i].incarnation;
        let d = self.rng.range(delay_ms.0, delay_ms.1);
        self.schedule(self.now + d, Ev::RestartSentinel { node: i, inc });
    }

    pub(super) fn crash_sentinel(&mut self, i: usize) {
        if !self.nodes[i].alive() {
            return;
        }
        self.stats.crashes += 1;
        let keep_new = self.rng.chance_pct(50);
        let n = &mut self.nodes[i];
        n.core = None;
        n.incarnation += 1;
        n.inbox.clear();
        n.paused = false;
        n.timeout_queued = false;
        n.timer_at = None;
        // Writes in flight: the first may or may not have reached the disk; later ones wait behind it.
        if let Some((_, st, fail)) = n.disk.pending.pop_front() {
            if keep_new && !fail {
                n.disk.durable = st;
            }
        }
        n.disk.pending.clear();
        let links: Vec<u64> = std::mem::take(&mut n.links).into_values().collect();
        n.commands.clear();
        let sessions: Vec<u64> = std::mem::take(&mut n.sessions)
            .into_values()
            .map(|s| s.conn)
            .collect();
        for c in links {
            if let Some(conn) = self.conns.remove(&c) {
                if let (Target::Sentinel(j), Some(cl)) = (conn.target, conn.client) {
                    self.nodes[j].sessions.remove(&cl);
                }
            }
        }
        for c in sessions {
            let d = self.latency();
            self.reset_conn(c, d);
        }
        self.act(Act::Crash { node: i });
    }

    pub(super) fn node_call(&mut self, i: usize, call: NodeCall) {
        if !self.nodes[i].alive() {
            return;
        }
        self.nodes[i].inbox.push_back(call);
        self.run_node(i);
    }

    pub(super) fn run_node(&mut self, i: usize) {
        while self.nodes[i].runnable() {
            let Some(call) = self.nodes[i].inbox.pop_front() else {
                break;
            };
            self.invoke(i, call);
            self.drain(i);
            if self.violation.is_some() && self.opts.stop_at_violation {
                return;
            }
        }
        self.schedule_timer(i);
    }

    fn invoke(&mut self, i: usize, call: NodeCall) {
        let local = Instant(self.nodes[i].clock.local(self.now));
        if self.tracing() {
            let s = match &call {
                NodeCall::Input(Input::Hello { link, payload }) => {
                    format!(
                        "S{i} <- Hello {{ link: {}, payload: {:?} }}",
                        link.0,
                        String::from_utf8_lossy(payload)
                    )
                }
                NodeCall::Input(inp) => format!("S{i} <- {inp:?}"),
                NodeCall::Command { client, argv } => format!(
                    "S{i} <- command c{} {:?}",
                    client.0,
                    argv.iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>()
                ),
                NodeCall::Timeout => format!("S{i} <- timeout (local {})", local.0),
                NodeCall::Pump(c) => format!("S{i} <- pump session c{}", c.0),
            };
            self.tr(|| short(s));
        }
        self.stats.core_calls += 1;
        match call {
            NodeCall::Input(inp) => {
                if let Some(core) = self.nodes[i].core.as_mut() {
                    core.handle_input(local, inp);
                }
            }
            NodeCall::Command { client, argv } => {
                if let Some(core) = self.nodes[i].core.as_mut() {
                    core.handle_argv(local, client, &argv);
                }
            }
            NodeCall::Timeout => {
                let wall = self.nodes[i].clock.wall(self.now);
                let n = &mut self.nodes[i];
                n.timeout_queued = false;
                if let Some(core) = n.core.as_mut() {
                    core.handle_timeout(local, wall);
                }
            }
            NodeCall::Pump(client) => {
                if let Some(s) = self.nodes[i].sessions.get_mut(&client) {
                    s.pump_queued = false;
                }
                self.pump(i, client, true);
            }
        }
    }

    fn drain(&mut self, i: usize) {
        while let Some(out) = self.nodes[i].core.as_mut().and_then(Sentinel::poll_output) {
            let inc = self.nodes[i].incarnation;
            self.exec(i, out);
            if self.nodes[i].incarnation != inc
                || (self.violation.is_some() && self.opts.stop_at_violation)
            {
                break;
            }
        }
    }

    pub(super) fn schedule_timer(&mut self, i: usize) {
        let now = self.now;
        let n = &mut self.nodes[i];
        if !n.runnable() {
            return;
        }
        let local_now = n.clock.local(now);
        // As the driver does: sleep until the core's next deadline (a fallback period only when it has
        // none, or when this node's monotonic clock stands still and no deadline can come).
        let deadline = n
            .core
            .as_ref()
            .and_then(Sentinel::poll_timeout)
            .map_or(local_now + TICK_MS, |d| d.0);
        let g = n
            .clock
            .global_at(now, deadline)
            .unwrap_or(now + TICK_MS)
            .max(now + 1);
        if n.timer_at.is_none_or(|t| g < t) {
            n.timer_at = Some(g);
            n.timer_gen += 1;
            let gen = n.timer_gen;
            self.schedule(g, Ev::Timer { node: i, gen });
        }
    }

    pub(super) fn persist_done(&mut self, i: usize, inc: u64) {
        let n = &mut self.nodes[i];
        if n.incarnation != inc || !n.alive() {
            return;
        }
        let Some((seq, st, fail)) = n.disk.pending.pop_front() else {
            return;
        };
        if !fail {
            n.disk.durable = st;
        }
        if !n.disk.pending.is_empty() {
            self.schedule_disk(i);
        }
        let input = if fail {
            Input::PersistFailed(seq)
        } else {
            Input::Persisted(seq)
        };
        self.node_call(i, NodeCall::Input(input));
    }

    /// The disk writes one snapshot at a time, in order.
    fn schedule_disk(&mut self, i: usize) {
        let (lo, hi) = self.plan.disk;
        let d = self.rng.range(lo, hi) + self.nodes[i].disk.extra_ms;
        let inc = self.nodes[i].incarnation;
        self.schedule(self.now + d, Ev::PersistDone { node: i, inc });
    }

    fn exec(&mut self, i: usize, out: Output) {
        if self.tracing() {
            let s = match &out {
                Output::Persist { seq, state } => format!(
                    "S{i} -> Persist seq {} current_epoch {} masters {:?}",
                    seq.0,
                    state.current_epoch,
                    state
                        .masters
                        .values()
                        .map(|m| (
                            m.config.name.clone(),
                            m.config.port,
                            m.config_epoch,
                            m.leader_epoch
                        ))
                        .collect::<Vec<_>>()
                ),
                o => format!("S{i} -> {o:?}"),
            };
            self.tr(|| short(s));
        }
        match out {
            Output::Connect { link, spec } => self.connect(i, link, &spec),
            Output::Close { link } => {
                if let Some(c) = self.nodes[i].links.remove(&link) {
                    self.drop_conn(c);
                }
            }
            Output::Send { link, conn, cmd } => self.send(i, link, conn, cmd),
            Output::Reply { client, reply } => self.route_reply(i, client, reply),
            Output::Event(e) => self.on_event(i, &e),
            Output::Persist { seq, state } => self.persist(i, seq, *state),
            Output::RunScript(_) => {}
            Output::Crash => {
                self.crash_sentinel(i);
                let inc = self.nodes[i].incarnation;
                let d = self.plan.failover_timeout_ms;
                self.schedule(self.now + d, Ev::RestartSentinel { node: i, inc });
            }
        }
    }

    fn persist(&mut self, i: usize, seq: PersistSeq, state: PersistedState) {
        self.stats.persists += 1;
        let r = self.checker.epochs.persist_issued(self.now, i, &state);
        self.fail(r);
        self.act(Act::Persist {
            node: i,
            epoch: state.current_epoch,
        });
        let fail = self.rng.chance_ppm(self.plan.persist_fail_ppm) && self.opts.persist_failures;
        let n = &mut self.nodes[i];
        n.last_persist_local = n.clock.local(self.now);
        n.disk.pending.push_back((seq, state, fail));
        if n.disk.pending.len() == 1 {
            self.schedule_disk(i);
        }
    }
}

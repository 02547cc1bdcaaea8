//! Exact timers: each master's next deadline in one ordered set, so [`Sentinel::poll_timeout`] returns
//! the next moment something is really due and an idle sentinel sleeps until then.
//!
//! Why: a fixed tick (10–90 ms) woke a sentinel with 1000 healthy masters 10–25 times a second to find,
//! for nearly every instance, that nothing was due. Now a master is visited when one of its rules can
//! fire: a PING, INFO or hello period ends, a reconnect may be retried, an unanswered PING reaches
//! down-after, a link may be recycled, a peer's down-report goes stale. While a master is down or failing
//! over (and its rules depend on many clocks: asks, rank delays, election and failover timeouts) it is
//! visited every [`FAST_TICK_MS`] as before.
//!
//! A deadline is a pure function of the state ([`Sentinel::next_due`]). Whatever may change a master's
//! state marks it touched (its table records every mutable access; link events mark the link's users),
//! and at the end of every call into the core the touched masters' deadlines are recomputed. Computing
//! a deadline too early only costs a visit that finds nothing to do; every visit ends with a new
//! deadline at least 1 ms ahead, so no state can spin.
//!
//! TILT (Redis: the timer saw the wall clock go backwards or jump by more than `tilt-trigger` between
//! two runs) cannot compare successive runs any more, since runs are now up to a second apart by design.
//! It compares the wall-clock gap between two timer runs with the sleep the core had planned: TILT when
//! the wall clock went backwards, or advanced more than `tilt-trigger` beyond the planned sleep (the
//! clock jumped, or the process was stopped or starved past its deadline). With Redis's 100 ms runs
//! this is Redis's rule.

use crate::instance::table::MasterId;
use crate::instance::{Common, Inst, Master, Who};
use crate::io::LinkId;
use crate::sentinel::Sentinel;
use crate::time::Instant;

use crate::instance::link::MAX_PENDING;
/// While a master is down or failing over it is visited this often.
pub(crate) const FAST_TICK_MS: u64 = 10;
/// The longest that period grows in a storm (see [`Sentinel::fast_tick`]).
pub(crate) const FAST_TICK_MAX_MS: u64 = 100;
/// Deadlines are multiples of this (see [`Sentinel::next_due`]).
pub(crate) const TIMER_GRANULARITY_MS: u64 = 10;

/// The earliest of some deadlines.
#[derive(Debug, Clone, Copy, Default)]
struct Earliest(Option<Instant>);

impl Earliest {
    fn at(&mut self, t: Instant) {
        self.0 = Some(self.0.map_or(t, |e| e.min(t)));
    }
}

impl Sentinel {
    /// Recompute the deadlines of every master touched since the last call. Called at the end of every
    /// entry point, so [`Sentinel::poll_timeout`] is always current.
    pub(crate) fn settle(&mut self) {
        let mut touched = std::mem::take(&mut self.touched_buf);
        self.masters.take_touched(&mut touched);
        for &mid in &touched {
            self.reschedule(mid);
        }
        self.touched_buf = touched;
        self.planned = self.poll_timeout();
    }

    /// Put `mid` in the timer set at its next deadline (or take it out, if it was removed).
    pub(crate) fn reschedule(&mut self, mid: MasterId) {
        let due = self.next_due(mid);
        let Some(m) = self.masters.at_mut_untracked(mid) else {
            return;
        };
        let old = std::mem::replace(&mut m.due, due);
        if old == due {
            return;
        }
        if let Some(t) = old {
            self.timers.remove(&(t, mid));
        }
        if let Some(t) = due {
            self.timers.insert((t, mid));
        }
    }

    /// Forget a master's timer (it is being removed).
    pub(crate) fn unschedule(&mut self, mid: MasterId) {
        if let Some(t) = self.masters.at(mid).and_then(|m| m.due) {
            self.timers.remove(&(t, mid));
        }
    }

    /// The earliest timer, if it is due at `now`: taken out of the set (its master is rescheduled after
    /// its visit).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<MasterId> {
        let &(t, mid) = self.timers.first()?;
        if t > now {
            return None;
        }
        self.timers.remove(&(t, mid));
        if let Some(m) = self.masters.at_mut(mid) {
            m.due = None;
        }
        Some(mid)
    }

    /// The earliest master deadline.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Mark every master with an instance on `link` touched (its link changed state).
    pub(crate) fn touch_link_users(&mut self, link: LinkId) {
        let owner = self
            .links
            .get(&link)
            .filter(|l| l.refcount == 1)
            .and_then(|l| l.owner)
            .filter(|&o| self.common(o).is_some_and(|c| c.link == link));
        if let Some(o) = owner {
            self.masters.touch(o.master);
            return;
        }
        // A master or replica link knows its users.
        if let Some(l) = self.links.get(&link).filter(|l| l.key.is_some()) {
            let users: Vec<MasterId> = l.users.keys().copied().collect();
            for mid in users {
                self.masters.touch(mid);
            }
            return;
        }
        let users: Vec<MasterId> = self
            .masters
            .iter_ids()
            .filter(|(_, m)| {
                m.c.link == link
                    || m.replicas.values().any(|r| r.c.link == link)
                    || m.sentinels.values().any(|p| p.c.link == link)
            })
            .map(|(id, _)| id)
            .collect();
        for mid in users {
            self.masters.touch(mid);
        }
    }

    /// How often a master that is down or failing over is visited: [`FAST_TICK_MS`], stretched by 1 ms per
    /// 10 masters in SDOWN (as last counted, see `Sentinel::masters_asking`) up to [`FAST_TICK_MAX_MS`].
    /// A storm of 1000 masters would otherwise cost 100,000 visits a second, each running every rule of
    /// the master and its replicas and peers; replies and link events still visit a master at once.
    pub(crate) fn fast_tick(&self) -> u64 {
        (self.sdown_asking.1 / 10).clamp(FAST_TICK_MS, FAST_TICK_MAX_MS)
    }

    /// When `mid` must next be visited by the timer: the earliest moment one of its rules can fire,
    /// at least 1 ms from now. `None` only for a removed master.
    pub(crate) fn next_due(&self, mid: MasterId) -> Option<Instant> {
        let m = self.masters.at(mid)?;
        let now = self.now;
        let mut due = Earliest::default();
        // A safety net: every master is looked at once per PING period (Redis's cadence for any
        // instance), whatever the rules below say.
        due.at(now.plus(self.t.ping_period.max(1)));
        if m.c.s_down || m.in_failover() {
            due.at(now.plus(self.fast_tick()));
        }
        self.instance_due(m, Inst::master(mid), &m.c, m.info.refresh, &mut due);
        for (rid, r) in m.replicas.iter_ids() {
            self.instance_due(m, Inst::replica(mid, rid), &r.c, r.info.refresh, &mut due);
        }
        for (pid, p) in m.sentinels.iter_ids() {
            self.instance_due(m, Inst::peer(mid, pid), &p.c, None, &mut due);
        }
        if !self.tilt && !m.c.s_down {
            let d = m.c.down_after;
            if m.info.role_reported == crate::wire::info::Role::Slave {
                let grace = d.saturating_add(self.t.info_period.saturating_mul(2));
                due.at(m.info.role_reported_time.plus(grace).plus(1));
            }
            if m.master_reboot {
                let p = m.cfg.master_reboot_down_after_period_ms;
                due.at(m.master_reboot_since.plus(p).plus(1));
            }
        }
        if !self.tilt {
            // A peer's down-report or vote goes stale (`ask_peers`).
            let stale_after = self.t.ask_period.saturating_mul(5);
            for p in m.sentinels.values() {
                if let (true, Some(t)) = (
                    p.master_down || p.leader.is_some(),
                    p.last_master_down_reply,
                ) {
                    due.at(t.plus(stale_after).plus(1));
                }
            }
        }
        let t = due.0.unwrap_or(now.plus(self.t.ping_period.max(1)));
        // Deadlines are rounded up to the timer granularity, so those of many instances and masters fall
        // on one wake-up (each at most `TIMER_GRANULARITY_MS` late; Redis's 10 Hz timer is up to 100 ms).
        let t = t.max(now.plus(1));
        Some(Instant(
            t.0.div_ceil(TIMER_GRANULARITY_MS)
                .saturating_mul(TIMER_GRANULARITY_MS),
        ))
    }

    /// The deadlines of one instance's rules (`reconnect`, `periodic`, `sdown_check`).
    fn instance_due(
        &self,
        m: &Master,
        key: Inst,
        c: &Common,
        refresh: Option<Instant>,
        due: &mut Earliest,
    ) {
        let now = self.now;
        let Some(l) = self.links.get(&c.link) else {
            return;
        };
        if l.conn.is_none() {
            if l.port != 0 {
                let retry = if l.connecting {
                    self.t.ping_period.saturating_mul(2)
                } else {
                    self.t.ping_period
                };
                due.at(l.last_reconn_time.map_or(now, |t| t.plus(retry)));
            }
        } else if l.pending() >= MAX_PENDING * l.refcount.max(1) as usize {
            // Nothing may be sent until replies drain the queue; look again a PING period later.
            due.at(now.plus(self.ping_interval(c.down_after)));
        } else {
            let period = self.info_period_of(m, key);
            if period > 0 && !l.inflight.info_pending(key) {
                due.at(refresh.map_or(now, |t| t.plus(period)));
            }
            let p = self.ping_interval(c.down_after);
            let after_pong = l.last_pong_time.plus(p).plus(1);
            let after_ping = l
                .last_ping_time
                .map_or(after_pong, |t| t.plus(p / 2).plus(1));
            due.at(after_pong.max(after_ping));
            if c.hello_forced {
                due.at(now);
            } else if !l.inflight.publish_pending(key) {
                due.at(c.last_pub_time.plus(self.t.publish_period).plus(1));
            }
        }
        if self.tilt {
            return;
        }
        let d = c.down_after;
        if !c.s_down {
            match l.act_ping_time {
                Some(a) => due.at(a.plus(d).plus(1)),
                None if l.disconnected() => due.at(l
                    .avail_mark(crate::monitor::fast_ping_interval(d))
                    .plus(d)
                    .plus(1)),
                None => {}
            }
        }
        if !l.disconnected() {
            let min_age = l
                .cc_conn_time
                .plus(self.t.min_link_reconnect_period)
                .plus(1);
            if let Some(a) = l.act_ping_time {
                let t = min_age
                    .max(a.plus(d / 2).plus(1))
                    .max(l.last_pong_time.plus(d / 2).plus(1));
                due.at(t);
            }
            if !matches!(key.who, Who::Peer(_)) {
                let quiet = self.t.publish_period.saturating_mul(3);
                due.at(min_age.max(l.pc_last_activity.plus(quiet).plus(1)));
            }
        }
    }
}

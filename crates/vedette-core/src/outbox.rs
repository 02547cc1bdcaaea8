//! The outbox: outputs on their way to the shell, and the state writes some of them wait for.
//!
//! **Persist before you speak, and only what speaks waits.** Most outputs (PINGs, INFO, hellos, events,
//! replies that reveal nothing new) go out at once. The few whose truth depends on a write — a reply that
//! acknowledges a configuration change (`SENTINEL SET`, `MONITOR`, `REMOVE`, `FLUSHCONFIG`, `CONFIG SET`)
//! or reveals a vote (`IS-MASTER-DOWN-BY-ADDR`) — are *held* with the generation of the write that covers
//! them, and released when that write is durable. Outputs on links never wait here: what a hello or a
//! vote request reveals is chosen by the core from the *durable* state ([`Outbox::durable`]), so the FIFO
//! order of commands on a link (which the core matches replies against) is never disturbed.
//!
//! **Group commit.** A change only marks the state dirty ([`Outbox::flush`]); a write starts when none is
//! in flight, and snapshots the state at that moment, so one atomic write + fsync covers every change
//! pending when it starts (every master's votes and epochs), and everything that depends on any of them is
//! released together when it lands. At most one write is in flight, so a hung disk never gets a second one
//! piled on the same file.
//!
//! **Failing loudly.** A failed write answers its dependents at once with their failure reply (Redis's
//! `-ERR Failed to save config file. Check server logs.`, or a vote reply without the vote), keeps the
//! in-memory change, and is retried with capped exponential backoff ([`retry_delay`]); a dependent that
//! arrives while writes are failing starts a write at once instead of waiting for the backoff, so an
//! operator who fixed the disk gets `+OK` from the next command. A dependent never waits longer than
//! [`DEPENDENT_WAIT_MS`] (a hung disk), and a write in flight longer than [`STALL_MS`] counts as failing.

use std::collections::VecDeque;

use crate::config::PersistedState;
use crate::io::{ClientId, Output};
use crate::reply::Reply;
use crate::time::Instant;

/// First retry after a failed write.
pub(crate) const RETRY_FIRST_MS: u64 = 100;
/// Longest delay between retries.
pub(crate) const RETRY_MAX_MS: u64 = 10_000;
/// Longest a dependent waits for its write before it gets its failure reply (a hung disk).
pub(crate) const DEPENDENT_WAIT_MS: u64 = 5_000;
/// A write in flight this long is reported as failing (INFO, one log line).
pub(crate) const STALL_MS: u64 = 5_000;

/// Delay before retry number `attempt` (1 = the first retry): 100 ms doubling, capped at 10 s.
pub(crate) fn retry_delay(attempt: u32) -> u64 {
    let shift = attempt.saturating_sub(1).min(16);
    (RETRY_FIRST_MS << shift).min(RETRY_MAX_MS)
}

/// What one snapshot makes durable, to tell whether an epoch or a vote may be revealed. The epoch is
/// enough for votes too: a restarted sentinel grants no vote in the epoch it loaded or below
/// (`Sentinel::vote_floor`), so a vote is safe to reveal once the current epoch covering it is on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Covered {
    /// `current_epoch` of the snapshot.
    pub(crate) current_epoch: u64,
}

impl Covered {
    pub(crate) fn of(st: &PersistedState) -> Self {
        Covered {
            // A loaded file accounts for its config epochs and votes too (Redis takes the max of the
            // config epochs when loading; a leader-epoch above the current epoch is a hand-edited file).
            current_epoch: st
                .masters
                .values()
                .map(|m| m.config_epoch.max(m.leader_epoch))
                .fold(st.current_epoch, u64::max),
        }
    }
}

/// An output waiting for a write.
#[derive(Debug)]
enum Held {
    /// A reply that is true only once write `dep` is durable; `on_fail` is sent instead if it fails.
    Reply {
        client: ClientId,
        reply: Reply,
        on_fail: Reply,
        dep: u64,
        since: Instant,
    },
    /// `SIMULATE-FAILURE` crash: waits for every write pending when it was asked for, and holds
    /// everything queued after it (Redis crashes on the spot, before doing anything else).
    Crash { dep: u64, since: Instant },
    /// Queued behind a held crash.
    Out(Output),
}

/// The write in flight.
#[derive(Debug)]
struct InFlight {
    seq: u64,
    at: Instant,
    covers: Covered,
}

/// Writes are failing (or one hangs).
#[derive(Debug, Clone)]
pub(crate) struct Failing {
    /// When the first write of this run of failures failed (or the hung one started).
    pub(crate) since: Instant,
    /// Failed writes in a row.
    pub(crate) attempts: u32,
    /// No automatic retry before this.
    pub(crate) next_retry: Instant,
    /// The shell's description of the last failure (OS error text), if it gave one.
    pub(crate) error: Option<String>,
}

/// Outputs on their way out, and the write generations they depend on.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    ready: VecDeque<Output>,
    held: VecDeque<Held>,
    /// Generation that covers every change made in memory so far (`started` or `started + 1`).
    want: u64,
    /// Generation (= `PersistSeq`) of the last write started.
    started: u64,
    in_flight: Option<InFlight>,
    /// Generation of the last write that succeeded.
    durable_gen: u64,
    /// What is on disk (as of the last successful write, or the loaded file).
    durable: Covered,
    failing: Option<Failing>,
    /// The shell's text for the failure it is about to report (taken by [`Outbox::done`]).
    error_text: Option<String>,
    /// The write in flight was reported as hung (once per write).
    stall_reported: bool,
    /// Writes that succeeded / failed since start (INFO).
    pub(crate) writes_ok: u64,
    pub(crate) writes_failed: u64,
    /// A crash is held: everything queued after it waits behind it.
    crash_held: bool,
    /// Mutation: release dependents without waiting.
    pub(crate) skip_barrier: bool,
    /// Mutation: a failed write releases its dependents' success replies.
    pub(crate) reveal_failed: bool,
}

impl Outbox {
    /// An outbox whose disk holds `durable` (the loaded state).
    pub(crate) fn new(durable: Covered) -> Self {
        Outbox {
            durable,
            ..Outbox::default()
        }
    }

    /// Queue an output that depends on nothing.
    pub(crate) fn push(&mut self, o: Output) {
        if self.crash_held {
            self.held.push_back(Held::Out(o));
        } else {
            self.ready.push_back(o);
        }
    }

    /// The state changed in memory: the next write (one not yet started) must cover it. Returns that
    /// write's generation.
    pub(crate) fn flush(&mut self) -> u64 {
        self.want = self.started + 1;
        self.want
    }

    /// What is durable now.
    pub(crate) fn durable(&self) -> &Covered {
        &self.durable
    }

    /// The generation of the first write whose snapshot satisfies `covered`, or None when the disk already
    /// does. Demands a new write when neither the disk nor the write in flight does.
    pub(crate) fn dep_for(&mut self, covered: impl Fn(&Covered) -> bool) -> Option<u64> {
        if covered(&self.durable) {
            return None;
        }
        if let Some(f) = &self.in_flight {
            if covered(&f.covers) {
                return Some(f.seq);
            }
        }
        Some(self.flush())
    }

    /// A reply that may only leave once write `dep` is durable (`None`: at once); `on_fail` replaces it
    /// if that write fails or takes longer than [`DEPENDENT_WAIT_MS`].
    pub(crate) fn guarded(
        &mut self,
        client: ClientId,
        reply: Reply,
        dep: Option<u64>,
        on_fail: Reply,
        now: Instant,
    ) {
        match dep {
            Some(dep) if !self.skip_barrier && dep > self.durable_gen => {
                self.held.push_back(Held::Reply {
                    client,
                    reply,
                    on_fail,
                    dep,
                    since: now,
                });
            }
            _ => self.push(Output::Reply { client, reply }),
        }
    }

    /// Queue a crash behind every write pending now.
    pub(crate) fn crash(&mut self, now: Instant) {
        let dep = if self.want > self.durable_gen && !self.skip_barrier {
            self.want
        } else {
            0
        };
        self.held.push_back(Held::Crash { dep, since: now });
        self.crash_held = true;
        self.release(now);
    }

    /// Next output, if any is ready (writes are started by [`Outbox::start_write`]).
    pub(crate) fn pop(&mut self) -> Option<Output> {
        self.ready.pop_front()
    }

    /// Whether a write should start now: none in flight, something not yet covered, and either no
    /// failure streak, its backoff over, or someone waiting for a write not yet started.
    pub(crate) fn write_due(&self, now: Instant) -> bool {
        if self.in_flight.is_some() || self.want <= self.started {
            return false;
        }
        match &self.failing {
            None => true,
            Some(f) => now >= f.next_retry || self.demand(),
        }
    }

    /// A held output waits for a write that has not started.
    fn demand(&self) -> bool {
        self.held.iter().any(|h| match h {
            Held::Reply { dep, .. } | Held::Crash { dep, .. } => *dep > self.started,
            Held::Out(_) => false,
        })
    }

    /// A write of a snapshot covering `covers` starts now; returns its generation (its `PersistSeq`).
    pub(crate) fn start_write(&mut self, covers: Covered, now: Instant) -> u64 {
        self.started += 1;
        self.want = self.started;
        self.stall_reported = false;
        self.in_flight = Some(InFlight {
            seq: self.started,
            at: now,
            covers,
        });
        self.started
    }

    /// The shell's text for the failure it is about to report.
    pub(crate) fn note_error(&mut self, error: String) {
        self.error_text = Some(error);
    }

    /// Write `seq` finished. Returns false for a result about no write in flight (ignored).
    pub(crate) fn done(&mut self, seq: u64, ok: bool, now: Instant) -> bool {
        let error = self.error_text.take();
        let Some(f) = self.in_flight.take_if(|f| f.seq == seq) else {
            return false;
        };
        if ok {
            self.durable = f.covers;
            self.durable_gen = seq;
            self.failing = None;
            self.writes_ok += 1;
        } else {
            self.writes_failed += 1;
            // The state it carried is still not on disk: the retry (a newer snapshot) must cover it.
            self.want = self.started + 1;
            let fl = self.failing.get_or_insert(Failing {
                since: now,
                attempts: 0,
                next_retry: now,
                error: None,
            });
            fl.attempts += 1;
            fl.next_retry = now.plus(retry_delay(fl.attempts));
            if error.is_some() {
                fl.error = error;
            }
        }
        self.release_done(seq, ok, now);
        true
    }

    /// Release what the result of write `seq` decides, then anything else that became free.
    fn release_done(&mut self, seq: u64, ok: bool, now: Instant) {
        for h in self.held.iter_mut() {
            if let Held::Reply {
                reply,
                on_fail,
                dep,
                ..
            } = h
            {
                if *dep <= seq && !ok {
                    // Answer it now with its failure reply: mark it durable-independent.
                    if !self.reveal_failed {
                        std::mem::swap(reply, on_fail);
                    }
                    *dep = 0;
                }
            }
            if let Held::Crash { dep, .. } = h {
                if *dep <= seq {
                    *dep = 0;
                }
            }
        }
        self.release(now);
    }

    /// Move every held output that may leave now to the ready queue, in order. A held crash stops the
    /// scan until it may leave; held replies do not hold back anything after them.
    pub(crate) fn release(&mut self, now: Instant) {
        let durable = self.durable_gen;
        let mut i = 0;
        while i < self.held.len() {
            let free = match &self.held[i] {
                Held::Reply { dep, since, .. } => {
                    *dep <= durable || now.since(*since) >= DEPENDENT_WAIT_MS
                }
                Held::Crash { dep, since } => {
                    *dep <= durable || now.since(*since) >= DEPENDENT_WAIT_MS
                }
                Held::Out(_) => true,
            };
            if !free {
                if matches!(self.held[i], Held::Crash { .. }) {
                    return;
                }
                i += 1;
                continue;
            }
            let Some(h) = self.held.remove(i) else { break };
            match h {
                Held::Reply {
                    client,
                    reply,
                    on_fail,
                    dep,
                    ..
                } => {
                    // Timed out before its write landed: the failure reply.
                    let reply = if dep <= durable { reply } else { on_fail };
                    self.ready.push_back(Output::Reply { client, reply });
                }
                Held::Crash { .. } => {
                    self.crash_held = self.held.iter().any(|h| matches!(h, Held::Crash { .. }));
                    self.ready.push_back(Output::Crash);
                }
                Held::Out(o) => self.ready.push_back(o),
            }
        }
    }

    /// Writes are failing: the current streak, if any. A write in flight longer than [`STALL_MS`] counts.
    pub(crate) fn failing(&self, now: Instant) -> Option<Failing> {
        if let Some(f) = &self.failing {
            return Some(f.clone());
        }
        let f = self.in_flight.as_ref()?;
        (now.since(f.at) >= STALL_MS).then(|| Failing {
            since: f.at,
            attempts: 0,
            next_retry: f.at,
            error: Some(format!(
                "a state write has been in flight for {} s (disk hung?)",
                now.since(f.at) / 1000
            )),
        })
    }

    /// Whether the hung write in flight still has to be reported (true once per write).
    pub(crate) fn report_stall(&mut self, now: Instant) -> bool {
        let hung = self
            .in_flight
            .as_ref()
            .is_some_and(|f| now.since(f.at) >= STALL_MS);
        if hung && !self.stall_reported {
            self.stall_reported = true;
            return true;
        }
        false
    }

    /// The earliest time something here needs the clock: a retry, a dependent's deadline.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let retry = match &self.failing {
            Some(f) if self.in_flight.is_none() && self.want > self.started => Some(f.next_retry),
            _ => None,
        };
        let deadline = self
            .held
            .iter()
            .filter_map(|h| match h {
                Held::Reply { since, .. } | Held::Crash { since, .. } => {
                    Some(since.plus(DEPENDENT_WAIT_MS))
                }
                Held::Out(_) => None,
            })
            .min();
        match (retry, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100ms_and_caps_at_10s() {
        let got: Vec<u64> = (1..=10).map(retry_delay).collect();
        assert_eq!(
            got,
            [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
        );
        assert_eq!(retry_delay(u32::MAX), RETRY_MAX_MS);
    }

    #[test]
    fn flush_while_in_flight_needs_the_next_write() {
        let mut o = Outbox::new(Covered::default());
        assert_eq!(o.flush(), 1);
        assert!(o.write_due(Instant(0)));
        assert_eq!(o.start_write(Covered::default(), Instant(0)), 1);
        assert!(!o.write_due(Instant(0)), "one write in flight at a time");
        // Two changes while 1 is in flight: both covered by write 2.
        assert_eq!(o.flush(), 2);
        assert_eq!(o.flush(), 2);
        assert!(o.done(1, true, Instant(5)));
        assert!(o.write_due(Instant(5)));
        assert_eq!(o.start_write(Covered::default(), Instant(5)), 2);
        assert!(o.done(2, true, Instant(9)));
        assert!(!o.write_due(Instant(9)), "nothing left to write");
    }

    #[test]
    fn failed_write_is_retried_on_the_backoff_schedule() {
        let mut o = Outbox::new(Covered::default());
        o.flush();
        let mut now = Instant(0);
        let mut starts = Vec::new();
        for _ in 0..5 {
            // Advance 1 ms at a time until the retry is due.
            while !o.write_due(now) {
                now = now.plus(1);
            }
            starts.push(now.0);
            let seq = o.start_write(Covered::default(), now);
            o.done(seq, false, now);
        }
        assert_eq!(starts, [0, 100, 300, 700, 1500]);
        assert_eq!(o.poll_timeout(), Some(Instant(1500 + 1600)));
        // A dependent arriving during the backoff starts a write at once.
        let dep = o.flush();
        o.guarded(
            ClientId(1),
            Reply::ok(),
            Some(dep),
            Reply::err("E"),
            now.plus(1),
        );
        assert!(o.write_due(now.plus(1)));
    }
}

//! What a caller of the simulation chooses ([`RunOpts`], [`TraceMode`]) and the figures it gets back
//! ([`Stats`], [`StormStats`]). Kept apart from the world's machinery because these are the crate's public
//! surface (tests, the `vedette-sim` binary and the reports read them), while everything else is private.

use vedette_core::Sentinel;

/// How much tracing a run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceMode {
    /// None (fast path).
    Off,
    /// Keep the last `n` lines (for failure reports).
    Tail(usize),
    /// Print every line to stdout as it happens.
    Full,
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
pub struct RunOpts {
    /// Tracing.
    pub trace: TraceMode,
    /// Livelock bound on scheduler steps.
    pub max_events: u64,
    /// Called on every freshly built `Sentinel` (start and restarts), e.g. to enable a mutation knob.
    pub on_new_sentinel: Option<fn(&mut Sentinel, usize)>,
    /// Stop at the first violation (default) or keep going and collect only the first.
    pub stop_at_violation: bool,
    /// Let the plan's disks fail writes (`PersistFailed`); off to hunt other bugs.
    pub persist_failures: bool,
    /// Properties whose breaches are only counted as findings (to look past a known bug).
    pub relaxed: &'static [&'static str],
    /// Seeds derive failover-storm plans with this many masters ([`crate::Plan::storm`]) instead of the
    /// general plans; 0 = general plans.
    pub storm_masters: usize,
    /// With `storm_masters`: storms with the general fault mix on top ([`crate::Plan::storm_chaos`]).
    pub storm_chaos: bool,
    /// With `storm_masters`: storms over slow links ([`crate::Plan::storm_slow`]).
    pub storm_slow: bool,
    /// Crash a sentinel right after it sends a vote that rests on its durable epoch alone (its master's
    /// leader-epoch not yet written), before that write lands; restart it a down-after or so later. The
    /// window the vote floor (`Sentinel::vote_floor`) protects; off in the seeds' plans.
    pub crash_after_floor_vote: bool,
}

impl Default for RunOpts {
    fn default() -> Self {
        RunOpts {
            trace: TraceMode::Off,
            max_events: 3_000_000,
            on_new_sentinel: None,
            stop_at_violation: true,
            persist_failures: true,
            relaxed: &[],
            storm_masters: 0,
            storm_chaos: false,
            storm_slow: false,
            crash_after_floor_vote: false,
        }
    }
}

/// Figures of one run.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Scheduler steps.
    pub events: u64,
    /// Calls into cores.
    pub core_calls: u64,
    /// Simulated time at the end (ms).
    pub sim_ms: u64,
    /// Distinct (master, epoch) promotions.
    pub failovers: u64,
    /// Distinct (master, epoch) failover attempts.
    pub election_rounds: u64,
    /// Some failover needed more than one election round.
    pub multi_round: bool,
    /// Writes acknowledged to the client.
    pub acked_writes: u64,
    /// Acknowledged writes missing from the final master.
    pub lost_writes: u64,
    /// Time from heal to convergence (ms).
    pub recovery_ms: Option<u64>,
    /// `+tilt` events.
    pub tilts: u64,
    /// Sentinel crashes.
    pub crashes: u64,
    /// Persists issued.
    pub persists: u64,
    /// Votes recorded.
    pub votes: u64,
    /// Agreed-set-only property breaches in discovery plans.
    pub findings: u64,
    /// Events emitted by cores.
    pub core_events: u64,
    /// `SENTINEL DEBUG` was rejected by the core (timings stayed at defaults).
    pub debug_rejected: bool,
    /// `+sdown` of a freshly switched master before down-after elapsed (finding `sdown_needs_down_after`).
    pub early_sdown: u64,
    /// `-failover-abort-not-elected` events.
    pub aborts_not_elected: u64,
    /// Attempts started sooner than Redis's 2 × failover-timeout after the same sentinel's previous
    /// attempt for the same master (vedette's fast retry after a dead epoch).
    pub early_retries: u64,
    /// Failover-storm figures (storm plans only).
    pub storm: Option<StormStats>,
}

/// What a failover storm ([`crate::plan::Plan::storm`]) produced, measured from the kill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StormStats {
    /// Masters killed.
    pub masters: usize,
    /// Per master: ms from the kill until every sentinel had switched it (None: not all did).
    pub all_switched_ms: Vec<Option<u64>>,
    /// (sentinel, master) pairs that switched more than once.
    pub double_switches: u64,
    /// `+try-failover` events after the kill.
    pub attempts: u64,
    /// `-failover-abort-not-elected` events after the kill.
    pub aborts_not_elected: u64,
}

impl StormStats {
    /// Masters switched on every sentinel within `ms` of the kill.
    pub fn switched_within(&self, ms: u64) -> usize {
        self.all_switched_ms
            .iter()
            .filter(|t| t.is_some_and(|t| t <= ms))
            .count()
    }

    /// When the last master was switched on every sentinel (None: some never were).
    pub fn last_ms(&self) -> Option<u64> {
        self.all_switched_ms
            .iter()
            .try_fold(0u64, |acc, t| t.map(|t| acc.max(t)))
    }
}

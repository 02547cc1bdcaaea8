//! Figures over many runs, and the failure report (seed, invariant, trace, reproduce command).

use std::fmt::Write;

use crate::plan::Plan;
use crate::world::{Outcome, RunOpts, TraceMode};

/// Aggregated figures of many runs.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Histories run.
    pub histories: u64,
    /// Scheduler steps.
    pub events: u64,
    /// Core calls.
    pub core_calls: u64,
    /// Promotions (distinct master, epoch).
    pub failovers: u64,
    /// Histories with at least one failover.
    pub histories_with_failover: u64,
    /// Histories needing more than one election round.
    pub multi_round: u64,
    /// Acknowledged writes.
    pub acked_writes: u64,
    /// Acknowledged writes lost.
    pub lost_writes: u64,
    /// Sum of recovery times (ms) and how many.
    pub recovery_sum_ms: u64,
    /// Runs that converged.
    pub recovered: u64,
    /// Worst recovery.
    pub recovery_max_ms: u64,
    /// Simulated time (ms).
    pub sim_ms: u64,
    /// TILT entries.
    pub tilts: u64,
    /// Sentinel crashes.
    pub crashes: u64,
    /// Findings in discovery plans.
    pub findings: u64,
    /// Early SDOWN of a freshly switched master.
    pub early_sdown: u64,
    /// Runs where the core rejected SENTINEL DEBUG.
    pub debug_rejected: u64,
    /// Storm plans: runs, masters killed, and per run when the last master was switched everywhere (ms
    /// after the kill; `u64::MAX` = some never were).
    pub storm_runs: u64,
    /// Masters killed over all storm runs.
    pub storm_masters: u64,
    /// Per storm run: ms until every master was switched on every sentinel.
    pub storm_last_ms: Vec<u64>,
    /// Masters switched everywhere within 1 / 2 / 5 / 10 s of the kill, over all storm runs.
    pub storm_within: [u64; 4],
    /// Failover attempts and `-failover-abort-not-elected` after the kill, over all storm runs.
    pub storm_attempts: u64,
    /// See `storm_attempts`.
    pub storm_aborts: u64,
    /// (sentinel, master) pairs switched more than once, over all storm runs.
    pub storm_double: u64,
    /// Fast retries (attempts sooner than 2 × failover-timeout after the previous one).
    pub early_retries: u64,
    /// Histories with at least one.
    pub histories_with_early_retry: u64,
    /// Failing seeds with their violation.
    pub failures: Vec<(u64, String)>,
    /// Wall-clock seconds spent (set by the caller).
    pub wall_secs: f64,
}

impl Summary {
    /// Add one run.
    pub fn add(&mut self, o: &Outcome) {
        let s = &o.stats;
        self.histories += 1;
        self.events += s.events;
        self.core_calls += s.core_calls;
        self.failovers += s.failovers;
        self.histories_with_failover += u64::from(s.failovers > 0);
        self.multi_round += u64::from(s.multi_round);
        self.acked_writes += s.acked_writes;
        self.lost_writes += s.lost_writes;
        if let Some(r) = s.recovery_ms {
            self.recovered += 1;
            self.recovery_sum_ms += r;
            self.recovery_max_ms = self.recovery_max_ms.max(r);
        }
        self.sim_ms += s.sim_ms;
        self.tilts += s.tilts;
        self.crashes += s.crashes;
        self.findings += s.findings;
        self.debug_rejected += u64::from(s.debug_rejected);
        self.early_sdown += s.early_sdown;
        self.early_retries += s.early_retries;
        self.histories_with_early_retry += u64::from(s.early_retries > 0);
        if let Some(st) = &s.storm {
            self.storm_runs += 1;
            self.storm_masters += st.masters as u64;
            self.storm_last_ms.push(st.last_ms().unwrap_or(u64::MAX));
            for (i, ms) in [1000, 2000, 5000, 10_000].into_iter().enumerate() {
                self.storm_within[i] += st.switched_within(ms) as u64;
            }
            self.storm_attempts += st.attempts;
            self.storm_aborts += st.aborts_not_elected;
            self.storm_double += st.double_switches;
        }
        if let Some(v) = &o.violation {
            self.failures.push((o.seed, v.to_string()));
        }
    }

    /// Merge another summary.
    pub fn merge(&mut self, o: Summary) {
        self.histories += o.histories;
        self.events += o.events;
        self.core_calls += o.core_calls;
        self.failovers += o.failovers;
        self.histories_with_failover += o.histories_with_failover;
        self.multi_round += o.multi_round;
        self.acked_writes += o.acked_writes;
        self.lost_writes += o.lost_writes;
        self.recovery_sum_ms += o.recovery_sum_ms;
        self.recovered += o.recovered;
        self.recovery_max_ms = self.recovery_max_ms.max(o.recovery_max_ms);
        self.sim_ms += o.sim_ms;
        self.tilts += o.tilts;
        self.crashes += o.crashes;
        self.findings += o.findings;
        self.debug_rejected += o.debug_rejected;
        self.early_sdown += o.early_sdown;
        self.early_retries += o.early_retries;
        self.histories_with_early_retry += o.histories_with_early_retry;
        self.storm_runs += o.storm_runs;
        self.storm_masters += o.storm_masters;
        self.storm_last_ms.extend(o.storm_last_ms);
        for i in 0..4 {
            self.storm_within[i] += o.storm_within[i];
        }
        self.storm_attempts += o.storm_attempts;
        self.storm_aborts += o.storm_aborts;
        self.storm_double += o.storm_double;
        self.failures.extend(o.failures);
    }

    /// The figures, one per line.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let per_sec = if self.wall_secs > 0.0 {
            self.histories as f64 / self.wall_secs
        } else {
            0.0
        };
        let _ = writeln!(s, "histories:                 {}", self.histories);
        let _ = writeln!(
            s,
            "events (scheduler steps):  {}  (core calls {})",
            self.events, self.core_calls
        );
        let _ = writeln!(
            s,
            "simulated time:            {:.1} h",
            self.sim_ms as f64 / 3_600_000.0
        );
        let _ = writeln!(
            s,
            "failovers:                 {}  (in {} histories)",
            self.failovers, self.histories_with_failover
        );
        let _ = writeln!(s, "histories with >1 round:   {}", self.multi_round);
        let _ = writeln!(
            s,
            "fast retries:              {}  (in {} histories)",
            self.early_retries, self.histories_with_early_retry
        );
        let _ = writeln!(
            s,
            "acked writes lost:         {} of {} (reported, not asserted)",
            self.lost_writes, self.acked_writes
        );
        let avg = self
            .recovery_sum_ms
            .checked_div(self.recovered)
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "time to recover after heal: avg {} ms, max {} ms ({} converged)",
            avg, self.recovery_max_ms, self.recovered
        );
        let _ = writeln!(s, "TILT entries:              {}", self.tilts);
        let _ = writeln!(s, "sentinel crashes:          {}", self.crashes);
        let _ = writeln!(s, "findings (not failures):   {}", self.findings);
        let _ = writeln!(s, "SDOWN < down-after after switch: {}", self.early_sdown);
        if self.debug_rejected > 0 {
            let _ = writeln!(
                s,
                "SENTINEL DEBUG rejected:   {} runs (core default timings used)",
                self.debug_rejected
            );
        }
        if self.storm_runs > 0 {
            let mut last = self.storm_last_ms.clone();
            last.sort_unstable();
            let fmt = |v: u64| {
                if v == u64::MAX {
                    "never".to_string()
                } else {
                    format!("{v} ms")
                }
            };
            let pct = |n: u64| 100.0 * n as f64 / self.storm_masters.max(1) as f64;
            let _ = writeln!(
                s,
                "storm: all masters switched everywhere after: median {}, max {} ({} runs)",
                fmt(last[last.len() / 2]),
                fmt(last[last.len() - 1]),
                self.storm_runs
            );
            let _ = writeln!(
                s,
                "storm: switched within 1/2/5/10 s: {:.1}% / {:.1}% / {:.1}% / {:.1}% of {} masters",
                pct(self.storm_within[0]),
                pct(self.storm_within[1]),
                pct(self.storm_within[2]),
                pct(self.storm_within[3]),
                self.storm_masters
            );
            let _ = writeln!(
                s,
                "storm: attempts {}, -failover-abort-not-elected {}, double switches {}",
                self.storm_attempts, self.storm_aborts, self.storm_double
            );
        }
        let _ = writeln!(
            s,
            "wall time:                 {:.1} s ({per_sec:.0} histories/s)",
            self.wall_secs
        );
        let _ = writeln!(s, "violations:                {}", self.failures.len());
        s
    }
}

/// The full report for a failing seed: re-runs it with tracing (deterministic, so it fails the same way).
pub fn failure_report(seed: u64, base: RunOpts) -> String {
    let plan: Plan = crate::plan_for(seed, base);
    let o = crate::run(
        seed,
        RunOpts {
            trace: TraceMode::Tail(120),
            ..base
        },
    );
    let mut s = String::new();
    let _ = writeln!(s, "==== vedette-sim failure: seed {seed} ====");
    match &o.violation {
        Some(v) => {
            let _ = writeln!(s, "invariant: {}", v.invariant);
            let _ = writeln!(s, "violation: {v}");
        }
        None => {
            let _ = writeln!(s, "(the traced re-run did not fail: nondeterminism!)");
        }
    }
    let _ = writeln!(s, "plan: {}", plan.summary());
    for (i, f) in plan.faults.iter().enumerate() {
        let _ = writeln!(
            s,
            "  fault #{i}: at +{} ms for {} ms: {:?}",
            f.at, f.dur, f.kind
        );
    }
    let _ = writeln!(s, "-- last acts --");
    for l in &o.acts {
        let _ = writeln!(s, "{l}");
    }
    let _ = writeln!(s, "-- last {} trace lines --", o.trace.len());
    for l in &o.trace {
        let _ = writeln!(s, "{l}");
    }
    if base.storm_masters > 0 {
        let n = base.storm_masters;
        let chaos = if base.storm_chaos {
            " --chaos"
        } else if base.storm_slow {
            " --slow-links"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "reproduce: scripts/simulate --storm {n}{chaos} --seed {seed} --trace"
        );
    } else {
        let _ = writeln!(s, "reproduce: scripts/simulate --seed {seed} --trace");
        let _ = writeln!(
            s,
            "       or: VEDETTE_SIM_SEED={seed} cargo test -p vedette-sim --test seeds -- --nocapture"
        );
    }
    s
}

//! # vedette-sim: a deterministic multi-sentinel simulation
//!
//! N real [`vedette_core::Sentinel`] cores, model Redis instances, a lossy network with partitions, disks
//! that can lose an in-flight write, clocks that drift, stall and jump — all in one thread, in virtual
//! time, driven by one seeded PRNG. A run derives everything from its seed ([`Plan::from_seed`]), goes
//! through warm-up, a safety phase with faults, heal, and a liveness phase with a deadline, and checks
//! the safety properties of [`invariants`] after every step. The same seed always produces the same run
//! (same [`Outcome::history_hash`]), so every failure is reproduced by its seed:
//!
//! ```text
//! scripts/simulate --seed 1234 --trace
//! VEDETTE_SIM_SEED=1234 cargo test -p vedette-sim --test seeds -- --nocapture
//! ```

#![warn(missing_docs)]

pub mod clock;
pub mod history;
pub mod invariants;
pub mod node;
pub mod plan;
pub mod redis_model;
pub mod report;
pub mod rng;
pub mod world;

pub use invariants::Violation;
pub use plan::Plan;
pub use report::{failure_report, Summary};
pub use world::{Outcome, RunOpts, Stats, StormStats, TraceMode, World};

/// The plan `seed` derives under `opts` (a general plan, or a storm plan with `opts.storm_masters`).
pub fn plan_for(seed: u64, opts: RunOpts) -> Plan {
    if opts.storm_masters > 0 && opts.storm_chaos {
        Plan::storm_chaos(seed, opts.storm_masters)
    } else if opts.storm_masters > 0 && opts.storm_slow {
        Plan::storm_slow(seed, opts.storm_masters)
    } else if opts.storm_masters > 0 {
        Plan::storm(seed, opts.storm_masters)
    } else {
        Plan::from_seed(seed)
    }
}

/// Run the plan derived from `seed`.
pub fn run(seed: u64, opts: RunOpts) -> Outcome {
    run_plan(plan_for(seed, opts), opts)
}

/// Run a given plan (scenario tests build their own).
pub fn run_plan(plan: Plan, opts: RunOpts) -> Outcome {
    World::new(plan, opts).run()
}

/// Run seeds `start..start + count` on `threads` workers (`std::thread::scope`, one world per run,
/// nothing shared but a work counter). Failures are sorted by seed.
pub fn run_many(start: u64, count: u64, threads: usize, opts: RunOpts) -> Summary {
    use std::sync::atomic::{AtomicU64, Ordering};
    let next = AtomicU64::new(0);
    let t0 = std::time::Instant::now();
    let threads = threads.max(1);
    let mut total = Summary::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut sum = Summary::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let seed = start + i;
                        let o = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            run(seed, opts)
                        }));
                        match o {
                            Ok(o) => sum.add(&o),
                            Err(p) => {
                                let msg = p
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_default();
                                sum.histories += 1;
                                sum.failures.push((seed, format!("[panic] {msg}")));
                            }
                        }
                    }
                    sum
                })
            })
            .collect();
        for h in handles {
            if let Ok(s) = h.join() {
                total.merge(s);
            }
        }
    });
    total.failures.sort();
    total.wall_secs = t0.elapsed().as_secs_f64();
    total
}

/// Worker threads to use by default: `VEDETTE_SIM_THREADS`, else the available parallelism.
pub fn default_threads() -> usize {
    std::env::var("VEDETTE_SIM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

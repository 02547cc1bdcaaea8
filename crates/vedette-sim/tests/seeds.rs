//! Many seeds on `std::thread::scope` workers; every safety property after every step, liveness after heal.
//!
//! - `VEDETTE_SIM_SEEDS` (default 10000): how many histories; `VEDETTE_SIM_START` (default 0): first seed.
//! - `VEDETTE_SIM_SEED=<s>`: run just that seed and print the full failure report (reproduction).
//! - `VEDETTE_SIM_THREADS`: workers (default: available parallelism).
//! - `VEDETTE_SIM_NO_PERSIST_FAILURES=1` and `VEDETTE_SIM_RELAX=inv1,inv2`: look past a known bug.

use vedette_sim::{default_threads, failure_report, run, run_many, RunOpts};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn opts() -> RunOpts {
    let mut o = RunOpts::default();
    if std::env::var("VEDETTE_SIM_NO_PERSIST_FAILURES").is_ok_and(|v| v == "1") {
        o.persist_failures = false;
    }
    if let Ok(v) = std::env::var("VEDETTE_SIM_RELAX") {
        let names: Vec<&'static str> = v
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|n| &*Box::leak(n.trim().to_string().into_boxed_str()))
            .collect();
        o.relaxed = Box::leak(names.into_boxed_slice());
    }
    o
}

#[test]
fn seeds() {
    let opts = opts();
    if let Some(seed) = env_u64("VEDETTE_SIM_SEED") {
        let o = run(seed, opts);
        println!(
            "seed {seed}: hash {:016x} stats {:?}",
            o.history_hash, o.stats
        );
        if o.violation.is_some() {
            panic!("{}", failure_report(seed, opts));
        }
        return;
    }
    let count = env_u64("VEDETTE_SIM_SEEDS").unwrap_or(10_000);
    let start = env_u64("VEDETTE_SIM_START").unwrap_or(0);
    let sum = run_many(start, count, default_threads(), opts);
    println!("{}", sum.render());
    if let Some((seed, _)) = sum.failures.first() {
        for (s, v) in sum.failures.iter().take(30) {
            println!("FAIL seed {s}: {v}");
        }
        panic!(
            "{} of {} histories broke a property\n{}",
            sum.failures.len(),
            sum.histories,
            failure_report(*seed, opts)
        );
    }
}

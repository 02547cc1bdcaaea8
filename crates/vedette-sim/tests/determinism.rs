//! Same seed twice -> identical history hash (openraft's `cmp a.log b.log`). Any entropy that leaks into a
//! run (hash-map order, a clock read, thread scheduling) shows up here first.

use vedette_sim::{run, RunOpts};

#[test]
fn same_seed_same_history() {
    for seed in [0u64, 1, 7, 42, 144, 692, 1_000_003, u64::MAX - 5] {
        let a = run(seed, RunOpts::default());
        let b = run(seed, RunOpts::default());
        assert_eq!(
            a.history_hash, b.history_hash,
            "seed {seed} is not deterministic"
        );
        assert_eq!(a.stats.events, b.stats.events, "seed {seed}");
        assert_eq!(a.violation, b.violation, "seed {seed}");
    }
}

#[test]
fn different_seeds_differ() {
    let a = run(3, RunOpts::default());
    let b = run(4, RunOpts::default());
    assert_ne!(a.history_hash, b.history_hash);
}

#[test]
fn tracing_does_not_change_the_run() {
    let plain = run(11, RunOpts::default());
    let traced = run(
        11,
        RunOpts {
            trace: vedette_sim::TraceMode::Tail(50),
            ..RunOpts::default()
        },
    );
    assert_eq!(plain.history_hash, traced.history_hash);
}

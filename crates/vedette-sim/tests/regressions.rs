//! Seeds on which the simulation found bugs in the core, kept as regression tests (named after the seed).
//! Each runs with the default options and with no persist failures (how some were first seen).

use vedette_sim::{failure_report, run, RunOpts};

fn check(seed: u64) {
    for persist_failures in [true, false] {
        let opts = RunOpts {
            persist_failures,
            ..RunOpts::default()
        };
        let o = run(seed, opts);
        assert!(
            o.violation.is_none(),
            "seed {seed} (persist_failures={persist_failures}) regressed:\n{}",
            failure_report(seed, opts)
        );
    }
}

/// Bug A: after a failed persist the core released the epoch it had failed to save.
#[test]
fn seed_184_failed_persist_keeps_the_barrier() {
    check(184);
}

/// Bug A, second sighting.
#[test]
fn seed_455_failed_persist_keeps_the_barrier() {
    check(455);
}

/// Bug B: a higher config epoch hijacked the leader's own failover during RECONF_SLAVES.
#[test]
fn seed_102862_hello_compares_with_advertised_address() {
    check(102_862);
}

/// Bug B, second and third sightings.
#[test]
fn seed_204465_and_208357_hello_compares_with_advertised_address() {
    check(204_465);
    check(208_357);
}

/// Bug C: votes from a newer epoch elected an older attempt (two leaders in epoch 1).
#[test]
fn seed_489_votes_counted_in_the_failover_epoch() {
    check(489);
}

/// Bug C: elected holding a single vote.
#[test]
fn seed_144_votes_counted_in_the_failover_epoch() {
    check(144);
}

/// Bug C: two replicas promoted in epoch 2.
#[test]
fn seed_209789_one_promotion_per_epoch() {
    check(209_789);
}

/// Bug D: replica selection required role:slave and deadlocked when the configured master was a replica.
#[test]
fn seed_868_selection_does_not_require_role_slave() {
    check(868);
}

/// Bug E: the new master went SDOWN milliseconds after a switch (reused link with old ping clocks, and a
/// link stuck on an old connect attempt). The remaining failovers in this plan come from its fault: one
/// sentinel's clock runs 3x fast with quorum 1, which makes it see every master down early.
#[test]
fn seed_692_no_early_sdown_after_switch() {
    let o = run(692, RunOpts::default());
    assert!(
        o.violation.is_none(),
        "{}",
        failure_report(692, RunOpts::default())
    );
    assert_eq!(
        o.stats.early_sdown, 0,
        "new master declared down before down-after elapsed"
    );
}

/// A retried persist overtook an older queued one, which then wrote an older epoch over a newer one
/// (epoch_monotonic). Fixed by snapshotting the state when a persist is released, not when it is queued.
#[test]
fn seed_3192_persisted_epoch_never_goes_back() {
    check(3192);
}

//! Known-bad variants of the core MUST be caught: proves the checkers can fail (openraft validated its
//! harness by re-introducing a fixed bug). Each mutation is switched on in every sentinel of a run through
//! `vedette_core::Sentinel::set_mutation` (core feature `mutations`, enabled by this crate's `mutations`
//! feature, switched on for this crate's tests through its dev-dependency): `cargo test -p vedette-sim --test mutations`.

use vedette_core::{Mutation, Sentinel};
use vedette_sim::{run, RunOpts};

/// Seeds tried per mutation before giving up.
const K: u64 = 400;

fn caught(hook: fn(&mut Sentinel, usize), expect: &[&str]) -> (u64, String) {
    caught_with(hook, expect, false)
}

/// As [`caught`], with the plans' failing disks on or off.
fn caught_with(
    hook: fn(&mut Sentinel, usize),
    expect: &[&str],
    persist_failures: bool,
) -> (u64, String) {
    let base = RunOpts {
        persist_failures,
        ..RunOpts::default()
    };
    caught_in(hook, expect, base, K)
}

/// As [`caught`], on the plans `base` selects (e.g. storms), trying `k` seeds.
fn caught_in(
    hook: fn(&mut Sentinel, usize),
    expect: &[&str],
    base: RunOpts,
    k: u64,
) -> (u64, String) {
    let opts = RunOpts {
        on_new_sentinel: Some(hook),
        ..base
    };
    for seed in 0..k {
        let o = run(seed, opts);
        if let Some(v) = o.violation {
            // Only count it if the unmutated core passes the same seed (a real core bug must not stand in
            // for the injected one).
            if expect.contains(&v.invariant) && run(seed, base).violation.is_none() {
                return (seed, v.to_string());
            }
        }
    }
    panic!("mutation not caught within {k} seeds (expected one of {expect:?})");
}

#[test]
fn vote_twice_is_caught() {
    let (seed, v) = caught(
        |s, _| s.set_mutation(Some(Mutation::VoteTwice)),
        &["one_vote_per_epoch"],
    );
    println!("VoteTwice caught at seed {seed}: {v}");
}

#[test]
fn skip_persist_barrier_is_caught() {
    let (seed, v) = caught(
        |s, _| s.set_mutation(Some(Mutation::SkipPersistBarrier)),
        &["persist_before_speak"],
    );
    println!("SkipPersistBarrier caught at seed {seed}: {v}");
}

#[test]
fn no_vote_floor_is_caught() {
    // Needs a crash between a vote and the write of its master's leader-epoch, then a second candidate
    // in the same epoch: storms over slow links split votes, and the opt-in fault crashes a voter in
    // exactly that window.
    let base = RunOpts {
        persist_failures: false,
        storm_masters: 20,
        storm_slow: true,
        crash_after_floor_vote: true,
        relaxed: &["storm_liveness"],
        ..RunOpts::default()
    };
    let (seed, v) = caught_in(
        |s, _| s.set_mutation(Some(Mutation::NoVoteFloor)),
        &["one_vote_per_epoch"],
        base,
        200,
    );
    println!("NoVoteFloor caught at seed {seed}: {v}");
}

#[test]
fn ignore_quorum_is_caught() {
    let (seed, v) = caught(
        |s, _| s.set_mutation(Some(Mutation::IgnoreQuorum)),
        &["odown_needs_quorum"],
    );
    println!("IgnoreQuorum caught at seed {seed}: {v}");
}

#[test]
fn ask_in_current_epoch_is_caught() {
    let (seed, v) = caught(
        |s, _| s.set_mutation(Some(Mutation::AskInCurrentEpoch)),
        &["vote_request_epoch"],
    );
    println!("AskInCurrentEpoch caught at seed {seed}: {v}");
}

#[test]
fn eager_retry_is_caught() {
    // Storms over slow links split votes; a retry without the dead-epoch proof then fails a master over
    // twice. (Their deadline is relaxed here: a mutation may also break it.)
    let base = RunOpts {
        persist_failures: false,
        storm_masters: 20,
        storm_slow: true,
        relaxed: &["storm_liveness"],
        ..RunOpts::default()
    };
    let (seed, v) = caught_in(
        |s, _| s.set_mutation(Some(Mutation::EagerRetry)),
        &[
            "storm_one_failover",
            "one_promotion_per_epoch",
            "one_leader_per_epoch",
        ],
        base,
        60,
    );
    println!("EagerRetry caught at seed {seed}: {v}");
}

#[test]
fn reveal_failed_write_is_caught() {
    let (seed, v) = caught_with(
        |s, _| s.set_mutation(Some(Mutation::RevealFailedWrite)),
        &["persist_before_speak"],
        true,
    );
    println!("RevealFailedWrite caught at seed {seed}: {v}");
}

#[test]
fn no_fast_retry_is_caught() {
    // The deadline of storms over slow links holds only because split votes are retried early.
    let base = RunOpts {
        persist_failures: false,
        storm_masters: 20,
        storm_slow: true,
        ..RunOpts::default()
    };
    let (seed, v) = caught_in(
        |s, _| s.set_mutation(Some(Mutation::NoFastRetry)),
        &["storm_liveness"],
        base,
        60,
    );
    println!("NoFastRetry caught at seed {seed}: {v}");
}

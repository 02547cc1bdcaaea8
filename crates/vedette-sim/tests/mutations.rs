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
    let opts = RunOpts {
        on_new_sentinel: Some(hook),
        persist_failures,
        ..RunOpts::default()
    };
    let control = RunOpts {
        persist_failures,
        ..RunOpts::default()
    };
    for seed in 0..K {
        let o = run(seed, opts);
        if let Some(v) = o.violation {
            // Only count it if the unmutated core passes the same seed (a real core bug must not stand in
            // for the injected one).
            if expect.contains(&v.invariant) && run(seed, control).violation.is_none() {
                return (seed, v.to_string());
            }
        }
    }
    panic!("mutation not caught within {K} seeds (expected one of {expect:?})");
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
fn ignore_quorum_is_caught() {
    let (seed, v) = caught(
        |s, _| s.set_mutation(Some(Mutation::IgnoreQuorum)),
        &["odown_needs_quorum"],
    );
    println!("IgnoreQuorum caught at seed {seed}: {v}");
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

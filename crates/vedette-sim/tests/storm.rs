//! Failover storms ([`vedette_sim::Plan::storm`]): one host carrying many masters (one replica each) dies
//! at once under three sentinels. Every master must be switched on every sentinel within down-after + 1 s
//! of the kill (`storm_liveness`), each failing over exactly once (`storm_one_failover`), besides every
//! safety property of the general runs. Longer: `scripts/simulate --storm 100 --seeds 200`.

use vedette_sim::{default_threads, failure_report, run_many, RunOpts};

fn storm(masters: usize, seeds: u64, chaos: bool) {
    storm_with(
        RunOpts {
            storm_masters: masters,
            storm_chaos: chaos,
            ..RunOpts::default()
        },
        seeds,
    );
}

fn storm_with(opts: RunOpts, seeds: u64) {
    let chaos = opts.storm_chaos;
    let sum = run_many(0, seeds, default_threads(), opts);
    print!("{}", sum.render());
    if let Some((seed, _)) = sum.failures.first() {
        for (s, v) in &sum.failures {
            println!("FAIL seed {s}: {v}");
        }
        panic!(
            "{} of {} storms broke a property\n{}",
            sum.failures.len(),
            sum.histories,
            failure_report(*seed, opts)
        );
    }
    assert_eq!(sum.storm_runs, seeds);
    if !chaos {
        assert_eq!(sum.storm_double, 0);
    }
}

#[test]
fn storm_of_100_masters() {
    storm(100, 4, false);
}

#[test]
fn storm_of_30_masters() {
    storm(30, 12, false);
}

/// Storms over slow links: votes split, and the early abort and fast retry keep every master within the
/// (latency-scaled) deadline, each failing over once. Longer: `scripts/simulate --storm 20 --slow-links`.
#[test]
fn storm_of_20_masters_over_slow_links() {
    storm_with(
        RunOpts {
            storm_masters: 20,
            storm_slow: true,
            ..RunOpts::default()
        },
        30,
    );
}

/// Storms with partitions, crashes (also right after an election or a vote), loss, slow links and disks
/// on top: only the general safety properties, exercising epoch reuse, the early abort and the fast retry
/// under faults. Longer: `scripts/simulate --storm 10 --chaos --seeds 2000`.
#[test]
fn storm_of_10_masters_with_faults() {
    storm(10, 40, true);
}

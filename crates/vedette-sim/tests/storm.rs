//! Failover storms ([`vedette_sim::Plan::storm`]): one host carrying many masters (one replica each) dies
//! at once under three sentinels. Every master must be switched on every sentinel within down-after + 1 s
//! of the kill (`storm_liveness`), each failing over exactly once (`storm_one_failover`), besides every
//! safety property of the general runs. Longer: `scripts/simulate --storm 100 --seeds 200`.

use vedette_sim::{default_threads, failure_report, run_many, RunOpts};

fn storm(masters: usize, seeds: u64) {
    let opts = RunOpts {
        storm_masters: masters,
        ..RunOpts::default()
    };
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
    assert_eq!(sum.storm_double, 0);
}

#[test]
fn storm_of_30_masters() {
    storm(30, 12);
}

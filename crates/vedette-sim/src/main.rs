//! `vedette-sim`: run many seeds, or one seed with a trace.
//!
//! ```text
//! vedette-sim --seeds 10000 [--start 0] [--threads 2]
//! vedette-sim --seed 1234 [--trace]
//! vedette-sim --storm 100 --seeds 20
//! ```
//! `--storm N` derives failover-storm plans instead (a host carrying N masters, each with one replica,
//! dies at once under three sentinels; see `Plan::storm`) and prints how fast they were switched;
//! `--chaos` adds the general fault mix to each storm (`Plan::storm_chaos`, safety properties only);
//! `--slow-links` runs storms over slow links, where votes split (`Plan::storm_slow`).
//! `--no-persist-failures` keeps disks from failing writes and `--relax inv1,inv2` turns breaches of the
//! named properties into findings: both exist to look past a known bug for the next one.

use std::process::ExitCode;

use vedette_sim::{default_threads, failure_report, run, run_many, RunOpts, TraceMode};

fn usage() -> ExitCode {
    eprintln!(
        "usage: vedette-sim [--seeds N] [--start S] [--threads T] | --seed S [--trace]  \
         [--storm MASTERS [--chaos | --slow-links]] [--no-persist-failures] [--relax invariant,...]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seeds: u64 = 1000;
    let mut start: u64 = 0;
    let mut one: Option<u64> = None;
    let mut trace = false;
    let mut threads = default_threads();
    let mut opts = RunOpts::default();
    let mut i = 0;
    while i < args.len() {
        let val = |i: usize| args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match args[i].as_str() {
            "--seeds" | "--iterations" => match val(i) {
                Some(v) => {
                    seeds = v;
                    i += 1;
                }
                None => return usage(),
            },
            "--start" => match val(i) {
                Some(v) => {
                    start = v;
                    i += 1;
                }
                None => return usage(),
            },
            "--threads" => match val(i) {
                Some(v) => {
                    threads = v as usize;
                    i += 1;
                }
                None => return usage(),
            },
            "--seed" | "--reproduce" => match val(i) {
                Some(v) => {
                    one = Some(v);
                    i += 1;
                }
                None => return usage(),
            },
            "--trace" => trace = true,
            "--chaos" => opts.storm_chaos = true,
            "--slow-links" => opts.storm_slow = true,
            "--storm" => match val(i) {
                Some(v) => {
                    opts.storm_masters = v as usize;
                    i += 1;
                }
                None => return usage(),
            },
            "--no-persist-failures" => opts.persist_failures = false,
            "--relax" => match args.get(i + 1) {
                Some(v) => {
                    let names: Vec<&'static str> = v
                        .split(',')
                        .map(|n| &*Box::leak(n.trim().to_string().into_boxed_str()))
                        .collect();
                    opts.relaxed = Box::leak(names.into_boxed_slice());
                    i += 1;
                }
                None => return usage(),
            },
            "-h" | "--help" => {
                let _ = usage();
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
        i += 1;
    }
    if let Some(seed) = one {
        let plan = vedette_sim::plan_for(seed, opts);
        println!("plan: {}", plan.summary());
        for (n, f) in plan.faults.iter().enumerate() {
            println!(
                "  fault #{n}: at +{} ms for {} ms: {:?}",
                f.at, f.dur, f.kind
            );
        }
        let o = run(
            seed,
            RunOpts {
                trace: if trace {
                    TraceMode::Full
                } else {
                    TraceMode::Off
                },
                ..opts
            },
        );
        println!("history hash: {:016x}", o.history_hash);
        println!("stats: {:?}", o.stats);
        if o.stats.storm.is_some() {
            let mut sum = vedette_sim::Summary::default();
            sum.add(&o);
            for l in sum.render().lines().filter(|l| l.starts_with("storm:")) {
                println!("{l}");
            }
        }
        for f in &o.findings {
            println!("finding: {f}");
        }
        return match &o.violation {
            None => {
                println!("ok");
                ExitCode::SUCCESS
            }
            Some(_) => {
                println!("{}", failure_report(seed, opts));
                ExitCode::FAILURE
            }
        };
    }
    let sum = run_many(start, seeds, threads, opts);
    print!("{}", sum.render());
    for (seed, v) in sum.failures.iter().take(20) {
        println!("FAIL seed {seed}: {v}");
    }
    if let Some((seed, _)) = sum.failures.first() {
        println!("\n{}", failure_report(*seed, opts));
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

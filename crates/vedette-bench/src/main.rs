//! `vedette-bench`: failover timings, query throughput and resource use of vedette side by side with the
//! real `redis-sentinel`, on 127.0.0.1 with throw-away processes.
//!
//! Sections (all by default, `--sections` picks):
//! * `failover`: per implementation, fault kind (SIGKILL / SIGSTOP of the master) and trial, a fresh
//!   1 master + 2 replicas + 3 sentinels cluster; times every failover step after the fault from the
//!   sentinels' events and from a client writing through the sentinels; counts lost writes and spurious
//!   second failovers; with `--rejoin` also how long the returned old master stays writable.
//! * `throughput`: `redis-benchmark` of `SENTINEL get-master-addr-by-name` with and without pipelining.
//! * `resources`: RSS and CPU% of one idle sentinel per layout (1 master; 100 masters as 10 servers × 10
//!   names and as 100 servers × 1; 1000; 10,000) and per down-after (1000, 5000, 30000 ms).
//! * `storm` (only when asked for: `--storm` or `--sections storm`): a host carrying N masters (default
//!   100, `--storm-masters 100,1000`; each its own redis-server with its own replica) dies at once under
//!   3 sentinels; per run, the time until every master is switched on every sentinel, how many were
//!   switched within 1 / 2 / 3 / 4 / 5 / 10 s, the event timeline (every master `+sdown`, `+odown`,
//!   elected, promoted), spurious second switches, lost elections (`-failover-abort-not-elected`),
//!   peer `+sdown` / `+tilt` (stalled loops) and each sentinel's CPU time during the storm. Switches are
//!   timed from the sentinels' `+switch-master` events, not by polling them.
//!
//! Fixture load: pools of more than 200 resource servers and storms of more than 100 masters run their
//! redis-servers with `hz 1` (server cron once a second instead of ten times) and small limits, no
//! persistence in any section. That lightens the machine the sentinels run on, the same for both
//! implementations; it is not a setting of the sentinel under test.
//!
//! Implementations alternate (A B A B ...) so slow drifts of a shared machine hit both alike. Prints
//! Markdown tables of medians [min–max] and the vedette / redis-sentinel ratio; `--json` prints every raw
//! result as JSON on stdout instead (tables then go to stderr). Exits 1 only when something failed to run
//! or converge, never because of a timing.

mod client;
mod cluster;
mod failover;
mod procs;
mod report;
mod resources;
mod storm;
mod throughput;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};
use serde::Serialize;

use cluster::Timings;
use failover::{Fault, TrialOpts, TrialResult};
use procs::{Bins, Impl};
use report::{stat, Row, Stat};
use resources::{Layout, ResourceResult};
use storm::StormResult;
use throughput::ThroughputResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FaultArg {
    Kill,
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Only {
    Vedette,
    Redis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Section {
    Failover,
    Throughput,
    Resources,
    Storm,
}

#[derive(Debug, Parser)]
#[command(
    name = "vedette-bench",
    about = "Benchmarks vedette side by side with redis-sentinel"
)]
struct Args {
    /// Failover trials per implementation and fault kind [default: 10; 1 with --quick].
    #[arg(long)]
    trials: Option<usize>,
    /// Fault kinds: kill (SIGKILL the master), stop (SIGSTOP it).
    #[arg(long, value_delimiter = ',', default_value = "kill,stop")]
    faults: Vec<FaultArg>,
    /// One trial / run each and short windows (CI smoke test).
    #[arg(long)]
    quick: bool,
    /// Run only one implementation.
    #[arg(long)]
    only: Option<Only>,
    /// Sections to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "failover,throughput,resources"
    )]
    sections: Vec<Section>,
    /// After each failover, bring the old master back and time how long it stays a writable master.
    #[arg(long)]
    rejoin: bool,
    /// Print all raw results as JSON on stdout (tables go to stderr).
    #[arg(long)]
    json: bool,
    /// Measure fsync latency in the temp dir every 200 ms during the run (reported per trial and overall).
    #[arg(long)]
    fsync_probe: bool,
    /// Keep every trial's temp dir (configs, logs); failed trials always keep theirs.
    #[arg(long)]
    keep: bool,
    /// The vedette binary [default: `vedette` next to this binary].
    #[arg(long)]
    vedette_bin: Option<PathBuf>,
    #[arg(long, default_value = "redis-sentinel")]
    redis_sentinel_bin: PathBuf,
    #[arg(long, default_value = "redis-server")]
    redis_server_bin: PathBuf,
    #[arg(long, default_value = "redis-benchmark")]
    redis_benchmark_bin: PathBuf,
    /// `sentinel down-after-milliseconds`.
    #[arg(long, default_value_t = 1000)]
    down_after_ms: u64,
    /// `sentinel failover-timeout`.
    #[arg(long, default_value_t = 10000)]
    failover_timeout_ms: u64,
    /// A failover not converged this long after the fault is recorded as a failure.
    #[arg(long, default_value_t = 30)]
    trial_timeout_secs: u64,
    /// Seconds to keep watching after convergence (and after the rejoin) for spurious failovers.
    #[arg(long, default_value_t = 5)]
    watch_secs: u64,
    /// Pause of the writer after each acknowledged write.
    #[arg(long, default_value_t = 1)]
    write_interval_ms: u64,
    /// Throughput runs per implementation [default: 3; 1 with --quick].
    #[arg(long)]
    bench_runs: Option<usize>,
    /// redis-benchmark -n [default: 200000; 20000 with --quick].
    #[arg(long)]
    bench_requests: Option<u64>,
    /// redis-benchmark -c.
    #[arg(long, default_value_t = 50)]
    bench_clients: u32,
    /// Layouts of the resources section: MASTERS or MASTERS:NAMES_PER_SERVER [default:
    /// 1,100:10,100:1,1000:10,10000:10; 1,100:10 with --quick]. An implementation needing more
    /// descriptors than RLIMIT_NOFILE allows (redis-sentinel: 2 per master; vedette: 2 per server) is
    /// skipped for that layout with a "cannot run" line.
    #[arg(long, value_delimiter = ',')]
    layouts: Option<Vec<Layout>>,
    /// down-after-milliseconds values of the resources section [default: 1000,5000,30000; only
    /// --down-after-ms with --quick].
    #[arg(long, value_delimiter = ',')]
    resource_down_afters: Option<Vec<u64>>,
    /// Measurement window of the resources section in seconds [default: 30; 3 with --quick].
    #[arg(long)]
    resource_secs: Option<u64>,
    /// Resource runs per implementation and size.
    #[arg(long, default_value_t = 1)]
    resource_runs: usize,
    /// Names monitored per redis-server for a layout given as plain MASTERS (limits the hello fan-out).
    #[arg(long, default_value_t = 10)]
    names_per_server: usize,
    /// Run the failover-storm section only (same as `--sections storm`).
    #[arg(long)]
    storm: bool,
    /// Masters (each with its own replica) of the storm section; several sizes run one after the other
    /// (`--storm-masters 100,1000`). Above 100 masters the storm's redis-servers run with `--hz 1
    /// --repl-backlog-size 16kb` (fixture load, the same for both implementations).
    #[arg(long, value_delimiter = ',', default_value = "100")]
    storm_masters: Vec<usize>,
    /// Master redis-servers of a storm (each with one replica server), names dealt round-robin; a storm
    /// with fewer masters gets one server per master [default: one per master].
    #[arg(long, default_value_t = 0)]
    storm_servers: usize,
    /// Storm runs per implementation [default: 5; 1 with --quick].
    #[arg(long)]
    storm_runs: Option<usize>,
    /// A storm whose masters are not all switched everywhere this long after the kill is a failure.
    #[arg(long, default_value_t = 60)]
    storm_timeout_secs: u64,
}

#[derive(Serialize)]
struct Meta {
    unix_time: u64,
    nproc: usize,
    cpu_model: String,
    load_avg_at_start: String,
    vedette_version: String,
    redis_sentinel_version: String,
    redis_server_version: String,
    command: Vec<String>,
    timings: Timings,
    trials: usize,
    rejoin: bool,
    load_avg_at_end: String,
    /// `--fsync-probe` latencies over the whole run.
    fsync_ms: Option<Stat>,
    fsync_p99_ms: Option<f64>,
}

#[derive(Serialize)]
struct Target {
    target: String,
    met: Option<bool>,
    measured: String,
}

#[derive(Serialize)]
struct Output {
    meta: Meta,
    summary: Vec<Row>,
    targets: Vec<Target>,
    failover: Vec<TrialResult>,
    throughput: Vec<ThroughputResult>,
    resources: Vec<ResourceResult>,
    storm: Vec<StormResult>,
    errors: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    tokio::spawn(async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        procs::kill_all_registered();
        procs::remove_all_dirs();
        eprintln!("vedette-bench: interrupted; every started process killed");
        std::process::exit(130);
    });
    match run(args).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(n) => {
            eprintln!("vedette-bench: {n} trial(s) or run(s) failed (see above)");
            ExitCode::from(1)
        }
        Err(e) => {
            procs::kill_all_registered();
            eprintln!("vedette-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn default_vedette_bin() -> PathBuf {
    let next_to_us = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("vedette")));
    match next_to_us {
        Some(p) if p.exists() => p,
        _ => PathBuf::from("target/release/vedette"),
    }
}

async fn version(bin: &std::path::Path) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new(bin)
            .arg("--version")
            .kill_on_drop(true)
            .output(),
    )
    .await;
    match out {
        Ok(Ok(o)) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => "unknown".into(),
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

async fn run(mut args: Args) -> Result<usize> {
    if args.storm {
        args.sections = vec![Section::Storm];
    }
    let bins = Bins {
        vedette: args.vedette_bin.clone().unwrap_or_else(default_vedette_bin),
        redis_sentinel: args.redis_sentinel_bin.clone(),
        redis_server: args.redis_server_bin.clone(),
        redis_benchmark: args.redis_benchmark_bin.clone(),
    };
    let impls: Vec<Impl> = match args.only {
        Some(Only::Vedette) => vec![Impl::Vedette],
        Some(Only::Redis) => vec![Impl::Redis],
        None => vec![Impl::Vedette, Impl::Redis],
    };
    if impls.contains(&Impl::Vedette) && !bins.vedette.exists() {
        bail!(
            "vedette binary {} not found (cargo build --release, or --vedette-bin)",
            bins.vedette.display()
        );
    }
    let quick = args.quick;
    let trials = args.trials.unwrap_or(if quick { 1 } else { 10 });
    let timings = Timings {
        down_after_ms: args.down_after_ms,
        failover_timeout_ms: args.failover_timeout_ms,
    };
    let faults: Vec<Fault> = {
        let mut f: Vec<Fault> = args
            .faults
            .iter()
            .map(|f| match f {
                FaultArg::Kill => Fault::Kill,
                FaultArg::Stop => Fault::Stop,
            })
            .collect();
        f.dedup();
        f
    };
    let meta = Meta {
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        nproc: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        cpu_model: cpu_model(),
        load_avg_at_start: std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
            .to_string(),
        vedette_version: version(&bins.vedette).await,
        redis_sentinel_version: version(&bins.redis_sentinel).await,
        redis_server_version: version(&bins.redis_server).await,
        command: std::env::args().collect(),
        timings,
        trials,
        rejoin: args.rejoin,
        load_avg_at_end: String::new(),
        fsync_ms: None,
        fsync_p99_ms: None,
    };
    if args.fsync_probe {
        procs::start_fsync_probe()?;
    }
    eprintln!(
        "vedette-bench: {} ({}), {} CPUs, load {}",
        bins.vedette.display(),
        meta.vedette_version,
        meta.nproc,
        meta.load_avg_at_start
    );

    let mut errors = 0usize;
    let mut trial_results: Vec<TrialResult> = Vec::new();
    let mut tp_results: Vec<ThroughputResult> = Vec::new();
    let mut res_results: Vec<ResourceResult> = Vec::new();

    if args.sections.contains(&Section::Failover) {
        let o = TrialOpts {
            timings,
            trial_timeout: Duration::from_secs(args.trial_timeout_secs),
            watch: Duration::from_secs(args.watch_secs),
            rejoin: args.rejoin,
            write_interval: Duration::from_millis(args.write_interval_ms),
            keep: args.keep,
        };
        for t in 0..trials {
            for &fault in &faults {
                for &imp in &impls {
                    let r = failover::run_trial(&bins, imp, fault, t, &o).await;
                    eprintln!(
                        "[failover {} {}/{}] {}: {}",
                        fault.label(),
                        t + 1,
                        trials,
                        imp.label(),
                        r.summary()
                    );
                    if let Some(d) = &r.workdir {
                        eprintln!("  files kept in {d}");
                    }
                    if r.error.is_some() || !r.converged {
                        errors += 1;
                    }
                    trial_results.push(r);
                }
            }
        }
    }

    if args.sections.contains(&Section::Throughput) {
        let runs = args.bench_runs.unwrap_or(if quick { 1 } else { 3 });
        let o = throughput::ThroughputOpts {
            clients: args.bench_clients,
            requests: args
                .bench_requests
                .unwrap_or(if quick { 20_000 } else { 200_000 }),
            pipelines: [1, 16],
        };
        for run in 0..runs {
            for &imp in &impls {
                for r in throughput::run(&bins, imp, run, timings, o).await {
                    eprintln!(
                        "[throughput {}/{runs}] {} -P {}: {} req/s, {} µs CPU/request{}",
                        run + 1,
                        imp.label(),
                        r.pipeline,
                        report::or_dash(r.rps, 0),
                        report::or_dash(r.cpu_us_per_request, 2),
                        report::error_tail(r.error.as_deref())
                    );
                    if r.error.is_some() {
                        errors += 1;
                    }
                    tp_results.push(r);
                }
            }
        }
    }

    let mut layouts: Vec<Layout> = Vec::new();
    let mut res_das: Vec<u64> = Vec::new();
    if args.sections.contains(&Section::Resources) {
        let window = Duration::from_secs(args.resource_secs.unwrap_or(if quick { 3 } else { 30 }));
        let warmup = if quick {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(3)
        };
        let nps = args.names_per_server.max(1);
        layouts = args.layouts.clone().unwrap_or_else(|| {
            let all: &[(usize, usize)] = if quick {
                &[(1, 1), (100, 10)]
            } else {
                &[(1, 1), (100, 10), (100, 1), (1000, 10), (10000, 10)]
            };
            all.iter()
                .map(|&(masters, names_per_server)| Layout {
                    masters,
                    names_per_server,
                })
                .collect()
        });
        for l in &mut layouts {
            if l.names_per_server == 0 {
                l.names_per_server = nps;
            }
        }
        res_das = args.resource_down_afters.clone().unwrap_or_else(|| {
            if quick {
                vec![args.down_after_ms]
            } else {
                vec![1000, 5000, 30000]
            }
        });
        let nofile = procs::raise_nofile();
        eprintln!("[resources] {nofile}");
        // A layout runs for each implementation whose sentinel fits in the descriptor limit; one that
        // fits neither is dropped before its servers are started.
        layouts.retain(|l| {
            let ok = impls.iter().any(|&i| l.descriptors(i) <= nofile.soft);
            if !ok {
                eprintln!("[resources] skipping {l}: no implementation fits in {nofile}");
            }
            ok
        });
        let servers = layouts.iter().map(Layout::servers).max().unwrap_or(1);
        eprintln!(
            "[resources] starting {servers} redis-server(s){}",
            if servers > resources::FLEET_ABOVE {
                format!(" with {}", resources::FLEET_ARGS.join(" "))
            } else {
                String::new()
            }
        );
        let pool = resources::Pool::start(&bins, servers).await?;
        eprintln!(
            "[resources] {servers} redis-server(s) answering PING after {:.1} s",
            pool.started_in.as_secs_f64()
        );
        for &da in &res_das {
            for &layout in &layouts {
                for run in 0..args.resource_runs {
                    for &imp in &impls {
                        let need = layout.descriptors(imp);
                        if need > nofile.soft {
                            // It would start, then never hear back from the links beyond its limit.
                            eprintln!(
                                "[resources {layout}, down-after {da} ms {}/{}] {}: cannot run: needs \
                                 {need} descriptors, {} limit {}",
                                run + 1,
                                args.resource_runs,
                                imp.label(),
                                if need > nofile.hard { "hard" } else { "soft" },
                                if need > nofile.hard { nofile.hard } else { nofile.soft },
                            );
                            continue;
                        }
                        let o = resources::ResourceOpts {
                            layout,
                            warmup,
                            window,
                            timings: Timings {
                                down_after_ms: da,
                                ..timings
                            },
                        };
                        let r = resources::run(&bins, imp, run, &pool, o).await;
                        eprintln!(
                            "[resources {layout}, down-after {da} ms {}/{}] {}: RSS {} MiB, CPU {} % \
                             (SENTINEL MASTERS answered in {} ms){}",
                            run + 1,
                            args.resource_runs,
                            imp.label(),
                            report::or_dash(r.rss_mib, 1),
                            report::or_dash(r.cpu_pct, 2),
                            report::or_dash(r.masters_reply_ms, 0),
                            report::error_tail(r.error.as_deref())
                        );
                        if r.error.is_some() {
                            errors += 1;
                        }
                        res_results.push(r);
                    }
                }
            }
        }
    }

    let mut storm_results: Vec<StormResult> = Vec::new();
    if args.sections.contains(&Section::Storm) {
        let nofile = procs::raise_nofile();
        let runs = args.storm_runs.unwrap_or(if quick { 1 } else { 5 });
        for &masters in &args.storm_masters {
            let o = storm::StormOpts {
                masters: masters.max(1),
                servers: args.storm_servers,
                timings,
                timeout: Duration::from_secs(args.storm_timeout_secs),
                watch: Duration::from_secs(args.watch_secs),
                keep: args.keep,
            };
            eprintln!(
                "[storm] {} masters on {} master + {} replica redis-servers, 3 sentinels, {runs} run(s) per \
                 implementation ({nofile}; redis-servers with {}; switches timed by +switch-master events)",
                o.masters,
                o.server_count(),
                o.server_count(),
                if o.large() {
                    [storm::REDIS_ARGS, storm::LARGE_ARGS].concat().join(" ")
                } else {
                    storm::REDIS_ARGS.join(" ")
                }
            );
            for run in 0..runs {
                for &imp in &impls {
                    let r = storm::run(&bins, imp, run, &o).await;
                    eprintln!(
                        "[storm {} masters {}/{runs}] {}: {}",
                        o.masters,
                        run + 1,
                        imp.label(),
                        r.summary()
                    );
                    if let Some(d) = &r.workdir {
                        eprintln!("  files kept in {d}");
                    }
                    if r.failed() {
                        errors += 1;
                    }
                    storm_results.push(r);
                }
            }
        }
    }

    procs::stop_fsync_probe();
    let mut meta = meta;
    meta.load_avg_at_end = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string();
    let mut fs = procs::fsync_all();
    meta.fsync_ms = stat(&fs.iter().map(|&x| Some(x)).collect::<Vec<_>>());
    fs.sort_by(f64::total_cmp);
    meta.fsync_p99_ms = fs
        .get((fs.len() * 99 / 100).min(fs.len().saturating_sub(1)))
        .copied();
    let (mut tables, mut rows) = tables(
        &trial_results,
        &faults,
        &tp_results,
        &res_results,
        (&layouts, &res_das),
        trials,
        timings,
    );
    // The storm results grouped by size (one table and one set of targets per size).
    let storm_groups: Vec<Vec<StormResult>> = storm_sizes(&storm_results)
        .into_iter()
        .map(|masters| {
            storm_results
                .iter()
                .filter(|r| r.masters == masters)
                .cloned()
                .collect()
        })
        .collect();
    for of_size in &storm_groups {
        let (t, r) = storm_table(of_size, timings);
        tables.push_str(&t);
        rows.extend(r);
    }
    let mut targets = targets(
        &rows,
        &faults,
        (&layouts, &res_das),
        timings,
        args.rejoin,
        &trial_results,
    );
    for of_size in &storm_groups {
        targets.extend(storm_targets(of_size, timings));
    }
    let mut text = format!(
        "Load average at start: {}; at end: {}\n",
        meta.load_avg_at_start, meta.load_avg_at_end
    );
    if let Some(f) = meta.fsync_ms {
        text.push_str(&format!(
            "fsync probe (write + fsync + rename + fsync dir in the temp dir, every 200 ms): median {:.1} ms, \
             p99 {:.1} ms, max {:.1} ms over {} samples\n",
            f.median,
            meta.fsync_p99_ms.unwrap_or(f.max),
            f.max,
            f.n
        ));
    }
    text.push_str(&tables);
    text.push_str("\nTargets (informational; timings never fail the run):\n\n");
    for t in &targets {
        let mark = match t.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "n/a",
        };
        text.push_str(&format!("- [{mark}] {}: {}\n", t.target, t.measured));
    }
    if args.json {
        eprintln!("{text}");
        let out = Output {
            meta,
            summary: rows,
            targets,
            failover: trial_results,
            throughput: tp_results,
            resources: res_results,
            storm: storm_results,
            errors,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{text}");
    }
    Ok(errors)
}

/// Per-implementation values of a figure.
fn split<T>(
    items: &[T],
    imp: impl Fn(&T) -> Impl,
    f: impl Fn(&T) -> Option<f64>,
) -> (Option<Stat>, Option<Stat>) {
    let of = |i: Impl| {
        let v: Vec<Option<f64>> = items.iter().filter(|x| imp(x) == i).map(&f).collect();
        stat(&v)
    };
    (of(Impl::Vedette), of(Impl::Redis))
}

type TrialFigure = (
    &'static str,
    &'static str,
    usize,
    fn(&TrialResult) -> Option<f64>,
);

const TRIAL_FIGURES: &[TrialFigure] = &[
    ("first +sdown (any sentinel)", "ms", 0, |r| r.sdown_ms),
    ("first +odown", "ms", 0, |r| r.odown_ms),
    ("+elected-leader", "ms", 0, |r| r.elected_ms),
    ("+promoted-slave", "ms", 0, |r| r.promoted_ms),
    ("first +switch-master", "ms", 0, |r| r.switch_ms),
    ("all sentinels report the new master", "ms", 0, |r| {
        r.all_agree_ms
    }),
    ("first write acked by the new master", "ms", 0, |r| {
        r.first_write_ms
    }),
    (
        "outage beyond detection (first write − down-after)",
        "ms",
        0,
        |r| r.outage_beyond_detection_ms,
    ),
    (
        "client write gap (last ack on old → first on new)",
        "ms",
        0,
        |r| r.write_gap_ms,
    ),
    ("other replica re-linked to the new master", "ms", 0, |r| {
        r.relinked_ms
    }),
    ("returned old master writable for", "ms", 0, |r| {
        r.rejoin_writable_ms
    }),
    (
        "probe writes accepted by the returned old master",
        "count",
        0,
        |r| r.rejoin_acked_writes.map(|x| x as f64),
    ),
    ("spurious extra +switch-master", "count", 0, |r| {
        r.spurious_switches.map(|x| x as f64)
    }),
    ("acknowledged writes per trial", "writes", 0, |r| {
        Some(r.acked_writes as f64)
    }),
    ("lost acknowledged writes", "count", 0, |r| {
        r.lost_writes.map(|x| x as f64)
    }),
    (
        "lost writes acknowledged after the failover",
        "count",
        0,
        |r| r.lost_after_failover.map(|x| x as f64),
    ),
    ("failed trials", "count", 0, |r| {
        Some(if r.error.is_some() || !r.converged {
            1.0
        } else {
            0.0
        })
    }),
];

#[allow(clippy::too_many_arguments)]
fn tables(
    trials_r: &[TrialResult],
    faults: &[Fault],
    tp: &[ThroughputResult],
    res: &[ResourceResult],
    (layouts, das): (&[Layout], &[u64]),
    trials: usize,
    timings: Timings,
) -> (String, Vec<Row>) {
    let mut text = String::new();
    let mut all = Vec::new();
    if !trials_r.is_empty() {
        for &fault in faults {
            let section = format!("failover-{}", fault.label());
            let these: Vec<&TrialResult> = trials_r.iter().filter(|r| r.fault == fault).collect();
            let rows: Vec<Row> = TRIAL_FIGURES
                .iter()
                .filter(|(name, ..)| {
                    !name.contains("returned old master")
                        || these.iter().any(|r| r.rejoin_writable_ms.is_some())
                })
                .map(|(name, unit, d, f)| {
                    let (v, r) = split(&these, |r| r.implementation, |r| f(r));
                    Row::new(&section, name, unit, *d, v, r)
                })
                .collect();
            text.push_str(&format!(
                "\n### Failover, fault = {} of the master ({} trial(s) per implementation; down-after {} ms, \
                 failover-timeout {} ms; times in ms after the fault)\n\n",
                match fault {
                    Fault::Kill => "SIGKILL",
                    Fault::Stop => "SIGSTOP",
                },
                trials,
                timings.down_after_ms,
                timings.failover_timeout_ms
            ));
            text.push_str(&report::markdown(&rows));
            all.extend(rows);
        }
    }
    if !tp.is_empty() {
        let mut rows = Vec::new();
        for p in [1u32, 16] {
            let these: Vec<&ThroughputResult> = tp.iter().filter(|r| r.pipeline == p).collect();
            let (v, r) = split(&these, |r| r.implementation, |r| r.rps);
            rows.push(Row::new(
                "throughput",
                &format!("requests/s, -P {p}"),
                "req/s",
                0,
                v,
                r,
            ));
            let (v, r) = split(&these, |r| r.implementation, |r| r.p50_ms);
            rows.push(Row::new(
                "throughput",
                &format!("p50 latency, -P {p}"),
                "ms",
                3,
                v,
                r,
            ));
            let (v, r) = split(&these, |r| r.implementation, |r| r.cpu_us_per_request);
            rows.push(Row::new(
                "throughput",
                &format!("sentinel CPU per request, -P {p}"),
                "µs",
                2,
                v,
                r,
            ));
        }
        let c = tp
            .first()
            .map(|r| (r.clients, r.requests))
            .unwrap_or((0, 0));
        text.push_str(&format!(
            "\n### Query throughput (redis-benchmark -c {} -n {} SENTINEL get-master-addr-by-name mymaster)\n\n",
            c.0, c.1
        ));
        text.push_str(&report::markdown(&rows));
        all.extend(rows);
    }
    if !res.is_empty() {
        let w = res.first().map(|r| r.window_s).unwrap_or(0.0);
        for &da in das {
            let mut rows = Vec::new();
            for &l in layouts {
                let these: Vec<&ResourceResult> = res
                    .iter()
                    .filter(|r| {
                        r.masters == l.masters
                            && r.names_per_server == l.names_per_server
                            && r.down_after_ms == da
                    })
                    .collect();
                let (v, r) = split(&these, |r| r.implementation, |r| r.rss_mib);
                let section = format!("resources-{da}");
                rows.push(Row::new(&section, &format!("RSS, {l}"), "MiB", 1, v, r));
                let (v, r) = split(&these, |r| r.implementation, |r| r.cpu_pct);
                rows.push(Row::new(&section, &format!("CPU, {l}"), "%", 2, v, r));
            }
            text.push_str(&format!(
                "\n### Resources of one idle sentinel, down-after {da} ms (window {w:.0} s; RSS at the end of the window)\n\n"
            ));
            text.push_str(&report::markdown(&rows));
            all.extend(rows);
        }
    }
    (text, all)
}

type StormFigure = (&'static str, &'static str, fn(&StormResult) -> Option<f64>);

const STORM_FIGURES: &[StormFigure] = &[
    ("every master +sdown on every sentinel", "ms", |r| {
        r.all_sdown_ms
    }),
    ("every master +odown (on some sentinel)", "ms", |r| {
        r.all_odown_ms
    }),
    ("every master +elected-leader", "ms", |r| r.all_elected_ms),
    ("every master +promoted-slave", "ms", |r| r.all_promoted_ms),
    (
        "first +switch-master (any master, any sentinel)",
        "ms",
        |r| r.first_switch_ms,
    ),
    ("median master switched on every sentinel", "ms", |r| {
        r.median_switched_ms
    }),
    ("every master switched on every sentinel", "ms", |r| {
        r.all_switched_ms
    }),
    ("masters switched everywhere within 1 s", "count", |r| {
        r.switched_within.first().map(|&n| n as f64)
    }),
    ("masters switched everywhere within 2 s", "count", |r| {
        r.switched_within.get(1).map(|&n| n as f64)
    }),
    ("masters switched everywhere within 3 s", "count", |r| {
        r.switched_within.get(2).map(|&n| n as f64)
    }),
    ("masters switched everywhere within 4 s", "count", |r| {
        r.switched_within.get(3).map(|&n| n as f64)
    }),
    ("masters switched everywhere within 5 s", "count", |r| {
        r.switched_within.get(4).map(|&n| n as f64)
    }),
    ("masters switched everywhere within 10 s", "count", |r| {
        r.switched_within.get(5).map(|&n| n as f64)
    }),
    (
        "spurious failovers (masters switched twice)",
        "count",
        |r| Some(r.spurious_masters as f64),
    ),
    ("+try-failover (all sentinels)", "count", |r| {
        Some(r.try_failover as f64)
    }),
    (
        "-failover-abort-not-elected (all sentinels)",
        "count",
        |r| Some(r.aborts_not_elected as f64),
    ),
    ("peer sentinels flagged +sdown", "count", |r| {
        Some(r.peer_sdown as f64)
    }),
    ("+tilt", "count", |r| Some(r.tilts as f64)),
    (
        "busiest sentinel's CPU from the kill to all switched",
        "ms",
        |r| r.sentinel_cpu_ms.iter().copied().reduce(f64::max),
    ),
    ("settle (start to all discovered)", "ms", |r| r.settle_ms),
    ("failed runs", "count", |r| {
        Some(if r.failed() { 1.0 } else { 0.0 })
    }),
];

/// The storm sizes that ran, in the order they ran.
fn storm_sizes(res: &[StormResult]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for r in res {
        if !out.contains(&r.masters) {
            out.push(r.masters);
        }
    }
    out
}

fn storm_table(res: &[StormResult], timings: Timings) -> (String, Vec<Row>) {
    let masters = res.first().map_or(0, |r| r.masters);
    let servers = res.first().map_or(0, |r| r.servers);
    let section = format!("storm-{masters}");
    let rows: Vec<Row> = STORM_FIGURES
        .iter()
        .map(|(name, unit, f)| {
            let (v, r) = split(res, |r| r.implementation, f);
            Row::new(&section, name, unit, 0, v, r)
        })
        .collect();
    let runs = res
        .iter()
        .filter(|r| r.implementation == res[0].implementation)
        .count();
    let mut text = format!(
        "\n### Failover storm: {masters} masters on {servers} master servers (+ {servers} replica servers) \
         SIGKILLed at once, 3 sentinels ({runs} run(s) per implementation; down-after {} ms, failover-timeout \
         {} ms; times in ms after the kill)\n\n",
        timings.down_after_ms,
        timings.failover_timeout_ms
    );
    text.push_str(&report::markdown(&rows));
    (text, rows)
}

/// The storm targets: Step 6's 100 masters within down-after + 1 s in ≥ 5 runs; Step 7's larger storms
/// (1000 masters) within down-after + 3 s in ≥ 2 runs; 0 spurious failovers in both.
fn storm_targets(res: &[StormResult], timings: Timings) -> Vec<Target> {
    let ved: Vec<&StormResult> = res
        .iter()
        .filter(|r| r.implementation == Impl::Vedette)
        .collect();
    if ved.is_empty() {
        return Vec::new();
    }
    let masters = ved[0].masters;
    let (slack_s, min_runs) = if masters <= 100 { (1, 5) } else { (3, 2) };
    let limit = (timings.down_after_ms + slack_s * 1000) as f64;
    let within = ved
        .iter()
        .filter(|r| r.all_switched_ms.is_some_and(|t| t <= limit))
        .count();
    let spurious: usize = ved.iter().map(|r| r.spurious_masters).sum();
    let worst = ved
        .iter()
        .map(|r| r.all_switched_ms.unwrap_or(f64::INFINITY))
        .fold(0.0, f64::max);
    let redis: Vec<f64> = res
        .iter()
        .filter(|r| r.implementation == Impl::Redis)
        .filter_map(|r| r.all_switched_ms)
        .collect();
    let redis_med = stat(&redis.iter().map(|&x| Some(x)).collect::<Vec<_>>());
    vec![Target {
        target: format!(
            "storm of {masters} masters: every master switched on every sentinel within down-after + {slack_s} s \
             in every run (≥ {min_runs} runs), 0 spurious failovers"
        ),
        met: Some(within == ved.len() && ved.len() >= min_runs && spurious == 0),
        measured: format!(
            "vedette: {within}/{} run(s) within {limit:.0} ms, worst {}, {spurious} spurious; redis-sentinel median {}",
            ved.len(),
            if worst.is_finite() {
                format!("{worst:.0} ms")
            } else {
                "not all switched".into()
            },
            redis_med.map_or("-".into(), |s| format!("{:.0} ms", s.median))
        ),
    }]
}

fn find<'a>(rows: &'a [Row], section: &str, figure: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.section == section && r.figure == figure)
}

fn targets(
    rows: &[Row],
    faults: &[Fault],
    (layouts, das): (&[Layout], &[u64]),
    timings: Timings,
    rejoin: bool,
    trials: &[TrialResult],
) -> Vec<Target> {
    let mut out = Vec::new();
    let med = |r: Option<&Row>, i: Impl| r.and_then(|r| r.get(i)).map(|s| s.median);
    for &fault in faults {
        let sec = format!("failover-{}", fault.label());
        let ved: Vec<&TrialResult> = trials
            .iter()
            .filter(|r| r.implementation == Impl::Vedette && r.fault == fault)
            .collect();
        if trials.is_empty() {
            // The failover section did not run (e.g. `--storm` alone).
            continue;
        }
        // A per-trial limit is met only when every vedette trial meets it.
        let per_trial =
            |f: fn(&TrialResult) -> Option<f64>, limit: f64| -> (Option<bool>, String) {
                let vals: Vec<Option<f64>> = ved.iter().map(|r| f(r)).collect();
                let Some(s) = stat(&vals) else {
                    return (None, "vedette: not measured".into());
                };
                let over = vals.iter().filter(|v| v.is_none_or(|v| v > limit)).count();
                (
                    Some(over == 0),
                    format!(
                    "vedette median {:.0} ms, max {:.0} ms; {over}/{} trial(s) over {limit:.0} ms",
                    s.median,
                    s.max,
                    vals.len()
                ),
                )
            };
        let row = find(
            rows,
            &sec,
            "outage beyond detection (first write − down-after)",
        );
        let r = med(row, Impl::Redis);
        let (met, measured) = per_trial(|t| t.outage_beyond_detection_ms, 250.0);
        let v = med(row, Impl::Vedette);
        let fifth = v.zip(r).map(|(v, r)| v <= r / 5.0);
        out.push(Target {
            target: format!(
                "[{}] outage beyond detection ≤ 250 ms (every trial) and median ≤ 1/5 of redis-sentinel's",
                fault.label()
            ),
            met: met.map(|m| m && fifth.unwrap_or(true)),
            measured: format!(
                "{measured}; redis-sentinel median {}",
                r.map_or("-".into(), |x| format!("{x:.0} ms"))
            ),
        });
        let limit = timings.down_after_ms as f64 + 500.0;
        let (met, measured) = per_trial(|t| t.all_agree_ms, limit);
        out.push(Target {
            target: format!(
                "[{}] all sentinels report the new master within down-after + 500 ms (every trial)",
                fault.label()
            ),
            met,
            measured,
        });
        if rejoin {
            let (met, measured) = per_trial(|t| t.rejoin_writable_ms, 1000.0);
            out.push(Target {
                target: format!(
                    "[{}] returned old master writable ≤ 1 s (every trial)",
                    fault.label()
                ),
                met,
                measured,
            });
        }
    }
    let ved: Vec<&TrialResult> = trials
        .iter()
        .filter(|r| r.implementation == Impl::Vedette)
        .collect();
    if !ved.is_empty() {
        let lost: u64 = ved.iter().filter_map(|r| r.lost_after_failover).sum();
        let spurious: u64 = ved.iter().filter_map(|r| r.spurious_switches).sum();
        out.push(Target {
            target: "0 lost writes acknowledged after the failover, 0 spurious second failovers".into(),
            met: Some(lost == 0 && spurious == 0),
            measured: format!("vedette: {lost} lost after failover, {spurious} spurious +switch-master over all trials"),
        });
    }
    for p in [1, 16] {
        let row = find(rows, "throughput", &format!("requests/s, -P {p}"));
        let (v, r) = (med(row, Impl::Vedette), med(row, Impl::Redis));
        if v.is_some() {
            out.push(Target {
                target: format!("query throughput (-P {p}) ≥ redis-sentinel's"),
                met: v.zip(r).map(|(v, r)| v >= r),
                measured: format!(
                    "vedette {} req/s, redis-sentinel {} req/s",
                    v.map_or("-".into(), |x| format!("{x:.0}")),
                    r.map_or("-".into(), |x| format!("{x:.0}"))
                ),
            });
        }
    }
    for &da in das {
        for &l in layouts {
            for (fig, unit) in [("RSS", "MiB"), ("CPU", "%")] {
                let row = find(rows, &format!("resources-{da}"), &format!("{fig}, {l}"));
                let (v, r) = (med(row, Impl::Vedette), med(row, Impl::Redis));
                if v.is_none() {
                    continue;
                }
                out.push(Target {
                    target: format!("{fig} with {l}, down-after {da} ms ≤ redis-sentinel's"),
                    met: v.zip(r).map(|(v, r)| v <= r),
                    measured: format!(
                        "vedette {} {unit}, redis-sentinel {} {unit}",
                        v.map_or("-".into(), |x| format!("{x:.2}")),
                        r.map_or("-".into(), |x| format!("{x:.2}"))
                    ),
                });
            }
        }
    }
    out
}

//! Query throughput: `redis-benchmark ... SENTINEL get-master-addr-by-name mymaster` against one sentinel
//! of a settled cluster (monitoring a live master), with and without pipelining.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::cluster::{Cluster, Timings, MASTER_NAME};
use crate::procs::{self, Bins, Impl};

#[derive(Clone, Debug, Serialize)]
pub struct ThroughputResult {
    pub implementation: Impl,
    pub run: usize,
    pub pipeline: u32,
    pub clients: u32,
    pub requests: u64,
    pub rps: Option<f64>,
    pub p50_ms: Option<f64>,
    /// CPU time the sentinel spent per request (utime + stime over the run / requests).
    pub cpu_us_per_request: Option<f64>,
    pub error: Option<String>,
}

/// Knobs of the throughput section.
#[derive(Clone, Copy, Debug)]
pub struct ThroughputOpts {
    pub clients: u32,
    pub requests: u64,
    pub pipelines: [u32; 2],
}

/// One run: a fresh cluster of `imp`, one redis-benchmark per pipeline depth.
pub async fn run(
    bins: &Bins,
    imp: Impl,
    run: usize,
    timings: Timings,
    o: ThroughputOpts,
) -> Vec<ThroughputResult> {
    let mk = |pipeline, error: Option<String>| ThroughputResult {
        implementation: imp,
        run,
        pipeline,
        clients: o.clients,
        requests: o.requests,
        rps: None,
        p50_ms: None,
        cpu_us_per_request: None,
        error,
    };
    let cluster = match setup(bins, imp, run, timings).await {
        Ok(c) => c,
        Err(e) => {
            return o
                .pipelines
                .iter()
                .map(|&p| mk(p, Some(format!("{e:#}"))))
                .collect()
        }
    };
    let port = cluster.sentinel_ports[0];
    let pid = cluster.sentinels[0].pid();
    let mut out = Vec::new();
    for &p in &o.pipelines {
        let mut r = mk(p, None);
        let before = procs::cpu_ticks(pid);
        match benchmark(bins, port, o.clients, o.requests, p).await {
            Ok((rps, p50)) => {
                r.rps = Some(rps);
                r.p50_ms = Some(p50);
                if let (Some(a), Some(b)) = (before, procs::cpu_ticks(pid)) {
                    let secs = (b.saturating_sub(a)) as f64 / procs::clk_tck();
                    r.cpu_us_per_request = Some(secs * 1e6 / o.requests as f64);
                }
            }
            Err(e) => r.error = Some(format!("{e:#}")),
        }
        out.push(r);
    }
    out
}

async fn setup(bins: &Bins, imp: Impl, run: usize, timings: Timings) -> Result<Cluster> {
    let c = Cluster::start(bins, imp, timings, &format!("throughput-{run}")).await?;
    c.settle(Duration::from_secs(30)).await?;
    Ok(c)
}

/// Runs redis-benchmark (bounded to 5 minutes) and returns (requests per second, p50 latency in ms).
async fn benchmark(
    bins: &Bins,
    port: u16,
    clients: u32,
    requests: u64,
    pipeline: u32,
) -> Result<(f64, f64)> {
    let mut cmd = tokio::process::Command::new(&bins.redis_benchmark);
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-c", &clients.to_string(), "-n", &requests.to_string()])
        .args(["-P", &pipeline.to_string(), "--csv"])
        .args(["SENTINEL", "get-master-addr-by-name", MASTER_NAME])
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .map_err(|_| anyhow!("redis-benchmark took more than 5 minutes"))?
        .context("running redis-benchmark")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("redis-benchmark failed ({}): {text}", out.status);
    }
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
    let line = text
        .lines()
        .find(|l| l.starts_with("\"SENTINEL"))
        .ok_or_else(|| anyhow!("no result line in redis-benchmark output: {text}"))?;
    let fields: Vec<&str> = line.split("\",\"").map(|f| f.trim_matches('"')).collect();
    let num = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| anyhow!("bad redis-benchmark line: {line}"))
    };
    Ok((num(1)?, num(4)?))
}

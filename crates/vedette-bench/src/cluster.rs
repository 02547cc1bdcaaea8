//! The test topology: 1 master + 2 replicas (redis-server) watched by 3 sentinels of one implementation,
//! all on 127.0.0.1 in a temp dir.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::client;
use crate::procs::{self, Bins, Impl, Proc, WorkDir};

/// Name every sentinel monitors the master under.
pub const MASTER_NAME: &str = "mymaster";

/// Sentinel timings written into every `sentinel.conf`.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Timings {
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
}

pub struct Cluster {
    pub imp: Impl,
    pub dir: WorkDir,
    pub master: u16,
    pub replicas: [u16; 2],
    pub sentinel_ports: Vec<u16>,
    /// redis-server processes by port.
    pub redis: BTreeMap<u16, Proc>,
    pub sentinels: Vec<Proc>,
}

impl Cluster {
    /// Starts the redis-servers (replicas in sync) and the 3 sentinels (answering PING); does not wait for
    /// the sentinels to discover each other (see [`Cluster::settle`]).
    pub async fn start(bins: &Bins, imp: Impl, timings: Timings, label: &str) -> Result<Cluster> {
        let dir = WorkDir::new(&format!("{label}-{}", imp.label()))?;
        let master = procs::free_port()?;
        let replicas = [procs::free_port()?, procs::free_port()?];
        let mut redis = BTreeMap::new();
        redis.insert(
            master,
            procs::start_redis(bins, &dir.path, master, None, &[]).await?,
        );
        for r in replicas {
            redis.insert(
                r,
                procs::start_redis(bins, &dir.path, r, Some(master), &[]).await?,
            );
        }
        let mut cluster = Cluster {
            imp,
            dir,
            master,
            replicas,
            sentinel_ports: Vec::new(),
            redis,
            sentinels: Vec::new(),
        };
        for r in replicas {
            wait_link_up(r, master, Duration::from_secs(15)).await?;
        }
        let conf = format!(
            "sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} {}\n\
             sentinel failover-timeout {MASTER_NAME} {}\n",
            timings.down_after_ms, timings.failover_timeout_ms
        );
        for i in 0..3 {
            let port = procs::free_port()?;
            let sdir = cluster.dir.sub(&format!("sentinel-{i}"))?;
            let p = procs::start_sentinel(bins, imp, &sdir, port, &conf).await?;
            cluster.sentinel_ports.push(port);
            cluster.sentinels.push(p);
        }
        Ok(cluster)
    }

    /// Waits until every sentinel sees the master healthy with 2 replicas and 2 other sentinels.
    pub async fn settle(&self, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        let deadline = start + timeout;
        loop {
            let last = match self.settled().await {
                Ok(()) => return Ok(start.elapsed()),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                bail!(
                    "{} cluster did not settle within {timeout:?}: {last}",
                    self.imp.label()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn settled(&self) -> Result<()> {
        for &s in &self.sentinel_ports {
            let v = client::cmd_once(
                s,
                &["SENTINEL", "master", MASTER_NAME],
                Duration::from_millis(500),
            )
            .await?;
            let m = client::as_map(&v);
            let get = |k: &str| m.get(k).map(String::as_str).unwrap_or("?");
            if get("flags") != "master"
                || get("num-slaves") != "2"
                || get("num-other-sentinels") != "2"
            {
                bail!(
                    "sentinel {s}: flags={} num-slaves={} num-other-sentinels={}",
                    get("flags"),
                    get("num-slaves"),
                    get("num-other-sentinels")
                );
            }
        }
        Ok(())
    }

    /// Kills every process (sentinels first, so they do not react to the redis-servers going away).
    pub fn kill_all(&mut self) {
        for s in &mut self.sentinels {
            s.kill();
        }
        for r in self.redis.values_mut() {
            r.kill();
        }
    }

    /// Last log lines of every sentinel, for failure reports.
    pub fn sentinel_logs(&self, lines: usize) -> String {
        self.sentinels
            .iter()
            .map(|s| {
                format!(
                    "--- {} ({})\n{}",
                    s.name,
                    s.log.display(),
                    s.log_tail(lines)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Waits until the replica on `port` replicates from `master` with its link up.
pub async fn wait_link_up(port: u16, master: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if replica_linked(port, master).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("replica {port} not linked to {master} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// True when the redis-server on `port` is a replica of `master` with `master_link_status:up`.
pub async fn replica_linked(port: u16, master: u16) -> bool {
    let Ok(v) = client::cmd_once(port, &["INFO", "replication"], Duration::from_millis(200)).await
    else {
        return false;
    };
    let f = client::info_fields(&v);
    f.get("role").map(String::as_str) == Some("slave")
        && f.get("master_port").and_then(|p| p.parse::<u16>().ok()) == Some(master)
        && f.get("master_link_status").map(String::as_str) == Some("up")
}

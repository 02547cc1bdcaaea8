//! Several master names monitoring one redis-server (and its replica): vedette opens one command and one
//! pub/sub connection per server, whatever the number of names (redis-sentinel: one pair per name), and a
//! SIGKILL of that server still fails every name over.

use std::time::{Duration, Instant};

use crate::cluster::subject_is_vedette;
use crate::common::{wait_until, RedisServer, Sentinel, SentinelConf, Value};

const NAMES: [&str; 3] = ["alpha", "beta", "gamma"];

/// (command, pub/sub) connections named after sentinel `id8` in `server`'s `CLIENT LIST`.
fn sentinel_clients(server: &RedisServer, id8: &str) -> (usize, usize) {
    let list = match server.cmd(&["CLIENT", "LIST"]) {
        Value::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        Value::Verbatim(_, b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("CLIENT LIST on {}: {other:?}", server.port),
    };
    let named = |suffix: &str| {
        let want = format!("name=sentinel-{id8}-{suffix}");
        list.lines()
            .filter(|l| l.split(' ').any(|f| f == want))
            .count()
    };
    (named("cmd"), named("pubsub"))
}

#[test]
fn names_on_one_server_share_its_connections_and_all_fail_over() {
    let mut master = RedisServer::start();
    let replica = RedisServer::start_replica(master.port);
    wait_until(Duration::from_secs(20), "replica linked", || {
        replica
            .info_field("replication", "master_link_status")
            .as_deref()
            == Some("up")
    });
    let mut conf = SentinelConf::new();
    for n in NAMES {
        conf = conf
            .monitor(n, master.port, 2)
            .down_after(1000)
            .failover_timeout(10_000);
    }
    let sentinels: Vec<Sentinel> = (0..3)
        .map(|i| {
            Sentinel::subject(if i == 0 {
                conf.clone()
            } else {
                conf.on_new_port()
            })
        })
        .collect();
    for s in &sentinels {
        for n in NAMES {
            s.wait_settled(n, 1, Some(2));
        }
    }
    let ids: Vec<String> = sentinels
        .iter()
        .map(|s| match s.cmd(&["SENTINEL", "MYID"]) {
            Value::Bulk(b) => String::from_utf8_lossy(&b[..8]).into_owned(),
            other => panic!("SENTINEL MYID: {other:?}"),
        })
        .collect();
    // redis-sentinel opens a pair per name (3 + 3): the counts below are vedette's.
    let per_server = if subject_is_vedette() { 1 } else { NAMES.len() };
    for server in [&master, &replica] {
        for id in &ids {
            wait_until(
                Duration::from_secs(10),
                format!(
                    "sentinel {id} holding {per_server} cmd + pubsub connection(s) on {}",
                    server.port
                ),
                || sentinel_clients(server, id) == (per_server, per_server),
            );
        }
    }
    if subject_is_vedette() {
        for s in &sentinels {
            for n in NAMES {
                assert_eq!(
                    s.master_field(n, "link-refcount").as_deref(),
                    Some("3"),
                    "{n} on {}: every name shares the master's link",
                    s.port
                );
            }
        }
    }

    let t0 = Instant::now();
    master.kill();
    for s in &sentinels {
        for n in NAMES {
            wait_until(
                Duration::from_secs(30),
                format!("{}: {n} switched to the replica {}", s.port, replica.port),
                || s.master_port(n) == Some(replica.port),
            );
        }
    }
    eprintln!(
        "share: {} names switched on {} sentinels {:?} after the SIGKILL",
        NAMES.len(),
        sentinels.len(),
        t0.elapsed()
    );
    // Every name now talks to the promoted server on one shared link again.
    for id in &ids {
        wait_until(
            Duration::from_secs(10),
            format!("sentinel {id} holding {per_server} connection pair(s) on the new master"),
            || sentinel_clients(&replica, id) == (per_server, per_server),
        );
    }
    for s in &sentinels {
        for n in NAMES {
            wait_until(
                Duration::from_secs(10),
                format!("{}: {n} flagged plain master after the switch", s.port),
                || s.master_field(n, "flags").as_deref() == Some("master"),
            );
        }
    }
}

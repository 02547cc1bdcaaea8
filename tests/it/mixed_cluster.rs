//! Mixed clusters: vedette and real redis-sentinel side by side on the same master. They must discover each
//! other through hellos, vote for each other, and agree on the failover whoever leads — the end-to-end proof
//! of wire compatibility (DESIGN.md).

use std::time::Duration;

use crate::common::{wait_until, Cluster, Flavor, MASTER};

#[test]
fn two_vedettes_one_redis_sentinel_fail_over() {
    let subject = Flavor::subject();
    Cluster::start(&[subject, subject, Flavor::Redis], 2).kill_master_and_check_failover();
}

#[test]
fn one_vedette_two_redis_sentinels_fail_over() {
    let subject = Flavor::subject();
    Cluster::start(&[subject, Flavor::Redis, Flavor::Redis], 2).kill_master_and_check_failover();
}

#[test]
fn mixed_peers_list_each_other() {
    let subject = Flavor::subject();
    let c = Cluster::start(&[subject, Flavor::Redis], 2);
    for (me, peer) in [(0, 1), (1, 0)] {
        let v = c.sentinels[me].cmd(&["SENTINEL", "SENTINELS", MASTER]);
        let peers = v.items().unwrap_or_default();
        assert_eq!(peers.len(), 1, "{v:?}");
        assert_eq!(
            peers[0].field("port"),
            Some(c.sentinels[peer].port.to_string()),
            "{v:?}"
        );
        let id = c.sentinels[peer].cmd(&["SENTINEL", "MYID"]).text();
        assert_eq!(peers[0].field("runid"), Some(id), "{v:?}");
        // A peer found through a hello is `disconnected` until its link is up.
        let s = &c.sentinels[me];
        wait_until(
            Duration::from_secs(10),
            "peer link connected (flags = sentinel)",
            || {
                let v = s.cmd(&["SENTINEL", "SENTINELS", MASTER]);
                v.items()
                    .and_then(|p| p.first())
                    .and_then(|p| p.field("flags"))
                    .as_deref()
                    == Some("sentinel")
            },
        );
    }
}

//! Basic monitoring and failover of the implementation under test (Redis `tests/sentinel/tests/00-base.tcl`,
//! `07-down-conditions.tcl`): three sentinels, one master, two replicas, everything real.

use std::time::Duration;

use crate::common::{wait_until, Cluster, Flavor, MASTER};

fn cluster(quorum: u32) -> Cluster {
    Cluster::start(&[Flavor::subject(); 3], quorum)
}

#[test]
fn basic_failover_when_master_is_killed() {
    cluster(2).kill_master_and_check_failover();
}

#[test]
fn no_odown_without_quorum() {
    // Quorum 4 with 3 sentinels: SDOWN everywhere, ODOWN never, no failover.
    let mut c = cluster(4);
    c.topo.master.kill();
    for e in &c.events {
        e.wait_for(
            "+sdown",
            &format!("master {MASTER}"),
            Duration::from_secs(10),
        );
    }
    // Absence can only be checked over a window: 3 × down-after after everyone saw SDOWN.
    std::thread::sleep(Duration::from_millis(3000));
    for e in &c.events {
        assert_eq!(e.count("+odown"), 0, "{}", c.timeline());
        assert_eq!(e.count("+switch-master"), 0, "{}", c.timeline());
    }
}

#[test]
fn sdown_follows_a_stopped_master() {
    let c = cluster(4);
    c.topo.master.stop();
    for e in &c.events {
        e.wait_for(
            "+sdown",
            &format!("master {MASTER}"),
            Duration::from_secs(10),
        );
    }
    for s in &c.sentinels {
        let flags = s.master_field(MASTER, "flags").unwrap_or_default();
        assert!(flags.contains("s_down"), "flags {flags}");
    }
    c.topo.master.cont();
    for e in &c.events {
        e.wait_for(
            "-sdown",
            &format!("master {MASTER}"),
            Duration::from_secs(10),
        );
    }
    for s in &c.sentinels {
        wait_until(
            Duration::from_secs(5),
            "flags back to exactly `master`",
            || s.master_field(MASTER, "flags").as_deref() == Some("master"),
        );
    }
}

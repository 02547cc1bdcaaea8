//! Basic monitoring and failover of the implementation under test (Redis `tests/sentinel/tests/00-base.tcl`,
//! `07-down-conditions.tcl`): three sentinels, one master, two replicas, everything real.

use std::time::Duration;

use crate::common::{wait_until, Events, Sentinel, SentinelConf, Topology, MASTER};

/// Three subject sentinels (quorum 2, down-after 1 s, failover-timeout 10 s) on a master with two replicas,
/// settled (every sentinel sees both replicas and the two other sentinels) and recording events.
struct Cluster {
    topo: Topology,
    sentinels: Vec<Sentinel>,
    events: Vec<Events>,
}

impl Cluster {
    fn start(quorum: u32) -> Cluster {
        let topo = Topology::start(2);
        let conf = SentinelConf::new()
            .monitor(MASTER, topo.master.port, quorum)
            .down_after(1000)
            .failover_timeout(10000);
        let sentinels: Vec<Sentinel> = (0..3)
            .map(|_| Sentinel::subject(conf.on_new_port()))
            .collect();
        for s in &sentinels {
            s.wait_settled(MASTER, 2, Some(2));
        }
        let events = sentinels.iter().map(Sentinel::events).collect();
        Cluster {
            topo,
            sentinels,
            events,
        }
    }

    fn timeline(&self) -> String {
        self.events
            .iter()
            .map(|e| format!("sentinel {}:\n{}", e.port, e.render()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn basic_failover_when_master_is_killed() {
    let mut c = Cluster::start(2);
    let old = c.topo.master.port;
    c.topo.master.kill();

    let mut new_port = None;
    for e in &c.events {
        let ev = e.wait_for("+switch-master", MASTER, Duration::from_secs(30));
        // `<name> <old-ip> <old-port> <new-ip> <new-port>`
        let parts: Vec<&str> = ev.payload.split(' ').collect();
        assert_eq!(parts.len(), 5, "{}", ev.payload);
        assert_eq!(parts[..3], [MASTER, "127.0.0.1", &old.to_string()]);
        let p: u16 = parts[4].parse().unwrap_or(0);
        assert!(
            c.topo.replicas.iter().any(|r| r.port == p),
            "promoted {p} is not a replica\n{}",
            c.timeline()
        );
        assert!(
            new_port.is_none_or(|n| n == p),
            "sentinels disagree\n{}",
            c.timeline()
        );
        new_port = Some(p);
    }
    let new_port = new_port.unwrap_or(0);
    for s in &c.sentinels {
        assert_eq!(s.master_port(MASTER), Some(new_port));
    }
    // Exactly one sentinel led: one +elected-leader (per epoch) and one +promoted-slave.
    let promoted: usize = c.events.iter().map(|e| e.count("+promoted-slave")).sum();
    assert_eq!(promoted, 1, "{}", c.timeline());

    let new = c
        .topo
        .replicas
        .iter()
        .find(|r| r.port == new_port)
        .expect("promoted replica");
    wait_until(
        Duration::from_secs(10),
        "promoted replica reports role master",
        || new.role().as_deref() == Some("master"),
    );
    let other = c
        .topo
        .replicas
        .iter()
        .find(|r| r.port != new_port)
        .expect("other replica");
    wait_until(
        Duration::from_secs(30),
        "the other replica replicates from the new master",
        || other.info_field("replication", "master_port") == Some(new_port.to_string()),
    );

    // The old master comes back as a master and must be converted into a replica of the new one.
    c.topo.master.restart();
    wait_until(
        Duration::from_secs(40),
        "old master reconfigured as a replica of the new master",
        || c.topo.master.info_field("replication", "master_port") == Some(new_port.to_string()),
    );
    assert!(
        c.events
            .iter()
            .any(|e| e.find("+convert-to-slave", &format!(":{old} ")).is_some()),
        "{}",
        c.timeline()
    );
}

#[test]
fn no_odown_without_quorum() {
    // Quorum 4 with 3 sentinels: SDOWN everywhere, ODOWN never, no failover.
    let mut c = Cluster::start(4);
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
    let c = Cluster::start(4);
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

//! Every variant's channel, level and text, pinned to what the string-built events produced before
//! events were typed (which is what Redis publishes; reference §8).

use super::*;
use crate::wire::info::Role;

fn addr(name: &str, port: u16) -> Addr {
    Addr {
        name: name.into(),
        host: "127.0.0.1".into(),
        port,
    }
}

fn master() -> Instance {
    Instance::Master(addr("mymaster", 6379))
}

fn slave() -> Instance {
    Instance::Slave {
        slave: addr("127.0.0.1:6380", 6380),
        master: addr("mymaster", 6379),
    }
}

const RUNID: &str = "1111111111111111111111111111111111111111";

fn sentinel() -> Instance {
    Instance::Sentinel {
        sentinel: addr(RUNID, 26380),
        master: addr("mymaster", 6379),
    }
}

const M: &str = "master mymaster 127.0.0.1 6379";
const S: &str = "slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379";
const P: &str =
    "sentinel 1111111111111111111111111111111111111111 127.0.0.1 26380 @ mymaster 127.0.0.1 6379";

#[test]
fn every_event_renders_as_redis() {
    use EventKind::*;
    use Level::{Notice, Verbose, Warning};
    let s = |x: &str| x.to_string();
    let cases: Vec<(EventKind, &str, Level, String)> = vec![
        (
            Monitor {
                master: master(),
                quorum: 2,
            },
            "+monitor",
            Warning,
            format!("{M} quorum 2"),
        ),
        (Unmonitor(master()), "-monitor", Warning, s(M)),
        (ResetMaster(master()), "+reset-master", Warning, s(M)),
        (
            Set {
                master: master(),
                option: "auth-pass".into(),
                value: "******".into(),
            },
            "+set",
            Warning,
            format!("{M} auth-pass ******"),
        ),
        (Sdown(master()), "+sdown", Warning, s(M)),
        (Sdown(slave()), "+sdown", Warning, s(S)),
        (Sdown(sentinel()), "+sdown", Warning, s(P)),
        (SdownCleared(slave()), "-sdown", Warning, s(S)),
        (
            Odown {
                master: master(),
                count: 2,
                quorum: 3,
            },
            "+odown",
            Warning,
            format!("{M} #quorum 2/3"),
        ),
        (OdownCleared(master()), "-odown", Warning, s(M)),
        (NewEpoch(42), "+new-epoch", Warning, s("42")),
        (TryFailover(master()), "+try-failover", Warning, s(M)),
        (
            VoteForLeader {
                leader: RUNID.into(),
                epoch: 42,
            },
            "+vote-for-leader",
            Warning,
            format!("{RUNID} 42"),
        ),
        (ElectedLeader(master()), "+elected-leader", Warning, s(M)),
        (
            FailoverStateSelectSlave(master()),
            "+failover-state-select-slave",
            Warning,
            s(M),
        ),
        (
            FailoverAbortNotElected(master()),
            "-failover-abort-not-elected",
            Warning,
            s(M),
        ),
        (
            FailoverAbortNoGoodSlave(master()),
            "-failover-abort-no-good-slave",
            Warning,
            s(M),
        ),
        (SelectedSlave(slave()), "+selected-slave", Warning, s(S)),
        (
            FailoverStateSendSlaveofNoone(slave()),
            "+failover-state-send-slaveof-noone",
            Notice,
            s(S),
        ),
        (
            FailoverStateWaitPromotion(slave()),
            "+failover-state-wait-promotion",
            Notice,
            s(S),
        ),
        (
            FailoverAbortSlaveTimeout(master()),
            "-failover-abort-slave-timeout",
            Warning,
            s(M),
        ),
        (PromotedSlave(slave()), "+promoted-slave", Warning, s(S)),
        (
            FailoverStateReconfSlaves(master()),
            "+failover-state-reconf-slaves",
            Warning,
            s(M),
        ),
        (SlaveReconfSent(slave()), "+slave-reconf-sent", Notice, s(S)),
        (
            SlaveReconfSentBe(slave()),
            "+slave-reconf-sent-be",
            Notice,
            s(S),
        ),
        (
            SlaveReconfSentTimeout(slave()),
            "-slave-reconf-sent-timeout",
            Notice,
            s(S),
        ),
        (
            SlaveReconfInprog(slave()),
            "+slave-reconf-inprog",
            Notice,
            s(S),
        ),
        (SlaveReconfDone(slave()), "+slave-reconf-done", Notice, s(S)),
        (
            FailoverEndForTimeout(master()),
            "+failover-end-for-timeout",
            Warning,
            s(M),
        ),
        (FailoverEnd(master()), "+failover-end", Warning, s(M)),
        (
            SwitchMaster {
                name: "mymaster".into(),
                old: ("127.0.0.1".into(), 6379),
                new: ("127.0.0.1".into(), 6380),
            },
            "+switch-master",
            Warning,
            s("mymaster 127.0.0.1 6379 127.0.0.1 6380"),
        ),
        (
            ConfigUpdateFrom(sentinel()),
            "+config-update-from",
            Warning,
            s(P),
        ),
        (Slave(slave()), "+slave", Notice, s(S)),
        (Reboot(master()), "+reboot", Notice, s(M)),
        (
            RoleChange {
                instance: slave(),
                reported: Role::Master,
                as_configured: false,
            },
            "-role-change",
            Verbose,
            format!("{S} new reported role is master"),
        ),
        (
            RoleChange {
                instance: slave(),
                reported: Role::Slave,
                as_configured: true,
            },
            "+role-change",
            Verbose,
            format!("{S} new reported role is slave"),
        ),
        (ConvertToSlave(slave()), "+convert-to-slave", Notice, s(S)),
        (FixSlaveConfig(slave()), "+fix-slave-config", Notice, s(S)),
        (Sentinel(sentinel()), "+sentinel", Notice, s(P)),
        (
            SentinelInvalidAddr(sentinel()),
            "+sentinel-invalid-addr",
            Notice,
            s(P),
        ),
        (
            SentinelAddressSwitch {
                master: master(),
                ip: "127.0.0.2".into(),
                port: 26381,
                runid: RUNID.into(),
            },
            "+sentinel-address-switch",
            Notice,
            format!("{M} ip 127.0.0.2 port 26381 for {RUNID}"),
        ),
        (
            SentinelAddressUpdate {
                sentinel: sentinel(),
                others: 3,
            },
            "+sentinel-address-update",
            Notice,
            format!("{P} 3 additional matching instances"),
        ),
        (
            MaxSentinelsReached {
                master: master(),
                limit: 64,
            },
            "-max-sentinels-reached",
            Warning,
            format!("{M} 64"),
        ),
        (
            MaxReplicasReached {
                master: master(),
                limit: 128,
            },
            "-max-replicas-reached",
            Warning,
            format!("{M} 128"),
        ),
        (Tilt, "+tilt", Warning, s("#tilt mode entered")),
        (TiltExited, "-tilt", Warning, s("#tilt mode exited")),
    ];
    for (kind, channel, level, text) in &cases {
        assert_eq!(kind.channel(), *channel, "{kind:?}");
        assert_eq!(kind.level(), *level, "{kind:?}");
        assert_eq!(kind.to_string(), *text, "{kind:?}");
    }
    // Every channel Redis publishes (the role change's two count once each): a new variant needs a case
    // here and this count raised.
    let channels: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.1).collect();
    assert_eq!(channels.len(), 44);
}

#[test]
fn instance_kind_and_addresses() {
    assert_eq!(master().kind(), InstanceKind::Master);
    assert_eq!(slave().kind(), InstanceKind::Slave);
    assert_eq!(sentinel().kind(), InstanceKind::Sentinel);
    assert_eq!(slave().addr().port, 6380);
    assert_eq!(sentinel().master().name, "mymaster");
    assert_eq!(EventKind::NewEpoch(1).instance(), None);
    assert_eq!(
        EventKind::Sdown(slave()).instance().map(Instance::kind),
        Some(InstanceKind::Slave)
    );
}

//! Every event's channel, level and text, end to end from the sentinel's state: pinned against what
//! Redis publishes (reference §8), so a change to how events are built cannot change a byte. Also what
//! SENTINEL MASTER / REPLICAS show of a failover (`failover-state`, flags), pinned the same way.

use super::*;

impl Fx {
    /// Every event so far as `<channel> <level> <text>`.
    fn event_log(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => {
                    Some(format!("{} {:?} {}", e.kind.channel(), e.level(), e.kind))
                }
                _ => None,
            })
            .collect()
    }
}

#[test]
fn topology_and_admin_events_render_as_redis() {
    let mut fx = Fx::new(&[], 1);
    warm(&mut fx);
    let hello = format!("127.0.0.1,26399,{A},7,m,127.0.0.1,6379,0");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    let hello = format!("127.0.0.1,26398,{A},7,m,127.0.0.1,6379,0");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    fx.cmd(&["SENTINEL", "set", "m", "quorum", "2"]);
    let hello = format!("127.0.0.1,26398,{A},7,m,127.0.0.1,6380,7");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    fx.cmd(&["SENTINEL", "reset", "m"]);
    fx.cmd(&["SENTINEL", "remove", "m"]);
    fx.cmd(&["SENTINEL", "monitor", "n", "127.0.0.1", "7000", "2"]);
    let log = fx.event_log();
    assert_eq!(
        log,
        [
            "+monitor Warning master m 127.0.0.1 6379 quorum 1",
            "+sentinel Notice sentinel 1111111111111111111111111111111111111111 127.0.0.1 26399 @ m 127.0.0.1 6379",
            "+new-epoch Warning 7",
            "+sentinel-address-switch Notice master m 127.0.0.1 6379 ip 127.0.0.1 port 26398 for 1111111111111111111111111111111111111111",
            "+set Warning master m 127.0.0.1 6379 quorum 2",
            "+config-update-from Warning sentinel 1111111111111111111111111111111111111111 127.0.0.1 26398 @ m 127.0.0.1 6379",
            "+switch-master Warning m 127.0.0.1 6379 127.0.0.1 6380",
            "+slave Notice slave 127.0.0.1:6381 127.0.0.1 6381 @ m 127.0.0.1 6380",
            "+slave Notice slave 127.0.0.1:6379 127.0.0.1 6379 @ m 127.0.0.1 6380",
            "+reset-master Warning master m 127.0.0.1 6380",
            "-monitor Warning master m 127.0.0.1 6380",
            "+monitor Warning master n 127.0.0.1 7000 quorum 2",
        ]
    );
}

/// After [`run_failure`] selected a replica: the selected one (link 2) is promoted, the other (link 3)
/// follows it once told to, until `+switch-master`; `each` looks at the fixture after every step.
fn finish_failover(fx: &mut Fx, mut each: impl FnMut(&mut Fx)) {
    let promoted = "run_id:9999999999999999999999999999999999999999\r\nrole:master\r\n";
    let mut told = false;
    for _ in 0..400 {
        let outs = fx.tick(25);
        told |= outs.iter().any(|o| {
            matches!(o, Output::Send { link, cmd: OutCommand::Reconfigure(Some(_)), .. } if *link == LinkId(3))
        });
        let follower = replica_info(50, 100).replace("master_port:6379", "master_port:6380");
        fx.answer(&outs, |link, cmd| match cmd {
            _ if link == LinkId(1) => None,
            OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
            OutCommand::Info if link == LinkId(2) => Some(LinkReply::Info(Some(promoted.into()))),
            OutCommand::Info if told => Some(LinkReply::Info(Some(follower.clone()))),
            OutCommand::Info => Some(LinkReply::Info(Some(replica_info(50, 100)))),
            OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
            _ => Some(LinkReply::Other),
        });
        each(fx);
        if !fx.events("+switch-master").is_empty() {
            break;
        }
    }
}

#[test]
fn failover_events_render_as_redis() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    run_failure(&mut fx, |_, runid, epoch| {
        Some((1, runid.to_string(), epoch as i64))
    });
    finish_failover(&mut fx, |_| {});
    let log = fx.event_log();
    assert_eq!(
        log,
        [
            "+monitor Warning master m 127.0.0.1 6379 quorum 2",
            "+sdown Warning master m 127.0.0.1 6379",
            "+odown Warning master m 127.0.0.1 6379 #quorum 2/2",
            "+new-epoch Warning 1",
            "+try-failover Warning master m 127.0.0.1 6379",
            "+vote-for-leader Warning 5555555555555555555555555555555555555555 1",
            "+elected-leader Warning master m 127.0.0.1 6379",
            "+failover-state-select-slave Warning master m 127.0.0.1 6379",
            "+selected-slave Warning slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379",
            "+failover-state-send-slaveof-noone Notice slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379",
            "+failover-state-wait-promotion Notice slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379",
            "-role-change Verbose slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379 new reported role is master",
            "+promoted-slave Warning slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379",
            "+failover-state-reconf-slaves Warning master m 127.0.0.1 6379",
            "+slave-reconf-sent Notice slave 127.0.0.1:6381 127.0.0.1 6381 @ m 127.0.0.1 6379",
            "+slave-reconf-inprog Notice slave 127.0.0.1:6381 127.0.0.1 6381 @ m 127.0.0.1 6379",
            "+slave-reconf-done Notice slave 127.0.0.1:6381 127.0.0.1 6381 @ m 127.0.0.1 6379",
            "+failover-end Warning master m 127.0.0.1 6379",
            "+switch-master Warning m 127.0.0.1 6379 127.0.0.1 6380",
            "+slave Notice slave 127.0.0.1:6381 127.0.0.1 6381 @ m 127.0.0.1 6380",
            "+slave Notice slave 127.0.0.1:6379 127.0.0.1 6379 @ m 127.0.0.1 6380",
        ]
    );
}

/// `field` of a SENTINEL MASTER / REPLICAS map.
fn field(map: &Reply, field: &str) -> String {
    let Reply::Map(kv) = map else {
        return String::new();
    };
    kv.iter()
        .find(|(k, _)| *k == Reply::bulk(field))
        .map(|(_, v)| match v {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => format!("{other:?}"),
        })
        .unwrap_or_else(|| "-".into())
}

/// What SENTINEL MASTER and REPLICAS show of a failover, in each state it goes through: the state, the
/// master's flags, and each replica's flags.
#[test]
fn failover_state_and_flags_as_shown() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    let mut seen: Vec<String> = Vec::new();
    let mut look = |fx: &mut Fx| {
        let m = fx.cmd(&["SENTINEL", "master", "m"]);
        let Reply::Array(rs) = fx.cmd(&["SENTINEL", "replicas", "m"]) else {
            panic!("replicas")
        };
        let mut line = format!("{} | {}", field(&m, "failover-state"), field(&m, "flags"));
        for r in &rs {
            line.push_str(&format!(" | {} {}", field(r, "name"), field(r, "flags")));
        }
        if seen.last() != Some(&line) {
            seen.push(line);
        }
    };
    look(&mut fx);
    run_failure(&mut fx, |_, runid, epoch| {
        Some((1, runid.to_string(), epoch as i64))
    });
    look(&mut fx);
    finish_failover(&mut fx, &mut look);
    // A forced failover (SENTINEL FAILOVER) shows its flag.
    let mut fx = Fx::new(&[A], 1);
    warm(&mut fx);
    fx.cmd(&["SENTINEL", "failover", "m"]);
    look(&mut fx);
    let outs = fx.tick(25);
    answer_healthy(&mut fx, &outs);
    look(&mut fx);
    assert_eq!(
        seen,
        [
            "- | master | 127.0.0.1:6380 slave | 127.0.0.1:6381 slave",
            "wait_promotion | s_down,o_down,master,failover_in_progress | 127.0.0.1:6380 slave,promoted | 127.0.0.1:6381 slave",
            "reconf_slaves | s_down,o_down,master,failover_in_progress | 127.0.0.1:6380 slave,promoted | 127.0.0.1:6381 slave,reconf_sent",
            "- | master | 127.0.0.1:6379 slave | 127.0.0.1:6381 slave",
            "wait_start | master,failover_in_progress,force_failover | 127.0.0.1:6380 slave | 127.0.0.1:6381 slave",
            "wait_promotion | master,failover_in_progress,force_failover | 127.0.0.1:6380 slave,promoted | 127.0.0.1:6381 slave",
        ]
    );
}

/// A promotion's hello reaches a peer at once even while an older hello to that peer is still unanswered:
/// the older hello's late reply used to restart the 2 s hello period, so the peer learnt the new
/// configuration only from the next periodic hello (seen in 1000-master storms, where peer links are busy).
#[test]
fn promotion_hello_does_not_wait_for_an_older_hello() {
    let peer = LinkId(4);
    let on_peer = |o: &Output| matches!(o, Output::Send { link, .. } if *link == peer);
    let news = |o: &Output| {
        matches!(o, Output::Send { link, cmd: OutCommand::PublishHello(h), .. }
            if *link == peer && h.master_port == 6380 && h.master_config_epoch >= 1)
    };
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    // Hold every reply on the peer's link from its next hello on (replies come back in order).
    let mut held: Vec<Output> = Vec::new();
    for _ in 0..200 {
        let outs = fx.tick(25);
        let (mine, rest): (Vec<Output>, Vec<Output>) = outs.into_iter().partition(on_peer);
        held.extend(mine);
        answer_healthy(&mut fx, &rest);
        if held.iter().any(|o| {
            matches!(
                o,
                Output::Send {
                    cmd: OutCommand::PublishHello(_),
                    ..
                }
            )
        }) {
            break;
        }
    }
    assert!(!held.is_empty(), "a hello to the peer is outstanding");
    // The master dies; the other peer votes; the replica on link 2 is promoted.
    let promoted = "run_id:9999999999999999999999999999999999999999\r\nrole:master\r\n";
    let mut at_promotion = None;
    for _ in 0..400 {
        let outs = fx.tick(25);
        let (mine, rest): (Vec<Output>, Vec<Output>) = outs.into_iter().partition(on_peer);
        held.extend(mine);
        let told = fx.log.iter().any(|o| {
            matches!(o, Output::Send { link, cmd: OutCommand::Reconfigure(None), .. } if *link == LinkId(2))
        });
        fx.answer(&rest, |link, cmd| match cmd {
            _ if link == LinkId(1) => None,
            OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
            OutCommand::Info if link == LinkId(2) && told => {
                Some(LinkReply::Info(Some(promoted.into())))
            }
            OutCommand::Info => Some(LinkReply::Info(Some(replica_info(50, 100)))),
            OutCommand::AskMasterDown { runid, epoch, .. } => Some(LinkReply::MasterDown(Some((
                1,
                runid.to_string(),
                *epoch as i64,
            )))),
            OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
            _ => Some(LinkReply::Other),
        });
        if !fx.events("+promoted-slave").is_empty() {
            at_promotion = Some(fx.now);
            break;
        }
    }
    let t0 = at_promotion.expect("the replica was promoted");
    // Now the peer answers what it was sent, in order; then 100 ms pass.
    fx.answer(&held, |_, cmd| match cmd {
        OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
        OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
        OutCommand::AskMasterDown { runid, epoch, .. } => Some(LinkReply::MasterDown(Some((
            1,
            runid.to_string(),
            *epoch as i64,
        )))),
        _ => Some(LinkReply::Other),
    });
    for _ in 0..4 {
        let outs = fx.tick(25);
        answer_healthy(&mut fx, &outs);
    }
    let told = fx.log.iter().any(news);
    assert!(
        told,
        "the peer was sent the promoted address within {} ms",
        fx.now - t0
    );
}

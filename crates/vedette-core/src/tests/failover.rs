//! Elections and failovers end to end on one sentinel: one vote per epoch, majorities, replica
//! selection, and answers about an old address after a switch.

use super::*;

#[test]
fn one_vote_per_epoch_first_come_first_served() {
    let mut fx = Fx::new(&[A, B], 2);
    assert_eq!(fx.cmd_argv(&ask(6379, 1, A)), vote(0, A, 1));
    assert_eq!(fx.cmd_argv(&ask(6379, 1, B)), vote(0, A, 1));
    // A stale epoch gets the existing vote back.
    assert_eq!(fx.cmd_argv(&ask(6379, 0, B)), vote(0, A, 1));
    assert_eq!(fx.cmd_argv(&ask(6379, 2, B)), vote(0, B, 2));
    assert_eq!(fx.s.current_epoch(), 2);
    // `*` never votes nor bumps the epoch.
    assert_eq!(fx.cmd_argv(&ask(6379, 9, "*")), vote(0, "*", 0));
    assert_eq!(fx.s.current_epoch(), 2);
}

#[test]
fn majority_elects_and_the_best_replica_is_selected() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    run_failure(&mut fx, |_, runid, epoch| {
        Some((1, runid.to_string(), epoch as i64))
    });
    let kinds: Vec<&str> = fx
        .log
        .iter()
        .filter_map(|o| {
            if let Output::Event(e) = o {
                Some(e.kind.channel())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(fx.events("+sdown").len(), 1, "{kinds:?}");
    assert_eq!(
        fx.events("+odown"),
        vec!["master m 127.0.0.1 6379 #quorum 2/2".to_string()]
    );
    assert_eq!(fx.events("+elected-leader").len(), 1, "{kinds:?}");
    // Higher offset wins: replica on link 2 is 127.0.0.1:6380.
    assert_eq!(
        fx.events("+selected-slave"),
        vec!["slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379".to_string()]
    );
    assert!(fx
        .log
        .iter()
        .any(|o| matches!(o, Output::Send { cmd: OutCommand::Reconfigure(None), link, .. } if *link == LinkId(2))));
}

#[test]
fn minority_cannot_be_elected() {
    // 5 sentinels known, quorum 2: two say down (ODOWN) but only one other votes for us.
    let mut fx = Fx::new(&[A, B, C, "4444444444444444444444444444444444444444"], 2);
    warm(&mut fx);
    run_failure(&mut fx, |link, runid, epoch| {
        if link.0 == 4 {
            Some((1, runid.to_string(), epoch as i64))
        } else {
            Some((0, "*".to_string(), 0))
        }
    });
    assert!(!fx.events("+odown").is_empty());
    assert!(fx.events("+elected-leader").is_empty());
    assert!(!fx.log.iter().any(|o| matches!(
        o,
        Output::Send {
            cmd: OutCommand::Reconfigure(None),
            ..
        }
    )));
}

#[test]
fn priority_zero_is_never_promoted() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    let master_link = LinkId(1);
    for _ in 0..400 {
        let outs = fx.tick(25);
        fx.answer(&outs, |link, cmd| match cmd {
            OutCommand::Ping if link == master_link => None,
            OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
            OutCommand::Info if link == master_link => None,
            OutCommand::Info => Some(LinkReply::Info(Some(replica_info(
                if link == LinkId(2) { 100 } else { 5 },
                if link == LinkId(2) { 0 } else { 100 },
            )))),
            OutCommand::AskMasterDown { runid, epoch, .. } => Some(LinkReply::MasterDown(Some((
                1,
                runid.clone(),
                *epoch as i64,
            )))),
            _ if link == master_link => None,
            OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
            _ => Some(LinkReply::Other),
        });
        if !fx.events("+selected-slave").is_empty() {
            break;
        }
    }
    assert_eq!(
        fx.events("+selected-slave"),
        vec!["slave 127.0.0.1:6381 127.0.0.1 6381 @ m 127.0.0.1 6379".to_string()]
    );
}

#[test]
fn replies_about_an_old_address_never_count_after_a_switch() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    // Switch the master by a hello with a higher config epoch.
    let hello = format!("127.0.0.1,26380,{A},1,m,127.0.0.1,6380,1");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    assert_eq!(fx.s.master_addr("m"), Some(("127.0.0.1".into(), 6380)));
    // A late "down" reply about 127.0.0.1:6379 arrives on A's link: it must not mark A as saying down.
    fx.s.on_ask_reply(
        LinkId(4),
        fx.s.masters.id("m").unwrap(),
        "127.0.0.1",
        6379,
        (0, false),
        Some((1, "*".into(), 0)),
    );
    let m = &fx.s.masters["m"];
    assert!(m.sentinels.values().all(|p| !p.master_down));
    let _ = master_info(A, &[]);
}

/// The replicas' connections are cut just before we are elected (a promotion's `CLIENT KILL TYPE normal`
/// on a server two masters share does this): selection waits for them to come back instead of aborting
/// with `-failover-abort-no-good-slave` and a 2 × failover-timeout retry delay.
#[test]
fn selection_waits_for_replica_links_that_were_just_cut() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    let mut cut_at = None;
    for _ in 0..400 {
        let outs = fx.tick(25);
        let votes: Vec<(LinkId, u64, LinkReply)> = outs
            .iter()
            .filter_map(|o| match o {
                Output::Send {
                    link,
                    conn,
                    cmd: OutCommand::AskMasterDown { runid, epoch, .. },
                } if runid != "*" => Some((
                    *link,
                    *conn,
                    LinkReply::MasterDown(Some((1, runid.clone(), *epoch as i64))),
                )),
                _ => None,
            })
            .collect();
        fx.answer(&outs, |link, cmd| match cmd {
            _ if link == LinkId(1) => None,
            OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
            OutCommand::Info => Some(LinkReply::Info(Some(replica_info(100, 100)))),
            OutCommand::AskMasterDown { runid, .. } if runid != "*" => None,
            OutCommand::AskMasterDown { .. } => {
                Some(LinkReply::MasterDown(Some((1, "*".into(), 0))))
            }
            OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
            _ => Some(LinkReply::Other),
        });
        if !votes.is_empty() && cut_at.is_none() {
            cut_at = Some(fx.now);
            for l in [2u64, 3] {
                fx.s.handle_input(
                    Instant(fx.now),
                    Input::LinkDown {
                        link: LinkId(l),
                        conn: l,
                    },
                );
            }
        }
        for (link, conn, reply) in votes {
            fx.s.handle_input(Instant(fx.now), Input::Reply { link, conn, reply });
        }
        if !fx.events("+selected-slave").is_empty()
            || !fx.events("-failover-abort-no-good-slave").is_empty()
        {
            break;
        }
    }
    assert!(cut_at.is_some(), "no vote request was sent");
    assert!(
        fx.events("-failover-abort-no-good-slave").is_empty(),
        "aborted while the replicas reconnected"
    );
    assert_eq!(fx.events("+selected-slave").len(), 1);
}

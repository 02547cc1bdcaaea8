//! Durable writes: only what depends on a write waits for it, a failed write answers its dependents at
//! once, retries back off, a hung write holds nothing else, and one write covers many changes.

use super::*;
use crate::io::PersistSeq;
use crate::outbox::{DEPENDENT_WAIT_MS, STALL_MS};

const FLUSH_FAILED: &str = "ERR Failed to save config file. Check server logs.";

fn replies(outs: &[Output]) -> Vec<(u64, Reply)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Reply { client, reply } => Some((client.0, reply.clone())),
            _ => None,
        })
        .collect()
}

fn reply_to(outs: &[Output], client: u64) -> Option<Reply> {
    replies(outs)
        .into_iter()
        .find(|(c, _)| *c == client)
        .map(|(_, r)| r)
}

fn persists(outs: &[Output]) -> Vec<(PersistSeq, PersistedState)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Persist { seq, state } => Some((*seq, (**state).clone())),
            _ => None,
        })
        .collect()
}

fn info_field(s: &Sentinel, field: &str) -> String {
    let text = s.info_section(0, 0);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("{field} missing from INFO:\n{text}"))
}

impl Fx {
    fn send(&mut self, client: u64, argv: &[Vec<u8>]) {
        self.s
            .handle_argv(Instant(self.now), ClientId(client), argv);
    }

    fn result(&mut self, seq: PersistSeq, ok: bool) -> Vec<Output> {
        let input = if ok {
            Input::Persisted(seq)
        } else {
            self.s
                .note_write_error("rename sentinel.conf: Is a directory (os error 21)");
            Input::PersistFailed(seq)
        };
        self.s.handle_input(Instant(self.now), input);
        self.pump()
    }
}

#[test]
fn a_vote_reply_waits_for_its_write_and_nothing_else_does() {
    let mut fx = Fx::new(&[A], 1);
    fx.pump();
    fx.auto_persist = false;
    fx.send(1, &ask(6379, 5, A));
    let outs = fx.pump();
    let ps = persists(&outs);
    assert_eq!(ps.len(), 1, "{outs:?}");
    let (seq, state) = &ps[0];
    assert_eq!(state.current_epoch, 5);
    assert_eq!(state.masters["m"].leader_epoch, 5);
    assert_eq!(reply_to(&outs, 1), None, "the vote must wait for its write");

    // While it is in flight: other commands, a `*` ask and the monitoring traffic go on.
    fx.send(2, &bulk_argv(&["SENTINEL", "master", "m"]));
    fx.send(3, &ask(6379, 5, "*"));
    let outs = fx.pump();
    assert!(
        matches!(reply_to(&outs, 2), Some(Reply::Map(_))),
        "{outs:?}"
    );
    assert_eq!(reply_to(&outs, 3), Some(vote(0, "*", 0)));
    let outs = fx.tick(2100);
    answer_healthy(&mut fx, &outs);
    assert!(
        outs.iter().any(|o| matches!(
            o,
            Output::Send {
                cmd: OutCommand::Ping,
                ..
            }
        )),
        "PINGs stop behind a write: {outs:?}"
    );
    // A hello reveals the durable epoch only.
    let hellos: Vec<u64> = outs
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                cmd: OutCommand::PublishHello(t),
                ..
            } => Some(t.current_epoch),
            _ => None,
        })
        .collect();
    assert!(!hellos.is_empty(), "{outs:?}");
    assert!(hellos.iter().all(|e| *e == 0), "{hellos:?}");
    assert!(persists(&outs).is_empty(), "one write in flight at a time");

    let outs = fx.result(*seq, true);
    assert_eq!(reply_to(&outs, 1), Some(vote(0, A, 5)));
    // Now on disk: the next hello carries it, and asking again answers at once.
    let outs = fx.tick(2100);
    assert!(outs.iter().any(|o| matches!(o, Output::Send { cmd: OutCommand::PublishHello(t), .. } if t.current_epoch == 5)));
    fx.send(4, &ask(6379, 5, A));
    let outs = fx.pump();
    assert_eq!(reply_to(&outs, 4), Some(vote(0, A, 5)));
    assert!(persists(&outs).is_empty());
}

#[test]
fn a_failed_write_answers_its_dependents_at_once_with_redis_texts() {
    let mut fx = Fx::new(&[A], 1);
    fx.pump();
    fx.auto_persist = false;
    assert_eq!(info_field(&fx.s, "sentinel_state_write_failing"), "0");
    fx.send(1, &ask(6379, 3, A));
    let outs = fx.pump();
    let (w1, _) = persists(&outs)[0].clone();
    // Arrive while write 1 is in flight: they need write 2.
    fx.send(2, &bulk_argv(&["SENTINEL", "set", "m", "quorum", "2"]));
    fx.send(3, &bulk_argv(&["SENTINEL", "flushconfig"]));
    fx.send(
        4,
        &bulk_argv(&["SENTINEL", "config", "set", "announce-port", "1234"]),
    );
    let outs = fx.pump();
    assert!(replies(&outs).is_empty(), "{outs:?}");
    assert!(persists(&outs).is_empty());

    let outs = fx.result(w1, false);
    // The vote whose write failed is withheld: the reply says no vote.
    assert_eq!(reply_to(&outs, 1), Some(vote(0, "*", 0)));
    // Clients are waiting for write 2: it starts at once, without waiting for the backoff.
    let ps = persists(&outs);
    assert_eq!(ps.len(), 1, "{outs:?}");
    assert_eq!(
        ps[0].1.masters["m"].config.quorum, 2,
        "a write covers the newest state"
    );
    let outs = fx.result(ps[0].0, false);
    for c in [2, 3, 4] {
        assert_eq!(
            reply_to(&outs, c),
            Some(Reply::err(FLUSH_FAILED)),
            "client {c}"
        );
    }
    // The in-memory change is kept (as in Redis), monitoring answers, INFO shows the failure.
    fx.send(5, &bulk_argv(&["SENTINEL", "master", "m"]));
    let outs = fx.pump();
    let Some(Reply::Map(m)) = reply_to(&outs, 5) else {
        panic!("{outs:?}")
    };
    assert!(m.contains(&(Reply::bulk("quorum"), Reply::bulk("2"))));
    assert_eq!(info_field(&fx.s, "sentinel_state_write_failing"), "1");
    assert!(info_field(&fx.s, "sentinel_state_write_error").contains("Is a directory"));
    assert_eq!(fx.s.state_writes().1, 2);

    // An error reply stays itself; a later change is still written.
    fx.send(
        6,
        &bulk_argv(&["SENTINEL", "set", "m", "quorum", "3", "bogus", "1"]),
    );
    let outs = fx.pump();
    let (w3, _) = persists(&outs)[0].clone();
    let outs = fx.result(w3, false);
    assert_eq!(
        reply_to(&outs, 6),
        Some(Reply::err(
            "ERR Unknown option or number of arguments for SENTINEL SET 'bogus'"
        ))
    );

    // The disk recovers: the next command's write lands and says so.
    fx.send(7, &bulk_argv(&["SENTINEL", "flushconfig"]));
    let outs = fx.pump();
    let ps = persists(&outs);
    assert_eq!(
        ps.len(),
        1,
        "a waiting client starts a write during the backoff"
    );
    assert_eq!(ps[0].1.masters["m"].config.quorum, 3);
    let outs = fx.result(ps[0].0, true);
    assert_eq!(reply_to(&outs, 7), Some(Reply::ok()));
    assert_eq!(info_field(&fx.s, "sentinel_state_write_failing"), "0");
    assert_eq!(info_field(&fx.s, "sentinel_state_write_error"), "");
    assert_eq!(
        info_field(&fx.s, "sentinel_state_write_failing_since_seconds"),
        "-1"
    );
}

#[test]
fn failed_writes_are_retried_with_capped_exponential_backoff() {
    let mut fx = Fx::new(&[], 1);
    fx.pump();
    fx.auto_persist = false;
    fx.send(1, &bulk_argv(&["SENTINEL", "set", "m", "quorum", "2"]));
    let outs = fx.pump();
    let (w, _) = persists(&outs)[0].clone();
    let start = fx.now;
    let outs = fx.result(w, false);
    assert_eq!(reply_to(&outs, 1), Some(Reply::err(FLUSH_FAILED)));
    // Nobody waits now: the state is retried on the backoff schedule, each retry failing at once.
    let mut at = Vec::new();
    while fx.now - start < 60_000 {
        let outs = fx.tick(10);
        for (seq, state) in persists(&outs) {
            assert_eq!(state.masters["m"].config.quorum, 2);
            at.push(fx.now - start);
            fx.result(seq, false);
        }
    }
    assert_eq!(
        at[..9],
        [100, 300, 700, 1500, 3100, 6300, 12_700, 22_700, 32_700],
        "{at:?}"
    );
    assert!(at.len() <= 12, "{at:?}");
    // The disk recovers: the next retry lands, and then nothing more is written.
    let last = *at.last().unwrap_or(&0);
    let mut landed = None;
    while fx.now - start < last + 10_100 {
        let outs = fx.tick(10);
        for (seq, _) in persists(&outs) {
            assert!(landed.is_none(), "one retry is enough");
            landed = Some(fx.now - start);
            fx.result(seq, true);
        }
    }
    assert_eq!(landed, Some(last + 10_000));
    assert_eq!(info_field(&fx.s, "sentinel_state_write_failing"), "0");
    for _ in 0..100 {
        assert!(persists(&fx.tick(100)).is_empty());
    }
}

#[test]
fn a_hung_write_holds_only_its_dependents() {
    let mut fx = Fx::new(&[A], 1);
    warm(&mut fx);
    fx.auto_persist = false;
    fx.send(1, &bulk_argv(&["SENTINEL", "set", "m", "quorum", "2"]));
    let outs = fx.pump();
    let (hung, _) = persists(&outs)[0].clone();
    let t0 = fx.now;
    let mut pings = 0;
    let mut answered_at = None;
    let mut info_failing_at = None;
    while fx.now - t0 < DEPENDENT_WAIT_MS + 1000 {
        let outs = fx.tick(50);
        assert!(persists(&outs).is_empty(), "a second write on a hung disk");
        pings += outs
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Output::Send {
                        cmd: OutCommand::Ping,
                        ..
                    }
                )
            })
            .count();
        answer_healthy(&mut fx, &outs);
        if let Some(r) = reply_to(&outs, 1) {
            assert_eq!(r, Reply::err(FLUSH_FAILED));
            answered_at = Some(fx.now - t0);
        }
        if info_failing_at.is_none() && info_field(&fx.s, "sentinel_state_write_failing") == "1" {
            info_failing_at = Some(fx.now - t0);
            assert!(info_field(&fx.s, "sentinel_state_write_error").contains("hung"));
        }
        if fx.now - t0 == 1000 {
            // More changes and other commands meanwhile.
            fx.send(2, &bulk_argv(&["SENTINEL", "set", "m", "quorum", "1"]));
            fx.send(3, &bulk_argv(&["SENTINEL", "master", "m"]));
            let outs = fx.pump();
            assert!(
                reply_to(&outs, 3).is_some(),
                "SENTINEL MASTER waits behind a hung write"
            );
            assert!(reply_to(&outs, 2).is_none());
            assert!(persists(&outs).is_empty());
        }
    }
    assert!(pings > 20, "monitoring stopped: {pings} pings");
    assert!(fx.events("+sdown").is_empty(), "{:?}", fx.events("+sdown"));
    let answered_at = answered_at.expect("the dependent was answered");
    assert!(
        (DEPENDENT_WAIT_MS..DEPENDENT_WAIT_MS + 100).contains(&answered_at),
        "{answered_at}"
    );
    let info_failing_at = info_failing_at.expect("INFO reports the hung write");
    assert!((STALL_MS..STALL_MS + 100).contains(&info_failing_at));
    // The write returns at last: the next one (covering the newer change) starts then.
    let outs = fx.result(hung, true);
    let ps = persists(&outs);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].1.masters["m"].config.quorum, 1);
}

#[test]
fn one_write_covers_many_masters_votes() {
    const N: u16 = 40;
    let mut st = PersistedState::new(ME);
    for i in 0..N {
        let mut cfg = MasterConfig::new(format!("m{i}"), "127.0.0.1", 7000 + i, 2);
        cfg.down_after_ms = 1000;
        let mut pm = PersistedMaster::new(cfg);
        pm.known_sentinels
            .push(("127.0.0.1".into(), 26380, A.into()));
        st.masters.insert(format!("m{i}"), pm);
    }
    let mut fx = Fx::with_state(st);
    fx.pump();
    fx.auto_persist = false;
    // A storm: every master's vote requested at once.
    for i in 0..N {
        fx.send(100 + u64::from(i), &ask(7000 + i, 1, A));
    }
    let outs = fx.pump();
    let ps = persists(&outs);
    assert_eq!(ps.len(), 1, "one write for {N} votes");
    assert!(ps[0].1.masters.values().all(|m| m.leader_epoch == 1));
    assert!(replies(&outs).is_empty());
    let outs = fx.result(ps[0].0, true);
    assert_eq!(replies(&outs).len(), usize::from(N));
    for i in 0..N {
        assert_eq!(reply_to(&outs, 100 + u64::from(i)), Some(vote(0, A, 1)));
    }
    assert!(persists(&outs).is_empty());

    // Votes arriving while a write is in flight share the next one.
    fx.send(1, &bulk_argv(&["SENTINEL", "set", "m0", "quorum", "1"]));
    let outs = fx.pump();
    let (w1, _) = persists(&outs)[0].clone();
    for i in 0..N {
        fx.send(200 + u64::from(i), &ask(7000 + i, 2, A));
    }
    let outs = fx.pump();
    assert!(persists(&outs).is_empty() && replies(&outs).is_empty());
    let outs = fx.result(w1, true);
    assert_eq!(reply_to(&outs, 1), Some(Reply::ok()));
    assert!(replies(&outs).len() == 1, "the votes need the next write");
    let ps = persists(&outs);
    assert_eq!(ps.len(), 1);
    assert!(ps[0].1.masters.values().all(|m| m.leader_epoch == 2));
    let outs = fx.result(ps[0].0, true);
    assert_eq!(replies(&outs).len(), usize::from(N));
    assert_eq!(fx.s.state_writes(), (3, 0), "three writes for 81 changes");
}

#[test]
fn a_vote_request_waits_for_the_self_vote_to_be_durable() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    fx.auto_persist = false;
    let master_link = LinkId(1);
    let mut held = None;
    let mut asks: Vec<(String, u64, bool)> = Vec::new();
    for _ in 0..400 {
        let outs = fx.tick(25);
        let tried = !fx.events("+try-failover").is_empty();
        for (seq, state) in persists(&outs) {
            if tried && held.is_none() {
                assert_eq!(state.current_epoch, 1);
                assert_eq!(state.masters["m"].leader_epoch, 1);
                held = Some(seq);
            } else {
                fx.result(seq, true);
            }
        }
        for o in &outs {
            if let Output::Send {
                cmd: OutCommand::AskMasterDown { runid, epoch, .. },
                ..
            } = o
            {
                asks.push((runid.clone(), *epoch, held.is_some()));
            }
        }
        fx.answer(&outs, |link, cmd| match cmd {
            OutCommand::Ping | OutCommand::Info if link == master_link => None,
            OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
            OutCommand::Info => Some(LinkReply::Info(Some(replica_info(1, 100)))),
            OutCommand::AskMasterDown { .. } => {
                Some(LinkReply::MasterDown(Some((1, "*".into(), 0))))
            }
            OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
            _ => Some(LinkReply::Other),
        });
        if held.is_some() {
            break;
        }
    }
    let seq = held.expect("a failover started");
    assert!(
        asks.iter().all(|(r, e, _)| r == "*" && *e == 0),
        "a vote request or the new epoch left before the write: {asks:?}"
    );
    assert!(asks.iter().any(|(_, _, during)| *during), "{asks:?}");
    let outs = fx.result(seq, true);
    let requests: Vec<u64> = outs
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                cmd: OutCommand::AskMasterDown { runid, epoch, .. },
                ..
            } if runid == ME => Some(*epoch),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests,
        [1, 1],
        "both peers asked the moment the write landed"
    );
}

#[test]
fn a_vote_in_a_durable_epoch_leaves_at_once_and_a_restart_never_casts_another() {
    let mut st = PersistedState::new(ME);
    for i in 0..2u16 {
        let mut cfg = MasterConfig::new(format!("m{i}"), "127.0.0.1", 7000 + i, 2);
        cfg.down_after_ms = 1000;
        let mut pm = PersistedMaster::new(cfg);
        pm.known_sentinels
            .push(("127.0.0.1".into(), 26380, A.into()));
        pm.known_sentinels
            .push(("127.0.0.1".into(), 26381, B.into()));
        st.masters.insert(format!("m{i}"), pm);
    }
    let mut fx = Fx::with_state(st);
    fx.pump();
    fx.auto_persist = false;
    // The first vote of epoch 1 waits for the write of the epoch.
    fx.send(1, &ask(7000, 1, A));
    let outs = fx.pump();
    let ps = persists(&outs);
    assert_eq!(ps.len(), 1);
    assert_eq!(reply_to(&outs, 1), None);
    let (seq, on_disk) = ps[0].clone();
    let outs = fx.result(seq, true);
    assert_eq!(reply_to(&outs, 1), Some(vote(0, A, 1)));
    // Epoch 1 is durable: a vote in it for another master leaves at once, before its leader-epoch line
    // is written (the write that records it is started, not awaited).
    fx.send(2, &ask(7001, 1, A));
    let outs = fx.pump();
    assert_eq!(reply_to(&outs, 2), Some(vote(0, A, 1)));
    assert_eq!(persists(&outs).len(), 1, "the vote is still recorded");

    // A crash before that write lands: restarted from `on_disk` (epoch 1, m1's leader-epoch 0), the
    // sentinel must not vote for m1 in epoch 1 again — for B or anyone.
    assert_eq!(on_disk.current_epoch, 1);
    assert_eq!(on_disk.masters["m1"].leader_epoch, 0);
    let mut fx = Fx::with_state(on_disk);
    fx.pump();
    fx.send(3, &ask(7001, 1, B));
    let outs = fx.pump();
    assert_eq!(reply_to(&outs, 3), Some(vote(0, "*", 0)));
    assert!(fx.events("+vote-for-leader").is_empty());
    // The next epoch is open as usual.
    fx.send(4, &ask(7001, 2, B));
    let outs = fx.pump();
    assert_eq!(reply_to(&outs, 4), Some(vote(0, B, 2)));
}

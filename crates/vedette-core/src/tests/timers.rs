//! The timer answers the next real deadline: an idle sentinel wakes only when something is due, the
//! observable periods stay Redis's, and TILT still catches clock jumps and stalls.

use super::*;

/// A fixture with Redis's default down-after (30 s): PING every 1 s, hello every 2 s, INFO every 10 s.
fn idle_fx() -> Fx {
    let mut fx = Fx::new(&[A, B], 2);
    fx.cmd(&["SENTINEL", "SET", "m", "down-after-milliseconds", "30000"]);
    warm(&mut fx);
    fx
}

/// Drive `fx` only at the deadlines it reports, answering everything, for `ms`. Returns the number of
/// wake-ups and, per link, the commands sent.
fn run_at_deadlines(fx: &mut Fx, ms: u64) -> (usize, Vec<(LinkId, OutCommand)>) {
    let end = fx.now + ms;
    let mut wakes = 0;
    let mut sent = Vec::new();
    loop {
        let Some(t) = fx.s.poll_timeout() else {
            panic!("a sentinel monitoring a master always has a deadline");
        };
        assert!(t.0 > fx.now, "deadline {} not after now {}", t.0, fx.now);
        if t.0 > end {
            break;
        }
        fx.now = t.0;
        fx.s.handle_timeout(Instant(fx.now), fx.now);
        wakes += 1;
        let outs = fx.pump();
        for o in &outs {
            if let Output::Send { link, cmd, .. } = o {
                sent.push((*link, cmd.clone()));
            }
        }
        answer_healthy(fx, &outs);
    }
    (wakes, sent)
}

#[test]
fn an_idle_sentinel_wakes_only_when_something_is_due() {
    let mut fx = idle_fx();
    let (wakes, sent) = run_at_deadlines(&mut fx, 20_000);
    let count = |link: LinkId, f: &dyn Fn(&OutCommand) -> bool| {
        sent.iter().filter(|(l, c)| *l == link && f(c)).count()
    };
    let master = LinkId(1);
    // Redis's periods, to the timer's granularity: PING every second, hello every 2 s, INFO every 10 s.
    let pings = count(master, &|c| matches!(c, OutCommand::Ping));
    let hellos = count(master, &|c| matches!(c, OutCommand::PublishHello(_)));
    let infos = count(master, &|c| matches!(c, OutCommand::Info));
    assert!((19..=21).contains(&pings), "{pings} PINGs in 20 s");
    assert!((9..=10).contains(&hellos), "{hellos} hellos in 20 s");
    assert!((2..=3).contains(&infos), "{infos} INFOs in 20 s");
    // Five instances (master, two replicas, two peers) with one PING a second each: about that many
    // wake-ups, not the 200–500 of a 40–100 ms tick.
    assert!(wakes <= 5 * 20 + 10, "{wakes} wake-ups in 20 s");
}

#[test]
fn a_down_master_is_watched_closely_and_found_down_on_time() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    let start = fx.now;
    let mut sdown_at = None;
    while fx.now < start + 3000 && sdown_at.is_none() {
        let t = fx.s.poll_timeout().map_or(fx.now + 100, |t| t.0);
        fx.now = t;
        fx.s.handle_timeout(Instant(fx.now), fx.now);
        let outs = fx.pump();
        // The master (link 1) stops answering; everything else is healthy.
        fx.answer(&outs, |link, cmd| match cmd {
            _ if link == LinkId(1) => None,
            OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
            OutCommand::Info => Some(LinkReply::Info(Some(replica_info(1, 100)))),
            OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
            _ => Some(LinkReply::Other),
        });
        if !fx.events("+sdown").is_empty() {
            sdown_at = Some(fx.now);
        }
    }
    let at = sdown_at.expect("+sdown within 3 s of down-after 1 s");
    // The PING unanswered since about `start` reaches down-after (1 s) and is seen within the timer
    // granularity, not a tick later.
    assert!(
        at - start <= 1000 + 100 + 20,
        "+sdown {} ms after the master stopped",
        at - start
    );
    // While it is down, the master is visited every 10 ms.
    let t = fx.s.poll_timeout().map(|t| t.0).unwrap_or(u64::MAX);
    assert!(t <= fx.now + 10, "next deadline {t}, now {}", fx.now);
}

#[test]
fn tilt_counts_the_planned_sleep() {
    let mut fx = idle_fx();
    // Sleeping exactly as planned, whatever the length: no TILT.
    run_at_deadlines(&mut fx, 5_000);
    assert!(fx.events("+tilt").is_empty());
    // The process is stopped for 5 s past its deadline (both clocks move on): TILT.
    let t = fx.s.poll_timeout().map_or(fx.now, |t| t.0);
    fx.now = t + 5_000;
    fx.s.handle_timeout(Instant(fx.now), fx.now);
    fx.pump();
    assert_eq!(fx.events("+tilt").len(), 1);
    assert!(fx.s.in_tilt());
}

#[test]
fn tilt_on_a_backwards_wall_clock() {
    let mut fx = idle_fx();
    let t = fx.s.poll_timeout().map_or(fx.now, |t| t.0);
    fx.now = t;
    // Monotonic time moved on; the wall clock went back 5 s.
    fx.s.handle_timeout(Instant(fx.now), fx.now.saturating_sub(5_000));
    fx.pump();
    assert_eq!(fx.events("+tilt").len(), 1);
}

/// PINGs sent on the master's link (link 1) in `ms` of an otherwise healthy topology, down-after 1 s.
fn master_pings_with_budget(budget: u32, ms: u64) -> usize {
    let mut fx = Fx::new(&[A, B], 2);
    fx.s.global.ping_budget = budget;
    warm(&mut fx);
    let (_, sent) = run_at_deadlines(&mut fx, ms);
    sent.iter()
        .filter(|(l, c)| *l == LinkId(1) && matches!(c, OutCommand::Ping))
        .count()
}

#[test]
fn the_ping_budget_spreads_pings_over_the_links() {
    // Five links (master, two replicas, two peers). The default budget (100/s) covers the fast schedule:
    // down-after/10 = 100 ms.
    let fast = master_pings_with_budget(crate::config::DEFAULT_PING_BUDGET, 10_000);
    // (A PING goes out once the interval has passed, at the timer's 10 ms granularity: ~110 ms apart.)
    assert!((85..=100).contains(&fast), "{fast} PINGs in 10 s at 100 ms");
    // A budget of 10 PINGs/s over five links: every 500 ms.
    let budgeted = master_pings_with_budget(10, 10_000);
    assert!(
        (19..=21).contains(&budgeted),
        "{budgeted} PINGs in 10 s at 500 ms"
    );
    // Never less often than Redis: min(down-after, 1 s).
    let floor = master_pings_with_budget(1, 10_000);
    assert!((9..=10).contains(&floor), "{floor} PINGs in 10 s at 1 s");
    // 0 = no limit.
    assert_eq!(master_pings_with_budget(0, 10_000), fast);
}

#[test]
fn a_lost_connection_is_found_down_on_time_however_rarely_pinged() {
    let mut fx = Fx::new(&[A, B], 2);
    // One PING per link per second: the last PONG before the crash is up to 1 s old.
    fx.s.global.ping_budget = 1;
    warm(&mut fx);
    run_at_deadlines(&mut fx, 1_700);
    // The connection breaks 600 ms after the last thing handled: the last PONG is at least that old.
    let lost = fx.now + 600;
    fx.now = lost;
    fx.s.handle_input(
        Instant(lost),
        Input::LinkDown {
            link: LinkId(1),
            conn: 1,
        },
    );
    let mut sdown_at = None;
    while fx.now < lost + 3000 && sdown_at.is_none() {
        let t = fx.s.poll_timeout().map_or(fx.now + 100, |t| t.0);
        fx.now = t;
        fx.s.handle_timeout(Instant(fx.now), fx.now);
        // Every reconnect of the master is refused; everything else is healthy.
        let mut outs = Vec::new();
        while let Some(o) = fx.s.poll_output() {
            match &o {
                Output::Connect { link, .. } if *link == LinkId(1) => {
                    fx.s.handle_input(
                        Instant(fx.now),
                        Input::LinkDown {
                            link: LinkId(1),
                            conn: 0,
                        },
                    );
                }
                Output::Persist { seq, .. } => {
                    let seq = *seq;
                    fx.s.handle_input(Instant(fx.now), Input::Persisted(seq));
                }
                _ => {}
            }
            outs.push(o);
        }
        fx.log.extend(outs.clone());
        answer_healthy(&mut fx, &outs);
        if !fx.events("+sdown").is_empty() {
            sdown_at = Some(fx.now);
        }
    }
    let at = sdown_at.expect("+sdown within 3 s of the lost connection");
    // Down-after (1 s) from the crash, less at most the fast schedule's 100 ms — not from a PONG that may
    // have been a whole second old.
    assert!(
        (lost + 900..=lost + 1000 + 20).contains(&at),
        "+sdown {} ms after the connection was lost",
        at as i64 - lost as i64
    );
}

#[test]
fn fast_info_to_replicas_stays_within_the_budget() {
    // The master is down: its replicas get INFO every 100 ms (Redis: 1 s) while the budget allows it.
    for (budget, want) in [(crate::config::DEFAULT_PING_BUDGET, 100), (1, 1000)] {
        let mut fx = Fx::new(&[A, B], 2);
        fx.s.global.ping_budget = budget;
        warm(&mut fx);
        let (mid, rid) = {
            let (mid, m) = fx.s.masters.iter_ids().next().expect("a master");
            (mid, m.replicas.iter_ids().next().expect("a replica").0)
        };
        if let Some(m) = fx.s.masters.at_mut(mid) {
            m.c.s_down = true;
        }
        assert_eq!(
            fx.s.info_period(crate::instance::Inst::replica(mid, rid)),
            want,
            "budget {budget}"
        );
    }
}

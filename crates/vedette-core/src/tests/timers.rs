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
            OutCommand::Ping => Some(LinkReply::Ping(Ok("PONG".into()))),
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

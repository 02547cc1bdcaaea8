//! Untrusted addresses and numbers are validated where they enter: hellos, INFO, commands. A rejected
//! input changes nothing durable.

use super::*;
use crate::config::{MAX_COUNT, MAX_EPOCH};

impl Fx {
    /// Advance `ms` in ticks of 100 ms (no TILT), answering every command: PONG, hellos accepted, INFO
    /// from `info` (master link) or a healthy replica's.
    fn run_answering(&mut self, ms: u64, info: &str) {
        for _ in 0..ms.div_ceil(100) {
            let outs = self.tick(100);
            self.answer(&outs, |link, cmd| match cmd {
                OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
                OutCommand::Info if link == LinkId(1) => Some(LinkReply::Info(Some(info.into()))),
                OutCommand::Info => Some(LinkReply::Info(Some(replica_info(1, 100)))),
                OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
                _ => Some(LinkReply::Other),
            });
        }
        self.pump();
    }
}

fn persists(outs: &[Output]) -> usize {
    outs.iter()
        .filter(|o| matches!(o, Output::Persist { .. }))
        .count()
}

/// PUBLISH a hello to the sentinel; returns what it output.
fn publish(fx: &mut Fx, payload: &str) -> Vec<Output> {
    fx.s.handle_argv(
        Instant(fx.now),
        ClientId(9),
        &bulk_argv(&["PUBLISH", "__sentinel__:hello", payload]),
    );
    fx.pump()
}

#[test]
fn forged_hellos_change_nothing() {
    let mut fx = Fx::new(&[], 1);
    fx.pump();
    let before = fx.s.persisted_state();
    let forged = [
        format!("x,1,{A},0,m,127.0.0.1,6379,0"), // hostname, resolve-hostnames no
        format!("127.0.0.1,0,{A},0,m,127.0.0.1,6379,0"), // port 0
        format!("127.0.0.1,70000,{A},0,m,127.0.0.1,6379,0"), // port 70000
        format!("127.0.0.1,26400,{},0,m,127.0.0.1,6379,0", &A[..39]), // 39-char run id
        format!("127.0.0.1,26400,{}z,0,m,127.0.0.1,6379,0", &A[..39]), // not hex
        format!("127.0.0.1,26400,{A},{},m,127.0.0.1,6379,0", u64::MAX), // epoch 2^64-1
        format!("127.0.0.1,26400,{A},0,m,127.0.0.1,6379,{}", u64::MAX),
        format!("127.0.0.1,26400,{A},0,m,127.0.0.1,6379,{}", MAX_EPOCH + 1),
        format!("127.0.0.1,26400,{A},0,m,db.example,6380,5"), // master address by name
        format!("127.0.0.1,26400,{A},0,m,127.0.0.1,0,5"),     // master port 0
    ];
    for h in &forged {
        let outs = publish(&mut fx, h);
        assert_eq!(persists(&outs), 0, "{h} was persisted");
        assert!(
            outs.iter().any(|o| matches!(
                o,
                Output::Reply {
                    reply: Reply::Int(1),
                    ..
                }
            )),
            "PUBLISH answers :1 as Redis does"
        );
        // Via an instance's pub/sub link too.
        fx.s.handle_input(
            Instant(fx.now),
            Input::Hello {
                link: LinkId(1),
                payload: h.as_bytes().to_vec(),
            },
        );
        assert_eq!(
            persists(&fx.pump()),
            0,
            "{h} (via the master) was persisted"
        );
    }
    assert_eq!(fx.s.persisted_state(), before);
    assert!(fx.events("+sentinel").is_empty());
    // The same hello with valid fields is taken.
    let ok = format!("127.0.0.1,26400,{A},{MAX_EPOCH},m,127.0.0.1,6379,0");
    assert_eq!(persists(&publish(&mut fx, &ok)), 1);
    assert_eq!(fx.s.current_epoch(), MAX_EPOCH);
}

#[test]
fn hostnames_in_hellos_need_resolve_hostnames() {
    let mut fx = Fx::new(&[], 1);
    fx.pump();
    assert_eq!(
        fx.cmd(&["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "yes"]),
        Reply::ok()
    );
    publish(
        &mut fx,
        &format!("s1.example,26400,{A},0,m,127.0.0.1,6379,0"),
    );
    assert_eq!(fx.events("+sentinel").len(), 1);
    // Not a host name even then.
    publish(&mut fx, &format!("bad host,26401,{B},0,m,127.0.0.1,6379,0"));
    assert_eq!(fx.events("+sentinel").len(), 1);
    // While an instance is known by name, resolve-hostnames cannot be turned off: the next config written
    // would not load.
    assert_eq!(
        fx.cmd(&["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "no"]),
        Reply::err("ERR Invalid value 'no' to SENTINEL CONFIG SET 'resolve-hostnames'")
    );
    assert!(fx.s.persisted_state().global.resolve_hostnames);
}

#[test]
fn a_config_epoch_raises_the_current_epoch() {
    let mut fx = Fx::new(&[], 1);
    fx.pump();
    publish(
        &mut fx,
        &format!("127.0.0.1,26400,{A},0,m,127.0.0.1,6379,9"),
    );
    assert_eq!(fx.s.master_config_epoch("m"), Some(9));
    assert_eq!(
        fx.s.current_epoch(),
        9,
        "what the loader would make of the file anyway"
    );
}

#[test]
fn invalid_replica_lines_in_info_are_ignored() {
    let mut fx = Fx::new(&[], 1);
    warm(&mut fx);
    let n = fx.events("+slave").len();
    let info = format!(
        "run_id:{A}\r\nrole:master\r\nslave0:ip=db.example,port=6390,state=online\r\nslave1:ip=127.0.0.1,port=0,state=online\r\nslave2:ip=127.0.0.1,port=6379,state=online\r\nslave3:ip=127.0.0.1,port=6391,state=online\r\n"
    );
    fx.run_answering(10_100, &info);
    let added = fx.events("+slave")[n..].to_vec();
    assert_eq!(added.len(), 1, "only the valid, foreign address: {added:?}");
    assert!(added[0].starts_with("slave 127.0.0.1:6391 "));
}

#[test]
fn numbers_are_range_checked_with_redis_errors() {
    let mut fx = Fx::new(&[], 2);
    fx.pump();
    let set = |fx: &mut Fx, opt: &str, v: &str| fx.cmd(&["SENTINEL", "SET", "m", opt, v]);
    for (opt, v) in [
        ("quorum", "4294967296"),
        ("quorum", "2147483648"),
        ("quorum", "0"),
        ("quorum", "+3"),
        ("quorum", "03"),
        ("parallel-syncs", "4294967297"),
        ("down-after-milliseconds", "9223372036854775808"),
        ("down-after-milliseconds", " 5"),
        ("failover-timeout", "-1"),
        ("master-reboot-down-after-period", "-1"),
    ] {
        assert_eq!(
            set(&mut fx, opt, v),
            Reply::err(format!(
                "ERR Invalid argument '{v}' for SENTINEL SET '{opt}'"
            )),
            "{opt} {v}"
        );
    }
    assert_eq!(set(&mut fx, "quorum", &MAX_COUNT.to_string()), Reply::ok());
    assert_eq!(fx.s.persisted_state().masters["m"].config.quorum, MAX_COUNT);
    assert_eq!(
        fx.cmd(&[
            "SENTINEL",
            "MONITOR",
            "n",
            "127.0.0.1",
            "6390",
            "4294967296"
        ]),
        Reply::err("ERR Invalid quorum")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "MONITOR", "n", "127.0.0.1", "+6390", "2"]),
        Reply::err("ERR Invalid port")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "MONITOR", "n", "127.0.0.1", "65536", "2"]),
        Reply::err("ERR Invalid port number.")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "CONFIG", "SET", "announce-port", "65536"]),
        Reply::err("ERR Invalid value '65536' to SENTINEL CONFIG SET 'announce-port'")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "DEBUG", "ping-period", "0"]),
        Reply::err("ERR Invalid argument '0' for SENTINEL DEBUG 'ping-period'")
    );
    // With resolve-hostnames yes a MONITOR host must still be a host name.
    fx.cmd(&["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "yes"]);
    assert_eq!(
        fx.cmd(&["SENTINEL", "MONITOR", "n", "", "6390", "2"]),
        Reply::err("ERR Invalid IP address or hostname specified")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "MONITOR", "n", "db.example", "6390", "2"]),
        Reply::ok()
    );
}

#[test]
fn huge_timings_saturate_instead_of_overflowing() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    // The master reports role:slave, so its SDOWN rule adds down-after and info periods.
    let slave =
        format!("run_id:{A}\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6390\r\n");
    fx.run_answering(10_100, &slave);
    let max = i64::MAX.to_string();
    for name in [
        "info-period",
        "ping-period",
        "ask-period",
        "publish-period",
        "election-timeout",
        "slave-reconf-timeout",
        "min-link-reconnect-period",
    ] {
        assert_eq!(fx.cmd(&["SENTINEL", "DEBUG", name, &max]), Reply::ok());
    }
    for opt in [
        "down-after-milliseconds",
        "failover-timeout",
        "master-reboot-down-after-period",
    ] {
        assert_eq!(fx.cmd(&["SENTINEL", "SET", "m", opt, &max]), Reply::ok());
    }
    assert_eq!(
        fx.s.masters["m"].info.role_reported,
        crate::wire::info::Role::Slave
    );
    // Ticks and a failure run through every timer computation without an overflow panic.
    run_failure(&mut fx, |_, _, _| Some((1, "*".into(), 0)));
    for _ in 0..20 {
        fx.tick(1000);
    }
}

#[test]
fn no_failover_is_started_without_an_epoch_left() {
    let mut fx = Fx::new(&[A, B], 2);
    warm(&mut fx);
    publish(
        &mut fx,
        &format!("127.0.0.1,26380,{A},{MAX_EPOCH},m,127.0.0.1,6379,0"),
    );
    assert_eq!(fx.s.current_epoch(), MAX_EPOCH);
    run_failure(&mut fx, |_, _, _| Some((1, "*".into(), 0)));
    assert!(!fx.events("+odown").is_empty(), "the failure was seen");
    assert!(fx.events("+try-failover").is_empty());
    assert_eq!(fx.s.current_epoch(), MAX_EPOCH);
}

#[test]
fn unknown_command_message_is_bounded_like_redis() {
    use crate::reply::errors::unknown_command;
    let argv = |v: &[&str]| v.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>();
    assert_eq!(
        unknown_command(&argv(&["foo", "a", "b"])),
        "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
    );
    // A million empty arguments: the quotes count towards Redis's 128 bytes.
    let mut many = vec![b"foo".to_vec()];
    many.extend(std::iter::repeat_n(Vec::new(), 1_000_000));
    let msg = unknown_command(&many);
    assert_eq!(msg.matches("'' ").count(), 43, "{msg}");
    let long = "x".repeat(1000);
    let msg = unknown_command(&argv(&["foo", &long, "b"]));
    assert_eq!(
        msg,
        format!(
            "ERR unknown command 'foo', with args beginning with: '{}' ",
            "x".repeat(128)
        )
    );
}

#[test]
fn pending_counts_follow_the_queue() {
    use crate::instance::link::Inflight;
    use crate::instance::table::{MasterId, Table};
    use crate::instance::{Inst, Sent};
    let mut t: Table<MasterId, ()> = Table::new();
    let (m, n) = (t.insert("m".into(), ()), t.insert("n".into(), ()));
    let k = Inst::master(m);
    let mut q = Inflight::default();
    q.push(Sent::Ping(k));
    q.push(Sent::Info(k));
    q.push(Sent::Publish(k));
    q.push(Sent::Publish(k));
    q.push(Sent::Ask {
        master: m,
        host: "h".into(),
        port: 1,
        epoch: 3,
        vote: false,
    });
    assert!(q.info_pending(k) && q.publish_pending(k) && q.ask_pending(m, 3));
    assert!(!q.ask_pending(m, 4) && !q.publish_pending(Inst::master(n)));
    // INFO is pending per instance: another name on a shared link may still send its own.
    assert!(!q.info_pending(Inst::master(n)));
    assert!(matches!(q.pop(), Some(Sent::Ping(_))));
    assert!(matches!(q.pop(), Some(Sent::Info(_))));
    assert!(!q.info_pending(k));
    q.pop();
    assert!(q.publish_pending(k), "one of two hellos still pending");
    q.pop();
    assert!(!q.publish_pending(k) && q.ask_pending(m, 3));
    q.clear();
    assert_eq!(q.len(), 0);
    assert!(!q.ask_pending(m, 3));
}

fn field(r: &Reply, name: &str) -> String {
    let Reply::Map(kv) = r else {
        panic!("not a map: {r:?}");
    };
    kv.iter()
        .find(|(k, _)| *k == Reply::bulk(name))
        .and_then(|(_, v)| match v {
            Reply::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name} missing: {r:?}"))
}

/// What parsing leaves to execution runs in Redis's order: MONITOR's host, then the port's range, then a
/// duplicate name (as redis-sentinel 7.0.15 answers); SET's master before its options; SET, DEBUG and
/// SIMULATE-FAILURE keep what came before their error.
#[test]
fn state_checks_follow_parsing_in_redis_order() {
    let mut fx = Fx::new(&[], 1);
    fx.pump();
    let monitor =
        |host: &str, port: &str| ["SENTINEL", "MONITOR", "m", host, port, "2"].map(String::from);
    let run = |fx: &mut Fx, a: &[String]| fx.cmd(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        run(&mut fx, &monitor("127.0.0.1", "70000")),
        Reply::err("ERR Invalid port number.")
    );
    assert_eq!(
        run(&mut fx, &monitor("no.such.host", "70000")),
        Reply::err("ERR Invalid IP address or hostname specified")
    );
    assert_eq!(
        run(&mut fx, &monitor("127.0.0.1", "6390")),
        Reply::err("ERR Duplicate master name.")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "SET", "nosuch", "bogus", "1"]),
        Reply::err(crate::reply::errors::NO_SUCH_MASTER)
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "SET", "m", "quorum", "3", "bogus", "1"]),
        Reply::err("ERR Unknown option or number of arguments for SENTINEL SET 'bogus'")
    );
    assert_eq!(field(&fx.cmd(&["SENTINEL", "MASTER", "m"]), "quorum"), "3");
    assert_eq!(
        fx.cmd(&[
            "SENTINEL",
            "DEBUG",
            "ping-period",
            "123",
            "info-period",
            "0"
        ]),
        Reply::err("ERR Invalid argument '0' for SENTINEL DEBUG 'info-period'")
    );
    assert_eq!(fx.s.timings().ping_period, 123);
    assert_eq!(
        fx.cmd(&["SENTINEL", "SIMULATE-FAILURE", "crash-after-promotion", "x"]),
        Reply::err("ERR Unknown failure simulation specified")
    );
    assert!(fx
        .s
        .info_section(0, 0)
        .contains("\r\nsentinel_simulate_failure_flags:2\r\n"));
}

//! Unit tests that drive one `Sentinel` by hand and assert the outputs it produces.

use crate::config::{MasterConfig, PersistedMaster, PersistedState};
use crate::io::{ClientId, Input, LinkId, LinkReply, OutCommand, Output};
use crate::reply::Reply;
use crate::sentinel::Sentinel;
use crate::time::Instant;

const ME: &str = "5555555555555555555555555555555555555555";
const A: &str = "1111111111111111111111111111111111111111";
const B: &str = "2222222222222222222222222222222222222222";
const C: &str = "3333333333333333333333333333333333333333";

struct Fx {
    s: Sentinel,
    now: u64,
    /// Everything polled so far.
    log: Vec<Output>,
    auto_persist: bool,
    /// What a command's pump polled besides its reply: handed out by the next tick, so a command run
    /// between ticks never swallows a send the test would have answered.
    held: Vec<Output>,
}

fn bulk_argv(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

/// A peer's `SENTINEL is-master-down-by-addr 127.0.0.1 <port> <epoch> <runid>`: is the master at `port`
/// down, and (unless `runid` is `*`) a vote request for `runid` in `epoch`.
fn ask(port: u16, epoch: u64, runid: &str) -> Vec<Vec<u8>> {
    bulk_argv(&[
        "SENTINEL",
        "is-master-down-by-addr",
        "127.0.0.1",
        &port.to_string(),
        &epoch.to_string(),
        runid,
    ])
}

/// The reply to [`ask`]: down (1) or not (0), the leader voted for (`*`: none) and its epoch.
fn vote(down: i64, leader: &str, epoch: i64) -> Reply {
    Reply::Array(vec![
        Reply::Int(down),
        Reply::bulk(leader),
        Reply::Int(epoch),
    ])
}

impl Fx {
    fn new(peers: &[&str], quorum: u32) -> Fx {
        let mut st = PersistedState::new(ME);
        let mut cfg = MasterConfig::new("m", "127.0.0.1", 6379, quorum);
        cfg.down_after_ms = 1000;
        cfg.failover_timeout_ms = 10_000;
        let mut pm = PersistedMaster::new(cfg);
        pm.known_replicas.push(("127.0.0.1".into(), 6380));
        pm.known_replicas.push(("127.0.0.1".into(), 6381));
        for (i, p) in peers.iter().enumerate() {
            pm.known_sentinels
                .push(("127.0.0.1".into(), 26380 + i as u16, (*p).to_string()));
        }
        st.masters.insert("m".into(), pm);
        Fx::with_state(st)
    }

    /// A fixture on a sentinel loaded from `st`, nothing polled yet.
    fn with_state(st: PersistedState) -> Fx {
        Fx {
            s: Sentinel::new(st, 1, Instant(0)),
            now: 0,
            log: Vec::new(),
            auto_persist: true,
            held: Vec::new(),
        }
    }

    /// Poll everything; ack persists when `auto_persist`; bring every requested link up.
    fn pump(&mut self) -> Vec<Output> {
        let mut got = Vec::new();
        while let Some(o) = self.s.poll_output() {
            match &o {
                Output::Persist { seq, .. } if self.auto_persist => {
                    let seq = *seq;
                    got.push(o);
                    self.s
                        .handle_input(Instant(self.now), Input::Persisted(seq));
                    continue;
                }
                Output::Connect { link, .. } => {
                    let link = *link;
                    got.push(o);
                    self.s.handle_input(
                        Instant(self.now),
                        Input::LinkUp {
                            link,
                            conn: link.0,
                            local_ip: "127.0.0.1".into(),
                        },
                    );
                    continue;
                }
                _ => {}
            }
            got.push(o);
        }
        self.log.extend(got.clone());
        got
    }

    fn tick(&mut self, advance: u64) -> Vec<Output> {
        self.now += advance;
        self.s.handle_timeout(Instant(self.now), self.now);
        let mut outs = std::mem::take(&mut self.held);
        outs.extend(self.pump());
        outs
    }

    fn cmd(&mut self, args: &[&str]) -> Reply {
        self.cmd_argv(&bulk_argv(args))
    }

    /// [`Fx::cmd`] with the arguments already bytes.
    fn cmd_argv(&mut self, argv: &[Vec<u8>]) -> Reply {
        self.s.handle_argv(Instant(self.now), ClientId(9), argv);
        let mut reply = None;
        for o in self.pump() {
            match o {
                Output::Reply { reply: r, .. } => reply = Some(r),
                Output::Send { .. } => self.held.push(o),
                _ => {}
            }
        }
        reply.expect("a reply")
    }

    /// Answer every command sent so far on `link` with a reply built by `f` (None = leave unanswered).
    fn answer(
        &mut self,
        outs: &[Output],
        mut f: impl FnMut(LinkId, &OutCommand) -> Option<LinkReply>,
    ) {
        for o in outs {
            if let Output::Send { link, conn, cmd } = o {
                if let Some(r) = f(*link, cmd) {
                    self.s.handle_input(
                        Instant(self.now),
                        Input::Reply {
                            link: *link,
                            conn: *conn,
                            reply: r,
                        },
                    );
                }
            }
        }
    }

    fn events(&self, kind: &str) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) if e.kind.channel() == kind => Some(e.kind.to_string()),
                _ => None,
            })
            .collect()
    }
}

fn master_info(run_id: &str, replicas: &[u16]) -> String {
    let mut s = format!("# Server\r\nrun_id:{run_id}\r\n# Replication\r\nrole:master\r\n");
    for (i, p) in replicas.iter().enumerate() {
        s.push_str(&format!(
            "slave{i}:ip=127.0.0.1,port={p},state=online,offset=10,lag=0\r\n"
        ));
    }
    s
}

fn replica_info(offset: u64, priority: u32) -> String {
    format!(
        "run_id:{}\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:up\r\nslave_repl_offset:{offset}\r\nslave_priority:{priority}\r\nreplica_announced:1\r\n",
        "9".repeat(40)
    )
}

/// Answer `outs` as a healthy topology would: the master (link 1) with replicas 6380 and 6381.
fn answer_healthy(fx: &mut Fx, outs: &[Output]) {
    fx.answer(outs, |link, cmd| match cmd {
        OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
        OutCommand::Info if link == LinkId(1) => {
            Some(LinkReply::Info(Some(master_info(A, &[6380, 6381]))))
        }
        OutCommand::Info => Some(LinkReply::Info(Some(replica_info(1, 100)))),
        OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
        _ => Some(LinkReply::Other),
    });
}

/// Bring the fixture to a steady state: every link up, INFO answered, replicas known.
fn warm(fx: &mut Fx) {
    for _ in 0..5 {
        let outs = fx.tick(100);
        answer_healthy(fx, &outs);
    }
}

/// Play a master failure: the master stops answering, peers answer asks with `down` and vote as given.
fn run_failure(fx: &mut Fx, peer_vote: impl Fn(LinkId, &str, u64) -> Option<(i64, String, i64)>) {
    let master_link = LinkId(1);
    for step in 0..400 {
        let outs = fx.tick(25);
        let now = fx.now;
        fx.answer(&outs, |link, cmd| match cmd {
            OutCommand::Ping if link == master_link => None,
            OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
            OutCommand::Info if link == master_link => None,
            OutCommand::Info => {
                // Replica links are 2 and 3 (created in order after the master's).
                let (off, prio) = if link == LinkId(2) {
                    (100, 100)
                } else {
                    (50, 100)
                };
                let promoted = false;
                let _ = promoted;
                Some(LinkReply::Info(Some(replica_info(off, prio))))
            }
            OutCommand::AskMasterDown { runid, epoch, .. } => {
                Some(LinkReply::MasterDown(peer_vote(link, runid, *epoch)))
            }
            _ if link == master_link => None,
            OutCommand::PublishHello(_) => Some(LinkReply::Publish(true)),
            _ => Some(LinkReply::Other),
        });
        let _ = (step, now);
        if !fx.events("+selected-slave").is_empty()
            || !fx.events("-failover-abort-not-elected").is_empty()
        {
            break;
        }
    }
}

#[test]
fn hello_discovers_peers_and_adopts_newer_config() {
    let mut fx = Fx::new(&[], 1);
    fx.pump();
    let hello = format!("127.0.0.1,26399,{A},7,m,127.0.0.1,6379,0");
    assert_eq!(
        fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]),
        Reply::Int(1)
    );
    assert_eq!(fx.events("+sentinel").len(), 1);
    assert_eq!(fx.s.current_epoch(), 7);
    let hello = format!("127.0.0.1,26399,{A},7,m,127.0.0.1,6380,7");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    assert_eq!(
        fx.events("+switch-master"),
        vec!["m 127.0.0.1 6379 127.0.0.1 6380".to_string()]
    );
    assert_eq!(fx.s.master_addr("m"), Some(("127.0.0.1".into(), 6380)));
    // The old master is now a replica.
    assert!(fx
        .events("+slave")
        .iter()
        .any(|m| m.starts_with("slave 127.0.0.1:6379 ")));
    // Malformed hellos are ignored, and the reply is still :1 (as Redis).
    assert_eq!(
        fx.cmd(&["PUBLISH", "__sentinel__:hello", "a,b,c"]),
        Reply::Int(1)
    );
    assert_eq!(
        fx.cmd(&["PUBLISH", "other", "x"]),
        Reply::err("ERR Only HELLO messages are accepted by Sentinel instances.")
    );
}

#[test]
fn command_errors_match_redis() {
    let mut fx = Fx::new(&[], 2);
    fx.pump();
    assert_eq!(
        fx.cmd(&["SENTINEL", "nope"]),
        Reply::err("ERR unknown subcommand 'nope'. Try SENTINEL HELP.")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "masters", "x"]),
        Reply::err("ERR wrong number of arguments for 'sentinel|masters' command")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "master", "zz"]),
        Reply::err("ERR No such master with that name")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "get-master-addr-by-name", "zz"]),
        Reply::NilArray
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "set", "m", "down-after-milliseconds", "-20"]),
        Reply::err("ERR Invalid argument '-20' for SENTINEL SET 'down-after-milliseconds'")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "set", "m", "fakeoption", "x"]),
        Reply::err("ERR Unknown option or number of arguments for SENTINEL SET 'fakeoption'")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "set", "m", "fakeoption"]),
        Reply::err("ERR wrong number of arguments for 'sentinel|set' command")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "set", "m", "quorum", "3"]),
        Reply::ok()
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "ckquorum", "m"]),
        Reply::err("NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "monitor", "m", "127.0.0.1", "1", "2"]),
        Reply::err("ERR Duplicate master name.")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "monitor", "x", "localhost", "1", "2"]),
        Reply::err("ERR Invalid IP address or hostname specified")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "monitor", "x", "127.0.0.1", "1", "0"]),
        Reply::err("ERR Quorum must be 1 or greater.")
    );
    // Two parameters in one CONFIG SET: applied together, or (one invalid) neither.
    let set_both = |fx: &mut Fx, port: &str, resolve: &str| {
        fx.cmd(&[
            "SENTINEL",
            "config",
            "set",
            "announce-port",
            port,
            "resolve-hostnames",
            resolve,
        ])
    };
    assert_eq!(set_both(&mut fx, "1234", "yes"), Reply::ok());
    assert_eq!(
        fx.cmd(&["SENTINEL", "config", "get", "announce*"]),
        Reply::bulk_map([
            ("announce-hostnames", "no"),
            ("announce-ip", ""),
            ("announce-port", "1234")
        ])
    );
    assert_eq!(
        set_both(&mut fx, "-1234", "no"),
        Reply::err("ERR Invalid value '-1234' to SENTINEL CONFIG SET 'announce-port'")
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "config", "get", "resolve-hostnames"]),
        Reply::bulk_map([("resolve-hostnames", "yes")])
    );
    assert_eq!(
        fx.cmd(&["SENTINEL", "debug", "info-period", "8888"]),
        Reply::ok()
    );
    let Reply::Map(d) = fx.cmd(&["SENTINEL", "debug"]) else {
        panic!("map")
    };
    assert_eq!(d[0], (Reply::bulk("INFO-PERIOD"), Reply::bulk("8888")));
    assert_eq!(
        fx.cmd(&["SENTINEL", "simulate-failure", "help"]),
        Reply::Array(vec![
            Reply::bulk("crash-after-election"),
            Reply::bulk("crash-after-promotion")
        ])
    );
    assert_eq!(fx.cmd(&["SENTINEL", "reset", "*"]), Reply::Int(1));
    let Reply::Map(m) = fx.cmd(&["SENTINEL", "master", "m"]) else {
        panic!("map")
    };
    let keys: Vec<String> = m
        .iter()
        .map(|(k, _)| match k {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        })
        .collect();
    assert_eq!(&keys[..5], &["name", "ip", "port", "runid", "flags"]);
    assert!(keys.contains(&"num-other-sentinels".to_string()));
}

#[test]
fn tilt_on_clock_jump_freezes_acting_and_answers_not_down() {
    let mut fx = Fx::new(&[A], 1);
    warm(&mut fx);
    // The wall clock jumps 10 s between two timer runs: TILT (seen at the next deadline).
    fx.now =
        fx.s.poll_timeout()
            .map_or(fx.now + 100, |t| t.0.max(fx.now));
    fx.s.handle_timeout(Instant(fx.now), fx.now + 10_000);
    fx.pump();
    assert_eq!(fx.events("+tilt"), vec!["#tilt mode entered".to_string()]);
    assert!(fx.s.in_tilt());
    assert!(fx.s.info_section(0, 0).contains("sentinel_tilt:1"));
    // In TILT a sentinel still votes but never says "down".
    assert_eq!(fx.cmd_argv(&ask(6379, 1, A)), vote(0, A, 1));
    // The master stops answering: no +sdown while in TILT.
    for _ in 0..40 {
        let wall = fx.now + 10_000 + 50;
        fx.now += 50;
        fx.s.handle_timeout(Instant(fx.now), wall);
        fx.pump();
    }
    assert!(fx.events("+sdown").is_empty());
    // After the TILT period it is left.
    for _ in 0..700 {
        let wall = fx.now + 10_000 + 50;
        fx.now += 50;
        fx.s.handle_timeout(Instant(fx.now), wall);
        fx.pump();
    }
    assert_eq!(fx.events("-tilt"), vec!["#tilt mode exited".to_string()]);
}

#[test]
fn switch_to_an_unknown_address_connects_at_once() {
    let mut fx = Fx::new(&[A], 1);
    warm(&mut fx);
    let hello = format!("127.0.0.1,26380,{A},1,m,127.0.0.1,6390,1");
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello]);
    let mut outs = fx.tick(60);
    outs.extend(fx.tick(60));
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::Connect { spec, .. } if spec.port == 6390)),
        "{outs:#?}"
    );
}

#[test]
fn known_sentinels_and_replicas_are_capped_per_master() {
    let mut st = PersistedState::new(ME);
    st.global.max_known_sentinels = 2;
    st.global.max_known_replicas = 3;
    let mut cfg = MasterConfig::new("m", "127.0.0.1", 6379, 1);
    cfg.down_after_ms = 1000;
    st.masters.insert("m".into(), PersistedMaster::new(cfg));
    let mut fx = Fx::with_state(st);
    fx.pump();
    let hello = |i: u32| {
        format!(
            "127.0.0.1,{},{:040x},0,m,127.0.0.1,6379,0",
            26400 + i,
            0xa000 + i
        )
    };
    for i in 0..5 {
        assert_eq!(
            fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello(i)]),
            Reply::Int(1)
        );
    }
    assert_eq!(fx.events("+sentinel").len(), 2);
    // One event per master while full, with the limit.
    assert_eq!(
        fx.events("-max-sentinels-reached"),
        vec!["master m 127.0.0.1 6379 2".to_string()]
    );
    let persisted = fx.s.persisted_state();
    assert_eq!(persisted.masters["m"].known_sentinels.len(), 2);
    // A known sentinel moving to another address is not a new one: still accepted.
    let moved = format!("127.0.0.1,26499,{:040x},0,m,127.0.0.1,6379,0", 0xa000);
    fx.cmd(&["PUBLISH", "__sentinel__:hello", &moved]);
    assert_eq!(fx.events("+sentinel-address-switch").len(), 1);

    // Replicas from the master's INFO: the first 3 are taken, the rest ignored, one event.
    let outs = fx.tick(100);
    fx.answer(&outs, |link, cmd| match cmd {
        OutCommand::Info if link == LinkId(1) => Some(LinkReply::Info(Some(master_info(
            A,
            &[6380, 6381, 6382, 6383, 6384],
        )))),
        OutCommand::Ping => Some(LinkReply::Ping(crate::io::PingReply::Pong)),
        _ => Some(LinkReply::Other),
    });
    fx.pump();
    assert_eq!(fx.events("+slave").len(), 3);
    assert_eq!(
        fx.events("-max-replicas-reached"),
        vec!["master m 127.0.0.1 6379 3".to_string()]
    );
    assert_eq!(fx.s.persisted_state().masters["m"].known_replicas.len(), 3);
    // After SENTINEL RESET the tables have room again, and a new episode is reported again.
    assert_eq!(fx.cmd(&["SENTINEL", "RESET", "m"]), Reply::Int(1));
    for i in 10..13 {
        fx.cmd(&["PUBLISH", "__sentinel__:hello", &hello(i)]);
    }
    assert_eq!(fx.events("-max-sentinels-reached").len(), 2);
}

/// Durable writes: what waits for them, failures, backoff, group commit.
mod persist;

/// Validation of untrusted addresses and numbers, and the costs of hostile inputs.
mod validation;

/// Per-input costs with many masters, replicas, patterns (ignored: run with --release --ignored).
mod costs;

/// Exact timers: wake-ups only when something is due, Redis's periods, TILT against the planned sleep.
mod timers;

/// Elections and failovers end to end.
mod failover;

/// Master and replica links shared by address across names.
mod share;

/// Every event's rendering, end to end.
mod events;

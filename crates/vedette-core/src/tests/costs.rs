//! The cost of single inputs at scale: every figure is the wall time of one call into the core plus the
//! draining of its outputs (what the driver does per input). Ignored by default because it measures time;
//! run with `cargo test --release -p vedette-core costs -- --ignored --nocapture` and read `COST` lines.
//!
//! On Linux the figures are the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: on a loaded
//! machine wall time mostly measures the scheduler (a 1 ms tick preempted once reads as 50 ms).
#![allow(clippy::disallowed_methods)] // std::time::Instant::now: this file measures time on purpose.
#![allow(unsafe_code)] // clock_gettime, test-only.

use super::*;
use std::time::Duration;

/// A CPU-time clock for this thread (wall time where that is not available).
#[derive(Clone, Copy)]
struct Wall(Duration);

#[cfg(target_os = "linux")]
mod cpu {
    #[repr(C)]
    pub(super) struct Timespec {
        pub(super) tv_sec: i64,
        pub(super) tv_nsec: i64,
    }
    extern "C" {
        pub(super) fn clock_gettime(clk: i32, tp: *mut Timespec) -> i32;
    }
    pub(super) const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
}

impl Wall {
    #[cfg(target_os = "linux")]
    fn now() -> Wall {
        let mut ts = cpu::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
        let rc = unsafe { cpu::clock_gettime(cpu::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        Wall(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }
    #[cfg(not(target_os = "linux"))]
    fn now() -> Wall {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        Wall(START.get_or_init(std::time::Instant::now).elapsed())
    }
    fn elapsed(self) -> Duration {
        Wall::now().0.saturating_sub(self.0)
    }
}

const PEERS: [&str; 3] = [A, B, C];

/// `masters` masters, each with `replicas` replicas and the same three peer sentinels (so each peer's link
/// is shared by every master, as in Redis).
fn big(masters: usize, replicas: usize) -> Sentinel {
    let mut st = PersistedState::new(ME);
    for i in 0..masters {
        let name = format!("{:040}", i);
        let mut cfg = MasterConfig::new(&name, "127.0.0.1", 10_000 + i as u16 % 50_000, 2);
        cfg.down_after_ms = 5000;
        let mut pm = PersistedMaster::new(cfg);
        for r in 0..replicas {
            pm.known_replicas.push((
                format!("10.{}.{}.{}", r / 65536 % 256, r / 256 % 256, r % 256),
                6379,
            ));
        }
        for (k, p) in PEERS.iter().enumerate() {
            pm.known_sentinels
                .push(("127.0.0.1".into(), 26380 + k as u16, (*p).to_string()));
        }
        st.masters.insert(name, pm);
    }
    Sentinel::new(st, 1, Instant(0))
}

/// Drains like the driver: links come up, writes succeed; sends are queued for `answer`.
struct Shell {
    sent: Vec<(LinkId, u64, OutCommand)>,
    next_conn: u64,
}

impl Shell {
    fn pump(&mut self, s: &mut Sentinel, now: u64) -> usize {
        let mut n = 0;
        while let Some(o) = s.poll_output() {
            n += 1;
            match o {
                Output::Persist { seq, .. } => s.handle_input(Instant(now), Input::Persisted(seq)),
                Output::Connect { link, .. } => {
                    self.next_conn += 1;
                    s.handle_input(
                        Instant(now),
                        Input::LinkUp {
                            link,
                            conn: self.next_conn,
                            local_ip: "127.0.0.1".into(),
                        },
                    );
                }
                Output::Send { link, conn, cmd } => self.sent.push((link, conn, cmd)),
                _ => {}
            }
        }
        n
    }

    /// Answer everything sent except on `silent` links (peers that accept but never reply).
    fn answer(&mut self, s: &mut Sentinel, now: u64, silent: &dyn Fn(LinkId) -> bool) {
        let sent = std::mem::take(&mut self.sent);
        for (link, conn, cmd) in sent {
            if silent(link) {
                continue;
            }
            let reply = match cmd {
                OutCommand::Ping => LinkReply::Ping(crate::io::PingReply::Pong),
                OutCommand::Info => LinkReply::Info(Some(format!("run_id:{A}\r\nrole:master\r\n"))),
                OutCommand::PublishHello(_) => LinkReply::Publish(true),
                _ => LinkReply::Other,
            };
            s.handle_input(Instant(now), Input::Reply { link, conn, reply });
        }
    }
}

fn time<T>(what: &str, f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Wall::now();
    let v = f();
    let d = t.elapsed();
    eprintln!("COST {:>9.3} ms  {what}", d.as_secs_f64() * 1000.0);
    (v, d)
}

fn cmd(s: &mut Sentinel, sh: &mut Shell, now: u64, argv: &[&str]) -> usize {
    s.handle_argv(Instant(now), ClientId(1), &bulk_argv(argv));
    sh.pump(s, now)
}

#[test]
#[ignore]
fn costs_with_1000_masters() {
    let (mut s, _) = time("build 1000 masters x 2 replicas x 3 peers", || big(1000, 2));
    let mut sh = Shell {
        sent: Vec::new(),
        next_conn: 0,
    };
    sh.pump(&mut s, 0);
    // Which links are the peers' (shared by all masters).
    let peer_links: std::collections::BTreeSet<LinkId> = {
        let m = s.masters.values().next().unwrap();
        m.sentinels.values().map(|p| p.c.link).collect()
    };
    let silent = |l: LinkId| peer_links.contains(&l);
    // 60 s of ticks, peers never answering: their shared links accumulate pending commands. A tick is
    // one `handle_timeout` and the draining of its outputs; the replies are separate inputs.
    let mut worst = (Duration::ZERO, 0u64, 0usize);
    let mut first = Duration::ZERO;
    let mut ticks: Vec<Duration> = Vec::new();
    let mut now = 0;
    while now < 60_000 {
        now += 50;
        let t = Wall::now();
        s.handle_timeout(Instant(now), now);
        let outs = sh.pump(&mut s, now);
        let d = t.elapsed();
        if now <= 1000 {
            first = first.max(d);
        } else {
            ticks.push(d);
            if d > worst.0 {
                worst = (d, now, outs);
            }
        }
        sh.answer(&mut s, now, &silent);
        sh.pump(&mut s, now);
    }
    let pending: usize = peer_links.iter().map(|l| s.links[l].pending()).sum();
    eprintln!(
        "COST {:>9.3} ms  worst tick in the first second (connecting 6,000 instances)",
        first.as_secs_f64() * 1000.0
    );
    eprintln!(
        "COST {:>9.3} ms  worst tick after it, over 60 s, peers silent ({pending} commands pending on peer links; at {} ms, {} outputs)",
        worst.0.as_secs_f64() * 1000.0,
        worst.1,
        worst.2
    );
    ticks.sort();
    let mean = ticks.iter().sum::<Duration>() / ticks.len().max(1) as u32;
    eprintln!(
        "COST {:>9.3} ms  mean tick after the first second ({} ticks; median {:.3} ms, p99 {:.3} ms)",
        mean.as_secs_f64() * 1000.0,
        ticks.len(),
        ticks[ticks.len() / 2].as_secs_f64() * 1000.0,
        ticks[ticks.len() * 99 / 100].as_secs_f64() * 1000.0
    );
    time("SENTINEL MASTERS", || {
        cmd(&mut s, &mut sh, now, &["SENTINEL", "MASTERS"])
    });
    time("SENTINEL SENTINELS (1 master)", || {
        cmd(
            &mut s,
            &mut sh,
            now,
            &["SENTINEL", "SENTINELS", &format!("{:040}", 7)],
        )
    });
    time("INFO sentinel section", || s.info_section(0, 0).len());
    time("SENTINEL CONFIG GET *", || {
        cmd(&mut s, &mut sh, now, &["SENTINEL", "CONFIG", "GET", "*"])
    });
    time("SENTINEL IS-MASTER-DOWN-BY-ADDR (scan 1000)", || {
        cmd(
            &mut s,
            &mut sh,
            now,
            &[
                "SENTINEL",
                "IS-MASTER-DOWN-BY-ADDR",
                "127.0.0.9",
                "1",
                "0",
                "*",
            ],
        )
    });
    let hostile = "*0".repeat(30) + "*x";
    time("SENTINEL RESET *0*0...*x (30 stars, no match)", || {
        cmd(&mut s, &mut sh, now, &["SENTINEL", "RESET", &hostile])
    });
    time("persisted_state()", || s.persisted_state().masters.len());
    time(
        "status() (the HTTP snapshot, rebuilt after changes)",
        || s.status().masters.len(),
    );
    // A peer changes address: it is known under every master.
    let moved = format!("127.0.0.1,26999,{A},0,{:040},127.0.0.1,10000,0", 0);
    time(
        "hello: peer known under 1000 masters changes address",
        || {
            cmd(
                &mut s,
                &mut sh,
                now,
                &["PUBLISH", "__sentinel__:hello", &moved],
            )
        },
    );
    time("SENTINEL RESET * (1000 masters)", || {
        cmd(&mut s, &mut sh, now, &["SENTINEL", "RESET", "*"])
    });
    now += 50;
    time("first tick after RESET * (reconnect everything)", || {
        s.handle_timeout(Instant(now), now);
        sh.pump(&mut s, now)
    });
}

#[test]
#[ignore]
fn costs_with_many_replicas() {
    let (mut s, _) = time("build 1 master x 5000 replicas", || big(1, 5000));
    let mut sh = Shell {
        sent: Vec::new(),
        next_conn: 0,
    };
    sh.pump(&mut s, 0);
    let name = format!("{:040}", 0);
    time("SENTINEL REPLICAS (5000)", || {
        cmd(&mut s, &mut sh, 0, &["SENTINEL", "REPLICAS", &name])
    });
    time("SENTINEL INFO-CACHE (5000)", || {
        cmd(&mut s, &mut sh, 0, &["SENTINEL", "INFO-CACHE", &name])
    });
    // A 1 MB INFO from the master listing 20,000 replicas, 5,000 of them known.
    let mut info = format!("run_id:{A}\r\nrole:master\r\n");
    for r in 0..20_000 {
        info += &format!(
            "slave{r}:ip=10.{}.{}.{},port=6379,state=online,offset=1,lag=0\r\n",
            r / 65536 % 256,
            r / 256 % 256,
            r % 256
        );
    }
    let now = 100;
    s.handle_timeout(Instant(now), now);
    sh.pump(&mut s, now);
    let master_link = s.masters[name.as_str()].c.link;
    let info_sent = sh
        .sent
        .iter()
        .find(|(l, _, c)| *l == master_link && *c == OutCommand::Info)
        .map(|(l, c, _)| (*l, *c));
    let Some((link, conn)) = info_sent else {
        panic!("no INFO sent to the master");
    };
    // Answer the master link's earlier commands first (FIFO), then the INFO.
    let before: Vec<_> = sh
        .sent
        .iter()
        .filter(|(l, _, _)| *l == link)
        .cloned()
        .collect();
    for (_, c, cmd) in before {
        let reply = match cmd {
            OutCommand::Info => LinkReply::Info(Some(info.clone())),
            OutCommand::Ping => LinkReply::Ping(crate::io::PingReply::Pong),
            OutCommand::PublishHello(_) => LinkReply::Publish(true),
            _ => LinkReply::Other,
        };
        let is_info = matches!(reply, LinkReply::Info(_));
        let t = Wall::now();
        s.handle_input(
            Instant(now),
            Input::Reply {
                link,
                conn: c,
                reply,
            },
        );
        let n = sh.pump(&mut s, now);
        if is_info {
            eprintln!(
                "COST {:>9.3} ms  1 MB INFO, 20,000 slave lines, 15,000 new ({n} outputs)",
                t.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
    let _ = conn;
}

//! Property: anything vedette can persist, from any sequence of inputs, loads back.
//!
//! Each case starts a core from a real config file (sentinel.conf or TOML), feeds it a random, seeded
//! sequence of client commands (`SENTINEL MONITOR/SET/CONFIG SET/REMOVE/RESET/DEBUG/IS-MASTER-DOWN-BY-ADDR`,
//! `PUBLISH` hellos), hellos and INFO replies on its links and timer ticks — valid, odd and hostile values
//! mixed (names with blanks, quotes, commas and non-ASCII bytes, host names, huge numbers, forged epochs) —
//! and every few steps writes `persisted_state()` through the real [`StateStore`] and loads the file back
//! through the real loader: the load must succeed and give the same state. A failure prints the seed and
//! the inputs that led to it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vedette_core::config::MAX_EPOCH;
use vedette_core::{
    ClientId, Input, Instant, LinkId, LinkReply, OutCommand, Output, PersistedState, Sentinel,
};

use super::{load, LoadedConfig};

const MYID: &str = "0123456789abcdef0123456789abcdef01234567";

/// Master names: what Redis accepts (anything) and what breaks naive writers.
const NAMES: &[&str] = &[
    "m",
    "mymaster",
    "with space",
    "quo\"te",
    "apo'strophe",
    "back\\slash",
    "comma,name",
    "#hash",
    "tab\tname",
    "new\nline",
    "unicodé",
    "",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "*glob?[x]",
    "nul\0byte",
    "cr\rlf",
    "\u{7f}del",
];

/// Hosts: mostly IP literals and host names, sometimes strings that are neither.
const HOSTS: &[&str] = &[
    "127.0.0.1",
    "127.0.0.2",
    "127.0.0.3",
    "::1",
    "0:0::1",
    "fe80::1",
    "10.1.2.3",
    "db.example",
    "DB.Example",
    "s_1",
];
const BAD_HOSTS: &[&str] = &[
    "a b",
    "",
    "x y",
    "1.2.3.4.5",
    "[::1]",
    "-bad.example",
    "host\"q",
];

const PORTS: &[&str] = &["6379", "6380", "6381", "26379", "26380", "65535"];
const BAD_PORTS: &[&str] = &["0", "65536", "70000", "-1", "+5", "x"];

/// Mostly from `good`, sometimes from `bad`.
fn mostly<'a>(rng: &mut StdRng, good: &[&'a str], bad: &[&'a str]) -> &'a str {
    if rng.gen_bool(0.85) {
        pick(rng, good)
    } else {
        pick(rng, bad)
    }
}

fn host(rng: &mut StdRng) -> &'static str {
    mostly(rng, HOSTS, BAD_HOSTS)
}

fn port(rng: &mut StdRng) -> &'static str {
    mostly(rng, PORTS, BAD_PORTS)
}

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.gen_range(0..from.len())]
}

fn number(rng: &mut StdRng) -> String {
    match rng.gen_range(0..10) {
        0 => "0".into(),
        1 => "-5".into(),
        2 => u64::MAX.to_string(),
        3 => i64::MAX.to_string(),
        4 => "4294967296".into(),
        5 => "2147483647".into(),
        6 => "x".into(),
        _ => rng.gen_range(1..100_000u64).to_string(),
    }
}

fn epoch(rng: &mut StdRng) -> String {
    match rng.gen_range(0..16) {
        0 => u64::MAX.to_string(),
        1 => MAX_EPOCH.to_string(),
        2 => (MAX_EPOCH + 1).to_string(),
        3 => "-1".into(),
        _ => rng.gen_range(0..50u64).to_string(),
    }
}

fn runid(rng: &mut StdRng) -> String {
    match rng.gen_range(0..20) {
        0 => "abc".into(),
        1 => MYID.into(),
        2 => "g".repeat(40),
        _ => (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
            .collect(),
    }
}

fn hello(rng: &mut StdRng, names: &[String]) -> String {
    let name = if names.is_empty() || rng.gen_bool(0.1) {
        pick(rng, NAMES).to_string()
    } else {
        names[rng.gen_range(0..names.len())].clone()
    };
    format!(
        "{},{},{},{},{},{},{},{}",
        host(rng),
        port(rng),
        runid(rng),
        epoch(rng),
        name,
        host(rng),
        port(rng),
        epoch(rng)
    )
}

fn info(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.2) {
        return format!(
            "run_id:{}\r\nrole:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:up\r\nslave_repl_offset:{}\r\nslave_priority:{}\r\n",
            runid(rng),
            host(rng),
            port(rng),
            number(rng),
            number(rng)
        );
    }
    let mut s = format!("run_id:{}\r\nrole:master\r\n", runid(rng));
    for i in 0..rng.gen_range(0..4) {
        if rng.gen_bool(0.5) {
            s += &format!(
                "slave{i}:ip={},port={},state=online,offset=1,lag=0\r\n",
                host(rng),
                port(rng)
            );
        } else {
            s += &format!("slave{i}:{},{},online\r\n", host(rng), port(rng));
        }
    }
    s
}

/// One random client command.
fn command(rng: &mut StdRng, names: &[String]) -> Vec<String> {
    let existing = |rng: &mut StdRng| -> String {
        if names.is_empty() || rng.gen_bool(0.1) {
            pick(rng, NAMES).to_string()
        } else {
            names[rng.gen_range(0..names.len())].clone()
        }
    };
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match rng.gen_range(0..100) {
        0..=14 => v(&[
            "SENTINEL",
            "MONITOR",
            pick(rng, NAMES),
            host(rng),
            port(rng),
            &number(rng),
        ]),
        15..=34 => {
            let name = existing(rng);
            let opt = pick(
                rng,
                &[
                    "down-after-milliseconds",
                    "failover-timeout",
                    "parallel-syncs",
                    "quorum",
                    "auth-pass",
                    "auth-user",
                    "master-reboot-down-after-period",
                    "rename-command",
                    "notification-script",
                ],
            );
            let val = if rng.gen_bool(0.5) {
                number(rng)
            } else {
                pick(rng, NAMES).to_string()
            };
            let mut argv = vec!["SENTINEL".into(), "SET".into(), name, opt.into(), val];
            if opt == "rename-command" {
                argv.push(pick(rng, NAMES).to_string());
            }
            argv
        }
        35..=44 => {
            let (p, val) = match rng.gen_range(0..7) {
                0 => ("announce-ip", host(rng).to_string()),
                1 => ("announce-port", port(rng).to_string()),
                2 => ("resolve-hostnames", pick(rng, &["yes", "no"]).to_string()),
                3 => ("announce-hostnames", pick(rng, &["yes", "no"]).to_string()),
                4 => ("sentinel-user", pick(rng, NAMES).to_string()),
                5 => ("sentinel-pass", pick(rng, NAMES).to_string()),
                _ => (
                    "loglevel",
                    pick(rng, &["debug", "warning", "notice", "x"]).to_string(),
                ),
            };
            vec![
                "SENTINEL".into(),
                "CONFIG".into(),
                "SET".into(),
                p.into(),
                val,
            ]
        }
        45..=46 => vec!["SENTINEL".into(), "REMOVE".into(), existing(rng)],
        50 => vec![
            "SENTINEL".into(),
            "RESET".into(),
            pick(rng, &["*", "m*", "?", "[w]*"]).into(),
        ],
        53..=56 => v(&[
            "SENTINEL",
            "DEBUG",
            pick(
                rng,
                &[
                    "default-down-after",
                    "default-failover-timeout",
                    "ping-period",
                ],
            ),
            &number(rng),
        ]),
        57..=69 => v(&[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            host(rng),
            port(rng),
            &epoch(rng),
            &runid(rng),
        ]),
        70..=72 => vec!["SENTINEL".into(), "FAILOVER".into(), existing(rng)],
        73..=74 => v(&["SENTINEL", "FLUSHCONFIG"]),
        _ => vec![
            "PUBLISH".into(),
            "__sentinel__:hello".into(),
            hello(rng, names),
        ],
    }
}

/// A core driven like the shell drives it: links come up when asked, writes are acknowledged, commands
/// sent on links wait for a (random) answer.
struct Drive {
    core: Sentinel,
    now: u64,
    sent: Vec<(LinkId, u64, OutCommand)>,
    links: BTreeMap<LinkId, u64>,
    next_conn: u64,
}

impl Drive {
    fn pump(&mut self) {
        while let Some(o) = self.core.poll_output() {
            match o {
                Output::Persist { seq, .. } => self
                    .core
                    .handle_input(Instant(self.now), Input::Persisted(seq)),
                Output::Connect { link, .. } => {
                    self.next_conn += 1;
                    self.links.insert(link, self.next_conn);
                    self.core.handle_input(
                        Instant(self.now),
                        Input::LinkUp {
                            link,
                            conn: self.next_conn,
                            local_ip: "127.0.0.1".into(),
                        },
                    );
                }
                Output::Close { link } => {
                    self.links.remove(&link);
                    self.sent.retain(|(l, _, _)| *l != link);
                }
                Output::Send { link, conn, cmd } => self.sent.push((link, conn, cmd)),
                Output::Crash => panic!("simulated crash"),
                _ => {}
            }
        }
    }

    /// Answer the oldest commands of one link (FIFO, as a real connection does).
    fn answer(&mut self, rng: &mut StdRng) {
        let Some(&(link, conn, _)) = self.sent.first() else {
            return;
        };
        let n = rng.gen_range(1..=4);
        let mut taken = 0;
        let mut i = 0;
        while i < self.sent.len() && taken < n {
            if self.sent[i].0 != link {
                i += 1;
                continue;
            }
            let (_, c, cmd) = self.sent.remove(i);
            taken += 1;
            let reply = match cmd {
                OutCommand::Ping => LinkReply::Ping(vedette_core::PingReply::Pong),
                OutCommand::Info => LinkReply::Info(Some(info(rng))),
                OutCommand::PublishHello(_) => LinkReply::Publish(true),
                OutCommand::AskMasterDown { .. } => LinkReply::MasterDown(Some((
                    rng.gen_range(0..2),
                    if rng.gen_bool(0.5) {
                        "*".into()
                    } else {
                        runid(rng)
                    },
                    rng.gen_range(0..40),
                ))),
                _ => LinkReply::Other,
            };
            self.core.handle_input(
                Instant(self.now),
                Input::Reply {
                    link,
                    conn: c,
                    reply,
                },
            );
        }
        let _ = conn;
        self.pump();
    }
}

enum Format {
    Redis,
    Toml,
}

/// A config file in `dir` monitoring one master; returns its path.
fn initial_config(dir: &Path, format: &Format) -> PathBuf {
    match format {
        Format::Redis => {
            let p = dir.join("sentinel.conf");
            std::fs::write(
                &p,
                format!(
                    "port 26399\ndir \"{}\"\nsentinel myid {MYID}\nsentinel monitor m 127.0.0.1 6379 2\nsentinel deny-scripts-reconfig yes\n",
                    dir.display()
                ),
            )
            .unwrap();
            p
        }
        Format::Toml => {
            let p = dir.join("sentinel.toml");
            std::fs::write(
                &p,
                format!(
                    "[sentinel]\nport = 26399\ndir = \"{}\"\nmyid = \"{MYID}\"\n\n[[master]]\nname = \"m\"\nhost = \"127.0.0.1\"\nport = 6379\nquorum = 2\n",
                    dir.display()
                ),
            )
            .unwrap();
            p
        }
    }
}

fn write_and_reload(cfg: &LoadedConfig, path: &Path, state: &PersistedState) -> PersistedState {
    cfg.store
        .write(state, &cfg.server)
        .unwrap_or_else(|e| panic!("write failed: {e}"));
    match load(path) {
        Ok(c) => c.state,
        Err(e) => {
            let text =
                std::fs::read_to_string(cfg.store.path().unwrap_or(path)).unwrap_or_default();
            panic!("the written state does not load: {e}\n--- file ---\n{text}");
        }
    }
}

/// How many round trips had something worth checking.
#[derive(Default)]
struct Coverage {
    discovered: usize,
    odd_names: usize,
}

fn run_case(seed: u64, format: &Format, steps: usize, cover: &mut Coverage) {
    let dir = tempfile::tempdir().unwrap();
    let path = initial_config(dir.path(), format);
    let cfg = load(&path).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut d = Drive {
        core: Sentinel::new(cfg.state.clone(), seed, Instant(0)),
        now: 0,
        sent: Vec::new(),
        links: BTreeMap::new(),
        next_conn: 0,
    };
    d.pump();
    let mut trail: Vec<String> = Vec::new();
    for step in 0..steps {
        let names = d.core.master_names();
        match rng.gen_range(0..10) {
            0..=3 => {
                let argv = command(&mut rng, &names);
                trail.push(format!("{argv:?}"));
                let argv: Vec<Vec<u8>> = argv.into_iter().map(String::into_bytes).collect();
                d.core
                    .handle_argv(Instant(d.now), ClientId(step as u64), &argv);
                d.pump();
            }
            4 => {
                let links: Vec<LinkId> = d.links.keys().copied().collect();
                if let Some(&link) = links.get(rng.gen_range(0..links.len().max(1))) {
                    let h = hello(&mut rng, &names);
                    trail.push(format!("hello via {link:?}: {h:?}"));
                    d.core.handle_input(
                        Instant(d.now),
                        Input::Hello {
                            link,
                            payload: h.into_bytes(),
                        },
                    );
                    d.pump();
                }
            }
            5..=7 => d.answer(&mut rng),
            _ => {
                d.now += rng.gen_range(10..300);
                d.core.handle_timeout(Instant(d.now), d.now);
                d.pump();
            }
        }
        if step % 25 == 24 || step + 1 == steps {
            let state = d.core.persisted_state();
            let back = write_and_reload(&cfg, &path, &state);
            if state
                .masters
                .values()
                .any(|m| !m.known_sentinels.is_empty() && !m.known_replicas.is_empty())
            {
                cover.discovered += 1;
            }
            if state
                .masters
                .keys()
                .any(|n| n.contains([' ', '"', '\\', '\n', ',']) || n.is_empty())
            {
                cover.odd_names += 1;
            }
            assert_eq!(
                back,
                state,
                "seed {seed}: loaded state differs from the written one after:\n{}",
                trail.join("\n")
            );
        }
    }
}

fn run_cases(format: Format, seeds: std::ops::Range<u64>) {
    let mut cover = Coverage::default();
    for seed in seeds {
        run_case(seed, &format, 150, &mut cover);
    }
    // The generator must reach states with discovered peers and replicas, and awkward names.
    assert!(
        cover.discovered > 20,
        "{} round trips with discoveries",
        cover.discovered
    );
    assert!(
        cover.odd_names > 20,
        "{} round trips with odd names",
        cover.odd_names
    );
}

#[test]
fn persisted_state_loads_back_sentinel_conf() {
    run_cases(Format::Redis, 0..60);
}

#[test]
fn persisted_state_loads_back_toml_state() {
    run_cases(Format::Toml, 1000..1060);
}

//! Target `core_sequence`: arbitrary input sequences into one `vedette_core::Sentinel`.
//!
//! The fuzz bytes drive a small shell model like `src/config/roundtrip_tests.rs` does with a seeded RNG:
//! client commands (from tables of valid, odd and hostile values, or raw arguments), hellos, replies to
//! the commands the core sent (always of the kind the real shell produces for that command), link
//! failures, time (including wall-clock jumps) and the outcome of state writes. Per input at most
//! [`MAX_STEPS`] steps on a core monitoring one master with two replicas and two peer sentinels, so one
//! run stays cheap enough for tens of millions of executions.
//!
//! Properties: the core never panics; every reply it produces encodes as RESP2 and RESP3; every
//! `Output::Persist` state renders through the real [`vedette::config::StateStore`] (in memory) into a
//! `sentinel.conf` rewrite or a TOML state file that loads back to exactly that state.

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::OnceLock;

use vedette::config::{load_from_memory, LoadedConfig};
use vedette::server::resp::{encode, Proto};
use vedette_core::config::MAX_EPOCH;
use vedette_core::{
    ClientId, Input, Instant, LinkId, LinkReply, OutCommand, Output, PersistSeq, PersistedState,
    PingReply, Sentinel,
};

use crate::config::{round_trip, LoadCache, CONF_PATH, TOML_PATH};
use crate::source::Source;

/// Most steps taken from one input.
pub const MAX_STEPS: usize = 24;

/// Most masters: further `SENTINEL MONITOR` commands are skipped (each master adds links and timers).
pub const MAX_MASTERS: usize = 3;

const MYID: &str = "0123456789abcdef0123456789abcdef01234567";
const PEER_A: &str = "1111111111111111111111111111111111111111";
const PEER_B: &str = "2222222222222222222222222222222222222222";

const REDIS_CONF: &str = "port 26399\n\
sentinel myid 0123456789abcdef0123456789abcdef01234567\n\
sentinel monitor m 127.0.0.1 6379 2\n\
sentinel down-after-milliseconds m 1000\n\
sentinel failover-timeout m 10000\n\
sentinel known-replica m 127.0.0.1 6380\n\
sentinel known-replica m 127.0.0.1 6381\n\
sentinel known-sentinel m 127.0.0.1 26380 1111111111111111111111111111111111111111\n\
sentinel known-sentinel m 127.0.0.1 26381 2222222222222222222222222222222222222222\n";

const TOML_CONF: &str =
    "[sentinel]\nport = 26399\nmyid = \"0123456789abcdef0123456789abcdef01234567\"\n\n\
[[master]]\nname = \"m\"\nhost = \"127.0.0.1\"\nport = 6379\nquorum = 2\n\
down-after-milliseconds = 1000\nfailover-timeout = 10000\n";

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
    "*glob?[x]",
    "nul\0byte",
    "cr\rlf",
    "\u{7f}del",
];

const HOSTS: &[&str] = &[
    "127.0.0.1",
    "127.0.0.2",
    "127.0.0.3",
    "::1",
    "0:0::1",
    "fe80::1",
    "db.example",
    "DB.Example",
    "a b",
    "",
    "1.2.3.4.5",
    "[::1]",
    "-bad.example",
    "host\"q",
];

const PORTS: &[&str] = &[
    "6379", "6380", "6381", "26379", "26380", "26381", "65535", "0", "65536", "-1", "+5", "x",
];

const RUNIDS: &[&str] = &[MYID, PEER_A, PEER_B, "*", "abc", ""];

/// A persist already checked: the file it was written over and the file it wrote.
struct Written {
    toml: bool,
    old: Vec<u8>,
    state: PersistedState,
    new: Vec<u8>,
}

thread_local! {
    /// Written files already loaded back, across runs (see [`LoadCache`]).
    static LOADED: RefCell<LoadCache> = RefCell::new(LoadCache::new());
    /// Persists already rendered and loaded back, by [`fingerprint`]: most runs start with the same
    /// few writes, and rendering dominates a run's cost once loads are cached.
    static WRITTEN: RefCell<HashMap<u64, Vec<Written>>> = RefCell::new(HashMap::new());
}

/// Most remembered persists before [`WRITTEN`] starts over.
const WRITTEN_MAX: usize = 4096;

/// A cheap hash of the parts of a state that usually differ (exact equality decides).
fn fingerprint(toml: bool, old: &[u8], s: &PersistedState) -> u64 {
    let mut h = DefaultHasher::new();
    (toml, old.len(), s.current_epoch, s.masters.len()).hash(&mut h);
    for (name, m) in &s.masters {
        (
            name,
            &m.config.host,
            m.config.port,
            m.config_epoch,
            m.leader_epoch,
        )
            .hash(&mut h);
        (m.known_replicas.len(), m.known_sentinels.len()).hash(&mut h);
    }
    h.finish()
}

/// [`round_trip`] with both caches: the file `state` writes over `old`, checked to load back to it.
fn checked_write(
    cfg: &LoadedConfig,
    toml: Option<&'static [u8]>,
    old: &[u8],
    state: &PersistedState,
) -> Vec<u8> {
    // A TOML state file does not depend on the previous one.
    let old = if toml.is_some() { &[][..] } else { old };
    let key = fingerprint(toml.is_some(), old, state);
    let hit = WRITTEN.with_borrow(|w| {
        w.get(&key).and_then(|v| {
            v.iter()
                .find(|e| e.toml == toml.is_some() && e.old == old && e.state == *state)
                .map(|e| e.new.clone())
        })
    });
    if let Some(new) = hit {
        return new;
    }
    let new = LOADED.with_borrow_mut(|cache| round_trip(cfg, toml, old, state, Some(cache)));
    WRITTEN.with_borrow_mut(|w| {
        if w.values().map(Vec::len).sum::<usize>() >= WRITTEN_MAX {
            w.clear();
        }
        w.entry(key).or_default().push(Written {
            toml: toml.is_some(),
            old: old.to_vec(),
            state: state.clone(),
            new: new.clone(),
        });
    });
    new
}

/// Loaded base configurations, parsed once per process.
struct Base {
    redis: LoadedConfig,
    toml: LoadedConfig,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let load = |path: &str, text: &str| {
            load_from_memory(Path::new(path), text.as_bytes(), None)
                .unwrap_or_else(|e| panic!("base config does not load: {e}"))
        };
        Base {
            redis: load(CONF_PATH, REDIS_CONF),
            toml: load(TOML_PATH, TOML_CONF),
        }
    })
}

fn number(src: &mut Source) -> String {
    match src.byte() % 12 {
        0 => "0".into(),
        1 => "-5".into(),
        2 => u64::MAX.to_string(),
        3 => i64::MAX.to_string(),
        4 => "4294967296".into(),
        5 => "x".into(),
        6 => "1".into(),
        _ => (u64::from(src.u16()) * 10).to_string(),
    }
}

fn epoch(src: &mut Source) -> u64 {
    match src.byte() % 16 {
        0 => u64::MAX,
        1 => MAX_EPOCH,
        2 => MAX_EPOCH + 1,
        n => u64::from(n) - 3,
    }
}

fn runid(src: &mut Source) -> String {
    match src.byte() % 8 {
        n @ 0..=5 => RUNIDS[usize::from(n)].into(),
        6 => "g".repeat(40),
        _ => format!("{:040x}", src.u64()),
    }
}

fn name(src: &mut Source) -> String {
    (src.word(NAMES)).to_string()
}

fn hello(src: &mut Source) -> Vec<u8> {
    if src.byte() % 8 == 0 {
        return src.bytes(64).to_vec();
    }
    format!(
        "{},{},{},{},{},{},{},{}",
        src.word(HOSTS),
        src.word(PORTS),
        runid(src),
        epoch(src),
        name(src),
        src.word(HOSTS),
        src.word(PORTS),
        epoch(src)
    )
    .into_bytes()
}

fn info(src: &mut Source) -> String {
    match src.byte() % 4 {
        0 => String::from_utf8_lossy(src.bytes(64)).into_owned(),
        1 => format!(
            "run_id:{}\r\nrole:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nslave_repl_offset:{}\r\nslave_priority:{}\r\n",
            runid(src),
            src.word(&["127.0.0.1", "127.0.0.2", "::1"]),
            src.word(&["6379", "6380", "6381"]),
            src.word(&["up", "down"]),
            number(src),
            src.word(&["100", "0", "1", "x"]),
        ),
        _ => {
            let mut s = format!("run_id:{}\r\nrole:master\r\n", runid(src));
            for i in 0..src.byte() % 4 {
                s += &format!(
                    "slave{i}:ip={},port={},state=online,offset=1,lag=0\r\n",
                    src.word(HOSTS),
                    src.word(PORTS)
                );
            }
            s
        }
    }
}

fn command(src: &mut Source) -> Vec<Vec<u8>> {
    let s = |v: &[&str]| v.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>();
    let mut argv: Vec<Vec<u8>> = match src.byte() % 20 {
        0 => s(&[
            "SENTINEL",
            "MONITOR",
            &name(src),
            src.word(HOSTS),
            src.word(PORTS),
            &number(src),
        ]),
        1..=3 => {
            let opt = src.word(&[
                "down-after-milliseconds",
                "failover-timeout",
                "parallel-syncs",
                "quorum",
                "auth-pass",
                "auth-user",
                "master-reboot-down-after-period",
                "rename-command",
                "notification-script",
                "client-reconfig-script",
            ]);
            let val = if src.byte() % 2 == 0 {
                number(src)
            } else {
                name(src)
            };
            let mut v = s(&["SENTINEL", "SET", &name(src), opt, &val]);
            if opt == "rename-command" {
                v.push(name(src).into_bytes());
            }
            v
        }
        4 => {
            let (p, val) = match src.byte() % 7 {
                0 => ("announce-ip", src.word(HOSTS).to_string()),
                1 => ("announce-port", src.word(PORTS).to_string()),
                2 => ("resolve-hostnames", (src.word(&["yes", "no"])).to_string()),
                3 => ("announce-hostnames", (src.word(&["yes", "no"])).to_string()),
                4 => ("sentinel-user", name(src)),
                5 => ("sentinel-pass", name(src)),
                _ => (
                    "loglevel",
                    (src.word(&["debug", "warning", "x"])).to_string(),
                ),
            };
            s(&["SENTINEL", "CONFIG", "SET", p, &val])
        }
        5 => s(&["SENTINEL", "REMOVE", &name(src)]),
        6 => s(&[
            "SENTINEL",
            "RESET",
            src.word(&["*", "m*", "?", "[w]*", "m"]),
        ]),
        7 => s(&[
            "SENTINEL",
            "DEBUG",
            src.word(&[
                "ping-period",
                "info-period",
                "ask-period",
                "publish-period",
                "default-down-after",
                "election-timeout",
                "tilt-period",
            ]),
            &number(src),
        ]),
        8..=9 => s(&[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            src.word(HOSTS),
            src.word(PORTS),
            &epoch(src).to_string(),
            &runid(src),
        ]),
        10 => s(&["SENTINEL", "FAILOVER", &name(src)]),
        11 => s(&["SENTINEL", "FLUSHCONFIG"]),
        12 => s(&[
            "SENTINEL",
            "SIMULATE-FAILURE",
            src.word(&["crash-after-election", "crash-after-promotion", "help", "x"]),
        ]),
        13 => s(&[
            "SENTINEL",
            src.word(&[
                "MASTERS",
                "MASTER",
                "REPLICAS",
                "SENTINELS",
                "GET-MASTER-ADDR-BY-NAME",
                "CKQUORUM",
                "INFO-CACHE",
                "MYID",
                "PENDING-SCRIPTS",
                "HELP",
            ]),
            &name(src),
        ]),
        14 => s(&[
            "SENTINEL",
            "CONFIG",
            "GET",
            src.word(&["*", "announce-*", "loglevel"]),
        ]),
        15 => s(&["ROLE"]),
        16..=17 => vec![
            b"PUBLISH".to_vec(),
            b"__sentinel__:hello".to_vec(),
            hello(src),
        ],
        _ => {
            // Raw arguments after a known verb, so argument checks see arbitrary bytes.
            let verb = *src.pick(&[
                &["SENTINEL"][..],
                &["SENTINEL", "SET"],
                &["SENTINEL", "CONFIG"],
                &["PUBLISH"],
                &[],
            ]);
            let mut v = s(verb);
            for _ in 0..src.byte() % 6 {
                v.push(src.bytes(24).to_vec());
            }
            v
        }
    };
    if src.byte() % 16 == 0 {
        argv.truncate(usize::from(src.byte()) % (argv.len() + 1));
    }
    argv
}

/// The reply the real shell would hand the core for `cmd`.
fn reply_for(src: &mut Source, cmd: &OutCommand) -> LinkReply {
    match cmd {
        OutCommand::Ping => LinkReply::Ping(match src.byte() % 8 {
            0 => PingReply::Loading,
            1 => PingReply::Busy,
            2 => PingReply::MasterDown,
            3 => PingReply::Error,
            _ => PingReply::Pong,
        }),
        OutCommand::Info => LinkReply::Info(if src.byte() % 16 == 0 {
            None
        } else {
            Some(info(src))
        }),
        OutCommand::PublishHello(_) => LinkReply::Publish(src.byte() % 8 != 0),
        OutCommand::AskMasterDown { epoch: e, .. } => LinkReply::MasterDown(match src.byte() % 8 {
            0 => None,
            n => {
                let leader_epoch = match n {
                    1 => epoch(src) as i64,
                    2 => -1,
                    _ => *e as i64,
                };
                Some((i64::from(src.byte() % 2), runid(src), leader_epoch))
            }
        }),
        OutCommand::Reconfigure(_) | OutCommand::ScriptKill => LinkReply::Other,
    }
}

/// How the model shell answers state writes.
#[derive(Clone, Copy, PartialEq)]
enum Disk {
    /// Acknowledge at once.
    Fast,
    /// Hold the write until a step acknowledges or fails it.
    Slow,
}

struct Shell<'c> {
    cfg: &'c LoadedConfig,
    /// The TOML config text (None: the state is rewritten into `sentinel.conf`).
    toml: Option<&'static [u8]>,
    core: Sentinel,
    now: u64,
    wall_offset: u64,
    /// Current generation of each open link.
    links: BTreeMap<LinkId, u64>,
    next_conn: u64,
    sent: Vec<(LinkId, u64, OutCommand)>,
    disk: Disk,
    /// A write in flight: its sequence number and the file content it would leave.
    pending: Option<(PersistSeq, Vec<u8>)>,
    /// The `sentinel.conf` as last written (the rewrite starts from it).
    file: Vec<u8>,
    /// Last state checked, to skip re-checking identical snapshots.
    last_checked: Option<PersistedState>,
    crashed: bool,
}

impl Shell<'_> {
    fn pump(&mut self) {
        while let Some(o) = self.core.poll_output() {
            match o {
                Output::Persist { seq, state } => {
                    let written = if self.last_checked.as_ref() == Some(&*state) {
                        self.pending
                            .take()
                            .map(|(_, w)| w)
                            .unwrap_or_else(|| self.file.clone())
                    } else {
                        let w = checked_write(self.cfg, self.toml, &self.file, &state);
                        self.last_checked = Some(*state);
                        w
                    };
                    match self.disk {
                        Disk::Fast => {
                            self.file = written;
                            self.core
                                .handle_input(Instant(self.now), Input::Persisted(seq));
                        }
                        Disk::Slow => self.pending = Some((seq, written)),
                    }
                }
                Output::Connect { link, .. } => {
                    self.next_conn += 1;
                    self.links.insert(link, self.next_conn);
                    self.sent.retain(|(l, _, _)| *l != link);
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
                Output::Send { link, conn, cmd } => {
                    if self.links.get(&link) == Some(&conn) {
                        self.sent.push((link, conn, cmd));
                    }
                }
                Output::Reply { reply, .. } => {
                    let mut out = Vec::new();
                    encode(&reply, Proto::Resp2, &mut out);
                    encode(&reply, Proto::Resp3, &mut out);
                }
                Output::Crash => self.crashed = true,
                Output::Event(_) | Output::RunScript(_) => {}
            }
        }
    }

    fn pick_link(&self, src: &mut Source) -> Option<(LinkId, u64)> {
        if self.links.is_empty() {
            return None;
        }
        let i = src.below(self.links.len());
        self.links.iter().nth(i).map(|(l, c)| (*l, *c))
    }

    fn step(&mut self, src: &mut Source, client: u64) {
        let now = Instant(self.now);
        match src.byte() % 16 {
            0..=3 => {
                let argv = command(src);
                let monitor = argv.len() > 1 && argv[1].eq_ignore_ascii_case(b"monitor");
                if monitor && self.core.master_names().len() >= MAX_MASTERS {
                    return;
                }
                self.core.handle_argv(now, ClientId(client), &argv);
            }
            4..=5 => {
                if let Some((link, _)) = self.pick_link(src) {
                    let payload = hello(src);
                    self.core.handle_input(now, Input::Hello { link, payload });
                }
            }
            6..=9 => {
                // Answer the oldest commands of one link, in order, as a connection does.
                if self.sent.is_empty() {
                    return;
                }
                let (link, _, _) = self.sent[src.below(self.sent.len())];
                for _ in 0..=src.byte() % 4 {
                    let Some(i) = self.sent.iter().position(|(l, _, _)| *l == link) else {
                        break;
                    };
                    let (_, conn, cmd) = self.sent.remove(i);
                    let reply = reply_for(src, &cmd);
                    self.core
                        .handle_input(now, Input::Reply { link, conn, reply });
                }
            }
            10 => {
                if let Some((link, conn)) = self.pick_link(src) {
                    self.links.remove(&link);
                    self.sent.retain(|(l, _, _)| *l != link);
                    self.core.handle_input(now, Input::LinkDown { link, conn });
                }
            }
            11 => match (src.byte() % 4, self.pending.take()) {
                (0, p) => {
                    self.pending = p;
                    self.disk = if self.disk == Disk::Fast {
                        Disk::Slow
                    } else {
                        Disk::Fast
                    };
                }
                (1, Some((seq, _))) => self.core.handle_input(now, Input::PersistFailed(seq)),
                (_, Some((seq, written))) => {
                    self.file = written;
                    self.core.handle_input(now, Input::Persisted(seq));
                }
                (_, None) => {}
            },
            12 => {
                // Wall clock jump (TILT), forwards or backwards.
                self.wall_offset = self.wall_offset.wrapping_add(u64::from(src.u16()) * 100);
            }
            _ => {
                self.now += match src.byte() {
                    255 => 60_000,
                    b => u64::from(b) * 40,
                };
                let wall = self.now.wrapping_add(self.wall_offset);
                self.core.handle_timeout(Instant(self.now), wall);
            }
        }
        self.pump();
    }
}

/// First byte: low two bits 3 select TOML, anything else `sentinel.conf`; the next byte seeds the core's jitter; the
/// rest is the sequence of steps (see the module docs).
pub fn core_sequence(data: &[u8]) {
    let mut src = Source::new(data);
    let mode = src.byte();
    let seed = u64::from(src.byte());
    let base = base();
    // A TOML round trip parses the TOML config, the state file and merges them: about twice the cost of
    // a `sentinel.conf` one, so a quarter of the runs use TOML.
    let (cfg, toml) = if mode & 3 == 3 {
        (&base.toml, Some(TOML_CONF.as_bytes()))
    } else {
        (&base.redis, None)
    };
    let mut state = cfg.state.clone();
    if let Some(m) = state.masters.get_mut("m") {
        // The TOML config cannot list discovered instances: give both formats the same peers.
        m.known_replicas = vec![("127.0.0.1".into(), 6380), ("127.0.0.1".into(), 6381)];
        m.known_sentinels = vec![
            ("127.0.0.1".into(), 26380, PEER_A.into()),
            ("127.0.0.1".into(), 26381, PEER_B.into()),
        ];
    }
    let mut shell = Shell {
        cfg,
        toml,
        core: Sentinel::new(state, seed, Instant(0)),
        now: 0,
        wall_offset: 0,
        links: BTreeMap::new(),
        next_conn: 0,
        sent: Vec::new(),
        disk: Disk::Fast,
        pending: None,
        file: if toml.is_some() {
            Vec::new()
        } else {
            REDIS_CONF.as_bytes().to_vec()
        },
        last_checked: None,
        crashed: false,
    };
    shell.pump();
    for step in 0..MAX_STEPS {
        if src.is_empty() || shell.crashed {
            break;
        }
        shell.step(&mut src, step as u64);
    }
}

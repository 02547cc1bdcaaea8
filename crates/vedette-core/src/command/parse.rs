//! The typed boundary for client commands: [`SentinelCommand::parse`] turns a command's argv into a
//! typed command once, with Redis's error replies, so nothing behind it lower-cases, counts or re-parses
//! arguments (reference §1.1–§1.2).
//!
//! [`SUBCOMMANDS`] is the one arity table that is enforced for `SENTINEL` subcommands. The shell's
//! command table (`src/server/commands/table.rs`) is generated from redis-sentinel 7.0.15's `COMMAND`
//! replies and serves `COMMAND INFO`/`DOCS` only: it cannot know the Valkey aliases (`PRIMARIES`, ...)
//! nor 7.2's `CONFIG` arity (-4, where 7.0 reports -3), and the simulation and fuzz targets, which
//! drive the core without the shell, need the same checks.
//!
//! Errors come in Redis's two stages ([`CommandError`]): the dispatcher's (unknown subcommand, wrong
//! arity), which Redis answers before it checks authentication, and the command's own argument checks,
//! answered after it. Checks that depend on the sentinel's state (a master exists, a host is acceptable
//! under `resolve-hostnames`, scripts may be reconfigured) stay with the command's execution, in Redis's
//! order: a parsed command therefore sometimes carries a value still to be checked (a MONITOR port out of
//! range) or the error Redis answers after applying a valid prefix (SET, DEBUG, SIMULATE-FAILURE).

mod args;

use crate::config::{parse_redis_i64, MAX_COUNT};
use crate::reply::{errors, Reply};
use args::{parse_config, parse_debug, parse_set};

/// (name, arity) of every SENTINEL subcommand; negative arity = at least. Redis 7.2+'s arities, plus the
/// Valkey aliases.
pub const SUBCOMMANDS: &[(&str, i32)] = &[
    ("ckquorum", 3),
    ("config", -4),
    ("debug", -2),
    ("failover", 3),
    ("flushconfig", 2),
    ("get-master-addr-by-name", 3),
    ("get-primary-addr-by-name", 3),
    ("help", 2),
    ("info-cache", -3),
    ("is-master-down-by-addr", 6),
    ("is-primary-down-by-addr", 6),
    ("master", 3),
    ("primary", 3),
    ("masters", 2),
    ("primaries", 2),
    ("monitor", 6),
    ("myid", 2),
    ("pending-scripts", 2),
    ("remove", 3),
    ("replicas", 3),
    ("slaves", 3),
    ("reset", 3),
    ("sentinels", 3),
    ("set", -5),
    ("simulate-failure", -3),
];

/// The `SENTINEL DEBUG` names of the tunable timings, in Redis's order.
pub(crate) const DEBUG_NAMES: &[&str] = &[
    "info-period",
    "ping-period",
    "ask-period",
    "publish-period",
    "default-down-after",
    "default-failover-timeout",
    "tilt-trigger",
    "tilt-period",
    "slave-reconf-timeout",
    "min-link-reconnect-period",
    "election-timeout",
    "script-max-runtime",
    "script-retry-delay",
];

/// A command the core answers, parsed and validated as far as it can be without the sentinel's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentinelCommand {
    /// `ROLE`.
    Role,
    /// `PUBLISH __sentinel__:hello <payload>`: a hello delivered to us directly.
    Publish(Vec<u8>),
    /// `SENTINEL MASTERS` / `PRIMARIES`.
    Masters,
    /// `SENTINEL MASTER` / `PRIMARY <name>`.
    Master(String),
    /// `SENTINEL REPLICAS` / `SLAVES <name>`.
    Replicas(String),
    /// `SENTINEL SENTINELS <name>`.
    Sentinels(String),
    /// `SENTINEL GET-MASTER-ADDR-BY-NAME` / `GET-PRIMARY-ADDR-BY-NAME <name>`.
    GetMasterAddrByName(String),
    /// `SENTINEL MYID`.
    MyId,
    /// `SENTINEL IS-MASTER-DOWN-BY-ADDR <ip> <port> <epoch> <runid>` (or `IS-PRIMARY-...`).
    IsMasterDownByAddr {
        /// The master's address as the asker knows it.
        ip: String,
        /// `None`: an integer outside 0..=65535, which Redis accepts and which names no master.
        port: Option<u16>,
        /// The asker's epoch; a negative one (which can never win a vote) is 0.
        epoch: u64,
        /// The candidate asking for our vote, or `*` for a down-state query only.
        runid: String,
    },
    /// `SENTINEL MONITOR <name> <ip> <port> <quorum>`.
    Monitor {
        /// The new master's name.
        name: String,
        /// Its host, checked at execution (acceptable hosts depend on `resolve-hostnames`).
        host: String,
        /// `None`: an integer outside 0..=65535, refused at execution after the host check, as Redis
        /// orders its checks.
        port: Option<u16>,
        /// 1..=2³¹−1.
        quorum: u32,
    },
    /// `SENTINEL REMOVE <name>`.
    Remove(String),
    /// `SENTINEL RESET <pattern>` (a glob over master names, as bytes).
    Reset(Vec<u8>),
    /// `SENTINEL FAILOVER <name>`.
    Failover(String),
    /// `SENTINEL CKQUORUM <name>`.
    CkQuorum(String),
    /// `SENTINEL FLUSHCONFIG`.
    FlushConfig,
    /// `SENTINEL SET <name> <option> <value> ...`: options apply left to right and are kept even if a
    /// later one fails, so this is the valid prefix and the error Redis answers after it.
    Set {
        /// The master's name.
        name: String,
        /// The options before the first invalid one.
        options: Vec<SetArg>,
        /// The error answered after applying `options` (the config is still flushed if any applied).
        error: Option<String>,
    },
    /// `SENTINEL CONFIG GET <pattern> ...` (case-insensitive globs).
    ConfigGet(Vec<Vec<u8>>),
    /// `SENTINEL CONFIG SET <param> <value> ...`: all pairs valid, none repeated (applied all or none).
    ConfigSet(Vec<ConfigArg>),
    /// `SENTINEL INFO-CACHE <name> ...`.
    InfoCache(Vec<String>),
    /// `SENTINEL PENDING-SCRIPTS` (answered by the shell, which runs the scripts).
    PendingScripts,
    /// `SENTINEL SIMULATE-FAILURE <flag> ...`: the flags set before the end, and how it ended.
    SimulateFailure {
        /// Bit 1: crash after election; bit 2: crash after promotion.
        flags: u8,
        /// What stopped the argument loop, if anything did.
        end: Option<SimulateEnd>,
    },
    /// `SENTINEL DEBUG` without arguments: show the timings.
    DebugShow,
    /// `SENTINEL DEBUG <name> <ms> ...`: the valid prefix (applied left to right) and the error after it.
    DebugSet {
        /// (timing name, value > 0).
        timings: Vec<(&'static str, u64)>,
        /// The error answered after applying `timings`.
        error: Option<String>,
    },
    /// `SENTINEL HELP`.
    Help,
}

/// What ended a `SIMULATE-FAILURE` argument list early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulateEnd {
    /// `help`: answer the list of flags.
    Help,
    /// An unknown flag: `-ERR Unknown failure simulation specified`.
    Unknown,
}

/// One `SENTINEL SET` option with its validated value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetArg {
    /// The option as typed (echoed in the `+set` event).
    pub option: String,
    /// The value as the `+set` event shows it (`******` for `auth-pass`, both words for `rename-command`).
    pub shown: String,
    /// The setting.
    pub setting: SetOption,
}

/// A `SENTINEL SET` setting; an empty string value clears (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOption {
    /// `down-after-milliseconds`, > 0.
    DownAfter(u64),
    /// `failover-timeout`, > 0.
    FailoverTimeout(u64),
    /// `parallel-syncs`, 1..=2³¹−1.
    ParallelSyncs(u32),
    /// `quorum`, 1..=2³¹−1.
    Quorum(u32),
    /// `master-reboot-down-after-period`, ≥ 0.
    MasterRebootDownAfterPeriod(u64),
    /// `notification-script`.
    NotificationScript(Option<String>),
    /// `client-reconfig-script`.
    ClientReconfigScript(Option<String>),
    /// `auth-pass`.
    AuthPass(Option<String>),
    /// `auth-user`.
    AuthUser(Option<String>),
    /// `rename-command <command> <new-name>`: `command` lower-cased; `to` is `None` when the new name is
    /// the command itself (the mapping is removed).
    RenameCommand {
        /// The renamed command, lower-cased.
        command: String,
        /// The name to send instead.
        to: Option<String>,
    },
}

/// One validated `SENTINEL CONFIG SET` pair, with its words as typed (for the one refusal that needs the
/// state, `resolve-hostnames no` while an instance is known by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigArg {
    /// The parameter as typed.
    pub param: String,
    /// The value as typed.
    pub value: String,
    /// The setting.
    pub setting: ConfigSetting,
}

/// A `SENTINEL CONFIG SET` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSetting {
    /// `resolve-hostnames yes|no`.
    ResolveHostnames(bool),
    /// `announce-hostnames yes|no`.
    AnnounceHostnames(bool),
    /// `announce-ip` (empty = unset).
    AnnounceIp(Option<String>),
    /// `announce-port`, 0..=65535.
    AnnouncePort(u16),
    /// `sentinel-user` (empty = unset).
    SentinelUser(Option<String>),
    /// `sentinel-pass` (empty = unset).
    SentinelPass(Option<String>),
    /// `loglevel`, lower-cased.
    Loglevel(String),
}

/// Why a command was refused, in Redis's two stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The dispatcher's refusal (unknown command or subcommand, wrong arity): Redis answers it before
    /// checking authentication.
    Dispatch(Reply),
    /// The command's own argument check, answered after authentication. `sub` names the subcommand (for
    /// `CLIENT LIST`'s `cmd=`), `None` for ROLE and PUBLISH.
    Invalid {
        /// The canonical subcommand name.
        sub: Option<&'static str>,
        /// The error reply.
        reply: Reply,
    },
}

impl CommandError {
    /// The error reply.
    pub fn reply(&self) -> &Reply {
        match self {
            CommandError::Dispatch(r) | CommandError::Invalid { reply: r, .. } => r,
        }
    }

    /// The subcommand an argument error is about (`None` for dispatcher errors, ROLE and PUBLISH).
    pub fn sub(&self) -> Option<&'static str> {
        match self {
            CommandError::Dispatch(_) => None,
            CommandError::Invalid { sub, .. } => *sub,
        }
    }

    /// The error reply, owned.
    pub fn into_reply(self) -> Reply {
        match self {
            CommandError::Dispatch(r) | CommandError::Invalid { reply: r, .. } => r,
        }
    }
}

pub(super) fn s(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

pub(super) fn opt(v: String) -> Option<String> {
    if v.is_empty() {
        None
    } else {
        Some(v)
    }
}

/// Whether `argc` (including the command name) satisfies a Redis arity.
pub(crate) fn arity_ok(arity: i32, argc: usize) -> bool {
    let argc = i64::try_from(argc).unwrap_or(i64::MAX);
    let arity = i64::from(arity);
    if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

impl SentinelCommand {
    /// Parse a command routed to the core (`SENTINEL ...`, `ROLE`, `PUBLISH`; names in any case). Pure:
    /// the same argv always gives the same result, and no argv makes it panic.
    pub fn parse(argv: &[Vec<u8>]) -> Result<SentinelCommand, CommandError> {
        let Some(name) = argv.first() else {
            return Err(CommandError::Dispatch(Reply::err(errors::unknown_command(
                argv,
            ))));
        };
        let top = |n: &str, arity: i32| {
            if arity_ok(arity, argv.len()) {
                Ok(())
            } else {
                Err(CommandError::Dispatch(Reply::err(errors::wrong_arity(n))))
            }
        };
        if name.eq_ignore_ascii_case(b"role") {
            top("role", 1)?;
            Ok(SentinelCommand::Role)
        } else if name.eq_ignore_ascii_case(b"publish") {
            top("publish", 3)?;
            if argv[1] != b"__sentinel__:hello" {
                return Err(CommandError::Invalid {
                    sub: None,
                    reply: Reply::err(
                        "ERR Only HELLO messages are accepted by Sentinel instances.",
                    ),
                });
            }
            Ok(SentinelCommand::Publish(argv[2].clone()))
        } else if name.eq_ignore_ascii_case(b"sentinel") {
            top("sentinel", -2)?;
            Self::parse_sub(argv)
        } else {
            Err(CommandError::Dispatch(Reply::err(errors::unknown_command(
                argv,
            ))))
        }
    }

    fn parse_sub(argv: &[Vec<u8>]) -> Result<SentinelCommand, CommandError> {
        let Some(&(sub, arity)) = SUBCOMMANDS
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(&argv[1]))
        else {
            return Err(CommandError::Dispatch(Reply::err(
                errors::unknown_subcommand("sentinel", &argv[1]),
            )));
        };
        if !arity_ok(arity, argv.len()) {
            return Err(CommandError::Dispatch(Reply::err(errors::wrong_arity(
                &format!("sentinel|{sub}"),
            ))));
        }
        let invalid = |msg: String| CommandError::Invalid {
            sub: Some(sub),
            reply: Reply::err(msg),
        };
        let name = || s(&argv[2]);
        Ok(match sub {
            "masters" | "primaries" => SentinelCommand::Masters,
            "master" | "primary" => SentinelCommand::Master(name()),
            "replicas" | "slaves" => SentinelCommand::Replicas(name()),
            "sentinels" => SentinelCommand::Sentinels(name()),
            "get-master-addr-by-name" | "get-primary-addr-by-name" => {
                SentinelCommand::GetMasterAddrByName(name())
            }
            "myid" => SentinelCommand::MyId,
            "is-master-down-by-addr" | "is-primary-down-by-addr" => {
                // Redis reads the port as a long and the epoch as a long long, port first; both fail
                // with the same message.
                let (Some(port), Some(epoch)) =
                    (parse_redis_i64(&argv[3]), parse_redis_i64(&argv[4]))
                else {
                    return Err(invalid(errors::NOT_INTEGER.into()));
                };
                SentinelCommand::IsMasterDownByAddr {
                    ip: name(),
                    port: u16::try_from(port).ok(),
                    epoch: u64::try_from(epoch).unwrap_or(0),
                    runid: s(&argv[5]),
                }
            }
            "monitor" => {
                let Some(quorum) = parse_redis_i64(&argv[5]) else {
                    return Err(invalid("ERR Invalid quorum".into()));
                };
                let Some(port) = parse_redis_i64(&argv[4]) else {
                    return Err(invalid("ERR Invalid port".into()));
                };
                if quorum <= 0 {
                    return Err(invalid("ERR Quorum must be 1 or greater.".into()));
                }
                // Redis stores it in 32 bits, truncating 4294967296 to 0; vedette refuses it instead.
                let Some(quorum) = u32::try_from(quorum).ok().filter(|q| *q <= MAX_COUNT) else {
                    return Err(invalid("ERR Invalid quorum".into()));
                };
                SentinelCommand::Monitor {
                    name: name(),
                    host: s(&argv[3]),
                    port: u16::try_from(port).ok(),
                    quorum,
                }
            }
            "remove" => SentinelCommand::Remove(name()),
            "reset" => SentinelCommand::Reset(argv[2].clone()),
            "failover" => SentinelCommand::Failover(name()),
            "ckquorum" => SentinelCommand::CkQuorum(name()),
            "flushconfig" => SentinelCommand::FlushConfig,
            "set" => {
                let (options, error) = parse_set(&argv[3..]);
                SentinelCommand::Set {
                    name: name(),
                    options,
                    error,
                }
            }
            "config" => parse_config(argv).map_err(invalid)?,
            "info-cache" => SentinelCommand::InfoCache(argv[2..].iter().map(|a| s(a)).collect()),
            "pending-scripts" => SentinelCommand::PendingScripts,
            "simulate-failure" => {
                let mut flags = 0u8;
                let mut end = None;
                for a in &argv[2..] {
                    if a.eq_ignore_ascii_case(b"crash-after-election") {
                        flags |= 1;
                    } else if a.eq_ignore_ascii_case(b"crash-after-promotion") {
                        flags |= 2;
                    } else {
                        end = Some(if a.eq_ignore_ascii_case(b"help") {
                            SimulateEnd::Help
                        } else {
                            SimulateEnd::Unknown
                        });
                        break;
                    }
                }
                SentinelCommand::SimulateFailure { flags, end }
            }
            "debug" if argv.len() == 2 => SentinelCommand::DebugShow,
            "debug" => {
                let (timings, error) = parse_debug(&argv[2..]);
                SentinelCommand::DebugSet { timings, error }
            }
            "help" => SentinelCommand::Help,
            _ => {
                return Err(CommandError::Dispatch(Reply::err(
                    errors::unknown_subcommand("sentinel", &argv[1]),
                )))
            }
        })
    }

    /// The subcommand this is (`None` for ROLE and PUBLISH), canonical lower-case.
    pub fn name(&self) -> Option<&'static str> {
        use SentinelCommand as C;
        Some(match self {
            C::Role | C::Publish(_) => return None,
            C::Masters => "masters",
            C::Master(_) => "master",
            C::Replicas(_) => "replicas",
            C::Sentinels(_) => "sentinels",
            C::GetMasterAddrByName(_) => "get-master-addr-by-name",
            C::MyId => "myid",
            C::IsMasterDownByAddr { .. } => "is-master-down-by-addr",
            C::Monitor { .. } => "monitor",
            C::Remove(_) => "remove",
            C::Reset(_) => "reset",
            C::Failover(_) => "failover",
            C::CkQuorum(_) => "ckquorum",
            C::FlushConfig => "flushconfig",
            C::Set { .. } => "set",
            C::ConfigGet(_) | C::ConfigSet(_) => "config",
            C::InfoCache(_) => "info-cache",
            C::PendingScripts => "pending-scripts",
            C::SimulateFailure { .. } => "simulate-failure",
            C::DebugShow | C::DebugSet { .. } => "debug",
            C::Help => "help",
        })
    }
}

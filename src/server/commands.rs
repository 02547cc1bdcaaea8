//! The command table: what a sentinel answers at all, with arity, flags and docs.
//!
//! Only commands listed here exist; anything else gets Redis's unknown-command error, and `COMMAND`
//! (`LIST`, `INFO`, `DOCS`, `COUNT`) reports exactly this table, as a Redis sentinel builds its table
//! from the commands flagged for Sentinel mode (reference §1.1). `SENTINEL` subcommands are listed for
//! `COMMAND` but executed, and checked, by the core.

use vedette_core::Reply;

use super::pubsub::stringmatch;
use super::resp::Frame;

/// One command or subcommand.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (for a subcommand: the part after `|`).
    pub name: &'static str,
    /// Redis arity: positive = exact argc, negative = at least -arity.
    pub arity: i32,
    /// COMMAND INFO flags.
    pub flags: &'static [&'static str],
    /// ACL categories.
    pub acl: &'static [&'static str],
    /// COMMAND DOCS summary.
    pub summary: &'static str,
    /// Redis version that introduced it.
    pub since: &'static str,
    /// Command group.
    pub group: &'static str,
    /// Complexity text.
    pub complexity: &'static str,
    /// Subcommands (containers only).
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// Whether `argc` (including the command name) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Whether the command may run before authentication.
    pub fn no_auth(&self) -> bool {
        self.flags.contains(&"no_auth")
    }

    /// Whether the command is a container (`CLIENT`, `COMMAND`, `SENTINEL`).
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }

    /// Find a subcommand by name, case-insensitively.
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.subcommands.iter().find(|s| s.name == lower)
    }
}

macro_rules! cmd {
    ($name:literal, $arity:expr, [$($f:literal),*], [$($a:literal),*], $summary:literal, $since:literal,
     $group:expr, $cx:literal) => {
        cmd!($name, $arity, [$($f),*], [$($a),*], $summary, $since, $group, $cx, &[])
    };
    ($name:literal, $arity:expr, [$($f:literal),*], [$($a:literal),*], $summary:literal, $since:literal,
     $group:expr, $cx:literal, $subs:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: &[$($f),*],
            acl: &[$($a),*],
            summary: $summary,
            since: $since,
            group: $group,
            complexity: $cx,
            subcommands: $subs,
        }
    };
}

const CONN_GROUP: &str = "connection";

static CLIENT_SUBS: &[CommandSpec] = &[
    cmd!(
        "getname",
        2,
        ["noscript", "loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns the name of the connection.",
        "2.6.9",
        "connection",
        "O(1)"
    ),
    cmd!(
        "help",
        2,
        ["loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns helpful text about the different subcommands.",
        "5.0.0",
        "connection",
        "O(1)"
    ),
    cmd!(
        "id",
        2,
        ["noscript", "loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns the unique client ID of the connection.",
        "5.0.0",
        "connection",
        "O(1)"
    ),
    cmd!(
        "info",
        2,
        ["noscript", "loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns information about the connection.",
        "6.2.0",
        "connection",
        "O(1)"
    ),
    cmd!(
        "kill",
        -3,
        ["admin", "noscript", "loading", "stale", "sentinel"],
        ["@admin", "@slow", "@dangerous", "@connection"],
        "Terminates open connections.",
        "2.4.0",
        "connection",
        "O(N) where N is the number of client connections"
    ),
    cmd!(
        "list",
        -2,
        ["admin", "noscript", "loading", "stale", "sentinel"],
        ["@admin", "@slow", "@dangerous", "@connection"],
        "Lists open connections.",
        "2.4.0",
        "connection",
        "O(N) where N is the number of client connections"
    ),
    cmd!(
        "reply",
        3,
        ["noscript", "loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Instructs the server whether to reply to commands.",
        "3.2.0",
        "connection",
        "O(1)"
    ),
    cmd!(
        "setinfo",
        4,
        ["noscript", "loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Sets information specific to the client or connection.",
        "7.2.0",
        "connection",
        "O(1)"
    ),
    cmd!(
        "setname",
        3,
        ["noscript", "loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Sets the connection name.",
        "2.6.9",
        "connection",
        "O(1)"
    ),
];

static COMMAND_SUBS: &[CommandSpec] = &[
    cmd!(
        "count",
        2,
        ["loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns a count of commands.",
        "2.8.13",
        "server",
        "O(1)"
    ),
    cmd!(
        "docs",
        -2,
        ["loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns documentary information about one, multiple or all commands.",
        "7.0.0",
        "server",
        "O(N) where N is the number of commands to look up"
    ),
    cmd!(
        "getkeys",
        -3,
        ["loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Extracts the key names from an arbitrary command.",
        "2.8.13",
        "server",
        "O(N) where N is the number of arguments to the command"
    ),
    cmd!(
        "getkeysandflags",
        -3,
        ["loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Extracts the key names and access flags for an arbitrary command.",
        "7.0.0",
        "server",
        "O(N) where N is the number of arguments to the command"
    ),
    cmd!(
        "help",
        2,
        ["loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns helpful text about the different subcommands.",
        "5.0.0",
        "server",
        "O(1)"
    ),
    cmd!(
        "info",
        -2,
        ["loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns information about one, multiple or all commands.",
        "2.8.13",
        "server",
        "O(N) where N is the number of commands to look up"
    ),
    cmd!(
        "list",
        -2,
        ["loading", "stale", "sentinel"],
        ["@slow", "@connection"],
        "Returns a list of command names.",
        "7.0.0",
        "server",
        "O(N) where N is the total number of Redis commands"
    ),
];

macro_rules! sentinel_sub {
    ($name:literal, $arity:expr, $summary:literal) => {
        cmd!(
            $name,
            $arity,
            ["admin", "sentinel", "only_sentinel"],
            ["@admin", "@slow", "@dangerous"],
            $summary,
            "2.8.4",
            "sentinel",
            "O(1)"
        )
    };
}

static SENTINEL_SUBS: &[CommandSpec] = &[
    sentinel_sub!("ckquorum", 3, "Checks for a Redis Sentinel quorum."),
    sentinel_sub!("config", -4, "Configures Redis Sentinel."),
    sentinel_sub!(
        "debug",
        -2,
        "Lists or updates the current configurable parameters of Redis Sentinel."
    ),
    sentinel_sub!("failover", 3, "Forces a Redis Sentinel failover."),
    sentinel_sub!(
        "flushconfig",
        2,
        "Rewrites the Redis Sentinel configuration file."
    ),
    sentinel_sub!(
        "get-master-addr-by-name",
        3,
        "Returns the port and address of a master Redis instance."
    ),
    cmd!(
        "help",
        2,
        ["loading", "stale", "sentinel", "only_sentinel"],
        ["@slow"],
        "Returns helpful text about the different subcommands.",
        "6.2.0",
        "sentinel",
        "O(1)"
    ),
    sentinel_sub!(
        "info-cache",
        -3,
        "Returns the cached `INFO` replies from the deployment's instances."
    ),
    sentinel_sub!(
        "is-master-down-by-addr",
        6,
        "Determines whether a master Redis instance is down."
    ),
    sentinel_sub!("master", 3, "Returns the state of a master Redis instance."),
    sentinel_sub!("masters", 2, "Returns a list of monitored Redis masters."),
    sentinel_sub!("monitor", 6, "Starts monitoring."),
    sentinel_sub!("myid", 2, "Returns the Redis Sentinel instance ID."),
    sentinel_sub!(
        "pending-scripts",
        2,
        "Returns information about pending scripts for Redis Sentinel."
    ),
    sentinel_sub!("remove", 3, "Stops monitoring."),
    sentinel_sub!(
        "replicas",
        3,
        "Returns a list of the monitored Redis replicas."
    ),
    sentinel_sub!(
        "reset",
        3,
        "Resets Redis masters by name matching a pattern."
    ),
    sentinel_sub!("sentinels", 3, "Returns a list of Sentinel instances."),
    sentinel_sub!(
        "set",
        -5,
        "Changes the configuration of a monitored Redis master."
    ),
    sentinel_sub!("simulate-failure", -3, "Simulates failover scenarios."),
    sentinel_sub!("slaves", 3, "Returns a list of the monitored replicas."),
];

/// Every command a client can run, sorted by name.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("auth", -2, ["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"],
        ["@fast", "@connection"], "Authenticates the connection.", "1.0.0", CONN_GROUP,
        "O(N) where N is the number of passwords defined for the user"),
    cmd!("client", -2, ["sentinel"], ["@slow"], "A container for client connection commands.", "2.4.0",
        CONN_GROUP, "Depends on subcommand.", CLIENT_SUBS),
    cmd!("command", -1, ["loading", "stale", "sentinel"], ["@slow", "@connection"],
        "Returns detailed information about all commands.", "2.8.13", "server",
        "O(N) where N is the total number of Redis commands", COMMAND_SUBS),
    cmd!("echo", 2, ["loading", "stale", "fast", "sentinel"], ["@fast", "@connection"],
        "Returns the given string.", "1.0.0", CONN_GROUP, "O(1)"),
    cmd!("hello", -1, ["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"],
        ["@fast", "@connection"], "Handshakes with the Redis server.", "6.0.0", CONN_GROUP, "O(1)"),
    cmd!("info", -1, ["loading", "stale", "sentinel"], ["@slow", "@dangerous"],
        "Returns information and statistics about the server.", "1.0.0", "server", "O(1)"),
    cmd!("ping", -1, ["fast", "sentinel"], ["@fast", "@connection"],
        "Returns the server's liveliness response.", "1.0.0", CONN_GROUP, "O(1)"),
    cmd!("psubscribe", -2, ["pubsub", "noscript", "loading", "stale", "sentinel"], ["@pubsub", "@slow"],
        "Listens for messages published to channels that match one or more patterns.", "2.0.0", "pubsub",
        "O(N) where N is the number of patterns to subscribe to."),
    cmd!("publish", 3, ["pubsub", "loading", "stale", "fast", "may_replicate", "sentinel"],
        ["@pubsub", "@fast"], "Posts a message to a channel.", "2.0.0", "pubsub",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
    cmd!("punsubscribe", -1, ["pubsub", "noscript", "loading", "stale", "sentinel"], ["@pubsub", "@slow"],
        "Stops listening to messages published to channels that match one or more patterns.", "2.0.0",
        "pubsub", "O(N) where N is the number of patterns to unsubscribe."),
    cmd!("role", 1, ["noscript", "loading", "stale", "fast", "sentinel"], ["@admin", "@fast", "@dangerous"],
        "Returns the replication role.", "2.8.12", "server", "O(1)"),
    cmd!("sentinel", -2, ["admin", "sentinel", "only_sentinel"], ["@admin", "@slow", "@dangerous"],
        "A container for Redis Sentinel commands.", "2.8.4", "sentinel", "Depends on subcommand.",
        SENTINEL_SUBS),
    cmd!("shutdown", -1, ["admin", "noscript", "loading", "stale", "no_multi", "sentinel", "allow_busy"],
        ["@admin", "@slow", "@dangerous"],
        "Synchronously saves the database(s) to disk and shuts down the Redis server.", "1.0.0", "server",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
    cmd!("subscribe", -2, ["pubsub", "noscript", "loading", "stale", "sentinel"], ["@pubsub", "@slow"],
        "Listens for messages published to channels.", "2.0.0", "pubsub",
        "O(N) where N is the number of channels to subscribe to."),
    cmd!("unsubscribe", -1, ["pubsub", "noscript", "loading", "stale", "sentinel"], ["@pubsub", "@slow"],
        "Stops listening to messages posted to channels.", "2.0.0", "pubsub",
        "O(N) where N is the number of channels to unsubscribe."),
];

/// Find a top-level command, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    COMMANDS.iter().find(|c| c.name == lower)
}

/// Find a command by full name (`ping`, `client|setinfo`), as `COMMAND INFO/DOCS` take it.
pub fn lookup_fullname(
    name: &[u8],
) -> Option<(&'static CommandSpec, Option<&'static CommandSpec>)> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let top = lookup(parts.next()?)?;
    match parts.next() {
        None => Some((top, None)),
        Some(sub) => top.subcommand(sub).map(|s| (top, Some(s))),
    }
}

fn fullname(parent: Option<&CommandSpec>, spec: &CommandSpec) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, spec.name),
        None => spec.name.to_string(),
    }
}

fn status_set(items: &[&str]) -> Frame {
    Frame::Set(
        items
            .iter()
            .map(|s| Frame::Reply(Reply::Status((*s).to_string())))
            .collect(),
    )
}

/// One `COMMAND INFO` entry.
fn info_entry(parent: Option<&CommandSpec>, spec: &CommandSpec) -> Frame {
    let flags: Vec<&str> = spec
        .flags
        .iter()
        .copied()
        .filter(|f| *f != "sentinel" && *f != "only_sentinel")
        .collect();
    Frame::Array(vec![
        Frame::Reply(Reply::bulk(fullname(parent, spec))),
        Frame::Reply(Reply::Int(i64::from(spec.arity))),
        status_set(&flags),
        Frame::Reply(Reply::Int(0)),
        Frame::Reply(Reply::Int(0)),
        Frame::Reply(Reply::Int(0)),
        status_set(spec.acl),
        Frame::Set(Vec::new()),
        Frame::Array(Vec::new()),
        Frame::Array(
            spec.subcommands
                .iter()
                .map(|s| info_entry(Some(spec), s))
                .collect(),
        ),
    ])
}

/// One `COMMAND DOCS` value.
fn docs_entry(spec: &CommandSpec) -> Frame {
    let b = |s: &str| Frame::Reply(Reply::bulk(s));
    let mut pairs = vec![
        (b("summary"), b(spec.summary)),
        (b("since"), b(spec.since)),
        (b("group"), b(spec.group)),
        (b("complexity"), b(spec.complexity)),
    ];
    if spec.is_container() {
        pairs.push((
            b("subcommands"),
            Frame::Map(
                spec.subcommands
                    .iter()
                    .map(|s| (b(&fullname(Some(spec), s)), docs_entry(s)))
                    .collect(),
            ),
        ));
    }
    Frame::Map(pairs)
}

fn all_fullnames() -> Vec<(String, &'static CommandSpec)> {
    let mut out = Vec::new();
    for c in COMMANDS {
        out.push((c.name.to_string(), c));
        for s in c.subcommands {
            out.push((fullname(Some(c), s), s));
        }
    }
    out
}

fn syntax_error() -> Frame {
    Frame::Reply(Reply::err("ERR syntax error"))
}

/// Execute `COMMAND [sub ...]` (arity and subcommand existence already checked).
pub fn command(argv: &[Vec<u8>]) -> Frame {
    let Some(sub) = argv.get(1) else {
        return Frame::Array(COMMANDS.iter().map(|c| info_entry(None, c)).collect());
    };
    let args = &argv[2..];
    match sub.to_ascii_lowercase().as_slice() {
        b"count" => Frame::Reply(Reply::Int(COMMANDS.len() as i64)),
        b"list" => command_list(args),
        b"info" => {
            if args.is_empty() {
                return Frame::Array(COMMANDS.iter().map(|c| info_entry(None, c)).collect());
            }
            Frame::Array(
                args.iter()
                    .map(|name| match lookup_fullname(name) {
                        Some((top, None)) => info_entry(None, top),
                        Some((top, Some(s))) => info_entry(Some(top), s),
                        None => Frame::Reply(Reply::Nil),
                    })
                    .collect(),
            )
        }
        b"docs" => {
            let b = |s: &str| Frame::Reply(Reply::bulk(s));
            if args.is_empty() {
                return Frame::Map(
                    COMMANDS
                        .iter()
                        .map(|c| (b(c.name), docs_entry(c)))
                        .collect(),
                );
            }
            Frame::Map(
                args.iter()
                    .filter_map(|name| {
                        let (top, sub) = lookup_fullname(name)?;
                        let spec = sub.unwrap_or(top);
                        let full = fullname(sub.map(|_| top), spec);
                        Some((b(&full), docs_entry(spec)))
                    })
                    .collect(),
            )
        }
        b"getkeys" | b"getkeysandflags" => {
            let target = &args[0];
            let spec = match lookup(target) {
                Some(top) => match args.get(1).filter(|_| top.is_container()) {
                    Some(s) => top.subcommand(s).unwrap_or(top),
                    None => top,
                },
                None => return Frame::Reply(Reply::err("ERR Invalid command specified")),
            };
            if !spec.arity_ok(args.len()) {
                return Frame::Reply(Reply::err(
                    "ERR Invalid number of arguments specified for command",
                ));
            }
            Frame::Reply(Reply::err("ERR The command has no key arguments"))
        }
        b"help" => help(
            "COMMAND",
            &[
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
                "GETKEYSANDFLAGS <full-command>",
                "    Return the keys and the access flags from a full Redis command.",
            ],
        ),
        _ => Frame::Reply(Reply::err(vedette_core::reply::errors::unknown_subcommand(
            "COMMAND", sub,
        ))),
    }
}

fn command_list(args: &[Vec<u8>]) -> Frame {
    let names = all_fullnames();
    let bulk = |n: &str| Frame::Reply(Reply::bulk(n));
    match args {
        [] => Frame::Array(names.iter().map(|(n, _)| bulk(n)).collect()),
        [filterby, kind, value] if filterby.eq_ignore_ascii_case(b"filterby") => {
            match kind.to_ascii_lowercase().as_slice() {
                b"module" => Frame::Array(Vec::new()),
                b"aclcat" => {
                    let want = format!("@{}", String::from_utf8_lossy(value).to_ascii_lowercase());
                    Frame::Array(
                        names
                            .iter()
                            .filter(|(_, s)| s.acl.contains(&want.as_str()))
                            .map(|(n, _)| bulk(n))
                            .collect(),
                    )
                }
                b"pattern" => Frame::Array(
                    names
                        .iter()
                        .filter(|(n, _)| stringmatch(value, n.as_bytes(), true))
                        .map(|(n, _)| bulk(n))
                        .collect(),
                ),
                _ => syntax_error(),
            }
        }
        _ => syntax_error(),
    }
}

/// A Redis-style help reply: header, lines, footer, all status replies.
pub fn help(container: &str, lines: &[&str]) -> Frame {
    let mut out = vec![Reply::Status(format!(
        "{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ))];
    out.extend(lines.iter().map(|l| Reply::Status((*l).to_string())));
    out.push(Reply::Status("HELP".into()));
    out.push(Reply::Status("    Print this help.".into()));
    Frame::Reply(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn names(f: &Frame) -> Vec<String> {
        match f {
            Frame::Array(items) => items
                .iter()
                .map(|i| match i {
                    Frame::Reply(Reply::Bulk(b)) => String::from_utf8_lossy(b).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn table_is_sorted_and_lookup_works() {
        assert!(COMMANDS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(lookup(b"PiNg").map(|c| c.name), Some("ping"));
        assert!(lookup(b"save").is_none());
        assert!(lookup_fullname(b"client|setinfo").is_some());
        assert!(lookup_fullname(b"client|no-touch").is_none());
    }

    #[test]
    fn flag_test_of_00_base() {
        let list = names(&command(&a(&["command", "list"])));
        for want in [
            "ping",
            "info",
            "subscribe",
            "client|setinfo",
            "sentinel|masters",
        ] {
            assert!(list.iter().any(|n| n == want), "{want}");
        }
        for absent in [
            "save",
            "bgrewriteaof",
            "blpop",
            "replicaof",
            "client|no-touch",
        ] {
            assert!(!list.iter().any(|n| n == absent), "{absent}");
            assert_eq!(
                command(&a(&["command", "docs", absent])),
                Frame::Map(Vec::new())
            );
        }
        for present in ["ping", "info", "subscribe", "client|setinfo"] {
            match command(&a(&["command", "docs", present])) {
                Frame::Map(m) => assert_eq!(m.len(), 1, "{present}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            command(&a(&["command", "count"])),
            Frame::Reply(Reply::Int(15))
        );
        let filtered = names(&command(&a(&[
            "command", "list", "filterby", "pattern", "CLIENT|*",
        ])));
        assert!(filtered.iter().all(|n| n.starts_with("client|")));
        assert!(!filtered.is_empty());
    }
}

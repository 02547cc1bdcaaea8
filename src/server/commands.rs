//! The command table: what a sentinel answers at all, with arity, flags and docs.
//!
//! Only commands listed here exist; anything else gets Redis's unknown-command error, and `COMMAND`
//! (`LIST`, `INFO`, `DOCS`, `COUNT`) reports exactly this table, as a Redis sentinel builds its table
//! from the commands flagged for Sentinel mode (reference §1.1). `SENTINEL` subcommands are listed for
//! `COMMAND` but executed, and checked, by the core.

use vedette_core::Reply;

use super::resp::Frame;

mod table;

pub use table::COMMANDS;

/// One command or subcommand: what `COMMAND INFO` and `COMMAND DOCS` report for it, field for field as
/// redis-sentinel 7.0 does (the table in `commands/table.rs` is generated from its replies).
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (for a subcommand: the part after `|`).
    pub name: &'static str,
    /// Redis arity: positive = exact argc, negative = at least -arity.
    pub arity: i32,
    /// COMMAND INFO flags, as reported (a sentinel hides its internal `sentinel`/`only_sentinel`).
    pub flags: &'static [&'static str],
    /// COMMAND INFO first key position (no sentinel command takes keys: all 0).
    pub first_key: i64,
    /// COMMAND INFO last key position.
    pub last_key: i64,
    /// COMMAND INFO key step.
    pub step: i64,
    /// ACL categories.
    pub acl: &'static [&'static str],
    /// COMMAND INFO tips (`nondeterministic_output`, `request_policy:...`).
    pub tips: &'static [&'static str],
    /// COMMAND DOCS summary.
    pub summary: &'static str,
    /// Redis version that introduced it.
    pub since: &'static str,
    /// Command group.
    pub group: &'static str,
    /// Complexity text (a few sentinel subcommands have none).
    pub complexity: Option<&'static str>,
    /// COMMAND DOCS doc flags (`deprecated`).
    pub doc_flags: &'static [&'static str],
    /// Version that deprecated it.
    pub deprecated_since: Option<&'static str>,
    /// What replaces it, when deprecated.
    pub replaced_by: Option<&'static str>,
    /// (version, change) pairs.
    pub history: &'static [(&'static str, &'static str)],
    /// Argument descriptions (COMMAND DOCS `arguments`; omitted when empty).
    pub args: &'static [Arg],
    /// Subcommands (containers only).
    pub subcommands: &'static [CommandSpec],
}

/// Defaults for the generated table's `..SPEC`.
pub(crate) const SPEC: CommandSpec = CommandSpec {
    name: "",
    arity: 0,
    flags: &[],
    first_key: 0,
    last_key: 0,
    step: 0,
    acl: &[],
    tips: &[],
    summary: "",
    since: "",
    group: "",
    complexity: None,
    doc_flags: &[],
    deprecated_since: None,
    replaced_by: None,
    history: &[],
    args: &[],
    subcommands: &[],
};

/// One argument in `COMMAND DOCS`; optional fields are omitted from the reply when unset.
#[derive(Debug)]
pub struct Arg {
    /// Argument name.
    pub name: &'static str,
    /// `string`, `integer`, `pattern`, `pure-token`, `oneof`, `block`, ...
    pub kind: &'static str,
    /// Display text (Redis 7.2+).
    pub display_text: Option<&'static str>,
    /// The literal token preceding the value.
    pub token: Option<&'static str>,
    /// Short description.
    pub summary: Option<&'static str>,
    /// Version that added the argument.
    pub since: Option<&'static str>,
    /// Version that deprecated the argument.
    pub deprecated_since: Option<&'static str>,
    /// `optional`, `multiple`, `multiple_token`.
    pub flags: &'static [&'static str],
    /// Value placeholder (Redis 7.2+ for leaf arguments).
    pub value: Option<&'static str>,
    /// Nested arguments of `oneof` and `block`.
    pub args: &'static [Arg],
}

/// Defaults for the generated table's `..ARG`.
pub(crate) const ARG: Arg = Arg {
    name: "",
    kind: "",
    display_text: None,
    token: None,
    summary: None,
    since: None,
    deprecated_since: None,
    flags: &[],
    value: None,
    args: &[],
};

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

    /// Whether the command is a container (`ACL`, `CLIENT`, `COMMAND`, `SENTINEL`).
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }

    /// Find a subcommand by name, case-insensitively.
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        // Names are lower-case ASCII, so this equals comparing the lower-cased input (without allocating
        // it on every command).
        self.subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
    }
}

/// Find a top-level command, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    COMMANDS
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// The command table after `rename-command` (Redis `config.c`): which typed name runs which command.
///
/// Built once from the configuration; with no renames every command answers to its own name. Like
/// Redis, a renamed command no longer answers to its old name, an empty new name removes it, and a rename
/// may only name a command that currently exists (so `rename-command CONFIG ""` fails in Sentinel mode,
/// where there is no CONFIG command) and may not take a name already in use.
#[derive(Debug, Clone, Default)]
pub struct CommandNames {
    /// `None`: no renames, the fast path. Otherwise visible lower-case name → command.
    renamed: Option<std::collections::BTreeMap<String, &'static CommandSpec>>,
}

impl CommandNames {
    /// Apply `renames` (command, new name) in order. `Err((index, reason))` names the first rename that
    /// fails, with Redis's text.
    pub fn build(renames: &[(String, String)]) -> Result<CommandNames, (usize, &'static str)> {
        if renames.is_empty() {
            return Ok(CommandNames::default());
        }
        let mut map: std::collections::BTreeMap<String, &'static CommandSpec> =
            COMMANDS.iter().map(|c| (c.name.to_string(), c)).collect();
        for (i, (cmd, new)) in renames.iter().enumerate() {
            let Some(spec) = map.remove(&cmd.to_ascii_lowercase()) else {
                return Err((i, "No such command in rename-command"));
            };
            if !new.is_empty() && map.insert(new.to_ascii_lowercase(), spec).is_some() {
                return Err((i, "Target command name already exists"));
            }
        }
        Ok(CommandNames { renamed: Some(map) })
    }

    /// The command a client reaches by typing `name`, if any.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        match &self.renamed {
            None => lookup(name),
            Some(map) => map
                .get(&String::from_utf8_lossy(name).to_ascii_lowercase())
                .copied(),
        }
    }
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

fn bulk_set(items: &[&str]) -> Frame {
    Frame::Set(items.iter().map(|s| bulk(s)).collect())
}

fn bulk(s: &str) -> Frame {
    Frame::Reply(Reply::bulk(s))
}

/// One `COMMAND INFO` entry. Redis 7.0 sends tips and key specs as sets, and the subcommands as an
/// array, or an empty set when there are none.
fn info_entry(parent: Option<&CommandSpec>, spec: &CommandSpec) -> Frame {
    let subcommands = if spec.is_container() {
        Frame::Array(
            spec.subcommands
                .iter()
                .map(|s| info_entry(Some(spec), s))
                .collect(),
        )
    } else {
        Frame::Set(Vec::new())
    };
    Frame::Array(vec![
        bulk(&fullname(parent, spec)),
        Frame::Reply(Reply::Int(i64::from(spec.arity))),
        status_set(spec.flags),
        Frame::Reply(Reply::Int(spec.first_key)),
        Frame::Reply(Reply::Int(spec.last_key)),
        Frame::Reply(Reply::Int(spec.step)),
        status_set(spec.acl),
        bulk_set(spec.tips),
        // Key specs: no sentinel command takes keys.
        Frame::Set(Vec::new()),
        subcommands,
    ])
}

/// The `arguments` array of `COMMAND DOCS`, fields in Redis's order.
fn args_docs(args: &[Arg]) -> Frame {
    Frame::Array(
        args.iter()
            .map(|a| {
                let mut m = vec![(bulk("name"), bulk(a.name)), (bulk("type"), bulk(a.kind))];
                let opt = [
                    ("display_text", a.display_text),
                    ("token", a.token),
                    ("summary", a.summary),
                    ("since", a.since),
                    ("deprecated_since", a.deprecated_since),
                ];
                m.extend(
                    opt.iter()
                        .filter_map(|(k, v)| v.map(|v| (bulk(k), bulk(v)))),
                );
                if !a.flags.is_empty() {
                    m.push((bulk("flags"), status_set(a.flags)));
                }
                if let Some(v) = a.value {
                    m.push((bulk("value"), bulk(v)));
                }
                if !a.args.is_empty() {
                    m.push((bulk("arguments"), args_docs(a.args)));
                }
                Frame::Map(m)
            })
            .collect(),
    )
}

/// One `COMMAND DOCS` value, fields in Redis 7.0's order.
fn docs_entry(spec: &CommandSpec) -> Frame {
    let mut pairs = vec![
        (bulk("summary"), bulk(spec.summary)),
        (bulk("since"), bulk(spec.since)),
        (bulk("group"), bulk(spec.group)),
    ];
    if let Some(c) = spec.complexity {
        pairs.push((bulk("complexity"), bulk(c)));
    }
    if !spec.doc_flags.is_empty() {
        pairs.push((bulk("doc_flags"), status_set(spec.doc_flags)));
    }
    if let Some(v) = spec.deprecated_since {
        pairs.push((bulk("deprecated_since"), bulk(v)));
    }
    if let Some(v) = spec.replaced_by {
        pairs.push((bulk("replaced_by"), bulk(v)));
    }
    if !spec.history.is_empty() {
        let h = spec
            .history
            .iter()
            .map(|(v, what)| Frame::Array(vec![bulk(v), bulk(what)]))
            .collect();
        pairs.push((bulk("history"), Frame::Set(h)));
    }
    if !spec.args.is_empty() {
        pairs.push((bulk("arguments"), args_docs(spec.args)));
    }
    if spec.is_container() {
        pairs.push((
            bulk("subcommands"),
            Frame::Map(
                spec.subcommands
                    .iter()
                    .map(|s| (bulk(&fullname(Some(spec), s)), docs_entry(s)))
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

/// Full names of the commands in ACL category `cat` (without the `@`), for `ACL CAT <category>`.
pub fn names_in_category(cat: &str) -> Vec<String> {
    let want = format!("@{cat}");
    all_fullnames()
        .into_iter()
        .filter(|(_, s)| s.acl.contains(&want.as_str()))
        .map(|(n, _)| n)
        .collect()
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
                b"pattern" => {
                    let pattern = vedette_core::Pattern::new(value, true);
                    Frame::Array(
                        names
                            .iter()
                            .filter(|(n, _)| pattern.matches(n.as_bytes()))
                            .map(|(n, _)| bulk(n))
                            .collect(),
                    )
                }
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

    /// The core's parser enforces SENTINEL's subcommand arities (`vedette_core::SUBCOMMANDS`); this table
    /// only reports them. Both must agree, except where the table reports redis-sentinel 7.0.15 and
    /// vedette follows 7.2+ (`CONFIG`: -3 vs -4); the core also knows the Valkey aliases.
    #[test]
    fn reported_sentinel_arities_match_the_enforced_ones() {
        let Some(sentinel) = lookup(b"sentinel") else {
            panic!("no SENTINEL in the table");
        };
        for sub in sentinel.subcommands {
            let enforced = vedette_core::SUBCOMMANDS
                .iter()
                .find(|(n, _)| *n == sub.name)
                .map(|(_, a)| *a);
            let want = if sub.name == "config" { -4 } else { sub.arity };
            assert_eq!(enforced, Some(want), "sentinel|{}", sub.name);
        }
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
            Frame::Reply(Reply::Int(16))
        );
        let filtered = names(&command(&a(&[
            "command", "list", "filterby", "pattern", "CLIENT|*",
        ])));
        assert!(filtered.iter().all(|n| n.starts_with("client|")));
        assert!(!filtered.is_empty());
    }

    #[test]
    fn docs_have_redis_fields() {
        let Frame::Map(m) = command(&a(&["command", "docs", "ping"])) else {
            panic!("not a map");
        };
        let Frame::Map(fields) = &m[0].1 else {
            panic!("not a map");
        };
        let keys: Vec<&Frame> = fields.iter().map(|(k, _)| k).collect();
        let want: Vec<Frame> = ["summary", "since", "group", "complexity", "arguments"]
            .iter()
            .map(|k| bulk(k))
            .collect();
        assert_eq!(keys, want.iter().collect::<Vec<_>>());
        // Every entry is complete, and container subcommands are sorted.
        fn check(spec: &CommandSpec) {
            assert!(!spec.summary.is_empty() && !spec.since.is_empty() && !spec.group.is_empty());
            assert!(spec.subcommands.windows(2).all(|w| w[0].name < w[1].name));
            spec.subcommands.iter().for_each(check);
        }
        COMMANDS.iter().for_each(check);
        assert!(lookup_fullname(b"sentinel|slaves")
            .and_then(|(_, s)| s)
            .is_some_and(|s| s.deprecated_since == Some("5.0.0")));
    }
}

//! @generated from the `COMMAND DOCS` and `COMMAND INFO` replies of redis-sentinel 7.0.15 (plus ECHO from
//! redis-server 7.0.15 and CLIENT SETINFO modelled on redis-server 7.2). Do not edit by hand: regenerate.
//! Top-level commands and subcommands are sorted by name (Redis lists them in hash-table order).

use super::{Arg, CommandSpec, ARG, SPEC};

/// Every command a client can run, sorted by name.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "acl",
        arity: -2,
        flags: &[],
        acl: &["@slow"],
        summary: "A container for Access List Control commands ",
        since: "6.0.0",
        group: "server",
        complexity: Some("Depends on subcommand."),
        subcommands: &[
            CommandSpec {
                name: "cat",
                arity: -2,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow"],
                summary: "List the ACL categories or the commands inside a category",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(1) since the categories and commands are a fixed set."),
                args: &[
                    Arg {
                        name: "categoryname",
                        kind: "string",
                        flags: &["optional"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "deluser",
                arity: -3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Remove the specified ACL users and the associated rules",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(1) amortized time considering the typical user."),
                args: &[
                    Arg {
                        name: "username",
                        kind: "string",
                        flags: &["multiple"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "dryrun",
                arity: -4,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Returns whether the user can execute the given command without executing the command.",
                since: "7.0.0",
                group: "server",
                complexity: Some("O(1)."),
                args: &[
                    Arg {
                        name: "username",
                        kind: "string",
                        ..ARG
                    },
                    Arg {
                        name: "command",
                        kind: "string",
                        ..ARG
                    },
                    Arg {
                        name: "arg",
                        kind: "string",
                        flags: &["optional", "multiple"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "genpass",
                arity: -2,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow"],
                summary: "Generate a pseudorandom secure password to use for ACL users",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "bits",
                        kind: "integer",
                        flags: &["optional"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "getuser",
                arity: 3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Get the rules for a specific ACL user",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of password, command and pattern rules that the user has."),
                history: &[
                    ("6.2.0", "Added Pub/Sub channel patterns."),
                    ("7.0.0", "Added selectors and changed the format of key and channel patterns from a list to their rule representation."),
                ],
                args: &[
                    Arg {
                        name: "username",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "help",
                arity: 2,
                flags: &["loading", "stale"],
                acl: &["@slow"],
                summary: "Show helpful text about the different subcommands",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "list",
                arity: 2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "List the current ACL rules in ACL config file format",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of configured users."),
                ..SPEC
            },
            CommandSpec {
                name: "load",
                arity: 2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Reload the ACLs from the configured ACL file",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of configured users."),
                ..SPEC
            },
            CommandSpec {
                name: "log",
                arity: -2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "List latest events denied because of ACLs in place",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N) with N being the number of entries shown."),
                args: &[
                    Arg {
                        name: "operation",
                        kind: "oneof",
                        flags: &["optional"],
                        args: &[
                            Arg {
                                name: "count",
                                kind: "integer",
                                ..ARG
                            },
                            Arg {
                                name: "reset",
                                kind: "pure-token",
                                token: Some("RESET"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "save",
                arity: 2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Save the current ACL rules in the configured ACL file",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of configured users."),
                ..SPEC
            },
            CommandSpec {
                name: "setuser",
                arity: -3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Modify or create the rules for a specific ACL user",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of rules provided."),
                history: &[
                    ("6.2.0", "Added Pub/Sub channel patterns."),
                    ("7.0.0", "Added selectors and key based permissions."),
                ],
                args: &[
                    Arg {
                        name: "username",
                        kind: "string",
                        ..ARG
                    },
                    Arg {
                        name: "rule",
                        kind: "string",
                        flags: &["optional", "multiple"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "users",
                arity: 2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "List the username of all the configured ACL rules",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of configured users."),
                ..SPEC
            },
            CommandSpec {
                name: "whoami",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow"],
                summary: "Return the name of the user associated to the current connection",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(1)"),
                ..SPEC
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        acl: &["@fast", "@connection"],
        summary: "Authenticate to the server",
        since: "1.0.0",
        group: "connection",
        complexity: Some("O(N) where N is the number of passwords defined for the user"),
        history: &[
            ("6.0.0", "Added ACL style (username and password)."),
        ],
        args: &[
            Arg {
                name: "username",
                kind: "string",
                since: Some("6.0.0"),
                flags: &["optional"],
                ..ARG
            },
            Arg {
                name: "password",
                kind: "string",
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "client",
        arity: -2,
        flags: &[],
        acl: &["@slow"],
        summary: "A container for client connection commands",
        since: "2.4.0",
        group: "connection",
        complexity: Some("Depends on subcommand."),
        subcommands: &[
            CommandSpec {
                name: "caching",
                arity: 3,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Instruct the server about tracking or not keys in the next request",
                since: "6.0.0",
                group: "connection",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "mode",
                        kind: "oneof",
                        args: &[
                            Arg {
                                name: "yes",
                                kind: "pure-token",
                                token: Some("YES"),
                                ..ARG
                            },
                            Arg {
                                name: "no",
                                kind: "pure-token",
                                token: Some("NO"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "getname",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Get the current connection name",
                since: "2.6.9",
                group: "connection",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "getredir",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Get tracking notifications redirection client ID if any",
                since: "6.0.0",
                group: "connection",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "help",
                arity: 2,
                flags: &["loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Show helpful text about the different subcommands",
                since: "5.0.0",
                group: "connection",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "id",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Returns the client ID for the current connection",
                since: "5.0.0",
                group: "connection",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "info",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                tips: &["nondeterministic_output"],
                summary: "Returns information about the current client connection.",
                since: "6.2.0",
                group: "connection",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "kill",
                arity: -3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous", "@connection"],
                summary: "Kill the connection of a client",
                since: "2.4.0",
                group: "connection",
                complexity: Some("O(N) where N is the number of client connections"),
                history: &[
                    ("2.8.12", "Added new filter format."),
                    ("2.8.12", "`ID` option."),
                    ("3.2.0", "Added `master` type in for `TYPE` option."),
                    ("5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility."),
                    ("6.2.0", "`LADDR` option."),
                ],
                args: &[
                    Arg {
                        name: "filter",
                        kind: "oneof",
                        args: &[
                            Arg {
                                name: "ip:port",
                                kind: "string",
                                deprecated_since: Some("2.8.12"),
                                ..ARG
                            },
                            Arg {
                                name: "new-format",
                                kind: "oneof",
                                flags: &["multiple"],
                                args: &[
                                    Arg {
                                        name: "client-id",
                                        kind: "integer",
                                        token: Some("ID"),
                                        since: Some("2.8.12"),
                                        flags: &["optional"],
                                        ..ARG
                                    },
                                    Arg {
                                        name: "normal_master_slave_pubsub",
                                        kind: "oneof",
                                        token: Some("TYPE"),
                                        since: Some("2.8.12"),
                                        flags: &["optional"],
                                        args: &[
                                            Arg {
                                                name: "normal",
                                                kind: "pure-token",
                                                token: Some("NORMAL"),
                                                ..ARG
                                            },
                                            Arg {
                                                name: "master",
                                                kind: "pure-token",
                                                token: Some("MASTER"),
                                                since: Some("3.2.0"),
                                                ..ARG
                                            },
                                            Arg {
                                                name: "slave",
                                                kind: "pure-token",
                                                token: Some("SLAVE"),
                                                ..ARG
                                            },
                                            Arg {
                                                name: "replica",
                                                kind: "pure-token",
                                                token: Some("REPLICA"),
                                                since: Some("5.0.0"),
                                                ..ARG
                                            },
                                            Arg {
                                                name: "pubsub",
                                                kind: "pure-token",
                                                token: Some("PUBSUB"),
                                                ..ARG
                                            },
                                        ],
                                        ..ARG
                                    },
                                    Arg {
                                        name: "username",
                                        kind: "string",
                                        token: Some("USER"),
                                        flags: &["optional"],
                                        ..ARG
                                    },
                                    Arg {
                                        name: "ip:port",
                                        kind: "string",
                                        token: Some("ADDR"),
                                        flags: &["optional"],
                                        ..ARG
                                    },
                                    Arg {
                                        name: "ip:port",
                                        kind: "string",
                                        token: Some("LADDR"),
                                        since: Some("6.2.0"),
                                        flags: &["optional"],
                                        ..ARG
                                    },
                                    Arg {
                                        name: "yes/no",
                                        kind: "string",
                                        token: Some("SKIPME"),
                                        flags: &["optional"],
                                        ..ARG
                                    },
                                ],
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "list",
                arity: -2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous", "@connection"],
                tips: &["nondeterministic_output"],
                summary: "Get the list of client connections",
                since: "2.4.0",
                group: "connection",
                complexity: Some("O(N) where N is the number of client connections"),
                history: &[
                    ("2.8.12", "Added unique client `id` field."),
                    ("5.0.0", "Added optional `TYPE` filter."),
                    ("6.0.0", "Added `user` field."),
                    ("6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter."),
                    ("7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields."),
                    ("7.0.3", "Added `ssub` field."),
                ],
                args: &[
                    Arg {
                        name: "normal_master_replica_pubsub",
                        kind: "oneof",
                        token: Some("TYPE"),
                        since: Some("5.0.0"),
                        flags: &["optional"],
                        args: &[
                            Arg {
                                name: "normal",
                                kind: "pure-token",
                                token: Some("NORMAL"),
                                ..ARG
                            },
                            Arg {
                                name: "master",
                                kind: "pure-token",
                                token: Some("MASTER"),
                                ..ARG
                            },
                            Arg {
                                name: "replica",
                                kind: "pure-token",
                                token: Some("REPLICA"),
                                ..ARG
                            },
                            Arg {
                                name: "pubsub",
                                kind: "pure-token",
                                token: Some("PUBSUB"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                    Arg {
                        name: "id",
                        kind: "block",
                        token: Some("ID"),
                        since: Some("6.2.0"),
                        flags: &["optional"],
                        args: &[
                            Arg {
                                name: "client-id",
                                kind: "integer",
                                flags: &["multiple"],
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "no-evict",
                arity: 3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous", "@connection"],
                summary: "Set client eviction mode for the current connection",
                since: "7.0.0",
                group: "connection",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "enabled",
                        kind: "oneof",
                        args: &[
                            Arg {
                                name: "on",
                                kind: "pure-token",
                                token: Some("ON"),
                                ..ARG
                            },
                            Arg {
                                name: "off",
                                kind: "pure-token",
                                token: Some("OFF"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "pause",
                arity: -3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous", "@connection"],
                summary: "Stop processing commands from clients for some time",
                since: "2.9.50",
                group: "connection",
                complexity: Some("O(1)"),
                history: &[
                    ("6.2.0", "`CLIENT PAUSE WRITE` mode added along with the `mode` option."),
                ],
                args: &[
                    Arg {
                        name: "timeout",
                        kind: "integer",
                        ..ARG
                    },
                    Arg {
                        name: "mode",
                        kind: "oneof",
                        since: Some("6.2.0"),
                        flags: &["optional"],
                        args: &[
                            Arg {
                                name: "write",
                                kind: "pure-token",
                                token: Some("WRITE"),
                                ..ARG
                            },
                            Arg {
                                name: "all",
                                kind: "pure-token",
                                token: Some("ALL"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "reply",
                arity: 3,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Instruct the server whether to reply to commands",
                since: "3.2.0",
                group: "connection",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "on_off_skip",
                        kind: "oneof",
                        args: &[
                            Arg {
                                name: "on",
                                kind: "pure-token",
                                token: Some("ON"),
                                ..ARG
                            },
                            Arg {
                                name: "off",
                                kind: "pure-token",
                                token: Some("OFF"),
                                ..ARG
                            },
                            Arg {
                                name: "skip",
                                kind: "pure-token",
                                token: Some("SKIP"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "setinfo",
                arity: 4,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
                summary: "Set client or connection specific info",
                since: "7.2.0",
                group: "connection",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "attr",
                        kind: "oneof",
                        args: &[
                            Arg {
                                name: "libname",
                                kind: "string",
                                token: Some("LIB-NAME"),
                                ..ARG
                            },
                            Arg {
                                name: "libver",
                                kind: "string",
                                token: Some("LIB-VER"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "setname",
                arity: 3,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Set the current connection name",
                since: "2.6.9",
                group: "connection",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "connection-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "tracking",
                arity: -3,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Enable or disable server assisted client side caching support",
                since: "6.0.0",
                group: "connection",
                complexity: Some("O(1). Some options may introduce additional complexity."),
                args: &[
                    Arg {
                        name: "status",
                        kind: "oneof",
                        args: &[
                            Arg {
                                name: "on",
                                kind: "pure-token",
                                token: Some("ON"),
                                ..ARG
                            },
                            Arg {
                                name: "off",
                                kind: "pure-token",
                                token: Some("OFF"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                    Arg {
                        name: "client-id",
                        kind: "integer",
                        token: Some("REDIRECT"),
                        flags: &["optional"],
                        ..ARG
                    },
                    Arg {
                        name: "prefix",
                        kind: "string",
                        token: Some("PREFIX"),
                        flags: &["optional", "multiple", "multiple_token"],
                        ..ARG
                    },
                    Arg {
                        name: "bcast",
                        kind: "pure-token",
                        token: Some("BCAST"),
                        flags: &["optional"],
                        ..ARG
                    },
                    Arg {
                        name: "optin",
                        kind: "pure-token",
                        token: Some("OPTIN"),
                        flags: &["optional"],
                        ..ARG
                    },
                    Arg {
                        name: "optout",
                        kind: "pure-token",
                        token: Some("OPTOUT"),
                        flags: &["optional"],
                        ..ARG
                    },
                    Arg {
                        name: "noloop",
                        kind: "pure-token",
                        token: Some("NOLOOP"),
                        flags: &["optional"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "trackinginfo",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Return information about server assisted client side caching for the current connection",
                since: "6.2.0",
                group: "connection",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "unblock",
                arity: -3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous", "@connection"],
                summary: "Unblock a client blocked in a blocking command from a different connection",
                since: "5.0.0",
                group: "connection",
                complexity: Some("O(log N) where N is the number of client connections"),
                args: &[
                    Arg {
                        name: "client-id",
                        kind: "integer",
                        ..ARG
                    },
                    Arg {
                        name: "timeout_error",
                        kind: "oneof",
                        flags: &["optional"],
                        args: &[
                            Arg {
                                name: "timeout",
                                kind: "pure-token",
                                token: Some("TIMEOUT"),
                                ..ARG
                            },
                            Arg {
                                name: "error",
                                kind: "pure-token",
                                token: Some("ERROR"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "unpause",
                arity: 2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl: &["@admin", "@slow", "@dangerous", "@connection"],
                summary: "Resume processing of clients that were paused",
                since: "6.2.0",
                group: "connection",
                complexity: Some("O(N) Where N is the number of paused clients"),
                ..SPEC
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "command",
        arity: -1,
        flags: &["loading", "stale"],
        acl: &["@slow", "@connection"],
        tips: &["nondeterministic_output_order"],
        summary: "Get array of Redis command details",
        since: "2.8.13",
        group: "server",
        complexity: Some("O(N) where N is the total number of Redis commands"),
        subcommands: &[
            CommandSpec {
                name: "count",
                arity: 2,
                flags: &["loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Get total number of Redis commands",
                since: "2.8.13",
                group: "server",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "docs",
                arity: -2,
                flags: &["loading", "stale"],
                acl: &["@slow", "@connection"],
                tips: &["nondeterministic_output_order"],
                summary: "Get array of specific Redis command documentation",
                since: "7.0.0",
                group: "server",
                complexity: Some("O(N) where N is the number of commands to look up"),
                args: &[
                    Arg {
                        name: "command-name",
                        kind: "string",
                        flags: &["optional", "multiple"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "getkeys",
                arity: -4,
                flags: &["loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Extract keys given a full Redis command",
                since: "2.8.13",
                group: "server",
                complexity: Some("O(N) where N is the number of arguments to the command"),
                ..SPEC
            },
            CommandSpec {
                name: "getkeysandflags",
                arity: -4,
                flags: &["loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Extract keys and access flags given a full Redis command",
                since: "7.0.0",
                group: "server",
                complexity: Some("O(N) where N is the number of arguments to the command"),
                ..SPEC
            },
            CommandSpec {
                name: "help",
                arity: 2,
                flags: &["loading", "stale"],
                acl: &["@slow", "@connection"],
                summary: "Show helpful text about the different subcommands",
                since: "5.0.0",
                group: "server",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "info",
                arity: -2,
                flags: &["loading", "stale"],
                acl: &["@slow", "@connection"],
                tips: &["nondeterministic_output_order"],
                summary: "Get array of specific Redis command details, or all when no argument is given.",
                since: "2.8.13",
                group: "server",
                complexity: Some("O(N) where N is the number of commands to look up"),
                history: &[
                    ("7.0.0", "Allowed to be called with no argument to get info on all commands."),
                ],
                args: &[
                    Arg {
                        name: "command-name",
                        kind: "string",
                        flags: &["optional", "multiple"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "list",
                arity: -2,
                flags: &["loading", "stale"],
                acl: &["@slow", "@connection"],
                tips: &["nondeterministic_output_order"],
                summary: "Get an array of Redis command names",
                since: "7.0.0",
                group: "server",
                complexity: Some("O(N) where N is the total number of Redis commands"),
                args: &[
                    Arg {
                        name: "filterby",
                        kind: "oneof",
                        token: Some("FILTERBY"),
                        flags: &["optional"],
                        args: &[
                            Arg {
                                name: "module-name",
                                kind: "string",
                                token: Some("MODULE"),
                                ..ARG
                            },
                            Arg {
                                name: "category",
                                kind: "string",
                                token: Some("ACLCAT"),
                                ..ARG
                            },
                            Arg {
                                name: "pattern",
                                kind: "pattern",
                                token: Some("PATTERN"),
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "echo",
        arity: 2,
        flags: &["loading", "stale", "fast"],
        acl: &["@fast", "@connection"],
        summary: "Echo the given string",
        since: "1.0.0",
        group: "connection",
        complexity: Some("O(1)"),
        args: &[
            Arg {
                name: "message",
                kind: "string",
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        acl: &["@fast", "@connection"],
        summary: "Handshake with Redis",
        since: "6.0.0",
        group: "connection",
        complexity: Some("O(1)"),
        history: &[
            ("6.2.0", "`protover` made optional; when called without arguments the command reports the current connection's context."),
        ],
        args: &[
            Arg {
                name: "arguments",
                kind: "block",
                flags: &["optional"],
                args: &[
                    Arg {
                        name: "protover",
                        kind: "integer",
                        ..ARG
                    },
                    Arg {
                        name: "username_password",
                        kind: "block",
                        token: Some("AUTH"),
                        flags: &["optional"],
                        args: &[
                            Arg {
                                name: "username",
                                kind: "string",
                                ..ARG
                            },
                            Arg {
                                name: "password",
                                kind: "string",
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                    Arg {
                        name: "clientname",
                        kind: "string",
                        token: Some("SETNAME"),
                        flags: &["optional"],
                        ..ARG
                    },
                ],
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "info",
        arity: -1,
        flags: &["loading", "stale"],
        acl: &["@slow", "@dangerous"],
        tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
        summary: "Get information and statistics about the server",
        since: "1.0.0",
        group: "server",
        complexity: Some("O(1)"),
        history: &[
            ("7.0.0", "Added support for taking multiple section arguments."),
        ],
        args: &[
            Arg {
                name: "section",
                kind: "string",
                flags: &["optional", "multiple"],
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: &["fast"],
        acl: &["@fast", "@connection"],
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        summary: "Ping the server",
        since: "1.0.0",
        group: "connection",
        complexity: Some("O(1)"),
        args: &[
            Arg {
                name: "message",
                kind: "string",
                flags: &["optional"],
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "psubscribe",
        arity: -2,
        flags: &["pubsub", "noscript", "loading", "stale"],
        acl: &["@pubsub", "@slow"],
        summary: "Listen for messages published to channels matching the given patterns",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N) where N is the number of patterns the client is already subscribed to."),
        args: &[
            Arg {
                name: "pattern",
                kind: "block",
                flags: &["multiple"],
                args: &[
                    Arg {
                        name: "pattern",
                        kind: "pattern",
                        ..ARG
                    },
                ],
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "publish",
        arity: 3,
        flags: &["pubsub", "loading", "stale", "fast"],
        acl: &["@pubsub", "@fast"],
        summary: "Post a message to a channel",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
        args: &[
            Arg {
                name: "channel",
                kind: "string",
                ..ARG
            },
            Arg {
                name: "message",
                kind: "string",
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "punsubscribe",
        arity: -1,
        flags: &["pubsub", "noscript", "loading", "stale"],
        acl: &["@pubsub", "@slow"],
        summary: "Stop listening for messages posted to channels matching the given patterns",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."),
        args: &[
            Arg {
                name: "pattern",
                kind: "pattern",
                flags: &["optional", "multiple"],
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "role",
        arity: 1,
        flags: &["noscript", "loading", "stale", "fast"],
        acl: &["@admin", "@fast", "@dangerous"],
        summary: "Return the role of the instance in the context of replication",
        since: "2.8.12",
        group: "server",
        complexity: Some("O(1)"),
        ..SPEC
    },
    CommandSpec {
        name: "sentinel",
        arity: -2,
        flags: &["admin"],
        acl: &["@admin", "@slow", "@dangerous"],
        summary: "A container for Sentinel commands",
        since: "2.8.4",
        group: "sentinel",
        complexity: Some("Depends on subcommand."),
        subcommands: &[
            CommandSpec {
                name: "ckquorum",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Check for a Sentinel quorum",
                since: "2.8.4",
                group: "sentinel",
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "config",
                arity: -3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Configure Sentinel",
                since: "6.2.0",
                group: "sentinel",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "set_or_get",
                        kind: "oneof",
                        args: &[
                            Arg {
                                name: "set_param_value",
                                kind: "block",
                                token: Some("SET"),
                                flags: &["multiple"],
                                args: &[
                                    Arg {
                                        name: "parameter",
                                        kind: "string",
                                        ..ARG
                                    },
                                    Arg {
                                        name: "value",
                                        kind: "string",
                                        ..ARG
                                    },
                                ],
                                ..ARG
                            },
                            Arg {
                                name: "parameter",
                                kind: "string",
                                token: Some("GET"),
                                flags: &["multiple"],
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "debug",
                arity: -2,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "List or update the current configurable parameters",
                since: "7.0.0",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of configurable parameters"),
                args: &[
                    Arg {
                        name: "parameter_value",
                        kind: "block",
                        flags: &["multiple"],
                        args: &[
                            Arg {
                                name: "parameter",
                                kind: "string",
                                ..ARG
                            },
                            Arg {
                                name: "value",
                                kind: "string",
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "failover",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Force a failover",
                since: "2.8.4",
                group: "sentinel",
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "flushconfig",
                arity: 2,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Rewrite configuration file",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "get-master-addr-by-name",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Get port and address of a master",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "help",
                arity: 2,
                flags: &["loading", "stale"],
                acl: &["@slow"],
                summary: "Show helpful text about the different subcommands",
                since: "6.2.0",
                group: "sentinel",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "info-cache",
                arity: -3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Get cached INFO from the instances in the deployment",
                since: "3.2.0",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of instances"),
                args: &[
                    Arg {
                        name: "nodename",
                        kind: "string",
                        flags: &["multiple"],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "is-master-down-by-addr",
                arity: 6,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Check if a master is down",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "ip",
                        kind: "string",
                        ..ARG
                    },
                    Arg {
                        name: "port",
                        kind: "integer",
                        ..ARG
                    },
                    Arg {
                        name: "current-epoch",
                        kind: "integer",
                        ..ARG
                    },
                    Arg {
                        name: "runid",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "master",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Shows the state of a master",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "masters",
                arity: 2,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "List the monitored masters",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of masters"),
                ..SPEC
            },
            CommandSpec {
                name: "monitor",
                arity: 6,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Start monitoring",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "name",
                        kind: "string",
                        ..ARG
                    },
                    Arg {
                        name: "ip",
                        kind: "string",
                        ..ARG
                    },
                    Arg {
                        name: "port",
                        kind: "integer",
                        ..ARG
                    },
                    Arg {
                        name: "quorum",
                        kind: "integer",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "myid",
                arity: 2,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Get the Sentinel instance ID",
                since: "6.2.0",
                group: "sentinel",
                complexity: Some("O(1)"),
                ..SPEC
            },
            CommandSpec {
                name: "pending-scripts",
                arity: 2,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Get information about pending scripts",
                since: "2.8.4",
                group: "sentinel",
                ..SPEC
            },
            CommandSpec {
                name: "remove",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Stop monitoring",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "replicas",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "List the monitored replicas",
                since: "5.0.0",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of replicas"),
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "reset",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Reset masters by name pattern",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of monitored masters"),
                args: &[
                    Arg {
                        name: "pattern",
                        kind: "pattern",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "sentinels",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "List the Sentinel instances",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of Sentinels"),
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "set",
                arity: -5,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Change the configuration of a monitored master",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                    Arg {
                        name: "option_value",
                        kind: "block",
                        flags: &["multiple"],
                        args: &[
                            Arg {
                                name: "option",
                                kind: "string",
                                ..ARG
                            },
                            Arg {
                                name: "value",
                                kind: "string",
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "simulate-failure",
                arity: -3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "Simulate failover scenarios",
                since: "3.2.0",
                group: "sentinel",
                args: &[
                    Arg {
                        name: "mode",
                        kind: "oneof",
                        flags: &["optional", "multiple"],
                        args: &[
                            Arg {
                                name: "crash-after-election",
                                kind: "pure-token",
                                ..ARG
                            },
                            Arg {
                                name: "crash-after-promotion",
                                kind: "pure-token",
                                ..ARG
                            },
                            Arg {
                                name: "help",
                                kind: "pure-token",
                                ..ARG
                            },
                        ],
                        ..ARG
                    },
                ],
                ..SPEC
            },
            CommandSpec {
                name: "slaves",
                arity: 3,
                flags: &["admin"],
                acl: &["@admin", "@slow", "@dangerous"],
                summary: "List the monitored slaves",
                since: "2.8.0",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of slaves"),
                doc_flags: &["deprecated"],
                deprecated_since: Some("5.0.0"),
                replaced_by: Some("`SENTINEL REPLICAS`"),
                args: &[
                    Arg {
                        name: "master-name",
                        kind: "string",
                        ..ARG
                    },
                ],
                ..SPEC
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "shutdown",
        arity: -1,
        flags: &["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"],
        acl: &["@admin", "@slow", "@dangerous"],
        summary: "Synchronously save the dataset to disk and then shut down the server",
        since: "1.0.0",
        group: "server",
        complexity: Some("O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
        history: &[
            ("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers."),
        ],
        args: &[
            Arg {
                name: "nosave_save",
                kind: "oneof",
                flags: &["optional"],
                args: &[
                    Arg {
                        name: "nosave",
                        kind: "pure-token",
                        token: Some("NOSAVE"),
                        ..ARG
                    },
                    Arg {
                        name: "save",
                        kind: "pure-token",
                        token: Some("SAVE"),
                        ..ARG
                    },
                ],
                ..ARG
            },
            Arg {
                name: "now",
                kind: "pure-token",
                token: Some("NOW"),
                since: Some("7.0.0"),
                flags: &["optional"],
                ..ARG
            },
            Arg {
                name: "force",
                kind: "pure-token",
                token: Some("FORCE"),
                since: Some("7.0.0"),
                flags: &["optional"],
                ..ARG
            },
            Arg {
                name: "abort",
                kind: "pure-token",
                token: Some("ABORT"),
                since: Some("7.0.0"),
                flags: &["optional"],
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "subscribe",
        arity: -2,
        flags: &["pubsub", "noscript", "loading", "stale"],
        acl: &["@pubsub", "@slow"],
        summary: "Listen for messages published to the given channels",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N) where N is the number of channels to subscribe to."),
        args: &[
            Arg {
                name: "channel",
                kind: "string",
                flags: &["multiple"],
                ..ARG
            },
        ],
        ..SPEC
    },
    CommandSpec {
        name: "unsubscribe",
        arity: -1,
        flags: &["pubsub", "noscript", "loading", "stale"],
        acl: &["@pubsub", "@slow"],
        summary: "Stop listening for messages posted to the given channels",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N) where N is the number of clients already subscribed to a channel."),
        args: &[
            Arg {
                name: "channel",
                kind: "string",
                flags: &["optional", "multiple"],
                ..ARG
            },
        ],
        ..SPEC
    },
];

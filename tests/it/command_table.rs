//! The command table and `INFO` fields are exactly those of the Redis version vedette reports (7.2.4):
//! differentially against the installed redis-sentinel 7.0.15 for what the versions share, and against
//! Redis 7.2.4's metadata for what 7.2 changed. The 7.2 changes below are read from redis/redis at tag
//! 7.2.4 (`src/commands/*.json` of the commands flagged `SENTINEL`, and `genRedisInfoString` in
//! `src/server.c`), compared with tag 7.0.15.
//!
//! With `VEDETTE_IT_SUBJECT=redis-sentinel` the subject is 7.0.15 itself and no 7.2 change is expected.

use crate::common::diff::info_sections;
use crate::common::{Flavor, RespConn, Sentinel, SentinelConf, Value};

/// What a 7.2.4 sentinel adds to 7.0.15's `COMMAND LIST`.
const NEW_IN_7_2: &[&str] = &["client|setinfo"];

/// `COMMAND INFO` entries whose arity or tips changed from 7.0.15 to 7.2.4: (name, arity, tips).
const INFO_CHANGED_IN_7_2: &[(&str, i64, &[&str])] = &[
    ("acl|deluser", -3, ALL_NODES),
    ("acl|save", 2, ALL_NODES),
    ("acl|setuser", -3, ALL_NODES),
    ("client|setname", 3, ALL_NODES),
    ("command|getkeys", -3, &[]),
    ("command|getkeysandflags", -3, &[]),
    ("sentinel|config", -4, &[]),
];
const ALL_NODES: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];

/// `INFO` fields a 7.2.4 sentinel prints that 7.0.15 does not (`listener0` stands for every
/// `listener<n>` line).
const INFO_FIELDS_NEW_IN_7_2: &[&str] = &[
    "listener0",
    "total_blocking_keys",
    "total_blocking_keys_on_nokey",
    "eventloop_cycles",
    "eventloop_duration_sum",
    "eventloop_duration_cmd_sum",
    "instantaneous_eventloop_cycles_per_sec",
    "instantaneous_eventloop_duration_usec",
    "acl_access_denied_auth",
    "acl_access_denied_cmd",
    "acl_access_denied_key",
    "acl_access_denied_channel",
];

struct Two {
    reference: Sentinel,
    subject: Sentinel,
    v72: bool,
}

fn start() -> Two {
    let conf = SentinelConf::new();
    Two {
        reference: Sentinel::redis(conf.clone()),
        subject: Sentinel::subject(conf.on_new_port()),
        v72: Flavor::subject() == Flavor::Vedette,
    }
}

fn call(port: u16, proto: u8, args: &[&str]) -> Value {
    let (mut c, _) =
        RespConn::connect_proto(port, proto).unwrap_or_else(|e| panic!("connect to {port}: {e}"));
    c.cmd(args)
}

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .items()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|i| i.as_str().unwrap_or_else(|| panic!("not a name: {i:?}")))
        .collect();
    n.sort();
    n
}

#[test]
fn command_count_and_list_are_the_reported_versions() {
    let t = start();
    let (r, s) = (t.reference.port, t.subject.port);
    for proto in [2, 3] {
        assert_eq!(
            call(r, proto, &["COMMAND", "COUNT"]),
            call(s, proto, &["COMMAND", "COUNT"]),
            "COMMAND COUNT (RESP{proto})"
        );
        let mut want = names(&call(r, proto, &["COMMAND", "LIST"]));
        if t.v72 {
            want.extend(NEW_IN_7_2.iter().map(|n| n.to_string()));
            want.sort();
            assert_eq!(want.len(), 73, "7.2.4's sentinel table has 73 entries");
        }
        assert_eq!(
            names(&call(s, proto, &["COMMAND", "LIST"])),
            want,
            "RESP{proto}"
        );
    }
    // ECHO: no sentinel has it, so both answer with the unknown-command error.
    for args in [
        &["ECHO", "hi"][..],
        &["COMMAND", "INFO", "echo"],
        &["COMMAND", "DOCS", "echo"],
    ] {
        assert_eq!(call(r, 2, args), call(s, 2, args), "{args:?}");
    }
    assert_eq!(
        call(s, 2, &["COMMAND", "INFO", "echo"]),
        Value::Array(vec![Value::NullBulk])
    );
}

/// `entry` (one COMMAND INFO entry) as a 7.2.4 sentinel reports it: 7.2's arities and tips applied when
/// `v72`, subcommands sorted by name (Redis lists them in hash-table order, vedette sorted).
fn normalize(entry: &mut Value, proto: u8, v72: bool) {
    let Value::Array(fields) = entry else {
        panic!("COMMAND INFO entry: {entry:?}");
    };
    let name = fields[0].as_str().unwrap_or_default();
    if let (true, Some((_, arity, tips))) =
        (v72, INFO_CHANGED_IN_7_2.iter().find(|(n, _, _)| *n == name))
    {
        fields[1] = Value::Int(*arity);
        let tips = tips
            .iter()
            .map(|t| Value::Bulk(t.as_bytes().to_vec()))
            .collect();
        fields[7] = if proto == 3 {
            Value::Set(tips)
        } else {
            Value::Array(tips)
        };
    }
    if let Value::Array(subs) = &mut fields[9] {
        subs.iter_mut().for_each(|s| normalize(s, proto, v72));
        subs.sort_by_key(|s| s.items().and_then(|f| f[0].as_str()));
    }
}

/// Every `COMMAND INFO` entry equals redis-sentinel 7.0.15's, field for field (flags, categories, key
/// positions, subcommands), except the arities and tips 7.2 changed.
#[test]
fn command_info_matches_field_for_field() {
    let t = start();
    let (r, s) = (t.reference.port, t.subject.port);
    for proto in [2, 3] {
        for name in names(&call(r, 2, &["COMMAND", "LIST"])) {
            let mut want = call(r, proto, &["COMMAND", "INFO", &name]);
            let Value::Array(entries) = &mut want else {
                panic!("COMMAND INFO {name}: not an array");
            };
            entries.iter_mut().for_each(|e| normalize(e, proto, t.v72));
            let mut got = call(s, proto, &["COMMAND", "INFO", &name]);
            if let Value::Array(entries) = &mut got {
                entries.iter_mut().for_each(|e| normalize(e, proto, false));
                if t.v72 && name == "client" {
                    if let Some(Value::Array(fields)) = entries.get_mut(0) {
                        if let Value::Array(subs) = &mut fields[9] {
                            subs.retain(|s| {
                                s.items().and_then(|f| f[0].as_str()).as_deref()
                                    != Some("client|setinfo")
                            });
                        }
                    }
                }
            }
            assert_eq!(got, want, "COMMAND INFO {name} (RESP{proto})");
        }
    }
    if t.v72 {
        let got = call(s, 2, &["COMMAND", "INFO", "client|setinfo"]);
        let entry = &got.items().expect("array")[0];
        let fields = entry.items().expect("entry");
        assert_eq!(fields[0].as_str().as_deref(), Some("client|setinfo"));
        assert_eq!(fields[1], Value::Int(4));
        assert_eq!(
            fields[7],
            Value::Array(
                ALL_NODES
                    .iter()
                    .map(|t| Value::Bulk(t.as_bytes().to_vec()))
                    .collect()
            )
        );
    }
}

fn leaf_args_have_display_text(name: &str, args: &Value, out: &mut Vec<String>) {
    for a in args.items().unwrap_or_default() {
        let kind = a.field("type").unwrap_or_default();
        if kind == "oneof" || kind == "block" {
            let nested = a.pairs().unwrap_or_default();
            match nested.iter().find(|(k, _)| k == "arguments") {
                Some((_, sub)) => leaf_args_have_display_text(name, sub, out),
                None => out.push(format!("{name}: {kind} without arguments")),
            }
        } else if a.field("display_text").is_none() {
            out.push(format!("{name}: {:?} has no display_text", a.field("name")));
        }
    }
}

/// `COMMAND DOCS`: the same commands, groups and versions as 7.0.15, with 7.2's `display_text` on every
/// leaf argument (7.2.4's summaries were rewritten, so texts are not compared).
#[test]
fn command_docs_match() {
    let t = start();
    let (r, s) = (t.reference.port, t.subject.port);
    let all = |port| -> Vec<(String, Value)> {
        let mut v = call(port, 3, &["COMMAND", "DOCS"]).pairs().expect("map");
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (want, got) = (all(r), all(s));
    let keys = |v: &[(String, Value)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(&want));
    let mut problems = Vec::new();
    for ((name, a), (_, b)) in want.iter().zip(&got) {
        for field in ["since", "group"] {
            if a.field(field) != b.field(field) {
                problems.push(format!(
                    "{name}.{field}: {:?} vs {:?}",
                    a.field(field),
                    b.field(field)
                ));
            }
        }
        let subs = |v: &Value| -> Vec<String> {
            let p = v.pairs().unwrap_or_default();
            let mut n: Vec<String> = p
                .iter()
                .find(|(k, _)| k == "subcommands")
                .and_then(|(_, s)| s.pairs())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            n.sort();
            n
        };
        let mut want_subs = subs(a);
        if t.v72 && name == "client" {
            want_subs.push("client|setinfo".into());
            want_subs.sort();
        }
        if subs(b) != want_subs {
            problems.push(format!(
                "{name} subcommands: {:?} vs {want_subs:?}",
                subs(b)
            ));
        }
        if t.v72 {
            let mut entries = vec![(name.clone(), b.clone())];
            if let Some((_, s)) = b
                .pairs()
                .unwrap_or_default()
                .into_iter()
                .find(|(k, _)| k == "subcommands")
            {
                entries.extend(s.pairs().unwrap_or_default());
            }
            for (n, e) in entries {
                if let Some((_, args)) = e
                    .pairs()
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(k, _)| k == "arguments")
                {
                    leaf_args_have_display_text(&n, &args, &mut problems);
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `INFO`'s field names, section by section, are redis-sentinel 7.0.15's plus exactly 7.2.4's new ones.
#[test]
fn info_fields_are_the_reported_versions() {
    let t = start();
    let fields = |port| -> Vec<(String, Vec<String>)> {
        info_sections(&call(port, 2, &["INFO"]).text())
            .into_iter()
            .map(|(h, f)| {
                let names = f
                    .into_iter()
                    .map(|(k, _)| k)
                    .filter(|k| {
                        !crate::common::diff::VEDETTE_ONLY_INFO_FIELDS.contains(&k.as_str())
                    })
                    // `master0`, ... in # Sentinel: none here (nothing is monitored).
                    .collect();
                (h, names)
            })
            .collect()
    };
    let (want, got) = (fields(t.reference.port), fields(t.subject.port));
    let mut added: Vec<String> = Vec::new();
    let got: Vec<(String, Vec<String>)> = got
        .into_iter()
        .map(|(h, f)| {
            let (new, old): (Vec<String>, Vec<String>) = f.into_iter().partition(|k| {
                let k = if k.starts_with("listener") {
                    "listener0"
                } else {
                    k
                };
                INFO_FIELDS_NEW_IN_7_2.contains(&k)
            });
            added.extend(new);
            (h, old)
        })
        .collect();
    assert_eq!(got, want, "INFO fields beyond 7.2's additions");
    if t.v72 {
        for f in INFO_FIELDS_NEW_IN_7_2 {
            assert!(added.iter().any(|a| a == f), "INFO lacks 7.2.4's {f}");
        }
        let server = call(t.subject.port, 2, &["INFO", "server"]).text();
        assert!(server.contains("redis_version:7.2.4\r\n"), "{server}");
    } else {
        assert!(added.is_empty(), "{added:?}");
    }
}

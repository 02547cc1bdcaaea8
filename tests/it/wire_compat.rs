//! Wire compatibility, differentially: every Step 1 command goes to a real `redis-sentinel` and to the subject
//! (vedette), both monitoring the same master (with one replica), and the replies must have the same shape
//! (see `common::diff`). Reference: sentinel-reference.md §1 and §15 (00-base, 13-info-command).
//!
//! Known, intended version differences: the installed redis-sentinel is 7.0.15, vedette follows 7.2+ where
//! they differ (`loglevel` in `SENTINEL CONFIG GET`, HELP wording). Those checks are written to accept both.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::common::diff::{compare, info_sections, Opts, Pair};
use crate::common::{
    redis_cli_output, wait_until, Flavor, RespConn, Sentinel, SentinelConf, Topology, Value, MASTER,
};

/// One master + one replica, watched by a redis-sentinel (reference) and the subject.
struct Fixture {
    topo: Topology,
    reference: Sentinel,
    subject: Sentinel,
}

impl Fixture {
    fn start() -> Fixture {
        let topo = Topology::start(1);
        let conf = SentinelConf::new()
            .monitor(MASTER, topo.master.port, 2)
            .down_after(5000)
            .failover_timeout(60000);
        let reference = Sentinel::redis(conf.clone());
        let subject = Sentinel::subject(conf.on_new_port());
        reference.wait_settled(MASTER, 1, None);
        subject.wait_settled(MASTER, 1, None);
        // The two discover each other through hellos on the master (every 2 s). Wait a bounded time for
        // their views to agree, but don't fail here: tests that need it assert it themselves.
        let other = |s: &Sentinel| s.master_field(MASTER, "num-other-sentinels");
        let deadline = std::time::Instant::now() + Duration::from_secs(6);
        while std::time::Instant::now() < deadline
            && !(other(&reference).as_deref() == Some("1")
                && other(&subject).as_deref() == Some("1"))
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        Fixture {
            topo,
            reference,
            subject,
        }
    }

    fn pair(&self) -> Pair {
        Pair::new(self.reference.port, self.subject.port)
    }
}

/// The read-only tests share one fixture while any of them runs (started by the first, killed by the last
/// to finish), which saves starting four processes per test.
fn shared() -> Arc<Fixture> {
    static SHARED: Mutex<Weak<Fixture>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(f) = slot.upgrade() {
        return f;
    }
    let f = Arc::new(Fixture::start());
    *slot = Arc::downgrade(&f);
    f
}

/// Fields of `SENTINEL MASTER` whose values are equal on the same topology.
const MASTER_STABLE: &[&str] = &[
    "name",
    "ip",
    "port",
    "flags",
    "down-after-milliseconds",
    "role-reported",
    "config-epoch",
    "num-slaves",
    "quorum",
    "failover-timeout",
    "parallel-syncs",
];

/// Fields of a `SENTINEL REPLICAS` entry whose values are equal on the same topology.
const REPLICA_STABLE: &[&str] = &[
    "name",
    "ip",
    "port",
    "flags",
    "role-reported",
    "master-link-status",
    "master-host",
    "master-port",
    "slave-priority",
    "replica-announced",
];

#[test]
fn ping() {
    let f = shared();
    let p = f.pair();
    p.check_with(&["PING"], Opts::exact());
    p.check_with(&["PING", "hello world"], Opts::exact());
    p.check_with(&["ping", ""], Opts::exact());
    p.check_with(&["PING", "a", "b"], Opts::exact());
}

#[test]
fn unknown_command_and_absent_commands() {
    let f = shared();
    let p = f.pair();
    p.check_with(&["FOO"], Opts::exact());
    p.check_with(&["FOO", "bar", "baz qux"], Opts::exact());
    // Commands a sentinel does not have at all (00-base "command flag infrastructure").
    for cmd in [
        "SAVE",
        "BGREWRITEAOF",
        "REPLICAOF",
        "GET",
        "SET",
        "CONFIG",
        "SELECT",
        "QUIT",
        "ECHO",
    ] {
        p.check_with(&[cmd, "x"], Opts::exact());
    }
    p.check_with(&["BLPOP", "k", "0"], Opts::exact());
}

#[test]
fn info_all_sections() {
    let f = shared();
    let p = f.pair();
    for args in [
        &["INFO"][..],
        &["INFO", "all"],
        &["INFO", "default"],
        &["INFO", "everything"],
    ] {
        let (_, subject) = p.check_with(args, Opts::new().info());
        let text = subject.text();
        // 13-info-command.tcl: required and forbidden fields.
        for need in [
            "redis_version",
            "maxclients",
            "used_cpu_user",
            "sentinel_tilt",
        ] {
            assert!(text.contains(need), "{args:?}: {need} missing:\n{text}");
        }
        for bad in [
            "used_memory",
            "rdb_last_bgsave",
            "master_repl_offset",
            "cluster_enabled",
        ] {
            assert!(!text.contains(bad), "{args:?}: {bad} present:\n{text}");
        }
        let server = &info_sections(&text)[0].1;
        assert!(
            server
                .iter()
                .any(|(k, v)| k == "redis_mode" && v == "sentinel"),
            "redis_mode:sentinel missing"
        );
    }
}

#[test]
fn info_section_selection() {
    let f = shared();
    let p = f.pair();
    let sections = |v: &Value| -> Vec<String> {
        info_sections(&v.text())
            .into_iter()
            .map(|(h, _)| h)
            .collect()
    };
    let (_, s) = p.check_with(&["INFO", "sentinel"], Opts::new().info());
    assert_eq!(sections(&s), ["Sentinel"]);
    assert!(s.text().starts_with("# Sentinel\r\n"), "{s:?}");
    let (_, s) = p.check_with(&["INFO", "cpu"], Opts::new().info());
    assert_eq!(sections(&s), ["CPU"]);
    let (_, s) = p.check_with(
        &["INFO", "server", "sentinel", "replication"],
        Opts::new().info(),
    );
    assert_eq!(sections(&s), ["Server", "Sentinel"]);
    let (_, s) = p.check_with(&["INFO", "cpu", "all"], Opts::new().info());
    assert_eq!(
        sections(&s),
        ["Server", "Clients", "Stats", "CPU", "Sentinel"]
    );
    // Unknown sections are dropped: an empty bulk string (in RESP3 too, not a verbatim string).
    p.check_with(&["INFO", "memory"], Opts::exact());
    p.check_with(&["info", "SENTINEL"], Opts::new().info());
}

#[test]
fn info_sentinel_values() {
    let f = shared();
    let p = f.pair();
    let (_, s) = p.check_with(
        &["INFO", "sentinel"],
        Opts::new()
            .info()
            .equal(&["sentinel_masters", "sentinel_tilt"]),
    );
    let fields = &info_sections(&s.text())[0].1;
    let master0 = fields
        .iter()
        .find(|(k, _)| k == "master0")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let expect = format!(
        "name={MASTER},status=ok,address=127.0.0.1:{},slaves=1,sentinels=",
        f.topo.master.port
    );
    assert!(master0.starts_with(&expect), "master0:{master0}");
}

#[test]
fn role() {
    let f = shared();
    f.pair().check_with(&["ROLE"], Opts::exact());
    f.pair().check_with(&["ROLE", "x"], Opts::exact());
}

#[test]
fn hello() {
    let f = shared();
    let p = f.pair();
    let opts = || Opts::new().ignore(&["version", "id"]).resp2();
    let (_, s) = p.check_with(&["HELLO", "2"], opts());
    assert_eq!(s.field("mode").as_deref(), Some("sentinel"));
    p.check_with(&["HELLO"], opts());
    // HELLO 3 switches the connection; compare the map on a RESP2 connection.
    let (_, s) = p.check_with(&["HELLO", "3"], opts());
    assert!(
        matches!(s, Value::Map(_)),
        "HELLO 3 must answer a map: {s:?}"
    );
    p.check_with(&["HELLO", "4"], Opts::exact());
    p.check_with(&["HELLO", "1"], Opts::exact());
    p.check_with(&["HELLO", "x"], Opts::exact());
    p.check_with(&["HELLO", "3", "SETNAME", "me"], opts());
    p.check_with(&["HELLO", "3", "FOO"], Opts::exact());
    // The default user has no password, so any password is accepted (7.0.15 behaviour).
    p.check_with(&["HELLO", "2", "AUTH", "default", "whatever"], opts());
    p.check_with(&["HELLO", "2", "AUTH", "nobody", "x"], Opts::exact());
}

#[test]
fn auth_errors() {
    let f = shared();
    let p = f.pair();
    p.check_with(&["AUTH", "foo"], Opts::exact());
    p.check_with(&["AUTH", "nobody", "pw"], Opts::exact());
    p.check_with(&["AUTH", "a", "b", "c"], Opts::exact());
    p.check_with(&["AUTH"], Opts::exact());
    p.check_with(&["AUTH", "default", "anything"], Opts::exact());
}

#[test]
fn client_commands() {
    let f = shared();
    let p = f.pair();
    for proto in [2, 3] {
        let mut s = p.session(proto);
        s.check_with(&["CLIENT", "GETNAME"], Opts::exact());
        s.check_with(&["CLIENT", "SETNAME", "tester"], Opts::exact());
        s.check_with(&["CLIENT", "GETNAME"], Opts::exact());
        s.check_with(&["CLIENT", "SETNAME", "has space"], Opts::exact());
        s.check_with(&["CLIENT", "ID"], Opts::new());
        s.check_with(&["CLIENT", "FOO"], Opts::exact());
        s.check_with(&["CLIENT"], Opts::exact());
        s.check_with(&["CLIENT", "NO-TOUCH", "on"], Opts::exact());
        // CLIENT INFO: every field redis-sentinel 7.0 prints must be there, in the same order (newer
        // versions add fields such as lib-name/lib-ver, which is fine).
        let (a, b) = s.call(&["CLIENT", "INFO"]);
        assert_eq!(a.kind(), b.kind(), "CLIENT INFO: {a:?} vs {b:?}");
        assert_fields_subsequence(&a.text(), &b.text());
        assert!(b.text().contains(" name=tester "), "{b:?}");
        assert!(b.text().contains(&format!(" resp={proto}")), "{b:?}");
        // CLIENT LIST restricted to our own connection (others differ: the sentinels' links).
        let ids = (s.a.cmd(&["CLIENT", "ID"]), s.b.cmd(&["CLIENT", "ID"]));
        let (Value::Int(ia), Value::Int(ib)) = ids else {
            panic!("CLIENT ID must be an integer: {ids:?}");
        };
        let la = s.a.cmd(&["CLIENT", "LIST", "ID", &ia.to_string()]);
        let lb = s.b.cmd(&["CLIENT", "LIST", "ID", &ib.to_string()]);
        assert_eq!(la.kind(), lb.kind(), "CLIENT LIST: {la:?} vs {lb:?}");
        assert_eq!(lb.text().lines().count(), 1, "{lb:?}");
        assert_fields_subsequence(&la.text(), &lb.text());
    }
    // Whole CLIENT LIST: one line per connection, same shape per line.
    let (_, b) = p.replies(&["CLIENT", "LIST"], 2);
    assert!(
        b.text().lines().all(|l| l.starts_with("id=")),
        "CLIENT LIST: {b:?}"
    );
}

/// The `name=` fields of `a` appear in `b` in the same relative order.
fn assert_fields_subsequence(a: &str, b: &str) {
    let names = |t: &str| -> Vec<String> {
        t.trim_end()
            .split(' ')
            .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string()))
            .collect()
    };
    let (na, nb) = (names(a), names(b));
    let mut it = nb.iter();
    for n in &na {
        assert!(
            it.any(|m| m == n),
            "field {n:?} missing or out of order:\nredis-sentinel: {a}\nsubject:        {b}"
        );
    }
}

#[test]
fn command_introspection() {
    let f = shared();
    let p = f.pair();
    p.check_with(&["COMMAND", "COUNT"], Opts::structure());
    // COMMAND DOCS of existing commands differs from 7.0.15 by 7.2's `display_text`: `command_table`.
    p.check_with(&["COMMAND", "DOCS", "nosuchcommand"], Opts::exact());
    p.check_with(&["COMMAND", "DOCS", "save"], Opts::exact());
    let (_, s) = p.check_with(&["COMMAND", "LIST"], Opts::structure().resp2().no_length());
    let names: Vec<String> = s
        .items()
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for need in ["ping", "info", "subscribe", "sentinel", "role", "hello"] {
        assert!(
            names.iter().any(|n| n == need),
            "COMMAND LIST lacks {need}: {names:?}"
        );
    }
    for absent in ["save", "bgrewriteaof", "blpop", "replicaof"] {
        assert!(
            !names.iter().any(|n| n == absent),
            "COMMAND LIST has {absent}"
        );
    }
}

#[test]
fn pubsub_confirmations() {
    let f = shared();
    let p = f.pair();
    for proto in [2, 3] {
        let mut s = p.session(proto);
        s.check_with(&["SUBSCRIBE", "a", "b"], Opts::exact().replies(2));
        s.check_with(&["PSUBSCRIBE", "+*"], Opts::exact());
        s.check_with(&["PING"], Opts::exact());
        s.check_with(&["PING", "x"], Opts::exact());
        if proto == 2 {
            // Only pub/sub commands are allowed in RESP2 subscribed mode.
            s.check_with(&["INFO"], Opts::exact());
        }
        s.check_with(&["UNSUBSCRIBE", "a"], Opts::exact());
        s.check_with(&["PUNSUBSCRIBE"], Opts::exact());
        s.check_with(&["UNSUBSCRIBE"], Opts::exact());
        s.check_with(&["UNSUBSCRIBE"], Opts::exact());
    }
}

#[test]
fn publish_only_hello() {
    let f = shared();
    let p = f.pair();
    p.check_with(&["PUBLISH", "foo", "bar"], Opts::exact());
    p.check_with(&["PUBLISH", "foo"], Opts::exact());
}

#[test]
fn sentinel_masters_and_master() {
    let f = shared();
    let p = f.pair();
    let (_, s) = p.check_with(&["SENTINEL", "MASTERS"], Opts::new().equal(MASTER_STABLE));
    assert_eq!(s.items().map(<[Value]>::len), Some(1), "{s:?}");
    let (_, s) = p.check_with(
        &["SENTINEL", "MASTER", MASTER],
        Opts::new().equal(MASTER_STABLE),
    );
    assert_eq!(s.field("name").as_deref(), Some(MASTER));
    assert_eq!(s.field("flags").as_deref(), Some("master"));
    p.check_with(&["sentinel", "master", "nosuch"], Opts::exact());
    p.check_with(&["SENTINEL", "MASTER", "MYMASTER"], Opts::exact());
    p.check_with(&["SENTINEL", "MASTER"], Opts::exact());
    p.check_with(&["SENTINEL", "MASTERS", "x"], Opts::exact());
    p.check_with(
        &["SENTINEL", "REPLICAS", MASTER],
        Opts::new().equal(REPLICA_STABLE),
    );
    p.check_with(
        &["SENTINEL", "SLAVES", MASTER],
        Opts::new().equal(REPLICA_STABLE),
    );
    p.check_with(&["SENTINEL", "REPLICAS", "nosuch"], Opts::exact());
}

#[test]
fn sentinel_primaries_alias() {
    // Valkey's alias. redis-sentinel 7.0 does not know it, so compare vedette with its own MASTERS.
    let f = shared();
    let s = f.subject.cmd(&["SENTINEL", "PRIMARIES"]);
    let m = f.subject.cmd(&["SENTINEL", "MASTERS"]);
    let diffs = compare(&m, &s, &Opts::new().equal(MASTER_STABLE));
    if f.subject.flavor == Flavor::Vedette {
        assert!(
            diffs.is_empty(),
            "PRIMARIES differs from MASTERS: {diffs:?}"
        );
    }
}

#[test]
fn sentinel_get_master_addr_by_name() {
    let f = shared();
    let p = f.pair();
    let (_, s) = p.check_with(
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER],
        Opts::exact(),
    );
    let port = f.topo.master.port.to_string();
    assert_eq!(
        s,
        Value::Array(vec![
            Value::Bulk(b"127.0.0.1".to_vec()),
            Value::Bulk(port.into_bytes())
        ])
    );
    // Unknown master: a null ARRAY (`*-1`) in RESP2 and `_` in RESP3, not an error.
    let (_, s) = p.check_with(
        &["SENTINEL", "get-master-addr-by-name", "nosuch"],
        Opts::exact(),
    );
    assert_eq!(s, Value::Null);
    let (_, s) = p.check_with(
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"],
        Opts::exact().resp2(),
    );
    assert_eq!(s, Value::NullArray);
    p.check_with(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME"], Opts::exact());
}

#[test]
fn sentinel_myid() {
    let f = shared();
    let (a, b) = f.pair().check_with(&["SENTINEL", "MYID"], Opts::new());
    for v in [&a, &b] {
        let id = v.text();
        assert!(
            id.len() == 40 && id.bytes().all(|c| c.is_ascii_hexdigit()),
            "bad id {v:?}"
        );
    }
    assert_eq!(
        f.subject.cmd(&["SENTINEL", "MYID"]),
        b,
        "MYID must be stable"
    );
    f.pair()
        .check_with(&["SENTINEL", "MYID", "x"], Opts::exact());
}

/// `pairs` minus the given keys (RESP3 map or RESP2 flat array).
fn without_keys(v: &Value, keys: &[&str]) -> Value {
    let keep = |k: &Value| !keys.iter().any(|x| k.as_str().as_deref() == Some(*x));
    match v {
        Value::Map(m) => Value::Map(m.iter().filter(|(k, _)| keep(k)).cloned().collect()),
        Value::Array(a) => Value::Array(
            a.chunks(2)
                .filter(|kv| keep(&kv[0]))
                .flat_map(|kv| kv.to_vec())
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn sentinel_config_get() {
    let f = shared();
    let p = f.pair();
    for proto in [2, 3] {
        for pattern in ["*", "announce-*", "resolve-hostnames", "nosuch"] {
            let (a, b) = p.replies(&["SENTINEL", "CONFIG", "GET", pattern], proto);
            // 7.2+ adds `loglevel`; 7.0.15 does not have it.
            let diffs = compare(&a, &without_keys(&b, &["loglevel"]), &Opts::exact());
            assert!(
                diffs.is_empty(),
                "CONFIG GET {pattern} RESP{proto}: {diffs:?}\n{a:?}\n{b:?}"
            );
        }
    }
    // Arity: the 7.0 (-3) and 7.2 (-4) tables agree that `SENTINEL CONFIG` alone is an arity error.
    p.check_with(&["SENTINEL", "CONFIG"], Opts::exact());
}

#[test]
fn sentinel_config_set() {
    // Mutates state: own fixture.
    let f = Fixture::start();
    let p = f.pair();
    p.check_with(
        &["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "no"],
        Opts::exact(),
    );
    p.check_with(
        &["SENTINEL", "CONFIG", "SET", "announce-hostnames", "no"],
        Opts::exact(),
    );
    p.check_with(&["SENTINEL", "CONFIG", "SET", "foo", "bar"], Opts::exact());
    p.check_with(
        &["SENTINEL", "CONFIG", "SET", "announce-port", "abc"],
        Opts::exact(),
    );
    p.check_with(
        &["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "maybe"],
        Opts::exact(),
    );
    p.check_with(
        &["SENTINEL", "CONFIG", "SET", "sentinel-user", ""],
        Opts::exact(),
    );
    p.check_with(
        &["SENTINEL", "CONFIG", "GET", "sentinel-user"],
        Opts::exact(),
    );
}

#[test]
fn sentinel_help() {
    let f = shared();
    let p = f.pair();
    // Only the header is pinned (00-base); the rest differs between 7.0 and 7.2 wording.
    let (a, b) = p.check_with(&["SENTINEL", "HELP"], Opts::structure().no_length());
    let (ia, ib) = (a.items().unwrap_or_default(), b.items().unwrap_or_default());
    assert_eq!(ia.first(), ib.first(), "HELP header");
    assert!(
        ib.iter().all(|l| matches!(l, Value::Status(_))),
        "HELP lines must be status replies: {b:?}"
    );
    assert!(ib.len() >= 40, "HELP too short: {b:?}");
    p.check_with(&["sentinel", "help", "x"], Opts::exact());
}

#[test]
fn sentinel_errors() {
    let f = shared();
    let p = f.pair();
    p.check_with(&["SENTINEL"], Opts::exact());
    p.check_with(&["SENTINEL", "FOO"], Opts::exact());
    p.check_with(&["SENTINEL", "foo", "bar"], Opts::exact());
    p.check_with(
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "a", "b"],
        Opts::exact(),
    );
    p.check_with(&["SENTINEL", "SET", MASTER, "fakeoption"], Opts::exact());
    p.check_with(
        &["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1"],
        Opts::exact(),
    );
}

#[test]
fn redis_crate_sentinel_client_reaches_master() {
    let f = shared();
    let url = format!("redis://127.0.0.1:{}/", f.subject.port);
    let mut sentinel = redis::sentinel::Sentinel::build(vec![url.as_str()])
        .unwrap_or_else(|e| panic!("Sentinel::build: {e}"));
    let client = sentinel
        .master_for(MASTER, None)
        .unwrap_or_else(|e| panic!("master_for through {url}: {e}"));
    let mut conn = client
        .get_connection()
        .unwrap_or_else(|e| panic!("connect to master: {e}"));
    let key = format!("wire-compat-{}", f.subject.port);
    redis::cmd("SET")
        .arg(&key)
        .arg("1")
        .exec(&mut conn)
        .unwrap_or_else(|e| panic!("SET on master: {e}"));
    let v: String = redis::cmd("GET")
        .arg(&key)
        .query(&mut conn)
        .unwrap_or_else(|e| panic!("GET on master: {e}"));
    assert_eq!(v, "1");
    assert_eq!(
        f.topo.master.cmd(&["GET", &key]),
        Value::Bulk(b"1".to_vec())
    );

    let mut sc = redis::sentinel::SentinelClient::build(
        vec![url.as_str()],
        MASTER.to_string(),
        None,
        redis::sentinel::SentinelServerType::Master,
    )
    .unwrap_or_else(|e| panic!("SentinelClient::build: {e}"));
    let mut conn = sc
        .get_connection()
        .unwrap_or_else(|e| panic!("SentinelClient::get_connection: {e}"));
    let role: Vec<redis::Value> = redis::cmd("ROLE")
        .query(&mut conn)
        .unwrap_or_else(|e| panic!("ROLE: {e}"));
    assert!(
        matches!(role.first(), Some(redis::Value::BulkString(b)) if b == b"master"),
        "{role:?}"
    );
    // The replica is reachable too.
    let mut rc = redis::sentinel::SentinelClient::build(
        vec![url.as_str()],
        MASTER.to_string(),
        None,
        redis::sentinel::SentinelServerType::Replica,
    )
    .unwrap_or_else(|e| panic!("SentinelClient::build: {e}"));
    let mut conn = rc
        .get_connection()
        .unwrap_or_else(|e| panic!("replica connection: {e}"));
    let port: u16 = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query::<Vec<String>>(&mut conn)
        .ok()
        .and_then(|v| v.get(1).and_then(|p| p.parse().ok()))
        .unwrap_or(0);
    assert_eq!(port, f.topo.replicas[0].port);
}

#[test]
fn redis_cli_works() {
    let f = shared();
    let port = f.subject.port.to_string();
    let run = |args: &[&str]| {
        let out = redis_cli_output(f.subject.port, args);
        assert!(
            out.status.success(),
            "redis-cli -p {port} {args:?}: {out:?}"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let masters = run(&["SENTINEL", "masters"]);
    assert!(masters.lines().any(|l| l == MASTER), "{masters}");
    assert!(masters.contains("flags"), "{masters}");
    let info = run(&["INFO", "sentinel"]);
    assert!(info.contains("sentinel_masters:1"), "{info}");
    assert!(
        info.contains(&format!("master0:name={MASTER},status=ok")),
        "{info}"
    );
    let role = run(&["ROLE"]);
    assert_eq!(
        role.lines().collect::<Vec<_>>(),
        ["sentinel", MASTER],
        "{role}"
    );
    let addr = run(&["SENTINEL", "get-master-addr-by-name", MASTER]);
    assert_eq!(
        addr.lines().collect::<Vec<_>>(),
        ["127.0.0.1".to_string(), f.topo.master.port.to_string()]
    );
    // RESP3 through redis-cli -3.
    let out = redis_cli_output(f.subject.port, &["-3", "SENTINEL", "master", MASTER]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn subject_stays_up_after_garbage() {
    // A protocol error closes that connection only; the sentinel keeps serving (DESIGN.md "Errors").
    let f = shared();
    let mut c = RespConn::connect(f.subject.port).unwrap_or_else(|e| panic!("{e}"));
    let _ = c.send_raw(b"*1\r\n$-5\r\n");
    let _ = c.read();
    wait_until(
        Duration::from_secs(5),
        "subject answers PING after garbage",
        || matches!(crate::common::resp::call(f.subject.port, &["PING"]), Ok(Value::Status(s)) if s == "PONG"),
    );
}

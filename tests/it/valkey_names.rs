//! Valkey's names. A Valkey 8/9 sentinel (valkey-io/valkey `src/sentinel.c`) accepts, besides Redis's
//! names: `SENTINEL PRIMARIES`, `PRIMARY`, `GET-PRIMARY-ADDR-BY-NAME`, `IS-PRIMARY-DOWN-BY-ADDR`
//! (`REPLICAS`/`SLAVES` are both Redis's already), and `primary-reboot-down-after-period` for
//! `master-reboot-down-after-period`, in `SENTINEL SET` and in its config file, which its rewrite writes
//! under that name. Reply fields, INFO fields, event names and the hello format are Redis's unchanged.
//! vedette accepts all of them; with `VEDETTE_IT_SUBJECT=redis-sentinel` (7.0.15, which knows none of
//! them) the test checks that they are refused instead, which shows the test sends what it claims.

use std::time::Duration;

use crate::common::diff::{compare, Opts};
use crate::common::{wait_until, Flavor, Sentinel, SentinelConf, Topology, Value, MASTER};

const STABLE: &[&str] = &["name", "ip", "port", "flags", "quorum", "num-slaves"];

#[test]
fn valkey_aliases_answer_like_redis_names() {
    let topo = Topology::start(1);
    let vedette = Flavor::subject() == Flavor::Vedette;
    let mut conf = SentinelConf::new()
        .monitor(MASTER, topo.master.port, 1)
        .down_after(5000);
    if vedette {
        // As a Valkey rewrite leaves it.
        conf = conf.line(&format!(
            "sentinel primary-reboot-down-after-period {MASTER} 4000"
        ));
    }
    let mut s = Sentinel::subject(conf);
    s.wait_settled(MASTER, 1, None);
    let port = topo.master.port.to_string();
    let pairs: [(&[&str], &[&str]); 5] = [
        (&["SENTINEL", "PRIMARIES"], &["SENTINEL", "MASTERS"]),
        (
            &["SENTINEL", "primary", MASTER],
            &["SENTINEL", "master", MASTER],
        ),
        (
            &["SENTINEL", "GET-PRIMARY-ADDR-BY-NAME", MASTER],
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER],
        ),
        (
            &[
                "SENTINEL",
                "is-primary-down-by-addr",
                "127.0.0.1",
                &port,
                "0",
                "*",
            ],
            &[
                "SENTINEL",
                "is-master-down-by-addr",
                "127.0.0.1",
                &port,
                "0",
                "*",
            ],
        ),
        (
            &["SENTINEL", "REPLICAS", MASTER],
            &["SENTINEL", "SLAVES", MASTER],
        ),
    ];
    for (valkey, redis) in pairs {
        let (a, b) = (s.cmd(valkey), s.cmd(redis));
        if vedette || valkey[1] == "REPLICAS" {
            let diffs = compare(&b, &a, &Opts::new().equal(STABLE));
            assert!(diffs.is_empty(), "{valkey:?} vs {redis:?}: {diffs:?}");
        } else {
            assert!(
                matches!(&a, Value::Error(e) if e.starts_with("ERR unknown subcommand")),
                "redis-sentinel 7.0 answered {valkey:?}: {a:?}"
            );
        }
    }
    // SENTINEL SET with Valkey's option name: set, and persisted under Redis's name.
    let set = s.cmd(&[
        "SENTINEL",
        "SET",
        MASTER,
        "primary-reboot-down-after-period",
        "5000",
    ]);
    if !vedette {
        assert!(matches!(set, Value::Error(_)), "{set:?}");
        return;
    }
    assert_eq!(set, Value::Status("OK".into()));
    let want = format!("sentinel master-reboot-down-after-period {MASTER} 5000");
    let conf_path = s.conf_path();
    let read = || std::fs::read_to_string(&conf_path).unwrap_or_default();
    wait_until(Duration::from_secs(5), "rewritten reboot period", || {
        read().lines().any(|l| l == want)
    });
    assert!(!read().contains("primary-reboot"), "{}", read());
    // And it survives a restart.
    s.restart();
    s.wait_settled(MASTER, 1, None);
    assert!(read().lines().any(|l| l == want), "{}", read());
}

//! [`SentinelCommand::parse`]: every subcommand with good and bad input, Redis's exact error texts and
//! stages, and no panic on any argv.

use super::parse::{
    CommandError, ConfigArg, ConfigSetting, SentinelCommand as C, SetArg, SetOption, SimulateEnd,
    SUBCOMMANDS,
};
use crate::reply::Reply;

fn argv(words: &str) -> Vec<Vec<u8>> {
    words
        .split(' ')
        .map(|w| if w == "''" { "" } else { w })
        .map(|w| w.as_bytes().to_vec())
        .collect()
}

fn ok(words: &str) -> C {
    match C::parse(&argv(words)) {
        Ok(c) => c,
        Err(e) => panic!("{words}: {e:?}"),
    }
}

/// The error text and whether it is the dispatcher's (answered before authentication).
fn err(words: &str) -> (String, bool) {
    match C::parse(&argv(words)) {
        Ok(c) => panic!("{words}: parsed as {c:?}"),
        Err(e) => {
            let dispatch = matches!(e, CommandError::Dispatch(_));
            match e.into_reply() {
                Reply::Error(t) => (t, dispatch),
                r => panic!("{words}: not an error: {r:?}"),
            }
        }
    }
}

fn dispatch(words: &str) -> String {
    let (t, d) = err(words);
    assert!(d, "{words}: expected a dispatcher error, got {t}");
    t
}

fn invalid(words: &str) -> String {
    let (t, d) = err(words);
    assert!(!d, "{words}: expected an argument error, got {t}");
    t
}

#[test]
fn top_level_commands() {
    assert_eq!(ok("ROLE"), C::Role);
    assert_eq!(
        dispatch("role x"),
        "ERR wrong number of arguments for 'role' command"
    );
    assert_eq!(
        ok("publish __sentinel__:hello p"),
        C::Publish(b"p".to_vec())
    );
    assert_eq!(
        dispatch("PUBLISH a"),
        "ERR wrong number of arguments for 'publish' command"
    );
    assert_eq!(
        invalid("PUBLISH other p"),
        "ERR Only HELLO messages are accepted by Sentinel instances."
    );
    assert_eq!(
        dispatch("SENTINEL"),
        "ERR wrong number of arguments for 'sentinel' command"
    );
    assert_eq!(
        dispatch("get x"),
        "ERR unknown command 'get', with args beginning with: 'x' "
    );
    assert!(matches!(C::parse(&[]), Err(CommandError::Dispatch(_))));
}

#[test]
fn unknown_subcommand_and_arity_are_the_dispatchers() {
    assert_eq!(
        dispatch("SENTINEL Bogus x"),
        "ERR unknown subcommand 'Bogus'. Try SENTINEL HELP."
    );
    let long = format!("sentinel {}", "a".repeat(200));
    assert_eq!(
        dispatch(&long),
        format!(
            "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
            "a".repeat(128)
        )
    );
    // Every subcommand, one argument short of (or beyond) its arity; the name in the table's case.
    for &(sub, arity) in SUBCOMMANDS {
        let n = if arity > 0 {
            arity as usize + 1
        } else {
            (-arity) as usize - 1
        };
        if n < 2 {
            continue; // DEBUG: "SENTINEL" alone is the container's arity error.
        }
        let mut words = vec!["sentinel".to_string(), sub.to_ascii_uppercase()];
        words.resize(n, "x".into());
        let text = dispatch(&words.join(" "));
        assert_eq!(
            text,
            format!("ERR wrong number of arguments for 'sentinel|{sub}' command")
        );
    }
    // SET with an option but no value is an arity error, with a value an option error.
    assert_eq!(
        dispatch("sentinel set m fakeoption"),
        "ERR wrong number of arguments for 'sentinel|set' command"
    );
    // ... which is answered after the master is looked up (`No such master` first).
    assert_eq!(
        ok("sentinel set m fakeoption x"),
        C::Set {
            name: "m".into(),
            options: vec![],
            error: Some(
                "ERR Unknown option or number of arguments for SENTINEL SET 'fakeoption'".into()
            ),
        }
    );
}

#[test]
fn read_only_subcommands() {
    assert_eq!(ok("sentinel masters"), C::Masters);
    assert_eq!(ok("sentinel PRIMARIES"), C::Masters);
    assert_eq!(ok("sentinel master m"), C::Master("m".into()));
    assert_eq!(ok("sentinel primary M"), C::Master("M".into()));
    assert_eq!(ok("sentinel replicas m"), C::Replicas("m".into()));
    assert_eq!(ok("sentinel slaves m"), C::Replicas("m".into()));
    assert_eq!(ok("sentinel sentinels m"), C::Sentinels("m".into()));
    assert_eq!(
        ok("sentinel get-master-addr-by-name m"),
        C::GetMasterAddrByName("m".into())
    );
    assert_eq!(
        ok("sentinel GET-PRIMARY-ADDR-BY-NAME m"),
        C::GetMasterAddrByName("m".into())
    );
    assert_eq!(ok("sentinel myid"), C::MyId);
    assert_eq!(ok("sentinel ckquorum m"), C::CkQuorum("m".into()));
    assert_eq!(ok("sentinel failover m"), C::Failover("m".into()));
    assert_eq!(ok("sentinel remove m"), C::Remove("m".into()));
    assert_eq!(ok("sentinel reset m*"), C::Reset(b"m*".to_vec()));
    assert_eq!(ok("sentinel flushconfig"), C::FlushConfig);
    assert_eq!(ok("sentinel pending-scripts"), C::PendingScripts);
    assert_eq!(ok("sentinel help"), C::Help);
    assert_eq!(
        ok("sentinel info-cache a b a"),
        C::InfoCache(vec!["a".into(), "b".into(), "a".into()])
    );
    // Names stay as typed (master names are case-sensitive); only keywords are case-insensitive.
    assert_eq!(ok("SeNtInEl MaStEr MyMaster"), C::Master("MyMaster".into()));
    assert_eq!(ok("sentinel masters").name(), Some("masters"));
}

#[test]
fn is_master_down_by_addr() {
    assert_eq!(
        ok("sentinel is-master-down-by-addr 10.0.0.1 6379 7 abc"),
        C::IsMasterDownByAddr {
            ip: "10.0.0.1".into(),
            port: Some(6379),
            epoch: 7,
            runid: "abc".into(),
        }
    );
    // Out-of-range ports and negative epochs are integers: accepted, naming no master / winning no vote.
    assert_eq!(
        ok("sentinel is-primary-down-by-addr h 70000 -5 *"),
        C::IsMasterDownByAddr {
            ip: "h".into(),
            port: None,
            epoch: 0,
            runid: "*".into(),
        }
    );
    for bad in [
        "h x 1 *",
        "h 1 x *",
        "h 1 1.5 *",
        "h 99999999999999999999 1 *",
    ] {
        assert_eq!(
            invalid(&format!("sentinel is-master-down-by-addr {bad}")),
            "ERR value is not an integer or out of range"
        );
    }
}

#[test]
fn monitor_checks_in_redis_order() {
    assert_eq!(
        ok("sentinel monitor m 10.0.0.1 6379 2"),
        C::Monitor {
            name: "m".into(),
            host: "10.0.0.1".into(),
            port: Some(6379),
            quorum: 2,
        }
    );
    // Quorum integer, port integer, quorum ≥ 1 (then vedette's 32-bit bound), in that order.
    assert_eq!(invalid("sentinel monitor m h x y"), "ERR Invalid quorum");
    assert_eq!(invalid("sentinel monitor m h x 2"), "ERR Invalid port");
    assert_eq!(invalid("sentinel monitor m h x 0"), "ERR Invalid port");
    assert_eq!(
        invalid("sentinel monitor m h 1 0"),
        "ERR Quorum must be 1 or greater."
    );
    assert_eq!(
        invalid("sentinel monitor m h 1 -3"),
        "ERR Quorum must be 1 or greater."
    );
    assert_eq!(
        invalid("sentinel monitor m h 1 4294967296"),
        "ERR Invalid quorum"
    );
    // The host and the port's range are checked at execution, after the host (it depends on state).
    assert!(matches!(
        ok("sentinel monitor m nohost 70000 2"),
        C::Monitor { port: None, .. }
    ));
    assert!(matches!(
        ok("sentinel monitor m h -1 2"),
        C::Monitor { port: None, .. }
    ));
}

fn set_arg(option: &str, shown: &str, setting: SetOption) -> SetArg {
    SetArg {
        option: option.into(),
        shown: shown.into(),
        setting,
    }
}

#[test]
fn set_options_and_errors() {
    let C::Set {
        name,
        options,
        error,
    } = ok(concat!(
        "sentinel set m Down-After-Milliseconds 1000 failover-timeout 5 parallel-syncs 2 quorum 3 ",
        "master-reboot-down-after-period 0 notification-script /x client-reconfig-script '' ",
        "auth-pass pw auth-user '' rename-command CONFIG cfg rename-command ping PING"
    ))
    else {
        panic!("not a SET");
    };
    assert_eq!(name, "m");
    assert_eq!(error, None);
    assert_eq!(
        options,
        vec![
            set_arg(
                "Down-After-Milliseconds",
                "1000",
                SetOption::DownAfter(1000)
            ),
            set_arg("failover-timeout", "5", SetOption::FailoverTimeout(5)),
            set_arg("parallel-syncs", "2", SetOption::ParallelSyncs(2)),
            set_arg("quorum", "3", SetOption::Quorum(3)),
            set_arg(
                "master-reboot-down-after-period",
                "0",
                SetOption::MasterRebootDownAfterPeriod(0)
            ),
            set_arg(
                "notification-script",
                "/x",
                SetOption::NotificationScript(Some("/x".into()))
            ),
            set_arg(
                "client-reconfig-script",
                "",
                SetOption::ClientReconfigScript(None)
            ),
            set_arg(
                "auth-pass",
                "******",
                SetOption::AuthPass(Some("pw".into()))
            ),
            set_arg("auth-user", "", SetOption::AuthUser(None)),
            set_arg(
                "rename-command",
                "CONFIG cfg",
                SetOption::RenameCommand {
                    command: "config".into(),
                    to: Some("cfg".into())
                }
            ),
            set_arg(
                "rename-command",
                "ping PING",
                SetOption::RenameCommand {
                    command: "ping".into(),
                    to: None
                }
            ),
        ]
    );
    // The valid prefix is kept with the first error (Redis applies options left to right).
    let cases = [
        (
            "quorum 2 quorum 0",
            1,
            "ERR Invalid argument '0' for SENTINEL SET 'quorum'",
        ),
        (
            "QUORUM 2147483648",
            0,
            "ERR Invalid argument '2147483648' for SENTINEL SET 'QUORUM'",
        ),
        (
            "parallel-syncs -1",
            0,
            "ERR Invalid argument '-1' for SENTINEL SET 'parallel-syncs'",
        ),
        (
            "down-after-milliseconds 0",
            0,
            "ERR Invalid argument '0' for SENTINEL SET 'down-after-milliseconds'",
        ),
        (
            "failover-timeout x",
            0,
            "ERR Invalid argument 'x' for SENTINEL SET 'failover-timeout'",
        ),
        (
            "master-reboot-down-after-period -1",
            0,
            "ERR Invalid argument '-1' for SENTINEL SET 'master-reboot-down-after-period'",
        ),
        (
            "quorum 2 bogus 1",
            1,
            "ERR Unknown option or number of arguments for SENTINEL SET 'bogus'",
        ),
        (
            "quorum 2 quorum",
            1,
            "ERR Unknown option or number of arguments for SENTINEL SET 'quorum'",
        ),
        (
            "rename-command ping",
            0,
            "ERR Unknown option or number of arguments for SENTINEL SET 'rename-command'",
        ),
        (
            "rename-command '' x",
            0,
            "ERR Invalid argument '' for SENTINEL SET 'rename-command'",
        ),
        (
            "rename-command x ''",
            0,
            "ERR Invalid argument '' for SENTINEL SET 'rename-command'",
        ),
    ];
    for (args, kept, text) in cases {
        let C::Set { options, error, .. } = ok(&format!("sentinel set m {args}")) else {
            panic!("{args}: not a SET");
        };
        assert_eq!(options.len(), kept, "{args}");
        assert_eq!(error.as_deref(), Some(text), "{args}");
    }
}

fn config_arg(param: &str, value: &str, setting: ConfigSetting) -> ConfigArg {
    ConfigArg {
        param: param.into(),
        value: value.into(),
        setting,
    }
}

#[test]
fn config_get_and_set() {
    assert_eq!(
        ok("sentinel config GET announce-* *"),
        C::ConfigGet(vec![b"announce-*".to_vec(), b"*".to_vec()])
    );
    assert_eq!(
        ok(concat!(
            "sentinel config set resolve-hostnames YES announce-hostnames no announce-ip '' ",
            "Announce-Port 26379 sentinel-user u sentinel-pass '' loglevel Warning"
        )),
        C::ConfigSet(vec![
            config_arg(
                "resolve-hostnames",
                "YES",
                ConfigSetting::ResolveHostnames(true)
            ),
            config_arg(
                "announce-hostnames",
                "no",
                ConfigSetting::AnnounceHostnames(false)
            ),
            config_arg("announce-ip", "", ConfigSetting::AnnounceIp(None)),
            config_arg("Announce-Port", "26379", ConfigSetting::AnnouncePort(26379)),
            config_arg(
                "sentinel-user",
                "u",
                ConfigSetting::SentinelUser(Some("u".into()))
            ),
            config_arg("sentinel-pass", "", ConfigSetting::SentinelPass(None)),
            config_arg(
                "loglevel",
                "Warning",
                ConfigSetting::Loglevel("warning".into())
            ),
        ])
    );
    let shape = "ERR Only SENTINEL CONFIG GET <param> [<param> <param> ...] / SET <param> <value> [<param> <value> ...] are supported.";
    assert_eq!(
        dispatch("sentinel config get"),
        "ERR wrong number of arguments for 'sentinel|config' command"
    );
    assert_eq!(invalid("sentinel config set a"), shape);
    assert_eq!(invalid("sentinel config foo x"), shape);
    // Pair by pair, in Redis's order: unknown, repeated, missing value, bad value.
    let cases = [
        (
            "bogus 1",
            "ERR Invalid argument 'bogus' to SENTINEL CONFIG SET",
        ),
        (
            "announce-ip a ANNOUNCE-IP b",
            "ERR Duplicate argument 'ANNOUNCE-IP' to SENTINEL CONFIG SET",
        ),
        (
            "announce-ip a loglevel",
            "ERR Missing argument 'loglevel' value",
        ),
        (
            "loglevel loud bogus 1",
            "ERR Invalid value 'loud' to SENTINEL CONFIG SET 'loglevel'",
        ),
        (
            "announce-port 65536",
            "ERR Invalid value '65536' to SENTINEL CONFIG SET 'announce-port'",
        ),
        (
            "announce-port -1",
            "ERR Invalid value '-1' to SENTINEL CONFIG SET 'announce-port'",
        ),
        (
            "resolve-hostnames maybe",
            "ERR Invalid value 'maybe' to SENTINEL CONFIG SET 'resolve-hostnames'",
        ),
        (
            "announce-hostnames 1",
            "ERR Invalid value '1' to SENTINEL CONFIG SET 'announce-hostnames'",
        ),
    ];
    for (args, text) in cases {
        assert_eq!(
            invalid(&format!("sentinel config set {args}")),
            text,
            "{args}"
        );
    }
}

#[test]
fn simulate_failure_and_debug() {
    assert_eq!(
        ok("sentinel simulate-failure CRASH-AFTER-ELECTION crash-after-promotion"),
        C::SimulateFailure {
            flags: 3,
            end: None
        }
    );
    assert_eq!(
        ok("sentinel simulate-failure crash-after-promotion help crash-after-election"),
        C::SimulateFailure {
            flags: 2,
            end: Some(SimulateEnd::Help)
        }
    );
    assert_eq!(
        ok("sentinel simulate-failure crash-after-election bogus"),
        C::SimulateFailure {
            flags: 1,
            end: Some(SimulateEnd::Unknown)
        }
    );
    assert_eq!(ok("sentinel debug"), C::DebugShow);
    assert_eq!(
        ok("sentinel debug PING-PERIOD 100 info-period 2000"),
        C::DebugSet {
            timings: vec![("ping-period", 100), ("info-period", 2000)],
            error: None
        }
    );
    let cases = [
        (
            "info-period",
            0,
            "ERR Unknown option or number of arguments for SENTINEL DEBUG 'info-period'",
        ),
        (
            "ping-period 100 bogus 1",
            1,
            "ERR Unknown option or number of arguments for SENTINEL DEBUG 'bogus'",
        ),
        (
            "ping-period 0",
            0,
            "ERR Invalid argument '0' for SENTINEL DEBUG 'ping-period'",
        ),
        (
            "tilt-period 1 Tilt-Trigger x",
            1,
            "ERR Invalid argument 'x' for SENTINEL DEBUG 'Tilt-Trigger'",
        ),
    ];
    for (args, kept, text) in cases {
        let C::DebugSet { timings, error } = ok(&format!("sentinel debug {args}")) else {
            panic!("{args}: not DEBUG set");
        };
        assert_eq!(timings.len(), kept, "{args}");
        assert_eq!(error.as_deref(), Some(text), "{args}");
    }
}

/// Random argv (command words, keywords, numbers, junk bytes, any length) never makes parse panic, and
/// it is deterministic.
#[test]
fn random_argv_never_panics() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let firsts = ["sentinel", "SENTINEL", "role", "publish", "get", ""];
    let mut words: Vec<&str> = SUBCOMMANDS.iter().map(|(n, _)| *n).collect();
    words.extend([
        "get",
        "set",
        "quorum",
        "rename-command",
        "loglevel",
        "announce-port",
        "help",
        "-1",
        "0",
        "65536",
        "4294967296",
        "9223372036854775808",
        "*",
        "",
        "crash-after-election",
        "info-period",
        "__sentinel__:hello",
        "auth-pass",
        "notification-script",
        "resolve-hostnames",
    ]);
    for _ in 0..20_000 {
        let len = next(9);
        let mut v: Vec<Vec<u8>> = Vec::new();
        for i in 0..len {
            let w = if i == 0 {
                firsts[next(firsts.len() as u64) as usize]
                    .as_bytes()
                    .to_vec()
            } else if next(5) == 0 {
                (0..next(6)).map(|_| next(256) as u8).collect()
            } else {
                words[next(words.len() as u64) as usize].as_bytes().to_vec()
            };
            v.push(w);
        }
        let a = C::parse(&v);
        assert_eq!(a, C::parse(&v));
        if let Err(e) = a {
            assert!(e.reply().is_error(), "{v:?}: {e:?}");
        }
    }
}

/// Valkey 8+'s `SENTINEL SET <name> primary-reboot-down-after-period <ms>` sets the same option as
/// Redis's `master-reboot-down-after-period`; the `+set` event shows the option as typed, as Valkey's.
#[test]
fn set_accepts_valkeys_primary_reboot_period() {
    let C::Set { options, error, .. } = ok("sentinel set m PRIMARY-reboot-down-after-period 250")
    else {
        panic!("not a SET");
    };
    assert_eq!(error, None);
    assert_eq!(
        options,
        vec![set_arg(
            "PRIMARY-reboot-down-after-period",
            "250",
            SetOption::MasterRebootDownAfterPeriod(250)
        )]
    );
    let C::Set { error, .. } = ok("sentinel set m primary-reboot-down-after-period -1") else {
        panic!("not a SET");
    };
    assert_eq!(
        error,
        Some(
            "ERR Invalid argument '-1' for SENTINEL SET 'primary-reboot-down-after-period'".into()
        )
    );
}

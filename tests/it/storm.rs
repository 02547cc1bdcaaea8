//! Failover storm (Step 6): one host carrying many masters dies at once, so every master needs its own
//! election at the same moment. 20 masters with one replica each are watched by 3 sentinels; all masters
//! are SIGKILLed in one loop, and every master must be switched to its replica on every sentinel within
//! down-after + 1 s of the kill, none of them twice. (The 100-master figures, side by side with
//! redis-sentinel, come from `scripts/bench --storm`; the simulation checks the same in
//! `crates/vedette-sim/tests/storm.rs`.)

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::common::{wait_until, Events, RedisServer, Sentinel, SentinelConf, Value};

const MASTERS: usize = 20;
const DOWN_AFTER_MS: u64 = 1000;
const FAILOVER_TIMEOUT_MS: u64 = 10_000;
/// The deadline after the kill: down-after + 1 s.
const BOUND: Duration = Duration::from_millis(DOWN_AFTER_MS + 1000);

/// (sentinel, master name) -> every `+switch-master` since the kill, as (ms after the kill, new port).
type Switches = BTreeMap<(usize, String), Vec<(u128, Option<u16>)>>;

#[test]
fn storm_of_20_masters_switches_every_master_once_within_down_after_plus_1s() {
    let extra = ["--maxmemory", "16mb"];
    let mut masters: Vec<RedisServer> = (0..MASTERS)
        .map(|_| RedisServer::start_with(None, &extra))
        .collect();
    let replicas: Vec<RedisServer> = masters
        .iter()
        .map(|m| RedisServer::start_with(Some(m.port), &extra))
        .collect();
    for r in &replicas {
        wait_until(
            Duration::from_secs(20),
            format!("replica {} linked", r.port),
            || r.info_field("replication", "master_link_status").as_deref() == Some("up"),
        );
    }
    let mut conf = SentinelConf::new();
    for (i, m) in masters.iter().enumerate() {
        conf = conf
            .monitor(&format!("m{i}"), m.port, 2)
            .down_after(DOWN_AFTER_MS)
            .failover_timeout(FAILOVER_TIMEOUT_MS);
    }
    let sentinels: Vec<Sentinel> = (0..3)
        .map(|i| {
            let c = if i == 0 {
                conf.clone()
            } else {
                conf.on_new_port()
            };
            Sentinel::subject(c)
        })
        .collect();
    for s in &sentinels {
        // As Redis's own suite does: a stalled test machine must not freeze failovers for 30 s.
        let r = s.cmd(&["SENTINEL", "DEBUG", "tilt-period", "5000"]);
        assert_eq!(
            r,
            Value::Status("OK".into()),
            "SENTINEL DEBUG on {}",
            s.port
        );
    }
    for s in &sentinels {
        for i in 0..MASTERS {
            s.wait_settled(&format!("m{i}"), 1, Some(2));
        }
    }
    let events: Vec<Events> = sentinels.iter().map(Sentinel::events).collect();

    // The host dies: every master SIGKILLed in one loop, then reaped.
    let pids: Vec<i32> = masters.iter().filter_map(RedisServer::pid).collect();
    assert_eq!(pids.len(), MASTERS);
    let t0 = Instant::now();
    for &pid in &pids {
        // SAFETY: kill(2) on our own unreaped children (the fixtures hold their `Child`).
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    for m in &mut masters {
        m.kill();
    }

    let want: BTreeMap<String, u16> = replicas
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("m{i}"), r.port))
        .collect();
    let switches = |evs: &[Events]| {
        let mut out = Switches::new();
        for (s, ev) in evs.iter().enumerate() {
            for e in ev.all() {
                if e.channel != "+switch-master" || e.at < t0 {
                    continue;
                }
                let f: Vec<&str> = e.payload.split_whitespace().collect();
                if let Some(name) = f.first() {
                    out.entry((s, name.to_string())).or_default().push((
                        (e.at - t0).as_millis(),
                        f.get(4).and_then(|p| p.parse().ok()),
                    ));
                }
            }
        }
        out
    };
    let all_switched = |sw: &Switches| {
        (0..sentinels.len()).all(|s| want.keys().all(|m| sw.contains_key(&(s, m.clone()))))
    };
    // Wait for the switches (a little past the bound, to report how late a slow run was), then watch a
    // while longer for second switches.
    let give_up = t0 + BOUND + Duration::from_secs(10);
    while !all_switched(&switches(&events)) && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));
    let sw = switches(&events);

    let mut problems = Vec::new();
    let mut worst = 0u128;
    for s in 0..sentinels.len() {
        for (m, &replica) in &want {
            match sw.get(&(s, m.clone())) {
                None => problems.push(format!("sentinel {s} never switched {m}")),
                Some(v) => {
                    worst = worst.max(v[0].0);
                    if v[0].0 > BOUND.as_millis() {
                        problems.push(format!(
                            "sentinel {s} switched {m} {} ms after the kill",
                            v[0].0
                        ));
                    }
                    if v.len() > 1 {
                        problems.push(format!(
                            "sentinel {s} switched {m} {} times: {v:?}",
                            v.len()
                        ));
                    }
                    if v.iter().any(|(_, p)| *p != Some(replica)) {
                        problems.push(format!(
                            "sentinel {s} switched {m} elsewhere than :{replica}: {v:?}"
                        ));
                    }
                }
            }
        }
    }
    let count = |kind: &str| -> usize { events.iter().map(|e| e.count(kind)).sum() };
    let summary = format!(
        "last master switched everywhere {worst} ms after the kill; +try-failover {}, +elected-leader {}, \
         -failover-abort-not-elected {}, +tilt {}",
        count("+try-failover"),
        count("+elected-leader"),
        count("-failover-abort-not-elected"),
        count("+tilt"),
    );
    eprintln!("storm of {MASTERS} masters: {summary}");
    if !problems.is_empty() {
        let mut report = String::new();
        for (s, ev) in events.iter().enumerate() {
            let _ = writeln!(
                report,
                "--- election events of sentinel {s} since the kill ---"
            );
            for e in ev.all().iter().filter(|e| e.at >= t0) {
                if matches!(
                    e.channel.as_str(),
                    "+odown"
                        | "+try-failover"
                        | "+elected-leader"
                        | "-failover-abort-not-elected"
                        | "+switch-master"
                        | "+tilt"
                ) {
                    let _ = writeln!(
                        report,
                        "  +{}ms {} {}",
                        (e.at - t0).as_millis(),
                        e.channel,
                        e.payload
                    );
                }
            }
        }
        problems.truncate(20);
        panic!("{summary}\n{}\n{report}", problems.join("\n"));
    }
}

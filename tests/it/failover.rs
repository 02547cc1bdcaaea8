//! Step 3 — failover with three vedettes against real `redis-server`s (reference §5.3–§7, §10; Redis's own
//! `tests/sentinel/tests/00-base`, `02-slaves-reconf`, `05-manual`).
//!
//! Every cluster uses down-after-milliseconds 1000, failover-timeout 10000, quorum 2 unless said otherwise.
//! Replicas get different `replica-priority` values so the promoted one is known in advance (lower wins,
//! 0 = never). Figures (failover time, reaction times, writer outage) are printed with `eprintln!`; run with
//! `--nocapture` to see them.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cluster::{
    assert_single_failover, failover_until_ok, missing_writes, subject_is_vedette, switch_payload,
    wait_role_slave, Cluster, SeqWriter, Spec, FAILOVER_DEADLINE,
};
use crate::common::{resp, wait_until, Value, MASTER};

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// SIGKILL of the master: exactly one failover to the priority-50 replica, the other replica follows it, all
/// vedettes agree, and the restarted old master becomes a replica of the new one.
#[test]
fn sigkill_master_one_failover_best_replica() {
    let mut c = Cluster::start(Spec::vedettes(3, &[50, 100]));
    let (old, best) = (c.port(0), c.port(1));
    let t = Instant::now();
    c.servers[0].kill();
    let (took, leader) = assert_single_failover(&c, t, old, best);
    eprintln!(
        "sigkill: failover took {took:?} (SIGKILL → first +switch-master), leader {}",
        c.sname(leader)
    );
    let d = c.wait_replica_of(2, best, SECS(20));
    eprintln!("sigkill: other replica linked to the new master {d:?} after the checks");
    // The old master restarts with its own config (a master) and must be turned into a replica.
    c.servers[0].restart();
    let d = wait_role_slave(&c, 0, best, SECS(30));
    eprintln!("sigkill: restarted old master became a replica {d:?} after answering PING");
    c.wait_replica_of(0, best, SECS(20));
    c.wait_settled(2);
    c.watch_quiet(SECS(3), "+switch-master", &[1, 1, 1], 1);
}

/// SIGSTOP of the master: same failover; after SIGCONT the old master is demoted within ~1 s.
#[test]
fn sigstop_master_one_failover_and_quick_demotion() {
    let c = Cluster::start(Spec::vedettes(3, &[50, 100]));
    let (old, best) = (c.port(0), c.port(1));
    let t = Instant::now();
    c.servers[0].stop();
    let (took, leader) = assert_single_failover(&c, t, old, best);
    eprintln!(
        "sigstop: failover took {took:?} (SIGSTOP → first +switch-master), leader {}",
        c.sname(leader)
    );
    c.wait_replica_of(2, best, SECS(20));
    c.servers[0].cont();
    let d = wait_role_slave(&c, 0, best, SECS(20));
    eprintln!("sigstop: old master converted to a replica {d:?} after SIGCONT");
    assert!(
        !subject_is_vedette() || d <= Duration::from_millis(1500),
        "resumed old master took {d:?} (> 1.5 s) to become a replica\n{}",
        c.render_events()
    );
    c.wait_replica_of(0, best, SECS(20));
    c.wait_settled(2);
    c.watch_quiet(SECS(3), "+switch-master", &[1, 1, 1], 1);
}

/// `SENTINEL FAILOVER` on an all-vedette cluster: OK (after possible -NOGOODSLAVE), an immediate second call
/// answers -INPROG, the best replica is promoted, everyone follows, and the old master (still running) is
/// demoted.
#[test]
fn forced_failover_all_vedettes() {
    let c = Cluster::start(Spec::vedettes(3, &[50, 100]));
    let (old, best) = (c.port(0), c.port(1));
    let t = Instant::now();
    failover_until_ok(c.sentinels[0].port, SECS(30));
    let again = c.sentinels[0].cmd(&["SENTINEL", "FAILOVER", MASTER]);
    assert!(
        matches!(&again, Value::Error(e) if e.contains("INPROG")),
        "second SENTINEL FAILOVER answered {again:?}, want -INPROG"
    );
    let (took, leader) = assert_single_failover(&c, t, old, best);
    assert_eq!(
        leader, 0,
        "the forced failover must be led by the sentinel that was asked"
    );
    eprintln!("forced: SENTINEL FAILOVER → first +switch-master {took:?}");
    c.wait_replica_of(2, best, SECS(20));
    let d = wait_role_slave(&c, 0, best, SECS(30));
    eprintln!("forced: old master demoted {d:?} after the checks");
    c.wait_replica_of(0, best, SECS(20));
    c.wait_settled(2);
    c.watch_quiet(SECS(2), "+switch-master", &[1, 1, 1], 1);
}

/// Send `SENTINEL FAILOVER` to a sentinel that is about to crash: the reply may never come.
fn failover_may_crash(port: u16) {
    let deadline = Instant::now() + SECS(30);
    loop {
        match resp::call(port, &["SENTINEL", "FAILOVER", MASTER]) {
            Ok(Value::Error(e)) if e.starts_with("NOGOODSLAVE") => {}
            Ok(Value::Status(s)) if s == "OK" => return,
            Ok(other) => panic!("SENTINEL FAILOVER on {port} answered {other:?}"),
            Err(_) => return, // exited before replying
        }
        assert!(
            Instant::now() < deadline,
            "SENTINEL FAILOVER on {port}: -NOGOODSLAVE for 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `SENTINEL SIMULATE-FAILURE crash-after-election` then FAILOVER: exit status 99, nothing promoted. Then
/// `crash-after-promotion` on another vedette: exit 99 after the promotion; once restarted it announces the
/// new configuration it persisted and everybody follows it.
#[test]
fn simulate_failure_crashes_exit_99() {
    let mut c = Cluster::start(Spec::vedettes(3, &[50, 100]));
    let (old, best) = (c.port(0), c.port(1));
    let s0 = c.sentinels[0].port;
    let r = c.sentinels[0].cmd(&["SENTINEL", "SIMULATE-FAILURE", "crash-after-election"]);
    assert_eq!(r, Value::Status("OK".into()));
    failover_may_crash(s0);
    let status = crate::common::wait_for(SECS(10), "vedette to exit after election", || {
        c.sentinels[0].exited()
    });
    assert_eq!(
        status.code(),
        Some(99),
        "crash-after-election: exit status {status}"
    );
    // `+elected-leader` is emitted just before the crash (as in Redis), so it may or may not reach a
    // subscriber; nothing after it may happen.
    assert_eq!(
        c.total("+selected-slave") + c.total("+promoted-slave"),
        0,
        "{}",
        c.render_events()
    );
    assert_eq!(c.servers[1].role().as_deref(), Some("slave"));
    assert_eq!(c.servers[0].role().as_deref(), Some("master"));
    // Back up from its persisted state.
    c.sentinels[0].restart();
    c.wait_settled(2);
    c.wait_master_everywhere(old, SECS(5));

    let s1 = c.sentinels[1].port;
    let r = c.sentinels[1].cmd(&["SENTINEL", "SIMULATE-FAILURE", "crash-after-promotion"]);
    assert_eq!(r, Value::Status("OK".into()));
    failover_may_crash(s1);
    let status = crate::common::wait_for(SECS(20), "vedette to exit after promotion", || {
        c.sentinels[1].exited()
    });
    assert_eq!(
        status.code(),
        Some(99),
        "crash-after-promotion: exit status {status}"
    );
    assert_eq!(
        c.servers[1].role().as_deref(),
        Some("master"),
        "the replica must have been promoted before the crash"
    );
    // It persisted the promoted address and the new config epoch before crashing (§7.1): restarted, it
    // announces them and the others switch.
    c.sentinels[1].restart();
    c.wait_master_everywhere(best, SECS(20));
    c.wait_same_config_epoch(SECS(10));
    wait_role_slave(&c, 0, best, SECS(30));
    c.wait_replica_of(2, best, SECS(30));
}

/// A sentinel in a minority (2 of 3 killed) with quorum 1 reaches +odown but cannot be elected: no promotion.
#[test]
fn minority_cannot_failover() {
    let mut c = Cluster::start(Spec::vedettes(3, &[50, 100]).quorum(1));
    c.sentinels[1].kill();
    c.sentinels[2].kill();
    c.servers[0].kill();
    let odown = c.events[0].wait_for("+odown", "master mymaster", SECS(15));
    c.events[0].wait_for("+try-failover", "master mymaster", SECS(5));
    // For 5 s after +odown: nobody elected, the replicas stay replicas.
    let end = odown.at + SECS(5);
    while Instant::now() < end {
        if c.total("+elected-leader") != 0 || c.total("+promoted-slave") != 0 {
            c.fail("a sentinel in a minority was elected / promoted a replica");
        }
        for i in [1, 2] {
            let role = c.servers[i].role();
            if role.as_deref() != Some("slave") {
                c.fail(format!("server {} role {role:?} in a minority", c.port(i)));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // The attempt ends for lack of votes after min(election timeout 10 s, failover-timeout).
    c.events[0].wait_for("-failover-abort-not-elected", "master mymaster", SECS(15));
    assert_eq!(c.total("+switch-master"), 0, "{}", c.render_events());
}

/// `replica-priority 0` is never promoted, even though it would otherwise sort first (lower is better).
#[test]
fn priority_zero_never_promoted() {
    let mut c = Cluster::start(Spec::vedettes(1, &[0, 100]).quorum(1));
    let (old, zero, good) = (c.port(0), c.port(1), c.port(2));
    let t = Instant::now();
    c.servers[0].kill();
    let (took, _) = assert_single_failover(&c, t, old, good);
    eprintln!("priority 0: failover took {took:?}");
    c.wait_replica_of(1, good, SECS(20));
    assert!(
        c.on(0, "+selected-slave")
            .iter()
            .all(|e| !e.payload.contains(&format!(":{zero} "))),
        "{}",
        c.render_events()
    );
}

/// The only replica has `replica-priority 0`: `-failover-abort-no-good-slave`, nothing promoted.
#[test]
fn priority_zero_only_replica_aborts() {
    let mut c = Cluster::start(Spec::vedettes(1, &[0]).quorum(1));
    c.servers[0].kill();
    let abort = c.events[0].wait_for("-failover-abort-no-good-slave", "master mymaster", SECS(15));
    let end = abort.at + SECS(3);
    while Instant::now() < end {
        if c.total("+promoted-slave") + c.total("+selected-slave") + c.total("+switch-master") != 0
        {
            c.fail("a replica with priority 0 was selected");
        }
        if c.servers[1].role().as_deref() != Some("slave") {
            c.fail("the priority-0 replica is no longer a replica");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Scripts

/// Write an executable script that appends `<parent pid> <tag> [arg1] [arg2] …` to `out`. The parent PID
/// tells which sentinel ran it (scripts are direct children of the sentinel, §10.1).
fn logging_script(dir: &Path, name: &str, tag: &str, out: &Path) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "#!/bin/sh\nline=\"$PPID {tag}\"\nfor a in \"$@\"; do line=\"$line [$a]\"; done\nprintf '%s\\n' \"$line\" >> '{}'\nexit 0\n",
        out.display()
    );
    fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    path
}

fn lines_of(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// notification-script and client-reconfig-script (from the config file on two vedettes, set at runtime
/// with `SENTINEL SET` on the third): after a failover the reconfig script got
/// `<master> leader|observer start <from-ip> <from-port> <to-ip> <to-port>` (one leader), the notification
/// script got `+sdown` and `+switch-master`.
#[test]
fn scripts_run_on_failover() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let notify_log = dir.path().join("notify.log");
    let reconf_log = dir.path().join("reconfig.log");
    let notify = logging_script(dir.path(), "notify.sh", "cfg", &notify_log);
    let reconf = logging_script(dir.path(), "reconfig.sh", "cfg", &reconf_log);
    let notify_set = logging_script(dir.path(), "notify-set.sh", "set", &notify_log);
    let reconf_set = logging_script(dir.path(), "reconfig-set.sh", "set", &reconf_log);
    let mut spec = Spec::vedettes(3, &[50, 100]);
    spec.lines = vec![
        "sentinel deny-scripts-reconfig no".into(),
        format!("sentinel notification-script {MASTER} {}", notify.display()),
        format!(
            "sentinel client-reconfig-script {MASTER} {}",
            reconf.display()
        ),
    ];
    let mut c = Cluster::start(spec);
    for (opt, path) in [
        ("notification-script", &notify_set),
        ("client-reconfig-script", &reconf_set),
    ] {
        let path = path.display().to_string();
        let r = c.sentinels[2].cmd(&["SENTINEL", "SET", MASTER, opt, &path]);
        assert_eq!(r, Value::Status("OK".into()), "SENTINEL SET {opt}");
    }
    let pids: Vec<String> = c
        .sentinels
        .iter()
        .map(|s| s.pid().unwrap_or_default().to_string())
        .collect();
    let tag = |i: usize| if i == 2 { "set" } else { "cfg" };
    // At start-up every configured master's +monitor runs the notification script.
    wait_until(SECS(10), "+monitor notifications at start-up", || {
        let l = lines_of(&notify_log);
        (0..2).all(|i| {
            l.iter()
                .any(|x| x.starts_with(&format!("{} cfg [+monitor] [master {MASTER} ", pids[i])))
        })
    });

    let (old, best) = (c.port(0), c.port(1));
    let t = Instant::now();
    c.servers[0].kill();
    let (_, leader) = assert_single_failover(&c, t, old, best);
    let reconf_args = |role: &str| {
        format!("[{MASTER}] [{role}] [start] [127.0.0.1] [{old}] [127.0.0.1] [{best}]")
    };
    let check = || -> Result<(), String> {
        let r = lines_of(&reconf_log);
        let n = lines_of(&notify_log);
        for (i, pid) in pids.iter().enumerate() {
            let role = if i == leader { "leader" } else { "observer" };
            let want = format!("{pid} {} {}", tag(i), reconf_args(role));
            if !r.contains(&want) {
                return Err(format!("reconfig log lacks `{want}`:\n{}", r.join("\n")));
            }
            // Every warning-level event about the master that the sentinel published ran the script. (Not
            // every sentinel sees +sdown: an observer can learn the switch from a hello first.)
            let mut published = Vec::new();
            for ch in [
                "+sdown",
                "+odown",
                "+try-failover",
                "+elected-leader",
                "+switch-master",
            ] {
                published.extend(c.on(i, ch).into_iter().map(|e| (ch, e.payload)));
            }
            if !published.iter().any(|(ch, _)| *ch == "+switch-master")
                || (i == leader && !published.iter().any(|(ch, _)| *ch == "+sdown"))
            {
                return Err(format!(
                    "{}: +sdown/+switch-master not published",
                    c.sname(i)
                ));
            }
            for (ch, payload) in published {
                let want = format!("{pid} {} [{ch}] [{payload}]", tag(i));
                if !n.contains(&want) {
                    return Err(format!("notify log lacks `{want}`:\n{}", n.join("\n")));
                }
            }
        }
        let leaders = r.iter().filter(|l| l.contains("] [leader] [")).count();
        if leaders != 1 {
            return Err(format!(
                "want one `leader` reconfig call, have {leaders}:\n{}",
                r.join("\n")
            ));
        }
        Ok(())
    };
    let deadline = Instant::now() + SECS(10);
    loop {
        match check() {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => c.fail(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    eprintln!(
        "scripts: client-reconfig-script calls (<parent pid> <cfg|set> [args]…):\n{}",
        lines_of(&reconf_log).join("\n")
    );
    // The runtime-set scripts replaced the configured ones on that vedette.
    assert!(
        lines_of(&reconf_log)
            .iter()
            .all(|l| !l.starts_with(&format!("{} cfg ", pids[2]))),
        "vedette 2 still ran the configured script after SENTINEL SET"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Repeated failovers under write load

/// The master is killed 10 times in a row (the killed one restarted each time, so there are always two
/// replicas) while a writer writes sequenced keys to whatever the vedettes report: exactly one failover per
/// kill, no second failover within 5 s of convergence, and no write confirmed by `WAIT 1 100` is lost.
#[test]
fn ten_kills_one_failover_each_no_acked_write_lost() {
    repeated_failovers(10, false);
}

/// Same with SIGSTOP/SIGCONT, 5 times: the resumed old master still holds the writer's pending write and its
/// stale data; it must be demoted, and nothing confirmed is lost.
#[test]
fn five_stops_one_failover_each_no_acked_write_lost() {
    repeated_failovers(5, true);
}

/// Take the master away `kills` times (SIGKILL + restart, or SIGSTOP + SIGCONT) under write load.
fn repeated_failovers(kills: usize, stop: bool) {
    let how = if stop { "stop" } else { "kill" };
    let mut c = Cluster::start(Spec::vedettes(3, &[100, 100]));
    let mut writer = SeqWriter::start(c.sentinel_ports());
    let mut master = 0usize;
    writer.wait_ack_after(Instant::now(), c.port(master), SECS(10));
    let test_start = Instant::now();
    let mut figures = Vec::new();
    for k in 1..=kills {
        let old = c.port(master);
        let t = Instant::now();
        if stop {
            c.servers[master].stop();
        } else {
            c.servers[master].kill();
        }
        c.wait_counts("+switch-master", k, FAILOVER_DEADLINE);
        let first = c
            .first_after("+switch-master", t)
            .unwrap_or_else(|| c.fail("no +switch-master after the kill"));
        let new = c.sentinels[0]
            .master_port(MASTER)
            .unwrap_or_else(|| c.fail("sentinel 0 does not answer GET-MASTER-ADDR-BY-NAME"));
        if new == old {
            c.fail(format!("{how} {k}: still reporting the old master {old}"));
        }
        let want = switch_payload(old, new);
        for i in 0..3 {
            let sw = c.on(i, "+switch-master");
            if sw.len() != k || sw[k - 1].payload != want {
                c.fail(format!(
                    "{how} {k}: {} has {} +switch-master (last {:?}), want {k} ending with `{want}`",
                    c.sname(i),
                    sw.len(),
                    sw.last().map(|e| &e.payload)
                ));
            }
        }
        let leaders = c.total("+elected-leader");
        if leaders != k {
            c.fail(format!(
                "{how} {k}: {leaders} +elected-leader overall, want {k}"
            ));
        }
        c.wait_master_everywhere(new, SECS(10));
        let ack = writer.wait_ack_after(t, new, SECS(20));
        let outage = writer.outage_around(t, new).unwrap_or_default();
        // Restart the killed server as a master (its own config), or resume it; it must be demoted.
        let new_idx = c.index_of(new);
        let third = 3 - master - new_idx;
        if stop {
            c.servers[master].cont();
        } else {
            c.servers[master].set_replicaof(None);
            c.servers[master].restart();
        }
        let rejoin = wait_role_slave(&c, master, new, SECS(30));
        c.wait_replica_of(master, new, SECS(30));
        c.wait_replica_of(third, new, SECS(30));
        c.wait_settled(2);
        let epoch = c.wait_same_config_epoch(SECS(10));
        let converged = t.elapsed();
        figures.push(format!(
            "{how} {k}: {old}→{new} failover {:?}, writer outage {outage:?} (first ack after {how} at +{:?}), \
             old master demoted {rejoin:?} after restart/SIGCONT, converged {converged:?}, config epoch {epoch}",
            first - t,
            ack.at - t
        ));
        eprintln!("{}", figures.last().map(String::as_str).unwrap_or(""));
        if first - t > SECS(5) {
            // Exactly one failover still, but slow: an election failed. Show why.
            eprintln!(
                "SLOW FAILOVER ({how} {k}):\n{}\n{}",
                c.render_events_since(t),
                c.log_tails(60)
            );
        }
        // Watch: no second failover of the healthy new master.
        c.watch_quiet(SECS(5), "+switch-master", &[k, k, k], k);
        master = new_idx;
    }
    writer.stop();
    let acked = writer.acked();
    let (unconfirmed, errors, _) = writer.stats();
    let final_master = c.port(master);
    let missing = missing_writes(final_master, &acked);
    eprintln!(
        "{kills} × {how}: {} acknowledged writes ({unconfirmed} unconfirmed by WAIT, {errors} errors) in {:?}; \
         {} missing on the final master {final_master}",
        acked.len(),
        test_start.elapsed(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "acknowledged (WAIT ≥ 1) writes lost: {} of {}, first {:?}\n{}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(20)],
        figures.join("\n")
    );
}

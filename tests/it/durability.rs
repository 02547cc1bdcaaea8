//! Step 6 — a failing disk is reported, retried and never stops monitoring.
//!
//! The state file is broken the two ways an operator meets: replaced by a directory (what Redis's own suite
//! does in "Sentinel Set with other error situations", 03-runtime-reconf.tcl) and a full file system (a
//! 64 KiB tmpfs the test mounts and fills; needs root, as in CI). For `sentinel.conf` and for the state
//! file of a TOML configuration. While writes fail: `SENTINEL SET` answers Redis's error within 1 s,
//! `SENTINEL MASTER` within 1 s, the healthy master is never flagged `s_down`, the log grows by fewer than
//! 100 lines in 5 s and INFO shows the failure; once the disk is repaired the next write lands.
//! Figures (`DISK-FAULT` lines) are printed with `--nocapture`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::common::{
    free_port, info_field, resp, wait_until, Flavor, RedisServer, RespConn, Sentinel, SentinelConf,
    Value, MASTER,
};

/// Redis's reply when a command's config flush fails (sentinel.c `sentinelFlushConfigAndReply`).
const SAVE_FAILED: &str = "ERR Failed to save config file. Check server logs.";
/// Every answer while the disk fails must come within this.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);
/// How long monitoring is watched while writes fail.
const WATCH: Duration = Duration::from_secs(5);
/// Most log lines allowed during [`WATCH`].
const MAX_LOG_LINES: usize = 100;

// ---------------------------------------------------------------------------------------------------------
// Helpers

/// One command on a fresh connection; the reply and how long it took. A reply that does not come within
/// 3 s fails the test at once (a hang must not hang the test).
fn timed_call(port: u16, args: &[&str]) -> (Value, Duration) {
    let mut c = RespConn::connect(port).unwrap_or_else(|e| panic!("connect {port}: {e}"));
    c.set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap_or_else(|e| panic!("set timeout: {e}"));
    let t = Instant::now();
    let v = c
        .call(args)
        .unwrap_or_else(|e| panic!("{args:?} on {port}: no answer within 3 s ({e})"));
    (v, t.elapsed())
}

/// `args` must answer within [`ANSWER_WITHIN`]; returns the reply.
#[track_caller]
fn answers_fast(port: u16, args: &[&str]) -> Value {
    let (v, took) = timed_call(port, args);
    assert!(
        took < ANSWER_WITHIN,
        "{args:?} took {took:?} (limit {ANSWER_WITHIN:?}): {v:?}"
    );
    let mut shown = format!("{v:?}");
    shown.truncate(80);
    eprintln!("DISK-FAULT {args:?} answered in {took:?}: {shown}");
    v
}

fn log_lines(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

fn sentinel_info(port: u16, field: &str) -> Option<String> {
    let v = resp::call(port, &["INFO", "sentinel"]).ok()?;
    info_field(&v.text(), field)
}

/// The checks that hold while state writes fail. `error_hint` must appear in vedette's INFO error text.
fn writes_fail_loudly(s: &Sentinel, error_hint: &str) {
    let events = s.events();
    let lines_before = log_lines(&s.log_path());
    let v = answers_fast(
        s.port,
        &["SENTINEL", "SET", MASTER, "down-after-milliseconds", "1100"],
    );
    match s.flavor {
        Flavor::Vedette => assert_eq!(v, Value::Error(SAVE_FAILED.into())),
        // Redis's suite matches `ERR Failed to save config file*`.
        Flavor::Redis => assert!(
            matches!(&v, Value::Error(e) if e.starts_with("ERR Failed to save config file")),
            "{v:?}"
        ),
    }
    // The change is kept in memory, as in Redis.
    let _ = answers_fast(s.port, &["SENTINEL", "MASTER", MASTER]);
    assert_eq!(
        s.master_field(MASTER, "down-after-milliseconds").as_deref(),
        Some("1100")
    );
    let v = answers_fast(s.port, &["SENTINEL", "FLUSHCONFIG"]);
    assert!(
        matches!(&v, Value::Error(e) if e.starts_with("ERR Failed to save config file")),
        "{v:?}"
    );
    if s.flavor == Flavor::Vedette {
        wait_until(
            Duration::from_secs(2),
            "INFO reports failing writes",
            || sentinel_info(s.port, "sentinel_state_write_failing").as_deref() == Some("1"),
        );
        let err = sentinel_info(s.port, "sentinel_state_write_error").unwrap_or_default();
        assert!(
            err.contains(error_hint),
            "INFO error {err:?} lacks {error_hint:?}"
        );
        eprintln!("DISK-FAULT INFO sentinel_state_write_error:{err}");
    }
    // Monitoring goes on: for WATCH, every answer is quick and the master never looks down.
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    while start.elapsed() < WATCH {
        let (v, took) = timed_call(s.port, &["SENTINEL", "MASTER", MASTER]);
        worst = worst.max(took);
        assert!(took < ANSWER_WITHIN, "SENTINEL MASTER took {took:?}");
        let flags = v.field("flags").unwrap_or_default();
        assert!(!flags.contains("s_down"), "healthy master flagged {flags}");
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        events.count("+sdown"),
        0,
        "events while writes fail:\n{}",
        events.render()
    );
    let grew = log_lines(&s.log_path()) - lines_before;
    eprintln!(
        "DISK-FAULT {}: worst SENTINEL MASTER {worst:?}; log grew by {grew} lines in {:?}",
        s.flavor.name(),
        start.elapsed()
    );
    assert!(
        grew < MAX_LOG_LINES,
        "log grew by {grew} lines:\n{}",
        s.log_tail(30)
    );
}

/// After the repair: the next write lands (and carries the change made while writes failed).
fn next_write_lands(s: &Sentinel, state_file: &Path, expect: &str) {
    let v = answers_fast(s.port, &["SENTINEL", "FLUSHCONFIG"]);
    assert_eq!(v, Value::Status("OK".into()));
    let text = fs::read_to_string(state_file)
        .unwrap_or_else(|e| panic!("read {}: {e}", state_file.display()));
    assert!(text.contains(expect), "{expect:?} not in:\n{text}");
    if s.flavor == Flavor::Vedette {
        assert_eq!(
            sentinel_info(s.port, "sentinel_state_write_failing").as_deref(),
            Some("0")
        );
    }
}

/// Replace `file` by a directory (keeping its content aside); returns the content.
fn replace_by_directory(file: &Path) -> Vec<u8> {
    let content = fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    fs::remove_file(file).unwrap_or_else(|e| panic!("rm {}: {e}", file.display()));
    fs::create_dir(file).unwrap_or_else(|e| panic!("mkdir {}: {e}", file.display()));
    content
}

fn restore_file(file: &Path, content: &[u8]) {
    fs::remove_dir(file).unwrap_or_else(|e| panic!("rmdir {}: {e}", file.display()));
    fs::write(file, content).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// A small tmpfs mounted for the test; unmounted on drop.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mount a `size`-byte tmpfs on `path`, or say why not: `SKIPPED` unless in CI (which runs as root).
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        let skip = |why: String| {
            println!("SKIPPED: {why}");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must run this test (as root): {why}"
            );
            None
        };
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return skip("mounting a tmpfs needs root".into());
        }
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(path)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs {
                path: path.to_path_buf(),
            }),
            Ok(o) => skip(format!(
                "mount tmpfs failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => skip(format!("cannot run mount: {e}")),
        }
    }

    /// Fill it: write a filler file until the file system is full. Returns the filler's path.
    fn fill(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let mut f = fs::File::create(&filler).unwrap_or_else(|e| panic!("create filler: {e}"));
        let chunk = [0u8; 1024];
        loop {
            match f.write_all(&chunk).and_then(|()| f.sync_all()) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("fill tmpfs: {e}"),
            }
        }
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn sentinel_conf_on(dir: &Path, conf: &SentinelConf) -> PathBuf {
    let path = dir.join("sentinel.conf");
    fs::write(&path, conf.render(dir)).unwrap_or_else(|e| panic!("write conf: {e}"));
    path
}

/// A TOML configuration for vedette monitoring `master_port`, with its state file in `state_dir`.
fn toml_conf(at: &Path, port: u16, master_port: u16, state_dir: &Path) -> PathBuf {
    let path = at.join("sentinel.toml");
    let text = format!(
        "[sentinel]\nport = {port}\nbind = [\"127.0.0.1\"]\ndir = \"{}\"\n\n\
         [[master]]\nname = \"{MASTER}\"\nhost = \"127.0.0.1\"\nport = {master_port}\nquorum = 1\n\
         down-after-milliseconds = 1000\n",
        state_dir.display()
    );
    fs::write(&path, text).unwrap_or_else(|e| panic!("write toml: {e}"));
    path
}

fn tempdir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap_or_else(|e| panic!("temp dir: {e}"))
}

// ---------------------------------------------------------------------------------------------------------
// Tests

/// Redis's suite: the config replaced by a directory makes `SENTINEL SET` fail with its text — same text
/// from both implementations — and vedette keeps monitoring.
#[test]
fn config_replaced_by_a_directory() {
    // Separate masters, so the two sentinels do not discover each other.
    let master = RedisServer::start();
    let other = RedisServer::start();
    let redis = Sentinel::redis(SentinelConf::new().monitor(MASTER, other.port, 1));
    let s = Sentinel::subject(
        SentinelConf::new()
            .monitor(MASTER, master.port, 1)
            .down_after(1000),
    );
    redis.wait_settled(MASTER, 0, None);
    s.wait_settled(MASTER, 0, None);
    let args = ["SENTINEL", "SET", MASTER, "quorum", "1"];
    let saved_r = replace_by_directory(&redis.conf_path());
    let saved = replace_by_directory(&s.conf_path());
    let (reference, _) = timed_call(redis.port, &args);
    let (got, _) = timed_call(s.port, &args);
    assert_eq!(got, reference, "vedette vs redis-sentinel");
    assert!(
        matches!(&got, Value::Error(e) if e.starts_with("ERR Failed to save config file")),
        "{got:?}"
    );
    restore_file(&redis.conf_path(), &saved_r);
    drop(redis);

    writes_fail_loudly(&s, "Is a directory");
    restore_file(&s.conf_path(), &saved);
    next_write_lands(&s, &s.conf_path(), "down-after-milliseconds mymaster 1100");
}

/// `sentinel.conf` on a full 64 KiB tmpfs.
#[test]
fn config_on_a_full_file_system() {
    let mnt = tempdir("vedette-it-tmpfs-");
    let Some(fs_) = Tmpfs::mount(mnt.path(), "64k") else {
        return;
    };
    let master = RedisServer::start();
    let conf = SentinelConf::new()
        .monitor(MASTER, master.port, 1)
        .down_after(1000);
    let path = sentinel_conf_on(mnt.path(), &conf);
    let s = Sentinel::start_with_file(Flavor::subject(), conf.port, path.clone());
    s.wait_settled(MASTER, 0, None);
    let filler = fs_.fill();
    writes_fail_loudly(&s, "No space left on device");
    fs::remove_file(&filler).unwrap_or_else(|e| panic!("rm filler: {e}"));
    next_write_lands(&s, &path, "down-after-milliseconds mymaster 1100");
    drop(s);
}

/// vedette on a TOML configuration in `conf_dir` whose state file lives in `state_dir`, once the state
/// file exists; None (SKIPPED) when the subject is redis-sentinel.
fn toml_vedette(
    master_port: u16,
    conf_dir: &Path,
    state_dir: &Path,
) -> Option<(Sentinel, PathBuf)> {
    if Flavor::subject() != Flavor::Vedette {
        println!("SKIPPED: TOML configurations are vedette's own");
        return None;
    }
    let port = free_port();
    let toml = toml_conf(conf_dir, port, master_port, state_dir);
    let s = Sentinel::start_with_file(Flavor::Vedette, port, toml);
    s.wait_settled(MASTER, 0, None);
    let state = state_dir.join("vedette-state.toml");
    wait_until(Duration::from_secs(5), "the state file is written", || {
        state.is_file()
    });
    Some((s, state))
}

/// The state file of a TOML configuration replaced by a directory.
#[test]
fn toml_state_file_replaced_by_a_directory() {
    let master = RedisServer::start();
    let dir = tempdir("vedette-it-toml-");
    let Some((s, state)) = toml_vedette(master.port, dir.path(), dir.path()) else {
        return;
    };
    let saved = replace_by_directory(&state);
    writes_fail_loudly(&s, "Is a directory");
    restore_file(&state, &saved);
    next_write_lands(&s, &state, "1100");
}

/// The state file of a TOML configuration on a full 64 KiB tmpfs.
#[test]
fn toml_state_file_on_a_full_file_system() {
    let dir = tempdir("vedette-it-toml-");
    let mnt = tempdir("vedette-it-tmpfs-");
    let Some(fs_) = Tmpfs::mount(mnt.path(), "64k") else {
        return;
    };
    let master = RedisServer::start();
    let Some((s, state)) = toml_vedette(master.port, dir.path(), mnt.path()) else {
        return;
    };
    let filler = fs_.fill();
    writes_fail_loudly(&s, "No space left on device");
    fs::remove_file(&filler).unwrap_or_else(|e| panic!("rm filler: {e}"));
    next_write_lands(&s, &state, "1100");
    drop(s);
}

/// Group commit: one vote request per master arriving together (a failover storm seen by a voter) costs
/// a few writes, not one per vote; every vote is answered once its epoch is durable (a restarted
/// sentinel never votes again in the epoch it loaded), and each master's `leader-epoch` line follows.
#[test]
fn many_votes_share_few_writes() {
    if Flavor::subject() != Flavor::Vedette {
        println!("SKIPPED: the write counters in INFO are vedette's own");
        return;
    }
    const N: usize = 100;
    const CANDIDATE: &str = "0123456789abcdef0123456789abcdef01234567";
    // Masters nobody listens on: only their names and addresses matter to the vote.
    let ports: Vec<u16> = (0..N).map(|_| free_port()).collect();
    let mut conf = SentinelConf::new();
    for (i, p) in ports.iter().enumerate() {
        conf = conf.monitor(&format!("m{i}"), *p, 2);
    }
    let s = Sentinel::vedette(conf);
    let writes = || -> u64 {
        sentinel_info(s.port, "sentinel_state_writes")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no sentinel_state_writes in INFO"))
    };
    wait_until(Duration::from_secs(10), "all masters loaded", || {
        sentinel_info(s.port, "sentinel_masters").as_deref() == Some(&N.to_string())
    });
    let before = writes();
    // One burst, as a peer's link sends the asks of one tick.
    let mut burst = Vec::new();
    for p in &ports {
        let p = p.to_string();
        burst.extend(resp::encode_command(&[
            "SENTINEL",
            "is-master-down-by-addr",
            "127.0.0.1",
            &p,
            "1",
            CANDIDATE,
        ]));
    }
    let mut c = s.conn();
    let t = Instant::now();
    c.send_raw(&burst).unwrap_or_else(|e| panic!("send: {e}"));
    for p in &ports {
        let v = c
            .read()
            .unwrap_or_else(|e| panic!("vote reply for :{p}: {e}"));
        let items = v.items().map(<[Value]>::to_vec).unwrap_or_default();
        assert_eq!(
            items.get(1).and_then(Value::as_str).as_deref(),
            Some(CANDIDATE),
            "{v:?}"
        );
        assert_eq!(items.get(2).and_then(Value::as_int), Some(1), "{v:?}");
    }
    let took = t.elapsed();
    let used = writes() - before;
    eprintln!("GROUP-COMMIT {N} votes answered in {took:?} with {used} durable writes");
    assert!(used <= 5, "{used} writes for {N} votes");
    let text = fs::read_to_string(s.conf_path()).unwrap_or_default();
    assert!(
        text.lines().any(|l| l == "sentinel current-epoch 1"),
        "the epoch of the votes is on disk before they are answered:\n{text}"
    );
    let voted = || {
        fs::read_to_string(s.conf_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("sentinel leader-epoch ") && l.ends_with(" 1"))
            .count()
    };
    wait_until(
        Duration::from_secs(5),
        "every vote's leader-epoch on disk",
        || voted() == N,
    );
    assert!(
        writes() - before <= 6,
        "{} writes for {N} votes",
        writes() - before
    );
}

/// Pipelined core commands are handed to the core without waiting for each answer (that is what lets
/// votes share writes); the answers still come in request order, commands answered outside the core
/// (PING, CLIENT REPLY, the address cache) never overtake them, and the same pipeline gets the same
/// answers from redis-sentinel.
#[test]
fn pipelined_core_commands_answer_in_order() {
    let port = free_port().to_string();
    let pipeline: Vec<Vec<&str>> = vec![
        vec!["SENTINEL", "MONITOR", "pipe", "127.0.0.1", &port, "1"],
        vec!["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "pipe"],
        vec!["PING"],
        vec!["SENTINEL", "SET", "pipe", "quorum", "2"],
        vec!["CLIENT", "REPLY", "SKIP"],
        vec!["SENTINEL", "MYID"],
        vec!["SENTINEL", "REMOVE", "pipe"],
        vec!["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "pipe"],
        vec!["PING", "done"],
    ];
    let mut burst = Vec::new();
    for args in &pipeline {
        burst.extend(resp::encode_command(args));
    }
    let answers = |s: &Sentinel| -> Vec<Value> {
        let mut c = s.conn();
        c.send_raw(&burst).unwrap_or_else(|e| panic!("send: {e}"));
        (0..7)
            .map(|i| c.read().unwrap_or_else(|e| panic!("reply {i}: {e}")))
            .collect()
    };
    let redis = Sentinel::redis(SentinelConf::new());
    let s = Sentinel::subject(SentinelConf::new());
    let reference = answers(&redis);
    let got = answers(&s);
    assert_eq!(got, reference, "vedette vs redis-sentinel");
    assert_eq!(got[6], Value::Bulk(b"done".to_vec()), "{got:?}");
}

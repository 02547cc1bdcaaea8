//! State store tests: the write path through a real config (failure, symlinks, writability) and the
//! crash-safety test (a writer SIGKILLed at random moments must always leave one complete version).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use vedette_core::PersistedState;

use super::*;
use crate::config;
use crate::persist::tests::{entries, tempdir};

#[test]
fn store_write_fails_when_config_became_a_directory() {
    // Redis test 03: the config path replaced by a directory ⇒ the flush fails, nothing is lost.
    let (_t, dir) = tempdir();
    let p = dir.join("sentinel.conf");
    std::fs::write(
        &p,
        format!(
            "dir {}\nsentinel monitor m 127.0.0.1 6379 2\n",
            dir.display()
        ),
    )
    .expect("write");
    let cfg = config::load(&p).expect("load");
    std::fs::remove_file(&p).expect("rm");
    std::fs::create_dir(&p).expect("mkdir");
    let err = cfg
        .store
        .write(&cfg.state, &cfg.server)
        .expect_err("must fail");
    assert!(matches!(err, PersistError::Io { op: "read", .. }), "{err}");
    assert_eq!(entries(&dir), vec!["sentinel.conf"]);
}

#[test]
fn writes_through_a_symlink() {
    let (_t, dir) = tempdir();
    let real = dir.join("real.conf");
    std::fs::write(&real, format!("dir {}\n", dir.display())).expect("write");
    let link = dir.join("link.conf");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let mut cfg = config::load(&link).expect("load");
    cfg.state.myid = config::generate_myid();
    cfg.store.write(&cfg.state, &cfg.server).expect("write");
    assert!(std::fs::symlink_metadata(&link)
        .expect("meta")
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .expect("read")
        .contains(&cfg.state.myid));
}

#[test]
fn writability_check_uses_redis_messages() {
    let store = StateStore::redis_conf(PathBuf::from("/nonexistent/dir/sentinel.conf"), Vec::new());
    let msg = store.check_writable().expect_err("not writable");
    assert_eq!(
        msg,
        "Sentinel config file /nonexistent/dir/sentinel.conf is not writable: No such file or directory. Exiting..."
    );
    assert!(StateStore::discard().check_writable().is_ok());
}

// ---------------------------------------------------------------------------------------------
// Crash safety: a child process rewrites the state in a tight loop and is SIGKILLed at random moments;
// after each kill the file must load and be one complete version.

/// Set in the child: path of the config it rewrites.
const CHILD_ENV: &str = "VEDETTE_CRASH_CHILD_CONF";

/// Version `k` of the state: every field that changes is a function of `k`, so a loaded state is
/// complete iff it equals `version(state, state.current_epoch)`.
fn version(base: &PersistedState, k: u64) -> PersistedState {
    let mut s = base.clone();
    s.current_epoch = k;
    let m = s.masters.get_mut("m").expect("master m");
    m.config_epoch = k;
    m.leader_epoch = k;
    m.config.port = 6000 + (k % 1000) as u16;
    m.config.quorum = 1 + (k % 4) as u32;
    m.known_replicas = (0..(k % 7))
        .map(|i| ("127.0.0.1".to_string(), 7000 + i as u16))
        .collect();
    m.known_sentinels = (0..(k % 3))
        .map(|i| {
            (
                "127.0.0.1".to_string(),
                26000 + i as u16,
                format!("{i:040x}"),
            )
        })
        .collect();
    s
}

/// The child: not a real test unless `CHILD_ENV` is set (then it never returns normally before being
/// killed, bounded to 60 s / 1M writes).
#[test]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let cfg = config::load(Path::new(&path)).expect("child load");
    let start = cfg.state.current_epoch;
    let deadline = Instant::now() + Duration::from_secs(60);
    for k in start + 1..start + 1_000_000 {
        if Instant::now() > deadline {
            break;
        }
        cfg.store
            .write(&version(&cfg.state, k), &cfg.server)
            .expect("child write");
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_writer(conf: &Path) -> KillOnDrop {
    let exe = std::env::current_exe().expect("current_exe");
    let child = Command::new(exe)
        .args([
            "--exact",
            "config::store::tests::crash_child_writer",
            "--test-threads",
            "1",
            "--nocapture",
        ])
        .env(CHILD_ENV, conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    KillOnDrop(child)
}

/// Load and check one version; returns its epoch.
fn check_complete(conf: &Path, comment: Option<&str>) -> u64 {
    let cfg = config::load(conf).unwrap_or_else(|e| panic!("file does not load after kill: {e}"));
    let k = cfg.state.current_epoch;
    assert_eq!(
        cfg.state,
        version(&cfg.state, k),
        "incomplete or mixed version {k}"
    );
    if let Some(c) = comment {
        let text = std::fs::read_to_string(conf).expect("read");
        assert!(text.starts_with(c), "comment lost:\n{text}");
        assert!(text.ends_with('\n'));
    }
    k
}

fn crash_loop(conf: &Path, kills: usize, comment: Option<&str>) {
    let mut rng = rand::thread_rng();
    let mut last = check_complete(conf, comment);
    for round in 0..kills {
        let mut child = spawn_writer(conf);
        // Wait (bounded) until the child is writing, so the kill lands inside the write loop.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let k = check_complete(conf, comment);
            assert!(
                k >= last,
                "round {round}: epoch went back from {last} to {k}"
            );
            if k > last {
                break;
            }
            if let Ok(Some(status)) = child.0.try_wait() {
                panic!("round {round}: writer exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: writer made no progress"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..20_000)));
        child.0.kill().expect("SIGKILL");
        let status = child.0.wait().expect("wait");
        assert!(!status.success(), "child should have been killed");
        let k = check_complete(conf, comment);
        assert!(
            k >= last,
            "round {round}: epoch went back from {last} to {k}"
        );
        last = k;
    }
}

#[test]
fn sigkill_during_rewrites_never_leaves_a_partial_sentinel_conf() {
    let (_t, dir) = tempdir();
    let conf = dir.join("sentinel.conf");
    let comment = "# crash test\n# keep me\n";
    std::fs::write(
        &conf,
        format!(
            "{comment}port 26379\ndir {}\nsentinel myid {}\nsentinel monitor m 127.0.0.1 6000 1\n",
            dir.display(),
            "c".repeat(40)
        ),
    )
    .expect("write");
    crash_loop(&conf, 50, Some(comment));
}

#[test]
fn sigkill_during_writes_never_leaves_a_partial_toml_state_file() {
    let (_t, dir) = tempdir();
    let conf = dir.join("sentinel.toml");
    std::fs::write(
        &conf,
        format!(
            "[sentinel]\ndir = \"{}\"\nmyid = \"{}\"\n\n[[master]]\nname = \"m\"\nhost = \"127.0.0.1\"\nport = 6000\nquorum = 1\n",
            dir.display(),
            "d".repeat(40)
        ),
    )
    .expect("write");
    crash_loop(&conf, 20, None);
}

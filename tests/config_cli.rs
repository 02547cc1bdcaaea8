//! CLI-level configuration tests: `vedette --check-config`, start-up persistence of `myid`, the pid file,
//! and compatibility of rewritten files with a real `redis-sentinel` (127.0.0.1 only).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vedette::config;
use vedette_fixture::wait_until;

const BIN: &str = env!("CARGO_BIN_EXE_vedette");

fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let p = std::fs::canonicalize(t.path()).expect("canonical");
    (t, p)
}

fn vedette(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run vedette")
}

/// A free port on 127.0.0.1 outside the ephemeral range ([`vedette_fixture::free_port`]).
fn free_port() -> u16 {
    vedette_fixture::free_port().expect("free port")
}

/// Kills (SIGTERM, then SIGKILL) and reaps a process we started, also when a test fails.
struct Proc(Child);

impl Proc {
    fn stop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            // SAFETY: plain kill(2) on the pid of our own child.
            unsafe {
                libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn check_config_rejects_bad_file_with_file_and_line() {
    let (_t, dir) = tempdir();
    let conf = dir.join("bad.conf");
    std::fs::write(
        &conf,
        "# comment\nport 26379\n\nsentinel monitor mymaster 127.0.0.1 6379 0\n",
    )
    .expect("write");
    let out = vedette(&["--check-config", conf.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*** FATAL CONFIG FILE ERROR"), "{err}");
    assert!(
        err.contains("Reading the configuration file, at line 4"),
        "{err}"
    );
    assert!(
        err.contains(">>> 'sentinel monitor mymaster 127.0.0.1 6379 0'"),
        "{err}"
    );
    assert!(err.contains("Quorum must be 1 or greater."), "{err}");
    assert!(
        err.contains(&format!("{}:4: 'sentinel monitor'", conf.display())),
        "{err}"
    );

    // Unknown directive; relative path made absolute.
    std::fs::write(&conf, "port 26379\nfrobnicate yes\n").expect("write");
    let out = Command::new(BIN)
        .args(["--check-config", "bad.conf"])
        .current_dir(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2: 'frobnicate'", conf.display())),
        "{err}"
    );
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );

    // Missing file.
    let out = vedette(&["--check-config", "/nonexistent/sentinel.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("can't open config file"));

    // Bad TOML.
    let toml = dir.join("bad.toml");
    std::fs::write(&toml, "[sentinel]\nport = 1\nnope = true\n").expect("write");
    let out = vedette(&["--check-config", toml.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3: 'nope'", toml.display())),
        "{err}"
    );
}

#[test]
fn check_config_prints_effective_config() {
    let (_t, dir) = tempdir();
    let conf = dir.join("s.conf");
    std::fs::write(
        &conf,
        format!(
            "port 26379\ndir {}\nsentinel monitor mymaster 127.0.0.1 6379 2\nsentinel auth-pass mymaster secret\nunixsocket /tmp/vedette-unused.sock\n",
            dir.display()
        ),
    )
    .expect("write");
    let before = std::fs::read(&conf).expect("read");
    let out = vedette(&[
        "--check-config",
        conf.to_str().expect("utf8"),
        "--port",
        "26390",
        "--sentinel",
        "down-after-milliseconds",
        "mymaster",
        "5000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("port 26390\n"), "{text}");
    assert!(
        text.contains("sentinel monitor mymaster 127.0.0.1 6379 2\n"),
        "{text}"
    );
    assert!(
        text.contains("sentinel down-after-milliseconds mymaster 5000\n"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'unixsocket'"), "{err}");
    // --check-config never writes.
    assert_eq!(std::fs::read(&conf).expect("read"), before);

    // The example TOML validates.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("sentinel.toml.example");
    let out = vedette(&["--check-config", example.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn version_and_help() {
    let out = vedette(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let out = vedette(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--check-config"));
}

fn myid_in(conf: &Path) -> Option<String> {
    let text = std::fs::read_to_string(conf).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("sentinel myid "))
        .map(str::to_string)
}

#[test]
fn start_generates_and_persists_myid_and_pidfile() {
    let (_t, dir) = tempdir();
    let conf = dir.join("sentinel.conf");
    let port = free_port();
    std::fs::write(
        &conf,
        format!(
            "# my sentinel\nport {port}\nbind 127.0.0.1\ndir {}\npidfile vedette.pid\nlogfile log.txt\n\
             sentinel monitor mymaster 127.0.0.1 {} 2\n",
            dir.display(),
            free_port()
        ),
    )
    .expect("write");
    let mut p = Proc(
        Command::new(BIN)
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    wait_until(Duration::from_secs(10), "myid in the config", || {
        myid_in(&conf).is_some()
    });
    let id = myid_in(&conf).expect("myid");
    assert_eq!(id.len(), 40);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let text = std::fs::read_to_string(&conf).expect("read");
    assert!(text.starts_with("# my sentinel\n"), "{text}");
    // The pid file exists while running and is removed on a clean exit.
    match p.0.try_wait().expect("try_wait") {
        None => {
            let pid = std::fs::read_to_string(dir.join("vedette.pid")).unwrap_or_default();
            assert_eq!(pid.trim(), p.0.id().to_string());
            p.stop();
        }
        Some(status) => assert!(status.success(), "{status}"),
    }
    if p.0.try_wait().ok().flatten().is_some_and(|s| s.success()) {
        assert!(!dir.join("vedette.pid").exists());
    }
    assert!(dir.join("log.txt").exists(), "log file created in dir");
    // A restart keeps the id.
    let cfg = config::load(&conf).expect("reload");
    assert_eq!(cfg.state.myid, id);
}

#[test]
fn daemonize_forks_writes_pidfile_and_persists_myid() {
    let (_t, dir) = tempdir();
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {}\nbind 127.0.0.1\ndir {}\ndaemonize yes\npidfile {}\nsentinel monitor m 127.0.0.1 {} 1\n",
            free_port(),
            dir.display(),
            dir.join("d.pid").display(),
            free_port()
        ),
    )
    .expect("write");
    // The foreground process returns at once with status 0.
    let out = vedette(&[conf.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    wait_until(Duration::from_secs(10), "myid from the daemon", || {
        myid_in(&conf).is_some()
    });
    // If the daemon is still running, stop it through its pid file (it is our grandchild).
    if let Ok(pid) = std::fs::read_to_string(dir.join("d.pid")) {
        if let Ok(pid) = pid.trim().parse::<libc::pid_t>() {
            // SAFETY: kill(2) on the daemon this test started.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            wait_until(Duration::from_secs(10), "daemon exit", || {
                // SAFETY: signal 0 only probes for existence.
                unsafe { libc::kill(pid, 0) != 0 }
            });
        }
    }
}

#[test]
fn not_writable_config_exits_with_redis_message() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipping: access(2) ignores file modes for root");
        return;
    }
    let (_t, dir) = tempdir();
    let conf = dir.join("ro.conf");
    std::fs::write(&conf, "sentinel monitor m 127.0.0.1 6379 1\n").expect("write");
    std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o444))
        .expect("chmod");
    let out = vedette(&[conf.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "Sentinel config file {} is not writable: Permission denied. Exiting...",
            conf.display()
        )),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Compatibility with real redis-sentinel.

fn redis_cmd(port: u16, args: &[&str]) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes())?;
    // Read whatever arrives within a short window after the first byte: enough for small replies.
    let mut r = BufReader::new(s);
    let mut out = String::new();
    let mut line = String::new();
    r.read_line(&mut line)?;
    out.push_str(&line);
    if line.starts_with('*') || line.starts_with('$') {
        r.get_ref()
            .set_read_timeout(Some(Duration::from_millis(300)))?;
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => out.push_str(&line),
            }
        }
    }
    Ok(out)
}

#[test]
fn rewritten_file_loads_in_real_redis_sentinel_and_back() {
    if Command::new("redis-sentinel")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: redis-sentinel not installed");
        return;
    }
    let (_t, dir) = tempdir();
    let conf = dir.join("sentinel.conf");
    let master_port = free_port();
    std::fs::write(
        &conf,
        format!(
            "# written by the test\nbind 127.0.0.1\nport 26379\ndir {}\nlogfile \"\"\n\
             sentinel monitor mymaster 127.0.0.1 {master_port} 2\nsentinel down-after-milliseconds mymaster 5000\n\
             \n# other\nsentinel known-slave mymaster 127.0.0.1 {}\n",
            dir.display(),
            free_port()
        ),
    )
    .expect("write");
    let mut cfg = config::load(&conf).expect("load");
    cfg.state.myid = config::generate_myid();
    cfg.state.current_epoch = 4;
    cfg.state.global.deny_scripts_reconfig = false;
    cfg.state.global.announce_port = 26999;
    {
        let m = cfg.state.masters.get_mut("mymaster").expect("master");
        m.config_epoch = 3;
        m.leader_epoch = 4;
        m.config.failover_timeout_ms = 20_000;
        m.config.parallel_syncs = 2;
        m.config.auth_pass = Some("p@ss!word".into());
        m.config.auth_user = Some("sentinel".into());
        m.config.master_reboot_down_after_period_ms = 1000;
        m.config
            .rename_commands
            .insert("config".into(), "MYCONFIG".into());
        m.known_replicas.push(("127.0.0.1".into(), free_port()));
        m.known_sentinels
            .push(("127.0.0.1".into(), free_port(), "e".repeat(40)));
    }
    cfg.store.write(&cfg.state, &cfg.server).expect("write");
    assert_eq!(config::load(&conf).expect("our reload").state, cfg.state);

    let port = free_port();
    let mut p = Proc(
        Command::new("redis-sentinel")
            .arg(&conf)
            .args(["--port", &port.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn redis-sentinel"),
    );
    wait_until(Duration::from_secs(10), "redis-sentinel PING", || {
        if let Ok(Some(status)) = p.0.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = p.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("redis-sentinel exited: {status}\n{err}");
        }
        redis_cmd(port, &["PING"]).is_ok_and(|r| r.starts_with("+PONG"))
    });
    let masters = redis_cmd(port, &["SENTINEL", "MASTERS"]).expect("SENTINEL MASTERS");
    assert!(masters.contains("mymaster"), "{masters}");
    assert!(masters.contains(&master_port.to_string()), "{masters}");
    let myid = redis_cmd(port, &["SENTINEL", "MYID"]).expect("MYID");
    assert!(myid.contains(&cfg.state.myid), "{myid}");
    // Let Redis rewrite the file, and read its version back.
    let r = redis_cmd(port, &["SENTINEL", "FLUSHCONFIG"]).expect("FLUSHCONFIG");
    assert!(r.starts_with("+OK"), "{r}");
    let _ = redis_cmd(port, &["SHUTDOWN", "NOSAVE"]);
    p.stop();
    let text = std::fs::read_to_string(&conf).expect("read");
    assert!(text.starts_with("# written by the test\n"), "{text}");
    let back = config::load(&conf).expect("load Redis's rewrite");
    let m = &back.state.masters["mymaster"];
    assert_eq!(m.config.port, master_port);
    assert_eq!(m.config.auth_pass.as_deref(), Some("p@ss!word"));
    assert_eq!(m.config.command_name("CONFIG"), "MYCONFIG");
    assert_eq!(back.state.myid, cfg.state.myid);
    assert!(back.state.current_epoch >= 4);
    assert_eq!(back.server.port, port);
}

// ---------------------------------------------------------------------------------------------
// One owner per state file; rewrites keep the file's mode; security directives fail closed.

/// Start vedette on `conf` (stderr captured in `log`) and wait until it answers PING on `port`.
fn start_vedette(conf: &Path, port: u16, log: &Path) -> Proc {
    let err = std::fs::File::create(log).expect("log");
    let p = Proc(
        Command::new(BIN)
            .arg(conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn"),
    );
    wait_until(Duration::from_secs(15), "vedette answers PING", || {
        redis_cmd(port, &["PING"]).is_ok_and(|r| r == "+PONG\r\n")
    });
    p
}

/// Run a second vedette on `conf` and return its status, stderr and how long it took to exit.
fn second_instance(conf: &Path, args: &[&str]) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg(conf)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn second");
    let deadline = started + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the second vedette on {} did not exit within 10 s",
                conf.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    (status.code(), err, took)
}

#[test]
fn second_vedette_on_the_same_config_exits_and_the_first_keeps_running() {
    let (_t, dir) = tempdir();
    let conf = dir.join("sentinel.conf");
    let port = free_port();
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {} 2\n",
            dir.display(),
            free_port()
        ),
    )
    .expect("write");
    let mut first = start_vedette(&conf, port, &dir.join("first.log"));
    wait_until(Duration::from_secs(10), "myid written", || {
        myid_in(&conf).is_some()
    });
    let before = std::fs::read_to_string(&conf).expect("read");
    let other = free_port();
    let (code, err, took) = second_instance(&conf, &["--port", &other.to_string()]);
    eprintln!("second vedette on the same config exited with {code:?} after {took:?}: {err}");
    assert_eq!(code, Some(1), "{err}");
    let lock = dir.join("sentinel.conf.lock");
    assert!(
        err.contains(&format!(
            "{} is in use by another vedette (pid {})",
            conf.display(),
            first.0.id()
        )) && err.contains(&lock.display().to_string()),
        "{err}"
    );
    // It wrote nothing and listened nowhere; the first one is unaffected.
    assert_eq!(std::fs::read_to_string(&conf).expect("read"), before);
    assert!(TcpStream::connect(("127.0.0.1", other)).is_err());
    assert_eq!(redis_cmd(port, &["PING"]).expect("ping"), "+PONG\r\n");
    assert!(first.0.try_wait().expect("try_wait").is_none());
    // --check-config never locks: it works while the first one runs.
    let out = vedette(&["--check-config", conf.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Once the first one stops, the lock is free again (the lock file stays).
    first.stop();
    assert!(lock.exists());
    let mut again = start_vedette(&conf, port, &dir.join("again.log"));
    again.stop();
}

#[test]
fn second_vedette_on_the_same_toml_state_exits() {
    let (_t, dir) = tempdir();
    let port = free_port();
    let conf = dir.join("sentinel.toml");
    std::fs::write(
        &conf,
        format!(
            "[sentinel]\nport = {port}\nbind = [\"127.0.0.1\"]\ndir = \"{}\"\n\n[[master]]\nname = \"m\"\nhost = \"127.0.0.1\"\nport = {}\nquorum = 1\n",
            dir.display(),
            free_port()
        ),
    )
    .expect("write");
    let mut first = start_vedette(&conf, port, &dir.join("first.log"));
    let (code, err, took) = second_instance(&conf, &["--port", &free_port().to_string()]);
    eprintln!("second vedette on the same TOML state exited with {code:?} after {took:?}");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{} is in use by another vedette (pid {})",
            dir.join("vedette-state.toml").display(),
            first.0.id()
        )),
        "{err}"
    );
    assert_eq!(redis_cmd(port, &["PING"]).expect("ping"), "+PONG\r\n");
    first.stop();
}

#[test]
fn rewrite_keeps_the_config_mode() {
    use std::os::unix::fs::PermissionsExt;
    let (_t, dir) = tempdir();
    let conf = dir.join("sentinel.conf");
    let port = free_port();
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {} 2\n",
            dir.display(),
            free_port()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut p = start_vedette(&conf, port, &dir.join("v.log"));
    let ino = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).expect("stat"));
    let old = ino(&conf);
    assert_eq!(
        redis_cmd(port, &["SENTINEL", "SET", "mymaster", "quorum", "1"]).expect("set"),
        "+OK\r\n"
    );
    wait_until(Duration::from_secs(10), "rewrite with quorum 1", || {
        std::fs::read_to_string(&conf)
            .is_ok_and(|t| t.contains("sentinel monitor mymaster 127.0.0.1") && t.contains(" 1\n"))
    });
    assert_ne!(ino(&conf), old, "the file was replaced by a rewrite");
    let mode = std::fs::metadata(&conf).expect("stat").permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "mode after rewrite: {mode:o}");
    p.stop();
}

#[test]
fn security_directives_stop_start_up_and_check_config_alike() {
    let (_t, dir) = tempdir();
    for (line, directive, reason) in [
        (
            "tls-port 26390",
            "tls-port",
            "TLS is not supported by vedette yet",
        ),
        (
            "tls-replication yes",
            "tls-replication",
            "TLS is not supported by vedette yet",
        ),
        (
            "aclfile /etc/redis/users.acl",
            "aclfile",
            "ACL files are not supported by vedette yet",
        ),
        (
            "user app on >pw ~* +@all",
            "user",
            "ACL users are not supported by vedette yet",
        ),
        (
            "rename-command CONFIG \"\"",
            "rename-command",
            "No such command in rename-command",
        ),
    ] {
        let conf = dir.join("s.conf");
        std::fs::write(
            &conf,
            format!(
                "port {}\nbind 127.0.0.1\ndir {}\n{line}\n",
                free_port(),
                dir.display()
            ),
        )
        .expect("write");
        let want = format!("{}:4: '{directive}': ", conf.display());
        for args in [
            vec![conf.to_str().expect("utf8")],
            vec!["--check-config", conf.to_str().expect("utf8")],
        ] {
            let out = vedette(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?} {line}: {err}");
            assert!(err.contains("*** FATAL CONFIG FILE ERROR"), "{err}");
            assert!(err.contains(&want) && err.contains(reason), "{line}: {err}");
        }
    }
    // The packaged Debian sentinel.conf (protected-mode no, no TLS, no ACL) still loads.
    let src = Path::new("/etc/redis/sentinel.conf");
    match std::fs::read_to_string(src) {
        Ok(text) => {
            let conf = dir.join("debian.conf");
            // Its `dir` (/var/lib/redis) may not exist here: point it at the test's directory.
            let text = text.replace("\ndir /var/lib/redis", &format!("\ndir {}", dir.display()));
            std::fs::write(&conf, text).expect("write");
            let out = vedette(&["--check-config", conf.to_str().expect("utf8")]);
            assert_eq!(out.status.code(), Some(0), "{out:?}");
        }
        Err(e) => eprintln!("SKIPPED (Debian part): {} not readable: {e}", src.display()),
    }
}

/// `protected-mode yes` without a password: a client from a non-loopback address gets Redis's
/// `-DENIED …` text and is closed, a loopback client is served; with a password both are served (and
/// must authenticate). Compared with redis-sentinel in the same throw-away network namespace, where the
/// non-loopback address 10.77.0.1 lives on that namespace's own loopback device (nothing leaves it).
#[test]
fn protected_mode_denies_non_loopback_clients_like_redis() {
    let have = |cmd: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("unshare") && have("ip") && have("redis-sentinel") && have("redis-cli")) {
        eprintln!("SKIPPED: needs unshare, ip, redis-sentinel and redis-cli");
        return;
    }
    // A private network namespace needs root or unprivileged user namespaces.
    let probe = Command::new("unshare").args(["-rn", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: cannot create a network namespace here (unshare -rn failed)");
        return;
    }
    let (_t, dir) = tempdir();
    let mut script = String::from(
        "set -u\nip link set lo up\nip addr add 10.77.0.1/32 dev lo\npids=\"\"\ntrap 'kill $pids 2>/dev/null' EXIT\n",
    );
    let mut cases = Vec::new();
    for (who, bin) in [("vedette", BIN), ("redis", "redis-sentinel")] {
        for (auth, extra) in [("open", ""), ("pass", "requirepass s3cret\n")] {
            let port = free_port();
            let conf = dir.join(format!("{who}-{auth}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nprotected-mode yes\ndir {}\n{extra}",
                    dir.display()
                ),
            )
            .expect("write");
            script.push_str(&format!(
                "timeout 30 {bin} {conf} >{log} 2>&1 &\npids=\"$pids $!\"\n\
                 for i in $(seq 100); do redis-cli -h 127.0.0.1 -p {port} ping >/dev/null 2>&1 && break; sleep 0.1; done\n\
                 echo \"{who}-{auth}-local: $(timeout 5 redis-cli -h 127.0.0.1 -p {port} ping)\"\n\
                 echo \"{who}-{auth}-remote: $(timeout 5 redis-cli -h 10.77.0.1 -p {port} ping)\"\n",
                conf = conf.display(),
                log = dir.join(format!("{who}-{auth}.log")).display(),
            ));
            cases.push(format!("{who}-{auth}"));
        }
    }
    let path = dir.join("netns.sh");
    std::fs::write(&path, script).expect("script");
    let out = Command::new("timeout")
        .args(["120", "unshare", "-rn", "sh"])
        .arg(&path)
        .output()
        .expect("unshare");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let get = |key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| {
                panic!(
                    "no {key} in:\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_string()
    };
    assert!(get("vedette-open-remote").starts_with(
        "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."
    ), "{text}");
    for case in &cases {
        let (_, auth) = case.split_once('-').expect("case");
        let local = get(&format!("{case}-local"));
        let remote = get(&format!("{case}-remote"));
        match auth {
            "open" => assert_eq!(local, "PONG", "{case}"),
            _ => {
                assert!(local.starts_with("NOAUTH"), "{case}: {local}");
                assert_eq!(local, remote, "{case}: a password lifts protected mode");
            }
        }
    }
    for (v, r) in [
        ("vedette-open-remote", "redis-open-remote"),
        ("vedette-pass-remote", "redis-pass-remote"),
        ("vedette-pass-local", "redis-pass-local"),
    ] {
        assert_eq!(get(v), get(r), "vedette and redis-sentinel differ");
    }
}

//! Child processes: spawned with their output in a log file, killed by PID when dropped.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};

/// Why a process could not be started or signalled.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The log file could not be opened.
    #[error("{name}: cannot open log {}: {source}", log.display())]
    Log {
        /// The process's name.
        name: String,
        /// The log file.
        log: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("{name}: cannot start {program}: {source}")]
    Spawn {
        /// The process's name.
        name: String,
        /// The program, as given to the command.
        program: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The process was already killed.
    #[error("{name} is not running")]
    NotRunning {
        /// The process's name.
        name: String,
    },
    /// `kill(2)` failed.
    #[error("kill({pid}, {sig}) for {name}: {source}")]
    Signal {
        /// The process's name.
        name: String,
        /// Its PID.
        pid: i32,
        /// The signal.
        sig: libc::c_int,
        /// Cause.
        source: std::io::Error,
    },
}

/// How to start a [`Proc`].
#[derive(Debug, Clone, Copy)]
pub struct Spawn {
    /// Set `PR_SET_PDEATHSIG = SIGKILL` in the child, so it dies even when we are SIGKILLed. Note that
    /// Linux delivers it when the *thread* that spawned the child exits, so use it only from threads that
    /// outlive their children (the benchmark's runtime threads), not from short-lived test threads.
    pub die_with_parent: bool,
    /// Log lines to print when the process is dropped during a panic (0: none).
    pub panic_tail: usize,
}

impl Default for Spawn {
    fn default() -> Self {
        Spawn {
            die_with_parent: false,
            panic_tail: 40,
        }
    }
}

/// PIDs of children not reaped yet, for [`kill_all_registered`].
fn live() -> &'static Mutex<BTreeSet<i32>> {
    static LIVE: OnceLock<Mutex<BTreeSet<i32>>> = OnceLock::new();
    LIVE.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// SIGKILLs every child still running (for a Ctrl-C / SIGTERM handler, where no destructor runs).
pub fn kill_all_registered() {
    let pids: Vec<i32> = live()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect();
    for pid in pids {
        // SAFETY: plain syscall on a PID we started and have not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// A child process with its log file; SIGKILLed and reaped when dropped.
pub struct Proc {
    /// Name for messages (`redis-server:20123`).
    pub name: String,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    child: Option<Child>,
    pid: i32,
    status: Option<ExitStatus>,
    panic_tail: usize,
}

impl Proc {
    /// Start `cmd` with stdin closed and stdout and stderr appended to `log`.
    pub fn spawn(
        name: impl Into<String>,
        mut cmd: Command,
        log: &Path,
        opts: Spawn,
    ) -> Result<Proc, ProcError> {
        let name = name.into();
        let log_err = |source| ProcError::Log {
            name: name.clone(),
            log: log.to_path_buf(),
            source,
        };
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(log_err)?;
        let err = out.try_clone().map_err(log_err)?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        if opts.die_with_parent {
            // SAFETY: prctl is async-signal-safe; it only sets an attribute of the forked child.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().map_err(|source| ProcError::Spawn {
            name: name.clone(),
            program: cmd.get_program().to_string_lossy().into_owned(),
            source,
        })?;
        let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        live().lock().unwrap_or_else(|e| e.into_inner()).insert(pid);
        Ok(Proc {
            name,
            log: log.to_path_buf(),
            child: Some(child),
            pid,
            status: None,
            panic_tail: opts.panic_tail,
        })
    }

    /// Its PID (kept after it was killed, for messages).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Send `sig` (SIGSTOP, SIGCONT, SIGKILL...).
    pub fn signal(&self, sig: libc::c_int) -> Result<(), ProcError> {
        if self.child.is_none() {
            return Err(ProcError::NotRunning {
                name: self.name.clone(),
            });
        }
        // SAFETY: kill(2) on our own child's PID; the child is not reaped yet (we hold `Child`), so the
        // PID cannot have been recycled.
        if unsafe { libc::kill(self.pid, sig) } != 0 {
            return Err(ProcError::Signal {
                name: self.name.clone(),
                pid: self.pid,
                sig,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// `Some(status)` once the process has exited (or was killed through [`Proc::kill`]).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(s)) = c.try_wait() {
                self.status = Some(s);
            }
        }
        self.status
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL and reap (idempotent).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            if matches!(c.try_wait(), Ok(None)) {
                // SAFETY: as in `signal`: our own unreaped child. SIGCONT after SIGKILL: a stopped
                // process dies of SIGKILL anyway, but be explicit.
                unsafe {
                    libc::kill(self.pid, libc::SIGKILL);
                    libc::kill(self.pid, libc::SIGCONT);
                }
            }
            self.status = c.wait().ok().or(self.status);
            live()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.pid);
        }
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log, n)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() && self.panic_tail > 0 {
            eprintln!(
                "----- last lines of {} ({}) -----\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log, self.panic_tail)
            );
        }
    }
}

/// The last `n` lines of a log file (for failure messages).
pub fn log_tail(path: &Path, n: usize) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return format!("(no log at {})", path.display());
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `redis-server` on 127.0.0.1:`port` with persistence off, its working files in `dir`, optionally a
/// replica of 127.0.0.1:`replicaof`, then `extra` arguments (which may override the defaults).
pub fn redis_server_command<S: AsRef<OsStr>>(
    program: impl AsRef<OsStr>,
    port: u16,
    dir: &Path,
    replicaof: Option<u16>,
    extra: &[S],
) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(["--repl-diskless-sync-delay", "0", "--logfile", ""])
        .arg("--dir")
        .arg(dir);
    if let Some(m) = replicaof {
        cmd.args(["--replicaof", "127.0.0.1", &m.to_string()]);
    }
    cmd.args(extra);
    cmd
}

/// A sentinel (`redis-sentinel`, `vedette`, or `redis-server`, which needs `--sentinel`) on `conf`.
pub fn sentinel_command(program: &Path, conf: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.arg(conf);
    if program.file_name().is_some_and(|n| n == "redis-server") {
        cmd.arg("--sentinel");
    }
    cmd
}

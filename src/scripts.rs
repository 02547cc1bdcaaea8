//! Notification and client-reconfig scripts (reference §10): a FIFO queue of at most 256 jobs, at most 16
//! running, killed after `script-max-runtime`, retried with exponential back-off on exit code 1 or a signal,
//! up to 10 attempts.
//!
//! Scripts are spawned as direct children (no shell) with the sentinel's environment; every descriptor the
//! process opens is close-on-exec (Rust's default), so nothing leaks into them.
//!
//! A script is run by its path only, as Redis's `execve(argv[0])` does: a bare name is a file in the
//! working directory (which `main` set to `dir`, the directory the config check resolved it against),
//! never something found on `PATH` — a `notification-script notify.sh` must not run whatever
//! `notify.sh` comes first on the sentinel's `PATH`.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vedette_core::Reply;

/// Redis's limits.
const MAX_QUEUE: usize = 256;
const MAX_RUNNING: usize = 16;
const MAX_RETRIES: u32 = 10;

#[derive(Debug)]
struct Job {
    argv: Vec<String>,
    child: Option<Child>,
    start_time: Instant,
    retry_num: u32,
}

/// An event the runner wants published (type, message, level is warning unless `debug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptEvent {
    /// Event type (`-script-error`, ...).
    pub kind: &'static str,
    /// Payload.
    pub message: String,
    /// Debug-level (log only).
    pub debug: bool,
}

/// The script queue.
#[derive(Debug, Default)]
pub struct ScriptRunner {
    jobs: Vec<Job>,
}

impl ScriptRunner {
    /// Queue a script run; drops the oldest waiting job past 256.
    pub fn enqueue(&mut self, path: String, args: Vec<String>) {
        let mut argv = vec![path];
        argv.extend(args.into_iter().take(15));
        self.jobs.push(Job {
            argv,
            child: None,
            start_time: Instant::now(),
            retry_num: 0,
        });
        if self.jobs.len() > MAX_QUEUE {
            if let Some(i) = self.jobs.iter().position(|j| j.child.is_none()) {
                self.jobs.remove(i);
            }
        }
    }

    /// Running scripts.
    pub fn running(&self) -> usize {
        self.jobs.iter().filter(|j| j.child.is_some()).count()
    }

    /// Queued scripts (running included).
    pub fn queued(&self) -> usize {
        self.jobs.len()
    }

    /// One timer pass: start due jobs, reap finished ones, kill overdue ones.
    pub fn tick(&mut self, max_runtime_ms: u64, retry_delay_ms: u64) -> Vec<ScriptEvent> {
        let now = Instant::now();
        let mut events = Vec::new();
        // Start.
        let mut running = self.running();
        for job in self.jobs.iter_mut() {
            if running >= MAX_RUNNING {
                break;
            }
            if job.child.is_some() || job.start_time > now {
                continue;
            }
            job.retry_num += 1;
            job.start_time = now;
            match Command::new(program_path(&job.argv[0]))
                .args(&job.argv[1..])
                .stdin(Stdio::null())
                .spawn()
            {
                Ok(child) => {
                    events.push(ScriptEvent {
                        kind: "+script-child",
                        message: child.id().to_string(),
                        debug: true,
                    });
                    job.child = Some(child);
                    running += 1;
                }
                Err(e) => {
                    tracing::warn!(script = %job.argv[0], error = %e, "cannot start script");
                    // Redis: exec failure makes the child exit 2 (a permanent failure, no retry).
                    events.push(ScriptEvent {
                        kind: "-script-error",
                        message: format!("{} 0 2", job.argv[0]),
                        debug: false,
                    });
                    job.retry_num = MAX_RETRIES;
                    job.start_time = now + Duration::from_secs(u64::MAX / 4_000_000_000);
                }
            }
        }
        self.jobs
            .retain(|j| !(j.child.is_none() && j.retry_num >= MAX_RETRIES));
        // Reap and kill.
        let mut i = 0;
        while i < self.jobs.len() {
            let job = &mut self.jobs[i];
            let Some(child) = job.child.as_mut() else {
                i += 1;
                continue;
            };
            match child.try_wait() {
                Ok(Some(status)) => {
                    let pid = child.id();
                    let code = status.code().unwrap_or(0);
                    let signal = status.signal().unwrap_or(0);
                    events.push(ScriptEvent {
                        kind: "-script-child",
                        message: format!("{pid} {code} {signal}"),
                        debug: true,
                    });
                    job.child = None;
                    if (signal != 0 || code == 1) && job.retry_num != MAX_RETRIES {
                        let delay = retry_delay_ms
                            .saturating_mul(1u64 << (job.retry_num.saturating_sub(1)).min(20));
                        // `SENTINEL DEBUG script-retry-delay` may be huge: an Instant overflow would panic.
                        job.start_time = now
                            .checked_add(Duration::from_millis(delay))
                            .unwrap_or(now + Duration::from_secs(u64::MAX / 4_000_000_000));
                        i += 1;
                    } else {
                        if signal != 0 || code != 0 {
                            events.push(ScriptEvent {
                                kind: "-script-error",
                                message: format!("{} {signal} {code}", job.argv[0]),
                                debug: false,
                            });
                        }
                        self.jobs.remove(i);
                    }
                }
                Ok(None) => {
                    if now.duration_since(job.start_time) > Duration::from_millis(max_runtime_ms) {
                        events.push(ScriptEvent {
                            kind: "-script-timeout",
                            message: format!("{} {}", job.argv[0], child.id()),
                            debug: false,
                        });
                        let _ = child.kill();
                    }
                    i += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot wait for script");
                    job.child = None;
                    i += 1;
                }
            }
        }
        events
    }

    /// `SENTINEL PENDING-SCRIPTS`.
    pub fn pending_reply(&self) -> Reply {
        let now = Instant::now();
        Reply::Array(
            self.jobs
                .iter()
                .map(|j| {
                    let mut v = vec![
                        (
                            Reply::bulk("argv"),
                            Reply::Array(j.argv.iter().map(Reply::bulk).collect()),
                        ),
                        (
                            Reply::bulk("flags"),
                            Reply::bulk(if j.child.is_some() {
                                "running"
                            } else {
                                "scheduled"
                            }),
                        ),
                        (
                            Reply::bulk("pid"),
                            Reply::bulk(j.child.as_ref().map_or(0, |c| c.id()).to_string()),
                        ),
                    ];
                    if j.child.is_some() {
                        v.push((
                            Reply::bulk("run-time"),
                            Reply::bulk(now.duration_since(j.start_time).as_millis().to_string()),
                        ));
                    } else {
                        let delay = j.start_time.saturating_duration_since(now).as_millis();
                        v.push((Reply::bulk("run-delay"), Reply::bulk(delay.to_string())));
                    }
                    v.push((
                        Reply::bulk("retry-num"),
                        Reply::bulk(j.retry_num.to_string()),
                    ));
                    Reply::Map(v)
                })
                .collect(),
        )
    }

    /// Kill everything still running (shutdown).
    pub fn kill_all(&mut self) {
        for j in &mut self.jobs {
            if let Some(c) = j.child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// The program to execute for a script path: `path` itself when it names a directory part, else
/// `./path`. (`Command` searches `PATH` for a name without a slash; `execve` never does.)
fn program_path(path: &str) -> std::path::PathBuf {
    if path.contains('/') {
        std::path::PathBuf::from(path)
    } else {
        std::path::Path::new(".").join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_are_not_looked_up_on_path() {
        assert_eq!(
            program_path("notify.sh"),
            std::path::Path::new("./notify.sh")
        );
        assert_eq!(program_path("/bin/true"), std::path::Path::new("/bin/true"));
        assert_eq!(program_path("bin/x"), std::path::Path::new("bin/x"));
        // `true` is on PATH (/bin/true) but not in the working directory (the crate root): Redis's
        // execve fails, so must ours, as a permanent error (exit status 2 in Redis's child).
        assert!(
            std::path::Path::new("/bin/true").exists()
                || std::path::Path::new("/usr/bin/true").exists()
        );
        assert!(!std::path::Path::new("true").exists());
        let mut r = ScriptRunner::default();
        r.enqueue("true".into(), vec![]);
        let ev = drive(&mut r, |e| e.iter().any(|e| e.kind.starts_with("-script")));
        assert!(
            ev.iter()
                .any(|e| e.kind == "-script-error" && e.message == "true 0 2"),
            "{ev:?}"
        );
        assert!(!ev.iter().any(|e| e.kind == "-script-child"), "{ev:?}");
    }

    fn drive(r: &mut ScriptRunner, until: impl Fn(&[ScriptEvent]) -> bool) -> Vec<ScriptEvent> {
        let mut all = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            all.extend(r.tick(60_000, 30_000));
            if until(&all) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        all
    }

    #[test]
    fn successful_script_leaves_the_queue() {
        let mut r = ScriptRunner::default();
        r.enqueue(
            "/bin/true".into(),
            vec!["+sdown".into(), "master m 127.0.0.1 1".into()],
        );
        let ev = drive(&mut r, |e| e.iter().any(|e| e.kind == "-script-child"));
        assert!(ev.iter().any(|e| e.kind == "-script-child"));
        assert_eq!(r.queued(), 0);
    }

    #[test]
    fn exit_code_1_is_retried_and_2_is_an_error() {
        let mut r = ScriptRunner::default();
        r.enqueue("/bin/false".into(), vec![]);
        let ev = drive(&mut r, |e| e.iter().any(|e| e.kind == "-script-child"));
        assert!(ev.iter().any(|e| e.kind == "-script-child"));
        assert_eq!(r.queued(), 1, "exit 1 is rescheduled");
        let Reply::Array(jobs) = r.pending_reply() else {
            panic!("array expected")
        };
        assert_eq!(jobs.len(), 1);

        let mut r = ScriptRunner::default();
        r.enqueue("/bin/sh".into(), vec!["-c".into(), "exit 2".into()]);
        let ev = drive(&mut r, |e| e.iter().any(|e| e.kind == "-script-error"));
        assert!(ev
            .iter()
            .any(|e| e.kind == "-script-error" && e.message == "/bin/sh 0 2"));
        assert_eq!(r.queued(), 0);
    }
}

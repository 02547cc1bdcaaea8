//! # vedette-fixture: the process plumbing of the integration tests and the benchmarks
//!
//! `tests/it` and `crates/vedette-bench` both start real `redis-server`, `redis-sentinel` and `vedette`
//! processes on 127.0.0.1. What they need from the operating system is the same and is easy to get subtly
//! wrong, so it lives here once:
//!
//! * [`free_port`]: a port that is free now, never handed out twice in one process (a restarted instance
//!   can get its old port back), and below the kernel's ephemeral range, so an outbound connection of
//!   some other process cannot take it between our check and the child's `bind`;
//! * [`Proc`]: a child with its output in a log file, SIGKILLed and reaped by PID when dropped (also when
//!   a test panics, when it prints the log's last lines), and registered so a signal handler can kill
//!   whatever is still running ([`kill_all_registered`]);
//! * [`wait_until`] / [`wait_for`]: poll a condition against a deadline and panic with what was awaited,
//!   instead of sleeping and hoping;
//! * [`redis_server_command`] / [`sentinel_command`]: the command lines both harnesses start instances with.
//!
//! Everything is synchronous and panics only in the `wait_*` helpers (which are for tests); the rest
//! returns errors, so the benchmark can report them.

mod ports;
mod procs;
mod wait;

pub use ports::{free_port, port_answers, NoFreePort, PORT_HI, PORT_LO};
pub use procs::{
    kill_all_registered, log_tail, redis_server_command, sentinel_command, Proc, ProcError, Spawn,
};
pub use wait::{wait_for, wait_until, POLL};

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::Duration;

    use super::*;

    #[test]
    fn free_ports_are_unique_and_free() {
        let ports: Vec<u16> = (0..50).map(|_| free_port().expect("port")).collect();
        let unique: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len(), "duplicate ports: {ports:?}");
        assert!(ports.iter().all(|&p| (PORT_LO..PORT_HI).contains(&p)));
        assert!(ports.iter().all(|&p| !port_answers(p)));
    }

    #[test]
    fn dropping_a_proc_kills_and_reaps_it() {
        let dir = std::env::temp_dir().join(format!("vedette-fixture-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let log = dir.join("sleep.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo started; exec sleep 30"]);
        let mut p = Proc::spawn("sleep", cmd, &log, Spawn::default()).expect("spawn");
        let pid = p.pid();
        assert!(p.alive());
        wait_until(
            Duration::from_secs(5),
            "the child's output in its log",
            || p.log_tail(1) == "started",
        );
        p.signal(libc::SIGSTOP).expect("SIGSTOP");
        drop(p);
        // SAFETY: signal 0 only checks whether the PID exists; it was reaped, so it must not.
        let exists = unsafe { libc::kill(pid, 0) } == 0;
        assert!(!exists, "pid {pid} still exists after drop");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_killed_proc_reports_its_exit_and_refuses_signals() {
        let log =
            std::env::temp_dir().join(format!("vedette-fixture-kill-{}.log", std::process::id()));
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let mut p = Proc::spawn("sleep", cmd, &log, Spawn::default()).expect("spawn");
        assert_eq!(p.exited(), None);
        p.kill();
        assert!(p.exited().is_some_and(|s| !s.success()));
        assert!(!p.alive());
        assert!(matches!(
            p.signal(libc::SIGCONT),
            Err(ProcError::NotRunning { .. })
        ));
        std::fs::remove_file(&log).ok();
    }

    #[test]
    #[should_panic(expected = "timed out after")]
    fn wait_until_panics_with_what_it_waited_for() {
        wait_until(
            Duration::from_millis(50),
            "something that never happens",
            || false,
        );
    }
}

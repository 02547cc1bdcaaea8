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

//! Waiting on a condition with a deadline (never sleep-and-hope).

use std::fmt::Display;
use std::thread;
use std::time::{Duration, Instant};

/// Poll interval of [`wait_until`] / [`wait_for`]: short enough to measure reaction times in tens of
/// milliseconds.
pub const POLL: Duration = Duration::from_millis(20);

/// Poll `cond` until it holds; panic with `what` after `timeout`.
#[track_caller]
pub fn wait_until(timeout: Duration, what: impl Display, mut cond: impl FnMut() -> bool) {
    wait_for(timeout, what, || cond().then_some(()))
}

/// Poll `f` until it returns `Some`; panic with `what` after `timeout`.
#[track_caller]
pub fn wait_for<T>(timeout: Duration, what: impl Display, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() >= timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        thread::sleep(POLL);
    }
}

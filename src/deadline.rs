//! The driver's one deadline timer: a Linux `timerfd` in the reactor, so waiting for the core's next
//! deadline costs one wake-up when it is due.
//!
//! Why not `tokio::time::sleep_until`: tokio's timer wheel files a deadline more than 64 ms away in a
//! coarser level and wakes the thread at that level's slot boundary to move it down, so every PING
//! interval (100 ms – 1 s) cost an extra, empty wake-up of the whole process — measured with `strace` on
//! an idle sentinel: 33 `epoll_wait` returns per second for 10 PINGs. A timerfd armed for the exact
//! instant wakes once. Where a timerfd cannot be made, tokio's sleep is used.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

/// A re-armable one-shot timer; see the module docs.
pub struct DeadlineTimer {
    fd: Option<AsyncFd<OwnedFd>>,
    /// The deadline the timerfd is armed for (re-armed only when the core's deadline moves).
    armed: Option<Instant>,
}

impl DeadlineTimer {
    /// Must be called within a tokio runtime with I/O enabled.
    pub fn new() -> Self {
        DeadlineTimer {
            fd: timerfd().ok(),
            armed: None,
        }
    }

    /// Wait until `deadline`. Cancel-safe: dropped before it fires, the timer stays armed, and the next
    /// call for the same deadline only waits for it. Falls back to tokio's sleep if the timerfd fails.
    pub async fn wait_until(&mut self, deadline: Instant) {
        if self.wait_timerfd(deadline).await.is_err() {
            tokio::time::sleep_until(deadline.into()).await;
        }
    }

    async fn wait_timerfd(&mut self, deadline: Instant) -> io::Result<()> {
        let fd = self.fd.as_ref().ok_or(io::ErrorKind::Unsupported)?;
        if self.armed != Some(deadline) {
            arm(
                fd.get_ref(),
                deadline.saturating_duration_since(Instant::now()),
            )?;
            self.armed = Some(deadline);
        }
        loop {
            let mut guard = fd.readable().await?;
            let mut ticks = [0u8; 8];
            let read = guard.try_io(|fd| {
                // SAFETY: reads at most 8 bytes into a buffer of 8 from a descriptor we own.
                let n = unsafe {
                    libc::read(
                        fd.get_ref().as_raw_fd(),
                        ticks.as_mut_ptr().cast(),
                        ticks.len(),
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            match read {
                Ok(Ok(())) => {
                    // The read took every expiry; the next one is a new edge. (Left set, the stale
                    // readiness would cost an EAGAIN read per deadline.)
                    guard.clear_ready();
                    self.armed = None;
                    return Ok(());
                }
                // Not expired yet (a stale readiness, or re-armed since): wait again.
                Ok(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(_would_block) => continue,
                Ok(Err(e)) => return Err(e),
            }
        }
    }
}

impl Default for DeadlineTimer {
    fn default() -> Self {
        Self::new()
    }
}

fn timerfd() -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: timerfd_create has no memory arguments; the result is checked before use.
    let raw = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor we just created and nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open and unchanged while registered.
    unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)
}

/// Arm `fd` to expire once, `after` from now (at least 1 ns: an all-zero value would disarm it).
fn arm(fd: &OwnedFd, after: Duration) -> io::Result<()> {
    let after = after.max(Duration::from_nanos(1));
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: after.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: after.subsec_nanos() as libc::c_long,
        },
    };
    // SAFETY: `spec` is a valid itimerspec; the old value is not requested.
    let r = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_at_the_deadline_and_survives_cancellation() {
        let mut t = DeadlineTimer::new();
        assert!(t.fd.is_some(), "timerfd available on Linux");
        let start = Instant::now();
        let deadline = start + Duration::from_millis(30);
        // Cancelled before it fires: the next wait for the same deadline still fires on time.
        let early = tokio::time::timeout(Duration::from_millis(5), t.wait_until(deadline)).await;
        assert!(early.is_err(), "fired 25 ms early");
        t.wait_until(deadline).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(30), "fired after {took:?}");
        assert!(took < Duration::from_millis(500), "fired after {took:?}");
        // Re-armed for a new deadline; one in the past fires at once.
        let next = Instant::now() + Duration::from_millis(10);
        t.wait_until(next).await;
        assert!(Instant::now() >= next);
        let past = Instant::now() - Duration::from_millis(10);
        tokio::time::timeout(Duration::from_millis(200), t.wait_until(past))
            .await
            .expect("a past deadline fires at once");
    }
}

//! The signal that ends a session from outside it: `CLIENT KILL`, or the server shutting down.
//!
//! A session polls it on every wake-up, i.e. twice per request at `-P 1`. tokio-util's
//! `CancellationToken` takes its tree's mutex on each poll (and `Notify` its waiter list's): under
//! callgrind, the two tokens a session used to watch were 13 % of the instructions of a
//! `get-master-addr-by-name` request. This one costs an atomic load and an [`AtomicWaker`] register,
//! which only compares wakers when the session's waker has not changed. One signal per session, so
//! shutdown trips every registered session's signal ([`super::clients::ClientRegistry::stop_all`]).

use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// Why a session was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `CLIENT KILL`.
    Killed = 1,
    /// The server is shutting down.
    Shutdown = 2,
}

/// A one-shot stop signal with one waiting session.
#[derive(Debug, Default)]
pub struct StopSignal {
    /// 0 = running, else a [`StopReason`]; the first reason set wins.
    reason: AtomicU8,
    waker: AtomicWaker,
}

impl StopSignal {
    /// Stop the session (again: no effect) and wake it.
    pub fn stop(&self, why: StopReason) {
        let _ = self
            .reason
            .compare_exchange(0, why as u8, Ordering::AcqRel, Ordering::Acquire);
        self.waker.wake();
    }

    /// Whether, and why, the session was stopped.
    pub fn reason(&self) -> Option<StopReason> {
        match self.reason.load(Ordering::Acquire) {
            0 => None,
            1 => Some(StopReason::Killed),
            _ => Some(StopReason::Shutdown),
        }
    }

    /// Ready once stopped; otherwise registers the task to be woken by [`StopSignal::stop`].
    pub fn poll_stopped(&self, cx: &mut Context<'_>) -> Poll<StopReason> {
        if let Some(r) = self.reason() {
            return Poll::Ready(r);
        }
        self.waker.register(cx.waker());
        // A stop between the check and the registration woke nobody: look again.
        match self.reason() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    /// A future of [`StopSignal::poll_stopped`], for `select!`.
    pub fn stopped(&self) -> impl std::future::Future<Output = StopReason> + '_ {
        std::future::poll_fn(move |cx| self.poll_stopped(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_stop_wakes_the_waiting_task_and_the_first_reason_wins() {
        let s = Arc::new(StopSignal::default());
        assert_eq!(s.reason(), None);
        let s2 = s.clone();
        let waiter = tokio::spawn(async move { s2.stopped().await });
        tokio::task::yield_now().await;
        s.stop(StopReason::Killed);
        s.stop(StopReason::Shutdown);
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap_or_else(|_| panic!("the stop did not wake the waiter"))
            .unwrap_or_else(|e| panic!("waiter: {e}"));
        assert_eq!(got, StopReason::Killed);
        assert_eq!(s.reason(), Some(StopReason::Killed));
    }
}

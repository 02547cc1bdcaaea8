//! The snapshot the HTTP endpoints read, and how the driver keeps it fresh without ever waiting for a
//! reader.
//!
//! The driver owns the [`vedette_core::Sentinel`]; HTTP handlers never touch it. After a step that changed
//! something a reader would see (an event was emitted, an address changed, a state write finished), the
//! driver builds a [`Published`] snapshot and swaps it into a `watch` channel (an `Arc` swap: readers keep
//! the copy they hold). Between changes only ages move (`last-ok-ping-reply`, offsets): a handler that finds
//! its copy older than [`MAX_AGE`] asks the driver for a new one and waits at most [`REFRESH_WAIT`] for it,
//! so an idle, unscraped sentinel builds nothing, and a scrape of a busy one costs one snapshot.
//!
//! Rebuilds after changes are spaced by at least [`MIN_INTERVAL`] (an event storm over many masters must
//! not rebuild per event), except when an advertised master address changed: `/primary/<master>` must show
//! a switch at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use vedette_core::status::Status;

/// Oldest snapshot a handler serves without asking for a new one.
pub const MAX_AGE: Duration = Duration::from_millis(1000);
/// Longest a handler waits for a requested snapshot before serving the one it has.
pub const REFRESH_WAIT: Duration = Duration::from_millis(1000);
/// Shortest spacing of rebuilds caused by events (address changes are published at once).
pub const MIN_INTERVAL: Duration = Duration::from_millis(20);

/// Counters the core does not keep, counted by the driver from the events it executes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Events by type (`+sdown`, `+switch-master`, …).
    pub events: BTreeMap<&'static str, u64>,
    /// Failovers this sentinel led, by master and outcome (see [`failover_outcome`]).
    pub failovers: BTreeMap<(String, &'static str), u64>,
    /// `+switch-master` by master.
    pub switches: BTreeMap<String, u64>,
}

/// The outcome a failover-ending event stands for, as the `outcome` label of `vedette_failovers_total`.
pub fn failover_outcome(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "+failover-end" => "success",
        "+failover-end-for-timeout" => "success_reconf_timeout",
        "-failover-abort-not-elected" => "not_elected",
        "-failover-abort-no-good-slave" => "no_good_replica",
        "-failover-abort-slave-timeout" => "promotion_timeout",
        _ => return None,
    })
}

impl Counters {
    /// Count one executed event.
    pub fn record(&mut self, kind: &'static str, master: Option<&str>) {
        *self.events.entry(kind).or_default() += 1;
        let Some(master) = master else { return };
        if let Some(outcome) = failover_outcome(kind) {
            *self
                .failovers
                .entry((master.to_string(), outcome))
                .or_default() += 1;
        }
        if kind == "+switch-master" {
            *self.switches.entry(master.to_string()).or_default() += 1;
        }
    }

    /// Total events counted (changes whenever an event was executed).
    pub fn total(&self) -> u64 {
        self.events.values().sum()
    }
}

/// What the HTTP endpoints read: the core's [`Status`] plus what only the shell knows.
#[derive(Debug, Clone)]
pub struct Published {
    /// When it was built.
    pub taken: Instant,
    /// The core's picture.
    pub status: Status,
    /// Scripts running now.
    pub running_scripts: usize,
    /// Scripts waiting to run.
    pub queued_scripts: usize,
    /// Event-derived counters.
    pub counters: Counters,
}

/// The channel between the driver (writer) and the HTTP handlers (readers). Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatusFeed {
    tx: Arc<watch::Sender<Option<Arc<Published>>>>,
    wanted: Arc<Notify>,
}

impl Default for StatusFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusFeed {
    /// An empty feed (handlers wait for the driver's first snapshot).
    pub fn new() -> Self {
        StatusFeed {
            tx: Arc::new(watch::Sender::new(None)),
            wanted: Arc::new(Notify::new()),
        }
    }

    /// Driver side: swap in a new snapshot.
    pub fn publish(&self, p: Published) {
        self.tx.send_replace(Some(Arc::new(p)));
    }

    /// Driver side: resolves when a handler asked for a fresh snapshot (a request made while nobody waits
    /// is kept, so none is lost).
    pub async fn requested(&self) {
        self.wanted.notified().await
    }

    /// Handler side: a snapshot at most [`MAX_AGE`] old if the driver delivers one within
    /// [`REFRESH_WAIT`], else the newest there is (`None` only before the driver's first one).
    pub async fn current(&self) -> Option<Arc<Published>> {
        let mut rx = self.tx.subscribe();
        let fresh =
            |p: &Option<Arc<Published>>| p.as_ref().is_some_and(|p| p.taken.elapsed() <= MAX_AGE);
        if fresh(&rx.borrow_and_update()) {
            return rx.borrow().clone();
        }
        self.wanted.notify_one();
        let _ = tokio::time::timeout(REFRESH_WAIT, rx.wait_for(|p| fresh(p))).await;
        let newest = rx.borrow().clone();
        newest
    }
}

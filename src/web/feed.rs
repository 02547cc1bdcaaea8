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
//! Rebuilds after changes are spaced ([`spacing`]): an event storm over many masters must not rebuild per
//! event, and an advertised master address change is published soonest, since `/primary/<master>` must show
//! a switch within a few milliseconds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{watch, Notify};
use vedette_core::status::Status;
use vedette_core::{EventKind, InstanceKind};

/// Oldest snapshot a handler serves without asking for a new one.
pub const MAX_AGE: Duration = Duration::from_millis(1000);
/// Longest a handler waits for a requested snapshot before serving the one it has.
pub const REFRESH_WAIT: Duration = Duration::from_millis(1000);
/// Shortest spacing of rebuilds caused by events.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// Shortest spacing of rebuilds caused by an advertised address change.
pub const MIN_INTERVAL_URGENT: Duration = Duration::from_millis(5);

/// How long after the last rebuild the next may run: [`MIN_INTERVAL`] (or [`MIN_INTERVAL_URGENT`] for an
/// address change), and at least 10× what the last rebuild cost, so rebuilding takes at most a tenth of
/// the loop's time even while 1000 masters fail over at once (a rebuild of 1000 masters costs ~4 ms).
pub fn spacing(urgent: bool, last_cost: Duration) -> Duration {
    let floor = if urgent {
        MIN_INTERVAL_URGENT
    } else {
        MIN_INTERVAL
    };
    floor.max(last_cost.saturating_mul(10))
}

/// Failover phases timed from the events (`vedette_failover_phase_seconds{phase}`):
/// `detection` +sdown → +odown of a master; then, for failovers this sentinel leads, `election`
/// +try-failover → +elected-leader, `promotion` +selected-slave → +promoted-slave, `reconfiguration`
/// +promoted-slave → +failover-end.
pub const PHASES: [&str; 4] = ["detection", "election", "promotion", "reconfiguration"];

/// Buckets of the phase histogram (seconds): from a fast LAN election to a slow reconfiguration.
const PHASE_BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Phase durations, one histogram per phase (not per master: 1000 masters × buckets would be too many
/// series). Shared: clones observe into the same histograms.
pub type PhaseHistograms = Family<Vec<(&'static str, String)>, Histogram, fn() -> Histogram>;

fn phase_histogram() -> Histogram {
    Histogram::new(PHASE_BUCKETS)
}

/// When each phase of a master's current failure or failover began.
#[derive(Debug, Clone, Default)]
struct Marks {
    sdown: Option<Instant>,
    try_failover: Option<Instant>,
    selected: Option<Instant>,
    promoted: Option<Instant>,
}

/// Counters the core does not keep, counted by the driver from the events it executes.
#[derive(Debug, Clone)]
pub struct Counters {
    /// Events by type (`+sdown`, `+switch-master`, …).
    pub events: BTreeMap<&'static str, u64>,
    /// Failovers this sentinel led, by master and outcome (see [`failover_outcome`]).
    pub failovers: BTreeMap<(String, &'static str), u64>,
    /// `+switch-master` by master.
    pub switches: BTreeMap<String, u64>,
    /// Phase durations (see [`PHASES`]).
    pub phases: PhaseHistograms,
    marks: BTreeMap<String, Marks>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            events: BTreeMap::new(),
            failovers: BTreeMap::new(),
            switches: BTreeMap::new(),
            phases: PhaseHistograms::new_with_constructor(phase_histogram),
            marks: BTreeMap::new(),
        }
    }
}

/// The outcome a failover-ending event stands for, as the `outcome` label of `vedette_failovers_total`.
pub fn failover_outcome(kind: &EventKind) -> Option<&'static str> {
    Some(match kind {
        EventKind::FailoverEnd(_) => "success",
        EventKind::FailoverEndForTimeout(_) => "success_reconf_timeout",
        EventKind::FailoverAbortNotElected(_) => "not_elected",
        EventKind::FailoverAbortNoGoodSlave(_) => "no_good_replica",
        EventKind::FailoverAbortSlaveTimeout(_) => "promotion_timeout",
        _ => return None,
    })
}

impl Counters {
    /// Count one executed event, concerning `master` if any.
    pub fn record(&mut self, kind: &EventKind, master: Option<&str>) {
        *self.events.entry(kind.channel()).or_default() += 1;
        let Some(master) = master else { return };
        if let Some(outcome) = failover_outcome(kind) {
            *self
                .failovers
                .entry((master.to_string(), outcome))
                .or_default() += 1;
        }
        if matches!(kind, EventKind::SwitchMaster { .. }) {
            *self.switches.entry(master.to_string()).or_default() += 1;
        }
        self.time_phases(kind, master);
    }

    fn observe(&self, phase: &'static str, since: Option<Instant>, now: Instant) {
        if let Some(t) = since {
            self.phases
                .get_or_create(&vec![("phase", phase.to_string())])
                .observe(now.saturating_duration_since(t).as_secs_f64());
        }
    }

    /// Phase marks. Only the master's own `+sdown`/`-sdown`/`+odown` time the detection, not a replica's
    /// or a sentinel's.
    fn time_phases(&mut self, kind: &EventKind, master: &str) {
        use EventKind::*;
        let about_master = kind
            .instance()
            .is_some_and(|i| i.kind() == InstanceKind::Master);
        let relevant = match kind {
            Sdown(_) | SdownCleared(_) | Odown { .. } => about_master,
            TryFailover(_)
            | ElectedLeader(_)
            | SelectedSlave(_)
            | PromotedSlave(_)
            | FailoverEnd(_)
            | FailoverEndForTimeout(_)
            | SwitchMaster { .. }
            | FailoverAbortNotElected(_)
            | FailoverAbortNoGoodSlave(_)
            | FailoverAbortSlaveTimeout(_) => true,
            _ => false,
        };
        if !relevant {
            return;
        }
        let now = Instant::now();
        let mut m = self.marks.remove(master).unwrap_or_default();
        match kind {
            Sdown(_) => m.sdown = Some(now),
            SdownCleared(_) => m.sdown = None,
            Odown { .. } => self.observe("detection", m.sdown.take(), now),
            TryFailover(_) => m.try_failover = Some(now),
            ElectedLeader(_) => self.observe("election", m.try_failover.take(), now),
            SelectedSlave(_) => m.selected = Some(now),
            PromotedSlave(_) => {
                self.observe("promotion", m.selected.take(), now);
                m.promoted = Some(now);
            }
            FailoverEnd(_) | FailoverEndForTimeout(_) => {
                self.observe("reconfiguration", m.promoted.take(), now);
                m = Marks::default();
            }
            // The master record now stands for the promoted replica; an abort ends the attempt.
            _ => m = Marks::default(),
        }
        if m.sdown.is_some()
            || m.try_failover.is_some()
            || m.selected.is_some()
            || m.promoted.is_some()
        {
            self.marks.insert(master.to_string(), m);
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

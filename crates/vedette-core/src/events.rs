//! Sentinel events: one value, formatted once, used for the log, our pub/sub and notification scripts.

/// Redis's event levels. `Debug` events are logged only; the others are also published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Log only.
    Debug,
    /// Published, `-` in the log.
    Verbose,
    /// Published, `*` in the log.
    Notice,
    /// Published, `#` in the log, and runs the master's notification script when about an instance.
    Warning,
}

/// One event, e.g. `+sdown` / `master mymaster 127.0.0.1 6379`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Event type, which is also the pub/sub channel (`+sdown`, `+switch-master`, ...).
    pub kind: &'static str,
    /// Level.
    pub level: Level,
    /// Payload exactly as Redis publishes it.
    pub message: String,
    /// The master this event concerns, if any.
    pub master: Option<String>,
}

impl Event {
    /// Whether Redis publishes this event on the sentinel's pub/sub.
    pub fn is_published(&self) -> bool {
        self.level != Level::Debug
    }
}

//! Sentinel events: one typed value per event (reference §8). Code that reacts to an event (metrics, the
//! simulation's checks) matches on [`EventKind`]; Redis's text is rendered only where the event leaves
//! the process (log, pub/sub, notification script), by `Display`, byte for byte as Redis publishes it.

use std::fmt;

mod kind;
#[cfg(test)]
mod tests;

pub use kind::EventKind;

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
    /// What happened, with the data it carries; `kind.channel()` is the pub/sub channel and
    /// `kind.to_string()` the payload.
    pub kind: EventKind,
    /// The master this event concerns, if any.
    pub master: Option<String>,
}

impl Event {
    /// Level (fixed per kind, as in Redis).
    pub fn level(&self) -> Level {
        self.kind.level()
    }

    /// Whether Redis publishes this event on the sentinel's pub/sub.
    pub fn is_published(&self) -> bool {
        self.level() != Level::Debug
    }
}

/// The type word of Redis's `%@` instance description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceKind {
    /// `master`.
    Master,
    /// `slave` (a replica).
    Slave,
    /// `sentinel` (a peer).
    Sentinel,
}

impl InstanceKind {
    /// The word Redis writes.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceKind::Master => "master",
            InstanceKind::Slave => "slave",
            InstanceKind::Sentinel => "sentinel",
        }
    }
}

/// A name and an address, as Redis writes them in `%@`: `<name> <ip> <port>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    /// The master's name, the replica's `ip:port` name, or the peer's run id.
    pub name: String,
    /// Host as configured or announced.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.name, self.host, self.port)
    }
}

/// The instance an event is about, rendered as Redis's `%@`: `master <name> <ip> <port>`, or
/// `slave|sentinel <name> <ip> <port> @ <master> <ip> <port>`. A master never has an `@` part and a
/// replica or sentinel always has one, by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    /// The master itself.
    Master(Addr),
    /// One of its replicas.
    Slave {
        /// The replica.
        slave: Addr,
        /// Its master.
        master: Addr,
    },
    /// A peer sentinel monitoring it.
    Sentinel {
        /// The peer.
        sentinel: Addr,
        /// The master it was found under.
        master: Addr,
    },
}

impl Instance {
    /// Which of the three.
    pub fn kind(&self) -> InstanceKind {
        match self {
            Instance::Master(_) => InstanceKind::Master,
            Instance::Slave { .. } => InstanceKind::Slave,
            Instance::Sentinel { .. } => InstanceKind::Sentinel,
        }
    }

    /// The instance's own name and address.
    pub fn addr(&self) -> &Addr {
        match self {
            Instance::Master(a) => a,
            Instance::Slave { slave: a, .. } | Instance::Sentinel { sentinel: a, .. } => a,
        }
    }

    /// The master it belongs to (itself for a master).
    pub fn master(&self) -> &Addr {
        match self {
            Instance::Master(m) | Instance::Slave { master: m, .. } => m,
            Instance::Sentinel { master: m, .. } => m,
        }
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind().as_str(), self.addr())?;
        match self {
            Instance::Master(_) => Ok(()),
            Instance::Slave { master, .. } | Instance::Sentinel { master, .. } => {
                write!(f, " @ {master}")
            }
        }
    }
}

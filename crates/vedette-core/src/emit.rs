//! Events (reference §8): one value per event, with Redis's `%@` instance prefix, published on our pub/sub
//! and handed to the master's notification script when it is a warning.

use crate::events::Event;
use crate::events::Level;
use crate::instance::table::MasterId;
use crate::instance::{Inst, Who};
use crate::io::{Output, ScriptJob};
use crate::sentinel::Sentinel;

impl Sentinel {
    /// `%@` prefix for an instance.
    pub(crate) fn prefix(&self, key: Inst) -> String {
        let Some(m) = self.masters.at(key.master) else {
            return String::new();
        };
        match key.who {
            Who::Master => format!("master {} {} {}", m.cfg.name, m.c.host, m.c.port),
            Who::Replica(r) => match m.replicas.at(r) {
                Some(r) => format!(
                    "slave {} {} {} @ {} {} {}",
                    r.name(),
                    r.c.host,
                    r.c.port,
                    m.cfg.name,
                    m.c.host,
                    m.c.port
                ),
                None => String::new(),
            },
            Who::Peer(id) => match m.sentinels.at(id) {
                Some(p) => format!(
                    "sentinel {} {} {} @ {} {} {}",
                    m.sentinels.name_of(id).unwrap_or_default(),
                    p.c.host,
                    p.c.port,
                    m.cfg.name,
                    m.c.host,
                    m.c.port
                ),
                None => String::new(),
            },
        }
    }

    /// Emit an event about an instance: message = `%@` prefix + optional suffix.
    pub(crate) fn event(&mut self, level: Level, kind: &'static str, key: Inst, suffix: &str) {
        let mut msg = self.prefix(key);
        if !suffix.is_empty() {
            msg.push(' ');
            msg.push_str(suffix);
        }
        self.emit(level, kind, msg, Some(key.master));
    }

    pub(crate) fn event_master(
        &mut self,
        level: Level,
        kind: &'static str,
        master: MasterId,
        suffix: &str,
    ) {
        self.event(level, kind, Inst::master(master), suffix);
    }

    /// An event about a master whose message has no `%@` prefix (`+new-epoch`, `+switch-master`, ...).
    pub(crate) fn event_raw(
        &mut self,
        level: Level,
        kind: &'static str,
        master: MasterId,
        msg: String,
    ) {
        self.emit(level, kind, msg, Some(master));
    }

    /// An event about no instance (`+tilt`).
    pub(crate) fn event_plain(&mut self, level: Level, kind: &'static str, msg: &str) {
        self.emit(level, kind, msg.to_string(), None);
    }

    pub(crate) fn emit(
        &mut self,
        level: Level,
        kind: &'static str,
        message: String,
        master: Option<MasterId>,
    ) {
        let m = master.and_then(|id| self.masters.at(id));
        let script = m.and_then(|m| m.cfg.notification_script.clone());
        let master = m.map(|m| m.cfg.name.clone());
        if level == Level::Warning {
            if let Some(script) = script {
                self.out.push(Output::RunScript(ScriptJob {
                    path: script,
                    args: vec![kind.to_string(), message.clone()],
                }));
            }
        }
        self.out.push(Output::Event(Event {
            kind,
            level,
            message,
            master,
        }));
    }
}

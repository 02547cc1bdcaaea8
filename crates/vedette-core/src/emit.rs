//! Events (reference §8): one typed value per event, published on our pub/sub and handed to the master's
//! notification script when it is a warning.

use crate::events::{Addr, Event, EventKind, Instance, Level};
use crate::instance::table::MasterId;
use crate::instance::{Inst, Who};
use crate::io::{Output, ScriptJob};
use crate::sentinel::Sentinel;

impl Sentinel {
    /// The `%@` description of an instance, from its current name and address (None: it is gone).
    pub(crate) fn describe(&self, key: Inst) -> Option<Instance> {
        let m = self.masters.at(key.master)?;
        let master = Addr {
            name: m.cfg.name.clone(),
            host: m.c.host.clone(),
            port: m.c.port,
        };
        Some(match key.who {
            Who::Master => Instance::Master(master),
            Who::Replica(r) => {
                let r = m.replicas.at(r)?;
                Instance::Slave {
                    slave: Addr {
                        name: r.name(),
                        host: r.c.host.clone(),
                        port: r.c.port,
                    },
                    master,
                }
            }
            Who::Peer(id) => {
                let p = m.sentinels.at(id)?;
                Instance::Sentinel {
                    sentinel: Addr {
                        name: m.sentinels.name_of(id).unwrap_or_default().to_string(),
                        host: p.c.host.clone(),
                        port: p.c.port,
                    },
                    master,
                }
            }
        })
    }

    /// Emit an event about an instance, built by `make` from its description (e.g. `EventKind::Sdown`).
    /// Every caller names an instance it holds, so one that is gone is a bug: no event is made up for it.
    pub(crate) fn event(&mut self, key: Inst, make: impl FnOnce(Instance) -> EventKind) {
        match self.describe(key) {
            Some(inst) => self.emit(make(inst), Some(key.master)),
            None => debug_assert!(false, "event about an unknown instance {key:?}"),
        }
    }

    /// [`Sentinel::event`] about the master itself.
    pub(crate) fn event_master(
        &mut self,
        master: MasterId,
        make: impl FnOnce(Instance) -> EventKind,
    ) {
        self.event(Inst::master(master), make);
    }

    /// Emit `kind`, concerning `master` if any. Warnings run the master's notification script with the
    /// channel and the text, as Redis does.
    pub(crate) fn emit(&mut self, kind: EventKind, master: Option<MasterId>) {
        let m = master.and_then(|id| self.masters.at(id));
        let script = m.and_then(|m| m.cfg.notification_script.clone());
        let master = m.map(|m| m.cfg.name.clone());
        if kind.level() == Level::Warning {
            if let Some(script) = script {
                self.out.push(Output::RunScript(ScriptJob {
                    path: script,
                    args: vec![kind.channel().to_string(), kind.to_string()],
                }));
            }
        }
        self.out.push(Output::Event(Event { kind, master }));
    }
}

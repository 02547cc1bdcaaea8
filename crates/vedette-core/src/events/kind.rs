//! The events Redis Sentinel publishes (reference §8), one variant each, with the data its text carries.

use std::fmt;

use super::{Instance, Level};
use crate::wire::info::Role;

/// One Redis Sentinel event. Variants that carry an [`Instance`] render as Redis's `%@` description,
/// followed by their own words, if any; the others render exactly their payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `+monitor <master> quorum <n>`: a master is monitored (start-up or SENTINEL MONITOR).
    Monitor {
        /// The master.
        master: Instance,
        /// Its quorum.
        quorum: u32,
    },
    /// `-monitor <master>`: SENTINEL REMOVE.
    Unmonitor(Instance),
    /// `+reset-master <master>`: SENTINEL RESET.
    ResetMaster(Instance),
    /// `+set <master> <option> <value>`: SENTINEL SET, one per option (secrets shown as `******`).
    Set {
        /// The master.
        master: Instance,
        /// The option as the client spelled it.
        option: String,
        /// The value as shown.
        value: String,
    },
    /// `+sdown <instance>`.
    Sdown(Instance),
    /// `-sdown <instance>`.
    SdownCleared(Instance),
    /// `+odown <master> #quorum <count>/<quorum>`.
    Odown {
        /// The master.
        master: Instance,
        /// Sentinels (us included) that consider it down.
        count: u32,
        /// Its quorum.
        quorum: u32,
    },
    /// `-odown <master>`.
    OdownCleared(Instance),
    /// `+new-epoch <epoch>`: our current epoch rose.
    NewEpoch(u64),
    /// `+try-failover <master>`.
    TryFailover(Instance),
    /// `+vote-for-leader <runid> <epoch>`: we voted.
    VoteForLeader {
        /// Run id voted for, as the candidate spelled it.
        leader: String,
        /// The epoch of the vote.
        epoch: u64,
    },
    /// `+elected-leader <master>`.
    ElectedLeader(Instance),
    /// `+failover-state-select-slave <master>`.
    FailoverStateSelectSlave(Instance),
    /// `-failover-abort-not-elected <master>`.
    FailoverAbortNotElected(Instance),
    /// `-failover-abort-no-good-slave <master>`.
    FailoverAbortNoGoodSlave(Instance),
    /// `+selected-slave <replica>`.
    SelectedSlave(Instance),
    /// `+failover-state-send-slaveof-noone <replica>`.
    FailoverStateSendSlaveofNoone(Instance),
    /// `+failover-state-wait-promotion <replica>`.
    FailoverStateWaitPromotion(Instance),
    /// `-failover-abort-slave-timeout <master>`.
    FailoverAbortSlaveTimeout(Instance),
    /// `+promoted-slave <replica>`.
    PromotedSlave(Instance),
    /// `+failover-state-reconf-slaves <master>`.
    FailoverStateReconfSlaves(Instance),
    /// `+slave-reconf-sent <replica>`.
    SlaveReconfSent(Instance),
    /// `+slave-reconf-sent-be <replica>`: sent best-effort at the failover timeout.
    SlaveReconfSentBe(Instance),
    /// `-slave-reconf-sent-timeout <replica>`.
    SlaveReconfSentTimeout(Instance),
    /// `+slave-reconf-inprog <replica>`.
    SlaveReconfInprog(Instance),
    /// `+slave-reconf-done <replica>`.
    SlaveReconfDone(Instance),
    /// `+failover-end-for-timeout <master>`.
    FailoverEndForTimeout(Instance),
    /// `+failover-end <master>`.
    FailoverEnd(Instance),
    /// `+switch-master <name> <old ip> <old port> <new ip> <new port>`.
    SwitchMaster {
        /// The master's name.
        name: String,
        /// Address it had.
        old: (String, u16),
        /// Address it has now.
        new: (String, u16),
    },
    /// `+config-update-from <sentinel>`: a peer's hello carried a newer configuration.
    ConfigUpdateFrom(Instance),
    /// `+slave <replica>`: a replica was added.
    Slave(Instance),
    /// `+reboot <instance>`: its run id changed.
    Reboot(Instance),
    /// `+role-change` / `-role-change <instance> new reported role is <role>`: `+` when the reported
    /// role is the configured one, `-` when not.
    RoleChange {
        /// The instance.
        instance: Instance,
        /// The role it now reports.
        reported: Role,
        /// Whether that is the role we have it as.
        as_configured: bool,
    },
    /// `+convert-to-slave <instance>`: a returning old master is told to replicate.
    ConvertToSlave(Instance),
    /// `+fix-slave-config <replica>`: a replica of the wrong master is pointed back.
    FixSlaveConfig(Instance),
    /// `+sentinel <sentinel>`: a peer was added.
    Sentinel(Instance),
    /// `+sentinel-invalid-addr <sentinel>`: another peer now announces its address.
    SentinelInvalidAddr(Instance),
    /// `+sentinel-address-switch <master> ip <ip> port <port> for <runid>`.
    SentinelAddressSwitch {
        /// The master.
        master: Instance,
        /// The peer's new IP.
        ip: String,
        /// The peer's new port.
        port: u16,
        /// The peer's run id.
        runid: String,
    },
    /// `+sentinel-address-update <sentinel> <n> additional matching instances`.
    SentinelAddressUpdate {
        /// The peer, under the master whose hello announced the move.
        sentinel: Instance,
        /// How many other masters' entries were moved too.
        others: usize,
    },
    /// `-max-sentinels-reached <master> <limit>` (vedette's `max-known-sentinels`).
    MaxSentinelsReached {
        /// The master.
        master: Instance,
        /// The limit.
        limit: u32,
    },
    /// `-max-replicas-reached <master> <limit>` (vedette's `max-known-replicas`).
    MaxReplicasReached {
        /// The master.
        master: Instance,
        /// The limit.
        limit: u32,
    },
    /// `+tilt #tilt mode entered`.
    Tilt,
    /// `-tilt #tilt mode exited`.
    TiltExited,
}

impl EventKind {
    /// The pub/sub channel, which is also the event's type in the log and the notification script's
    /// first argument.
    pub fn channel(&self) -> &'static str {
        self.meta().0
    }

    /// Redis's level for this event.
    pub fn level(&self) -> Level {
        self.meta().1
    }

    fn meta(&self) -> (&'static str, Level) {
        use EventKind::*;
        use Level::{Notice, Verbose, Warning};
        match self {
            Monitor { .. } => ("+monitor", Warning),
            Unmonitor(_) => ("-monitor", Warning),
            ResetMaster(_) => ("+reset-master", Warning),
            Set { .. } => ("+set", Warning),
            Sdown(_) => ("+sdown", Warning),
            SdownCleared(_) => ("-sdown", Warning),
            Odown { .. } => ("+odown", Warning),
            OdownCleared(_) => ("-odown", Warning),
            NewEpoch(_) => ("+new-epoch", Warning),
            TryFailover(_) => ("+try-failover", Warning),
            VoteForLeader { .. } => ("+vote-for-leader", Warning),
            ElectedLeader(_) => ("+elected-leader", Warning),
            FailoverStateSelectSlave(_) => ("+failover-state-select-slave", Warning),
            FailoverAbortNotElected(_) => ("-failover-abort-not-elected", Warning),
            FailoverAbortNoGoodSlave(_) => ("-failover-abort-no-good-slave", Warning),
            SelectedSlave(_) => ("+selected-slave", Warning),
            FailoverStateSendSlaveofNoone(_) => ("+failover-state-send-slaveof-noone", Notice),
            FailoverStateWaitPromotion(_) => ("+failover-state-wait-promotion", Notice),
            FailoverAbortSlaveTimeout(_) => ("-failover-abort-slave-timeout", Warning),
            PromotedSlave(_) => ("+promoted-slave", Warning),
            FailoverStateReconfSlaves(_) => ("+failover-state-reconf-slaves", Warning),
            SlaveReconfSent(_) => ("+slave-reconf-sent", Notice),
            SlaveReconfSentBe(_) => ("+slave-reconf-sent-be", Notice),
            SlaveReconfSentTimeout(_) => ("-slave-reconf-sent-timeout", Notice),
            SlaveReconfInprog(_) => ("+slave-reconf-inprog", Notice),
            SlaveReconfDone(_) => ("+slave-reconf-done", Notice),
            FailoverEndForTimeout(_) => ("+failover-end-for-timeout", Warning),
            FailoverEnd(_) => ("+failover-end", Warning),
            SwitchMaster { .. } => ("+switch-master", Warning),
            ConfigUpdateFrom(_) => ("+config-update-from", Warning),
            Slave(_) => ("+slave", Notice),
            Reboot(_) => ("+reboot", Notice),
            RoleChange {
                as_configured: true,
                ..
            } => ("+role-change", Verbose),
            RoleChange {
                as_configured: false,
                ..
            } => ("-role-change", Verbose),
            ConvertToSlave(_) => ("+convert-to-slave", Notice),
            FixSlaveConfig(_) => ("+fix-slave-config", Notice),
            Sentinel(_) => ("+sentinel", Notice),
            SentinelInvalidAddr(_) => ("+sentinel-invalid-addr", Notice),
            SentinelAddressSwitch { .. } => ("+sentinel-address-switch", Notice),
            SentinelAddressUpdate { .. } => ("+sentinel-address-update", Notice),
            MaxSentinelsReached { .. } => ("-max-sentinels-reached", Warning),
            MaxReplicasReached { .. } => ("-max-replicas-reached", Warning),
            Tilt => ("+tilt", Warning),
            TiltExited => ("-tilt", Warning),
        }
    }

    /// The instance the event describes with `%@`, if it has one.
    pub fn instance(&self) -> Option<&Instance> {
        use EventKind::*;
        match self {
            Unmonitor(i)
            | ResetMaster(i)
            | Sdown(i)
            | SdownCleared(i)
            | OdownCleared(i)
            | TryFailover(i)
            | ElectedLeader(i)
            | FailoverStateSelectSlave(i)
            | FailoverAbortNotElected(i)
            | FailoverAbortNoGoodSlave(i)
            | SelectedSlave(i)
            | FailoverStateSendSlaveofNoone(i)
            | FailoverStateWaitPromotion(i)
            | FailoverAbortSlaveTimeout(i)
            | PromotedSlave(i)
            | FailoverStateReconfSlaves(i)
            | SlaveReconfSent(i)
            | SlaveReconfSentBe(i)
            | SlaveReconfSentTimeout(i)
            | SlaveReconfInprog(i)
            | SlaveReconfDone(i)
            | FailoverEndForTimeout(i)
            | FailoverEnd(i)
            | ConfigUpdateFrom(i)
            | Slave(i)
            | Reboot(i)
            | ConvertToSlave(i)
            | FixSlaveConfig(i)
            | Sentinel(i)
            | SentinelInvalidAddr(i) => Some(i),
            Monitor { master: i, .. }
            | Set { master: i, .. }
            | Odown { master: i, .. }
            | RoleChange { instance: i, .. }
            | SentinelAddressSwitch { master: i, .. }
            | SentinelAddressUpdate { sentinel: i, .. }
            | MaxSentinelsReached { master: i, .. }
            | MaxReplicasReached { master: i, .. } => Some(i),
            NewEpoch(_) | VoteForLeader { .. } | SwitchMaster { .. } | Tilt | TiltExited => None,
        }
    }
}

/// The payload, exactly as Redis publishes it.
impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EventKind::*;
        match self {
            Monitor { master, quorum } => write!(f, "{master} quorum {quorum}"),
            Set {
                master,
                option,
                value,
            } => write!(f, "{master} {option} {value}"),
            Odown {
                master,
                count,
                quorum,
            } => write!(f, "{master} #quorum {count}/{quorum}"),
            NewEpoch(epoch) => write!(f, "{epoch}"),
            VoteForLeader { leader, epoch } => write!(f, "{leader} {epoch}"),
            SwitchMaster { name, old, new } => {
                write!(f, "{name} {} {} {} {}", old.0, old.1, new.0, new.1)
            }
            RoleChange {
                instance, reported, ..
            } => {
                let word = match reported {
                    Role::Master => "master",
                    Role::Slave => "slave",
                };
                write!(f, "{instance} new reported role is {word}")
            }
            SentinelAddressSwitch {
                master,
                ip,
                port,
                runid,
            } => write!(f, "{master} ip {ip} port {port} for {runid}"),
            SentinelAddressUpdate { sentinel, others } => {
                write!(f, "{sentinel} {others} additional matching instances")
            }
            MaxSentinelsReached { master, limit } | MaxReplicasReached { master, limit } => {
                write!(f, "{master} {limit}")
            }
            Tilt => f.write_str("#tilt mode entered"),
            TiltExited => f.write_str("#tilt mode exited"),
            other => match other.instance() {
                Some(i) => write!(f, "{i}"),
                None => Ok(()),
            },
        }
    }
}

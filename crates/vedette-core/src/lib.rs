//! # vedette-core: the Redis Sentinel algorithm as a pure state machine
//!
//! Nothing in this crate reads a clock, opens a socket or draws unseeded randomness. A [`Sentinel`] is
//! fed facts ([`Input`], client commands, timeouts carrying the current [`Instant`]) and answers with work
//! for its caller ([`Output`]: connect, send, reply, publish, persist, run a script). The same inputs
//! always produce the same outputs, so every rule can be unit-tested and the whole protocol can be run by
//! a simulation with thousands of sentinels, partitions and crashes per second.
//!
//! Driving it:
//! 1. build it with [`Sentinel::new`] from the loaded [`PersistedState`], a seed and the current time;
//! 2. feed inputs with [`Sentinel::handle_input`] and client commands, parsed once with [`SentinelCommand::parse`], with
//!    [`Sentinel::handle_command`];
//! 3. call [`Sentinel::handle_timeout`] when [`Sentinel::poll_timeout`] says so: it answers the next real
//!    deadline (a PING, INFO or hello period ending, a down-after running out, a failover timer), so an
//!    idle sentinel sleeps until something is due. Calling it earlier is harmless; later delays the work
//!    and, by more than `tilt-trigger`, enters TILT;
//! 4. after each call drain [`Sentinel::poll_output`] and execute outputs in order. Run each
//!    [`Output::Persist`] (one at a time: the next comes only after its result) and report
//!    [`Input::Persisted`] or [`Input::PersistFailed`]; outputs that depend on a write are held inside the
//!    core until then, everything else is released at once.

#![warn(missing_docs)]

pub mod config;
pub mod events;
pub mod glob;
pub mod io;
pub mod reply;
pub mod status;
pub mod time;
pub mod wire;

mod command;
mod detect;
mod election;
mod emit;
mod failover;
mod instance;
mod links;
mod monitor;
mod outbox;
mod query;
mod sentinel;
mod timers;

pub use command::parse::{
    CommandError, ConfigArg, ConfigSetting, SentinelCommand, SetArg, SetOption, SimulateEnd,
    SUBCOMMANDS,
};
pub use config::{GlobalConfig, MasterConfig, PersistedMaster, PersistedState};
pub use events::{Addr, Event, EventKind, Instance, InstanceKind, Level};
pub use glob::{stringmatch, Pattern};
pub use io::{
    ClientId, ConnectSpec, HelloTemplate, Input, LinkId, LinkKind, LinkReply, OutCommand, Output,
    PersistSeq, PingReply, ScriptJob,
};
pub use reply::Reply;
pub use sentinel::{Mutation, Sentinel, Timings};
pub use time::Instant;

#[cfg(test)]
mod tests;

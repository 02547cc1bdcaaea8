//! `SENTINEL <subcommand>` as functions of the state, answering with [`Reply`] values (reference §1.2–§1.3).

mod admin;
mod config;
pub mod parse;
mod show;
#[cfg(test)]
mod tests;

use crate::config::is_valid_myid;
use crate::instance::same_host;
use crate::io::ClientId;
use crate::reply::{errors, Reply};
use crate::sentinel::Sentinel;
use crate::time::Instant;
use parse::SentinelCommand;

const HELP: &[&str] = &[
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum needed",
    "    to failover a master and the majority needed to authorize the failover.",
    "CONFIG SET param value [param value ...]",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param> [param param param ...]",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration paramters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
];

pub(super) fn ms(v: u64) -> String {
    v.to_string()
}

impl Sentinel {
    /// Execute a parsed command: only the checks that need the sentinel's state are left.
    pub(crate) fn command(&mut self, client: ClientId, cmd: SentinelCommand) {
        use SentinelCommand as C;
        let r = match cmd {
            C::Role => Reply::Array(vec![
                Reply::bulk("sentinel"),
                Reply::Array(self.masters.keys().map(Reply::bulk).collect()),
            ]),
            C::Publish(payload) => {
                self.on_hello(&payload, false);
                Reply::Int(1)
            }
            C::Masters => {
                let names: Vec<String> = self.masters.keys().cloned().collect();
                Reply::Array(names.iter().map(|n| self.master_map(n)).collect())
            }
            C::Master(name) => match self.masters.get(&name) {
                Some(_) => self.master_map(&name),
                None => Reply::err(errors::NO_SUCH_MASTER),
            },
            C::Replicas(name) => match self.masters.get(&name) {
                Some(m) => {
                    let rs: Vec<String> = m
                        .replicas
                        .iter()
                        .filter(|(_, r)| r.announced)
                        .map(|(n, _)| n.clone())
                        .collect();
                    Reply::Array(rs.iter().map(|r| self.replica_map(&name, r)).collect())
                }
                None => Reply::err(errors::NO_SUCH_MASTER),
            },
            C::Sentinels(name) => match self.masters.get(&name) {
                Some(m) => {
                    let ids: Vec<String> = m.sentinels.keys().cloned().collect();
                    Reply::Array(ids.iter().map(|id| self.peer_map(&name, id)).collect())
                }
                None => Reply::err(errors::NO_SUCH_MASTER),
            },
            C::GetMasterAddrByName(name) => match self.master_addr(&name) {
                Some((h, p)) => Reply::Array(vec![Reply::bulk(h), Reply::bulk(p.to_string())]),
                None => Reply::NilArray,
            },
            C::MyId => Reply::bulk(&self.myid),
            C::IsMasterDownByAddr {
                ip,
                port,
                epoch,
                runid,
            } => return self.cmd_is_master_down(client, &ip, port, epoch, &runid),
            C::Monitor {
                name,
                host,
                port,
                quorum,
            } => return self.cmd_monitor(client, name, &host, port, quorum),
            C::Remove(name) => return self.cmd_remove(client, &name),
            C::Reset(pattern) => self.cmd_reset(&pattern),
            C::Failover(name) => self.cmd_failover(&name),
            C::CkQuorum(name) => self.cmd_ckquorum(&name),
            C::FlushConfig => {
                self.ack_after_flush(client, Reply::ok());
                return;
            }
            C::Set {
                name,
                options,
                error,
            } => return self.cmd_set(client, &name, options, error),
            C::ConfigGet(patterns) => self.cmd_config_get(&patterns),
            C::ConfigSet(settings) => return self.cmd_config_set(client, settings),
            C::InfoCache(names) => self.cmd_info_cache(&names),
            C::PendingScripts => Reply::Array(vec![]),
            C::SimulateFailure { flags, end } => self.cmd_simulate_failure(flags, end),
            C::DebugShow => self.cmd_debug_show(),
            C::DebugSet { timings, error } => self.cmd_debug_set(&timings, error),
            C::Help => {
                let mut v = vec![Reply::Status(
                    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into(),
                )];
                v.extend(HELP.iter().map(|l| Reply::Status((*l).into())));
                v.push(Reply::Status("HELP".into()));
                v.push(Reply::Status("    Print this help.".into()));
                Reply::Array(v)
            }
        };
        self.reply(client, r);
    }

    fn cmd_is_master_down(
        &mut self,
        client: ClientId,
        ip: &str,
        port: Option<u16>,
        epoch: u64,
        runid: &str,
    ) {
        let found = port.and_then(|port| {
            self.masters
                .iter_ids()
                .find(|(_, m)| m.c.port == port && same_host(&m.c.host, ip))
                .map(|(id, _)| id)
        });
        let down =
            !self.tilt && found.is_some_and(|id| self.masters.at(id).is_some_and(|m| m.c.s_down));
        let mut leader = "*".to_string();
        let mut leader_epoch = 0u64;
        if let (Some(id), true) = (found, runid != "*") {
            let (l, e) = self.vote_leader(id, epoch, runid);
            leader = l.unwrap_or_else(|| "*".into());
            leader_epoch = e;
        }
        let reply = Reply::Array(vec![
            Reply::Int(i64::from(down)),
            Reply::bulk(&leader),
            Reply::Int(leader_epoch as i64),
        ]);
        // A vote must be durable before the reply reveals it; if its write fails, abstain (Redis would
        // reveal it anyway). A reply without a vote, or with one already on disk, leaves at once.
        let found_name = found
            .and_then(|id| self.masters.at(id))
            .map(|m| m.cfg.name.clone());
        let dep = match &found_name {
            Some(name)
                if leader != "*"
                    && !self.mutated(crate::sentinel::Mutation::SkipPersistBarrier) =>
            {
                self.out.dep_for(|d| d.current_epoch >= leader_epoch)
            }
            _ => None,
        };
        let abstain = Reply::Array(vec![
            Reply::Int(i64::from(down)),
            Reply::bulk("*"),
            Reply::Int(0),
        ]);
        let now = self.now;
        self.out.guarded(client, reply, dep, abstain, now);
    }

    /// Answer a command that changed persisted state once the write covering the change is durable:
    /// `reply` then, or Redis's `-ERR Failed to save config file. Check server logs.` if that write fails
    /// (an error reply stays itself). The in-memory change is kept either way, as in Redis.
    fn ack_after_flush(&mut self, client: ClientId, reply: Reply) {
        let dep = self.flush();
        let fail = if reply.is_error() {
            reply.clone()
        } else {
            Reply::err(errors::FLUSH_FAILED)
        };
        let now = self.now;
        self.out.guarded(client, reply, Some(dep), fail, now);
    }

    /// Validate a myid (used by tests and the shell).
    pub fn valid_myid(id: &str) -> bool {
        is_valid_myid(id)
    }
}

/// The core's entry points for client commands (here, not in `sentinel.rs`, so the façade needs no
/// import from `command`).
impl Sentinel {
    /// A client command routed to the core (`SENTINEL ...`, `ROLE`, `PUBLISH`), parsed once by the
    /// caller with [`SentinelCommand::parse`]; only the checks that need the state are left.
    pub fn handle_command(&mut self, now: Instant, client: ClientId, cmd: SentinelCommand) {
        self.set_now(now);
        self.command(client, cmd);
        self.settle();
    }

    /// [`SentinelCommand::parse`] then [`Sentinel::handle_command`], a parse error answered to `client`
    /// in order with its other replies: for callers that hold raw argv and no authentication stage of
    /// their own (the simulation, fuzz targets, tests). The shell parses itself, since Redis answers the
    /// dispatcher's errors before it checks authentication.
    pub fn handle_argv(&mut self, now: Instant, client: ClientId, argv: &[Vec<u8>]) {
        match SentinelCommand::parse(argv) {
            Ok(cmd) => self.handle_command(now, client, cmd),
            Err(e) => {
                self.set_now(now);
                self.reply(client, e.into_reply());
                self.settle();
            }
        }
    }
}

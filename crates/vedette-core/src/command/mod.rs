//! `SENTINEL <subcommand>` as functions of the state, answering with [`Reply`] values (reference §1.2–§1.3).

mod admin;
mod config;
mod show;

use crate::config::is_valid_myid;
use crate::instance::same_host;
use crate::io::ClientId;
use crate::reply::{errors, Reply};
use crate::sentinel::Sentinel;

/// (name, arity) of every SENTINEL subcommand; negative arity = at least.
const SUBCOMMANDS: &[(&str, i32)] = &[
    ("ckquorum", 3),
    ("config", -4),
    ("debug", -2),
    ("failover", 3),
    ("flushconfig", 2),
    ("get-master-addr-by-name", 3),
    ("get-primary-addr-by-name", 3),
    ("help", 2),
    ("info-cache", -3),
    ("is-master-down-by-addr", 6),
    ("is-primary-down-by-addr", 6),
    ("master", 3),
    ("primary", 3),
    ("masters", 2),
    ("primaries", 2),
    ("monitor", 6),
    ("myid", 2),
    ("pending-scripts", 2),
    ("remove", 3),
    ("replicas", 3),
    ("slaves", 3),
    ("reset", 3),
    ("sentinels", 3),
    ("set", -5),
    ("simulate-failure", -3),
];

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

pub(super) fn s(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

/// A command's integer argument, parsed as Redis's `getLongLongFromObject` does.
pub(super) fn parse_i64(a: &[u8]) -> Option<i64> {
    crate::config::parse_redis_i64(a)
}

pub(super) fn ms(v: u64) -> String {
    v.to_string()
}

impl Sentinel {
    pub(crate) fn sentinel_command(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        if argv.len() < 2 {
            self.reply(client, Reply::err(errors::wrong_arity("sentinel")));
            return;
        }
        let sub = s(&argv[1]).to_ascii_lowercase();
        let Some(&(_, arity)) = SUBCOMMANDS.iter().find(|(n, _)| *n == sub) else {
            self.reply(
                client,
                Reply::err(errors::unknown_subcommand("sentinel", &argv[1])),
            );
            return;
        };
        let n = argv.len() as i32;
        if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
            self.reply(
                client,
                Reply::err(errors::wrong_arity(&format!("sentinel|{sub}"))),
            );
            return;
        }
        let r = match sub.as_str() {
            "masters" | "primaries" => {
                let names: Vec<String> = self.masters.keys().cloned().collect();
                Reply::Array(names.iter().map(|n| self.master_map(n)).collect())
            }
            "master" | "primary" => match self.masters.get(&s(&argv[2])) {
                Some(_) => self.master_map(&s(&argv[2])),
                None => Reply::err(errors::NO_SUCH_MASTER),
            },
            "replicas" | "slaves" => match self.masters.get(&s(&argv[2])) {
                Some(m) => {
                    let name = s(&argv[2]);
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
            "sentinels" => match self.masters.get(&s(&argv[2])) {
                Some(m) => {
                    let name = s(&argv[2]);
                    let ids: Vec<String> = m.sentinels.keys().cloned().collect();
                    Reply::Array(ids.iter().map(|id| self.peer_map(&name, id)).collect())
                }
                None => Reply::err(errors::NO_SUCH_MASTER),
            },
            "get-master-addr-by-name" | "get-primary-addr-by-name" => {
                match self.master_addr(&s(&argv[2])) {
                    Some((h, p)) => Reply::Array(vec![Reply::bulk(h), Reply::bulk(p.to_string())]),
                    None => Reply::NilArray,
                }
            }
            "myid" => Reply::bulk(&self.myid),
            "is-master-down-by-addr" | "is-primary-down-by-addr" => {
                return self.cmd_is_master_down(client, argv);
            }
            "monitor" => return self.cmd_monitor(client, argv),
            "remove" => return self.cmd_remove(client, argv),
            "reset" => self.cmd_reset(&argv[2]),
            "failover" => self.cmd_failover(&s(&argv[2])),
            "ckquorum" => self.cmd_ckquorum(&s(&argv[2])),
            "flushconfig" => {
                self.ack_after_flush(client, Reply::ok());
                return;
            }
            "set" => return self.cmd_set(client, argv),
            "config" => return self.cmd_config(client, argv),
            "info-cache" => self.cmd_info_cache(&argv[2..]),
            "pending-scripts" => Reply::Array(vec![]),
            "simulate-failure" => self.cmd_simulate_failure(&argv[2..]),
            "debug" => self.cmd_debug(&argv[2..]),
            "help" => {
                let mut v = vec![Reply::Status(
                    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into(),
                )];
                v.extend(HELP.iter().map(|l| Reply::Status((*l).into())));
                v.push(Reply::Status("HELP".into()));
                v.push(Reply::Status("    Print this help.".into()));
                Reply::Array(v)
            }
            _ => Reply::err(errors::unknown_subcommand("sentinel", &argv[1])),
        };
        self.reply(client, r);
    }

    fn cmd_is_master_down(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        let (Some(port), Some(epoch)) = (parse_i64(&argv[3]), parse_i64(&argv[4])) else {
            self.reply(client, Reply::err(errors::NOT_INTEGER));
            return;
        };
        let ip = s(&argv[2]);
        let runid = s(&argv[5]);
        let found = self
            .masters
            .iter_ids()
            .find(|(_, m)| i64::from(m.c.port) == port && same_host(&m.c.host, &ip))
            .map(|(id, _)| id);
        let down =
            !self.tilt && found.is_some_and(|id| self.masters.at(id).is_some_and(|m| m.c.s_down));
        let mut leader = "*".to_string();
        let mut leader_epoch = 0u64;
        if let (Some(id), true) = (found, runid != "*") {
            let (l, e) = self.vote_leader(id, epoch.max(0) as u64, &runid);
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

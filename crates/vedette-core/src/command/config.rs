//! Sentinel-wide settings: `SENTINEL CONFIG GET/SET` (validated as a whole before anything applies),
//! `DEBUG` timings and `SIMULATE-FAILURE`.

use super::parse::{ConfigArg, ConfigSetting, SimulateEnd, DEBUG_NAMES};
use crate::glob::Pattern;
use crate::io::ClientId;
use crate::reply::Reply;
use crate::sentinel::Sentinel;

/// The parameters `SENTINEL CONFIG SET` accepts (and `GET` matches against).
pub(super) const CONFIG_PARAMS: &[&str] = &[
    "resolve-hostnames",
    "announce-hostnames",
    "announce-ip",
    "announce-port",
    "sentinel-user",
    "sentinel-pass",
    "loglevel",
];

impl Sentinel {
    pub(crate) fn config_get(&self, p: &str) -> String {
        let g = &self.global;
        match p {
            "resolve-hostnames" => yes_no(g.resolve_hostnames),
            "announce-hostnames" => yes_no(g.announce_hostnames),
            "announce-ip" => g.announce_ip.clone().unwrap_or_default(),
            "announce-port" => g.announce_port.to_string(),
            "sentinel-user" => g.sentinel_user.clone().unwrap_or_default(),
            "sentinel-pass" => g.sentinel_pass.clone().unwrap_or_default(),
            "loglevel" => g.loglevel.clone(),
            _ => String::new(),
        }
    }

    pub(crate) fn cmd_config_get(&self, patterns: &[Vec<u8>]) -> Reply {
        let mut out: Vec<(String, String)> = Vec::new();
        for pat in patterns {
            let pat = Pattern::new(pat, true);
            for p in CONFIG_PARAMS {
                if pat.matches(p.as_bytes()) && !out.iter().any(|(k, _)| k == p) {
                    out.push(((*p).to_string(), self.config_get(p)));
                }
            }
        }
        Reply::bulk_map(out)
    }

    /// Apply validated pairs, all or none: the one state-dependent check (`resolve-hostnames no` while an
    /// instance is known by name) runs over all of them first.
    pub(crate) fn cmd_config_set(&mut self, client: ClientId, args: Vec<ConfigArg>) {
        let refused = args
            .iter()
            .find(|a| a.setting == ConfigSetting::ResolveHostnames(false));
        if let (Some(a), Some(h)) = (refused, self.hostname_in_use()) {
            // Refused while an instance is known by name: the config written next would no longer load
            // ("Can't resolve instance hostname."), which Redis only finds at restart.
            tracing::warn!(host = %h, "refusing resolve-hostnames no: an instance is known by host name");
            let e = format!(
                "ERR Invalid value '{}' to SENTINEL CONFIG SET '{}'",
                a.value, a.param
            );
            return self.reply(client, Reply::err(e));
        }
        let mut drop_sentinel_links = false;
        let g = &mut self.global;
        for arg in args {
            match arg.setting {
                ConfigSetting::ResolveHostnames(b) => g.resolve_hostnames = b,
                ConfigSetting::AnnounceHostnames(b) => g.announce_hostnames = b,
                ConfigSetting::AnnounceIp(v) => g.announce_ip = v,
                ConfigSetting::AnnouncePort(p) => g.announce_port = p,
                ConfigSetting::SentinelUser(v) => {
                    g.sentinel_user = v;
                    drop_sentinel_links = true;
                }
                ConfigSetting::SentinelPass(v) => {
                    g.sentinel_pass = v;
                    drop_sentinel_links = true;
                }
                ConfigSetting::Loglevel(l) => g.loglevel = l,
            }
        }
        if drop_sentinel_links {
            let links: std::collections::BTreeSet<_> = self
                .masters
                .values()
                .flat_map(|m| m.sentinels.values().map(|p| p.c.link))
                .collect();
            for l in links {
                self.drop_connection(l);
            }
        }
        self.ack_after_flush(client, Reply::ok());
    }

    /// Some stored address that is a host name, not an IP literal.
    pub(crate) fn hostname_in_use(&self) -> Option<String> {
        let mut hosts = self.masters.values().flat_map(|m| {
            std::iter::once(&m.c.host)
                .chain(m.replicas.values().map(|r| &r.c.host))
                .chain(m.sentinels.values().map(|p| &p.c.host))
        });
        hosts
            .find(|h| h.parse::<std::net::IpAddr>().is_err())
            .cloned()
    }

    pub(crate) fn cmd_simulate_failure(&mut self, flags: u8, end: Option<SimulateEnd>) -> Reply {
        // The flags set before `help` or an unknown flag stay set, as in Redis.
        self.simfailure = flags;
        match end {
            None => Reply::ok(),
            Some(SimulateEnd::Help) => Reply::Array(vec![
                Reply::bulk("crash-after-election"),
                Reply::bulk("crash-after-promotion"),
            ]),
            Some(SimulateEnd::Unknown) => Reply::err("ERR Unknown failure simulation specified"),
        }
    }

    pub(crate) fn timing_mut(&mut self, name: &str) -> Option<&mut u64> {
        timing_field(&mut self.t, name)
    }

    pub(crate) fn cmd_debug_show(&self) -> Reply {
        let pairs: Vec<(String, String)> = DEBUG_NAMES
            .iter()
            .map(|n| (n.to_ascii_uppercase(), self.clone_timing(n).to_string()))
            .collect();
        Reply::bulk_map(pairs)
    }

    /// Timings apply left to right; those before an error stay applied (as in Redis).
    pub(crate) fn cmd_debug_set(
        &mut self,
        timings: &[(&str, u64)],
        error: Option<String>,
    ) -> Reply {
        for &(name, v) in timings {
            if let Some(slot) = self.timing_mut(name) {
                *slot = v;
            }
        }
        if !timings.is_empty() {
            // Every deadline depends on the timings.
            self.masters.touch_all();
        }
        error.map(Reply::err).unwrap_or_else(Reply::ok)
    }

    pub(crate) fn clone_timing(&self, name: &str) -> u64 {
        let mut t = self.t.clone();
        timing_field(&mut t, name).map_or(0, |v| *v)
    }
}

/// The `SENTINEL DEBUG` name of each tunable, mapped to its field (one table for reading and writing).
fn timing_field<'a>(t: &'a mut crate::sentinel::Timings, name: &str) -> Option<&'a mut u64> {
    Some(match name {
        "info-period" => &mut t.info_period,
        "ping-period" => &mut t.ping_period,
        "ask-period" => &mut t.ask_period,
        "publish-period" => &mut t.publish_period,
        "default-down-after" => &mut t.default_down_after,
        "default-failover-timeout" => &mut t.default_failover_timeout,
        "tilt-trigger" => &mut t.tilt_trigger,
        "tilt-period" => &mut t.tilt_period,
        "slave-reconf-timeout" => &mut t.slave_reconf_timeout,
        "min-link-reconnect-period" => &mut t.min_link_reconnect_period,
        "election-timeout" => &mut t.election_timeout,
        "script-max-runtime" => &mut t.script_max_runtime,
        "script-retry-delay" => &mut t.script_retry_delay,
        _ => return None,
    })
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

//! Sentinel-wide settings: `SENTINEL CONFIG GET/SET` (validated as a whole before anything applies),
//! `DEBUG` timings and `SIMULATE-FAILURE`.

use super::{parse_i64, s};
use crate::glob::Pattern;
use crate::io::ClientId;
use crate::reply::Reply;
use crate::sentinel::Sentinel;

const DEBUG_NAMES: &[&str] = &[
    "info-period",
    "ping-period",
    "ask-period",
    "publish-period",
    "default-down-after",
    "default-failover-timeout",
    "tilt-trigger",
    "tilt-period",
    "slave-reconf-timeout",
    "min-link-reconnect-period",
    "election-timeout",
    "script-max-runtime",
    "script-retry-delay",
];

const CONFIG_PARAMS: &[&str] = &[
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

    pub(crate) fn cmd_config(&mut self, client: ClientId, argv: &[Vec<u8>]) {
        let shape_err = "ERR Only SENTINEL CONFIG GET <param> [<param> <param> ...] / SET <param> <value> [<param> <value> ...] are supported.";
        let op = s(&argv[2]).to_ascii_lowercase();
        if op == "get" {
            let mut out: Vec<(String, String)> = Vec::new();
            for pat in &argv[3..] {
                let pat = Pattern::new(pat, true);
                for p in CONFIG_PARAMS {
                    if pat.matches(p.as_bytes()) && !out.iter().any(|(k, _)| k == p) {
                        out.push(((*p).to_string(), self.config_get(p)));
                    }
                }
            }
            return self.reply(client, Reply::bulk_map(out));
        }
        if op != "set" || argv.len() < 5 {
            return self.reply(client, Reply::err(shape_err));
        }
        // Validate everything first: nothing is applied if any pair is bad.
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut i = 3;
        while i < argv.len() {
            let p_raw = s(&argv[i]);
            let p = p_raw.to_ascii_lowercase();
            if !CONFIG_PARAMS.contains(&p.as_str()) {
                return self.reply(
                    client,
                    Reply::err(format!(
                        "ERR Invalid argument '{p_raw}' to SENTINEL CONFIG SET"
                    )),
                );
            }
            if pairs.iter().any(|(k, _)| *k == p) {
                return self.reply(
                    client,
                    Reply::err(format!(
                        "ERR Duplicate argument '{p_raw}' to SENTINEL CONFIG SET"
                    )),
                );
            }
            if i + 1 >= argv.len() {
                return self.reply(
                    client,
                    Reply::err(format!("ERR Missing argument '{p_raw}' value")),
                );
            }
            let v = s(&argv[i + 1]);
            let ok = match p.as_str() {
                "resolve-hostnames" if v.eq_ignore_ascii_case("no") => {
                    // Refused while an instance is known by name: the config written next would no
                    // longer load ("Can't resolve instance hostname."), which Redis only finds at restart.
                    match self.hostname_in_use() {
                        Some(h) => {
                            tracing::warn!(host = %h, "refusing resolve-hostnames no: an instance is known by host name");
                            false
                        }
                        None => true,
                    }
                }
                "resolve-hostnames" | "announce-hostnames" => {
                    v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("no")
                }
                "announce-port" => {
                    parse_i64(v.as_bytes()).is_some_and(|p| (0..=65535).contains(&p))
                }
                "loglevel" => matches!(
                    v.to_ascii_lowercase().as_str(),
                    "debug" | "verbose" | "notice" | "warning" | "nothing"
                ),
                _ => true,
            };
            if !ok {
                return self.reply(
                    client,
                    Reply::err(format!(
                        "ERR Invalid value '{v}' to SENTINEL CONFIG SET '{p_raw}'"
                    )),
                );
            }
            pairs.push((p, v));
            i += 2;
        }
        let mut drop_sentinel_links = false;
        for (p, v) in pairs {
            let g = &mut self.global;
            let opt = |v: String| if v.is_empty() { None } else { Some(v) };
            match p.as_str() {
                "resolve-hostnames" => g.resolve_hostnames = v.eq_ignore_ascii_case("yes"),
                "announce-hostnames" => g.announce_hostnames = v.eq_ignore_ascii_case("yes"),
                "announce-ip" => g.announce_ip = opt(v),
                "announce-port" => g.announce_port = v.parse().unwrap_or(0),
                "sentinel-user" => {
                    g.sentinel_user = opt(v);
                    drop_sentinel_links = true;
                }
                "sentinel-pass" => {
                    g.sentinel_pass = opt(v);
                    drop_sentinel_links = true;
                }
                "loglevel" => g.loglevel = v.to_ascii_lowercase(),
                _ => {}
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

    pub(crate) fn cmd_simulate_failure(&mut self, args: &[Vec<u8>]) -> Reply {
        self.simfailure = 0;
        for a in args {
            match s(a).to_ascii_lowercase().as_str() {
                "crash-after-election" => self.simfailure |= 1,
                "crash-after-promotion" => self.simfailure |= 2,
                "help" => {
                    return Reply::Array(vec![
                        Reply::bulk("crash-after-election"),
                        Reply::bulk("crash-after-promotion"),
                    ])
                }
                _ => return Reply::err("ERR Unknown failure simulation specified"),
            }
        }
        Reply::ok()
    }

    pub(crate) fn timing_mut(&mut self, name: &str) -> Option<&mut u64> {
        timing_field(&mut self.t, name)
    }

    pub(crate) fn cmd_debug(&mut self, args: &[Vec<u8>]) -> Reply {
        if args.is_empty() {
            let pairs: Vec<(String, String)> = DEBUG_NAMES
                .iter()
                .map(|n| {
                    let v = self.clone_timing(n);
                    (n.to_ascii_uppercase(), v.to_string())
                })
                .collect();
            return Reply::bulk_map(pairs);
        }
        let mut i = 0;
        while i < args.len() {
            let raw = s(&args[i]);
            let name = raw.to_ascii_lowercase();
            if i + 1 >= args.len() || !DEBUG_NAMES.contains(&name.as_str()) {
                return Reply::err(format!(
                    "ERR Unknown option or number of arguments for SENTINEL DEBUG '{raw}'"
                ));
            }
            let v = s(&args[i + 1]);
            match parse_i64(v.as_bytes()).filter(|x| *x > 0) {
                Some(x) => {
                    if let Some(slot) = self.timing_mut(&name) {
                        *slot = x as u64;
                    }
                }
                None => {
                    return Reply::err(format!(
                        "ERR Invalid argument '{v}' for SENTINEL DEBUG '{raw}'"
                    ))
                }
            }
            i += 2;
        }
        // Every deadline depends on the timings.
        self.masters.touch_all();
        Reply::ok()
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

//! The argument lists of `SENTINEL SET`, `CONFIG SET` and `DEBUG`, option by option in Redis's order.

use super::{opt, s, ConfigArg, ConfigSetting, SentinelCommand, SetArg, SetOption, DEBUG_NAMES};
use crate::config::{parse_redis_i64, MAX_COUNT};

/// `SENTINEL SET`'s option list (after the name): the valid prefix and the first error.
pub(super) fn parse_set(args: &[Vec<u8>]) -> (Vec<SetArg>, Option<String>) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let option = s(&args[i]);
        let lower = option.to_ascii_lowercase();
        let needs = if lower == "rename-command" { 2 } else { 1 };
        let known = matches!(
            lower.as_str(),
            "down-after-milliseconds"
                | "failover-timeout"
                | "parallel-syncs"
                | "quorum"
                | "notification-script"
                | "client-reconfig-script"
                | "auth-pass"
                | "auth-user"
                | "rename-command"
                | "master-reboot-down-after-period"
                // Valkey 8+'s name for it.
                | "primary-reboot-down-after-period"
        );
        if !known || i + needs >= args.len() {
            let e =
                format!("ERR Unknown option or number of arguments for SENTINEL SET '{option}'");
            return (out, Some(e));
        }
        let val = s(&args[i + 1]);
        let bad = |v: &str| format!("ERR Invalid argument '{v}' for SENTINEL SET '{option}'");
        let positive = || parse_redis_i64(val.as_bytes()).filter(|x| *x > 0);
        // Counts Redis keeps in an `int`: 1..=MAX_COUNT.
        let count = || {
            positive()
                .and_then(|x| u32::try_from(x).ok())
                .filter(|x| *x <= MAX_COUNT)
        };
        let mut shown = val.clone();
        let setting = match lower.as_str() {
            "down-after-milliseconds" => positive().map(|x| SetOption::DownAfter(x as u64)),
            "failover-timeout" => positive().map(|x| SetOption::FailoverTimeout(x as u64)),
            "parallel-syncs" => count().map(SetOption::ParallelSyncs),
            "quorum" => count().map(SetOption::Quorum),
            "master-reboot-down-after-period" | "primary-reboot-down-after-period" => {
                parse_redis_i64(val.as_bytes())
                    .filter(|x| *x >= 0)
                    .map(|x| SetOption::MasterRebootDownAfterPeriod(x as u64))
            }
            "notification-script" => Some(SetOption::NotificationScript(opt(val.clone()))),
            "client-reconfig-script" => Some(SetOption::ClientReconfigScript(opt(val.clone()))),
            "auth-pass" => {
                shown = "******".into();
                Some(SetOption::AuthPass(opt(val.clone())))
            }
            "auth-user" => Some(SetOption::AuthUser(opt(val.clone()))),
            _ => {
                // rename-command <command> <new-name>: both non-empty; the first empty one is named.
                let to = s(&args[i + 2]);
                if val.is_empty() || to.is_empty() {
                    return (out, Some(bad("")));
                }
                shown = format!("{val} {to}");
                Some(SetOption::RenameCommand {
                    command: val.to_ascii_lowercase(),
                    to: (!to.eq_ignore_ascii_case(&val)).then_some(to),
                })
            }
        };
        let Some(setting) = setting else {
            return (out, Some(bad(&val)));
        };
        out.push(SetArg {
            option,
            shown,
            setting,
        });
        i += 1 + needs;
    }
    (out, None)
}

const CONFIG_SHAPE: &str = "ERR Only SENTINEL CONFIG GET <param> [<param> <param> ...] / SET <param> <value> [<param> <value> ...] are supported.";

/// `SENTINEL CONFIG GET|SET ...` (argc ≥ 4). SET is validated as a whole, pair by pair in Redis's order
/// (unknown name, repeated name, missing value, bad value).
pub(super) fn parse_config(argv: &[Vec<u8>]) -> Result<SentinelCommand, String> {
    if argv[2].eq_ignore_ascii_case(b"get") {
        return Ok(SentinelCommand::ConfigGet(argv[3..].to_vec()));
    }
    if !argv[2].eq_ignore_ascii_case(b"set") || argv.len() < 5 {
        return Err(CONFIG_SHAPE.into());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut i = 3;
    while i < argv.len() {
        let raw = s(&argv[i]);
        let p = raw.to_ascii_lowercase();
        if !crate::command::config::CONFIG_PARAMS.contains(&p.as_str()) {
            return Err(format!(
                "ERR Invalid argument '{raw}' to SENTINEL CONFIG SET"
            ));
        }
        if seen.contains(&p) {
            return Err(format!(
                "ERR Duplicate argument '{raw}' to SENTINEL CONFIG SET"
            ));
        }
        let Some(v) = argv.get(i + 1).map(|v| s(v)) else {
            return Err(format!("ERR Missing argument '{raw}' value"));
        };
        let yes_no = |v: &str| {
            if v.eq_ignore_ascii_case("yes") {
                Some(true)
            } else if v.eq_ignore_ascii_case("no") {
                Some(false)
            } else {
                None
            }
        };
        let setting = match p.as_str() {
            "resolve-hostnames" => yes_no(&v).map(ConfigSetting::ResolveHostnames),
            "announce-hostnames" => yes_no(&v).map(ConfigSetting::AnnounceHostnames),
            "announce-ip" => Some(ConfigSetting::AnnounceIp(opt(v.clone()))),
            "announce-port" => parse_redis_i64(v.as_bytes())
                .and_then(|p| u16::try_from(p).ok())
                .map(ConfigSetting::AnnouncePort),
            "sentinel-user" => Some(ConfigSetting::SentinelUser(opt(v.clone()))),
            "sentinel-pass" => Some(ConfigSetting::SentinelPass(opt(v.clone()))),
            _ => {
                let l = v.to_ascii_lowercase();
                matches!(
                    l.as_str(),
                    "debug" | "verbose" | "notice" | "warning" | "nothing"
                )
                .then_some(ConfigSetting::Loglevel(l))
            }
        };
        let Some(setting) = setting else {
            return Err(format!(
                "ERR Invalid value '{v}' to SENTINEL CONFIG SET '{raw}'"
            ));
        };
        seen.push(p);
        out.push(ConfigArg {
            param: raw,
            value: v,
            setting,
        });
        i += 2;
    }
    Ok(SentinelCommand::ConfigSet(out))
}

/// `SENTINEL DEBUG <name> <ms> ...`: the valid prefix and the first error.
pub(super) fn parse_debug(args: &[Vec<u8>]) -> (Vec<(&'static str, u64)>, Option<String>) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let raw = s(&args[i]);
        let known = DEBUG_NAMES
            .iter()
            .find(|n| n.as_bytes().eq_ignore_ascii_case(&args[i]));
        let (Some(&name), Some(v)) = (known, args.get(i + 1)) else {
            let e = format!("ERR Unknown option or number of arguments for SENTINEL DEBUG '{raw}'");
            return (out, Some(e));
        };
        match parse_redis_i64(v).filter(|x| *x > 0) {
            Some(x) => out.push((name, x as u64)),
            None => {
                let e = format!("ERR Invalid argument '{}' for SENTINEL DEBUG '{raw}'", s(v));
                return (out, Some(e));
            }
        }
        i += 2;
    }
    (out, None)
}

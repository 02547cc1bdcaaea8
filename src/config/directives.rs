//! The generic (non-`sentinel`) redis-server directives: which ones vedette implements, which ones it
//! accepts for compatibility, and how Redis validates their arguments (`config.c`).
//!
//! Every directive of Redis 7.0's `redis.conf` is accepted so that configs written for `redis-sentinel`
//! (Helm charts, distribution packages, Redis's own test harness) load unchanged. Those vedette does not
//! implement are reported once each as a warning when their value differs from Redis's default (a
//! directive set to its default changes nothing, so `protected-mode no` or `latency-tracking-info-percentiles
//! 50 99 99.9` written by a Redis rewrite stay quiet).
//!
//! Security settings fail closed: the TLS family and `aclfile` are [`Support::Refused`] — at their
//! defaults they load, any other value stops start-up with file:line and the reason, because ignoring
//! them would turn a TLS- or ACL-only configuration into an open plaintext port. (`user`,
//! `rename-command`, `loadmodule` are statements, handled in `sentinel_conf.rs` with the same rule.)

/// How Redis validates a directive's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `yes` / `no`.
    Bool,
    /// A signed integer.
    Int,
    /// A memory size (`100`, `64mb`, `1gb`…).
    Mem,
    /// Any single argument.
    Str,
    /// One or more arguments (Redis `MULTI_ARG_CONFIG`); a single argument is split on blanks.
    Multi,
}

/// What vedette does with a generic directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Support {
    /// Applied to [`super::ServerConfig`] / the sentinel state.
    Implemented,
    /// Accepted; a warning names it when its value differs from `default`.
    Ignored,
    /// Accepted and meaningless for a sentinel even in Redis (no warning; Redis drops it on rewrite too).
    Dropped,
    /// A security feature vedette does not implement yet (TLS, ACL files): accepted at its default value,
    /// any other value stops start-up (fail closed: ignoring it would silently open a plaintext or
    /// password-less port).
    Refused,
}

/// One generic directive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Directive {
    pub name: &'static str,
    pub kind: Kind,
    pub support: Support,
    /// Redis's default, as the config line would spell it (arguments joined by one blank).
    pub default: &'static str,
}

use Kind::*;
use Support::*;

const fn d(name: &'static str, kind: Kind, support: Support, default: &'static str) -> Directive {
    Directive {
        name,
        kind,
        support,
        default,
    }
}

/// Redis 7.0 standard configs (plus 7.2+ additions the harness writes), with their aliases.
// One directive a line, however long, so the table reads (and diffs) row by row.
#[rustfmt::skip]
pub(crate) const DIRECTIVES: &[Directive] = &[
    // Implemented by vedette.
    d("port", Int, Implemented, "26379"),
    d("bind", Multi, Implemented, "* -::*"),
    d("dir", Str, Implemented, ""),
    d("logfile", Str, Implemented, ""),
    d("loglevel", Str, Implemented, "notice"),
    d("pidfile", Str, Implemented, ""),
    d("daemonize", Bool, Implemented, "no"),
    d("requirepass", Str, Implemented, ""),
    d("maxclients", Int, Implemented, "10000"),
    d("timeout", Int, Implemented, "0"),
    d("tcp-keepalive", Int, Implemented, "300"),
    d("tcp-backlog", Int, Implemented, "511"),
    d("protected-mode", Bool, Implemented, "no"),
    d("proto-max-bulk-len", Mem, Implemented, "512mb"),
    d("client-query-buffer-limit", Mem, Implemented, "1gb"),
    d("client-output-buffer-limit", Multi, Implemented, "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60"),
    // vedette only: the HTTP listener (metrics, health probes, status), off by default.
    d("http-port", Int, Implemented, "0"),
    d("http-bind", Multi, Implemented, ""),
    // Meaningless in Sentinel mode even for Redis.
    d("save", Multi, Dropped, "3600 1 300 100 60 10000"),
    // Accepted, not implemented.
    d("acl-pubsub-default", Str, Ignored, "resetchannels"),
    d("aclfile", Str, Refused, ""),
    d("acllog-max-len", Int, Ignored, "128"),
    d("active-defrag-cycle-max", Int, Ignored, "25"),
    d("active-defrag-cycle-min", Int, Ignored, "1"),
    d("active-defrag-ignore-bytes", Mem, Ignored, "100mb"),
    d("active-defrag-max-scan-fields", Int, Ignored, "1000"),
    d("active-defrag-threshold-lower", Int, Ignored, "10"),
    d("active-defrag-threshold-upper", Int, Ignored, "100"),
    d("active-expire-effort", Int, Ignored, "1"),
    d("activedefrag", Bool, Ignored, "no"),
    d("activerehashing", Bool, Ignored, "yes"),
    d("always-show-logo", Bool, Ignored, "no"),
    d("aof-load-truncated", Bool, Ignored, "yes"),
    d("aof-rewrite-incremental-fsync", Bool, Ignored, "yes"),
    d("aof-timestamp-enabled", Bool, Ignored, "no"),
    d("aof-use-rdb-preamble", Bool, Ignored, "yes"),
    d("appenddirname", Str, Ignored, "appendonlydir"),
    d("appendfilename", Str, Ignored, "appendonly.aof"),
    d("appendfsync", Str, Ignored, "everysec"),
    d("appendonly", Bool, Ignored, "no"),
    d("auto-aof-rewrite-min-size", Mem, Ignored, "64mb"),
    d("auto-aof-rewrite-percentage", Int, Ignored, "100"),
    d("bind-source-addr", Str, Ignored, ""),
    d("busy-reply-threshold", Int, Ignored, "5000"),
    d("client-default-resp", Int, Ignored, "2"),
    d("cluster-allow-pubsubshard-when-down", Bool, Ignored, "yes"),
    d("cluster-allow-reads-when-down", Bool, Ignored, "no"),
    d("cluster-allow-replica-migration", Bool, Ignored, "yes"),
    d("cluster-announce-bus-port", Int, Ignored, "0"),
    d("cluster-announce-hostname", Str, Ignored, ""),
    d("cluster-announce-ip", Str, Ignored, ""),
    d("cluster-announce-port", Int, Ignored, "0"),
    d("cluster-announce-tls-port", Int, Ignored, "0"),
    d("cluster-config-file", Str, Ignored, "nodes.conf"),
    d("cluster-enabled", Bool, Ignored, "no"),
    d("cluster-link-sendbuf-limit", Mem, Ignored, "0"),
    d("cluster-migration-barrier", Int, Ignored, "1"),
    d("cluster-node-timeout", Int, Ignored, "15000"),
    d("cluster-port", Int, Ignored, "0"),
    d("cluster-preferred-endpoint-type", Str, Ignored, "ip"),
    d("cluster-replica-no-failover", Bool, Ignored, "no"),
    d("cluster-replica-validity-factor", Int, Ignored, "10"),
    d("cluster-require-full-coverage", Bool, Ignored, "yes"),
    d("cluster-slave-no-failover", Bool, Ignored, "no"),
    d("cluster-slave-validity-factor", Int, Ignored, "10"),
    d("crash-log-enabled", Bool, Ignored, "yes"),
    d("crash-memcheck-enabled", Bool, Ignored, "yes"),
    d("databases", Int, Ignored, "16"),
    d("dbfilename", Str, Ignored, "dump.rdb"),
    d("disable-thp", Bool, Ignored, "yes"),
    d("dynamic-hz", Bool, Ignored, "yes"),
    d("enable-debug-command", Str, Ignored, "no"),
    d("enable-module-command", Str, Ignored, "no"),
    d("enable-protected-configs", Str, Ignored, "no"),
    d("hash-max-listpack-entries", Int, Ignored, "128"),
    d("hash-max-listpack-value", Mem, Ignored, "64"),
    d("hash-max-ziplist-entries", Int, Ignored, "128"),
    d("hash-max-ziplist-value", Mem, Ignored, "64"),
    d("hll-sparse-max-bytes", Mem, Ignored, "3000"),
    d("hz", Int, Ignored, "10"),
    d("ignore-warnings", Str, Ignored, ""),
    d("io-threads", Int, Ignored, "1"),
    d("io-threads-do-reads", Bool, Ignored, "no"),
    d("jemalloc-bg-thread", Bool, Ignored, "yes"),
    d("latency-monitor-threshold", Int, Ignored, "0"),
    d("latency-tracking", Bool, Ignored, "yes"),
    d("latency-tracking-info-percentiles", Multi, Ignored, "50 99 99.9"),
    d("lazyfree-lazy-eviction", Bool, Ignored, "no"),
    d("lazyfree-lazy-expire", Bool, Ignored, "no"),
    d("lazyfree-lazy-server-del", Bool, Ignored, "no"),
    d("lazyfree-lazy-user-del", Bool, Ignored, "no"),
    d("lazyfree-lazy-user-flush", Bool, Ignored, "no"),
    d("lfu-decay-time", Int, Ignored, "1"),
    d("lfu-log-factor", Int, Ignored, "10"),
    d("list-compress-depth", Int, Ignored, "0"),
    d("list-max-listpack-size", Int, Ignored, "-2"),
    d("list-max-ziplist-entries", Str, Ignored, ""),
    d("list-max-ziplist-size", Int, Ignored, "-2"),
    d("list-max-ziplist-value", Str, Ignored, ""),
    d("lua-replicate-commands", Str, Ignored, ""),
    d("lua-time-limit", Int, Ignored, "5000"),
    d("masterauth", Str, Ignored, ""),
    d("masteruser", Str, Ignored, ""),
    d("maxmemory", Mem, Ignored, "0"),
    d("maxmemory-clients", Str, Ignored, "0"),
    d("maxmemory-eviction-tenacity", Int, Ignored, "10"),
    d("maxmemory-policy", Str, Ignored, "noeviction"),
    d("maxmemory-samples", Int, Ignored, "5"),
    d("min-replicas-max-lag", Int, Ignored, "10"),
    d("min-replicas-to-write", Int, Ignored, "0"),
    d("min-slaves-max-lag", Int, Ignored, "10"),
    d("min-slaves-to-write", Int, Ignored, "0"),
    d("no-appendfsync-on-rewrite", Bool, Ignored, "no"),
    d("notify-keyspace-events", Str, Ignored, ""),
    d("oom-score-adj", Str, Ignored, "no"),
    d("oom-score-adj-values", Multi, Ignored, "0 200 800"),
    d("proc-title-template", Str, Ignored, "{title} {listen-addr} {server-mode}"),
    d("propagation-error-behavior", Str, Ignored, "ignore"),
    d("rdb-del-sync-files", Bool, Ignored, "no"),
    d("rdb-key-save-delay", Int, Ignored, "0"),
    d("rdb-save-incremental-fsync", Bool, Ignored, "yes"),
    d("rdbchecksum", Bool, Ignored, "yes"),
    d("rdbcompression", Bool, Ignored, "yes"),
    d("repl-backlog-size", Mem, Ignored, "1mb"),
    d("repl-backlog-ttl", Int, Ignored, "3600"),
    d("repl-disable-tcp-nodelay", Bool, Ignored, "no"),
    d("repl-diskless-load", Str, Ignored, "disabled"),
    d("repl-diskless-sync", Bool, Ignored, "yes"),
    d("repl-diskless-sync-delay", Int, Ignored, "5"),
    d("repl-diskless-sync-max-replicas", Int, Ignored, "0"),
    d("repl-ping-replica-period", Int, Ignored, "10"),
    d("repl-ping-slave-period", Int, Ignored, "10"),
    d("repl-timeout", Int, Ignored, "60"),
    d("replica-announce-ip", Str, Ignored, ""),
    d("replica-announce-port", Int, Ignored, "0"),
    d("replica-announced", Bool, Ignored, "yes"),
    d("replica-ignore-disk-write-errors", Bool, Ignored, "no"),
    d("replica-ignore-maxmemory", Bool, Ignored, "yes"),
    d("replica-lazy-flush", Bool, Ignored, "no"),
    d("replica-priority", Int, Ignored, "100"),
    d("replica-read-only", Bool, Ignored, "yes"),
    d("replica-serve-stale-data", Bool, Ignored, "yes"),
    d("req-res-logfile", Str, Ignored, ""),
    d("sanitize-dump-payload", Str, Ignored, "no"),
    d("set-max-intset-entries", Int, Ignored, "512"),
    d("set-max-listpack-entries", Int, Ignored, "128"),
    d("set-max-listpack-value", Mem, Ignored, "64"),
    d("set-proc-title", Bool, Ignored, "yes"),
    d("shutdown-on-sigint", Multi, Ignored, "default"),
    d("shutdown-on-sigterm", Multi, Ignored, "default"),
    d("shutdown-timeout", Int, Ignored, "10"),
    d("slave-announce-ip", Str, Ignored, ""),
    d("slave-announce-port", Int, Ignored, "0"),
    d("slave-ignore-maxmemory", Bool, Ignored, "yes"),
    d("slave-lazy-flush", Bool, Ignored, "no"),
    d("slave-priority", Int, Ignored, "100"),
    d("slave-read-only", Bool, Ignored, "yes"),
    d("slave-serve-stale-data", Bool, Ignored, "yes"),
    d("slowlog-log-slower-than", Int, Ignored, "10000"),
    d("slowlog-max-len", Int, Ignored, "128"),
    d("socket-mark-id", Int, Ignored, "0"),
    d("stop-writes-on-bgsave-error", Bool, Ignored, "yes"),
    d("stream-node-max-bytes", Mem, Ignored, "4096"),
    d("stream-node-max-entries", Int, Ignored, "100"),
    d("supervised", Str, Ignored, "no"),
    d("syslog-enabled", Bool, Ignored, "no"),
    d("syslog-facility", Str, Ignored, "local0"),
    d("syslog-ident", Str, Ignored, "redis"),
    d("tls-auth-clients", Str, Refused, "yes"),
    d("tls-ca-cert-dir", Str, Refused, ""),
    d("tls-ca-cert-file", Str, Refused, ""),
    d("tls-cert-file", Str, Refused, ""),
    d("tls-ciphers", Str, Refused, ""),
    d("tls-ciphersuites", Str, Refused, ""),
    d("tls-client-cert-file", Str, Refused, ""),
    d("tls-client-key-file", Str, Refused, ""),
    d("tls-client-key-file-pass", Str, Refused, ""),
    d("tls-cluster", Bool, Refused, "no"),
    d("tls-dh-params-file", Str, Refused, ""),
    d("tls-key-file", Str, Refused, ""),
    d("tls-key-file-pass", Str, Refused, ""),
    d("tls-port", Int, Refused, "0"),
    d("tls-prefer-server-ciphers", Bool, Refused, "no"),
    d("tls-protocols", Str, Refused, ""),
    d("tls-replication", Bool, Refused, "no"),
    d("tls-session-cache-size", Int, Refused, "20480"),
    d("tls-session-cache-timeout", Int, Refused, "300"),
    d("tls-session-caching", Bool, Refused, "yes"),
    d("tracking-table-max-keys", Int, Ignored, "1000000"),
    d("unixsocket", Str, Ignored, ""),
    d("unixsocketperm", Str, Ignored, "0"),
    d("watchdog-period", Int, Ignored, "0"),
    d("zset-max-listpack-entries", Int, Ignored, "128"),
    d("zset-max-listpack-value", Mem, Ignored, "64"),
    d("zset-max-ziplist-entries", Int, Ignored, "128"),
    d("zset-max-ziplist-value", Mem, Ignored, "64"),
];

/// Directives that are not standard configs but statements (`config.c` handles them by hand).
/// They can appear several times and are never regenerated by the rewrite (their lines are kept).
pub(crate) const STATEMENTS: &[&str] = &[
    "include",
    "rename-command",
    "user",
    "loadmodule",
    "replicaof",
    "slaveof",
    "sentinel",
];

/// Why a [`Support::Refused`] directive set to something other than its default stops start-up.
pub(crate) fn refusal(dir: &Directive) -> String {
    let what = if dir.name.starts_with("tls-") {
        "TLS is not supported by vedette yet, so this setting cannot take effect"
    } else {
        "ACL files are not supported by vedette yet (only requirepass), so these users would not exist"
    };
    let default = if dir.default.is_empty() {
        "\"\"".to_string()
    } else {
        format!("'{}'", dir.default)
    };
    format!(
        "{what}; refusing to start rather than serve without it (remove the line or set it to its default {default})"
    )
}

/// Look up a standard config by (lower-case) name.
pub(crate) fn lookup(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| d.name == name)
}

/// Whether the rewrite engine understands a line starting with `name` (others become `# ??? …`).
pub(crate) fn is_known(name: &str) -> bool {
    lookup(name).is_some() || STATEMENTS.contains(&name)
}

/// Validate the arguments of a standard config the way Redis does. `Err` carries Redis's reason text.
pub(crate) fn validate(dir: &Directive, args: &[String]) -> Result<(), String> {
    match dir.kind {
        Multi => {
            if args.is_empty() {
                return Err("wrong number of arguments".into());
            }
            Ok(())
        }
        _ if args.len() != 1 => Err("wrong number of arguments".into()),
        Bool => parse_bool(&args[0]).map(|_| ()),
        Int => parse_int(&args[0]).map(|_| ()),
        Mem => parse_memory(&args[0]).map(|_| ()),
        Str => Ok(()),
    }
}

/// `yes` / `no` (case-insensitive), Redis's message otherwise.
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    if s.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".into())
    }
}

/// A signed integer, Redis's message otherwise.
pub(crate) fn parse_int(s: &str) -> Result<i64, String> {
    s.parse::<i64>()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

/// An integer within `[min, max]`, Redis's messages otherwise.
pub(crate) fn parse_int_range(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let v = parse_int(s)?;
    if v < min || v > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(v)
}

/// `memtoll`: digits with an optional `k`, `kb`, `m`, `mb`, `g`, `gb` suffix (case-insensitive).
pub(crate) fn parse_memory(s: &str) -> Result<u64, String> {
    let bad = || "argument must be a memory value".to_string();
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(bad()),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    n.checked_mul(mul).ok_or_else(bad)
}

/// `client-output-buffer-limit <class> <hard> <soft> <soft-seconds> [...]` (config.c
/// `setConfigClientOutputBufferLimitOption`): validated as a whole first, so a bad class anywhere changes
/// nothing; sizes (and, as in Redis, the seconds) are memory values.
pub(crate) fn parse_output_buffer_limits(
    args: &[String],
    limits: &mut super::OutputBufferLimits,
) -> Result<(), String> {
    if args.is_empty() || args.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut parsed = Vec::with_capacity(args.len() / 4);
    for chunk in args.chunks(4) {
        let class = chunk[0].to_ascii_lowercase();
        if !matches!(class.as_str(), "normal" | "slave" | "replica" | "pubsub") {
            return Err("Invalid client class specified in buffer limit configuration.".into());
        }
        let mut v = [0u64; 3];
        for (slot, a) in v.iter_mut().zip(&chunk[1..]) {
            *slot = parse_memory(a)
                .ok()
                .filter(|&n| n <= i64::MAX as u64)
                .ok_or(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
                )?;
        }
        parsed.push((class, v));
    }
    for (class, [hard, soft, soft_secs]) in parsed {
        let l = super::OutputBufferLimit {
            hard,
            soft,
            soft_secs,
        };
        match class.as_str() {
            "normal" => limits.normal = l,
            "pubsub" => limits.pubsub = l,
            _ => limits.replica = l,
        }
    }
    Ok(())
}

/// Whether `args` spell `dir`'s default (case-insensitive, blanks normalised).
pub(crate) fn is_default(dir: &Directive, args: &[String]) -> bool {
    let given = args.join(" ");
    let given = given.split_whitespace().collect::<Vec<_>>().join(" ");
    if given.eq_ignore_ascii_case(dir.default) {
        return true;
    }
    // Memory values: compare the byte counts (`1mb` = `1048576`).
    if dir.kind == Mem {
        if let (Ok(a), Ok(b)) = (parse_memory(&given), parse_memory(dir.default)) {
            return a == b;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_within_groups_and_unique() {
        let mut names: Vec<_> = DIRECTIVES.iter().map(|d| d.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate directive in table");
    }

    #[test]
    fn redis_conf_directives_are_known() {
        // Every directive named in the shipped sentinel.conf is accepted.
        for name in [
            "protected-mode",
            "port",
            "daemonize",
            "pidfile",
            "logfile",
            "dir",
            "acllog-max-len",
            "sentinel",
        ] {
            assert!(is_known(name), "{name}");
        }
    }

    #[test]
    fn value_checks() {
        assert_eq!(parse_memory("64mb"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_memory("1GB"), Ok(1024 * 1024 * 1024));
        assert!(parse_memory("12xb").is_err());
        assert_eq!(
            parse_int_range("70000", 0, 65535),
            Err("argument must be between 0 and 65535 inclusive".into())
        );
        assert_eq!(
            parse_bool("maybe"),
            Err("argument must be 'yes' or 'no'".into())
        );
        let hz = lookup("hz").unwrap();
        assert!(is_default(hz, &["10".into()]));
        assert!(!is_default(hz, &["100".into()]));
        let rb = lookup("repl-backlog-size").unwrap();
        assert!(is_default(rb, &["1048576".into()]));
    }
}

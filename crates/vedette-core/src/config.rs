//! Validated settings and the durable state of a sentinel.
//!
//! In Redis Sentinel the configuration file *is* the durable state: `SENTINEL MONITOR`, `SET`, votes and
//! discovered instances are all written back to it. [`PersistedState`] is exactly that content, as values:
//! the shell loads it from a `sentinel.conf` (or a TOML file plus a state file), hands it to
//! [`crate::Sentinel::new`], and writes every snapshot the core emits in `Output::Persist`.

use std::collections::BTreeMap;

/// Default `down-after-milliseconds`.
pub const DEFAULT_DOWN_AFTER_MS: u64 = 30_000;
/// Default `failover-timeout`.
pub const DEFAULT_FAILOVER_TIMEOUT_MS: u64 = 180_000;
/// Default `parallel-syncs`.
pub const DEFAULT_PARALLEL_SYNCS: u32 = 1;
/// Default `sentinel max-known-sentinels` (vedette only): far above real deployments (3–7 sentinels),
/// low enough that hellos announcing made-up sentinels cannot make us open unbounded links.
pub const DEFAULT_MAX_KNOWN_SENTINELS: u32 = 64;
/// Default `sentinel max-known-replicas` (vedette only): far above real deployments.
pub const DEFAULT_MAX_KNOWN_REPLICAS: u32 = 1024;
/// Default `sentinel ping-budget` (vedette only): PINGs per second a sentinel may spend on pinging faster
/// than Redis. At 100 links this is Redis's own schedule (one PING per link per second), so an idle vedette
/// costs no more than an idle redis-sentinel; below that each link gets the fast down-after/10 schedule.
pub const DEFAULT_PING_BUDGET: u32 = 100;

/// Largest epoch vedette accepts from anywhere (hellos, `IS-MASTER-DOWN-BY-ADDR`, sentinel.conf, state).
///
/// Why `i64::MAX`: epochs travel in `SENTINEL IS-MASTER-DOWN-BY-ADDR` as a signed 64-bit integer (Redis
/// parses it with `getLongLongFromObjectOrReply`), so no sentinel, vedette or Redis, could ever vote in a
/// larger one; TOML integers (the state file) stop there too; and Redis keeps `current_epoch` in a
/// `uint64_t` that its next `current_epoch++` would wrap to 0 from 2⁶⁴−1, silencing elections for good.
/// A cluster adds one per failover attempt, so an honest epoch never gets near it: an epoch above it is
/// forged or corrupt and is rejected where it enters, and an epoch at it ends elections (vedette refuses to
/// start a failover it cannot number) instead of wrapping.
pub const MAX_EPOCH: u64 = i64::MAX as u64;

/// Largest `quorum` and `parallel-syncs`. Redis keeps them in an `int` (written with `%d`, read back with
/// `atoi`), so a larger value would not survive a config rewrite, and `quorum 4294967296` would silently
/// become 0 in a 32-bit field.
pub const MAX_COUNT: u32 = i32::MAX as u32;

/// Whether `host` may name a monitored instance: an IP literal, or — with `resolve-hostnames yes` — a
/// syntactically valid host name (Redis resolves it; the core does no I/O, so it checks the syntax the
/// resolver would accept). Everything the core stores as an address passes this, so the config it writes
/// loads back.
pub fn valid_host(host: &str, resolve_hostnames: bool) -> bool {
    host.parse::<std::net::IpAddr>().is_ok() || (resolve_hostnames && valid_hostname(host))
}

/// RFC 1123 host name syntax (plus `_`, which container DNS names use): dot-separated labels of 1–63
/// letters, digits, `-` or `_`, not starting or ending with `-`; at most 253 bytes; one trailing dot allowed.
pub fn valid_hostname(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Redis's `string2ll` (what `getLongLongFromObject` uses for command arguments): an optional `-`, no `+`,
/// no leading zeros, no blanks, no overflow.
pub fn parse_redis_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, s),
    };
    let first = *digits.first()?;
    if !digits.iter().all(u8::is_ascii_digit) || (first == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Settings of one monitored master, as `sentinel <directive> <master> ...` lines express them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterConfig {
    /// Master name (case-sensitive).
    pub name: String,
    /// Host as given (an IP literal unless `resolve-hostnames yes`). After a failover, the promoted replica.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Sentinels that must agree the master is down before a failover may start.
    pub quorum: u32,
    /// `down-after-milliseconds`.
    pub down_after_ms: u64,
    /// `failover-timeout`.
    pub failover_timeout_ms: u64,
    /// `parallel-syncs`.
    pub parallel_syncs: u32,
    /// `auth-pass`: password sent to the master and its replicas.
    pub auth_pass: Option<String>,
    /// `auth-user`: ACL user sent with `auth-pass`.
    pub auth_user: Option<String>,
    /// `notification-script`.
    pub notification_script: Option<String>,
    /// `client-reconfig-script`.
    pub client_reconfig_script: Option<String>,
    /// `master-reboot-down-after-period` (0 = off).
    pub master_reboot_down_after_period_ms: u64,
    /// `rename-command`: lower-cased original name -> name to send.
    pub rename_commands: BTreeMap<String, String>,
}

impl MasterConfig {
    /// A master with Redis's defaults for everything but address and quorum.
    pub fn new(name: impl Into<String>, host: impl Into<String>, port: u16, quorum: u32) -> Self {
        MasterConfig {
            name: name.into(),
            host: host.into(),
            port,
            quorum,
            down_after_ms: DEFAULT_DOWN_AFTER_MS,
            failover_timeout_ms: DEFAULT_FAILOVER_TIMEOUT_MS,
            parallel_syncs: DEFAULT_PARALLEL_SYNCS,
            auth_pass: None,
            auth_user: None,
            notification_script: None,
            client_reconfig_script: None,
            master_reboot_down_after_period_ms: 0,
            rename_commands: BTreeMap::new(),
        }
    }

    /// The name to send for `cmd` on links of this master (its replicas and sentinels included).
    pub fn command_name(&self, cmd: &str) -> String {
        self.rename_commands
            .get(&cmd.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| cmd.to_string())
    }
}

/// A monitored master together with what this sentinel learnt about it and must not forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedMaster {
    /// Settings and current address.
    pub config: MasterConfig,
    /// Epoch of the failover that produced the current address (`sentinel config-epoch`).
    pub config_epoch: u64,
    /// Epoch of our last vote for this master (`sentinel leader-epoch`); the voted run id is not kept.
    pub leader_epoch: u64,
    /// Replicas seen (`sentinel known-replica <master> <host> <port>`).
    pub known_replicas: Vec<(String, u16)>,
    /// Other sentinels seen (`sentinel known-sentinel <master> <host> <port> <runid>`).
    pub known_sentinels: Vec<(String, u16, String)>,
}

impl PersistedMaster {
    /// A freshly monitored master.
    pub fn new(config: MasterConfig) -> Self {
        PersistedMaster {
            config,
            config_epoch: 0,
            leader_epoch: 0,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
        }
    }
}

/// Process-wide sentinel settings (the `sentinel <directive>` lines that name no master).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalConfig {
    /// `announce-ip` (None = use the local address of each link).
    pub announce_ip: Option<String>,
    /// `announce-port` (0 = use `port`).
    pub announce_port: u16,
    /// The port this sentinel listens on (announced in hellos unless `announce-port`).
    pub port: u16,
    /// `deny-scripts-reconfig` (default yes).
    pub deny_scripts_reconfig: bool,
    /// `sentinel-user`: ACL user for links to other sentinels.
    pub sentinel_user: Option<String>,
    /// `sentinel-pass`: password for links to other sentinels.
    pub sentinel_pass: Option<String>,
    /// `requirepass` of this sentinel; used towards other sentinels when `sentinel-pass` is unset.
    pub requirepass: Option<String>,
    /// `resolve-hostnames`.
    pub resolve_hostnames: bool,
    /// `announce-hostnames`.
    pub announce_hostnames: bool,
    /// `loglevel` (debug, verbose, notice, warning, nothing).
    pub loglevel: String,
    /// `sentinel max-known-sentinels` (vedette only): sentinels discovered per master beyond this many
    /// are ignored (each costs a link, an fsync'd rewrite and a dial carrying our password).
    pub max_known_sentinels: u32,
    /// `sentinel max-known-replicas` (vedette only): replicas discovered per master beyond this many are
    /// ignored.
    pub max_known_replicas: u32,
    /// `sentinel ping-budget` (vedette only): how many PINGs (and fast INFOs) per second, over all links, may go to pinging
    /// every instance 10 times per down-after instead of Redis's once per second (0 = no limit). A PING is
    /// a loopback or network round trip whose kernel cost dwarfs the sentinel's own work, so with many links
    /// the fast schedule would cost many times redis-sentinel's idle CPU; with the budget each link's
    /// interval grows with the number of links, but never beyond Redis's min(down-after, 1 s).
    pub ping_budget: u32,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            announce_ip: None,
            announce_port: 0,
            port: 26379,
            deny_scripts_reconfig: true,
            sentinel_user: None,
            sentinel_pass: None,
            requirepass: None,
            resolve_hostnames: false,
            announce_hostnames: false,
            loglevel: "notice".into(),
            max_known_sentinels: DEFAULT_MAX_KNOWN_SENTINELS,
            max_known_replicas: DEFAULT_MAX_KNOWN_REPLICAS,
            ping_budget: DEFAULT_PING_BUDGET,
        }
    }
}

/// Everything that must survive a crash: written atomically, with fsync, before anything that reveals it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedState {
    /// `sentinel myid`: 40 lowercase hex chars.
    pub myid: String,
    /// `sentinel current-epoch`.
    pub current_epoch: u64,
    /// Global settings.
    pub global: GlobalConfig,
    /// Masters by name, in a deterministic order.
    pub masters: BTreeMap<String, PersistedMaster>,
}

impl PersistedState {
    /// An empty state with the given id.
    pub fn new(myid: impl Into<String>) -> Self {
        PersistedState {
            myid: myid.into(),
            current_epoch: 0,
            global: GlobalConfig::default(),
            masters: BTreeMap::new(),
        }
    }
}

/// Whether `s` is a valid sentinel id as Redis checks it (exactly 40 chars; we also require hex).
pub fn is_valid_myid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

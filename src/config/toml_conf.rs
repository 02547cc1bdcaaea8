//! The TOML configuration and its separate state file.
//!
//! A TOML config (`[sentinel]` table + `[[master]]` tables, keys spelled like the Redis directives; see
//! `sentinel.toml.example`) is never written by vedette, so it can live on a read-only filesystem. The
//! runtime state (id, epochs, current master addresses, discovered replicas and sentinels, masters added
//! with `SENTINEL MONITOR` or removed with `SENTINEL REMOVE`, options changed with `SENTINEL SET` /
//! `SENTINEL CONFIG SET`) is written atomically to a state file in `dir` (`state-file`, default
//! `vedette-state.toml`).
//!
//! Merge rule at start-up (a three-way merge; the state file records the TOML settings it started from,
//! its "seed"):
//! 1. No state file: the TOML is the whole configuration.
//! 2. Id, current epoch, config/leader epochs, known replicas and sentinels: always from the state file.
//! 3. A setting (a master's address, quorum, timeouts, scripts, auth, renames; a global sentinel option)
//!    comes from the state file, unless the operator changed it in the TOML since the state was written
//!    (TOML value ≠ seed value): then the TOML wins.
//! 4. Masters: those in the state file are kept, except one the operator deleted from the TOML; a master
//!    new in the TOML is added; a TOML master removed at runtime with `SENTINEL REMOVE` stays removed.
//! 5. Command-line directives apply last.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ::toml::Spanned;
use serde::{Deserialize, Serialize};
#[cfg(test)]
use vedette_core::config::{
    DEFAULT_DOWN_AFTER_MS, DEFAULT_FAILOVER_TIMEOUT_MS, DEFAULT_PARALLEL_SYNCS,
};
use vedette_core::{GlobalConfig, MasterConfig, PersistedMaster, PersistedState};

use super::sentinel_conf::{is_executable, parse_cap, parse_ping_budget, Reader};
use super::{finish_state, strerror, ConfigError, LoadedConfig, ServerConfig, StateStore};

/// Default name of the state file (in `dir`).
pub const DEFAULT_STATE_FILE: &str = "vedette-state.toml";

/// Version of the state file format.
const STATE_VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    sentinel: Option<Spanned<SentinelSection>>,
    #[serde(default)]
    master: Vec<Spanned<MasterSection>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SentinelSection {
    port: Option<u16>,
    bind: Option<Vec<String>>,
    dir: Option<Spanned<String>>,
    logfile: Option<String>,
    loglevel: Option<Spanned<String>>,
    pidfile: Option<String>,
    daemonize: Option<bool>,
    requirepass: Option<String>,
    maxclients: Option<Spanned<u64>>,
    timeout: Option<u64>,
    tcp_keepalive: Option<u64>,
    tcp_backlog: Option<u32>,
    protected_mode: Option<bool>,
    http_port: Option<u16>,
    http_bind: Option<Spanned<Vec<String>>>,
    proto_max_bulk_len: Option<Spanned<u64>>,
    client_query_buffer_limit: Option<Spanned<u64>>,
    client_output_buffer_limit: Option<Spanned<String>>,
    max_known_sentinels: Option<Spanned<i64>>,
    max_known_replicas: Option<Spanned<i64>>,
    ping_budget: Option<Spanned<i64>>,
    state_file: Option<String>,
    myid: Option<Spanned<String>>,
    announce_ip: Option<String>,
    announce_port: Option<u16>,
    resolve_hostnames: Option<bool>,
    announce_hostnames: Option<bool>,
    deny_scripts_reconfig: Option<bool>,
    sentinel_user: Option<String>,
    sentinel_pass: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct MasterSection {
    name: Spanned<String>,
    host: Spanned<String>,
    port: u16,
    quorum: Spanned<i64>,
    down_after_milliseconds: Option<Spanned<i64>>,
    failover_timeout: Option<Spanned<i64>>,
    parallel_syncs: Option<Spanned<u32>>,
    auth_pass: Option<String>,
    auth_user: Option<String>,
    notification_script: Option<Spanned<String>>,
    client_reconfig_script: Option<Spanned<String>>,
    /// Also read as Valkey's `primary-reboot-down-after-period`.
    #[serde(alias = "primary-reboot-down-after-period")]
    master_reboot_down_after_period: Option<u64>,
    rename_command: Option<Spanned<BTreeMap<String, String>>>,
}

/// Global sentinel settings as the state file stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct GlobalSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    announce_ip: Option<String>,
    announce_port: u16,
    resolve_hostnames: bool,
    announce_hostnames: bool,
    deny_scripts_reconfig: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sentinel_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sentinel_pass: Option<String>,
    loglevel: String,
}

impl GlobalSettings {
    fn from_global(g: &GlobalConfig) -> Self {
        GlobalSettings {
            announce_ip: g.announce_ip.clone(),
            announce_port: g.announce_port,
            resolve_hostnames: g.resolve_hostnames,
            announce_hostnames: g.announce_hostnames,
            deny_scripts_reconfig: g.deny_scripts_reconfig,
            sentinel_user: g.sentinel_user.clone(),
            sentinel_pass: g.sentinel_pass.clone(),
            loglevel: g.loglevel.clone(),
        }
    }

    fn apply_to(&self, g: &mut GlobalConfig) {
        g.announce_ip = self.announce_ip.clone();
        g.announce_port = self.announce_port;
        g.resolve_hostnames = self.resolve_hostnames;
        g.announce_hostnames = self.announce_hostnames;
        g.deny_scripts_reconfig = self.deny_scripts_reconfig;
        g.sentinel_user = self.sentinel_user.clone();
        g.sentinel_pass = self.sentinel_pass.clone();
        g.loglevel = self.loglevel.clone();
    }
}

/// A master's settings as the state file stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct MasterSettings {
    name: String,
    host: String,
    port: u16,
    quorum: u32,
    down_after_milliseconds: u64,
    failover_timeout: u64,
    parallel_syncs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_pass: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notification_script: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_reconfig_script: Option<String>,
    master_reboot_down_after_period: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    rename_command: BTreeMap<String, String>,
}

impl MasterSettings {
    fn from_config(c: &MasterConfig) -> Self {
        MasterSettings {
            name: c.name.clone(),
            host: c.host.clone(),
            port: c.port,
            quorum: c.quorum,
            down_after_milliseconds: c.down_after_ms,
            failover_timeout: c.failover_timeout_ms,
            parallel_syncs: c.parallel_syncs,
            auth_pass: c.auth_pass.clone(),
            auth_user: c.auth_user.clone(),
            notification_script: c.notification_script.clone(),
            client_reconfig_script: c.client_reconfig_script.clone(),
            master_reboot_down_after_period: c.master_reboot_down_after_period_ms,
            rename_command: c.rename_commands.clone(),
        }
    }

    fn to_config(&self) -> MasterConfig {
        MasterConfig {
            name: self.name.clone(),
            host: self.host.clone(),
            port: self.port,
            quorum: self.quorum,
            down_after_ms: self.down_after_milliseconds,
            failover_timeout_ms: self.failover_timeout,
            parallel_syncs: self.parallel_syncs,
            auth_pass: self.auth_pass.clone(),
            auth_user: self.auth_user.clone(),
            notification_script: self.notification_script.clone(),
            client_reconfig_script: self.client_reconfig_script.clone(),
            master_reboot_down_after_period_ms: self.master_reboot_down_after_period,
            rename_commands: self.rename_command.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct KnownReplica {
    host: String,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct KnownSentinel {
    host: String,
    port: u16,
    runid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StateMaster {
    config_epoch: u64,
    leader_epoch: u64,
    settings: MasterSettings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    known_replica: Vec<KnownReplica>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    known_sentinel: Vec<KnownSentinel>,
}

/// The TOML settings a state file was derived from (the base of the three-way merge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Seed {
    global: GlobalSettings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    master: Vec<MasterSettings>,
}

impl Seed {
    fn from_state(s: &PersistedState) -> Self {
        Seed {
            global: GlobalSettings::from_global(&s.global),
            master: s
                .masters
                .values()
                .map(|m| MasterSettings::from_config(&m.config))
                .collect(),
        }
    }

    fn master(&self, name: &str) -> Option<&MasterSettings> {
        self.master.iter().find(|m| m.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StateFile {
    version: u32,
    myid: String,
    current_epoch: u64,
    global: GlobalSettings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    master: Vec<StateMaster>,
    seed: Seed,
}

/// The state file content for `state` (written by [`StateStore`]).
pub(crate) fn render_state(state: &PersistedState, seed: &Seed) -> Result<String, String> {
    let file = StateFile {
        version: STATE_VERSION,
        myid: state.myid.clone(),
        current_epoch: state.current_epoch,
        global: GlobalSettings::from_global(&state.global),
        master: state
            .masters
            .values()
            .map(|m| StateMaster {
                config_epoch: m.config_epoch,
                leader_epoch: m.leader_epoch,
                settings: MasterSettings::from_config(&m.config),
                known_replica: m
                    .known_replicas
                    .iter()
                    .map(|(host, port)| KnownReplica {
                        host: host.clone(),
                        port: *port,
                    })
                    .collect(),
                known_sentinel: m
                    .known_sentinels
                    .iter()
                    .map(|(host, port, runid)| KnownSentinel {
                        host: host.clone(),
                        port: *port,
                        runid: runid.clone(),
                    })
                    .collect(),
            })
            .collect(),
        seed: seed.clone(),
    };
    let body = ::toml::to_string(&file).map_err(|e| e.to_string())?;
    Ok(format!(
        "# vedette runtime state: written atomically by vedette, do not edit while it runs.\n\
         # Settings changed in the TOML config since this file was written win over the values here;\n\
         # [seed] records the TOML settings this state started from.\n{body}"
    ))
}

/// 1-based line of byte offset `pos`.
fn line_of(content: &str, pos: usize) -> usize {
    content.as_bytes()[..pos.min(content.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn line_text(content: &str, line: usize) -> String {
    content
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// A [`ConfigError`] at the line containing `span`.
fn err_at(
    file: &Path,
    content: &str,
    span: Range<usize>,
    directive: &str,
    reason: &str,
) -> ConfigError {
    let line = line_of(content, span.start);
    let text = line_text(content, line);
    let directive = if directive.is_empty() {
        match text.split_once('=') {
            Some((k, _)) => k.trim().to_string(),
            None => text.clone(),
        }
    } else {
        directive.to_string()
    };
    ConfigError::Directive {
        file: file.to_path_buf(),
        line,
        directive,
        text,
        reason: reason.to_string(),
    }
}

fn parse_error(file: &Path, content: &str, e: &::toml::de::Error) -> ConfigError {
    let reason = e.message().trim().to_string();
    match e.span() {
        Some(span) => err_at(file, content, span, "", &reason),
        None => ConfigError::Directive {
            file: file.to_path_buf(),
            line: 0,
            directive: "toml".into(),
            text: String::new(),
            reason,
        },
    }
}

/// Load a TOML config (and its state file), then the command-line directives `lines`.
pub(crate) fn load(
    path: &Path,
    content: &[u8],
    lines: &[String],
) -> Result<LoadedConfig, ConfigError> {
    load_with(path, content, lines, &|p| std::fs::read(p))
}

/// [`load`] with the state file read by `read_state` (the file system, or memory for fuzzing).
pub(crate) fn load_with(
    path: &Path,
    content: &[u8],
    lines: &[String],
    read_state: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<LoadedConfig, ConfigError> {
    let content = std::str::from_utf8(content).map_err(|e| ConfigError::Directive {
        file: path.to_path_buf(),
        line: line_of(&String::from_utf8_lossy(content), e.valid_up_to()),
        directive: "toml".into(),
        text: String::new(),
        reason: "file is not valid UTF-8".into(),
    })?;
    let parsed: TomlFile = ::toml::from_str(content).map_err(|e| parse_error(path, content, &e))?;
    let (server, toml_state, state_file_name) = build(path, content, parsed)?;

    // Command-line directives: generic ones now (they may move `dir`), sentinel ones after the merge.
    let toml_loglevel = server.loglevel.clone();
    let cwd = server.dir.clone();
    let mut reader = Reader::new(server, cwd);
    reader.read_command_line(lines)?;

    let state_path = reader.server.dir.join(&state_file_name);
    let mut state = match read_state(&state_path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let file: StateFile =
                ::toml::from_str(&text).map_err(|e| parse_error(&state_path, &text, &e))?;
            if file.version != STATE_VERSION {
                return Err(ConfigError::Directive {
                    file: state_path.clone(),
                    line: 1,
                    directive: "version".into(),
                    text: format!("version = {}", file.version),
                    reason: format!("unsupported state file version (expected {STATE_VERSION})"),
                });
            }
            merge(&toml_state, file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml_state.clone(),
        Err(e) => {
            return Err(ConfigError::Open {
                file: state_path,
                reason: strerror(&e),
            })
        }
    };
    reader.apply_queue(&mut state)?;
    let mut server = reader.server;
    // `SENTINEL CONFIG SET loglevel` persists in the state file; `--loglevel` still wins.
    if server.loglevel == toml_loglevel {
        server.loglevel = state.global.loglevel.clone();
    }
    finish_state(&mut state, &server);
    let store = StateStore::toml_state(state_path, Seed::from_state(&toml_state));
    Ok(LoadedConfig {
        server,
        state,
        store,
    })
}

/// Validate the TOML and turn it into process settings, the TOML-only state and the state file name.
fn build(
    path: &Path,
    content: &str,
    parsed: TomlFile,
) -> Result<(ServerConfig, PersistedState, String), ConfigError> {
    let err = |span: Range<usize>, directive: &str, reason: &str| {
        err_at(path, content, span, directive, reason)
    };
    let sec = parsed.sentinel.map(Spanned::into_inner).unwrap_or_default();
    let cwd = std::env::current_dir().map_err(|e| ConfigError::Open {
        file: PathBuf::from("."),
        reason: strerror(&e),
    })?;
    let mut server = ServerConfig {
        dir: cwd.clone(),
        config_file: path.to_path_buf(),
        ..ServerConfig::default()
    };
    if let Some(dir) = &sec.dir {
        let canon = std::fs::canonicalize(cwd.join(dir.get_ref()))
            .map_err(|e| err(dir.span(), "dir", &strerror(&e)))?;
        if !canon.is_dir() {
            return Err(err(dir.span(), "dir", "Not a directory"));
        }
        server.dir = canon;
    }
    if let Some(v) = sec.port {
        server.port = v;
    }
    if let Some(v) = sec.bind {
        server.bind = v;
    }
    if let Some(v) = sec.logfile {
        server.logfile = v;
    }
    if let Some(v) = &sec.loglevel {
        let lvl = v.get_ref().to_ascii_lowercase();
        if !["debug", "verbose", "notice", "warning", "nothing"].contains(&lvl.as_str()) {
            return Err(err(
                v.span(),
                "loglevel",
                "argument(s) must be one of the following: debug, verbose, notice, warning, nothing",
            ));
        }
        server.loglevel = lvl;
    }
    server.pidfile = sec.pidfile.filter(|p| !p.is_empty());
    if let Some(v) = sec.daemonize {
        server.daemonize = v;
    }
    server.requirepass = sec.requirepass.filter(|p| !p.is_empty());
    if let Some(v) = &sec.maxclients {
        if *v.get_ref() < 1 {
            return Err(err(
                v.span(),
                "maxclients",
                "argument must be between 1 and 2147483647 inclusive",
            ));
        }
        server.maxclients = usize::try_from(*v.get_ref()).unwrap_or(usize::MAX);
    }
    if let Some(v) = sec.timeout {
        server.timeout_secs = v;
    }
    if let Some(v) = sec.tcp_keepalive {
        server.tcp_keepalive_secs = v;
    }
    if let Some(v) = sec.tcp_backlog {
        server.tcp_backlog = v;
    }
    if let Some(v) = sec.protected_mode {
        server.protected_mode = v;
    }
    if let Some(v) = sec.http_port {
        server.http_port = v;
    }
    if let Some(v) = &sec.http_bind {
        for entry in v.get_ref() {
            super::sentinel_conf::parse_bind_entry(entry)
                .map_err(|reason| err(v.span(), "http-bind", &reason))?;
        }
        server.http_bind = v.get_ref().clone();
    }
    if let Some(v) = &sec.client_query_buffer_limit {
        if *v.get_ref() < 1024 * 1024 || *v.get_ref() > i64::MAX as u64 {
            return Err(err(
                v.span(),
                "client-query-buffer-limit",
                &format!(
                    "argument must be between {} and {} inclusive",
                    1024 * 1024,
                    i64::MAX
                ),
            ));
        }
        server.client_query_buffer_limit = usize::try_from(*v.get_ref()).unwrap_or(usize::MAX);
    }
    if let Some(v) = &sec.client_output_buffer_limit {
        let args: Vec<String> = v.get_ref().split_whitespace().map(str::to_string).collect();
        super::directives::parse_output_buffer_limits(&args, &mut server.output_buffer_limits)
            .map_err(|reason| err(v.span(), "client-output-buffer-limit", &reason))?;
    }
    if let Some(v) = &sec.proto_max_bulk_len {
        if *v.get_ref() < 1024 * 1024 {
            return Err(err(
                v.span(),
                "proto-max-bulk-len",
                "argument must be at least 1048576",
            ));
        }
        server.proto_max_bulk_len = usize::try_from(*v.get_ref()).unwrap_or(usize::MAX);
    }

    let mut state = PersistedState::new("");
    if let Some(id) = &sec.myid {
        if id.get_ref().len() != 40 {
            return Err(err(
                id.span(),
                "myid",
                "Malformed Sentinel id in myid option.",
            ));
        }
        state.myid = id.get_ref().clone();
    }
    let g = &mut state.global;
    g.announce_ip = sec.announce_ip.filter(|s| !s.is_empty());
    if let Some(v) = sec.announce_port {
        g.announce_port = v;
    }
    if let Some(v) = sec.resolve_hostnames {
        g.resolve_hostnames = v;
    }
    if let Some(v) = sec.announce_hostnames {
        g.announce_hostnames = v;
    }
    if let Some(v) = sec.deny_scripts_reconfig {
        g.deny_scripts_reconfig = v;
    }
    g.sentinel_user = sec.sentinel_user.filter(|s| !s.is_empty());
    g.sentinel_pass = sec.sentinel_pass.filter(|s| !s.is_empty());
    g.loglevel = server.loglevel.clone();
    for (key, value, target) in [
        (
            "max-known-sentinels",
            &sec.max_known_sentinels,
            &mut g.max_known_sentinels,
        ),
        (
            "max-known-replicas",
            &sec.max_known_replicas,
            &mut g.max_known_replicas,
        ),
    ] {
        if let Some(v) = value {
            *target = parse_cap(&v.get_ref().to_string()).map_err(|r| err(v.span(), key, &r))?;
        }
    }
    if let Some(v) = &sec.ping_budget {
        g.ping_budget = parse_ping_budget(&v.get_ref().to_string())
            .map_err(|r| err(v.span(), "ping-budget", &r))?;
    }

    for m in parsed.master {
        let m = m.into_inner();
        let quorum = *m.quorum.get_ref();
        if quorum <= 0 {
            return Err(err(
                m.quorum.span(),
                "quorum",
                "Quorum must be 1 or greater.",
            ));
        }
        let quorum = u32::try_from(quorum)
            .ok()
            .filter(|&q| q <= vedette_core::config::MAX_COUNT)
            .ok_or_else(|| err(m.quorum.span(), "quorum", "Quorum is too large."))?;
        let host = m.host.get_ref();
        let host_ok = if state.global.resolve_hostnames {
            !host.is_empty()
        } else {
            host.parse::<std::net::IpAddr>().is_ok()
        };
        if !host_ok {
            return Err(err(
                m.host.span(),
                "host",
                "Can't resolve instance hostname.",
            ));
        }
        let name = m.name.get_ref().clone();
        if state.masters.contains_key(&name) {
            return Err(err(m.name.span(), "name", "Duplicate master name."));
        }
        let mut c = MasterConfig::new(name.clone(), host.clone(), m.port, quorum);
        for (field, value, target) in [
            (
                "down-after-milliseconds",
                &m.down_after_milliseconds,
                &mut c.down_after_ms,
            ),
            (
                "failover-timeout",
                &m.failover_timeout,
                &mut c.failover_timeout_ms,
            ),
        ] {
            if let Some(v) = value {
                if *v.get_ref() <= 0 {
                    return Err(err(v.span(), field, "negative or zero time parameter."));
                }
                *target = *v.get_ref() as u64;
            }
        }
        if let Some(v) = &m.parallel_syncs {
            if *v.get_ref() > vedette_core::config::MAX_COUNT {
                return Err(err(
                    v.span(),
                    "parallel-syncs",
                    "parallel-syncs must be an integer from 0 to 2147483647.",
                ));
            }
            c.parallel_syncs = *v.get_ref();
        }
        c.auth_pass = m.auth_pass.filter(|s| !s.is_empty());
        c.auth_user = m.auth_user.filter(|s| !s.is_empty());
        if let Some(s) = &m.notification_script {
            if !is_executable(&server.dir, s.get_ref()) {
                return Err(err(
                    s.span(),
                    "notification-script",
                    "Notification script seems non existing or non executable.",
                ));
            }
            c.notification_script = Some(s.get_ref().clone());
        }
        if let Some(s) = &m.client_reconfig_script {
            if !is_executable(&server.dir, s.get_ref()) {
                return Err(err(
                    s.span(),
                    "client-reconfig-script",
                    "Client reconfiguration script seems non existing or non executable.",
                ));
            }
            c.client_reconfig_script = Some(s.get_ref().clone());
        }
        if let Some(v) = m.master_reboot_down_after_period {
            c.master_reboot_down_after_period_ms = v;
        }
        if let Some(map) = &m.rename_command {
            for (cmd, renamed) in map.get_ref() {
                let key = cmd.to_ascii_lowercase();
                if c.rename_commands.insert(key, renamed.clone()).is_some() {
                    return Err(err(
                        map.span(),
                        "rename-command",
                        "Same command renamed multiple times with rename-command.",
                    ));
                }
            }
        }
        state.masters.insert(name, PersistedMaster::new(c));
    }
    let state_file = sec
        .state_file
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_STATE_FILE.to_string());
    Ok((server, state, state_file))
}

/// `toml` if the operator changed it since `seed`, else `state`.
fn pick<T: PartialEq + Clone>(seed: &T, toml: &T, state: &T) -> T {
    if toml != seed {
        toml.clone()
    } else {
        state.clone()
    }
}

fn merge_master(
    seed: &MasterSettings,
    toml: &MasterSettings,
    state: &MasterSettings,
) -> MasterSettings {
    let addr = pick(
        &(&seed.host, seed.port),
        &(&toml.host, toml.port),
        &(&state.host, state.port),
    );
    MasterSettings {
        name: state.name.clone(),
        host: addr.0.clone(),
        port: addr.1,
        quorum: pick(&seed.quorum, &toml.quorum, &state.quorum),
        down_after_milliseconds: pick(
            &seed.down_after_milliseconds,
            &toml.down_after_milliseconds,
            &state.down_after_milliseconds,
        ),
        failover_timeout: pick(
            &seed.failover_timeout,
            &toml.failover_timeout,
            &state.failover_timeout,
        ),
        parallel_syncs: pick(
            &seed.parallel_syncs,
            &toml.parallel_syncs,
            &state.parallel_syncs,
        ),
        auth_pass: pick(&seed.auth_pass, &toml.auth_pass, &state.auth_pass),
        auth_user: pick(&seed.auth_user, &toml.auth_user, &state.auth_user),
        notification_script: pick(
            &seed.notification_script,
            &toml.notification_script,
            &state.notification_script,
        ),
        client_reconfig_script: pick(
            &seed.client_reconfig_script,
            &toml.client_reconfig_script,
            &state.client_reconfig_script,
        ),
        master_reboot_down_after_period: pick(
            &seed.master_reboot_down_after_period,
            &toml.master_reboot_down_after_period,
            &state.master_reboot_down_after_period,
        ),
        rename_command: pick(
            &seed.rename_command,
            &toml.rename_command,
            &state.rename_command,
        ),
    }
}

/// The three-way merge of the module doc: base = `file.seed`, ours = `file`, theirs = `toml`.
fn merge(toml: &PersistedState, file: StateFile) -> PersistedState {
    let mut out = PersistedState::new(if file.myid.is_empty() {
        toml.myid.clone()
    } else {
        file.myid.clone()
    });
    out.current_epoch = file.current_epoch;
    let tg = GlobalSettings::from_global(&toml.global);
    let (sg, fg) = (&file.seed.global, &file.global);
    let merged_global = GlobalSettings {
        announce_ip: pick(&sg.announce_ip, &tg.announce_ip, &fg.announce_ip),
        announce_port: pick(&sg.announce_port, &tg.announce_port, &fg.announce_port),
        resolve_hostnames: pick(
            &sg.resolve_hostnames,
            &tg.resolve_hostnames,
            &fg.resolve_hostnames,
        ),
        announce_hostnames: pick(
            &sg.announce_hostnames,
            &tg.announce_hostnames,
            &fg.announce_hostnames,
        ),
        deny_scripts_reconfig: pick(
            &sg.deny_scripts_reconfig,
            &tg.deny_scripts_reconfig,
            &fg.deny_scripts_reconfig,
        ),
        sentinel_user: pick(&sg.sentinel_user, &tg.sentinel_user, &fg.sentinel_user),
        sentinel_pass: pick(&sg.sentinel_pass, &tg.sentinel_pass, &fg.sentinel_pass),
        loglevel: pick(&sg.loglevel, &tg.loglevel, &fg.loglevel),
    };
    merged_global.apply_to(&mut out.global);
    // Config-only settings (not in the state file): always the TOML's.
    out.global.max_known_sentinels = toml.global.max_known_sentinels;
    out.global.max_known_replicas = toml.global.max_known_replicas;
    out.global.ping_budget = toml.global.ping_budget;

    // Masters in the state file: kept unless deleted from the TOML since the seed.
    for sm in &file.master {
        let name = &sm.settings.name;
        let in_seed = file.seed.master(name);
        let in_toml = toml.masters.get(name);
        let settings = match (in_seed, in_toml) {
            (Some(_), None) => continue,
            (Some(seed), Some(t)) => {
                merge_master(seed, &MasterSettings::from_config(&t.config), &sm.settings)
            }
            (None, _) => sm.settings.clone(),
        };
        let mut pm = PersistedMaster::new(settings.to_config());
        pm.config_epoch = sm.config_epoch;
        pm.leader_epoch = sm.leader_epoch;
        pm.known_replicas = sm
            .known_replica
            .iter()
            .map(|r| (r.host.clone(), r.port))
            .collect();
        pm.known_sentinels = sm
            .known_sentinel
            .iter()
            .map(|s| (s.host.clone(), s.port, s.runid.clone()))
            .collect();
        out.masters.insert(name.clone(), pm);
    }
    // Masters new in the TOML (not in the seed): added. In the seed but not in the state: removed at
    // runtime, stay removed.
    for (name, m) in &toml.masters {
        if file.seed.master(name).is_none() && !out.masters.contains_key(name) {
            out.masters.insert(name.clone(), m.clone());
        }
    }
    out
}

/// Defaults a fresh master gets (used by the example-file test).
#[cfg(test)]
pub(crate) fn defaults() -> (u64, u64, u32) {
    (
        DEFAULT_DOWN_AFTER_MS,
        DEFAULT_FAILOVER_TIMEOUT_MS,
        DEFAULT_PARALLEL_SYNCS,
    )
}

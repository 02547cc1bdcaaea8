//! Reader for Redis `sentinel.conf` syntax (`config.c` `loadServerConfigFromString` and `sentinel.c`
//! `queueSentinelConfig` / `loadSentinelConfigFromQueue` / `sentinelHandleConfiguration`).
//!
//! How it follows Redis:
//! 1. Lines are trimmed; blank lines and lines starting with `#` are skipped; the rest is split with the
//!    redis tokenizer; the directive name is case-insensitive.
//! 2. `include <path-or-glob>` reads another file at that point (its own line numbers); `dir` changes the
//!    directory later relative paths (includes, scripts, the log and pid files) resolve against — Redis
//!    `chdir`s while parsing, vedette records the directory and `main` `chdir`s once parsing is done.
//! 3. `sentinel …` lines are queued and applied after everything was read, in three groups (global
//!    settings and identity, then `monitor`, then everything else), each in file order, so a per-master
//!    line may precede its `monitor` line.
//!
//! Differences (all stricter, none rejects a file Redis writes): numbers must be well-formed integers
//! (Redis's `atoi` reads `abc` as 0), arguments must be UTF-8, includes nest at most 16 deep (Redis
//! recurses until it crashes).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use vedette_core::config::{MAX_COUNT, MAX_EPOCH};
use vedette_core::{MasterConfig, PersistedMaster, PersistedState};

use super::directives::{self, Support};
use super::{strerror, tokenize, ConfigError, ServerConfig};

/// Name used as the "file" of directives given on the command line.
pub const COMMAND_LINE: &str = "(command line)";

/// Deepest `include` nesting accepted.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Where a directive came from; command-line generic directives are written into the file by the rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The main config file or a file it includes.
    File,
    /// `--directive value …` on the command line.
    CommandLine,
}

/// A `sentinel` line waiting for the whole file to be read.
#[derive(Debug, Clone)]
struct Queued {
    file: PathBuf,
    line: usize,
    text: String,
    /// Arguments after the word `sentinel`, the sub-keyword lower-cased.
    argv: Vec<String>,
}

/// State of one read: the server settings so far, the effective directory and the sentinel queue.
#[derive(Debug)]
pub(crate) struct Reader {
    /// Process settings collected so far.
    pub server: ServerConfig,
    /// Directory relative paths resolve against (Redis's cwd during parsing).
    pub cwd: PathBuf,
    /// Generic directives given on the command line (full argv, name lower-cased), for the rewrite.
    pub overrides: Vec<Vec<String>>,
    pre_monitor: Vec<Queued>,
    monitor: Vec<Queued>,
    post_monitor: Vec<Queued>,
    warned: BTreeSet<String>,
    /// `user` lines, judged once the whole configuration (and so `requirepass`) is known.
    users: Vec<Queued>,
}

/// `sentinel` sub-keywords applied before any `monitor` line (`preMonitorCfgName` in sentinel.c).
const PRE_MONITOR: &[&str] = &[
    "announce-ip",
    "announce-port",
    "deny-scripts-reconfig",
    "sentinel-user",
    "sentinel-pass",
    "current-epoch",
    "myid",
    "resolve-hostnames",
    "announce-hostnames",
];

impl Reader {
    /// Start from `server` with relative paths resolving against `cwd`.
    pub fn new(server: ServerConfig, cwd: PathBuf) -> Self {
        Reader {
            server,
            cwd,
            overrides: Vec::new(),
            pre_monitor: Vec::new(),
            monitor: Vec::new(),
            post_monitor: Vec::new(),
            warned: BTreeSet::new(),
            users: Vec::new(),
        }
    }

    /// Read one file (the main config or an include).
    pub fn read_file(&mut self, path: &Path, depth: usize) -> Result<(), ConfigError> {
        let content = std::fs::read(path).map_err(|e| ConfigError::Open {
            file: path.to_path_buf(),
            reason: strerror(&e),
        })?;
        self.read_text(path, &content, Origin::File, depth)
    }

    /// Read config text whose lines are numbered from 1.
    pub fn read_text(
        &mut self,
        file: &Path,
        content: &[u8],
        origin: Origin,
        depth: usize,
    ) -> Result<(), ConfigError> {
        for (i, raw) in content.split(|&b| b == b'\n').enumerate() {
            let line = tokenize::trim(raw);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let text = String::from_utf8_lossy(line).into_owned();
            let err = |directive: &str, reason: &str| ConfigError::Directive {
                file: file.to_path_buf(),
                line: i + 1,
                directive: directive.to_string(),
                text: text.clone(),
                reason: reason.to_string(),
            };
            let Some(args) = tokenize::split_args(line) else {
                let first = text.split_whitespace().next().unwrap_or("");
                return Err(err(first, "Unbalanced quotes in configuration line"));
            };
            let mut argv = Vec::with_capacity(args.len());
            for a in args {
                match String::from_utf8(a) {
                    Ok(s) => argv.push(s),
                    Err(_) => {
                        let first = text.split_whitespace().next().unwrap_or("");
                        return Err(err(first, "argument is not valid UTF-8"));
                    }
                }
            }
            if argv.is_empty() {
                continue;
            }
            argv[0].make_ascii_lowercase();
            self.directive(file, i + 1, &text, argv, origin, depth)
                .map_err(|reason| err(&directive_name(&text), &reason))?;
        }
        Ok(())
    }

    /// Read directives given on the command line, one per entry (see [`super::args_to_lines`]).
    pub fn read_command_line(&mut self, lines: &[String]) -> Result<(), ConfigError> {
        let text = lines.join("\n");
        self.read_text(
            Path::new(COMMAND_LINE),
            text.as_bytes(),
            Origin::CommandLine,
            0,
        )
    }

    fn warn_once(&mut self, name: &str, msg: String) {
        if self.warned.insert(name.to_string()) {
            self.server.warnings.push(msg);
        }
    }

    fn warn_ignored(&mut self, name: &str) {
        self.warn_once(
            name,
            format!(
                "config directive '{name}' is accepted for compatibility but not implemented by vedette: ignored"
            ),
        );
    }

    /// Apply one generic directive or queue a `sentinel` one. `Err` is Redis's reason text.
    fn directive(
        &mut self,
        file: &Path,
        line: usize,
        text: &str,
        argv: Vec<String>,
        origin: Origin,
        depth: usize,
    ) -> Result<(), String> {
        let name = argv[0].clone();
        let args = &argv[1..];
        if let Some(dir) = directives::lookup(&name) {
            // Multi-argument configs given as one argument are split on blanks (`--save "900 1"`).
            let args: Vec<String> =
                if dir.kind == directives::Kind::Multi && args.len() == 1 && !args[0].is_empty() {
                    tokenize::split_args(args[0].as_bytes())
                        .ok_or("Unbalanced quotes in configuration line")?
                        .into_iter()
                        .map(|a| String::from_utf8_lossy(&a).into_owned())
                        .collect()
                } else {
                    args.to_vec()
                };
            directives::validate(dir, &args)?;
            match dir.support {
                Support::Implemented => self.implemented(&name, &args)?,
                Support::Dropped => {}
                Support::Ignored => {
                    if !directives::is_default(dir, &args) {
                        self.warn_ignored(&name);
                    }
                }
                Support::Refused => {
                    if !directives::is_default(dir, &args) {
                        return Err(directives::refusal(dir));
                    }
                }
            }
            if origin == Origin::CommandLine
                && !matches!(name.as_str(), "port" | "dir" | "loglevel" | "save")
            {
                let mut full = vec![name];
                full.extend(args);
                self.overrides.push(full);
            }
            return Ok(());
        }
        match name.as_str() {
            "include" if args.len() == 1 => {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err("include nesting is too deep".into());
                }
                for path in self.expand_include(&args[0])? {
                    self.read_file(&path, depth + 1).map_err(|e| match e {
                        ConfigError::Open { file, reason } => format!(
                            "Fatal error, can't open config file '{}': {reason}",
                            file.display()
                        ),
                        other => other.to_string(),
                    })?;
                }
                Ok(())
            }
            "rename-command" if args.len() == 2 => {
                let mut renames = self.server.rename_commands.clone();
                renames.push((args[0].to_ascii_lowercase(), args[1].clone()));
                crate::server::CommandNames::build(&renames).map_err(|(_, why)| why.to_string())?;
                self.server.rename_commands = renames;
                self.keep_override(origin, argv);
                Ok(())
            }
            "user" if !args.is_empty() => {
                self.users.push(Queued {
                    file: file.to_path_buf(),
                    line,
                    text: text.to_string(),
                    argv: args.to_vec(),
                });
                self.keep_override(origin, argv);
                Ok(())
            }
            "loadmodule" if !args.is_empty() => Err(
                "modules are not supported by vedette; refusing to start without the module (remove the line)"
                    .into(),
            ),
            "replicaof" | "slaveof" if args.len() == 2 => {
                self.warn_ignored(&name);
                self.keep_override(origin, argv);
                Ok(())
            }
            "sentinel" => {
                // A bare `sentinel` line is what selects Sentinel mode in Redis: nothing to do here.
                if args.is_empty() {
                    return Ok(());
                }
                if depth > 0 {
                    self.warn_once(
                        "sentinel (included)",
                        format!(
                            "sentinel directives in included file {} are written into the main config file by the first rewrite (as Redis does), after which the two conflict: keep them in the main file",
                            file.display()
                        ),
                    );
                }
                let mut sargv = args.to_vec();
                sargv[0].make_ascii_lowercase();
                let q = Queued {
                    file: file.to_path_buf(),
                    line,
                    text: text.to_string(),
                    argv: sargv,
                };
                if q.argv[0] == "monitor" {
                    self.monitor.push(q);
                } else if PRE_MONITOR.contains(&q.argv[0].as_str()) {
                    self.pre_monitor.push(q);
                } else {
                    self.post_monitor.push(q);
                }
                Ok(())
            }
            _ => Err("Bad directive or wrong number of arguments".into()),
        }
    }

    fn keep_override(&mut self, origin: Origin, argv: Vec<String>) {
        if origin == Origin::CommandLine {
            self.overrides.push(argv);
        }
    }

    /// Paths an `include` argument names: the file itself, or the sorted matches of a glob (which may
    /// match nothing, like Redis).
    fn expand_include(&self, arg: &str) -> Result<Vec<PathBuf>, String> {
        let path = self.cwd.join(arg);
        let is_glob = arg.contains(['*', '?', '[']);
        if !is_glob {
            return Ok(vec![path]);
        }
        let (Some(parent), Some(pattern)) = (path.parent(), path.file_name()) else {
            return Ok(Vec::new());
        };
        let parent_str = parent.to_string_lossy();
        if parent_str.contains(['*', '?', '[']) {
            return Err("include: wildcards are only supported in the last path component".into());
        }
        let pattern = pattern.to_string_lossy().into_owned();
        let glob = vedette_core::Pattern::fnmatch(pattern.as_bytes());
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(parent) else {
            return Ok(out);
        };
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && !pattern.starts_with('.') {
                continue;
            }
            if glob.matches(name.as_bytes()) {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Apply a directive vedette implements.
    fn implemented(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let a0 = args.first().map(String::as_str).unwrap_or("");
        let s = &mut self.server;
        match name {
            "port" => s.port = directives::parse_int_range(a0, 0, 65535)? as u16,
            "bind" => s.bind = args.to_vec(),
            "dir" => {
                let target = self.cwd.join(a0);
                let canon = std::fs::canonicalize(&target).map_err(|e| strerror(&e))?;
                if !canon.is_dir() {
                    return Err("Not a directory".into());
                }
                self.cwd = canon.clone();
                s.dir = canon;
            }
            "logfile" => s.logfile = a0.to_string(),
            "loglevel" => {
                let lvl = a0.to_ascii_lowercase();
                if !["debug", "verbose", "notice", "warning", "nothing"].contains(&lvl.as_str()) {
                    return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into());
                }
                s.loglevel = lvl;
            }
            "pidfile" => s.pidfile = (!a0.is_empty()).then(|| a0.to_string()),
            "daemonize" => s.daemonize = directives::parse_bool(a0)?,
            "requirepass" => s.requirepass = (!a0.is_empty()).then(|| a0.to_string()),
            "maxclients" => {
                s.maxclients = directives::parse_int_range(a0, 1, i32::MAX as i64)? as usize
            }
            "timeout" => {
                s.timeout_secs = directives::parse_int_range(a0, 0, i32::MAX as i64)? as u64
            }
            "tcp-keepalive" => {
                s.tcp_keepalive_secs = directives::parse_int_range(a0, 0, i32::MAX as i64)? as u64
            }
            "tcp-backlog" => {
                s.tcp_backlog = directives::parse_int_range(a0, 0, i32::MAX as i64)? as u32
            }
            "protected-mode" => s.protected_mode = directives::parse_bool(a0)?,
            "http-port" => s.http_port = directives::parse_int_range(a0, 0, 65535)? as u16,
            "http-bind" => {
                // `http-bind ""` is the default: the addresses of `bind`.
                let entries: Vec<String> = args.iter().filter(|a| !a.is_empty()).cloned().collect();
                for a in &entries {
                    parse_bind_entry(a)?;
                }
                s.http_bind = entries;
            }
            "client-query-buffer-limit" => {
                let v = directives::parse_memory(a0)?;
                if v < 1024 * 1024 || v > i64::MAX as u64 {
                    return Err(format!(
                        "argument must be between {} and {} inclusive",
                        1024 * 1024,
                        i64::MAX
                    ));
                }
                s.client_query_buffer_limit = usize::try_from(v).unwrap_or(usize::MAX);
            }
            "client-output-buffer-limit" => {
                directives::parse_output_buffer_limits(args, &mut s.output_buffer_limits)?
            }
            "proto-max-bulk-len" => {
                let v = directives::parse_memory(a0)?;
                if v < 1024 * 1024 {
                    return Err(format!(
                        "argument must be between {} and {} inclusive",
                        1024 * 1024,
                        i64::MAX
                    ));
                }
                s.proto_max_bulk_len = usize::try_from(v).unwrap_or(usize::MAX);
            }
            _ => return Err("Bad directive or wrong number of arguments".into()),
        }
        Ok(())
    }

    /// Judge the `user` lines against the final `requirepass` (see [`check_user`]).
    fn check_users(&self) -> Result<(), ConfigError> {
        for q in &self.users {
            check_user(&q.argv, self.server.requirepass.as_deref()).map_err(|reason| {
                ConfigError::Directive {
                    file: q.file.clone(),
                    line: q.line,
                    directive: "user".into(),
                    text: q.text.clone(),
                    reason,
                }
            })?;
        }
        Ok(())
    }

    /// Apply the queued `sentinel` lines to `state` in Redis's three groups (after judging the `user`
    /// lines, which need the whole configuration).
    pub fn apply_queue(&mut self, state: &mut PersistedState) -> Result<(), ConfigError> {
        self.check_users()?;
        let queue: Vec<Queued> = self
            .pre_monitor
            .drain(..)
            .chain(self.monitor.drain(..))
            .chain(self.post_monitor.drain(..))
            .collect();
        for q in queue {
            if let Err(reason) = self.sentinel_directive(state, &q.argv) {
                return Err(ConfigError::Directive {
                    file: q.file,
                    line: q.line,
                    directive: format!("sentinel {}", q.argv[0]),
                    text: q.text,
                    reason,
                });
            }
        }
        Ok(())
    }

    /// `sentinelHandleConfiguration`: one `sentinel` line; `argv[0]` is the lower-cased sub-keyword.
    fn sentinel_directive(
        &mut self,
        state: &mut PersistedState,
        argv: &[String],
    ) -> Result<(), String> {
        let argc = argv.len();
        fn get_master<'a>(
            state: &'a mut PersistedState,
            name: &str,
        ) -> Result<&'a mut PersistedMaster, String> {
            state
                .masters
                .get_mut(name)
                .ok_or_else(|| "No such master with specified name.".to_string())
        }
        let resolve = state.global.resolve_hostnames;
        match (argv[0].as_str(), argc) {
            ("monitor", 5) => {
                let quorum = argv[4]
                    .parse::<i64>()
                    .ok()
                    .filter(|&q| q > 0)
                    .ok_or("Quorum must be 1 or greater.")?;
                let port = parse_port(&argv[3])?;
                check_host(&argv[2], resolve)?;
                if state.masters.contains_key(&argv[1]) {
                    return Err("Duplicate master name.".into());
                }
                let quorum = u32::try_from(quorum)
                    .ok()
                    .filter(|&q| q <= MAX_COUNT)
                    .ok_or("Quorum is too large.")?;
                state.masters.insert(
                    argv[1].clone(),
                    PersistedMaster::new(MasterConfig::new(&argv[1], &argv[2], port, quorum)),
                );
            }
            ("down-after-milliseconds", 3) => {
                let m = get_master(state, &argv[1])?;
                m.config.down_after_ms = positive_ms(&argv[2])?;
            }
            ("failover-timeout", 3) => {
                let m = get_master(state, &argv[1])?;
                m.config.failover_timeout_ms = positive_ms(&argv[2])?;
            }
            ("parallel-syncs", 3) => {
                let m = get_master(state, &argv[1])?;
                m.config.parallel_syncs =
                    argv[2]
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| n <= MAX_COUNT)
                        .ok_or("parallel-syncs must be an integer from 0 to 2147483647.")?;
            }
            ("notification-script", 3) => {
                let cwd = self.cwd.clone();
                let m = get_master(state, &argv[1])?;
                if !is_executable(&cwd, &argv[2]) {
                    return Err("Notification script seems non existing or non executable.".into());
                }
                m.config.notification_script = Some(argv[2].clone());
            }
            ("client-reconfig-script", 3) => {
                let cwd = self.cwd.clone();
                let m = get_master(state, &argv[1])?;
                if !is_executable(&cwd, &argv[2]) {
                    return Err(
                        "Client reconfiguration script seems non existing or non executable."
                            .into(),
                    );
                }
                m.config.client_reconfig_script = Some(argv[2].clone());
            }
            ("auth-pass", 3) => {
                get_master(state, &argv[1])?.config.auth_pass = Some(argv[2].clone());
            }
            ("auth-user", 3) => {
                get_master(state, &argv[1])?.config.auth_user = Some(argv[2].clone());
            }
            ("current-epoch", 2) => {
                let e = parse_epoch(&argv[1])?;
                state.current_epoch = state.current_epoch.max(e);
            }
            ("myid", 2) => {
                if argv[1].len() != 40 {
                    return Err("Malformed Sentinel id in myid option.".into());
                }
                state.myid = argv[1].clone();
            }
            ("config-epoch", 3) => {
                let e = parse_epoch(&argv[2])?;
                get_master(state, &argv[1])?.config_epoch = e;
                state.current_epoch = state.current_epoch.max(e);
            }
            ("leader-epoch", 3) => {
                let e = parse_epoch(&argv[2])?;
                get_master(state, &argv[1])?.leader_epoch = e;
            }
            ("known-slave" | "known-replica", 4) => {
                let m = get_master(state, &argv[1])?;
                let port = parse_port(&argv[3])?;
                check_host(&argv[2], resolve)?;
                if m.known_replicas
                    .iter()
                    .any(|(h, p)| *p == port && h.eq_ignore_ascii_case(&argv[2]))
                {
                    return Err("Duplicate hostname and port for replica.".into());
                }
                m.known_replicas.push((argv[2].clone(), port));
            }
            ("known-sentinel", 4) => {
                // The pre-2.8 form without a run id: Redis ignores it.
                self.warn_once(
                    "sentinel known-sentinel (3 arguments)",
                    "ignoring legacy 'sentinel known-sentinel <master> <host> <port>' lines without a run id".into(),
                );
            }
            ("known-sentinel", 5) => {
                let m = get_master(state, &argv[1])?;
                let port = parse_port(&argv[3])?;
                check_host(&argv[2], resolve)?;
                if m.known_sentinels.iter().any(|(_, _, id)| *id == argv[4]) {
                    return Err("Duplicate runid for sentinel.".into());
                }
                m.known_sentinels
                    .push((argv[2].clone(), port, argv[4].clone()));
            }
            ("rename-command", 4) => {
                let m = get_master(state, &argv[1])?;
                let key = argv[2].to_ascii_lowercase();
                if m.config.rename_commands.contains_key(&key) {
                    return Err("Same command renamed multiple times with rename-command.".into());
                }
                m.config.rename_commands.insert(key, argv[3].clone());
            }
            ("announce-ip", 2) => {
                state.global.announce_ip = (!argv[1].is_empty()).then(|| argv[1].clone());
            }
            ("announce-port", 2) => {
                state.global.announce_port = parse_port(&argv[1])?;
            }
            ("deny-scripts-reconfig", 2) => {
                state.global.deny_scripts_reconfig = yes_no(&argv[1])
                    .ok_or("Please specify yes or no for the deny-scripts-reconfig options.")?;
            }
            ("sentinel-user", 2) => {
                state.global.sentinel_user = (!argv[1].is_empty()).then(|| argv[1].clone());
            }
            ("sentinel-pass", 2) => {
                state.global.sentinel_pass = (!argv[1].is_empty()).then(|| argv[1].clone());
            }
            ("resolve-hostnames", 2) => {
                state.global.resolve_hostnames = yes_no(&argv[1])
                    .ok_or("Please specify yes or no for the resolve-hostnames option.")?;
            }
            ("announce-hostnames", 2) => {
                state.global.announce_hostnames = yes_no(&argv[1])
                    .ok_or("Please specify yes or no for the announce-hostnames option.")?;
            }
            ("max-known-sentinels", 2) => {
                state.global.max_known_sentinels = parse_cap(&argv[1])?;
            }
            ("max-known-replicas", 2) => {
                state.global.max_known_replicas = parse_cap(&argv[1])?;
            }
            ("ping-budget", 2) => {
                state.global.ping_budget = parse_ping_budget(&argv[1])?;
            }
            // Valkey 8+ spells it `primary-reboot-down-after-period` (and rewrites it so); both load.
            ("master-reboot-down-after-period" | "primary-reboot-down-after-period", 3) => {
                let m = get_master(state, &argv[1])?;
                let v = argv[2]
                    .parse::<i64>()
                    .map_err(|_| "negative time parameter.")?;
                m.config.master_reboot_down_after_period_ms =
                    u64::try_from(v).map_err(|_| "negative time parameter.")?;
            }
            _ => return Err("Unrecognized sentinel configuration statement.".into()),
        }
        Ok(())
    }
}

/// `sentinel <sub>` or the directive word, for error messages.
fn directive_name(text: &str) -> String {
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("").to_ascii_lowercase();
    if first == "sentinel" {
        if let Some(sub) = words.next() {
            return format!("sentinel {}", sub.to_ascii_lowercase());
        }
    }
    first
}

fn yes_no(s: &str) -> Option<bool> {
    directives::parse_bool(s).ok()
}

fn parse_port(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .map_err(|_| "Invalid port number.".to_string())
}

/// An epoch: 0..=[`MAX_EPOCH`] (Redis reads any `strtoull` value; one above `i64::MAX` can never be
/// voted on and is forged or corrupt, see `MAX_EPOCH`).
fn parse_epoch(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .ok()
        .filter(|&e| e <= MAX_EPOCH)
        .ok_or_else(|| format!("Invalid epoch '{s}': must be an integer from 0 to {MAX_EPOCH}."))
}

fn positive_ms(s: &str) -> Result<u64, String> {
    s.parse::<i64>()
        .ok()
        .filter(|&v| v > 0)
        .map(|v| v as u64)
        .ok_or_else(|| "negative or zero time parameter.".to_string())
}

/// `sentinel max-known-sentinels|max-known-replicas <n>` (vedette only): 1 ..= [`MAX_CAP`].
pub(crate) fn parse_cap(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .ok()
        .filter(|&n| (1..=MAX_CAP).contains(&n))
        .ok_or_else(|| format!("argument must be between 1 and {MAX_CAP} inclusive"))
}

/// One `bind` / `http-bind` entry: an IP address, `*` (every IPv4 address) or `::*` (every IPv6 address),
/// optionally prefixed with `-` (may be unavailable: skipped instead of failing start-up). Returns the
/// address and whether it is optional.
pub(crate) fn parse_bind_entry(entry: &str) -> Result<(IpAddr, bool), String> {
    let (optional, host) = match entry.strip_prefix('-') {
        Some(h) => (true, h),
        None => (false, entry),
    };
    let ip = match host {
        "*" => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        "::*" => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        h => h
            .parse()
            .map_err(|_| format!("Invalid bind address '{entry}'"))?,
    };
    Ok((ip, optional))
}

/// `sentinel ping-budget <n>` (vedette only): PINGs per second for the fast schedule, 0 ..= [`MAX_CAP`]
/// (0 = no limit).
pub(crate) fn parse_ping_budget(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .ok()
        .filter(|&n| n <= MAX_CAP)
        .ok_or_else(|| format!("argument must be between 0 and {MAX_CAP} inclusive"))
}

/// Largest accepted `max-known-sentinels` / `max-known-replicas`.
pub(crate) const MAX_CAP: u32 = 1_000_000;

/// A `user` line (arguments after the word `user`). vedette has exactly one user, `default`, with every
/// permission and `requirepass` as its password — what a Redis sentinel with only `requirepass` has,
/// and what its rewrite writes (`user default on nopass ~* &* +@all`, or `#<sha256 of requirepass>`
/// instead of `nopass`). Such a line is accepted; any other user or rule would need ACL support, and
/// ignoring it would leave the port more open than configured, so it stops start-up.
pub(crate) fn check_user(args: &[String], requirepass: Option<&str>) -> Result<(), String> {
    const NOT_YET: &str = "ACL users are not supported by vedette yet (only requirepass for the default user); refusing to start rather than serve without them";
    if args[0] != "default" {
        return Err(format!("{NOT_YET} (user '{}')", args[0]));
    }
    let (mut on, mut keys, mut channels, mut commands, mut nopass) =
        (false, false, false, false, false);
    let mut passwords = Vec::new();
    for rule in &args[1..] {
        match rule.to_ascii_lowercase().as_str() {
            "on" => on = true,
            "sanitize-payload" | "skip-sanitize-payload" => {}
            "~*" | "allkeys" => keys = true,
            "&*" | "allchannels" => channels = true,
            "+@all" | "allcommands" => commands = true,
            "nopass" => nopass = true,
            r if r.starts_with('#') || r.starts_with('>') => passwords.push(rule.as_str()),
            _ => return Err(format!("{NOT_YET} (rule '{rule}')")),
        }
    }
    if !(on && keys && channels && commands) {
        return Err(format!(
            "{NOT_YET} (only 'user default on nopass ~* &* +@all' or its requirepass form is accepted)"
        ));
    }
    let matches = |p: &str| match (p.as_bytes()[0], requirepass) {
        (b'>', Some(pw)) => p[1..] == *pw,
        (b'#', Some(pw)) => p[1..].eq_ignore_ascii_case(&crate::server::sha256_hex(pw.as_bytes())),
        _ => false,
    };
    let consistent = match requirepass {
        None => nopass && passwords.is_empty(),
        Some(_) => !nopass && !passwords.is_empty() && passwords.iter().all(|p| matches(p)),
    };
    if !consistent {
        return Err(
            "the default user's password here differs from requirepass; vedette supports only requirepass as the default user's password, so refusing to start"
                .into(),
        );
    }
    Ok(())
}

/// With `resolve-hostnames no` only IP literals are accepted; with `yes` config lines accept any name
/// (Redis stores an unresolvable one and retries later).
fn check_host(host: &str, resolve_hostnames: bool) -> Result<(), String> {
    if resolve_hostnames && !host.is_empty() {
        return Ok(());
    }
    host.parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| "Can't resolve instance hostname.".to_string())
}

/// `access(path, X_OK) == 0`, with a relative path taken against `cwd` (Redis's cwd after `dir`).
pub(crate) fn is_executable(cwd: &Path, path: &str) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if path.is_empty() {
        return false;
    }
    let full = cwd.join(path);
    let Ok(c) = std::ffi::CString::new(full.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let ok = unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0;
    ok && full.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `include` globs follow glob(3): compare with the C library's `fnmatch` (which glob(3) uses) over
    /// random patterns and names (no leading `.`, no `/`, ASCII: the caller handles those).
    #[test]
    fn include_globs_agree_with_libc_fnmatch() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let pat_bytes = b"ab*?[]!^-\\:x1";
        let name_bytes = b"ab]![-^\\x1:*?";
        let pick = |rng: &mut rand::rngs::StdRng, from: &[u8], max: usize| -> Vec<u8> {
            let n = rng.gen_range(0..=max);
            (0..n).map(|_| from[rng.gen_range(0..from.len())]).collect()
        };
        let mut matched = 0;
        for _ in 0..30_000 {
            let p = pick(&mut rng, pat_bytes, 8);
            let mut n = pick(&mut rng, name_bytes, 6);
            if n.is_empty() {
                n.push(b'a');
            }
            let (cp, cn) = (
                std::ffi::CString::new(p.clone()).unwrap(),
                std::ffi::CString::new(n.clone()).unwrap(),
            );
            // SAFETY: both are valid NUL-terminated strings that outlive the call.
            let want = unsafe { libc::fnmatch(cp.as_ptr(), cn.as_ptr(), 0) } == 0;
            matched += usize::from(want);
            assert_eq!(
                vedette_core::Pattern::fnmatch(&p).matches(&n),
                want,
                "pattern {:?} name {:?}",
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(&n)
            );
        }
        assert!(matched > 300, "only {matched} matches");
    }

    #[test]
    fn names_for_errors() {
        assert_eq!(directive_name("SENTINEL Monitor m"), "sentinel monitor");
        assert_eq!(directive_name("Port 1"), "port");
    }
}

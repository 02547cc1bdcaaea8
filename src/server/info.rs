//! `INFO`: the generic sections (server, clients, stats, cpu) in Redis's format, plus the core's
//! `# Sentinel` section.
//!
//! Section selection follows a sentinel's `INFO` (reference §1.4): no argument, `default`, `all` and
//! `everything` select all five sections; other names select their section case-insensitively and
//! unknown names are dropped silently. The order is always server, clients, stats, cpu, sentinel, with
//! one empty line between sections.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use super::clients::Stats;
use super::ServerContext;

/// The Redis version we report (clients gate features on it): the version whose sentinel command table
/// `COMMAND` reports, so the two cannot disagree.
pub const REDIS_VERSION: &str = super::commands::TABLE_VERSION;

/// Which sections a list of `INFO` arguments selects: (server, clients, stats, cpu, sentinel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sections {
    /// `# Server`.
    pub server: bool,
    /// `# Clients`.
    pub clients: bool,
    /// `# Stats`.
    pub stats: bool,
    /// `# CPU`.
    pub cpu: bool,
    /// `# Sentinel`.
    pub sentinel: bool,
}

impl Sections {
    /// Every section.
    pub const ALL: Sections = Sections {
        server: true,
        clients: true,
        stats: true,
        cpu: true,
        sentinel: true,
    };

    /// Parse `INFO` arguments (without the command name).
    pub fn parse(args: &[Vec<u8>]) -> Sections {
        if args.is_empty() {
            return Sections::ALL;
        }
        let mut s = Sections::default();
        for a in args {
            match a.to_ascii_lowercase().as_slice() {
                b"default" | b"all" | b"everything" => return Sections::ALL,
                b"server" => s.server = true,
                b"clients" => s.clients = true,
                b"stats" => s.stats = true,
                b"cpu" => s.cpu = true,
                b"sentinel" => s.sentinel = true,
                _ => {}
            }
        }
        s
    }
}

/// Build the INFO text for `sections`.
pub async fn generate(ctx: &ServerContext, sections: Sections) -> String {
    let mut parts: Vec<String> = Vec::new();
    if sections.server {
        parts.push(server_section(ctx));
    }
    if sections.clients {
        parts.push(clients_section(ctx));
    }
    if sections.stats {
        parts.push(stats_section(ctx));
    }
    if sections.cpu {
        parts.push(cpu_section());
    }
    if sections.sentinel {
        let mut s = ctx.core.info_section().await;
        if !s.is_empty() && !s.ends_with("\r\n") {
            s.push_str("\r\n");
        }
        parts.push(s);
    }
    parts.retain(|p| !p.is_empty());
    parts.join("\r\n")
}

fn unix_now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn uname() -> (String, String, String) {
    // SAFETY: `uname` fills a caller-owned, zero-initialised struct of fixed-size NUL-terminated arrays.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return ("Linux".into(), String::new(), String::new());
    }
    let field = |f: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.sysname), field(&u.release), field(&u.machine))
}

fn server_section(ctx: &ServerContext) -> String {
    let now = unix_now();
    let uptime = ctx.started.elapsed().as_secs();
    let (sys, release, machine) = uname();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let config_file = ctx
        .config_file
        .as_ref()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let port = ctx.port();
    let mut s = String::with_capacity(1024);
    let _ = write!(
        s,
        "# Server\r\n\
         redis_version:{REDIS_VERSION}\r\n\
         redis_git_sha1:00000000\r\n\
         redis_git_dirty:0\r\n\
         redis_build_id:0\r\n\
         redis_mode:sentinel\r\n\
         os:{sys} {release} {machine}\r\n\
         arch_bits:{}\r\n\
         monotonic_clock:POSIX clock_gettime\r\n\
         multiplexing_api:epoll\r\n\
         atomicvar_api:c11-builtin\r\n\
         gcc_version:0.0.0\r\n\
         process_id:{}\r\n\
         process_supervised:no\r\n\
         run_id:{}\r\n\
         tcp_port:{port}\r\n\
         server_time_usec:{}\r\n\
         uptime_in_seconds:{uptime}\r\n\
         uptime_in_days:{}\r\n\
         hz:{}\r\n\
         configured_hz:10\r\n\
         lru_clock:{}\r\n\
         executable:{exe}\r\n\
         config_file:{config_file}\r\n\
         io_threads_active:0\r\n",
        usize::BITS,
        std::process::id(),
        ctx.run_id,
        now.as_micros(),
        uptime / 86_400,
        ctx.hz,
        (now.as_millis() / 1000) & ((1 << 24) - 1),
    );
    for (i, addr) in ctx.listen_addrs().iter().enumerate() {
        let _ = write!(
            s,
            "listener{i}:name=tcp,bind={},port={}\r\n",
            addr.ip(),
            addr.port()
        );
    }
    s
}

fn clients_section(ctx: &ServerContext) -> String {
    format!(
        "# Clients\r\n\
         connected_clients:{}\r\n\
         cluster_connections:0\r\n\
         maxclients:{}\r\n\
         client_recent_max_input_buffer:0\r\n\
         client_recent_max_output_buffer:0\r\n\
         blocked_clients:0\r\n\
         tracking_clients:0\r\n\
         clients_in_timeout_table:0\r\n\
         total_blocking_keys:0\r\n\
         total_blocking_keys_on_nokey:0\r\n",
        ctx.clients.len(),
        ctx.config.maxclients,
    )
}

/// `# Stats` with every field of Redis 7.2.4's, in its order (server.c `genRedisInfoString` and
/// `genRedisInfoStringACLStats`): what a sentinel does not do (keys, replication, forks, defrag,
/// tracking) is 0, as in redis-sentinel.
fn stats_section(ctx: &ServerContext) -> String {
    let st = &ctx.stats;
    let g = Stats::get;
    let mut s = String::with_capacity(2048);
    // A `None` value is one of Redis's `%.2f` rates, which a sentinel reports as 0.00.
    let lines: &[(&str, Option<u64>)] = &[
        (
            "total_connections_received",
            Some(g(&st.connections_received)),
        ),
        ("total_commands_processed", Some(g(&st.commands_processed))),
        ("instantaneous_ops_per_sec", Some(0)),
        ("total_net_input_bytes", Some(g(&st.net_input_bytes))),
        ("total_net_output_bytes", Some(g(&st.net_output_bytes))),
        ("total_net_repl_input_bytes", Some(0)),
        ("total_net_repl_output_bytes", Some(0)),
        ("instantaneous_input_kbps", None),
        ("instantaneous_output_kbps", None),
        ("instantaneous_input_repl_kbps", None),
        ("instantaneous_output_repl_kbps", None),
        ("rejected_connections", Some(g(&st.rejected_connections))),
        ("sync_full", Some(0)),
        ("sync_partial_ok", Some(0)),
        ("sync_partial_err", Some(0)),
        ("expired_keys", Some(0)),
        ("expired_stale_perc", None),
        ("expired_time_cap_reached_count", Some(0)),
        ("expire_cycle_cpu_milliseconds", Some(0)),
        ("evicted_keys", Some(0)),
        ("evicted_clients", Some(0)),
        ("total_eviction_exceeded_time", Some(0)),
        ("current_eviction_exceeded_time", Some(0)),
        ("keyspace_hits", Some(0)),
        ("keyspace_misses", Some(0)),
        ("pubsub_channels", Some(ctx.hub.channel_count() as u64)),
        ("pubsub_patterns", Some(ctx.hub.pattern_count() as u64)),
        ("pubsubshard_channels", Some(0)),
        ("latest_fork_usec", Some(0)),
        ("total_forks", Some(0)),
        ("migrate_cached_sockets", Some(0)),
        ("slave_expires_tracked_keys", Some(0)),
        ("active_defrag_hits", Some(0)),
        ("active_defrag_misses", Some(0)),
        ("active_defrag_key_hits", Some(0)),
        ("active_defrag_key_misses", Some(0)),
        ("total_active_defrag_time", Some(0)),
        ("current_active_defrag_time", Some(0)),
        ("tracking_total_keys", Some(0)),
        ("tracking_total_items", Some(0)),
        ("tracking_total_prefixes", Some(0)),
        ("unexpected_error_replies", Some(0)),
        ("total_error_replies", Some(g(&st.error_replies))),
        ("dump_payload_sanitizations", Some(0)),
        ("total_reads_processed", Some(g(&st.reads_processed))),
        ("total_writes_processed", Some(g(&st.writes_processed))),
        ("io_threaded_reads_processed", Some(0)),
        ("io_threaded_writes_processed", Some(0)),
        ("reply_buffer_shrinks", Some(0)),
        ("reply_buffer_expands", Some(0)),
        ("eventloop_cycles", Some(0)),
        ("eventloop_duration_sum", Some(0)),
        ("eventloop_duration_cmd_sum", Some(0)),
        ("instantaneous_eventloop_cycles_per_sec", Some(0)),
        ("instantaneous_eventloop_duration_usec", Some(0)),
        ("acl_access_denied_auth", Some(g(&st.auth_failures))),
        ("acl_access_denied_cmd", Some(0)),
        ("acl_access_denied_key", Some(0)),
        ("acl_access_denied_channel", Some(0)),
    ];
    s.push_str("# Stats\r\n");
    for (k, v) in lines {
        match v {
            Some(v) => {
                let _ = write!(s, "{k}:{v}\r\n");
            }
            None => {
                let _ = write!(s, "{k}:0.00\r\n");
            }
        }
    }
    s
}

fn rusage(who: libc::c_int) -> (libc::timeval, libc::timeval) {
    // SAFETY: `getrusage` fills a caller-owned struct; on failure it stays zeroed.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    (ru.ru_stime, ru.ru_utime)
}

fn tv(t: libc::timeval) -> String {
    format!("{}.{:06}", t.tv_sec, t.tv_usec)
}

fn cpu_section() -> String {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    // The process has no single "main thread" doing all the work; report the process totals there too.
    format!(
        "# CPU\r\n\
         used_cpu_sys:{}\r\n\
         used_cpu_user:{}\r\n\
         used_cpu_sys_children:{}\r\n\
         used_cpu_user_children:{}\r\n\
         used_cpu_sys_main_thread:{}\r\n\
         used_cpu_user_main_thread:{}\r\n",
        tv(sys),
        tv(user),
        tv(csys),
        tv(cuser),
        tv(sys),
        tv(user),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn section_selection() {
        assert_eq!(Sections::parse(&[]), Sections::ALL);
        assert_eq!(Sections::parse(&a(&["EVERYTHING"])), Sections::ALL);
        assert_eq!(Sections::parse(&a(&["cpu", "all"])), Sections::ALL);
        assert_eq!(
            Sections::parse(&a(&["server", "Sentinel", "replication"])),
            Sections {
                server: true,
                sentinel: true,
                ..Default::default()
            }
        );
        assert_eq!(Sections::parse(&a(&["memory"])), Sections::default());
    }

    #[test]
    fn cpu_format() {
        let s = cpu_section();
        assert!(s.starts_with("# CPU\r\nused_cpu_sys:"));
        assert!(s.contains("used_cpu_user:"));
        assert!(s.ends_with("\r\n"));
    }
}

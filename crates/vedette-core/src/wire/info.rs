//! The fields of a master's or replica's `INFO` that a sentinel reads.

/// One `slaveN:` line of a master's INFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLine {
    /// Announced IP (or hostname).
    pub ip: String,
    /// Announced port.
    pub port: u16,
}

/// Reported role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `role:master`.
    Master,
    /// `role:slave`.
    Slave,
}

/// What a sentinel takes from an INFO reply. Fields Redis reads only after `role:slave` are None otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InfoReport {
    /// `run_id`.
    pub run_id: Option<String>,
    /// `role`.
    pub role: Option<Role>,
    /// `slaveN:` lines (masters).
    pub replicas: Vec<ReplicaLine>,
    /// `master_link_down_since_seconds` × 1000 (0 when absent).
    pub master_link_down_ms: i64,
    /// `master_host`.
    pub master_host: Option<String>,
    /// `master_port`.
    pub master_port: Option<u16>,
    /// `master_link_status:up`.
    pub master_link_up: Option<bool>,
    /// `slave_priority`.
    pub slave_priority: Option<u32>,
    /// `slave_repl_offset`.
    pub slave_repl_offset: Option<u64>,
    /// `replica_announced`.
    pub replica_announced: Option<bool>,
    /// `master_repl_offset` (a master's own offset; used for data-loss estimates).
    pub master_repl_offset: Option<u64>,
}

impl InfoReport {
    /// Parse INFO text the way Redis Sentinel does: line by line, prefix matches, unknown lines ignored.
    pub fn parse(text: &str) -> InfoReport {
        let mut r = InfoReport::default();
        let mut seen_slave_role = false;
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if let Some(v) = line.strip_prefix("run_id:") {
                if crate::config::is_valid_myid(v) {
                    r.run_id = Some(v.to_string());
                }
            } else if line.starts_with("slave")
                && line.len() >= 7
                && line.as_bytes()[5].is_ascii_digit()
                && line.contains(':')
            {
                if let Some(rep) = parse_replica_line(line) {
                    r.replicas.push(rep);
                }
            } else if let Some(v) = line.strip_prefix("master_link_down_since_seconds:") {
                if let Ok(s) = v.trim().parse::<i64>() {
                    r.master_link_down_ms = s.saturating_mul(1000);
                }
            } else if line == "role:master" {
                r.role = Some(Role::Master);
            } else if line == "role:slave" {
                r.role = Some(Role::Slave);
                seen_slave_role = true;
            } else if let Some(v) = line.strip_prefix("master_repl_offset:") {
                r.master_repl_offset = v.trim().parse().ok();
            } else if seen_slave_role {
                if let Some(v) = line.strip_prefix("master_host:") {
                    r.master_host = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("master_port:") {
                    r.master_port = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("master_link_status:") {
                    r.master_link_up = Some(v.eq_ignore_ascii_case("up"));
                } else if let Some(v) = line.strip_prefix("slave_priority:") {
                    r.slave_priority = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("slave_repl_offset:") {
                    r.slave_repl_offset = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("replica_announced:") {
                    r.replica_announced = Some(v.trim() != "0");
                }
            }
        }
        r
    }
}

fn parse_replica_line(line: &str) -> Option<ReplicaLine> {
    let (_, rest) = line.split_once(':')?;
    if rest.contains("ip=") {
        let mut ip = None;
        let mut port = None;
        for kv in rest.split(',') {
            if let Some(v) = kv.strip_prefix("ip=") {
                ip = Some(v.to_string());
            } else if let Some(v) = kv.strip_prefix("port=") {
                port = v.parse().ok();
            }
        }
        Some(ReplicaLine {
            ip: ip.filter(|s| !s.is_empty())?,
            port: port?,
        })
    } else {
        // Old format `slaveN:<ip>,<port>,<state>`.
        let mut it = rest.split(',');
        let ip = it.next()?.to_string();
        let port = it.next()?.parse().ok()?;
        if ip.is_empty() {
            return None;
        }
        Some(ReplicaLine { ip, port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_master_info() {
        let t = "# Server\r\nrun_id:1dcf5ac3da71892133bb1103d02f7327a1c2f45b\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=127.0.0.1,port=6501,state=online,offset=100,lag=0\r\nmaster_repl_offset:100\r\n";
        let r = InfoReport::parse(t);
        assert_eq!(r.role, Some(Role::Master));
        assert_eq!(
            r.replicas,
            vec![ReplicaLine {
                ip: "127.0.0.1".into(),
                port: 6501
            }]
        );
        assert_eq!(r.master_repl_offset, Some(100));
        assert!(r.run_id.is_some());
    }

    #[test]
    fn parses_replica_info() {
        let t = "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6500\r\nmaster_link_status:up\r\nslave_repl_offset:42\r\nslave_priority:0\r\nreplica_announced:1\r\nmaster_link_down_since_seconds:-1\r\n";
        let r = InfoReport::parse(t);
        assert_eq!(r.role, Some(Role::Slave));
        assert_eq!(r.master_port, Some(6500));
        assert_eq!(r.master_link_up, Some(true));
        assert_eq!(r.slave_priority, Some(0));
        assert_eq!(r.slave_repl_offset, Some(42));
        assert_eq!(r.master_link_down_ms, -1000);
    }

    #[test]
    fn garbage_is_harmless() {
        let r = InfoReport::parse("slave0:\r\nslave1:ip=,port=x\r\n\u{0}\u{1}");
        assert!(r.replicas.is_empty());
    }
}

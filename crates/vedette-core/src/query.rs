//! What the shell and the commands read: addresses, epochs, the persisted snapshot and the `# Sentinel`
//! INFO section. Nothing here changes the state.

use crate::config::PersistedMaster;
use crate::config::PersistedState;
use crate::sentinel::Sentinel;
use crate::sentinel::Timings;

impl Sentinel {
    /// The shell's description (OS error text) of the write failure it is about to report with
    /// [`Input::PersistFailed`], shown in INFO.
    pub fn note_write_error(&mut self, error: impl Into<String>) {
        self.out.note_error(error.into());
    }

    /// Whether state writes are failing (the last one failed, or one has hung for a while).
    pub fn state_write_failing(&self) -> bool {
        self.out.failing(self.now).is_some()
    }

    /// Writes that succeeded and failed since start.
    pub fn state_writes(&self) -> (u64, u64) {
        (self.out.writes_ok, self.out.writes_failed)
    }

    /// Our run id.
    pub fn myid(&self) -> &str {
        &self.myid
    }

    /// Current epoch (in memory).
    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    /// `deny-scripts-reconfig`.
    pub fn deny_scripts_reconfig(&self) -> bool {
        self.global.deny_scripts_reconfig
    }

    /// Whether TILT is on.
    pub fn in_tilt(&self) -> bool {
        self.tilt
    }

    /// The address clients should use for `master`, as `SENTINEL get-master-addr-by-name` reports it.
    pub fn master_addr(&self, master: &str) -> Option<(String, u16)> {
        self.masters.get(master).map(|m| m.current_addr())
    }

    /// Config epoch of `master`.
    pub fn master_config_epoch(&self, master: &str) -> Option<u64> {
        self.masters.get(master).map(|m| m.config_epoch)
    }

    /// Changes whenever the answer of [`Sentinel::master_addr`] may have changed for some master, so the
    /// shell can cache `GET-MASTER-ADDR-BY-NAME` answers and refresh them only when needed.
    pub fn addr_version(&self) -> u64 {
        self.addr_version
    }

    /// Every master's advertised address.
    pub fn master_addrs(&self) -> Vec<(String, String, u16)> {
        self.masters
            .iter()
            .map(|(n, m)| {
                let (h, p) = m.current_addr();
                (n.clone(), h, p)
            })
            .collect()
    }

    /// Names of monitored masters.
    pub fn master_names(&self) -> Vec<String> {
        self.masters.keys().cloned().collect()
    }

    /// Whether a failover of `master` is in progress here.
    pub fn failover_in_progress(&self, master: &str) -> bool {
        self.masters.get(master).is_some_and(|m| m.in_failover())
    }

    /// A snapshot of what would be persisted now.
    pub fn persisted_state(&self) -> PersistedState {
        let mut st = PersistedState::new(self.myid.clone());
        st.current_epoch = self.current_epoch;
        st.global = self.global.clone();
        for (name, m) in self.masters.iter() {
            let (host, port) = m.current_addr();
            let mut cfg = m.cfg.clone();
            cfg.host = host.clone();
            cfg.port = port;
            let mut pm = PersistedMaster::new(cfg);
            pm.config_epoch = m.config_epoch;
            pm.leader_epoch = m.leader_epoch;
            // Each address once: the loader refuses a duplicate known-replica line.
            let mut written = std::collections::BTreeSet::new();
            for r in m.replicas.values() {
                // Mid-failover the promoted replica is the master address: write the old master instead.
                let addr = if crate::instance::same_host(&r.c.host, &host) && r.c.port == port {
                    (m.c.host.clone(), m.c.port)
                } else {
                    (r.c.host.clone(), r.c.port)
                };
                if written.insert((crate::instance::host_key(&addr.0), addr.1)) {
                    pm.known_replicas.push(addr);
                }
            }
            for (runid, p) in m.sentinels.iter() {
                pm.known_sentinels
                    .push((p.c.host.clone(), p.c.port, runid.clone()));
            }
            st.masters.insert(name.clone(), pm);
        }
        st
    }

    /// Timings in force (SENTINEL DEBUG).
    pub fn timings(&self) -> &Timings {
        &self.t
    }

    /// The `# Sentinel` section of INFO (without the script counters, which the shell owns: it passes them).
    pub fn info_section(&self, running_scripts: usize, queued_scripts: usize) -> String {
        let mut s = String::from("# Sentinel\r\n");
        s.push_str(&format!("sentinel_masters:{}\r\n", self.masters.len()));
        s.push_str(&format!("sentinel_tilt:{}\r\n", u8::from(self.tilt)));
        let since = if self.tilt {
            (self.now.since(self.tilt_start) / 1000) as i64
        } else {
            -1
        };
        s.push_str(&format!("sentinel_tilt_since_seconds:{since}\r\n"));
        s.push_str(&format!("sentinel_running_scripts:{running_scripts}\r\n"));
        s.push_str(&format!(
            "sentinel_scripts_queue_length:{queued_scripts}\r\n"
        ));
        s.push_str(&format!(
            "sentinel_simulate_failure_flags:{}\r\n",
            self.simfailure
        ));
        // vedette: whether state writes fail (Redis only logs it), since when and why, and how many
        // writes were made (group commit makes it far fewer than the changes).
        let failing = self.out.failing(self.now);
        s.push_str(&format!(
            "sentinel_state_write_failing:{}\r\n",
            u8::from(failing.is_some())
        ));
        let since = failing
            .as_ref()
            .map_or(-1, |f| (self.now.since(f.since) / 1000) as i64);
        s.push_str(&format!(
            "sentinel_state_write_failing_since_seconds:{since}\r\n"
        ));
        let error = failing
            .and_then(|f| f.error)
            .unwrap_or_default()
            .replace(['\r', '\n'], " ");
        s.push_str(&format!("sentinel_state_write_error:{error}\r\n"));
        s.push_str(&format!(
            "sentinel_state_writes:{}\r\nsentinel_state_write_failures:{}\r\n",
            self.out.writes_ok, self.out.writes_failed
        ));
        for (i, (name, m)) in self.masters.iter().enumerate() {
            let status = if m.o_down {
                "odown"
            } else if m.c.s_down {
                "sdown"
            } else {
                "ok"
            };
            s.push_str(&format!(
                "master{i}:name={name},status={status},address={}:{},slaves={},sentinels={}\r\n",
                m.c.host,
                m.c.port,
                m.replicas.len(),
                m.sentinels.len() + 1
            ));
        }
        s
    }
}

//! The [`Sentinel`] façade. (Skeleton: the algorithm lands in the modules it calls.)

use std::collections::VecDeque;

use crate::config::PersistedState;
use crate::io::{ClientId, Input, Output};
use crate::reply::{errors, Reply};
use crate::time::Instant;

/// Runtime-tunable periods (ms), changed by `SENTINEL DEBUG`; never persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timings {
    /// INFO period for masters and healthy replicas.
    pub info_period: u64,
    /// Max PING interval.
    pub ping_period: u64,
    /// is-master-down-by-addr interval.
    pub ask_period: u64,
    /// Hello interval.
    pub publish_period: u64,
    /// down-after for new masters.
    pub default_down_after: u64,
    /// failover-timeout for new masters.
    pub default_failover_timeout: u64,
    /// Max tick-to-tick delta before TILT.
    pub tilt_trigger: u64,
    /// TILT duration.
    pub tilt_period: u64,
    /// RECONF_SENT to forced DONE.
    pub slave_reconf_timeout: u64,
    /// Min connection age before idle recycling.
    pub min_link_reconnect_period: u64,
    /// WAIT_START abort.
    pub election_timeout: u64,
    /// Script kill time.
    pub script_max_runtime: u64,
    /// Script retry base delay.
    pub script_retry_delay: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            info_period: 10_000,
            ping_period: 1_000,
            ask_period: 1_000,
            publish_period: 2_000,
            default_down_after: 30_000,
            default_failover_timeout: 180_000,
            tilt_trigger: 2_000,
            tilt_period: 30_000,
            slave_reconf_timeout: 10_000,
            min_link_reconnect_period: 15_000,
            election_timeout: 10_000,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

/// One sentinel process's algorithm.
#[derive(Debug)]
pub struct Sentinel {
    state: PersistedState,
    out: VecDeque<Output>,
}

impl Sentinel {
    /// Build from the loaded state. `seed` feeds the only randomness (failover desync jitter).
    pub fn new(state: PersistedState, _seed: u64, _now: Instant) -> Self {
        Sentinel {
            state,
            out: VecDeque::new(),
        }
    }

    /// Something happened.
    pub fn handle_input(&mut self, _now: Instant, _input: Input) {}

    /// A client command routed to the core: `SENTINEL ...`, `ROLE`, `PUBLISH`.
    pub fn handle_command(&mut self, _now: Instant, client: ClientId, argv: &[Vec<u8>]) {
        let name = argv
            .first()
            .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
            .unwrap_or_default();
        let reply = match name.as_str() {
            "role" => Reply::Array(vec![
                Reply::bulk("sentinel"),
                Reply::Array(self.state.masters.keys().map(Reply::bulk).collect()),
            ]),
            _ => Reply::err(errors::unknown_command(argv)),
        };
        self.out.push_back(Output::Reply { client, reply });
    }

    /// The timer: TILT check, then per-instance monitoring and acting. `wall_ms` is the wall clock (TILT).
    pub fn handle_timeout(&mut self, _now: Instant, _wall_ms: u64) {}

    /// Next piece of work for the shell.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When `handle_timeout` must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The `# Sentinel` section of INFO.
    pub fn info_section(&self, _now: Instant) -> String {
        String::from("# Sentinel\r\n")
    }

    /// Our run id.
    pub fn myid(&self) -> &str {
        &self.state.myid
    }

    /// A snapshot of what would be persisted now.
    pub fn persisted_state(&self) -> PersistedState {
        self.state.clone()
    }
}

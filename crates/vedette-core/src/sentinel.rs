//! The [`Sentinel`] façade: inputs in, outputs out, time passed in.
//!
//! The algorithm is split by the reference's concerns, one module each, all `impl Sentinel` blocks over
//! the state defined here: `instance` (the records and their tables), `monitor` (links, periodic PING /
//! INFO / hello, replies), `detect` (SDOWN, ODOWN), `election` (epochs and votes), `failover` (the state
//! machine and the switch), `command` (SENTINEL commands), `timers` (when each master is next due),
//! `emit` (events), `query` (read-only views), `outbox` (outputs and the persist barrier), `wire`
//! (parsers). The records know nothing of the sentinel, so no module imports a cycle back into them.

use crate::config::{GlobalConfig, PersistedMaster, PersistedState};
use crate::events::EventKind;
use crate::instance::table::{MasterId, Table};
use crate::instance::{Common, InfoState, Link, LinkKey, Master, Peer, Replica};
use crate::io::{ClientId, Input, LinkId, Output, PersistSeq};
use crate::outbox::{Covered, Outbox};
use crate::reply::Reply;
use crate::time::Instant;
use crate::wire::info::Role;

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

/// Deliberate bugs for proving that the simulation's checkers can fail. Settable only with the `mutations`
/// feature, so production builds cannot turn them on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// Grant a vote even when we already voted in that epoch.
    VoteTwice,
    /// Speak before the write that covers what is said is durable: dependents are released at once, and
    /// hellos and vote requests reveal the in-memory epoch and vote.
    SkipPersistBarrier,
    /// Count down-replies about another address (the Redis flaw the issue describes).
    IgnoreQuorum,
    /// Ask for votes in our current epoch instead of our attempt's epoch (what Redis sends; in a storm the
    /// votes land in epochs the tally never counts).
    AskInCurrentEpoch,
    /// Retry at once after any lost election, from every sentinel, without proof that the epoch is dead
    /// for everyone (two sentinels can then win two epochs of one outage).
    EagerRetry,
    /// Never retry early: Redis's 2 × failover-timeout after every lost election (a split vote in a storm
    /// then costs most of its masters 20 s and more).
    NoFastRetry,
    /// Answer the dependents of a failed write as if it had succeeded (Redis's behaviour for votes).
    RevealFailedWrite,
    /// Vote again after a restart in the epoch we started in (ignore `vote_floor`): a vote revealed on the
    /// strength of its durable epoch, whose master's `leader-epoch` was not yet written, can be cast twice.
    NoVoteFloor,
}

/// Seeded splitmix64: the core's only randomness.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// One sentinel process's algorithm.
#[derive(Debug)]
pub struct Sentinel {
    pub(crate) myid: String,
    pub(crate) current_epoch: u64,
    pub(crate) global: GlobalConfig,
    /// Monitored masters by id; named by their configured name.
    pub(crate) masters: Table<MasterId, Master>,
    pub(crate) links: std::collections::BTreeMap<LinkId, Link>,
    /// Master and replica links by what they are dialled with: an instance at an address some other
    /// instance already talks to, with the same credentials and renames, shares that link.
    pub(crate) shared_links: std::collections::BTreeMap<LinkKey, LinkId>,
    pub(crate) next_link: u64,
    pub(crate) t: Timings,
    pub(crate) out: Outbox,
    pub(crate) rng: Rng,
    pub(crate) tilt: bool,
    pub(crate) tilt_start: Instant,
    /// (monotonic, wall) time of the last timer run, for TILT.
    previous_tick: Option<(Instant, u64)>,
    /// What [`Sentinel::poll_timeout`] answered after the last call: the sleep TILT allows for.
    pub(crate) planned: Option<Instant>,
    /// Masters by next deadline (see `timers`).
    pub(crate) timers: std::collections::BTreeSet<(Instant, MasterId)>,
    pub(crate) touched_buf: Vec<MasterId>,
    due_buf: Vec<MasterId>,
    pub(crate) simfailure: u8,
    pub(crate) now: Instant,
    /// Bumped whenever some master's advertised address may have changed (for the shell's read cache).
    pub(crate) addr_version: u64,
    /// When the persist in flight was released, to measure how long durable writes take here.
    persist_released_at: Option<Instant>,
    /// Recent worst persist latency (decays by 1/8 per write): a slow disk delays our vote requests, so the
    /// rank delay that orders would-be leaders must outlast it.
    pub(crate) slow_persist_ms: u64,
    /// How many masters are ODOWN with no failover of ours running, as of the instant it was counted (see
    /// `Sentinel::elections_waiting`).
    pub(crate) odown_waiting: (Instant, u64),
    /// Masters in SDOWN as of an instant (see `Sentinel::masters_asking`).
    pub(crate) sdown_asking: (Instant, u64),
    /// The current epoch of the state we started from: we grant no vote in it or any earlier epoch.
    /// Any vote we revealed before a restart lies at or below it (a vote leaves only once the current
    /// epoch covering it is durable), so this is what makes a vote durable as soon as its *epoch* is,
    /// without waiting for the master's own `leader-epoch` line: in a storm, one write of the new epoch
    /// releases every vote of that epoch, for all masters, instead of one whole-file rewrite per batch.
    pub(crate) vote_floor: u64,
    pub(crate) mutation: Option<Mutation>,
}

impl Sentinel {
    /// Build from the loaded state. `seed` feeds the only randomness (tick and failover jitter).
    /// Emits `+monitor` for every master, as Redis does at start-up.
    pub fn new(state: PersistedState, seed: u64, now: Instant) -> Self {
        let durable = Covered::of(&state);
        let mut s = Sentinel {
            myid: state.myid.clone(),
            current_epoch: state.current_epoch,
            global: state.global.clone(),
            masters: Table::new(),
            links: std::collections::BTreeMap::new(),
            shared_links: std::collections::BTreeMap::new(),
            next_link: 1,
            t: Timings::default(),
            vote_floor: durable.current_epoch,
            out: Outbox::new(durable),
            rng: Rng(seed ^ 0x05EE_D0F7_E77E),
            tilt: false,
            tilt_start: now,
            previous_tick: None,
            planned: None,
            timers: std::collections::BTreeSet::new(),
            touched_buf: Vec::new(),
            due_buf: Vec::new(),
            simfailure: 0,
            now,
            addr_version: 0,
            persist_released_at: None,
            slow_persist_ms: 0,
            odown_waiting: (Instant(u64::MAX), 0),
            sdown_asking: (Instant(u64::MAX), 0),
            mutation: None,
        };
        for pm in state.masters.values() {
            s.current_epoch = s.current_epoch.max(pm.config_epoch);
            let id = s.add_master(pm, now);
            let q = pm.config.quorum;
            s.event_master(id, |master| EventKind::Monitor { master, quorum: q });
        }
        s.masters.track_changes();
        s.masters.touch_all();
        s.settle();
        s
    }

    /// Turn on a deliberate bug (simulation mutation tests only).
    #[cfg(feature = "mutations")]
    pub fn set_mutation(&mut self, m: Option<Mutation>) {
        self.mutation = m;
        self.out.skip_barrier = m == Some(Mutation::SkipPersistBarrier);
        self.out.reveal_failed = m == Some(Mutation::RevealFailedWrite);
    }

    pub(crate) fn mutated(&self, m: Mutation) -> bool {
        self.mutation == Some(m)
    }

    pub(crate) fn add_master(&mut self, pm: &PersistedMaster, now: Instant) -> MasterId {
        self.addr_version += 1;
        let cfg = pm.config.clone();
        let key = LinkKey::new(&cfg, &cfg.host, cfg.port);
        let link = self.shared_link(key, &cfg.host, cfg.port, now);
        let mut m = Master {
            c: Common::new(&cfg.host, cfg.port, link, cfg.down_after_ms, now),
            info: InfoState::new(Role::Master, now),
            cfg,
            o_down: false,
            o_down_since: None,
            master_reboot: false,
            master_reboot_since: now,
            config_epoch: pm.config_epoch,
            leader: None,
            leader_epoch: pm.leader_epoch,
            failover: None,
            failover_start_time: None,
            failover_delay_logged: None,
            start_jitter: None,
            last_ask: None,
            fast_retry: None,
            fast_retries: 0,
            replicas: Table::new(),
            sentinels: Table::new(),
            sentinels_full: false,
            replicas_full: false,
            due: None,
        };
        let name = m.cfg.name.clone();
        let down_after = m.cfg.down_after_ms;
        for (h, p) in &pm.known_replicas {
            let key = LinkKey::new(&m.cfg, h, *p);
            let r = self.make_replica(h, *p, key, down_after, now);
            m.replicas.insert(r.name(), r);
        }
        let mut used = vec![m.c.link];
        used.extend(m.replicas.values().map(|r| r.c.link));
        let id = self.masters.insert(name, m);
        for l in used {
            self.add_link_user(l, id);
        }
        for (h, p, runid) in &pm.known_sentinels {
            if runid.eq_ignore_ascii_case(&self.myid) {
                continue;
            }
            let link = self.sentinel_link(runid, h, *p, now);
            let peer = self.make_peer(runid, h, *p, link, down_after, now);
            if let Some(m) = self.masters.at_mut(id) {
                m.sentinels.insert(runid.clone(), peer);
            }
        }
        id
    }

    pub(crate) fn make_replica(
        &mut self,
        host: &str,
        port: u16,
        key: LinkKey,
        down_after: u64,
        now: Instant,
    ) -> Replica {
        let link = self.shared_link(key, host, port, now);
        Replica::new(Common::new(host, port, link, down_after, now), now)
    }

    pub(crate) fn make_peer(
        &mut self,
        runid: &str,
        host: &str,
        port: u16,
        link: LinkId,
        down_after: u64,
        now: Instant,
    ) -> Peer {
        let mut c = Common::new(host, port, link, down_after, now);
        c.runid = Some(runid.to_string());
        Peer {
            c,
            master_down: false,
            last_master_down_reply: None,
            leader: None,
            leader_epoch: 0,
            down_since: None,
            vote_reply: None,
            last_hello_time: now,
            hello_view: None,
            last_hello_at: None,
        }
    }

    /// Something happened.
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        self.set_now(now);
        self.input(input);
        self.settle();
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Persisted(seq) => {
                let waiting = self.vote_requests_waiting();
                if self.out.done(seq.0, true, self.now) {
                    if let Some(at) = self.persist_released_at.take() {
                        let lat = self.now.since(at);
                        self.slow_persist_ms =
                            lat.max(self.slow_persist_ms - self.slow_persist_ms / 8);
                    }
                }
                // Attempts whose epoch and self-vote just became durable may now ask for votes.
                if self.vote_durable() {
                    for id in waiting {
                        self.ask_peers(id, true);
                    }
                }
            }
            Input::PersistFailed(seq) => {
                if self.out.done(seq.0, false, self.now) {
                    self.persist_released_at = None;
                }
            }
            Input::LinkUp {
                link,
                conn,
                local_ip,
            } => self.on_link_up(link, conn, local_ip),
            Input::LinkDown { link, conn } => self.on_link_down(link, conn),
            Input::Reply { link, conn, reply } => self.on_reply(link, conn, reply),
            Input::Hello { link, payload } => {
                if let Some(l) = self.links.get_mut(&link) {
                    l.pc_last_activity = self.now;
                }
                self.on_hello(&payload, true);
            }
        }
    }

    pub(crate) fn reply(&mut self, client: ClientId, reply: Reply) {
        self.out.push(Output::Reply { client, reply });
    }

    pub(crate) fn set_now(&mut self, now: Instant) {
        // Never let time go backwards inside the core, whatever the caller does.
        if now > self.now {
            self.now = now;
        }
    }

    /// The timer: TILT check, then per-instance monitoring and acting. `wall_ms` is the wall clock, used only
    /// for TILT (a clock jump or a stalled process is what TILT exists to catch).
    pub fn handle_timeout(&mut self, now: Instant, wall_ms: u64) {
        self.set_now(now);
        // Dependents whose write takes too long get their failure reply; a hung write is reported once.
        self.out.release(self.now);
        if self.out.report_stall(self.now) {
            tracing::warn!(
                "A state write has been in flight for {} ms (disk hung?): replies that need it are answered with errors until it returns",
                crate::outbox::STALL_MS
            );
        }
        let now = self.now;
        let tilt_end = self.tilt.then(|| self.tilt_start.plus(self.t.tilt_period));
        let due = self.next_timer().is_some_and(|t| t <= now) || tilt_end.is_some_and(|t| t <= now);
        if !due {
            self.settle();
            return;
        }
        self.tilt_check(wall_ms);
        // Visit the masters whose deadline has come (by id: no names cloned, nothing looked up by
        // name; the buffer is reused, so a tick allocates nothing).
        let mut batch = std::mem::take(&mut self.due_buf);
        batch.clear();
        while let Some(id) = self.pop_due(now) {
            batch.push(id);
        }
        batch.sort_unstable();
        for &id in &batch {
            self.handle_master(id);
        }
        for &id in &batch {
            let due = self
                .masters
                .at(id)
                .and_then(|m| m.failover_state())
                .is_some_and(|s| matches!(s, crate::instance::FailoverState::UpdateConfig { .. }));
            if due {
                self.switch_to_promoted(id);
            }
        }
        self.due_buf = batch;
        self.tilt_exit_check();
        self.settle();
    }

    /// Redis enters TILT when two timer runs are more than `tilt-trigger` apart by the wall clock, or the
    /// wall clock went backwards. Runs are now as far apart as the next deadline, so the gap allowed is
    /// the sleep planned after the previous run plus `tilt-trigger` (see `timers`).
    fn tilt_check(&mut self, wall: u64) {
        if let Some((prev_now, prev_wall)) = self.previous_tick {
            let delta = wall as i128 - prev_wall as i128;
            let allowed = match self.planned {
                Some(p) => p.since(prev_now) as i128 + self.t.tilt_trigger as i128,
                None => i128::MAX,
            };
            if delta < 0 || delta > allowed {
                self.tilt = true;
                self.tilt_start = self.now;
                self.emit(EventKind::Tilt, None);
            }
        }
        self.previous_tick = Some((self.now, wall));
    }

    /// Leave TILT once its period has passed (checked while handling instances, as Redis does).
    pub(crate) fn tilt_exit_check(&mut self) {
        if self.tilt && self.now.since(self.tilt_start) >= self.t.tilt_period {
            self.tilt = false;
            self.emit(EventKind::TiltExited, None);
            // The down checks TILT suspended have deadlines again.
            self.masters.touch_all();
        }
    }

    /// Next piece of work for the shell. A [`Output::Persist`] is emitted when a write is due (none in
    /// flight and some change not yet covered); its snapshot is taken now, so it covers every change made
    /// so far (group commit).
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(o) = self.out.pop() {
            return Some(o);
        }
        if !self.out.write_due(self.now) {
            return None;
        }
        let state = self.persisted_state();
        let seq = self.out.start_write(Covered::of(&state), self.now);
        self.persist_released_at = Some(self.now);
        Some(Output::Persist {
            seq: PersistSeq(seq),
            state: Box::new(state),
        })
    }

    /// When `handle_timeout` must run next: the earliest real deadline (a master's next rule, the end of
    /// TILT, a write taking too long), or `None` when nothing is pending at all.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tilt_end = self.tilt.then(|| self.tilt_start.plus(self.t.tilt_period));
        [self.out.poll_timeout(), self.next_timer(), tilt_end]
            .into_iter()
            .flatten()
            .min()
    }

    /// The epoch we may reveal (hellos, asks without a vote request): the durable one, so nothing said on
    /// a link ever waits for a write.
    pub(crate) fn revealable_epoch(&self) -> u64 {
        if self.mutated(Mutation::SkipPersistBarrier) {
            return self.current_epoch;
        }
        self.out.durable().current_epoch.min(self.current_epoch)
    }

    /// Whether our current epoch, and so each of our votes (never in a later epoch; see
    /// `vote_floor`), is on disk, so a vote request may reveal them.
    pub(crate) fn vote_durable(&self) -> bool {
        if self.mutated(Mutation::SkipPersistBarrier) {
            return true;
        }
        self.out.durable().current_epoch >= self.current_epoch
    }

    /// Masters in an election whose vote requests wait for a write.
    fn vote_requests_waiting(&self) -> Vec<MasterId> {
        if self.vote_durable() {
            return Vec::new();
        }
        self.masters
            .iter_ids()
            .filter(|(_, m)| m.failover_state() == Some(crate::instance::FailoverState::WaitStart))
            .map(|(id, _)| id)
            .collect()
    }

    /// The state changed in a way that must be persisted: the next write covers it (group commit).
    /// Returns that write's generation, for outputs that depend on it.
    pub(crate) fn flush(&mut self) -> u64 {
        self.out.flush()
    }

    // ---- events -------------------------------------------------------------------------------------
}

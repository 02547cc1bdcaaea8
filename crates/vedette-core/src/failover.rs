//! The acting half: asking peers, ODOWN, leader election by epochs, the failover state machine and the
//! switch (reference §5.3–§7).

use crate::events::Level;
use crate::instance::{same_host, FailoverState, Inst, Reconf, Sent};
use crate::io::{LinkId, OutCommand};
use crate::sentinel::{Mutation, Sentinel};
use crate::table::{MasterId, ReplicaId};
use crate::time::Instant;

/// vedette's ordered start: each sentinel that sees ODOWN waits this long per sentinel ranked before it
/// (live peers with a smaller run id), counted from when those peers report the master down, so the first
/// in line usually asks alone and split votes are rare.
const RANK_STEP_MS: u64 = 150;
/// Jitter on top of the rank delay.
const RANK_JITTER_MS: u64 = 50;
/// How long after our ODOWN we wait for a peer ranked before us that does not report the master down (it
/// may see it a little later than we do; if it never does, we go ahead).
const RANK_PEER_WAIT_MS: u64 = 500;
/// vedette asks peers this often while the master is S_DOWN (Redis: ask-period, 1 s).
const FAST_ASK_MS: u64 = 100;
/// During the first down-after of our SDOWN, a peer whose last answer was "not down" is asked again after
/// this long instead.
const REASK_NOT_DOWN_MS: u64 = 25;
/// At most this many fast retries (see [`Sentinel::fast_retry_allowed`]) per ODOWN; then Redis's
/// 2 × failover-timeout rule applies again.
const MAX_FAST_RETRIES: u32 = 3;

/// See [`Sentinel::election_outlook`].
#[derive(Debug, Default, Clone, Copy)]
struct Outlook {
    /// We cannot reach a majority in our epoch any more.
    lost: bool,
    /// Nobody can: every voter voted in it and no candidate holds enough votes.
    dead_for_all: bool,
}

impl Sentinel {
    /// Ask every connected peer whether `master` is down (reference §5.3). `forced` ignores the period.
    pub(crate) fn ask_peers(&mut self, mid: MasterId, forced: bool) {
        let now = self.now;
        let ask_period = self.t.ask_period.min(FAST_ASK_MS);
        let stale_after = self.t.ask_period.saturating_mul(5);
        let vote_durable = self.vote_durable(mid);
        let durable_epoch = self.revealable_epoch();
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        for p in m.sentinels.values_mut() {
            if p.last_master_down_reply
                .is_some_and(|t| now.since(t) > stale_after)
            {
                p.master_down = false;
                p.leader = None;
            }
        }
        if !m.c.s_down {
            return;
        }
        let (host, port) = (m.c.host.clone(), m.c.port);
        let vote = m.in_failover() && vote_durable;
        // Persist before you speak: a vote request reveals our epoch and self-vote, so it goes out only
        // once both are on disk (the write landing asks again at once); until then, and while writes fail,
        // ask without a vote request and with the durable epoch (both Redis and vedette ignore the epoch
        // of a `*` ask), so the down state still flows.
        // vedette: a vote request carries our failover epoch, the only epoch our tally counts. Redis sends
        // its current epoch, which in a storm has moved on with other masters' elections: each such re-ask
        // costs the voter its vote for this master in an epoch nobody counts, and defers its own attempts.
        let (runid, epoch) = if vote {
            let e = if self.mutation == Some(Mutation::AskInCurrentEpoch) {
                self.current_epoch
            } else {
                m.failover_epoch
            };
            (self.myid.clone(), e)
        } else {
            ("*".to_string(), durable_epoch)
        };
        // Early in our SDOWN a peer that still says "not down" is most likely about to see the same failure
        // (it pings on its own schedule): ask it again soon, so our ODOWN — and, for the first sentinel in
        // the rank order, its election — does not wait a whole ask period.
        let fresh =
            m.c.s_down_since
                .is_some_and(|t| now.since(t) < m.cfg.down_after_ms);
        let mut targets: Vec<LinkId> = Vec::new();
        for p in m.sentinels.values() {
            let period = if fresh && !p.master_down {
                REASK_NOT_DOWN_MS.min(ask_period)
            } else {
                ask_period
            };
            let recent = p
                .last_master_down_reply
                .is_some_and(|t| now.since(t) < period);
            if !forced && recent {
                continue;
            }
            targets.push(p.c.link);
        }
        // One outstanding ask per link and master is enough.
        for link in targets {
            let pending = self
                .links
                .get(&link)
                .is_some_and(|l| l.inflight.ask_pending(mid, epoch));
            if pending && !forced {
                continue;
            }
            self.send(
                link,
                Sent::Ask {
                    master: mid,
                    host: host.clone(),
                    port,
                    epoch,
                    vote,
                },
                OutCommand::AskMasterDown {
                    ip: host.clone(),
                    port,
                    epoch,
                    runid: runid.clone(),
                },
            );
        }
        if let Some(m) = self.masters.at_mut(mid) {
            m.last_ask = Some(now);
        }
    }

    /// A reply to an ask. It only counts for the master and address it was about (vedette: a reply about
    /// the old address never counts for the master after a switch).
    pub(crate) fn on_ask_reply(
        &mut self,
        link: LinkId,
        master: MasterId,
        host: &str,
        port: u16,
        (asked, vote): (u64, bool),
        r: Option<(i64, String, i64)>,
    ) {
        let now = self.now;
        let Some((down, leader, leader_epoch)) = r else {
            return;
        };
        let count_stale = self.mutated(Mutation::IgnoreQuorum);
        let Some(m) = self.masters.at_mut(master) else {
            return;
        };
        let same_addr = m.c.port == port && same_host(&m.c.host, host);
        if !count_stale && !same_addr {
            return;
        }
        let Some(pid) = m
            .sentinels
            .iter_ids()
            .find(|(_, p)| p.c.link == link)
            .map(|(id, _)| id)
        else {
            return;
        };
        let mname = m.cfg.name.clone();
        let id = m.sentinels.name_of(pid).unwrap_or_default().to_string();
        let Some(p) = m.sentinels.at_mut(pid) else {
            return;
        };
        p.last_master_down_reply = Some(now);
        p.master_down = down == 1;
        if !p.master_down {
            p.down_since = None;
        } else if p.down_since.is_none() {
            p.down_since = Some(now);
        }
        if vote {
            p.vote_reply = Some(crate::instance::VoteReply {
                asked,
                leader: (leader != "*").then(|| leader.to_ascii_lowercase()),
                epoch: leader_epoch.max(0) as u64,
            });
        }
        if leader != "*" {
            let changed = p.leader_epoch != leader_epoch.max(0) as u64;
            p.leader = Some(leader.clone());
            p.leader_epoch = leader_epoch.max(0) as u64;
            if changed {
                tracing::info!(master = %mname, sentinel = %id, leader = %leader, epoch = leader_epoch, "voted for");
            }
        }
        if !self.tilt {
            self.odown_check(master);
            self.start_failover_if_needed(master);
            self.failover_step(master);
        }
    }

    /// Objective down (reference §5.4).
    pub(crate) fn odown_check(&mut self, mid: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        let mut count = 0u32;
        let odown = if m.c.s_down {
            count = 1 + m.sentinels.values().filter(|p| p.master_down).count() as u32;
            count >= m.cfg.quorum
        } else {
            false
        };
        let q = m.cfg.quorum;
        if odown && !m.o_down {
            m.o_down = true;
            m.o_down_since = Some(now);
            self.event_master(
                Level::Warning,
                "+odown",
                mid,
                &format!("#quorum {count}/{q}"),
            );
        } else if !odown && m.o_down {
            m.o_down = false;
            m.start_jitter = None;
            m.fast_retry = None;
            m.fast_retries = 0;
            self.event_master(Level::Warning, "-odown", mid, "");
        }
    }

    /// Start an attempt when ODOWN holds and the retry delay has passed (reference §6.2), after vedette's
    /// rank delay.
    pub(crate) fn start_failover_if_needed(&mut self, mid: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        if !m.o_down || m.in_failover() {
            return;
        }
        if let Some(fst) = m.failover_start_time {
            let retry = m.cfg.failover_timeout_ms.saturating_mul(2);
            let waiting = now < fst || now.since(fst) < retry;
            if waiting && !self.fast_retry_allowed(mid) {
                if m.failover_delay_logged != Some(fst) {
                    let at = fst.plus(retry).0;
                    tracing::info!(
                        master = %m.cfg.name,
                        not_before_ms = at,
                        "Next failover delay: I will not start a failover before then"
                    );
                    if let Some(m) = self.masters.at_mut(mid) {
                        m.failover_delay_logged = Some(fst);
                    }
                }
                return;
            }
        }
        let jitter = match m.start_jitter {
            Some(j) => j,
            None => {
                let j = self.rng.below(RANK_JITTER_MS);
                if let Some(m) = self.masters.at_mut(mid) {
                    m.start_jitter = Some(j);
                }
                j
            }
        };
        if now < self.start_at(mid, jitter) {
            return;
        }
        self.start_failover(mid, false);
    }

    /// vedette's ordered start: when our attempt for `mid` may begin. Every live peer with a smaller run id
    /// is ranked before us; we wait one step per such peer, counted from the moment the last of them
    /// reported the master down (they see the failure at slightly different moments than we do, and each
    /// needs its own ODOWN before it asks), or from our ODOWN plus [`RANK_PEER_WAIT_MS`] for a peer that
    /// does not report it. The rank uses only what every sentinel sees alike (run ids, and links that
    /// have been answering), so the same sentinel comes first for every master of a storm; a peer briefly
    /// flagged down because its loop was busy keeps its place.
    fn start_at(&self, mid: MasterId, jitter: u64) -> Instant {
        let now = self.now;
        let Some(m) = self.masters.at(mid) else {
            return now;
        };
        let odown = m.o_down_since.unwrap_or(now);
        let mut anchor = odown;
        let mut rank = 0u64;
        for (id, p) in m.sentinels.iter() {
            if id.to_ascii_lowercase() >= self.myid.to_ascii_lowercase() {
                continue;
            }
            let live = self.links.get(&p.c.link).is_some_and(|l| {
                !l.disconnected()
                    && now.since(l.last_avail_time) <= p.c.down_after.max(1000).saturating_mul(3)
            });
            if !live {
                continue;
            }
            rank += 1;
            let seen = p.down_since.unwrap_or(odown.plus(RANK_PEER_WAIT_MS));
            anchor = anchor.max(seen.min(odown.plus(RANK_PEER_WAIT_MS)));
        }
        if rank == 0 {
            return odown.plus(jitter);
        }
        // Each step must outlast the time the sentinel ranked before us needs to make its vote durable and
        // ask: on a slow disk that is its fsync, which we estimate by ours.
        let step = RANK_STEP_MS.max(self.slow_persist_ms.saturating_mul(2).saturating_add(50));
        anchor.plus(rank.saturating_mul(step).saturating_add(jitter))
    }

    /// vedette's fast retry: our previous attempt for `mid` ran in an epoch that nobody can win any more
    /// (every voter's vote in it is known: each voted in that very epoch, and no candidate holds enough),
    /// we have voted for nobody else since, and we are the first of all the sentinels we know for it (so
    /// at most one sentinel per master retries early). Then the next attempt need not wait Redis's
    /// 2 × failover-timeout: every other sentinel voted in the dead epoch, so Redis's rules keep each of
    /// them from starting an attempt of its own for that long (having tried itself, or having voted for
    /// another), and our new epoch cannot meet a competitor that could win.
    pub(crate) fn fast_retry_allowed(&self, mid: MasterId) -> bool {
        let Some(m) = self.masters.at(mid) else {
            return false;
        };
        let Some(dead) = m.fast_retry else {
            return false;
        };
        if self.mutated(Mutation::EagerRetry) {
            return true;
        }
        if self.mutated(Mutation::NoFastRetry) {
            return false;
        }
        m.fast_retries < MAX_FAST_RETRIES
            && m.leader_epoch == dead
            && m.leader
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(&self.myid))
    }

    /// Begin an attempt: new epoch, self-vote (persisted), then ask the peers for their votes.
    pub(crate) fn start_failover(&mut self, mid: MasterId, forced: bool) {
        let now = self.now;
        let jitter = self.rng.below(1000);
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        // vedette: an automatic attempt runs in our current epoch when we have not voted in it for this
        // master and it is newer than the master's configuration: elections are per master, so the masters
        // of a storm can all be elected in one epoch instead of each taking the next number. Redis takes a new
        // epoch per attempt; then every attempt for one master pushes every voter past the epochs of the
        // attempts for the others, and those are refused. (A SENTINEL FAILOVER keeps Redis's new epoch: it
        // needs no votes, so its epoch must be one nobody else can win.)
        if self.current_epoch >= crate::config::MAX_EPOCH {
            // No epoch is left to number an attempt (only a forged or corrupt epoch gets here): refuse,
            // and wait the retry delay before saying so again.
            tracing::warn!(
                master = %m.cfg.name,
                epoch = self.current_epoch,
                "cannot start a failover: the current epoch is at its maximum"
            );
            if let Some(m) = self.masters.at_mut(mid) {
                m.failover_start_time = Some(now);
            }
            return;
        }
        let reuse =
            !forced && self.current_epoch > m.leader_epoch && self.current_epoch > m.config_epoch;
        if !reuse {
            self.current_epoch += 1;
        }
        let epoch = self.current_epoch;
        let fast = !forced && m.failover_start_time.is_some() && self.fast_retry_allowed(mid);
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        if fast {
            m.fast_retries += 1;
        }
        m.fast_retry = None;
        m.failover_state = FailoverState::WaitStart;
        m.failover_epoch = epoch;
        m.force_failover = forced;
        m.failover_start_time = Some(now.plus(jitter));
        m.failover_state_change_time = now;
        m.start_jitter = None;
        self.event_raw(Level::Warning, "+new-epoch", mid, epoch.to_string());
        self.event_master(Level::Warning, "+try-failover", mid, "");
        let myid = self.myid.clone();
        self.vote_leader(mid, epoch, &myid);
        if !forced {
            self.ask_peers(mid, true);
        }
    }

    /// Grant our vote for `master` in `epoch` to `candidate` if we have not voted in that epoch or later
    /// (reference §6.3). The new epoch and vote are persisted before anything can reveal them.
    /// Returns our vote (leader, epoch) after the call.
    pub(crate) fn vote_leader(
        &mut self,
        mid: MasterId,
        epoch: u64,
        candidate: &str,
    ) -> (Option<String>, u64) {
        let now = self.now;
        if self.masters.at(mid).is_none() {
            return (None, 0);
        }
        let bumped = epoch > self.current_epoch;
        if bumped {
            self.current_epoch = epoch;
        }
        let vote_twice = self.mutated(Mutation::VoteTwice);
        let jitter = self.rng.below(1000);
        let current = self.current_epoch;
        let myid = self.myid.clone();
        let mut voted = false;
        if let Some(m) = self.masters.at_mut(mid) {
            if (m.leader_epoch < epoch || (vote_twice && m.leader_epoch == epoch))
                && current <= epoch
            {
                m.leader = Some(candidate.to_string());
                m.leader_epoch = current;
                if !candidate.eq_ignore_ascii_case(&myid) {
                    m.failover_start_time = Some(now.plus(jitter));
                }
                voted = true;
            }
        }
        // One durable write covers the epoch bump and the vote (and whatever else is pending: group
        // commit); a reply or vote request that reveals them waits for it.
        if bumped || voted {
            self.flush();
        }
        if bumped {
            self.event_raw(Level::Warning, "+new-epoch", mid, epoch.to_string());
        }
        if voted {
            self.event_raw(
                Level::Warning,
                "+vote-for-leader",
                mid,
                format!("{candidate} {current}"),
            );
        }
        self.masters
            .at(mid)
            .map_or((None, 0), |m| (m.leader.clone(), m.leader_epoch))
    }

    /// Count votes for our attempt (reference §6.4). Returns the winner, if any.
    fn tally(&mut self, mid: MasterId) -> Option<String> {
        let m = self.masters.at(mid)?;
        let voters = m.sentinels.len() as u32 + 1;
        let quorum = m.cfg.quorum;
        let failover_epoch = m.failover_epoch;
        let mut counts: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
        for p in m.sentinels.values() {
            if let Some(l) = &p.leader {
                if p.leader_epoch == failover_epoch {
                    *counts.entry(l.to_ascii_lowercase()).or_default() += 1;
                }
            }
        }
        let best = |counts: &std::collections::BTreeMap<String, u32>| {
            counts
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(k, v)| (k.clone(), *v))
        };
        let provisional = best(&counts).map(|(k, _)| k);
        let candidate = provisional.unwrap_or_else(|| self.myid.clone());
        let (my_leader, my_epoch) = self.vote_leader(mid, failover_epoch, &candidate);
        if let Some(l) = my_leader {
            if my_epoch == failover_epoch {
                *counts.entry(l.to_ascii_lowercase()).or_default() += 1;
            }
        }
        let (winner, votes) = best(&counts)?;
        if votes > voters / 2 && votes >= quorum {
            Some(winner)
        } else {
            None
        }
    }

    /// One step of the failover state machine; loops while states advance so nothing waits for a tick.
    pub(crate) fn failover_step(&mut self, mid: MasterId) {
        for _ in 0..8 {
            let Some(before) = self.masters.at(mid).map(|m| m.failover_state) else {
                return;
            };
            match before {
                FailoverState::None => return,
                FailoverState::WaitStart => self.step_wait_start(mid),
                FailoverState::SelectSlave => self.step_select_slave(mid),
                FailoverState::SendSlaveofNoone => self.step_send_slaveof_noone(mid),
                FailoverState::WaitPromotion => self.step_wait_promotion(mid),
                FailoverState::ReconfSlaves => self.step_reconf_slaves(mid),
                FailoverState::UpdateConfig => {
                    self.switch_to_promoted(mid);
                    return;
                }
            }
            if self.masters.at(mid).map(|m| m.failover_state) == Some(before) {
                return;
            }
        }
    }

    fn set_state(&mut self, mid: MasterId, st: FailoverState) {
        let now = self.now;
        if let Some(m) = self.masters.at_mut(mid) {
            m.failover_state = st;
            m.failover_state_change_time = now;
        }
    }

    fn step_wait_start(&mut self, mid: MasterId) {
        let now = self.now;
        let winner = self.tally(mid);
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let forced = m.force_failover;
        let elected = winner
            .as_deref()
            .is_some_and(|w| w.eq_ignore_ascii_case(&self.myid));
        if elected || forced {
            self.event_master(Level::Warning, "+elected-leader", mid, "");
            if self.simfailure & 1 != 0 {
                tracing::warn!("Sentinel CRASH because of SENTINEL simulate-failure");
                self.out.crash(self.now);
            }
            self.set_state(mid, FailoverState::SelectSlave);
            self.event_master(Level::Warning, "+failover-state-select-slave", mid, "");
            return;
        }
        let timeout = self.t.election_timeout.min(m.cfg.failover_timeout_ms);
        let started = m.failover_start_time.unwrap_or(now);
        let timed_out = now > started && now.since(started) > timeout;
        let outlook = self.election_outlook(mid);
        if timed_out || outlook.lost {
            self.event_master(Level::Warning, "-failover-abort-not-elected", mid, "");
            self.abort_failover(mid);
            let eager = self.mutated(Mutation::EagerRetry);
            if eager || (outlook.dead_for_all && self.first_of_known(mid)) {
                if let Some(m) = self.masters.at_mut(mid) {
                    m.fast_retry = Some(m.failover_epoch);
                }
            }
        }
    }

    /// What the answers to our vote requests say about our attempt's epoch (vedette). A peer's answer to a
    /// request for epoch E is final for E: a vote in E never changes, a vote in a later epoch means it will
    /// never vote in E, and an older vote means its current epoch had passed E (it only grows), so it never
    /// will either.
    fn election_outlook(&self, mid: MasterId) -> Outlook {
        let Some(m) = self.masters.at(mid) else {
            return Outlook::default();
        };
        let e = m.failover_epoch;
        if m.force_failover {
            return Outlook::default();
        }
        let voters = m.sentinels.len() as u32 + 1;
        let needed = (voters / 2 + 1).max(m.cfg.quorum);
        let me = self.myid.to_ascii_lowercase();
        let mut counts: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
        // Voters whose vote in E may still come (or came for someone we cannot name).
        let mut open = 0u32;
        let mut all_voted_in_e = true;
        match &m.leader {
            Some(l) if m.leader_epoch == e => {
                *counts.entry(l.to_ascii_lowercase()).or_default() += 1
            }
            _ => return Outlook::default(),
        }
        for p in m.sentinels.values() {
            match &p.vote_reply {
                Some(r) if r.asked == e => {
                    if r.epoch != e {
                        all_voted_in_e = false;
                        continue;
                    }
                    match &r.leader {
                        Some(l) => *counts.entry(l.clone()).or_default() += 1,
                        // A restarted voter abstains with `*` for the epoch it voted in before.
                        None => {
                            open += 1;
                            all_voted_in_e = false;
                        }
                    }
                }
                _ => {
                    open += 1;
                    all_voted_in_e = false;
                }
            }
        }
        let mine = counts.get(&me).copied().unwrap_or(0);
        let best = counts.values().copied().max().unwrap_or(0);
        Outlook {
            lost: mine + open < needed,
            dead_for_all: all_voted_in_e && open == 0 && best < needed,
        }
    }

    /// Whether our run id is the smallest of every sentinel we know for `mid` (down or not): the one
    /// sentinel allowed fast retries for it.
    fn first_of_known(&self, mid: MasterId) -> bool {
        let me = self.myid.to_ascii_lowercase();
        self.masters
            .at(mid)
            .is_some_and(|m| m.sentinels.keys().all(|id| id.to_ascii_lowercase() > me))
    }

    /// Eligible replicas, best first (reference §7.2).
    pub(crate) fn select_replica(&self, mid: MasterId) -> Option<ReplicaId> {
        let now = self.now;
        let m = self.masters.at(mid)?;
        let ping5 = self.t.ping_period.saturating_mul(5);
        let info_max = if m.c.s_down {
            ping5
        } else {
            self.t.info_period.saturating_mul(3)
        };
        let mut max_down = m.cfg.down_after_ms.saturating_mul(10);
        if m.c.s_down {
            if let Some(s) = m.c.s_down_since {
                max_down = max_down.saturating_add(now.since(s));
            }
        }
        let mut cands: Vec<(ReplicaId, &crate::instance::Replica)> = m
            .replicas
            .iter_ids()
            .filter(|(_, r)| {
                let l = self.links.get(&r.c.link);
                !r.c.s_down
                    && l.is_some_and(|l| !l.disconnected() && now.since(l.last_avail_time) <= ping5)
                    && r.priority != 0
                    && r.info.refresh.is_some_and(|t| now.since(t) <= info_max)
                    && r.master_link_down_time <= max_down as i64
            })
            .collect();
        cands.sort_by(|a, b| {
            let (ra, rb) = (a.1, b.1);
            ra.priority
                .cmp(&rb.priority)
                .then(rb.repl_offset.cmp(&ra.repl_offset))
                .then_with(|| match (&ra.c.runid, &rb.c.runid) {
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
        });
        cands.first().map(|(n, _)| *n)
    }

    fn step_select_slave(&mut self, mid: MasterId) {
        match self.select_replica(mid) {
            None => {
                self.event_master(Level::Warning, "-failover-abort-no-good-slave", mid, "");
                self.abort_failover(mid);
            }
            Some(rn) => {
                if let Some(m) = self.masters.at_mut(mid) {
                    m.promoted = Some(rn);
                    if let Some(r) = m.replicas.at_mut(rn) {
                        r.promoted = true;
                    }
                }
                let key = Inst::replica(mid, rn);
                self.event(Level::Warning, "+selected-slave", key, "");
                self.set_state(mid, FailoverState::SendSlaveofNoone);
                self.event(Level::Notice, "+failover-state-send-slaveof-noone", key, "");
            }
        }
    }

    fn promoted_key(&self, mid: MasterId) -> Option<(Inst, LinkId)> {
        let m = self.masters.at(mid)?;
        let rn = m.promoted?;
        let link = m.replicas.at(rn)?.c.link;
        Some((Inst::replica(mid, rn), link))
    }

    fn step_send_slaveof_noone(&mut self, mid: MasterId) {
        let now = self.now;
        let Some((key, link)) = self.promoted_key(mid) else {
            self.abort_failover(mid);
            return;
        };
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let timeout = m.cfg.failover_timeout_ms;
        let changed = m.failover_state_change_time;
        let connected = self.links.get(&link).is_some_and(|l| !l.disconnected());
        if !connected {
            if now.since(changed) > timeout {
                self.event_master(Level::Warning, "-failover-abort-slave-timeout", mid, "");
                self.abort_failover(mid);
            }
            return;
        }
        if self.send(link, Sent::Other, OutCommand::Reconfigure(None)) {
            self.event(Level::Notice, "+failover-state-wait-promotion", key, "");
            self.set_state(mid, FailoverState::WaitPromotion);
            // Confirm at once: INFO right behind the transaction on the same connection.
            self.send(link, Sent::Info(key), OutCommand::Info);
        }
    }

    fn step_wait_promotion(&mut self, mid: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        if now.since(m.failover_state_change_time) > m.cfg.failover_timeout_ms {
            self.event_master(Level::Warning, "-failover-abort-slave-timeout", mid, "");
            self.abort_failover(mid);
        }
    }

    /// The promoted replica reported `role:master` (reference §7.1 "promotion detected").
    pub(crate) fn promotion_detected(&mut self, mid: MasterId) {
        let Some((key, _)) = self.promoted_key(mid) else {
            return;
        };
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        m.config_epoch = m.failover_epoch;
        let old = (m.c.host.clone(), m.c.port);
        self.addr_version += 1;
        self.set_state(mid, FailoverState::ReconfSlaves);
        self.flush();
        self.event(Level::Warning, "+promoted-slave", key, "");
        if self.simfailure & 2 != 0 {
            tracing::warn!("Sentinel CRASH because of SENTINEL simulate-failure");
            self.out.crash(self.now);
        }
        self.event_master(Level::Warning, "+failover-state-reconf-slaves", mid, "");
        let new = self
            .masters
            .at(mid)
            .map(|m| m.current_addr())
            .unwrap_or_default();
        self.client_reconfig(mid, "leader", (&old.0, old.1), (&new.0, new.1));
        self.force_hellos(mid);
        // Tell the peers now rather than at the next tick.
        let keys: Vec<Inst> = self
            .masters
            .at(mid)
            .map(|m| {
                let mut v: Vec<Inst> = m.sentinels.ids().map(|s| Inst::peer(mid, s)).collect();
                v.extend(m.replicas.ids().map(|r| Inst::replica(mid, r)));
                v
            })
            .unwrap_or_default();
        for k in keys {
            self.periodic(k);
        }
    }

    fn step_reconf_slaves(&mut self, mid: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let Some(promoted) = m.promoted else {
            return;
        };
        let Some(p) = m.replicas.at(promoted) else {
            return;
        };
        let target = (p.c.host.clone(), p.c.port);
        let parallel = m.cfg.parallel_syncs.max(1) as usize;
        let reconf_timeout = self.t.slave_reconf_timeout;
        let mut in_progress = m
            .replicas
            .values()
            .filter(|r| matches!(r.reconf, Reconf::Sent(_) | Reconf::InProg))
            .count();
        let names: Vec<ReplicaId> = m.replicas.ids().collect();
        for rn in names {
            if in_progress >= parallel {
                break;
            }
            let Some(r) = self.masters.at(mid).and_then(|m| m.replicas.at(rn)) else {
                continue;
            };
            if r.promoted || r.reconf == Reconf::Done {
                continue;
            }
            let key = Inst::replica(mid, rn);
            if let Reconf::Sent(t) = r.reconf {
                if now.since(t) > reconf_timeout {
                    self.event(Level::Notice, "-slave-reconf-sent-timeout", key, "");
                    self.set_reconf(mid, rn, Reconf::Done);
                }
                continue;
            }
            if r.reconf == Reconf::InProg {
                continue;
            }
            let link = r.c.link;
            if self.links.get(&link).is_none_or(|l| l.disconnected()) {
                continue;
            }
            if self.send(
                link,
                Sent::Other,
                OutCommand::Reconfigure(Some(target.clone())),
            ) {
                self.set_reconf(mid, rn, Reconf::Sent(now));
                self.event(Level::Notice, "+slave-reconf-sent", key, "");
                in_progress += 1;
                self.send(link, Sent::Info(key), OutCommand::Info);
            }
        }
        self.check_failover_end(mid);
    }

    fn check_failover_end(&mut self, mid: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let Some(p) = m.promoted.and_then(|p| m.replicas.at(p)) else {
            return;
        };
        if p.c.s_down {
            return;
        }
        let target = (p.c.host.clone(), p.c.port);
        let not_done = m
            .replicas
            .values()
            .filter(|r| !r.promoted && r.reconf != Reconf::Done && !r.c.s_down)
            .count();
        let timed_out = now.since(m.failover_state_change_time) > m.cfg.failover_timeout_ms;
        if timed_out {
            self.event_master(Level::Warning, "+failover-end-for-timeout", mid, "");
            let names: Vec<(ReplicaId, LinkId, Reconf, bool)> = self
                .masters
                .at(mid)
                .map(|m| {
                    m.replicas
                        .iter_ids()
                        .map(|(n, r)| (n, r.c.link, r.reconf, r.promoted))
                        .collect()
                })
                .unwrap_or_default();
            for (rn, link, reconf, promoted) in names {
                if promoted || matches!(reconf, Reconf::Done | Reconf::Sent(_)) {
                    continue;
                }
                if self.send(
                    link,
                    Sent::Other,
                    OutCommand::Reconfigure(Some(target.clone())),
                ) {
                    self.set_reconf(mid, rn, Reconf::Sent(now));
                    self.event(
                        Level::Notice,
                        "+slave-reconf-sent-be",
                        Inst::replica(mid, rn),
                        "",
                    );
                }
            }
        }
        if not_done == 0 || timed_out {
            self.event_master(Level::Warning, "+failover-end", mid, "");
            self.set_state(mid, FailoverState::UpdateConfig);
        }
    }

    /// UPDATE_CONFIG: announce and switch to the promoted replica (reference §7.8, leader path).
    pub(crate) fn switch_to_promoted(&mut self, mid: MasterId) {
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let Some(p) = m.promoted.and_then(|p| m.replicas.at(p)) else {
            return;
        };
        let (nh, np) = (p.c.host.clone(), p.c.port);
        let (oh, op) = (m.c.host.clone(), m.c.port);
        let name = &m.cfg.name;
        let msg = format!("{name} {oh} {op} {nh} {np}");
        self.event_raw(Level::Warning, "+switch-master", mid, msg);
        self.reset_and_switch(mid, &nh, np);
    }

    /// Abort before promotion (reference §7.7).
    pub(crate) fn abort_failover(&mut self, mid: MasterId) {
        let now = self.now;
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        if m.failover_state > FailoverState::WaitPromotion {
            return;
        }
        m.failover_state = FailoverState::None;
        m.failover_state_change_time = now;
        m.force_failover = false;
        if let Some(rn) = m.promoted.take() {
            if let Some(r) = m.replicas.at_mut(rn) {
                r.promoted = false;
            }
        }
    }
}

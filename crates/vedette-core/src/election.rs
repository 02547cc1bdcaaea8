//! Leader election (reference §6): when an attempt may start (Redis's retry delay, vedette's ordered
//! start and fast retry), a new epoch and our self-vote, granting votes to others, and counting them.
//! Votes are made durable before anything reveals them (see `outbox`).

use crate::events::EventKind;
use crate::instance::table::MasterId;
use crate::instance::{Failover, FailoverState};
use crate::sentinel::{Mutation, Sentinel};
use crate::time::Instant;

/// vedette's ordered start: each sentinel that sees ODOWN waits this long per sentinel ranked before it
/// (live peers with a smaller run id), counted from when those peers report the master down, so the first
/// in line usually asks alone and split votes are rare.
const RANK_STEP_MS: u64 = 150;
/// Added to each rank step per master beyond the first that is ODOWN and waiting for an attempt here: in a storm the
/// sentinel ranked before us asks for all of them at once, and its vote requests (each after a durable
/// self-vote) and our answers take longer the more elections run together; a step that did not grow
/// would let the second in line start competing attempts, split the votes and cost a retry.
const RANK_STEP_PER_ELECTION_MS: u64 = 2;
/// The longest rank step, however many masters are down.
const RANK_STEP_MAX_MS: u64 = 2_000;
/// Jitter on top of the rank delay.
const RANK_JITTER_MS: u64 = 50;
/// How long after our ODOWN we wait for a peer ranked before us that does not report the master down (it
/// may see it a little later than we do; if it never does, we go ahead).
const RANK_PEER_WAIT_MS: u64 = 500;
/// At most this many fast retries (see [`Sentinel::fast_retry_allowed`]) per ODOWN; then Redis's
/// 2 × failover-timeout rule applies again.
const MAX_FAST_RETRIES: u32 = 3;

/// Votes in one epoch, per candidate (run ids compared case-insensitively): the pure half of the tally,
/// as raft-rs keeps its quorum arithmetic apart from the messages.
#[derive(Debug, Default, Clone)]
pub(crate) struct Votes(std::collections::BTreeMap<String, u32>);

impl Votes {
    pub(crate) fn add(&mut self, candidate: &str) {
        *self.0.entry(candidate.to_ascii_lowercase()).or_default() += 1;
    }

    /// The candidate with the most votes (ties: the smallest run id), and its count.
    pub(crate) fn leader(&self) -> Option<(&str, u32)> {
        self.0
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, v)| (k.as_str(), *v))
    }

    /// The leader, if it holds a majority of `voters` and at least `quorum` votes (reference §6.4).
    pub(crate) fn winner(&self, voters: u32, quorum: u32) -> Option<&str> {
        let (who, n) = self.leader()?;
        (n > voters / 2 && n >= quorum).then_some(who)
    }
}

/// See [`Sentinel::election_outlook`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Outlook {
    /// We cannot reach a majority in our epoch any more.
    pub(crate) lost: bool,
    /// Nobody can: every voter voted in it and no candidate holds enough votes.
    pub(crate) dead_for_all: bool,
}

impl Sentinel {
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
        let waiting = self.elections_waiting();
        if now < self.start_at(mid, jitter, waiting) {
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
    pub(crate) fn start_at(&self, mid: MasterId, jitter: u64, waiting: u64) -> Instant {
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
        // Each step also grows with the elections that run together (see [`RANK_STEP_PER_ELECTION_MS`]).
        let step = RANK_STEP_MS
            .max(self.slow_persist_ms.saturating_mul(2).saturating_add(50))
            .saturating_add(
                waiting
                    .saturating_sub(1)
                    .saturating_mul(RANK_STEP_PER_ELECTION_MS),
            )
            .min(RANK_STEP_MAX_MS);
        anchor.plus(rank.saturating_mul(step).saturating_add(jitter))
    }

    /// The masters that are ODOWN and have no attempt of ours running: the elections a sentinel ranked
    /// before us would be starting together. Counted once per instant (a storm visits every down master
    /// at each deadline, so a count per visit would be quadratic).
    pub(crate) fn elections_waiting(&mut self) -> u64 {
        if self.odown_waiting.0 != self.now {
            let n = self
                .masters
                .values()
                .filter(|m| m.o_down && !m.in_failover())
                .count() as u64;
            self.odown_waiting = (self.now, n);
        }
        self.odown_waiting.1
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
        m.failover = Some(Failover {
            epoch,
            forced,
            changed: now,
            state: FailoverState::WaitStart,
        });
        m.failover_start_time = Some(now.plus(jitter));
        m.start_jitter = None;
        self.emit(EventKind::NewEpoch(epoch), Some(mid));
        self.event_master(mid, EventKind::TryFailover);
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
        let above_floor = epoch > self.vote_floor || self.mutated(Mutation::NoVoteFloor);
        let jitter = self.rng.below(1000);
        let current = self.current_epoch;
        let myid = self.myid.clone();
        let mut voted = false;
        if let Some(m) = self.masters.at_mut(mid) {
            if (m.leader_epoch < epoch || (vote_twice && m.leader_epoch == epoch))
                && current <= epoch
                && above_floor
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
            self.emit(EventKind::NewEpoch(epoch), Some(mid));
        }
        if voted {
            let leader = candidate.to_string();
            let kind = EventKind::VoteForLeader {
                leader,
                epoch: current,
            };
            self.emit(kind, Some(mid));
        }
        self.masters
            .at(mid)
            .map_or((None, 0), |m| (m.leader.clone(), m.leader_epoch))
    }

    /// Count votes for our attempt (reference §6.4). Returns the winner, if any.
    pub(crate) fn tally(&mut self, mid: MasterId) -> Option<String> {
        let m = self.masters.at(mid)?;
        let voters = m.sentinels.len() as u32 + 1;
        let quorum = m.cfg.quorum;
        let failover_epoch = m.failover.map_or(0, |f| f.epoch);
        let mut votes = Votes::default();
        for p in m.sentinels.values() {
            if let Some(l) = &p.leader {
                if p.leader_epoch == failover_epoch {
                    votes.add(l);
                }
            }
        }
        // We vote for the peers' favourite, or ourselves (Redis's sentinelGetLeader).
        let candidate = votes
            .leader()
            .map_or_else(|| self.myid.clone(), |(k, _)| k.to_string());
        let (my_leader, my_epoch) = self.vote_leader(mid, failover_epoch, &candidate);
        if let Some(l) = my_leader {
            if my_epoch == failover_epoch {
                votes.add(&l);
            }
        }
        votes.winner(voters, quorum).map(str::to_string)
    }

    /// What the answers to our vote requests say about our attempt's epoch (vedette). A peer's answer to a
    /// request for epoch E is final for E: a vote in E never changes, a vote in a later epoch means it will
    /// never vote in E, and an older vote means its current epoch had passed E (it only grows), so it never
    /// will either.
    pub(crate) fn election_outlook(&self, mid: MasterId) -> Outlook {
        let Some(m) = self.masters.at(mid) else {
            return Outlook::default();
        };
        let Some(f) = m.failover else {
            return Outlook::default();
        };
        let e = f.epoch;
        if f.forced {
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
    pub(crate) fn first_of_known(&self, mid: MasterId) -> bool {
        let me = self.myid.to_ascii_lowercase();
        self.masters
            .at(mid)
            .is_some_and(|m| m.sentinels.keys().all(|id| id.to_ascii_lowercase() > me))
    }
}

#[cfg(test)]
mod tests {
    use super::Votes;

    #[test]
    fn a_winner_needs_a_majority_and_the_quorum() {
        let mut v = Votes::default();
        assert_eq!(v.winner(3, 2), None);
        v.add("AAA");
        assert_eq!(v.leader(), Some(("aaa", 1)));
        assert_eq!(v.winner(3, 1), None, "1 of 3 is no majority");
        v.add("aaa");
        assert_eq!(v.winner(3, 2), Some("aaa"));
        assert_eq!(v.winner(3, 3), None, "majority but below quorum");
        assert_eq!(v.winner(4, 2), None, "2 of 4 is no majority");
    }

    #[test]
    fn ties_go_to_the_smallest_run_id() {
        let mut v = Votes::default();
        v.add("bbb");
        v.add("aaa");
        assert_eq!(v.leader(), Some(("aaa", 1)));
        v.add("bbb");
        assert_eq!(v.leader(), Some(("bbb", 2)));
    }
}

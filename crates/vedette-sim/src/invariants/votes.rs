//! `one_vote_per_epoch`: for each (sentinel, master, epoch), every vote the sentinel ever sent names the
//! same leader — across crashes (sentinel.c `sentinelVoteLeader`; a restarted sentinel must abstain in an
//! epoch it already voted in, which is why `leader-epoch` is persisted before the reply).
//!
//! A vote is *revealed* when a peer can count it: in a reply to `is-master-down-by-addr`, or (a self-vote)
//! in our own vote request. A vote only announced in a `+vote-for-leader` event (which leaves at once,
//! before the vote is durable) binds the sentinel for the rest of that incarnation; a crash before it was
//! revealed forgets it, since no peer can have counted it and the disk may not have it.

use std::collections::BTreeMap;

use super::{violation, Check};

/// How a vote was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A `+vote-for-leader` event: announced, not yet revealed to any peer.
    Event,
    /// A reply to `is-master-down-by-addr`: a peer can count it.
    Reply,
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Via::Event => "+vote-for-leader",
            Via::Reply => "is-master-down-by-addr reply",
        })
    }
}

/// Votes seen so far.
#[derive(Debug, Default)]
pub struct Votes {
    /// (voter, master, epoch) -> (leader run id, revealed to a peer).
    cast: BTreeMap<(usize, usize, u64), (String, bool)>,
    /// (candidate id, master, epoch) -> voters whose vote for it reached it.
    received: BTreeMap<(String, usize, u64), Vec<usize>>,
}

impl Votes {
    /// A vote was announced or revealed to a peer.
    pub fn cast(
        &mut self,
        t: u64,
        voter: usize,
        master: usize,
        epoch: u64,
        leader: &str,
        via: Via,
    ) -> Check {
        let revealed = via == Via::Reply;
        let key = (voter, master, epoch);
        match self.cast.get_mut(&key) {
            Some((prev, _)) if !prev.eq_ignore_ascii_case(leader) => Err(violation(
                "one_vote_per_epoch",
                t,
                format!(
                    "S{voter} voted for {prev} and then for {leader} (via {via}) for master m{master} in epoch {epoch}"
                ),
            )),
            Some((_, r)) => {
                *r |= revealed;
                Ok(())
            }
            None => {
                self.cast.insert(key, (leader.to_string(), revealed));
                Ok(())
            }
        }
    }

    /// `voter` asked for votes in `epoch`: that reveals its self-vote in that epoch, if it cast one.
    /// Returns whether it had.
    pub fn reveal_self_vote(
        &mut self,
        voter: usize,
        master: usize,
        epoch: u64,
        myid: &str,
    ) -> bool {
        match self.cast.get_mut(&(voter, master, epoch)) {
            Some((l, r)) if l.eq_ignore_ascii_case(myid) => {
                *r = true;
                true
            }
            _ => false,
        }
    }

    /// `node` restarted: votes it only announced are forgotten (see the module doc).
    pub fn restarted(&mut self, node: usize) {
        self.cast
            .retain(|(v, _, _), (_, revealed)| *v != node || *revealed);
    }

    /// A vote of `voter` for `candidate` arrived at the candidate.
    pub fn received(&mut self, candidate: &str, master: usize, epoch: u64, voter: usize) {
        let v = self
            .received
            .entry((candidate.to_ascii_lowercase(), master, epoch))
            .or_default();
        if !v.contains(&voter) {
            v.push(voter);
        }
    }

    /// Distinct voters (other than the candidate) whose vote for `candidate` reached it.
    pub fn received_by(&self, candidate: &str, master: usize, epoch: u64) -> &[usize] {
        self.received
            .get(&(candidate.to_ascii_lowercase(), master, epoch))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The vote `voter` cast in (master, epoch), if any.
    pub fn vote_of(&self, voter: usize, master: usize, epoch: u64) -> Option<&str> {
        self.cast
            .get(&(voter, master, epoch))
            .map(|(l, _)| l.as_str())
    }

    /// Number of (voter, master, epoch) votes recorded.
    pub fn len(&self) -> usize {
        self.cast.len()
    }

    /// Whether none were recorded.
    pub fn is_empty(&self) -> bool {
        self.cast.is_empty()
    }
}

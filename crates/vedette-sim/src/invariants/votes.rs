//! `one_vote_per_epoch`: for each (sentinel, master, epoch), every vote the sentinel ever sent names the
//! same leader — across crashes (sentinel.c `sentinelVoteLeader`; a restarted sentinel must abstain in an
//! epoch it already voted in, which is why `leader-epoch` is persisted before the reply).

use std::collections::BTreeMap;

use super::{violation, Check};

/// Votes seen so far.
#[derive(Debug, Default)]
pub struct Votes {
    /// (voter, master, epoch) -> leader run id.
    cast: BTreeMap<(usize, usize, u64), String>,
    /// (candidate id, master, epoch) -> voters whose vote for it reached it.
    received: BTreeMap<(String, usize, u64), Vec<usize>>,
}

impl Votes {
    /// A vote left `voter`'s process.
    pub fn cast(
        &mut self,
        t: u64,
        voter: usize,
        master: usize,
        epoch: u64,
        leader: &str,
        via: &str,
    ) -> Check {
        let key = (voter, master, epoch);
        match self.cast.get(&key) {
            Some(prev) if !prev.eq_ignore_ascii_case(leader) => Err(violation(
                "one_vote_per_epoch",
                t,
                format!(
                    "S{voter} voted for {prev} and then for {leader} (via {via}) for master m{master} in epoch {epoch}"
                ),
            )),
            Some(_) => Ok(()),
            None => {
                self.cast.insert(key, leader.to_string());
                Ok(())
            }
        }
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
        self.cast.get(&(voter, master, epoch)).map(String::as_str)
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

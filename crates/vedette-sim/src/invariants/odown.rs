//! `odown_needs_quorum`: a sentinel enters ODOWN for a master address only when, besides itself, at least
//! `quorum - 1` peers told it — recently, in replies it actually received — that *this address* is down
//! (reference §5.3/§5.4: replies are valid for 5 × ask-period; vedette: a reply about the old address never
//! counts after a switch). Breaking it means a healthy master can be failed over on stale evidence.

use std::collections::BTreeMap;

use super::{violation, Check};

/// Down-replies received.
#[derive(Debug, Default)]
pub struct Odown {
    /// (asker, master port, voter) -> global time the `down = 1` reply reached the asker.
    received: BTreeMap<(usize, u16, usize), u64>,
}

impl Odown {
    /// A reply saying `port` is down (or not) from `voter` reached `asker`. Only the last `down = 1` is
    /// kept: the core may have decided before a later `0` arrived (its event can be released later, behind
    /// a persist), so a later `0` does not erase the evidence.
    pub fn reply(&mut self, t: u64, asker: usize, port: u16, voter: usize, down: bool) {
        if down {
            self.received.insert((asker, port, voter), t);
        }
    }

    /// `+odown` from `node` about `port`; replies older than `window` ms do not count.
    /// `since` is the earliest moment the decision can have been taken (outputs held behind a persist are
    /// released late): evidence received from `since - window` on counts.
    pub fn odown(
        &self,
        t: u64,
        since: u64,
        node: usize,
        port: u16,
        quorum: u32,
        window: u64,
    ) -> Check {
        let from = since.min(t).saturating_sub(window);
        let peers = self
            .received
            .range((node, port, 0)..=(node, port, usize::MAX))
            .filter(|(_, &at)| at >= from && at <= t)
            .count();
        if (peers as u32) + 1 < quorum {
            return Err(violation(
                "odown_needs_quorum",
                t,
                format!(
                    "S{node} entered ODOWN for :{port} with {} recent down-replies about that address (quorum {quorum})",
                    peers
                ),
            ));
        }
        Ok(())
    }
}

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
    /// A reply saying `port` is down (or not) from `voter` reached `asker`.
    pub fn reply(&mut self, t: u64, asker: usize, port: u16, voter: usize, down: bool) {
        if down {
            self.received.insert((asker, port, voter), t);
        } else {
            self.received.remove(&(asker, port, voter));
        }
    }

    /// `+odown` from `node` about `port`; replies older than `window` ms do not count.
    pub fn odown(&self, t: u64, node: usize, port: u16, quorum: u32, window: u64) -> Check {
        let peers = self
            .received
            .range((node, port, 0)..=(node, port, usize::MAX))
            .filter(|(_, &at)| t.saturating_sub(at) <= window)
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

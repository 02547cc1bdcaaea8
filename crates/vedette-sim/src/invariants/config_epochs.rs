//! `config_epoch_agreement`: no two sentinels ever associate the same config epoch of a master with two
//! addresses, and a sentinel moves a master to another address only with a strictly higher config epoch
//! (hello processing, reference §2.5 step 5: "the highest config epoch wins").

use std::collections::BTreeMap;

use super::{violation, Check};

/// What hellos said.
#[derive(Debug, Default)]
pub struct ConfigEpochs {
    /// (master, config epoch) -> (port, first sender).
    by_epoch: BTreeMap<(usize, u64), (u16, usize)>,
    /// (node, master) -> last (port, config epoch) it published.
    last: BTreeMap<(usize, usize), (u16, u64)>,
}

impl ConfigEpochs {
    /// `node` published a hello saying master `master` is at `port` with `cfg` config epoch.
    pub fn hello(
        &mut self,
        t: u64,
        node: usize,
        master: usize,
        port: u16,
        cfg: u64,
    ) -> (Check, Check) {
        let agree = match self.by_epoch.get(&(master, cfg)) {
            Some(&(p, first)) if p != port => Err(violation(
                "config_epoch_agreement",
                t,
                format!("m{master} config epoch {cfg}: S{first} announced port {p}, S{node} announces port {port}"),
            )),
            Some(_) => Ok(()),
            None => {
                self.by_epoch.insert((master, cfg), (port, node));
                Ok(())
            }
        };
        let forward = match self.last.get(&(node, master)) {
            Some(&(p, c)) if p != port && cfg <= c => Err(violation(
                "config_epoch_agreement",
                t,
                format!("S{node} moved m{master} from :{p} (config epoch {c}) to :{port} with config epoch {cfg}"),
            )),
            _ => Ok(()),
        };
        self.last.insert((node, master), (port, cfg));
        (agree, forward)
    }
}

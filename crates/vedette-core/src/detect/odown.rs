//! Objective down (reference §5.3–§5.4): ask the other sentinels whether a master we find down is down
//! for them too, count their answers (only those about the address we asked about), and call ODOWN at
//! quorum.

use crate::events::EventKind;
use crate::instance::table::MasterId;
use crate::instance::{same_host, Sent};
use crate::io::{LinkId, OutCommand};
use crate::sentinel::{Mutation, Sentinel};

/// vedette asks peers this often while the master is S_DOWN (Redis: ask-period, 1 s).
const FAST_ASK_MS: u64 = 100;
/// During the first down-after of our SDOWN, a peer whose last answer was "not down" is asked again after
/// this long instead.
const REASK_NOT_DOWN_MS: u64 = 25;
/// At most this many periodic asks per second to each peer, counted over every master in SDOWN: the fast
/// periods above cost one command per master per period, so a storm of 1000 masters would send each peer
/// 10,000–40,000 asks a second, which it must answer in order ahead of our PINGs. Past the budget the
/// period grows towards Redis's ask-period (1 s); the asks at SDOWN and at the start of an attempt are
/// never deferred.
const ASK_BUDGET_PER_SEC: u64 = 1000;

impl Sentinel {
    /// Ask every connected peer whether `master` is down (reference §5.3). `forced` ignores the period.
    pub(crate) fn ask_peers(&mut self, mid: MasterId, forced: bool) {
        let now = self.now;
        let ask_period = self.t.ask_period.min(FAST_ASK_MS);
        let budget_floor = self
            .masters_asking()
            .saturating_mul(1000)
            .checked_div(ASK_BUDGET_PER_SEC)
            .unwrap_or(0)
            .min(self.t.ask_period);
        let stale_after = self.t.ask_period.saturating_mul(5);
        let vote_durable = self.vote_durable();
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
                m.failover.map_or(0, |f| f.epoch)
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
            }
            .max(budget_floor);
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

    /// The masters in SDOWN, the ones we ask about periodically: counted once per instant (a storm asks
    /// about every down master at each deadline, so a count per ask would be quadratic).
    pub(crate) fn masters_asking(&mut self) -> u64 {
        if self.sdown_asking.0 != self.now {
            let n = self.masters.values().filter(|m| m.c.s_down).count() as u64;
            self.sdown_asking = (self.now, n);
        }
        self.sdown_asking.1
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
            self.event_master(mid, |master| EventKind::Odown {
                master,
                count,
                quorum: q,
            });
        } else if !odown && m.o_down {
            m.o_down = false;
            m.start_jitter = None;
            m.fast_retry = None;
            m.fast_retries = 0;
            self.event_master(mid, EventKind::OdownCleared);
        }
    }
}

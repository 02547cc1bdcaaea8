//! Hellos (reference §2.5): other sentinels discovered, moved or forgotten from their hello messages, and
//! newer epochs and configurations learnt from them (a higher config epoch for another address switches
//! the master).

use crate::events::EventKind;
use crate::instance::table::{MasterId, PeerId};
use crate::instance::{same_host, Inst, Known};
use crate::sentinel::Sentinel;
use crate::wire::hello::Hello;

impl Sentinel {
    /// A hello, from an instance's pub/sub link (`via_instance`) or a PUBLISH to our port (reference §2.5).
    pub(crate) fn on_hello(&mut self, payload: &[u8], via_instance: bool) {
        let now = self.now;
        // Our own hellos come back on every instance's channel: drop them before parsing (Redis: substring
        // test for our run id).
        if via_instance
            && payload
                .windows(self.myid.len().max(1))
                .any(|w| w == self.myid.as_bytes())
        {
            return;
        }
        let h = match Hello::parse(payload)
            .and_then(|h| h.check_addresses(self.global.resolve_hostnames).map(|()| h))
        {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(error = %e, "ignoring malformed hello");
                return;
            }
        };
        if via_instance && h.runid.eq_ignore_ascii_case(&self.myid) {
            return;
        }
        if via_instance && std::str::from_utf8(payload).is_ok_and(|p| p.contains(&self.myid)) {
            return;
        }
        if h.runid.eq_ignore_ascii_case(&self.myid) {
            // Someone claims our id: two sentinels with one id can never see each other; ignore it.
            return;
        }
        let Some(mid) = self.masters.id(&h.master_name) else {
            return;
        };
        let Some(m) = self.masters.at(mid) else {
            return;
        };
        let found = m
            .sentinels
            .get(&h.runid)
            .is_some_and(|p| p.c.port == h.port && same_host(&p.c.host, &h.ip));
        if !found {
            let mut address_switch = false;
            if let Some(old) = self
                .masters
                .at_mut(mid)
                .and_then(|m| m.sentinels.remove(&h.runid))
            {
                self.release_link(old.c.link);
                address_switch = true;
                let (ip, port, runid) = (h.ip.clone(), h.port, h.runid.clone());
                self.event_master(mid, |master| EventKind::SentinelAddressSwitch {
                    master,
                    ip,
                    port,
                    runid,
                });
            } else {
                let stale: Option<(PeerId, String)> = self.masters.at(mid).and_then(|m| {
                    m.sentinels
                        .iter_ids()
                        .find(|(_, p)| p.c.port == h.port && same_host(&p.c.host, &h.ip))
                        .and_then(|(id, _)| Some((id, m.sentinels.name_of(id)?.to_string())))
                });
                if let Some((old, old_id)) = stale {
                    self.event(Inst::peer(mid, old), EventKind::SentinelInvalidAddr);
                    self.remove_sentinel_everywhere(&old_id);
                }
            }
            if !address_switch && !self.room_for(mid, Known::Sentinel) {
                return;
            }
            let down_after = self.masters.at(mid).map_or(30_000, |m| m.cfg.down_after_ms);
            let link = self.sentinel_link(&h.runid, &h.ip, h.port, now);
            let peer = self.make_peer(&h.runid, &h.ip, h.port, link, down_after, now);
            let pid = self
                .masters
                .at_mut(mid)
                .map(|m| m.sentinels.insert(h.runid.clone(), peer));
            if !address_switch {
                if let Some(pid) = pid {
                    self.event(Inst::peer(mid, pid), EventKind::Sentinel);
                }
            } else {
                self.update_sentinel_address_elsewhere(mid, &h);
            }
            self.flush();
        }
        if h.current_epoch > self.current_epoch {
            self.current_epoch = h.current_epoch;
            self.flush();
            self.emit(EventKind::NewEpoch(h.current_epoch), Some(mid));
        }
        let Some(m) = self.masters.at_mut(mid) else {
            return;
        };
        let pid = m.sentinels.id(&h.runid);
        if let Some(p) = pid.and_then(|pid| m.sentinels.at_mut(pid)) {
            p.last_hello_time = now;
            p.last_hello_at = Some(now);
            p.hello_view = Some((h.master_ip.clone(), h.master_port, h.master_config_epoch));
        }
        if m.config_epoch < h.master_config_epoch {
            m.config_epoch = h.master_config_epoch;
            // A config epoch is the epoch of some failover, so our current epoch is at least that: keep
            // the invariant the config loader restores anyway (it raises current-epoch to every config-epoch).
            if self.current_epoch < h.master_config_epoch {
                self.current_epoch = h.master_config_epoch;
                self.flush();
            }
            let Some(m) = self.masters.at_mut(mid) else {
                return;
            };
            // Compare with the address we currently advertise (the promoted replica once our own failover
            // reached RECONF_SLAVES), so a higher epoch for another address always wins and one config
            // epoch never names two addresses.
            let (cur_host, cur_port) = m.current_addr();
            let differs = h.master_port != cur_port || !same_host(&h.master_ip, &cur_host);
            if differs {
                let (old_host, old_port) = (m.c.host.clone(), m.c.port);
                let name = m.cfg.name.clone();
                if let Some(pid) = pid {
                    self.event(Inst::peer(mid, pid), EventKind::ConfigUpdateFrom);
                }
                let kind = EventKind::SwitchMaster {
                    name,
                    old: (old_host.clone(), old_port),
                    new: (h.master_ip.clone(), h.master_port),
                };
                self.emit(kind, Some(mid));
                self.reset_and_switch(mid, &h.master_ip, h.master_port);
                self.client_reconfig(
                    mid,
                    "observer",
                    (&old_host, old_port),
                    (&h.master_ip, h.master_port),
                );
            }
        }
    }

    /// Whether `master` may learn one more sentinel or replica (`sentinel max-known-sentinels` /
    /// `max-known-replicas`). When full, the first refusal emits `-max-sentinels-reached` /
    /// `-max-replicas-reached` (once until the table has room again, e.g. after SENTINEL RESET), so a
    /// flood of forged hellos or a huge INFO cannot grow links, dials and rewrites without bound.
    pub(crate) fn room_for(&mut self, master: MasterId, kind: Known) -> bool {
        let cap = match kind {
            Known::Sentinel => self.global.max_known_sentinels,
            Known::Replica => self.global.max_known_replicas,
        };
        let Some(m) = self.masters.at_mut(master) else {
            return false;
        };
        let (len, warned) = match kind {
            Known::Sentinel => (m.sentinels.len(), &mut m.sentinels_full),
            Known::Replica => (m.replicas.len(), &mut m.replicas_full),
        };
        if len < cap as usize {
            *warned = false;
            return true;
        }
        if !std::mem::replace(warned, true) {
            self.event_master(master, |master| match kind {
                Known::Sentinel => EventKind::MaxSentinelsReached { master, limit: cap },
                Known::Replica => EventKind::MaxReplicasReached { master, limit: cap },
            });
        }
        false
    }

    pub(crate) fn remove_sentinel_everywhere(&mut self, runid: &str) {
        let mut links = Vec::new();
        let masters: Vec<MasterId> = self.masters.ids().collect();
        for mid in masters {
            if let Some(p) = self
                .masters
                .at_mut(mid)
                .and_then(|m| m.sentinels.remove(runid))
            {
                links.push(p.c.link);
            }
        }
        for l in links {
            self.release_link(l);
        }
    }

    /// A peer moved: point its objects under other masters at the new address too.
    pub(crate) fn update_sentinel_address_elsewhere(&mut self, origin: MasterId, h: &Hello) {
        let now = self.now;
        let others: Vec<MasterId> = self
            .masters
            .iter_ids()
            .filter(|(n, m)| {
                *n != origin
                    && m.sentinels
                        .get(&h.runid)
                        .is_some_and(|p| p.c.port != h.port || !same_host(&p.c.host, &h.ip))
            })
            .map(|(n, _)| n)
            .collect();
        // The new address's link, created under `origin`: every other master shares it (looked up once;
        // `sentinel_link` per master would rescan all masters each time, O(masters²) for a peer known under
        // all of them).
        let shared = self
            .masters
            .at(origin)
            .and_then(|m| m.sentinels.get(&h.runid))
            .map(|p| p.c.link);
        for &n in &others {
            let old_link = self
                .masters
                .at_mut(n)
                .and_then(|m| m.sentinels.remove(&h.runid))
                .map(|p| p.c.link);
            if let Some(l) = old_link {
                self.release_link(l);
            }
            let down_after = self.masters.at(n).map_or(30_000, |m| m.cfg.down_after_ms);
            let link = match shared.and_then(|l| self.links.get_mut(&l).map(|link| (l, link))) {
                Some((l, link)) => {
                    link.refcount += 1;
                    l
                }
                None => self.sentinel_link(&h.runid, &h.ip, h.port, now),
            };
            let peer = self.make_peer(&h.runid, &h.ip, h.port, link, down_after, now);
            if let Some(m) = self.masters.at_mut(n) {
                m.sentinels.insert(h.runid.clone(), peer);
            }
        }
        let pid = self
            .masters
            .at(origin)
            .and_then(|m| m.sentinels.id(&h.runid));
        if let (false, Some(pid)) = (others.is_empty(), pid) {
            let others = others.len();
            self.event(Inst::peer(origin, pid), |sentinel| {
                EventKind::SentinelAddressUpdate { sentinel, others }
            });
        }
    }
}

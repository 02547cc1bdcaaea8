//! Subjective down (reference §5.1–§5.2): an instance that has not answered a PING within down-after,
//! or a master that reports itself a replica for too long or rebooted, is SDOWN; links that look stuck
//! are recycled.

use crate::events::EventKind;
use crate::instance::{Inst, Who};
use crate::sentinel::Sentinel;
use crate::wire::info::Role;

impl Sentinel {
    pub(crate) fn sdown_check(&mut self, key: Inst) {
        let now = self.now;
        let Some(link) = self.common(key).map(|c| c.link) else {
            return;
        };
        let Some(l) = self.links.get(&link) else {
            return;
        };
        let Some(c) = self.common(key) else {
            return;
        };
        let down_after = c.down_after;
        let elapsed = match l.act_ping_time {
            Some(a) => now.since(a),
            None if l.disconnected() => {
                now.since(l.avail_mark(crate::monitor::fast_ping_interval(down_after)))
            }
            None => 0,
        };
        let recycle_cmd = !l.disconnected()
            && now.since(l.cc_conn_time) > self.t.min_link_reconnect_period
            && l.act_ping_time
                .is_some_and(|a| now.since(a) > down_after / 2)
            && now.since(l.last_pong_time) > down_after / 2;
        let recycle_pubsub = !l.disconnected()
            && !matches!(key.who, Who::Peer(_))
            && now.since(l.cc_conn_time) > self.t.min_link_reconnect_period
            && now.since(l.pc_last_activity) > self.t.publish_period.saturating_mul(3);
        if recycle_cmd || recycle_pubsub {
            self.drop_connection(link);
        }
        let mut down = elapsed > down_after;
        if key.who == Who::Master {
            if let Some(m) = self.masters.at(key.master) {
                if m.info.role_reported == Role::Slave
                    && now.since(m.info.role_reported_time)
                        > down_after.saturating_add(self.t.info_period.saturating_mul(2))
                {
                    down = true;
                }
                if m.master_reboot
                    && now.since(m.master_reboot_since) > m.cfg.master_reboot_down_after_period_ms
                {
                    down = true;
                }
            }
        }
        let was = self.common(key).is_some_and(|c| c.s_down);
        if down && !was {
            if let Some(c) = self.common_mut(key) {
                c.s_down = true;
                c.s_down_since = Some(now);
            }
            self.event(key, EventKind::Sdown);
            if key.who == Who::Master {
                // vedette: ask the peers at once and refresh replica INFO now, not on the next 1 s cycle.
                self.ask_peers(key.master, true);
                self.refresh_replicas(key.master);
            }
        } else if !down && was {
            if let Some(c) = self.common_mut(key) {
                c.s_down = false;
                c.script_kill_sent = false;
            }
            self.event(key, EventKind::SdownCleared);
        }
    }
}

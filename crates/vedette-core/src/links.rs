//! Links as instances share them: one per peer sentinel (by run id, across masters) and one per Redis
//! server address and dial parameters (across the names monitoring it); the last reference closes it.

use crate::instance::table::MasterId;
use crate::instance::{Link, LinkKey};
use crate::io::{LinkId, Output};
use crate::sentinel::Sentinel;
use crate::time::Instant;

impl Sentinel {
    pub(crate) fn new_link(&mut self, host: &str, port: u16, now: Instant) -> LinkId {
        let id = LinkId(self.next_link);
        self.next_link += 1;
        self.links.insert(id, Link::new(host, port, now));
        id
    }

    /// Drop one reference to a link; the last one closes it.
    pub(crate) fn release_link(&mut self, id: LinkId) {
        let gone = match self.links.get_mut(&id) {
            Some(l) => {
                l.refcount = l.refcount.saturating_sub(1);
                l.refcount == 0
            }
            None => false,
        };
        if gone {
            if let Some(key) = self.links.remove(&id).and_then(|l| l.key) {
                if self.shared_links.get(&key) == Some(&id) {
                    self.shared_links.remove(&key);
                }
            }
            self.out.push(Output::Close { link: id });
        }
    }

    /// The link for a master or replica instance dialled as `key`: the existing one (one more
    /// reference), else a new one. The caller records the instance's master with
    /// [`Sentinel::add_link_user`] once it has an id.
    pub(crate) fn shared_link(
        &mut self,
        key: LinkKey,
        host: &str,
        port: u16,
        now: Instant,
    ) -> LinkId {
        if let Some(&id) = self.shared_links.get(&key) {
            if let Some(l) = self.links.get_mut(&id) {
                l.refcount += 1;
                return id;
            }
        }
        let id = self.new_link(host, port, now);
        if let Some(l) = self.links.get_mut(&id) {
            l.key = Some(key.clone());
        }
        self.shared_links.insert(key, id);
        id
    }

    /// Note that an instance of `mid` uses master/replica link `link` (see `Link::users`).
    pub(crate) fn add_link_user(&mut self, link: LinkId, mid: MasterId) {
        if let Some(l) = self.links.get_mut(&link) {
            *l.users.entry(mid).or_default() += 1;
        }
    }

    /// An instance of `mid` stops using master/replica link `link`: one reference dropped, the last
    /// one closes it.
    pub(crate) fn release_instance_link(&mut self, link: LinkId, mid: MasterId) {
        if let Some(l) = self.links.get_mut(&link) {
            if let Some(n) = l.users.get_mut(&mid) {
                *n -= 1;
                if *n == 0 {
                    l.users.remove(&mid);
                }
            }
        }
        self.release_link(link);
    }

    /// The key a master or replica of `mid` at `host:port` is dialled with.
    pub(crate) fn link_key(&self, mid: MasterId, host: &str, port: u16) -> Option<LinkKey> {
        self.masters
            .at(mid)
            .map(|m| LinkKey::new(&m.cfg, host, port))
    }

    /// A sentinel link for `runid` at `host:port`: shared with the same peer under other masters.
    pub(crate) fn sentinel_link(
        &mut self,
        runid: &str,
        host: &str,
        port: u16,
        now: Instant,
    ) -> LinkId {
        for m in self.masters.values() {
            if let Some(p) = m.sentinels.get(runid) {
                if crate::instance::same_host(&p.c.host, host) && p.c.port == port {
                    let id = p.c.link;
                    if let Some(l) = self.links.get_mut(&id) {
                        l.refcount += 1;
                        return id;
                    }
                }
            }
        }
        self.new_link(host, port, now)
    }
}

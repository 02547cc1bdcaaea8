//! Tables of instances: a slab indexed by a small `Copy` id, plus a name index used only where names
//! enter (commands, hellos, INFO) and where Redis's output is ordered by name.
//!
//! Why: the tick, replies and timers refer to an instance thousands of times a second. With the instance
//! found by its name (a 40-character master name, an `ip:port`, a run id) every reference was a string
//! comparison walk through a B-tree, and every tick cloned the names of everything it visited. An id is
//! two integers: looking it up is an index and a generation check. The generation makes an id taken
//! before a removal (e.g. in a command still waiting for its reply) miss instead of naming whatever
//! reuses the slot.

use std::collections::BTreeMap;
use std::marker::PhantomData;

/// A slot index and the generation it was issued in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Id {
    idx: u32,
    gen: u32,
}

/// A typed id for one kind of table.
pub(crate) trait Key: Copy + Eq + Ord + std::fmt::Debug {
    fn from_id(id: Id) -> Self;
    fn id(self) -> Id;
}

macro_rules! key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) struct $name(Id);
        impl Key for $name {
            fn from_id(id: Id) -> Self {
                $name(id)
            }
            fn id(self) -> Id {
                self.0
            }
        }
    };
}

key!(
    /// A monitored master.
    MasterId
);
key!(
    /// A replica, within its master's table.
    ReplicaId
);
key!(
    /// A peer sentinel, within one master's table.
    PeerId
);

#[derive(Debug, Clone)]
struct Slot<T> {
    gen: u32,
    val: Option<(String, T)>,
}

/// Values by id, and their ids by name.
#[derive(Debug, Clone)]
pub(crate) struct Table<K, T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    names: BTreeMap<String, K>,
    /// Ids in name order as of the last [`Table::sync_order`]: a snapshot the tick walks by index.
    order: Vec<K>,
    dirty: bool,
    /// With [`Table::track_changes`]: ids handed out mutably since the last [`Table::take_touched`]
    /// (each once), so the owner can recompute what depends on them (the masters' timers).
    track: bool,
    touched: Vec<K>,
    touched_slot: Vec<bool>,
    _k: PhantomData<K>,
}

impl<K: Key, T> Default for Table<K, T> {
    fn default() -> Self {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            names: BTreeMap::new(),
            order: Vec::new(),
            dirty: false,
            track: false,
            touched: Vec::new(),
            touched_slot: Vec::new(),
            _k: PhantomData,
        }
    }
}

impl<K: Key, T> Table<K, T> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Record the ids of values changed from now on (see [`Table::take_touched`]).
    pub(crate) fn track_changes(&mut self) {
        self.track = true;
    }

    /// Note that the value `k` changed (or may have).
    pub(crate) fn touch(&mut self, k: K) {
        if !self.track {
            return;
        }
        let i = k.id().idx as usize;
        if self.touched_slot.len() <= i {
            self.touched_slot.resize(i + 1, false);
        }
        if !std::mem::replace(&mut self.touched_slot[i], true) {
            self.touched.push(k);
        }
    }

    /// Note that every value may have changed.
    pub(crate) fn touch_all(&mut self) {
        if !self.track {
            return;
        }
        let all: Vec<K> = self.names.values().copied().collect();
        for k in all {
            self.touch(k);
        }
    }

    /// Move the touched ids into `out` (cleared first) and forget them.
    pub(crate) fn take_touched(&mut self, out: &mut Vec<K>) {
        out.clear();
        for k in self.touched.drain(..) {
            if let Some(f) = self.touched_slot.get_mut(k.id().idx as usize) {
                *f = false;
            }
            out.push(k);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Add `val` under `name`, replacing (and dropping) a value of that name. Returns its id.
    pub(crate) fn insert(&mut self, name: String, val: T) -> K {
        self.remove(&name);
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot { gen: 0, val: None });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[idx as usize];
        slot.val = Some((name.clone(), val));
        let k = K::from_id(Id { idx, gen: slot.gen });
        self.names.insert(name, k);
        self.dirty = true;
        self.touch(k);
        k
    }

    fn slot(&self, k: K) -> Option<&(String, T)> {
        let id = k.id();
        let s = self.slots.get(id.idx as usize)?;
        if s.gen != id.gen {
            return None;
        }
        s.val.as_ref()
    }

    /// The value with id `k`, unless it was removed.
    pub(crate) fn at(&self, k: K) -> Option<&T> {
        self.slot(k).map(|(_, v)| v)
    }

    pub(crate) fn at_mut(&mut self, k: K) -> Option<&mut T> {
        self.touch(k);
        self.at_mut_untracked(k)
    }

    /// [`Table::at_mut`] without marking `k` touched: for bookkeeping that changes nothing the
    /// touched ids stand for.
    pub(crate) fn at_mut_untracked(&mut self, k: K) -> Option<&mut T> {
        let id = k.id();
        let s = self.slots.get_mut(id.idx as usize)?;
        if s.gen != id.gen {
            return None;
        }
        s.val.as_mut().map(|(_, v)| v)
    }

    /// The name `k` was inserted under.
    pub(crate) fn name_of(&self, k: K) -> Option<&str> {
        self.slot(k).map(|(n, _)| n.as_str())
    }

    /// The id of `name`.
    pub(crate) fn id(&self, name: &str) -> Option<K> {
        self.names.get(name).copied()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&T> {
        self.at(self.id(name)?)
    }

    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<T> {
        let k = self.names.remove(name)?;
        self.remove_slot(k)
    }

    /// Remove by id.
    pub(crate) fn remove_at(&mut self, k: K) -> Option<T> {
        let name = self.name_of(k)?.to_string();
        self.names.remove(&name);
        self.remove_slot(k)
    }

    fn remove_slot(&mut self, k: K) -> Option<T> {
        let id = k.id();
        let s = self.slots.get_mut(id.idx as usize)?;
        if s.gen != id.gen {
            return None;
        }
        let v = s.val.take().map(|(_, v)| v);
        self.dirty = true;
        s.gen = s.gen.wrapping_add(1);
        self.free.push(id.idx);
        v
    }

    pub(crate) fn clear(&mut self) {
        let ks: Vec<K> = self.names.values().copied().collect();
        for k in ks {
            self.remove_slot(k);
        }
        self.names.clear();
    }

    /// Names, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> + '_ {
        self.names.keys()
    }

    /// Ids, in name order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = K> + '_ {
        self.names.values().copied()
    }

    /// (name, value), in name order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &T)> + '_ {
        self.names
            .iter()
            .filter_map(|(n, k)| Some((n, self.at(*k)?)))
    }

    /// (id, value), in name order.
    pub(crate) fn iter_ids(&self) -> impl Iterator<Item = (K, &T)> + '_ {
        self.names.values().filter_map(|k| Some((*k, self.at(*k)?)))
    }

    /// Values, in name order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> + '_ {
        self.names.values().filter_map(|k| self.at(*k))
    }

    /// Values in slot order (not name order): for changes whose order nobody can observe.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.touch_all();
        self.slots
            .iter_mut()
            .filter_map(|s| s.val.as_mut().map(|(_, v)| v))
    }

    /// Bring the name-order snapshot up to date (no allocation unless the table grew) and return its
    /// length. Walking it by index with [`Table::ordered`] visits everything in name order while the
    /// table may change: ids removed since are stale and miss, values added since wait for the next walk.
    pub(crate) fn sync_order(&mut self) -> usize {
        if self.dirty {
            self.order.clear();
            self.order.extend(self.names.values().copied());
            self.dirty = false;
        }
        self.order.len()
    }

    /// The `i`-th id of the snapshot taken by [`Table::sync_order`].
    pub(crate) fn ordered(&self, i: usize) -> Option<K> {
        self.order.get(i).copied()
    }
}

impl<K: Key, T> std::ops::Index<&str> for Table<K, T> {
    type Output = T;
    fn index(&self, name: &str) -> &T {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no entry named {name}"),
        }
    }
}

impl<K: Key, T> std::ops::Index<K> for Table<K, T> {
    type Output = T;
    fn index(&self, k: K) -> &T {
        match self.at(k) {
            Some(v) => v,
            None => panic!("stale id {k:?}"),
        }
    }
}

//! The registry of connected clients (CLIENT LIST / KILL / ID, `maxclients`, INFO) and server counters.
//!
//! Each session owns its connection; what other sessions may need to see or do to it lives in a
//! [`ClientEntry`] here: immutable identity, a small mutex-protected snapshot for CLIENT LIST, and a
//! cancellation token that CLIENT KILL (or SHUTDOWN) trips. Locks are std mutexes held for a few field
//! copies and never across an `.await`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::stop::{StopReason, StopSignal};

/// Server-wide counters for INFO `# Stats`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Accepted connections (including those refused by maxclients).
    pub connections_received: AtomicU64,
    /// Connections refused because of maxclients.
    pub rejected_connections: AtomicU64,
    /// Commands executed.
    pub commands_processed: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// Error replies sent.
    pub error_replies: AtomicU64,
    /// Failed AUTH attempts.
    pub auth_failures: AtomicU64,
    /// Socket reads.
    pub reads_processed: AtomicU64,
    /// Socket writes.
    pub writes_processed: AtomicU64,
    /// Clients closed for `client-query-buffer-limit`.
    pub query_buffer_limit_disconnections: AtomicU64,
    /// Clients closed for `client-output-buffer-limit` (or for lagging behind the event stream).
    pub output_buffer_limit_disconnections: AtomicU64,
}

impl Stats {
    /// Add `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
    /// Read a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// What CLIENT LIST shows about a client, updated by its session.
#[derive(Debug, Clone)]
pub struct ClientState {
    /// CLIENT SETNAME.
    pub name: Vec<u8>,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: Vec<u8>,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: Vec<u8>,
    /// Last command or reply activity.
    pub last_interaction: Instant,
    /// Full name of the last command (`client|list`), empty before the first one.
    pub last_cmd: String,
    /// Subscribed channels.
    pub sub: usize,
    /// Subscribed patterns.
    pub psub: usize,
    /// 2 or 3.
    pub resp: i64,
    /// Authenticated (or no password needed).
    pub authenticated: bool,
}

/// A connected client as seen by the others.
#[derive(Debug)]
pub struct ClientEntry {
    /// CLIENT ID (from 1, never reused).
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// Socket descriptor.
    pub fd: i64,
    /// Connection time.
    pub created: Instant,
    /// Tripped to close the connection (CLIENT KILL, shutdown).
    pub stop: StopSignal,
    state: Mutex<ClientState>,
}

impl ClientEntry {
    /// Lock the mutable part.
    pub fn state(&self) -> MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `normal` or `pubsub` (what CLIENT KILL/LIST TYPE filter on).
    pub fn kind(&self) -> ClientKind {
        let st = self.state();
        if st.sub + st.psub > 0 {
            ClientKind::PubSub
        } else {
            ClientKind::Normal
        }
    }

    /// One CLIENT LIST line (without the trailing newline), in Redis 7.2's field order.
    pub fn info_line(&self, now: Instant) -> String {
        let st = self.state().clone();
        let age = now.saturating_duration_since(self.created).as_secs();
        let idle = now.saturating_duration_since(st.last_interaction).as_secs();
        let flags = if st.sub + st.psub > 0 { "P" } else { "N" };
        let cmd = if st.last_cmd.is_empty() {
            "NULL"
        } else {
            st.last_cmd.as_str()
        };
        let mut s = String::with_capacity(320);
        let _ = write!(
            s,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 sub={} psub={} ssub=0 \
             multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 \
             tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&st.name),
            age,
            idle,
            flags,
            st.sub,
            st.psub,
            cmd,
            st.resp,
            String::from_utf8_lossy(&st.lib_name),
            String::from_utf8_lossy(&st.lib_ver),
        );
        s
    }
}

/// Client type for CLIENT KILL/LIST `TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Ordinary client.
    Normal,
    /// In subscribe mode.
    PubSub,
    /// `master` or `replica`/`slave`: valid names that never match a sentinel client.
    Replication,
}

impl ClientKind {
    /// Parse a `TYPE` argument as Redis's `getClientTypeByName`.
    pub fn parse(name: &[u8]) -> Option<ClientKind> {
        match name.to_ascii_lowercase().as_slice() {
            b"normal" => Some(ClientKind::Normal),
            b"pubsub" => Some(ClientKind::PubSub),
            b"slave" | b"replica" | b"master" => Some(ClientKind::Replication),
            _ => None,
        }
    }
}

/// All connected clients.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<ClientEntry>>>,
}

/// Removes a client from the registry when its session ends, however it ends.
#[derive(Debug)]
pub struct Registration {
    registry: Arc<ClientRegistry>,
    /// The registered client.
    pub entry: Arc<ClientEntry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.entry.id);
    }
}

impl ClientRegistry {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<ClientEntry>>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register a new client unless `maxclients` are already connected (checked and inserted under one
    /// lock, so concurrent accepts cannot overshoot).
    pub fn register(
        self: &Arc<Self>,
        maxclients: usize,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i64,
        authenticated: bool,
    ) -> Option<Registration> {
        let mut map = self.lock();
        if map.len() >= maxclients {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let entry = Arc::new(ClientEntry {
            id,
            addr,
            laddr,
            fd,
            created: now,
            stop: StopSignal::default(),
            state: Mutex::new(ClientState {
                name: Vec::new(),
                lib_name: Vec::new(),
                lib_ver: Vec::new(),
                last_interaction: now,
                last_cmd: String::new(),
                sub: 0,
                psub: 0,
                resp: 2,
                authenticated,
            }),
        });
        map.insert(id, entry.clone());
        Some(Registration {
            registry: self.clone(),
            entry,
        })
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Stop every registered session (server shutdown).
    pub fn stop_all(&self, why: StopReason) {
        for c in self.lock().values() {
            c.stop.stop(why);
        }
    }

    /// A snapshot of all clients, by id.
    pub fn snapshot(&self) -> Vec<Arc<ClientEntry>> {
        self.lock().values().cloned().collect()
    }

    /// Number of clients in subscribe mode.
    pub fn pubsub_clients(&self) -> usize {
        self.snapshot()
            .iter()
            .filter(|c| c.kind() == ClientKind::PubSub)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxclients_and_drop() {
        let reg = Arc::new(ClientRegistry::default());
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let r1 = reg.register(2, a, a, 5, true).unwrap();
        let r2 = reg.register(2, a, a, 6, true).unwrap();
        assert!(reg.register(2, a, a, 7, true).is_none());
        assert_eq!((r1.entry.id, r2.entry.id), (1, 2));
        drop(r1);
        assert_eq!(reg.len(), 1);
        let r3 = reg.register(2, a, a, 7, true).unwrap();
        assert_eq!(r3.entry.id, 3);
        let line = r3.entry.info_line(Instant::now());
        assert!(line.starts_with("id=3 addr=127.0.0.1:1 laddr=127.0.0.1:1 fd=7 name= age=0 idle=0 flags=N db=0 sub=0 psub=0"));
        assert!(line.contains(" cmd=NULL user=default redir=-1 resp=2 lib-name= lib-ver="));
    }
}

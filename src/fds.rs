//! The file-descriptor budget: Redis's `adjustOpenFilesLimit` at start-up, and a reserve for outbound
//! links so that clients can never take the descriptors monitoring needs.
//!
//! Redis raises `RLIMIT_NOFILE` to `maxclients + 32` (`CONFIG_MIN_RESERVED_FDS`: listeners, log,
//! persistence…) or as close as it can get, and lowers `maxclients` to fit. It does not reserve anything
//! for a sentinel's own links, so 10,000 idle clients on a sentinel with a low limit leave it unable to
//! reconnect to its masters, which then look down. vedette does the same start-up dance, but counts the
//! links too:
//!
//! * every link the core wants (from its `Connect` until its `Close`, including while it is down and
//!   being redialled) holds its sockets in the reserve: 2 for a master or replica (command + pub/sub), 1
//!   for a peer sentinel — see [`LinkReservation`], kept by the link manager;
//! * a client is admitted only while `clients < min(maxclients, limit − 32 − links − LINK_SLACK)`;
//!   beyond that it gets Redis's `-ERR max number of clients reached` and is closed, while links keep
//!   their descriptors. `LINK_SLACK` covers a replaced connection closing while its successor dials and
//!   instances discovered between two accepts.
//!
//! The counters are process-wide, like the descriptor table they describe.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Descriptors kept for everything that is neither a client nor a link: stdio, the log, listeners, the
/// lock and state files, the event loop, script spawns (Redis `CONFIG_MIN_RESERVED_FDS`).
pub const RESERVED_FDS: u64 = 32;
/// Extra descriptors kept free for links beyond their reservation (see the module doc).
pub const LINK_SLACK: u64 = 16;

/// The soft `RLIMIT_NOFILE` in force (0 = not read yet).
static LIMIT: AtomicU64 = AtomicU64::new(0);
/// Sockets reserved by the links the core currently wants.
static LINK_SOCKETS: AtomicUsize = AtomicUsize::new(0);

fn getrlimit() -> std::io::Result<libc::rlimit> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `l` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0 {
        Ok(l)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The soft descriptor limit of this process.
pub fn open_files_limit() -> u64 {
    match LIMIT.load(Ordering::Relaxed) {
        0 => {
            let cur = getrlimit().map_or(1024, |l| l.rlim_cur);
            LIMIT.store(cur, Ordering::Relaxed);
            cur
        }
        n => n,
    }
}

/// Sockets the links the core wants need (2 per master/replica, 1 per peer sentinel).
pub fn link_sockets() -> usize {
    LINK_SOCKETS.load(Ordering::Relaxed)
}

/// How many clients may be connected right now: `maxclients`, or fewer when the descriptor limit minus
/// the reserves allows fewer.
pub fn client_budget(maxclients: usize) -> usize {
    let free = open_files_limit()
        .saturating_sub(RESERVED_FDS + LINK_SLACK)
        .saturating_sub(link_sockets() as u64);
    maxclients.min(usize::try_from(free).unwrap_or(usize::MAX))
}

/// The sockets one link of the core reserves for as long as the link exists; dropped with it.
#[derive(Debug)]
pub struct LinkReservation(usize);

impl LinkReservation {
    /// Reserve `sockets` descriptors.
    pub fn new(sockets: usize) -> Self {
        LINK_SOCKETS.fetch_add(sockets, Ordering::Relaxed);
        LinkReservation(sockets)
    }
}

impl Drop for LinkReservation {
    fn drop(&mut self) {
        LINK_SOCKETS.fetch_sub(self.0, Ordering::Relaxed);
    }
}

/// Sockets the links of `state` need at start-up: 2 per distinct master or replica link, 1 per distinct
/// known sentinel. The core shares a link among every name's instances at one address dialled with the
/// same `auth-user` / `auth-pass` / `rename-command` (ten names on one server: one link), and a peer's
/// link across masters by run id; this counts the same way (hosts compared as IP literals where they
/// parse, so `::1` and `0::1` are one address, as in the core).
pub fn links_of(state: &vedette_core::PersistedState) -> usize {
    type Key<'a> = (
        String,
        u16,
        Option<&'a str>,
        Option<&'a str>,
        &'a std::collections::BTreeMap<String, String>,
    );
    let mut peers = std::collections::BTreeSet::new();
    let mut instances: std::collections::BTreeSet<Key<'_>> = std::collections::BTreeSet::new();
    let host_key = |h: &str| match h.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => h.to_ascii_lowercase(),
    };
    for m in state.masters.values() {
        let c = &m.config;
        let pass = c.auth_pass.as_deref();
        let user = pass.and(c.auth_user.as_deref());
        let addrs = std::iter::once((c.host.as_str(), c.port))
            .chain(m.known_replicas.iter().map(|(h, p)| (h.as_str(), *p)));
        for (h, p) in addrs {
            instances.insert((host_key(h), p, user, pass, &c.rename_commands));
        }
        for (_, _, runid) in &m.known_sentinels {
            peers.insert(runid.as_str());
        }
    }
    2 * instances.len() + peers.len()
}

/// Redis's `adjustOpenFilesLimit`, with the links of the loaded state (`links` sockets) added to what is
/// needed: raise the soft limit to `maxclients + 32 + LINK_SLACK + links`, or to the highest value the
/// system allows (trying in steps of 16 down, never lowering the hard limit), then return the
/// `maxclients` that fits, logging Redis's lines. `Err` carries Redis's message when not even one client
/// fits.
pub fn adjust_open_files_limit(maxclients: usize, links: usize) -> Result<usize, String> {
    let reserved = RESERVED_FDS + LINK_SLACK + links as u64;
    let maxfiles = maxclients as u64 + reserved;
    let mut limit = match getrlimit() {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(
                "Unable to obtain the current NOFILE limit ({}), assuming 1024 and setting the max clients configuration accordingly.",
                crate::config::strerror(&e)
            );
            LIMIT.store(1024, Ordering::Relaxed);
            return Ok(maxclients
                .min(1024u64.saturating_sub(reserved) as usize)
                .max(1));
        }
    };
    let oldlimit = limit.rlim_cur;
    LIMIT.store(oldlimit, Ordering::Relaxed);
    if oldlimit >= maxfiles {
        return Ok(maxclients);
    }
    let hard = limit.rlim_max;
    let mut attempt = maxfiles;
    // What we end up with: the original limit unless a raise succeeds.
    let mut bestlimit = oldlimit;
    let mut setrlimit_error = None;
    while attempt > oldlimit {
        limit.rlim_cur = attempt;
        // Raising the hard limit needs privileges; never lower it (Redis sets both to the new value,
        // which an unprivileged process can never undo).
        limit.rlim_max = hard.max(attempt);
        // SAFETY: `limit` is a valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
            bestlimit = attempt;
            break;
        }
        setrlimit_error = Some(std::io::Error::last_os_error());
        // Without privileges the hard limit is the best there is: go there directly instead of
        // creeping down from `maxfiles` in steps of 16, as Redis does.
        attempt = if attempt > hard {
            if hard <= oldlimit {
                break;
            }
            hard
        } else if attempt < 16 {
            break;
        } else {
            attempt - 16
        };
    }
    LIMIT.store(bestlimit, Ordering::Relaxed);
    if bestlimit < maxfiles {
        if bestlimit <= reserved {
            return Err(format!(
                "Your current 'ulimit -n' of {oldlimit} is not enough for the server to start. Please increase your open file limit to at least {maxfiles}. Exiting."
            ));
        }
        let fitted = (bestlimit - reserved) as usize;
        tracing::warn!(
            "You requested maxclients of {maxclients} requiring at least {maxfiles} max file descriptors."
        );
        tracing::warn!(
            "Server can't set maximum open files to {maxfiles} because of OS error: {}.",
            setrlimit_error
                .as_ref()
                .map_or_else(|| "unknown error".to_string(), crate::config::strerror)
        );
        tracing::warn!(
            "Current maximum open files is {bestlimit}. maxclients has been reduced to {fitted} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'."
        );
        tracing::info!(
            "{} descriptors are kept for links to masters, replicas and sentinels ({links} needed now), {} for the process itself.",
            links as u64 + LINK_SLACK,
            RESERVED_FDS
        );
        Ok(fitted)
    } else {
        tracing::info!(
            "Increased maximum number of open files to {maxfiles} (it was originally set to {oldlimit})."
        );
        Ok(maxclients)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_count_and_release() {
        let before = link_sockets();
        let a = LinkReservation::new(2);
        let b = LinkReservation::new(1);
        assert!(link_sockets() >= before + 3);
        drop(a);
        drop(b);
        // Other tests may hold reservations concurrently; ours are gone.
        assert!(link_sockets() <= before + 3);
    }

    #[test]
    fn budget_is_capped_by_maxclients() {
        assert!(client_budget(3) <= 3);
    }

    #[test]
    fn links_of_state() {
        use vedette_core::{MasterConfig, PersistedMaster, PersistedState};
        let mut s = PersistedState::new("x");
        for name in ["a", "b"] {
            let mut m = PersistedMaster::new(MasterConfig::new(name, "127.0.0.1", 1, 1));
            m.known_replicas.push(("127.0.0.1".into(), 2));
            m.known_sentinels
                .push(("127.0.0.1".into(), 3, "peer".into()));
            s.masters.insert(name.into(), m);
        }
        // Both names at the same two addresses: 2 shared links × 2 sockets + 1 shared peer.
        assert_eq!(links_of(&s), 5);
        // A third name at those addresses with a password: links of its own.
        let mut c = MasterConfig::new("c", "127.0.0.1", 1, 1);
        c.auth_pass = Some("pw".into());
        let mut m = PersistedMaster::new(c);
        m.known_replicas.push(("127.0.0.1".into(), 2));
        s.masters.insert("c".into(), m);
        assert_eq!(links_of(&s), 9);
        // Another address: one more link.
        let m = PersistedMaster::new(MasterConfig::new("d", "127.0.0.2", 1, 1));
        s.masters.insert("d".into(), m);
        assert_eq!(links_of(&s), 11);
    }
}

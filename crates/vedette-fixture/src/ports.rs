//! Free TCP ports on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Lowest port handed out. Ports come from below Linux's default ephemeral range (32768-60999), so
/// outbound connections (replica to master, sentinel links) never occupy them.
pub const PORT_LO: u16 = 20_000;
/// One past the highest port handed out.
pub const PORT_HI: u16 = 32_000;

/// Every port in `PORT_LO..PORT_HI` is taken (or was already handed out by this process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no free port in {PORT_LO}..{PORT_HI}")]
pub struct NoFreePort;

/// Ports this process has handed out; never handed out twice, even after the owner is gone, because a
/// restarted instance must be able to get its old port back.
fn used_ports() -> &'static Mutex<BTreeSet<u16>> {
    static USED: OnceLock<Mutex<BTreeSet<u16>>> = OnceLock::new();
    USED.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// A free TCP port on 127.0.0.1, unique within this process.
///
/// Different processes (test binaries, parallel `cargo test` runs, a bench beside them) start at
/// different offsets derived from the PID and the clock, and every candidate is checked by binding it
/// and by connecting to it, so collisions are unlikely and detected.
pub fn free_port() -> Result<u16, NoFreePort> {
    let span = u32::from(PORT_HI - PORT_LO);
    let seed = std::process::id().wrapping_mul(7919)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
    let mut used = used_ports().lock().unwrap_or_else(|e| e.into_inner());
    // Step by a prime so consecutive ports of one run spread out a little.
    let start = seed % span;
    for i in 0..span {
        let port = PORT_LO + ((start + i * 13) % span) as u16;
        if used.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && !port_answers(port) {
            used.insert(port);
            return Ok(port);
        }
    }
    Err(NoFreePort)
}

/// True if something accepts connections on 127.0.0.1:`port`.
pub fn port_answers(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

//! The one task that owns the [`vedette_core::Sentinel`] and executes its outputs in order.

use tokio::sync::{mpsc, oneshot};
use vedette_core::Reply;

/// A request from a client session to the core.
#[derive(Debug)]
pub enum CoreRequest {
    /// `SENTINEL ...`, `ROLE`, `PUBLISH`: answered by the core.
    Command {
        /// Full argv, command name first.
        argv: Vec<Vec<u8>>,
        /// Where the answer goes.
        reply: oneshot::Sender<Reply>,
    },
    /// The `# Sentinel` section of INFO.
    InfoSection {
        /// Where the text goes.
        reply: oneshot::Sender<String>,
    },
}

/// Cheap handle sessions use to reach the core.
#[derive(Debug, Clone)]
pub struct CoreHandle {
    tx: mpsc::Sender<CoreRequest>,
}

impl CoreHandle {
    /// Wrap the driver's request channel.
    pub fn new(tx: mpsc::Sender<CoreRequest>) -> Self {
        CoreHandle { tx }
    }

    /// Run a core command; a stopped driver answers with an error reply.
    pub async fn command(&self, argv: Vec<Vec<u8>>) -> Reply {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(CoreRequest::Command { argv, reply }).await.is_err() {
            return Reply::err("ERR sentinel is shutting down");
        }
        rx.await
            .unwrap_or_else(|_| Reply::err("ERR sentinel is shutting down"))
    }

    /// The `# Sentinel` INFO section.
    pub async fn info_section(&self) -> String {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(CoreRequest::InfoSection { reply }).await.is_err() {
            return String::new();
        }
        rx.await.unwrap_or_default()
    }
}

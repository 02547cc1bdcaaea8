//! The state of one connection that commands read and change: protocol, authentication, subscriptions
//! (and the hub receiver held only while subscribed), CLIENT REPLY modes, CLIENT TRACKING options.
//!
//! Dropping it removes the connection's subscriptions from the hub, so a closed client can never keep a
//! channel counted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use vedette_core::Reply;

use crate::server::clients::ClientEntry;
use crate::server::pubsub::{Message, PubSubHub};
use crate::server::resp::{Frame, Proto};

/// Per-connection state the commands read and change.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Our entry in the client registry.
    pub entry: Arc<ClientEntry>,
    /// Negotiated protocol.
    pub proto: Proto,
    /// Passed AUTH (or no password is configured).
    pub authenticated: bool,
    /// Subscribed channels.
    pub channels: BTreeSet<Vec<u8>>,
    /// Subscribed patterns, each compiled once when subscribed (matched against every message).
    pub patterns: BTreeMap<Vec<u8>, Arc<vedette_core::Pattern>>,
    /// Receiver of published messages while subscribed to anything.
    pub rx: Option<broadcast::Receiver<Message>>,
    /// CLIENT REPLY OFF.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP is in effect for the current command.
    pub skip: bool,
    /// CLIENT REPLY SKIP was just issued: skip the next command's reply.
    pub skip_next: bool,
    /// Close once the pending replies are written (CLIENT KILL of ourselves).
    pub close_after_reply: bool,
    /// The server's shutdown token (SHUTDOWN trips it).
    pub shutdown: CancellationToken,
    /// Earlier core commands of this client are still unanswered (pipelining): answers that bypass the
    /// core (the address cache) must not overtake them.
    pub core_pending: bool,
    /// CLIENT TRACKING state. A sentinel has no keys, so tracking never sends an invalidation; the
    /// state exists so that CLIENT TRACKINGINFO, GETREDIR and CACHING answer as Redis does.
    pub tracking: Tracking,
    pub(super) hub: PubSubHub,
}

/// CLIENT TRACKING options in effect.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tracking {
    /// Tracking is on.
    pub on: bool,
    /// BCAST mode.
    pub bcast: bool,
    /// OPTIN mode.
    pub optin: bool,
    /// OPTOUT mode.
    pub optout: bool,
    /// NOLOOP.
    pub noloop: bool,
    /// CLIENT CACHING YES/NO given for the next command.
    pub caching: Option<bool>,
    /// REDIRECT client id (0: none).
    pub redirect: u64,
    /// BCAST prefixes.
    pub prefixes: Vec<Vec<u8>>,
}

impl ConnState {
    pub(crate) fn new(
        entry: Arc<ClientEntry>,
        authenticated: bool,
        hub: PubSubHub,
        shutdown: CancellationToken,
    ) -> Self {
        ConnState {
            entry,
            proto: Proto::Resp2,
            authenticated,
            channels: BTreeSet::new(),
            patterns: BTreeMap::new(),
            rx: None,
            reply_off: false,
            skip: false,
            skip_next: false,
            close_after_reply: false,
            shutdown,
            core_pending: false,
            tracking: Tracking::default(),
            hub,
        }
    }

    /// Subscriptions (channels + patterns), the count in (un)subscribe confirmations.
    pub(crate) fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Called after each command, as Redis's `resetClient`.
    pub(crate) fn command_done(&mut self) {
        self.skip = self.skip_next;
        self.skip_next = false;
    }

    pub(super) fn sync_sub_counts(&mut self) {
        let (sub, psub) = (self.channels.len(), self.patterns.len());
        {
            let mut st = self.entry.state();
            st.sub = sub;
            st.psub = psub;
        }
        if sub + psub == 0 {
            // Not subscribed: hold no receiver, so nothing can lag.
            self.rx = None;
        }
    }

    pub(super) fn ensure_receiver(&mut self) {
        if self.rx.is_none() {
            // Take the receiver before counting the subscription in the hub, so that nothing published
            // after the count includes us can be missed.
            self.rx = Some(self.hub.receiver());
        }
    }

    /// Frames for a published message, as Redis delivers them: the channel match first, then each
    /// matching pattern.
    pub(crate) fn message_frames(&self, msg: &Message) -> Vec<Frame> {
        let mut out = Vec::new();
        if self.channels.contains(&*msg.channel) {
            out.push(Frame::Push(vec![
                Reply::bulk("message"),
                Reply::Bulk(msg.channel.to_vec()),
                Reply::Bulk(msg.payload.to_vec()),
            ]));
        }
        for (p, compiled) in &self.patterns {
            if compiled.matches(&msg.channel) {
                out.push(Frame::Push(vec![
                    Reply::bulk("pmessage"),
                    Reply::Bulk(p.clone()),
                    Reply::Bulk(msg.channel.to_vec()),
                    Reply::Bulk(msg.payload.to_vec()),
                ]));
            }
        }
        out
    }
}

impl Drop for ConnState {
    fn drop(&mut self) {
        for c in &self.channels {
            self.hub.remove(false, c);
        }
        for p in self.patterns.keys() {
            self.hub.remove(true, p);
        }
    }
}

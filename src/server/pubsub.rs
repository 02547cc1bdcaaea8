//! Fan-out of sentinel events to subscribed clients.
//!
//! One [`tokio::sync::broadcast`] channel carries every published message; each subscribed session holds
//! a receiver and filters by its own channels and patterns. Sentinel events are rare (a failover emits a
//! few dozen), so filtering in the sessions is cheaper than a channel per name, and patterns come free.
//!
//! A subscriber too slow to keep up would *lose* messages with a plain broadcast (`RecvError::Lagged`).
//! For a failover monitor a silently lost `+switch-master` means a client keeps writing to a demoted
//! master, so a lagging session is disconnected instead (Redis's `client-output-buffer-limit pubsub`):
//! the client reconnects and re-discovers the master.
//!
//! The hub also counts subscriptions per channel and per pattern so that [`PubSubHub::publish`] can
//! return the number of receiving clients, as `PUBLISH` does, and INFO can report `pubsub_channels`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;
use vedette_core::Pattern;

/// How many messages a subscriber may fall behind before it is disconnected. A storm of 1000 masters
/// publishes some 20 events per master within seconds, in bursts of 1000 from one core step; with 4096
/// the bench's subscriber (a fast reader) was cut off mid-storm, where Redis only drops a subscriber at
/// its 32 MB output limit. 32768 slots cost ~2 MiB.
pub const SUBSCRIBER_BACKLOG: usize = 32768;

/// One published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Channel (for sentinel events: the event type, e.g. `+switch-master`).
    pub channel: Arc<[u8]>,
    /// Payload.
    pub payload: Arc<[u8]>,
}

#[derive(Debug, Default)]
struct Counts {
    channels: HashMap<Vec<u8>, usize>,
    /// Pattern -> (subscriptions, the pattern compiled once, shared with the sessions).
    patterns: HashMap<Vec<u8>, (usize, Arc<Pattern>)>,
}

#[derive(Debug)]
struct Inner {
    tx: broadcast::Sender<Message>,
    counts: Mutex<Counts>,
}

/// The publish side of the server's pub/sub, shared by the driver (events) and the sessions.
#[derive(Debug, Clone)]
pub struct PubSubHub {
    inner: Arc<Inner>,
}

impl Default for PubSubHub {
    fn default() -> Self {
        Self::new()
    }
}

impl PubSubHub {
    /// An empty hub.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(SUBSCRIBER_BACKLOG);
        PubSubHub {
            inner: Arc::new(Inner {
                tx,
                counts: Mutex::new(Counts::default()),
            }),
        }
    }

    /// Publish `payload` on `channel`; returns how many client subscriptions will receive it (which costs a
    /// match per distinct pattern; sentinel events use [`PubSubHub::publish_event`], which does not count).
    pub fn publish(&self, channel: &str, payload: &str) -> usize {
        self.publish_bytes(channel.as_bytes(), payload.as_bytes())
    }

    /// [`PubSubHub::publish`] for binary channel names and payloads.
    pub fn publish_bytes(&self, channel: &[u8], payload: &[u8]) -> usize {
        let receivers = {
            let counts = self.counts();
            let direct = counts.channels.get(channel).copied().unwrap_or(0);
            let by_pattern: usize = counts
                .patterns
                .values()
                .filter(|(_, p)| p.matches(channel))
                .map(|(n, _)| *n)
                .sum();
            direct + by_pattern
        };
        if receivers > 0 {
            self.send(channel, payload);
        }
        receivers
    }

    /// Publish without counting receivers: the driver's path for events, so an event costs the driver
    /// O(1) however many patterns clients hold (each subscribed session matches its own, in its own task).
    pub fn publish_event(&self, channel: &[u8], payload: &[u8]) {
        if self.inner.tx.receiver_count() > 0 {
            self.send(channel, payload);
        }
    }

    fn send(&self, channel: &[u8], payload: &[u8]) {
        // An error only means no session holds a receiver right now.
        let _ = self.inner.tx.send(Message {
            channel: Arc::from(channel),
            payload: Arc::from(payload),
        });
    }

    /// A receiver for a session that just made its first subscription.
    pub(crate) fn receiver(&self) -> broadcast::Receiver<Message> {
        self.inner.tx.subscribe()
    }

    /// Number of channels with at least one subscriber (INFO `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.counts().channels.len()
    }

    /// Number of distinct subscribed patterns (INFO `pubsub_patterns`).
    pub fn pattern_count(&self) -> usize {
        self.counts().patterns.len()
    }

    /// Count a subscription to a channel, or to a pattern (`compiled` is the session's compiled copy).
    pub(crate) fn add(&self, name: &[u8], compiled: Option<&Arc<Pattern>>) {
        let mut c = self.counts();
        match compiled {
            None => *c.channels.entry(name.to_vec()).or_insert(0) += 1,
            Some(p) => {
                c.patterns
                    .entry(name.to_vec())
                    .or_insert_with(|| (0, Arc::clone(p)))
                    .0 += 1
            }
        }
    }

    pub(crate) fn remove(&self, pattern: bool, name: &[u8]) {
        let mut c = self.counts();
        if pattern {
            if let Some((n, _)) = c.patterns.get_mut(name) {
                *n -= 1;
                if *n == 0 {
                    c.patterns.remove(name);
                }
            }
        } else if let Some(n) = c.channels.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                c.channels.remove(name);
            }
        }
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // The lock guards plain counters; a panic elsewhere cannot leave them half-updated.
        self.inner
            .counts
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// The driver publishes sentinel events through this.
impl crate::driver::EventSink for PubSubHub {
    fn publish(&self, channel: &str, payload: &str) {
        self.publish_event(channel.as_bytes(), payload.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn publish_counts_and_delivers() {
        let hub = PubSubHub::new();
        assert_eq!(hub.publish("+sdown", "x"), 0);
        let mut rx = hub.receiver();
        hub.add(b"+sdown", None);
        hub.add(b"*down", Some(&Arc::new(Pattern::new(b"*down", false))));
        assert_eq!(hub.publish("+sdown", "master m 127.0.0.1 1"), 2);
        assert_eq!(hub.publish("+odown", "y"), 1);
        let m = rx.recv().await.unwrap();
        assert_eq!(&*m.channel, b"+sdown");
        assert_eq!(&*m.payload, b"master m 127.0.0.1 1");
        hub.remove(false, b"+sdown");
        hub.remove(true, b"*down");
        assert_eq!((hub.channel_count(), hub.pattern_count()), (0, 0));
    }
}

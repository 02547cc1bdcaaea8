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

/// How many messages a subscriber may fall behind before it is disconnected.
pub const SUBSCRIBER_BACKLOG: usize = 4096;

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
    patterns: HashMap<Vec<u8>, usize>,
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

    /// Publish `payload` on `channel`; returns how many client subscriptions will receive it.
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
                .iter()
                .filter(|(p, _)| stringmatch(p, channel, false))
                .map(|(_, n)| *n)
                .sum();
            direct + by_pattern
        };
        if receivers > 0 {
            // An error only means no session holds a receiver right now.
            let _ = self.inner.tx.send(Message {
                channel: Arc::from(channel),
                payload: Arc::from(payload),
            });
        }
        receivers
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

    pub(crate) fn add(&self, pattern: bool, name: &[u8]) {
        let mut c = self.counts();
        let map = if pattern {
            &mut c.patterns
        } else {
            &mut c.channels
        };
        *map.entry(name.to_vec()).or_insert(0) += 1;
    }

    pub(crate) fn remove(&self, pattern: bool, name: &[u8]) {
        let mut c = self.counts();
        let map = if pattern {
            &mut c.patterns
        } else {
            &mut c.channels
        };
        if let Some(n) = map.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                map.remove(name);
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
        PubSubHub::publish(self, channel, payload);
    }
}

/// Redis `stringmatchlen`: glob matching with `*`, `?`, `[...]` (with `^` negation and `a-z` ranges) and
/// `\` escapes.
///
/// Iterative with single-star backtracking, so the cost is O(pattern × string) even for hostile patterns
/// such as `*a*a*a*a*b` (Redis needed a recursion limit for those).
pub fn stringmatch(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut i) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after the star, string index it matched up to).
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    // Collapse consecutive stars.
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, i));
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' => {
                    let (matched, next) = match_class(pattern, p, s[i], nocase);
                    if matched {
                        p = next;
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if eq(pattern[p + 1], s[i]) {
                        p += 2;
                        i += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, s[i]) {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
            }
        }
        // Mismatch: let the last star swallow one more byte, or fail.
        match star {
            Some((sp, si)) => {
                p = sp;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Match one byte against the class starting at `pattern[start] == b'['`; returns (matched, index after
/// the class). An unterminated class extends to the end of the pattern, as in Redis.
fn match_class(pattern: &[u8], start: usize, c: u8, nocase: bool) -> (bool, usize) {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let c = fold(c);
    let mut p = start + 1;
    let not = pattern.get(p) == Some(&b'^');
    if not {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(p) {
            None => break,
            Some(b'\\') if p + 1 < pattern.len() => {
                if fold(pattern[p + 1]) == c {
                    matched = true;
                }
                p += 2;
            }
            Some(b']') => {
                p += 1;
                break;
            }
            Some(&lo) if pattern.get(p + 1) == Some(&b'-') && p + 2 < pattern.len() => {
                let hi = pattern[p + 2];
                let (mut a, mut b) = (fold(lo), fold(hi));
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                if c >= a && c <= b {
                    matched = true;
                }
                p += 3;
            }
            Some(&b) => {
                if fold(b) == c {
                    matched = true;
                }
                p += 1;
            }
        }
    }
    (matched != not, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        let yes: &[(&str, &str)] = &[
            ("*", ""),
            ("*", "+switch-master"),
            ("+*", "+sdown"),
            ("?down", "sdown"),
            ("[-+]sdown", "-sdown"),
            ("[^a]b", "cb"),
            ("[a-c]x", "bx"),
            ("[c-a]x", "bx"),
            ("a\\*b", "a*b"),
            ("*a*b", "xxaxxb"),
            ("h*llo", "hello"),
            ("h[ae]llo", "hallo"),
            ("*-master", "+switch-master"),
        ];
        for (p, s) in yes {
            assert!(stringmatch(p.as_bytes(), s.as_bytes(), false), "{p} ~ {s}");
        }
        let no: &[(&str, &str)] = &[
            ("?", ""),
            ("+*", "-sdown"),
            ("[^a]b", "ab"),
            ("a\\*b", "axb"),
            ("abc", "ABC"),
            ("*a*b", "xxaxx"),
            ("h[ae]llo", "hillo"),
        ];
        for (p, s) in no {
            assert!(
                !stringmatch(p.as_bytes(), s.as_bytes(), false),
                "{p} !~ {s}"
            );
        }
        assert!(stringmatch(b"ABC", b"abc", true));
        let hostile = "*a".repeat(50) + "b";
        assert!(!stringmatch(
            hostile.as_bytes(),
            "a".repeat(10_000).as_bytes(),
            false
        ));
    }

    #[tokio::test]
    async fn publish_counts_and_delivers() {
        let hub = PubSubHub::new();
        assert_eq!(hub.publish("+sdown", "x"), 0);
        let mut rx = hub.receiver();
        hub.add(false, b"+sdown");
        hub.add(true, b"*down");
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

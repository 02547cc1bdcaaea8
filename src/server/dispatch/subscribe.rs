//! (P)SUBSCRIBE and (P)UNSUBSCRIBE: the connection's side of the pub/sub hub (`server::pubsub`).
//!
//! Long argument lists are handled in chunks with a yield between them, so one command naming thousands
//! of patterns cannot hold a runtime worker and the sessions queued on it.

use std::sync::Arc;

use vedette_core::Reply;

use super::{ConnState, Outcome};
use crate::server::resp::Frame;

/// (Un)subscriptions handled between two yields to the scheduler: a command naming 10,000 patterns must
/// not hold a runtime worker (and the sessions queued on it) for its whole length.
const SUBSCRIBE_CHUNK: usize = 256;

pub(super) async fn subscribe(st: &mut ConnState, pattern: bool, names: &[Vec<u8>]) -> Outcome {
    st.ensure_receiver();
    let kind = if pattern { "psubscribe" } else { "subscribe" };
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if i % SUBSCRIBE_CHUNK == SUBSCRIBE_CHUNK - 1 {
            tokio::task::yield_now().await;
        }
        if pattern {
            if !st.patterns.contains_key(n) {
                let compiled = Arc::new(vedette_core::Pattern::new(n, false));
                st.hub.add(n, Some(&compiled));
                st.patterns.insert(n.clone(), compiled);
            }
        } else if st.channels.insert(n.clone()) {
            st.hub.add(n, None);
        }
        out.push(Frame::Push(vec![
            Reply::bulk(kind),
            Reply::Bulk(n.clone()),
            Reply::Int(st.subscriptions() as i64),
        ]));
    }
    st.sync_sub_counts();
    Outcome::Pushes(out)
}

pub(super) async fn unsubscribe(st: &mut ConnState, pattern: bool, names: &[Vec<u8>]) -> Outcome {
    let kind = if pattern {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let names: Vec<Vec<u8>> = if names.is_empty() {
        if pattern {
            st.patterns.keys().cloned().collect()
        } else {
            st.channels.iter().cloned().collect()
        }
    } else {
        names.to_vec()
    };
    let mut out = Vec::with_capacity(names.len().max(1));
    for (i, n) in names.iter().enumerate() {
        if i % SUBSCRIBE_CHUNK == SUBSCRIBE_CHUNK - 1 {
            tokio::task::yield_now().await;
        }
        let removed = if pattern {
            st.patterns.remove(n).is_some()
        } else {
            st.channels.remove(n)
        };
        if removed {
            st.hub.remove(pattern, n);
        }
        out.push(Frame::Push(vec![
            Reply::bulk(kind),
            Reply::Bulk(n.clone()),
            Reply::Int(st.subscriptions() as i64),
        ]));
    }
    if names.is_empty() {
        out.push(Frame::Push(vec![
            Reply::bulk(kind),
            Reply::Nil,
            Reply::Int(st.subscriptions() as i64),
        ]));
    }
    st.sync_sub_counts();
    Outcome::Pushes(out)
}

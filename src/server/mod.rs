//! The RESP server: listener, sessions, command dispatch, pub/sub.

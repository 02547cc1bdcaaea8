//! Notification and client-reconfig scripts.

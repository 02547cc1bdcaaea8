//! Atomic, durable state writes.

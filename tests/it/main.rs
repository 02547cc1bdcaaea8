//! vedette integration tests: one test binary, one module per feature (like Redis's `tests/sentinel`).
//!
//! Every test starts real processes on 127.0.0.1 (`redis-server`, `redis-sentinel`, the `vedette` binary)
//! through the fixtures in `common`. Set `VEDETTE_IT_SUBJECT=redis-sentinel` to run the vedette side of every
//! test against the real redis-sentinel instead, which checks the tests and fixtures themselves.

mod common;

mod base;
mod command_table;
mod fixtures;
mod limits;
mod mixed_cluster;
mod monitoring;
mod valkey_names;
mod wire_compat;

// Step 3 — failover (fixtures in `cluster`).
mod clients;
mod cluster;
mod failover;
mod failover_mixed;

// Step 6 — never worse than Redis Sentinel under its own faults.
mod storm;
// Links shared by the names monitoring one server.
mod share;
// Step 6 — faults and hostile input.
mod durability;
mod hostile;

// Step 11 — observability: the HTTP listener.
mod http;

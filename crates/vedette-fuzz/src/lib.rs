//! # vedette-fuzz: what each fuzz target checks
//!
//! One function per cargo-fuzz target (`fuzz/fuzz_targets/<name>.rs` is a one-line call), kept in a
//! normal workspace crate so the checks build on stable and `cargo test -p vedette-fuzz` replays every
//! committed corpus file (`fuzz/corpus/<name>/`) in CI without nightly or libFuzzer.
//!
//! Every function takes arbitrary bytes and panics only on a real defect: a panic inside the code under
//! test, or a broken property (incremental parsing that disagrees with one-shot parsing, a hello that does
//! not survive render/parse, a persisted state that does not load back). Inputs are never trusted to be
//! well-formed; the first byte or two usually select a mode and the rest is the payload.

mod config;
mod core;
mod link;
mod resp;
mod source;
mod wire;

pub use crate::config::config_load;
pub use crate::core::core_sequence;
pub use crate::link::link_reply;
pub use crate::resp::resp_request;
pub use crate::wire::wire;

/// A fuzz check: arbitrary bytes in, a panic on a defect.
pub type Check = fn(&[u8]);

/// Every target by name (the directory names under `fuzz/corpus/`), for the corpus replay test.
pub const TARGETS: &[(&str, Check)] = &[
    ("resp_request", resp_request),
    ("link_reply", link_reply),
    ("config_load", config_load),
    ("wire", wire),
    ("core_sequence", core_sequence),
];

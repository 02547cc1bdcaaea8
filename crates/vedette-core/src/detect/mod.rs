//! Failure detection (reference §5): subjective down from our own PINGs (`sdown`), objective down from
//! the other sentinels' answers (`odown`). Split from monitoring because these are the rules whose
//! timing decides when a failover begins.

mod odown;
mod sdown;

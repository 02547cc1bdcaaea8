//! Parsers for what monitored instances and peers send: INFO text and hello payloads. Pure and total:
//! malformed input is an error value, never a panic.

pub mod hello;
pub mod info;

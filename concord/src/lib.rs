//! The `concord` binary as a library, so end-to-end tests start the suite
//! exactly as `concord serve` does.
#![forbid(unsafe_code)]

pub mod client;
pub mod demo;
pub mod migrate;
pub mod suite;

//! The `concord` binary as a library, so end-to-end tests start the suite
//! exactly as `concord serve` does.
#![forbid(unsafe_code)]

pub mod migrate;
pub mod suite;

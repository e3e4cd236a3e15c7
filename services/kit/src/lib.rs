//! What every Concord service shares: configuration, telemetry, identity and
//! the role policy, the database, the event bus, the clock, the audit trail,
//! idempotency, pagination, errors, metrics, the server builder and the
//! directory client.
#![forbid(unsafe_code)]

pub mod announce;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod bus;
pub mod clients;
pub mod clock;
pub mod config;
pub mod db;
pub mod directory;
pub mod due;
pub mod error;
pub mod fields;
pub mod idempotency;
pub mod ids;
pub mod metrics;
pub mod notices;
pub mod page;
pub mod period;
pub mod server;
pub mod sql;
pub mod stream;
pub mod target;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result, Violations, invalid};

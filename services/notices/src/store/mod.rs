//! The notices' SQL, portable between PostgreSQL and SQLite (sqlx `Any`).
//! Every function takes a connection, so callers decide what runs in one
//! transaction. Bulk writes go in multi-row statements of [`CHUNK`] rows.

pub mod grant;
pub mod inbox;
pub mod meeting;
pub mod notice;
pub mod receipt;
pub mod rules;
pub mod stats;

/// The migrations of each backend.
pub static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Rows per multi-row statement: well under both backends' limits on bound
/// values (SQLite 32,766; PostgreSQL 65,535) at up to 8 values a row.
pub const CHUNK: usize = 500;

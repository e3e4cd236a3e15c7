//! The appraisal's SQL, portable between PostgreSQL and SQLite (sqlx `Any`).
//! Every function takes a connection, so callers decide what runs in one
//! transaction. Changes of a versioned row are guarded by the version the
//! caller read, so a concurrent change is noticed instead of lost.

pub mod cycle;
pub mod recognition;
pub mod score;
pub mod set;

use concord_kit::Error;

/// The migrations of each backend.
pub static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// 0/1 for the flags stored as integers.
pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// 0 for an unset time.
pub fn opt_ms(ms: Option<i64>) -> i64 {
    ms.unwrap_or(0)
}

/// `None` for a stored 0.
pub fn ms_opt(ms: i64) -> Option<i64> {
    (ms != 0).then_some(ms)
}

/// A stored value the code does not know: the database was changed by
/// something else.
pub fn corrupt(what: &str, value: &str) -> Error {
    Error::Internal(anyhow::anyhow!("stored {what} {value:?} is not known"))
}

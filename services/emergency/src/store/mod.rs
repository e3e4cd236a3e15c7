//! The emergency service's SQL, portable between PostgreSQL and SQLite (sqlx
//! `Any`). Every function takes a connection, so callers decide what runs in
//! one transaction.

pub mod alert;
pub mod incident;
pub mod plan;
pub mod stats;
pub mod timeline;

use concord_kit::Error;

/// The migrations of each backend.
pub static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Reads a JSON column.
fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::Internal(anyhow::Error::new(e).context(format!("decoding stored {what}")))
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

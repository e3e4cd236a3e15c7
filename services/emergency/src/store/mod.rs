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

/// 0/1 for the flags stored as integers.
fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// `$start, $start+1, …` for `count` values of an `IN (…)` list.
fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stored value that should never be out of range was: the database was
/// changed behind the service's back.
fn corrupt(what: &str, value: impl std::fmt::Debug) -> Error {
    Error::Internal(anyhow::anyhow!(
        "stored {what} {value:?} is not one this service writes"
    ))
}

/// Reads a JSON column.
fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::Internal(anyhow::Error::new(e).context(format!("decoding stored {what}")))
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_count_from_start() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "");
    }
}

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

use concord_kit::{Error, invalid};

/// The migrations of each backend.
pub static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Rows per multi-row statement: well under both backends' limits on bound
/// values (SQLite 32,766; PostgreSQL 65,535) at up to 8 values a row.
pub const CHUNK: usize = 500;

/// A keyset position `(time, id)` in a newest-first list.
pub fn parse_time_cursor(after: Option<&str>) -> Result<Option<(i64, String)>, Error> {
    let Some(after) = after else { return Ok(None) };
    let bad = || invalid("page_token", "is not a token returned by this list");
    let (ms, id) = after.split_once('|').ok_or_else(bad)?;
    Ok(Some((ms.parse().map_err(|_| bad())?, id.to_string())))
}

pub fn render_time_cursor(ms: i64, id: &str) -> String {
    format!("{ms}|{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_cursors_round_trip() {
        assert_eq!(
            parse_time_cursor(Some(&render_time_cursor(5, "a"))).unwrap(),
            Some((5, "a".into()))
        );
        assert!(parse_time_cursor(Some("x")).is_err());
    }
}

//! Training's SQL, portable between PostgreSQL and SQLite (sqlx `Any`).
//! Every function takes a connection, so callers decide what runs in one
//! transaction. Changes to a plan's seats happen under the plan row's lock
//! ([`plan::lock`]), so two enrolments never both take the last seat.

pub mod attendance;
pub mod audience;
pub mod compliance;
pub mod development;
pub mod enrolment;
pub mod plan;
pub mod stats;

use concord_kit::Error;

/// The migrations of each backend.
pub static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Maps a constraint failure of a write to what it means for the caller;
/// `taken` describes what a unique violation means.
fn write_error(e: sqlx::Error, taken: &str) -> Error {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return Error::AlreadyExists(taken.to_string());
    }
    e.into()
}

/// Reads a position kept in a page token as a JSON array of strings.
fn cursor<const N: usize>(after: Option<&str>) -> Result<Option<[String; N]>, Error> {
    let Some(after) = after else { return Ok(None) };
    let bad = || concord_kit::invalid("page_token", "is not a token returned by this list");
    let parts: Vec<String> = serde_json::from_str(after).map_err(|_| bad())?;
    parts.try_into().map(Some).map_err(|_| bad())
}

/// The page cursor of a list ordered by one key (an id, a number).
pub fn key_cursor(key: &str) -> String {
    render_cursor(&[key])
}

/// Renders a position for a page token.
fn render_cursor(parts: &[&str]) -> String {
    serde_json::json!(parts).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = render_cursor(&["1", "张三"]);
        assert_eq!(
            cursor::<2>(Some(&c)).unwrap(),
            Some(["1".to_string(), "张三".to_string()])
        );
        assert!(cursor::<3>(Some(&c)).is_err());
        assert!(cursor::<1>(Some("nope")).is_err());
        assert_eq!(cursor::<1>(None).unwrap(), None);
    }
}

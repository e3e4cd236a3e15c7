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

/// The page cursor of a list ordered by one key (an id, a number).
pub fn key_cursor(key: &str) -> String {
    concord_kit::page::render_cursor(&[key])
}

//! The decisions' SQL, portable between PostgreSQL and SQLite (sqlx `Any`).
//! Every function takes a connection, so callers decide what runs in one
//! transaction. Changes are guarded by the version the caller read
//! (`… WHERE id = $1 AND version = $2`), so a concurrent change is noticed
//! instead of lost; votes and the close of a vote both lock the proposal
//! row, so no vote commits behind the count.

pub mod action_item;
pub mod comment;
pub mod history;
pub mod proposal;
pub mod stats;
pub mod vote;

use concord_kit::Error;

/// The migrations of each backend.
pub static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A position in a list ordered by a number and then by id (due time, …),
/// kept in the page token by `kit::page::render_cursor`.
pub type KeyCursor = (i64, String);

/// Maps a constraint failure of a write to what it means for the caller.
fn write_error(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return Error::Aborted("a concurrent change got there first; retry".into());
        }
        if db.is_foreign_key_violation() {
            return Error::precondition("something this refers to does not exist (any more)");
        }
    }
    e.into()
}

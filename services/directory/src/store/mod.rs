//! The directory's SQL, portable between PostgreSQL and SQLite (sqlx `Any`).
//! Every function takes a connection, so callers decide what runs in one
//! transaction. Changes are guarded by the version the caller read
//! (`… WHERE id = $1 AND version = $2`), so a concurrent change is noticed
//! instead of lost.

pub mod department;
pub mod duty;
pub mod person;

use concord_kit::Error;
use sqlx::AnyConnection;

/// The migrations of each backend.
pub static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A position in a list ordered by name: the sort key and id of the last
/// row returned (kept in the page token by `kit::page::render_cursor`).
pub type NameCursor = (String, String);

/// The keyset condition of a name-ordered list: `$n` says whether a cursor
/// is given, `$n+1` and `$n+2` are its sort key and id.
fn after_name(n: usize) -> String {
    format!(
        "(${n} = 0 OR sort_key > ${a} OR (sort_key = ${a} AND id > ${b}))",
        a = n + 1,
        b = n + 2
    )
}

/// Serializes changes to the department tree: every create, move and delete
/// of a department takes this row first, so two moves cannot each pass the
/// cycle check and together build a cycle. (SQLite's `BEGIN IMMEDIATE`
/// already serializes writers; on PostgreSQL this is the row lock.)
#[tracing::instrument(skip_all)]
pub async fn lock_tree(conn: &mut AnyConnection) -> Result<(), Error> {
    sqlx::query("UPDATE tree_lock SET changes = changes + 1 WHERE id = 1")
        .execute(conn)
        .await?;
    Ok(())
}

/// Maps a constraint failure of a write to what it means for the caller;
/// `taken` describes what a unique violation means.
fn write_error(e: sqlx::Error, taken: &str) -> Error {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return Error::AlreadyExists(taken.to_string());
        }
        if db.is_foreign_key_violation() {
            return Error::precondition(
                "a department this refers to was removed meanwhile; read it again",
            );
        }
    }
    e.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_after_the_cursor() {
        assert_eq!(
            after_name(2),
            "($2 = 0 OR sort_key > $3 OR (sort_key = $3 AND id > $4))"
        );
    }
}

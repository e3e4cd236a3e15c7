//! Feedback's SQL, portable between PostgreSQL and SQLite (sqlx `Any`).
//! Every function takes a connection, so callers decide what runs in one
//! transaction. Item changes are guarded by the version that was read.

pub mod entry;
pub mod item;
pub mod sla;

use concord_kit::Error;
use concord_kit::due::{cancel, schedule};
use sqlx::AnyConnection;

use crate::domain::Timer;

/// The migrations of each backend.
pub static MIGRATOR_PG: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Applies an item's deadline changes in the caller's transaction.
#[tracing::instrument(skip_all, fields(item_id = %item_id))]
pub async fn apply_timers(
    conn: &mut AnyConnection,
    item_id: &str,
    timers: &[Timer],
) -> Result<(), Error> {
    for t in timers {
        match t {
            Timer::Schedule {
                kind,
                due_ms,
                payload,
            } => schedule(&mut *conn, kind, item_id, *due_ms, payload).await?,
            Timer::Cancel(kind) => cancel(&mut *conn, kind, item_id).await?,
        }
    }
    Ok(())
}

/// Remembers that an anonymous submission with `key` made `item_id`, or
/// returns the item an earlier attempt made. Keys older than `forget_before`
/// are dropped first.
#[tracing::instrument(skip_all)]
pub async fn claim_anonymous_request(
    conn: &mut AnyConnection,
    key: &str,
    item_id: &str,
    now: i64,
    forget_before: i64,
) -> Result<Option<String>, Error> {
    use sqlx::Row;
    sqlx::query("DELETE FROM anonymous_request WHERE created_ms < $1")
        .bind(forget_before)
        .execute(&mut *conn)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO anonymous_request (key_hash, item_id, created_ms) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(key)
    .bind(item_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    let row = sqlx::query("SELECT item_id FROM anonymous_request WHERE key_hash = $1")
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Some(row.try_get(0)?))
}

//! Departments' duties.

use concord_kit::Error;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::write_error;
use crate::domain::Duty;

fn from_row(r: &AnyRow) -> Result<Duty, sqlx::Error> {
    Ok(Duty {
        id: r.try_get(0)?,
        department_id: r.try_get(1)?,
        text: r.try_get(2)?,
        created_ms: r.try_get(3)?,
    })
}

fn from_rows(rows: &[AnyRow]) -> Result<Vec<Duty>, Error> {
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// The duty with `id`, if any.
#[tracing::instrument(skip_all, fields(duty_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Duty>, Error> {
    let row = sqlx::query("SELECT id, department_id, text, created_ms FROM duty WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Inserts a new duty.
#[tracing::instrument(skip_all, fields(duty_id = %d.id, department_id = %d.department_id))]
pub async fn insert(conn: &mut AnyConnection, d: &Duty) -> Result<(), Error> {
    sqlx::query("INSERT INTO duty (id, department_id, text, created_ms) VALUES ($1, $2, $3, $4)")
        .bind(&d.id)
        .bind(&d.department_id)
        .bind(&d.text)
        .bind(d.created_ms)
        .execute(conn)
        .await
        .map_err(|e| write_error(e, "duty"))?;
    Ok(())
}

/// Deletes a duty; `false` when it was not there.
#[tracing::instrument(skip_all, fields(duty_id = %id))]
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool, Error> {
    let done = sqlx::query("DELETE FROM duty WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of duties in the order they were added (ids are UUIDv7),
/// `limit` rows after the id `after`; `department_id` empty means all.
#[tracing::instrument(skip_all, fields(department_id = %department_id, limit = limit))]
pub async fn list(
    conn: &mut AnyConnection,
    department_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Duty>, Error> {
    let rows = sqlx::query(
        "SELECT id, department_id, text, created_ms FROM duty \
         WHERE ($1 = '' OR department_id = $1) AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(department_id)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    from_rows(&rows)
}

/// Every duty, for matching topics against (directories are small).
#[tracing::instrument(skip_all)]
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Duty>, Error> {
    let rows = sqlx::query("SELECT id, department_id, text, created_ms FROM duty ORDER BY id")
        .fetch_all(conn)
        .await?;
    from_rows(&rows)
}

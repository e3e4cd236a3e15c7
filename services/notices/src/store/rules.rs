//! Communication rules, one row per priority.

use concord_kit::Error;
use concord_kit::sql::flag;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::{CommunicationRule, Priority};

const COLUMNS: &str = "priority, push_start_hour, push_end_hour, ack_required, version, updated_ms";

fn decode(r: &sqlx::any::AnyRow) -> Result<CommunicationRule, Error> {
    let priority: i64 = r.try_get(0)?;
    Ok(CommunicationRule {
        priority: Priority::from_i64(priority).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("stored priority {priority} is unknown"))
        })?,
        push_start_hour: r.try_get(1)?,
        push_end_hour: r.try_get(2)?,
        ack_required: r.try_get::<i64, _>(3)? != 0,
        version: r.try_get(4)?,
        updated_ms: r.try_get(5)?,
    })
}

#[tracing::instrument(skip_all)]
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<CommunicationRule>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM communication_rule ORDER BY priority");
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(conn).await?;
    rows.iter().map(decode).collect()
}

#[tracing::instrument(skip_all, fields(priority = ?priority))]
pub async fn get(
    conn: &mut AnyConnection,
    priority: Priority,
    lock: &str,
) -> Result<CommunicationRule, Error> {
    let sql = format!("SELECT {COLUMNS} FROM communication_rule WHERE priority = $1{lock}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(priority as i64)
        .fetch_optional(conn)
        .await?;
    match row {
        Some(r) => decode(&r),
        None => Err(Error::Internal(anyhow::anyhow!(
            "no communication rule for {priority:?}"
        ))),
    }
}

#[tracing::instrument(skip_all, fields(priority = ?r.priority))]
pub async fn update(
    conn: &mut AnyConnection,
    r: &CommunicationRule,
    read_version: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE communication_rule SET push_start_hour = $3, push_end_hour = $4, ack_required = $5, version = $6, \
         updated_ms = $7 WHERE priority = $1 AND version = $2",
    )
    .bind(r.priority as i64)
    .bind(read_version)
    .bind(r.push_start_hour)
    .bind(r.push_end_hour)
    .bind(flag(r.ack_required))
    .bind(r.version)
    .bind(r.updated_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

//! The rows statistics are computed from, for incidents declared in a period.

use concord_kit::Error;
use concord_kit::period::Period;
use concord_kit::sql::placeholders;
use sqlx::{AnyConnection, Row};

use crate::domain::stats::{AckSample, StepSample};

/// `AND <column> IN (...)` over `departments` from placeholder `$start`, or
/// nothing when every department counts.
fn department_clause(column: &str, departments: Option<&[String]>, start: usize) -> String {
    match departments {
        Some([]) => " AND 1 = 0".to_string(),
        Some(ids) => format!(" AND {column} IN ({})", placeholders(start, ids.len())),
        None => String::new(),
    }
}

/// Department acknowledgements in the period; `None` means every department.
#[tracing::instrument(skip_all)]
pub async fn department_acks(
    conn: &mut AnyConnection,
    period: Period,
    departments: Option<&[String]>,
) -> Result<Vec<AckSample>, Error> {
    let sql = format!(
        "SELECT department_id, incident_id, drill, alerted_ms, acknowledged_ms, ack_timeout_ms FROM incident_department \
         WHERE declared_ms >= $1 AND declared_ms < $2{}",
        department_clause("department_id", departments, 3)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(period.start_ms)
        .bind(period.end_ms);
    for d in departments.unwrap_or_default() {
        q = q.bind(d);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let alerted: i64 = r.try_get(3)?;
            let acked: Option<i64> = r.try_get(4)?;
            Ok(AckSample {
                key: r.try_get(0)?,
                incident_id: r.try_get(1)?,
                drill: r.try_get::<i64, _>(2)? != 0,
                time_to_acknowledge_ms: acked.map(|a| a - alerted),
                timeout_ms: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Steps of the departments in the period.
#[tracing::instrument(skip_all)]
pub async fn department_steps(
    conn: &mut AnyConnection,
    period: Period,
    departments: Option<&[String]>,
) -> Result<Vec<StepSample>, Error> {
    let sql = format!(
        "SELECT s.department_id, s.incident_id, i.drill, s.target_minutes, s.completed_ms, i.declared_ms \
         FROM incident_step s JOIN incident i ON i.id = s.incident_id \
         WHERE i.declared_ms >= $1 AND i.declared_ms < $2{}",
        department_clause("s.department_id", departments, 3)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(period.start_ms)
        .bind(period.end_ms);
    for d in departments.unwrap_or_default() {
        q = q.bind(d);
    }
    decode_steps(&q.fetch_all(conn).await?)
}

fn decode_steps(rows: &[sqlx::any::AnyRow]) -> Result<Vec<StepSample>, Error> {
    rows.iter()
        .map(|r| {
            let completed: Option<i64> = r.try_get(4)?;
            let declared: i64 = r.try_get(5)?;
            Ok(StepSample {
                key: r.try_get(0)?,
                incident_id: r.try_get(1)?,
                drill: r.try_get::<i64, _>(2)? != 0,
                target_ms: r.try_get::<i64, _>(3)? * 60_000,
                time_to_complete_ms: completed.map(|c| c - declared),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// A person's acknowledgements in the period: each incident and department
/// an alert reached them for.
#[tracing::instrument(skip_all)]
pub async fn person_acks(
    conn: &mut AnyConnection,
    period: Period,
    person_id: &str,
) -> Result<Vec<AckSample>, Error> {
    let rows = sqlx::query(
        "SELECT r.person_id, r.incident_id, i.drill, r.first_alert_ms, r.acknowledged_ms, i.ack_timeout_ms \
         FROM incident_recipient r JOIN incident i ON i.id = r.incident_id \
         WHERE r.person_id = $3 AND i.declared_ms >= $1 AND i.declared_ms < $2",
    )
    .bind(period.start_ms)
    .bind(period.end_ms)
    .bind(person_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let alerted: i64 = r.try_get(3)?;
            let acked: Option<i64> = r.try_get(4)?;
            Ok(AckSample {
                key: r.try_get(0)?,
                incident_id: r.try_get(1)?,
                drill: r.try_get::<i64, _>(2)? != 0,
                time_to_acknowledge_ms: acked.map(|a| a - alerted),
                timeout_ms: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Steps a person completed in the period.
#[tracing::instrument(skip_all)]
pub async fn person_steps(
    conn: &mut AnyConnection,
    period: Period,
    person_id: &str,
) -> Result<Vec<StepSample>, Error> {
    let rows = sqlx::query(
        "SELECT s.completed_by, s.incident_id, i.drill, s.target_minutes, s.completed_ms, i.declared_ms \
         FROM incident_step s JOIN incident i ON i.id = s.incident_id \
         WHERE s.completed_by = $3 AND i.declared_ms >= $1 AND i.declared_ms < $2",
    )
    .bind(period.start_ms)
    .bind(period.end_ms)
    .bind(person_id)
    .fetch_all(conn)
    .await?;
    decode_steps(&rows)
}

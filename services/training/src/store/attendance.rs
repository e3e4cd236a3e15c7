//! Attendance per session and person, and the hours it earns.

use concord_kit::Error;
use concord_kit::clock::Millis;
use sqlx::{AnyConnection, Row};

/// One person's presence at one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub session_id: String,
    pub person_id: String,
    pub plan_id: String,
    pub department_id: String,
    pub present: bool,
    pub recorded_by: String,
    pub record_ms: Millis,
}

/// Whether the person was marked present at the session before.
#[tracing::instrument(skip_all, fields(person_id = %person_id, session_id = %session_id))]
pub async fn was_present(
    conn: &mut AnyConnection,
    session_id: &str,
    person_id: &str,
) -> Result<bool, Error> {
    let row = sqlx::query(
        "SELECT present FROM training_attendance WHERE session_id = $1 AND person_id = $2",
    )
    .bind(session_id)
    .bind(person_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64, _>(0)? != 0,
        None => false,
    })
}

/// Records a mark, replacing an earlier one of the same person and session.
#[tracing::instrument(skip_all, fields(session_id = %m.session_id, person_id = %m.person_id))]
pub async fn upsert(conn: &mut AnyConnection, m: &Mark) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO training_attendance (session_id, person_id, plan_id, department_id, present, \
         recorded_by, record_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (session_id, person_id) DO UPDATE SET present = excluded.present, \
         recorded_by = excluded.recorded_by, record_ms = excluded.record_ms",
    )
    .bind(&m.session_id)
    .bind(&m.person_id)
    .bind(&m.plan_id)
    .bind(&m.department_id)
    .bind(i64::from(m.present))
    .bind(&m.recorded_by)
    .bind(m.record_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The attendance of a plan (or one of its sessions), by session start and
/// person.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn list(
    conn: &mut AnyConnection,
    plan_id: &str,
    session_id: Option<&str>,
) -> Result<Vec<Mark>, Error> {
    let rows = sqlx::query(
        "SELECT a.session_id, a.person_id, a.plan_id, a.department_id, a.present, a.recorded_by, \
         a.record_ms FROM training_attendance a JOIN training_session s ON s.id = a.session_id \
         WHERE a.plan_id = $1 AND ($2 = '' OR a.session_id = $2) \
         ORDER BY s.start_ms, s.position, a.person_id",
    )
    .bind(plan_id)
    .bind(session_id.unwrap_or_default())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Mark {
                session_id: r.try_get(0)?,
                person_id: r.try_get(1)?,
                plan_id: r.try_get(2)?,
                department_id: r.try_get(3)?,
                present: r.try_get::<i64, _>(4)? != 0,
                recorded_by: r.try_get(5)?,
                record_ms: r.try_get(6)?,
            })
        })
        .collect()
}

/// Milliseconds of the plan's sessions the person was present at.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, person_id = %person_id))]
pub async fn attended_ms(
    conn: &mut AnyConnection,
    plan_id: &str,
    person_id: &str,
) -> Result<i64, Error> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(s.end_ms - s.start_ms), 0) AS BIGINT) FROM training_attendance a \
         JOIN training_session s ON s.id = a.session_id \
         WHERE a.plan_id = $1 AND a.person_id = $2 AND a.present = 1",
    )
    .bind(plan_id)
    .bind(person_id)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get(0)?)
}

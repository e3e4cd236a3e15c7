//! Cycles, their subjects and their reviewers.

use concord_kit::Error;
use concord_kit::clock::Millis;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{corrupt, flag, ms_opt, opt_ms};
use crate::domain::{Cycle, Stage, Subject, SubjectKind};

const COLUMNS: &str = "id, name, description, set_id, set_version, subject_kind, owner_department_id, \
    period_start_ms, period_end_ms, include_sub_departments, self_assessment, scoring_start_ms, \
    scoring_deadline_ms, stage, collected_ms, published_ms, created_by, created_ms, updated_ms, version";

fn decode(r: &AnyRow) -> Result<Cycle, Error> {
    let kind: String = r.try_get("subject_kind")?;
    let stage: String = r.try_get("stage")?;
    let owner: String = r.try_get("owner_department_id")?;
    Ok(Cycle {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        set_id: r.try_get("set_id")?,
        set_version: r.try_get("set_version")?,
        subject_kind: SubjectKind::parse(&kind).ok_or_else(|| corrupt("subject kind", &kind))?,
        owner_department_id: (!owner.is_empty()).then_some(owner),
        period_start_ms: r.try_get("period_start_ms")?,
        period_end_ms: r.try_get("period_end_ms")?,
        include_sub_departments: r.try_get::<i64, _>("include_sub_departments")? != 0,
        self_assessment: r.try_get::<i64, _>("self_assessment")? != 0,
        scoring_start_ms: r.try_get("scoring_start_ms")?,
        scoring_deadline_ms: ms_opt(r.try_get("scoring_deadline_ms")?),
        stage: Stage::parse(&stage).ok_or_else(|| corrupt("stage", &stage))?,
        collected_ms: ms_opt(r.try_get("collected_ms")?),
        published_ms: ms_opt(r.try_get("published_ms")?),
        created_by: r.try_get("created_by")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        version: r.try_get("version")?,
    })
}

/// Writes a new cycle and its subjects.
#[tracing::instrument(skip_all, fields(cycle_id = %c.id))]
pub async fn insert(
    conn: &mut AnyConnection,
    c: &Cycle,
    subjects: &[Subject],
) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO cycles ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.description)
        .bind(&c.set_id)
        .bind(c.set_version)
        .bind(c.subject_kind.as_str())
        .bind(c.owner_department_id.clone().unwrap_or_default())
        .bind(c.period_start_ms)
        .bind(c.period_end_ms)
        .bind(flag(c.include_sub_departments))
        .bind(flag(c.self_assessment))
        .bind(c.scoring_start_ms)
        .bind(opt_ms(c.scoring_deadline_ms))
        .bind(c.stage.as_str())
        .bind(opt_ms(c.collected_ms))
        .bind(opt_ms(c.published_ms))
        .bind(&c.created_by)
        .bind(c.created_ms)
        .bind(c.updated_ms)
        .bind(c.version)
        .execute(&mut *conn)
        .await?;
    for s in subjects {
        sqlx::query(
            "INSERT INTO cycle_subjects (cycle_id, subject_id, position, department_id, display_name) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.id)
        .bind(&s.id)
        .bind(s.position)
        .bind(&s.department_id)
        .bind(&s.display_name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A cycle; `lock` is `Db::for_update()` when the caller will change it.
#[tracing::instrument(skip_all, fields(cycle_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str, lock: &str) -> Result<Option<Cycle>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM cycles WHERE id = $1{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Writes a changed cycle read at version `read`; false when it changed
/// meanwhile.
#[tracing::instrument(skip_all, fields(cycle_id = %c.id))]
pub async fn update(conn: &mut AnyConnection, c: &Cycle, read: i64) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE cycles SET name = $3, description = $4, self_assessment = $5, scoring_start_ms = $6, \
         scoring_deadline_ms = $7, stage = $8, collected_ms = $9, published_ms = $10, updated_ms = $11, \
         version = $12 WHERE id = $1 AND version = $2",
    )
    .bind(&c.id)
    .bind(read)
    .bind(&c.name)
    .bind(&c.description)
    .bind(flag(c.self_assessment))
    .bind(c.scoring_start_ms)
    .bind(opt_ms(c.scoring_deadline_ms))
    .bind(c.stage.as_str())
    .bind(opt_ms(c.collected_ms))
    .bind(opt_ms(c.published_ms))
    .bind(c.updated_ms)
    .bind(c.version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cycles newest first, filtered by stage and subject, below the cursor id.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    stage: Option<Stage>,
    subject_id: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Cycle>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cycles WHERE ($1 = '' OR stage = $1) AND ($2 = '' OR id < $2) \
         AND ($3 = '' OR id IN (SELECT cycle_id FROM cycle_subjects WHERE subject_id = $3)) \
         ORDER BY id DESC LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(stage.map(Stage::as_str).unwrap_or_default())
        .bind(before.unwrap_or_default())
        .bind(subject_id.unwrap_or_default())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// How many cycles are in each stage (for the metrics).
#[tracing::instrument(skip_all)]
pub async fn count_by_stage(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, Error> {
    let rows = sqlx::query("SELECT stage, COUNT(*) FROM cycles GROUP BY stage")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

fn decode_subject(r: &AnyRow) -> Result<Subject, Error> {
    Ok(Subject {
        id: r.try_get("subject_id")?,
        department_id: r.try_get("department_id")?,
        display_name: r.try_get("display_name")?,
        position: r.try_get("position")?,
    })
}

/// The subjects of a cycle in order, after position `after`.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id))]
pub async fn subjects(
    conn: &mut AnyConnection,
    cycle_id: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Subject>, Error> {
    let rows = sqlx::query(
        "SELECT subject_id, department_id, display_name, position FROM cycle_subjects \
         WHERE cycle_id = $1 AND position > $2 ORDER BY position LIMIT $3",
    )
    .bind(cycle_id)
    .bind(after.unwrap_or(-1))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(decode_subject).collect()
}

/// Every subject of a cycle, in order.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id))]
pub async fn all_subjects(conn: &mut AnyConnection, cycle_id: &str) -> Result<Vec<Subject>, Error> {
    subjects(conn, cycle_id, None, i64::MAX).await
}

/// One subject of a cycle.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id, subject_id = %subject_id))]
pub async fn subject(
    conn: &mut AnyConnection,
    cycle_id: &str,
    subject_id: &str,
) -> Result<Option<Subject>, Error> {
    let row = sqlx::query(
        "SELECT subject_id, department_id, display_name, position FROM cycle_subjects \
         WHERE cycle_id = $1 AND subject_id = $2",
    )
    .bind(cycle_id)
    .bind(subject_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode_subject).transpose()
}

/// A reviewer assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub cycle_id: String,
    pub subject_id: String,
    pub reviewer_id: String,
    pub assigned_by: String,
    pub assigned_ms: Millis,
    /// Manual indicators the reviewer has scored for the subject.
    pub scored: i64,
    /// The subject's position, for ordering.
    pub position: i64,
}

/// Adds an assignment; false when it already existed.
#[tracing::instrument(skip_all, fields(cycle_id = %a.cycle_id, subject_id = %a.subject_id))]
pub async fn assign(conn: &mut AnyConnection, a: &Assignment) -> Result<bool, Error> {
    let done = sqlx::query(
        "INSERT INTO reviewers (cycle_id, subject_id, reviewer_id, assigned_by, assigned_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(&a.cycle_id)
    .bind(&a.subject_id)
    .bind(&a.reviewer_id)
    .bind(&a.assigned_by)
    .bind(a.assigned_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes an assignment and the reviewer's scores of the subject; false
/// when there was none.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id, subject_id = %subject_id))]
pub async fn unassign(
    conn: &mut AnyConnection,
    cycle_id: &str,
    subject_id: &str,
    reviewer_id: &str,
) -> Result<bool, Error> {
    sqlx::query(
        "DELETE FROM scores WHERE cycle_id = $1 AND subject_id = $2 AND reviewer_id = $3 \
         AND self_assessment = 0",
    )
    .bind(cycle_id)
    .bind(subject_id)
    .bind(reviewer_id)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "DELETE FROM reviewers WHERE cycle_id = $1 AND subject_id = $2 AND reviewer_id = $3",
    )
    .bind(cycle_id)
    .bind(subject_id)
    .bind(reviewer_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Assignments of a cycle in subject then reviewer order, filtered, after
/// the cursor `(position, reviewer_id)`.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id))]
pub async fn assignments(
    conn: &mut AnyConnection,
    cycle_id: &str,
    reviewer_id: Option<&str>,
    subject_id: Option<&str>,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<Assignment>, Error> {
    let (pos, rid) = after.cloned().unwrap_or((-1, String::new()));
    let rows = sqlx::query(
        "SELECT r.cycle_id, r.subject_id, r.reviewer_id, r.assigned_by, r.assigned_ms, s.position, \
         (SELECT COUNT(*) FROM scores x WHERE x.cycle_id = r.cycle_id AND x.subject_id = r.subject_id \
          AND x.reviewer_id = r.reviewer_id AND x.self_assessment = 0) AS scored \
         FROM reviewers r JOIN cycle_subjects s ON s.cycle_id = r.cycle_id AND s.subject_id = r.subject_id \
         WHERE r.cycle_id = $1 AND ($2 = '' OR r.reviewer_id = $2) AND ($3 = '' OR r.subject_id = $3) \
         AND (s.position > $4 OR (s.position = $4 AND r.reviewer_id > $5)) \
         ORDER BY s.position, r.reviewer_id LIMIT $6",
    )
    .bind(cycle_id)
    .bind(reviewer_id.unwrap_or_default())
    .bind(subject_id.unwrap_or_default())
    .bind(pos)
    .bind(&rid)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Assignment {
                cycle_id: r.try_get("cycle_id")?,
                subject_id: r.try_get("subject_id")?,
                reviewer_id: r.try_get("reviewer_id")?,
                assigned_by: r.try_get("assigned_by")?,
                assigned_ms: r.try_get("assigned_ms")?,
                scored: r.try_get("scored")?,
                position: r.try_get("position")?,
            })
        })
        .collect()
}

/// Whether `reviewer_id` is assigned to the subject.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id, subject_id = %subject_id))]
pub async fn is_reviewer(
    conn: &mut AnyConnection,
    cycle_id: &str,
    subject_id: &str,
    reviewer_id: &str,
) -> Result<bool, Error> {
    let row = sqlx::query(
        "SELECT 1 FROM reviewers WHERE cycle_id = $1 AND subject_id = $2 AND reviewer_id = $3",
    )
    .bind(cycle_id)
    .bind(subject_id)
    .bind(reviewer_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

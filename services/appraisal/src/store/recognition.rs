//! Feedback to the appraised and commendations.

use concord_kit::Error;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{corrupt, ms_opt, opt_ms};
use crate::domain::SubjectKind;
use crate::domain::recognition::{AppraisalFeedback, Commendation};

const FEEDBACK_COLUMNS: &str = "cycle_id, subject_id, strengths, improvements, agreed_actions, \
    author_id, created_ms, updated_ms, acknowledged_ms, acknowledged_by, response, version";

fn decode_feedback(r: &AnyRow) -> Result<AppraisalFeedback, Error> {
    let actions: String = r.try_get("agreed_actions")?;
    Ok(AppraisalFeedback {
        cycle_id: r.try_get("cycle_id")?,
        subject_id: r.try_get("subject_id")?,
        strengths: r.try_get("strengths")?,
        improvements: r.try_get("improvements")?,
        agreed_actions: serde_json::from_str(&actions)
            .map_err(|_| corrupt("agreed actions", &actions))?,
        author_id: r.try_get("author_id")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        acknowledged_ms: ms_opt(r.try_get("acknowledged_ms")?),
        acknowledged_by: r.try_get("acknowledged_by")?,
        response: r.try_get("response")?,
        version: r.try_get("version")?,
    })
}

/// The feedback to a subject; `lock` is `Db::for_update()` when the caller
/// will change it.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id, subject_id = %subject_id))]
pub async fn feedback(
    conn: &mut AnyConnection,
    cycle_id: &str,
    subject_id: &str,
    lock: &str,
) -> Result<Option<AppraisalFeedback>, Error> {
    let sql = format!(
        "SELECT {FEEDBACK_COLUMNS} FROM appraisal_feedback WHERE cycle_id = $1 AND subject_id = $2{lock}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(cycle_id)
        .bind(subject_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode_feedback).transpose()
}

/// Writes feedback: inserts it when `read` is `None`, else replaces the
/// version read. False when somebody else wrote meanwhile.
#[tracing::instrument(skip_all, fields(cycle_id = %f.cycle_id, subject_id = %f.subject_id))]
pub async fn put_feedback(
    conn: &mut AnyConnection,
    f: &AppraisalFeedback,
    read: Option<i64>,
) -> Result<bool, Error> {
    let actions = serde_json::Value::from(f.agreed_actions.clone()).to_string();
    let done = match read {
        None => {
            let sql = format!(
                "INSERT INTO appraisal_feedback ({FEEDBACK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
                 $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&f.cycle_id)
                .bind(&f.subject_id)
                .bind(&f.strengths)
                .bind(&f.improvements)
                .bind(&actions)
                .bind(&f.author_id)
                .bind(f.created_ms)
                .bind(f.updated_ms)
                .bind(opt_ms(f.acknowledged_ms))
                .bind(&f.acknowledged_by)
                .bind(&f.response)
                .bind(f.version)
                .execute(conn)
                .await?
        }
        Some(read) => {
            sqlx::query(
                "UPDATE appraisal_feedback SET strengths = $3, improvements = $4, agreed_actions = $5, \
                 author_id = $6, updated_ms = $7, acknowledged_ms = $8, acknowledged_by = $9, \
                 response = $10, version = $11 WHERE cycle_id = $1 AND subject_id = $2 AND version = $12",
            )
            .bind(&f.cycle_id)
            .bind(&f.subject_id)
            .bind(&f.strengths)
            .bind(&f.improvements)
            .bind(&actions)
            .bind(&f.author_id)
            .bind(f.updated_ms)
            .bind(opt_ms(f.acknowledged_ms))
            .bind(&f.acknowledged_by)
            .bind(&f.response)
            .bind(f.version)
            .bind(read)
            .execute(conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

const COMMENDATION_COLUMNS: &str = "id, subject_kind, subject_id, department_id, display_name, \
    cycle_id, title, citation, awarded_by, created_ms";

fn decode_commendation(r: &AnyRow) -> Result<Commendation, Error> {
    let kind: String = r.try_get("subject_kind")?;
    let cycle: String = r.try_get("cycle_id")?;
    Ok(Commendation {
        id: r.try_get("id")?,
        subject_kind: SubjectKind::parse(&kind).ok_or_else(|| corrupt("subject kind", &kind))?,
        subject_id: r.try_get("subject_id")?,
        department_id: r.try_get("department_id")?,
        display_name: r.try_get("display_name")?,
        cycle_id: (!cycle.is_empty()).then_some(cycle),
        title: r.try_get("title")?,
        citation: r.try_get("citation")?,
        awarded_by: r.try_get("awarded_by")?,
        created_ms: r.try_get("created_ms")?,
    })
}

#[tracing::instrument(skip_all, fields(commendation_id = %c.id))]
pub async fn insert_commendation(conn: &mut AnyConnection, c: &Commendation) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO commendations ({COMMENDATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&c.id)
        .bind(c.subject_kind.as_str())
        .bind(&c.subject_id)
        .bind(&c.department_id)
        .bind(&c.display_name)
        .bind(c.cycle_id.clone().unwrap_or_default())
        .bind(&c.title)
        .bind(&c.citation)
        .bind(&c.awarded_by)
        .bind(c.created_ms)
        .execute(conn)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(commendation_id = %id))]
pub async fn commendation(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<Commendation>, Error> {
    let sql = format!("SELECT {COMMENDATION_COLUMNS} FROM commendations WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode_commendation).transpose()
}

/// Filters of the commendation list; empty strings match everything.
#[derive(Debug, Clone, Default)]
pub struct CommendationFilter {
    pub subject_id: String,
    pub department_id: String,
    pub cycle_id: String,
}

/// Commendations newest first, below the cursor id.
#[tracing::instrument(skip_all)]
pub async fn commendations(
    conn: &mut AnyConnection,
    filter: &CommendationFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Commendation>, Error> {
    let sql = format!(
        "SELECT {COMMENDATION_COLUMNS} FROM commendations WHERE ($1 = '' OR subject_id = $1) \
         AND ($2 = '' OR department_id = $2) AND ($3 = '' OR cycle_id = $3) \
         AND ($4 = '' OR id < $4) ORDER BY id DESC LIMIT $5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&filter.subject_id)
        .bind(&filter.department_id)
        .bind(&filter.cycle_id)
        .bind(before.unwrap_or_default())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode_commendation).collect()
}

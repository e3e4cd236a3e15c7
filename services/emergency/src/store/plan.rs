//! Plans and their immutable versions.

use concord_kit::Error;
use concord_kit::sql::{corrupt, flag};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{from_json, to_json};
use crate::domain::{EscalationTarget, IncidentType, Plan, PlanContent, Severity};

const COLUMNS: &str = "p.id, v.version, p.version, p.archived, p.created_ms, v.created_ms, v.created_by, \
     v.title, v.description, v.incident_type, v.severity, v.owner_department_id, v.steps, v.contacts, \
     v.escalation_chain, v.ack_timeout_ms, v.reminder_ms";

fn decode(r: &AnyRow) -> Result<Plan, Error> {
    let incident_type: i64 = r.try_get(9)?;
    let severity: i64 = r.try_get(10)?;
    let chain: Vec<EscalationTarget> = from_json("escalation chain", &r.try_get::<String, _>(14)?)?;
    Ok(Plan {
        id: r.try_get(0)?,
        version: r.try_get(1)?,
        current_version: r.try_get(2)?,
        archived: r.try_get::<i64, _>(3)? != 0,
        created_ms: r.try_get(4)?,
        updated_ms: r.try_get(5)?,
        updated_by: r.try_get(6)?,
        content: PlanContent {
            title: r.try_get(7)?,
            description: r.try_get(8)?,
            incident_type: IncidentType::from_code(incident_type)
                .ok_or_else(|| corrupt("incident type", incident_type))?,
            severity: Severity::from_code(severity).ok_or_else(|| corrupt("severity", severity))?,
            owner_department_id: r.try_get(11)?,
            steps: from_json("steps", &r.try_get::<String, _>(12)?)?,
            contacts: from_json("contacts", &r.try_get::<String, _>(13)?)?,
            escalation_chain: chain,
            ack_timeout_ms: r.try_get(15)?,
            reminder_ms: r.try_get(16)?,
        },
    })
}

/// Writes version `version` of plan `plan_id`.
async fn insert_version(
    conn: &mut AnyConnection,
    plan_id: &str,
    version: i64,
    c: &PlanContent,
    now: i64,
    by: &str,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO plan_version (plan_id, version, title, description, incident_type, severity, \
         owner_department_id, steps, contacts, escalation_chain, ack_timeout_ms, reminder_ms, created_ms, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(plan_id)
    .bind(version)
    .bind(&c.title)
    .bind(&c.description)
    .bind(c.incident_type.code())
    .bind(c.severity.code())
    .bind(&c.owner_department_id)
    .bind(to_json(&c.steps))
    .bind(to_json(&c.contacts))
    .bind(to_json(&c.escalation_chain))
    .bind(c.ack_timeout_ms)
    .bind(c.reminder_ms)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Creates a plan at version 1.
#[tracing::instrument(skip_all, fields(plan_id = %plan.id))]
pub async fn insert(conn: &mut AnyConnection, plan: &Plan) -> Result<(), Error> {
    let c = &plan.content;
    sqlx::query(
        "INSERT INTO plan (id, version, owner_department_id, incident_type, archived, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&plan.id)
    .bind(plan.version)
    .bind(&c.owner_department_id)
    .bind(c.incident_type.code())
    .bind(flag(plan.archived))
    .bind(plan.created_ms)
    .bind(plan.updated_ms)
    .execute(&mut *conn)
    .await?;
    insert_version(
        conn,
        &plan.id,
        plan.version,
        c,
        plan.updated_ms,
        &plan.updated_by,
    )
    .await
}

/// Adds the next version; `false` when the plan moved on since `read_version`.
#[tracing::instrument(skip_all, fields(plan_id = %plan.id, version = plan.version))]
pub async fn add_version(
    conn: &mut AnyConnection,
    plan: &Plan,
    read_version: i64,
) -> Result<bool, Error> {
    let c = &plan.content;
    let done = sqlx::query(
        "UPDATE plan SET version = $2, owner_department_id = $3, incident_type = $4, updated_ms = $5 \
         WHERE id = $1 AND version = $6 AND archived = 0",
    )
    .bind(&plan.id)
    .bind(plan.version)
    .bind(&c.owner_department_id)
    .bind(c.incident_type.code())
    .bind(plan.updated_ms)
    .bind(read_version)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    insert_version(
        conn,
        &plan.id,
        plan.version,
        c,
        plan.updated_ms,
        &plan.updated_by,
    )
    .await?;
    Ok(true)
}

/// Archives a plan; `false` when it moved on since `read_version`.
#[tracing::instrument(skip_all, fields(plan_id = %id))]
pub async fn archive(
    conn: &mut AnyConnection,
    id: &str,
    read_version: i64,
    now: i64,
) -> Result<bool, Error> {
    let done =
        sqlx::query("UPDATE plan SET archived = 1, updated_ms = $3 WHERE id = $1 AND version = $2")
            .bind(id)
            .bind(read_version)
            .bind(now)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// A plan at `version`, or at its current version.
#[tracing::instrument(skip_all, fields(plan_id = %id))]
pub async fn get(
    conn: &mut AnyConnection,
    id: &str,
    version: Option<i64>,
) -> Result<Option<Plan>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM plan p JOIN plan_version v ON v.plan_id = p.id \
         WHERE p.id = $1 AND v.version = CASE WHEN $2 = 0 THEN p.version ELSE $2 END"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(version.unwrap_or(0))
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// What ListPlans filters by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub incident_type: Option<IncidentType>,
    pub owner_department_id: Option<String>,
    pub include_archived: bool,
}

/// Plans at their current version, newest first, after the id `after`.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    f: &Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Plan>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM plan p JOIN plan_version v ON v.plan_id = p.id AND v.version = p.version \
         WHERE ($1 = 0 OR p.incident_type = $1) AND ($2 = '' OR p.owner_department_id = $2) \
         AND ($3 = 1 OR p.archived = 0) AND ($4 = '' OR p.id < $4) ORDER BY p.id DESC LIMIT $5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(f.incident_type.map(IncidentType::code).unwrap_or(0))
        .bind(f.owner_department_id.clone().unwrap_or_default())
        .bind(flag(f.include_archived))
        .bind(after.unwrap_or_default())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

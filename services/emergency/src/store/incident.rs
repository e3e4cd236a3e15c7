//! Incidents, their steps and the departments they alerted.

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_kit::sql::{corrupt, flag, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{from_json, to_json};
use crate::domain::access::Involvement;
use crate::domain::{
    DepartmentResponse, EscalationTarget, Incident, IncidentStep, IncidentType, Review, Severity,
    Status,
};

const COLUMNS: &str = "id, plan_id, plan_version, owner_department_id, title, description, incident_type, severity, \
     drill, status, declared_by, declared_ms, contained_ms, resolved_ms, ack_timeout_ms, reminder_ms, \
     escalation_chain, contact_people, review_summary, review_lessons, reviewed_by, reviewed_ms, version";

fn decode(r: &AnyRow) -> Result<Incident, Error> {
    let incident_type: i64 = r.try_get(6)?;
    let severity: i64 = r.try_get(7)?;
    let status: i64 = r.try_get(9)?;
    let chain: Vec<EscalationTarget> = from_json("escalation chain", &r.try_get::<String, _>(16)?)?;
    let reviewed_ms: Option<i64> = r.try_get(21)?;
    Ok(Incident {
        id: r.try_get(0)?,
        plan_id: r.try_get(1)?,
        plan_version: r.try_get(2)?,
        owner_department_id: r.try_get(3)?,
        title: r.try_get(4)?,
        description: r.try_get(5)?,
        incident_type: IncidentType::from_code(incident_type)
            .ok_or_else(|| corrupt("incident type", incident_type))?,
        severity: Severity::from_code(severity).ok_or_else(|| corrupt("severity", severity))?,
        drill: r.try_get::<i64, _>(8)? != 0,
        status: Status::from_code(status).ok_or_else(|| corrupt("status", status))?,
        declared_by: r.try_get(10)?,
        declared_ms: r.try_get(11)?,
        contained_ms: r.try_get(12)?,
        resolved_ms: r.try_get(13)?,
        ack_timeout_ms: r.try_get(14)?,
        reminder_ms: r.try_get(15)?,
        escalation_chain: chain,
        contact_people: from_json("contact people", &r.try_get::<String, _>(17)?)?,
        review: match reviewed_ms {
            Some(ms) => Some(Review {
                summary: r.try_get(18)?,
                lessons: r.try_get(19)?,
                reviewed_by: r.try_get(20)?,
                reviewed_ms: ms,
            }),
            None => None,
        },
        version: r.try_get(22)?,
    })
}

#[tracing::instrument(skip_all, fields(incident_id = %i.id))]
pub async fn insert(conn: &mut AnyConnection, i: &Incident) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO incident (id, plan_id, plan_version, owner_department_id, title, description, incident_type, \
         severity, drill, status, declared_by, declared_ms, contained_ms, resolved_ms, ack_timeout_ms, reminder_ms, \
         escalation_chain, contact_people, review_summary, review_lessons, reviewed_by, reviewed_ms, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13, $14, $15, $16, '', '', '', NULL, $17)",
    )
    .bind(&i.id)
    .bind(&i.plan_id)
    .bind(i.plan_version)
    .bind(&i.owner_department_id)
    .bind(&i.title)
    .bind(&i.description)
    .bind(i.incident_type.code())
    .bind(i.severity.code())
    .bind(flag(i.drill))
    .bind(i.status.code())
    .bind(&i.declared_by)
    .bind(i.declared_ms)
    .bind(i.ack_timeout_ms)
    .bind(i.reminder_ms)
    .bind(to_json(&i.escalation_chain))
    .bind(to_json(&i.contact_people))
    .bind(i.version)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(incident_id = %s.incident_id, step = s.index))]
pub async fn insert_step(conn: &mut AnyConnection, s: &IncidentStep) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO incident_step (incident_id, idx, title, instructions, department_id, target_minutes, \
         completed_ms, completed_by, note) VALUES ($1, $2, $3, $4, $5, $6, NULL, '', '')",
    )
    .bind(&s.incident_id)
    .bind(s.index)
    .bind(&s.title)
    .bind(&s.instructions)
    .bind(&s.department_id)
    .bind(s.target_minutes)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(incident_id = %d.incident_id, department_id = %d.department_id))]
pub async fn insert_department(
    conn: &mut AnyConnection,
    d: &DepartmentResponse,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO incident_department (incident_id, department_id, drill, declared_ms, alerted_ms, ack_timeout_ms, \
         people_alerted, acknowledged_ms, acknowledged_by, escalation_level, reminders_sent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, '', 0, 0)",
    )
    .bind(&d.incident_id)
    .bind(&d.department_id)
    .bind(flag(d.drill))
    .bind(d.declared_ms)
    .bind(d.alerted_ms)
    .bind(d.ack_timeout_ms)
    .bind(d.people_alerted)
    .execute(conn)
    .await?;
    Ok(())
}

/// The incident, locked for update when `lock` is the backend's `FOR UPDATE`.
#[tracing::instrument(skip_all, fields(incident_id = %id))]
pub async fn get(
    conn: &mut AnyConnection,
    id: &str,
    lock: &str,
) -> Result<Option<Incident>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM incident WHERE id = $1{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Writes a status move or review; `false` when the incident changed since `read_version`.
#[tracing::instrument(skip_all, fields(incident_id = %i.id))]
pub async fn update(
    conn: &mut AnyConnection,
    i: &Incident,
    read_version: i64,
) -> Result<bool, Error> {
    let review = i.review.clone();
    let done = sqlx::query(
        "UPDATE incident SET status = $2, contained_ms = $3, resolved_ms = $4, review_summary = $5, \
         review_lessons = $6, reviewed_by = $7, reviewed_ms = $8, version = $9 WHERE id = $1 AND version = $10",
    )
    .bind(&i.id)
    .bind(i.status.code())
    .bind(i.contained_ms)
    .bind(i.resolved_ms)
    .bind(review.as_ref().map(|r| r.summary.clone()).unwrap_or_default())
    .bind(review.as_ref().map(|r| r.lessons.clone()).unwrap_or_default())
    .bind(review.as_ref().map(|r| r.reviewed_by.clone()).unwrap_or_default())
    .bind(review.as_ref().map(|r| r.reviewed_ms))
    .bind(i.version)
    .bind(read_version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn decode_step(r: &AnyRow) -> Result<IncidentStep, Error> {
    Ok(IncidentStep {
        incident_id: r.try_get(0)?,
        index: r.try_get(1)?,
        title: r.try_get(2)?,
        instructions: r.try_get(3)?,
        department_id: r.try_get(4)?,
        target_minutes: r.try_get(5)?,
        completed_ms: r.try_get(6)?,
        completed_by: r.try_get(7)?,
        note: r.try_get(8)?,
    })
}

const STEP_COLUMNS: &str = "incident_id, idx, title, instructions, department_id, target_minutes, completed_ms, completed_by, note";

#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn steps(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> Result<Vec<IncidentStep>, Error> {
    let sql =
        format!("SELECT {STEP_COLUMNS} FROM incident_step WHERE incident_id = $1 ORDER BY idx");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode_step).collect()
}

/// Marks a step done; `false` when it was already done.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, step = index))]
pub async fn complete_step(
    conn: &mut AnyConnection,
    incident_id: &str,
    index: i64,
    now: i64,
    by: &str,
    note: &str,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE incident_step SET completed_ms = $3, completed_by = $4, note = $5 \
         WHERE incident_id = $1 AND idx = $2 AND completed_ms IS NULL",
    )
    .bind(incident_id)
    .bind(index)
    .bind(now)
    .bind(by)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

const DEPT_COLUMNS: &str = "incident_id, department_id, drill, declared_ms, alerted_ms, ack_timeout_ms, people_alerted, \
     acknowledged_ms, acknowledged_by, escalation_level, reminders_sent";

/// Departments in the order the plan first names them.
const PLAN_ORDER: &str = "(SELECT MIN(s.idx) FROM incident_step s \
     WHERE s.incident_id = d.incident_id AND s.department_id = d.department_id), d.department_id";

pub(super) fn decode_department(r: &AnyRow) -> Result<DepartmentResponse, Error> {
    Ok(DepartmentResponse {
        incident_id: r.try_get(0)?,
        department_id: r.try_get(1)?,
        drill: r.try_get::<i64, _>(2)? != 0,
        declared_ms: r.try_get(3)?,
        alerted_ms: r.try_get(4)?,
        ack_timeout_ms: r.try_get(5)?,
        people_alerted: r.try_get(6)?,
        acknowledged_ms: r.try_get(7)?,
        acknowledged_by: r.try_get(8)?,
        escalation_level: r.try_get(9)?,
        reminders_sent: r.try_get(10)?,
    })
}

/// The departments of an incident, in the plan's order of first mention
/// (the order they were written in).
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn departments(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> Result<Vec<DepartmentResponse>, Error> {
    let sql = format!(
        "SELECT {DEPT_COLUMNS} FROM incident_department d WHERE incident_id = $1 ORDER BY {PLAN_ORDER}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode_department).collect()
}

/// One department of an incident, locked when `lock` is `FOR UPDATE`.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, department_id = %department_id))]
pub async fn department(
    conn: &mut AnyConnection,
    incident_id: &str,
    department_id: &str,
    lock: &str,
) -> Result<Option<DepartmentResponse>, Error> {
    let sql = format!(
        "SELECT {DEPT_COLUMNS} FROM incident_department WHERE incident_id = $1 AND department_id = $2{lock}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(incident_id)
        .bind(department_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode_department).transpose()
}

/// Records that an escalation level fired; `false` when another run already
/// moved the department past `from_level` or it was acknowledged.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, department_id = %department_id, from_level))]
pub async fn escalate_department(
    conn: &mut AnyConnection,
    incident_id: &str,
    department_id: &str,
    from_level: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE incident_department SET escalation_level = $3 + 1 \
         WHERE incident_id = $1 AND department_id = $2 AND escalation_level = $3 AND acknowledged_ms IS NULL",
    )
    .bind(incident_id)
    .bind(department_id)
    .bind(from_level)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that reminder `from + 1` went out; `false` when another run did.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, department_id = %department_id, from))]
pub async fn count_reminder(
    conn: &mut AnyConnection,
    incident_id: &str,
    department_id: &str,
    from: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE incident_department SET reminders_sent = $3 + 1 \
         WHERE incident_id = $1 AND department_id = $2 AND reminders_sent = $3",
    )
    .bind(incident_id)
    .bind(department_id)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the department's first acknowledgement; `false` when it had one.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, department_id = %department_id))]
pub async fn acknowledge_department(
    conn: &mut AnyConnection,
    incident_id: &str,
    department_id: &str,
    now: i64,
    by: &str,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE incident_department SET acknowledged_ms = $3, acknowledged_by = $4 \
         WHERE incident_id = $1 AND department_id = $2 AND acknowledged_ms IS NULL",
    )
    .bind(incident_id)
    .bind(department_id)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How `who` is part of the incident.
#[tracing::instrument(skip_all, fields(incident_id = %incident.id))]
pub async fn involvement(
    conn: &mut AnyConnection,
    incident: &Incident,
    who: &Principal,
) -> Result<Involvement, Error> {
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM incident_department WHERE incident_id = $1 AND department_id = $2), \
           (SELECT COUNT(*) FROM incident_recipient WHERE incident_id = $1 AND person_id = $3)",
    )
    .bind(&incident.id)
    .bind(who.department_id.clone().unwrap_or_default())
    .bind(&who.subject)
    .fetch_one(conn)
    .await?;
    Ok(Involvement {
        declared: incident.declared_by == who.subject,
        department: row.try_get::<i64, _>(0)? > 0,
        recipient: row.try_get::<i64, _>(1)? > 0,
    })
}

/// What ListIncidents filters by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<Status>,
    pub plan_id: Option<String>,
    pub department_id: Option<String>,
    pub drill: Option<bool>,
    /// `Some(person, department)`: only incidents they are part of.
    pub visible_to: Option<(String, String)>,
}

/// Incidents newest first after the id `after`.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    f: &Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Incident>, Error> {
    let (me, my_dept) = f.visible_to.clone().unwrap_or_default();
    let sql = format!(
        "SELECT {COLUMNS} FROM incident i WHERE ($1 = 0 OR status = $1) AND ($2 = '' OR plan_id = $2) \
         AND ($3 = '' OR EXISTS (SELECT 1 FROM incident_department d WHERE d.incident_id = i.id AND d.department_id = $3)) \
         AND ($4 = -1 OR drill = $4) \
         AND ($5 = 0 OR declared_by = $6 \
              OR EXISTS (SELECT 1 FROM incident_department d WHERE d.incident_id = i.id AND d.department_id = $7) \
              OR EXISTS (SELECT 1 FROM incident_recipient r WHERE r.incident_id = i.id AND r.person_id = $6)) \
         AND ($8 = '' OR id < $8) ORDER BY id DESC LIMIT $9"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(f.status.map(Status::code).unwrap_or(0))
        .bind(f.plan_id.clone().unwrap_or_default())
        .bind(f.department_id.clone().unwrap_or_default())
        .bind(f.drill.map(flag).unwrap_or(-1))
        .bind(flag(f.visible_to.is_some()))
        .bind(me)
        .bind(my_dept)
        .bind(after.unwrap_or_default())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// The departments of many incidents, for list responses.
#[tracing::instrument(skip_all, fields(incidents = ids.len()))]
pub async fn departments_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<Vec<DepartmentResponse>, Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {DEPT_COLUMNS} FROM incident_department d WHERE incident_id IN ({}) ORDER BY incident_id, {PLAN_ORDER}",
        placeholders(1, ids.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(decode_department)
        .collect()
}

/// The steps of many incidents, for list responses.
#[tracing::instrument(skip_all, fields(incidents = ids.len()))]
pub async fn steps_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<Vec<IncidentStep>, Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {STEP_COLUMNS} FROM incident_step WHERE incident_id IN ({}) ORDER BY incident_id, idx",
        placeholders(1, ids.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    q.fetch_all(conn).await?.iter().map(decode_step).collect()
}

/// Incidents by status, severity and drill, for the gauge.
#[tracing::instrument(skip_all)]
pub async fn census(conn: &mut AnyConnection) -> Result<Vec<(i64, i64, bool, i64)>, Error> {
    let rows = sqlx::query(
        "SELECT status, severity, drill, COUNT(*) FROM incident GROUP BY status, severity, drill",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get::<i64, _>(2)? != 0,
                r.try_get(3)?,
            ))
        })
        .collect()
}

//! Training plans and their sessions.

use std::collections::{BTreeSet, HashMap};

use concord_kit::Error;
use concord_kit::db::Db;
use concord_kit::page::{cursor, render_cursor};
use concord_kit::sql::{Sql, corrupt, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::plan::{Audience, Mode, Plan, PlanContent, PlanCounts, PlanState, Session};

/// The plan's columns and its counts, from `training_plan p`.
const COLUMNS: &str = "p.id, p.department_id, p.title, p.content_outline, p.mode, p.place, p.link, \
    p.audience_departments, p.audience_sub_departments, p.audience_people, p.capacity, \
    p.mandatory, p.deadline_ms, p.state, p.deadline_passed, p.created_by, p.created_ms, \
    p.updated_ms, p.publish_ms, p.cancel_reason, p.version, \
    (SELECT COUNT(*) FROM training_enrolment e WHERE e.plan_id = p.id AND e.status IN ('enrolled', 'completed')), \
    (SELECT COUNT(*) FROM training_enrolment e WHERE e.plan_id = p.id AND e.status = 'waitlisted'), \
    (SELECT COUNT(*) FROM training_enrolment e WHERE e.plan_id = p.id AND e.status = 'completed'), \
    (SELECT COUNT(*) FROM training_audience a WHERE a.plan_id = p.id)";

fn ids(json: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(json).map_err(|_| corrupt("id list", json))
}

fn from_row(r: &AnyRow) -> Result<Plan, Error> {
    let mode: String = r.try_get(4)?;
    let state: String = r.try_get(13)?;
    Ok(Plan {
        id: r.try_get(0)?,
        department_id: r.try_get(1)?,
        content: PlanContent {
            title: r.try_get(2)?,
            content_outline: r.try_get(3)?,
            mode: Mode::parse(&mode).ok_or_else(|| corrupt("mode", &mode))?,
            place: r.try_get(5)?,
            link: r.try_get(6)?,
            sessions: Vec::new(),
            audience: Audience {
                department_ids: ids(&r.try_get::<String, _>(7)?)?,
                include_sub_departments: r.try_get::<i64, _>(8)? != 0,
                person_ids: ids(&r.try_get::<String, _>(9)?)?,
            },
            capacity: r.try_get(10)?,
            mandatory: r.try_get::<i64, _>(11)? != 0,
            deadline_ms: r.try_get(12)?,
        },
        state: PlanState::parse(&state).ok_or_else(|| corrupt("plan state", &state))?,
        deadline_passed: r.try_get::<i64, _>(14)? != 0,
        created_by: r.try_get(15)?,
        created_ms: r.try_get(16)?,
        updated_ms: r.try_get(17)?,
        publish_ms: r.try_get(18)?,
        cancel_reason: r.try_get(19)?,
        version: r.try_get(20)?,
        counts: PlanCounts {
            seats_taken: r.try_get(21)?,
            waiting: r.try_get(22)?,
            completed: r.try_get(23)?,
            audience_size: r.try_get(24)?,
        },
    })
}

/// Stores a new plan with its sessions.
#[tracing::instrument(skip_all, fields(plan_id = %p.id))]
pub async fn insert(conn: &mut AnyConnection, p: &Plan) -> Result<(), Error> {
    let c = &p.content;
    sqlx::query(
        "INSERT INTO training_plan (id, department_id, title, content_outline, mode, place, link, \
         audience_departments, audience_sub_departments, audience_people, capacity, mandatory, \
         deadline_ms, state, deadline_passed, first_session_ms, created_by, created_ms, updated_ms, \
         publish_ms, cancel_reason, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, NULL, '', $20)",
    )
    .bind(&p.id)
    .bind(&p.department_id)
    .bind(&c.title)
    .bind(&c.content_outline)
    .bind(c.mode.as_str())
    .bind(&c.place)
    .bind(&c.link)
    .bind(serde_json::json!(c.audience.department_ids).to_string())
    .bind(i64::from(c.audience.include_sub_departments))
    .bind(serde_json::json!(c.audience.person_ids).to_string())
    .bind(c.capacity)
    .bind(i64::from(c.mandatory))
    .bind(c.deadline_ms)
    .bind(p.state.as_str())
    .bind(i64::from(p.deadline_passed))
    .bind(c.first_session_ms())
    .bind(&p.created_by)
    .bind(p.created_ms)
    .bind(p.updated_ms)
    .bind(p.version)
    .execute(&mut *conn)
    .await?;
    insert_sessions(conn, &p.id, &c.sessions).await
}

async fn insert_sessions(
    conn: &mut AnyConnection,
    plan_id: &str,
    sessions: &[Session],
) -> Result<(), Error> {
    for (i, s) in sessions.iter().enumerate() {
        sqlx::query(
            "INSERT INTO training_session (id, plan_id, position, title, start_ms, end_ms, place) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(plan_id)
        .bind(i64::try_from(i).unwrap_or(i64::MAX))
        .bind(&s.title)
        .bind(s.start_ms)
        .bind(s.end_ms)
        .bind(&s.place)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Replaces a draft's sessions (nothing refers to a draft's sessions).
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn replace_sessions(
    conn: &mut AnyConnection,
    plan_id: &str,
    sessions: &[Session],
) -> Result<(), Error> {
    sqlx::query("DELETE FROM training_session WHERE plan_id = $1")
        .bind(plan_id)
        .execute(&mut *conn)
        .await?;
    insert_sessions(conn, plan_id, sessions).await
}

/// Takes the plan row's lock for the rest of the transaction (on SQLite the
/// transaction already holds the write lock). `false` when there is no
/// such plan.
#[tracing::instrument(skip_all, fields(plan_id = %id))]
pub async fn lock(db: &Db, conn: &mut AnyConnection, id: &str) -> Result<bool, Error> {
    let sql = format!(
        "SELECT version FROM training_plan WHERE id = $1{}",
        db.for_update()
    );
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// What decides a seat, read under the plan row's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seating {
    pub state: PlanState,
    pub capacity: i64,
}

/// [`lock`], reading the state and capacity with the same statement (the
/// hot path of enrolment runs under this lock, one at a time per plan).
#[tracing::instrument(skip_all, fields(plan_id = %id))]
pub async fn lock_seating(
    db: &Db,
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<Seating>, Error> {
    let sql = format!(
        "SELECT state, capacity FROM training_plan WHERE id = $1{}",
        db.for_update()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        let state: String = r.try_get(0)?;
        Ok(Seating {
            state: PlanState::parse(&state).ok_or_else(|| corrupt("plan state", &state))?,
            capacity: r.try_get(1)?,
        })
    })
    .transpose()
}

/// A plan with its sessions and counts.
#[tracing::instrument(skip_all, fields(plan_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Plan>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM training_plan p WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut plan = from_row(&row)?;
    plan.content.sessions = sessions_of(conn, &[plan.id.clone()])
        .await?
        .remove(&plan.id)
        .unwrap_or_default();
    Ok(Some(plan))
}

/// The sessions of each plan, by start.
async fn sessions_of(
    conn: &mut AnyConnection,
    plan_ids: &[String],
) -> Result<HashMap<String, Vec<Session>>, Error> {
    let mut out: HashMap<String, Vec<Session>> = HashMap::new();
    if plan_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT plan_id, id, title, start_ms, end_ms, place FROM training_session \
         WHERE plan_id IN ({}) ORDER BY plan_id, position",
        placeholders(1, plan_ids.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for id in plan_ids {
        q = q.bind(id);
    }
    for r in q.fetch_all(conn).await? {
        out.entry(r.try_get(0)?).or_default().push(Session {
            id: r.try_get(1)?,
            title: r.try_get(2)?,
            start_ms: r.try_get(3)?,
            end_ms: r.try_get(4)?,
            place: r.try_get(5)?,
        });
    }
    Ok(out)
}

/// The session `session_id` of plan `plan_id`.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, session_id = %session_id))]
pub async fn session(
    conn: &mut AnyConnection,
    plan_id: &str,
    session_id: &str,
) -> Result<Option<Session>, Error> {
    let row = sqlx::query(
        "SELECT id, title, start_ms, end_ms, place FROM training_session \
         WHERE id = $1 AND plan_id = $2",
    )
    .bind(session_id)
    .bind(plan_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Session {
            id: r.try_get(0)?,
            title: r.try_get(1)?,
            start_ms: r.try_get(2)?,
            end_ms: r.try_get(3)?,
            place: r.try_get(4)?,
        })
    })
    .transpose()
}

/// Writes a plan's changed row if it is still at version `read`; `false`
/// when somebody changed it meanwhile.
#[tracing::instrument(skip_all, fields(plan_id = %p.id))]
pub async fn update(conn: &mut AnyConnection, p: &Plan, read: i64) -> Result<bool, Error> {
    let c = &p.content;
    let done = sqlx::query(
        "UPDATE training_plan SET title = $3, content_outline = $4, mode = $5, place = $6, \
         link = $7, audience_departments = $8, audience_sub_departments = $9, \
         audience_people = $10, capacity = $11, mandatory = $12, deadline_ms = $13, state = $14, \
         deadline_passed = $15, first_session_ms = $16, updated_ms = $17, publish_ms = $18, \
         cancel_reason = $19, version = $20 WHERE id = $1 AND version = $2",
    )
    .bind(&p.id)
    .bind(read)
    .bind(&c.title)
    .bind(&c.content_outline)
    .bind(c.mode.as_str())
    .bind(&c.place)
    .bind(&c.link)
    .bind(serde_json::json!(c.audience.department_ids).to_string())
    .bind(i64::from(c.audience.include_sub_departments))
    .bind(serde_json::json!(c.audience.person_ids).to_string())
    .bind(c.capacity)
    .bind(i64::from(c.mandatory))
    .bind(c.deadline_ms)
    .bind(p.state.as_str())
    .bind(i64::from(p.deadline_passed))
    .bind(c.first_session_ms())
    .bind(p.updated_ms)
    .bind(p.publish_ms)
    .bind(&p.cancel_reason)
    .bind(p.version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which plans a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    /// Organised by one of these departments; `None`: by any.
    pub departments: Option<BTreeSet<String>>,
    pub state: Option<PlanState>,
    pub mandatory_only: bool,
    /// Only published plans whose audience covers this person.
    pub audience_person: Option<String>,
    /// Drafts shown: `None` every draft, else only those of these
    /// departments.
    pub drafts_of: Option<BTreeSet<String>>,
}

/// Plans by first session, latest first, after the page cursor.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    f: &Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Plan>, Error> {
    let mut q = Sql::new(&format!(
        "SELECT {COLUMNS} FROM training_plan p WHERE 1 = 1"
    ));
    if let Some(ds) = &f.departments {
        let c = q.in_list("p.department_id", ds);
        q.push(&format!(" AND {c}"));
    }
    if let Some(s) = f.state {
        let p = q.text(s.as_str());
        q.push(&format!(" AND p.state = {p}"));
    }
    if f.mandatory_only {
        q.push(" AND p.mandatory = 1");
    }
    if let Some(person) = &f.audience_person {
        let p = q.text(person.clone());
        q.push(&format!(
            " AND p.state = 'published' AND EXISTS (SELECT 1 FROM training_audience a \
             WHERE a.plan_id = p.id AND a.person_id = {p})"
        ));
    }
    if let Some(ds) = &f.drafts_of {
        let c = q.in_list("p.department_id", ds);
        q.push(&format!(" AND (p.state <> 'draft' OR {c})"));
    }
    if let Some([first, id]) = cursor::<[String; 2]>(after)? {
        let first: i64 = first.parse().map_err(|_| {
            concord_kit::invalid("page_token", "is not a token returned by this list")
        })?;
        let (a, b) = (q.int(first), q.text(id));
        q.push(&format!(
            " AND (p.first_session_ms < {a} OR (p.first_session_ms = {a} AND p.id < {b}))"
        ));
    }
    let l = q.int(limit);
    q.push(&format!(
        " ORDER BY p.first_session_ms DESC, p.id DESC LIMIT {l}"
    ));
    let mut plans = q
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<String> = plans.iter().map(|p| p.id.clone()).collect();
    let mut sessions = sessions_of(conn, &ids).await?;
    for p in &mut plans {
        p.content.sessions = sessions.remove(&p.id).unwrap_or_default();
    }
    Ok(plans)
}

/// The page cursor of a plan in [`list`].
pub fn list_cursor(p: &Plan) -> String {
    render_cursor(&[&p.content.first_session_ms().to_string(), &p.id])
}

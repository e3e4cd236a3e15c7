//! Feedback items.

use concord_kit::Error;
use concord_kit::error::Context as _;
use concord_kit::sql::{Sql, flag, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::stats::Outcome;
use crate::domain::{Category, Channel, Item, Level, Priority, Routing, Status};

const COLUMNS: &str = "id, channel, category, priority, subject, body, location, links, anonymous, \
    submitter_id, department_id, routing, owner_id, status, escalation_level, \
    first_response_due_ms, resolution_start_ms, resolution_due_ms, first_response_ms, \
    resolved_ms, solution, auto_close_ms, closed_ms, closed_automatically, satisfaction, \
    satisfaction_comment, reopen_count, first_response_breached, resolution_breached, entries, \
    version, created_ms, updated_ms";

fn stored<T>(value: String, parse: fn(&str) -> Option<T>, what: &str) -> Result<T, Error> {
    parse(&value)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("stored {what} {value:?} is unknown")))
}

fn from_row(r: &AnyRow) -> Result<Item, Error> {
    let links: String = r.try_get(7)?;
    Ok(Item {
        id: r.try_get(0)?,
        channel: stored(r.try_get(1)?, Channel::parse, "channel")?,
        category: stored(r.try_get(2)?, Category::parse, "category")?,
        priority: stored(r.try_get(3)?, Priority::parse, "priority")?,
        subject: r.try_get(4)?,
        body: r.try_get(5)?,
        location: r.try_get(6)?,
        links: serde_json::from_str(&links).context("Failed to read stored links")?,
        anonymous: r.try_get::<i64, _>(8)? != 0,
        submitter_id: r.try_get(9)?,
        department_id: r.try_get(10)?,
        routing: stored(r.try_get(11)?, Routing::parse, "routing")?,
        owner_id: r.try_get(12)?,
        status: stored(r.try_get(13)?, Status::parse, "status")?,
        level: Level::from_stored(r.try_get(14)?).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("stored escalation level is unknown"))
        })?,
        first_response_due_ms: r.try_get(15)?,
        resolution_start_ms: r.try_get(16)?,
        resolution_due_ms: r.try_get(17)?,
        first_response_ms: r.try_get(18)?,
        resolved_ms: r.try_get(19)?,
        solution: r.try_get(20)?,
        auto_close_ms: r.try_get(21)?,
        closed_ms: r.try_get(22)?,
        closed_automatically: r.try_get::<i64, _>(23)? != 0,
        satisfaction: r.try_get(24)?,
        satisfaction_comment: r.try_get(25)?,
        reopen_count: r.try_get(26)?,
        first_response_breached: r.try_get::<i64, _>(27)? != 0,
        resolution_breached: r.try_get::<i64, _>(28)? != 0,
        entries: r.try_get(29)?,
        version: r.try_get(30)?,
        created_ms: r.try_get(31)?,
        updated_ms: r.try_get(32)?,
    })
}

/// Writes a new item; `code_hash` only for anonymous ones.
#[tracing::instrument(skip_all, fields(item_id = %i.id))]
pub async fn insert(
    conn: &mut AnyConnection,
    i: &Item,
    code_hash: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO feedback_item ({COLUMNS}, code_hash) VALUES ({})",
        placeholders(1, 34)
    )))
    .bind(&i.id)
    .bind(i.channel.as_str())
    .bind(i.category.as_str())
    .bind(i.priority.as_str())
    .bind(&i.subject)
    .bind(&i.body)
    .bind(&i.location)
    .bind(serde_json::to_string(&i.links).context("Failed to store links")?)
    .bind(flag(i.anonymous))
    .bind(&i.submitter_id)
    .bind(&i.department_id)
    .bind(i.routing.as_str())
    .bind(&i.owner_id)
    .bind(i.status.as_str())
    .bind(i.level.stored())
    .bind(i.first_response_due_ms)
    .bind(i.resolution_start_ms)
    .bind(i.resolution_due_ms)
    .bind(i.first_response_ms)
    .bind(i.resolved_ms)
    .bind(&i.solution)
    .bind(i.auto_close_ms)
    .bind(i.closed_ms)
    .bind(flag(i.closed_automatically))
    .bind(i.satisfaction)
    .bind(&i.satisfaction_comment)
    .bind(i.reopen_count)
    .bind(flag(i.first_response_breached))
    .bind(flag(i.resolution_breached))
    .bind(i.entries)
    .bind(i.version)
    .bind(i.created_ms)
    .bind(i.updated_ms)
    .bind(code_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// The item with `id`; `lock` is the backend's `FOR UPDATE` inside a
/// transaction that will change it, else empty.
#[tracing::instrument(skip_all, fields(item_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str, lock: &str) -> Result<Option<Item>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM feedback_item WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The anonymous item whose follow-up code hashes to `code_hash`.
#[tracing::instrument(skip_all)]
pub async fn by_code(
    conn: &mut AnyConnection,
    code_hash: &str,
    lock: &str,
) -> Result<Option<Item>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM feedback_item WHERE code_hash = $1{lock}"
    )))
    .bind(code_hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Replaces the follow-up code of an anonymous item.
#[tracing::instrument(skip_all, fields(item_id = %id))]
pub async fn set_code_hash(
    conn: &mut AnyConnection,
    id: &str,
    code_hash: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE feedback_item SET code_hash = $2 WHERE id = $1 AND anonymous = 1")
        .bind(id)
        .bind(code_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes the changed item if it is still at version `read`; `false` when
/// someone changed it meanwhile.
#[tracing::instrument(skip_all, fields(item_id = %i.id))]
pub async fn update(conn: &mut AnyConnection, i: &Item, read: i64) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE feedback_item SET category = $3, priority = $4, department_id = $5, routing = $6, \
         owner_id = $7, status = $8, escalation_level = $9, first_response_due_ms = $10, \
         resolution_start_ms = $11, resolution_due_ms = $12, first_response_ms = $13, \
         resolved_ms = $14, solution = $15, auto_close_ms = $16, closed_ms = $17, \
         closed_automatically = $18, satisfaction = $19, satisfaction_comment = $20, \
         reopen_count = $21, first_response_breached = $22, resolution_breached = $23, \
         entries = $24, version = $25, updated_ms = $26 \
         WHERE id = $1 AND version = $2",
    )
    .bind(&i.id)
    .bind(read)
    .bind(i.category.as_str())
    .bind(i.priority.as_str())
    .bind(&i.department_id)
    .bind(i.routing.as_str())
    .bind(&i.owner_id)
    .bind(i.status.as_str())
    .bind(i.level.stored())
    .bind(i.first_response_due_ms)
    .bind(i.resolution_start_ms)
    .bind(i.resolution_due_ms)
    .bind(i.first_response_ms)
    .bind(i.resolved_ms)
    .bind(&i.solution)
    .bind(i.auto_close_ms)
    .bind(i.closed_ms)
    .bind(flag(i.closed_automatically))
    .bind(i.satisfaction)
    .bind(&i.satisfaction_comment)
    .bind(i.reopen_count)
    .bind(flag(i.first_response_breached))
    .bind(flag(i.resolution_breached))
    .bind(i.entries)
    .bind(i.version)
    .bind(i.updated_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which items a list or a statistic covers.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `None`: every department (and unrouted items).
    pub departments: Option<Vec<String>>,
    pub triage_only: bool,
    pub statuses: Vec<Status>,
    pub category: Option<Category>,
    pub owner_id: Option<String>,
    pub submitter_id: Option<String>,
    /// Only items overdue at this time.
    pub overdue_at: Option<i64>,
    /// Received in `[start, end)`.
    pub created_in: Option<(i64, i64)>,
}

/// Appends the `WHERE` conditions of `f` to `q`, binding their values.
fn condition(q: &mut Sql, f: &Filter) {
    q.push(" WHERE 1 = 1");
    if let Some(ds) = &f.departments {
        let c = q.in_list("department_id", ds);
        q.push(&format!(" AND {c}"));
    }
    if f.triage_only {
        q.push(" AND department_id IS NULL");
    }
    if !f.statuses.is_empty() {
        let c = q.in_list("status", f.statuses.iter().map(|s| s.as_str()));
        q.push(&format!(" AND {c}"));
    }
    if let Some(c) = f.category {
        let p = q.text(c.as_str());
        q.push(&format!(" AND category = {p}"));
    }
    if let Some(o) = &f.owner_id {
        let p = q.text(o.clone());
        q.push(&format!(" AND owner_id = {p}"));
    }
    if let Some(s) = &f.submitter_id {
        let p = q.text(s.clone());
        q.push(&format!(" AND submitter_id = {p} AND anonymous = 0"));
    }
    if let Some(now) = f.overdue_at {
        let open = q.in_list("status", Status::OPEN.iter().map(|s| s.as_str()));
        let p = q.int(now);
        q.push(&format!(
            " AND {open} AND ((first_response_ms IS NULL AND first_response_due_ms <= {p}) \
             OR resolution_due_ms <= {p})"
        ));
    }
    if let Some((start, end)) = f.created_in {
        let (a, b) = (q.int(start), q.int(end));
        q.push(&format!(" AND created_ms >= {a} AND created_ms < {b}"));
    }
}

/// Items matching `f`, newest first, after the id `after`.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    f: &Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Item>, Error> {
    let mut q = Sql::new(&format!("SELECT {COLUMNS} FROM feedback_item"));
    condition(&mut q, f);
    if let Some(a) = after {
        let p = q.text(a);
        q.push(&format!(" AND id < {p}"));
    }
    let l = q.int(limit);
    q.push(&format!(" ORDER BY id DESC LIMIT {l}"));
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// What statistics need of the items matching `f`.
#[tracing::instrument(skip_all)]
pub async fn outcomes(conn: &mut AnyConnection, f: &Filter) -> Result<Vec<Outcome>, Error> {
    let mut q = Sql::new(
        "SELECT department_id, status, escalation_level, created_ms, first_response_due_ms, \
         resolution_due_ms, first_response_ms, resolved_ms, satisfaction, closed_automatically \
         FROM feedback_item",
    );
    condition(&mut q, f);
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(Outcome {
                department_id: r.try_get(0)?,
                status: stored(r.try_get(1)?, Status::parse, "status")?,
                level: Level::from_stored(r.try_get(2)?).unwrap_or(Level::Owner),
                created_ms: r.try_get(3)?,
                first_response_due_ms: r.try_get(4)?,
                resolution_due_ms: r.try_get(5)?,
                first_response_ms: r.try_get(6)?,
                resolved_ms: r.try_get(7)?,
                satisfaction: r.try_get(8)?,
                closed_automatically: r.try_get::<i64, _>(9)? != 0,
            })
        })
        .collect()
}

/// Open and overdue items per department (`None`: unrouted) at `now`.
#[tracing::instrument(skip_all)]
pub async fn open_counts(
    conn: &mut AnyConnection,
    now: i64,
) -> Result<Vec<(Option<String>, i64, i64)>, Error> {
    let rows = sqlx::query(
        "SELECT department_id, COUNT(*), \
         SUM(CASE WHEN (first_response_ms IS NULL AND first_response_due_ms <= $5) \
                   OR resolution_due_ms <= $5 THEN 1 ELSE 0 END) \
         FROM feedback_item WHERE status IN ($1, $2, $3, $4) GROUP BY department_id",
    )
    .bind(Status::OPEN[0].as_str())
    .bind(Status::OPEN[1].as_str())
    .bind(Status::OPEN[2].as_str())
    .bind(Status::OPEN[3].as_str())
    .bind(now)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            ))
        })
        .collect()
}

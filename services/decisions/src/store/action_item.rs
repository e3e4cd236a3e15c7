//! Action items, their supporting departments and progress notes.

use std::collections::HashMap;

use concord_kit::Error;
use concord_kit::sql::{flag, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::{KeyCursor, write_error};
use crate::domain::{ActionItem, ActionStatus};

const COLUMNS: &str = "id, title, description, proposal_id, lead_department_id, owner_id, due_ms, \
     status, overdue, done_ms, created_by, version, created_ms, updated_ms";

fn bad_status(s: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored status {s:?} is not known").into())
}

fn from_row(r: &AnyRow) -> Result<ActionItem, sqlx::Error> {
    let status: String = r.try_get(7)?;
    Ok(ActionItem {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        description: r.try_get(2)?,
        proposal_id: r.try_get(3)?,
        lead_department_id: r.try_get(4)?,
        supporting_department_ids: Vec::new(),
        owner_id: r.try_get(5)?,
        due_ms: r.try_get(6)?,
        status: ActionStatus::parse(&status).ok_or_else(|| bad_status(&status))?,
        overdue: r.try_get::<i64, _>(8)? != 0,
        done_ms: r.try_get(9)?,
        created_by: r.try_get(10)?,
        version: r.try_get(11)?,
        created_ms: r.try_get(12)?,
        updated_ms: r.try_get(13)?,
    })
}

async fn with_support(
    conn: &mut AnyConnection,
    mut items: Vec<ActionItem>,
) -> Result<Vec<ActionItem>, Error> {
    if items.is_empty() {
        return Ok(items);
    }
    let sql = format!(
        "SELECT action_item_id, department_id FROM action_item_support WHERE action_item_id IN ({}) \
         ORDER BY action_item_id, position",
        placeholders(1, items.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for i in &items {
        q = q.bind(i.id.clone());
    }
    let mut by_item: HashMap<String, Vec<String>> = HashMap::new();
    for r in q.fetch_all(conn).await? {
        by_item
            .entry(r.try_get(0)?)
            .or_default()
            .push(r.try_get(1)?);
    }
    for i in &mut items {
        i.supporting_department_ids = by_item.remove(&i.id).unwrap_or_default();
    }
    Ok(items)
}

/// The item with `id`, if any; `lock` is `Db::for_update()` inside a
/// transaction that changes it, else "".
#[tracing::instrument(skip_all, fields(action_item_id = %id))]
pub async fn get(
    conn: &mut AnyConnection,
    id: &str,
    lock: &str,
) -> Result<Option<ActionItem>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM action_item WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(item) = row.as_ref().map(from_row).transpose()? else {
        return Ok(None);
    };
    Ok(with_support(conn, vec![item]).await?.pop())
}

async fn write_support(conn: &mut AnyConnection, a: &ActionItem) -> Result<(), Error> {
    sqlx::query("DELETE FROM action_item_support WHERE action_item_id = $1")
        .bind(&a.id)
        .execute(&mut *conn)
        .await?;
    for (i, d) in a.supporting_department_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO action_item_support (action_item_id, department_id, position) VALUES ($1, $2, $3)",
        )
        .bind(&a.id)
        .bind(d)
        .bind(i64::try_from(i).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await
        .map_err(write_error)?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(action_item_id = %a.id, lead_department_id = %a.lead_department_id))]
pub async fn insert(conn: &mut AnyConnection, a: &ActionItem) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO action_item ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    )))
    .bind(&a.id)
    .bind(&a.title)
    .bind(&a.description)
    .bind(a.proposal_id.clone())
    .bind(&a.lead_department_id)
    .bind(&a.owner_id)
    .bind(a.due_ms)
    .bind(a.status.as_str())
    .bind(flag(a.overdue))
    .bind(a.done_ms)
    .bind(&a.created_by)
    .bind(a.version)
    .bind(a.created_ms)
    .bind(a.updated_ms)
    .execute(&mut *conn)
    .await
    .map_err(write_error)?;
    write_support(conn, a).await
}

/// Writes `a` over the stored row when that is still at `read_version`.
#[tracing::instrument(skip_all, fields(action_item_id = %a.id))]
pub async fn update(
    conn: &mut AnyConnection,
    a: &ActionItem,
    read_version: i64,
    support_changed: bool,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE action_item SET title = $3, description = $4, lead_department_id = $5, owner_id = $6, \
         due_ms = $7, status = $8, overdue = $9, done_ms = $10, version = $11, updated_ms = $12 \
         WHERE id = $1 AND version = $2",
    )
    .bind(&a.id)
    .bind(read_version)
    .bind(&a.title)
    .bind(&a.description)
    .bind(&a.lead_department_id)
    .bind(&a.owner_id)
    .bind(a.due_ms)
    .bind(a.status.as_str())
    .bind(flag(a.overdue))
    .bind(a.done_ms)
    .bind(a.version)
    .bind(a.updated_ms)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    if support_changed {
        write_support(conn, a).await?;
    }
    Ok(true)
}

/// What an action item list selects.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub department_id: Option<&'a str>,
    pub include_supporting: bool,
    pub owner_id: Option<&'a str>,
    pub status: Option<ActionStatus>,
    /// Only items past due at `now` and not done.
    pub overdue_at: Option<i64>,
    pub proposal_id: Option<&'a str>,
}

/// Items earliest due first, after `after`.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    f: &Filter<'_>,
    after: Option<&KeyCursor>,
    limit: i64,
) -> Result<Vec<ActionItem>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM action_item a WHERE \
         ($1 = '' OR a.lead_department_id = $1 OR ($2 = 1 AND EXISTS \
            (SELECT 1 FROM action_item_support s WHERE s.action_item_id = a.id AND s.department_id = $1))) \
         AND ($3 = '' OR a.owner_id = $3) AND ($4 = '' OR a.status = $4) \
         AND ($5 = 0 OR (a.status <> 'done' AND a.due_ms <= $6)) \
         AND ($7 = '' OR a.proposal_id = $7) \
         AND ($8 = 0 OR a.due_ms > $9 OR (a.due_ms = $9 AND a.id > $10)) \
         ORDER BY a.due_ms, a.id LIMIT $11"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(f.department_id.unwrap_or_default())
        .bind(flag(f.include_supporting))
        .bind(f.owner_id.unwrap_or_default())
        .bind(f.status.map(ActionStatus::as_str).unwrap_or_default())
        .bind(flag(f.overdue_at.is_some()))
        .bind(f.overdue_at.unwrap_or_default())
        .bind(f.proposal_id.unwrap_or_default())
        .bind(flag(after.is_some()))
        .bind(after.map(|c| c.0).unwrap_or_default())
        .bind(after.map(|c| c.1.clone()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    with_support(conn, items).await
}

/// Open (not done) and overdue items per lead department, for the gauges.
#[tracing::instrument(skip_all)]
pub async fn open_and_overdue_by_department(
    conn: &mut AnyConnection,
    now: i64,
) -> Result<Vec<(String, i64, i64)>, Error> {
    let rows = sqlx::query(
        "SELECT lead_department_id, COUNT(*), \
         SUM(CASE WHEN due_ms <= $1 THEN 1 ELSE 0 END) \
         FROM action_item WHERE status <> 'done' GROUP BY lead_department_id",
    )
    .bind(now)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get::<i64, _>(1)?,
                r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// A progress note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: String,
    pub action_item_id: String,
    pub author_id: String,
    pub text: String,
    pub status: Option<ActionStatus>,
    pub created_ms: i64,
}

#[tracing::instrument(skip_all, fields(action_item_id = %n.action_item_id))]
pub async fn insert_note(conn: &mut AnyConnection, n: &Note) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO progress_note (id, action_item_id, author_id, text, status, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&n.id)
    .bind(&n.action_item_id)
    .bind(&n.author_id)
    .bind(&n.text)
    .bind(n.status.map(ActionStatus::as_str).unwrap_or_default())
    .bind(n.created_ms)
    .execute(conn)
    .await
    .map_err(write_error)?;
    Ok(())
}

/// Notes of an item, oldest first, after the id `after`.
#[tracing::instrument(skip_all, fields(action_item_id = %item_id))]
pub async fn notes(
    conn: &mut AnyConnection,
    item_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Note>, Error> {
    let rows = sqlx::query(
        "SELECT id, action_item_id, author_id, text, status, created_ms FROM progress_note \
         WHERE action_item_id = $1 AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3",
    )
    .bind(item_id)
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get(4)?;
            Ok(Note {
                id: r.try_get(0)?,
                action_item_id: r.try_get(1)?,
                author_id: r.try_get(2)?,
                text: r.try_get(3)?,
                status: if status.is_empty() {
                    None
                } else {
                    Some(ActionStatus::parse(&status).ok_or_else(|| bad_status(&status))?)
                },
                created_ms: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

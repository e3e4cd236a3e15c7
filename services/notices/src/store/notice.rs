//! Notices.

use concord_kit::Error;
use concord_kit::sql::{flag, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::{Attachment, Audience, Notice, NoticeState, Priority};

pub const COLUMNS: &str = "n.id, n.title, n.body, n.author_id, n.author_department_id, n.audience, n.priority, \
     n.ack_required, n.attachments, n.publish_ms, n.expire_ms, n.state, n.published_ms, n.recipient_count, \
     n.pushed, n.meeting_id, n.version, n.created_ms, n.updated_ms";
/// How many columns [`COLUMNS`] has; joined queries read theirs after it.
pub const WIDTH: usize = 19;

pub fn decode(r: &AnyRow) -> Result<Notice, Error> {
    let priority: i64 = r.try_get(6)?;
    let state: i64 = r.try_get(11)?;
    let attachments: String = r.try_get(8)?;
    Ok(Notice {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        body: r.try_get(2)?,
        author_id: r.try_get(3)?,
        author_department_id: r.try_get(4)?,
        audience: Audience::from_json(&r.try_get::<String, _>(5)?),
        priority: Priority::from_i64(priority).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("stored priority {priority} is unknown"))
        })?,
        ack_required: r.try_get::<i64, _>(7)? != 0,
        attachments: serde_json::from_str::<Vec<Attachment>>(&attachments).unwrap_or_default(),
        publish_ms: r.try_get(9)?,
        expire_ms: r.try_get(10)?,
        state: NoticeState::from_i64(state)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("stored state {state} is unknown")))?,
        published_ms: r.try_get(12)?,
        recipient_count: r.try_get(13)?,
        pushed: r.try_get::<i64, _>(14)? != 0,
        meeting_id: r.try_get(15)?,
        version: r.try_get(16)?,
        created_ms: r.try_get(17)?,
        updated_ms: r.try_get(18)?,
    })
}

#[tracing::instrument(skip_all, fields(notice_id = %n.id))]
pub async fn insert(conn: &mut AnyConnection, n: &Notice) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO notice (id, title, body, author_id, author_department_id, audience, priority, ack_required, \
         attachments, publish_ms, expire_ms, state, published_ms, recipient_count, pushed, meeting_id, version, \
         created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(&n.id)
    .bind(&n.title)
    .bind(&n.body)
    .bind(&n.author_id)
    .bind(&n.author_department_id)
    .bind(n.audience.to_json())
    .bind(n.priority as i64)
    .bind(flag(n.ack_required))
    .bind(serde_json::to_string(&n.attachments).unwrap_or_default())
    .bind(n.publish_ms)
    .bind(n.expire_ms)
    .bind(n.state as i64)
    .bind(n.published_ms)
    .bind(n.recipient_count)
    .bind(flag(n.pushed))
    .bind(&n.meeting_id)
    .bind(n.version)
    .bind(n.created_ms)
    .bind(n.updated_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads a notice; `lock` adds the backend's row lock (inside a transaction).
#[tracing::instrument(skip_all, fields(notice_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str, lock: &str) -> Result<Option<Notice>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM notice n WHERE n.id = $1{lock}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Writes every field of `n` if the stored version is still `read_version`.
#[tracing::instrument(skip_all, fields(notice_id = %n.id))]
pub async fn update(
    conn: &mut AnyConnection,
    n: &Notice,
    read_version: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE notice SET title = $3, body = $4, audience = $5, priority = $6, ack_required = $7, attachments = $8, \
         publish_ms = $9, expire_ms = $10, state = $11, published_ms = $12, recipient_count = $13, pushed = $14, \
         version = $15, updated_ms = $16 WHERE id = $1 AND version = $2",
    )
    .bind(&n.id)
    .bind(read_version)
    .bind(&n.title)
    .bind(&n.body)
    .bind(n.audience.to_json())
    .bind(n.priority as i64)
    .bind(flag(n.ack_required))
    .bind(serde_json::to_string(&n.attachments).unwrap_or_default())
    .bind(n.publish_ms)
    .bind(n.expire_ms)
    .bind(n.state as i64)
    .bind(n.published_ms)
    .bind(n.recipient_count)
    .bind(flag(n.pushed))
    .bind(n.version)
    .bind(n.updated_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Who may see which notices in a list.
#[derive(Debug, Clone)]
pub enum Visible<'a> {
    All,
    /// Authored by this person or by someone in these departments.
    AuthorOrDepartments(&'a str, &'a [String]),
}

/// One page of notices, newest first (ids are time-ordered).
#[tracing::instrument(skip_all, fields(limit = limit))]
pub async fn list(
    conn: &mut AnyConnection,
    visible: Visible<'_>,
    author_id: Option<&str>,
    state: Option<NoticeState>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Notice>, Error> {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM notice n WHERE ($1 = '' OR n.author_id = $1) AND ($2 = 0 OR n.state = $2) \
         AND ($3 = '' OR n.id < $3)"
    );
    let departments: &[String] = match visible {
        Visible::All => &[],
        Visible::AuthorOrDepartments(_, d) => d,
    };
    if let Visible::AuthorOrDepartments(..) = visible {
        sql.push_str(" AND (n.author_id = $5");
        if !departments.is_empty() {
            sql.push_str(&format!(
                " OR n.author_department_id IN ({})",
                placeholders(6, departments.len())
            ));
        }
        sql.push(')');
    } else {
        sql.push_str(" AND $5 = ''");
    }
    sql.push_str(" ORDER BY n.id DESC LIMIT $4");
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(author_id.unwrap_or_default().to_string())
        .bind(state.map_or(0, |s| s as i64))
        .bind(after.unwrap_or_default().to_string())
        .bind(limit)
        .bind(match visible {
            Visible::All => String::new(),
            Visible::AuthorOrDepartments(me, _) => me.to_string(),
        });
    for d in departments {
        q = q.bind(d);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(decode).collect()
}

//! Timeline entries, numbered per item. The item row is locked (or, on
//! SQLite, the write lock held) while its entries are numbered, so the
//! numbers have no gaps and follow commit order.

use concord_kit::Error;
use concord_kit::ids::new_id;
use concord_kit::sql::flag;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{Author, EntryKind, NewEntry, Status};

/// A stored timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub item_id: String,
    pub seq: i64,
    pub id: String,
    pub kind: EntryKind,
    pub public: bool,
    pub author: Author,
    pub author_id: Option<String>,
    pub text: String,
    pub status: Option<Status>,
    pub created_ms: i64,
}

fn from_row(r: &AnyRow) -> Result<Entry, Error> {
    let unknown = |what: &str| Error::Internal(anyhow::anyhow!("stored entry {what} is unknown"));
    let status: Option<String> = r.try_get(8)?;
    Ok(Entry {
        item_id: r.try_get(0)?,
        seq: r.try_get(1)?,
        id: r.try_get(2)?,
        kind: EntryKind::parse(&r.try_get::<String, _>(3)?).ok_or_else(|| unknown("kind"))?,
        public: r.try_get::<i64, _>(4)? != 0,
        author: Author::parse(&r.try_get::<String, _>(5)?).ok_or_else(|| unknown("author"))?,
        author_id: r.try_get(6)?,
        text: r.try_get(7)?,
        status: status
            .map(|s| Status::parse(&s).ok_or_else(|| unknown("status")))
            .transpose()?,
        created_ms: r.try_get(9)?,
    })
}

const COLUMNS: &str = "item_id, seq, id, kind, public, author, author_id, text, status, created_ms";

/// Writes `entries` after the item's `first_seq - 1` entries; returns them.
#[tracing::instrument(skip_all, fields(item_id = %item_id))]
pub async fn insert(
    conn: &mut AnyConnection,
    item_id: &str,
    first_seq: i64,
    entries: &[NewEntry],
    now: i64,
) -> Result<Vec<Entry>, Error> {
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let entry = Entry {
            item_id: item_id.to_string(),
            seq: first_seq + i64::try_from(i).unwrap_or(0),
            id: new_id(),
            kind: e.kind,
            public: e.public,
            author: e.author,
            author_id: e.author_id.clone(),
            text: e.text.clone(),
            status: e.status,
            created_ms: now,
        };
        sqlx::query(
            "INSERT INTO feedback_entry (item_id, seq, id, kind, public, author, author_id, text, status, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&entry.item_id)
        .bind(entry.seq)
        .bind(&entry.id)
        .bind(entry.kind.as_str())
        .bind(flag(entry.public))
        .bind(entry.author.as_str())
        .bind(&entry.author_id)
        .bind(&entry.text)
        .bind(entry.status.map(|s| s.as_str()))
        .bind(entry.created_ms)
        .execute(&mut *conn)
        .await?;
        out.push(entry);
    }
    Ok(out)
}

/// The item's entries after `after_seq`, oldest first; only public ones
/// when `public_only`.
#[tracing::instrument(skip_all, fields(item_id = %item_id))]
pub async fn list(
    conn: &mut AnyConnection,
    item_id: &str,
    public_only: bool,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Entry>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM feedback_entry WHERE item_id = $1 AND seq > $2 \
         AND ($3 = 0 OR public = 1) ORDER BY seq LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(item_id)
        .bind(after_seq)
        .bind(flag(public_only))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The latest `limit` public entries of the item, oldest first.
#[tracing::instrument(skip_all, fields(item_id = %item_id))]
pub async fn latest_public(
    conn: &mut AnyConnection,
    item_id: &str,
    limit: i64,
) -> Result<Vec<Entry>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM feedback_entry WHERE item_id = $1 AND public = 1 \
         ORDER BY seq DESC LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(item_id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok(out)
}

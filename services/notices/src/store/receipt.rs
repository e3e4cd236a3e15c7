//! Receipts: one row per recipient, written in the publishing transaction.

use concord_kit::Error;
use concord_kit::sql::{flag, tuples};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::CHUNK;
use crate::domain::{Receipt, ReceiptCounts, ReceiptFilter};

/// A person an audience resolved to.
pub use concord_kit::directory::Member as Recipient;

pub const COLUMNS: &str = "r.notice_id, r.person_id, r.department_id, r.display_name, r.delivered_ms, r.ack_required, r.read_ms, r.ack_ms, r.reminders";

/// Decodes the receipt columns starting at `at`.
pub fn decode(r: &AnyRow, at: usize) -> Result<Receipt, Error> {
    Ok(Receipt {
        notice_id: r.try_get(at)?,
        person_id: r.try_get(at + 1)?,
        department_id: r.try_get(at + 2)?,
        display_name: r.try_get(at + 3)?,
        delivered_ms: r.try_get(at + 4)?,
        ack_required: r.try_get::<i64, _>(at + 5)? != 0,
        read_ms: r.try_get(at + 6)?,
        ack_ms: r.try_get(at + 7)?,
        reminders: r.try_get(at + 8)?,
    })
}

/// Writes the receipts of a notice, [`CHUNK`] rows a statement.
#[tracing::instrument(skip_all, fields(notice_id = %notice_id, recipients = recipients.len()))]
pub async fn insert_many(
    conn: &mut AnyConnection,
    notice_id: &str,
    delivered_ms: i64,
    ack_required: bool,
    recipients: &[Recipient],
) -> Result<(), Error> {
    for chunk in recipients.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO receipt (notice_id, person_id, department_id, display_name, delivered_ms, ack_required, \
             read_ms, ack_ms, reminders, last_reminder_id) VALUES {}",
            tuples(1, chunk.len(), 6, ", NULL, NULL, 0, ''")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(notice_id)
                .bind(&r.person_id)
                .bind(&r.department_id)
                .bind(&r.display_name)
                .bind(delivered_ms)
                .bind(flag(ack_required));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(notice_id = %notice_id, person_id = %person_id))]
pub async fn get(
    conn: &mut AnyConnection,
    notice_id: &str,
    person_id: &str,
) -> Result<Option<Receipt>, Error> {
    get_locked(conn, notice_id, person_id, "").await
}

/// [`get`] with the backend's row lock (`lock`), inside a transaction.
async fn get_locked(
    conn: &mut AnyConnection,
    notice_id: &str,
    person_id: &str,
    lock: &str,
) -> Result<Option<Receipt>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM receipt r WHERE r.notice_id = $1 AND r.person_id = $2{lock}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(notice_id)
        .bind(person_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(|r| decode(r, 0)).transpose()
}

/// Sets the read time unless already read (and, with `acknowledge`, the
/// acknowledgement time unless already given). Returns the receipt before
/// and after; `lock` holds the row so two marks at once see one "before".
#[tracing::instrument(skip_all, fields(notice_id = %notice_id, person_id = %person_id))]
pub async fn mark(
    conn: &mut AnyConnection,
    notice_id: &str,
    person_id: &str,
    now: i64,
    acknowledge: bool,
    lock: &str,
) -> Result<Option<(Receipt, Receipt)>, Error> {
    let Some(before) = get_locked(conn, notice_id, person_id, lock).await? else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE receipt SET read_ms = COALESCE(read_ms, $3), \
         ack_ms = CASE WHEN $4 = 1 THEN COALESCE(ack_ms, $3) ELSE ack_ms END \
         WHERE notice_id = $1 AND person_id = $2",
    )
    .bind(notice_id)
    .bind(person_id)
    .bind(now)
    .bind(flag(acknowledge))
    .execute(&mut *conn)
    .await?;
    let after = get(conn, notice_id, person_id)
        .await?
        .unwrap_or_else(|| before.clone());
    Ok(Some((before, after)))
}

/// One page of a notice's receipts ordered by name, after `(name, person)`.
#[tracing::instrument(skip_all, fields(notice_id = %notice_id, limit = limit))]
pub async fn list(
    conn: &mut AnyConnection,
    notice_id: &str,
    filter: ReceiptFilter,
    after: Option<&(String, String)>,
    limit: i64,
) -> Result<Vec<Receipt>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM receipt r WHERE r.notice_id = $1 AND {} \
         AND ($2 = 0 OR r.display_name > $3 OR (r.display_name = $3 AND r.person_id > $4)) \
         ORDER BY r.display_name, r.person_id LIMIT $5",
        filter.condition("r.")
    );
    let (name, person) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(notice_id)
        .bind(flag(after.is_some()))
        .bind(name)
        .bind(person)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| decode(r, 0)).collect()
}

/// Recipients, read, acknowledged and reminders of a notice.
#[tracing::instrument(skip_all, fields(notice_id = %notice_id))]
pub async fn counts(conn: &mut AnyConnection, notice_id: &str) -> Result<ReceiptCounts, Error> {
    let row = sqlx::query(
        "SELECT COUNT(*), \
         CAST(COALESCE(SUM(CASE WHEN read_ms IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN ack_ms IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(reminders), 0) AS BIGINT) \
         FROM receipt WHERE notice_id = $1",
    )
    .bind(notice_id)
    .fetch_one(&mut *conn)
    .await?;
    let rounds: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM reminder WHERE notice_id = $1 AND recipients > 0")
            .bind(notice_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(ReceiptCounts {
        recipients: row.try_get(0)?,
        read: row.try_get(1)?,
        acknowledged: row.try_get(2)?,
        reminders_sent: row.try_get(3)?,
        reminder_rounds: rounds,
    })
}

/// Counts a reminder on every receipt matching `filter` and returns who it
/// reached.
#[tracing::instrument(skip_all, fields(notice_id = %notice_id, reminder_id = %reminder_id))]
pub async fn remind(
    conn: &mut AnyConnection,
    notice_id: &str,
    filter: ReceiptFilter,
    reminder_id: &str,
) -> Result<Vec<String>, Error> {
    let sql = format!(
        "UPDATE receipt SET reminders = reminders + 1, last_reminder_id = $2 \
         WHERE notice_id = $1 AND {} RETURNING person_id",
        filter.condition("")
    );
    let ids = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(notice_id)
        .bind(reminder_id)
        .fetch_all(conn)
        .await?;
    Ok(ids)
}

/// Every recipient of a notice.
#[tracing::instrument(skip_all, fields(notice_id = %notice_id))]
pub async fn recipients(conn: &mut AnyConnection, notice_id: &str) -> Result<Vec<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT person_id FROM receipt WHERE notice_id = $1")
            .bind(notice_id)
            .fetch_all(conn)
            .await?,
    )
}

/// The recipients a reminder round reached that still match `filter`.
#[tracing::instrument(skip_all, fields(reminder_id = %reminder_id))]
pub async fn reminded(
    conn: &mut AnyConnection,
    notice_id: &str,
    reminder_id: &str,
    filter: ReceiptFilter,
) -> Result<Vec<String>, Error> {
    let sql = format!(
        "SELECT person_id FROM receipt WHERE notice_id = $1 AND last_reminder_id = $2 AND {}",
        filter.condition("")
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(notice_id)
        .bind(reminder_id)
        .fetch_all(conn)
        .await?)
}

/// A reminder round as stored.
#[derive(Debug, Clone)]
pub struct Reminder {
    pub id: String,
    pub notice_id: String,
    pub target: ReceiptFilter,
    pub recipients: i64,
    pub delivered: bool,
}

#[tracing::instrument(skip_all, fields(reminder_id = %r.id))]
pub async fn insert_reminder(
    conn: &mut AnyConnection,
    r: &Reminder,
    sent_by: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO reminder (id, notice_id, target, recipients, delivered, sent_by, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.id)
    .bind(&r.notice_id)
    .bind(r.target as i64)
    .bind(r.recipients)
    .bind(flag(r.delivered))
    .bind(sent_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(reminder_id = %id))]
pub async fn get_reminder(
    conn: &mut AnyConnection,
    id: &str,
    lock: &str,
) -> Result<Option<Reminder>, Error> {
    let sql = format!(
        "SELECT id, notice_id, target, recipients, delivered FROM reminder WHERE id = $1{lock}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        let target: i64 = r.try_get(2)?;
        Ok(Reminder {
            id: r.try_get(0)?,
            notice_id: r.try_get(1)?,
            target: i32::try_from(target)
                .ok()
                .and_then(ReceiptFilter::from_i32)
                .unwrap_or(ReceiptFilter::Unread),
            recipients: r.try_get(3)?,
            delivered: r.try_get::<i64, _>(4)? != 0,
        })
    })
    .transpose()
}

#[tracing::instrument(skip_all, fields(reminder_id = %id))]
pub async fn reminder_delivered(conn: &mut AnyConnection, id: &str) -> Result<(), Error> {
    sqlx::query("UPDATE reminder SET delivered = 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

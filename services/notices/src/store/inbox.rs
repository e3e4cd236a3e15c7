//! Inboxes: the receipts seen from the recipient's side, and the event log
//! the inbox stream resumes from. Each person's events are numbered by their
//! `inbox_seq` row, incremented under its row lock in the transaction that
//! writes the events, so the numbers are gap-free in commit order.

use concord_kit::Error;
use concord_kit::db::Backend;
use concord_kit::sql::{flag, placeholders, tuples};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::CHUNK;
use crate::domain::{EventKind, Notice, NoticeState, Receipt};

/// Appends an event of `kind` about `notice_id` to each person's inbox.
/// People are handled in sorted order, so two transactions lock the
/// counters in the same order and cannot deadlock.
#[tracing::instrument(skip_all, fields(notice_id = %notice_id, kind = ?kind, people = people.len()))]
pub async fn append(
    conn: &mut AnyConnection,
    backend: Backend,
    kind: EventKind,
    notice_id: &str,
    people: &[String],
    now: i64,
) -> Result<(), Error> {
    let mut sorted: Vec<&String> = people.iter().collect();
    sorted.sort();
    sorted.dedup();
    for chunk in sorted.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO inbox_seq (person_id, seq) VALUES {} ON CONFLICT (person_id) DO NOTHING",
            tuples(1, chunk.len(), 1, ", 0")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for p in chunk {
            q = q.bind(*p);
        }
        q.execute(&mut *conn).await?;
        let list = placeholders(1, chunk.len());
        if backend == Backend::Postgres {
            // Take the row locks in person order (SQLite's writer lock
            // already serializes this).
            let sql = format!(
                "SELECT person_id FROM inbox_seq WHERE person_id IN ({list}) ORDER BY person_id FOR UPDATE"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for p in chunk {
                q = q.bind(*p);
            }
            q.fetch_all(&mut *conn).await?;
        }
        let sql = format!(
            "UPDATE inbox_seq SET seq = seq + 1 WHERE person_id IN ({list}) RETURNING person_id, seq"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for p in chunk {
            q = q.bind(*p);
        }
        let numbered: Vec<(String, i64)> = q
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        // The notice id and time are the same in every row: bound once, last.
        let n = numbered.len() * 2;
        let rows = (0..numbered.len())
            .map(|i| {
                format!(
                    "(${}, ${}, {}, ${}, ${})",
                    2 * i + 1,
                    2 * i + 2,
                    kind as i64,
                    n + 1,
                    n + 2
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO inbox_event (person_id, seq, kind, notice_id, at_ms) VALUES {rows}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (person, seq) in &numbered {
            q = q.bind(person).bind(*seq);
        }
        q.bind(notice_id).bind(now).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The person's latest event number (0 before the first).
#[tracing::instrument(skip_all, fields(person_id = %person_id))]
pub async fn sequence(conn: &mut AnyConnection, person_id: &str) -> Result<i64, Error> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM inbox_seq WHERE person_id = $1")
        .bind(person_id)
        .fetch_optional(conn)
        .await?;
    Ok(seq.unwrap_or(0))
}

/// Events after `after`, oldest first, with their notices.
#[tracing::instrument(skip_all, fields(person_id = %person_id, after = after))]
pub async fn events_after(
    conn: &mut AnyConnection,
    person_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, EventKind, i64, Notice)>, Error> {
    let sql = format!(
        "SELECT {}, e.seq, e.kind, e.at_ms FROM inbox_event e JOIN notice n ON n.id = e.notice_id \
         WHERE e.person_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
        super::notice::COLUMNS
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(person_id)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let w = super::notice::WIDTH;
    rows.iter()
        .map(|r| {
            let kind: i64 = r.try_get(w + 1)?;
            let kind = EventKind::from_i64(kind).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("stored event kind {kind} is unknown"))
            })?;
            Ok((
                r.try_get(w)?,
                kind,
                r.try_get(w + 2)?,
                super::notice::decode(r)?,
            ))
        })
        .collect()
}

/// Which inbox items a list shows.
#[derive(Debug, Clone, Copy)]
pub struct InboxFilter {
    pub unread_only: bool,
    pub include_expired: bool,
}

fn visible_states(include_expired: bool) -> String {
    if include_expired {
        format!(
            "({}, {})",
            NoticeState::Published as i64,
            NoticeState::Expired as i64
        )
    } else {
        format!("({})", NoticeState::Published as i64)
    }
}

/// One page of a person's inbox, newest first, after `(delivered, notice)`.
#[tracing::instrument(skip_all, fields(person_id = %person_id, limit = limit))]
pub async fn list(
    conn: &mut AnyConnection,
    person_id: &str,
    filter: InboxFilter,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<(Notice, Receipt)>, Error> {
    let sql = format!(
        "SELECT {}, {} FROM receipt r JOIN notice n ON n.id = r.notice_id \
         WHERE r.person_id = $1 AND n.state IN {} AND ($2 = 0 OR r.read_ms IS NULL) \
         AND ($3 = 0 OR r.delivered_ms < $4 OR (r.delivered_ms = $4 AND r.notice_id < $5)) \
         ORDER BY r.delivered_ms DESC, r.notice_id DESC LIMIT $6",
        super::notice::COLUMNS,
        super::receipt::COLUMNS,
        visible_states(filter.include_expired)
    );
    let (ms, id) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(person_id)
        .bind(flag(filter.unread_only))
        .bind(flag(after.is_some()))
        .bind(ms)
        .bind(id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                super::notice::decode(r)?,
                super::receipt::decode(r, super::notice::WIDTH)?,
            ))
        })
        .collect()
}

/// Unread notices that are still published.
#[tracing::instrument(skip_all, fields(person_id = %person_id))]
pub async fn unread_count(conn: &mut AnyConnection, person_id: &str) -> Result<i64, Error> {
    let sql = format!(
        "SELECT COUNT(*) FROM receipt r JOIN notice n ON n.id = r.notice_id \
         WHERE r.person_id = $1 AND r.read_ms IS NULL AND n.state IN {}",
        visible_states(false)
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(person_id)
        .fetch_one(conn)
        .await?)
}

//! Meetings, their participants, and what is recorded per occurrence:
//! agenda items, attendance and minutes.

use concord_kit::Error;
use concord_kit::clock::Millis;
use concord_kit::sql::{flag, placeholders, tuples};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::{Meeting, Recurrence, sort_key};

const COLUMNS: &str = "m.id, m.title, m.description, m.recurrence, m.first_start_ms, m.duration_ms, m.location, \
     m.organizing_department_id, m.until_ms, m.cancelled, m.created_by, m.version, m.created_ms, m.updated_ms";

fn decode(r: &sqlx::any::AnyRow) -> Result<Meeting, Error> {
    let recurrence: i64 = r.try_get(3)?;
    Ok(Meeting {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        description: r.try_get(2)?,
        recurrence: Recurrence::from_i64(recurrence).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("stored recurrence {recurrence} is unknown"))
        })?,
        first_start_ms: r.try_get(4)?,
        duration_ms: r.try_get(5)?,
        location: r.try_get(6)?,
        organizing_department_id: r.try_get(7)?,
        until_ms: r.try_get(8)?,
        cancelled: r.try_get::<i64, _>(9)? != 0,
        created_by: r.try_get(10)?,
        version: r.try_get(11)?,
        created_ms: r.try_get(12)?,
        updated_ms: r.try_get(13)?,
        participant_department_ids: Vec::new(),
        participant_person_ids: Vec::new(),
    })
}

/// Fills in the participants of `meetings`.
async fn with_participants(
    conn: &mut AnyConnection,
    mut meetings: Vec<Meeting>,
) -> Result<Vec<Meeting>, Error> {
    for chunk in meetings.chunks_mut(super::CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|m| m.id.as_str()).collect();
        let sql = format!(
            "SELECT meeting_id, kind, ref_id FROM meeting_participant WHERE meeting_id IN ({}) ORDER BY position",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in &ids {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let (meeting, kind, id): (String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            if let Some(m) = chunk.iter_mut().find(|m| m.id == meeting) {
                match kind.as_str() {
                    "department" => m.participant_department_ids.push(id),
                    _ => m.participant_person_ids.push(id),
                }
            }
        }
    }
    Ok(meetings)
}

/// Replaces the participants of a meeting.
async fn write_participants(conn: &mut AnyConnection, m: &Meeting) -> Result<(), Error> {
    sqlx::query("DELETE FROM meeting_participant WHERE meeting_id = $1")
        .bind(&m.id)
        .execute(&mut *conn)
        .await?;
    let all: Vec<(&str, &String)> = m
        .participant_department_ids
        .iter()
        .map(|d| ("department", d))
        .chain(m.participant_person_ids.iter().map(|p| ("person", p)))
        .collect();
    for (offset, chunk) in all.chunks(super::CHUNK).enumerate() {
        let sql = format!(
            "INSERT INTO meeting_participant (meeting_id, kind, ref_id, position) VALUES {}",
            tuples(1, chunk.len(), 4, "")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (i, (kind, id)) in chunk.iter().enumerate() {
            let position = i64::try_from(offset * super::CHUNK + i).unwrap_or(i64::MAX);
            q = q.bind(&m.id).bind(*kind).bind(*id).bind(position);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(meeting_id = %m.id))]
pub async fn insert(conn: &mut AnyConnection, m: &Meeting) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO meeting (id, title, sort_key, description, recurrence, first_start_ms, duration_ms, location, \
         organizing_department_id, until_ms, cancelled, created_by, version, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&m.id)
    .bind(&m.title)
    .bind(sort_key(&m.title))
    .bind(&m.description)
    .bind(m.recurrence as i64)
    .bind(m.first_start_ms)
    .bind(m.duration_ms)
    .bind(&m.location)
    .bind(&m.organizing_department_id)
    .bind(m.until_ms)
    .bind(flag(m.cancelled))
    .bind(&m.created_by)
    .bind(m.version)
    .bind(m.created_ms)
    .bind(m.updated_ms)
    .execute(&mut *conn)
    .await?;
    write_participants(conn, m).await
}

#[tracing::instrument(skip_all, fields(meeting_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str, lock: &str) -> Result<Option<Meeting>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM meeting m WHERE m.id = $1{lock}");
    let Some(row) = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(with_participants(conn, vec![decode(&row)?]).await?.pop())
}

/// Writes every field of `m` if the stored version is still `read_version`.
#[tracing::instrument(skip_all, fields(meeting_id = %m.id))]
pub async fn update(
    conn: &mut AnyConnection,
    m: &Meeting,
    read_version: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE meeting SET title = $3, sort_key = $4, description = $5, duration_ms = $6, location = $7, \
         until_ms = $8, cancelled = $9, version = $10, updated_ms = $11 WHERE id = $1 AND version = $2",
    )
    .bind(&m.id)
    .bind(read_version)
    .bind(&m.title)
    .bind(sort_key(&m.title))
    .bind(&m.description)
    .bind(m.duration_ms)
    .bind(&m.location)
    .bind(m.until_ms)
    .bind(flag(m.cancelled))
    .bind(m.version)
    .bind(m.updated_ms)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    write_participants(conn, m).await?;
    Ok(true)
}

/// Whose meetings a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Visible<'a> {
    All,
    /// Meetings this person created or takes part in, or that this
    /// department organises or takes part in.
    Involving {
        person_id: &'a str,
        department_id: &'a str,
    },
}

/// One page of meetings by title, after `(sort_key, id)`.
#[tracing::instrument(skip_all, fields(limit = limit))]
pub async fn list(
    conn: &mut AnyConnection,
    visible: Visible<'_>,
    organizing_department_id: Option<&str>,
    include_cancelled: bool,
    after: Option<&(String, String)>,
    limit: i64,
) -> Result<Vec<Meeting>, Error> {
    let (all, person, department) = match visible {
        Visible::All => (true, "", ""),
        Visible::Involving {
            person_id,
            department_id,
        } => (false, person_id, department_id),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM meeting m WHERE ($1 = '' OR m.organizing_department_id = $1) \
         AND ($2 = 1 OR m.cancelled = 0) \
         AND ($3 = 0 OR m.sort_key > $4 OR (m.sort_key = $4 AND m.id > $5)) \
         AND ($6 = 1 OR m.created_by = $7 OR m.organizing_department_id = $8 OR EXISTS ( \
             SELECT 1 FROM meeting_participant p WHERE p.meeting_id = m.id \
             AND ((p.kind = 'person' AND p.ref_id = $7) OR (p.kind = 'department' AND p.ref_id = $8)))) \
         ORDER BY m.sort_key, m.id LIMIT $9"
    );
    let (key, id) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(organizing_department_id.unwrap_or_default().to_string())
        .bind(flag(include_cancelled))
        .bind(flag(after.is_some()))
        .bind(key)
        .bind(id)
        .bind(flag(all))
        .bind(person.to_string())
        // No department matches nothing.
        .bind(if department.is_empty() {
            "-".to_string()
        } else {
            department.to_string()
        })
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let meetings = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    with_participants(conn, meetings).await
}

/// An agenda item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaItem {
    pub id: String,
    pub meeting_id: String,
    pub occurrence: i64,
    pub title: String,
    pub proposed_by: String,
    pub created_ms: Millis,
}

fn decode_item(r: &sqlx::any::AnyRow) -> Result<AgendaItem, sqlx::Error> {
    Ok(AgendaItem {
        id: r.try_get(0)?,
        meeting_id: r.try_get(1)?,
        occurrence: r.try_get(2)?,
        title: r.try_get(3)?,
        proposed_by: r.try_get(4)?,
        created_ms: r.try_get(5)?,
    })
}

#[tracing::instrument(skip_all, fields(meeting_id = %a.meeting_id))]
pub async fn add_item(conn: &mut AnyConnection, a: &AgendaItem) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO agenda_item (id, meeting_id, occurrence, title, proposed_by, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&a.id)
    .bind(&a.meeting_id)
    .bind(a.occurrence)
    .bind(&a.title)
    .bind(&a.proposed_by)
    .bind(a.created_ms)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(item_id = %id))]
pub async fn get_item(conn: &mut AnyConnection, id: &str) -> Result<Option<AgendaItem>, Error> {
    let row = sqlx::query("SELECT id, meeting_id, occurrence, title, proposed_by, created_ms FROM agenda_item WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode_item).transpose()?)
}

#[tracing::instrument(skip_all, fields(item_id = %id))]
pub async fn remove_item(conn: &mut AnyConnection, id: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM agenda_item WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(meeting_id = %meeting_id, occurrence = occurrence))]
pub async fn items(
    conn: &mut AnyConnection,
    meeting_id: &str,
    occurrence: i64,
) -> Result<Vec<AgendaItem>, Error> {
    let rows = sqlx::query(
        "SELECT id, meeting_id, occurrence, title, proposed_by, created_ms FROM agenda_item \
         WHERE meeting_id = $1 AND occurrence = $2 ORDER BY id",
    )
    .bind(meeting_id)
    .bind(occurrence)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(decode_item).collect::<Result<_, _>>()?)
}

/// Sets each person's attendance status (protobuf numbers).
#[tracing::instrument(skip_all, fields(meeting_id = %meeting_id, occurrence = occurrence))]
pub async fn record_attendance(
    conn: &mut AnyConnection,
    meeting_id: &str,
    occurrence: i64,
    statuses: &[(String, i64)],
    now: Millis,
) -> Result<(), Error> {
    for chunk in statuses.chunks(super::CHUNK) {
        let sql = format!(
            "INSERT INTO attendance (meeting_id, occurrence, person_id, status, recorded_ms) VALUES {} \
             ON CONFLICT (meeting_id, occurrence, person_id) DO UPDATE SET status = excluded.status, \
             recorded_ms = excluded.recorded_ms",
            tuples(1, chunk.len(), 5, "")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (person, status) in chunk {
            q = q
                .bind(meeting_id)
                .bind(occurrence)
                .bind(person)
                .bind(*status)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(meeting_id = %meeting_id, occurrence = occurrence))]
pub async fn attendance(
    conn: &mut AnyConnection,
    meeting_id: &str,
    occurrence: i64,
) -> Result<Vec<(String, i64)>, Error> {
    let rows = sqlx::query(
        "SELECT person_id, status FROM attendance WHERE meeting_id = $1 AND occurrence = $2 ORDER BY person_id",
    )
    .bind(meeting_id)
    .bind(occurrence)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The minutes of an occurrence and the notice that shared them.
#[tracing::instrument(skip_all, fields(meeting_id = %meeting_id, occurrence = occurrence))]
pub async fn minutes(
    conn: &mut AnyConnection,
    meeting_id: &str,
    occurrence: i64,
) -> Result<Option<(String, String)>, Error> {
    let row = sqlx::query(
        "SELECT minutes, notice_id FROM meeting_minutes WHERE meeting_id = $1 AND occurrence = $2",
    )
    .bind(meeting_id)
    .bind(occurrence)
    .fetch_optional(conn)
    .await?;
    Ok(row
        .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?)
}

#[tracing::instrument(skip_all, fields(meeting_id = %meeting_id, occurrence = occurrence))]
pub async fn record_minutes(
    conn: &mut AnyConnection,
    meeting_id: &str,
    occurrence: i64,
    minutes: &str,
    notice_id: &str,
    by: &str,
    now: Millis,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO meeting_minutes (meeting_id, occurrence, minutes, notice_id, recorded_by, recorded_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(meeting_id)
    .bind(occurrence)
    .bind(minutes)
    .bind(notice_id)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

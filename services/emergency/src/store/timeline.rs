//! The timeline of an incident: what happened when, written in the
//! transaction of the change it records.

use concord_kit::Error;
use concord_kit::ids::new_id;
use sqlx::{AnyConnection, Row};

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub incident_id: String,
    pub at_ms: i64,
    pub kind: String,
    pub actor: String,
    pub department_id: String,
    pub text: String,
}

impl Entry {
    pub fn new(
        incident_id: &str,
        at_ms: i64,
        kind: &str,
        actor: &str,
        department_id: &str,
        text: impl Into<String>,
    ) -> Self {
        Self {
            id: new_id(),
            incident_id: incident_id.to_string(),
            at_ms,
            kind: kind.to_string(),
            actor: actor.to_string(),
            department_id: department_id.to_string(),
            text: text.into(),
        }
    }
}

#[tracing::instrument(skip_all, fields(incident_id = %e.incident_id, kind = %e.kind))]
pub async fn add(conn: &mut AnyConnection, e: &Entry) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO timeline_entry (id, incident_id, at_ms, kind, actor, department_id, text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&e.id)
    .bind(&e.incident_id)
    .bind(e.at_ms)
    .bind(&e.kind)
    .bind(&e.actor)
    .bind(&e.department_id)
    .bind(&e.text)
    .execute(conn)
    .await?;
    Ok(())
}

/// Entries oldest first, after the position `(at_ms, id)`.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn list(
    conn: &mut AnyConnection,
    incident_id: &str,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Entry>, Error> {
    let (has, at, id) = match after {
        Some((at, id)) => (1i64, at, id),
        None => (0, 0, String::new()),
    };
    let rows = sqlx::query(
        "SELECT id, incident_id, at_ms, kind, actor, department_id, text FROM timeline_entry \
         WHERE incident_id = $1 AND ($2 = 0 OR at_ms > $3 OR (at_ms = $3 AND id > $4)) \
         ORDER BY at_ms, id LIMIT $5",
    )
    .bind(incident_id)
    .bind(has)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                id: r.try_get(0)?,
                incident_id: r.try_get(1)?,
                at_ms: r.try_get(2)?,
                kind: r.try_get(3)?,
                actor: r.try_get(4)?,
                department_id: r.try_get(5)?,
                text: r.try_get(6)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

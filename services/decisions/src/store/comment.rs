//! Deliberation comments.

use concord_kit::Error;
use concord_kit::sql::{flag, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::write_error;
use crate::domain::{Comment, Stance};

const COLUMNS: &str = "id, proposal_id, parent_id, author_id, author_department_id, stance, body, answered, created_ms";

fn from_row(r: &AnyRow) -> Result<Comment, sqlx::Error> {
    let stance: String = r.try_get(5)?;
    Ok(Comment {
        id: r.try_get(0)?,
        proposal_id: r.try_get(1)?,
        parent_id: r.try_get(2)?,
        author_id: r.try_get(3)?,
        author_department_id: r.try_get(4)?,
        stance: Stance::parse(&stance).ok_or_else(|| {
            sqlx::Error::Decode(format!("stored stance {stance:?} is not known").into())
        })?,
        body: r.try_get(6)?,
        answered: r.try_get::<i64, _>(7)? != 0,
        created_ms: r.try_get(8)?,
    })
}

/// The comment with `id`, if any.
#[tracing::instrument(skip_all, fields(comment_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Comment>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM comment WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

#[tracing::instrument(skip_all, fields(comment_id = %c.id, proposal_id = %c.proposal_id))]
pub async fn insert(conn: &mut AnyConnection, c: &Comment) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO comment (id, proposal_id, parent_id, author_id, author_department_id, stance, \
         body, answered, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&c.id)
    .bind(&c.proposal_id)
    .bind(c.parent_id.clone())
    .bind(&c.author_id)
    .bind(&c.author_department_id)
    .bind(c.stance.as_str())
    .bind(&c.body)
    .bind(flag(c.answered))
    .bind(c.created_ms)
    .execute(conn)
    .await
    .map_err(write_error)?;
    Ok(())
}

/// Marks an objection answered.
#[tracing::instrument(skip_all, fields(comment_id = %id))]
pub async fn mark_answered(conn: &mut AnyConnection, id: &str) -> Result<(), Error> {
    sqlx::query("UPDATE comment SET answered = 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Objections of a proposal nobody has answered yet.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn unanswered_objections(
    conn: &mut AnyConnection,
    proposal_id: &str,
) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM comment WHERE proposal_id = $1 AND stance = 'objection' AND answered = 0",
    )
    .bind(proposal_id)
    .fetch_one(conn)
    .await?)
}

/// Comments of a proposal, oldest first, after the id `after`.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn list(
    conn: &mut AnyConnection,
    proposal_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Comment>, Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM comment WHERE proposal_id = $1 AND ($2 = '' OR id > $2) \
         ORDER BY id LIMIT $3"
    )))
    .bind(proposal_id)
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// Unanswered objections of each of `proposal_ids` that has any.
#[tracing::instrument(skip_all, fields(proposals = proposal_ids.len()))]
pub async fn unanswered_for(
    conn: &mut AnyConnection,
    proposal_ids: &[String],
) -> Result<std::collections::HashMap<String, i64>, Error> {
    if proposal_ids.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT proposal_id, COUNT(*) FROM comment WHERE stance = 'objection' AND answered = 0 \
         AND proposal_id IN ({}) GROUP BY proposal_id",
        placeholders(1, proposal_ids.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for id in proposal_ids {
        q = q.bind(id.clone());
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

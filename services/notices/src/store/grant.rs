//! Publishing grants: a head lets a person publish to a department's subtree.

use concord_kit::Error;
use concord_kit::clock::Millis;
use concord_kit::sql::placeholders;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub person_id: String,
    pub department_id: String,
    pub granted_by: String,
    pub created_ms: Millis,
}

const COLUMNS: &str = "id, person_id, department_id, granted_by, created_ms";

fn decode(r: &sqlx::any::AnyRow) -> Result<Grant, sqlx::Error> {
    Ok(Grant {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        department_id: r.try_get(2)?,
        granted_by: r.try_get(3)?,
        created_ms: r.try_get(4)?,
    })
}

/// Inserts a grant; `false` when the person already holds one for the department.
#[tracing::instrument(skip_all, fields(person_id = %g.person_id, department_id = %g.department_id))]
pub async fn insert(conn: &mut AnyConnection, g: &Grant) -> Result<bool, Error> {
    let done = sqlx::query(
        "INSERT INTO publishing_grant (id, person_id, department_id, granted_by, created_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_id, department_id) DO NOTHING",
    )
    .bind(&g.id)
    .bind(&g.person_id)
    .bind(&g.department_id)
    .bind(&g.granted_by)
    .bind(g.created_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[tracing::instrument(skip_all, fields(grant_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Grant>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM publishing_grant WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(decode).transpose()?)
}

#[tracing::instrument(skip_all, fields(grant_id = %id))]
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool, Error> {
    let done = sqlx::query("DELETE FROM publishing_grant WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The departments a person was granted.
#[tracing::instrument(skip_all, fields(person_id = %person_id))]
pub async fn departments_of(
    conn: &mut AnyConnection,
    person_id: &str,
) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT department_id FROM publishing_grant WHERE person_id = $1 ORDER BY department_id",
    )
    .bind(person_id)
    .fetch_all(conn)
    .await?)
}

/// Which grants a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Visible<'a> {
    All,
    /// This person's own, and those for these departments.
    OwnOrDepartments(&'a str, &'a [String]),
}

/// One page of grants in id order.
#[tracing::instrument(skip_all, fields(limit = limit))]
pub async fn list(
    conn: &mut AnyConnection,
    visible: Visible<'_>,
    person_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Grant>, Error> {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM publishing_grant WHERE ($1 = '' OR person_id = $1) AND ($2 = '' OR id > $2)"
    );
    let (me, departments): (&str, &[String]) = match visible {
        Visible::All => ("", &[]),
        Visible::OwnOrDepartments(me, d) => (me, d),
    };
    if matches!(visible, Visible::OwnOrDepartments(..)) {
        sql.push_str(" AND (person_id = $4");
        if !departments.is_empty() {
            sql.push_str(&format!(
                " OR department_id IN ({})",
                placeholders(5, departments.len())
            ));
        }
        sql.push(')');
    } else {
        sql.push_str(" AND $4 = ''");
    }
    sql.push_str(" ORDER BY id LIMIT $3");
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(person_id.unwrap_or_default().to_string())
        .bind(after.unwrap_or_default().to_string())
        .bind(limit)
        .bind(me.to_string());
    for d in departments {
        q = q.bind(d);
    }
    let rows = q.fetch_all(conn).await?;
    Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
}

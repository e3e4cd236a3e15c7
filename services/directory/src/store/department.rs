//! Departments and the tree they form.

use concord_kit::Error;
use concord_kit::sql::placeholders;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::{NameCursor, after_name, write_error};
use crate::domain::{Department, sort_key};

const COLUMNS: &str = "id, parent_id, name, description, version, created_ms, updated_ms, sort_key";

fn from_row(r: &AnyRow) -> Result<Department, sqlx::Error> {
    Ok(Department {
        id: r.try_get(0)?,
        parent_id: r.try_get(1)?,
        name: r.try_get(2)?,
        description: r.try_get(3)?,
        version: r.try_get(4)?,
        created_ms: r.try_get(5)?,
        updated_ms: r.try_get(6)?,
    })
}

fn from_rows(rows: &[AnyRow]) -> Result<Vec<Department>, Error> {
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// The department with `id`, if any.
#[tracing::instrument(skip_all, fields(department_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Department>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM department WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// The departments among `ids` that exist.
#[tracing::instrument(skip_all, fields(count = ids.len()))]
pub async fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Department>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM department WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    from_rows(&q.fetch_all(conn).await?)
}

/// Whether a department other than `except` under `parent` (`None`: among
/// the roots) already has `name`, ignoring case.
#[tracing::instrument(skip_all, fields(parent_id = ?parent))]
pub async fn sibling_has_name(
    conn: &mut AnyConnection,
    parent: Option<&str>,
    name: &str,
    except: &str,
) -> Result<bool, Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM department \
         WHERE COALESCE(parent_id, '') = $1 AND sort_key = $2 AND id <> $3",
    )
    .bind(parent.unwrap_or(""))
    .bind(sort_key(name))
    .bind(except)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Whether `department` is `ancestor` or lies anywhere below it.
#[tracing::instrument(skip_all, fields(ancestor = %ancestor, department_id = %department))]
pub async fn within(
    conn: &mut AnyConnection,
    ancestor: &str,
    department: &str,
) -> Result<bool, Error> {
    let n: i64 = sqlx::query_scalar(
        "WITH RECURSIVE up(id, parent_id) AS ( \
             SELECT id, parent_id FROM department WHERE id = $1 \
             UNION \
             SELECT d.id, d.parent_id FROM department d JOIN up ON d.id = up.parent_id) \
         SELECT COUNT(*) FROM up WHERE id = $2",
    )
    .bind(department)
    .bind(ancestor)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Inserts a new department.
#[tracing::instrument(skip_all, fields(department_id = %d.id))]
pub async fn insert(conn: &mut AnyConnection, d: &Department) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO department (id, parent_id, name, sort_key, description, version, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&d.id)
    .bind(d.parent_id.as_deref())
    .bind(&d.name)
    .bind(sort_key(&d.name))
    .bind(&d.description)
    .bind(d.version)
    .bind(d.created_ms)
    .bind(d.updated_ms)
    .execute(conn)
    .await
    .map_err(|e| write_error(e, "a sibling department already has this name"))?;
    Ok(())
}

/// Writes `d` over the stored row when that is still at `read_version`;
/// `false` when somebody changed it meanwhile.
#[tracing::instrument(skip_all, fields(department_id = %d.id))]
pub async fn update(
    conn: &mut AnyConnection,
    d: &Department,
    read_version: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE department SET parent_id = $3, name = $4, sort_key = $5, description = $6, \
         version = $7, updated_ms = $8 WHERE id = $1 AND version = $2",
    )
    .bind(&d.id)
    .bind(read_version)
    .bind(d.parent_id.as_deref())
    .bind(&d.name)
    .bind(sort_key(&d.name))
    .bind(&d.description)
    .bind(d.version)
    .bind(d.updated_ms)
    .execute(conn)
    .await
    .map_err(|e| write_error(e, "a sibling department already has this name"))?;
    Ok(done.rows_affected() == 1)
}

/// How many sub-departments and people (active or not) a department has.
#[tracing::instrument(skip_all, fields(department_id = %id))]
pub async fn occupancy(conn: &mut AnyConnection, id: &str) -> Result<(i64, i64), Error> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM department WHERE parent_id = $1), \
                (SELECT COUNT(*) FROM person WHERE department_id = $1)",
    )
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Deletes a department at `read_version` and its duties; returns the ids of
/// the duties deleted, or `None` when the department changed meanwhile.
#[tracing::instrument(skip_all, fields(department_id = %id))]
pub async fn delete(
    conn: &mut AnyConnection,
    id: &str,
    read_version: i64,
) -> Result<Option<Vec<String>>, Error> {
    let duties: Vec<String> =
        sqlx::query_scalar("SELECT id FROM duty WHERE department_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query("DELETE FROM duty WHERE department_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM department WHERE id = $1 AND version = $2")
        .bind(id)
        .bind(read_version)
        .execute(&mut *conn)
        .await
        .map_err(|e| match &e {
            // People or sub-departments arrived after the emptiness check.
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Error::precondition("the department is no longer empty; read it again")
            }
            _ => e.into(),
        })?;
    Ok((done.rows_affected() == 1).then_some(duties))
}

/// Which departments a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The direct children of a department (`None`: the roots).
    Children(Option<&'a str>),
    /// Everything below a department, not the department itself.
    Below(&'a str),
    /// Every department.
    All,
}

/// One page of departments ordered by name, `limit` rows after `after`.
#[tracing::instrument(skip_all, fields(scope = ?scope, limit = limit))]
pub async fn list(
    conn: &mut AnyConnection,
    scope: Scope<'_>,
    after: Option<&NameCursor>,
    limit: i64,
) -> Result<Vec<Department>, Error> {
    let (prefix, filter) = match scope {
        Scope::Children(_) => ("", "COALESCE(parent_id, '') = $1"),
        Scope::Below(_) => (
            "WITH RECURSIVE sub(id) AS ( \
                 SELECT id FROM department WHERE parent_id = $1 \
                 UNION \
                 SELECT d.id FROM department d JOIN sub ON d.parent_id = sub.id) ",
            "id IN (SELECT id FROM sub)",
        ),
        Scope::All => ("", "$1 = ''"),
    };
    let sql = format!(
        "{prefix}SELECT {COLUMNS} FROM department WHERE {filter} AND {} ORDER BY sort_key, id LIMIT $5",
        after_name(2)
    );
    let parent = match scope {
        Scope::Children(p) => p.unwrap_or(""),
        Scope::Below(p) => p,
        Scope::All => "",
    };
    let (sort_key, id) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(parent)
        .bind(i64::from(after.is_some()))
        .bind(sort_key)
        .bind(id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    from_rows(&rows)
}

/// Departments whose name contains `needle` (already lowercased), by name.
#[tracing::instrument(skip_all, fields(limit = limit))]
pub async fn search(
    conn: &mut AnyConnection,
    needle: &str,
    limit: i64,
) -> Result<Vec<Department>, Error> {
    let pattern = format!("%{}%", concord_kit::db::like_escape(needle));
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM department WHERE sort_key LIKE $1 ESCAPE '\\' ORDER BY sort_key, id LIMIT $2"
    )))
    .bind(pattern)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    from_rows(&rows)
}

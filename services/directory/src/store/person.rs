//! People, and the audiences made of them.

use concord_kit::Error;
use concord_kit::sql::{flag, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::{NameCursor, after_name, write_error};
use crate::domain::person::email_key;
use crate::domain::{AudienceMember, Person, Roles, sort_key};

const COLUMNS: &str = "id, department_id, display_name, email, phone, title, roles, active, version, created_ms, updated_ms";

/// Everything below and including a department, as `sub(id)`; `$1` is the
/// department.
const SUBTREE: &str = "WITH RECURSIVE sub(id) AS ( \
     SELECT id FROM department WHERE id = $1 \
     UNION \
     SELECT d.id FROM department d JOIN sub ON d.parent_id = sub.id) ";

fn from_row(r: &AnyRow) -> Result<Person, sqlx::Error> {
    Ok(Person {
        id: r.try_get(0)?,
        department_id: r.try_get(1)?,
        display_name: r.try_get(2)?,
        email: r.try_get(3)?,
        phone: r.try_get(4)?,
        title: r.try_get(5)?,
        roles: Roles::from_text(&r.try_get::<String, _>(6)?),
        active: r.try_get::<i64, _>(7)? != 0,
        version: r.try_get(8)?,
        created_ms: r.try_get(9)?,
        updated_ms: r.try_get(10)?,
    })
}

fn from_rows(rows: &[AnyRow]) -> Result<Vec<Person>, Error> {
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// The person with `id`, if any.
#[tracing::instrument(skip_all, fields(person_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Person>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM person WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Whether somebody other than `except` already uses `email` (ignoring case).
#[tracing::instrument(skip_all)]
pub async fn email_taken(
    conn: &mut AnyConnection,
    email: &str,
    except: &str,
) -> Result<bool, Error> {
    if email.is_empty() {
        return Ok(false);
    }
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM person WHERE email_key = $1 AND id <> $2")
            .bind(email_key(email))
            .bind(except)
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

const TAKEN: &str = "another person already has this e-mail address";

/// Inserts a new person.
#[tracing::instrument(skip_all, fields(person_id = %p.id, department_id = %p.department_id))]
pub async fn insert(conn: &mut AnyConnection, p: &Person) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO person (id, department_id, display_name, sort_key, email, email_key, phone, title, \
         roles, active, version, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&p.id)
    .bind(&p.department_id)
    .bind(&p.display_name)
    .bind(sort_key(&p.display_name))
    .bind(&p.email)
    .bind(email_key(&p.email))
    .bind(&p.phone)
    .bind(&p.title)
    .bind(p.roles.to_text())
    .bind(flag(p.active))
    .bind(p.version)
    .bind(p.created_ms)
    .bind(p.updated_ms)
    .execute(conn)
    .await
    .map_err(|e| write_error(e, TAKEN))?;
    Ok(())
}

/// Writes `p` over the stored row when that is still at `read_version`;
/// `false` when somebody changed it meanwhile.
#[tracing::instrument(skip_all, fields(person_id = %p.id))]
pub async fn update(
    conn: &mut AnyConnection,
    p: &Person,
    read_version: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE person SET department_id = $3, display_name = $4, sort_key = $5, email = $6, email_key = $7, \
         phone = $8, title = $9, roles = $10, active = $11, version = $12, updated_ms = $13 \
         WHERE id = $1 AND version = $2",
    )
    .bind(&p.id)
    .bind(read_version)
    .bind(&p.department_id)
    .bind(&p.display_name)
    .bind(sort_key(&p.display_name))
    .bind(&p.email)
    .bind(email_key(&p.email))
    .bind(&p.phone)
    .bind(&p.title)
    .bind(p.roles.to_text())
    .bind(flag(p.active))
    .bind(p.version)
    .bind(p.updated_ms)
    .execute(conn)
    .await
    .map_err(|e| write_error(e, TAKEN))?;
    Ok(done.rows_affected() == 1)
}

/// Which people a list shows.
#[derive(Debug, Clone, Copy)]
pub struct Filter<'a> {
    /// `None`: everybody.
    pub department_id: Option<&'a str>,
    pub include_sub_departments: bool,
    pub include_inactive: bool,
}

/// One page of people ordered by display name, `limit` rows after `after`.
#[tracing::instrument(skip_all, fields(department_id = ?filter.department_id, limit = limit))]
pub async fn list(
    conn: &mut AnyConnection,
    filter: Filter<'_>,
    after: Option<&NameCursor>,
    limit: i64,
) -> Result<Vec<Person>, Error> {
    let (prefix, department) = match (filter.department_id, filter.include_sub_departments) {
        (None, _) => ("", "$1 = ''"),
        (Some(_), false) => ("", "department_id = $1"),
        (Some(_), true) => (SUBTREE, "department_id IN (SELECT id FROM sub)"),
    };
    let sql = format!(
        "{prefix}SELECT {COLUMNS} FROM person WHERE {department} AND ($2 = 1 OR active = 1) AND {} \
         ORDER BY sort_key, id LIMIT $6",
        after_name(3)
    );
    let (sort_key, id) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(filter.department_id.unwrap_or(""))
        .bind(flag(filter.include_inactive))
        .bind(i64::from(after.is_some()))
        .bind(sort_key)
        .bind(id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    from_rows(&rows)
}

/// Active people whose display name contains `needle` (already lowercased).
#[tracing::instrument(skip_all, fields(limit = limit))]
pub async fn search(
    conn: &mut AnyConnection,
    needle: &str,
    limit: i64,
) -> Result<Vec<Person>, Error> {
    let pattern = format!("%{}%", concord_kit::db::like_escape(needle));
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM person WHERE active = 1 AND sort_key LIKE $1 ESCAPE '\\' \
         ORDER BY sort_key, id LIMIT $2"
    )))
    .bind(pattern)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    from_rows(&rows)
}

/// The ids among `ids` that name a person.
#[tracing::instrument(skip_all, fields(count = ids.len()))]
pub async fn existing(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<String>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM person WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    Ok(q.fetch_all(conn).await?)
}

/// Part of an audience.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    Everyone,
    /// The people of these departments, and of their sub-departments when asked.
    Departments {
        ids: &'a [String],
        with_sub_departments: bool,
    },
    People(&'a [String]),
}

/// The active people of one part of an audience, each with its sort key.
#[tracing::instrument(skip_all, fields(audience = ?audience))]
pub async fn audience(
    conn: &mut AnyConnection,
    audience: Audience<'_>,
) -> Result<Vec<(String, AudienceMember)>, Error> {
    const SELECT: &str =
        "SELECT id, department_id, display_name, sort_key FROM person WHERE active = 1";
    let (sql, ids): (String, &[String]) = match audience {
        Audience::Everyone => (SELECT.to_string(), &[]),
        Audience::Departments {
            ids,
            with_sub_departments: false,
        } => (
            format!(
                "{SELECT} AND department_id IN ({})",
                placeholders(1, ids.len())
            ),
            ids,
        ),
        Audience::Departments {
            ids,
            with_sub_departments: true,
        } => (
            format!(
                "WITH RECURSIVE sub(id) AS ( \
                     SELECT id FROM department WHERE id IN ({}) \
                     UNION \
                     SELECT d.id FROM department d JOIN sub ON d.parent_id = sub.id) \
                 {SELECT} AND department_id IN (SELECT id FROM sub)",
                placeholders(1, ids.len())
            ),
            ids,
        ),
        Audience::People(ids) => (
            format!("{SELECT} AND id IN ({})", placeholders(1, ids.len())),
            ids,
        ),
    };
    if ids.is_empty() && !matches!(audience, Audience::Everyone) {
        return Ok(Vec::new());
    }
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let member = AudienceMember {
                person_id: r.try_get(0)?,
                department_id: r.try_get(1)?,
                display_name: r.try_get(2)?,
            };
            Ok((r.try_get(3)?, member))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

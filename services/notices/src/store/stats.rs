//! Reading statistics over receipts of notices published in a period
//! (retracted notices left out).

use concord_kit::Error;
use concord_kit::period::Period;
use concord_kit::sql::placeholders;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::NoticeState;

/// What the figures are about.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Recipient departments; `None` is the whole organisation.
    pub departments: Option<&'a [String]>,
    pub person_id: Option<&'a str>,
}

/// Counts of one department's receipts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub received: i64,
    pub read: i64,
    pub ack_required: i64,
    pub acknowledged: i64,
}

/// `WHERE` conditions and the values to bind after `$1`–`$3`.
fn filter(scope: Scope<'_>) -> (String, Vec<String>) {
    let mut sql = format!(
        "r.delivered_ms >= $1 AND r.delivered_ms < $2 AND n.state <> {} AND ($3 = '' OR r.person_id = $3)",
        NoticeState::Retracted as i64
    );
    let mut binds = Vec::new();
    if let Some(d) = scope.departments {
        if d.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            sql.push_str(&format!(
                " AND r.department_id IN ({})",
                placeholders(4, d.len())
            ));
            binds.extend(d.iter().cloned());
        }
    }
    (sql, binds)
}

/// Counts per recipient department.
#[tracing::instrument(skip_all)]
pub async fn counts(
    conn: &mut AnyConnection,
    period: Period,
    scope: Scope<'_>,
) -> Result<Vec<(String, Counts)>, Error> {
    let (cond, binds) = filter(scope);
    let sql = format!(
        "SELECT r.department_id, COUNT(*), \
         CAST(COALESCE(SUM(CASE WHEN r.read_ms IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(r.ack_required), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN r.ack_required = 1 AND r.ack_ms IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM receipt r JOIN notice n ON n.id = r.notice_id WHERE {cond} \
         GROUP BY r.department_id ORDER BY r.department_id"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(period.start_ms)
        .bind(period.end_ms)
        .bind(scope.person_id.unwrap_or_default().to_string());
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                Counts {
                    received: r.try_get(1)?,
                    read: r.try_get(2)?,
                    ack_required: r.try_get(3)?,
                    acknowledged: r.try_get(4)?,
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Publish-to-first-read times in milliseconds, per recipient department.
#[tracing::instrument(skip_all)]
pub async fn read_times(
    conn: &mut AnyConnection,
    period: Period,
    scope: Scope<'_>,
) -> Result<Vec<(String, i64)>, Error> {
    let (cond, binds) = filter(scope);
    let sql = format!(
        "SELECT r.department_id, r.read_ms - r.delivered_ms FROM receipt r JOIN notice n ON n.id = r.notice_id \
         WHERE {cond} AND r.read_ms IS NOT NULL"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(period.start_ms)
        .bind(period.end_ms)
        .bind(scope.person_id.unwrap_or_default().to_string());
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Notices published in the period by authors of `departments` (all when `None`).
#[tracing::instrument(skip_all)]
pub async fn published(
    conn: &mut AnyConnection,
    period: Period,
    departments: Option<&[String]>,
) -> Result<i64, Error> {
    let mut sql = format!(
        "SELECT COUNT(*) FROM notice WHERE published_ms >= $1 AND published_ms < $2 AND state <> {}",
        NoticeState::Retracted as i64
    );
    if let Some(d) = departments {
        if d.is_empty() {
            return Ok(0);
        }
        sql.push_str(&format!(
            " AND author_department_id IN ({})",
            placeholders(3, d.len())
        ));
    }
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(period.start_ms)
        .bind(period.end_ms);
    for b in departments.unwrap_or_default() {
        q = q.bind(b);
    }
    Ok(q.fetch_one(conn).await?)
}

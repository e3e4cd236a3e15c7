//! The people a published plan's audience covers: who must complete a
//! mandatory plan, who has not yet, the reminders they were sent, and who
//! missed the deadline.

use std::collections::BTreeSet;

use concord_kit::Error;
use concord_kit::clock::Millis;
use concord_kit::directory::Member;
use concord_kit::ids::new_id;
use concord_kit::page::{cursor, render_cursor};
use concord_kit::sql::{Sql, corrupt};
use sqlx::{AnyConnection, Row};

use crate::domain::enrolment::Status;

/// Adds people to a plan's audience (those already in it stay as they are).
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, members = members.len()))]
pub async fn add(conn: &mut AnyConnection, plan_id: &str, members: &[Member]) -> Result<(), Error> {
    for m in members {
        sqlx::query(
            "INSERT INTO training_audience (plan_id, person_id, department_id, display_name, \
             reminders, last_reminder_ms, non_compliant) VALUES ($1, $2, $3, $4, 0, NULL, 0) \
             ON CONFLICT (plan_id, person_id) DO NOTHING",
        )
        .bind(plan_id)
        .bind(&m.person_id)
        .bind(&m.department_id)
        .bind(&m.display_name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The department under which `person_id` is in the plan's audience, if
/// they are.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, person_id = %person_id))]
pub async fn department_of(
    conn: &mut AnyConnection,
    plan_id: &str,
    person_id: &str,
) -> Result<Option<String>, Error> {
    let row = sqlx::query(
        "SELECT department_id FROM training_audience WHERE plan_id = $1 AND person_id = $2",
    )
    .bind(plan_id)
    .bind(person_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// A person of the audience who has not completed the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    pub person_id: String,
    pub department_id: String,
    pub display_name: String,
    pub status: Option<Status>,
    pub reminders: i64,
    pub last_reminder_ms: Option<Millis>,
    pub non_compliant: bool,
}

/// People of the audience without a completion, by name; only those of
/// `departments` when given.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn incomplete(
    conn: &mut AnyConnection,
    plan_id: &str,
    departments: Option<&BTreeSet<String>>,
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<Incomplete>, Error> {
    let mut q = Sql::new(
        "SELECT a.person_id, a.department_id, a.display_name, e.status, a.reminders, \
         a.last_reminder_ms, a.non_compliant FROM training_audience a \
         LEFT JOIN training_enrolment e ON e.plan_id = a.plan_id AND e.person_id = a.person_id \
         WHERE ",
    );
    let p = q.text(plan_id);
    q.push(&format!(
        "a.plan_id = {p} AND (e.status IS NULL OR e.status <> 'completed')"
    ));
    if let Some(ds) = departments {
        let c = q.in_list("a.department_id", ds);
        q.push(&format!(" AND {c}"));
    }
    if let Some([name, id]) = cursor::<[String; 2]>(after)? {
        let (a, b) = (q.text(name), q.text(id));
        q.push(&format!(
            " AND (a.display_name > {a} OR (a.display_name = {a} AND a.person_id > {b}))"
        ));
    }
    q.push(" ORDER BY a.display_name, a.person_id");
    if let Some(limit) = limit {
        let l = q.int(limit);
        q.push(&format!(" LIMIT {l}"));
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let status = r
                .try_get::<Option<String>, _>(3)?
                .map(|s| Status::parse(&s).ok_or_else(|| corrupt("enrolment status", &s)))
                .transpose()?;
            Ok(Incomplete {
                person_id: r.try_get(0)?,
                department_id: r.try_get(1)?,
                display_name: r.try_get(2)?,
                status,
                reminders: r.try_get(4)?,
                last_reminder_ms: r.try_get(5)?,
                non_compliant: r.try_get::<i64, _>(6)? != 0,
            })
        })
        .collect()
}

/// The page cursor of a person in [`incomplete`].
pub fn incomplete_cursor(i: &Incomplete) -> String {
    render_cursor(&[&i.display_name, &i.person_id])
}

/// The audience, its completions, and the completions by `deadline_ms`.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn summary(
    conn: &mut AnyConnection,
    plan_id: &str,
    deadline_ms: Millis,
) -> Result<(i64, i64, i64), Error> {
    let row = sqlx::query(
        "SELECT COUNT(*), \
         COUNT(CASE WHEN e.status = 'completed' THEN 1 END), \
         COUNT(CASE WHEN e.status = 'completed' AND e.completed_ms <= $2 THEN 1 END) \
         FROM training_audience a LEFT JOIN training_enrolment e \
         ON e.plan_id = a.plan_id AND e.person_id = a.person_id WHERE a.plan_id = $1",
    )
    .bind(plan_id)
    .bind(deadline_ms)
    .fetch_one(conn)
    .await?;
    Ok((r_i64(&row, 0)?, r_i64(&row, 1)?, r_i64(&row, 2)?))
}

fn r_i64(row: &sqlx::any::AnyRow, i: usize) -> Result<i64, Error> {
    Ok(row.try_get(i)?)
}

/// Records one reminder to a person in round `round_id`.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, person_id = %person_id))]
pub async fn remind(
    conn: &mut AnyConnection,
    plan_id: &str,
    person_id: &str,
    round_id: &str,
    now: Millis,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE training_audience SET reminders = reminders + 1, last_reminder_ms = $3 \
         WHERE plan_id = $1 AND person_id = $2",
    )
    .bind(plan_id)
    .bind(person_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO training_reminder (id, plan_id, person_id, round_id, sent_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new_id())
    .bind(plan_id)
    .bind(person_id)
    .bind(round_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The people reminded in round `round_id` of a plan, by id.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, round_id = %round_id))]
pub async fn round(
    conn: &mut AnyConnection,
    plan_id: &str,
    round_id: &str,
) -> Result<Vec<String>, Error> {
    let rows = sqlx::query(
        "SELECT person_id FROM training_reminder WHERE plan_id = $1 AND round_id = $2 \
         ORDER BY person_id",
    )
    .bind(plan_id)
    .bind(round_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Marks everybody in the audience who had not completed by `deadline_ms`
/// as non-compliant; returns how many.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn mark_non_compliant(
    conn: &mut AnyConnection,
    plan_id: &str,
    deadline_ms: Millis,
) -> Result<u64, Error> {
    let done = sqlx::query(
        "UPDATE training_audience SET non_compliant = 1 WHERE plan_id = $1 AND person_id NOT IN \
         (SELECT person_id FROM training_enrolment WHERE plan_id = $1 AND status = 'completed' \
          AND completed_ms <= $2)",
    )
    .bind(plan_id)
    .bind(deadline_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

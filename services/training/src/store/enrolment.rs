//! Enrolments: seats, the waiting list in `queue_key` order, cancellation
//! and completion with its certificate number. Callers hold the plan's lock
//! ([`super::plan::lock`]) around every change of seats.

use concord_kit::Error;
use concord_kit::clock::Millis;
use concord_kit::page::{cursor, render_cursor};
use concord_kit::sql::{Sql, corrupt};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::write_error;
use crate::domain::enrolment::{Completion, Enrolment, Status};

/// The enrolment's columns and its place on the waiting list, from
/// `training_enrolment e`.
const COLUMNS: &str = "e.id, e.plan_id, e.person_id, e.department_id, e.status, e.queue_key, \
    e.enrol_ms, e.seat_ms, e.cancel_ms, e.completed_ms, e.certificate_number, e.score_centi, \
    e.issued_by, \
    CASE WHEN e.status = 'waitlisted' THEN (SELECT COUNT(*) FROM training_enrolment w \
      WHERE w.plan_id = e.plan_id AND w.status = 'waitlisted' AND w.queue_key <= e.queue_key) \
    ELSE 0 END";

/// Seats first, then the waiting list, then cancelled enrolments.
const RANK: &str = "CASE e.status WHEN 'waitlisted' THEN 1 WHEN 'cancelled' THEN 2 ELSE 0 END";

fn from_row(r: &AnyRow) -> Result<Enrolment, Error> {
    let status: String = r.try_get(4)?;
    let completion = match (
        r.try_get::<Option<String>, _>(10)?,
        r.try_get::<Option<i64>, _>(9)?,
    ) {
        (Some(certificate_number), Some(completed_ms)) => Some(Completion {
            certificate_number,
            completed_ms,
            score_centi: r.try_get(11)?,
            issued_by: r.try_get(12)?,
        }),
        _ => None,
    };
    Ok(Enrolment {
        id: r.try_get(0)?,
        plan_id: r.try_get(1)?,
        person_id: r.try_get(2)?,
        department_id: r.try_get(3)?,
        status: Status::parse(&status).ok_or_else(|| corrupt("enrolment status", &status))?,
        queue_key: r.try_get(5)?,
        enrol_ms: r.try_get(6)?,
        seat_ms: r.try_get(7)?,
        cancel_ms: r.try_get(8)?,
        completion,
        waitlist_position: r.try_get(13)?,
    })
}

async fn one(
    conn: &mut AnyConnection,
    condition: &str,
    a: &str,
    b: Option<&str>,
) -> Result<Option<Enrolment>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM training_enrolment e WHERE {condition}");
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(a.to_string());
    if let Some(b) = b {
        q = q.bind(b.to_string());
    }
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

#[tracing::instrument(skip_all, fields(enrolment_id = %id))]
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Enrolment>, Error> {
    one(conn, "e.id = $1", id, None).await
}

/// The enrolment of `person_id` in `plan_id`, whatever its status.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, person_id = %person_id))]
pub async fn of_person(
    conn: &mut AnyConnection,
    plan_id: &str,
    person_id: &str,
) -> Result<Option<Enrolment>, Error> {
    one(
        conn,
        "e.plan_id = $1 AND e.person_id = $2",
        plan_id,
        Some(person_id),
    )
    .await
}

/// The enrolment carrying certificate `number`.
#[tracing::instrument(skip_all)]
pub async fn by_certificate(
    conn: &mut AnyConnection,
    number: &str,
) -> Result<Option<Enrolment>, Error> {
    one(conn, "e.certificate_number = $1", number, None).await
}

/// Stores a new enrolment.
#[tracing::instrument(skip_all, fields(enrolment_id = %e.id, plan_id = %e.plan_id))]
pub async fn insert(conn: &mut AnyConnection, e: &Enrolment) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO training_enrolment (id, plan_id, person_id, department_id, status, queue_key, \
         enrol_ms, seat_ms, cancel_ms, completed_ms, certificate_number, score_centi, issued_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, NULL, '')",
    )
    .bind(&e.id)
    .bind(&e.plan_id)
    .bind(&e.person_id)
    .bind(&e.department_id)
    .bind(e.status.as_str())
    .bind(&e.queue_key)
    .bind(e.enrol_ms)
    .bind(e.seat_ms)
    .execute(conn)
    .await
    .map_err(|err| write_error(err, "this person is already enrolled in this training"))?;
    Ok(())
}

/// Enrols again a person whose enrolment was cancelled: the same row with a
/// new place in the queue.
#[tracing::instrument(skip_all, fields(enrolment_id = %e.id))]
pub async fn reenrol(conn: &mut AnyConnection, e: &Enrolment) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE training_enrolment SET status = $2, queue_key = $3, enrol_ms = $4, seat_ms = $5, \
         cancel_ms = NULL, department_id = $6 WHERE id = $1 AND status = 'cancelled'",
    )
    .bind(&e.id)
    .bind(e.status.as_str())
    .bind(&e.queue_key)
    .bind(e.enrol_ms)
    .bind(e.seat_ms)
    .bind(&e.department_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The next place in a plan's queue and the seats taken, drawn under the
/// plan's lock. The place is a zero-padded counter, so the queue is the
/// order in which enrolments committed (ids made in one millisecond need
/// not be).
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn next_place(conn: &mut AnyConnection, plan_id: &str) -> Result<(String, i64), Error> {
    let row = sqlx::query(
        "SELECT MAX(queue_key), \
         COUNT(CASE WHEN status IN ('enrolled', 'completed') THEN 1 END) \
         FROM training_enrolment WHERE plan_id = $1",
    )
    .bind(plan_id)
    .fetch_one(conn)
    .await?;
    let last: Option<String> = row.try_get(0)?;
    let n = match last {
        Some(k) => k.parse::<i64>().map_err(|_| corrupt("queue key", &k))?,
        None => 0,
    };
    Ok((format!("{:012}", n + 1), row.try_get(1)?))
}

/// Cancels an enrolment that is enrolled or waiting; `false` otherwise.
#[tracing::instrument(skip_all, fields(enrolment_id = %id))]
pub async fn cancel(conn: &mut AnyConnection, id: &str, now: Millis) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE training_enrolment SET status = 'cancelled', cancel_ms = $2 \
         WHERE id = $1 AND status IN ('enrolled', 'waitlisted')",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cancels every open enrolment of a plan; returns how many.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn cancel_all(
    conn: &mut AnyConnection,
    plan_id: &str,
    now: Millis,
) -> Result<u64, Error> {
    let done = sqlx::query(
        "UPDATE training_enrolment SET status = 'cancelled', cancel_ms = $2 \
         WHERE plan_id = $1 AND status IN ('enrolled', 'waitlisted')",
    )
    .bind(plan_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Gives seats to the first `n` people on a plan's waiting list; returns
/// the enrolments moved up.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, n))]
pub async fn promote(
    conn: &mut AnyConnection,
    plan_id: &str,
    n: i64,
    now: Millis,
) -> Result<Vec<Enrolment>, Error> {
    if n <= 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT id FROM training_enrolment WHERE plan_id = $1 AND status = 'waitlisted' \
         ORDER BY queue_key LIMIT $2",
    )
    .bind(plan_id)
    .bind(n)
    .fetch_all(&mut *conn)
    .await?;
    let mut moved = Vec::new();
    for r in rows {
        let id: String = r.try_get(0)?;
        sqlx::query(
            "UPDATE training_enrolment SET status = 'enrolled', seat_ms = $2 \
             WHERE id = $1 AND status = 'waitlisted'",
        )
        .bind(&id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if let Some(e) = get(conn, &id).await? {
            moved.push(e);
        }
    }
    Ok(moved)
}

/// The next certificate number of local `year` (1, 2, …), drawn under the
/// counter row's lock.
#[tracing::instrument(skip_all)]
pub async fn next_certificate(conn: &mut AnyConnection, year: i32) -> Result<i64, Error> {
    sqlx::query(
        "INSERT INTO certificate_counter (year, last) VALUES ($1, 0) ON CONFLICT DO NOTHING",
    )
    .bind(i64::from(year))
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(
        "UPDATE certificate_counter SET last = last + 1 WHERE year = $1 RETURNING last",
    )
    .bind(i64::from(year))
    .fetch_one(conn)
    .await?;
    Ok(row.try_get(0)?)
}

/// Records a seated enrolment's completion; `false` when it holds no seat
/// (any more).
#[tracing::instrument(skip_all, fields(enrolment_id = %id))]
pub async fn complete(conn: &mut AnyConnection, id: &str, c: &Completion) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE training_enrolment SET status = 'completed', completed_ms = $2, \
         certificate_number = $3, score_centi = $4, issued_by = $5 \
         WHERE id = $1 AND status = 'enrolled'",
    )
    .bind(id)
    .bind(c.completed_ms)
    .bind(&c.certificate_number)
    .bind(c.score_centi)
    .bind(&c.issued_by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which enrolments a list shows.
#[derive(Debug)]
pub enum Of {
    Plan(String),
    Person(String),
}

/// Enrolments of a plan (seats, waiting list in order, cancelled) or of a
/// person (newest first), optionally in one status.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    of: &Of,
    status: Option<Status>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Enrolment>, Error> {
    let mut q = Sql::new(&format!(
        "SELECT {COLUMNS} FROM training_enrolment e WHERE "
    ));
    match of {
        Of::Plan(id) => {
            let p = q.text(id.clone());
            q.push(&format!("e.plan_id = {p}"));
        }
        Of::Person(id) => {
            let p = q.text(id.clone());
            q.push(&format!("e.person_id = {p}"));
        }
    }
    if let Some(s) = status {
        let p = q.text(s.as_str());
        q.push(&format!(" AND e.status = {p}"));
    }
    match of {
        Of::Plan(_) => {
            if let Some([rank, key]) = cursor::<[String; 2]>(after)? {
                let rank: i64 = rank.parse().map_err(|_| {
                    concord_kit::invalid("page_token", "is not a token returned by this list")
                })?;
                let (a, b) = (q.int(rank), q.text(key));
                q.push(&format!(
                    " AND ({RANK} > {a} OR ({RANK} = {a} AND e.queue_key > {b}))"
                ));
            }
            let l = q.int(limit);
            q.push(&format!(" ORDER BY {RANK}, e.queue_key LIMIT {l}"));
        }
        Of::Person(_) => {
            if let Some([id]) = cursor::<[String; 1]>(after)? {
                let a = q.text(id);
                q.push(&format!(" AND e.id < {a}"));
            }
            let l = q.int(limit);
            q.push(&format!(" ORDER BY e.id DESC LIMIT {l}"));
        }
    }
    q.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// The page cursor of an enrolment in [`list`].
pub fn list_cursor(of: &Of, e: &Enrolment) -> String {
    match of {
        Of::Plan(_) => {
            let rank = match e.status {
                Status::Waitlisted => 1,
                Status::Cancelled => 2,
                Status::Enrolled | Status::Completed => 0,
            };
            render_cursor(&[&rank.to_string(), &e.queue_key])
        }
        Of::Person(_) => render_cursor(&[&e.id]),
    }
}

/// A person's completed enrolments, newest completion first.
#[tracing::instrument(skip_all, fields(person_id = %person_id))]
pub async fn completions_of(
    conn: &mut AnyConnection,
    person_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Enrolment>, Error> {
    let mut q = Sql::new(&format!(
        "SELECT {COLUMNS} FROM training_enrolment e WHERE "
    ));
    let p = q.text(person_id);
    q.push(&format!("e.person_id = {p} AND e.status = 'completed'"));
    if let Some([number]) = cursor::<[String; 1]>(after)? {
        let a = q.text(number);
        q.push(&format!(" AND e.certificate_number < {a}"));
    }
    let l = q.int(limit);
    q.push(&format!(" ORDER BY e.certificate_number DESC LIMIT {l}"));
    q.fetch_all(conn).await?.iter().map(from_row).collect()
}

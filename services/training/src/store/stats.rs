//! The facts the statistics count, read per period and scope and added up
//! by [`crate::domain::stats::Statistics`].

use std::collections::BTreeSet;

use concord_kit::Error;
use concord_kit::period::Period;
use concord_kit::sql::Sql;
use sqlx::{AnyConnection, Row};

use crate::domain::stats::Statistics;

/// Whose figures: people of these departments (`None`: all), or one person.
#[derive(Debug, Default)]
pub struct Scope {
    pub departments: Option<BTreeSet<String>>,
    pub person_id: Option<String>,
}

/// Adds the scope's conditions on `dept_col` and `person_col`.
fn scoped(q: &mut Sql, scope: &Scope, dept_col: &str, person_col: &str) {
    if let Some(ds) = &scope.departments {
        let c = q.in_list(dept_col, ds);
        q.push(&format!(" AND {c}"));
    }
    if let Some(p) = &scope.person_id {
        let a = q.text(p.clone());
        q.push(&format!(" AND {person_col} = {a}"));
    }
}

/// Reads every fact of `period` within `scope`.
#[tracing::instrument(skip_all, fields(start = period.start_ms, end = period.end_ms))]
pub async fn collect(
    conn: &mut AnyConnection,
    period: Period,
    scope: &Scope,
) -> Result<Statistics, Error> {
    let mut stats = Statistics::default();

    let mut q = Sql::new(
        "SELECT department_id, status FROM training_enrolment \
         WHERE status IN ('enrolled', 'completed')",
    );
    let (a, b) = (q.int(period.start_ms), q.int(period.end_ms));
    q.push(&format!(" AND enrol_ms >= {a} AND enrol_ms < {b}"));
    scoped(&mut q, scope, "department_id", "person_id");
    for r in q.fetch_all(conn).await? {
        let status: String = r.try_get(1)?;
        stats.enrolment(&r.try_get::<String, _>(0)?, status == "completed");
    }

    let mut q = Sql::new(
        "SELECT a.department_id, s.end_ms - s.start_ms FROM training_attendance a \
         JOIN training_session s ON s.id = a.session_id WHERE a.present = 1",
    );
    let (a, b) = (q.int(period.start_ms), q.int(period.end_ms));
    q.push(&format!(" AND s.start_ms >= {a} AND s.start_ms < {b}"));
    scoped(&mut q, scope, "a.department_id", "a.person_id");
    for r in q.fetch_all(conn).await? {
        stats.attended(&r.try_get::<String, _>(0)?, r.try_get(1)?);
    }

    let mut q = Sql::new(
        "SELECT a.department_id, CAST(CASE WHEN e.status = 'completed' \
         AND e.completed_ms <= p.deadline_ms THEN 1 ELSE 0 END AS BIGINT) \
         FROM training_audience a JOIN training_plan p ON p.id = a.plan_id \
         LEFT JOIN training_enrolment e ON e.plan_id = a.plan_id AND e.person_id = a.person_id \
         WHERE p.mandatory = 1 AND p.state = 'published'",
    );
    let (a, b) = (q.int(period.start_ms), q.int(period.end_ms));
    q.push(&format!(
        " AND p.deadline_ms >= {a} AND p.deadline_ms < {b}"
    ));
    scoped(&mut q, scope, "a.department_id", "a.person_id");
    for r in q.fetch_all(conn).await? {
        stats.required(&r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)? == 1);
    }

    let mut q = Sql::new(
        "SELECT department_id, score_centi FROM training_enrolment WHERE status = 'completed'",
    );
    let (a, b) = (q.int(period.start_ms), q.int(period.end_ms));
    q.push(&format!(" AND completed_ms >= {a} AND completed_ms < {b}"));
    scoped(&mut q, scope, "department_id", "person_id");
    for r in q.fetch_all(conn).await? {
        stats.certificate(&r.try_get::<String, _>(0)?, r.try_get(1)?);
    }
    Ok(stats)
}

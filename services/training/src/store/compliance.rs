//! Mandatory compliance of each published mandatory plan: of the people
//! required, how many completed by the deadline (so far, before it).

use concord_kit::Error;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// One mandatory plan's compliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compliance {
    pub plan_id: String,
    /// The organising department.
    pub department_id: String,
    pub required: i64,
    pub completed_by_deadline: i64,
}

const SELECT: &str = "SELECT p.id, p.department_id, \
    (SELECT COUNT(*) FROM training_audience a WHERE a.plan_id = p.id), \
    (SELECT COUNT(*) FROM training_enrolment e JOIN training_audience a \
       ON a.plan_id = e.plan_id AND a.person_id = e.person_id \
     WHERE e.plan_id = p.id AND e.status = 'completed' AND e.completed_ms <= p.deadline_ms) \
    FROM training_plan p WHERE p.state = 'published' AND p.mandatory = 1";

fn from_row(r: &AnyRow) -> Result<Compliance, Error> {
    Ok(Compliance {
        plan_id: r.try_get(0)?,
        department_id: r.try_get(1)?,
        required: r.try_get(2)?,
        completed_by_deadline: r.try_get(3)?,
    })
}

/// The compliance of one plan; `None` unless it is published and mandatory.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn of(conn: &mut AnyConnection, plan_id: &str) -> Result<Option<Compliance>, Error> {
    let sql = format!("{SELECT} AND p.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The compliance of every published mandatory plan.
#[tracing::instrument(skip_all)]
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Compliance>, Error> {
    sqlx::query(SELECT)
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

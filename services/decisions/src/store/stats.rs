//! The facts statistics are computed from: proposals whose vote closed in a
//! period, the voter places of those votes, and action items.

use concord_kit::Error;
use concord_kit::period::Period;
use concord_kit::sql::placeholders;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

/// Whose figures: some departments (or all), or one person.
#[derive(Debug, Clone)]
pub enum Scope {
    Everyone,
    Departments(Vec<String>),
    Person(String),
}

/// `(fragment, values)`: a condition on `column` for the scope's departments,
/// with placeholders from `$start`.
fn department_condition(scope: &Scope, column: &str, start: usize) -> (String, Vec<String>) {
    match scope {
        Scope::Departments(ids) if !ids.is_empty() => (
            format!("{column} IN ({})", placeholders(start, ids.len())),
            ids.clone(),
        ),
        Scope::Departments(_) => ("1 = 0".into(), vec![]),
        Scope::Everyone | Scope::Person(_) => ("1 = 1".into(), vec![]),
    }
}

/// A proposal whose vote closed in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub passed: bool,
    pub created_ms: i64,
    pub decided_ms: i64,
}

/// Proposals owned by or involving the scope's departments (for a person:
/// those they could vote on) whose vote closed in `period`.
#[tracing::instrument(skip_all)]
pub async fn closed_proposals(
    conn: &mut AnyConnection,
    scope: &Scope,
    period: &Period,
) -> Result<Vec<Closed>, Error> {
    let (owning, values) = department_condition(scope, "p.owning_department_id", 3);
    let (involved, _) = department_condition(scope, "x.department_id", 3);
    let who = match scope {
        Scope::Person(_) => {
            "EXISTS (SELECT 1 FROM voter v WHERE v.proposal_id = p.id AND v.person_id = $3)".into()
        }
        _ => format!(
            "({owning} OR EXISTS (SELECT 1 FROM participant x WHERE x.proposal_id = p.id AND {involved}))"
        ),
    };
    let sql = format!(
        "SELECT p.outcome_result, p.created_ms, p.decided_ms FROM proposal p \
         WHERE p.decided_ms >= $1 AND p.decided_ms < $2 AND {who}"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(period.start_ms)
        .bind(period.end_ms);
    if let Scope::Person(p) = scope {
        q = q.bind(p.clone());
    }
    for v in values {
        q = q.bind(v);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(Closed {
                passed: r.try_get::<Option<String>, _>(0)?.as_deref() == Some("decided"),
                created_ms: r.try_get(1)?,
                decided_ms: r.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// One eligible-voter place in a vote that closed in the period, and
/// whether it was counted (own vote, or the delegate's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub proposal_id: String,
    pub counted: bool,
}

#[tracing::instrument(skip_all)]
pub async fn voter_places(
    conn: &mut AnyConnection,
    scope: &Scope,
    period: &Period,
) -> Result<Vec<Place>, Error> {
    let (dept, values) = department_condition(scope, "v.department_id", 3);
    let who = match scope {
        Scope::Person(_) => "v.person_id = $3".to_string(),
        _ => dept,
    };
    let sql = format!(
        "SELECT v.proposal_id, CAST(CASE \
           WHEN EXISTS (SELECT 1 FROM vote w WHERE w.proposal_id = v.proposal_id AND w.voter_id = v.person_id) THEN 1 \
           WHEN EXISTS (SELECT 1 FROM delegation d JOIN vote w ON w.proposal_id = d.proposal_id \
                        AND w.voter_id = d.delegate_id \
                        WHERE d.proposal_id = v.proposal_id AND d.delegator_id = v.person_id) THEN 1 \
           ELSE 0 END AS BIGINT) \
         FROM voter v JOIN proposal p ON p.id = v.proposal_id \
         WHERE p.decided_ms >= $1 AND p.decided_ms < $2 AND {who}"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(period.start_ms)
        .bind(period.end_ms);
    if let Scope::Person(p) = scope {
        q = q.bind(p.clone());
    }
    for v in values {
        q = q.bind(v);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(Place {
                proposal_id: r.try_get(0)?,
                counted: r.try_get::<i64, _>(1)? != 0,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The dates of an action item that statistics look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDates {
    pub created_ms: i64,
    pub due_ms: i64,
    pub done_ms: Option<i64>,
}

/// Items the scope's departments lead (or the person owns) created or due
/// in the period.
#[tracing::instrument(skip_all)]
pub async fn action_items(
    conn: &mut AnyConnection,
    scope: &Scope,
    period: &Period,
) -> Result<Vec<ItemDates>, Error> {
    let (dept, values) = department_condition(scope, "lead_department_id", 3);
    let who = match scope {
        Scope::Person(_) => "owner_id = $3".to_string(),
        _ => dept,
    };
    let sql = format!(
        "SELECT created_ms, due_ms, done_ms FROM action_item \
         WHERE ((created_ms >= $1 AND created_ms < $2) OR (due_ms >= $1 AND due_ms < $2)) AND {who}"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(period.start_ms)
        .bind(period.end_ms);
    if let Scope::Person(p) = scope {
        q = q.bind(p.clone());
    }
    for v in values {
        q = q.bind(v);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(ItemDates {
                created_ms: r.try_get(0)?,
                due_ms: r.try_get(1)?,
                done_ms: r.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

//! Development plans, their goals, progress updates and reviews.

use std::collections::{BTreeSet, HashMap};

use concord_kit::Error;
use concord_kit::clock::Millis;
use concord_kit::page::cursor;
use concord_kit::sql::{Sql, corrupt, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::development::{
    DevelopmentPlan, Goal, GoalStatus, NewGoal, ProgressUpdate, Review,
};

const PLAN_COLUMNS: &str = "id, person_id, department_id, title, mentor_id, career_path, \
    created_by, created_ms, updated_ms, last_review_ms, version";

fn plan_from_row(r: &AnyRow) -> Result<DevelopmentPlan, Error> {
    Ok(DevelopmentPlan {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        department_id: r.try_get(2)?,
        title: r.try_get(3)?,
        mentor_id: r.try_get(4)?,
        career_path: r.try_get(5)?,
        created_by: r.try_get(6)?,
        created_ms: r.try_get(7)?,
        updated_ms: r.try_get(8)?,
        last_review_ms: r.try_get(9)?,
        version: r.try_get(10)?,
    })
}

#[tracing::instrument(skip_all, fields(plan_id = %p.id, person_id = %p.person_id))]
pub async fn insert_plan(conn: &mut AnyConnection, p: &DevelopmentPlan) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO development_plan (id, person_id, department_id, title, mentor_id, \
         career_path, created_by, created_ms, updated_ms, last_review_ms, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)",
    )
    .bind(&p.id)
    .bind(&p.person_id)
    .bind(&p.department_id)
    .bind(&p.title)
    .bind(&p.mentor_id)
    .bind(&p.career_path)
    .bind(&p.created_by)
    .bind(p.created_ms)
    .bind(p.updated_ms)
    .bind(p.version)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(plan_id = %id))]
pub async fn get_plan(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<DevelopmentPlan>, Error> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM development_plan WHERE id = $1");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(plan_from_row)
        .transpose()
}

/// Writes a changed plan if it is still at version `read`.
#[tracing::instrument(skip_all, fields(plan_id = %p.id))]
pub async fn update_plan(
    conn: &mut AnyConnection,
    p: &DevelopmentPlan,
    read: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE development_plan SET title = $3, mentor_id = $4, career_path = $5, \
         updated_ms = $6, last_review_ms = $7, version = $8 WHERE id = $1 AND version = $2",
    )
    .bind(&p.id)
    .bind(read)
    .bind(&p.title)
    .bind(&p.mentor_id)
    .bind(&p.career_path)
    .bind(p.updated_ms)
    .bind(p.last_review_ms)
    .bind(p.version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which development plans a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    pub person_id: Option<String>,
    pub departments: Option<BTreeSet<String>>,
    /// For callers who see only some plans: their own, those they mentor,
    /// and those of these departments.
    pub visible_to: Option<(String, BTreeSet<String>)>,
}

/// Plans newest first.
#[tracing::instrument(skip_all)]
pub async fn list_plans(
    conn: &mut AnyConnection,
    f: &Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DevelopmentPlan>, Error> {
    let mut q = Sql::new(&format!(
        "SELECT {PLAN_COLUMNS} FROM development_plan WHERE 1 = 1"
    ));
    if let Some(p) = &f.person_id {
        let a = q.text(p.clone());
        q.push(&format!(" AND person_id = {a}"));
    }
    if let Some(ds) = &f.departments {
        let c = q.in_list("department_id", ds);
        q.push(&format!(" AND {c}"));
    }
    if let Some((me, ds)) = &f.visible_to {
        let (a, b) = (q.text(me.clone()), q.text(me.clone()));
        let c = q.in_list("department_id", ds);
        q.push(&format!(" AND (person_id = {a} OR mentor_id = {b} OR {c})"));
    }
    if let Some([id]) = cursor::<[String; 1]>(after)? {
        let a = q.text(id);
        q.push(&format!(" AND id < {a}"));
    }
    let l = q.int(limit);
    q.push(&format!(" ORDER BY id DESC LIMIT {l}"));
    q.fetch_all(conn).await?.iter().map(plan_from_row).collect()
}

const GOAL_COLUMNS: &str =
    "id, plan_id, title, description, target_date, status, created_ms, updated_ms, version";

fn goal_from_row(r: &AnyRow) -> Result<Goal, Error> {
    let status: String = r.try_get(5)?;
    Ok(Goal {
        id: r.try_get(0)?,
        plan_id: r.try_get(1)?,
        goal: NewGoal {
            title: r.try_get(2)?,
            description: r.try_get(3)?,
            target_date: r.try_get(4)?,
        },
        status: GoalStatus::parse(&status).ok_or_else(|| corrupt("goal status", &status))?,
        created_ms: r.try_get(6)?,
        updated_ms: r.try_get(7)?,
        version: r.try_get(8)?,
    })
}

#[tracing::instrument(skip_all, fields(goal_id = %g.id, plan_id = %g.plan_id))]
pub async fn insert_goal(conn: &mut AnyConnection, g: &Goal) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO development_goal (id, plan_id, title, description, target_date, status, \
         created_ms, updated_ms, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&g.id)
    .bind(&g.plan_id)
    .bind(&g.goal.title)
    .bind(&g.goal.description)
    .bind(&g.goal.target_date)
    .bind(g.status.as_str())
    .bind(g.created_ms)
    .bind(g.updated_ms)
    .bind(g.version)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(goal_id = %id))]
pub async fn get_goal(conn: &mut AnyConnection, id: &str) -> Result<Option<Goal>, Error> {
    let sql = format!("SELECT {GOAL_COLUMNS} FROM development_goal WHERE id = $1");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(goal_from_row)
        .transpose()
}

/// Writes a changed goal if it is still at version `read`.
#[tracing::instrument(skip_all, fields(goal_id = %g.id))]
pub async fn update_goal(conn: &mut AnyConnection, g: &Goal, read: i64) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE development_goal SET title = $3, description = $4, target_date = $5, \
         status = $6, updated_ms = $7, version = $8 WHERE id = $1 AND version = $2",
    )
    .bind(&g.id)
    .bind(read)
    .bind(&g.goal.title)
    .bind(&g.goal.description)
    .bind(&g.goal.target_date)
    .bind(g.status.as_str())
    .bind(g.updated_ms)
    .bind(g.version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The goals of each plan, by target date.
#[tracing::instrument(skip_all)]
pub async fn goals_of(
    conn: &mut AnyConnection,
    plan_ids: &[String],
) -> Result<HashMap<String, Vec<Goal>>, Error> {
    let mut out: HashMap<String, Vec<Goal>> = HashMap::new();
    if plan_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT {GOAL_COLUMNS} FROM development_goal WHERE plan_id IN ({}) \
         ORDER BY target_date, id",
        placeholders(1, plan_ids.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for id in plan_ids {
        q = q.bind(id);
    }
    for r in q.fetch_all(conn).await? {
        let g = goal_from_row(&r)?;
        out.entry(g.plan_id.clone()).or_default().push(g);
    }
    Ok(out)
}

#[tracing::instrument(skip_all, fields(plan_id = %u.plan_id))]
pub async fn insert_progress(conn: &mut AnyConnection, u: &ProgressUpdate) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO development_progress (id, plan_id, goal_id, author_id, text, goal_status, \
         created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&u.id)
    .bind(&u.plan_id)
    .bind(&u.goal_id)
    .bind(&u.author_id)
    .bind(&u.text)
    .bind(u.goal_status.map(GoalStatus::as_str).unwrap_or_default())
    .bind(u.created_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Progress updates of a plan, oldest first.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn list_progress(
    conn: &mut AnyConnection,
    plan_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ProgressUpdate>, Error> {
    let rows = oldest_first(
        conn,
        "SELECT id, plan_id, goal_id, author_id, text, goal_status, created_ms \
         FROM development_progress",
        plan_id,
        after,
        limit,
    )
    .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get(5)?;
            let goal_status = if status.is_empty() {
                None
            } else {
                Some(GoalStatus::parse(&status).ok_or_else(|| corrupt("goal status", &status))?)
            };
            Ok(ProgressUpdate {
                id: r.try_get(0)?,
                plan_id: r.try_get(1)?,
                goal_id: r.try_get(2)?,
                author_id: r.try_get(3)?,
                text: r.try_get(4)?,
                goal_status,
                created_ms: r.try_get(6)?,
            })
        })
        .collect()
}

async fn oldest_first(
    conn: &mut AnyConnection,
    select: &str,
    plan_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    let mut q = Sql::new(select);
    let p = q.text(plan_id);
    q.push(&format!(" WHERE plan_id = {p}"));
    if let Some([id]) = cursor::<[String; 1]>(after)? {
        let a = q.text(id);
        q.push(&format!(" AND id > {a}"));
    }
    let l = q.int(limit);
    q.push(&format!(" ORDER BY id LIMIT {l}"));
    q.fetch_all(conn).await
}

#[tracing::instrument(skip_all, fields(plan_id = %r.plan_id))]
pub async fn insert_review(conn: &mut AnyConnection, r: &Review) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO development_review (id, plan_id, reviewer_id, comment, created_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&r.id)
    .bind(&r.plan_id)
    .bind(&r.reviewer_id)
    .bind(&r.comment)
    .bind(r.created_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Reviews of a plan, oldest first.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn list_reviews(
    conn: &mut AnyConnection,
    plan_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Review>, Error> {
    let rows = oldest_first(
        conn,
        "SELECT id, plan_id, reviewer_id, comment, created_ms FROM development_review",
        plan_id,
        after,
        limit,
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Review {
                id: r.try_get(0)?,
                plan_id: r.try_get(1)?,
                reviewer_id: r.try_get(2)?,
                comment: r.try_get(3)?,
                created_ms: r.try_get::<Millis, _>(4)?,
            })
        })
        .collect()
}

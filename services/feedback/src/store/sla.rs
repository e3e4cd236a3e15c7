//! SLA policies; `''` stands for "any" category or priority.

use concord_kit::Error;
use sqlx::{AnyConnection, Row};

use crate::domain::{Category, Priority, SlaPolicy};

/// Every configured policy, most general first.
#[tracing::instrument(skip_all)]
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<SlaPolicy>, Error> {
    let rows = sqlx::query(
        "SELECT category, priority, first_response_ms, resolution_ms, escalate_after_ms, \
         auto_close_ms, updated_ms FROM sla_policy ORDER BY category, priority",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let category: String = r.try_get(0)?;
            let priority: String = r.try_get(1)?;
            Ok(SlaPolicy {
                category: Category::parse(&category),
                priority: Priority::parse(&priority),
                first_response_ms: r.try_get(2)?,
                resolution_ms: r.try_get(3)?,
                escalate_after_ms: r.try_get(4)?,
                auto_close_ms: r.try_get(5)?,
                updated_ms: r.try_get(6)?,
            })
        })
        .collect()
}

/// The policy for `category` and `priority` now.
pub async fn applicable(
    conn: &mut AnyConnection,
    category: Category,
    priority: Priority,
) -> Result<SlaPolicy, Error> {
    Ok(crate::domain::sla::choose(
        &all(conn).await?,
        category,
        priority,
    ))
}

fn key(p: &SlaPolicy) -> (&'static str, &'static str) {
    (
        p.category.map_or("", |c| c.as_str()),
        p.priority.map_or("", |p| p.as_str()),
    )
}

/// Creates or replaces the policy of its category and priority.
#[tracing::instrument(skip_all)]
pub async fn upsert(conn: &mut AnyConnection, p: &SlaPolicy) -> Result<(), Error> {
    let (category, priority) = key(p);
    sqlx::query(
        "INSERT INTO sla_policy (category, priority, first_response_ms, resolution_ms, \
         escalate_after_ms, auto_close_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (category, priority) DO UPDATE SET \
         first_response_ms = excluded.first_response_ms, resolution_ms = excluded.resolution_ms, \
         escalate_after_ms = excluded.escalate_after_ms, auto_close_ms = excluded.auto_close_ms, \
         updated_ms = excluded.updated_ms",
    )
    .bind(category)
    .bind(priority)
    .bind(p.first_response_ms)
    .bind(p.resolution_ms)
    .bind(p.escalate_after_ms)
    .bind(p.auto_close_ms)
    .bind(p.updated_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a policy; `false` when there was none.
#[tracing::instrument(skip_all)]
pub async fn delete(
    conn: &mut AnyConnection,
    category: Option<Category>,
    priority: Option<Priority>,
) -> Result<bool, Error> {
    let done = sqlx::query("DELETE FROM sla_policy WHERE category = $1 AND priority = $2")
        .bind(category.map_or("", |c| c.as_str()))
        .bind(priority.map_or("", |p| p.as_str()))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

//! The audit trail: who changed what and when, written in the transaction of
//! the change into the owning service's `kit_audit` table.

use concord_proto::audit::v1::{AuditEntry, ListAuditEntriesRequest, ListAuditEntriesResponse};
use sqlx::{AnyConnection, Row};

use crate::auth::Principal;
use crate::clock::to_timestamp;
use crate::db::Db;
use crate::error::Error;
use crate::ids::new_id;
use crate::page::Page;

/// Records one change by `actor`. Call it with the transaction that makes
/// the change.
pub async fn record(
    conn: &mut AnyConnection,
    now_ms: i64,
    actor: &Principal,
    action: &str,
    resource: &str,
    detail: serde_json::Value,
) -> Result<(), Error> {
    record_as(conn, now_ms, &actor.subject, action, resource, detail).await
}

/// Records one change by an actor that is not a signed-in principal:
/// `"anonymous"`, or the service itself (`"system:feedback"`) for what its
/// timers do.
pub async fn record_as(
    conn: &mut AnyConnection,
    now_ms: i64,
    actor: &str,
    action: &str,
    resource: &str,
    detail: serde_json::Value,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO kit_audit (id, at_ms, actor, action, resource, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(now_ms)
    .bind(actor)
    .bind(action)
    .bind(resource)
    .bind(detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Lists entries newest first, filtered by resource and actor.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    req: &ListAuditEntriesRequest,
) -> Result<ListAuditEntriesResponse, Error> {
    let mut v = crate::error::Violations::new();
    for (field, value) in [("resource", &req.resource), ("actor", &req.actor)] {
        crate::ids::check_opt_text(&mut v, field, value, 512);
    }
    let page = v.absorb(Page::parse(
        req.page_size,
        &req.page_token,
        &format!("{}|{}", req.resource, req.actor),
    ))?;
    let Some(page) = page.filter(|_| v.is_empty()) else {
        return Err(Error::Invalid(v));
    };
    let rows = sqlx::query(
        "SELECT id, at_ms, actor, action, resource, detail FROM kit_audit \
         WHERE ($1 = '' OR resource = $1) AND ($2 = '' OR actor = $2) AND ($3 = '' OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind(&req.resource)
    .bind(&req.actor)
    .bind(page.after.clone().unwrap_or_default())
    .bind(page.fetch_limit())
    .fetch_all(db.pool())
    .await?;
    let entries = rows
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get(0)?,
                time: Some(to_timestamp(r.try_get(1)?)),
                actor: r.try_get(2)?,
                action: r.try_get(3)?,
                resource: r.try_get(4)?,
                detail_json: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let (entries, next_page_token) = page.finish(entries, |e| e.id.clone());
    Ok(ListAuditEntriesResponse {
        entries,
        next_page_token,
    })
}

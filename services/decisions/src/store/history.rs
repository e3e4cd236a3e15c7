//! The history of one resource, oldest first, read from the kit's audit
//! table (`kit::audit::list` reads newest first across resources).

use concord_kit::Error;
use concord_kit::clock::to_timestamp;
use concord_proto::audit::v1::AuditEntry;
use sqlx::{AnyConnection, Row};

/// Entries of `resource` in the order they were written, after the id `after`.
#[tracing::instrument(skip_all, fields(resource = %resource))]
pub async fn entries(
    conn: &mut AnyConnection,
    resource: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, Error> {
    let rows = sqlx::query(
        "SELECT id, at_ms, actor, action, resource, detail FROM kit_audit \
         WHERE resource = $1 AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3",
    )
    .bind(resource)
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
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
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

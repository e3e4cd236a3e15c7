//! `request_id` idempotency (AIP-155): the first response of a create is
//! remembered in the same transaction as the create, and a retry with the
//! same id gets that response back and creates nothing.

use sqlx::{AnyConnection, Row};

use crate::error::{Error, Violations};

/// Identifies one create attempt.
#[derive(Debug, Clone)]
pub struct Key {
    method: &'static str,
    caller: String,
    request_id: String,
}

impl Key {
    /// `None` when the client sent no `request_id` (no idempotency asked).
    /// The id is scoped to the caller, so nobody can replay another's result.
    pub fn new(method: &'static str, caller: &str, request_id: &str) -> Option<Self> {
        (!request_id.is_empty()).then(|| Self {
            method,
            caller: caller.to_string(),
            request_id: request_id.to_string(),
        })
    }
}

/// Validates a `request_id` field.
pub fn check_request_id(v: &mut Violations, request_id: &str) {
    if request_id.len() > 128 {
        v.add("request_id", "must be at most 128 bytes");
    }
}

/// Claims `key` inside the create's transaction. Returns the remembered
/// response when this request was already done; `None` means go ahead (and
/// call [`remember`] before committing).
///
/// On PostgreSQL a concurrent retry waits on the first attempt's row lock and
/// then sees its response; on SQLite writers are serialized.
pub async fn replay<M: prost::Message + Default>(
    conn: &mut AnyConnection,
    key: Option<&Key>,
    now_ms: i64,
) -> Result<Option<M>, Error> {
    let Some(key) = key else { return Ok(None) };
    let inserted = sqlx::query(
        "INSERT INTO kit_idempotency (method, caller, request_id, response, created_ms) \
         VALUES ($1, $2, $3, NULL, $4) ON CONFLICT DO NOTHING",
    )
    .bind(key.method)
    .bind(&key.caller)
    .bind(&key.request_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT response FROM kit_idempotency WHERE method = $1 AND caller = $2 AND request_id = $3",
    )
    .bind(key.method)
    .bind(&key.caller)
    .bind(&key.request_id)
    .fetch_one(&mut *conn)
    .await?;
    let bytes: Option<Vec<u8>> = row.try_get(0)?;
    match bytes {
        Some(b) => M::decode(b.as_slice()).map(Some).map_err(|e| {
            Error::Internal(anyhow::Error::new(e).context("decoding a remembered response"))
        }),
        None => Err(Error::Aborted(
            "the same request_id is being processed; retry".into(),
        )),
    }
}

/// Stores the response of a create claimed with [`replay`].
pub async fn remember<M: prost::Message>(
    conn: &mut AnyConnection,
    key: Option<&Key>,
    response: &M,
) -> Result<(), Error> {
    let Some(key) = key else { return Ok(()) };
    sqlx::query(
        "UPDATE kit_idempotency SET response = $4 WHERE method = $1 AND caller = $2 AND request_id = $3",
    )
    .bind(key.method)
    .bind(&key.caller)
    .bind(&key.request_id)
    .bind(response.encode_to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

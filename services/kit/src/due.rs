//! Scheduled actions that survive restarts: a deadline is a row in the
//! service's `kit_due` table, written in the transaction that creates it.
//! A worker in every replica claims due rows (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so each row goes to one replica), runs the handler for the
//! row's kind, and deletes the row. A replica that dies mid-way leaves a
//! lease that expires, and another replica runs the action again: handlers
//! must be idempotent (check the state they act on).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{AnyConnection, Row};
use tokio_util::sync::CancellationToken;

use crate::clock::{Millis, SharedClock};
use crate::db::{Backend, Db};
use crate::error::Error;
use crate::ids::new_id;

/// How long a claimed action is reserved for the replica running it.
const LEASE_MS: i64 = 60_000;
/// Most rows claimed at once.
const BATCH: i64 = 32;

/// A due action handed to its handler.
#[derive(Debug, Clone)]
pub struct DueAction {
    pub kind: String,
    /// What the action is about (a proposal id, a feedback id …).
    pub subject: String,
    pub due_ms: Millis,
    /// Free-form data the scheduler left for the handler.
    pub payload: String,
    /// 1 on the first run.
    pub attempt: i64,
}

/// Schedules (or moves) the action `kind` for `subject` to `due_ms`. There is
/// at most one pending action per kind and subject.
pub async fn schedule(
    conn: &mut AnyConnection,
    kind: &str,
    subject: &str,
    due_ms: Millis,
    payload: &str,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO kit_due (id, kind, subject, due_ms, payload, attempts, lease_until_ms) \
         VALUES ($1, $2, $3, $4, $5, 0, 0) \
         ON CONFLICT (kind, subject) DO UPDATE SET due_ms = excluded.due_ms, \
         payload = excluded.payload, attempts = 0, lease_until_ms = 0",
    )
    .bind(new_id())
    .bind(kind)
    .bind(subject)
    .bind(due_ms)
    .bind(payload)
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels the pending action `kind` for `subject`, if any.
pub async fn cancel(conn: &mut AnyConnection, kind: &str, subject: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM kit_due WHERE kind = $1 AND subject = $2")
        .bind(kind)
        .bind(subject)
        .execute(conn)
        .await?;
    Ok(())
}

/// When the pending action `kind` for `subject` is due, if one is pending.
pub async fn pending(db: &Db, kind: &str, subject: &str) -> Result<Option<Millis>, Error> {
    let row = sqlx::query("SELECT due_ms FROM kit_due WHERE kind = $1 AND subject = $2")
        .bind(kind)
        .bind(subject)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Runs one kind of due action.
#[async_trait::async_trait]
pub trait DueHandler: Send + Sync + 'static {
    async fn run(&self, action: &DueAction) -> Result<(), Error>;
}

/// The handlers of a service, by kind.
#[derive(Default, Clone)]
pub struct Handlers(HashMap<String, Arc<dyn DueHandler>>);

impl Handlers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn on(mut self, kind: &str, handler: impl DueHandler) -> Self {
        self.0.insert(kind.to_string(), Arc::new(handler));
        self
    }
}

/// Claims the due rows for this replica, leasing them.
async fn claim(db: &Db, now: Millis) -> Result<Vec<(String, i64, DueAction)>, Error> {
    let sql = match db.backend() {
        Backend::Postgres => {
            "UPDATE kit_due SET lease_until_ms = $2, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM kit_due WHERE due_ms <= $1 AND lease_until_ms < $1 \
              ORDER BY due_ms LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, subject, due_ms, payload, attempts, lease_until_ms"
        }
        // One writer at a time on SQLite: the plain subquery is already exclusive.
        Backend::Sqlite => {
            "UPDATE kit_due SET lease_until_ms = $2, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM kit_due WHERE due_ms <= $1 AND lease_until_ms < $1 \
              ORDER BY due_ms LIMIT $3) \
             RETURNING id, kind, subject, due_ms, payload, attempts, lease_until_ms"
        }
    };
    let rows = sqlx::query(sql)
        .bind(now)
        .bind(now + LEASE_MS)
        .bind(BATCH)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>(0)?,
                r.try_get::<i64, _>(6)?,
                DueAction {
                    kind: r.try_get(1)?,
                    subject: r.try_get(2)?,
                    due_ms: r.try_get(3)?,
                    payload: r.try_get(4)?,
                    attempt: r.try_get(5)?,
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Runs every action due now once. Returns how many ran. Exposed so tests
/// can drive the worker step by step.
pub async fn run_due(db: &Db, clock: &SharedClock, handlers: &Handlers) -> Result<usize, Error> {
    let now = clock.now_ms();
    let claimed = claim(db, now).await?;
    let n = claimed.len();
    for (id, lease, action) in claimed {
        let outcome = match handlers.0.get(&action.kind) {
            Some(h) => h.run(&action).await,
            None => Err(Error::Internal(anyhow::anyhow!(
                "no handler for due action kind {}",
                action.kind
            ))),
        };
        match outcome {
            Ok(()) => {
                // Only our claim: a reschedule meanwhile reset the lease and stays.
                sqlx::query("DELETE FROM kit_due WHERE id = $1 AND lease_until_ms = $2")
                    .bind(&id)
                    .bind(lease)
                    .execute(db.pool())
                    .await?;
            }
            Err(e) => {
                let retry_in = backoff(action.attempt);
                tracing::warn!(kind = %action.kind, subject = %action.subject, attempt = action.attempt, error = %e, "due action failed; will retry");
                sqlx::query(
                    "UPDATE kit_due SET lease_until_ms = $3 WHERE id = $1 AND lease_until_ms = $2",
                )
                .bind(&id)
                .bind(lease)
                .bind(clock.now_ms() + retry_in)
                .execute(db.pool())
                .await?;
            }
        }
    }
    Ok(n)
}

fn backoff(attempt: i64) -> Millis {
    let exp = u32::try_from(attempt.clamp(1, 10) - 1).unwrap_or(0);
    (1_000i64 << exp).min(300_000)
}

/// Starts the worker of a service: it runs due actions until `shutdown`.
pub fn spawn_worker(
    db: Db,
    clock: SharedClock,
    handlers: Handlers,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let ran = match run_due(&db, &clock, &handlers).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "due worker cannot claim actions");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    0
                }
            };
            if ran > 0 {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = clock.changed() => {}
            }
        }
    })
}

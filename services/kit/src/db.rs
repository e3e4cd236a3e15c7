//! The database: one pool type over PostgreSQL or SQLite (sqlx `Any`), the
//! service's embedded migrations applied at start, and transactions.
//!
//! Portable SQL only: `$n` placeholders, TEXT ids, BIGINT milliseconds for
//! times, INTEGER 0/1 for flags. On PostgreSQL every service lives in its own
//! schema (selected through `search_path`); on SQLite in its own file.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, Transaction};

/// Which database is underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A service's migrations for each backend (`sqlx::migrate!("./migrations/…")`).
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub postgres: &'static Migrator,
    pub sqlite: &'static Migrator,
}

/// Where a service's data lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// A PostgreSQL database URL and the schema that holds this service.
    Postgres { url: String, schema: String },
    /// A SQLite file.
    Sqlite { path: std::path::PathBuf },
}

/// A service's connection pool. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// Tables every service has, maintained by the kit: the audit trail,
/// remembered responses of idempotent creates, and scheduled actions.
const KIT_TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS kit_audit (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kit_audit_resource ON kit_audit (resource, id);
CREATE TABLE IF NOT EXISTS kit_idempotency (
    method TEXT NOT NULL,
    caller TEXT NOT NULL,
    request_id TEXT NOT NULL,
    response BYTEA,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (method, caller, request_id)
);
CREATE TABLE IF NOT EXISTS kit_due (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    UNIQUE (kind, subject)
);
CREATE INDEX IF NOT EXISTS kit_due_at ON kit_due (due_ms);
"#;

impl Db {
    /// Connects, creates the schema or file when missing, and applies the
    /// kit's tables and the service's migrations.
    pub async fn connect(location: &Location, migrations: Migrations) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (pool, backend) = match location {
            Location::Postgres { url, schema } => {
                anyhow::ensure!(
                    !schema.is_empty()
                        && schema
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "schema name {schema:?} must be lowercase letters, digits and _"
                );
                // Create the schema once, outside the pool that selects it.
                let setup = AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await?;
                setup
                    .execute(sqlx::AssertSqlSafe(format!(
                        "CREATE SCHEMA IF NOT EXISTS {schema}"
                    )))
                    .await?;
                setup.close().await;
                let set_path = format!("SET search_path TO {schema}");
                let pool = AnyPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(5))
                    .after_connect(move |conn, _| {
                        let sql = set_path.clone();
                        Box::pin(async move {
                            conn.execute(sqlx::AssertSqlSafe(sql)).await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                (pool, Backend::Postgres)
            }
            Location::Sqlite { path } => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let pool = AnyPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the one writer; FULL
                            // sync keeps what was acknowledged across a crash.
                            conn.execute(sqlx::raw_sql(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                                 PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
                            ))
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?;
                (pool, Backend::Sqlite)
            }
        };
        let db = Self { pool, backend };
        let kit_tables = match backend {
            Backend::Postgres => KIT_TABLES.to_string(),
            Backend::Sqlite => KIT_TABLES.replace("BYTEA", "BLOB"),
        };
        db.pool
            .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(kit_tables)))
            .await?;
        let migrator = match backend {
            Backend::Postgres => migrations.postgres,
            Backend::Sqlite => migrations.sqlite,
        };
        migrator.run(&db.pool).await?;
        Ok(db)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue instead of failing when a
    /// read would have to upgrade.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Postgres => self.pool.begin().await,
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
        }
    }

    /// `FOR UPDATE` where the backend has row locks (SQLite's
    /// `BEGIN IMMEDIATE` already serializes writers).
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Checks the database answers (readiness).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_: AnyRow| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

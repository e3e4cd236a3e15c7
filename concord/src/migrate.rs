//! `concord migrate`: apply each target's migrations once per release (the
//! Kubernetes Job), or wait until they are applied (the pods' init step), so
//! pods never race to migrate at start.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use concord_kit::config::Settings;
use concord_kit::db::{Db, Location, Migrations};
use sqlx::Row;

use crate::suite::{MIGRATIONS, location};

/// The targets with migrations among `wanted` (all when empty or `all`).
fn selected(wanted: &[String]) -> anyhow::Result<Vec<(&'static str, Migrations)>> {
    if wanted.is_empty() || wanted.iter().any(|w| w == "all") {
        return Ok(MIGRATIONS.to_vec());
    }
    wanted
        .iter()
        .map(|w| {
            MIGRATIONS
                .iter()
                .find(|(n, _)| n == w)
                .copied()
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--target {w:?} has no migrations; known: {}",
                        MIGRATIONS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        })
        .collect()
}

/// Applies the migrations of `wanted`, one target after another.
pub async fn apply(settings: &Settings, wanted: &[String]) -> anyhow::Result<()> {
    for (name, migrations) in selected(wanted)? {
        let db = Db::connect(&location(settings, name), migrations)
            .await
            .with_context(|| format!("migrating {name}"))?;
        db.close().await;
        println!("{name}: migrations applied");
    }
    Ok(())
}

/// Waits until every migration of `wanted` is applied, writing nothing.
pub async fn wait(settings: &Settings, wanted: &[String], timeout: Duration) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let deadline = Instant::now() + timeout;
    for (name, migrations) in selected(wanted)? {
        let location = location(settings, name);
        let expected: Vec<i64> = match &location {
            Location::Postgres { .. } => migrations.postgres.iter().map(|m| m.version).collect(),
            Location::Sqlite { .. } => migrations.sqlite.iter().map(|m| m.version).collect(),
        };
        loop {
            let missing = match applied(&location).await {
                Ok(done) => expected
                    .iter()
                    .filter(|v| !done.contains(v))
                    .copied()
                    .collect::<Vec<_>>(),
                Err(_) => expected.clone(),
            };
            if missing.is_empty() {
                println!("{name}: migrations are applied");
                break;
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "{name}: migrations {missing:?} are still not applied after {timeout:?}"
                );
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    Ok(())
}

/// The versions recorded as applied, without creating anything.
async fn applied(location: &Location) -> anyhow::Result<Vec<i64>> {
    let (url, table) = match location {
        Location::Postgres { url, schema } => (url.clone(), format!("{schema}._sqlx_migrations")),
        Location::Sqlite { path } => {
            anyhow::ensure!(path.exists(), "{} does not exist yet", path.display());
            (
                format!("sqlite://{}?mode=ro", path.display()),
                "_sqlx_migrations".to_string(),
            )
        }
    };
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {table} WHERE success"
    )))
    .fetch_all(&pool)
    .await;
    pool.close().await;
    Ok(rows?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?)
}

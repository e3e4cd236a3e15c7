//! `concord_directory_department_info{department, name}`: one series of
//! value 1 per department, so dashboards can show a department's name where
//! the KPI metrics carry its id (`* on (department) group_left (name)`, or a
//! variable whose text is the name). Refreshed from the database at start,
//! after every change to a department and every minute, so every replica
//! reports the same names; a deleted department's series is removed.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use concord_kit::db::Db;
use concord_kit::metrics::register;
use prometheus::{IntGaugeVec, Opts};
use sqlx::Row;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const REFRESH: Duration = Duration::from_secs(60);

static INFO: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    let g = IntGaugeVec::new(
        Opts::new(
            "concord_directory_department_info",
            "Each department's name by id (value 1), to label the KPIs that carry the id.",
        ),
        &["department", "name"],
    )
    .expect("valid metric");
    register(Box::new(g.clone()));
    g
});

/// Bumped after every committed change to a department; each refresher
/// (one per directory in the process) sees every bump.
static CHANGED: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Asks the refreshers for a refresh soon (after a department changed).
pub fn departments_changed() {
    CHANGED.send_modify(|n| *n = n.wrapping_add(1));
}

/// Keeps the info series in step with `db` until `shutdown`.
pub fn spawn(db: Db, shutdown: CancellationToken) {
    let mut changed = CHANGED.subscribe();
    tokio::spawn(async move {
        // What is exported now, by id.
        let mut exported = HashMap::<String, String>::new();
        loop {
            // A change committed during the refresh below wakes the next.
            changed.borrow_and_update();
            if let Err(e) = refresh(&db, &mut exported).await {
                tracing::warn!(error = %e, "cannot refresh the department names metric");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = changed.changed() => {
                    // Batch a burst of changes into one query.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ = tokio::time::sleep(REFRESH) => {}
            }
        }
    });
}

async fn refresh(db: &Db, exported: &mut HashMap<String, String>) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await?;
    let rows = sqlx::query("SELECT id, name FROM department")
        .fetch_all(&mut *conn)
        .await?;
    let mut now = HashMap::with_capacity(rows.len());
    for r in &rows {
        now.insert(r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?);
    }
    for (id, name) in exported.iter() {
        if now.get(id) != Some(name) {
            let _ = INFO.remove_label_values(&[id, name]);
        }
    }
    for (id, name) in &now {
        INFO.with_label_values(&[id.as_str(), name.as_str()]).set(1);
    }
    *exported = now;
    Ok(())
}

//! Appraisal KPIs as Prometheus metrics: the published score per department
//! (of the latest published cycle that appraised it, the mean of its people
//! for person cycles), cycles by stage (gauges refreshed from the database
//! after every change and every minute, so every replica reports the same
//! truth), and automatic collections by outcome. Labels are departments,
//! subject kinds, stages and outcomes: bounded sets.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use concord_kit::db::Db;
use concord_kit::metrics::register;
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::Stage;

struct Metrics {
    score: GaugeVec,
    cycles: IntGaugeVec,
    collections: IntCounterVec,
}

static M: LazyLock<Metrics> = LazyLock::new(|| {
    let m = Metrics {
        score: GaugeVec::new(
            Opts::new(
                "concord_appraisal_score",
                "Weighted total (0-100) of the latest published cycle per department: the \
                 department's own for department cycles, the mean of its people's for person cycles.",
            ),
            &["department_id", "subject_kind"],
        )
        .expect("valid metric"),
        cycles: IntGaugeVec::new(
            Opts::new("concord_appraisal_cycles", "Appraisal cycles by stage."),
            &["stage"],
        )
        .expect("valid metric"),
        collections: IntCounterVec::new(
            Opts::new(
                "concord_appraisal_collections_total",
                "Collections of automatic indicators from the other services, by outcome (ok, failed).",
            ),
            &["outcome"],
        )
        .expect("valid metric"),
    };
    register(Box::new(m.score.clone()));
    register(Box::new(m.cycles.clone()));
    register(Box::new(m.collections.clone()));
    m
});

/// Counts a collection.
pub fn collected(ok: bool) {
    M.collections
        .with_label_values(&[if ok { "ok" } else { "failed" }])
        .inc();
}

/// Keeps the gauges in step with the database.
#[derive(Debug, Clone)]
pub struct Gauges {
    changed: Arc<Notify>,
}

impl Gauges {
    /// Asks for a refresh soon (after a change).
    pub fn nudge(&self) {
        self.changed.notify_one();
    }

    /// Refreshes at once, on every nudge (batched) and every `every`, until
    /// `shutdown`.
    pub fn spawn(db: Db, every: Duration, shutdown: CancellationToken) -> Self {
        LazyLock::force(&M);
        let changed = Arc::new(Notify::new());
        let gauges = Self {
            changed: changed.clone(),
        };
        tokio::spawn(async move {
            loop {
                if let Err(e) = refresh(&db).await {
                    tracing::warn!(error = %e, "cannot refresh the appraisal gauges");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = changed.notified() => {
                        // Batch a burst of changes into one refresh.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    _ = tokio::time::sleep(every) => {}
                }
            }
        });
        gauges
    }
}

async fn refresh(db: &Db) -> Result<(), concord_kit::Error> {
    let mut conn = db.pool().acquire().await?;
    let counts = crate::store::cycle::count_by_stage(&mut conn).await?;
    for stage in Stage::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| s == stage.as_str())
            .map_or(0, |(_, n)| *n);
        M.cycles.with_label_values(&[stage.as_str()]).set(n);
    }
    for (department, kind, score) in crate::store::score::latest_published(&mut conn).await? {
        M.score
            .with_label_values(&[department.as_str(), kind.as_str()])
            .set(score);
    }
    Ok(())
}

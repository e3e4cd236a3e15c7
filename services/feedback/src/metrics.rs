//! Feedback KPIs as Prometheus metrics: open and overdue items per
//! department (gauges refreshed from the database after every change and
//! every half minute, so every replica reports the same truth), time to the
//! first response and to the resolution, resolutions on time or late,
//! satisfaction, escalations,
//! submissions and automatic closings. No label ever names a submitter.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use concord_kit::clock::SharedClock;
use concord_kit::db::Db;
use concord_kit::metrics::register;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::{Category, Channel, Deadline, Level};

/// Label value of unrouted items.
pub const TRIAGE: &str = "none";

/// Hours-to-weeks buckets, in seconds.
const SLA_BUCKETS: &[f64] = &[
    900.0,
    3_600.0,
    4.0 * 3_600.0,
    8.0 * 3_600.0,
    86_400.0,
    2.0 * 86_400.0,
    3.0 * 86_400.0,
    7.0 * 86_400.0,
    14.0 * 86_400.0,
    30.0 * 86_400.0,
];

struct Metrics {
    items: IntGaugeVec,
    first_response: HistogramVec,
    resolution: HistogramVec,
    satisfaction: HistogramVec,
    escalations: IntCounterVec,
    resolved: IntCounterVec,
    submitted: IntCounterVec,
    auto_closed: IntCounterVec,
}

static M: LazyLock<Metrics> = LazyLock::new(|| {
    let m = Metrics {
        items: IntGaugeVec::new(
            Opts::new(
                "concord_feedback_items",
                "Feedback items per department (\"none\": unrouted) by state: open, overdue.",
            ),
            &["department", "state"],
        )
        .expect("valid metric"),
        first_response: HistogramVec::new(
            HistogramOpts::new(
                "concord_feedback_first_response_seconds",
                "Time from submission to the department's first response.",
            )
            .buckets(SLA_BUCKETS.to_vec()),
            &["department"],
        )
        .expect("valid metric"),
        resolution: HistogramVec::new(
            HistogramOpts::new(
                "concord_feedback_resolution_seconds",
                "Time from submission to resolution.",
            )
            .buckets(SLA_BUCKETS.to_vec()),
            &["department", "category"],
        )
        .expect("valid metric"),
        satisfaction: HistogramVec::new(
            HistogramOpts::new(
                "concord_feedback_satisfaction",
                "Submitters' satisfaction ratings, 1 to 5.",
            )
            .buckets(vec![1.0, 2.0, 3.0, 4.0, 5.0]),
            &["department"],
        )
        .expect("valid metric"),
        escalations: IntCounterVec::new(
            Opts::new(
                "concord_feedback_escalations_total",
                "Escalations after a missed SLA deadline, by department, level reached and deadline.",
            ),
            &["department", "level", "deadline"],
        )
        .expect("valid metric"),
        resolved: IntCounterVec::new(
            Opts::new(
                "concord_feedback_resolved_total",
                "Items resolved, by department and whether before the resolution deadline (on_time: true, false).",
            ),
            &["department", "on_time"],
        )
        .expect("valid metric"),
        submitted: IntCounterVec::new(
            Opts::new(
                "concord_feedback_submitted_total",
                "Feedback items submitted, by the department they were routed to (\"none\": triage), channel and category.",
            ),
            &["department", "channel", "category"],
        )
        .expect("valid metric"),
        auto_closed: IntCounterVec::new(
            Opts::new(
                "concord_feedback_auto_closed_total",
                "Resolved items closed because the submitter did not answer in time.",
            ),
            &["department"],
        )
        .expect("valid metric"),
    };
    register(Box::new(m.items.clone()));
    register(Box::new(m.first_response.clone()));
    register(Box::new(m.resolution.clone()));
    register(Box::new(m.satisfaction.clone()));
    register(Box::new(m.escalations.clone()));
    register(Box::new(m.resolved.clone()));
    register(Box::new(m.submitted.clone()));
    register(Box::new(m.auto_closed.clone()));
    m
});

fn department(d: Option<&str>) -> &str {
    d.unwrap_or(TRIAGE)
}

fn seconds(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}

pub fn submitted(d: Option<&str>, channel: Channel, category: Category) {
    M.submitted
        .with_label_values(&[department(d), channel.as_str(), category.as_str()])
        .inc();
}

pub fn first_response(d: Option<&str>, after_ms: i64) {
    M.first_response
        .with_label_values(&[department(d)])
        .observe(seconds(after_ms));
}

/// An item resolved `after_ms` after submission; `on_time` when no later
/// than its resolution deadline.
pub fn resolved(d: Option<&str>, category: Category, after_ms: i64, on_time: bool) {
    M.resolution
        .with_label_values(&[department(d), category.as_str()])
        .observe(seconds(after_ms));
    M.resolved
        .with_label_values(&[department(d), if on_time { "true" } else { "false" }])
        .inc();
}

pub fn rated(d: Option<&str>, satisfaction: i64) {
    M.satisfaction
        .with_label_values(&[department(d)])
        .observe(satisfaction as f64);
}

pub fn escalated(d: Option<&str>, level: Level, deadline: Deadline) {
    M.escalations
        .with_label_values(&[department(d), level.as_str(), deadline.as_str()])
        .inc();
}

pub fn auto_closed(d: Option<&str>) {
    M.auto_closed.with_label_values(&[department(d)]).inc();
}

/// Keeps the open/overdue gauges in step with the database.
#[derive(Debug, Clone)]
pub struct Gauges {
    changed: Arc<Notify>,
}

impl Gauges {
    /// Asks for a refresh soon (after a change).
    pub fn nudge(&self) {
        self.changed.notify_one();
    }

    /// Refreshes on every nudge (batched) and every `every` until `shutdown`.
    pub fn spawn(db: Db, clock: SharedClock, every: Duration, shutdown: CancellationToken) -> Self {
        let changed = Arc::new(Notify::new());
        let gauges = Self {
            changed: changed.clone(),
        };
        tokio::spawn(async move {
            // The departments this refresher has reported, to zero the ones
            // that have no open items any more.
            let known = Mutex::new(HashSet::<String>::new());
            loop {
                if let Err(e) = refresh(&db, &clock, &known).await {
                    tracing::warn!(error = %e, "cannot refresh the feedback gauges");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = changed.notified() => {
                        // Batch a burst of changes into one query.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    _ = tokio::time::sleep(every) => {}
                }
            }
        });
        gauges
    }
}

async fn refresh(
    db: &Db,
    clock: &SharedClock,
    known: &Mutex<HashSet<String>>,
) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await?;
    let counts = crate::store::item::open_counts(&mut conn, clock.now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut known = known.lock().unwrap_or_else(|p| p.into_inner());
    let mut seen = HashSet::new();
    for (d, open, overdue) in counts {
        let d = department(d.as_deref()).to_string();
        M.items.with_label_values(&[d.as_str(), "open"]).set(open);
        M.items
            .with_label_values(&[d.as_str(), "overdue"])
            .set(overdue);
        seen.insert(d);
    }
    for gone in known.difference(&seen) {
        M.items.with_label_values(&[gone.as_str(), "open"]).set(0);
        M.items
            .with_label_values(&[gone.as_str(), "overdue"])
            .set(0);
    }
    *known = seen.union(&known).cloned().collect();
    Ok(())
}

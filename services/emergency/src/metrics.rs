//! The emergency KPIs as Prometheus metrics. Every series has a `drill`
//! label (`"true"` / `"false"`), so drills never pollute the figures of real
//! incidents. The incident gauge is recomputed from the database, so every
//! replica exports the same full count.

use std::sync::LazyLock;
use std::time::Duration;

use concord_kit::db::Db;
use concord_kit::metrics::register;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::incident::drill_label;
use crate::domain::{Severity, Status};

pub struct Metrics {
    pub incidents: IntGaugeVec,
    pub published: IntCounterVec,
    pub delivered: IntCounterVec,
    pub time_to_acknowledge: HistogramVec,
    pub escalations: IntCounterVec,
}

/// Seconds from an alert to a department's first acknowledgement.
const ACK_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let m = Metrics {
        incidents: IntGaugeVec::new(
            Opts::new(
                "concord_emergency_incidents",
                "Incidents and drills by status, severity and drill.",
            ),
            &["status", "severity", "drill"],
        )
        .expect("valid metric"),
        published: IntCounterVec::new(
            Opts::new(
                "concord_emergency_alerts_published_total",
                "Alerts committed and announced, by kind.",
            ),
            &["kind", "drill"],
        )
        .expect("valid metric"),
        delivered: IntCounterVec::new(
            Opts::new(
                "concord_emergency_alerts_delivered_total",
                "Alerts sent to a watching client.",
            ),
            &["drill"],
        )
        .expect("valid metric"),
        time_to_acknowledge: HistogramVec::new(
            HistogramOpts::new(
                "concord_emergency_time_to_acknowledge_seconds",
                "Time from an alert to the department's first acknowledgement.",
            )
            .buckets(ACK_BUCKETS.to_vec()),
            &["department", "drill"],
        )
        .expect("valid metric"),
        escalations: IntCounterVec::new(
            Opts::new(
                "concord_emergency_escalations_total",
                "Escalations of unacknowledged alerts, by whom they escalated to (escalated_to: department_head, admins, contacts). Not `target`: the scrape adds that label.",
            ),
            &["escalated_to", "drill"],
        )
        .expect("valid metric"),
    };
    register(Box::new(m.incidents.clone()));
    register(Box::new(m.published.clone()));
    register(Box::new(m.delivered.clone()));
    register(Box::new(m.time_to_acknowledge.clone()));
    register(Box::new(m.escalations.clone()));
    m
});

pub fn published(kind: &str, drill: bool, n: u64) {
    METRICS
        .published
        .with_label_values(&[kind, drill_label(drill)])
        .inc_by(n);
}

/// Recomputes the incident gauge from the database.
pub async fn census(db: &Db) -> Result<(), concord_kit::Error> {
    let rows = crate::store::incident::census(&mut *db.pool().acquire().await?).await?;
    for status in Status::ALL {
        for severity in Severity::ALL {
            for drill in [false, true] {
                let n = rows
                    .iter()
                    .find(|(st, sv, d, _)| {
                        *st == status.code() && *sv == severity.code() && *d == drill
                    })
                    .map_or(0, |r| r.3);
                METRICS
                    .incidents
                    .with_label_values(&[status.name(), severity.roman(), drill_label(drill)])
                    .set(n);
            }
        }
    }
    Ok(())
}

/// Keeps the incident gauge current: after every change (`changed`) and at
/// least every 15 seconds (changes made by other replicas).
pub fn spawn_census(db: Db, changed: std::sync::Arc<Notify>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = census(&db).await {
                tracing::warn!(error = %e, "incident gauge not refreshed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = changed.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            }
        }
    });
}

//! The decisions' KPIs as Prometheus metrics. Gauges are recomputed from the
//! database after every change that moves them, so every replica reports the
//! same numbers and a restart starts from the truth.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use concord_kit::db::Db;
use concord_kit::metrics::register;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts};

use crate::domain::Stage;
use crate::store;

struct Kpis {
    proposals: IntGaugeVec,
    cycle_seconds: Histogram,
    votes_cast: IntCounter,
    items_open: IntGaugeVec,
    items_overdue: IntGaugeVec,
    items_completed: IntCounterVec,
}

const DAY: f64 = 86_400.0;

static KPIS: LazyLock<Kpis> = LazyLock::new(|| {
    let k = Kpis {
        proposals: IntGaugeVec::new(
            Opts::new("concord_decisions_proposals", "Proposals by stage."),
            &["stage"],
        )
        .expect("valid metric"),
        cycle_seconds: Histogram::with_opts(
            HistogramOpts::new(
                "concord_decisions_cycle_seconds",
                "Time from a proposal's creation to the close of its vote.",
            )
            .buckets(vec![
                3_600.0,
                6.0 * 3_600.0,
                DAY,
                2.0 * DAY,
                3.0 * DAY,
                7.0 * DAY,
                14.0 * DAY,
                30.0 * DAY,
                60.0 * DAY,
                90.0 * DAY,
            ]),
        )
        .expect("valid metric"),
        votes_cast: IntCounter::new(
            "concord_decisions_votes_cast_total",
            "Votes cast or changed.",
        )
        .expect("valid metric"),
        items_open: IntGaugeVec::new(
            Opts::new(
                "concord_decisions_action_items_open",
                "Action items not done, by lead department.",
            ),
            &["department_id"],
        )
        .expect("valid metric"),
        items_overdue: IntGaugeVec::new(
            Opts::new(
                "concord_decisions_action_items_overdue",
                "Action items past their due time and not done, by lead department.",
            ),
            &["department_id"],
        )
        .expect("valid metric"),
        items_completed: IntCounterVec::new(
            Opts::new(
                "concord_decisions_action_items_completed_total",
                "Action items marked done, by lead department and whether they were done by their due time.",
            ),
            &["department_id", "on_time"],
        )
        .expect("valid metric"),
    };
    register(Box::new(k.proposals.clone()));
    register(Box::new(k.cycle_seconds.clone()));
    register(Box::new(k.votes_cast.clone()));
    register(Box::new(k.items_open.clone()));
    register(Box::new(k.items_overdue.clone()));
    register(Box::new(k.items_completed.clone()));
    k
});

/// A vote was cast or changed.
pub fn vote_cast() {
    KPIS.votes_cast.inc();
}

/// A vote closed `seconds` after its proposal was created.
pub fn decided(seconds: f64) {
    KPIS.cycle_seconds.observe(seconds.max(0.0));
}

/// An action item led by `department_id` was marked done.
pub fn completed(department_id: &str, on_time: bool) {
    KPIS.items_completed
        .with_label_values(&[department_id, if on_time { "true" } else { "false" }])
        .inc();
}

/// The gauges of one service instance. Departments it reported before and
/// that have nothing open now are removed, without touching labels other
/// instances in the same process set.
#[derive(Debug, Default)]
pub struct Gauges {
    departments: Mutex<HashSet<String>>,
}

impl Gauges {
    /// Recomputes the gauges from the database; a failure is logged only.
    pub async fn refresh(&self, db: &Db, now: i64) {
        if let Err(e) = self.try_refresh(db, now).await {
            tracing::warn!(error = %e, "refreshing the decisions gauges failed");
        }
    }

    async fn try_refresh(&self, db: &Db, now: i64) -> Result<(), concord_kit::Error> {
        let mut conn = db.pool().acquire().await?;
        let by_stage = store::proposal::count_by_stage(&mut conn).await?;
        for stage in Stage::ALL {
            let n = by_stage
                .iter()
                .find(|(s, _)| *s == stage)
                .map_or(0, |(_, n)| *n);
            KPIS.proposals.with_label_values(&[stage.as_str()]).set(n);
        }
        let items = store::action_item::open_and_overdue_by_department(&mut conn, now).await?;
        let mut known = self.departments.lock().unwrap_or_else(|p| p.into_inner());
        let now_seen: HashSet<String> = items.iter().map(|(d, _, _)| d.clone()).collect();
        for gone in known.difference(&now_seen) {
            let _ = KPIS.items_open.remove_label_values(&[gone]);
            let _ = KPIS.items_overdue.remove_label_values(&[gone]);
        }
        for (d, open, overdue) in &items {
            KPIS.items_open.with_label_values(&[d]).set(*open);
            KPIS.items_overdue.with_label_values(&[d]).set(*overdue);
        }
        *known = now_seen;
        Ok(())
    }
}

//! Training's KPIs as Prometheus metrics: enrolments, completions and hours
//! of training by department, reminders sent, and the mandatory compliance
//! of each mandatory plan.

use std::sync::LazyLock;

use concord_kit::db::Db;
use concord_kit::metrics::register;
use prometheus::{CounterVec, GaugeVec, IntCounterVec, Opts};

use crate::domain::hours;
use crate::store;

struct Metrics {
    enrolments: IntCounterVec,
    completions: IntCounterVec,
    hours: CounterVec,
    reminders: IntCounterVec,
    compliance: GaugeVec,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let m = Metrics {
        enrolments: IntCounterVec::new(
            Opts::new(
                "concord_training_enrolments_total",
                "Enrolments in training (seats and waiting list), by the person's department.",
            ),
            &["department"],
        )
        .expect("valid metric"),
        completions: IntCounterVec::new(
            Opts::new(
                "concord_training_completions_total",
                "Training completions (certificates issued), by the person's department.",
            ),
            &["department"],
        )
        .expect("valid metric"),
        hours: CounterVec::new(
            Opts::new(
                "concord_training_hours_total",
                "Hours of training attended, by the person's department.",
            ),
            &["department"],
        )
        .expect("valid metric"),
        reminders: IntCounterVec::new(
            Opts::new(
                "concord_training_reminders_total",
                "Reminders sent to people who have not completed mandatory training, by their department.",
            ),
            &["department"],
        )
        .expect("valid metric"),
        compliance: GaugeVec::new(
            Opts::new(
                "concord_training_mandatory_compliance_ratio",
                "Share of a mandatory plan's audience that completed it by its deadline (so far, until the deadline).",
            ),
            &["plan", "department"],
        )
        .expect("valid metric"),
    };
    register(Box::new(m.enrolments.clone()));
    register(Box::new(m.completions.clone()));
    register(Box::new(m.hours.clone()));
    register(Box::new(m.reminders.clone()));
    register(Box::new(m.compliance.clone()));
    m
});

pub fn enrolled(department: &str) {
    METRICS.enrolments.with_label_values(&[department]).inc();
}

pub fn completed(department: &str) {
    METRICS.completions.with_label_values(&[department]).inc();
}

pub fn attended(department: &str, duration_ms: i64) {
    METRICS
        .hours
        .with_label_values(&[department])
        .inc_by(hours(duration_ms));
}

pub fn reminded(department: &str) {
    METRICS.reminders.with_label_values(&[department]).inc();
}

/// Sets a mandatory plan's compliance gauge (the organising department as
/// a label); a plan whose audience is empty has none.
pub fn compliance(c: &store::compliance::Compliance) {
    if c.required == 0 {
        forget_plan(&c.plan_id, &c.department_id);
        return;
    }
    METRICS
        .compliance
        .with_label_values(&[c.plan_id.as_str(), c.department_id.as_str()])
        .set(crate::domain::stats::ratio(
            c.completed_by_deadline,
            c.required,
        ));
}

/// Removes a cancelled plan's gauge.
pub fn forget_plan(plan_id: &str, department_id: &str) {
    let _ = METRICS
        .compliance
        .remove_label_values(&[plan_id, department_id]);
}

/// Sets the gauge of every published mandatory plan from the database, so
/// a restarted process reports them before anything changes.
pub async fn load_compliance(db: &Db) -> Result<(), concord_kit::Error> {
    let mut conn = db.pool().acquire().await?;
    for c in store::compliance::all(&mut conn).await? {
        compliance(&c);
    }
    Ok(())
}

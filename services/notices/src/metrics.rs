//! The notices' KPIs as Prometheus metrics: notices published, receipts
//! entering each state per recipient department (delivered, read,
//! acknowledged: enough to chart the read ratio per department), reminders,
//! and the time from publish to first read.

use std::sync::LazyLock;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts};

pub struct NoticeMetrics {
    pub published: IntCounterVec,
    pub receipts: IntCounterVec,
    pub reminders: IntCounter,
    pub time_to_read: Histogram,
}

/// One minute to two weeks.
const READ_BUCKETS: &[f64] = &[
    60.0,
    300.0,
    900.0,
    1_800.0,
    3_600.0,
    7_200.0,
    14_400.0,
    28_800.0,
    86_400.0,
    172_800.0,
    345_600.0,
    604_800.0,
    1_209_600.0,
];

pub static METRICS: LazyLock<NoticeMetrics> = LazyLock::new(|| {
    let m = NoticeMetrics {
        published: IntCounterVec::new(
            Opts::new("concord_notices_published_total", "Notices published, by priority."),
            &["priority"],
        )
        .expect("valid metric"),
        receipts: IntCounterVec::new(
            Opts::new(
                "concord_notices_receipts_total",
                "Receipts entering a state (delivered, read, acknowledged), by recipient department. \
                 read / delivered is the read ratio.",
            ),
            &["department_id", "state"],
        )
        .expect("valid metric"),
        reminders: IntCounter::new("concord_notices_reminders_total", "Reminders sent to recipients.")
            .expect("valid metric"),
        time_to_read: Histogram::with_opts(
            HistogramOpts::new("concord_notices_time_to_read_seconds", "Time from publish to a recipient's first read.")
                .buckets(READ_BUCKETS.to_vec()),
        )
        .expect("valid metric"),
    };
    concord_kit::metrics::register(Box::new(m.published.clone()));
    concord_kit::metrics::register(Box::new(m.receipts.clone()));
    concord_kit::metrics::register(Box::new(m.reminders.clone()));
    concord_kit::metrics::register(Box::new(m.time_to_read.clone()));
    m
});

/// Counts receipts of one department entering `state`.
pub fn receipts(department_id: &str, state: &str, n: u64) {
    METRICS
        .receipts
        .with_label_values(&[department_id, state])
        .inc_by(n);
}

/// Records a first read `elapsed_ms` after publishing.
pub fn first_read(department_id: &str, elapsed_ms: i64) {
    receipts(department_id, "read", 1);
    #[allow(clippy::cast_precision_loss)]
    METRICS
        .time_to_read
        .observe(elapsed_ms.max(0) as f64 / 1000.0);
}

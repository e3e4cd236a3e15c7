//! The gateway's own metrics. Calls through the gateway are counted by the
//! kit's `grpc_server_*` layer; this adds the upstream's share of the time.

use std::sync::LazyLock;

use prometheus::{Histogram, HistogramOpts, HistogramVec};

static UPSTREAM_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    let h = HistogramVec::new(
        HistogramOpts::new(
            "concord_gateway_upstream_seconds",
            "Time from forwarding a call to the upstream's response headers, per gRPC service.",
        )
        .buckets(concord_kit::metrics::LATENCY_BUCKETS.to_vec()),
        &["grpc_service"],
    )
    .expect("valid metric");
    concord_kit::metrics::register(Box::new(h.clone()));
    h
});

/// The upstream latency histogram of one service, resolved once at start.
pub(crate) fn upstream_seconds(service: &str) -> Histogram {
    UPSTREAM_SECONDS.with_label_values(&[service])
}

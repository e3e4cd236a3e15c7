//! W3C trace context at the gateway. With spans on, each call gets a server
//! span continuing the caller's trace, and the upstream sees that span as
//! its parent. With spans off, `traceparent` simply passes through with the
//! other metadata, which costs nothing.

use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A span for one call, continuing the caller's trace, after which the
/// request carries this span's context to the upstream.
pub(crate) fn start<B>(req: &mut http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!(
        "gateway",
        otel.name = %req.uri().path(),
        otel.kind = "server",
        rpc.system = "grpc",
    );
    // An absent or invalid parent starts a new trace.
    let _ = span.set_parent(concord_kit::telemetry::extract_context(req.headers()));
    span.in_scope(|| concord_kit::telemetry::inject_current(req.headers_mut()));
    span
}

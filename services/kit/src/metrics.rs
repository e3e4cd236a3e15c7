//! Prometheus metrics: the grpc-ecosystem server metrics as a tower layer,
//! and `/metrics` over HTTP. Every metric lives in the process-wide default
//! registry, so `concord serve` exposes all targets on one endpoint.

use std::pin::Pin;
use std::sync::{Arc, LazyLock, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use concord_proto::policy_table::{self, MethodKind};
use http_body::{Body, Frame};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Buckets for handling time in seconds: 0.5 ms to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

struct GrpcMetrics {
    started: IntCounterVec,
    handled: IntCounterVec,
    seconds: HistogramVec,
}

static GRPC: LazyLock<GrpcMetrics> = LazyLock::new(|| {
    let labels = &["component", "grpc_type", "grpc_service", "grpc_method"];
    let m = GrpcMetrics {
        started: IntCounterVec::new(
            Opts::new("grpc_server_started_total", "Total number of RPCs started on the server."),
            labels,
        )
        .expect("valid metric"),
        handled: IntCounterVec::new(
            Opts::new(
                "grpc_server_handled_total",
                "Total number of RPCs completed on the server, regardless of success or failure.",
            ),
            &["component", "grpc_type", "grpc_service", "grpc_method", "grpc_code"],
        )
        .expect("valid metric"),
        seconds: HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_handling_seconds",
                "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            labels,
        )
        .expect("valid metric"),
    };
    register(Box::new(m.started.clone()));
    register(Box::new(m.handled.clone()));
    register(Box::new(m.seconds.clone()));
    m
});

/// The registry `/metrics` serves.
pub fn registry() -> &'static Registry {
    prometheus::default_registry()
}

/// Registers a collector, tolerating a second registration of the same
/// metric (several servers of one kind in one test process).
pub fn register(c: Box<dyn prometheus::core::Collector>) {
    match registry().register(c) {
        Ok(()) | Err(prometheus::Error::AlreadyReg) => {}
        Err(e) => tracing::error!(error = %e, "metric registration failed"),
    }
}

/// The Prometheus text exposition of every registered metric.
pub fn render() -> String {
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&registry().gather(), &mut buf) {
        tracing::error!(error = %e, "encoding metrics");
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// Go's spelling of a gRPC status code, as the grpc-ecosystem labels use.
pub fn code_label(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("Unknown")
}

/// Which side of the gateway counted a call: `grpc_server_*` series carry
/// `component="gateway"` or `component="service"`, so one process running
/// both (`concord serve`) never counts a call twice in one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Service,
    Gateway,
}

impl Component {
    pub fn as_label(self) -> &'static str {
        match self {
            Component::Service => "service",
            Component::Gateway => "gateway",
        }
    }
}

/// Counters of one method, resolved once so a call touches no label maps.
pub struct MethodMetrics {
    labels: [&'static str; 4],
    started: IntCounter,
    seconds: prometheus::Histogram,
    handled: [OnceLock<IntCounter>; 17],
}

impl MethodMetrics {
    fn new(
        component: Component,
        kind: &'static str,
        service: &'static str,
        method: &'static str,
    ) -> Self {
        let labels = [component.as_label(), kind, service, method];
        Self {
            labels,
            started: GRPC.started.with_label_values(&labels),
            seconds: GRPC.seconds.with_label_values(&labels),
            handled: Default::default(),
        }
    }

    fn handled(&self, code: i32) -> &IntCounter {
        let i = usize::try_from(code).ok().filter(|i| *i < 17).unwrap_or(2);
        self.handled[i].get_or_init(|| {
            let [c, k, s, m] = self.labels;
            GRPC.handled
                .with_label_values(&[c, k, s, m, code_label(code)])
        })
    }

    /// Counts a call as started and returns its start time.
    pub fn start(&self) -> Instant {
        self.started.inc();
        Instant::now()
    }

    /// Records a call that ended with `code` after `started`.
    pub fn finish(&self, started: Instant, code: i32) {
        self.seconds.observe(started.elapsed().as_secs_f64());
        self.handled(code).inc();
    }
}

/// Per-method metrics for every known method, looked up by HTTP/2 path.
pub struct MethodTable {
    known: Vec<(&'static str, Arc<MethodMetrics>)>,
    unknown: Arc<MethodMetrics>,
}

const INFRA: &[(&str, &str, &str, MethodKind)] = &[
    (
        "/grpc.health.v1.Health/Check",
        "grpc.health.v1.Health",
        "Check",
        MethodKind::Unary,
    ),
    (
        "/grpc.health.v1.Health/Watch",
        "grpc.health.v1.Health",
        "Watch",
        MethodKind::ServerStream,
    ),
];

impl MethodTable {
    fn build(component: Component) -> Self {
        let metrics = |kind: MethodKind, service, method| {
            Arc::new(MethodMetrics::new(
                component,
                kind.as_label(),
                service,
                method,
            ))
        };
        let mut known: Vec<(&'static str, Arc<MethodMetrics>)> = policy_table::METHODS
            .iter()
            .map(|m| (m.path, metrics(m.kind, m.service, m.method)))
            .chain(INFRA.iter().map(|(p, s, m, k)| (*p, metrics(*k, s, m))))
            .collect();
        known.sort_by_key(|(p, _)| *p);
        MethodTable {
            known,
            unknown: metrics(MethodKind::Unary, "unknown", "unknown"),
        }
    }

    /// The table of `component`, built once.
    pub fn of(component: Component) -> &'static MethodTable {
        static SERVICE: LazyLock<MethodTable> =
            LazyLock::new(|| MethodTable::build(Component::Service));
        static GATEWAY: LazyLock<MethodTable> =
            LazyLock::new(|| MethodTable::build(Component::Gateway));
        match component {
            Component::Service => &SERVICE,
            Component::Gateway => &GATEWAY,
        }
    }

    /// The metrics of the method at `path`; reflection is not counted and
    /// unknown paths share one row.
    pub fn get(&self, path: &str) -> Option<Arc<MethodMetrics>> {
        if path.starts_with("/grpc.reflection.") {
            return None;
        }
        Some(match self.known.binary_search_by(|(p, _)| (*p).cmp(path)) {
            Ok(i) => self.known[i].1.clone(),
            Err(_) => self.unknown.clone(),
        })
    }
}

/// Records the grpc-ecosystem server metrics for every call.
#[derive(Debug, Clone, Copy)]
pub struct GrpcMetricsLayer {
    component: Component,
}

impl GrpcMetricsLayer {
    /// For a service's own server.
    pub const fn service() -> Self {
        Self {
            component: Component::Service,
        }
    }

    /// For the gateway.
    pub const fn gateway() -> Self {
        Self {
            component: Component::Gateway,
        }
    }
}

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService {
            inner,
            table: MethodTable::of(self.component),
        }
    }
}

#[derive(Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
    table: &'static MethodTable,
}

impl<S: std::fmt::Debug> std::fmt::Debug for GrpcMetricsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcMetricsService")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for GrpcMetricsService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Body,
{
    type Response = http::Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let metrics = self.table.get(req.uri().path());
        let started = match &metrics {
            Some(m) => m.start(),
            None => Instant::now(),
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut res = fut
                .await?
                .map(|body| MeteredBody::new(body, metrics, started));
            // A trailers-only response carries the status in the headers.
            if let Some(code) = grpc_status(res.headers()) {
                res.body_mut().finish(code);
            }
            Ok(res)
        })
    }
}

/// `grpc-status` from headers or trailers.
pub fn grpc_status(headers: &http::HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

pin_project_lite::pin_project! {
    /// A response body that records the call's outcome when it ends: at the
    /// trailers, or as `Canceled` when dropped before them.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        pending: Option<(Arc<MethodMetrics>, Instant)>,
    }

    impl<B> PinnedDrop for MeteredBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some((m, started)) = this.pending.take() {
                m.finish(started, 1);
            }
        }
    }
}

impl<B> MeteredBody<B> {
    pub fn new(inner: B, metrics: Option<Arc<MethodMetrics>>, started: Instant) -> Self {
        Self {
            inner,
            pending: metrics.map(|m| (m, started)),
        }
    }

    fn finish(&mut self, code: i32) {
        if let Some((m, started)) = self.pending.take() {
            m.finish(started, code);
        }
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        let code = match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                frame.trailers_ref().map(|t| grpc_status(t).unwrap_or(2))
            }
            Poll::Ready(Some(Err(_))) => Some(2),
            // Ended without trailers: a malformed gRPC response.
            Poll::Ready(None) => Some(2),
            Poll::Pending => None,
        };
        if let Some(code) = code
            && let Some((m, started)) = this.pending.take()
        {
            m.finish(started, code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `/metrics` (and `/healthz`) on `listener` until `shutdown`.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use hyper::service::service_fn;
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics accept");
                    continue;
                }
            },
        };
        tokio::spawn(async move {
            let svc = service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                let (status, ctype, body) = match req.uri().path() {
                    "/metrics" => (200, "text/plain; version=0.0.4", render()),
                    "/healthz" => (200, "text/plain", "ok\n".to_string()),
                    _ => (404, "text/plain", "not found\n".to_string()),
                };
                http::Response::builder()
                    .status(status)
                    .header("content-type", ctype)
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await;
        });
    }
}

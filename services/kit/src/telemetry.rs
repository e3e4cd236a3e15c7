//! Logs and traces: readable lines by default, JSON with a flag, and OTLP
//! export when an endpoint is configured. W3C trace context travels in gRPC
//! metadata between the gateway and the services.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, Settings};

/// Keeps the trace exporter alive; flushes it when dropped.
#[must_use = "traces are flushed when the guard is dropped"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("trace exporter shutdown: {e}");
        }
    }
}

/// Installs the global subscriber. `service_name` names this process in
/// traces. Safe to call once per process.
pub fn init(settings: &Settings, service_name: &str) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_new(&settings.log)?;
    let fmt = match settings.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_target(true).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .boxed(),
    };
    let mut provider = None;
    let otel = match &settings.otlp_endpoint {
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()?;
            let p = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder()
                        .with_service_name(service_name.to_string())
                        .build(),
                )
                .build();
            let tracer = p.tracer("concord");
            provider = Some(p.clone());
            opentelemetry::global::set_tracer_provider(p);
            // Transport internals would drown the spans that matter.
            let noise = tracing_subscriber::filter::Targets::new()
                .with_default(tracing::Level::TRACE)
                .with_target("h2", tracing::level_filters::LevelFilter::OFF)
                .with_target("hyper", tracing::level_filters::LevelFilter::OFF)
                .with_target("hyper_util", tracing::level_filters::LevelFilter::OFF)
                .with_target("tonic", tracing::level_filters::LevelFilter::OFF)
                .with_target("tower", tracing::level_filters::LevelFilter::OFF)
                .with_target("sqlx", tracing::level_filters::LevelFilter::OFF);
            Some(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(noise),
            )
        }
        None => None,
    };
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// The remote parent carried by `traceparent`/`tracestate`, if any.
pub fn extract_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Writes the current span's context into outgoing headers.
pub fn inject_current(headers: &mut http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
}

/// A span for one incoming gRPC call, continuing the caller's trace.
pub fn server_span(request: &http::Request<()>) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let span = tracing::info_span!(
        "grpc",
        otel.name = %request.uri().path(),
        otel.kind = "server",
        rpc.system = "grpc",
    );
    let parent = extract_context(request.headers());
    // An invalid or absent parent simply starts a new trace.
    let _ = span.set_parent(parent);
    span
}

/// A tonic interceptor that adds the current trace context to outgoing calls
/// between services.
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateTrace;

impl tonic::service::Interceptor for PropagateTrace {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let mut headers = http::HeaderMap::new();
        inject_current(&mut headers);
        for (k, v) in headers.iter() {
            if let Ok(key) = tonic::metadata::MetadataKey::from_bytes(k.as_str().as_bytes())
                && let Ok(val) = tonic::metadata::MetadataValue::try_from(v.as_bytes())
            {
                request.metadata_mut().insert(key, val);
            }
        }
        Ok(request)
    }
}

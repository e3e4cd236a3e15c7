//! One way to run any Concord gRPC service: health checking, reflection
//! (v1 and v1alpha), the metrics and auth layers, limits, tracing and
//! graceful shutdown. A service only brings its own routes.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::Verifier;
use crate::authz::AuthLayer;
use crate::config::Settings;
use crate::metrics::GrpcMetricsLayer;

/// Limits applied to every server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_concurrent_streams: u32,
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    /// Time between reporting NOT_SERVING and closing the listener.
    pub shutdown_drain: Duration,
}

impl Limits {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            max_message_bytes: s.max_message_bytes,
            max_concurrent_streams: s.max_concurrent_streams,
            request_timeout: Duration::from_secs(s.request_timeout_secs),
            shutdown_grace: Duration::from_secs(s.shutdown_grace_secs),
            shutdown_drain: Duration::from_secs(s.shutdown_drain_secs),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_settings(&Settings::default())
    }
}

/// A service ready to be served: its routes and the gRPC service names its
/// health entries are registered under.
pub struct Service {
    pub routes: Routes,
    pub health_names: Vec<&'static str>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("health_names", &self.health_names)
            .finish()
    }
}

/// Builds the reflection services over every Concord contract.
pub fn reflection_routes(routes: Routes) -> anyhow::Result<Routes> {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(concord_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(concord_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    Ok(routes.add_service(v1).add_service(v1alpha))
}

/// Serves `service` on `listener` until `shutdown` is cancelled; then reports
/// NOT_SERVING, stops accepting, lets in-flight calls finish for up to
/// `limits.shutdown_grace`, and returns.
pub async fn serve(
    listener: TcpListener,
    service: Service,
    verifier: Verifier,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in &service.health_names {
        reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    let routes = reflection_routes(service.routes.add_service(health))?;

    let mut server = tonic::transport::Server::builder()
        // Continue the caller's trace, one span per call.
        .trace_fn(crate::telemetry::server_span)
        // A call may not run forever; honours a shorter grpc-timeout too.
        .timeout(limits.request_timeout)
        // Bound the work one connection can put in flight.
        .max_concurrent_streams(limits.max_concurrent_streams)
        // Detect dead peers on idle connections.
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .tcp_nodelay(true)
        // Count every call, including those the auth layer refuses.
        .layer(GrpcMetricsLayer::service())
        // Verify the token and apply the method's role policy.
        .layer(AuthLayer::new(verifier));

    // tonic ignores the builder's tcp_nodelay for a caller-supplied stream:
    // without it Nagle and delayed ACKs add ~40 ms to responses.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let names = service.health_names.clone();
    let signal = {
        let shutdown = shutdown.clone();
        let reporter = reporter.clone();
        async move {
            shutdown.cancelled().await;
            set_all(&reporter, &names, ServingStatus::NotServing).await;
            // Keep accepting while probes and balancers notice.
            tokio::time::sleep(limits.shutdown_drain).await;
        }
    };
    let serving = server
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, signal);
    tokio::pin!(serving);
    tokio::select! {
        r = &mut serving => return r.map_err(Into::into),
        _ = shutdown.cancelled() => {}
    }
    match tokio::time::timeout(limits.shutdown_drain + limits.shutdown_grace, serving).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => {
            tracing::warn!(grace = ?limits.shutdown_grace, "calls still running after the grace period; closing them");
            Ok(())
        }
    }
}

async fn set_all(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
    reporter.set_service_status("", status).await;
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is
/// called, not when first polled, so a signal that arrives right after start
/// is not lost (nor does it kill the process with the default action).
pub fn termination_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

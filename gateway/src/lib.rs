//! Concord's gateway: one gRPC entry point in front of every service.
//!
//! Each call is routed by its gRPC service name to that service's upstream
//! (a remote server or an in-process stack), after the gateway has verified
//! the bearer token, applied the method's role policy from the contracts,
//! the caller's rate limit and a global in-flight limit. Bodies are
//! forwarded untouched over a few long-lived HTTP/2 connections per
//! upstream; metadata, deadlines and trailers pass through. The gateway also
//! answers gRPC health (per upstream) and server reflection itself, speaks
//! grpc-web to browsers and terminates TLS.
//!
//! Status codes the gateway itself answers with:
//! UNAUTHENTICATED (token missing, malformed, forged or expired),
//! PERMISSION_DENIED (role not allowed), UNIMPLEMENTED (unknown method or
//! service), RESOURCE_EXHAUSTED with `google.rpc.RetryInfo` (rate limit; also
//! a safe read's request over the buffering limit), UNAVAILABLE (upstream
//! down or refusing, or the gateway over its in-flight limit: a transient
//! condition to retry with backoff, unlike a quota), DEADLINE_EXCEEDED
//! (`grpc-timeout` passed before the upstream answered).
//!
//! Wiring it (what `concord serve` does, with its own services in-process):
//!
//! ```no_run
//! # async fn run(routes: tonic::service::Routes, verifier: concord_kit::auth::Verifier) -> anyhow::Result<()> {
//! use concord_gateway::{GatewayConfig, Upstream};
//! let mut config = GatewayConfig::default();
//! // In this process: the service's routes behind the kit's layers.
//! let directory = tower::ServiceBuilder::new()
//!     .layer(concord_kit::metrics::GrpcMetricsLayer::service())
//!     .layer(concord_kit::authz::AuthLayer::new(verifier.clone()))
//!     .service(routes);
//! config.upstreams.insert("concord.directory.v1.DirectoryService".into(), Upstream::local(directory));
//! // Elsewhere: by address.
//! config.upstreams.insert(
//!     "concord.notices.v1.NoticeService".into(),
//!     Upstream::Remote("http://notices:50052".parse()?),
//! );
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:50050").await?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! concord_gateway::serve(listener, config, verifier, shutdown).await
//! # }
//! ```
#![forbid(unsafe_code)]

mod body;
mod config;
mod deadline;
mod error;
mod health;
mod metrics;
mod overload;
mod ratelimit;
mod router;
mod server;
mod service;
mod tls;
mod trace;
mod upstream;
mod web;

use std::collections::HashMap;
use std::sync::Arc;

use concord_kit::auth::Verifier;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

pub use config::{ConfigError, GatewayConfig, LocalService, RateLimit, TlsConfig, Upstream};

/// The error type of bodies and services crossing the gateway.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves the gateway on `listener` until `shutdown` is cancelled; then
/// reports NOT_SERVING, stops accepting, lets in-flight calls finish for up to
/// `config.shutdown_grace`, and returns. Runs on a current-thread runtime as
/// well as a multi-thread one.
pub async fn serve(
    listener: TcpListener,
    config: GatewayConfig,
    verifier: Verifier,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    config.validate()?;
    // Upstream connections and certificate reloads live until the drain ends.
    let background = CancellationToken::new();
    let _background = background.clone().drop_guard();
    let tls = config
        .tls
        .as_ref()
        .map(|t| tls::acceptor(t, &background))
        .transpose()?;

    let (reporter, health_service) = tonic_health::server::health_reporter();
    let infra =
        concord_kit::server::reflection_routes(tonic::service::Routes::new(health_service))?;
    let checks = background.child_token();
    let mut checkers = JoinSet::new();
    let mut remotes = HashMap::new();
    for (name, upstream) in &config.upstreams {
        match upstream {
            Upstream::Remote(uri) => {
                let pool = upstream::RemotePool::start(
                    name,
                    uri,
                    (
                        config.connections_per_upstream,
                        config.max_connections_per_upstream,
                    ),
                    config.upstream_connect_timeout,
                    &background,
                );
                reporter
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
                checkers.spawn(health::watch_upstream(
                    pool.clone(),
                    reporter.clone(),
                    config.health_interval,
                    config.upstream_connect_timeout,
                    checks.clone(),
                ));
                remotes.insert(name.clone(), pool);
            }
            // In-process: up exactly as long as the gateway is.
            Upstream::Local(_) => {
                reporter
                    .set_service_status(name, ServingStatus::Serving)
                    .await
            }
        }
    }
    let gateway = Arc::new(router::Gateway::new(&config, &remotes, verifier, infra));
    tracing::info!(
        addr = %listener.local_addr()?,
        tls = tls.is_some(),
        upstreams = ?config.upstreams,
        "gateway listening"
    );

    // The listener closes only after health said NOT_SERVING and the drain
    // passed, so probes and balancers stop sending first.
    let close = CancellationToken::new();
    let stopping = {
        let close = close.clone();
        let drain = config.shutdown_drain;
        let names: Vec<String> = config.upstreams.keys().cloned().collect();
        async move {
            shutdown.cancelled().await;
            // Stop the checkers first so none flips a name back to SERVING.
            checks.cancel();
            while checkers.join_next().await.is_some() {}
            health::set_all(&reporter, &names, ServingStatus::NotServing).await;
            tokio::time::sleep(drain).await;
            close.cancel();
        }
    };
    let builder = server::builder(config.max_concurrent_streams);
    let serving = server::run(
        listener,
        gateway,
        tls,
        builder,
        config.shutdown_grace,
        close,
    );
    tokio::join!(stopping, serving);
    Ok(())
}

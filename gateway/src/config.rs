//! The gateway's settings, validated once at start.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Duration;

use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;

use crate::BoxError;

/// An in-process gRPC service stack (for example a service's routes wrapped
/// in the kit's metrics and auth layers) that the gateway calls without a
/// network hop.
pub type LocalService = BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    Infallible,
>;

/// Where the calls of one gRPC service go.
#[derive(Clone)]
pub enum Upstream {
    /// A server reached over plaintext HTTP/2, `http://host:port`. Its
    /// health entry follows the upstream's own `grpc.health.v1.Health`.
    Remote(http::Uri),
    /// A service stack in this process (`concord serve`), called without a
    /// network hop. Its health entry is SERVING while the gateway serves.
    Local(LocalService),
}

impl Upstream {
    /// Wraps any tower service speaking gRPC over `http` types as a
    /// [`Upstream::Local`]. A service error becomes an UNAVAILABLE status.
    pub fn local<S, B>(service: S) -> Self
    where
        S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Upstream::Local(BoxCloneSyncService::new(Infallibly(service)))
    }
}

/// Turns a service's errors into UNAVAILABLE responses and its body into
/// tonic's, the shape a [`LocalService`] has.
#[derive(Clone)]
struct Infallibly<S>(S);

impl<S, B> tower::Service<http::Request<tonic::body::Body>> for Infallibly<S>
where
    S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move {
            Ok(match service.oneshot(req).await {
                Ok(res) => res.map(tonic::body::Body::new),
                Err(e) => {
                    let e: BoxError = e.into();
                    tonic::Status::unavailable(format!("in-process service failed: {e}"))
                        .into_http()
                }
            })
        })
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upstream::Remote(uri) => write!(f, "Remote({uri})"),
            Upstream::Local(_) => f.write_str("Local(..)"),
        }
    }
}

/// A token bucket per principal: `burst` calls at once, refilled at
/// `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl RateLimit {
    /// No per-principal limit (benchmarks, trusted deployments).
    pub const UNLIMITED: RateLimit = RateLimit {
        per_second: f64::INFINITY,
        burst: u32::MAX,
    };

    /// Whether this limit never refuses a call.
    pub fn is_unlimited(&self) -> bool {
        !self.per_second.is_finite()
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 100.0,
            burst: 200,
        }
    }
}

/// TLS termination: a certificate chain and key in PEM files, reloaded when
/// the files change, and optional client-certificate verification.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    /// CA bundle (PEM) that client certificates must chain to.
    pub client_ca_path: Option<PathBuf>,
    /// Refuse clients without a certificate (mTLS). Needs `client_ca_path`.
    pub require_client_cert: bool,
    /// How often the certificate files are checked for changes.
    pub reload_interval: Duration,
}

impl TlsConfig {
    /// Serves `cert_path`/`key_path`, no client certificates, checked for
    /// changes every five seconds.
    pub fn new(cert_path: impl Into<PathBuf>, key_path: impl Into<PathBuf>) -> Self {
        Self {
            cert_path: cert_path.into(),
            key_path: key_path.into(),
            client_ca_path: None,
            require_client_cert: false,
            reload_interval: Duration::from_secs(5),
        }
    }
}

/// Everything the gateway needs besides its listener and verifier.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Upstream of each gRPC service, by full name (`concord.directory.v1.DirectoryService`).
    pub upstreams: BTreeMap<String, Upstream>,
    /// Per-principal rate limit.
    pub rate_limit: RateLimit,
    /// Calls admitted at once; beyond it new calls are refused UNAVAILABLE
    /// at once. Streaming calls count until their response headers.
    pub max_in_flight: usize,
    /// Time allowed to open a connection to a remote upstream.
    pub upstream_connect_timeout: Duration,
    /// HTTP/2 connections kept to each remote upstream. One batches best
    /// (least CPU per call); more are opened when streams run out.
    pub connections_per_upstream: usize,
    /// Connections a remote upstream may grow to when every connection is
    /// at its concurrent-stream limit (long-lived streams, bursts).
    pub max_connections_per_upstream: usize,
    /// How often each upstream's health is checked.
    pub health_interval: Duration,
    /// Largest request of a safe read, which is read whole so it can be
    /// sent again on a connection failure; larger ones are refused
    /// RESOURCE_EXHAUSTED.
    pub max_buffered_request_bytes: usize,
    /// Concurrent HTTP/2 streams per client connection.
    pub max_concurrent_streams: u32,
    /// How long shutdown waits for in-flight calls.
    pub shutdown_grace: Duration,
    /// How long the gateway keeps accepting after reporting NOT_SERVING.
    pub shutdown_drain: Duration,
    /// Time limit of a unary call that brings no `grpc-timeout` of its own,
    /// so a partitioned upstream cannot hold it for minutes.
    pub request_timeout: Option<Duration>,
    /// Create a span per call and inject its context upstream (set when an
    /// OTLP exporter is installed); otherwise `traceparent` passes through.
    pub trace_calls: bool,
    /// TLS termination; plaintext when `None`.
    pub tls: Option<TlsConfig>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            upstreams: BTreeMap::new(),
            rate_limit: RateLimit::default(),
            max_in_flight: 1024,
            upstream_connect_timeout: Duration::from_secs(1),
            connections_per_upstream: 1,
            max_connections_per_upstream: 16,
            health_interval: Duration::from_secs(5),
            max_buffered_request_bytes: 4 * 1024 * 1024,
            max_concurrent_streams: 1024,
            shutdown_grace: Duration::from_secs(20),
            shutdown_drain: Duration::ZERO,
            request_timeout: Some(Duration::from_secs(30)),
            trace_calls: false,
            tls: None,
        }
    }
}

impl GatewayConfig {
    /// The defaults with the process-wide settings the gateway shares with
    /// every server (stream and message limits, shutdown grace, trace
    /// export). Upstreams, rate limit and TLS are left to the caller.
    pub fn from_settings(settings: &concord_kit::config::Settings) -> Self {
        Self {
            max_concurrent_streams: settings.max_concurrent_streams,
            max_buffered_request_bytes: settings.max_message_bytes,
            shutdown_grace: Duration::from_secs(settings.shutdown_grace_secs),
            shutdown_drain: Duration::from_secs(settings.shutdown_drain_secs),
            request_timeout: Some(Duration::from_secs(settings.request_timeout_secs)),
            trace_calls: settings.otlp_endpoint.is_some(),
            ..Self::default()
        }
    }
}

/// A setting the gateway cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("gateway upstream {name:?}: {why}")]
    Upstream { name: String, why: String },
    #[error("gateway {setting}: {why}")]
    Invalid { setting: &'static str, why: String },
}

impl GatewayConfig {
    /// Checks every setting, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let concord = concord_proto::policy_table::services();
        for (name, upstream) in &self.upstreams {
            let bad = |why: &str| {
                Err(ConfigError::Upstream {
                    name: name.clone(),
                    why: why.to_string(),
                })
            };
            if name.is_empty() || name.contains('/') || !name.contains('.') {
                return bad(
                    "is not a full gRPC service name like concord.directory.v1.DirectoryService",
                );
            }
            if name.starts_with("grpc.health.") || name.starts_with("grpc.reflection.") {
                return bad("is served by the gateway itself");
            }
            if name.starts_with("concord.") && !concord.contains(&name.as_str()) {
                return bad("names no service in Concord's contracts");
            }
            if let Upstream::Remote(uri) = upstream
                && (uri.scheme_str() != Some("http") || uri.authority().is_none())
            {
                return bad(&format!("address {uri} must look like http://host:port"));
            }
        }
        if self.rate_limit.per_second.is_nan()
            || self.rate_limit.per_second <= 0.0
            || self.rate_limit.burst == 0
        {
            return Err(ConfigError::Invalid {
                setting: "rate_limit",
                why: "needs a positive rate and burst (RateLimit::UNLIMITED for none)".into(),
            });
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::Invalid {
                setting: "max_in_flight",
                why: "must be at least 1".into(),
            });
        }
        if self.connections_per_upstream == 0 {
            return Err(ConfigError::Invalid {
                setting: "connections_per_upstream",
                why: "must be at least 1".into(),
            });
        }
        if self.max_connections_per_upstream < self.connections_per_upstream {
            return Err(ConfigError::Invalid {
                setting: "max_connections_per_upstream",
                why: "must be at least connections_per_upstream".into(),
            });
        }
        if let Some(tls) = &self.tls
            && tls.require_client_cert
            && tls.client_ca_path.is_none()
        {
            return Err(ConfigError::Invalid {
                setting: "tls.require_client_cert",
                why: "needs tls.client_ca_path".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &str, upstream: Upstream) -> GatewayConfig {
        let mut config = GatewayConfig::default();
        config.upstreams.insert(name.to_string(), upstream);
        config
    }

    #[test]
    fn bad_settings_are_named() {
        let remote = |uri: &str| Upstream::Remote(uri.parse().unwrap());
        assert!(
            with(
                "concord.directory.v1.DirectoryService",
                remote("http://directory:50051")
            )
            .validate()
            .is_ok()
        );
        for (name, uri, why) in [
            ("directory", "http://d:1", "full gRPC service name"),
            (
                "concord.nothing.v1.Nope",
                "http://d:1",
                "no service in Concord",
            ),
            ("grpc.health.v1.Health", "http://d:1", "gateway itself"),
            (
                "concord.directory.v1.DirectoryService",
                "https://d:1",
                "http://host:port",
            ),
        ] {
            let err = with(name, remote(uri)).validate().unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(why), "{err}");
        }
        let config = GatewayConfig {
            rate_limit: RateLimit {
                per_second: 0.0,
                burst: 1,
            },
            ..Default::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("rate_limit")
        );
        let mut tls = TlsConfig::new("c.pem", "k.pem");
        tls.require_client_cert = true;
        let config = GatewayConfig {
            tls: Some(tls),
            ..Default::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("client_ca_path")
        );
    }
}

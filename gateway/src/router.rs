//! The per-call path: resolve the method, admit the call (token, role,
//! rate, capacity), then forward it to its upstream. Everything a call needs
//! is resolved once at start into a table parallel to the policy table.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use concord_kit::auth::{Principal, Verifier};
use concord_kit::authz::{self, Decision};
use concord_proto::policy_table::{self, MethodInfo, MethodKind};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use tower::ServiceExt as _;
use tracing::Instrument as _;

use crate::body::{GatewayBody, RequestBody};
use crate::config::{GatewayConfig, LocalService, Upstream};
use crate::error::Refusal;
use crate::overload::{InFlight, InFlightLimit};
use crate::ratelimit::RateLimiter;
use crate::upstream::RemotePool;

/// The future of one call; the gateway itself never fails a call at the
/// HTTP level, it answers with a gRPC status instead.
pub(crate) type CallFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<GatewayBody>, Infallible>> + Send>>;

/// Where one service's calls go.
#[derive(Clone)]
pub(crate) enum Target {
    Remote(Arc<RemotePool>),
    Local {
        service: LocalService,
        latency: prometheus::Histogram,
    },
}

/// The routing table and the admission state, shared by every connection.
pub(crate) struct Gateway {
    /// Indexed like `policy_table::METHODS`: the target of each Concord method.
    methods: Box<[Option<Target>]>,
    /// Services outside Concord's contracts, by name; any signed-in caller.
    foreign: HashMap<String, Target>,
    /// Health and reflection, answered by the gateway itself.
    infra: tonic::service::Routes,
    verifier: Verifier,
    limiter: RateLimiter,
    in_flight: InFlightLimit,
    trace_calls: bool,
    max_buffered: usize,
    request_timeout: Option<Duration>,
}

impl Gateway {
    /// Builds the table from validated `config`; remote pools are started by
    /// the caller and passed in `remotes`.
    pub(crate) fn new(
        config: &GatewayConfig,
        remotes: &HashMap<String, Arc<RemotePool>>,
        verifier: Verifier,
        infra: tonic::service::Routes,
    ) -> Self {
        let target = |name: &str| -> Option<Target> {
            match config.upstreams.get(name)? {
                Upstream::Remote(_) => remotes.get(name).cloned().map(Target::Remote),
                Upstream::Local(service) => Some(Target::Local {
                    service: service.clone(),
                    latency: crate::metrics::upstream_seconds(name),
                }),
            }
        };
        let methods = policy_table::METHODS
            .iter()
            .map(|m| target(m.service))
            .collect();
        let concord = policy_table::services();
        let foreign = config
            .upstreams
            .keys()
            .filter(|name| !concord.contains(&name.as_str()))
            .filter_map(|name| Some((name.clone(), target(name)?)))
            .collect();
        Self {
            methods,
            foreign,
            infra,
            verifier,
            limiter: RateLimiter::new(config.rate_limit),
            in_flight: InFlightLimit::new(config.max_in_flight),
            trace_calls: config.trace_calls,
            max_buffered: config.max_buffered_request_bytes,
            request_timeout: config.request_timeout,
        }
    }

    /// Handles one call from a client at `peer`.
    pub(crate) fn call(&self, mut req: http::Request<RequestBody>, peer: IpAddr) -> CallFuture {
        let path = req.uri().path();
        if path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.") {
            let infra = self.infra.clone();
            return Box::pin(async move {
                let Ok(res) = infra.oneshot(req.map(RequestBody::into_tonic)).await;
                Ok(res.map(GatewayBody::local))
            });
        }
        let (method, target) = match self.resolve(path) {
            Ok(found) => found,
            Err(refusal) => return ready(refusal.into_response()),
        };
        let in_flight = match self.admit(method, &req, peer) {
            Ok(slot) => slot,
            Err(refusal) => return ready(refusal.into_response()),
        };
        let span = self.trace_calls.then(|| crate::trace::start(&mut req));
        let forwarding = forward(
            method,
            target.clone(),
            req,
            in_flight,
            self.max_buffered,
            self.request_timeout,
        );
        match span {
            Some(span) => Box::pin(async move { Ok(forwarding.await) }.instrument(span)),
            None => Box::pin(async move { Ok(forwarding.await) }),
        }
    }

    /// The method and target of `path`, or why there is none.
    fn resolve(&self, path: &str) -> Result<(Option<&'static MethodInfo>, &Target), Refusal> {
        if let Ok(i) = policy_table::METHODS.binary_search_by(|m| m.path.cmp(path)) {
            let method = &policy_table::METHODS[i];
            return match &self.methods[i] {
                Some(target) => Ok((Some(method), target)),
                None => Err(Refusal::NotServed(method.service.to_string())),
            };
        }
        let service = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .map(|(s, _)| s);
        match service.and_then(|s| self.foreign.get(s)) {
            Some(target) => Ok((None, target)),
            None => Err(Refusal::UnknownMethod(path.to_string())),
        }
    }

    /// Authentication, the role policy, the caller's rate and the global
    /// capacity, in that order: nothing upstream is touched before all pass.
    fn admit(
        &self,
        method: Option<&MethodInfo>,
        req: &http::Request<RequestBody>,
        peer: IpAddr,
    ) -> Result<InFlight, Refusal> {
        let authorization = req.headers().get(http::header::AUTHORIZATION);
        let principal: Option<Arc<Principal>> = match method {
            Some(m) => match authz::decide(&self.verifier, m.path, authorization) {
                Decision::Pass => None,
                Decision::Allowed(p) => Some(p),
                Decision::Refused(status) => return Err(Refusal::Policy(status)),
            },
            None => Some(
                self.verifier
                    .verify_header(authorization)
                    .map_err(|e| Refusal::Policy(e.into()))?,
            ),
        };
        if !self.limiter.is_unlimited() {
            let now = Instant::now();
            match &principal {
                Some(p) => self.limiter.check(&p.subject, now)?,
                // A public method called without a token: limited per address.
                None => self.limiter.check(&format!("ip:{peer}"), now)?,
            }
        }
        self.in_flight.try_acquire()
    }

    /// Calls admitted and not yet finished.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.current()
    }
}

/// Sends an admitted call upstream and shapes the answer.
async fn forward(
    method: Option<&'static MethodInfo>,
    target: Target,
    req: http::Request<RequestBody>,
    in_flight: InFlight,
    max_buffered: usize,
    request_timeout: Option<Duration>,
) -> http::Response<GatewayBody> {
    let kind = method.map(|m| m.kind);
    // A stream's slot is freed at its headers, so long-lived watchers do
    // not eat the capacity meant to bound the latency of short calls.
    let hold_to_end = matches!(kind, Some(MethodKind::Unary | MethodKind::ClientStream));
    // A unary call without a deadline of its own gets the configured limit;
    // streams may legitimately last as long as their clients want.
    let deadline = crate::deadline::grpc_timeout(req.headers()).or(if hold_to_end {
        request_timeout
    } else {
        None
    });
    let expires = deadline.map(|d| tokio::time::Instant::now() + d);
    let safe_read = method.is_some_and(|m| m.safe) && kind == Some(MethodKind::Unary);
    let exchange = async {
        match target {
            Target::Remote(pool) => {
                let (req, replay) = if safe_read {
                    buffer(req, max_buffered).await?
                } else {
                    (req, None)
                };
                let (res, stream) = pool.send(req, replay).await?;
                Ok(res.map(|b| GatewayBody::upstream(b, stream)))
            }
            Target::Local { service, latency } => {
                let started = Instant::now();
                let Ok(res) = service.oneshot(req.map(RequestBody::into_tonic)).await;
                latency.observe(started.elapsed().as_secs_f64());
                Ok(res.map(GatewayBody::local))
            }
        }
    };
    let outcome: Result<http::Response<GatewayBody>, Refusal> = match deadline {
        None => exchange.await,
        Some(d) => tokio::time::timeout(d, exchange)
            .await
            .unwrap_or(Err(Refusal::DeadlineExceeded(d))),
    };
    match outcome {
        Ok(mut res) => {
            if hold_to_end {
                res.body_mut().hold(in_flight);
            }
            // The deadline covers the whole call, streams included.
            if let Some(at) = expires {
                res.body_mut().expire_at(at);
            }
            res
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// A request and, for a safe read, a copy to send again.
type WithReplay = (
    http::Request<RequestBody>,
    Option<http::Request<RequestBody>>,
);

/// Reads a safe unary request whole (up to `max_buffered` bytes), returning
/// it and a copy to replay.
async fn buffer(
    req: http::Request<RequestBody>,
    max_buffered: usize,
) -> Result<WithReplay, Refusal> {
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, max_buffered);
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Refusal::TooLarge(max_buffered));
        }
        Err(e) => return Err(Refusal::ClientGone(e.to_string())),
    };
    let mut replay = http::Request::new(RequestBody::Buffered(Some(bytes.clone())));
    *replay.method_mut() = parts.method.clone();
    *replay.uri_mut() = parts.uri.clone();
    *replay.headers_mut() = parts.headers.clone();
    Ok((
        http::Request::from_parts(parts, RequestBody::Buffered(Some(bytes))),
        Some(replay),
    ))
}

fn ready(res: http::Response<GatewayBody>) -> CallFuture {
    Box::pin(std::future::ready(Ok(res)))
}

/// The gateway as a tower service for one client connection; the kit's
/// metrics layer and the grpc-web layer wrap it.
#[derive(Clone)]
pub(crate) struct Dispatch {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) peer: IpAddr,
}

impl From<Incoming> for RequestBody {
    fn from(b: Incoming) -> Self {
        RequestBody::Incoming(b)
    }
}

impl From<tonic::body::Body> for RequestBody {
    fn from(b: tonic::body::Body) -> Self {
        RequestBody::Tonic(b)
    }
}

impl<B: Into<RequestBody>> tower::Service<http::Request<B>> for Dispatch {
    type Response = http::Response<GatewayBody>;
    type Error = Infallible;
    type Future = CallFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        self.gateway.call(req.map(Into::into), self.peer)
    }
}

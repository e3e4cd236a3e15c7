//! grpc-web for browsers, over HTTP/1.1 or HTTP/2: only requests that ask
//! for it (a grpc-web content type, a CORS preflight, or any HTTP/1 request)
//! take this path, so plain gRPC never pays for the translation.

use std::convert::Infallible;
use std::pin::Pin;
use std::time::Duration;

use http::header::{self, HeaderName};
use hyper::body::Incoming;
use tower::ServiceExt as _;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Response headers a browser script may read.
const EXPOSED: [HeaderName; 3] = [
    HeaderName::from_static("grpc-status"),
    HeaderName::from_static("grpc-message"),
    HeaderName::from_static("grpc-status-details-bin"),
];

/// Request headers a browser may send cross-origin.
const ALLOWED: [HeaderName; 6] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static("x-grpc-web"),
    HeaderName::from_static("x-user-agent"),
    HeaderName::from_static("grpc-timeout"),
    HeaderName::from_static("traceparent"),
];

/// Whether `req` takes the grpc-web path.
pub(crate) fn wants(req: &http::Request<Incoming>) -> bool {
    req.version() != http::Version::HTTP_2
        || req.method() == http::Method::OPTIONS
        || req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc-web"))
}

pub(crate) type WebFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

/// Serves one grpc-web (or preflight) request through `grpc`, the same
/// metered gRPC path plain calls take.
pub(crate) fn call<S, B>(grpc: S, req: http::Request<Incoming>) -> WebFuture
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::BoxError> + std::fmt::Display,
{
    let stack = tower::ServiceBuilder::new()
        // Browsers ask before a cross-origin call; answer the preflight here.
        .layer(cors())
        // Translate grpc-web framing (trailers in the body) to and from gRPC.
        .layer(tonic_web::GrpcWebLayer::new())
        .service(grpc);
    Box::pin(stack.oneshot(req))
}

/// Any origin may call: authentication is a bearer token, never a cookie.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .allow_headers(ALLOWED)
        .expose_headers(EXPOSED)
        .max_age(Duration::from_secs(24 * 3600))
}

//! Every way the gateway itself ends a call, mapped to a gRPC status once.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::body::GatewayBody;

/// Why the gateway answered a call itself instead of the upstream.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The token or the role policy refused the call (the status says which).
    #[error("{}", .0.message())]
    Policy(Status),
    #[error("unknown method {0}")]
    UnknownMethod(String),
    #[error("service {0} is not served by this gateway")]
    NotServed(String),
    #[error("request larger than {0} bytes")]
    TooLarge(usize),
    #[error("rate limit of {per_second}/s (burst {burst}) exceeded; retry in {} ms", retry_after.as_millis())]
    RateLimited {
        per_second: f64,
        burst: u32,
        retry_after: Duration,
    },
    #[error("gateway overloaded: {0} calls in flight; retry with backoff")]
    Overloaded(usize),
    #[error("upstream {service} unavailable: {why}")]
    Unavailable { service: String, why: String },
    #[error("the client's request failed: {0}")]
    ClientGone(String),
    #[error("deadline of {0:?} exceeded")]
    DeadlineExceeded(Duration),
    #[error("gateway is shutting down")]
    ShuttingDown,
}

impl From<Refusal> for Status {
    fn from(r: Refusal) -> Self {
        let message = r.to_string();
        match r {
            Refusal::Policy(status) => status,
            Refusal::UnknownMethod(_) | Refusal::NotServed(_) => {
                Status::new(Code::Unimplemented, message)
            }
            Refusal::TooLarge(_) => Status::new(Code::ResourceExhausted, message),
            Refusal::RateLimited { retry_after, .. } => Status::with_error_details(
                Code::ResourceExhausted,
                message,
                ErrorDetails::with_retry_info(Some(retry_after)),
            ),
            // Overload is the gateway's transient condition, not the caller's
            // quota: UNAVAILABLE tells clients to back off and retry.
            Refusal::Overloaded(_) => Status::new(Code::Unavailable, message),
            Refusal::Unavailable { .. } | Refusal::ShuttingDown => {
                Status::new(Code::Unavailable, message)
            }
            Refusal::DeadlineExceeded(_) => Status::new(Code::DeadlineExceeded, message),
            Refusal::ClientGone(_) => Status::new(Code::Cancelled, message),
        }
    }
}

impl Refusal {
    /// The trailers-only gRPC response for this refusal.
    pub(crate) fn into_response(self) -> http::Response<GatewayBody> {
        Status::from(self).into_http()
    }
}

/// The status and its trailers for an upstream stream that broke after its
/// headers were forwarded.
pub(crate) fn broken_stream_trailers(why: &str) -> http::HeaderMap {
    let mut trailers = http::HeaderMap::new();
    let status = Status::unavailable(format!("upstream stream broken: {why}"));
    // Only fails on a non-ASCII custom metadata value, which this has none of.
    let _ = status.add_header(&mut trailers);
    trailers
}

/// The trailers that end a call whose deadline passed while its response
/// was still streaming.
pub(crate) fn deadline_trailers() -> http::HeaderMap {
    let mut trailers = http::HeaderMap::new();
    let status = Status::deadline_exceeded("deadline exceeded while the response was streaming");
    let _ = status.add_header(&mut trailers);
    trailers
}

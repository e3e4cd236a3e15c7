//! The bodies that cross the gateway, as enums rather than boxes so the hot
//! path forwards hyper's `Incoming` untouched.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use crate::BoxError;
use crate::overload::InFlight;
use crate::upstream::OpenStream;

/// A request body on its way to an upstream.
#[derive(Debug)]
pub(crate) enum RequestBody {
    /// Streamed from the client as it arrives (the hot path).
    Incoming(Incoming),
    /// A small unary request kept so a safe read can be sent again.
    Buffered(Option<Bytes>),
    /// Already converted by tonic (grpc-web, health checks).
    Tonic(tonic::body::Body),
}

impl RequestBody {
    /// The body as tonic's type, for in-process services.
    pub(crate) fn into_tonic(self) -> tonic::body::Body {
        match self {
            RequestBody::Tonic(b) => b,
            other => tonic::body::Body::new(other),
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            RequestBody::Incoming(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            RequestBody::Buffered(b) => Poll::Ready(b.take().map(|d| Ok(Frame::data(d)))),
            RequestBody::Tonic(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Incoming(b) => b.is_end_stream(),
            RequestBody::Buffered(b) => b.is_none(),
            RequestBody::Tonic(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Incoming(b) => b.size_hint(),
            RequestBody::Buffered(b) => {
                SizeHint::with_exact(b.as_ref().map_or(0, |d| d.len() as u64))
            }
            RequestBody::Tonic(b) => b.size_hint(),
        }
    }
}

/// A response body the gateway sends back: an upstream's, an in-process
/// service's, or none (trailers-only). An upstream error after the headers
/// becomes UNAVAILABLE trailers, so the client always sees a gRPC status.
/// Holds the call's in-flight slot until the response ends.
#[derive(Debug, Default)]
pub struct GatewayBody {
    kind: Kind,
    in_flight: Option<InFlight>,
    /// The upstream stream this body reads, counted until it ends.
    stream: Option<OpenStream>,
    /// The call's `grpc-timeout`, enforced to the last frame.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Debug, Default)]
enum Kind {
    #[default]
    Empty,
    Upstream(Incoming),
    Local(tonic::body::Body),
}

impl GatewayBody {
    pub(crate) fn upstream(body: Incoming, stream: OpenStream) -> Self {
        Self {
            kind: Kind::Upstream(body),
            in_flight: None,
            stream: Some(stream),
            deadline: None,
        }
    }

    pub(crate) fn local(body: tonic::body::Body) -> Self {
        Self {
            kind: Kind::Local(body),
            in_flight: None,
            stream: None,
            deadline: None,
        }
    }

    /// Keeps the call's in-flight slot until this body ends.
    pub(crate) fn hold(&mut self, in_flight: InFlight) {
        if !matches!(self.kind, Kind::Empty) {
            self.in_flight = Some(in_flight);
        }
    }

    /// Ends the response with DEADLINE_EXCEEDED if it is still going at `at`.
    pub(crate) fn expire_at(&mut self, at: tokio::time::Instant) {
        if !matches!(self.kind, Kind::Empty) {
            self.deadline = Some(Box::pin(tokio::time::sleep_until(at)));
        }
    }

    fn end(&mut self) {
        self.kind = Kind::Empty;
        self.in_flight = None;
        self.stream = None;
        self.deadline = None;
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(deadline) = &mut this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            this.end();
            return Poll::Ready(Some(Ok(Frame::trailers(crate::error::deadline_trailers()))));
        }
        let polled = match &mut this.kind {
            Kind::Empty => return Poll::Ready(None),
            Kind::Upstream(b) => Pin::new(b).poll_frame(cx).map_err(|e| e.to_string()),
            Kind::Local(b) => Pin::new(b)
                .poll_frame(cx)
                .map_err(|s| s.message().to_string()),
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => {
                if frame.is_trailers() {
                    this.end();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(why))) => {
                this.end();
                Poll::Ready(Some(Ok(Frame::trailers(
                    crate::error::broken_stream_trailers(&why),
                ))))
            }
            Poll::Ready(None) => {
                this.end();
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Upstream(b) => b.is_end_stream(),
            Kind::Local(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Upstream(b) => b.size_hint(),
            Kind::Local(b) => b.size_hint(),
        }
    }
}

//! The service each client connection runs: the one place the gateway's
//! stack is put together.

use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use concord_kit::metrics::{GrpcMetricsLayer, GrpcMetricsService, MeteredBody};
use futures::TryFutureExt as _;
use futures::future::{Either, MapOk};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tower::Layer as _;

use crate::BoxError;
use crate::body::GatewayBody;
use crate::router::{Dispatch, Gateway};

type Metered = GrpcMetricsService<Dispatch>;
type MeteredResponse = http::Response<MeteredBody<GatewayBody>>;
type MeteredFuture = <Metered as tower::Service<http::Request<Incoming>>>::Future;

/// The stack for one client connection.
#[derive(Clone)]
pub(crate) struct ConnectionService {
    grpc: Metered,
}

impl ConnectionService {
    pub(crate) fn new(gateway: Arc<Gateway>, peer: IpAddr) -> Self {
        // Count every call with the grpc_server_* metrics, refusals included;
        // inside it, `Dispatch` resolves, authenticates, authorizes,
        // rate-limits, applies the in-flight limit and forwards (router.rs).
        let grpc = GrpcMetricsLayer::gateway().layer(Dispatch { gateway, peer });
        Self { grpc }
    }
}

impl hyper::service::Service<http::Request<Incoming>> for ConnectionService {
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = Either<
        MapOk<MeteredFuture, fn(MeteredResponse) -> http::Response<ResponseBody>>,
        MapOk<
            crate::web::WebFuture,
            fn(http::Response<tonic::body::Body>) -> http::Response<ResponseBody>,
        >,
    >;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        if crate::web::wants(&req) {
            // grpc-web and CORS (web.rs) around the same metered gRPC path.
            let web: fn(_) -> _ =
                |res: http::Response<tonic::body::Body>| res.map(ResponseBody::Web);
            Either::Right(crate::web::call(self.grpc.clone(), req).map_ok(web))
        } else {
            let grpc: fn(_) -> _ = |res: MeteredResponse| res.map(ResponseBody::Grpc);
            Either::Left(tower::Service::call(&mut self.grpc.clone(), req).map_ok(grpc))
        }
    }
}

/// What a client connection sends back.
pub(crate) enum ResponseBody {
    Grpc(MeteredBody<GatewayBody>),
    Web(tonic::body::Body),
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            ResponseBody::Grpc(b) => Pin::new(b).poll_frame(cx).map_err(|e| match e {}),
            ResponseBody::Web(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Grpc(b) => b.is_end_stream(),
            ResponseBody::Web(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Grpc(b) => b.size_hint(),
            ResponseBody::Web(b) => b.size_hint(),
        }
    }
}

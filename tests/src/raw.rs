//! Calls by path with message bytes as they go on the wire: for checks that
//! run over every RPC of the contracts without naming its types (the
//! authorization matrix, input hardening), and for bytes no generated client
//! would send (malformed protobuf).

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::Authed;

/// Passes message bytes through untouched, both ways.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// How a call by path ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A unary answer, or a stream that opened (its first message, if one
    /// came within the wait).
    Ok(Option<Bytes>),
    Err(Status),
}

impl Outcome {
    /// The gRPC code, `Ok` for a success.
    pub fn code(&self) -> tonic::Code {
        match self {
            Outcome::Ok(_) => tonic::Code::Ok,
            Outcome::Err(s) => s.code(),
        }
    }

    pub fn status(&self) -> Option<&Status> {
        match self {
            Outcome::Ok(_) => None,
            Outcome::Err(s) => Some(s),
        }
    }
}

/// Calls the method at `path` (unary or server-streaming, from the policy
/// table) with `body` as the request message, under `deadline`. A stream
/// counts as answered once it opened; its first message is awaited briefly.
pub async fn call(
    channel: Authed,
    method: &concord_proto::policy_table::MethodInfo,
    body: Bytes,
    deadline: Duration,
) -> Outcome {
    use concord_proto::policy_table::MethodKind;
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024);
    if let Err(e) = grpc.ready().await {
        return Outcome::Err(Status::unavailable(format!("not ready: {e}")));
    }
    let path = http::uri::PathAndQuery::from_static(method.path);
    let mut request = tonic::Request::new(body);
    request.set_timeout(deadline);
    match method.kind {
        MethodKind::Unary => match grpc.unary(request, path, RawCodec).await {
            Ok(r) => Outcome::Ok(Some(r.into_inner())),
            Err(s) => Outcome::Err(s),
        },
        MethodKind::ServerStream => {
            match grpc.server_streaming(request, path, RawCodec).await {
                Ok(r) => {
                    let mut stream = r.into_inner();
                    // Opened: a first message is a bonus, an early status
                    // counts as the answer.
                    match tokio::time::timeout(Duration::from_millis(200), stream.message()).await {
                        Ok(Ok(first)) => Outcome::Ok(first),
                        Ok(Err(s)) => Outcome::Err(s),
                        Err(_) => Outcome::Ok(None),
                    }
                }
                Err(s) => Outcome::Err(s),
            }
        }
        // No contract streams requests; should one appear, say so.
        MethodKind::ClientStream | MethodKind::BidiStream => Outcome::Err(Status::unimplemented(
            "client streams are not exercised by these tests",
        )),
    }
}

/// A unary call over a bare HTTP/2 connection to `addr`, with the
/// `grpc-timeout` header but no deadline kept by the client itself (tonic's
/// channel enforces the header locally and answers CANCELLED first): what
/// the server alone answers, and when. Waits at most `give_up`.
pub async fn bare_unary(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
    message: Bytes,
    grpc_timeout: Option<Duration>,
    give_up: Duration,
) -> Result<(tonic::Code, String), &'static str> {
    use http_body_util::{BodyExt, Full};
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|_| "connect")?;
        let (mut sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .map_err(|_| "handshake")?;
        tokio::spawn(conn);
        let mut framed = Vec::with_capacity(message.len() + 5);
        framed.push(0);
        framed.extend_from_slice(
            &u32::try_from(message.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        framed.extend_from_slice(&message);
        let mut req = http::Request::post(format!("http://{addr}{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(d) = grpc_timeout {
            req = req.header("grpc-timeout", format!("{}m", d.as_millis().max(1)));
        }
        let req = req
            .body(Full::new(Bytes::from(framed)))
            .map_err(|_| "request")?;
        let res = sender.send_request(req).await.map_err(|_| "send")?;
        let (parts, body) = res.into_parts();
        let collected = body.collect().await.map_err(|_| "body")?;
        let trailers = collected.trailers().cloned().unwrap_or_default();
        let status = tonic::Status::from_header_map(&trailers)
            .or_else(|| tonic::Status::from_header_map(&parts.headers))
            .ok_or("no grpc-status")?;
        Ok((status.code(), status.message().to_string()))
    };
    tokio::time::timeout(give_up, exchange)
        .await
        .map_err(|_| "no answer in time")?
}

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

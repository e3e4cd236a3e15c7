//! A lean HTTP/2 client for tonic's generated clients: one hyper
//! connection, no `tower::buffer` task in between (tonic's `Channel` adds
//! one hop per call, which would load the 2 cores the servers share and
//! flatter every proxy's ratio). Like h2load, it only sends and receives.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyhow::Context as _;

/// One HTTP/2 connection as a tower service.
#[derive(Debug, Clone)]
pub struct H2 {
    sender: hyper::client::conn::http2::SendRequest<tonic::body::Body>,
}

impl H2 {
    /// Connects to `addr` (plaintext HTTP/2, TCP_NODELAY). The connection
    /// task runs on the current runtime.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) =
            hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .initial_stream_window_size(1 << 20)
                .initial_connection_window_size(4 << 20)
                .handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .with_context(|| format!("HTTP/2 handshake with {addr}"))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "benchmark connection closed");
            }
        });
        Ok(Self { sender })
    }

    /// `n` connections to `addr`.
    pub async fn connect_many(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Self>> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(Self::connect(addr).await?);
        }
        Ok(out)
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for H2 {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.sender.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        // Generated clients send a path only; HTTP/2 needs scheme and authority.
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        match format!("http://concord{path}").parse() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(e) => tracing::warn!(error = %e, "unusable request path"),
        }
        Box::pin(self.sender.send_request(req))
    }
}

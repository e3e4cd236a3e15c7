//! Accepting connections: TLS when configured, HTTP/2 (and HTTP/1.1 for
//! grpc-web) through hyper's auto builder, and a graceful drain on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::router::Gateway;
use crate::service::ConnectionService;

/// Time a client gets to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection settings shared by every client connection.
pub(crate) fn builder(max_concurrent_streams: u32) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(max_concurrent_streams)
        // Detect dead clients on idle connections.
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    builder
        .http1()
        .timer(TokioTimer::new())
        // A slow client may not hold a connection open without a request.
        .header_read_timeout(Some(Duration::from_secs(30)));
    builder
}

/// Accepts until `shutdown`, then lets the open connections finish their
/// calls for up to `grace` and closes what is left.
pub(crate) async fn run(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    tls: Option<TlsAcceptor>,
    builder: auto::Builder<TokioExecutor>,
    grace: Duration,
    shutdown: CancellationToken,
) {
    let builder = Arc::new(builder);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let conn = serve(stream, peer, builder.clone(), tls.clone(), gateway.clone(), shutdown.clone());
                    connections.spawn(conn);
                }
                Err(e) => {
                    // Out of file descriptors, most likely: wait a little.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    let open = connections.len();
    tracing::info!(
        connections = open,
        calls = gateway.in_flight(),
        "gateway draining"
    );
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            ?grace,
            left = connections.len(),
            "calls still running after the grace period; closing them"
        );
        connections.shutdown().await;
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    builder: Arc<auto::Builder<TokioExecutor>>,
    tls: Option<TlsAcceptor>,
    gateway: Arc<Gateway>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let service = ConnectionService::new(gateway, peer.ip());
    match tls {
        None => drive(TokioIo::new(stream), &builder, service, &shutdown).await,
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => drive(TokioIo::new(stream), &builder, service, &shutdown).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

/// Serves one connection; on shutdown asks it to finish (HTTP/2 GOAWAY) and
/// waits for its calls.
async fn drive<I>(
    io: I,
    builder: &auto::Builder<TokioExecutor>,
    service: ConnectionService,
    shutdown: &CancellationToken,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "client connection ended with an error");
            }
            return;
        }
        _ = shutdown.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

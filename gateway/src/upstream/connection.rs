//! Keeping one connection slot of a pool connected: connect with a
//! timeout, drive the HTTP/2 connection, and reconnect with backoff (cut
//! short when a call asks for the connection).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::uri::Authority;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use super::{RemotePool, lock};
use crate::body::RequestBody;

/// The shortest pause between two connection attempts to one upstream.
pub(super) const MIN_GAP: Duration = Duration::from_millis(50);
/// The longest pause between attempts while an upstream stays down.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Keeps slot `index` connected until the pool stops.
pub(super) async fn maintain(pool: Arc<RemotePool>, index: usize) {
    let stop = pool.stop.clone();
    let slot = &pool.slots[index];
    let mut backoff = MIN_GAP;
    let mut failures = 0u32;
    loop {
        let attempted = Instant::now();
        let connecting = tokio::time::timeout(pool.connect_timeout, connect(&pool.authority));
        let outcome = tokio::select! {
            _ = stop.cancelled() => return,
            r = connecting => r,
        };
        match outcome {
            Ok(Ok((sender, conn))) => {
                if failures > 0 {
                    tracing::info!(upstream = %pool.service, addr = %pool.authority, "upstream connected");
                }
                failures = 0;
                backoff = MIN_GAP;
                slot.limit.store(usize::MAX, Ordering::Relaxed);
                *lock(&slot.sender) = Some(sender);
                pool.changed.notify_waiters();
                tokio::pin!(conn);
                // Drive the connection, keeping its stream limit current
                // (the upstream's SETTINGS may change it at any time).
                let driving = std::future::poll_fn(|cx| {
                    let polled = conn.as_mut().poll(cx);
                    slot.limit
                        .store(conn.current_max_send_streams(), Ordering::Relaxed);
                    polled
                });
                tokio::select! {
                    _ = stop.cancelled() => return,
                    r = driving => if let Err(e) = r {
                        tracing::debug!(upstream = %pool.service, error = %e, "upstream connection ended");
                    },
                }
                *lock(&slot.sender) = None;
                pool.changed.notify_waiters();
                continue;
            }
            Ok(Err(e)) => note_failure(&pool, &mut failures, &e.to_string()),
            Err(_) => note_failure(&pool, &mut failures, "connect timed out"),
        }
        // Wait out the backoff, or less when a call asks for the connection.
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until((attempted + backoff).into()) => {}
            _ = slot.wake.notified() => tokio::time::sleep_until((attempted + MIN_GAP).into()).await,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn note_failure(pool: &RemotePool, failures: &mut u32, why: &str) {
    *failures += 1;
    // The first failure and then one in a hundred, not one line per attempt.
    if *failures == 1 || failures.is_multiple_of(100) {
        tracing::warn!(upstream = %pool.service, addr = %pool.authority, error = why, failures = *failures, "cannot connect to upstream");
    }
}

type Connection = http2::Connection<TokioIo<tokio::net::TcpStream>, RequestBody, TokioExecutor>;

async fn connect(authority: &Authority) -> anyhow::Result<(SendRequest<RequestBody>, Connection)> {
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((authority.host(), port)).await?;
    stream.set_nodelay(true)?;
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        // Find a dead upstream on an idle connection before a call does.
        .keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    Ok(builder.handshake(TokioIo::new(stream)).await?)
}

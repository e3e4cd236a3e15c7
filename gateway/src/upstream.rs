//! Remote upstreams: a few HTTP/2 connections per upstream, each a hyper
//! `SendRequest` used under a short lock (no clone, no buffer task per
//! call), reconnected in the background when it dies. A call never waits for
//! a connection: with none ready it fails UNAVAILABLE at once and wakes the
//! reconnect.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::uri::{Authority, PathAndQuery, Scheme};
use hyper::body::Incoming;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::body::RequestBody;
use crate::error::Refusal;

/// The shortest pause between two connection attempts to one upstream.
const MIN_GAP: Duration = Duration::from_millis(50);
/// The longest pause between attempts while an upstream stays down.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// One connection slot: the sender while connected.
#[derive(Debug, Default)]
struct Slot {
    sender: Mutex<Option<SendRequest<RequestBody>>>,
    wake: Notify,
}

/// The connections to one remote upstream.
#[derive(Debug)]
pub(crate) struct RemotePool {
    pub(crate) service: Arc<str>,
    scheme: Scheme,
    authority: Authority,
    slots: Box<[Slot]>,
    next: AtomicUsize,
    connect_timeout: Duration,
    /// Signalled whenever a connection comes up or goes down.
    pub(crate) changed: Notify,
    latency: prometheus::Histogram,
}

impl RemotePool {
    /// Starts `connections` background connection tasks to `uri`, stopped by `stop`.
    pub(crate) fn start(
        service: &str,
        uri: &http::Uri,
        connections: usize,
        connect_timeout: Duration,
        stop: &CancellationToken,
    ) -> Arc<Self> {
        let pool = Arc::new(Self {
            service: service.into(),
            scheme: uri.scheme().cloned().unwrap_or(Scheme::HTTP),
            authority: uri
                .authority()
                .cloned()
                .expect("validated: remote upstreams have an authority"),
            slots: (0..connections).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
            connect_timeout,
            changed: Notify::new(),
            latency: crate::metrics::upstream_seconds(service),
        });
        for index in 0..connections {
            tokio::spawn(maintain(pool.clone(), index, stop.clone()));
        }
        pool
    }

    /// Whether any connection is up.
    pub(crate) fn connected(&self) -> bool {
        self.slots
            .iter()
            .any(|s| lock(&s.sender).as_ref().is_some_and(|s| !s.is_closed()))
    }

    /// Sends `req`; on a connection failure sends `replay` (a copy of a safe
    /// read) once on another connection. A request hyper hands back unsent
    /// goes to the next connection whatever it is, since it never left.
    pub(crate) async fn send(
        &self,
        mut req: http::Request<RequestBody>,
        mut replay: Option<http::Request<RequestBody>>,
    ) -> Result<http::Response<Incoming>, Refusal> {
        let started = Instant::now();
        self.point_at_upstream(&mut req);
        if let Some(r) = replay.as_mut() {
            self.point_at_upstream(r);
        }
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last_error = String::from("no connection (reconnecting)");
        let mut pending = Some(req);
        for attempt in 0..=self.slots.len() {
            let Some(req) = pending.take().or_else(|| replay.take()) else {
                break;
            };
            let slot = &self.slots[(first + attempt) % self.slots.len()];
            let sent = {
                let mut sender = lock(&slot.sender);
                match sender.as_mut() {
                    Some(s) if !s.is_closed() => Some(s.try_send_request(req)),
                    _ => {
                        slot.wake.notify_one();
                        pending = Some(req);
                        None
                    }
                }
            };
            let Some(sent) = sent else { continue };
            match sent.await {
                Ok(res) => {
                    self.latency.observe(started.elapsed().as_secs_f64());
                    return Ok(res);
                }
                Err(mut e) => {
                    last_error = e.error().to_string();
                    pending = e.take_message();
                    slot.wake.notify_one();
                    tracing::debug!(upstream = %self.service, error = %last_error, unsent = pending.is_some(), "upstream send failed");
                }
            }
        }
        Err(Refusal::Unavailable {
            service: self.service.to_string(),
            why: last_error,
        })
    }

    /// Rewrites the request's URI to this upstream, keeping the path.
    fn point_at_upstream(&self, req: &mut http::Request<RequestBody>) {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = req
            .uri()
            .path_and_query()
            .cloned()
            .or(Some(PathAndQuery::from_static("/")));
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
        *req.version_mut() = http::Version::HTTP_2;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keeps slot `index` connected until `stop`.
async fn maintain(pool: Arc<RemotePool>, index: usize, stop: CancellationToken) {
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
                *lock(&slot.sender) = Some(sender);
                pool.changed.notify_waiters();
                tokio::select! {
                    _ = stop.cancelled() => return,
                    r = conn => if let Err(e) = r {
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

/// A tower service over a pool, so generated tonic clients (the health
/// checker) can call the upstream through the gateway's own connections.
#[derive(Debug, Clone)]
pub(crate) struct PoolChannel(pub(crate) Arc<RemotePool>);

impl tower::Service<http::Request<tonic::body::Body>> for PoolChannel {
    type Response = http::Response<Incoming>;
    type Error = Refusal;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Refusal>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Refusal>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let pool = self.0.clone();
        Box::pin(async move { pool.send(req.map(RequestBody::Tonic), None).await })
    }
}

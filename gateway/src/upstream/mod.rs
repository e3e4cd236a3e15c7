//! Remote upstreams: HTTP/2 connections per upstream, each a hyper
//! `SendRequest` used under a short lock (no clone, no buffer task per
//! call), reconnected in the background when it dies. A call never waits for
//! a reconnect: with no connection up it fails UNAVAILABLE at once and wakes
//! the reconnect. Open streams are counted per connection; when every
//! connection is at the upstream's concurrent-stream limit (long-lived
//! watchers, a burst) another connection is opened, up to a maximum.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::uri::{Authority, PathAndQuery, Scheme};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::body::RequestBody;
use crate::error::Refusal;

mod connection;
use connection::maintain;

/// One connection slot: the sender while connected, and its open streams.
#[derive(Debug)]
struct Slot {
    sender: Mutex<Option<SendRequest<RequestBody>>>,
    wake: Notify,
    streams: AtomicUsize,
    /// The upstream's concurrent-stream limit, kept current by the
    /// connection's task.
    limit: AtomicUsize,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            sender: Mutex::default(),
            wake: Notify::new(),
            streams: AtomicUsize::new(0),
            limit: AtomicUsize::new(usize::MAX),
        }
    }
}

/// The connections to one remote upstream.
#[derive(Debug)]
pub(crate) struct RemotePool {
    pub(crate) service: Arc<str>,
    scheme: Scheme,
    authority: Authority,
    /// Up to the maximum; the first `live` are maintained.
    slots: Box<[Slot]>,
    live: AtomicUsize,
    next: AtomicUsize,
    connect_timeout: Duration,
    /// Signalled whenever a connection comes up or goes down.
    pub(crate) changed: Notify,
    latency: prometheus::Histogram,
    stop: CancellationToken,
}

/// One stream open on a connection; counted until dropped.
#[derive(Debug)]
pub(crate) struct OpenStream {
    pool: Arc<RemotePool>,
    index: usize,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.pool.slots[self.index]
            .streams
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Which connection a call should use.
enum Choice {
    Ready(usize),
    /// All up connections are at the stream limit; the least loaded, and
    /// whether another is already connecting.
    Full {
        least: usize,
        connecting: bool,
    },
    Down,
}

impl RemotePool {
    /// Keeps `min` connections to `uri` (more on demand, up to `max`) until `stop`.
    pub(crate) fn start(
        service: &str,
        uri: &http::Uri,
        (min, max): (usize, usize),
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
            slots: (0..max.max(min)).map(|_| Slot::default()).collect(),
            live: AtomicUsize::new(min),
            next: AtomicUsize::new(0),
            connect_timeout,
            changed: Notify::new(),
            latency: crate::metrics::upstream_seconds(service),
            stop: stop.clone(),
        });
        for index in 0..min {
            tokio::spawn(maintain(pool.clone(), index));
        }
        pool
    }

    /// Whether any connection is up.
    pub(crate) fn connected(&self) -> bool {
        self.slots[..self.live.load(Ordering::Acquire)]
            .iter()
            .any(is_up)
    }

    /// Sends `req`; on a connection failure sends `replay` (a copy of a safe
    /// read) once on another connection. A request hyper hands back unsent
    /// goes to the next connection whatever it is, since it never left.
    pub(crate) async fn send(
        self: &Arc<Self>,
        mut req: http::Request<RequestBody>,
        mut replay: Option<http::Request<RequestBody>>,
    ) -> Result<(http::Response<Incoming>, OpenStream), Refusal> {
        let started = Instant::now();
        self.point_at_upstream(&mut req);
        if let Some(r) = replay.as_mut() {
            self.point_at_upstream(r);
        }
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last_error = String::from("no connection (reconnecting)");
        let mut pending = Some(req);
        let (mut avoid, mut failed) = (None, false);
        for attempt in 0..=self.slots.len() {
            let Some(req) = pending.take().or_else(|| replay.take()) else {
                break;
            };
            let index = match self.choose(first + attempt, avoid) {
                Choice::Ready(i) => i,
                Choice::Full { least, connecting } => {
                    self.make_room(first + attempt, avoid, least, connecting)
                        .await
                }
                // A call after a connection failure may wait for the
                // reconnect; a first attempt fails fast.
                Choice::Down if failed => match self.reconnected(first + attempt).await {
                    Some(i) => i,
                    None => break,
                },
                Choice::Down => break,
            };
            let slot = &self.slots[index];
            slot.streams.fetch_add(1, Ordering::Relaxed);
            let stream = OpenStream {
                pool: self.clone(),
                index,
            };
            let sent = match lock(&slot.sender).as_mut() {
                Some(sender) => sender.try_send_request(req),
                None => {
                    pending = Some(req);
                    avoid = Some(index);
                    continue;
                }
            };
            match sent.await {
                Ok(res) => {
                    self.latency.observe(started.elapsed().as_secs_f64());
                    return Ok((res, stream));
                }
                Err(mut e) => {
                    failed = true;
                    last_error = e.error().to_string();
                    pending = e.take_message();
                    avoid = Some(index);
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

    /// The first up connection below its stream limit, starting at `start`.
    fn choose(&self, start: usize, avoid: Option<usize>) -> Choice {
        let live = self.live.load(Ordering::Acquire);
        let (mut least, mut connecting) = (None::<(usize, usize)>, false);
        for i in 0..live {
            let index = (start + i) % live;
            if avoid == Some(index) && live > 1 {
                continue;
            }
            let slot = &self.slots[index];
            if !is_up(slot) {
                slot.wake.notify_one();
                connecting = true;
                continue;
            }
            let open = slot.streams.load(Ordering::Relaxed);
            if open < slot.limit.load(Ordering::Relaxed) {
                return Choice::Ready(index);
            }
            if least.is_none_or(|(_, n)| open < n) {
                least = Some((index, open));
            }
        }
        match least {
            Some((least, _)) => Choice::Full { least, connecting },
            None => Choice::Down,
        }
    }

    /// Every connection is full: opens another (unless one is connecting
    /// already or the maximum is reached) and waits for it up to the connect
    /// timeout; else the call queues on the least loaded connection.
    async fn make_room(
        self: &Arc<Self>,
        start: usize,
        avoid: Option<usize>,
        least: usize,
        connecting: bool,
    ) -> usize {
        let changed = self.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if !connecting && !self.grow() {
            return least;
        }
        let _ = tokio::time::timeout(self.connect_timeout, changed).await;
        match self.choose(start, avoid) {
            Choice::Ready(i) => i,
            _ => least,
        }
    }

    /// Waits up to the connect timeout for a connection to come up.
    async fn reconnected(&self, start: usize) -> Option<usize> {
        let changed = self.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if let Choice::Down = self.choose(start, None) {
            let _ = tokio::time::timeout(self.connect_timeout, changed).await;
        }
        match self.choose(start, None) {
            Choice::Ready(i) | Choice::Full { least: i, .. } => Some(i),
            Choice::Down => None,
        }
    }

    /// Starts maintaining one more connection, if below the maximum.
    fn grow(self: &Arc<Self>) -> bool {
        let live = self.live.load(Ordering::Acquire);
        if live >= self.slots.len()
            || self
                .live
                .compare_exchange(live, live + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return false;
        }
        tracing::info!(upstream = %self.service, connections = live + 1, "every upstream connection is at its stream limit; opening another");
        tokio::spawn(maintain(self.clone(), live));
        true
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

fn is_up(slot: &Slot) -> bool {
    lock(&slot.sender).as_ref().is_some_and(|s| !s.is_closed())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        Box::pin(async move { Ok(pool.send(req.map(RequestBody::Tonic), None).await?.0) })
    }
}

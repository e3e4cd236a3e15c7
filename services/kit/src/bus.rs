//! The event bus: publish and subscribe bytes on a topic. Redis pub/sub
//! carries events between replicas; an in-process bus serves the embedded
//! default. Pub/sub is at-most-once, so subscribers are told when they may
//! have missed something ([`Delivery::Gap`]) and re-read the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Message(Bytes),
    /// Messages may have been lost (a reconnect, or this subscriber fell
    /// behind): re-read what matters from the database.
    Gap,
}

/// A subscription to one topic.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Delivery>,
}

impl Subscription {
    /// The next delivery; `None` once the bus is gone.
    pub async fn recv(&mut self) -> Option<Delivery> {
        match self.rx.recv().await {
            Ok(d) => Some(d),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Delivery::Gap),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("bus unavailable: {0}")]
pub struct BusError(String);

impl BusError {
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

/// Publish / subscribe on topics.
#[async_trait::async_trait]
pub trait Bus: Send + Sync + std::fmt::Debug + 'static {
    /// Sends to every current subscriber of `topic`, on every replica.
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), BusError>;
    /// Receives what is published on `topic` from now on.
    fn subscribe(&self, topic: &str) -> Subscription;
}

/// A shared handle to the bus in use.
pub type SharedBus = Arc<dyn Bus>;

/// Local fan-out, shared by both implementations.
#[derive(Debug, Default)]
struct Topics {
    senders: Mutex<HashMap<String, broadcast::Sender<Delivery>>>,
}

const TOPIC_CAPACITY: usize = 1024;

impl Topics {
    fn subscribe(&self, topic: &str) -> Subscription {
        let mut senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        let tx = senders
            .entry(topic.to_string())
            .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0);
        Subscription { rx: tx.subscribe() }
    }

    fn deliver(&self, topic: &str, d: Delivery) {
        let mut senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = senders.get(topic)
            && tx.send(d).is_err()
        {
            // Nobody listens any more.
            senders.remove(topic);
        }
    }

    fn gap_everywhere(&self) {
        let senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        for tx in senders.values() {
            let _ = tx.send(Delivery::Gap);
        }
    }
}

/// The bus of the embedded default: one process, no network.
#[derive(Debug, Default)]
pub struct InProcessBus {
    topics: Topics,
}

impl InProcessBus {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
}

#[async_trait::async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), BusError> {
        self.topics.deliver(topic, Delivery::Message(payload));
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        self.topics.subscribe(topic)
    }
}

/// Redis pub/sub. Publishing goes through a connection manager that
/// reconnects by itself; one pattern subscription per process receives every
/// topic under the prefix and fans out locally, and is re-established with
/// backoff whenever the connection drops.
#[derive(Debug)]
pub struct RedisBus {
    prefix: String,
    publisher: redis::aio::ConnectionManager,
    topics: Arc<Topics>,
    stop: CancellationToken,
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl RedisBus {
    /// Connects to `url`; channels are named `prefix` + topic. Fails when
    /// Redis cannot be reached at start (a wrong `REDIS_URL` should stop the
    /// process), and rides out disconnections afterwards.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let publisher = tokio::time::timeout(
            Duration::from_secs(5),
            redis::aio::ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("timed out connecting to Redis"))??;
        let topics = Arc::new(Topics::default());
        let stop = CancellationToken::new();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(subscriber_loop(
            client,
            prefix.to_string(),
            topics.clone(),
            stop.clone(),
            ready_tx,
        ));
        // Wait until the first subscription is live, so nothing published
        // after `connect` returns is missed.
        let _ = tokio::time::timeout(Duration::from_secs(5), ready_rx).await;
        Ok(Arc::new(Self {
            prefix: prefix.to_string(),
            publisher,
            topics,
            stop,
        }))
    }
}

async fn subscriber_loop(
    client: redis::Client,
    prefix: String,
    topics: Arc<Topics>,
    stop: CancellationToken,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    let pattern = format!("{prefix}*");
    loop {
        let session = async {
            let pubsub = client.get_async_pubsub().await?;
            let (mut sink, mut stream) = pubsub.split();
            sink.psubscribe(&pattern).await?;
            Ok::<_, redis::RedisError>((sink, stream_next_fn(&mut stream).await, stream))
        };
        let attempt = tokio::select! {
            _ = stop.cancelled() => return,
            r = tokio::time::timeout(Duration::from_secs(5), session) => r,
        };
        match attempt {
            Ok(Ok((mut sink, first, mut stream))) => {
                tracing::info!("redis bus subscribed");
                backoff = Duration::from_millis(100);
                if let Some(tx) = ready.take() {
                    let _ = tx.send(());
                }
                // Whatever was published while we were away is gone: tell
                // every subscriber to catch up from the database.
                topics.gap_everywhere();
                if let Some(msg) = first {
                    deliver(&topics, &prefix, &msg);
                }
                let mut keepalive = tokio::time::interval(Duration::from_secs(10));
                keepalive.tick().await;
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        msg = stream.next() => match msg {
                            Some(msg) => deliver(&topics, &prefix, &msg),
                            None => break,
                        },
                        _ = keepalive.tick() => {
                            let ping = tokio::time::timeout(Duration::from_secs(3), sink.ping::<String>()).await;
                            if !matches!(ping, Ok(Ok(_))) {
                                break;
                            }
                        }
                    }
                }
                tracing::warn!("redis bus connection lost; reconnecting");
                topics.gap_everywhere();
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "redis bus cannot subscribe")
            }
            Err(_) => tracing::warn!(retry_in = ?backoff, "redis bus subscribe timed out"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Polls the stream once without waiting, so the subscription is confirmed
/// before `connect` returns.
async fn stream_next_fn(stream: &mut redis::aio::PubSubStream) -> Option<redis::Msg> {
    futures::FutureExt::now_or_never(stream.next()).flatten()
}

fn deliver(topics: &Topics, prefix: &str, msg: &redis::Msg) {
    if let Some(topic) = msg.get_channel_name().strip_prefix(prefix) {
        topics.deliver(
            topic,
            Delivery::Message(Bytes::copy_from_slice(msg.get_payload_bytes())),
        );
    }
}

#[async_trait::async_trait]
impl Bus for RedisBus {
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), BusError> {
        let mut conn = self.publisher.clone();
        let channel = format!("{}{}", self.prefix, topic);
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload.as_ref())
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| BusError(e.to_string()))
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        self.topics.subscribe(topic)
    }
}

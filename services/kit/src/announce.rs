//! Announcements after a commit: "these people have something new; look in
//! the database". The message carries no content, only who should look, so
//! a lost message costs latency (the streams' poll and the bus's gap notice
//! cover it), never data.
//!
//! Publishing runs in one background task that coalesces announcements, so
//! a slow or absent Redis never delays the request that committed, and a
//! burst of writes makes few messages.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bus::SharedBus;

/// Above this many keys one message says "everybody, look".
const NAMED_MAX: usize = 2000;

/// How long one publish may take before it is given up.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize, Deserialize)]
struct Ring {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    keys: Vec<String>,
}

/// Announces on one topic. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Announcer {
    tx: mpsc::UnboundedSender<Vec<String>>,
}

impl Announcer {
    /// Starts the publishing task for `topic`; it ends at `shutdown`.
    pub fn spawn(bus: SharedBus, topic: &str, shutdown: CancellationToken) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(publish_loop(bus, topic.to_string(), rx, shutdown));
        Self { tx }
    }

    /// Announces something new for `keys` (person ids, usually). Call after
    /// the commit.
    pub fn ring(&self, keys: Vec<String>) {
        if !keys.is_empty() && self.tx.send(keys).is_err() {
            tracing::debug!("announcer stopped; streams will find the rows by polling");
        }
    }

    /// Announces something new for everybody.
    pub fn ring_all(&self) {
        self.ring(vec!["*".to_string()]);
    }
}

async fn publish_loop(
    bus: SharedBus,
    topic: String,
    mut rx: mpsc::UnboundedReceiver<Vec<String>>,
    shutdown: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = rx.recv() => match r {
                Some(k) => k,
                None => return,
            },
        };
        let mut keys: BTreeSet<String> = first.into_iter().collect();
        while let Ok(more) = rx.try_recv() {
            keys.extend(more);
        }
        let ring = if keys.len() > NAMED_MAX || keys.contains("*") {
            Ring {
                all: true,
                keys: vec![],
            }
        } else {
            Ring {
                all: false,
                keys: keys.into_iter().collect(),
            }
        };
        let payload = Bytes::from(serde_json::to_vec(&ring).unwrap_or_default());
        match tokio::time::timeout(PUBLISH_TIMEOUT, bus.publish(&topic, payload)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(topic = %topic, error = %e, "announcement not published; streams will poll")
            }
            Err(_) => tracing::warn!(topic = %topic, "announcement timed out; streams will poll"),
        }
    }
}

/// Whether an announcement may concern `key`. Anything unreadable counts as
/// "look".
pub fn concerns(payload: &[u8], key: &str) -> bool {
    match serde_json::from_slice::<Ring>(payload) {
        Ok(r) => r.all || r.keys.iter().any(|k| k == key),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{Delivery, InProcessBus};

    #[tokio::test]
    async fn announcements_name_keys_or_everybody() {
        let bus = InProcessBus::new();
        let mut sub = crate::bus::Bus::subscribe(bus.as_ref(), "t");
        let announcer = Announcer::spawn(bus.clone(), "t", CancellationToken::new());
        announcer.ring(vec!["a".into(), "b".into()]);
        let Some(Delivery::Message(m)) = sub.recv().await else {
            panic!("no message")
        };
        assert!(concerns(&m, "a") && concerns(&m, "b") && !concerns(&m, "c"));
        announcer.ring_all();
        let Some(Delivery::Message(m)) = sub.recv().await else {
            panic!("no message")
        };
        assert!(concerns(&m, "anyone"));
        assert!(concerns(b"garbage", "x"));
    }
}

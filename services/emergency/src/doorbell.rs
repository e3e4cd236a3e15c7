//! The doorbell: after an alert is committed, the people it reached are
//! announced on the bus so every replica's streams read the database at
//! once. The message carries no alert, only who should look; a lost message
//! costs latency (the streams' poll and the bus's gap notice cover it), never
//! an alert.
//!
//! Publishing runs in one background task that coalesces announcements, so a
//! slow or absent Redis never delays a declaration and a burst of alerts
//! makes few messages.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use concord_kit::bus::SharedBus;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The bus topic of alert announcements.
pub const TOPIC: &str = "emergency.alerts";

/// Above this many people one message says "everybody, look".
const NAMED_MAX: usize = 2000;

/// How long one publish may take before it is given up (the database has
/// the alert; the streams' poll will find it).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize, Deserialize)]
struct Ring {
    /// Everybody should look.
    #[serde(default)]
    all: bool,
    #[serde(default)]
    people: Vec<String>,
}

/// Rings for people whose alerts were committed.
#[derive(Debug, Clone)]
pub struct Doorbell {
    tx: mpsc::UnboundedSender<Vec<String>>,
}

impl Doorbell {
    /// Starts the publishing task; it ends at `shutdown`.
    pub fn spawn(bus: SharedBus, shutdown: CancellationToken) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(publish_loop(bus, rx, shutdown));
        Self { tx }
    }

    /// Announces new alerts for `people`. Call after the commit.
    pub fn ring(&self, people: Vec<String>) {
        if !people.is_empty() && self.tx.send(people).is_err() {
            tracing::debug!("doorbell stopped; streams will find the alerts by polling");
        }
    }
}

async fn publish_loop(
    bus: SharedBus,
    mut rx: mpsc::UnboundedReceiver<Vec<String>>,
    shutdown: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = rx.recv() => match r {
                Some(p) => p,
                None => return,
            },
        };
        let mut people: BTreeSet<String> = first.into_iter().collect();
        while let Ok(more) = rx.try_recv() {
            people.extend(more);
        }
        let ring = if people.len() > NAMED_MAX {
            Ring {
                all: true,
                people: vec![],
            }
        } else {
            Ring {
                all: false,
                people: people.into_iter().collect(),
            }
        };
        let payload = Bytes::from(serde_json::to_vec(&ring).unwrap_or_default());
        match tokio::time::timeout(PUBLISH_TIMEOUT, bus.publish(TOPIC, payload)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "alert announcement not published; streams will poll")
            }
            Err(_) => tracing::warn!("alert announcement timed out; streams will poll"),
        }
    }
}

/// Whether an announcement may concern `person_id`. Anything unreadable
/// counts as "look".
pub fn concerns(payload: &[u8], person_id: &str) -> bool {
    match serde_json::from_slice::<Ring>(payload) {
        Ok(r) => r.all || r.people.iter().any(|p| p == person_id),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_name_people_or_everybody() {
        let named = serde_json::to_vec(&Ring {
            all: false,
            people: vec!["a".into(), "b".into()],
        })
        .unwrap();
        assert!(concerns(&named, "a"));
        assert!(!concerns(&named, "c"));
        let all = serde_json::to_vec(&Ring {
            all: true,
            people: vec![],
        })
        .unwrap();
        assert!(concerns(&all, "c"));
        assert!(concerns(b"garbage", "c"));
    }

    #[tokio::test]
    async fn rings_are_published_on_the_bus() {
        let bus: SharedBus = concord_kit::bus::InProcessBus::new();
        let mut sub = bus.subscribe(TOPIC);
        let bell = Doorbell::spawn(bus.clone(), CancellationToken::new());
        bell.ring(vec!["张三".into()]);
        let got = tokio::time::timeout(Duration::from_secs(2), sub.recv())
            .await
            .unwrap()
            .unwrap();
        let concord_kit::bus::Delivery::Message(m) = got else {
            panic!("gap")
        };
        assert!(concerns(&m, "张三"));
    }
}

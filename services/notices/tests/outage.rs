//! The event bus losing every message (as Redis pub/sub does while a
//! subscriber is disconnected): publishing still succeeds, and watchers still
//! get every event from the database, through their poll or when they
//! reconnect with their cursor.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use concord_kit::bus::{Bus, BusError, InProcessBus, Subscription};
use concord_kit::testing::Backend;
use concord_proto::notices::v1::*;
use futures::StreamExt;

/// A bus that loses everything: publishes vanish, nothing is delivered.
#[derive(Debug)]
struct DownBus {
    /// Keeps the subscriptions open (and silent).
    silent: Arc<InProcessBus>,
}

#[async_trait::async_trait]
impl Bus for DownBus {
    async fn publish(&self, _topic: &str, _payload: Bytes) -> Result<(), BusError> {
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        self.silent.subscribe(topic)
    }
}

async fn nothing_is_lost_when_the_bus_loses_every_message(backend: Backend) {
    let s = Suite::start_with_bus(
        backend,
        Arc::new(DownBus {
            silent: InProcessBus::new(),
        }),
    )
    .await;
    let o = s.org.clone();
    let mut watch = s
        .n()
        .watch_inbox(
            o.logistics_member
                .req(WatchInboxRequest { after_sequence: 0 }),
        )
        .await
        .unwrap()
        .into_inner();
    let started = Instant::now();
    let n = s
        .publish(
            &o.logistics_head,
            "停电检修通知",
            departments(&[&o.logistics], false),
        )
        .await;
    let e = tokio::time::timeout(Duration::from_secs(15), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((e.sequence, e.notice.unwrap().id), (1, n.id.clone()));
    eprintln!("delivered without the bus after {:?}", started.elapsed());
    drop(watch);
    let second = s
        .publish(
            &o.logistics_head,
            "第二次停电",
            departments(&[&o.logistics], false),
        )
        .await;
    let mut watch = s
        .n()
        .watch_inbox(
            o.logistics_member
                .req(WatchInboxRequest { after_sequence: 1 }),
        )
        .await
        .unwrap()
        .into_inner();
    let e = tokio::time::timeout(Duration::from_secs(2), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((e.sequence, e.notice.unwrap().id), (2, second.id));
}

concord_kit::backend_tests!(nothing_is_lost_when_the_bus_loses_every_message);

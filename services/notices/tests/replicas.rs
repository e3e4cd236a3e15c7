//! Two notices instances over one database: on PostgreSQL each has its own
//! Redis connection (when `CONCORD_TEST_REDIS_URL` is set), on SQLite they
//! share the in-process bus. A notice published through one reaches a
//! watcher on the other; a watcher that disconnects and resumes from its
//! cursor on the other instance misses nothing and sees nothing twice, also
//! while both instances write to the same inbox at once.

mod common;

use std::time::Duration;

use common::*;
use concord_kit::bus::{InProcessBus, RedisBus, SharedBus};
use concord_kit::testing::{Backend, redis_url};
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use concord_proto::notices::v1::*;
use futures::StreamExt;
use tonic::Streaming;

async fn next(stream: &mut Streaming<InboxEvent>) -> InboxEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within ten seconds")
        .expect("stream open")
        .expect("event")
}

async fn buses(backend: &Backend) -> (SharedBus, SharedBus) {
    match (backend, redis_url()) {
        (Backend::Postgres(_), Some(url)) => {
            let prefix = format!("test-{}:", concord_kit::ids::new_id());
            let a: SharedBus = RedisBus::connect(&url, &prefix).await.expect("redis");
            let b: SharedBus = RedisBus::connect(&url, &prefix).await.expect("redis");
            (a, b)
        }
        _ => {
            let shared: SharedBus = InProcessBus::new();
            (shared.clone(), shared)
        }
    }
}

async fn a_watcher_on_one_replica_sees_everything_once(backend: Backend) {
    let (bus_a, bus_b) = buses(&backend).await;
    let s = Suite::start_with_bus(backend, bus_a).await;
    let o = s.org.clone();
    let (replica, replica_stop) = start_notices(
        s.notices_db.location.clone(),
        s.clock.clone(),
        bus_b,
        &s.directory_server.url(),
    )
    .await;
    let a = s.n();
    let b = NoticeServiceClient::new(replica.channel().await);
    let reader = &o.logistics_member;
    let publish_via = |client: NoticeServiceClient<tonic::transport::Channel>, title: String| {
        let o = o.clone();
        async move {
            let d = client
                .clone()
                .create_notice(o.logistics_head.req(CreateNoticeRequest {
                    title,
                    audience: Some(departments(&[&o.logistics], false)),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner();
            client
                .clone()
                .publish_notice(o.logistics_head.req(PublishNoticeRequest {
                    id: d.id,
                    etag: d.etag,
                }))
                .await
                .unwrap()
                .into_inner()
        }
    };

    // Watch on B, publish on A.
    let mut watch = b
        .clone()
        .watch_inbox(reader.req(WatchInboxRequest { after_sequence: 0 }))
        .await
        .unwrap()
        .into_inner();
    let first = publish_via(a.clone(), "物业维修通知 #1".into()).await;
    let e = next(&mut watch).await;
    assert_eq!((e.sequence, e.notice.unwrap().id), (1, first.id.clone()));
    let mut last = e.sequence;
    let mut seen = vec![first.id.clone()];

    // Disconnect; meanwhile both replicas publish, some at the same time.
    drop(watch);
    let mut published = Vec::new();
    for round in 0..3 {
        let (x, y) = tokio::join!(
            publish_via(a.clone(), format!("A 批次 {round}")),
            publish_via(b.clone(), format!("B batch {round}"))
        );
        published.push(x.id);
        published.push(y.id);
    }
    // Resume on A from the cursor: the missed ones first, in order, once.
    let mut watch = a
        .clone()
        .watch_inbox(reader.req(WatchInboxRequest {
            after_sequence: last,
        }))
        .await
        .unwrap()
        .into_inner();
    let mut missed = Vec::new();
    for _ in 0..published.len() {
        let e = next(&mut watch).await;
        assert_eq!(e.sequence, last + 1, "sequences are gap-free");
        last = e.sequence;
        missed.push(e.notice.unwrap().id);
    }
    let mut sorted_missed = missed.clone();
    sorted_missed.sort();
    let mut sorted_published = published.clone();
    sorted_published.sort();
    assert_eq!(
        sorted_missed, sorted_published,
        "every missed notice, each once"
    );
    seen.extend(missed);

    // Live again, now fed from the other replica, while both write at once.
    let (x, y) = tokio::join!(
        publish_via(b.clone(), "B live".into()),
        publish_via(a.clone(), "A live".into())
    );
    let mut live = vec![next(&mut watch).await, next(&mut watch).await];
    live.sort_by_key(|e| e.sequence);
    assert_eq!(
        live.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [last + 1, last + 2]
    );
    let mut live_ids: Vec<String> = live.into_iter().map(|e| e.notice.unwrap().id).collect();
    live_ids.sort();
    let mut expected = vec![x.id, y.id];
    expected.sort();
    assert_eq!(live_ids, expected);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), watch.next())
            .await
            .is_err(),
        "nothing is delivered twice"
    );
    seen.extend(live_ids);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
    assert_eq!(s.inbox(reader, false).await.items.len(), seen.len());
    replica_stop.cancel();
    replica.stop().await.unwrap();
}

concord_kit::backend_tests!(a_watcher_on_one_replica_sees_everything_once);

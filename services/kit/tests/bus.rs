//! The bus against real Redis (when `CONCORD_TEST_REDIS_URL` is set) and
//! in-process: publish/subscribe, and delivery resuming after the Redis
//! connection is killed.

use std::time::Duration;

use bytes::Bytes;
use concord_kit::bus::{Bus, Delivery, InProcessBus, RedisBus, Subscription};

async fn next_message(sub: &mut Subscription) -> Bytes {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), sub.recv()).await {
            Ok(Some(Delivery::Message(b))) => return b,
            Ok(Some(Delivery::Gap)) => continue,
            Ok(None) => panic!("bus closed"),
            Err(_) => panic!("no message within 5 s"),
        }
    }
}

async fn publishes_to_every_subscriber_of_the_topic(bus: &dyn Bus) {
    let mut a = bus.subscribe("alerts");
    let mut b = bus.subscribe("alerts");
    let mut other = bus.subscribe("inbox");
    bus.publish("alerts", Bytes::from_static("火警 fire".as_bytes()))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut a).await,
        Bytes::from_static("火警 fire".as_bytes())
    );
    assert_eq!(
        next_message(&mut b).await,
        Bytes::from_static("火警 fire".as_bytes())
    );
    bus.publish("inbox", Bytes::from_static(b"n1"))
        .await
        .unwrap();
    assert_eq!(next_message(&mut other).await, Bytes::from_static(b"n1"));
    // The alerts subscribers did not get the inbox message.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), a.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn in_process_bus_delivers() {
    let bus = InProcessBus::new();
    publishes_to_every_subscriber_of_the_topic(bus.as_ref()).await;
}

/// The kill test cuts every pub/sub connection on the server; the Redis
/// tests of this binary take turns so it cannot cut another's.
static REDIS_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn redis() -> Option<String> {
    let url = concord_kit::testing::redis_url();
    if url.is_none() {
        eprintln!("skipped: set CONCORD_TEST_REDIS_URL to run against Redis");
    }
    url
}

fn prefix() -> String {
    format!("concord-test-{}:", uuid::Uuid::now_v7().simple())
}

#[tokio::test]
async fn redis_bus_delivers() {
    let Some(url) = redis() else { return };
    let _turn = REDIS_TURN.lock().await;
    let bus = RedisBus::connect(&url, &prefix())
        .await
        .expect("connect to CONCORD_TEST_REDIS_URL");
    publishes_to_every_subscriber_of_the_topic(bus.as_ref()).await;
}

#[tokio::test]
async fn redis_bus_crosses_processes_through_redis() {
    let Some(url) = redis() else { return };
    let _turn = REDIS_TURN.lock().await;
    let prefix = prefix();
    let publisher = RedisBus::connect(&url, &prefix).await.unwrap();
    let subscriber = RedisBus::connect(&url, &prefix).await.unwrap();
    let mut sub = subscriber.subscribe("alerts");
    publisher
        .publish("alerts", Bytes::from_static(b"a1"))
        .await
        .unwrap();
    assert_eq!(next_message(&mut sub).await, Bytes::from_static(b"a1"));
}

#[tokio::test]
async fn redis_bus_resumes_after_the_connection_is_killed() {
    let Some(url) = redis() else { return };
    let _turn = REDIS_TURN.lock().await;
    let prefix = prefix();
    let bus = RedisBus::connect(&url, &prefix).await.unwrap();
    let mut sub = bus.subscribe("alerts");
    bus.publish("alerts", Bytes::from_static(b"before"))
        .await
        .unwrap();
    assert_eq!(next_message(&mut sub).await, Bytes::from_static(b"before"));

    // Kill every pub/sub connection on the server, as a Redis restart or a
    // network cut would.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(killed >= 1, "no pub/sub connection was killed");

    // The subscriber is told it may have missed messages, then delivery
    // resumes on its own.
    let mut saw_gap = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery did not resume"
        );
        let _ = bus.publish("alerts", Bytes::from_static(b"after")).await;
        match tokio::time::timeout(Duration::from_millis(200), sub.recv()).await {
            Ok(Some(Delivery::Gap)) => saw_gap = true,
            Ok(Some(Delivery::Message(m))) if m.as_ref() == b"after" && saw_gap => break,
            Ok(Some(Delivery::Message(_))) => {}
            Ok(None) => panic!("bus closed"),
            Err(_) => {}
        }
    }
    assert!(saw_gap);
}

#[tokio::test]
async fn redis_bus_refuses_an_unreachable_server_at_start() {
    // A wrong REDIS_URL must stop the process, not hang it.
    let started = std::time::Instant::now();
    let r = RedisBus::connect("redis://127.0.0.1:1", "x:").await;
    assert!(r.is_err());
    assert!(started.elapsed() < Duration::from_secs(15));
}

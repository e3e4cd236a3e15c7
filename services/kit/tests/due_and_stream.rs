//! Scheduled actions and resumable streams on both backends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concord_kit::bus::{Bus, InProcessBus};
use concord_kit::clock::{Clock, ManualClock, SharedClock};
use concord_kit::db::{Db, Migrations};
use concord_kit::due::{self, DueAction, DueHandler, Handlers};
use concord_kit::stream::{ResumeOptions, resume};
use concord_kit::testing::Backend;
use futures::StreamExt;
use sqlx::Row;

static NO_MIGRATIONS_PG: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations");
static NO_MIGRATIONS_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations");

async fn db(backend: &Backend) -> (Db, concord_kit::testing::TestDb) {
    let place = backend.fresh("kit");
    let db = Db::connect(
        &place.location,
        Migrations {
            postgres: &NO_MIGRATIONS_PG,
            sqlite: &NO_MIGRATIONS_SQLITE,
        },
    )
    .await
    .expect("connect");
    (db, place)
}

#[derive(Clone, Default)]
struct Count {
    runs: Arc<AtomicUsize>,
    fail_first: bool,
}

#[async_trait::async_trait]
impl DueHandler for Count {
    async fn run(&self, action: &DueAction) -> Result<(), concord_kit::Error> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        if self.fail_first && n == 0 {
            return Err(concord_kit::Error::Unavailable(format!(
                "first try of {}",
                action.subject
            )));
        }
        Ok(())
    }
}

async fn due_actions_run_once_when_due_and_survive_a_restart(backend: Backend) {
    let (db, _place) = db(&backend).await;
    let clock = ManualClock::new(1_000_000);
    let shared: SharedClock = clock.clone();
    let mut tx = db.begin().await.unwrap();
    due::schedule(&mut tx, "close", "p1", 1_060_000, "{}")
        .await
        .unwrap();
    due::schedule(&mut tx, "close", "p2", 1_120_000, "{}")
        .await
        .unwrap();
    // Rescheduling moves the one pending action; it does not add another.
    due::schedule(&mut tx, "close", "p2", 1_090_000, "{}")
        .await
        .unwrap();
    due::schedule(&mut tx, "close", "p3", 1_030_000, "{}")
        .await
        .unwrap();
    due::cancel(&mut tx, "close", "p3").await.unwrap();
    tx.commit().await.unwrap();

    let count = Count::default();
    let handlers = Handlers::new().on("close", count.clone());
    assert_eq!(
        due::run_due(&db, &shared, &handlers).await.unwrap(),
        0,
        "nothing is due yet"
    );
    clock.advance(Duration::from_secs(60));
    assert_eq!(due::run_due(&db, &shared, &handlers).await.unwrap(), 1);
    assert_eq!(
        due::run_due(&db, &shared, &handlers).await.unwrap(),
        0,
        "ran once"
    );

    // "Restart": a new pool on the same data still knows the next deadline.
    let place = _place;
    db.close().await;
    let db = Db::connect(
        &place.location,
        Migrations {
            postgres: &NO_MIGRATIONS_PG,
            sqlite: &NO_MIGRATIONS_SQLITE,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        due::pending(&db, "close", "p2").await.unwrap(),
        Some(1_090_000)
    );
    assert_eq!(due::pending(&db, "close", "p3").await.unwrap(), None);
    clock.advance(Duration::from_secs(30));
    // The background worker picks it up by itself.
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = due::spawn_worker(db.clone(), shared.clone(), handlers, stop.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while count.runs.load(Ordering::SeqCst) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "worker did not run the due action"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    worker.await.unwrap();
    assert_eq!(due::pending(&db, "close", "p2").await.unwrap(), None);
}

async fn a_failed_action_is_retried_later(backend: Backend) {
    let (db, _place) = db(&backend).await;
    let clock = ManualClock::new(0);
    let shared: SharedClock = clock.clone();
    let mut tx = db.begin().await.unwrap();
    due::schedule(&mut tx, "escalate", "f1", 10, "")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let count = Count {
        fail_first: true,
        ..Default::default()
    };
    let handlers = Handlers::new().on("escalate", count.clone());
    clock.advance(Duration::from_millis(10));
    assert_eq!(due::run_due(&db, &shared, &handlers).await.unwrap(), 1);
    assert_eq!(
        due::run_due(&db, &shared, &handlers).await.unwrap(),
        0,
        "backing off"
    );
    clock.advance(Duration::from_secs(2));
    assert_eq!(due::run_due(&db, &shared, &handlers).await.unwrap(), 1);
    assert_eq!(count.runs.load(Ordering::SeqCst), 2);
    assert_eq!(due::pending(&db, "escalate", "f1").await.unwrap(), None);
}

/// Two workers (two replicas) never run the same action twice.
async fn concurrent_workers_claim_each_action_once(backend: Backend) {
    let (db, place) = db(&backend).await;
    let db2 = Db::connect(
        &place.location,
        Migrations {
            postgres: &NO_MIGRATIONS_PG,
            sqlite: &NO_MIGRATIONS_SQLITE,
        },
    )
    .await
    .unwrap();
    let clock = ManualClock::new(0);
    let shared: SharedClock = clock.clone();
    let mut tx = db.begin().await.unwrap();
    for i in 0..100 {
        due::schedule(&mut tx, "remind", &format!("n{i}"), 5, "")
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    clock.advance(Duration::from_millis(5));
    let count = Count::default();
    let handlers = Handlers::new().on("remind", count.clone());
    let (a, b) = tokio::join!(
        async {
            let mut n = 0;
            while let Ok(k) = due::run_due(&db, &shared, &handlers).await {
                if k == 0 {
                    break;
                }
                n += k;
            }
            n
        },
        async {
            let mut n = 0;
            while let Ok(k) = due::run_due(&db2, &shared, &handlers).await {
                if k == 0 {
                    break;
                }
                n += k;
            }
            n
        }
    );
    assert_eq!(a + b, 100);
    assert_eq!(count.runs.load(Ordering::SeqCst), 100);
}

/// A stream serves the backlog after the cursor, then live rows announced on
/// the bus, and rows whose announcement was lost through the poll.
async fn streams_resume_from_the_cursor(backend: Backend) {
    let (db, _place) = db(&backend).await;
    sqlx::query("CREATE TABLE events (seq BIGINT PRIMARY KEY, body TEXT NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    for seq in 1..=3i64 {
        sqlx::query("INSERT INTO events (seq, body) VALUES ($1, $2)")
            .bind(seq)
            .bind(format!("事件{seq}"))
            .execute(db.pool())
            .await
            .unwrap();
    }
    let bus = InProcessBus::new();
    let fetch_db = db.clone();
    let fetch = move |after: i64| {
        let db = fetch_db.clone();
        async move {
            let rows =
                sqlx::query("SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT 2")
                    .bind(after)
                    .fetch_all(db.pool())
                    .await?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)))
                .collect())
        }
    };
    let options = ResumeOptions {
        topic: "events".into(),
        poll_every: Duration::from_millis(300),
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut stream = Box::pin(resume(
        bus.clone(),
        options,
        1,
        fetch,
        |_| true,
        shutdown.clone(),
    ));
    macro_rules! next {
        () => {
            tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .expect("in time")
                .expect("open")
                .expect("ok")
        };
    }
    assert_eq!(next!(), (2, "事件2".to_string()));
    assert_eq!(next!(), (3, "事件3".to_string()));

    // Live: written, then announced.
    sqlx::query("INSERT INTO events (seq, body) VALUES (4, 'e4')")
        .execute(db.pool())
        .await
        .unwrap();
    bus.publish("events", bytes::Bytes::from_static(b"4"))
        .await
        .unwrap();
    assert_eq!(next!(), (4, "e4".to_string()));
    // Announcement lost (as when Redis is down): the poll still delivers it.
    sqlx::query("INSERT INTO events (seq, body) VALUES (5, 'e5')")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(next!(), (5, "e5".to_string()));

    shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(end.unwrap_err().code(), tonic::Code::Unavailable);
}

concord_kit::backend_tests!(
    due_actions_run_once_when_due_and_survive_a_restart,
    a_failed_action_is_retried_later,
    concurrent_workers_claim_each_action_once,
    streams_resume_from_the_cursor,
);

#[test]
fn manual_clock_is_a_clock() {
    let c = ManualClock::new(5);
    assert_eq!(Clock::now_ms(c.as_ref()), 5);
}

//! PostgreSQL backends terminated (`pg_terminate_backend`, only those of
//! the test's own database) while writers create departments, notices and
//! feedback. Every call ends OK or UNAVAILABLE (never INTERNAL, never a
//! hang), every acknowledged create is there afterwards, and the suite
//! recovers by itself, without a restart.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use concord_e2e::faults::{database_name, pg_terminate_backends};
use concord_e2e::report::Tally;
use concord_e2e::{Authed, spawn_suite_with};
use concord_kit::testing::{Backend, token};
use concord_proto::directory::v1 as dir;
use concord_proto::feedback::v1 as fb;
use concord_proto::notices::v1 as no;
use concord_proto::policy::v1::Role;
use secrecy::ExposeSecret;
use tonic::Code;

use super::watch::lock;

/// How long the writers run, and how often backends are terminated.
const LOAD: Duration = Duration::from_secs(5);
const TERMINATE_EVERY: Duration = Duration::from_millis(250);
const WRITERS: usize = 6;

/// What a writer creates.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Department,
    Notice,
    Feedback,
}

/// Creates one thing; its id when acknowledged.
async fn create(channel: Authed, kind: Kind, n: usize) -> Result<String, tonic::Status> {
    let request_id = format!("pg-chaos-{kind:?}-{n}");
    Ok(match kind {
        Kind::Department => {
            dir::directory_service_client::DirectoryServiceClient::new(channel)
                .create_department(dir::CreateDepartmentRequest {
                    request_id,
                    name: format!("第{n}科 Section {n}"),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .id
        }
        Kind::Notice => {
            no::notice_service_client::NoticeServiceClient::new(channel)
                .create_notice(no::CreateNoticeRequest {
                    request_id,
                    title: format!("第{n}号通知"),
                    body: "数据库演练 A database drill.".into(),
                    audience: Some(no::Audience {
                        everyone: true,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .id
        }
        Kind::Feedback => fb::feedback_service_client::FeedbackServiceClient::new(channel)
            .submit_feedback(fb::SubmitFeedbackRequest {
                request_id,
                channel: fb::Channel::WebForm as i32,
                category: fb::Category::Suggestion as i32,
                subject: format!("食堂排队太长 Queue at the canteen ({n})"),
                body: "中午十二点排队超过二十分钟。".into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .item
            .map(|i| i.id)
            .unwrap_or_default(),
    })
}

/// Reads one thing back; whether it is there.
async fn exists(channel: Authed, kind: Kind, id: &str) -> Result<bool, tonic::Status> {
    let id = id.to_string();
    let found = match kind {
        Kind::Department => dir::directory_service_client::DirectoryServiceClient::new(channel)
            .get_department(dir::GetDepartmentRequest { id })
            .await
            .map(|_| ()),
        Kind::Notice => no::notice_service_client::NoticeServiceClient::new(channel)
            .get_notice(no::GetNoticeRequest { id })
            .await
            .map(|_| ()),
        Kind::Feedback => fb::feedback_service_client::FeedbackServiceClient::new(channel)
            .get_feedback_item(fb::GetFeedbackItemRequest { id })
            .await
            .map(|_| ()),
    };
    match found {
        Ok(()) => Ok(true),
        Err(s) if s.code() == Code::NotFound => Ok(false),
        Err(s) => Err(s),
    }
}

pub async fn postgres_backends_terminated_under_write_load(backend: Backend) {
    let Backend::Postgres(admin_url) = &backend else {
        eprintln!("skipped: pg_terminate_backend is a PostgreSQL fault");
        return;
    };
    let database = Arc::new(Mutex::new(String::new()));
    let seen = database.clone();
    let suite = spawn_suite_with(&backend, move |s| {
        *lock(&seen) = s
            .database_url
            .as_ref()
            .map(|u| database_name(u.expose_secret()))
            .unwrap_or_default();
    })
    .await;
    let datname = lock(&database).clone();
    assert!(
        datname.starts_with('t'),
        "the suite's own database: {datname}"
    );
    let admin = token("pg-chaos-admin", &[Role::Admin], None);

    let acked: Arc<Mutex<Vec<(Kind, String)>>> = Arc::default();
    let wrong: Arc<Mutex<Vec<String>>> = Arc::default();
    let unavailable = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let kind = [Kind::Department, Kind::Notice, Kind::Feedback][w % 3];
        let channel = suite.as_(Some(&admin));
        let (acked, wrong, unavailable, calls) = (
            acked.clone(),
            wrong.clone(),
            unavailable.clone(),
            calls.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut n = w * 100_000;
            while started.elapsed() < LOAD {
                n += 1;
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let began = Instant::now();
                let outcome =
                    tokio::time::timeout(Duration::from_secs(30), create(channel.clone(), kind, n))
                        .await;
                match outcome {
                    Ok(Ok(id)) => lock(&acked).push((kind, id)),
                    Ok(Err(s)) if s.code() == Code::Unavailable => {
                        unavailable.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(Err(s)) => lock(&wrong).push(format!(
                        "{kind:?} #{n}: {:?} {} after {:?}",
                        s.code(),
                        s.message(),
                        began.elapsed()
                    )),
                    Err(_) => lock(&wrong).push(format!("{kind:?} #{n}: no answer in 30 s")),
                }
            }
        }));
    }
    let mut terminated = 0;
    let mut rounds = 0;
    while started.elapsed() < LOAD {
        tokio::time::sleep(TERMINATE_EVERY).await;
        terminated += pg_terminate_backends(admin_url, &datname).await;
        rounds += 1;
    }
    for w in writers {
        w.await.expect("writer");
    }

    // Recovery without a restart: a new create of each kind succeeds
    // within seconds.
    let recovered_at = Instant::now();
    for kind in [Kind::Department, Kind::Notice, Kind::Feedback] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match create(suite.as_(Some(&admin)), kind, 999_999).await {
                Ok(_) => break,
                Err(s) => assert!(Instant::now() < deadline, "{kind:?} did not recover: {s:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let recovery = recovered_at.elapsed();

    // Every acknowledged create is in the database.
    let acked = lock(&acked).clone();
    let mut lost = Vec::new();
    for (kind, id) in &acked {
        if !exists(suite.as_(Some(&admin)), *kind, id)
            .await
            .unwrap_or_else(|s| panic!("reading {kind:?} {id} back: {s:?}"))
        {
            lost.push(format!("{kind:?} {id}"));
        }
    }
    let wrong = lock(&wrong).clone();
    let mut tally = Tally::new("PostgreSQL backends terminated under write load", &backend);
    tally.calls = calls.load(std::sync::atomic::Ordering::Relaxed);
    tally.faults = terminated;
    tally.lost = lost.len() as u64;
    tally.failed = wrong.len() as u64;
    tally.note = format!(
        "{} acknowledged, {} UNAVAILABLE, {rounds} termination rounds; recovered in {recovery:?}",
        acked.len(),
        unavailable.load(std::sync::atomic::Ordering::Relaxed)
    );
    tally.report();
    assert!(terminated > 0, "no backend was terminated");
    assert!(lost.is_empty(), "acknowledged but gone: {lost:?}");
    assert!(
        wrong.is_empty(),
        "{} calls ended neither OK nor UNAVAILABLE, e.g.:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    suite.stop().await.unwrap();
}

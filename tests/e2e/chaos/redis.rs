//! Redis breaks during a burst of notices and alerts: its pub/sub and
//! normal connections are killed, then the server itself is stopped and
//! started again. Every acknowledged notice and alert still reaches every
//! watcher exactly once (by sequence, gap-free), and delivery catches up
//! within seconds.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use concord_e2e::faults::{self, RedisServer};
use concord_e2e::org::{self, Person};
use concord_e2e::report::Tally;
use concord_e2e::{Suite, authed, spawn_suite_with};
use concord_kit::testing::{Backend, token};
use concord_proto::emergency::v1 as em;
use concord_proto::notices::v1 as no;
use concord_proto::policy::v1::Role;
use futures::StreamExt;

use super::watch::{Watcher, lock};

/// What is injected, at how many milliseconds into the burst.
#[derive(Debug, Clone, Copy)]
enum Fault {
    KillPubSubClients,
    KillNormalClients,
    StopRedis,
    StartRedis,
}

const TIMELINE: &[(u64, Fault)] = &[
    (700, Fault::KillPubSubClients),
    (1_400, Fault::KillNormalClients),
    (2_100, Fault::StopRedis),
    (3_600, Fault::StartRedis),
    (4_300, Fault::KillPubSubClients),
    (5_000, Fault::KillNormalClients),
];

/// Writes in the burst, one every 100 ms, notices and drills alternately.
const WRITES: u64 = 60;

fn inbox_watcher(suite: &Suite, who: &Person) -> Watcher {
    let (channel, token) = (suite.channel(), who.token.clone());
    Watcher::start(move |cursor| {
        let client = no::notice_service_client::NoticeServiceClient::new(authed(
            channel.clone(),
            Some(&token),
        ));
        async move {
            let mut client = client;
            let stream = client
                .watch_inbox(no::WatchInboxRequest {
                    after_sequence: cursor,
                })
                .await?
                .into_inner();
            Ok(stream
                .map(|e| {
                    e.map(|e| {
                        let notice = (e.kind == no::InboxEventKind::Notice as i32)
                            .then_some(e.notice)
                            .flatten();
                        (e.sequence, notice.map(|n| n.id))
                    })
                })
                .boxed())
        }
    })
}

fn alert_watcher(suite: &Suite, who: &Person) -> Watcher {
    let (channel, token) = (suite.channel(), who.token.clone());
    Watcher::start(move |cursor| {
        let client = em::emergency_service_client::EmergencyServiceClient::new(authed(
            channel.clone(),
            Some(&token),
        ));
        async move {
            let mut client = client;
            let stream = client
                .watch_alerts(em::WatchAlertsRequest {
                    after_sequence: cursor,
                })
                .await?
                .into_inner();
            Ok(stream
                .map(|e| {
                    e.map(|e| {
                        let declared = e
                            .alert
                            .filter(|a| a.kind == em::AlertKind::Declared as i32)
                            .map(|a| a.incident_id);
                        (e.sequence, declared)
                    })
                })
                .boxed())
        }
    })
}

/// Acknowledged writes: id and when the call returned.
type Acked = Arc<Mutex<Vec<(String, Instant)>>>;

pub async fn redis_faults_during_a_burst_lose_and_duplicate_nothing(backend: Backend) {
    if !faults::redis_server_available() {
        assert!(
            concord_kit::testing::redis_url().is_none(),
            "CONCORD_TEST_REDIS_URL is set but redis-server cannot be run"
        );
        eprintln!("skipped: redis-server is not installed");
        return;
    }
    let mut redis = RedisServer::start().await;
    let redis_url = redis.url();
    let suite = spawn_suite_with(&backend, |s| s.redis_url = Some(redis_url.into())).await;
    let admin = token("chaos-admin", &[Role::Admin], None);
    let office = org::department(suite.as_(Some(&admin)), "应急办公室", None, 2).await;
    let plan = em::emergency_service_client::EmergencyServiceClient::new(suite.as_(Some(&admin)))
        .create_plan(em::CreatePlanRequest {
            request_id: "chaos-plan".into(),
            plan: Some(em::Plan {
                title: "机房断电 Power loss in the server room".into(),
                incident_type: em::IncidentType::ItOutage as i32,
                severity: em::Severity::Iii as i32,
                owner_department_id: office.id.clone(),
                steps: vec![em::PlanStep {
                    title: "切换备用电源".into(),
                    department_id: office.id.clone(),
                    target_minutes: 15,
                    ..Default::default()
                }],
                acknowledgement_timeout: Some(prost_types::Duration {
                    seconds: 86_400,
                    nanos: 0,
                }),
                ..Default::default()
            }),
        })
        .await
        .expect("plan")
        .into_inner();

    let watchers: Vec<(&str, Watcher)> = office
        .members
        .iter()
        .flat_map(|p| {
            [
                ("inbox", inbox_watcher(&suite, p)),
                ("alerts", alert_watcher(&suite, p)),
            ]
        })
        .collect();

    let notices: Acked = Arc::default();
    let incidents: Acked = Arc::default();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut writes = Vec::new();
    for i in 0..WRITES {
        let at = started + Duration::from_millis(i * 100);
        let channel = suite.as_(Some(&admin));
        let (notices, incidents, failures) = (notices.clone(), incidents.clone(), failures.clone());
        let (dept, plan_id) = (office.id.clone(), plan.id.clone());
        writes.push(tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            let result = if i % 2 == 0 {
                publish(channel, &dept, i).await.map(|id| (notices, id))
            } else {
                declare(channel, &plan_id, i)
                    .await
                    .map(|id| (incidents, id))
            };
            match result {
                Ok((acked, id)) => lock(&acked).push((id, Instant::now())),
                Err(s) => lock(&failures).push(format!("write {i}: {s:?}")),
            }
        }));
    }
    let mut faults = 0u64;
    let mut restarted_at = None;
    for (at, fault) in TIMELINE {
        tokio::time::sleep_until((started + Duration::from_millis(*at)).into()).await;
        match fault {
            Fault::KillPubSubClients => {
                redis.kill_clients("pubsub").await;
            }
            Fault::KillNormalClients => {
                redis.kill_clients("normal").await;
            }
            Fault::StopRedis => redis.stop().await,
            Fault::StartRedis => {
                redis.restart().await;
                restarted_at = Some(Instant::now());
            }
        }
        faults += 1;
    }
    for w in writes {
        w.await.expect("write task");
    }
    let restarted_at = restarted_at.expect("restarted");

    let mut tally = Tally::new("Redis killed and restarted during a burst", &backend);
    tally.calls = WRITES;
    tally.faults = faults;
    let mut deliveries = 0;
    tally.failed = lock(&failures).len() as u64;
    let mut max_delay = Duration::ZERO;
    let mut max_delay_after_restart = Duration::ZERO;
    let mut delays = Vec::new();
    let mut problems = lock(&failures).clone();
    for (kind, watcher) in &watchers {
        let acked = if *kind == "inbox" {
            &notices
        } else {
            &incidents
        };
        let acked = lock(acked).clone();
        let expected: HashSet<String> = acked.iter().map(|(id, _)| id.clone()).collect();
        let missing = watcher.await_all(&expected, Duration::from_secs(30)).await;
        let seen = lock(&watcher.seen);
        deliveries += expected.len();
        tally.lost += missing.len() as u64;
        tally.duplicated += seen.duplicates.len() as u64;
        if !missing.is_empty() || !seen.duplicates.is_empty() || !seen.gaps.is_empty() {
            problems.push(format!(
                "{kind}: missing {missing:?}, duplicates {:?}, gaps {:?}",
                seen.duplicates, seen.gaps
            ));
        }
        for (id, acked_at) in &acked {
            if let Some(arrived) = seen.arrived.get(id) {
                let delay = arrived.saturating_duration_since(*acked_at);
                delays.push(delay);
                max_delay = max_delay.max(delay);
                if *acked_at >= restarted_at {
                    max_delay_after_restart = max_delay_after_restart.max(delay);
                }
            }
        }
    }
    delays.sort();
    let median = delays.get(delays.len() / 2).copied().unwrap_or_default();
    let redelivered: u64 = watchers
        .iter()
        .map(|(_, w)| lock(&w.seen).redelivered)
        .sum();
    let reconnects: u64 = watchers.iter().map(|(_, w)| lock(&w.seen).reconnects).sum();
    tally.note = format!(
        "{deliveries} deliveries to {} watchers; delivery delay median {:?}, max {:?}, max after the restart {:?}; {redelivered} redelivered and dropped by cursor, {reconnects} reconnects",
        watchers.len(),
        median,
        max_delay,
        max_delay_after_restart
    );
    tally.report();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        max_delay <= Duration::from_secs(10),
        "delivery took up to {max_delay:?}"
    );
    drop(watchers);
    suite.stop().await.unwrap();
    redis.stop().await;
}

async fn publish(
    channel: concord_e2e::Authed,
    dept: &str,
    i: u64,
) -> Result<String, tonic::Status> {
    let mut notices = no::notice_service_client::NoticeServiceClient::new(channel);
    let draft = notices
        .create_notice(no::CreateNoticeRequest {
            request_id: format!("chaos-notice-{i}"),
            title: format!("第{i}号通知 Notice {i}"),
            body: "演练期间请保持电话畅通。Keep your phone on during the drill.".into(),
            audience: Some(no::Audience {
                department_ids: vec![dept.to_string()],
                ..Default::default()
            }),
            // Urgent: pushed at any hour (others wait for the working day).
            priority: no::Priority::Urgent as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    notices
        .publish_notice(no::PublishNoticeRequest {
            id: draft.id.clone(),
            ..Default::default()
        })
        .await?;
    Ok(draft.id)
}

async fn declare(
    channel: concord_e2e::Authed,
    plan_id: &str,
    i: u64,
) -> Result<String, tonic::Status> {
    let incident = em::emergency_service_client::EmergencyServiceClient::new(channel)
        .declare_incident(em::DeclareIncidentRequest {
            request_id: format!("chaos-drill-{i}"),
            plan_id: plan_id.to_string(),
            description: format!("第{i}次演练 Drill {i}"),
            drill: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(incident.id)
}

//! Scenario 2: alert fan-out. Every person of one department watches their
//! alerts, half on each of two emergency processes that share PostgreSQL and
//! Redis; incidents are declared one after another, alternately on each
//! process, and every delivery is timed from the moment the declaration was
//! sent (and, apart, from the moment it was answered, i.e. committed).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use concord_proto::emergency::v1 as em;
use concord_proto::emergency::v1::emergency_service_client::EmergencyServiceClient;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::h2::H2;
use crate::load::{self, authed, bearer};
use crate::seed::Org;

/// Streams per HTTP/2 connection (the servers allow 256).
const STREAMS_PER_CONNECTION: usize = 100;
/// How long the last delivery of one incident may take before the rest
/// count as lost.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Serialize)]
pub struct AlertsResult {
    pub subscribers: usize,
    pub instances: usize,
    pub incidents: usize,
    pub expected: usize,
    pub delivered: usize,
    pub duplicates: usize,
    pub lost: usize,
    /// From sending DeclareIncident to the event at the subscriber, µs.
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// From DeclareIncident's answer (the alert committed) to the event, µs
    /// (0 when the event arrived before the answer).
    pub after_commit_p50_us: f64,
    pub after_commit_p99_us: f64,
    pub after_commit_max_us: f64,
    /// DeclareIncident itself (audience resolved, alert and deliveries
    /// written), µs.
    pub declare_p50_us: f64,
    pub declare_max_us: f64,
    pub subscribe_secs: f64,
    /// ResolveAudience of the plan's department straight to the directory
    /// (median of 3), µs: part of every declaration.
    pub resolve_audience_us: f64,
}

struct Event {
    person: usize,
    incident_id: String,
    sequence: i64,
    at: Instant,
}

/// Runs the scenario against the emergency processes at `instances`.
pub async fn run(
    instances: &[SocketAddr],
    directory: SocketAddr,
    org: &Org,
    incidents: usize,
) -> anyhow::Result<AlertsResult> {
    let audience = org.first_department();
    anyhow::ensure!(
        !audience.is_empty(),
        "the first department has nobody in it"
    );
    let admin = bearer(&org.admin)?;

    // A plan for the first department; nobody acknowledges, so the timeout
    // is long enough that no escalation runs during the benchmark.
    let mut planner = EmergencyServiceClient::new(H2::connect(instances[0]).await?);
    let plan = planner
        .create_plan(authed(
            em::CreatePlanRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                plan: Some(em::Plan {
                    title: "消防疏散演练预案 Fire evacuation drill".into(),
                    description: "全员疏散到操场集合。Everybody to the sports ground.".into(),
                    incident_type: em::IncidentType::Fire as i32,
                    severity: em::Severity::Iii as i32,
                    owner_department_id: org.departments[0].clone(),
                    steps: vec![em::PlanStep {
                        title: "疏散 Evacuate".into(),
                        instructions: "按疏散路线撤离。Follow the evacuation routes.".into(),
                        department_id: org.departments[0].clone(),
                        target_minutes: 10,
                    }],
                    acknowledgement_timeout: Some(prost_types::Duration {
                        seconds: 12 * 3600,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            },
            &admin,
        ))
        .await
        .context("CreatePlan")?
        .into_inner();

    // Subscribe everybody, half on each instance.
    let started = Instant::now();
    let mut conns: Vec<Vec<H2>> = Vec::new();
    for addr in instances {
        let per = audience.len().div_ceil(instances.len());
        conns.push(H2::connect_many(*addr, per.div_ceil(STREAMS_PER_CONNECTION).max(1)).await?);
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let mut opening = Vec::new();
    for (i, person) in audience.iter().enumerate() {
        let pool = &conns[i % instances.len()];
        let conn = pool[(i / instances.len()) % pool.len()].clone();
        let auth = bearer(&org.token(person)?)?;
        let tx = tx.clone();
        opening.push(tokio::spawn(async move {
            let mut client = EmergencyServiceClient::new(conn);
            let mut stream = client
                .watch_alerts(authed(em::WatchAlertsRequest { after_sequence: 0 }, &auth))
                .await?
                .into_inner();
            Ok::<_, tonic::Status>(tokio::spawn(async move {
                while let Ok(Some(e)) = stream.message().await {
                    let at = Instant::now();
                    let incident_id = e.alert.map(|a| a.incident_id).unwrap_or_default();
                    let _ = tx.send(Event {
                        person: i,
                        incident_id,
                        sequence: e.sequence,
                        at,
                    });
                }
            }))
        }));
    }
    drop(tx);
    let mut readers = Vec::new();
    for o in opening {
        readers.push(o.await?.context("WatchAlerts")?);
    }
    // The streams are open; let each reach its live phase.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let subscribe_secs = started.elapsed().as_secs_f64();

    let mut since_sent = load::histogram();
    let mut since_answer = load::histogram();
    let mut declares = load::histogram();
    let mut seen: HashSet<(usize, i64)> = HashSet::new();
    let (mut delivered, mut duplicates) = (0usize, 0usize);
    let mut stray: Vec<Event> = Vec::new();
    for k in 0..incidents {
        let mut client =
            EmergencyServiceClient::new(H2::connect(instances[k % instances.len()]).await?);
        let sent = Instant::now();
        let incident = client
            .declare_incident(authed(
                em::DeclareIncidentRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    plan_id: plan.id.clone(),
                    title: format!("演练 {k} Drill {k}"),
                    description: "二号楼三层 Building 2, third floor".into(),
                    severity: 0,
                    drill: true,
                },
                &admin,
            ))
            .await
            .context("DeclareIncident")?
            .into_inner();
        let answered = Instant::now();
        load::record(&mut declares, answered - sent);
        let mut got: HashMap<usize, Instant> = HashMap::new();
        // Events that arrived early for this incident (before the answer).
        for e in std::mem::take(&mut stray) {
            if e.incident_id == incident.id {
                if seen.insert((e.person, e.sequence)) {
                    got.insert(e.person, e.at);
                } else {
                    duplicates += 1;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
        while got.len() < audience.len() {
            let Ok(Some(e)) = tokio::time::timeout_at(deadline, rx.recv()).await else {
                break;
            };
            if e.incident_id != incident.id {
                stray.push(e);
                continue;
            }
            if !seen.insert((e.person, e.sequence)) {
                duplicates += 1;
                continue;
            }
            got.insert(e.person, e.at);
        }
        delivered += got.len();
        for at in got.values() {
            load::record(&mut since_sent, at.saturating_duration_since(sent));
            load::record(&mut since_answer, at.saturating_duration_since(answered));
        }
    }
    for r in readers {
        r.abort();
    }
    let (resolve_audience_us, _) = crate::seed::resolve_audience(
        directory,
        org,
        concord_proto::directory::v1::ResolveAudienceRequest {
            department_ids: vec![org.departments[0].clone()],
            ..Default::default()
        },
        3,
    )
    .await?;
    let expected = audience.len() * incidents;
    let q = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64;
    Ok(AlertsResult {
        subscribers: audience.len(),
        instances: instances.len(),
        incidents,
        expected,
        delivered,
        duplicates,
        lost: expected.saturating_sub(delivered),
        p50_us: q(&since_sent, 0.5),
        p99_us: q(&since_sent, 0.99),
        max_us: since_sent.max() as f64,
        after_commit_p50_us: q(&since_answer, 0.5),
        after_commit_p99_us: q(&since_answer, 0.99),
        after_commit_max_us: since_answer.max() as f64,
        declare_p50_us: q(&declares, 0.5),
        declare_max_us: declares.max() as f64,
        subscribe_secs,
        resolve_audience_us,
    })
}

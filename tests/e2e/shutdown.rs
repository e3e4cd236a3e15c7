//! Graceful shutdown under load: the suite runs as a deployment does, one
//! `concord serve --target <name>` process per target on fixed ports, and
//! each target in turn gets SIGTERM while writers keep calling it through
//! the gateway. No call the target had taken on fails (a failed call whose
//! create turns out to have happened is one that did), and its health says
//! NOT_SERVING before its listener closes. Then it is started again.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use concord_e2e::org::{self, Department};
use concord_e2e::process::{Concord, Launch, free_port_range};
use concord_e2e::report::Tally;
use concord_e2e::{Authed, authed};
use concord_kit::testing::{Backend, token};
use concord_proto::appraisal::v1 as ap;
use concord_proto::decisions::v1 as de;
use concord_proto::directory::v1 as dir;
use concord_proto::emergency::v1 as em;
use concord_proto::feedback::v1 as fb;
use concord_proto::notices::v1 as no;
use concord_proto::policy::v1::Role;
use concord_proto::training::v1 as tr;
use futures::StreamExt;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Every target with its port offset (the gateway's is the base itself).
const TARGETS: &[(&str, u16)] = &[
    ("directory", 1),
    ("notices", 2),
    ("decisions", 3),
    ("feedback", 4),
    ("emergency", 5),
    ("appraisal", 6),
    ("training", 7),
    ("gateway", 0),
];

/// Concurrent writers, and how long they run before SIGTERM.
const WRITERS: usize = 8;
const LOAD_BEFORE: Duration = Duration::from_millis(600);

fn admin() -> String {
    token("shutdown-admin", &[Role::Admin], None)
}

/// The deployment: a process per target.
struct Deployment {
    data: tempfile::TempDir,
    base: u16,
    launch: Launch,
    processes: BTreeMap<&'static str, Concord>,
}

impl Deployment {
    async fn start(backend: &Backend) -> Deployment {
        let base = free_port_range(8);
        let mut launch = Launch::default()
            .env("CONCORD_PORT_BASE", base.to_string())
            .env("CONCORD_SHUTDOWN_GRACE_SECS", "10")
            // How long a stopping process keeps serving while its health
            // says NOT_SERVING, so that probes and load balancers see it.
            .env("CONCORD_SHUTDOWN_DRAIN_SECS", "1");
        for (target, offset) in TARGETS.iter().filter(|(t, _)| *t != "gateway") {
            launch = launch.env(
                &format!("CONCORD_UPSTREAMS__{}", target.to_uppercase()),
                format!("http://127.0.0.1:{}", base + offset),
            );
        }
        if let Backend::Postgres(url) = backend {
            let redis = concord_kit::testing::redis_url()
                .expect("set CONCORD_TEST_REDIS_URL with CONCORD_TEST_DATABASE_URL");
            launch = launch
                .env(
                    "DATABASE_URL",
                    concord_kit::testing::fresh_database(url).await,
                )
                .env("REDIS_URL", redis);
        }
        let mut d = Deployment {
            data: tempfile::tempdir().expect("temp dir"),
            base,
            launch,
            processes: BTreeMap::new(),
        };
        for (target, _) in TARGETS {
            d.up(target).await;
        }
        // The gateway answers UNAVAILABLE until its connection to an
        // upstream is up; its health says SERVING for a service from then.
        let gateway = format!("http://{}", d.addr("gateway"));
        for service in concord_proto::policy_table::services() {
            concord_kit::testing::wait_serving(&gateway, service).await;
        }
        d
    }

    async fn up(&mut self, target: &'static str) {
        let process = Concord::start(self.data.path(), self.launch.clone().target(target)).await;
        self.processes.insert(target, process);
    }

    fn addr(&self, target: &str) -> SocketAddr {
        let offset = TARGETS
            .iter()
            .find(|(t, _)| *t == target)
            .expect("target")
            .1;
        SocketAddr::from(([127, 0, 0, 1], self.base + offset))
    }

    async fn gateway(&self, token: &str) -> Authed {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr("gateway")))
                .expect("url")
                .connect_lazy();
        authed(channel, Some(token))
    }
}

/// What the writers need: a department, a person in it.
struct Fixtures {
    office: Department,
}

/// One create on `target` (through the gateway), with `request_id`; the
/// created resource's create time.
async fn create(
    gateway: Authed,
    target: &str,
    fx: &Fixtures,
    request_id: String,
) -> Result<prost_types::Timestamp, tonic::Status> {
    let office = fx.office.id.clone();
    let far = Some(prost_types::Timestamp {
        seconds: 4_102_444_800, // 2100
        nanos: 0,
    });
    let time = match target {
        "directory" | "gateway" => {
            dir::directory_service_client::DirectoryServiceClient::new(gateway)
                .create_department(dir::CreateDepartmentRequest {
                    name: format!("停机演练科 {request_id}"),
                    request_id,
                    parent_id: office,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .create_time
        }
        "notices" => {
            no::notice_service_client::NoticeServiceClient::new(gateway)
                .create_notice(no::CreateNoticeRequest {
                    title: format!("停机演练 {request_id}"),
                    request_id,
                    body: "Shutdown drill.".into(),
                    audience: Some(no::Audience {
                        department_ids: vec![office],
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .create_time
        }
        "decisions" => {
            de::decision_service_client::DecisionServiceClient::new(gateway)
                .create_proposal(de::CreateProposalRequest {
                    title: format!("停机演练提案 {request_id}"),
                    request_id,
                    background: "Drill.".into(),
                    owning_department_id: office.clone(),
                    participants: vec![de::Participant {
                        department_id: office,
                        role: de::ParticipationRole::Approving as i32,
                    }],
                    rule: de::VotingRule::SimpleMajority as i32,
                    electorate: de::Electorate::ApprovingMembers as i32,
                    consultation_end_time: far,
                    voting_end_time: Some(prost_types::Timestamp {
                        seconds: 4_102_531_200,
                        nanos: 0,
                    }),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .create_time
        }
        "feedback" => fb::feedback_service_client::FeedbackServiceClient::new(gateway)
            .submit_feedback(fb::SubmitFeedbackRequest {
                subject: format!("停机演练反馈 {request_id}"),
                request_id,
                channel: fb::Channel::WebForm as i32,
                category: fb::Category::Suggestion as i32,
                body: "Drill.".into(),
                department_id: office,
                ..Default::default()
            })
            .await?
            .into_inner()
            .item
            .and_then(|i| i.create_time),
        "emergency" => {
            em::emergency_service_client::EmergencyServiceClient::new(gateway)
                .create_plan(em::CreatePlanRequest {
                    plan: Some(em::Plan {
                        title: format!("停机演练预案 {request_id}"),
                        incident_type: em::IncidentType::Other as i32,
                        severity: em::Severity::Iv as i32,
                        owner_department_id: office.clone(),
                        steps: vec![em::PlanStep {
                            title: "报告".into(),
                            department_id: office,
                            target_minutes: 30,
                            ..Default::default()
                        }],
                        acknowledgement_timeout: Some(prost_types::Duration {
                            seconds: 600,
                            nanos: 0,
                        }),
                        ..Default::default()
                    }),
                    request_id,
                })
                .await?
                .into_inner()
                .create_time
        }
        "appraisal" => {
            ap::appraisal_service_client::AppraisalServiceClient::new(gateway)
                .create_indicator_set(ap::CreateIndicatorSetRequest {
                    name: format!("停机演练指标 {request_id}"),
                    request_id,
                    indicators: vec![ap::Indicator {
                        code: "quality".into(),
                        name: "工作质量".into(),
                        dimension: ap::Dimension::Quality as i32,
                        weight: 100,
                        rule: ap::ScoringRule::Manual as i32,
                        source: ap::Source::Manual as i32,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .await?
                .into_inner()
                .create_time
        }
        "training" => {
            tr::development_service_client::DevelopmentServiceClient::new(gateway)
                .create_development_plan(tr::CreateDevelopmentPlanRequest {
                    title: format!("停机演练发展计划 {request_id}"),
                    request_id,
                    person_id: fx.office.members[0].id.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .create_time
        }
        other => panic!("no create for {other}"),
    };
    time.ok_or_else(|| tonic::Status::internal("no create_time"))
}

/// One call of the load.
#[derive(Debug, Clone)]
struct Call {
    request_id: String,
    started: Instant,
    ended: Instant,
    code: Code,
    message: String,
}

/// What happened around one SIGTERM.
#[derive(Debug, Default)]
struct Round {
    calls: usize,
    in_flight_at_term: usize,
    /// Failed calls whose create had nevertheless happened.
    processed_but_failed: Vec<String>,
    /// Failures that were neither UNAVAILABLE nor the client's CANCELLED
    /// for a request its connection closed under before sending it.
    wrong_codes: Vec<String>,
    /// Calls refused before they started (checked: their create had not
    /// happened).
    refused_calls: usize,
    /// NOT_SERVING pushed to a health watch, after SIGTERM.
    not_serving_after: Option<Duration>,
    /// A readiness probe (new connection, Check) saw NOT_SERVING, after
    /// SIGTERM; and found the port refusing, after SIGTERM.
    probe_not_serving_after: Option<Duration>,
    refused_after: Option<Duration>,
    exited_cleanly: Option<bool>,
}

async fn terminate_under_load(d: &mut Deployment, target: &'static str, fx: &Fixtures) -> Round {
    let admin = admin();
    let addr = d.addr(target);
    // Health, watched on the target's own port.
    let health_name = match target {
        "gateway" => "concord.directory.v1.DirectoryService".to_string(),
        t => concord_proto::policy_table::services()
            .into_iter()
            .find(|s| s.starts_with(&format!("concord.{t}.")))
            .expect("a service of the target")
            .to_string(),
    };
    let mut health = HealthClient::new(
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect()
            .await
            .expect("health connection"),
    )
    .watch(HealthCheckRequest {
        service: health_name.clone(),
    })
    .await
    .expect("watch health")
    .into_inner();
    let probe_name = health_name;
    let first = health.next().await.expect("a status").expect("status");
    assert_eq!(first.status, ServingStatus::Serving as i32);

    // The request is right: one create succeeds before anything breaks.
    // (Retried while UNAVAILABLE: the previous round restarted a target
    // the gateway may still be reconnecting to.)
    let gateway = d.gateway(&admin).await;
    retry(|| create(gateway.clone(), target, fx, format!("term-{target}-first"))).await;

    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let stop_load = tokio_util::sync::CancellationToken::new();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let gateway = d.gateway(&admin).await;
        let (calls, stop) = (calls.clone(), stop_load.clone());
        let fx_office = fx.office.clone();
        writers.push(tokio::spawn(async move {
            let fx = Fixtures { office: fx_office };
            let mut n = 0;
            while !stop.is_cancelled() {
                n += 1;
                let request_id = format!("term-{target}-{w}-{n}");
                let started = Instant::now();
                let result = tokio::time::timeout(
                    Duration::from_secs(20),
                    create(gateway.clone(), target, &fx, request_id.clone()),
                )
                .await
                .unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("no answer in 20 s")));
                let (code, message) = match &result {
                    Ok(_) => (Code::Ok, String::new()),
                    Err(s) => (s.code(), s.message().to_string()),
                };
                calls.lock().expect("calls").push(Call {
                    request_id,
                    started,
                    ended: Instant::now(),
                    code,
                    message,
                });
                if code != Code::Ok {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    tokio::time::sleep(LOAD_BEFORE).await;

    let process = d.processes.get_mut(target).expect("running");
    let term = Instant::now();
    process.terminate();
    // A readiness probe as Kubernetes runs it: a new connection and a
    // health check, over and over, until the port refuses.
    let probe_name = probe_name.clone();
    let prober = tokio::spawn(async move {
        let mut seen_not_serving = None;
        loop {
            let Ok(channel) = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .expect("url")
                .connect()
                .await
            else {
                return (seen_not_serving, Instant::now());
            };
            let status = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: probe_name.clone(),
                })
                .await;
            if let Ok(r) = status
                && r.into_inner().status == ServingStatus::NotServing as i32
            {
                seen_not_serving.get_or_insert_with(Instant::now);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let not_serving = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(Ok(s)) = health.next().await {
            if s.status == ServingStatus::NotServing as i32 {
                return Some(Instant::now());
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    // Let the drain finish: no stream of ours holds it open any more.
    drop(health);
    let exited = process.wait(Duration::from_secs(15)).await;
    let probed = tokio::time::timeout(Duration::from_secs(5), prober)
        .await
        .ok()
        .map(|r| r.expect("prober"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_load.cancel();
    for w in writers {
        w.await.expect("writer");
    }

    // Back up; then every failed create is retried with its request id: one
    // that had happened before the restart was a failed in-flight call.
    let restarted = SystemTime::now();
    d.up(target).await;
    let calls = calls.lock().expect("calls").clone();
    let mut round = Round {
        calls: calls.len(),
        in_flight_at_term: calls
            .iter()
            .filter(|c| c.started < term && c.ended > term)
            .count(),
        not_serving_after: not_serving.map(|t| t - term),
        probe_not_serving_after: probed.and_then(|(ns, _)| ns).map(|t| t - term),
        refused_after: probed.map(|(_, refused)| refused - term),
        exited_cleanly: exited,
        ..Round::default()
    };
    let gateway = d.gateway(&admin).await;
    for c in calls.iter().filter(|c| c.code != Code::Ok) {
        let refused_by_client = c.code == Code::Cancelled && c.message == "operation was canceled";
        if c.code != Code::Unavailable && !refused_by_client {
            round
                .wrong_codes
                .push(format!("{}: {:?} {}", c.request_id, c.code, c.message));
        }
        let created = retry(|| create(gateway.clone(), target, fx, c.request_id.clone())).await;
        let created = SystemTime::UNIX_EPOCH
            + Duration::new(
                u64::try_from(created.seconds).expect("after 1970"),
                u32::try_from(created.nanos).unwrap_or(0),
            );
        if created >= restarted {
            round.refused_calls += 1;
        } else {
            round.processed_but_failed.push(format!(
                "{} ({:?} {} after {:?})",
                c.request_id,
                c.code,
                c.message,
                c.ended - c.started
            ));
        }
    }
    round
}

/// Retries while UNAVAILABLE (the gateway reconnects to a restarted
/// upstream with a short backoff), for up to ten seconds.
async fn retry<F, Fut, T>(call: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match call().await {
            Ok(t) => return t,
            Err(s) if s.code() == Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => panic!("retrying a create: {s:?}"),
        }
    }
}

async fn sigterm_under_load_fails_no_call_in_flight(backend: Backend) {
    concord_kit::testing::init_log();
    let mut d = Deployment::start(&backend).await;
    let office = org::department(d.gateway(&admin()).await, "停机演练处", None, 1).await;
    let fx = Fixtures { office };
    let mut tally = Tally::new("SIGTERM to each target under load", &backend);
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for (target, _) in TARGETS {
        let round = terminate_under_load(&mut d, target, &fx).await;
        tally.calls += round.calls as u64;
        tally.faults += 1;
        tally.failed += (round.processed_but_failed.len() + round.wrong_codes.len()) as u64;
        notes.push(format!(
            "{target}: {} in flight at SIGTERM all done, {} refused before starting; NOT_SERVING pushed after {:?}, seen by a probe after {:?}, port closed after {:?}",
            round.in_flight_at_term,
            round.refused_calls,
            round.not_serving_after,
            round.probe_not_serving_after,
            round.refused_after
        ));
        if !round.processed_but_failed.is_empty() || !round.wrong_codes.is_empty() {
            problems.push(format!(
                "{target}: failed although done: {:?}; not UNAVAILABLE: {:?}",
                round.processed_but_failed, round.wrong_codes
            ));
        }
        // A probe must see NOT_SERVING before the port closes, or a load
        // balancer never learns to stop sending before calls are refused.
        match (round.probe_not_serving_after, round.refused_after) {
            (Some(ns), Some(refused)) if ns < refused => {}
            (ns, refused) => problems.push(format!(
                "{target}: a readiness probe saw NOT_SERVING after {ns:?}, the port closed after {refused:?}"
            )),
        }
        if round.exited_cleanly != Some(true) {
            problems.push(format!(
                "{target}: exit after SIGTERM: {:?}",
                round.exited_cleanly
            ));
        }
    }
    tally.note = notes.join("; ");
    tally.report();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

concord_kit::backend_tests!(sigterm_under_load_fails_no_call_in_flight);

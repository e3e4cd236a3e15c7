//! The harness of the appraisal's integration tests: a real directory and a
//! real appraisal server on port 0 over fresh databases (SQLite, or
//! PostgreSQL when `CONCORD_TEST_DATABASE_URL` is set), a manual clock
//! shared by every server, an organisation with departments and people, and
//! on demand the real notices, emergency, feedback, decisions and training
//! servers the automatic indicators are read from.
#![allow(dead_code)]

#[allow(unused_imports)] // not every test binary uses each
pub use concord_kit::testing::{eventually, fails};
use std::sync::Arc;
use std::time::Duration;

use concord_kit::bus::InProcessBus;
use concord_kit::clock::{ManualClock, SharedClock, to_timestamp};
use concord_kit::server::Limits;
use concord_kit::target::Target;
use concord_kit::testing::{self, Backend, TestDb, TestServer, bad_fields, token, with_token};
use concord_proto::appraisal::v1::appraisal_service_client::AppraisalServiceClient;
use concord_proto::appraisal::v1::*;
use concord_proto::directory::v1 as dir;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::policy::v1::Role;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// 2026-10-01 08:00 Asia/Shanghai.
pub const T0: i64 = 1_790_812_800_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

pub type Client = AppraisalServiceClient<Channel>;

/// A person of the test organisation with their token.
#[derive(Debug, Clone)]
pub struct Who {
    pub id: String,
    pub department_id: String,
    pub token: String,
}

impl Who {
    /// `m` with this person's token.
    pub fn req<T>(&self, m: T) -> tonic::Request<T> {
        with_token(m, &self.token)
    }
}

/// The test organisation.
///
/// 总部 hq (head 王总)
/// ├── 办公室 office (head 李主任; 张三, 李四, coordinator 周协调)
/// │   └── 文书科 records (head 孙科长; 赵六)
/// └── 信息中心 it (head Chen IT; Qian Helpdesk)
/// admin and auditor sit in hq.
#[derive(Debug, Clone)]
pub struct Org {
    pub hq: String,
    pub office: String,
    pub records: String,
    pub it: String,
    pub hq_head: Who,
    pub office_head: Who,
    pub zhang: Who,
    pub li: Who,
    pub coordinator: Who,
    pub records_head: Who,
    pub zhao: Who,
    pub it_head: Who,
    pub qian: Who,
    pub admin: Who,
    pub auditor: Who,
    /// A service identity.
    pub service: Who,
}

/// A running appraisal instance.
pub struct Replica {
    pub server: TestServer,
    pub client: Client,
    pub shutdown: CancellationToken,
}

impl Replica {
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.server.stop().await.expect("appraisal stops cleanly");
    }
}

/// Another service of the suite, running for a test.
struct Running {
    server: TestServer,
    shutdown: CancellationToken,
    _db: TestDb,
}

pub struct Suite {
    pub backend: Backend,
    pub clock: Arc<ManualClock>,
    pub org: Org,
    pub dir: DirectoryServiceClient<Channel>,
    /// Addresses of the running targets, the directory first.
    pub urls: Vec<(&'static str, String)>,
    pub appraisal: Option<Replica>,
    pub app_db: TestDb,
    others: Vec<Running>,
}

impl Drop for Suite {
    fn drop(&mut self) {
        for r in &self.others {
            r.shutdown.cancel();
        }
        if let Some(r) = &self.appraisal {
            r.shutdown.cancel();
        }
    }
}

/// The targets the automatic indicators read, in start order.
const SOURCES: [Target; 5] = [
    concord_notices::TARGET,
    concord_emergency::TARGET,
    concord_feedback::TARGET,
    concord_decisions::TARGET,
    concord_training::TARGET,
];

impl Suite {
    /// A directory, the organisation and an appraisal server.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// Also the notices, emergency, feedback, decisions and training servers.
    pub async fn with_sources(backend: Backend) -> Self {
        Self::start_with(backend, &SOURCES.map(|t| t.name)).await
    }

    /// Also the named source targets (in their start order).
    pub async fn start_with(backend: Backend, sources: &[&str]) -> Self {
        let clock = ManualClock::new(T0);
        let mut others = Vec::new();
        let directory = Self::run(&backend, &clock, concord_directory::TARGET, &[]).await;
        let dir_url = directory.server.url();
        let dir = DirectoryServiceClient::new(directory.server.channel().await);
        let org = build_org(&dir).await;
        let mut urls = vec![("directory", dir_url)];
        others.push(directory);
        for target in SOURCES {
            if sources.contains(&target.name) {
                let running = Self::run(&backend, &clock, target, &urls).await;
                urls.push((target.name, running.server.url()));
                others.push(running);
            }
        }
        let app_db = backend.fresh("appraisal");
        let mut suite = Self {
            backend,
            clock,
            org,
            dir,
            urls,
            appraisal: None,
            app_db,
            others,
        };
        suite.appraisal = Some(suite.replica().await);
        suite
    }

    async fn run(
        backend: &Backend,
        clock: &Arc<ManualClock>,
        target: Target,
        upstreams: &[(&str, String)],
    ) -> Running {
        let db = backend.fresh(target.name);
        let ctx = testing::context(
            db.location.clone(),
            clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(upstreams, target.name),
        );
        let shutdown = ctx.shutdown.clone();
        let service = (target.start)(ctx).await.expect("target starts");
        Running {
            server: testing::spawn(service, Limits::default()).await,
            shutdown,
            _db: db,
        }
    }

    /// The URL of a running target.
    pub fn url(&self, target: &str) -> String {
        self.urls
            .iter()
            .find(|(n, _)| *n == target)
            .map(|(_, u)| u.clone())
            .unwrap_or_else(|| panic!("{target} is not running"))
    }

    /// A channel to a running target.
    pub async fn channel(&self, target: &str) -> Channel {
        tonic::transport::Endpoint::from_shared(self.url(target))
            .expect("url")
            .connect()
            .await
            .expect("connect")
    }

    /// Starts another appraisal instance over the same database, reaching
    /// the running targets.
    pub async fn replica(&self) -> Replica {
        self.replica_with(&self.urls).await
    }

    /// An appraisal instance reaching only `upstreams`.
    pub async fn replica_with(&self, upstreams: &[(&str, String)]) -> Replica {
        let ctx = testing::context(
            self.app_db.location.clone(),
            self.clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(upstreams, "appraisal"),
        );
        let shutdown = ctx.shutdown.clone();
        let service = (concord_appraisal::TARGET.start)(ctx)
            .await
            .expect("appraisal starts");
        let server = testing::spawn(service, Limits::default()).await;
        let client = AppraisalServiceClient::new(server.channel().await);
        Replica {
            server,
            client,
            shutdown,
        }
    }

    /// Stops the appraisal and starts it again on the same database, as a
    /// redeploy would, reaching `upstreams`.
    pub async fn restart_with(&mut self, upstreams: &[(&str, String)]) {
        if let Some(r) = self.appraisal.take() {
            r.stop().await;
        }
        self.appraisal = Some(self.replica_with(upstreams).await);
    }

    pub fn c(&self) -> Client {
        self.appraisal
            .as_ref()
            .expect("appraisal runs")
            .client
            .clone()
    }

    /// Moves the manual clock by `ms`.
    pub fn advance(&self, ms: i64) {
        self.clock
            .advance(Duration::from_millis(u64::try_from(ms).expect("forward")));
    }

    pub fn now(&self) -> i64 {
        use concord_kit::clock::Clock;
        self.clock.now_ms()
    }

    /// Creates an indicator set as admin.
    pub async fn create_set(&self, name: &str, indicators: Vec<Indicator>) -> IndicatorSet {
        self.c()
            .create_indicator_set(self.org.admin.req(CreateIndicatorSetRequest {
                name: name.into(),
                description: "考核指标 appraisal indicators".into(),
                indicators,
                ..Default::default()
            }))
            .await
            .expect("create set")
            .into_inner()
    }

    /// Creates a cycle as `who`.
    pub async fn create_cycle(&self, who: &Who, req: CreateCycleRequest) -> Cycle {
        self.c()
            .create_cycle(who.req(req))
            .await
            .expect("create cycle")
            .into_inner()
    }

    /// Moves a cycle one stage on as `who`.
    pub async fn advance_cycle(&self, who: &Who, cycle: &Cycle) -> Cycle {
        self.c()
            .advance_cycle(who.req(AdvanceCycleRequest {
                id: cycle.id.clone(),
                from_stage: cycle.stage,
                etag: String::new(),
            }))
            .await
            .expect("advance cycle")
            .into_inner()
    }

    pub async fn get_cycle(&self, who: &Who, id: &str) -> Cycle {
        self.c()
            .get_cycle(who.req(GetCycleRequest { id: id.into() }))
            .await
            .expect("get cycle")
            .into_inner()
    }

    pub async fn assign(&self, who: &Who, cycle: &str, subject: &str, reviewer: &Who) {
        self.c()
            .assign_reviewer(who.req(AssignReviewerRequest {
                cycle_id: cycle.into(),
                subject_id: subject.into(),
                reviewer_id: reviewer.id.clone(),
            }))
            .await
            .expect("assign reviewer");
    }

    pub async fn score(
        &self,
        reviewer: &Who,
        cycle: &str,
        subject: &str,
        code: &str,
        value: f64,
    ) -> Score {
        self.c()
            .submit_score(reviewer.req(SubmitScoreRequest {
                cycle_id: cycle.into(),
                subject_id: subject.into(),
                indicator_code: code.into(),
                value,
                comment: format!("{code}: 表现稳定 steady work"),
            }))
            .await
            .expect("submit score")
            .into_inner()
    }

    pub async fn scorecard(
        &self,
        who: &Who,
        cycle: &str,
        subject: &str,
    ) -> Result<Scorecard, Status> {
        self.c()
            .get_scorecard(who.req(GetScorecardRequest {
                cycle_id: cycle.into(),
                subject_id: subject.into(),
            }))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Polls the cycle until `done` holds (ten seconds at most).
    pub async fn cycle_until(&self, id: &str, what: &str, done: impl Fn(&Cycle) -> bool) -> Cycle {
        let admin = self.org.admin.clone();
        eventually(what, || async {
            let c = self.get_cycle(&admin, id).await;
            done(&c).then_some(c)
        })
        .await
    }
}

pub fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    Some(to_timestamp(ms))
}

/// An indicator scored by reviewers 0..100.
pub fn manual(code: &str, name: &str, dimension: Dimension, weight: i32) -> Indicator {
    Indicator {
        code: code.into(),
        name: name.into(),
        dimension: dimension as i32,
        weight,
        rule: ScoringRule::Manual as i32,
        source: Source::Manual as i32,
        ..Default::default()
    }
}

/// An indicator read from `source`, linear between `floor` and `target`.
pub fn linear(
    code: &str,
    name: &str,
    weight: i32,
    source: Source,
    floor: f64,
    target: f64,
) -> Indicator {
    Indicator {
        code: code.into(),
        name: name.into(),
        dimension: Dimension::Efficiency as i32,
        weight,
        rule: ScoringRule::Linear as i32,
        floor,
        target,
        lower_is_better: floor > target,
        source: source as i32,
        ..Default::default()
    }
}

/// The set most cycle tests use: quality 50 (manual), efficiency 30
/// (manual value, 0 at 0 and 100 at 20 tasks), attitude 20 (manual).
pub fn staff_indicators() -> Vec<Indicator> {
    vec![
        manual("quality", "工作质量", Dimension::Quality, 50),
        Indicator {
            code: "efficiency".into(),
            name: "办结事项数 Tasks done".into(),
            dimension: Dimension::Efficiency as i32,
            weight: 30,
            rule: ScoringRule::Linear as i32,
            floor: 0.0,
            target: 20.0,
            source: Source::Manual as i32,
            ..Default::default()
        },
        manual("attitude", "服务态度", Dimension::Attitude, 20),
    ]
}

/// A person cycle owned by `owner` over [T0, T0 + 30 days).
pub fn person_cycle(set: &IndicatorSet, owner: &str, people: &[&Who]) -> CreateCycleRequest {
    CreateCycleRequest {
        name: "2026 年第四季度个人考核".into(),
        description: "Q4 staff appraisal".into(),
        indicator_set_id: set.id.clone(),
        subject_kind: SubjectKind::Person as i32,
        subject_ids: people.iter().map(|p| p.id.clone()).collect(),
        owner_department_id: owner.into(),
        period_start_time: ts(T0),
        period_end_time: ts(T0 + 30 * DAY),
        self_assessment: true,
        ..Default::default()
    }
}

/// A call that must fail with INVALID_ARGUMENT naming exactly `fields`.
#[track_caller]
pub fn names_fields<T: std::fmt::Debug>(r: Result<tonic::Response<T>, Status>, fields: &[&str]) {
    let s = fails(r, Code::InvalidArgument);
    let mut got = bad_fields(&s);
    got.sort();
    got.dedup();
    let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{s:?}");
}

async fn department(
    dir: &DirectoryServiceClient<Channel>,
    admin: &str,
    name: &str,
    parent: &str,
) -> String {
    dir.clone()
        .create_department(with_token(
            dir::CreateDepartmentRequest {
                name: name.into(),
                parent_id: parent.into(),
                ..Default::default()
            },
            admin,
        ))
        .await
        .expect("create department")
        .into_inner()
        .id
}

async fn person(
    dir: &DirectoryServiceClient<Channel>,
    admin: &str,
    name: &str,
    department_id: &str,
    roles: &[Role],
) -> Who {
    let p = dir
        .clone()
        .create_person(with_token(
            dir::CreatePersonRequest {
                display_name: name.into(),
                department_id: department_id.into(),
                roles: roles.iter().map(|r| *r as i32).collect(),
                ..Default::default()
            },
            admin,
        ))
        .await
        .expect("create person")
        .into_inner();
    Who {
        token: token(&p.id, roles, Some(department_id)),
        id: p.id,
        department_id: department_id.into(),
    }
}

async fn build_org(dir: &DirectoryServiceClient<Channel>) -> Org {
    let bootstrap = token("bootstrap-admin", &[Role::Admin], None);
    let a = bootstrap.as_str();
    let hq = department(dir, a, "总部", "").await;
    let office = department(dir, a, "办公室", &hq).await;
    let records = department(dir, a, "文书科", &office).await;
    let it = department(dir, a, "信息中心", &hq).await;
    Org {
        hq_head: person(dir, a, "王总", &hq, &[Role::DepartmentHead]).await,
        office_head: person(dir, a, "李主任", &office, &[Role::DepartmentHead]).await,
        zhang: person(dir, a, "张三", &office, &[Role::Member]).await,
        li: person(dir, a, "李四", &office, &[Role::Member]).await,
        coordinator: person(dir, a, "周协调", &office, &[Role::Coordinator]).await,
        records_head: person(dir, a, "孙科长", &records, &[Role::DepartmentHead]).await,
        zhao: person(dir, a, "赵六", &records, &[Role::Member]).await,
        it_head: person(dir, a, "Chen IT", &it, &[Role::DepartmentHead]).await,
        qian: person(dir, a, "Qian Helpdesk", &it, &[Role::Member]).await,
        admin: person(dir, a, "系统管理员", &hq, &[Role::Admin]).await,
        auditor: person(dir, a, "审计员", &hq, &[Role::Auditor]).await,
        service: Who {
            id: "notices".into(),
            department_id: String::new(),
            token: token("notices", &[Role::Service], None),
        },
        hq,
        office,
        records,
        it,
    }
}

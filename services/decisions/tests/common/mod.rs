//! A real suite for the decisions tests: the directory, the notices and the
//! decisions servers on port 0, each over a fresh database of the backend
//! under test, with a manual clock; an organisation of departments and
//! people in Chinese and English; typed clients and tokens.
#![allow(dead_code)]

#[allow(unused_imports)] // not every test binary uses each
pub use concord_kit::testing::fails;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use concord_decisions::{InformError, Informer, OutcomeNotice};
use concord_kit::bus::InProcessBus;
use concord_kit::clock::{ManualClock, SharedClock, to_timestamp};
use concord_kit::server::Limits;
use concord_kit::target::Context;
use concord_kit::testing::{self, Backend, TestDb, TestServer, bad_fields, token, with_token};
use concord_proto::decisions::v1::action_item_service_client::ActionItemServiceClient;
use concord_proto::decisions::v1::decision_service_client::DecisionServiceClient;
use concord_proto::decisions::v1::*;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::directory::v1::{CreateDepartmentRequest, CreatePersonRequest, Person};
use concord_proto::policy::v1::Role;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// The suite's start: 2026-09-21 (UTC).
pub const T0: i64 = 1_790_000_000_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

pub type Proposals = DecisionServiceClient<Channel>;
pub type Items = ActionItemServiceClient<Channel>;

/// Somebody who can call: a token and, for people, their directory entry.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: String,
    pub department_id: String,
    pub token: String,
}

impl Caller {
    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        with_token(msg, &self.token)
    }
}

/// The organisation every test starts with.
#[derive(Debug, Clone)]
pub struct Org {
    pub root: String,
    /// 信息中心, with the sub-department 网络科.
    pub it: String,
    pub network: String,
    /// 后勤保障处
    pub logistics: String,
    /// 财务处
    pub finance: String,
    /// The head of 信息中心 and its three members.
    pub it_head: Caller,
    pub it_members: Vec<Caller>,
    /// A member of 网络科 (below 信息中心).
    pub network_member: Caller,
    pub logistics_head: Caller,
    pub logistics_members: Vec<Caller>,
    pub finance_head: Caller,
    pub finance_member: Caller,
    /// The coordination post, in 总部.
    pub coordinator: Caller,
    pub admin: Caller,
    pub auditor: Caller,
    pub service: Caller,
}

/// Outcome notices a test informer received.
#[derive(Debug, Default)]
pub struct Recorder {
    pub notices: Mutex<Vec<OutcomeNotice>>,
    /// Fail with these errors first, in order.
    pub failures: Mutex<Vec<InformError>>,
}

#[async_trait::async_trait]
impl Informer for Recorder {
    async fn inform(&self, notice: &OutcomeNotice) -> Result<String, InformError> {
        if let Some(e) = {
            let mut f = self.failures.lock().unwrap();
            (!f.is_empty()).then(|| f.remove(0))
        } {
            return Err(e);
        }
        let mut n = self.notices.lock().unwrap();
        n.push(notice.clone());
        Ok(format!("notice-{}", n.len()))
    }
}

/// How the decisions under test tell outcomes.
#[derive(Debug, Clone)]
pub enum Telling {
    /// Through the real notices server.
    Notices,
    /// Into a recorder.
    Recorder(Arc<Recorder>),
}

/// One running decisions instance.
pub struct Instance {
    pub proposals: Proposals,
    pub items: Items,
    pub server: TestServer,
    pub shutdown: tokio_util::sync::CancellationToken,
}

pub struct Suite {
    pub backend: Backend,
    pub clock: Arc<ManualClock>,
    pub org: Org,
    pub directory: DirectoryServiceClient<Channel>,
    pub directory_url: String,
    pub notices_url: String,
    pub telling: Telling,
    pub db: TestDb,
    pub instance: Option<Instance>,
    _directory: TestServer,
    _notices: TestServer,
    _directory_db: TestDb,
    _notices_db: TestDb,
}

fn caller(p: &Person, roles: &[Role]) -> Caller {
    Caller {
        id: p.id.clone(),
        department_id: p.department_id.clone(),
        token: token(&p.id, roles, Some(&p.department_id)),
    }
}

impl Suite {
    /// The suite with outcomes told through the real notices server.
    pub async fn start(backend: Backend) -> Self {
        Self::start_telling(backend, Telling::Notices).await
    }

    pub async fn start_telling(backend: Backend, telling: Telling) -> Self {
        let clock = ManualClock::new(T0);
        let directory_db = backend.fresh("directory");
        let ctx = testing::context(
            directory_db.location.clone(),
            clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(&[], "directory"),
        );
        let directory_server = testing::spawn(
            (concord_directory::TARGET.start)(ctx)
                .await
                .expect("directory starts"),
            Limits::default(),
        )
        .await;
        let notices_db = backend.fresh("notices");
        let ctx = testing::context(
            notices_db.location.clone(),
            clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(&[("directory", directory_server.url())], "notices"),
        );
        let notices_server = testing::spawn(
            (concord_notices::TARGET.start)(ctx)
                .await
                .expect("notices start"),
            Limits::default(),
        )
        .await;
        let directory = DirectoryServiceClient::new(directory_server.channel().await);
        let admin = Caller {
            id: "admin-1".into(),
            department_id: String::new(),
            token: token("admin-1", &[Role::Admin], None),
        };
        let org = build_org(&directory, admin).await;
        let mut suite = Suite {
            backend: backend.clone(),
            clock,
            org,
            directory,
            directory_url: directory_server.url(),
            notices_url: notices_server.url(),
            telling,
            db: backend.fresh("decisions"),
            instance: None,
            _directory: directory_server,
            _notices: notices_server,
            _directory_db: directory_db,
            _notices_db: notices_db,
        };
        suite.instance = Some(suite.launch().await);
        suite
    }

    fn context(&self) -> Context {
        testing::context(
            self.db.location.clone(),
            self.clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(
                &[
                    ("directory", self.directory_url.clone()),
                    ("notices", self.notices_url.clone()),
                ],
                "decisions",
            ),
        )
    }

    /// Starts another decisions instance over the same database (a replica,
    /// or the service after a restart).
    pub async fn launch(&self) -> Instance {
        let ctx = self.context();
        let shutdown = ctx.shutdown.clone();
        let service = match &self.telling {
            Telling::Notices => (concord_decisions::TARGET.start)(ctx).await,
            Telling::Recorder(r) => concord_decisions::start_with(ctx, r.clone()).await,
        }
        .expect("decisions start");
        let server = testing::spawn(service, Limits::default()).await;
        let channel = server.channel().await;
        Instance {
            proposals: DecisionServiceClient::new(channel.clone()),
            items: ActionItemServiceClient::new(channel),
            server,
            shutdown,
        }
    }

    /// Stops the running instance (server and deadline worker) and starts a
    /// new one over the same database.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.instance = Some(self.launch().await);
    }

    /// Stops the running instance.
    pub async fn stop(&mut self) {
        if let Some(i) = self.instance.take() {
            i.shutdown.cancel();
            i.server.stop().await.expect("decisions stops");
        }
    }

    pub fn p(&self) -> Proposals {
        self.instance.as_ref().expect("running").proposals.clone()
    }

    pub fn i(&self) -> Items {
        self.instance.as_ref().expect("running").items.clone()
    }

    pub fn now(&self) -> i64 {
        use concord_kit::clock::Clock;
        self.clock.now_ms()
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: i64) {
        self.clock
            .advance(Duration::from_millis(u64::try_from(ms).expect("forward")));
    }

    /// A new member of `department_id` with `roles`.
    pub async fn person(&self, name: &str, department_id: &str, roles: &[Role]) -> Caller {
        let p = self
            .directory
            .clone()
            .create_person(self.org.admin.req(CreatePersonRequest {
                display_name: name.into(),
                department_id: department_id.into(),
                roles: roles.iter().map(|r| *r as i32).collect(),
                ..Default::default()
            }))
            .await
            .expect("create person")
            .into_inner();
        caller(&p, roles)
    }

    pub async fn department(&self, name: &str, parent_id: &str) -> String {
        department(&self.directory, &self.org.admin, name, parent_id).await
    }

    /// A draft approve/reject proposal by `who`, approved by `approving`,
    /// under `rule` and `quorum_percent`, consultation for a day, voting for
    /// another.
    pub fn draft(
        &self,
        approving: &[&str],
        rule: VotingRule,
        quorum_percent: i32,
    ) -> CreateProposalRequest {
        CreateProposalRequest {
            title: "调整午休时间 Adjust the lunch break".into(),
            background: "## 背景\n夏季作息需要调整。".into(),
            participants: approving
                .iter()
                .map(|d| Participant {
                    department_id: d.to_string(),
                    role: ParticipationRole::Approving as i32,
                })
                .collect(),
            rule: rule as i32,
            quorum_percent,
            electorate: Electorate::ApprovingMembers as i32,
            consultation_end_time: Some(to_timestamp(self.now() + DAY)),
            voting_end_time: Some(to_timestamp(self.now() + 2 * DAY)),
            ..Default::default()
        }
    }

    pub async fn create(&self, who: &Caller, req: CreateProposalRequest) -> Proposal {
        self.p()
            .create_proposal(who.req(req))
            .await
            .expect("create proposal")
            .into_inner()
    }

    pub async fn get(&self, id: &str) -> Proposal {
        self.p()
            .get_proposal(self.org.admin.req(GetProposalRequest { id: id.into() }))
            .await
            .expect("get proposal")
            .into_inner()
    }

    pub async fn advance_by(
        &self,
        who: &Caller,
        id: &str,
        from: Stage,
        rationale: &str,
    ) -> Proposal {
        self.p()
            .advance_proposal(who.req(AdvanceProposalRequest {
                id: id.into(),
                from_stage: from as i32,
                rationale: rationale.into(),
            }))
            .await
            .unwrap_or_else(|e| panic!("advance from {from:?}: {e:?}"))
            .into_inner()
    }

    /// Creates `req` by `who` and moves it to voting.
    pub async fn voting(&self, who: &Caller, req: CreateProposalRequest) -> Proposal {
        let p = self.create(who, req).await;
        self.advance_by(who, &p.id, Stage::Draft, "").await;
        self.advance_by(who, &p.id, Stage::Consultation, "").await
    }

    pub async fn vote(&self, who: &Caller, proposal_id: &str, option_id: &str) -> Vote {
        self.p()
            .cast_vote(who.req(CastVoteRequest {
                proposal_id: proposal_id.into(),
                option_id: option_id.into(),
                abstain: option_id.is_empty(),
                reason: String::new(),
            }))
            .await
            .unwrap_or_else(|e| panic!("vote {option_id}: {e:?}"))
            .into_inner()
    }

    pub async fn tally(&self, who: &Caller, id: &str) -> Result<Tally, Status> {
        self.p()
            .get_tally(who.req(GetTallyRequest {
                proposal_id: id.into(),
            }))
            .await
            .map(|r| r.into_inner())
    }

    /// The whole history of a proposal, oldest first, as seen by `who`.
    pub async fn history(
        &self,
        who: &Caller,
        id: &str,
    ) -> Vec<concord_proto::audit::v1::AuditEntry> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .p()
                .list_proposal_history(who.req(ListProposalHistoryRequest {
                    proposal_id: id.into(),
                    page_size: 7,
                    page_token: page_token.clone(),
                }))
                .await
                .expect("history")
                .into_inner();
            out.extend(page.events);
            if page.next_page_token.is_empty() {
                return out;
            }
            page_token = page.next_page_token;
        }
    }

    /// The actions of a proposal's history, in order.
    pub async fn actions(&self, id: &str) -> Vec<String> {
        self.history(&self.org.admin, id)
            .await
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    /// Waits until `id` reaches `stage` (the deadline worker runs apart).
    pub async fn until_stage(&self, id: &str, stage: Stage) -> Proposal {
        eventually(|| async {
            let p = self.get(id).await;
            (p.stage == stage as i32).then_some(p)
        })
        .await
    }
}

async fn department(
    d: &DirectoryServiceClient<Channel>,
    admin: &Caller,
    name: &str,
    parent_id: &str,
) -> String {
    d.clone()
        .create_department(admin.req(CreateDepartmentRequest {
            name: name.into(),
            parent_id: parent_id.into(),
            ..Default::default()
        }))
        .await
        .expect("create department")
        .into_inner()
        .id
}

async fn build_org(d: &DirectoryServiceClient<Channel>, admin: Caller) -> Org {
    let root = department(d, &admin, "总部", "").await;
    let it = department(d, &admin, "信息中心", &root).await;
    let network = department(d, &admin, "网络科", &it).await;
    let logistics = department(d, &admin, "后勤保障处", &root).await;
    let finance = department(d, &admin, "Finance 财务处", &root).await;
    let person = |name: &'static str, dept: String, roles: &'static [Role]| {
        let d = d.clone();
        let admin = admin.clone();
        async move {
            let p = d
                .clone()
                .create_person(admin.req(CreatePersonRequest {
                    display_name: name.into(),
                    department_id: dept,
                    roles: roles.iter().map(|r| *r as i32).collect(),
                    ..Default::default()
                }))
                .await
                .expect("create person")
                .into_inner();
            caller(&p, roles)
        }
    };
    const HEAD: &[Role] = &[Role::DepartmentHead];
    const MEMBER: &[Role] = &[Role::Member];
    let it_head = person("李主任", it.clone(), HEAD).await;
    let mut it_members = Vec::new();
    for name in ["张三", "李四", "Alice Wang"] {
        it_members.push(person(name, it.clone(), MEMBER).await);
    }
    let network_member = person("冯七", network.clone(), MEMBER).await;
    let logistics_head = person("赵主任", logistics.clone(), HEAD).await;
    let mut logistics_members = Vec::new();
    for name in ["钱一", "孙二"] {
        logistics_members.push(person(name, logistics.clone(), MEMBER).await);
    }
    let finance_head = person("周主任", finance.clone(), HEAD).await;
    let finance_member = person("Bob Wu 吴六", finance.clone(), MEMBER).await;
    let coordinator = person("郑协调", root.clone(), &[Role::Coordinator]).await;
    Org {
        root,
        it,
        network,
        logistics,
        finance,
        it_head,
        it_members,
        network_member,
        logistics_head,
        logistics_members,
        finance_head,
        finance_member,
        coordinator,
        admin,
        auditor: Caller {
            id: "auditor-1".into(),
            department_id: String::new(),
            token: token("auditor-1", &[Role::Auditor], None),
        },
        service: Caller {
            id: "appraisal".into(),
            department_id: String::new(),
            token: token("appraisal", &[Role::Service], None),
        },
    }
}

/// Retries `check` until it yields a value (at most ten seconds).
pub async fn eventually<T, F, Fut>(check: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A call that must fail with INVALID_ARGUMENT naming exactly `fields`.
#[track_caller]
pub fn names<T: std::fmt::Debug>(r: Result<tonic::Response<T>, Status>, fields: &[&str]) {
    let s = fails(r, Code::InvalidArgument);
    let mut got = bad_fields(&s);
    got.sort();
    got.dedup();
    let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{s:?}");
}

pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

/// Retries `check`, moving the suite's clock by `step_ms` between tries: a
/// failed due action is retried after a backoff on the service's clock.
pub async fn eventually_advancing<T, F, Fut>(s: &Suite, step_ms: i64, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = check().await {
            return v;
        }
        s.advance(step_ms);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached in time");
}

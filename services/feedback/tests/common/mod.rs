//! The harness of feedback's integration tests: a real directory and a real
//! feedback server on port 0 over fresh databases (SQLite, or PostgreSQL
//! when `CONCORD_TEST_DATABASE_URL` is set), a manual clock, the bus
//! (in-process, or Redis on PostgreSQL runs when `CONCORD_TEST_REDIS_URL` is
//! set), and an organisation with departments, duties and people.
#![allow(dead_code)]

#[allow(unused_imports)] // not every test binary uses each
pub use concord_kit::testing::{eventually, fails, names_fields};
use std::sync::Arc;
use std::time::Duration;

use concord_kit::bus::{Delivery, InProcessBus, RedisBus, SharedBus, Subscription};
use concord_kit::clock::{ManualClock, SharedClock};
use concord_kit::server::Limits;
use concord_kit::testing::{self, Backend, TestDb, TestServer, token, with_token};
use concord_proto::directory::v1 as dir;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use concord_proto::feedback::v1::*;
use concord_proto::policy::v1::Role;
use prost::Message;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// 2026-10-01 08:00 Asia/Shanghai.
pub const T0: i64 = 1_790_812_800_000;
pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(3600);
pub const DAY: Duration = Duration::from_secs(86_400);

pub type Client = FeedbackServiceClient<Channel>;

/// A person of the test organisation with their token.
#[derive(Debug, Clone)]
pub struct Who {
    pub id: String,
    pub department_id: String,
    pub token: String,
}

/// The test organisation.
///
/// 总部 (hq, head `hq_head`)
/// ├── 后勤保障处 (logistics: buildings, repairs, cleaning; head, two members)
/// │   └── 维修班 (repairs: a member)
/// ├── 信息中心 (it: network, e-mail, printers; head, a member)
/// └── 人事处 (hr: recruitment, payroll; the submitters work here)
#[derive(Debug, Clone)]
pub struct Org {
    pub hq: String,
    pub logistics: String,
    pub repairs: String,
    pub it: String,
    pub hr: String,
    pub hq_head: Who,
    pub logistics_head: Who,
    pub logistics_staff: Who,
    pub logistics_clerk: Who,
    pub repairs_staff: Who,
    pub it_head: Who,
    pub it_staff: Who,
    pub hr_head: Who,
    /// Submits under their name.
    pub submitter: Who,
    /// Submits anonymously.
    pub whistleblower: Who,
    pub admin: Who,
    pub auditor: Who,
    /// A service identity (appraisal).
    pub service: Who,
}

/// A running feedback instance (one replica).
pub struct Replica {
    pub server: TestServer,
    pub client: Client,
    pub shutdown: CancellationToken,
}

impl Replica {
    /// Stops the server, its deadline worker and its gauge refresher.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.server.stop().await.expect("feedback stops cleanly");
    }
}

pub struct Suite {
    pub backend: Backend,
    pub clock: Arc<ManualClock>,
    pub bus: SharedBus,
    pub org: Org,
    pub directory: Option<TestServer>,
    pub directory_url: String,
    pub dir: DirectoryServiceClient<Channel>,
    pub feedback: Option<Replica>,
    pub dir_db: TestDb,
    pub fb_db: TestDb,
}

async fn bus_for(backend: &Backend) -> SharedBus {
    match (backend, testing::redis_url()) {
        (Backend::Postgres(_), Some(url)) => {
            let prefix = format!("test-{}:", concord_kit::ids::new_id());
            RedisBus::connect(&url, &prefix).await.expect("redis bus")
        }
        _ => InProcessBus::new(),
    }
}

impl Suite {
    pub async fn start(backend: Backend) -> Self {
        let clock = ManualClock::new(T0);
        let bus = bus_for(&backend).await;
        let dir_db = backend.fresh("directory");
        let fb_db = backend.fresh("feedback");
        let ctx = testing::context(
            dir_db.location.clone(),
            clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(&[], "directory"),
        );
        let service = (concord_directory::TARGET.start)(ctx)
            .await
            .expect("directory starts");
        let directory = testing::spawn(service, Limits::default()).await;
        let directory_url = directory.url();
        let dir = DirectoryServiceClient::new(directory.channel().await);
        let org = build_org(&dir).await;
        let mut suite = Self {
            backend,
            clock,
            bus,
            org,
            directory: Some(directory),
            directory_url,
            dir,
            feedback: None,
            dir_db,
            fb_db,
        };
        suite.feedback = Some(suite.replica().await);
        suite
    }

    /// Starts another feedback instance over the same database.
    pub async fn replica(&self) -> Replica {
        self.replica_with_directory(&self.directory_url).await
    }

    /// A feedback instance whose directory is at `url`.
    pub async fn replica_with_directory(&self, url: &str) -> Replica {
        let ctx = testing::context(
            self.fb_db.location.clone(),
            self.clock.clone() as SharedClock,
            self.bus.clone(),
            testing::upstreams(&[("directory", url.to_string())], "feedback"),
        );
        let shutdown = ctx.shutdown.clone();
        let service = (concord_feedback::TARGET.start)(ctx)
            .await
            .expect("feedback starts");
        let server = testing::spawn(service, Limits::default()).await;
        let client = FeedbackServiceClient::new(server.channel().await);
        Replica {
            server,
            client,
            shutdown,
        }
    }

    /// Stops the running feedback instance and starts a new one on the same
    /// database, as a redeploy would.
    pub async fn restart(&mut self) {
        if let Some(r) = self.feedback.take() {
            r.stop().await;
        }
        self.feedback = Some(self.replica().await);
    }

    pub fn c(&self) -> Client {
        self.feedback
            .as_ref()
            .expect("feedback runs")
            .client
            .clone()
    }

    /// Moves the manual clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub fn subscribe_escalations(&self) -> Subscription {
        self.bus.subscribe(concord_feedback::ESCALATION_TOPIC)
    }

    /// Submits as `who`; panics on failure.
    pub async fn submit(&self, who: &Who, req: SubmitFeedbackRequest) -> SubmitFeedbackResponse {
        self.c()
            .submit_feedback(with_token(req, &who.token))
            .await
            .expect("submit")
            .into_inner()
    }

    pub async fn get(&self, who: &Who, id: &str) -> FeedbackItem {
        self.c()
            .get_feedback_item(with_token(
                GetFeedbackItemRequest { id: id.into() },
                &who.token,
            ))
            .await
            .expect("get item")
            .into_inner()
    }

    pub async fn timeline(&self, who: &Who, id: &str) -> Vec<TimelineEntry> {
        self.c()
            .list_feedback_timeline(with_token(
                ListFeedbackTimelineRequest {
                    id: id.into(),
                    page_size: 500,
                    ..Default::default()
                },
                &who.token,
            ))
            .await
            .expect("timeline")
            .into_inner()
            .entries
    }

    pub async fn assign(&self, who: &Who, id: &str, owner: &Who) -> FeedbackItem {
        self.c()
            .assign_feedback_owner(with_token(
                AssignFeedbackOwnerRequest {
                    id: id.into(),
                    owner_id: owner.id.clone(),
                    comment: "请跟进".into(),
                    etag: String::new(),
                },
                &who.token,
            ))
            .await
            .expect("assign")
            .into_inner()
    }

    pub async fn accept(&self, who: &Who, id: &str) -> FeedbackItem {
        self.c()
            .accept_feedback(with_token(
                AcceptFeedbackRequest {
                    id: id.into(),
                    comment: "已受理，正在安排".into(),
                    etag: String::new(),
                },
                &who.token,
            ))
            .await
            .expect("accept")
            .into_inner()
    }

    pub async fn resolve(&self, who: &Who, id: &str, solution: &str) -> FeedbackItem {
        self.c()
            .resolve_feedback(with_token(
                ResolveFeedbackRequest {
                    id: id.into(),
                    solution: solution.into(),
                    etag: String::new(),
                },
                &who.token,
            ))
            .await
            .expect("resolve")
            .into_inner()
    }

    pub async fn confirm(&self, who: &Who, id: &str, satisfaction: i32) -> FeedbackItem {
        self.c()
            .confirm_resolution(with_token(
                ConfirmResolutionRequest {
                    id: id.into(),
                    satisfaction,
                    comment: "谢谢".into(),
                },
                &who.token,
            ))
            .await
            .expect("confirm")
            .into_inner()
    }

    pub async fn set_policy(&self, policy: SlaPolicy) -> SlaPolicy {
        self.c()
            .set_sla_policy(with_token(
                SetSlaPolicyRequest {
                    policy: Some(policy),
                },
                &self.org.admin.token,
            ))
            .await
            .expect("set policy")
            .into_inner()
    }

    /// Polls the item as admin until `done` holds (ten seconds at most).
    pub async fn item_until(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&FeedbackItem) -> bool,
    ) -> FeedbackItem {
        let admin = self.org.admin.clone();
        eventually(what, || async {
            let item = self.get(&admin, id).await;
            done(&item).then_some(item)
        })
        .await
    }
}

/// `m` with `who`'s token.
pub fn by<T>(who: &Who, m: T) -> tonic::Request<T> {
    with_token(m, &who.token)
}

/// A problem report for `subject` and `body`.
pub fn report(subject: &str, body: &str) -> SubmitFeedbackRequest {
    SubmitFeedbackRequest {
        channel: concord_proto::feedback::v1::Channel::WebForm as i32,
        category: Category::Problem as i32,
        subject: subject.into(),
        body: body.into(),
        ..Default::default()
    }
}

/// A report routed straight to `department_id`.
pub fn report_to(department_id: &str, subject: &str) -> SubmitFeedbackRequest {
    SubmitFeedbackRequest {
        department_id: department_id.into(),
        ..report(subject, "详情见标题")
    }
}

pub fn duration(d: Duration) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).expect("small"),
        nanos: 0,
    })
}

/// The next escalation announced on the bus (five seconds at most).
pub async fn next_escalation(sub: &mut Subscription) -> FeedbackEscalation {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, sub.recv()).await {
            Ok(Some(Delivery::Message(m))) => {
                return FeedbackEscalation::decode(m.as_ref()).expect("an escalation");
            }
            Ok(Some(Delivery::Gap)) => continue,
            Ok(None) => panic!("the bus closed"),
            Err(_) => panic!("no escalation announced"),
        }
    }
}

/// Whether another escalation arrives within `wait`.
pub async fn no_more_escalations(sub: &mut Subscription, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, sub.recv()).await {
            Ok(Some(Delivery::Gap)) => continue,
            Ok(Some(Delivery::Message(_))) => return false,
            Ok(None) | Err(_) => return true,
        }
    }
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

async fn duty(dir: &DirectoryServiceClient<Channel>, admin: &str, department_id: &str, text: &str) {
    dir.clone()
        .add_duty(with_token(
            dir::AddDutyRequest {
                department_id: department_id.into(),
                text: text.into(),
                ..Default::default()
            },
            admin,
        ))
        .await
        .expect("add duty");
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
    let logistics = department(dir, a, "后勤保障处", &hq).await;
    let repairs = department(dir, a, "维修班", &logistics).await;
    let it = department(dir, a, "信息中心", &hq).await;
    let hr = department(dir, a, "人事处", &hq).await;
    duty(dir, a, &logistics, "负责办公楼的维修和保洁").await;
    duty(
        dir,
        a,
        &logistics,
        "Building maintenance, air conditioning and cleaning",
    )
    .await;
    duty(dir, a, &it, "IT support: network, email and printers").await;
    duty(dir, a, &it, "负责网络、邮件、打印机和电脑的维护").await;
    duty(dir, a, &hr, "Recruitment, payroll and staff training").await;
    let admin = person(dir, a, "系统管理员", &hq, &[Role::Admin]).await;
    Org {
        hq_head: person(dir, a, "王主任", &hq, &[Role::DepartmentHead]).await,
        logistics_head: person(dir, a, "李处长", &logistics, &[Role::DepartmentHead]).await,
        logistics_staff: person(dir, a, "张师傅", &logistics, &[Role::Member]).await,
        logistics_clerk: person(dir, a, "赵干事", &logistics, &[Role::Member]).await,
        repairs_staff: person(dir, a, "Chen Repairs", &repairs, &[Role::Member]).await,
        it_head: person(dir, a, "Liu IT Head", &it, &[Role::DepartmentHead]).await,
        it_staff: person(dir, a, "Sun Helpdesk", &it, &[Role::Member]).await,
        hr_head: person(dir, a, "周处长", &hr, &[Role::DepartmentHead]).await,
        submitter: person(dir, a, "刘晓红", &hr, &[Role::Member]).await,
        whistleblower: person(dir, a, "匿名者本人", &hr, &[Role::Member]).await,
        auditor: person(dir, a, "审计员", &hq, &[Role::Auditor]).await,
        service: Who {
            id: "appraisal".into(),
            department_id: String::new(),
            token: token("appraisal", &[Role::Service], None),
        },
        admin,
        hq,
        logistics,
        repairs,
        it,
        hr,
    }
}

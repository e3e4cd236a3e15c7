//! The harness of training's integration tests: a real directory, a real
//! notices service (which may start out down) and a real training server on
//! port 0 over fresh databases (SQLite, or PostgreSQL when
//! `CONCORD_TEST_DATABASE_URL` is set), a manual clock, the bus
//! (in-process, or Redis on PostgreSQL runs when `CONCORD_TEST_REDIS_URL` is
//! set), and an organisation with departments and people.
#![allow(dead_code)]

#[allow(unused_imports)] // not every test binary uses each
pub use concord_kit::testing::{eventually, fails, names_fields};
use std::sync::Arc;
use std::time::Duration;

use concord_kit::bus::{Delivery, InProcessBus, RedisBus, SharedBus, Subscription};
use concord_kit::clock::{ManualClock, SharedClock, to_timestamp};
use concord_kit::server::Limits;
use concord_kit::testing::{self, Backend, TestDb, TestServer, token, with_token};
use concord_proto::directory::v1 as dir;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::notices::v1 as nt;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use concord_proto::policy::v1::Role;
use concord_proto::training::v1::development_service_client::DevelopmentServiceClient;
use concord_proto::training::v1::training_service_client::TrainingServiceClient;
use concord_proto::training::v1::*;
use prost::Message;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// 2026-10-01 08:00 Asia/Shanghai.
pub const T0: i64 = 1_790_812_800_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

pub type Client = TrainingServiceClient<Channel>;
pub type Dev = DevelopmentServiceClient<Channel>;

/// A person of the test organisation with their token.
#[derive(Debug, Clone)]
pub struct Who {
    pub id: String,
    pub department_id: String,
    pub token: String,
}

/// The test organisation.
///
/// 总部 (hq: head `hq_head`, the admin, the auditor)
/// ├── 安全生产部 (safety: head, 张伟, 李娜, Alice Smith)
/// │   └── 消防科 (fire: 王芳)
/// └── 信息中心 (it: head, Bob Jones)
#[derive(Debug, Clone)]
pub struct Org {
    pub hq: String,
    pub safety: String,
    pub fire: String,
    pub it: String,
    pub hq_head: Who,
    pub safety_head: Who,
    pub zhang: Who,
    pub li: Who,
    pub alice: Who,
    pub wang: Who,
    pub it_head: Who,
    pub bob: Who,
    pub admin: Who,
    pub auditor: Who,
    /// A service identity (appraisal).
    pub service: Who,
}

/// A running training instance.
pub struct Replica {
    pub server: TestServer,
    pub shutdown: CancellationToken,
}

/// The notices service, on an address training knows from the start. While
/// it is down the address takes connections and drops them at once, as a
/// restarting service would.
pub struct Notices {
    pub url: String,
    db: TestDb,
    state: NoticesState,
}

enum NoticesState {
    Up {
        server: TestServer,
        workers: CancellationToken,
    },
    Down {
        stop: CancellationToken,
        listener: tokio::task::JoinHandle<TcpListener>,
    },
    Starting,
}

/// Drops every connection on `listener` until `stop`, then hands it back.
fn refuse(listener: TcpListener) -> NoticesState {
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let listener = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.cancelled() => return listener,
                conn = listener.accept() => drop(conn),
            }
        }
    });
    NoticesState::Down { stop, listener }
}

impl Drop for Notices {
    fn drop(&mut self) {
        if let NoticesState::Up { workers, .. } = &self.state {
            workers.cancel();
        }
    }
}

pub struct Suite {
    pub backend: Backend,
    pub clock: Arc<ManualClock>,
    pub bus: SharedBus,
    pub org: Org,
    pub directory: TestServer,
    pub dir: DirectoryServiceClient<Channel>,
    pub notices: Notices,
    pub training: Option<Replica>,
    /// Whether training is given the address of notices when it starts.
    pub tells_notices: bool,
    client: Option<(Client, Dev)>,
    pub dir_db: TestDb,
    pub db: TestDb,
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
    /// The suite with notices up.
    pub async fn start(backend: Backend) -> Self {
        let mut s = Self::start_with_notices_down(backend).await;
        s.notices_up().await;
        s
    }

    /// The suite with notices down until [`Suite::notices_up`].
    pub async fn start_with_notices_down(backend: Backend) -> Self {
        let clock = ManualClock::new(T0);
        let bus = bus_for(&backend).await;
        let dir_db = backend.fresh("directory");
        let db = backend.fresh("training");
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
        let dir = DirectoryServiceClient::new(directory.channel().await);
        let org = build_org(&dir).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let notices = Notices {
            url: format!("http://{}", listener.local_addr().expect("addr")),
            db: backend.fresh("notices"),
            state: refuse(listener),
        };
        let mut suite = Self {
            backend,
            clock,
            bus,
            org,
            directory,
            dir,
            notices,
            training: None,
            tells_notices: true,
            client: None,
            dir_db,
            db,
        };
        suite.start_training().await;
        suite
    }

    async fn start_training(&mut self) {
        let mut upstreams = vec![("directory", self.directory.url())];
        if self.tells_notices {
            upstreams.push(("notices", self.notices.url.clone()));
        }
        let ctx = testing::context(
            self.db.location.clone(),
            self.clock.clone() as SharedClock,
            self.bus.clone(),
            testing::upstreams(&upstreams, "training"),
        );
        let shutdown = ctx.shutdown.clone();
        let service = (concord_training::TARGET.start)(ctx)
            .await
            .expect("training starts");
        let server = testing::spawn(service, Limits::default()).await;
        let ch = server.channel().await;
        self.client = Some((
            TrainingServiceClient::new(ch.clone()),
            DevelopmentServiceClient::new(ch),
        ));
        self.training = Some(Replica { server, shutdown });
    }

    /// Starts notices on its address (it keeps its data across a restart).
    pub async fn notices_up(&mut self) {
        let NoticesState::Down { stop, listener } =
            std::mem::replace(&mut self.notices.state, NoticesState::Starting)
        else {
            panic!("notices is already up");
        };
        stop.cancel();
        let listener = listener.await.expect("the refusing task ends");
        let ctx = testing::context(
            self.notices.db.location.clone(),
            self.clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(&[("directory", self.directory.url())], "notices"),
        );
        let workers = ctx.shutdown.clone();
        let service = (concord_notices::TARGET.start)(ctx)
            .await
            .expect("notices start");
        let health = service.health_names.first().copied().unwrap_or("");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(concord_kit::server::serve(
            listener,
            service,
            testing::verifier(),
            Limits::default(),
            shutdown.clone(),
        ));
        let server = TestServer {
            addr,
            shutdown,
            handle: Some(handle),
        };
        testing::wait_serving(&server.url(), health).await;
        self.notices.state = NoticesState::Up { server, workers };
    }

    /// The published notices in `who`'s inbox, newest first.
    pub async fn inbox(&self, who: &Who) -> Vec<nt::Notice> {
        let ch = tonic::transport::Endpoint::from_shared(self.notices.url.clone())
            .expect("url")
            .connect()
            .await
            .expect("notices runs");
        NoticeServiceClient::new(ch)
            .list_inbox(by(
                who,
                nt::ListInboxRequest {
                    page_size: 100,
                    ..Default::default()
                },
            ))
            .await
            .expect("list inbox")
            .into_inner()
            .items
            .into_iter()
            .filter_map(|i| i.notice)
            .collect()
    }

    /// Stops training (server and deadline worker) and starts it again on
    /// the same database, as a redeploy would.
    pub async fn restart(&mut self) {
        if let Some(r) = self.training.take() {
            r.shutdown.cancel();
            r.server.stop().await.expect("training stops cleanly");
        }
        self.start_training().await;
    }

    /// Stops training without starting it again.
    pub async fn stop(&mut self) {
        if let Some(r) = self.training.take() {
            r.shutdown.cancel();
            r.server.stop().await.expect("training stops cleanly");
        }
    }

    pub fn t(&self) -> Client {
        self.client.as_ref().expect("training runs").0.clone()
    }

    pub fn d(&self) -> Dev {
        self.client.as_ref().expect("training runs").1.clone()
    }

    pub fn now(&self) -> i64 {
        use concord_kit::clock::Clock;
        self.clock.now_ms()
    }

    /// Moves the manual clock.
    pub fn advance(&self, ms: i64) {
        self.clock
            .advance(Duration::from_millis(u64::try_from(ms).expect("forward")));
    }

    pub fn subscribe_reminders(&self) -> Subscription {
        self.bus.subscribe(concord_training::REMINDER_TOPIC)
    }

    /// A new member of `department_id`.
    pub async fn person(&self, name: &str, department_id: &str, roles: &[Role]) -> Who {
        let admin = token("bootstrap-admin", &[Role::Admin], None);
        person(&self.dir, &admin, name, department_id, roles).await
    }

    pub async fn create(&self, who: &Who, req: CreateTrainingPlanRequest) -> TrainingPlan {
        self.t()
            .create_training_plan(by(who, req))
            .await
            .expect("create plan")
            .into_inner()
    }

    pub async fn publish(&self, who: &Who, plan: &TrainingPlan) -> TrainingPlan {
        self.t()
            .publish_training_plan(by(
                who,
                PublishTrainingPlanRequest {
                    id: plan.id.clone(),
                    etag: plan.etag.clone(),
                },
            ))
            .await
            .expect("publish plan")
            .into_inner()
    }

    /// Creates and publishes a plan as `who`.
    pub async fn open(&self, who: &Who, req: CreateTrainingPlanRequest) -> TrainingPlan {
        let p = self.create(who, req).await;
        self.publish(who, &p).await
    }

    pub async fn get(&self, who: &Who, id: &str) -> TrainingPlan {
        self.t()
            .get_training_plan(by(who, GetTrainingPlanRequest { id: id.into() }))
            .await
            .expect("get plan")
            .into_inner()
    }

    /// `who` enrols themselves.
    pub async fn enrol(&self, who: &Who, plan_id: &str) -> Enrolment {
        self.t()
            .enrol_in_training(by(
                who,
                EnrolInTrainingRequest {
                    plan_id: plan_id.into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("enrol")
            .into_inner()
    }

    pub async fn cancel_enrolment(&self, who: &Who, id: &str) -> Enrolment {
        self.t()
            .cancel_enrolment(by(
                who,
                CancelEnrolmentRequest {
                    enrolment_id: id.into(),
                    reason: "临时出差".into(),
                },
            ))
            .await
            .expect("cancel enrolment")
            .into_inner()
    }

    pub async fn enrolments(&self, who: &Who, plan_id: &str) -> Vec<Enrolment> {
        self.t()
            .list_enrolments(by(
                who,
                ListEnrolmentsRequest {
                    plan_id: plan_id.into(),
                    page_size: 500,
                    ..Default::default()
                },
            ))
            .await
            .expect("list enrolments")
            .into_inner()
            .enrolments
    }

    pub async fn attend(
        &self,
        who: &Who,
        plan: &TrainingPlan,
        session: usize,
        marks: &[(&Who, bool)],
    ) {
        self.t()
            .record_attendance(by(
                who,
                RecordAttendanceRequest {
                    plan_id: plan.id.clone(),
                    session_id: plan.sessions[session].id.clone(),
                    marks: marks
                        .iter()
                        .map(|(p, present)| AttendanceMark {
                            person_id: p.id.clone(),
                            present: *present,
                        })
                        .collect(),
                },
            ))
            .await
            .expect("record attendance");
    }

    pub async fn complete(&self, who: &Who, enrolment_id: &str, score: Option<f64>) -> Enrolment {
        self.t()
            .complete_training(by(
                who,
                CompleteTrainingRequest {
                    enrolment_id: enrolment_id.into(),
                    assessment_score: score,
                },
            ))
            .await
            .expect("complete")
            .into_inner()
    }

    pub async fn incomplete(&self, who: &Who, plan_id: &str) -> ListIncompleteResponse {
        self.t()
            .list_incomplete(by(
                who,
                ListIncompleteRequest {
                    plan_id: plan_id.into(),
                    page_size: 500,
                    ..Default::default()
                },
            ))
            .await
            .expect("list incomplete")
            .into_inner()
    }

    pub async fn statistics(
        &self,
        who: &Who,
        req: GetTrainingStatisticsRequest,
    ) -> GetTrainingStatisticsResponse {
        self.t()
            .get_training_statistics(by(who, req))
            .await
            .expect("statistics")
            .into_inner()
    }
}

/// `m` with `who`'s token.
pub fn by<T>(who: &Who, m: T) -> tonic::Request<T> {
    with_token(m, &who.token)
}

pub fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    Some(to_timestamp(ms))
}

/// A session from `start` lasting `minutes`.
pub fn session(title: &str, start: i64, minutes: i64) -> Session {
    Session {
        title: title.into(),
        start_time: ts(start),
        end_time: ts(start + minutes * MINUTE),
        ..Default::default()
    }
}

/// An on-site plan of `department_id` for `audience_departments` (with
/// their sub-departments): two sessions, tomorrow 09:00–12:00 and the day
/// after 14:00–15:30 (4.5 hours), no capacity limit, not mandatory.
pub fn plan_req(
    department_id: &str,
    title: &str,
    audience_departments: &[&str],
) -> CreateTrainingPlanRequest {
    CreateTrainingPlanRequest {
        request_id: String::new(),
        department_id: department_id.into(),
        title: title.into(),
        content_outline: "一、法规；二、案例；三、演练".into(),
        mode: Mode::OnSite as i32,
        place: "三楼大会议室".into(),
        link: String::new(),
        sessions: vec![
            session("第一讲", T0 + DAY + HOUR, 180),
            session("第二讲", T0 + 2 * DAY + 6 * HOUR, 90),
        ],
        audience: Some(Audience {
            department_ids: audience_departments.iter().map(|d| d.to_string()).collect(),
            include_sub_departments: true,
            person_ids: vec![],
        }),
        capacity: 0,
        mandatory: false,
        completion_deadline: None,
    }
}

/// The next reminder round announced on the bus (five seconds at most).
pub async fn next_reminder(sub: &mut Subscription) -> TrainingReminder {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, sub.recv()).await {
            Ok(Some(Delivery::Message(m))) => {
                return TrainingReminder::decode(m.as_ref()).expect("a reminder");
            }
            Ok(Some(Delivery::Gap)) => continue,
            Ok(None) => panic!("the bus closed"),
            Err(_) => panic!("no reminder announced"),
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
    let safety = department(dir, a, "安全生产部", &hq).await;
    let fire = department(dir, a, "消防科", &safety).await;
    let it = department(dir, a, "信息中心", &hq).await;
    Org {
        hq_head: person(dir, a, "王主任", &hq, &[Role::DepartmentHead]).await,
        safety_head: person(dir, a, "陈部长", &safety, &[Role::DepartmentHead]).await,
        zhang: person(dir, a, "张伟", &safety, &[Role::Member]).await,
        li: person(dir, a, "李娜", &safety, &[Role::Member]).await,
        alice: person(dir, a, "Alice Smith", &safety, &[Role::Member]).await,
        wang: person(dir, a, "王芳", &fire, &[Role::Member]).await,
        it_head: person(dir, a, "Liu IT Head", &it, &[Role::DepartmentHead]).await,
        bob: person(dir, a, "Bob Jones", &it, &[Role::Member]).await,
        admin: person(dir, a, "系统管理员", &hq, &[Role::Admin]).await,
        auditor: person(dir, a, "审计员", &hq, &[Role::Auditor]).await,
        service: Who {
            id: "appraisal".into(),
            department_id: String::new(),
            token: token("appraisal", &[Role::Service], None),
        },
        hq,
        safety,
        fire,
        it,
    }
}

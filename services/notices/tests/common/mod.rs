//! The notices under test: a real directory and a real notices server on
//! port 0, each over a fresh database (SQLite file or PostgreSQL schema), a
//! manual clock, and a small organisation with Chinese and English names.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use concord_kit::bus::{InProcessBus, SharedBus};
use concord_kit::clock::{ManualClock, SharedClock, to_timestamp};
use concord_kit::server::Limits;
use concord_kit::testing::{self, Backend, TestDb, TestServer, token, with_token};
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::directory::v1::{CreateDepartmentRequest, CreatePersonRequest};
use concord_proto::notices::v1::meeting_service_client::MeetingServiceClient;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use concord_proto::notices::v1::*;
use concord_proto::policy::v1::Role;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// Monday 2026-11-30 10:00 in Shanghai: inside every push window.
pub fn t0() -> i64 {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 30, 10, 0, 0)
        .unwrap()
        .timestamp_millis()
}

/// A local Shanghai time as UTC milliseconds.
pub fn shanghai(y: i32, m: u32, d: u32, h: u32) -> i64 {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .timestamp_millis()
}

pub type Notices = NoticeServiceClient<Channel>;
pub type Meetings = MeetingServiceClient<Channel>;
pub type Directory = DirectoryServiceClient<Channel>;

/// Somebody with a token.
#[derive(Debug, Clone)]
pub struct Who {
    pub id: String,
    pub department_id: String,
    pub token: String,
}

impl Who {
    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        with_token(msg, &self.token)
    }
}

/// 总部 (HQ) with 办公室 (Office, with 文书科 Records below it) and
/// 后勤处 (Logistics).
#[derive(Debug, Clone)]
pub struct Org {
    pub hq: String,
    pub office: String,
    pub records: String,
    pub logistics: String,
    pub admin: Who,
    pub auditor: Who,
    pub service: Who,
    /// Heads 办公室.
    pub office_head: Who,
    pub office_member: Who,
    /// Member of 文书科, below 办公室.
    pub records_member: Who,
    /// Heads 后勤处.
    pub logistics_head: Who,
    pub logistics_member: Who,
    /// Coordinator in 后勤处.
    pub coordinator: Who,
}

/// A notices server with its directory.
pub struct Suite {
    pub notices: Notices,
    pub meetings: Meetings,
    pub directory: Directory,
    pub clock: Arc<ManualClock>,
    pub bus: SharedBus,
    pub org: Org,
    pub notices_server: Option<TestServer>,
    /// Stops the notices' due worker and streams.
    pub shutdown: CancellationToken,
    pub directory_server: TestServer,
    pub notices_db: TestDb,
    pub directory_db: TestDb,
}

/// Starts a notices server over `location` with `clock` and `bus`.
pub async fn start_notices(
    location: concord_kit::db::Location,
    clock: SharedClock,
    bus: SharedBus,
    directory_url: &str,
) -> (TestServer, CancellationToken) {
    let ctx = testing::context(
        location,
        clock,
        bus,
        testing::upstreams(&[("directory", directory_url.to_string())], "notices"),
    );
    let shutdown = ctx.shutdown.clone();
    let service = (concord_notices::TARGET.start)(ctx)
        .await
        .expect("notices start");
    (testing::spawn(service, Limits::default()).await, shutdown)
}

impl Suite {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with_bus(backend, InProcessBus::new()).await
    }

    pub async fn start_with_bus(backend: Backend, bus: SharedBus) -> Self {
        let clock = ManualClock::new(t0());
        let directory_db = backend.fresh("directory");
        let ctx = testing::context(
            directory_db.location.clone(),
            clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(&[], "directory"),
        );
        let service = (concord_directory::TARGET.start)(ctx)
            .await
            .expect("directory starts");
        let directory_server = testing::spawn(service, Limits::default()).await;
        let directory = DirectoryServiceClient::new(directory_server.channel().await);

        let notices_db = backend.fresh("notices");
        let (server, shutdown) = start_notices(
            notices_db.location.clone(),
            clock.clone(),
            bus.clone(),
            &directory_server.url(),
        )
        .await;
        let notices = NoticeServiceClient::new(server.channel().await);
        let meetings = MeetingServiceClient::new(server.channel().await);
        let org = build_org(&directory).await;
        Self {
            notices,
            meetings,
            directory,
            clock,
            bus,
            org,
            notices_server: Some(server),
            shutdown,
            directory_server,
            notices_db,
            directory_db,
        }
    }

    pub fn n(&self) -> Notices {
        self.notices.clone()
    }

    pub fn m(&self) -> Meetings {
        self.meetings.clone()
    }

    pub fn now(&self) -> i64 {
        use concord_kit::clock::Clock;
        self.clock.now_ms()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Stops the notices server and its worker, then starts a new one over
    /// the same data (a restart).
    pub async fn restart(&mut self) {
        self.shutdown.cancel();
        if let Some(s) = self.notices_server.take() {
            s.stop().await.expect("notices stop");
        }
        let (server, shutdown) = start_notices(
            self.notices_db.location.clone(),
            self.clock.clone(),
            self.bus.clone(),
            &self.directory_server.url(),
        )
        .await;
        self.notices = NoticeServiceClient::new(server.channel().await);
        self.meetings = MeetingServiceClient::new(server.channel().await);
        self.notices_server = Some(server);
        self.shutdown = shutdown;
    }

    /// Creates a draft as `who`.
    pub async fn draft(&self, who: &Who, title: &str, audience: Audience) -> Notice {
        let req = CreateNoticeRequest {
            title: title.into(),
            body: format!("**{title}**\n\n请各部门周知。Please take note."),
            audience: Some(audience),
            ..Default::default()
        };
        self.n()
            .create_notice(who.req(req))
            .await
            .expect("create notice")
            .into_inner()
    }

    /// Creates and publishes a notice as `who`.
    pub async fn publish(&self, who: &Who, title: &str, audience: Audience) -> Notice {
        let n = self.draft(who, title, audience).await;
        self.n()
            .publish_notice(who.req(PublishNoticeRequest {
                id: n.id,
                etag: n.etag,
            }))
            .await
            .expect("publish")
            .into_inner()
    }

    pub async fn inbox(&self, who: &Who, unread_only: bool) -> ListInboxResponse {
        let req = ListInboxRequest {
            unread_only,
            page_size: 500,
            ..Default::default()
        };
        self.n()
            .list_inbox(who.req(req))
            .await
            .expect("inbox")
            .into_inner()
    }

    pub async fn notice(&self, who: &Who, id: &str) -> Notice {
        self.n()
            .get_notice(who.req(GetNoticeRequest { id: id.into() }))
            .await
            .expect("get notice")
            .into_inner()
    }

    /// Waits (up to ten seconds) until `check` holds for the notice.
    pub async fn wait_for(&self, id: &str, check: impl Fn(&Notice) -> bool) -> Notice {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let n = self.notice(&self.org.admin, id).await;
            if check(&n) {
                return n;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "notice {id} never reached the expected state: {n:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn departments(ids: &[&str], with_sub: bool) -> Audience {
    Audience {
        department_ids: ids.iter().map(|s| s.to_string()).collect(),
        include_sub_departments: with_sub,
        ..Default::default()
    }
}

pub fn people(ids: &[&str]) -> Audience {
    Audience {
        person_ids: ids.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

pub fn everyone() -> Audience {
    Audience {
        everyone: true,
        ..Default::default()
    }
}

pub fn ts(ms: i64) -> prost_types::Timestamp {
    to_timestamp(ms)
}

pub async fn department(directory: &Directory, admin: &str, name: &str, parent_id: &str) -> String {
    let req = CreateDepartmentRequest {
        name: name.into(),
        parent_id: parent_id.into(),
        ..Default::default()
    };
    directory
        .clone()
        .create_department(with_token(req, admin))
        .await
        .expect("department")
        .into_inner()
        .id
}

pub async fn person(
    directory: &Directory,
    admin: &str,
    name: &str,
    department_id: &str,
    role: Role,
) -> Who {
    let req = CreatePersonRequest {
        display_name: name.into(),
        department_id: department_id.into(),
        roles: vec![role as i32],
        ..Default::default()
    };
    let p = directory
        .clone()
        .create_person(with_token(req, admin))
        .await
        .expect("person")
        .into_inner();
    Who {
        token: token(&p.id, &[role], Some(department_id)),
        id: p.id,
        department_id: department_id.into(),
    }
}

/// Somebody who is not in the directory (an admin account, an auditor, a service).
fn outsider(role: Role) -> Who {
    let id = concord_kit::ids::new_id();
    Who {
        token: token(&id, &[role], None),
        id,
        department_id: String::new(),
    }
}

async fn build_org(directory: &Directory) -> Org {
    let admin = outsider(Role::Admin);
    let a = &admin.token;
    let hq = department(directory, a, "总部", "").await;
    let office = department(directory, a, "办公室", &hq).await;
    let records = department(directory, a, "文书科 Records", &office).await;
    let logistics = department(directory, a, "后勤处 Logistics", &hq).await;
    Org {
        office_head: person(directory, a, "王主任", &office, Role::DepartmentHead).await,
        office_member: person(directory, a, "李秘书", &office, Role::Member).await,
        records_member: person(directory, a, "Zhang Wei", &records, Role::Member).await,
        logistics_head: person(directory, a, "赵处长", &logistics, Role::DepartmentHead).await,
        logistics_member: person(directory, a, "Alice Chen", &logistics, Role::Member).await,
        coordinator: person(directory, a, "周协调", &logistics, Role::Coordinator).await,
        auditor: outsider(Role::Auditor),
        service: outsider(Role::Service),
        admin,
        hq,
        office,
        records,
        logistics,
    }
}

//! A real directory and a real emergency service on port 0 over fresh
//! databases: SQLite with the in-process bus, or PostgreSQL with Redis when
//! `CONCORD_TEST_DATABASE_URL` (and `CONCORD_TEST_REDIS_URL`) are set. The
//! organisation is seeded through the directory's API, so audiences, heads
//! and admins come from the directory as in production.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use concord_kit::bus::{InProcessBus, RedisBus, SharedBus};
use concord_kit::clock::{ManualClock, SharedClock};
use concord_kit::server::Limits;
use concord_kit::testing::{self, Backend, TestDb, TestServer, token};
use concord_proto::directory::v1 as dir;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::emergency::v1::emergency_service_client::EmergencyServiceClient;
use concord_proto::emergency::v1::*;
use concord_proto::policy::v1::Role;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// 2026-11-02 01:00 UTC (09:00 in Shanghai), a Monday.
pub const T0: i64 = 1_793_581_200_000;

/// Adds a bearer token to every call.
#[derive(Clone)]
pub struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

pub type Client = EmergencyServiceClient<InterceptedService<Channel, Bearer>>;

/// A client of the server at `url` signed with `token` (empty: anonymous).
pub fn client_at(url: &str, token: &str) -> Client {
    let channel = Endpoint::from_shared(url.to_string())
        .expect("url")
        .connect_lazy();
    let value = format!("Bearer {token}").parse().expect("ascii");
    EmergencyServiceClient::with_interceptor(channel, Bearer(value))
}

/// Somebody in the directory, with a token for them.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub token: String,
}

/// The seeded organisation.
#[derive(Debug, Clone)]
pub struct Org {
    /// 应急管理办公室, owner of the plans.
    pub office: String,
    /// 信息中心 and its 网络组.
    pub it: String,
    pub network: String,
    /// 保卫处.
    pub security: String,
    /// 财务处, in no plan.
    pub finance: String,
    pub admin: Person,
    pub office_head: Person,
    pub it_head: Person,
    pub zhang: Person,
    pub alice: Person,
    pub sun: Person,
    pub security_head: Person,
    pub bob: Person,
    pub qian: Person,
    pub finance_head: Person,
    pub auditor: Person,
    pub coordinator: Person,
}

/// A running emergency instance.
pub struct Instance {
    pub server: TestServer,
    pub shutdown: CancellationToken,
}

impl Instance {
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Stops the server and its background workers, as a process exit would.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.stop().await;
    }
}

pub struct Suite {
    pub clock: Arc<ManualClock>,
    pub bus: SharedBus,
    pub org: Org,
    pub directory: TestServer,
    /// The emergency instance tests talk to (absent only during a restart).
    pub emergency: Option<Instance>,
    pub db: TestDb,
    _directory_db: TestDb,
}

/// The bus for a backend: Redis (own prefix per test) next to PostgreSQL
/// when `CONCORD_TEST_REDIS_URL` is set, else in-process.
pub async fn bus_for(backend: &Backend, prefix: &str) -> SharedBus {
    match (backend, testing::redis_url()) {
        (Backend::Postgres(_), Some(url)) => RedisBus::connect(&url, prefix).await.expect("redis"),
        _ => InProcessBus::new(),
    }
}

pub fn unique_prefix() -> String {
    format!("t{}:", uuid_like())
}

fn uuid_like() -> String {
    concord_kit::ids::new_id().replace('-', "")
}

impl Suite {
    pub async fn start(backend: Backend) -> Self {
        let bus = bus_for(&backend, &unique_prefix()).await;
        Self::start_with_bus(backend, bus).await
    }

    pub async fn start_with_bus(backend: Backend, bus: SharedBus) -> Self {
        let clock = ManualClock::new(T0);
        let directory_db = backend.fresh("directory");
        let ctx = testing::context(
            directory_db.location.clone(),
            clock.clone() as SharedClock,
            bus.clone(),
            testing::upstreams(&[], "directory"),
        );
        let service = (concord_directory::TARGET.start)(ctx)
            .await
            .expect("directory starts");
        let directory = testing::spawn(service, Limits::default()).await;
        let org = seed(&directory.url()).await;
        let db = backend.fresh("emergency");
        let mut suite = Self {
            clock,
            bus: bus.clone(),
            org,
            emergency: None,
            directory,
            db,
            _directory_db: directory_db,
        };
        suite.emergency = Some(suite.start_instance(bus).await);
        suite
    }

    /// Another emergency instance over the same database, with its own bus
    /// connection (another replica).
    pub async fn start_instance(&self, bus: SharedBus) -> Instance {
        let mut ctx = testing::context(
            self.db.location.clone(),
            self.clock.clone() as SharedClock,
            bus,
            testing::upstreams(&[("directory", self.directory.url())], "emergency"),
        );
        let shutdown = CancellationToken::new();
        ctx.shutdown = shutdown.clone();
        let service = (concord_emergency::TARGET.start)(ctx)
            .await
            .expect("emergency starts");
        let server = testing::spawn(service, Limits::default()).await;
        Instance { server, shutdown }
    }

    /// Stops the emergency service and starts it again on the same data.
    pub async fn restart(&mut self) {
        if let Some(old) = self.emergency.take() {
            old.stop().await;
        }
        self.emergency = Some(self.start_instance(self.bus.clone()).await);
    }

    /// The address of the current emergency instance.
    pub fn url(&self) -> String {
        self.emergency.as_ref().expect("emergency is running").url()
    }

    /// A client of the current emergency instance as `p`.
    pub fn as_(&self, p: &Person) -> Client {
        client_at(&self.url(), &p.token)
    }

    /// A client with a raw token (service identities, people not in the directory).
    pub fn with(&self, token: &str) -> Client {
        client_at(&self.url(), token)
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// The standard plan: 信息中心 switches over and restores, 保卫处 secures
    /// the room; one minute to acknowledge; reminders every five minutes.
    pub fn plan(&self) -> Plan {
        let o = &self.org;
        Plan {
            title: "机房断电应急预案 Server room power failure".into(),
            description: "数据中心停电时的处置流程".into(),
            incident_type: IncidentType::ItOutage as i32,
            severity: Severity::Ii as i32,
            owner_department_id: o.office.clone(),
            steps: vec![
                step("切换备用服务器 Switch to the standby servers", &o.it, 15),
                step("封锁机房 Secure the server room", &o.security, 10),
                step("恢复服务 Restore service", &o.it, 60),
            ],
            contacts: vec![Contact {
                name: "王主任".into(),
                role: "现场指挥 incident commander".into(),
                phone: "13800000000".into(),
                person_id: o.office_head.id.clone(),
            }],
            acknowledgement_timeout: Some(prost_types::Duration {
                seconds: 60,
                nanos: 0,
            }),
            reminder_interval: Some(prost_types::Duration {
                seconds: 300,
                nanos: 0,
            }),
            escalation_chain: vec![],
            ..Default::default()
        }
    }

    pub async fn create_plan(&self) -> Plan {
        let req = CreatePlanRequest {
            request_id: String::new(),
            plan: Some(self.plan()),
        };
        self.as_(&self.org.office_head)
            .create_plan(req)
            .await
            .expect("create plan")
            .into_inner()
    }

    /// Declares from `plan_id` as the head of the owner office.
    pub async fn declare(&self, plan_id: &str, drill: bool) -> Incident {
        let req = DeclareIncidentRequest {
            request_id: String::new(),
            plan_id: plan_id.into(),
            title: String::new(),
            description: "三号楼机房 Building 3".into(),
            severity: 0,
            drill,
        };
        self.as_(&self.org.office_head)
            .declare_incident(req)
            .await
            .expect("declare")
            .into_inner()
    }
}

pub fn step(title: &str, department_id: &str, target_minutes: i32) -> PlanStep {
    PlanStep {
        title: title.into(),
        instructions: String::new(),
        department_id: department_id.into(),
        target_minutes,
    }
}

/// Creates the organisation through the directory's API.
async fn seed(url: &str) -> Org {
    let mut d = DirectoryServiceClient::new(
        Endpoint::from_shared(url.to_string())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let root = token("bootstrap-admin", &[Role::Admin], None);
    let mut dept = async |name: &str, parent: &str| -> String {
        let req = dir::CreateDepartmentRequest {
            name: name.into(),
            parent_id: parent.into(),
            ..Default::default()
        };
        d.create_department(testing::with_token(req, &root))
            .await
            .expect("department")
            .into_inner()
            .id
    };
    let office = dept("应急管理办公室", "").await;
    let it = dept("信息中心 IT Center", "").await;
    let network = dept("网络组 Network", &it).await;
    let security = dept("保卫处 Security", "").await;
    let finance = dept("财务处 Finance", "").await;
    let mut person = async |name: &str, dept: &str, roles: &[Role]| -> Person {
        let req = dir::CreatePersonRequest {
            display_name: name.into(),
            department_id: dept.into(),
            roles: roles.iter().map(|r| *r as i32).collect(),
            ..Default::default()
        };
        let p = d
            .create_person(testing::with_token(req, &root))
            .await
            .expect("person")
            .into_inner();
        Person {
            token: token(&p.id, roles, Some(dept)),
            id: p.id,
            name: name.into(),
        }
    };
    Org {
        admin: person("系统管理员 Admin", &office, &[Role::Admin]).await,
        office_head: person("王主任", &office, &[Role::DepartmentHead]).await,
        it_head: person("李工 Li", &it, &[Role::DepartmentHead]).await,
        zhang: person("张三", &it, &[Role::Member]).await,
        alice: person("Alice Chen", &it, &[Role::Member]).await,
        sun: person("孙网管", &network, &[Role::Member]).await,
        security_head: person("赵处长", &security, &[Role::DepartmentHead]).await,
        bob: person("Bob", &security, &[Role::Member]).await,
        qian: person("钱会计", &finance, &[Role::Member]).await,
        finance_head: person("周处长", &finance, &[Role::DepartmentHead]).await,
        auditor: person("审计员", &finance, &[Role::Auditor]).await,
        coordinator: person("协调员", &office, &[Role::Coordinator]).await,
        office,
        it,
        network,
        security,
        finance,
    }
}

/// Collects a person's alert stream in the background.
pub struct Watcher {
    pub events: Arc<Mutex<Vec<AlertEvent>>>,
    pub ended: Arc<Mutex<Option<tonic::Status>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    /// Opens `WatchAlerts` after `after` and collects what arrives.
    pub async fn start(mut client: Client, after: i64) -> Self {
        let mut stream = client
            .watch_alerts(WatchAlertsRequest {
                after_sequence: after,
            })
            .await
            .expect("watch")
            .into_inner();
        let events = Arc::new(Mutex::new(Vec::new()));
        let ended = Arc::new(Mutex::new(None));
        let (e, x) = (events.clone(), ended.clone());
        let task = tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(ev) => e.lock().unwrap().push(ev),
                    Err(s) => {
                        *x.lock().unwrap() = Some(s);
                        return;
                    }
                }
            }
        });
        Self {
            events,
            ended,
            task,
        }
    }

    pub fn snapshot(&self) -> Vec<AlertEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn last_seq(&self) -> i64 {
        self.snapshot().last().map_or(0, |e| e.sequence)
    }

    /// Waits until `pred` holds for what arrived, or fails after `secs`.
    pub async fn wait(
        &self,
        what: &str,
        secs: u64,
        pred: impl Fn(&[AlertEvent]) -> bool,
    ) -> Vec<AlertEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.snapshot();
            if pred(&got) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; got {} events, ended {:?}",
                got.len(),
                self.ended.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for `n` events.
    pub async fn wait_count(&self, n: usize, secs: u64) -> Vec<AlertEvent> {
        self.wait(&format!("{n} alerts"), secs, |e| e.len() >= n)
            .await
    }
}

/// The kind of an event.
pub fn kind(e: &AlertEvent) -> AlertKind {
    AlertKind::try_from(e.alert.as_ref().map_or(0, |a| a.kind)).unwrap_or(AlertKind::Unspecified)
}

/// Asserts sequences strictly increase and no alert came twice.
pub fn assert_once(events: &[AlertEvent], who: &str) {
    let mut seen = std::collections::HashSet::new();
    let mut last = 0;
    for e in events {
        assert!(
            e.sequence > last,
            "{who}: sequence {} after {last}",
            e.sequence
        );
        last = e.sequence;
        let id = e.alert.as_ref().map(|a| a.id.clone()).unwrap_or_default();
        assert!(seen.insert(id.clone()), "{who}: alert {id} delivered twice");
    }
}

/// Lets background work that should NOT happen have its chance.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

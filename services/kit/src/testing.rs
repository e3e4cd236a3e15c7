//! Test helpers: a fresh database on either backend, tokens for any role,
//! and servers started on port 0 that are waited on through gRPC health.
//!
//! The PostgreSQL and Redis variants run when `CONCORD_TEST_DATABASE_URL` and
//! `CONCORD_TEST_REDIS_URL` are set; when set, a failure to connect fails the
//! test rather than skipping it.

use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;

use concord_proto::policy::v1::Role;
use tokio_util::sync::CancellationToken;

use crate::auth::{Issuer, Verifier};
use crate::db::Location;
use crate::server::{Limits, Service};

/// The signing secret every test server accepts.
pub const TEST_SECRET: &[u8] = b"concord-test-secret-0123456789abcdef";

/// Which database a test body runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL, when `CONCORD_TEST_DATABASE_URL` is set.
    pub fn postgres() -> Option<Self> {
        std::env::var("CONCORD_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(Backend::Postgres)
    }

    /// A fresh, empty place for `service`'s data: a new SQLite file or a new
    /// PostgreSQL schema. Keep the returned value alive for the test.
    pub fn fresh(&self, service: &str) -> TestDb {
        match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join(format!("{service}.db"));
                TestDb {
                    location: Location::Sqlite { path },
                    _dir: Some(dir),
                }
            }
            Backend::Postgres(url) => {
                let schema = format!("t{}_{service}", uuid::Uuid::now_v7().simple());
                TestDb {
                    location: Location::Postgres {
                        url: url.clone(),
                        schema,
                    },
                    _dir: None,
                }
            }
        }
    }
}

/// A database location that lives as long as the test.
#[derive(Debug)]
pub struct TestDb {
    pub location: Location,
    _dir: Option<tempfile::TempDir>,
}

/// The Redis URL for bus tests, when `CONCORD_TEST_REDIS_URL` is set.
pub fn redis_url() -> Option<String> {
    std::env::var("CONCORD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Shows logs when `TEST_LOG=1`.
pub fn init_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
                .with_test_writer()
                .try_init();
        }
    });
}

/// The verifier test servers use.
pub fn verifier() -> Verifier {
    Verifier::hs256(TEST_SECRET)
}

/// A token for `subject` with `roles` in `department`.
pub fn token(subject: &str, roles: &[Role], department: Option<&str>) -> String {
    Issuer::new(TEST_SECRET)
        .issue(subject, roles, department, Duration::from_secs(3600))
        .expect("token")
}

/// A server running for a test; shut down when dropped.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A channel to the server.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.url())
            .expect("url")
            .connect()
            .await
            .expect("connect")
    }

    /// Triggers graceful shutdown and waits for the server to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.handle.take() {
            Some(h) => h.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Serves `service` on a fresh port with the test verifier and waits until
/// its health service answers SERVING for `health_name`.
pub async fn spawn(service: Service, limits: Limits) -> TestServer {
    init_log();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let name = service.health_names.first().copied().unwrap_or("");
    let handle = tokio::spawn(crate::server::serve(
        listener,
        service,
        verifier(),
        limits,
        shutdown.clone(),
    ));
    let server = TestServer {
        addr,
        shutdown,
        handle: Some(handle),
    };
    wait_serving(&server.url(), name).await;
    server
}

/// Polls gRPC health until `service` is SERVING (at most ten seconds).
pub async fn wait_serving(url: &str, service: &str) {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(ch) = tonic::transport::Endpoint::from_shared(url.to_string())
            .expect("url")
            .connect()
            .await
        {
            let mut client = HealthClient::new(ch);
            if let Ok(r) = client
                .check(HealthCheckRequest {
                    service: service.to_string(),
                })
                .await
                && r.into_inner().status == ServingStatus::Serving as i32
            {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} never became SERVING for {service:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Adds a bearer token to a request.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    req
}

/// The field names of an INVALID_ARGUMENT status's `BadRequest`.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The status of a call that must fail with `code`.
#[track_caller]
pub fn fails<T: std::fmt::Debug>(
    r: Result<tonic::Response<T>, tonic::Status>,
    code: tonic::Code,
) -> tonic::Status {
    match r {
        Ok(resp) => panic!("expected {code:?}, got {:?}", resp.into_inner()),
        Err(s) => {
            assert_eq!(s.code(), code, "{s:?}");
            s
        }
    }
}

/// A call that must fail with INVALID_ARGUMENT naming exactly `fields`.
#[track_caller]
pub fn names_fields<T: std::fmt::Debug>(
    r: Result<tonic::Response<T>, tonic::Status>,
    fields: &[&str],
) {
    let s = fails(r, tonic::Code::InvalidArgument);
    let mut got = bad_fields(&s);
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{s:?}");
}

/// Polls `f` until it yields a value, for ten seconds at most, failing the
/// test with `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs each named `async fn(Backend)` once on SQLite and once on
/// PostgreSQL (when `CONCORD_TEST_DATABASE_URL` is set): one body, both
/// backends.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::testing::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::testing::Backend::postgres() {
                        Some(backend) => super::$name(backend).await,
                        None => eprintln!("skipped: set CONCORD_TEST_DATABASE_URL to run on PostgreSQL"),
                    }
                }
            }
        )*
    };
}

/// Channels to already running test servers (`[("directory", url)]`),
/// signed as service `me` with the test secret.
pub fn upstreams(servers: &[(&str, String)], me: &str) -> crate::clients::Upstreams {
    crate::clients::Upstreams::new(
        servers
            .iter()
            .map(|(n, u)| (n.to_string(), u.clone()))
            .collect(),
        crate::clients::Credentials::issuer(Issuer::new(TEST_SECRET), me),
        Duration::from_secs(10),
    )
}

/// A target context for a test: the given data location, clock, bus and
/// upstreams, default limits, Asia/Shanghai, and a fresh shutdown token.
pub fn context(
    location: Location,
    clock: crate::clock::SharedClock,
    bus: crate::bus::SharedBus,
    upstreams: crate::clients::Upstreams,
) -> crate::target::Context {
    crate::target::Context {
        location,
        clock,
        zone: crate::period::OrgZone::default(),
        bus,
        limits: Limits::default(),
        upstreams,
        shutdown: CancellationToken::new(),
    }
}

/// A new, empty PostgreSQL database next to the one `base_url` names, for
/// tests that run whole processes (each service then makes its own schema in
/// it). Returns its URL.
pub async fn fresh_database(base_url: &str) -> String {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let name = format!("t{}_suite", uuid::Uuid::now_v7().simple());
    let admin = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(base_url)
        .await
        .expect("CONCORD_TEST_DATABASE_URL must be reachable");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create database");
    admin.close().await;
    match base_url.rsplit_once('/') {
        Some((server, db)) => {
            let query = db
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{server}/{name}{query}")
        }
        None => panic!("CONCORD_TEST_DATABASE_URL {base_url} names no database"),
    }
}

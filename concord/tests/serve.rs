//! The binary's promises: the suite starts on its embedded default, answers
//! health and reflection, exposes the grpc-ecosystem metrics, and shuts down
//! gracefully, finishing in-flight calls.

use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use concord_kit::config::Settings;
use concord_kit::server::{Limits, Service};
use concord_kit::testing::{token, with_token};
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::directory::v1::{CreateDepartmentRequest, ListDepartmentsRequest};
use concord_proto::policy::v1::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;

const DIRECTORY: &str = "concord.directory.v1.DirectoryService";

fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        data_dir: dir.to_path_buf(),
        jwt_secret: Some(
            String::from_utf8(concord_kit::testing::TEST_SECRET.to_vec())
                .unwrap()
                .into(),
        ),
        ..Settings::default()
    }
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_serves_health_reflection_and_metrics() {
    concord_kit::testing::init_log();
    let dir = tempfile::tempdir().unwrap();
    let suite = concord::suite::start(
        &settings(dir.path()),
        &[],
        concord::suite::Bind::Ephemeral,
        None,
    )
    .await
    .unwrap();
    let addr = suite.addrs["directory"];
    let url = format!("http://{addr}");
    concord_kit::testing::wait_serving(&url, DIRECTORY).await;
    assert!(
        dir.path().join("directory.db").exists(),
        "SQLite file in the data directory"
    );

    // Reflection lists the directory service (v1 and v1alpha).
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let channel = tonic::transport::Endpoint::from_shared(url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(response)) = responses.next().await else {
        panic!("no reflection answer")
    };
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&DIRECTORY), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");

    // A few calls, then the metrics show them with the grpc-ecosystem labels.
    let admin = token("admin-1", &[Role::Admin], None);
    let mut client = DirectoryServiceClient::new(channel);
    client
        .create_department(with_token(
            CreateDepartmentRequest {
                name: "信息中心".into(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap();
    let denied = client
        .create_department(with_token(
            CreateDepartmentRequest {
                name: "x".into(),
                ..Default::default()
            },
            &token("m", &[Role::Member], None),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    client
        .list_departments(with_token(ListDepartmentsRequest::default(), &admin))
        .await
        .unwrap();

    let metrics = http_get(suite.metrics_addr, "/metrics").await;
    assert!(
        metrics.starts_with("HTTP/1.1 200") || metrics.starts_with("HTTP/1.0 200"),
        "{metrics}"
    );
    for expected in [
        r#"grpc_server_handled_total{component="service",grpc_code="OK",grpc_method="CreateDepartment",grpc_service="concord.directory.v1.DirectoryService",grpc_type="unary"}"#,
        r#"grpc_server_handled_total{component="service",grpc_code="PermissionDenied",grpc_method="CreateDepartment",grpc_service="concord.directory.v1.DirectoryService",grpc_type="unary"}"#,
        r#"grpc_server_started_total{component="service",grpc_method="ListDepartments",grpc_service="concord.directory.v1.DirectoryService",grpc_type="unary"}"#,
        r#"grpc_server_handling_seconds_bucket{component="service",grpc_method="ListDepartments",grpc_service="concord.directory.v1.DirectoryService",grpc_type="unary""#,
    ] {
        assert!(metrics.contains(expected), "missing {expected}");
    }

    suite.shutdown.cancel();
    suite.wait().await.unwrap();
}

/// Wraps a service so every call takes a while: the calls are surely in
/// flight when shutdown begins.
#[derive(Clone)]
struct Slow(tonic::service::Routes);

impl tonic::server::NamedService for Slow {
    const NAME: &'static str = DIRECTORY;
}

impl tower::Service<http::Request<tonic::body::Body>> for Slow {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let mut inner = self.0.clone();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            tower::Service::call(&mut inner, req).await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_calls_and_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = concord_kit::target::Context {
        location: concord_kit::db::Location::Sqlite {
            path: dir.path().join("directory.db"),
        },
        clock: std::sync::Arc::new(concord_kit::clock::SystemClock),
        zone: Default::default(),
        bus: concord_kit::bus::InProcessBus::new(),
        limits: Limits::default(),
        upstreams: concord_kit::clients::Upstreams::new(
            Default::default(),
            concord_kit::clients::Credentials::Static(String::new()),
            Duration::from_secs(5),
        ),
        shutdown: Default::default(),
    };
    let service = (concord_directory::TARGET.start)(ctx).await.unwrap();
    let slow = Service {
        routes: tonic::service::Routes::new(Slow(service.routes)),
        health_names: service.health_names,
    };
    let server = concord_kit::testing::spawn(slow, Limits::default()).await;
    let admin = token("admin-1", &[Role::Admin], None);
    let channel = server.channel().await;

    let calls: Vec<_> = (0..20)
        .map(|i| {
            let mut client = DirectoryServiceClient::new(channel.clone());
            let admin = admin.clone();
            tokio::spawn(async move {
                client
                    .create_department(with_token(
                        CreateDepartmentRequest {
                            request_id: format!("r{i}"),
                            name: format!("部门{i}"),
                            ..Default::default()
                        },
                        &admin,
                    ))
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let url = server.url();
    let stopping = tokio::spawn(server.stop());

    for call in calls {
        let created = call
            .await
            .unwrap()
            .expect("an in-flight call completes during shutdown");
        assert!(!created.into_inner().id.is_empty());
    }
    stopping.await.unwrap().unwrap();
    // The listener is closed: new connections are refused.
    assert!(
        tonic::transport::Endpoint::from_shared(url)
            .unwrap()
            .connect()
            .await
            .is_err()
    );
}

#[test]
fn sigterm_stops_the_binary_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_concord");
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--port-base", "0", "--metrics-port", "0"])
        .env("CONCORD_DATA_DIR", dir.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the banner, then ask it to stop the way Kubernetes does.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert!(n > 0, "exited before serving: {banner}");
        banner.push_str(&line);
        if line.starts_with("Try:") {
            break;
        }
    }
    assert!(banner.contains("Concord is running (SQLite"), "{banner}");
    assert!(banner.contains("directory"), "{banner}");
    assert!(dir.path().join("jwt-secret").exists());
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

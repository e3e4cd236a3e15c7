//! The gateway in front of real tonic servers on 127.0.0.1:0, called with
//! the generated clients. Each test runs on the current-thread runtime
//! `#[tokio::test]` gives, which the gateway must support.

mod common;

use std::time::{Duration, Instant};

use common::*;
use concord_gateway::{RateLimit, Upstream};
use concord_kit::auth::{Claims, DEV_ISSUER, Issuer};
use concord_kit::testing::{TEST_SECRET, token, with_token};
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::directory::v1::directory_service_server::DirectoryServiceServer;
use concord_proto::directory::v1::{CreateDepartmentRequest, GetDepartmentRequest};
use concord_proto::policy::v1::Role;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt as _;

fn member() -> String {
    token("p-member", &[Role::Member], Some("d1"))
}

fn get(id: &str, token: &str) -> tonic::Request<GetDepartmentRequest> {
    with_token(GetDepartmentRequest { id: id.into() }, token)
}

async fn health_of(channel: tonic::transport::Channel, service: &str) -> i32 {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or(-1)
}

/// Polls the gateway's health for `service` until it is `want` (ten seconds at most).
async fn wait_health(gw: &Gateway, service: &str, want: ServingStatus) {
    let channel = gw.channel().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while health_of(channel.clone(), service).await != want as i32 {
        assert!(Instant::now() < deadline, "{service} never became {want:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_unary_call_passes_metadata_both_ways_and_upstream_statuses_unchanged() {
    let up = spawn_upstream().await;
    let gw = spawn_gateway(config_for(&up.server.url()), Some(DIRECTORY)).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);

    let mut req = get("d1", &member());
    req.metadata_mut()
        .insert("x-request-tag", "42".parse().unwrap());
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    req.metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    let res = client.get_department(req).await.unwrap();
    assert_eq!(
        res.metadata().get("x-served-by").unwrap(),
        "directory-double"
    );
    assert_eq!(res.get_ref().name, "总务处 General Affairs");

    let seen = up.directory.seen.last();
    assert_eq!(seen.get("x-request-tag").unwrap(), "42");
    assert_eq!(
        seen.get("traceparent").unwrap(),
        traceparent,
        "trace context passes through"
    );
    assert!(
        seen.get("authorization").is_some(),
        "services verify the token again"
    );

    let err = client
        .get_department(get("missing", &member()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "department missing not found");
}

#[tokio::test]
async fn server_streaming_and_bidi_calls_stream_through() {
    let up = spawn_upstream().await;
    let gw = spawn_gateway(config_for(&up.server.url()), Some(TICKS)).await;
    let channel = gw.channel().await;

    let mut ticks = HealthClient::new(renaming_client(
        channel.clone(),
        "grpc.health.v1.Health",
        TICKS,
    ));
    let refused = ticks
        .watch(HealthCheckRequest {
            service: "tick".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::Unauthenticated,
        "services outside the contracts need a signed-in caller"
    );

    let mut stream = ticks
        .watch(with_token(
            HealthCheckRequest {
                service: "tick".into(),
            },
            &member(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stream.message().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );
    up.ticks
        .set_service_status("tick", tonic_health::ServingStatus::NotServing)
        .await;
    assert_eq!(
        stream.message().await.unwrap().unwrap().status,
        ServingStatus::NotServing as i32
    );

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    let mut mirror = ServerReflectionClient::new(renaming_client(
        channel,
        "grpc.reflection.v1.ServerReflection",
        MIRROR,
    ));
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut replies = mirror
        .server_reflection_info(with_token(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            &member(),
        ))
        .await
        .unwrap()
        .into_inner();
    // Bidi: each answer arrives before the next question is sent.
    for symbol in ["grpc.health.v1.Health", "grpc.health.v1.HealthCheckRequest"] {
        let ask = MessageRequest::FileContainingSymbol(symbol.into());
        tx.send(ServerReflectionRequest {
            host: String::new(),
            message_request: Some(ask),
        })
        .await
        .unwrap();
        assert!(
            replies
                .message()
                .await
                .unwrap()
                .unwrap()
                .message_response
                .is_some()
        );
    }
    drop(tx);
    assert!(
        replies.message().await.unwrap().is_none(),
        "the stream ends with OK trailers"
    );
}

#[tokio::test]
async fn an_expired_deadline_is_deadline_exceeded_from_the_gateway() {
    let up = spawn_upstream().await;
    let gw = spawn_gateway(config_for(&up.server.url()), Some(DIRECTORY)).await;
    // No client-side timer: the answer has to come from the gateway.
    let mut client = DirectoryServiceClient::new(H2::tcp(gw.addr).await);
    let mut req = get("slow", &member());
    req.set_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let err = client.get_department(req).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        up.directory.seen.last().get("grpc-timeout").is_some(),
        "the deadline travels upstream"
    );
}

#[tokio::test]
async fn an_upstream_that_is_down_is_unavailable_at_once() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gw = spawn_gateway(config_for(&format!("http://{closed}")), None).await;
    assert_eq!(
        health_of(gw.channel().await, DIRECTORY).await,
        ServingStatus::NotServing as i32
    );
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    for _ in 0..3 {
        let started = Instant::now();
        let err = client
            .get_department(get("d1", &member()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn missing_malformed_forged_and_expired_tokens_never_reach_the_upstream() {
    let up = spawn_upstream().await;
    let gw = spawn_gateway(config_for(&up.server.url()), Some(DIRECTORY)).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);

    let forged = Issuer::new(b"not-the-gateway-secret-0123456789")
        .issue("p1", &[Role::Admin], None, Duration::from_secs(60))
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = Claims {
        sub: "p1".into(),
        dept: None,
        roles: vec!["member".into()],
        exp: now - 600,
        iat: now - 700,
        iss: DEV_ISSUER.into(),
    };
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET),
    )
    .unwrap();
    let mut cases = vec![(
        "missing",
        tonic::Request::new(GetDepartmentRequest { id: "d1".into() }),
    )];
    for (why, header) in [
        ("malformed", "Basic dXNlcjpwYXNz".to_string()),
        ("not a jwt", "Bearer not.a.jwt".to_string()),
        ("forged", format!("Bearer {forged}")),
        ("expired", format!("Bearer {expired}")),
    ] {
        let mut req = tonic::Request::new(GetDepartmentRequest { id: "d1".into() });
        req.metadata_mut()
            .insert("authorization", header.parse().unwrap());
        cases.push((why, req));
    }
    for (why, req) in cases {
        let err = client.get_department(req).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{why}: {err:?}");
    }
    assert_eq!(
        up.directory.seen.calls(),
        0,
        "no refused call reached the upstream"
    );

    // Trailers-only: the status is in the response headers, with no body.
    let req = http::Request::post(format!("http://localhost/{DIRECTORY}/GetDepartment"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(H2::tcp(gw.addr).await, req)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("grpc-status").unwrap(), "16");
    assert!(http_body::Body::is_end_stream(res.body()));
}

#[tokio::test]
async fn a_role_the_policy_does_not_allow_is_permission_denied() {
    let up = spawn_upstream().await;
    let gw = spawn_gateway(config_for(&up.server.url()), Some(DIRECTORY)).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    let create = |t: &str| {
        with_token(
            CreateDepartmentRequest {
                name: "应急办".into(),
                ..Default::default()
            },
            t,
        )
    };

    let err = client
        .create_department(create(&member()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(up.directory.seen.calls(), 0);

    let admin = token("p-admin", &[Role::Admin], None);
    assert_eq!(
        client
            .create_department(create(&admin))
            .await
            .unwrap()
            .get_ref()
            .name,
        "应急办"
    );
    assert_eq!(up.directory.seen.calls(), 1);

    let metrics = concord_kit::metrics::render();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("grpc_server_handled_total")
                && l.contains("grpc_code=\"PermissionDenied\"")
                && l.contains("grpc_method=\"CreateDepartment\"")),
        "refusals are counted"
    );
    assert!(metrics.contains(&format!(
        "concord_gateway_upstream_seconds_count{{grpc_service=\"{DIRECTORY}\"}}"
    )));
}

#[tokio::test]
async fn a_principal_over_its_rate_gets_resource_exhausted_with_retry_info() {
    let up = spawn_upstream().await;
    let mut config = config_for(&up.server.url());
    config.rate_limit = RateLimit {
        per_second: 0.5,
        burst: 2,
    };
    let gw = spawn_gateway(config, Some(DIRECTORY)).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    let busy = member();
    for _ in 0..2 {
        client.get_department(get("d1", &busy)).await.unwrap();
    }
    let err = client.get_department(get("d1", &busy)).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("rate limit"), "{}", err.message());
    let delay = err
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo");
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(2),
        "{delay:?}"
    );
    assert_eq!(up.directory.seen.calls(), 2);

    let someone_else = token("p-other", &[Role::Member], None);
    client
        .get_department(get("d1", &someone_else))
        .await
        .unwrap();
}

#[tokio::test]
async fn beyond_the_in_flight_limit_calls_are_refused_at_once() {
    let up = spawn_upstream().await;
    let mut config = config_for(&up.server.url());
    config.max_in_flight = 1;
    let gw = spawn_gateway(config, Some(DIRECTORY)).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    let mut slow_client = client.clone();
    let slow =
        tokio::spawn(async move { slow_client.get_department(get("slow", &member())).await });
    while up.directory.seen.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let err = client
        .get_department(get("d1", &member()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.message().contains("overloaded"), "{}", err.message());
    assert!(started.elapsed() < Duration::from_millis(200));
    slow.await.unwrap().unwrap();
    client.get_department(get("d1", &member())).await.unwrap();
}

#[tokio::test]
async fn more_streams_than_one_upstream_connection_allows_open_another_connection() {
    let limits = concord_kit::server::Limits {
        max_concurrent_streams: 2,
        ..Default::default()
    };
    let up = spawn_upstream_with(limits).await;
    let mut config = config_for(&up.server.url());
    config.connections_per_upstream = 1;
    config.max_connections_per_upstream = 4;
    let gw = spawn_gateway(config, Some(TICKS)).await;
    let mut ticks = HealthClient::new(renaming_client(
        gw.channel().await,
        "grpc.health.v1.Health",
        TICKS,
    ));
    // Five long-lived watchers need three connections of two streams each.
    let mut watchers = Vec::new();
    for _ in 0..5 {
        let watch = ticks.watch(with_token(
            HealthCheckRequest {
                service: "tick".into(),
            },
            &member(),
        ));
        let mut stream = tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .expect("a watcher waited for a stream slot")
            .unwrap()
            .into_inner();
        assert_eq!(
            stream.message().await.unwrap().unwrap().status,
            ServingStatus::Serving as i32
        );
        watchers.push(stream);
    }
    // Unary calls still get through beside them.
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    tokio::time::timeout(
        Duration::from_secs(5),
        client.get_department(get("d1", &member())),
    )
    .await
    .expect("a unary call waited behind the watchers")
    .unwrap();
}

#[tokio::test]
async fn unknown_methods_and_services_are_unimplemented() {
    let up = spawn_upstream().await;
    let gw = spawn_gateway(config_for(&up.server.url()), Some(DIRECTORY)).await;
    let channel = gw.channel().await;
    for (from, to) in [
        ("GetDepartment", "NoSuchMethod"),
        (DIRECTORY, "nope.v1.Unknown"),
        (DIRECTORY, "concord.notices.v1.NoticeService"),
    ] {
        let mut client = DirectoryServiceClient::new(renaming_client(channel.clone(), from, to));
        let err = client
            .get_department(get("d1", &member()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unimplemented, "{to}: {err:?}");
    }
    assert_eq!(up.directory.seen.calls(), 0);
}

#[tokio::test]
async fn a_local_upstream_is_called_in_process() {
    let directory = Directory::default();
    let routes = tonic::service::Routes::new(DirectoryServiceServer::new(directory.clone()));
    let mut config = concord_gateway::GatewayConfig::default();
    config
        .upstreams
        .insert(DIRECTORY.into(), Upstream::local(routes));
    let gw = spawn_gateway(config, Some(DIRECTORY)).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    let res = client.get_department(get("d1", &member())).await.unwrap();
    assert_eq!(
        res.metadata().get("x-served-by").unwrap(),
        "directory-double"
    );
    assert_eq!(directory.seen.calls(), 1);
    let err = client
        .create_department(with_token(CreateDepartmentRequest::default(), &member()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(directory.seen.calls(), 1);
}

#[tokio::test]
async fn reflection_lists_every_concord_service_in_both_versions() {
    let gw = spawn_gateway(concord_gateway::GatewayConfig::default(), None).await;
    let mut want: Vec<String> = concord_proto::policy_table::services()
        .iter()
        .map(|s| s.to_string())
        .collect();
    want.push("grpc.health.v1.Health".into());

    use tonic_reflection::pb::{v1, v1alpha};
    let ask = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(gw.channel().await);
    let reply = client
        .server_reflection_info(tokio_stream::iter([ask]))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap()
        .unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("not a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for w in &want {
        assert!(names.contains(w), "v1 reflection lacks {w}: {names:?}");
    }

    let ask = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(gw.channel().await);
    let reply = client
        .server_reflection_info(tokio_stream::iter([ask]))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap()
        .unwrap();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("not a service list")
    };
    assert!(list.service.iter().any(|s| s.name == DIRECTORY));
}

#[tokio::test]
async fn health_follows_an_upstream_going_down() {
    let up = spawn_upstream().await;
    let gw = spawn_gateway(config_for(&up.server.url()), Some(DIRECTORY)).await;
    assert_eq!(
        health_of(gw.channel().await, "").await,
        ServingStatus::Serving as i32
    );
    up.server.stop().await.unwrap();
    wait_health(&gw, DIRECTORY, ServingStatus::NotServing).await;
    assert_eq!(
        health_of(gw.channel().await, "").await,
        ServingStatus::Serving as i32,
        "the gateway itself is fine"
    );
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    assert_eq!(
        client
            .get_department(get("d1", &member()))
            .await
            .unwrap_err()
            .code(),
        Code::Unavailable
    );
}

#[tokio::test]
async fn shutdown_reports_not_serving_and_lets_calls_in_flight_finish() {
    let up = spawn_upstream().await;
    let mut config = config_for(&up.server.url());
    config.shutdown_grace = Duration::from_secs(5);
    let gw = spawn_gateway(config, Some(DIRECTORY)).await;
    let channel = gw.channel().await;
    let mut watch = HealthClient::new(channel.clone())
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );
    let mut client = DirectoryServiceClient::new(channel);
    let slow = tokio::spawn(async move { client.get_department(get("slow", &member())).await });
    while up.directory.seen.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let started = Instant::now();
    gw.shutdown.cancel();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::NotServing as i32
    );
    drop(watch);
    assert_eq!(
        slow.await.unwrap().unwrap().get_ref().id,
        "slow",
        "the call in flight finished"
    );
    let addr = gw.addr;
    gw.stop().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "drained in {:?}",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

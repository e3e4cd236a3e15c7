//! The gateway in front of every service: routing, streams, deadlines,
//! authentication, the role policy, rate limits, an upstream that is down,
//! grpc-web and reflection.

use std::time::{Duration, Instant};

use concord_e2e::{Suite, spawn_suite, spawn_suite_with, unary};
use concord_kit::testing::{Backend, token};
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::directory::v1::{
    CreateDepartmentRequest, CreatePersonRequest, ListDepartmentsRequest,
};
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use concord_proto::policy::v1::Role;
use concord_proto::policy_table;
use futures::StreamExt;
use tonic::Code;

/// Every service of the contracts that this suite serves answers a unary
/// call through the gateway (its audit trail, which every service keeps).
async fn every_service_answers_through_the_gateway(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let auditor = token("auditor-1", &[Role::Auditor], None);
    let mut reached = Vec::new();
    let served = |service: &str| {
        suite
            .addrs
            .keys()
            .any(|t| service.starts_with(&format!("concord.{t}.")))
    };
    for m in policy_table::METHODS
        .iter()
        .filter(|m| m.method == "ListAuditEntries" && served(m.service))
    {
        let path: &'static str = m.path;
        let res: ListAuditEntriesResponse = unary(
            suite.as_(Some(&auditor)),
            path,
            ListAuditEntriesRequest::default(),
        )
        .await
        .unwrap_or_else(|s| panic!("{path}: {s:?}"));
        assert!(res.entries.len() <= 50);
        reached.push(m.service);
    }
    for service in [
        "concord.directory.v1.DirectoryService",
        "concord.notices.v1.NoticeService",
        "concord.emergency.v1.EmergencyService",
        "concord.feedback.v1.FeedbackService",
        "concord.decisions.v1.DecisionService",
        "concord.training.v1.TrainingService",
        "concord.appraisal.v1.AppraisalService",
    ] {
        assert!(
            reached.contains(&service),
            "{service} not reached: {reached:?}"
        );
    }
    // The services without an audit list of their own answer too.
    let member = token("member-1", &[Role::Member], None);
    let meetings = concord_proto::notices::v1::meeting_service_client::MeetingServiceClient::new(
        suite.as_(Some(&member)),
    );
    meetings
        .clone()
        .list_meetings(concord_proto::notices::v1::ListMeetingsRequest::default())
        .await
        .unwrap();
    let actions =
        concord_proto::decisions::v1::action_item_service_client::ActionItemServiceClient::new(
            suite.as_(Some(&member)),
        );
    actions
        .clone()
        .list_action_items(concord_proto::decisions::v1::ListActionItemsRequest::default())
        .await
        .unwrap();

    let development =
        concord_proto::training::v1::development_service_client::DevelopmentServiceClient::new(
            suite.as_(Some(&member)),
        );
    development
        .clone()
        .list_development_plans(concord_proto::training::v1::ListDevelopmentPlansRequest::default())
        .await
        .unwrap();

    // Both sides count the calls, apart.
    let metrics = suite.metrics_text().await;
    assert!(metrics.contains(r#"grpc_server_handled_total{component="gateway",grpc_code="OK",grpc_method="ListAuditEntries",grpc_service="concord.directory.v1.DirectoryService",grpc_type="unary"}"#));
    assert!(metrics.contains(r#"grpc_server_handled_total{component="service",grpc_code="OK",grpc_method="ListAuditEntries",grpc_service="concord.directory.v1.DirectoryService",grpc_type="unary"}"#));
    assert!(metrics.contains("concord_gateway_upstream_seconds_bucket"));
    suite.stop().await.unwrap();
}

/// A server stream through the gateway: a published notice reaches the
/// recipient's inbox watch.
async fn a_server_stream_flows_through_the_gateway(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let admin = token("admin-1", &[Role::Admin], None);
    let mut directory = DirectoryServiceClient::new(suite.as_(Some(&admin)));
    let dept = directory
        .create_department(CreateDepartmentRequest {
            name: "办公室".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let person = directory
        .create_person(CreatePersonRequest {
            display_name: "王芳".into(),
            email: "wang.fang@example.org".into(),
            department_id: dept.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let reader = token(&person.id, &[Role::Member], Some(&dept.id));
    let mut watch = NoticeServiceClient::new(suite.as_(Some(&reader)))
        .watch_inbox(concord_proto::notices::v1::WatchInboxRequest::default())
        .await
        .unwrap()
        .into_inner();

    let mut notices = NoticeServiceClient::new(suite.as_(Some(&admin)));
    let draft = notices
        .create_notice(concord_proto::notices::v1::CreateNoticeRequest {
            request_id: "e2e-notice-1".into(),
            title: "明天上午停电".into(),
            body: "Power is off tomorrow 9:00–11:00.".into(),
            priority: concord_proto::notices::v1::Priority::Urgent as i32,
            audience: Some(concord_proto::notices::v1::Audience {
                department_ids: vec![dept.id.clone()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    notices
        .publish_notice(concord_proto::notices::v1::PublishNoticeRequest {
            id: draft.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("an inbox event within 10 s")
        .expect("stream open")
        .expect("event");
    assert!(format!("{event:?}").contains(&draft.id), "{event:?}");
    suite.stop().await.unwrap();
}

/// Tokens: missing, malformed, forged and expired are UNAUTHENTICATED; a
/// role the policy does not allow is PERMISSION_DENIED.
async fn the_gateway_refuses_bad_tokens_and_denied_roles(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let call = |suite: &Suite, t: Option<String>| {
        let mut c = DirectoryServiceClient::new(suite.as_(t.as_deref()));
        async move {
            c.list_departments(ListDepartmentsRequest::default())
                .await
                .map(|_| ())
        }
    };
    assert_eq!(
        call(&suite, None).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        call(&suite, Some("not-a-jwt".into()))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let forged = concord_kit::auth::Issuer::new(b"somebody-else's-secret-0123456789ab")
        .issue("admin-1", &[Role::Admin], None, Duration::from_secs(600))
        .unwrap();
    assert_eq!(
        call(&suite, Some(forged)).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let expired = expired_token();
    assert_eq!(
        call(&suite, Some(expired)).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    call(&suite, Some(token("m", &[Role::Member], None)))
        .await
        .unwrap();

    let mut member =
        DirectoryServiceClient::new(suite.as_(Some(&token("m", &[Role::Member], None))));
    let denied = member
        .create_department(CreateDepartmentRequest {
            name: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    suite.stop().await.unwrap();
}

fn expired_token() -> String {
    use jsonwebtoken_free::expired;
    expired()
}

/// A token signed with the test secret that expired ten minutes ago.
mod jsonwebtoken_free {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac_sha256::sign;

    pub fn expired() -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"admin-1","roles":["admin"],"exp":{},"iat":{},"iss":"concord-dev"}}"#,
                now - 600,
                now - 1200
            )
            .as_bytes(),
        );
        let input = format!("{header}.{claims}");
        let sig = URL_SAFE_NO_PAD.encode(sign(concord_kit::testing::TEST_SECRET, input.as_bytes()));
        format!("{input}.{sig}")
    }

    mod hmac_sha256 {
        use sha2::{Digest, Sha256};

        /// HMAC-SHA256 (RFC 2104).
        pub fn sign(key: &[u8], message: &[u8]) -> [u8; 32] {
            let mut k = [0u8; 64];
            if key.len() > 64 {
                k[..32].copy_from_slice(&Sha256::digest(key));
            } else {
                k[..key.len()].copy_from_slice(key);
            }
            let mut inner = Sha256::new();
            inner.update(k.map(|b| b ^ 0x36));
            inner.update(message);
            let mut outer = Sha256::new();
            outer.update(k.map(|b| b ^ 0x5c));
            outer.update(inner.finalize());
            outer.finalize().into()
        }
    }
}

/// A call's deadline holds for its whole life: a stream that outlives it
/// is ended with DEADLINE_EXCEEDED.
async fn an_expired_deadline_is_deadline_exceeded(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let member = token("watcher-1", &[Role::Member], None);
    let mut req = tonic::Request::new(concord_proto::notices::v1::WatchInboxRequest::default());
    req.set_timeout(Duration::from_millis(400));
    let started = Instant::now();
    let mut watch = NoticeServiceClient::new(suite.as_(Some(&member)))
        .watch_inbox(req)
        .await
        .unwrap()
        .into_inner();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match watch.next().await {
                Some(Ok(_)) => continue,
                Some(Err(status)) => return status,
                None => panic!("the stream ended without a status"),
            }
        }
    })
    .await
    .expect("the deadline ends the stream");
    assert_eq!(end.code(), Code::DeadlineExceeded, "{end:?}");
    assert!(started.elapsed() >= Duration::from_millis(400));
    suite.stop().await.unwrap();
}

/// Past the per-principal rate the gateway answers RESOURCE_EXHAUSTED with
/// a retry delay; another principal is not affected.
async fn a_rate_limit_is_hit(backend: Backend) {
    let suite = spawn_suite_with(&backend, |s| {
        s.gateway_rate_per_second = 1.0;
        s.gateway_rate_burst = 3;
    })
    .await;
    let mut c = DirectoryServiceClient::new(suite.as_(Some(&token("busy", &[Role::Member], None))));
    let mut refused = None;
    for _ in 0..10 {
        if let Err(s) = c.list_departments(ListDepartmentsRequest::default()).await {
            refused = Some(s);
            break;
        }
    }
    let refused = refused.expect("the limit is hit within 10 calls");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    use tonic_types::StatusExt;
    assert!(
        refused.get_error_details().retry_info().is_some(),
        "carries RetryInfo"
    );
    let mut other =
        DirectoryServiceClient::new(suite.as_(Some(&token("calm", &[Role::Member], None))));
    other
        .list_departments(ListDepartmentsRequest::default())
        .await
        .unwrap();
    suite.stop().await.unwrap();
}

/// A gateway whose upstream is down answers UNAVAILABLE, quickly, and its
/// health says NOT_SERVING for that service.
#[tokio::test]
async fn an_upstream_that_is_down_is_unavailable_quickly() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut settings = concord_e2e::settings(&Backend::Sqlite, data.path()).await;
    settings
        .upstreams
        .insert("directory".into(), format!("http://{closed}"));
    let running = concord::suite::start(
        &settings,
        &["gateway".into()],
        concord::suite::Bind::Ephemeral,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        running.addrs.keys().copied().collect::<Vec<_>>(),
        ["gateway"],
        "only the gateway runs"
    );
    let url = format!("http://{}", running.addrs["gateway"]);
    let channel = tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = DirectoryServiceClient::new(channel.clone());
    let started = Instant::now();
    let err = c
        .list_departments(concord_kit::testing::with_token(
            ListDepartmentsRequest::default(),
            &token("m", &[Role::Member], None),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "concord.directory.v1.DirectoryService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::NotServing as i32
    );
    running.shutdown.cancel();
    running.wait().await.unwrap();
}

/// A browser's grpc-web call over HTTP/1.1 reaches a service.
async fn a_grpc_web_call_reaches_a_service(backend: Backend) {
    use bytes::{Buf, Bytes};
    use http_body_util::{BodyExt, Full};
    use prost::Message;
    let suite = spawn_suite(&backend).await;
    let stream = tokio::net::TcpStream::connect(suite.gateway).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let body = ListDepartmentsRequest::default().encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    let req = http::Request::post("/concord.directory.v1.DirectoryService/ListDepartments")
        .header("host", "concord")
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header(
            "authorization",
            format!("Bearer {}", token("web", &[Role::Member], None)),
        )
        .body(Full::new(Bytes::from(framed)))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut bytes = res.into_body().collect().await.unwrap().to_bytes();
    let mut trailers = String::new();
    let mut messages = 0;
    while bytes.remaining() >= 5 {
        let flag = bytes.get_u8();
        let len = bytes.get_u32() as usize;
        let chunk = bytes.split_to(len);
        if flag & 0x80 != 0 {
            trailers.push_str(std::str::from_utf8(&chunk).unwrap());
        } else {
            concord_proto::directory::v1::ListDepartmentsResponse::decode(chunk).unwrap();
            messages += 1;
        }
    }
    assert_eq!(messages, 1);
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    suite.stop().await.unwrap();
}

/// Reflection against the gateway alone lists every service of the
/// contracts (what grpcurl `list` shows).
async fn reflection_through_the_gateway_lists_every_service(backend: Backend) {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let suite = spawn_suite(&backend).await;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(suite.channel())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(response)) = responses.next().await else {
        panic!("no answer")
    };
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a list")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    // The gateway describes every contract, served here or not.
    for service in policy_table::services() {
        assert!(names.contains(&service), "{service} missing from {names:?}");
    }
    assert!(names.contains(&"grpc.health.v1.Health"));
    suite.stop().await.unwrap();
}

concord_kit::backend_tests!(
    every_service_answers_through_the_gateway,
    a_server_stream_flows_through_the_gateway,
    the_gateway_refuses_bad_tokens_and_denied_roles,
    an_expired_deadline_is_deadline_exceeded,
    a_rate_limit_is_hit,
    a_grpc_web_call_reaches_a_service,
    reflection_through_the_gateway_lists_every_service,
);

//! W3C trace context with spans on (as when an OTLP exporter is
//! installed): the gateway continues the caller's trace, or starts one, and
//! the upstream sees the gateway's span as its parent. Its own test binary,
//! since it installs a global subscriber.

mod common;

use common::*;
use concord_kit::testing::{token, with_token};
use concord_proto::directory::v1::GetDepartmentRequest;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::policy::v1::Role;
use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// `(trace id, parent span id)` of a `traceparent` value.
fn ids(traceparent: &str) -> (String, String) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    (parts[1].to_string(), parts[2].to_string())
}

#[tokio::test]
async fn the_gateway_continues_or_starts_the_trace_and_passes_it_upstream() {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("gateway-test")));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let up = spawn_upstream().await;
    let mut config = config_for(&up.server.url());
    config.trace_calls = true;
    let gw = spawn_gateway(config, Some(DIRECTORY)).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    let member = token("p-member", &[Role::Member], None);

    let caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let mut req = with_token(GetDepartmentRequest { id: "d1".into() }, &member);
    req.metadata_mut()
        .insert("traceparent", caller.parse().unwrap());
    client.get_department(req).await.unwrap();
    let seen = up.directory.seen.last();
    let (trace, parent) = ids(seen.get("traceparent").unwrap().to_str().unwrap());
    assert_eq!(
        trace, "0af7651916cd43dd8448eb211c80319c",
        "the caller's trace continues"
    );
    assert_ne!(
        parent, "b7ad6b7169203331",
        "the upstream's parent is the gateway's span"
    );

    client
        .get_department(with_token(
            GetDepartmentRequest { id: "d1".into() },
            &member,
        ))
        .await
        .unwrap();
    let seen = up.directory.seen.last();
    let (trace, _) = ids(seen
        .get("traceparent")
        .expect("a trace started at the gateway")
        .to_str()
        .unwrap());
    assert_ne!(trace, "0af7651916cd43dd8448eb211c80319c");
    assert_ne!(trace, "0".repeat(32));
}

//! grpc-web over HTTP/1.1, the way a browser sends it: a framed protobuf
//! body, the status in a trailer frame at the end of the response body.

mod common;

use bytes::{Buf, Bytes};
use common::*;
use concord_kit::testing::token;
use concord_proto::directory::v1::{Department, GetDepartmentRequest};
use concord_proto::policy::v1::Role;
use http_body_util::{BodyExt, Full};
use prost::Message;

async fn http1(addr: std::net::SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

fn framed(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out.into()
}

/// Splits a grpc-web response body into its messages and its trailer block.
fn unframe(mut body: Bytes) -> (Vec<Bytes>, String) {
    let (mut messages, mut trailers) = (Vec::new(), String::new());
    while body.remaining() >= 5 {
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        let chunk = body.split_to(len);
        if flag & 0x80 != 0 {
            trailers.push_str(std::str::from_utf8(&chunk).unwrap());
        } else {
            messages.push(chunk);
        }
    }
    (messages, trailers)
}

fn web_request(token: Option<&str>, message: &GetDepartmentRequest) -> http::Request<Full<Bytes>> {
    let mut req = http::Request::post(format!("/{DIRECTORY}/GetDepartment"))
        .header("host", "gateway.test")
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", "https://app.example");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(Full::new(framed(message))).unwrap()
}

#[tokio::test]
async fn a_grpc_web_call_over_http1_gets_its_message_and_status_in_the_body() {
    let up = spawn_upstream().await;
    let gw = spawn_gateway(config_for(&up.server.url()), Some(DIRECTORY)).await;
    let mut client = http1(gw.addr).await;
    let member = token("p-web", &[Role::Member], None);

    let res = client
        .send_request(web_request(
            Some(&member),
            &GetDepartmentRequest { id: "d7".into() },
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/grpc-web+proto"
    );
    assert_eq!(
        res.headers().get("access-control-allow-origin").unwrap(),
        "*"
    );
    let (messages, trailers) = unframe(res.into_body().collect().await.unwrap().to_bytes());
    assert_eq!(messages.len(), 1);
    let department = Department::decode(messages[0].clone()).unwrap();
    assert_eq!(department.id, "d7");
    assert_eq!(department.name, "总务处 General Affairs");
    assert!(trailers.contains("grpc-status:0"), "{trailers:?}");
    assert_eq!(up.directory.seen.calls(), 1);

    // Refused before the upstream: the status still reaches the browser.
    let res = client
        .send_request(web_request(None, &GetDepartmentRequest { id: "d7".into() }))
        .await
        .unwrap();
    let in_headers = res
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_string());
    let (_, trailers) = unframe(res.into_body().collect().await.unwrap().to_bytes());
    assert!(
        in_headers.as_deref() == Some("16") || trailers.contains("grpc-status:16"),
        "{in_headers:?} {trailers:?}"
    );
    assert_eq!(up.directory.seen.calls(), 1);
}

#[tokio::test]
async fn a_browser_preflight_is_answered_with_cors_headers() {
    let gw = spawn_gateway(concord_gateway::GatewayConfig::default(), None).await;
    let mut client = http1(gw.addr).await;
    let preflight = http::Request::options(format!("/{DIRECTORY}/GetDepartment"))
        .header("host", "gateway.test")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-grpc-web",
        )
        .body(Full::new(Bytes::new()))
        .unwrap();
    let res = client.send_request(preflight).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers().get("access-control-allow-origin").unwrap(),
        "*"
    );
    let allowed = res
        .headers()
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("x-grpc-web"),
        "{allowed}"
    );
}

//! Connection failures between the gateway and an upstream: a safe read is
//! sent again once on another connection; a write never is. A TCP proxy
//! between them cuts the connection that carries a marked request.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use concord_kit::testing::{token, with_token};
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::directory::v1::{CreateDepartmentRequest, GetDepartmentRequest};
use concord_proto::policy::v1::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Forwards to `upstream`, but drops the whole connection the first time a
/// read from the gateway contains `marker` while a cut is pending.
struct CuttingProxy {
    addr: std::net::SocketAddr,
    marker: Arc<std::sync::Mutex<Vec<u8>>>,
    pending: Arc<AtomicUsize>,
}

impl CuttingProxy {
    async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            marker: Default::default(),
            pending: Default::default(),
        };
        let (marker, pending) = (proxy.marker.clone(), proxy.pending.clone());
        tokio::spawn(async move {
            while let Ok((downstream, _)) = listener.accept().await {
                let upstream = TcpStream::connect(upstream).await.unwrap();
                tokio::spawn(pump(downstream, upstream, marker.clone(), pending.clone()));
            }
        });
        proxy
    }

    /// Cuts the next connection that carries `marker`.
    fn cut_next(&self, marker: &str) {
        *self.marker.lock().unwrap() = marker.as_bytes().to_vec();
        self.pending.store(1, Ordering::SeqCst);
    }

    fn cut_done(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }
}

async fn pump(
    down: TcpStream,
    up: TcpStream,
    marker: Arc<std::sync::Mutex<Vec<u8>>>,
    pending: Arc<AtomicUsize>,
) {
    let (mut down_r, mut down_w) = down.into_split();
    let (mut up_r, mut up_w) = up.into_split();
    let back = tokio::spawn(async move { tokio::io::copy(&mut up_r, &mut down_w).await });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match down_r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let marked = {
            let m = marker.lock().unwrap();
            !m.is_empty() && chunk.windows(m.len()).any(|w| w == m.as_slice())
        };
        if marked
            && pending
                .compare_exchange(1, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            break;
        }
        if up_w.write_all(chunk).await.is_err() {
            break;
        }
    }
    back.abort();
}

async fn setup(connections: usize) -> (Upstreams, CuttingProxy, Gateway) {
    let up = spawn_upstream().await;
    let proxy = CuttingProxy::start(up.server.addr).await;
    let mut config = config_for(&format!("http://{}", proxy.addr));
    config.connections_per_upstream = connections;
    config.health_interval = Duration::from_secs(60);
    let gw = spawn_gateway(config, Some(DIRECTORY)).await;
    (up, proxy, gw)
}

#[tokio::test]
async fn a_safe_read_is_sent_again_once_on_the_other_connection() {
    safe_read_is_sent_again(2).await;
}

#[tokio::test]
async fn a_safe_read_is_sent_again_once_on_the_reconnected_connection() {
    safe_read_is_sent_again(1).await;
}

async fn safe_read_is_sent_again(connections: usize) {
    let (up, proxy, gw) = setup(connections).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    let member = token("p-member", &[Role::Member], None);

    proxy.cut_next("retry-me-please");
    let res = client
        .get_department(with_token(
            GetDepartmentRequest {
                id: "retry-me-please".into(),
            },
            &member,
        ))
        .await;
    assert!(proxy.cut_done(), "the request's connection was cut");
    assert_eq!(
        res.unwrap().get_ref().id,
        "retry-me-please",
        "answered through the other connection"
    );
    assert_eq!(up.directory.seen.calls(), 1, "the upstream handled it once");
}

#[tokio::test]
async fn a_write_is_never_sent_again() {
    let (up, proxy, gw) = setup(2).await;
    let mut client = DirectoryServiceClient::new(gw.channel().await);
    let admin = token("p-admin", &[Role::Admin], None);
    let create = || {
        with_token(
            CreateDepartmentRequest {
                name: "write-exactly-once".into(),
                ..Default::default()
            },
            &admin,
        )
    };

    proxy.cut_next("write-exactly-once");
    let err = client.create_department(create()).await.unwrap_err();
    assert!(proxy.cut_done());
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert_eq!(up.directory.seen.calls(), 0, "the write was not sent again");

    // The next write goes through on a healthy connection.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match client.create_department(create()).await {
            Ok(_) => break,
            Err(e)
                if e.code() == tonic::Code::Unavailable && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(up.directory.seen.calls(), 1);
}

//! `spawn_suite()`: the whole suite started exactly as `concord serve` does
//! (gateway and every service in one process, ports picked by the system),
//! on a fresh SQLite directory or a fresh PostgreSQL database with Redis,
//! and clients that call it through the gateway.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::time::Duration;

use concord::suite::{Bind, GATEWAY, RunningSuite};
use concord_kit::config::Settings;
use concord_kit::testing::{Backend, TEST_SECRET};
use tokio_util::sync::CancellationToken;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

/// A running suite; stopped when dropped.
pub struct Suite {
    /// The gateway's address: every client call goes here.
    pub gateway: SocketAddr,
    /// Each target's own address (for comparing with direct calls).
    pub addrs: std::collections::BTreeMap<&'static str, SocketAddr>,
    pub metrics: SocketAddr,
    pub shutdown: CancellationToken,
    running: Option<RunningSuite>,
    channel: Channel,
    _data: tempfile::TempDir,
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Settings for a suite on `backend` in `data_dir`.
pub async fn settings(backend: &Backend, data_dir: &std::path::Path) -> Settings {
    let mut s = Settings {
        data_dir: data_dir.to_path_buf(),
        jwt_secret: Some(
            String::from_utf8(TEST_SECRET.to_vec())
                .expect("ascii")
                .into(),
        ),
        gateway_rate_per_second: 10_000.0,
        gateway_rate_burst: 10_000,
        ..Settings::default()
    };
    if let Backend::Postgres(url) = backend {
        s.database_url = Some(concord_kit::testing::fresh_database(url).await.into());
        let redis = concord_kit::testing::redis_url()
            .expect("set CONCORD_TEST_REDIS_URL with CONCORD_TEST_DATABASE_URL");
        s.redis_url = Some(redis.into());
    }
    s
}

/// Starts every target on `backend`; `adjust` may change the settings first.
pub async fn spawn_suite_with(backend: &Backend, adjust: impl FnOnce(&mut Settings)) -> Suite {
    concord_kit::testing::init_log();
    let data = tempfile::tempdir().expect("temp dir");
    let mut settings = settings(backend, data.path()).await;
    adjust(&mut settings);
    let running = concord::suite::start(&settings, &[], Bind::Ephemeral, None)
        .await
        .expect("suite starts");
    let gateway = running.addrs[GATEWAY];
    let url = format!("http://{gateway}");
    // Every service of every target this suite runs is up behind the gateway.
    for target in running.addrs.keys().filter(|t| **t != GATEWAY) {
        let prefix = format!("concord.{target}.");
        for name in concord_proto::policy_table::services()
            .into_iter()
            .filter(|s| s.starts_with(&prefix))
        {
            concord_kit::testing::wait_serving(&url, name).await;
        }
    }
    let channel = tonic::transport::Endpoint::from_shared(url)
        .expect("url")
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("connect to the gateway");
    Suite {
        gateway,
        addrs: running.addrs.clone(),
        metrics: running.metrics_addr,
        shutdown: running.shutdown.clone(),
        running: Some(running),
        channel,
        _data: data,
    }
}

/// Starts every target on `backend` with the test settings.
pub async fn spawn_suite(backend: &Backend) -> Suite {
    spawn_suite_with(backend, |_| {}).await
}

/// Adds `authorization: Bearer …` to every call.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// A channel to the gateway that signs calls with one token.
pub type Authed = InterceptedService<Channel, Bearer>;

impl Suite {
    /// A channel through the gateway carrying `token` (none when `None`).
    pub fn as_(&self, token: Option<&str>) -> Authed {
        let value = token.map(|t| format!("Bearer {t}").parse().expect("ascii token"));
        InterceptedService::new(self.channel.clone(), Bearer(value))
    }

    /// The plain channel to the gateway.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// `/metrics` as text.
    pub async fn metrics_text(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.metrics)
            .await
            .expect("metrics");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    /// Stops the suite gracefully and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.running.take() {
            Some(r) => r.wait().await,
            None => Ok(()),
        }
    }
}

/// Calls any unary method by path with prost messages: for checks that run
/// over every service of the contracts.
pub async fn unary<Req, Res>(
    channel: Authed,
    path: &'static str,
    request: Req,
) -> Result<Res, tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Res: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(format!("not ready: {e}")))?;
    let codec = tonic_prost::ProstCodec::<Req, Res>::default();
    let path = http::uri::PathAndQuery::from_static(path);
    grpc.unary(tonic::Request::new(request), path, codec)
        .await
        .map(|r| r.into_inner())
}

pub mod faults;
pub mod org;
pub mod process;
pub mod raw;
pub mod report;
pub mod tokens;

/// `GET <path>` over HTTP/1.0 from `addr`, the whole response as text.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect for GET");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

/// `channel` signing every call with `token` (none when `None`): for calls
/// to a service's own port, around the gateway.
pub fn authed(channel: Channel, token: Option<&str>) -> Authed {
    let value = token.map(|t| format!("Bearer {t}").parse().expect("ascii token"));
    InterceptedService::new(channel, Bearer(value))
}

//! Shared test helpers: a directory test double served by the kit's server,
//! two renamed infrastructure services giving a server-streaming and a bidi
//! method outside Concord's contracts, the gateway on port 0, and a bare
//! HTTP/2 client without tonic's own deadline timer.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use concord_gateway::{GatewayConfig, Upstream};
use concord_kit::server::{Limits, Service};
use concord_kit::testing::{self, TestServer};
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::directory::v1::directory_service_server::{
    DirectoryService, DirectoryServiceServer,
};
use concord_proto::directory::v1::*;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::{Request, Response, Status};

pub const DIRECTORY: &str = "concord.directory.v1.DirectoryService";
pub const TICKS: &str = "test.v1.Ticks";
pub const MIRROR: &str = "test.v1.Mirror";

/// What the directory double saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub calls: AtomicUsize,
    /// The metadata of the last call.
    pub metadata: Mutex<Option<tonic::metadata::MetadataMap>>,
}

impl Seen {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn last(&self) -> tonic::metadata::MetadataMap {
        self.metadata
            .lock()
            .unwrap()
            .clone()
            .expect("a call reached the upstream")
    }
}

/// A directory that answers fixed data: enough for the gateway, which never
/// decodes bodies. `GetDepartment` with id `slow` takes two seconds.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub seen: Arc<Seen>,
}

impl Directory {
    fn record<T>(&self, req: &Request<T>) {
        self.seen.calls.fetch_add(1, Ordering::SeqCst);
        *self.seen.metadata.lock().unwrap() = Some(req.metadata().clone());
    }
}

/// The directory trait with the two methods the tests use and every other
/// method answering UNIMPLEMENTED (generated, so `async_trait` sees them).
macro_rules! directory_double {
    ($($name:ident($req:ty) -> $res:ty;)*) => {
        #[tonic::async_trait]
        impl DirectoryService for Directory {
            async fn get_department(&self, request: Request<GetDepartmentRequest>) -> Result<Response<Department>, Status> {
                self.record(&request);
                let id = request.into_inner().id;
                match id.as_str() {
                    "slow" => tokio::time::sleep(Duration::from_secs(2)).await,
                    "missing" => return Err(Status::not_found("department missing not found")),
                    _ => {}
                }
                let mut res = Response::new(Department { id, name: "总务处 General Affairs".into(), ..Default::default() });
                res.metadata_mut().insert("x-served-by", "directory-double".parse().unwrap());
                Ok(res)
            }

            async fn create_department(&self, request: Request<CreateDepartmentRequest>) -> Result<Response<Department>, Status> {
                self.record(&request);
                let r = request.into_inner();
                Ok(Response::new(Department { id: "d-new".into(), name: r.name, ..Default::default() }))
            }

            $(async fn $name(&self, request: Request<$req>) -> Result<Response<$res>, Status> {
                self.record(&request);
                Err(Status::unimplemented(stringify!($name)))
            })*
        }
    };
}

directory_double! {
    list_departments(ListDepartmentsRequest) -> ListDepartmentsResponse;
    update_department(UpdateDepartmentRequest) -> Department;
    move_department(MoveDepartmentRequest) -> Department;
    delete_department(DeleteDepartmentRequest) -> DeleteDepartmentResponse;
    create_person(CreatePersonRequest) -> Person;
    get_person(GetPersonRequest) -> Person;
    list_people(ListPeopleRequest) -> ListPeopleResponse;
    update_person(UpdatePersonRequest) -> Person;
    deactivate_person(DeactivatePersonRequest) -> Person;
    add_duty(AddDutyRequest) -> Duty;
    list_duties(ListDutiesRequest) -> ListDutiesResponse;
    remove_duty(RemoveDutyRequest) -> RemoveDutyResponse;
    search(SearchRequest) -> SearchResponse;
    find_responsible(FindResponsibleRequest) -> FindResponsibleResponse;
    resolve_audience(ResolveAudienceRequest) -> ResolveAudienceResponse;
    list_audit_entries(ListAuditEntriesRequest) -> ListAuditEntriesResponse;
}

/// Serves an infrastructure service under another name, so the gateway
/// forwards it instead of answering it itself.
#[derive(Debug, Clone)]
pub struct Renamed<S, const WHICH: u8> {
    inner: S,
}

pub type Ticks<S> = Renamed<S, 0>;
pub type Mirror<S> = Renamed<S, 1>;

impl<S> NamedService for Renamed<S, 0> {
    const NAME: &'static str = TICKS;
}

impl<S> NamedService for Renamed<S, 1> {
    const NAME: &'static str = MIRROR;
}

impl<S, const W: u8> Renamed<S, W> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, const W: u8, B> tower::Service<http::Request<B>> for Renamed<S, W>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> S::Future {
        let (from, to) = if W == 0 {
            (TICKS, "grpc.health.v1.Health")
        } else {
            (MIRROR, "grpc.reflection.v1.ServerReflection")
        };
        let path = req.uri().path().replacen(from, to, 1);
        *req.uri_mut() = path.parse().unwrap();
        self.inner.call(req)
    }
}

/// Rewrites a client's paths from one service name to another, so the
/// generated health and reflection clients can call the renamed services.
pub fn renaming_client<S>(
    inner: S,
    from: &'static str,
    to: &'static str,
) -> impl tower::Service<
    http::Request<tonic::body::Body>,
    Response = S::Response,
    Error = S::Error,
    Future = S::Future,
> + Clone
where
    S: tower::Service<http::Request<tonic::body::Body>> + Clone,
{
    tower::ServiceBuilder::new()
        .map_request(move |mut req: http::Request<tonic::body::Body>| {
            let uri = req.uri().to_string().replacen(from, to, 1);
            *req.uri_mut() = uri.parse().unwrap();
            req
        })
        .service(inner)
}

/// The upstream: the directory double plus the renamed streaming services.
pub struct Upstreams {
    pub server: TestServer,
    pub directory: Directory,
    /// Drives what `test.v1.Ticks/Watch` streams.
    pub ticks: tonic_health::server::HealthReporter,
}

pub async fn spawn_upstream() -> Upstreams {
    spawn_upstream_with(Limits::default()).await
}

/// The upstream with its server limits (for example few concurrent streams).
pub async fn spawn_upstream_with(limits: Limits) -> Upstreams {
    let directory = Directory::default();
    let (ticks, health) = tonic_health::server::health_reporter();
    ticks
        .set_service_status("tick", tonic_health::ServingStatus::Serving)
        .await;
    let mirror = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .unwrap();
    let routes = tonic::service::Routes::new(DirectoryServiceServer::new(directory.clone()))
        .add_service(Ticks::new(health))
        .add_service(Mirror::new(mirror));
    let server = testing::spawn(
        Service {
            routes,
            health_names: vec![DIRECTORY, TICKS, MIRROR],
        },
        limits,
    )
    .await;
    Upstreams {
        server,
        directory,
        ticks,
    }
}

/// A gateway serving on a fresh port; shut down when dropped.
pub struct Gateway {
    pub addr: std::net::SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Gateway {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Stops the gateway and waits until `serve` returns.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.handle.take().unwrap().await?
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A config routing the Concord directory and the two test services to `upstream`.
pub fn config_for(upstream: &str) -> GatewayConfig {
    let uri: http::Uri = upstream.parse().unwrap();
    let upstreams: BTreeMap<String, Upstream> = [DIRECTORY, TICKS, MIRROR]
        .iter()
        .map(|n| (n.to_string(), Upstream::Remote(uri.clone())))
        .collect();
    GatewayConfig {
        upstreams,
        health_interval: Duration::from_millis(200),
        ..GatewayConfig::default()
    }
}

/// Starts the gateway; waits until `ready_for` reports SERVING through it.
pub async fn spawn_gateway(config: GatewayConfig, ready_for: Option<&str>) -> Gateway {
    testing::init_log();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(concord_gateway::serve(
        listener,
        config,
        testing::verifier(),
        shutdown.clone(),
    ));
    let gateway = Gateway {
        addr,
        shutdown,
        handle: Some(handle),
    };
    testing::wait_serving(&gateway.url(), ready_for.unwrap_or("")).await;
    gateway
}

/// A plain HTTP/2 client as a tower service for generated clients: unlike
/// tonic's channel it keeps no deadline timer of its own, so what a test
/// sees is what the gateway answered.
#[derive(Debug, Clone)]
pub struct H2 {
    sender: hyper::client::conn::http2::SendRequest<tonic::body::Body>,
}

impl H2 {
    pub async fn connect<IO>(io: IO) -> Result<Self, hyper::Error>
    where
        IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (sender, conn) =
            hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .handshake(io)
                .await?;
        tokio::spawn(conn);
        Ok(Self { sender })
    }

    pub async fn tcp(addr: std::net::SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self::connect(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap()
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for H2 {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        *req.uri_mut() = format!("http://localhost{path}").parse().unwrap();
        let fut = self.sender.send_request(req);
        Box::pin(fut)
    }
}

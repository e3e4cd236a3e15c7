//! The trivial read: a directory that answers `GetPerson` from memory, with
//! no database, served exactly as a Concord target is (the kit's server with
//! its metrics and auth layers, on a multi-thread runtime like `concord
//! serve`). It isolates what a proxy costs from what a read costs.
//!
//! `concord-bench double` serves it alone; `concord-bench double --gateway`
//! also runs the gateway in the same process with the double as an
//! in-process upstream, the way `concord serve` wires its own services.
//! Either prints its addresses as `concord serve` does, then `ready`.

use std::sync::Arc;

use concord_gateway::{GatewayConfig, RateLimit, Upstream};
use concord_kit::auth::Verifier;
use concord_kit::authz::AuthLayer;
use concord_kit::config::Settings;
use concord_kit::metrics::GrpcMetricsLayer;
use concord_kit::server::{Limits, Service};
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::directory::v1::directory_service_server::{
    DirectoryService, DirectoryServiceServer,
};
use concord_proto::directory::v1::*;
use concord_proto::policy::v1::Role;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// The gRPC name the double serves.
pub const DIRECTORY: &str = "concord.directory.v1.DirectoryService";

/// A person the size of a real one, for any id.
#[derive(Debug, Clone)]
struct Double {
    template: Arc<Person>,
}

impl Double {
    fn new() -> Self {
        let time = prost_types::Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        };
        Self {
            template: Arc::new(Person {
                id: String::new(),
                display_name: "王小明 Wang Xiaoming".into(),
                email: "wang.xiaoming@example.org".into(),
                phone: "+86 10 5555 0100".into(),
                title: "科员 Clerk".into(),
                department_id: "0190f5c2-0000-7000-8000-000000000001".into(),
                roles: vec![Role::Member as i32],
                active: true,
                create_time: Some(time),
                update_time: Some(time),
                etag: "\"1\"".into(),
            }),
        }
    }
}

/// `GetPerson` answers; every other method is UNIMPLEMENTED.
macro_rules! double {
    ($($name:ident($req:ty) -> $res:ty;)*) => {
        #[tonic::async_trait]
        impl DirectoryService for Double {
            async fn get_person(&self, request: Request<GetPersonRequest>) -> Result<Response<Person>, Status> {
                let mut person = (*self.template).clone();
                person.id = request.into_inner().id;
                Ok(Response::new(person))
            }

            $(async fn $name(&self, _request: Request<$req>) -> Result<Response<$res>, Status> {
                Err(Status::unimplemented(concat!("the benchmark double has no ", stringify!($name))))
            })*
        }
    };
}

double! {
    create_department(CreateDepartmentRequest) -> Department;
    get_department(GetDepartmentRequest) -> Department;
    list_departments(ListDepartmentsRequest) -> ListDepartmentsResponse;
    update_department(UpdateDepartmentRequest) -> Department;
    move_department(MoveDepartmentRequest) -> Department;
    delete_department(DeleteDepartmentRequest) -> DeleteDepartmentResponse;
    create_person(CreatePersonRequest) -> Person;
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

/// No command-line settings: everything comes from the environment, as for
/// `concord serve` started by the runner.
#[derive(serde::Serialize)]
struct NoFlags {}

/// Serves the double (and with `gateway` the gateway in front of it, in
/// process) until SIGTERM; on the same kind of runtime as `concord serve`.
pub fn run(gateway: bool) -> anyhow::Result<()> {
    let settings = Settings::load(None, NoFlags {})?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let _telemetry = concord_kit::telemetry::init(&settings, "concord-bench-double")?;
        let terminated = concord_kit::server::termination_signal();
        let secret = settings
            .jwt_secret
            .as_ref()
            .map(|s| s.expose_secret().as_bytes().to_vec())
            .ok_or_else(|| anyhow::anyhow!("the double needs CONCORD_JWT_SECRET"))?;
        let verifier = Verifier::hs256(&secret);
        let limits = Limits::from_settings(&settings);
        let shutdown = CancellationToken::new();
        let host = settings.listen_host;
        let routes = tonic::service::Routes::new(DirectoryServiceServer::new(Double::new()));

        let listener = TcpListener::bind((host, 0)).await?;
        println!("  directory  {}", listener.local_addr()?);
        let mut tasks = tokio::task::JoinSet::new();
        if gateway {
            let gateway_listener = TcpListener::bind((host, 0)).await?;
            println!("  gateway    {}", gateway_listener.local_addr()?);
            let mut config = GatewayConfig::from_settings(&settings);
            let local = Upstream::local(
                tower::ServiceBuilder::new()
                    .layer(GrpcMetricsLayer::service())
                    .layer(AuthLayer::new(verifier.clone()))
                    .service(routes.clone()),
            );
            config.upstreams.insert(DIRECTORY.into(), local);
            config.rate_limit = RateLimit {
                per_second: settings.gateway_rate_per_second,
                burst: settings.gateway_rate_burst,
            };
            config.max_in_flight = settings.gateway_max_in_flight;
            let (verifier, shutdown) = (verifier.clone(), shutdown.clone());
            tasks.spawn(concord_gateway::serve(
                gateway_listener,
                config,
                verifier,
                shutdown,
            ));
        }
        let service = Service {
            routes,
            health_names: vec![DIRECTORY],
        };
        tasks.spawn(concord_kit::server::serve(
            listener,
            service,
            verifier,
            limits,
            shutdown.clone(),
        ));
        println!("ready");
        tokio::select! {
            _ = terminated => shutdown.cancel(),
            Some(done) = tasks.join_next() => {
                shutdown.cancel();
                done??;
            }
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        Ok(())
    })
}

//! Concord's decisions: departments deliberate on proposals and decide under
//! a rule (simple majority, two-thirds, unanimity or consent) with quorum and
//! deadlines, in a staged flow the service moves on by itself; the outcome is
//! told to the informed departments as a notice; and what was decided
//! becomes action items with a lead department, an owner and a due date.
#![forbid(unsafe_code)]

mod deadlines;
pub mod domain;
mod electorate;
mod flow;
mod grpc;
pub mod inform;
mod metrics;
mod service;
mod store;

use std::sync::Arc;

use anyhow::Context as _;
use concord_kit::db::{Db, Location, Migrations};
use concord_kit::directory::DirectoryLink;
use concord_kit::server::Service;
use concord_kit::target::{Context, Target};
use concord_proto::decisions::v1::action_item_service_server::ActionItemServiceServer;
use concord_proto::decisions::v1::decision_service_server::DecisionServiceServer;
use futures::future::BoxFuture;
use tonic::server::NamedService;

pub use inform::{InformError, Informer, NoticesInformer, OutcomeNotice};
pub use service::Decisions;

/// The decisions as a target of the `concord` binary.
pub const TARGET: Target = Target {
    name: "decisions",
    needs: &["directory", "notices"],
    port_offset: 3,
    start,
};

/// The decisions' migrations on either backend.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &store::MIGRATOR_PG,
    sqlite: &store::MIGRATOR_SQLITE,
};

/// Connects the decisions' database at `location` and brings its schema up
/// to date.
pub async fn connect(location: &Location) -> anyhow::Result<Db> {
    Db::connect(location, MIGRATIONS)
        .await
        .context("Failed to open the decisions database")
}

/// Starts the decisions for `concord serve`: outcomes are told through the
/// notices service.
pub fn start(ctx: Context) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let notices = ctx
            .upstreams
            .channel("notices")
            .context("the decisions tell outcomes through the notices service")?;
        start_with(ctx, Arc::new(NoticesInformer::new(notices))).await
    })
}

/// Starts the decisions with `informer` telling outcomes: connects the
/// database, starts the deadline worker (stopped by `ctx.shutdown`) and
/// builds both gRPC services.
pub async fn start_with(ctx: Context, informer: Arc<dyn Informer>) -> anyhow::Result<Service> {
    let db = connect(&ctx.location).await?;
    let directory = ctx
        .upstreams
        .channel("directory")
        .context("the decisions resolve voters and departments through the directory")?;
    let decisions = Decisions::new(
        db.clone(),
        ctx.clock.clone(),
        DirectoryLink::new(directory),
        informer,
    );
    decisions.refresh_gauges().await;
    concord_kit::due::spawn_worker(
        db,
        ctx.clock.clone(),
        deadlines::handlers(&decisions),
        ctx.shutdown.clone(),
    );
    let max = ctx.limits.max_message_bytes;
    let proposals = DecisionServiceServer::new(decisions.clone()).max_decoding_message_size(max);
    let items = ActionItemServiceServer::new(decisions).max_decoding_message_size(max);
    Ok(Service {
        routes: tonic::service::Routes::new(proposals).add_service(items),
        health_names: vec![
            <DecisionServiceServer<Decisions> as NamedService>::NAME,
            <ActionItemServiceServer<Decisions> as NamedService>::NAME,
        ],
    })
}

//! Concord's emergency response: contingency plans with versioned steps,
//! incidents and drills declared from them, real-time alerts that are
//! committed before they are announced (so none is lost when Redis is not
//! there), acknowledgement per person and department, escalation and
//! reminders as due rows that survive restarts, and the reports and
//! statistics that measure the response, with drills always apart.
#![forbid(unsafe_code)]

mod dispatch;
pub mod domain;
mod escalation;
mod grpc;
pub mod metrics;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use concord_kit::announce::Announcer;
use concord_kit::db::{Db, Location, Migrations};
use concord_kit::directory::DirectoryLink;
use concord_kit::server::Service;
use concord_kit::target::{Context, Target};
use concord_proto::emergency::v1::emergency_service_server::EmergencyServiceServer;
use futures::future::BoxFuture;

pub use escalation::{ESCALATE, REMIND};
pub use grpc::Emergency;

/// The bus topic on which committed alerts are announced: the people they
/// reached, so every replica's streams read the database at once.
pub const ALERTS_TOPIC: &str = "emergency.alerts";

/// The emergency service as a target of the `concord` binary.
pub const TARGET: Target = Target {
    name: "emergency",
    needs: &["directory"],
    port_offset: 5,
    start,
};

/// The emergency service's migrations on either backend.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &store::MIGRATOR_PG,
    sqlite: &store::MIGRATOR_SQLITE,
};

/// How often an alert stream re-reads the database when no announcement
/// arrived: the bound on delay when Redis loses a message.
pub const POLL_EVERY: Duration = Duration::from_secs(5);

/// Connects the emergency database at `location` and brings its schema up to date.
pub async fn connect(location: &Location) -> anyhow::Result<Db> {
    Db::connect(location, MIGRATIONS)
        .await
        .context("Failed to open the emergency database")
}

/// Starts the emergency service: its database, the announcer, the worker
/// that runs escalations and reminders, and the incident gauge. Background
/// tasks end with `ctx.shutdown`.
pub fn start(ctx: Context) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let db = connect(&ctx.location).await?;
        let directory = DirectoryLink::new(ctx.upstreams.channel("directory")?);
        let census = Arc::new(tokio::sync::Notify::new());
        let emergency = Emergency {
            db: db.clone(),
            clock: ctx.clock.clone(),
            directory,
            announcer: Announcer::spawn(ctx.bus.clone(), ALERTS_TOPIC, ctx.shutdown.clone()),
            bus: ctx.bus.clone(),
            shutdown: ctx.shutdown.clone(),
            census: census.clone(),
            poll_every: POLL_EVERY,
        };
        concord_kit::due::spawn_worker(
            db.clone(),
            ctx.clock.clone(),
            escalation::handlers(emergency.clone()),
            ctx.shutdown.clone(),
        );
        metrics::spawn_census(db, census, ctx.shutdown.clone());
        let server = EmergencyServiceServer::new(emergency)
            .max_decoding_message_size(ctx.limits.max_message_bytes);
        Ok(Service {
            routes: tonic::service::Routes::new(server),
            health_names: vec![
                <EmergencyServiceServer<Emergency> as tonic::server::NamedService>::NAME,
            ],
        })
    })
}

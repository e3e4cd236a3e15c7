//! Concord's training and development: departments plan training for their
//! people (sessions, place or link, audience, capacity with a waiting list,
//! mandatory completion deadlines), people enrol, attend and complete it and
//! get a completion record, and everybody keeps a development plan with
//! goals, a mentor and progress that their department head reviews.
//! Reminders about mandatory training reach the people reminded as notices.
#![forbid(unsafe_code)]

mod deadlines;
pub mod domain;
mod grpc;
mod metrics;
mod notify;
mod store;

use anyhow::Context as _;
use concord_kit::db::{Db, Location, Migrations};
use concord_kit::directory::DirectoryLink;
use concord_kit::server::Service;
use concord_kit::target::{Context, Target};
use concord_proto::training::v1::development_service_server::DevelopmentServiceServer;
use concord_proto::training::v1::training_service_server::TrainingServiceServer;
use futures::future::BoxFuture;

use crate::notify::Notifier;

pub use deadlines::{DEADLINE, REMINDER};
pub use grpc::{REMINDER_TOPIC, Training};

/// Training as a target of the `concord` binary.
pub const TARGET: Target = Target {
    name: "training",
    needs: &["directory", "notices"],
    port_offset: 7,
    start,
};

/// Training's migrations on either backend.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &store::MIGRATOR_PG,
    sqlite: &store::MIGRATOR_SQLITE,
};

/// Connects training's database at `location` and brings its schema up to
/// date.
pub async fn connect(location: &Location) -> anyhow::Result<Db> {
    Db::connect(location, MIGRATIONS)
        .await
        .context("Failed to open the training database")
}

/// Starts training: its database, the directory and notices clients, the
/// due-row worker (deadlines and reminder notices; it ends on
/// `ctx.shutdown`), the compliance gauges, and both gRPC services.
///
/// Without an address for notices training still serves, but reminder
/// notices wait (their due rows fail, are logged and retried) until it has
/// one.
pub fn start(ctx: Context) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let db = connect(&ctx.location).await?;
        let directory = ctx
            .upstreams
            .channel("directory")
            .context("training resolves audiences and departments through the directory")?;
        let notices = match ctx.upstreams.channel("notices") {
            Ok(channel) => Some(channel),
            Err(e) => {
                tracing::error!(error = %e, "training cannot deliver reminders as notices until notices is configured");
                None
            }
        };
        let training = Training::new(
            db.clone(),
            ctx.clock.clone(),
            ctx.zone,
            DirectoryLink::new(directory),
            ctx.bus.clone(),
            Notifier::new(notices),
        );
        metrics::load_compliance(&db)
            .await
            .context("Failed to load the mandatory compliance gauges")?;
        concord_kit::due::spawn_worker(
            db,
            ctx.clock.clone(),
            deadlines::handlers(&training),
            ctx.shutdown.clone(),
        );
        let limit = ctx.limits.max_message_bytes;
        let plans = TrainingServiceServer::new(training.clone()).max_decoding_message_size(limit);
        let development = DevelopmentServiceServer::new(training).max_decoding_message_size(limit);
        Ok(Service {
            routes: tonic::service::Routes::new(plans).add_service(development),
            health_names: vec![
                <TrainingServiceServer<Training> as tonic::server::NamedService>::NAME,
                <DevelopmentServiceServer<Training> as tonic::server::NamedService>::NAME,
            ],
        })
    })
}

//! Concord's notices: publish a notice to an audience resolved by the
//! directory into one receipt per recipient; inboxes with read receipts and
//! acknowledgement; "who has not read it?" and reminders; a live inbox
//! stream that resumes from a cursor; the organisation's communication
//! rules (quiet hours); scheduled publishing and expiry that survive
//! restarts; reading statistics; and recurring cross-department meetings
//! whose minutes are shared as notices.
#![forbid(unsafe_code)]

pub mod access;
pub mod core;
pub mod domain;
pub mod due;
mod grpc;
pub mod metrics;
pub mod store;

use anyhow::Context as _;
use concord_kit::announce::Announcer;
use concord_kit::db::{Db, Location, Migrations};
use concord_kit::directory::DirectoryLink;
use concord_kit::server::Service;
use concord_kit::target::{Context, Target};
use concord_proto::notices::v1::meeting_service_server::MeetingServiceServer;
use concord_proto::notices::v1::notice_service_server::NoticeServiceServer;
use futures::future::BoxFuture;

pub use grpc::{Meetings, Notices};

/// The notices as a target of the `concord` binary.
pub const TARGET: Target = Target {
    name: "notices",
    needs: &["directory"],
    port_offset: 2,
    start,
};

/// The notices' migrations on either backend.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &store::MIGRATOR_PG,
    sqlite: &store::MIGRATOR_SQLITE,
};

/// Connects the notices' database at `location` and brings its schema up to date.
pub async fn connect(location: &Location) -> anyhow::Result<Db> {
    Db::connect(location, MIGRATIONS)
        .await
        .context("Failed to open the notices database")
}

/// Starts the notices for `concord serve`: the database, the due worker
/// (scheduled publishing, expiry, held pushes) and both gRPC services.
pub fn start(ctx: Context) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let db = connect(&ctx.location).await?;
        let channel = ctx
            .upstreams
            .channel("directory")
            .context("Failed to reach the directory")?;
        let core = core::Core {
            db: db.clone(),
            clock: ctx.clock.clone(),
            zone: ctx.zone,
            bus: ctx.bus.clone(),
            announcer: Announcer::spawn(ctx.bus.clone(), core::INBOX_TOPIC, ctx.shutdown.clone()),
            directory: DirectoryLink::new(channel),
        };
        // Register the metrics at start so they are exported before the first notice.
        std::sync::LazyLock::force(&metrics::METRICS);
        concord_kit::due::spawn_worker(
            db,
            ctx.clock.clone(),
            due::handlers(&core),
            ctx.shutdown.clone(),
        );
        let max = ctx.limits.max_message_bytes;
        let notices = NoticeServiceServer::new(Notices::new(core.clone(), ctx.shutdown.clone()))
            .max_decoding_message_size(max);
        let meetings =
            MeetingServiceServer::new(Meetings::new(core)).max_decoding_message_size(max);
        Ok(Service {
            routes: tonic::service::Routes::new(notices).add_service(meetings),
            health_names: vec![
                <NoticeServiceServer<Notices> as tonic::server::NamedService>::NAME,
                <MeetingServiceServer<Meetings> as tonic::server::NamedService>::NAME,
            ],
        })
    })
}

//! Concord's feedback: staff raise problems, suggestions, complaints and
//! praise through a channel, anonymously if they wish; each item reaches the
//! department whose duties cover it, gets one owner, is answered and
//! resolved within its SLA (missed deadlines escalate to the department head
//! and then the admins), and closes when the submitter confirms and rates
//! the solution, or by itself when they do not answer.
#![forbid(unsafe_code)]

mod deadlines;
pub mod domain;
mod grpc;
mod metrics;
mod store;

use std::time::Duration;

use anyhow::Context as _;
use concord_kit::db::{Db, Location, Migrations};
use concord_kit::directory::DirectoryLink;
use concord_kit::server::Service;
use concord_kit::target::{Context, Target};
use concord_proto::feedback::v1::feedback_service_server::FeedbackServiceServer;
use futures::future::BoxFuture;

pub use grpc::{ANONYMOUS, ESCALATION_TOPIC, Feedback};

/// Feedback as a target of the `concord` binary.
pub const TARGET: Target = Target {
    name: "feedback",
    needs: &["directory"],
    port_offset: 4,
    start,
};

/// Feedback's migrations on either backend.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &store::MIGRATOR_PG,
    sqlite: &store::MIGRATOR_SQLITE,
};

/// How often the open/overdue gauges are refreshed without a change (time
/// alone makes items overdue).
const GAUGE_REFRESH: Duration = Duration::from_secs(30);

/// Connects feedback's database at `location` and brings its schema up to
/// date.
pub async fn connect(location: &Location) -> anyhow::Result<Db> {
    Db::connect(location, MIGRATIONS)
        .await
        .context("Failed to open the feedback database")
}

/// Starts feedback: its database, the directory client, the gauge refresher
/// and the deadline worker (both end on `ctx.shutdown`), and the gRPC
/// service.
pub fn start(ctx: Context) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let db = connect(&ctx.location).await?;
        let directory = ctx
            .upstreams
            .channel("directory")
            .context("feedback routes items through the directory")?;
        let gauges = metrics::Gauges::spawn(
            db.clone(),
            ctx.clock.clone(),
            GAUGE_REFRESH,
            ctx.shutdown.clone(),
        );
        let feedback = Feedback::new(
            db.clone(),
            ctx.clock.clone(),
            DirectoryLink::new(directory),
            ctx.bus.clone(),
            gauges,
        );
        concord_kit::due::spawn_worker(
            db,
            ctx.clock.clone(),
            deadlines::handlers(&feedback),
            ctx.shutdown.clone(),
        );
        let server = FeedbackServiceServer::new(feedback)
            .max_decoding_message_size(ctx.limits.max_message_bytes);
        Ok(Service {
            routes: tonic::service::Routes::new(server),
            health_names: vec![
                <FeedbackServiceServer<Feedback> as tonic::server::NamedService>::NAME,
            ],
        })
    })
}

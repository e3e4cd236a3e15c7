//! Concord's appraisal: versioned indicator sets (weights summing to 100,
//! targets, scoring rules, manual or automatic sources), cycles over
//! departments or people that pin the set version they started with and
//! move through open, scoring, calibration and published (by managers, and
//! by themselves at stored deadlines), manual scores by assigned reviewers
//! and self-assessments, automatic scores collected from the other
//! services' statistics, calibration with a kept reason, weighted
//! scorecards, rankings, feedback to the appraised and commendations.
#![forbid(unsafe_code)]

pub mod deadlines;
pub mod domain;
pub mod flow;
mod grpc;
pub mod metrics;
pub mod org;
pub mod service;
pub mod sources;
mod store;

use std::time::Duration;

use anyhow::Context as _;
use concord_kit::db::{Db, Location, Migrations};
use concord_kit::server::Service;
use concord_kit::target::{Context, Target};
use concord_proto::appraisal::v1::appraisal_service_server::AppraisalServiceServer;
use futures::future::BoxFuture;

pub use service::Appraisal;

/// The appraisal as a target of the `concord` binary.
pub const TARGET: Target = Target {
    name: "appraisal",
    needs: &[
        "directory",
        "notices",
        "decisions",
        "feedback",
        "emergency",
        "training",
    ],
    port_offset: 6,
    start,
};

/// The appraisal's migrations on either backend.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &store::MIGRATOR_PG,
    sqlite: &store::MIGRATOR_SQLITE,
};

/// How often the gauges are refreshed without a change (another replica's
/// changes).
const GAUGE_REFRESH: Duration = Duration::from_secs(60);

/// Connects the appraisal's database at `location` and brings its schema up
/// to date.
pub async fn connect(location: &Location) -> anyhow::Result<Db> {
    Db::connect(location, MIGRATIONS)
        .await
        .context("Failed to open the appraisal database")
}

/// Starts the appraisal for `concord serve`: the database, the directory
/// client, the statistics sources, the gauge refresher and the deadline
/// worker (both end on `ctx.shutdown`), and the gRPC service.
pub fn start(ctx: Context) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let db = connect(&ctx.location).await?;
        let directory = ctx
            .upstreams
            .channel("directory")
            .context("the appraisal reads the organisation from the directory")?;
        let gauges = metrics::Gauges::spawn(db.clone(), GAUGE_REFRESH, ctx.shutdown.clone());
        let app = Appraisal {
            db: db.clone(),
            clock: ctx.clock.clone(),
            org: org::Org::new(directory),
            sources: sources::Sources::new(&ctx.upstreams),
            gauges,
        };
        concord_kit::due::spawn_worker(
            db,
            ctx.clock.clone(),
            deadlines::handlers(&app),
            ctx.shutdown.clone(),
        );
        let server = AppraisalServiceServer::new(grpc::Handler::new(app))
            .max_decoding_message_size(ctx.limits.max_message_bytes);
        Ok(Service {
            routes: tonic::service::Routes::new(server),
            health_names: vec![
                <AppraisalServiceServer<grpc::Handler> as tonic::server::NamedService>::NAME,
            ],
        })
    })
}

//! Concord's directory: departments as a tree, the people in them with their
//! roles, each department's written duties, and the questions the rest of
//! the suite asks about them ("who handles X?", "who is in this audience?").
#![forbid(unsafe_code)]

pub mod domain;
mod grpc;
pub mod metrics;
mod store;

use anyhow::Context as _;
use concord_kit::clock::SharedClock;
use concord_kit::db::{Db, Location, Migrations};
use concord_kit::server::{Limits, Service};
use concord_kit::target::{Context, Target};
use concord_proto::directory::v1::directory_service_server::DirectoryServiceServer;
use futures::future::BoxFuture;

pub use grpc::Directory;

/// The directory as a target of the `concord` binary.
pub const TARGET: Target = Target {
    name: "directory",
    needs: &[],
    port_offset: 1,
    start,
};

/// The directory's migrations on either backend.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &store::MIGRATOR_PG,
    sqlite: &store::MIGRATOR_SQLITE,
};

/// Connects the directory's database at `location` and brings its schema up
/// to date.
pub async fn connect(location: &Location) -> anyhow::Result<Db> {
    Db::connect(location, MIGRATIONS)
        .await
        .context("Failed to open the directory database")
}

/// The directory's gRPC service over `db`.
pub fn service(db: Db, clock: SharedClock, limits: Limits) -> Service {
    let server = DirectoryServiceServer::new(Directory::new(db, clock))
        .max_decoding_message_size(limits.max_message_bytes);
    Service {
        routes: tonic::service::Routes::new(server),
        health_names: vec![
            <DirectoryServiceServer<Directory> as tonic::server::NamedService>::NAME,
        ],
    }
}

/// Starts the directory for `concord serve`.
pub fn start(ctx: Context) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let db = connect(&ctx.location).await?;
        metrics::spawn(db.clone(), ctx.shutdown.clone());
        Ok(service(db, ctx.clock, ctx.limits))
    })
}

//! What every part of the decisions service works with: the database, the
//! clock, the directory, the informer and the gauges.

use std::sync::Arc;

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_kit::clock::SharedClock;
use concord_kit::db::Db;
use concord_kit::directory::DirectoryLink;
use sqlx::pool::PoolConnection;

use crate::domain::SYSTEM_ACTOR;
use crate::inform::Informer;
use crate::metrics::Gauges;

/// The decisions service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Decisions {
    pub(crate) db: Db,
    pub(crate) clock: SharedClock,
    pub(crate) directory: DirectoryLink,
    pub(crate) informer: Arc<dyn Informer>,
    pub(crate) gauges: Arc<Gauges>,
}

impl Decisions {
    pub fn new(
        db: Db,
        clock: SharedClock,
        directory: DirectoryLink,
        informer: Arc<dyn Informer>,
    ) -> Self {
        Self {
            db,
            clock,
            directory,
            informer,
            gauges: Arc::default(),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A connection for reads that need no transaction.
    pub(crate) async fn conn(&self) -> Result<PoolConnection<sqlx::Any>, Error> {
        Ok(self.db.pool().acquire().await?)
    }

    /// Recomputes the gauges after a change.
    pub(crate) async fn refresh_gauges(&self) {
        self.gauges.refresh(&self.db, self.now()).await;
    }
}

/// The principal the service acts as when a deadline moves something.
pub fn system() -> Principal {
    Principal::service(SYSTEM_ACTOR)
}

/// The audit resource of a proposal (its comments, votes and delegations
/// are recorded under it too, so its history is one list).
pub fn proposal_resource(id: &str) -> String {
    format!("proposals/{id}")
}

/// The audit resource of an action item.
pub fn item_resource(id: &str) -> String {
    format!("action-items/{id}")
}

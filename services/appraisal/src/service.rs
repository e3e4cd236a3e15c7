//! The appraisal service's shared state and the lookups every RPC starts
//! with.

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_kit::clock::SharedClock;
use concord_kit::db::Db;
use sqlx::pool::PoolConnection;

use crate::domain::access::Reach;
use crate::domain::{Cycle, Indicator, Subject};
use crate::metrics::Gauges;
use crate::org::Org;
use crate::sources::Sources;
use crate::store;

/// The appraisal over its database, the directory and the statistics
/// sources. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Appraisal {
    pub db: Db,
    pub clock: SharedClock,
    pub org: Org,
    pub sources: Sources,
    pub gauges: Gauges,
}

impl Appraisal {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A connection for reads that need no transaction.
    pub async fn conn(&self) -> Result<PoolConnection<sqlx::Any>, Error> {
        Ok(self.db.pool().acquire().await?)
    }

    /// The cycle `id`, or NOT_FOUND.
    pub async fn cycle(&self, id: &str) -> Result<Cycle, Error> {
        store::cycle::get(&mut *self.conn().await?, id, "")
            .await?
            .ok_or_else(|| Error::not_found("cycle", id))
    }

    /// The subject `subject_id` of `cycle`, or NOT_FOUND.
    pub async fn subject(&self, cycle: &Cycle, subject_id: &str) -> Result<Subject, Error> {
        store::cycle::subject(&mut *self.conn().await?, &cycle.id, subject_id)
            .await?
            .ok_or_else(|| Error::not_found("subject of the cycle", subject_id))
    }

    /// The indicators of the version `cycle` pinned.
    pub async fn indicators(&self, cycle: &Cycle) -> Result<Vec<Indicator>, Error> {
        store::set::indicators(&mut *self.conn().await?, &cycle.set_id, cycle.set_version).await
    }

    /// The part of the organisation `who` manages.
    pub async fn reach(&self, who: &Principal) -> Result<Reach, Error> {
        self.org.reach(who).await
    }
}

/// The audit resource name of a set, cycle or commendation.
pub fn resource(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

//! The `TrainingService` and `DevelopmentService` implementations: each RPC
//! takes the caller from the request, validates the message into domain
//! values, applies the resource rules (asking the directory about
//! departments and people), and runs its SQL in one transaction with its
//! audit entry.

mod attendance;
mod completion;
mod convert;
mod development;
mod enrolments;
mod goals;
mod mandatory;
mod plans;
mod service;
mod stats;

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_kit::bus::SharedBus;
use concord_kit::clock::SharedClock;
use concord_kit::db::Db;
use concord_kit::directory::DirectoryLink;
use concord_kit::period::OrgZone;
use sqlx::pool::PoolConnection;

use crate::domain::access::{self, Reach};
use crate::domain::plan::Plan;
use crate::notify::Notifier;

/// The bus topic of reminder rounds (`TrainingReminder`).
pub const REMINDER_TOPIC: &str = "training.reminders";

/// The training service over its database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Training {
    db: Db,
    clock: SharedClock,
    zone: OrgZone,
    org: DirectoryLink,
    bus: SharedBus,
    notices: Notifier,
}

impl Training {
    pub(crate) fn new(
        db: Db,
        clock: SharedClock,
        zone: OrgZone,
        org: DirectoryLink,
        bus: SharedBus,
        notices: Notifier,
    ) -> Self {
        Self {
            db,
            clock,
            zone,
            org,
            bus,
            notices,
        }
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A connection for reads that need no transaction.
    async fn conn(&self) -> Result<PoolConnection<sqlx::Any>, Error> {
        Ok(self.db.pool().acquire().await?)
    }

    /// Whether `who` plans (and runs) training of `department`.
    async fn plans_for(&self, who: &Principal, department: &str) -> Result<bool, Error> {
        self.org.covers(&access::planning(who), department).await
    }

    /// Fails unless `who` plans training of the plan's department.
    async fn ensure_planner(&self, who: &Principal, plan: &Plan) -> Result<(), Error> {
        if self.plans_for(who, &plan.department_id).await? {
            Ok(())
        } else {
            Err(Error::denied(
                "only admins and the heads of the organising department (or above) run this training",
            ))
        }
    }

    /// Whether `who` may read the training records of `person_id`: the
    /// person, and those whose reading reach covers the person's department
    /// (as the directory knows it now; `fallback` when it does not).
    async fn reads_person(
        &self,
        who: &Principal,
        person_id: &str,
        fallback: Option<&str>,
    ) -> Result<bool, Error> {
        if who.subject == person_id {
            return Ok(true);
        }
        let reach = access::reading(who);
        match reach {
            Reach::Everywhere => Ok(true),
            Reach::Nowhere => Ok(false),
            Reach::Subtree(_) => {
                let department = match self.org.person(person_id).await? {
                    Some(p) => Some(p.department_id),
                    None => fallback.map(str::to_string),
                };
                match department {
                    Some(d) => self.org.covers(&reach, &d).await,
                    None => Ok(false),
                }
            }
        }
    }
}

/// The audit resource name of a thing.
fn resource(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

/// The principal the service acts as when a deadline passes.
fn service_actor() -> Principal {
    Principal::service("training")
}

pub(crate) use mandatory::{deadline_reached, deliver_reminder};

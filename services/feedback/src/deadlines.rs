//! What happens when an item's due rows come due: a missed first-response or
//! resolution deadline escalates it one level (and announces it on the bus),
//! an item still in breach after `escalate_after` goes one level further, a
//! resolution nobody answered closes, and an item the directory could not
//! route is routed again. The kit's worker claims each row once across
//! replicas; every handler re-reads the item under its lock and does nothing
//! when the deadline was met, moved or already counted, so a row run twice
//! (a replica died after committing) changes nothing twice.

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_kit::due::{DueAction, DueHandler, Handlers};
use serde_json::json;

use crate::domain::effects::{Actor, due};
use crate::domain::{Deadline, Level, Routing};
use crate::grpc::{Change, Feedback, SYSTEM};
use crate::store;

#[derive(Debug, Clone, Copy)]
enum Kind {
    FirstResponse,
    Resolution,
    Escalate,
    AutoClose,
    Route,
}

struct OnDue {
    svc: Feedback,
    kind: Kind,
}

/// The handlers of every feedback due row.
pub fn handlers(svc: &Feedback) -> Handlers {
    let on = |kind| OnDue {
        svc: svc.clone(),
        kind,
    };
    Handlers::new()
        .on(due::FIRST_RESPONSE, on(Kind::FirstResponse))
        .on(due::RESOLUTION, on(Kind::Resolution))
        .on(due::ESCALATE, on(Kind::Escalate))
        .on(due::AUTO_CLOSE, on(Kind::AutoClose))
        .on(due::ROUTE, on(Kind::Route))
}

#[async_trait::async_trait]
impl DueHandler for OnDue {
    #[tracing::instrument(skip_all, fields(item_id = %action.subject, kind = %action.kind))]
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        match self.kind {
            Kind::Route => self.route_again(&action.subject).await,
            _ => self.deadline(action).await,
        }
    }
}

impl OnDue {
    async fn deadline(&self, action: &DueAction) -> Result<(), Error> {
        let svc = &self.svc;
        let now = svc.clock.now_ms();
        let mut tx = svc.db.begin().await?;
        let Some(mut item) =
            store::item::get(&mut tx, &action.subject, svc.db.for_update()).await?
        else {
            return Ok(());
        };
        let policy = store::sla::applicable(&mut tx, item.category, item.priority).await?;
        let before = item.clone();
        let (effects, name) = match self.kind {
            Kind::FirstResponse => (
                item.deadline_passed(Deadline::FirstResponse, &policy, now),
                "feedback.escalate",
            ),
            Kind::Resolution => (
                item.deadline_passed(Deadline::Resolution, &policy, now),
                "feedback.escalate",
            ),
            Kind::Escalate => (
                action
                    .payload
                    .parse::<i64>()
                    .ok()
                    .and_then(Level::from_stored)
                    .and_then(|from| item.still_in_breach(from, &policy, now)),
                "feedback.escalate",
            ),
            Kind::AutoClose => (item.close_unanswered(now), "feedback.auto_close"),
            Kind::Route => (None, "feedback.route"),
        };
        // Met, moved or already done: the transaction rolls back untouched.
        let Some(effects) = effects else {
            return Ok(());
        };
        let detail = json!({
            "level": item.level.as_str(),
            "status": item.status.as_str(),
            "deadline": effects.escalated.map(|(_, d)| d.as_str()),
        });
        let change = Change {
            before,
            effects,
            action: name,
            detail,
        };
        svc.commit(tx, &Principal::service(SYSTEM), &mut item, change)
            .await?;
        Ok(())
    }

    /// Routes an item the directory could not be asked about at submission.
    /// A directory still down fails the action, and the worker retries it
    /// with backoff.
    async fn route_again(&self, id: &str) -> Result<(), Error> {
        let svc = &self.svc;
        let mut conn = svc.db.pool().acquire().await?;
        let Some(item) = store::item::get(&mut conn, id, "").await? else {
            return Ok(());
        };
        drop(conn);
        if item.department_id.is_some() || !item.status.is_open() {
            return Ok(());
        }
        let Some(found) = svc
            .org
            .find_responsible(&format!("{}\n{}", item.subject, item.body))
            .await?
        else {
            return Ok(());
        };
        let now = svc.clock.now_ms();
        let mut tx = svc.db.begin().await?;
        let mut item = svc.locked(&mut tx, id).await?;
        if item.department_id.is_some() || !item.status.is_open() {
            return Ok(());
        }
        let before = item.clone();
        let note = format!(
            "按职责分派 (routed by duties): {} ({:.2})",
            found.duty, found.score
        );
        let effects = item.route(
            &Actor::System,
            &found.department_id,
            Routing::Duties,
            &note,
            now,
        )?;
        let change = Change {
            before,
            effects,
            action: "feedback.route",
            detail: json!({ "department_id": found.department_id, "routing": "duties" }),
        };
        svc.commit(tx, &Principal::service(SYSTEM), &mut item, change)
            .await?;
        Ok(())
    }
}

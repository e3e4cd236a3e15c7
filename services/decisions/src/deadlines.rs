//! What the service does by itself when a due row comes up: open the vote
//! at the end of consultation, close it at the voting deadline, tell the
//! informed departments, and flag overdue action items. Every handler
//! checks the state it acts on, so a second run (another replica, a retry
//! after a crash) changes nothing.

use concord_kit::due::{DueAction, DueHandler, Handlers};
use concord_kit::{Error, audit};
use serde_json::json;

use crate::domain::{ParticipationRole, Proposal, Stage};
use crate::flow::{self, Mover};
use crate::inform::{InformError, OutcomeNotice};
use crate::service::{Decisions, item_resource, proposal_resource, system};
use crate::store;

/// Due-row kind of an action item's due time.
pub const ITEM_DUE: &str = "action_item.due";

/// Refused notices are retried this many times before the failure is
/// recorded and the delivery given up (transient failures retry for ever).
const REFUSED_ATTEMPTS: i64 = 3;

/// The handlers of every due-row kind of the service.
pub fn handlers(s: &Decisions) -> Handlers {
    Handlers::new()
        .on(flow::CONSULTATION_END, ConsultationEnd(s.clone()))
        .on(flow::VOTING_END, VotingEnd(s.clone()))
        .on(flow::INFORM, Inform(s.clone()))
        .on(ITEM_DUE, ItemDue(s.clone()))
}

/// Transient failures (a dependency down) are retried by the worker;
/// anything else is logged and the row is done with.
fn settle(kind: &str, subject: &str, r: Result<Proposal, Error>) -> Result<(), Error> {
    match r {
        Ok(_) => Ok(()),
        Err(e @ Error::Unavailable(_)) => Err(e),
        Err(e @ Error::Internal(_)) => Err(e),
        Err(e) => {
            tracing::warn!(kind, subject, error = %e, "deadline action refused; not retried");
            Ok(())
        }
    }
}

struct ConsultationEnd(Decisions);

#[async_trait::async_trait]
impl DueHandler for ConsultationEnd {
    #[tracing::instrument(skip_all, fields(proposal_id = %a.subject, attempt = a.attempt))]
    async fn run(&self, a: &DueAction) -> Result<(), Error> {
        let r = flow::open_voting(&self.0, Mover::Deadline, &a.subject).await;
        settle(&a.kind, &a.subject, r)
    }
}

struct VotingEnd(Decisions);

#[async_trait::async_trait]
impl DueHandler for VotingEnd {
    #[tracing::instrument(skip_all, fields(proposal_id = %a.subject, attempt = a.attempt))]
    async fn run(&self, a: &DueAction) -> Result<(), Error> {
        let r = flow::close_voting(&self.0, Mover::Deadline, &a.subject, String::new()).await;
        settle(&a.kind, &a.subject, r)
    }
}

/// The notice of an outcome, in Chinese and English.
pub fn outcome_notice(p: &Proposal) -> Option<OutcomeNotice> {
    let o = p.outcome.as_ref()?;
    let departments = p.departments(ParticipationRole::Informed);
    if departments.is_empty() {
        return None;
    }
    let verdict = match o.result {
        Stage::Decided => "决议通过 Decided",
        Stage::Rejected => "未获通过 Rejected",
        _ => "未达法定人数 No quorum",
    };
    let short: String = p.title.chars().take(150).collect();
    let mut body = format!("**{verdict}**\n\n");
    if let Some(label) = o
        .chosen_option
        .as_ref()
        .and_then(|c| p.options.iter().find(|x| x.id == *c))
        .filter(|_| !p.approve_or_reject)
        .map(|x| x.label.clone())
    {
        body.push_str(&format!("选定方案 Chosen option: {label}\n\n"));
    }
    body.push_str(&format!("{}\n\n", o.explanation));
    if !o.rationale.is_empty() {
        body.push_str(&format!("理由 Rationale: {}\n\n", o.rationale));
    }
    body.push_str(&format!("提案 Proposal: {}", p.id));
    Some(OutcomeNotice {
        request_id: format!("decision-outcome-{}", p.id),
        title: format!("{verdict}: {short}"),
        body,
        department_ids: departments,
    })
}

struct Inform(Decisions);

#[async_trait::async_trait]
impl DueHandler for Inform {
    #[tracing::instrument(skip_all, fields(proposal_id = %a.subject, attempt = a.attempt))]
    async fn run(&self, a: &DueAction) -> Result<(), Error> {
        let s = &self.0;
        let id = &a.subject;
        let Some(p) = store::proposal::get(&mut *s.conn().await?, id, "").await? else {
            return Ok(());
        };
        let Some(notice) = outcome_notice(&p) else {
            return Ok(());
        };
        if p.outcome.as_ref().is_some_and(|o| o.notice_id.is_some()) {
            return Ok(());
        }
        let notice_id = match s.informer.inform(&notice).await {
            Ok(n) => n,
            Err(e @ InformError::Transient(_)) => return Err(Error::Unavailable(e.to_string())),
            Err(e @ InformError::Refused(_)) if a.attempt < REFUSED_ATTEMPTS => {
                return Err(Error::Unavailable(e.to_string()));
            }
            Err(e) => {
                let mut tx = s.db.begin().await?;
                let detail = json!({ "error": e.to_string(), "attempts": a.attempt });
                audit::record(
                    &mut tx,
                    s.now(),
                    &system(),
                    "proposal.inform_failed",
                    &proposal_resource(id),
                    detail,
                )
                .await?;
                tx.commit().await?;
                tracing::error!(proposal_id = %id, error = %e, "the informed departments could not be told");
                return Ok(());
            }
        };
        let now = s.now();
        let mut tx = s.db.begin().await?;
        let Some(mut p) = store::proposal::get(&mut tx, id, s.db.for_update()).await? else {
            return Ok(());
        };
        let read = p.version;
        if let Some(o) = p.outcome.as_mut() {
            if o.notice_id.is_some() {
                return Ok(());
            }
            o.notice_id = Some(notice_id.clone());
        }
        p.version += 1;
        p.updated_ms = now;
        store::proposal::update(&mut tx, &p, read, false).await?;
        let detail = json!({ "notice_id": notice_id, "department_ids": notice.department_ids });
        audit::record(
            &mut tx,
            now,
            &system(),
            "proposal.informed",
            &proposal_resource(id),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

struct ItemDue(Decisions);

#[async_trait::async_trait]
impl DueHandler for ItemDue {
    #[tracing::instrument(skip_all, fields(action_item_id = %a.subject, attempt = a.attempt))]
    async fn run(&self, a: &DueAction) -> Result<(), Error> {
        let s = &self.0;
        let now = s.now();
        let mut tx = s.db.begin().await?;
        let Some(mut item) =
            store::action_item::get(&mut tx, &a.subject, s.db.for_update()).await?
        else {
            return Ok(());
        };
        if item.overdue || !item.is_overdue_at(now) {
            return Ok(());
        }
        let read = item.version;
        item.overdue = true;
        item.version += 1;
        item.updated_ms = now;
        if !store::action_item::update(&mut tx, &item, read, false).await? {
            return Err(Error::Aborted("action item changed meanwhile".into()));
        }
        let detail =
            json!({ "due_ms": item.due_ms, "lead_department_id": item.lead_department_id });
        audit::record(
            &mut tx,
            now,
            &system(),
            "action_item.overdue",
            &item_resource(&item.id),
            detail,
        )
        .await?;
        tx.commit().await?;
        s.refresh_gauges().await;
        Ok(())
    }
}

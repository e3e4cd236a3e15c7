//! Mandatory training: who has not completed it, reminders to exactly
//! them (delivered as notices in their inbox), and the deadline that marks
//! the non-compliant.

use concord_kit::auth::Principal;
use concord_kit::clock::to_timestamp;
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_id, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, due};
use concord_proto::training::v1 as pb;
use prost::Message;
use serde_json::json;

use super::plans::load;
use super::{REMINDER_TOPIC, Training, convert, resource, service_actor};
use crate::deadlines::REMINDER;
use crate::domain::access::{self, Reach};
use crate::domain::plan::{Plan, PlanState};
use crate::domain::reminder;
use crate::metrics;
use crate::notify::NotifyError;
use crate::store::{audience, compliance, plan as plans};

/// A refused reminder notice is retried this many times before the failure
/// is recorded and the delivery given up; notices being down (or not
/// configured) is retried for ever.
const REFUSED_ATTEMPTS: i64 = 3;

/// Fails unless the plan is a published (or, for reading, cancelled)
/// mandatory plan.
fn ensure_mandatory(plan: &Plan) -> Result<i64, Error> {
    match (plan.content.mandatory, plan.content.deadline_ms, plan.state) {
        (true, Some(d), PlanState::Published) => Ok(d),
        (true, _, PlanState::Draft) => {
            Err(Error::precondition("the training is not published yet"))
        }
        (true, _, PlanState::Cancelled) => Err(Error::precondition("the training was cancelled")),
        _ => Err(Error::precondition("the training is not mandatory")),
    }
}

pub async fn list_incomplete(
    t: &Training,
    who: &Principal,
    req: &pb::ListIncompleteRequest,
) -> Result<pb::ListIncompleteResponse, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_id(&mut v, "plan_id", &req.plan_id);
    check_opt_id(&mut v, "department_id", &req.department_id);
    let page = v.absorb(Page::parse(
        req.page_size,
        &req.page_token,
        &format!(
            "incomplete|{}|{}|{}",
            req.plan_id, req.department_id, req.include_sub_departments
        ),
    ))?;
    v.into_result()?;
    let page = page.ok_or_else(|| concord_kit::invalid("page_token", "is not valid"))?;
    let plan = load(t, &req.plan_id).await?;
    let deadline = ensure_mandatory(&plan)?;
    // Planners see the whole audience; other heads only their own people.
    let reach = if access::is_auditor(who) || t.plans_for(who, &plan.department_id).await? {
        Reach::Everywhere
    } else {
        access::reading(who)
    };
    if reach == Reach::Nowhere || (who.is_service() && !who.is_admin()) {
        return Err(Error::denied(
            "who has not completed a training is seen by its planners, heads for their own people, admins and auditors",
        ));
    }
    let departments = t
        .org
        .scope(
            &reach,
            "department_id",
            &req.department_id,
            req.include_sub_departments,
        )
        .await?;
    let mut conn = t.conn().await?;
    let rows = audience::incomplete(
        &mut conn,
        &plan.id,
        departments.as_ref(),
        page.after.as_deref(),
        Some(page.fetch_limit()),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, audience::incomplete_cursor);
    let (size, completed, by_deadline) = audience::summary(&mut conn, &plan.id, deadline).await?;
    let count = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    Ok(pb::ListIncompleteResponse {
        people: rows
            .iter()
            .map(|i| convert::incomplete(i, Some(deadline), now))
            .collect(),
        next_page_token,
        audience_size: count(size),
        completed: count(completed),
        completed_by_deadline: count(by_deadline),
    })
}

pub async fn remind(
    t: &Training,
    who: &Principal,
    req: &pb::RemindIncompleteRequest,
) -> Result<pb::RemindIncompleteResponse, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "plan_id", &req.plan_id);
    v.into_result()?;
    let plan = load(t, &req.plan_id).await?;
    t.ensure_planner(who, &plan).await?;
    ensure_mandatory(&plan)?;

    let key = Key::new("RemindIncomplete", &who.subject, &req.request_id);
    let mut tx = t.db.begin().await?;
    plans::lock(&t.db, &mut tx, &plan.id).await?;
    if let Some(done) = replay::<pb::RemindIncompleteResponse>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let people = audience::incomplete(&mut tx, &plan.id, None, None, None).await?;
    let round = new_id();
    for p in &people {
        audience::remind(&mut tx, &plan.id, &p.person_id, &round, now).await?;
    }
    if !people.is_empty() {
        // The notices go out from this row, so a recorded round is told
        // even when notices is down now or training stops before sending.
        due::schedule(&mut tx, REMINDER, &round, now, &plan.id).await?;
    }
    let person_ids: Vec<String> = people.iter().map(|p| p.person_id.clone()).collect();
    let detail = json!({ "round_id": round, "reminded": person_ids.len() });
    audit::record(
        &mut tx,
        now,
        who,
        "plan.remind",
        &resource("plans", &plan.id),
        detail,
    )
    .await?;
    let out = pb::RemindIncompleteResponse {
        reminded: i32::try_from(person_ids.len()).unwrap_or(i32::MAX),
        person_ids,
    };
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    for p in &people {
        metrics::reminded(&p.department_id);
    }
    if !out.person_ids.is_empty() {
        let event = pb::TrainingReminder {
            plan_id: plan.id.clone(),
            title: plan.content.title.clone(),
            completion_deadline: plan.content.deadline_ms.map(to_timestamp),
            person_ids: out.person_ids.clone(),
            remind_time: Some(to_timestamp(now)),
        };
        // For other listeners: the people are told through the due row, so
        // a lost event is only logged.
        if let Err(e) = t
            .bus
            .publish(REMINDER_TOPIC, event.encode_to_vec().into())
            .await
        {
            tracing::warn!(error = %e, plan_id = %plan.id, "reminder round not published");
        }
    }
    Ok(out)
}

/// Delivers reminder round `round_id` of plan `plan_id`: one notice in the
/// inbox of each person reminded (see [`reminder::notices`]). Fails, to be
/// retried, while notices cannot be reached; request ids derived from the
/// round make a retry publish nothing twice.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id, round_id = %round_id, attempt = attempt))]
pub async fn deliver_reminder(
    t: &Training,
    plan_id: &str,
    round_id: &str,
    attempt: i64,
) -> Result<(), Error> {
    let mut conn = t.conn().await?;
    let Some(plan) = plans::get(&mut conn, plan_id).await? else {
        tracing::warn!("the reminded plan is gone; nothing to deliver");
        return Ok(());
    };
    if plan.state == PlanState::Cancelled {
        tracing::info!("the training was cancelled; its reminder round is not delivered");
        return Ok(());
    }
    let people = audience::round(&mut conn, plan_id, round_id).await?;
    drop(conn);
    let notices = reminder::notices(&plan, round_id, &people, &t.zone);
    let mut notice_ids = Vec::with_capacity(notices.len());
    let mut failure = None;
    for n in &notices {
        match t.notices.publish(n).await {
            Ok(id) => notice_ids.push(id),
            Err(e @ NotifyError::Transient(_)) => return Err(Error::Unavailable(e.to_string())),
            Err(e) if attempt < REFUSED_ATTEMPTS => return Err(Error::Unavailable(e.to_string())),
            Err(e) => {
                tracing::error!(error = %e, "reminder notices refused; giving up on this round");
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let (action, detail) = match failure {
        None => (
            "plan.reminders_delivered",
            json!({ "round_id": round_id, "notice_ids": notice_ids, "reminded": people.len() }),
        ),
        Some(error) => (
            "plan.reminders_failed",
            json!({ "round_id": round_id, "notice_ids": notice_ids, "error": error, "attempts": attempt }),
        ),
    };
    let mut tx = t.db.begin().await?;
    audit::record(
        &mut tx,
        t.now(),
        &service_actor(),
        action,
        &resource("plans", plan_id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The completion deadline of a mandatory plan has come: everybody in its
/// audience who had not completed by then is marked non-compliant, once.
#[tracing::instrument(skip_all, fields(plan_id = %plan_id))]
pub async fn deadline_reached(t: &Training, plan_id: &str) -> Result<(), Error> {
    let now = t.now();
    let mut tx = t.db.begin().await?;
    if !plans::lock(&t.db, &mut tx, plan_id).await? {
        return Ok(());
    }
    let Some(mut p) = plans::get(&mut tx, plan_id).await? else {
        return Ok(());
    };
    let Some(deadline) = p.content.deadline_ms else {
        return Ok(());
    };
    if p.state != PlanState::Published
        || !p.content.mandatory
        || p.deadline_passed
        || deadline > now
    {
        return Ok(());
    }
    let marked = audience::mark_non_compliant(&mut tx, plan_id, deadline).await?;
    let read = p.version;
    p.deadline_passed = true;
    p.version += 1;
    p.updated_ms = now;
    if !plans::update(&mut tx, &p, read).await? {
        return Err(Error::Aborted(
            "the plan changed while its deadline passed".into(),
        ));
    }
    let detail = json!({ "non_compliant": marked, "deadline_ms": deadline });
    audit::record(
        &mut tx,
        now,
        &service_actor(),
        "plan.deadline",
        &resource("plans", plan_id),
        detail,
    )
    .await?;
    let gauge = compliance::of(&mut tx, plan_id).await?;
    tx.commit().await?;
    if let Some(g) = gauge {
        metrics::compliance(&g);
    }
    Ok(())
}

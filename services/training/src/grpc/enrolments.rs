//! Enrolment and cancellation, with the waiting list moving up by itself.

use concord_kit::auth::Principal;
use concord_kit::directory::{Member, under};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_id, check_opt_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit};
use concord_proto::training::v1 as pb;
use serde_json::json;
use sqlx::AnyConnection;

use super::plans::load;
use super::{Training, convert, resource};
use crate::domain::access;
use crate::domain::enrolment::{Enrolment, Status, promotions, seat_available};
use crate::domain::plan::{Plan, PlanState};
use crate::metrics;
use crate::store::{self, attendance, enrolment as db, plan as plans};

const KIND: &str = "enrolment";
const REASON_MAX: usize = 1_000;
/// More than any waiting list: "everybody who waits".
const EVERYBODY: i64 = 1_000_000_000;

/// An enrolment as a message, with its completion record when completed.
pub(super) async fn render(
    conn: &mut AnyConnection,
    e: &Enrolment,
    plan: &Plan,
) -> Result<pb::Enrolment, Error> {
    let record = match &e.completion {
        Some(_) => convert::record(
            e,
            plan,
            attendance::attended_ms(conn, &plan.id, &e.person_id).await?,
        ),
        None => None,
    };
    Ok(convert::enrolment(e, record))
}

/// How a person belongs to a plan's audience.
enum Entry {
    /// In the audience taken at publication, under this department.
    Known(String),
    /// Joined the audience's departments since.
    Joined(Member),
}

/// The department under which `person_id` belongs to the plan's audience:
/// from the audience taken at publication, or (for people who joined since)
/// from the directory now. `None` when the audience does not cover them.
async fn audience_department(
    t: &Training,
    plan: &Plan,
    person_id: &str,
) -> Result<Option<Entry>, Error> {
    let known = store::audience::department_of(&mut *t.conn().await?, &plan.id, person_id).await?;
    if let Some(department_id) = known {
        return Ok(Some(Entry::Known(department_id)));
    }
    let members = t
        .org
        .resolve(
            convert::resolve_request(&plan.content.audience),
            &under("audience"),
        )
        .await?;
    Ok(members
        .into_iter()
        .find(|m| m.person_id == person_id)
        .map(Entry::Joined))
}

pub async fn enrol(
    t: &Training,
    who: &Principal,
    req: &pb::EnrolInTrainingRequest,
) -> Result<pb::Enrolment, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "plan_id", &req.plan_id);
    check_opt_id(&mut v, "person_id", &req.person_id);
    v.into_result()?;
    let person_id = if req.person_id.is_empty() {
        who.subject.clone()
    } else {
        req.person_id.clone()
    };
    let plan = load(t, &req.plan_id).await?;
    let for_self = person_id == who.subject;
    if !for_self {
        t.ensure_planner(who, &plan).await?;
    }
    if plan.state != PlanState::Published {
        return Err(Error::precondition(
            "the training is not open for enrolment",
        ));
    }
    let Some(entry) = audience_department(t, &plan, &person_id).await? else {
        return Err(if for_self {
            Error::denied("this training is not meant for you: you are not in its audience")
        } else {
            concord_kit::invalid("person_id", "is not in the training's audience")
        });
    };

    let key = Key::new("EnrolInTraining", &who.subject, &req.request_id);
    let mut tx = t.db.begin().await?;
    let seating = plans::lock_seating(&t.db, &mut tx, &plan.id)
        .await?
        .ok_or_else(|| Error::not_found("training plan", &plan.id))?;
    if let Some(done) = replay::<pb::Enrolment>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    if seating.state != PlanState::Published {
        return Err(Error::precondition(
            "the training is not open for enrolment",
        ));
    }
    let department_id = match entry {
        Entry::Known(d) => d,
        Entry::Joined(m) => {
            store::audience::add(&mut tx, &plan.id, std::slice::from_ref(&m)).await?;
            m.department_id
        }
    };
    let existing = db::of_person(&mut tx, &plan.id, &person_id).await?;
    if let Some(e) = &existing
        && e.status.active()
    {
        return Err(Error::AlreadyExists(format!(
            "already {} in this training",
            e.status.as_str()
        )));
    }
    let (queue_key, seats_taken) = db::next_place(&mut tx, &plan.id).await?;
    let seated = seat_available(seating.capacity, seats_taken);
    let e = Enrolment {
        id: existing
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_else(new_id),
        plan_id: plan.id.clone(),
        person_id: person_id.clone(),
        department_id,
        status: if seated {
            Status::Enrolled
        } else {
            Status::Waitlisted
        },
        queue_key,
        enrol_ms: now,
        seat_ms: seated.then_some(now),
        cancel_ms: None,
        completion: None,
        waitlist_position: 0,
    };
    if existing.is_some() {
        db::reenrol(&mut tx, &e).await?;
    } else {
        db::insert(&mut tx, &e).await?;
    }
    let detail = json!({ "plan_id": plan.id, "person_id": person_id, "status": e.status.as_str() });
    audit::record(
        &mut tx,
        now,
        who,
        "enrolment.create",
        &resource("enrolments", &e.id),
        detail,
    )
    .await?;
    let stored = db::get(&mut tx, &e.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &e.id))?;
    let out = convert::enrolment(&stored, None);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    metrics::enrolled(&stored.department_id);
    Ok(out)
}

/// An enrolment, or NOT_FOUND naming it.
pub(super) async fn load_enrolment(t: &Training, id: &str) -> Result<Enrolment, Error> {
    db::get(&mut *t.conn().await?, id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, id))
}

pub async fn cancel(
    t: &Training,
    who: &Principal,
    req: &pb::CancelEnrolmentRequest,
) -> Result<pb::Enrolment, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_id(&mut v, "enrolment_id", &req.enrolment_id);
    check_opt_text(&mut v, "reason", &req.reason, REASON_MAX);
    v.into_result()?;
    let e = load_enrolment(t, &req.enrolment_id).await?;
    let plan = load(t, &e.plan_id).await?;
    if e.person_id != who.subject {
        t.ensure_planner(who, &plan).await?;
    }
    match e.status {
        Status::Cancelled => return render(&mut *t.conn().await?, &e, &plan).await,
        Status::Completed => {
            return Err(Error::precondition(
                "a completed training cannot be cancelled",
            ));
        }
        Status::Enrolled | Status::Waitlisted => {}
    }

    let mut tx = t.db.begin().await?;
    plans::lock(&t.db, &mut tx, &plan.id).await?;
    if !db::cancel(&mut tx, &e.id, now).await? {
        let now_is = db::get(&mut tx, &e.id)
            .await?
            .ok_or_else(|| Error::not_found(KIND, &e.id))?;
        if now_is.status == Status::Cancelled {
            return render(&mut tx, &now_is, &plan).await;
        }
        return Err(Error::precondition(
            "a completed training cannot be cancelled",
        ));
    }
    let plan = plans::get(&mut tx, &plan.id)
        .await?
        .ok_or_else(|| Error::not_found("training plan", &e.plan_id))?;
    // A freed seat goes to the first who waits, in this transaction.
    let n = promotions(plan.content.capacity, plan.counts.seats_taken, EVERYBODY);
    let moved = if plan.state == PlanState::Published {
        db::promote(&mut tx, &plan.id, n, now).await?
    } else {
        Vec::new()
    };
    let moved_ids: Vec<&str> = moved.iter().map(|m| m.person_id.as_str()).collect();
    let detail = json!({
        "plan_id": plan.id, "person_id": e.person_id, "was": e.status.as_str(),
        "reason": req.reason.trim(), "moved_up": moved_ids,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "enrolment.cancel",
        &resource("enrolments", &e.id),
        detail,
    )
    .await?;
    for m in &moved {
        let detail = json!({ "plan_id": plan.id, "person_id": m.person_id });
        audit::record(
            &mut tx,
            now,
            who,
            "enrolment.move_up",
            &resource("enrolments", &m.id),
            detail,
        )
        .await?;
    }
    let done = db::get(&mut tx, &e.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &e.id))?;
    let out = render(&mut tx, &done, &plan).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn list(
    t: &Training,
    who: &Principal,
    req: &pb::ListEnrolmentsRequest,
) -> Result<pb::ListEnrolmentsResponse, Error> {
    let mut v = Violations::new();
    check_opt_id(&mut v, "plan_id", &req.plan_id);
    check_opt_id(&mut v, "person_id", &req.person_id);
    match (req.plan_id.is_empty(), req.person_id.is_empty()) {
        (true, true) => v.add("plan_id", "set plan_id or person_id"),
        (false, false) => v.add("person_id", "set only one of plan_id and person_id"),
        _ => {}
    }
    let status = convert::status_filter(&mut v, "status", req.status);
    let page = v.absorb(Page::parse(
        req.page_size,
        &req.page_token,
        &format!(
            "enrolments|{}|{}|{}",
            req.plan_id, req.person_id, req.status
        ),
    ))?;
    v.into_result()?;
    let page = page.ok_or_else(|| concord_kit::invalid("page_token", "is not valid"))?;
    let of = if req.plan_id.is_empty() {
        if !t.reads_person(who, &req.person_id, None).await? {
            return Err(Error::denied(
                "a person's enrolments are seen by them, their heads, admins and auditors",
            ));
        }
        db::Of::Person(req.person_id.clone())
    } else {
        let plan = load(t, &req.plan_id).await?;
        if !access::is_auditor(who) && !t.plans_for(who, &plan.department_id).await? {
            return Err(Error::denied(
                "the enrolments of a training are seen by those who run it and auditors",
            ));
        }
        db::Of::Plan(req.plan_id.clone())
    };
    let mut conn = t.conn().await?;
    let rows = db::list(
        &mut conn,
        &of,
        status,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |e| db::list_cursor(&of, e));
    let mut enrolments = Vec::with_capacity(rows.len());
    for e in &rows {
        let plan = plans::get(&mut conn, &e.plan_id)
            .await?
            .ok_or_else(|| Error::not_found("training plan", &e.plan_id))?;
        enrolments.push(render(&mut conn, e, &plan).await?);
    }
    Ok(pb::ListEnrolmentsResponse {
        enrolments,
        next_page_token,
    })
}

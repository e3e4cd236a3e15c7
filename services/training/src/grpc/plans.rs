//! Training plans: draft, read, list, change, publish and cancel.

use concord_kit::auth::Principal;
use concord_kit::directory::{Member, under};
use concord_kit::fields::{check_etag, etag, update_mask};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_id, check_opt_text, check_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, due};
use concord_proto::training::v1 as pb;
use serde_json::json;

use super::{Training, convert, resource};
use crate::deadlines::DEADLINE;
use crate::domain::access::{self, Reach};
use crate::domain::enrolment::promotions;
use crate::domain::plan::{self, Plan, PlanContent, PlanCounts, PlanField, PlanState};
use crate::metrics;
use crate::store::{self, compliance, enrolment, plan as db};

const KIND: &str = "training plan";
const REASON_MAX: usize = 1_000;

/// Resolves an audience through the directory (its unknown ids are named
/// under `prefix`) and, for a head, checks that everybody in it works in
/// the head's subtree.
pub(super) async fn check_audience(
    t: &Training,
    who: &Principal,
    content: &PlanContent,
    prefix: &str,
) -> Result<Vec<Member>, Error> {
    let rename = under(prefix);
    let members = t
        .org
        .resolve(convert::resolve_request(&content.audience), &rename)
        .await?;
    let reach = access::planning(who);
    if let Some(allowed) = t.org.reach_set(&reach).await? {
        let outside = content
            .audience
            .department_ids
            .iter()
            .chain(members.iter().map(|m| &m.department_id))
            .any(|d| !allowed.contains(d));
        if outside {
            return Err(Error::denied(
                "department heads plan training only for their own department and those below it",
            ));
        }
    }
    Ok(members)
}

/// Fails unless `who` may plan for `department_id` (which must exist).
async fn ensure_department(
    t: &Training,
    who: &Principal,
    department_id: &str,
) -> Result<(), Error> {
    let reach = access::planning(who);
    if reach == Reach::Nowhere {
        return Err(Error::denied(
            "only admins and department heads plan training",
        ));
    }
    if t.org.subtree(department_id).await?.is_none() {
        return Err(concord_kit::invalid("department_id", "names no department"));
    }
    if t.org.covers(&reach, department_id).await? {
        Ok(())
    } else {
        Err(Error::denied(
            "department heads plan training only for their own department and those below it",
        ))
    }
}

pub async fn create(
    t: &Training,
    who: &Principal,
    req: &pb::CreateTrainingPlanRequest,
) -> Result<pb::TrainingPlan, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "department_id", &req.department_id);
    let content = convert::content(
        &mut v,
        "",
        &req.title,
        &req.content_outline,
        req.mode,
        &req.place,
        &req.link,
        &req.sessions,
        req.audience.as_ref(),
        req.capacity,
        req.mandatory,
        req.completion_deadline.as_ref(),
    );
    if v.is_empty() {
        content.check(&mut v, "", Some(now));
    }
    v.into_result()?;
    ensure_department(t, who, &req.department_id).await?;
    check_audience(t, who, &content, "audience").await?;

    let key = Key::new("CreateTrainingPlan", &who.subject, &req.request_id);
    let mut tx = t.db.begin().await?;
    if let Some(done) = replay::<pb::TrainingPlan>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let p = Plan {
        id: new_id(),
        department_id: req.department_id.clone(),
        content,
        state: PlanState::Draft,
        deadline_passed: false,
        created_by: who.subject.clone(),
        created_ms: now,
        updated_ms: now,
        publish_ms: None,
        cancel_reason: String::new(),
        version: 1,
        counts: PlanCounts::default(),
    };
    db::insert(&mut tx, &p).await?;
    let detail = json!({
        "department_id": p.department_id, "title": p.content.title,
        "sessions": p.content.sessions.len(), "mandatory": p.content.mandatory,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "plan.create",
        &resource("plans", &p.id),
        detail,
    )
    .await?;
    let out = convert::plan(&p);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

/// A plan, or NOT_FOUND naming it.
pub(super) async fn load(t: &Training, id: &str) -> Result<Plan, Error> {
    db::get(&mut *t.conn().await?, id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, id))
}

pub async fn get(
    t: &Training,
    who: &Principal,
    req: &pb::GetTrainingPlanRequest,
) -> Result<pb::TrainingPlan, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    let p = load(t, &req.id).await?;
    if p.state == PlanState::Draft
        && !access::is_auditor(who)
        && !t.plans_for(who, &p.department_id).await?
    {
        return Err(Error::denied("a draft is seen only by those who plan it"));
    }
    Ok(convert::plan(&p))
}

pub async fn list(
    t: &Training,
    who: &Principal,
    req: &pb::ListTrainingPlansRequest,
) -> Result<pb::ListTrainingPlansResponse, Error> {
    let mut v = Violations::new();
    check_opt_id(&mut v, "department_id", &req.department_id);
    let state = match pb::PlanState::try_from(req.state) {
        Ok(pb::PlanState::Unspecified) => None,
        Ok(pb::PlanState::Draft) => Some(PlanState::Draft),
        Ok(pb::PlanState::Published) => Some(PlanState::Published),
        Ok(pb::PlanState::Cancelled) => Some(PlanState::Cancelled),
        Err(_) => {
            v.add("state", "is not a known plan state");
            None
        }
    };
    let page = v.absorb(Page::parse(
        req.page_size,
        &req.page_token,
        &format!(
            "plans|{}|{}|{}|{}|{}",
            req.department_id,
            req.include_sub_departments,
            req.state,
            req.mandatory_only,
            req.for_me
        ),
    ))?;
    v.into_result()?;
    let page = page.ok_or_else(|| concord_kit::invalid("page_token", "is not valid"))?;
    let departments = t
        .org
        .scope(
            &Reach::Everywhere,
            "department_id",
            &req.department_id,
            req.include_sub_departments,
        )
        .await?;
    let drafts_of = if who.is_admin() || access::is_auditor(who) {
        None
    } else {
        Some(
            t.org
                .reach_set(&access::planning(who))
                .await?
                .unwrap_or_default(),
        )
    };
    let filter = db::Filter {
        departments,
        state,
        mandatory_only: req.mandatory_only,
        audience_person: req.for_me.then(|| who.subject.clone()),
        drafts_of,
    };
    let rows = db::list(
        &mut *t.conn().await?,
        &filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, db::list_cursor);
    Ok(pb::ListTrainingPlansResponse {
        plans: rows.iter().map(convert::plan).collect(),
        next_page_token,
    })
}

/// The masked fields of an update, each validated on its own.
fn changes(
    v: &mut Violations,
    req: &pb::UpdateTrainingPlanRequest,
) -> (Vec<PlanField>, Option<i64>, String, PlanContent) {
    let fields = update_mask(v, req.update_mask.as_ref(), PlanField::ALL);
    let Some(p) = req.plan.as_ref() else {
        v.add("plan", "is required");
        return (fields, None, String::new(), empty_content());
    };
    check_id(v, "plan.id", &p.id);
    let expected = etag(v, "plan.etag", &p.etag);
    // The values of every field; only the violations of the masked ones
    // count, the rest of `plan` is ignored.
    let mut all = Violations::new();
    let content = convert::content(
        &mut all,
        "plan.",
        &p.title,
        &p.content_outline,
        p.mode,
        &p.place,
        &p.link,
        &p.sessions,
        p.audience.as_ref(),
        p.capacity,
        p.mandatory,
        p.completion_deadline.as_ref(),
    );
    for f in &fields {
        match f {
            PlanField::Title => check_text(v, "plan.title", &p.title, plan::TITLE_MAX),
            PlanField::ContentOutline => {
                check_opt_text(
                    v,
                    "plan.content_outline",
                    &p.content_outline,
                    plan::OUTLINE_MAX,
                );
            }
            PlanField::Mode => {
                convert::mode(v, "plan.mode", p.mode);
            }
            PlanField::Place => check_opt_text(v, "plan.place", &p.place, plan::PLACE_MAX),
            PlanField::Link => check_opt_text(v, "plan.link", &p.link, plan::LINK_MAX),
            PlanField::Sessions => {
                convert::sessions(v, "plan.", &p.sessions);
            }
            PlanField::Audience => {
                convert::audience(v, "plan.", p.audience.as_ref());
            }
            PlanField::Capacity => {
                convert::capacity(v, "plan.capacity", p.capacity);
            }
            PlanField::Mandatory => {}
            PlanField::CompletionDeadline => {
                convert::opt_time(
                    v,
                    "plan.completion_deadline",
                    p.completion_deadline.as_ref(),
                );
            }
        }
    }
    (fields, expected, p.id.clone(), content)
}

fn empty_content() -> PlanContent {
    PlanContent {
        title: String::new(),
        content_outline: String::new(),
        mode: crate::domain::plan::Mode::OnSite,
        place: String::new(),
        link: String::new(),
        sessions: Vec::new(),
        audience: Default::default(),
        capacity: 0,
        mandatory: false,
        deadline_ms: None,
    }
}

pub async fn update(
    t: &Training,
    who: &Principal,
    req: &pb::UpdateTrainingPlanRequest,
) -> Result<pb::TrainingPlan, Error> {
    let now = t.now();
    let mut v = Violations::new();
    let (fields, expected, id, new) = changes(&mut v, req);
    v.into_result()?;
    let read = load(t, &id).await?;
    t.ensure_planner(who, &read).await?;
    match read.state {
        PlanState::Cancelled => return Err(Error::precondition("the training was cancelled")),
        PlanState::Published => {
            let fixed: Vec<&str> = fields
                .iter()
                .filter(|f| !f.editable_when_published())
                .map(|f| f.path())
                .collect();
            if !fixed.is_empty() {
                return Err(Error::precondition(format!(
                    "a published training keeps its {}; cancel it and plan another",
                    fixed.join(", ")
                )));
            }
            if fields.contains(&PlanField::CompletionDeadline) && read.deadline_passed {
                return Err(Error::precondition(
                    "the completion deadline has already passed",
                ));
            }
        }
        PlanState::Draft => {}
    }
    let mut content = read.content.clone();
    content.apply(&new, &fields);
    let mut v = Violations::new();
    let deadline_changes = fields.iter().any(|f| {
        matches!(
            f,
            PlanField::CompletionDeadline | PlanField::Mandatory | PlanField::Sessions
        )
    });
    content.check(&mut v, "plan.", deadline_changes.then_some(now));
    v.into_result()?;
    if fields.contains(&PlanField::Audience) {
        check_audience(t, who, &content, "plan.audience").await?;
    }

    let mut tx = t.db.begin().await?;
    if !db::lock(&t.db, &mut tx, &id).await? {
        return Err(Error::not_found(KIND, &id));
    }
    let mut p = db::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &id))?;
    check_etag(KIND, expected, p.version)?;
    if p.version != read.version {
        return Err(Error::stale_etag(KIND));
    }
    if p.state == PlanState::Published
        && content.capacity > 0
        && content.capacity < p.counts.seats_taken
    {
        return Err(Error::precondition(format!(
            "{} seats are taken; the capacity cannot be lower",
            p.counts.seats_taken
        )));
    }
    p.content = content;
    p.updated_ms = now;
    p.version += 1;
    if !db::update(&mut tx, &p, read.version).await? {
        return Err(Error::stale_etag(KIND));
    }
    if fields.contains(&PlanField::Sessions) {
        db::replace_sessions(&mut tx, &p.id, &p.content.sessions).await?;
    }
    let mut promoted = Vec::new();
    if p.state == PlanState::Published {
        if fields.contains(&PlanField::Capacity) {
            let n = promotions(p.content.capacity, p.counts.seats_taken, p.counts.waiting);
            promoted = enrolment::promote(&mut tx, &p.id, n, now).await?;
        }
        if let (true, Some(d)) = (
            fields.contains(&PlanField::CompletionDeadline),
            p.content.deadline_ms,
        ) {
            due::schedule(&mut tx, DEADLINE, &p.id, d, "").await?;
        }
    }
    let paths: Vec<&str> = fields.iter().map(|f| f.path()).collect();
    let moved: Vec<&str> = promoted.iter().map(|e| e.person_id.as_str()).collect();
    let detail = json!({ "fields": paths, "moved_up": moved });
    audit::record(
        &mut tx,
        now,
        who,
        "plan.update",
        &resource("plans", &p.id),
        detail,
    )
    .await?;
    let p = db::get(&mut tx, &id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &id))?;
    let c = compliance::of(&mut tx, &id).await?;
    tx.commit().await?;
    if let Some(c) = c {
        metrics::compliance(&c);
    }
    Ok(convert::plan(&p))
}

pub async fn publish(
    t: &Training,
    who: &Principal,
    req: &pb::PublishTrainingPlanRequest,
) -> Result<pb::TrainingPlan, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let read = load(t, &req.id).await?;
    t.ensure_planner(who, &read).await?;
    match read.state {
        PlanState::Draft => {}
        PlanState::Published => {
            return Err(Error::precondition("the training is already published"));
        }
        PlanState::Cancelled => return Err(Error::precondition("the training was cancelled")),
    }
    check_etag(KIND, expected, read.version)?;
    let mut v = Violations::new();
    read.content.check(&mut v, "", Some(now));
    if !v.is_empty() {
        return Err(Error::precondition(format!(
            "the plan cannot be published as it stands ({}); update it first",
            v.fields().collect::<Vec<_>>().join(", ")
        )));
    }
    let members = check_audience(t, who, &read.content, "audience").await?;

    let mut tx = t.db.begin().await?;
    if !db::lock(&t.db, &mut tx, &read.id).await? {
        return Err(Error::not_found(KIND, &read.id));
    }
    let mut p = db::get(&mut tx, &read.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &read.id))?;
    if p.version != read.version || p.state != PlanState::Draft {
        return Err(Error::stale_etag(KIND));
    }
    store::audience::add(&mut tx, &p.id, &members).await?;
    p.state = PlanState::Published;
    p.publish_ms = Some(now);
    p.updated_ms = now;
    p.version += 1;
    if !db::update(&mut tx, &p, read.version).await? {
        return Err(Error::stale_etag(KIND));
    }
    if let (true, Some(d)) = (p.content.mandatory, p.content.deadline_ms) {
        due::schedule(&mut tx, DEADLINE, &p.id, d, "").await?;
    }
    let detail = json!({ "audience": members.len(), "mandatory": p.content.mandatory });
    audit::record(
        &mut tx,
        now,
        who,
        "plan.publish",
        &resource("plans", &p.id),
        detail,
    )
    .await?;
    let p = db::get(&mut tx, &read.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &read.id))?;
    let c = compliance::of(&mut tx, &p.id).await?;
    tx.commit().await?;
    if let Some(c) = c {
        metrics::compliance(&c);
    }
    Ok(convert::plan(&p))
}

pub async fn cancel(
    t: &Training,
    who: &Principal,
    req: &pb::CancelTrainingPlanRequest,
) -> Result<pb::TrainingPlan, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = etag(&mut v, "etag", &req.etag);
    check_opt_text(&mut v, "reason", &req.reason, REASON_MAX);
    v.into_result()?;
    let read = load(t, &req.id).await?;
    t.ensure_planner(who, &read).await?;
    if read.state == PlanState::Cancelled {
        return Err(Error::precondition("the training is already cancelled"));
    }
    let mut tx = t.db.begin().await?;
    if !db::lock(&t.db, &mut tx, &read.id).await? {
        return Err(Error::not_found(KIND, &read.id));
    }
    let mut p = db::get(&mut tx, &read.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &read.id))?;
    check_etag(KIND, expected, p.version)?;
    if p.state == PlanState::Cancelled {
        return Err(Error::precondition("the training is already cancelled"));
    }
    let cancelled = enrolment::cancel_all(&mut tx, &p.id, now).await?;
    let was = p.version;
    p.state = PlanState::Cancelled;
    p.cancel_reason = req.reason.trim().to_string();
    p.updated_ms = now;
    p.version += 1;
    if !db::update(&mut tx, &p, was).await? {
        return Err(Error::stale_etag(KIND));
    }
    due::cancel(&mut tx, DEADLINE, &p.id).await?;
    let detail = json!({ "reason": p.cancel_reason, "enrolments_cancelled": cancelled });
    audit::record(
        &mut tx,
        now,
        who,
        "plan.cancel",
        &resource("plans", &p.id),
        detail,
    )
    .await?;
    let p = db::get(&mut tx, &read.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &read.id))?;
    tx.commit().await?;
    metrics::forget_plan(&p.id, &p.department_id);
    Ok(convert::plan(&p))
}

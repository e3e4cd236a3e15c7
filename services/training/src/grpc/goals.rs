//! Goals of a development plan, progress updates, and the head's reviews.

use concord_kit::auth::Principal;
use concord_kit::fields::{check_etag, etag, update_mask};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_id, check_opt_text, check_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit};
use concord_proto::training::v1 as pb;
use serde_json::json;

use super::development::{Standing, load, standing};
use super::{Training, convert, resource};
use crate::domain::development::{
    self as dev, Goal, GoalField, GoalStatus, ProgressUpdate, Review, check_date,
};
use crate::store::{self, development as db};

const KIND: &str = "goal";

fn may_not_change() -> Error {
    Error::denied("goals are set by the person, their department heads and admins")
}

pub async fn add(
    t: &Training,
    who: &Principal,
    req: &pb::AddGoalRequest,
) -> Result<pb::Goal, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "plan_id", &req.plan_id);
    let goal = match &req.goal {
        Some(g) => {
            let g = convert::new_goal(g);
            g.check(&mut v, "goal");
            Some(g)
        }
        None => {
            v.add("goal", "is required");
            None
        }
    };
    v.into_result()?;
    let goal = goal.ok_or_else(|| concord_kit::invalid("goal", "is required"))?;
    let (plan, goals) = load(t, &req.plan_id).await?;
    if !standing(t, who, &plan).await?.changes() {
        return Err(may_not_change());
    }
    if goals.len() >= dev::GOALS_MAX {
        return Err(Error::precondition(format!(
            "a plan holds at most {} goals",
            dev::GOALS_MAX
        )));
    }
    let key = Key::new("AddGoal", &who.subject, &req.request_id);
    let mut tx = t.db.begin().await?;
    if let Some(done) = replay::<pb::Goal>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let g = Goal {
        id: new_id(),
        plan_id: plan.id.clone(),
        goal,
        status: GoalStatus::NotStarted,
        created_ms: now,
        updated_ms: now,
        version: 1,
    };
    db::insert_goal(&mut tx, &g).await?;
    let detail =
        json!({ "plan_id": plan.id, "title": g.goal.title, "target_date": g.goal.target_date });
    audit::record(
        &mut tx,
        now,
        who,
        "goal.create",
        &resource("goals", &g.id),
        detail,
    )
    .await?;
    let out = convert::goal(&g);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn update(
    t: &Training,
    who: &Principal,
    req: &pb::UpdateGoalRequest,
) -> Result<pb::Goal, Error> {
    let now = t.now();
    let mut v = Violations::new();
    let fields = update_mask(&mut v, req.update_mask.as_ref(), GoalField::ALL);
    let Some(given) = req.goal.as_ref() else {
        v.add("goal", "is required");
        return Err(Error::Invalid(v));
    };
    check_id(&mut v, "goal.id", &given.id);
    let expected = etag(&mut v, "goal.etag", &given.etag);
    let mut status = None;
    for f in &fields {
        match f {
            GoalField::Title => check_text(&mut v, "goal.title", &given.title, dev::GOAL_TITLE_MAX),
            GoalField::Description => check_opt_text(
                &mut v,
                "goal.description",
                &given.description,
                dev::GOAL_DESCRIPTION_MAX,
            ),
            GoalField::TargetDate => {
                check_date(&mut v, "goal.target_date", given.target_date.trim())
            }
            GoalField::Status => {
                status = convert::opt_goal_status(&mut v, "goal.status", given.status);
                if status.is_none() && given.status == 0 {
                    v.add("goal.status", "is required");
                }
            }
        }
    }
    v.into_result()?;
    let read = db::get_goal(&mut *t.conn().await?, &given.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &given.id))?;
    let (plan, _) = load(t, &read.plan_id).await?;
    if !standing(t, who, &plan).await?.changes() {
        return Err(may_not_change());
    }
    let mut tx = t.db.begin().await?;
    let mut g = db::get_goal(&mut tx, &read.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &read.id))?;
    check_etag(KIND, expected, g.version)?;
    let given_goal = convert::new_goal(&pb::NewGoal {
        title: given.title.clone(),
        description: given.description.clone(),
        target_date: given.target_date.clone(),
    });
    for f in &fields {
        match f {
            GoalField::Title => g.goal.title = given_goal.title.clone(),
            GoalField::Description => g.goal.description = given_goal.description.clone(),
            GoalField::TargetDate => g.goal.target_date = given_goal.target_date.clone(),
            GoalField::Status => g.status = status.unwrap_or(g.status),
        }
    }
    let was = g.version;
    g.version += 1;
    g.updated_ms = now;
    if !db::update_goal(&mut tx, &g, was).await? {
        return Err(Error::stale_etag(KIND));
    }
    let paths: Vec<&str> = GoalField::ALL
        .iter()
        .filter(|(_, f)| fields.contains(f))
        .map(|(p, _)| *p)
        .collect();
    let detail = json!({ "plan_id": g.plan_id, "fields": paths, "status": g.status.as_str() });
    audit::record(
        &mut tx,
        now,
        who,
        "goal.update",
        &resource("goals", &g.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::goal(&g))
}

pub async fn add_progress(
    t: &Training,
    who: &Principal,
    req: &pb::AddProgressUpdateRequest,
) -> Result<pb::ProgressUpdate, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "plan_id", &req.plan_id);
    check_opt_id(&mut v, "goal_id", &req.goal_id);
    check_text(&mut v, "text", &req.text, dev::TEXT_MAX);
    let status = convert::opt_goal_status(&mut v, "goal_status", req.goal_status);
    if status.is_some() && req.goal_id.is_empty() {
        v.add("goal_status", "moves a goal: name it in goal_id");
    }
    v.into_result()?;
    let (plan, goals) = load(t, &req.plan_id).await?;
    if !standing(t, who, &plan).await?.notes() {
        return Err(Error::denied(
            "progress is recorded by the person, their mentor, their department heads and admins",
        ));
    }
    if !req.goal_id.is_empty() && !goals.iter().any(|g| g.id == req.goal_id) {
        return Err(concord_kit::invalid(
            "goal_id",
            "is not a goal of this plan",
        ));
    }
    let key = Key::new("AddProgressUpdate", &who.subject, &req.request_id);
    let mut tx = t.db.begin().await?;
    if let Some(done) = replay::<pb::ProgressUpdate>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let u = ProgressUpdate {
        id: new_id(),
        plan_id: plan.id.clone(),
        goal_id: req.goal_id.clone(),
        author_id: who.subject.clone(),
        text: req.text.trim().to_string(),
        goal_status: status,
        created_ms: now,
    };
    db::insert_progress(&mut tx, &u).await?;
    if let Some(s) = status {
        let mut g = db::get_goal(&mut tx, &u.goal_id)
            .await?
            .ok_or_else(|| Error::not_found(KIND, &u.goal_id))?;
        let was = g.version;
        g.status = s;
        g.version += 1;
        g.updated_ms = now;
        if !db::update_goal(&mut tx, &g, was).await? {
            return Err(Error::stale_etag(KIND));
        }
    }
    let detail = json!({
        "plan_id": plan.id, "goal_id": u.goal_id,
        "goal_status": status.map(GoalStatus::as_str),
    });
    audit::record(
        &mut tx,
        now,
        who,
        "progress.create",
        &resource("development-plans", &plan.id),
        detail,
    )
    .await?;
    let out = convert::progress(&u);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

/// Validates a plan id and a page, and checks the caller sees the plan.
async fn readable_page(
    t: &Training,
    who: &Principal,
    what: &str,
    plan_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<Page, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "plan_id", plan_id);
    let page = v.absorb(Page::parse(
        page_size,
        page_token,
        &format!("{what}|{plan_id}"),
    ))?;
    v.into_result()?;
    let page = page.ok_or_else(|| concord_kit::invalid("page_token", "is not valid"))?;
    let (plan, _) = load(t, plan_id).await?;
    if !standing(t, who, &plan).await?.sees() {
        return Err(Error::denied(
            "a development plan is seen by the person, their mentor, their department heads, admins and auditors",
        ));
    }
    Ok(page)
}

pub async fn list_progress(
    t: &Training,
    who: &Principal,
    req: &pb::ListProgressUpdatesRequest,
) -> Result<pb::ListProgressUpdatesResponse, Error> {
    let page = readable_page(
        t,
        who,
        "progress",
        &req.plan_id,
        req.page_size,
        &req.page_token,
    )
    .await?;
    let rows = db::list_progress(
        &mut *t.conn().await?,
        &req.plan_id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |u| store::key_cursor(&u.id));
    Ok(pb::ListProgressUpdatesResponse {
        updates: rows.iter().map(convert::progress).collect(),
        next_page_token,
    })
}

pub async fn review(
    t: &Training,
    who: &Principal,
    req: &pb::ReviewDevelopmentPlanRequest,
) -> Result<pb::Review, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "plan_id", &req.plan_id);
    check_text(&mut v, "comment", &req.comment, dev::TEXT_MAX);
    v.into_result()?;
    let (plan, _) = load(t, &req.plan_id).await?;
    if standing(t, who, &plan).await? != Standing::Head {
        return Err(Error::denied(
            "a development plan is reviewed by a head of the person's department (or above), not by the person",
        ));
    }
    let key = Key::new("ReviewDevelopmentPlan", &who.subject, &req.request_id);
    let mut tx = t.db.begin().await?;
    if let Some(done) = replay::<pb::Review>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let r = Review {
        id: new_id(),
        plan_id: plan.id.clone(),
        reviewer_id: who.subject.clone(),
        comment: req.comment.trim().to_string(),
        created_ms: now,
    };
    db::insert_review(&mut tx, &r).await?;
    let mut p = db::get_plan(&mut tx, &plan.id)
        .await?
        .ok_or_else(|| Error::not_found("development plan", &plan.id))?;
    let was = p.version;
    p.last_review_ms = Some(now);
    p.version += 1;
    if !db::update_plan(&mut tx, &p, was).await? {
        return Err(Error::stale_etag("development plan"));
    }
    let detail = json!({ "review_id": r.id });
    audit::record(
        &mut tx,
        now,
        who,
        "development_plan.review",
        &resource("development-plans", &plan.id),
        detail,
    )
    .await?;
    let out = convert::review(&r);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn list_reviews(
    t: &Training,
    who: &Principal,
    req: &pb::ListReviewsRequest,
) -> Result<pb::ListReviewsResponse, Error> {
    let page = readable_page(
        t,
        who,
        "reviews",
        &req.plan_id,
        req.page_size,
        &req.page_token,
    )
    .await?;
    let rows = db::list_reviews(
        &mut *t.conn().await?,
        &req.plan_id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |r| store::key_cursor(&r.id));
    Ok(pb::ListReviewsResponse {
        reviews: rows.iter().map(convert::review).collect(),
        next_page_token,
    })
}

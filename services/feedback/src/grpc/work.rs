//! The department's work on an item: accept, start, resolve, reply and
//! note (owner, head, admins); assign the owner, transfer, reclassify (head,
//! admins); route from triage (admins).

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::check_id;
use concord_kit::{Error, Violations, fields, invalid};
use concord_proto::feedback::v1 as pb;
use serde_json::json;

use super::{Change, Feedback, convert};
use crate::domain::Routing;
use crate::domain::access::Standing;
use crate::domain::effects::Actor;
use crate::store;

const WORKERS_ONLY: &str =
    "only the owner, the head of the owning department and admins work on an item";
const MANAGERS_ONLY: &str = "only the head of the owning department and admins manage an item";

/// A status step taken by the department.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    Accept(&'a str),
    Start(&'a str),
    /// With the solution.
    Resolve(&'a str),
}

pub async fn step(
    svc: &Feedback,
    who: &Principal,
    id: &str,
    etag: &str,
    step: Step<'_>,
) -> Result<pb::FeedbackItem, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", id);
    let expected = fields::etag(&mut v, "etag", etag);
    let text = match step {
        Step::Accept(c) | Step::Start(c) => convert::text(&mut v, "comment", c),
        Step::Resolve(s) => convert::text(&mut v, "solution", s),
    };
    v.into_result()?;
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    let mut item = svc.locked(&mut tx, id).await?;
    let standing = svc.standing(who, &item).await?;
    standing.require(id, standing.may_work(), WORKERS_ONLY)?;
    fields::check_etag("feedback item", expected, item.version)?;
    let before = item.clone();
    let actor = Actor::Staff(who.subject.clone());
    let (effects, action) = match step {
        Step::Accept(_) => (item.accept(&actor, &text, now)?, "feedback.accept"),
        Step::Start(_) => (item.start_work(&actor, &text, now)?, "feedback.start"),
        Step::Resolve(_) => {
            let policy = store::sla::applicable(&mut tx, item.category, item.priority).await?;
            (
                item.resolve(&actor, &text, &policy, now)?,
                "feedback.resolve",
            )
        }
    };
    let detail = json!({ "status": item.status.as_str(), "comment": text });
    let change = Change {
        before,
        effects,
        action,
        detail,
    };
    svc.commit(tx, who, &mut item, change).await?;
    Ok(convert::item(&item, now))
}

pub async fn reply(
    svc: &Feedback,
    who: &Principal,
    req: &pb::AddFeedbackReplyRequest,
) -> Result<pb::TimelineEntry, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "id", &req.id);
    let text = convert::text(&mut v, "text", &req.text);
    v.into_result()?;
    let key = Key::new("AddFeedbackReply", &who.subject, &req.request_id);
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    if let Some(done) = replay::<pb::TimelineEntry>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let mut item = svc.locked(&mut tx, &req.id).await?;
    let standing = svc.standing(who, &item).await?;
    let actor = if standing.may_work() {
        Actor::Staff(who.subject.clone())
    } else if standing.submitter {
        if req.internal {
            return Err(Error::denied(
                "internal notes are written by the department",
            ));
        }
        Actor::Submitter(Some(who.subject.clone()))
    } else {
        return Err(standing.refusal(&req.id, WORKERS_ONLY));
    };
    let before = item.clone();
    let effects = item.comment(&actor, &text, !req.internal, now)?;
    let change = Change {
        before,
        effects,
        action: if req.internal {
            "feedback.note"
        } else {
            "feedback.reply"
        },
        detail: json!({ "public": !req.internal }),
    };
    let entries = svc.write(&mut tx, who, &mut item, &change).await?;
    let out = entries
        .first()
        .map(convert::entry)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a reply wrote no entry")))?;
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    svc.after_commit(&change.before, &item, &change.effects)
        .await;
    Ok(out)
}

pub async fn assign(
    svc: &Feedback,
    who: &Principal,
    req: &pb::AssignFeedbackOwnerRequest,
) -> Result<pb::FeedbackItem, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    check_id(&mut v, "owner_id", &req.owner_id);
    let comment = convert::opt_text(&mut v, "comment", &req.comment);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    let mut item = svc.locked(&mut tx, &req.id).await?;
    let standing = svc.standing(who, &item).await?;
    standing.require(&req.id, standing.may_manage(), MANAGERS_ONLY)?;
    fields::check_etag("feedback item", expected, item.version)?;
    if let Some(department) = &item.department_id {
        let person = svc
            .org
            .person(&req.owner_id)
            .await?
            .ok_or_else(|| invalid("owner_id", "names no person"))?;
        if !person.active {
            return Err(invalid(
                "owner_id",
                "names a person who is no longer active",
            ));
        }
        if !svc.org.within(department, &person.department_id).await? {
            return Err(invalid(
                "owner_id",
                "must belong to the owning department or one below it",
            ));
        }
    }
    let before = item.clone();
    let actor = Actor::Staff(who.subject.clone());
    let effects = item.assign(&actor, &req.owner_id, &comment, now)?;
    let detail = json!({ "owner_id": req.owner_id, "previous_owner_id": before.owner_id });
    let change = Change {
        before,
        effects,
        action: "feedback.assign",
        detail,
    };
    svc.commit(tx, who, &mut item, change).await?;
    Ok(convert::item(&item, now))
}

pub async fn route(
    svc: &Feedback,
    who: &Principal,
    req: &pb::RouteFeedbackRequest,
) -> Result<pb::FeedbackItem, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    check_id(&mut v, "department_id", &req.department_id);
    let comment = convert::text(&mut v, "comment", &req.comment);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    let mut item = svc.locked(&mut tx, &req.id).await?;
    let standing = svc.standing(who, &item).await?;
    let routing = routing_by(&standing, &req.id)?;
    fields::check_etag("feedback item", expected, item.version)?;
    if !svc.org.department_exists(&req.department_id).await? {
        return Err(invalid("department_id", "names no department"));
    }
    let before = item.clone();
    let actor = Actor::Staff(who.subject.clone());
    let effects = item.route(&actor, &req.department_id, routing, &comment, now)?;
    let detail = json!({
        "department_id": req.department_id,
        "previous_department_id": before.department_id,
        "routing": routing.as_str(),
        "comment": comment,
    });
    let change = Change {
        before,
        effects,
        action: "feedback.route",
        detail,
    };
    svc.commit(tx, who, &mut item, change).await?;
    Ok(convert::item(&item, now))
}

/// Admins route any item; the head of the owning department transfers it.
fn routing_by(standing: &Standing, id: &str) -> Result<Routing, Error> {
    if standing.admin {
        Ok(Routing::Admin)
    } else {
        standing.require(
            id,
            standing.head,
            "only admins route items; the head of the owning department transfers them",
        )?;
        Ok(Routing::Transfer)
    }
}

pub async fn update(
    svc: &Feedback,
    who: &Principal,
    req: &pb::UpdateFeedbackItemRequest,
) -> Result<pb::FeedbackItem, Error> {
    let mut v = Violations::new();
    let Some(patch) = &req.item else {
        return Err(invalid("item", "is required"));
    };
    check_id(&mut v, "item.id", &patch.id);
    let expected = fields::etag(&mut v, "item.etag", &patch.etag);
    let comment = convert::text(&mut v, "comment", &req.comment);
    let paths = req
        .update_mask
        .as_ref()
        .map(|m| m.paths.clone())
        .unwrap_or_default();
    if paths.is_empty() {
        v.add(
            "update_mask",
            "is required: name category, priority, or \"*\"",
        );
    }
    let mut category = None;
    let mut priority = None;
    for p in &paths {
        match p.as_str() {
            "category" | "*" if category.is_none() => {
                category = convert::parse_category(&mut v, "item.category", patch.category);
                if category.is_none() && patch.category == 0 {
                    v.add("item.category", "is required when the mask names it");
                }
                if p == "category" {
                    continue;
                }
                priority = convert::parse_priority(&mut v, "item.priority", patch.priority);
                if priority.is_none() && patch.priority == 0 {
                    v.add("item.priority", "is required when the mask names it");
                }
            }
            "priority" if priority.is_none() => {
                priority = convert::parse_priority(&mut v, "item.priority", patch.priority);
                if priority.is_none() && patch.priority == 0 {
                    v.add("item.priority", "is required when the mask names it");
                }
            }
            "category" | "priority" | "*" => {}
            other => v.add(
                "update_mask",
                format!("names {other:?}, which cannot be updated here"),
            ),
        }
    }
    v.into_result()?;
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    let mut item = svc.locked(&mut tx, &patch.id).await?;
    let standing = svc.standing(who, &item).await?;
    standing.require(&patch.id, standing.may_manage(), MANAGERS_ONLY)?;
    fields::check_etag("feedback item", expected, item.version)?;
    let category = category.unwrap_or(item.category);
    let priority = priority.unwrap_or(item.priority);
    let policy = store::sla::applicable(&mut tx, category, priority).await?;
    let before = item.clone();
    let actor = Actor::Staff(who.subject.clone());
    let effects = item.reclassify(&actor, category, priority, &policy, &comment, now)?;
    let detail = json!({
        "category": category.as_str(),
        "priority": priority.as_str(),
        "comment": comment,
    });
    let change = Change {
        before,
        effects,
        action: "feedback.update",
        detail,
    };
    svc.commit(tx, who, &mut item, change).await?;
    Ok(convert::item(&item, now))
}

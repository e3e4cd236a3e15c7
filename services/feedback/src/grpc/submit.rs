//! SubmitFeedback: validate, route (the department given, else the
//! directory's FindResponsible on subject and body, else the triage queue),
//! and write the item with its deadlines in one transaction. An anonymous
//! item is written without its submitter, with the hash of a fresh
//! follow-up code, and audited as "anonymous".

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, remember, replay};
use concord_kit::ids::new_id;
use concord_kit::{Error, audit, invalid};
use concord_proto::feedback::v1 as pb;
use serde_json::json;

use super::{ANONYMOUS, Feedback, convert, nobody, resource};
use crate::domain::effects::due;
use crate::domain::{Author, EntryKind, Item, NewEntry, NewItem, Routing, Timer, code};
use crate::metrics;
use crate::store::{self, entry};

/// How long a retried anonymous submission is recognised.
const ANONYMOUS_RETRY_MS: i64 = 24 * 3_600_000;

/// Where the item goes, and the note the timeline keeps about it.
struct Route {
    routing: Routing,
    note: String,
    /// The directory could not be asked: try again from a due row.
    retry: bool,
}

async fn route(svc: &Feedback, new: &mut NewItem) -> Result<Route, Error> {
    if let Some(d) = &new.department_id {
        if !svc.org.department_exists(d).await? {
            return Err(invalid("department_id", "names no department"));
        }
        return Ok(Route {
            routing: Routing::Submitter,
            note: format!("提交人指定部门 (routed by the submitter) {d}"),
            retry: false,
        });
    }
    match svc
        .org
        .find_responsible(&format!("{}\n{}", new.subject, new.body))
        .await
    {
        Ok(Some(r)) => {
            let note = format!(
                "按职责分派 (routed by duties) {}: {} ({:.2})",
                r.department_id, r.duty, r.score
            );
            new.department_id = Some(r.department_id);
            Ok(Route {
                routing: Routing::Duties,
                note,
                retry: false,
            })
        }
        Ok(None) => Ok(Route {
            routing: Routing::Triage,
            note: "未匹配到负责部门，等待分诊 (no duty matched; waiting for triage)".into(),
            retry: false,
        }),
        Err(Error::Unavailable(why)) => {
            tracing::warn!(cause = %why, "directory unavailable; the item waits in triage and routing is retried");
            Ok(Route {
                routing: Routing::Triage,
                note: "目录服务不可用，稍后重新分派 (directory unavailable; routing retried)"
                    .into(),
                retry: true,
            })
        }
        Err(e) => Err(e),
    }
}

pub async fn submit(
    svc: &Feedback,
    who: &Principal,
    req: &pb::SubmitFeedbackRequest,
) -> Result<pb::SubmitFeedbackResponse, Error> {
    let mut new = NewItem::try_from(req)?;
    let route = route(svc, &mut new).await?;
    if new.anonymous {
        anonymous(svc, who, req, new, route).await
    } else {
        named(svc, who, req, new, route).await
    }
}

/// The item and its first effects, the routing note added.
fn build(
    new: NewItem,
    submitter: Option<String>,
    route: &Route,
    policy: &crate::domain::SlaPolicy,
    now: i64,
) -> (Item, crate::domain::Effects) {
    let (mut item, mut fx) = Item::submit(new_id(), new, submitter, route.routing, policy, now);
    fx.entries.push(NewEntry {
        kind: EntryKind::Routing,
        public: false,
        author: Author::System,
        author_id: None,
        text: route.note.clone(),
        status: None,
    });
    if route.retry {
        fx.timers.push(Timer::Schedule {
            kind: due::ROUTE,
            due_ms: now,
            payload: String::new(),
        });
    }
    item.entries = i64::try_from(fx.entries.len()).unwrap_or(0);
    (item, fx)
}

async fn named(
    svc: &Feedback,
    who: &Principal,
    req: &pb::SubmitFeedbackRequest,
    new: NewItem,
    route: Route,
) -> Result<pb::SubmitFeedbackResponse, Error> {
    let key = Key::new("SubmitFeedback", &who.subject, &req.request_id);
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    if let Some(done) = replay::<pb::SubmitFeedbackResponse>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let policy = store::sla::applicable(&mut tx, new.category, new.priority).await?;
    let (item, fx) = build(new, Some(who.subject.clone()), &route, &policy, now);
    store::item::insert(&mut tx, &item, None).await?;
    entry::insert(&mut tx, &item.id, 1, &fx.entries, now).await?;
    store::apply_timers(&mut tx, &item.id, &fx.timers).await?;
    audit::record(
        &mut tx,
        now,
        who,
        "feedback.submit",
        &resource(&item.id),
        detail(&item),
    )
    .await?;
    let out = pb::SubmitFeedbackResponse {
        item: Some(convert::item(&item, now)),
        follow_up_code: String::new(),
    };
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    submitted(svc, &item);
    Ok(out)
}

async fn anonymous(
    svc: &Feedback,
    who: &Principal,
    req: &pb::SubmitFeedbackRequest,
    new: NewItem,
    route: Route,
) -> Result<pb::SubmitFeedbackResponse, Error> {
    let anonymous = nobody(ANONYMOUS);
    let follow_up_code = code::generate();
    let code_hash =
        code::hash(&code::normalize(&follow_up_code).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("a generated code does not read back"))
        })?);
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    let policy = store::sla::applicable(&mut tx, new.category, new.priority).await?;
    let (item, fx) = build(new, None, &route, &policy, now);
    if !req.request_id.is_empty() {
        let key = code::request_key(&who.subject, &req.request_id);
        let earlier =
            store::claim_anonymous_request(&mut tx, &key, &item.id, now, now - ANONYMOUS_RETRY_MS)
                .await?;
        if let Some(id) = earlier {
            // The first response (and its code) never reached the submitter:
            // the same item, with a new code replacing the unseen one.
            let first = store::item::get(&mut tx, &id, svc.db.for_update())
                .await?
                .ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!("a remembered submission has no item"))
                })?;
            store::item::set_code_hash(&mut tx, &id, &code_hash).await?;
            audit::record(
                &mut tx,
                now,
                &anonymous,
                "feedback.renew_code",
                &resource(&id),
                json!({}),
            )
            .await?;
            tx.commit().await?;
            return Ok(pb::SubmitFeedbackResponse {
                item: Some(convert::item(&first, now)),
                follow_up_code,
            });
        }
    }
    store::item::insert(&mut tx, &item, Some(&code_hash)).await?;
    entry::insert(&mut tx, &item.id, 1, &fx.entries, now).await?;
    store::apply_timers(&mut tx, &item.id, &fx.timers).await?;
    audit::record(
        &mut tx,
        now,
        &anonymous,
        "feedback.submit",
        &resource(&item.id),
        detail(&item),
    )
    .await?;
    tx.commit().await?;
    submitted(svc, &item);
    Ok(pb::SubmitFeedbackResponse {
        item: Some(convert::item(&item, now)),
        follow_up_code,
    })
}

fn detail(item: &Item) -> serde_json::Value {
    json!({
        "channel": item.channel.as_str(),
        "category": item.category.as_str(),
        "priority": item.priority.as_str(),
        "department_id": item.department_id,
        "routing": item.routing.as_str(),
        "anonymous": item.anonymous,
    })
}

fn submitted(svc: &Feedback, item: &Item) {
    tracing::Span::current().record("item_id", item.id.as_str());
    tracing::info!(
        item_id = %item.id,
        department_id = item.department_id.as_deref().unwrap_or(""),
        routing = item.routing.as_str(),
        by = if item.anonymous { ANONYMOUS } else { "named" },
        "feedback submitted"
    );
    metrics::submitted(item.department_id.as_deref(), item.channel, item.category);
    svc.gauges.nudge();
}

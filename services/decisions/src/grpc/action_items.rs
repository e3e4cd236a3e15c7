//! Action items: create, read, list, change, and progress with status.
//! The due time is a due row: when it passes before the item is done, the
//! service flags the item overdue by itself.

use concord_kit::auth::Principal;
use concord_kit::directory::Person;
use concord_kit::idempotency::{Key, remember, replay};
use concord_kit::ids::{check_id, check_text, new_id};
use concord_kit::page::{Page, cursor, render_cursor};
use concord_kit::{Error, Violations, audit, due, fields, invalid};
use concord_proto::decisions::v1 as pb;
use serde_json::json;

use super::{convert, requests};
use crate::deadlines::ITEM_DUE;
use crate::domain::access::{
    may_assign, may_create_item, may_note, may_set_status, may_update_item,
};
use crate::domain::{ActionItem, ActionItemField, ActionStatus, REASON_MAX, Stage};
use crate::service::{Decisions, item_resource, proposal_resource};
use crate::store;
use crate::store::KeyCursor;
use crate::store::action_item::{Filter, Note};

const KIND: &str = "action item";

/// The owner named in `field`, who must be an active person.
async fn owner(s: &Decisions, field: &str, id: &str) -> Result<Person, Error> {
    s.directory
        .person(id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| invalid(field, "names no active person"))
}

fn department_fields(
    prefix: &str,
    lead: Option<&str>,
    supporting: Option<&[String]>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(lead) = lead {
        out.push((format!("{prefix}lead_department_id"), lead.to_string()));
    }
    for (i, d) in supporting.unwrap_or_default().iter().enumerate() {
        out.push((format!("{prefix}supporting_department_ids[{i}]"), d.clone()));
    }
    out
}

pub async fn create(
    s: &Decisions,
    who: &Principal,
    req: &pb::CreateActionItemRequest,
) -> Result<pb::ActionItem, Error> {
    let now = s.now();
    let new = requests::new_action_item(req, now)?;
    may_create_item(who, &new)?;
    let fields = department_fields(
        "",
        Some(&new.lead_department_id),
        Some(&new.supporting_department_ids),
    );
    s.directory.check_departments(&fields).await?;
    let person = owner(s, "owner_id", &new.owner_id).await?;
    may_assign(who, &new.lead_department_id, &person.department_id)?;
    let key = Key::new("CreateActionItem", &who.subject, &req.request_id);
    let mut tx = s.db.begin().await?;
    if let Some(done) = replay::<pb::ActionItem>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    if let Some(pid) = &new.proposal_id {
        let p = store::proposal::get(&mut tx, pid, "")
            .await?
            .ok_or_else(|| invalid("proposal_id", "names no proposal"))?;
        if !matches!(p.stage, Stage::Decided | Stage::Implementing) {
            return Err(Error::precondition(format!(
                "action items follow a decided proposal; this one is in stage {}",
                p.stage.as_str()
            )));
        }
    }
    let item = ActionItem {
        id: new_id(),
        title: new.title,
        description: new.description,
        proposal_id: new.proposal_id,
        lead_department_id: new.lead_department_id,
        supporting_department_ids: new.supporting_department_ids,
        owner_id: new.owner_id,
        due_ms: new.due_ms,
        status: ActionStatus::Open,
        overdue: false,
        done_ms: None,
        created_by: who.subject.clone(),
        version: 1,
        created_ms: now,
        updated_ms: now,
    };
    store::action_item::insert(&mut tx, &item).await?;
    due::schedule(&mut tx, ITEM_DUE, &item.id, item.due_ms, "").await?;
    let detail = json!({
        "action_item_id": item.id,
        "title": item.title,
        "proposal_id": item.proposal_id,
        "lead_department_id": item.lead_department_id,
        "supporting_department_ids": item.supporting_department_ids,
        "owner_id": item.owner_id,
        "due_ms": item.due_ms,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "action_item.create",
        &item_resource(&item.id),
        detail.clone(),
    )
    .await?;
    if let Some(pid) = &item.proposal_id {
        audit::record(
            &mut tx,
            now,
            who,
            "action_item.create",
            &proposal_resource(pid),
            detail,
        )
        .await?;
    }
    let out = convert::action_item(&item, now);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    s.refresh_gauges().await;
    Ok(out)
}

pub async fn get(s: &Decisions, req: &pb::GetActionItemRequest) -> Result<pb::ActionItem, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    let item = store::action_item::get(&mut *s.conn().await?, &req.id, "")
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.id))?;
    Ok(convert::action_item(&item, s.now()))
}

pub async fn list(
    s: &Decisions,
    req: &pb::ListActionItemsRequest,
) -> Result<pb::ListActionItemsResponse, Error> {
    let mut v = Violations::new();
    let department = fields::opt_id(&mut v, "department_id", &req.department_id);
    let owner = fields::opt_id(&mut v, "owner_id", &req.owner_id);
    let proposal = fields::opt_id(&mut v, "proposal_id", &req.proposal_id);
    let status = convert::status_from(req.status);
    if req.status != 0 && status.is_none() {
        v.add("status", "is not a known status");
    }
    v.check(
        req.include_supporting && department.is_none(),
        "include_supporting",
        "needs department_id",
    );
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let now = s.now();
    let filter_text = format!(
        "items|{}|{}|{}|{}|{}|{}",
        req.department_id,
        req.include_supporting,
        req.owner_id,
        req.status,
        req.overdue_only,
        req.proposal_id
    );
    let page = Page::parse(req.page_size, &req.page_token, &filter_text)?;
    let after = cursor::<KeyCursor>(page.after.as_deref())?;
    let f = Filter {
        department_id: department.as_deref(),
        include_supporting: req.include_supporting,
        owner_id: owner.as_deref(),
        status,
        overdue_at: req.overdue_only.then_some(now),
        proposal_id: proposal.as_deref(),
    };
    let rows = store::action_item::list(
        &mut *s.conn().await?,
        &f,
        after.as_ref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |a| render_cursor(&(a.due_ms, &a.id)));
    Ok(pb::ListActionItemsResponse {
        action_items: rows.iter().map(|a| convert::action_item(a, now)).collect(),
        next_page_token,
    })
}

pub async fn update(
    s: &Decisions,
    who: &Principal,
    req: &pb::UpdateActionItemRequest,
) -> Result<pb::ActionItem, Error> {
    let now = s.now();
    let change = requests::action_item_change(req, now)?;
    let lead = change
        .touches(ActionItemField::LeadDepartment)
        .then_some(change.new.lead_department_id.as_str());
    let supporting = change
        .touches(ActionItemField::SupportingDepartments)
        .then_some(change.new.supporting_department_ids.as_slice());
    s.directory
        .check_departments(&department_fields("action_item.", lead, supporting))
        .await?;
    let person = match change.touches(ActionItemField::Owner) {
        true => Some(owner(s, "action_item.owner_id", &change.new.owner_id).await?),
        false => None,
    };
    let mut tx = s.db.begin().await?;
    let before = store::action_item::get(&mut tx, &change.id, s.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found(KIND, &change.id))?;
    fields::check_etag(KIND, change.expected_version, before.version)?;
    let mut item = before.clone();
    item.apply(&change, now);
    may_update_item(who, &before, &change, &item.values())?;
    if let Some(person) = &person {
        may_assign(who, &item.lead_department_id, &person.department_id)?;
    }
    if item
        .supporting_department_ids
        .contains(&item.lead_department_id)
    {
        return Err(invalid(
            "action_item.supporting_department_ids",
            "includes the lead department",
        ));
    }
    item.version += 1;
    item.updated_ms = now;
    let support = change.touches(ActionItemField::SupportingDepartments);
    if !store::action_item::update(&mut tx, &item, before.version, support).await? {
        return Err(Error::stale_etag(KIND));
    }
    if change.touches(ActionItemField::Due) && item.status != ActionStatus::Done {
        due::schedule(&mut tx, ITEM_DUE, &item.id, item.due_ms, "").await?;
    }
    let fields: Vec<&str> = change.fields.iter().map(|f| f.path()).collect();
    let detail = json!({
        "fields": fields,
        "title": item.title,
        "lead_department_id": item.lead_department_id,
        "supporting_department_ids": item.supporting_department_ids,
        "owner_id": item.owner_id,
        "due_ms": item.due_ms,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "action_item.update",
        &item_resource(&item.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    s.refresh_gauges().await;
    Ok(convert::action_item(&item, now))
}

pub async fn report(
    s: &Decisions,
    who: &Principal,
    req: &pb::ReportProgressRequest,
) -> Result<pb::ReportProgressResponse, Error> {
    let mut v = Violations::new();
    concord_kit::idempotency::check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "action_item_id", &req.action_item_id);
    let text = req.text.trim();
    check_text(&mut v, "text", text, REASON_MAX);
    let status = convert::status_from(req.status);
    if req.status != 0 && status.is_none() {
        v.add("status", "is not a known status");
    }
    v.into_result()?;
    let now = s.now();
    let key = Key::new("ReportProgress", &who.subject, &req.request_id);
    let mut tx = s.db.begin().await?;
    if let Some(done) = replay::<pb::ReportProgressResponse>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let mut item = store::action_item::get(&mut tx, &req.action_item_id, s.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.action_item_id))?;
    if !may_note(who, &item) {
        return Err(Error::denied(
            "progress is reported by the owner, the heads of the departments involved, coordinators and admins",
        ));
    }
    let from = item.status;
    let mut completed = None;
    if let Some(to) = status.filter(|to| *to != item.status) {
        if !may_set_status(who, &item) {
            return Err(Error::denied(
                "the status is set by the owner, the lead department's head, coordinators and admins",
            ));
        }
        let read = item.version;
        item.set_status(to, now);
        item.version += 1;
        item.updated_ms = now;
        if !store::action_item::update(&mut tx, &item, read, false).await? {
            return Err(Error::stale_etag(KIND));
        }
        if to == ActionStatus::Done {
            due::cancel(&mut tx, ITEM_DUE, &item.id).await?;
            completed = Some(item.done_on_time());
        } else if from == ActionStatus::Done && item.due_ms > now {
            due::schedule(&mut tx, ITEM_DUE, &item.id, item.due_ms, "").await?;
        }
    }
    let note = Note {
        id: new_id(),
        action_item_id: item.id.clone(),
        author_id: who.subject.clone(),
        text: text.to_string(),
        status: status.filter(|to| *to != from),
        created_ms: now,
    };
    store::action_item::insert_note(&mut tx, &note).await?;
    let detail = json!({
        "note_id": note.id,
        "text": note.text,
        "from_status": from.as_str(),
        "status": item.status.as_str(),
        "done_on_time": completed,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "action_item.progress",
        &item_resource(&item.id),
        detail,
    )
    .await?;
    let out = pb::ReportProgressResponse {
        note: Some(convert::note(&note)),
        action_item: Some(convert::action_item(&item, now)),
    };
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    if let Some(on_time) = completed {
        crate::metrics::completed(&item.lead_department_id, on_time);
    }
    s.refresh_gauges().await;
    Ok(out)
}

pub async fn notes(
    s: &Decisions,
    req: &pb::ListProgressNotesRequest,
) -> Result<pb::ListProgressNotesResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "action_item_id", &req.action_item_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("notes|{}", req.action_item_id),
    )?;
    let mut conn = s.conn().await?;
    store::action_item::get(&mut conn, &req.action_item_id, "")
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.action_item_id))?;
    let rows = store::action_item::notes(
        &mut conn,
        &req.action_item_id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |n| n.id.clone());
    Ok(pb::ListProgressNotesResponse {
        notes: rows.iter().map(convert::note).collect(),
        next_page_token,
    })
}

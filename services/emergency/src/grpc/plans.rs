//! Contingency plans: create, read, list, edit (a new version each time) and
//! archive.

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, fields};
use concord_proto::emergency::v1 as pb;
use serde_json::json;

use super::convert::{self, PlanChange};
use super::render;
use super::{Emergency, resource};
use crate::domain::access::may_manage_plan;
use crate::domain::{Plan, PlanContent, PlanField};
use crate::store::plan as db;

const KIND: &str = "plan";

/// Checks that every department and person the plan names exists, naming
/// the field of each that does not.
async fn check_references(
    e: &Emergency,
    c: &PlanContent,
    fields: &[PlanField],
) -> Result<(), Error> {
    let (departments, people) = convert::plan_references(c, fields);
    let mut v = Violations::new();
    let mut known: Vec<(String, bool)> = Vec::new();
    for (field, id) in departments {
        let exists = match known.iter().find(|(k, _)| *k == id) {
            Some((_, e)) => *e,
            None => {
                let exists = e.directory.department_exists(&id).await?;
                known.push((id.clone(), exists));
                exists
            }
        };
        if !exists {
            v.add(field, "names no department");
        }
    }
    for (field, id) in people {
        if e.directory.person(&id).await?.is_none() {
            v.add(field, "names no person");
        }
    }
    v.into_result()
}

pub async fn create(
    e: &Emergency,
    who: &Principal,
    req: &pb::CreatePlanRequest,
) -> Result<pb::Plan, Error> {
    let content = PlanContent::try_from(req)?;
    may_manage_plan(who, &content.owner_department_id)?;
    check_references(e, &content, &PlanField::ALL).await?;
    let key = Key::new("CreatePlan", &who.subject, &req.request_id);
    let now = e.now();
    let mut tx = e.db.begin().await?;
    if let Some(done) = replay::<pb::Plan>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let plan = Plan {
        id: new_id(),
        version: 1,
        current_version: 1,
        archived: false,
        created_ms: now,
        updated_ms: now,
        updated_by: who.subject.clone(),
        content,
    };
    db::insert(&mut tx, &plan).await?;
    let detail = json!({ "title": plan.content.title, "owner_department_id": plan.content.owner_department_id, "version": 1 });
    audit::record(
        &mut tx,
        now,
        who,
        "plan.create",
        &resource("plans", &plan.id),
        detail,
    )
    .await?;
    let out = render::plan(&plan);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn get(e: &Emergency, req: &pb::GetPlanRequest) -> Result<pb::Plan, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.check(req.version < 0, "version", "must not be negative");
    v.into_result()?;
    let version = (req.version > 0).then_some(req.version);
    let plan = db::get(&mut *e.conn().await?, &req.id, version).await?;
    match plan {
        Some(p) => Ok(render::plan(&p)),
        None if version.is_some() => Err(Error::not_found(
            "plan version",
            format!("{}@{}", req.id, req.version),
        )),
        None => Err(Error::not_found(KIND, &req.id)),
    }
}

pub async fn list(
    e: &Emergency,
    req: &pb::ListPlansRequest,
) -> Result<pb::ListPlansResponse, Error> {
    let mut v = Violations::new();
    let incident_type = convert::incident_type(&mut v, "incident_type", req.incident_type, false);
    let owner = fields::opt_id(&mut v, "owner_department_id", &req.owner_department_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let filter = format!(
        "plans|{}|{}|{}",
        req.incident_type, req.owner_department_id, req.include_archived
    );
    let page = Page::parse(req.page_size, &req.page_token, &filter)?;
    let f = db::Filter {
        incident_type,
        owner_department_id: owner,
        include_archived: req.include_archived,
    };
    let rows = db::list(
        &mut *e.conn().await?,
        &f,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |p| p.id.clone());
    Ok(pb::ListPlansResponse {
        plans: rows.iter().map(render::plan).collect(),
        next_page_token,
    })
}

pub async fn update(
    e: &Emergency,
    who: &Principal,
    req: &pb::UpdatePlanRequest,
) -> Result<pb::Plan, Error> {
    let change = PlanChange::try_from(req)?;
    let current = db::get(&mut *e.conn().await?, &change.id, None)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &change.id))?;
    // Both the owner before and, when it changes, the owner after.
    may_manage_plan(who, &current.content.owner_department_id)?;
    if change.fields.contains(&PlanField::OwnerDepartmentId) {
        may_manage_plan(who, &change.content.owner_department_id)?;
    }
    check_references(e, &change.content, &change.fields).await?;

    let now = e.now();
    let mut tx = e.db.begin().await?;
    let mut plan = db::get(&mut tx, &change.id, None)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &change.id))?;
    fields::check_etag(KIND, change.expected_version, plan.current_version)?;
    if plan.archived {
        return Err(Error::precondition(
            "the plan is archived; archived plans are not edited",
        ));
    }
    if plan.content.owner_department_id != current.content.owner_department_id {
        return Err(Error::Aborted(
            "the plan's owner changed meanwhile; read it again".into(),
        ));
    }
    let read = plan.current_version;
    plan.content.apply(&change.fields, change.content);
    plan.version = read + 1;
    plan.current_version = read + 1;
    plan.updated_ms = now;
    plan.updated_by = who.subject.clone();
    if !db::add_version(&mut tx, &plan, read).await? {
        return Err(Error::stale_etag(KIND));
    }
    let fields: Vec<&str> = change.fields.iter().map(|f| f.path()).collect();
    let detail = json!({ "fields": fields, "version": plan.version });
    audit::record(
        &mut tx,
        now,
        who,
        "plan.update",
        &resource("plans", &plan.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(render::plan(&plan))
}

pub async fn archive(
    e: &Emergency,
    who: &Principal,
    req: &pb::ArchivePlanRequest,
) -> Result<pb::Plan, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let now = e.now();
    let mut tx = e.db.begin().await?;
    let mut plan = db::get(&mut tx, &req.id, None)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.id))?;
    may_manage_plan(who, &plan.content.owner_department_id)?;
    fields::check_etag(KIND, expected, plan.current_version)?;
    if plan.archived {
        return Ok(render::plan(&plan));
    }
    if !db::archive(&mut tx, &plan.id, plan.current_version, now).await? {
        return Err(Error::stale_etag(KIND));
    }
    plan.archived = true;
    audit::record(
        &mut tx,
        now,
        who,
        "plan.archive",
        &resource("plans", &plan.id),
        json!({ "version": plan.version }),
    )
    .await?;
    tx.commit().await?;
    Ok(render::plan(&plan))
}

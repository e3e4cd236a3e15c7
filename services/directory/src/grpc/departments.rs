//! Departments: create, read, list, rename, move and delete.

use concord_kit::auth::Principal;
use concord_kit::fields;
use concord_kit::idempotency::{Key, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::{Page, cursor, render_cursor};
use concord_kit::{Error, Violations, audit};
use concord_proto::directory::v1 as pb;
use serde_json::json;

use super::{Directory, convert, ensure_department, resource};
use crate::domain::access::may_change_structure;
use crate::domain::department::{delete_refusal, move_refusal};
use crate::domain::{Department, DepartmentChange, NewDepartment, sort_key};
use crate::store::department::{self as db, Scope};
use crate::store::{self, NameCursor};

const KIND: &str = "department";
const SIBLING_TAKEN: &str = "a department with this name already exists under the same parent";

fn stale() -> Error {
    Error::stale_etag(KIND)
}

pub async fn create(
    dir: &Directory,
    who: &Principal,
    req: &pb::CreateDepartmentRequest,
) -> Result<pb::Department, Error> {
    may_change_structure(who)?;
    let new = NewDepartment::try_from(req)?;
    let key = Key::new("CreateDepartment", &who.subject, &req.request_id);
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    if let Some(done) = replay::<pb::Department>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    store::lock_tree(&mut tx).await?;
    if let Some(parent) = &new.parent_id {
        ensure_department(&mut tx, "parent_id", parent).await?;
    }
    if db::sibling_has_name(&mut tx, new.parent_id.as_deref(), &new.name, "").await? {
        return Err(Error::AlreadyExists(SIBLING_TAKEN.into()));
    }
    let d = Department {
        id: new_id(),
        parent_id: new.parent_id,
        name: new.name,
        description: new.description,
        version: 1,
        created_ms: now,
        updated_ms: now,
    };
    db::insert(&mut tx, &d).await?;
    let detail = json!({ "name": d.name, "parent_id": d.parent_id, "description": d.description });
    audit::record(
        &mut tx,
        now,
        who,
        "department.create",
        &resource("departments", &d.id),
        detail,
    )
    .await?;
    let out = convert::department(&d);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    crate::metrics::departments_changed();
    Ok(out)
}

pub async fn get(dir: &Directory, req: &pb::GetDepartmentRequest) -> Result<pb::Department, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    let d = db::get(&mut *dir.conn().await?, &req.id).await?;
    d.map(|d| convert::department(&d))
        .ok_or_else(|| Error::not_found(KIND, &req.id))
}

pub async fn list(
    dir: &Directory,
    req: &pb::ListDepartmentsRequest,
) -> Result<pb::ListDepartmentsResponse, Error> {
    let mut v = Violations::new();
    let parent = fields::opt_id(&mut v, "parent_id", &req.parent_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("departments|{}|{}", req.parent_id, req.subtree),
    )?;
    let after = cursor::<NameCursor>(page.after.as_deref())?;
    let mut conn = dir.conn().await?;
    if let Some(p) = &parent {
        ensure_department(&mut conn, "parent_id", p).await?;
    }
    let scope = match (parent.as_deref(), req.subtree) {
        (None, false) => Scope::Children(None),
        (None, true) => Scope::All,
        (Some(p), false) => Scope::Children(Some(p)),
        (Some(p), true) => Scope::Below(p),
    };
    let rows = db::list(&mut conn, scope, after.as_ref(), page.fetch_limit()).await?;
    let (rows, next_page_token) = page.finish(rows, |d| render_cursor(&(sort_key(&d.name), &d.id)));
    Ok(pb::ListDepartmentsResponse {
        departments: rows.iter().map(convert::department).collect(),
        next_page_token,
    })
}

pub async fn update(
    dir: &Directory,
    who: &Principal,
    req: &pb::UpdateDepartmentRequest,
) -> Result<pb::Department, Error> {
    may_change_structure(who)?;
    let change = DepartmentChange::try_from(req)?;
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    let mut d = db::get(&mut tx, &change.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &change.id))?;
    fields::check_etag(KIND, change.expected_version, d.version)?;
    let read = d.version;
    let renamed = d.apply(&change);
    if renamed && db::sibling_has_name(&mut tx, d.parent_id.as_deref(), &d.name, &d.id).await? {
        return Err(Error::AlreadyExists(SIBLING_TAKEN.into()));
    }
    d.version += 1;
    d.updated_ms = now;
    if !db::update(&mut tx, &d, read).await? {
        return Err(stale());
    }
    let fields: Vec<&str> = change.fields.iter().map(|f| f.path()).collect();
    let detail = json!({ "fields": fields, "name": d.name, "description": d.description });
    audit::record(
        &mut tx,
        now,
        who,
        "department.update",
        &resource("departments", &d.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    crate::metrics::departments_changed();
    Ok(convert::department(&d))
}

/// MoveDepartment (`move` is a keyword).
pub async fn relocate(
    dir: &Directory,
    who: &Principal,
    req: &pb::MoveDepartmentRequest,
) -> Result<pb::Department, Error> {
    may_change_structure(who)?;
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let new_parent = fields::opt_id(&mut v, "new_parent_id", &req.new_parent_id);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    store::lock_tree(&mut tx).await?;
    let mut d = db::get(&mut tx, &req.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.id))?;
    fields::check_etag(KIND, expected, d.version)?;
    let mut inside = false;
    if let Some(p) = &new_parent {
        ensure_department(&mut tx, "new_parent_id", p).await?;
        inside = db::within(&mut tx, &d.id, p).await?;
    }
    if let Some(why) = move_refusal(&d.id, new_parent.as_deref(), inside) {
        return Err(Error::precondition(why));
    }
    if d.parent_id == new_parent {
        return Ok(convert::department(&d));
    }
    if db::sibling_has_name(&mut tx, new_parent.as_deref(), &d.name, &d.id).await? {
        return Err(Error::AlreadyExists(SIBLING_TAKEN.into()));
    }
    let from = std::mem::replace(&mut d.parent_id, new_parent);
    let read = d.version;
    d.version += 1;
    d.updated_ms = now;
    if !db::update(&mut tx, &d, read).await? {
        return Err(stale());
    }
    let detail = json!({ "from_parent_id": from, "to_parent_id": d.parent_id });
    audit::record(
        &mut tx,
        now,
        who,
        "department.move",
        &resource("departments", &d.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    crate::metrics::departments_changed();
    Ok(convert::department(&d))
}

pub async fn delete(
    dir: &Directory,
    who: &Principal,
    req: &pb::DeleteDepartmentRequest,
) -> Result<(), Error> {
    may_change_structure(who)?;
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    store::lock_tree(&mut tx).await?;
    let d = db::get(&mut tx, &req.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.id))?;
    fields::check_etag(KIND, expected, d.version)?;
    let (children, people) = db::occupancy(&mut tx, &d.id).await?;
    if let Some(why) = delete_refusal(children, people) {
        return Err(Error::precondition(why));
    }
    let duties = db::delete(&mut tx, &d.id, d.version)
        .await?
        .ok_or_else(stale)?;
    let detail = json!({ "name": d.name, "parent_id": d.parent_id, "duties_removed": duties });
    audit::record(
        &mut tx,
        now,
        who,
        "department.delete",
        &resource("departments", &d.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    crate::metrics::departments_changed();
    Ok(())
}

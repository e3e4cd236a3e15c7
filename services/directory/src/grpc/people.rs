//! People: create, read, list, update and deactivate.

use concord_kit::auth::Principal;
use concord_kit::fields;
use concord_kit::idempotency::{Key, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::{Page, cursor, render_cursor};
use concord_kit::{Error, Violations, audit};
use concord_proto::directory::v1 as pb;
use serde_json::json;

use super::{Directory, convert, ensure_department, ensure_reaches, resource};
use crate::domain::access::{may_change_roles, may_grant, may_touch};
use crate::domain::{NewPerson, Person, PersonChange, PersonField, sort_key};
use crate::store::NameCursor;
use crate::store::person::{self as db, Filter};

const KIND: &str = "person";
const EMAIL_TAKEN: &str = "another person already has this e-mail address";

fn stale() -> Error {
    Error::stale_etag(KIND)
}

pub async fn create(
    dir: &Directory,
    who: &Principal,
    req: &pb::CreatePersonRequest,
) -> Result<pb::Person, Error> {
    let new = NewPerson::try_from(req)?;
    let key = Key::new("CreatePerson", &who.subject, &req.request_id);
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    if let Some(done) = replay::<pb::Person>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    ensure_department(&mut tx, "department_id", &new.department_id).await?;
    ensure_reaches(&mut tx, who, &new.department_id).await?;
    may_grant(who, &new.roles)?;
    if db::email_taken(&mut tx, &new.email, "").await? {
        return Err(Error::AlreadyExists(EMAIL_TAKEN.into()));
    }
    let p = Person {
        id: new_id(),
        department_id: new.department_id,
        display_name: new.display_name,
        email: new.email,
        phone: new.phone,
        title: new.title,
        roles: new.roles,
        active: true,
        version: 1,
        created_ms: now,
        updated_ms: now,
    };
    db::insert(&mut tx, &p).await?;
    let detail = json!({
        "display_name": p.display_name,
        "department_id": p.department_id,
        "roles": p.roles.to_text(),
    });
    audit::record(
        &mut tx,
        now,
        who,
        "person.create",
        &resource("people", &p.id),
        detail,
    )
    .await?;
    let out = convert::person(&p);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn get(dir: &Directory, req: &pb::GetPersonRequest) -> Result<pb::Person, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    let p = db::get(&mut *dir.conn().await?, &req.id).await?;
    p.map(|p| convert::person(&p))
        .ok_or_else(|| Error::not_found(KIND, &req.id))
}

pub async fn list(
    dir: &Directory,
    req: &pb::ListPeopleRequest,
) -> Result<pb::ListPeopleResponse, Error> {
    let mut v = Violations::new();
    let department = fields::opt_id(&mut v, "department_id", &req.department_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let filter_text = format!(
        "people|{}|{}|{}",
        req.department_id, req.include_sub_departments, req.include_inactive
    );
    let page = Page::parse(req.page_size, &req.page_token, &filter_text)?;
    let after = cursor::<NameCursor>(page.after.as_deref())?;
    let mut conn = dir.conn().await?;
    if let Some(d) = &department {
        ensure_department(&mut conn, "department_id", d).await?;
    }
    let filter = Filter {
        department_id: department.as_deref(),
        include_sub_departments: req.include_sub_departments,
        include_inactive: req.include_inactive,
    };
    let rows = db::list(&mut conn, filter, after.as_ref(), page.fetch_limit()).await?;
    let (rows, next_page_token) =
        page.finish(rows, |p| render_cursor(&(sort_key(&p.display_name), &p.id)));
    Ok(pb::ListPeopleResponse {
        people: rows.iter().map(convert::person).collect(),
        next_page_token,
    })
}

pub async fn update(
    dir: &Directory,
    who: &Principal,
    req: &pb::UpdatePersonRequest,
) -> Result<pb::Person, Error> {
    let change = PersonChange::try_from(req)?;
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    let mut p = db::get(&mut tx, &change.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &change.id))?;
    fields::check_etag(KIND, change.expected_version, p.version)?;
    ensure_reaches(&mut tx, who, &p.department_id).await?;
    may_touch(who, &p)?;
    let new = &change.new;
    if change.touches(PersonField::DepartmentId) && new.department_id != p.department_id {
        ensure_department(&mut tx, "person.department_id", &new.department_id).await?;
        ensure_reaches(&mut tx, who, &new.department_id).await?;
    }
    if change.touches(PersonField::Roles) {
        may_change_roles(who, &p.roles, &new.roles)?;
    }
    if change.touches(PersonField::Email) && db::email_taken(&mut tx, &new.email, &p.id).await? {
        return Err(Error::AlreadyExists(EMAIL_TAKEN.into()));
    }
    let read = p.version;
    let before_department = p.department_id.clone();
    p.apply(&change);
    p.version += 1;
    p.updated_ms = now;
    if !db::update(&mut tx, &p, read).await? {
        return Err(stale());
    }
    let fields: Vec<&str> = change.fields.iter().map(|f| f.path()).collect();
    let detail = json!({
        "fields": fields,
        "display_name": p.display_name,
        "department_id": p.department_id,
        "from_department_id": before_department,
        "roles": p.roles.to_text(),
    });
    audit::record(
        &mut tx,
        now,
        who,
        "person.update",
        &resource("people", &p.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::person(&p))
}

pub async fn deactivate(
    dir: &Directory,
    who: &Principal,
    req: &pb::DeactivatePersonRequest,
) -> Result<pb::Person, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    let mut p = db::get(&mut tx, &req.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.id))?;
    fields::check_etag(KIND, expected, p.version)?;
    ensure_reaches(&mut tx, who, &p.department_id).await?;
    may_touch(who, &p)?;
    if !p.active {
        return Ok(convert::person(&p));
    }
    let read = p.version;
    p.active = false;
    p.version += 1;
    p.updated_ms = now;
    if !db::update(&mut tx, &p, read).await? {
        return Err(stale());
    }
    let detail = json!({ "display_name": p.display_name, "department_id": p.department_id });
    audit::record(
        &mut tx,
        now,
        who,
        "person.deactivate",
        &resource("people", &p.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::person(&p))
}

//! Publishing grants: a head lets a member of their subtree publish to a
//! department within it (admins anywhere).

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, fields, invalid};
use concord_proto::notices::v1 as pb;
use concord_proto::policy::v1::Role;
use serde_json::json;

use super::{Notices, convert};
use crate::core::resource;
use crate::store::grant::{self as db, Grant, Visible};

pub async fn create(
    svc: &Notices,
    who: &Principal,
    req: &pb::CreatePublishingGrantRequest,
) -> Result<pb::PublishingGrant, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "person_id", &req.person_id);
    let department = fields::opt_id(&mut v, "department_id", &req.department_id)
        .or_else(|| who.department_id.clone().filter(|_| !who.is_admin()));
    if v.is_empty() && department.is_none() {
        v.add("department_id", "is required");
    }
    v.into_result()?;
    let department = department.unwrap_or_default();

    let directory = &svc.core.directory;
    let Some(person) = directory.person(&req.person_id).await? else {
        return Err(invalid("person_id", "names no person"));
    };
    if directory.subtree(&department).await?.is_none() {
        return Err(invalid("department_id", "names no department"));
    }
    if !who.is_admin() {
        let mine = svc.core.headed(who).await?;
        if !mine.contains(&department) {
            return Err(Error::denied(
                "heads grant publishing only to departments within their own",
            ));
        }
        if !mine.contains(&person.department_id) {
            return Err(Error::denied(
                "heads grant publishing only to people of their own department or below",
            ));
        }
    }

    let now = svc.core.now();
    let key = Key::new("CreatePublishingGrant", &who.subject, &req.request_id);
    let mut tx = svc.core.db.begin().await?;
    if let Some(done) = replay::<pb::PublishingGrant>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let g = Grant {
        id: new_id(),
        person_id: req.person_id.clone(),
        department_id: department,
        granted_by: who.subject.clone(),
        created_ms: now,
    };
    if !db::insert(&mut tx, &g).await? {
        return Err(Error::AlreadyExists(
            "this person may already publish to this department".into(),
        ));
    }
    let detail = json!({ "person_id": g.person_id, "department_id": g.department_id });
    audit::record(
        &mut tx,
        now,
        who,
        "grant.create",
        &resource("grants", &g.id),
        detail,
    )
    .await?;
    let out = convert::grant(&g);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn list(
    svc: &Notices,
    who: &Principal,
    req: &pb::ListPublishingGrantsRequest,
) -> Result<pb::ListPublishingGrantsResponse, Error> {
    let mut v = Violations::new();
    let person = fields::opt_id(&mut v, "person_id", &req.person_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("grants|{}", req.person_id),
    )?;
    let subtree: Vec<String> = svc.core.headed(who).await?.into_iter().collect();
    let visible = if who.is_admin() || who.has(Role::Auditor) {
        Visible::All
    } else {
        Visible::OwnOrDepartments(&who.subject, &subtree)
    };
    let rows = db::list(
        &mut *svc.core.db.pool().acquire().await?,
        visible,
        person.as_deref(),
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |g| g.id.clone());
    Ok(pb::ListPublishingGrantsResponse {
        grants: rows.iter().map(convert::grant).collect(),
        next_page_token,
    })
}

pub async fn delete(
    svc: &Notices,
    who: &Principal,
    req: &pb::DeletePublishingGrantRequest,
) -> Result<(), Error> {
    convert::required_id("id", &req.id)?;
    let g = db::get(&mut *svc.core.db.pool().acquire().await?, &req.id)
        .await?
        .ok_or_else(|| Error::not_found("publishing grant", &req.id))?;
    if !who.is_admin() && !svc.core.headed(who).await?.contains(&g.department_id) {
        return Err(Error::denied(
            "heads revoke only grants within their own department or below",
        ));
    }
    let now = svc.core.now();
    let mut tx = svc.core.db.begin().await?;
    if !db::delete(&mut tx, &g.id).await? {
        return Err(Error::not_found("publishing grant", &g.id));
    }
    let detail = json!({ "person_id": g.person_id, "department_id": g.department_id });
    audit::record(
        &mut tx,
        now,
        who,
        "grant.delete",
        &resource("grants", &g.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

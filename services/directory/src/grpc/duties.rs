//! Duties: add, list and remove a department's written responsibilities.

use concord_kit::auth::Principal;
use concord_kit::fields;
use concord_kit::idempotency::{Key, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit};
use concord_proto::directory::v1 as pb;
use serde_json::json;

use super::{Directory, convert, ensure_department, ensure_reaches, resource};
use crate::domain::{Duty, NewDuty};
use crate::store::duty as db;

pub async fn add(
    dir: &Directory,
    who: &Principal,
    req: &pb::AddDutyRequest,
) -> Result<pb::Duty, Error> {
    let new = NewDuty::try_from(req)?;
    let key = Key::new("AddDuty", &who.subject, &req.request_id);
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    if let Some(done) = replay::<pb::Duty>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    ensure_department(&mut tx, "department_id", &new.department_id).await?;
    ensure_reaches(&mut tx, who, &new.department_id).await?;
    let d = Duty {
        id: new_id(),
        department_id: new.department_id,
        text: new.text,
        created_ms: now,
    };
    db::insert(&mut tx, &d).await?;
    let detail = json!({ "department_id": d.department_id, "text": d.text });
    audit::record(
        &mut tx,
        now,
        who,
        "duty.add",
        &resource("duties", &d.id),
        detail,
    )
    .await?;
    let out = convert::duty(&d);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn list(
    dir: &Directory,
    req: &pb::ListDutiesRequest,
) -> Result<pb::ListDutiesResponse, Error> {
    let mut v = Violations::new();
    let department = fields::opt_id(&mut v, "department_id", &req.department_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("duties|{}", req.department_id),
    )?;
    let mut conn = dir.conn().await?;
    if let Some(d) = &department {
        ensure_department(&mut conn, "department_id", d).await?;
    }
    let rows = db::list(
        &mut conn,
        &req.department_id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |d| d.id.clone());
    Ok(pb::ListDutiesResponse {
        duties: rows.iter().map(convert::duty).collect(),
        next_page_token,
    })
}

pub async fn remove(
    dir: &Directory,
    who: &Principal,
    req: &pb::RemoveDutyRequest,
) -> Result<(), Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    let now = dir.now();
    let mut tx = dir.db.begin().await?;
    let d = db::get(&mut tx, &req.id)
        .await?
        .ok_or_else(|| Error::not_found("duty", &req.id))?;
    ensure_reaches(&mut tx, who, &d.department_id).await?;
    if !db::delete(&mut tx, &d.id).await? {
        return Err(Error::not_found("duty", &req.id));
    }
    let detail = json!({ "department_id": d.department_id, "text": d.text });
    audit::record(
        &mut tx,
        now,
        who,
        "duty.remove",
        &resource("duties", &d.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

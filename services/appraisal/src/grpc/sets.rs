//! Indicator sets: create, read, list, revise (a new version) and list
//! versions.

use concord_kit::auth::Principal;
use concord_kit::fields::{check_etag, etag};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, invalid};
use concord_proto::appraisal::v1 as pb;
use serde_json::json;

use super::convert;
use crate::service::{Appraisal, resource};
use crate::store::set::{self as db, Version};

const KIND: &str = "indicator set";

fn summary(v: &Version) -> serde_json::Value {
    let codes: Vec<(&str, i64)> = v
        .content
        .indicators
        .iter()
        .map(|i| (i.code.as_str(), i.weight))
        .collect();
    json!({ "version": v.version, "name": v.content.name, "indicators": codes, "change_note": v.content.change_note })
}

pub async fn create(
    app: &Appraisal,
    who: &Principal,
    req: &pb::CreateIndicatorSetRequest,
) -> Result<pb::IndicatorSet, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    let content = v.absorb(convert::set_content(
        &req.name,
        &req.description,
        &req.indicators,
        &req.change_note,
    ))?;
    v.into_result()?;
    let content = content.ok_or_else(|| invalid("indicators", "are invalid"))?;
    let key = Key::new("CreateIndicatorSet", &who.subject, &req.request_id);
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if let Some(done) = replay::<pb::IndicatorSet>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let id = new_id();
    db::insert_set(&mut tx, &id, &content.name, &who.subject, now).await?;
    let version = Version {
        set_id: id.clone(),
        version: 1,
        content,
        created_by: who.subject.clone(),
        created_ms: now,
    };
    db::insert_version(&mut tx, &version).await?;
    audit::record(
        &mut tx,
        now,
        who,
        "indicator_set.create",
        &resource("indicator_sets", &id),
        summary(&version),
    )
    .await?;
    let out = convert::indicator_set(&version, 1, now);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn get(
    app: &Appraisal,
    req: &pb::GetIndicatorSetRequest,
) -> Result<pb::IndicatorSet, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.check(req.version < 0, "version", "must not be negative");
    v.into_result()?;
    let mut conn = app.conn().await?;
    let set = db::get_set(&mut conn, &req.id, "")
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.id))?;
    let wanted = if req.version == 0 {
        set.current_version
    } else {
        req.version
    };
    let version = db::version(&mut conn, &set.id, wanted)
        .await?
        .ok_or_else(|| Error::not_found("indicator set version", format!("{}@{wanted}", set.id)))?;
    Ok(convert::indicator_set(
        &version,
        set.current_version,
        set.created_ms,
    ))
}

pub async fn list(
    app: &Appraisal,
    req: &pb::ListIndicatorSetsRequest,
) -> Result<pb::ListIndicatorSetsResponse, Error> {
    let page = Page::parse(req.page_size, &req.page_token, "indicator_sets")?;
    let after: Option<(String, String)> = match &page.after {
        Some(a) => Some(
            serde_json::from_str(a)
                .map_err(|_| invalid("page_token", "is not a token returned by this list"))?,
        ),
        None => None,
    };
    let rows = db::list(&mut *app.conn().await?, after.as_ref(), page.fetch_limit()).await?;
    let (rows, next_page_token) = page.finish(rows, |(s, _, key)| json!([key, s.id]).to_string());
    Ok(pb::ListIndicatorSetsResponse {
        indicator_sets: rows
            .iter()
            .map(|(s, v, _)| convert::indicator_set(v, s.current_version, s.created_ms))
            .collect(),
        next_page_token,
    })
}

pub async fn revise(
    app: &Appraisal,
    who: &Principal,
    req: &pb::ReviseIndicatorSetRequest,
) -> Result<pb::IndicatorSet, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = etag(&mut v, "etag", &req.etag);
    if req.etag.is_empty() {
        v.add("etag", "is required: revise the version you read");
    }
    v.check(
        req.change_note.trim().is_empty(),
        "change_note",
        "is required: say why the set changes",
    );
    let content = v.absorb(convert::set_content(
        &req.name,
        &req.description,
        &req.indicators,
        &req.change_note,
    ))?;
    v.into_result()?;
    let content = content.ok_or_else(|| invalid("indicators", "are invalid"))?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let set = db::get_set(&mut tx, &req.id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.id))?;
    check_etag(KIND, expected, set.current_version)?;
    let version = Version {
        set_id: set.id.clone(),
        version: set.current_version + 1,
        content,
        created_by: who.subject.clone(),
        created_ms: now,
    };
    db::insert_version(&mut tx, &version).await?;
    if !db::bump(
        &mut tx,
        &set.id,
        set.current_version,
        version.version,
        &version.content.name,
        now,
    )
    .await?
    {
        return Err(Error::stale_etag(KIND));
    }
    audit::record(
        &mut tx,
        now,
        who,
        "indicator_set.revise",
        &resource("indicator_sets", &set.id),
        summary(&version),
    )
    .await?;
    tx.commit().await?;
    Ok(convert::indicator_set(
        &version,
        version.version,
        set.created_ms,
    ))
}

pub async fn versions(
    app: &Appraisal,
    req: &pb::ListIndicatorSetVersionsRequest,
) -> Result<pb::ListIndicatorSetVersionsResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("versions|{}", req.id),
    )?;
    let before = match &page.after {
        Some(a) => Some(
            a.parse::<i64>()
                .map_err(|_| invalid("page_token", "is not a token returned by this list"))?,
        ),
        None => None,
    };
    let mut conn = app.conn().await?;
    let set = db::get_set(&mut conn, &req.id, "")
        .await?
        .ok_or_else(|| Error::not_found(KIND, &req.id))?;
    let rows = db::versions(&mut conn, &set.id, before, page.fetch_limit()).await?;
    let (rows, next_page_token) = page.finish(rows, |v| v.version.to_string());
    Ok(pb::ListIndicatorSetVersionsResponse {
        versions: rows
            .iter()
            .map(|v| convert::indicator_set(v, set.current_version, set.created_ms))
            .collect(),
        next_page_token,
    })
}

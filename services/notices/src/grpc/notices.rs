//! Notices: create drafts, read, list, change drafts, publish (now or at
//! their time) and retract.

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, due, fields};
use concord_proto::notices::v1 as pb;
use concord_proto::policy::v1::Role;
use serde_json::json;

use super::Notices;
use super::convert::{self, ContentIn};
use crate::core::{DUE_EXPIRE, DUE_PUBLISH, DUE_PUSH, resource};
use crate::domain::notice::times_problem;
use crate::domain::{EventKind, Notice, NoticeField, NoticeState, REASON_MAX};
use crate::store::notice::{self as db, Visible};
use crate::store::{inbox, receipt, rules};

const KIND: &str = "notice";

fn stale() -> Error {
    Error::stale_etag(KIND)
}

pub async fn create(
    svc: &Notices,
    who: &Principal,
    req: &pb::CreateNoticeRequest,
) -> Result<pb::Notice, Error> {
    let now = svc.core.now();
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    let input = ContentIn {
        title: &req.title,
        body: &req.body,
        audience: req.audience.as_ref(),
        priority: req.priority,
        ack_required: req.acknowledgement_required,
        attachments: &req.attachments,
        publish_time: req.publish_time.as_ref(),
        expire_time: req.expire_time.as_ref(),
    };
    let c = convert::content(&mut v, "", &input, &NoticeField::ALL, now);
    if v.is_empty() {
        convert::check_times(&mut v, "", c.publish_ms, c.expire_ms, now);
    }
    v.into_result()?;
    svc.core.ensure_may_publish(who, &c.audience).await?;

    let key = Key::new("CreateNotice", &who.subject, &req.request_id);
    let mut tx = svc.core.db.begin().await?;
    if let Some(done) = replay::<pb::Notice>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let rule = rules::get(&mut tx, c.priority, "").await?;
    let n = Notice {
        id: new_id(),
        title: c.title,
        body: c.body,
        author_id: who.subject.clone(),
        author_department_id: who.department_id.clone().unwrap_or_default(),
        audience: c.audience,
        priority: c.priority,
        ack_required: c.ack_required.unwrap_or(rule.ack_required),
        attachments: c.attachments,
        publish_ms: c.publish_ms,
        expire_ms: c.expire_ms,
        state: NoticeState::Draft,
        published_ms: None,
        recipient_count: 0,
        pushed: false,
        meeting_id: String::new(),
        version: 1,
        created_ms: now,
        updated_ms: now,
    };
    db::insert(&mut tx, &n).await?;
    let detail =
        json!({ "title": n.title, "priority": n.priority.label(), "audience": n.audience });
    audit::record(
        &mut tx,
        now,
        who,
        "notice.create",
        &resource("notices", &n.id),
        detail,
    )
    .await?;
    let out = convert::notice(&n);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

/// Loads a notice or answers NOT_FOUND.
pub async fn load(svc: &Notices, id: &str) -> Result<Notice, Error> {
    db::get(&mut *svc.core.db.pool().acquire().await?, id, "")
        .await?
        .ok_or_else(|| Error::not_found(KIND, id))
}

pub async fn get(
    svc: &Notices,
    who: &Principal,
    req: &pb::GetNoticeRequest,
) -> Result<pb::Notice, Error> {
    convert::required_id("id", &req.id)?;
    let n = load(svc, &req.id).await?;
    if who.has(Role::Auditor) || svc.core.manages(who, &n).await? {
        return Ok(convert::notice(&n));
    }
    let addressed = matches!(n.state, NoticeState::Published | NoticeState::Expired)
        && receipt::get(
            &mut *svc.core.db.pool().acquire().await?,
            &n.id,
            &who.subject,
        )
        .await?
        .is_some();
    if addressed {
        Ok(convert::notice(&n))
    } else {
        Err(Error::denied(
            "a notice is read by its recipients and by the people who manage it",
        ))
    }
}

pub async fn list(
    svc: &Notices,
    who: &Principal,
    req: &pb::ListNoticesRequest,
) -> Result<pb::ListNoticesResponse, Error> {
    let mut v = Violations::new();
    let author = fields::opt_id(&mut v, "author_id", &req.author_id);
    let state = match req.state {
        0 => None,
        s => {
            let state = NoticeState::from_i64(i64::from(s));
            v.check(state.is_none(), "state", "is not a known notice state");
            state
        }
    };
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("notices|{}|{}", req.author_id, req.state),
    )?;
    let subtree: Vec<String> = svc.core.headed(who).await?.into_iter().collect();
    let visible = if who.is_admin() || who.has(Role::Auditor) {
        Visible::All
    } else {
        Visible::AuthorOrDepartments(&who.subject, &subtree)
    };
    let rows = db::list(
        &mut *svc.core.db.pool().acquire().await?,
        visible,
        author.as_deref(),
        state,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |n| n.id.clone());
    Ok(pb::ListNoticesResponse {
        notices: rows.iter().map(convert::notice).collect(),
        next_page_token,
    })
}

pub async fn update(
    svc: &Notices,
    who: &Principal,
    req: &pb::UpdateNoticeRequest,
) -> Result<pb::Notice, Error> {
    let now = svc.core.now();
    let mut v = Violations::new();
    let fields = fields::update_mask(&mut v, req.update_mask.as_ref(), &NoticeField::known());
    let Some(p) = &req.notice else {
        v.add("notice", "is required");
        return Err(Error::Invalid(v));
    };
    check_id(&mut v, "notice.id", &p.id);
    let expected = fields::etag(&mut v, "notice.etag", &p.etag);
    let input = ContentIn {
        title: &p.title,
        body: &p.body,
        audience: p.audience.as_ref(),
        priority: p.priority,
        ack_required: Some(p.acknowledgement_required),
        attachments: &p.attachments,
        publish_time: p.publish_time.as_ref(),
        expire_time: p.expire_time.as_ref(),
    };
    let c = convert::content(&mut v, "notice.", &input, &fields, now);
    v.into_result()?;

    let mut n = load(svc, &p.id).await?;
    svc.core.ensure_manages(who, &n).await?;
    fields::check_etag(KIND, expected, n.version)?;
    if n.state != NoticeState::Draft {
        return Err(Error::precondition(format!(
            "only drafts change; this notice is {}",
            n.state.name()
        )));
    }
    n.apply(&fields, &c, n.ack_required);
    let mut v = Violations::new();
    convert::check_times(&mut v, "notice.", n.publish_ms, n.expire_ms, now);
    v.into_result()?;
    if fields.contains(&NoticeField::Audience) {
        svc.core.ensure_may_publish(who, &n.audience).await?;
    }
    let read = n.version;
    n.version += 1;
    n.updated_ms = now;
    let mut tx = svc.core.db.begin().await?;
    if !db::update(&mut tx, &n, read).await? {
        return Err(stale());
    }
    let paths: Vec<&str> = fields.iter().map(|f| f.path()).collect();
    audit::record(
        &mut tx,
        now,
        who,
        "notice.update",
        &resource("notices", &n.id),
        json!({ "fields": paths }),
    )
    .await?;
    tx.commit().await?;
    Ok(convert::notice(&n))
}

pub async fn publish(
    svc: &Notices,
    who: &Principal,
    req: &pb::PublishNoticeRequest,
) -> Result<pb::Notice, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let n = load(svc, &req.id).await?;
    svc.core.ensure_manages(who, &n).await?;
    if matches!(n.state, NoticeState::Published | NoticeState::Scheduled) {
        return Ok(convert::notice(&n));
    }
    fields::check_etag(KIND, expected, n.version)?;
    if n.state != NoticeState::Draft {
        return Err(Error::precondition(format!(
            "a {} notice cannot be published",
            n.state.name()
        )));
    }
    let now = svc.core.now();
    if let Some((_, why)) = times_problem(None, n.expire_ms, now) {
        return Err(Error::precondition(format!(
            "expire_time {why}; change it first"
        )));
    }
    svc.core.ensure_may_publish(who, &n.audience).await?;
    match n.waits_until(now) {
        Some(at) => schedule(svc, who, n, at).await.map(|n| convert::notice(&n)),
        None => svc
            .core
            .publish_now(&n.id, who, n.version, false)
            .await
            .map(|n| convert::notice(&n)),
    }
}

/// Leaves a draft waiting for its publish time.
async fn schedule(svc: &Notices, who: &Principal, mut n: Notice, at: i64) -> Result<Notice, Error> {
    let now = svc.core.now();
    let mut tx = svc.core.db.begin().await?;
    let read = n.version;
    n.state = NoticeState::Scheduled;
    n.version += 1;
    n.updated_ms = now;
    if !db::update(&mut tx, &n, read).await? {
        return Err(stale());
    }
    due::schedule(&mut tx, DUE_PUBLISH, &n.id, at, &who.subject).await?;
    audit::record(
        &mut tx,
        now,
        who,
        "notice.schedule",
        &resource("notices", &n.id),
        json!({ "publish_ms": at }),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

pub async fn retract(
    svc: &Notices,
    who: &Principal,
    req: &pb::RetractNoticeRequest,
) -> Result<pb::Notice, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    check_opt_text(&mut v, "reason", &req.reason, REASON_MAX);
    v.into_result()?;
    let n = load(svc, &req.id).await?;
    svc.core.ensure_manages(who, &n).await?;
    let now = svc.core.now();
    let mut tx = svc.core.db.begin().await?;
    let mut n = db::get(&mut tx, &n.id, svc.core.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found(KIND, &n.id))?;
    if n.state == NoticeState::Retracted {
        return Ok(convert::notice(&n));
    }
    fields::check_etag(KIND, expected, n.version)?;
    if !n.state.may_retract() {
        return Err(Error::precondition(format!(
            "a {} notice cannot be retracted",
            n.state.name()
        )));
    }
    // Those who were told of the notice are told it is withdrawn.
    let told = if n.state == NoticeState::Published && n.pushed {
        receipt::recipients(&mut tx, &n.id).await?
    } else {
        Vec::new()
    };
    inbox::append(
        &mut tx,
        svc.core.db.backend(),
        EventKind::Retracted,
        &n.id,
        &told,
        now,
    )
    .await?;
    for (kind, subject) in [
        (DUE_PUBLISH, n.id.clone()),
        (DUE_EXPIRE, n.id.clone()),
        (DUE_PUSH, format!("notice:{}", n.id)),
    ] {
        due::cancel(&mut tx, kind, &subject).await?;
    }
    let read = n.version;
    let was = n.state;
    n.state = NoticeState::Retracted;
    n.version += 1;
    n.updated_ms = now;
    if !db::update(&mut tx, &n, read).await? {
        return Err(stale());
    }
    let detail = json!({ "from_state": was.name(), "reason": req.reason.trim() });
    audit::record(
        &mut tx,
        now,
        who,
        "notice.retract",
        &resource("notices", &n.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    svc.core.ring(&told);
    Ok(convert::notice(&n))
}

//! The sender's side of receipts: counts, who has (not) read or
//! acknowledged, and reminding exactly those who have not.

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::{Page, cursor, render_cursor};
use concord_kit::{Error, Violations, audit, fields};
use concord_proto::notices::v1 as pb;
use serde_json::json;

use super::{Notices, convert, notices::load};
use crate::core::resource;
use crate::domain::{EventKind, NoticeState, ReceiptFilter};
use crate::metrics;
use crate::store::notice as notices;
use crate::store::receipt::{self, Reminder};

pub async fn summary(
    svc: &Notices,
    who: &Principal,
    req: &pb::GetReceiptSummaryRequest,
) -> Result<pb::ReceiptSummary, Error> {
    convert::required_id("notice_id", &req.notice_id)?;
    let n = load(svc, &req.notice_id).await?;
    svc.core.ensure_reads_receipts(who, &n).await?;
    let counts = receipt::counts(&mut *svc.core.db.pool().acquire().await?, &n.id).await?;
    Ok(convert::summary(&n, &counts))
}

fn filter(v: &mut Violations, field: &str, value: i32) -> ReceiptFilter {
    ReceiptFilter::from_i32(value).unwrap_or_else(|| {
        v.add(field, "is not a known receipt filter");
        ReceiptFilter::All
    })
}

pub async fn list(
    svc: &Notices,
    who: &Principal,
    req: &pb::ListReceiptsRequest,
) -> Result<pb::ListReceiptsResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "notice_id", &req.notice_id);
    let f = filter(&mut v, "filter", req.filter);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("receipts|{}|{}", req.notice_id, req.filter),
    )?;
    let after = cursor::<(String, String)>(page.after.as_deref())?;
    let n = load(svc, &req.notice_id).await?;
    svc.core.ensure_reads_receipts(who, &n).await?;
    let rows = receipt::list(
        &mut *svc.core.db.pool().acquire().await?,
        &n.id,
        f,
        after.as_ref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) =
        page.finish(rows, |r| render_cursor(&(&r.display_name, &r.person_id)));
    Ok(pb::ListReceiptsResponse {
        receipts: rows.iter().map(convert::receipt).collect(),
        next_page_token,
    })
}

pub async fn remind(
    svc: &Notices,
    who: &Principal,
    req: &pb::RemindUnreadRequest,
) -> Result<pb::RemindUnreadResponse, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "notice_id", &req.notice_id);
    let target = match filter(&mut v, "target", req.target) {
        ReceiptFilter::All | ReceiptFilter::Unread => ReceiptFilter::Unread,
        ReceiptFilter::Unacknowledged => ReceiptFilter::Unacknowledged,
        _ => {
            v.add("target", "must be UNREAD or UNACKNOWLEDGED");
            ReceiptFilter::Unread
        }
    };
    v.into_result()?;
    let n = load(svc, &req.notice_id).await?;
    svc.core.ensure_manages(who, &n).await?;

    let now = svc.core.now();
    let key = Key::new("RemindUnread", &who.subject, &req.request_id);
    let mut tx = svc.core.db.begin().await?;
    if let Some(done) = replay::<pb::RemindUnreadResponse>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let n = notices::get(&mut tx, &n.id, svc.core.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("notice", &n.id))?;
    if n.state != NoticeState::Published {
        return Err(Error::precondition(format!(
            "only published notices are reminded of; this one is {}",
            n.state.name()
        )));
    }
    if target == ReceiptFilter::Unacknowledged && !n.ack_required {
        return Err(Error::precondition(
            "this notice does not ask for acknowledgement",
        ));
    }
    let id = new_id();
    let people = receipt::remind(&mut tx, &n.id, target, &id).await?;
    let mut pushed = false;
    if !people.is_empty() {
        pushed = svc
            .core
            .push_or_hold(
                &mut tx,
                &n,
                EventKind::Reminder,
                &people,
                &format!("reminder:{id}"),
            )
            .await?;
        let count = i64::try_from(people.len()).unwrap_or(i64::MAX);
        let r = Reminder {
            id: id.clone(),
            notice_id: n.id.clone(),
            target,
            recipients: count,
            delivered: pushed,
        };
        receipt::insert_reminder(&mut tx, &r, &who.subject, now).await?;
    }
    let reminded = i64::try_from(people.len()).unwrap_or(i64::MAX);
    let detail = json!({ "reminded": reminded, "target": format!("{target:?}").to_lowercase(), "pushed": pushed });
    audit::record(
        &mut tx,
        now,
        who,
        "notice.remind",
        &resource("notices", &n.id),
        detail,
    )
    .await?;
    let counts = receipt::counts(&mut tx, &n.id).await?;
    let out = pb::RemindUnreadResponse {
        reminded,
        summary: Some(convert::summary(&n, &counts)),
    };
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    metrics::METRICS
        .reminders
        .inc_by(u64::try_from(reminded).unwrap_or(0));
    if pushed {
        svc.core.ring(&people);
    }
    Ok(out)
}

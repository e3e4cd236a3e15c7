//! Each person's inbox: the list with its unread count, reading and
//! acknowledging, and the live stream that resumes from a cursor.
//!
//! Reads and acknowledgements are not written to the audit trail: the
//! receipt itself records who read or acknowledged what, and when.

use std::pin::Pin;
use std::time::Duration;

use concord_kit::announce::concerns;
use concord_kit::auth::Principal;
use concord_kit::clock::to_timestamp;
use concord_kit::page::{Page, cursor, render_cursor};
use concord_kit::stream::{ResumeOptions, resume};
use concord_kit::{Error, Violations, fields};
use concord_proto::notices::v1 as pb;
use futures::{Stream, StreamExt};

use super::{Notices, convert};
use crate::core::INBOX_TOPIC;
use crate::domain::NoticeState;
use crate::metrics;
use crate::store::inbox::{self, InboxFilter};
use crate::store::receipt;

/// Events read from the database per round trip of a stream.
const EVENTS_PER_READ: i64 = 200;
/// A watcher re-reads at least this often, in case a doorbell was lost.
const POLL_EVERY: Duration = Duration::from_secs(5);

pub async fn list(
    svc: &Notices,
    who: &Principal,
    req: &pb::ListInboxRequest,
) -> Result<pb::ListInboxResponse, Error> {
    let mut v = Violations::new();
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let filter_text = format!(
        "inbox|{}|{}|{}",
        who.subject, req.unread_only, req.include_expired
    );
    let page = Page::parse(req.page_size, &req.page_token, &filter_text)?;
    let after = cursor::<(i64, String)>(page.after.as_deref())?;
    let mut conn = svc.core.db.pool().acquire().await?;
    // The sequence first: watching from it can only repeat, never miss.
    let inbox_sequence = inbox::sequence(&mut conn, &who.subject).await?;
    let filter = InboxFilter {
        unread_only: req.unread_only,
        include_expired: req.include_expired,
    };
    let rows = inbox::list(
        &mut conn,
        &who.subject,
        filter,
        after.as_ref(),
        page.fetch_limit(),
    )
    .await?;
    let unread_count = inbox::unread_count(&mut conn, &who.subject).await?;
    let (rows, next_page_token) = page.finish(rows, |(_, r)| {
        render_cursor(&(r.delivered_ms, &r.notice_id))
    });
    Ok(pb::ListInboxResponse {
        items: rows
            .iter()
            .map(|(n, r)| pb::InboxItem {
                notice: Some(convert::notice(n)),
                receipt: Some(convert::receipt(r)),
            })
            .collect(),
        next_page_token,
        unread_count,
        inbox_sequence,
    })
}

/// Marks a notice read (and acknowledged with `acknowledge`) for the caller.
pub async fn mark(
    svc: &Notices,
    who: &Principal,
    notice_id: &str,
    acknowledge: bool,
) -> Result<pb::Receipt, Error> {
    convert::required_id("notice_id", notice_id)?;
    let n = super::notices::load(svc, notice_id).await?;
    if !matches!(n.state, NoticeState::Published | NoticeState::Expired) {
        return Err(Error::not_found("notice in your inbox", notice_id));
    }
    if acknowledge && !n.ack_required {
        return Err(Error::precondition(
            "this notice does not ask for acknowledgement",
        ));
    }
    let now = svc.core.now();
    let mut tx = svc.core.db.begin().await?;
    let (before, after) = receipt::mark(
        &mut tx,
        notice_id,
        &who.subject,
        now,
        acknowledge,
        svc.core.db.for_update(),
    )
    .await?
    .ok_or_else(|| Error::not_found("notice in your inbox", notice_id))?;
    tx.commit().await?;
    if before.read_ms.is_none() {
        metrics::first_read(&after.department_id, now - after.delivered_ms);
    }
    if before.ack_ms.is_none() && after.ack_ms.is_some() {
        metrics::receipts(&after.department_id, "acknowledged", 1);
    }
    Ok(convert::receipt(&after))
}

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::InboxEvent, tonic::Status>> + Send>>;

/// The caller's inbox events after `after_sequence`: the backlog from the
/// database, then live as doorbells ring.
pub fn watch(
    svc: &Notices,
    who: &Principal,
    req: &pb::WatchInboxRequest,
) -> Result<WatchStream, Error> {
    if req.after_sequence < 0 {
        return Err(concord_kit::invalid(
            "after_sequence",
            "must not be negative",
        ));
    }
    let db = svc.core.db.clone();
    let person = who.subject.clone();
    let me = who.subject.clone();
    let fetch = move |cursor: i64| {
        let db = db.clone();
        let person = person.clone();
        async move {
            let mut conn = db.pool().acquire().await?;
            let events = inbox::events_after(&mut conn, &person, cursor, EVENTS_PER_READ).await?;
            Ok(events
                .into_iter()
                .map(|(seq, kind, at, n)| {
                    let event = pb::InboxEvent {
                        sequence: seq,
                        kind: kind as i32,
                        notice: Some(convert::notice(&n)),
                        time: Some(to_timestamp(at)),
                    };
                    (seq, event)
                })
                .collect())
        }
    };
    let relevant = move |payload: &[u8]| concerns(payload, &me);
    let options = ResumeOptions {
        topic: INBOX_TOPIC.to_string(),
        poll_every: POLL_EVERY,
    };
    let stream = resume(
        svc.core.bus.clone(),
        options,
        req.after_sequence,
        fetch,
        relevant,
        svc.shutdown.clone(),
    );
    Ok(Box::pin(stream.map(|r| r.map(|(_, event)| event))))
}

//! The history of a proposal and the service's audit trail. While a sealed
//! vote runs, what each vote chose is left out for everybody but admins.

use std::collections::HashMap;

use concord_kit::auth::Principal;
use concord_kit::ids::check_id;
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit};
use concord_proto::audit::v1::{AuditEntry, ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::decisions::v1 as pb;
use serde_json::json;

use super::proposals::visible;
use crate::domain::access::sees_sealed;
use crate::service::{Decisions, proposal_resource};
use crate::store;

/// Whether `e` records the choice of a vote on a sealed proposal.
fn sealed_vote(e: &AuditEntry) -> Option<serde_json::Value> {
    if !e.action.starts_with("vote.") {
        return None;
    }
    let detail: serde_json::Value = serde_json::from_str(&e.detail_json).ok()?;
    (detail.get("sealed") == Some(&json!(true))).then_some(detail)
}

/// Leaves the choice out of the vote entries whose proposal is still voting
/// under seal; `still_sealed` answers that per proposal id.
async fn redact(s: &Decisions, entries: &mut [AuditEntry]) -> Result<(), Error> {
    let mut open: HashMap<String, bool> = HashMap::new();
    for e in entries.iter_mut() {
        let Some(detail) = sealed_vote(e) else {
            continue;
        };
        let id = e.resource.trim_start_matches("proposals/").to_string();
        let still = match open.get(&id) {
            Some(b) => *b,
            None => {
                let p = store::proposal::get(&mut *s.conn().await?, &id, "").await?;
                let b = p.is_some_and(|p| !p.stage.is_past_voting());
                open.insert(id, b);
                b
            }
        };
        if still {
            e.detail_json =
                json!({ "voter_id": detail.get("voter_id"), "sealed": true }).to_string();
        }
    }
    Ok(())
}

pub async fn proposal(
    s: &Decisions,
    who: &Principal,
    req: &pb::ListProposalHistoryRequest,
) -> Result<pb::ListProposalHistoryResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "proposal_id", &req.proposal_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("history|{}", req.proposal_id),
    )?;
    let p = visible(s, who, &req.proposal_id).await?;
    let rows = store::history::entries(
        &mut *s.conn().await?,
        &proposal_resource(&p.id),
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (mut events, next_page_token) = page.finish(rows, |e| e.id.clone());
    if !sees_sealed(who) {
        redact(s, &mut events).await?;
    }
    Ok(pb::ListProposalHistoryResponse {
        events,
        next_page_token,
    })
}

pub async fn audit(
    s: &Decisions,
    who: &Principal,
    req: &ListAuditEntriesRequest,
) -> Result<ListAuditEntriesResponse, Error> {
    let mut out = audit::list(&s.db, req).await?;
    if !sees_sealed(who) {
        redact(s, &mut out.entries).await?;
    }
    Ok(out)
}

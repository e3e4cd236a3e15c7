//! Votes, delegations (proxy voting), the eligible voters and the tally.
//! Every change holds the proposal's row, so it either commits before the
//! vote closes and is counted, or finds the vote closed.

use std::collections::HashMap;

use concord_kit::auth::Principal;
use concord_kit::ids::{check_id, check_opt_text};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, clock::to_timestamp, invalid};
use concord_proto::decisions::v1 as pb;
use serde_json::json;
use sqlx::AnyConnection;

use super::convert;
use super::proposals::visible;
use crate::domain::access::sees_sealed;
use crate::domain::proposal::APPROVE;
use crate::domain::{Choice, Proposal, REASON_MAX, Stage, tally};
use crate::flow;
use crate::service::{Decisions, proposal_resource};
use crate::store;
use crate::store::vote::{Vote, Voter};

/// Reads the proposal under lock and checks that voting is open now.
async fn open_for_votes(
    s: &Decisions,
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
    now: i64,
) -> Result<(Proposal, Voter), Error> {
    let p = store::proposal::get(conn, id, s.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("proposal", id))?;
    if p.stage != Stage::Voting {
        return Err(Error::precondition(format!(
            "voting is not open; the proposal is in stage {}",
            p.stage.as_str()
        )));
    }
    if now >= p.voting_end_ms {
        return Err(Error::precondition("the voting deadline has passed"));
    }
    let me = store::vote::voter(conn, id, &who.subject)
        .await?
        .ok_or_else(|| Error::denied("you are not an eligible voter of this proposal"))?;
    Ok((p, me))
}

/// Whether the votes of `p` are hidden from `who` now.
fn sealed_for(who: &Principal, p: &Proposal) -> bool {
    p.sealed && !p.stage.is_past_voting() && !sees_sealed(who)
}

pub async fn cast(
    s: &Decisions,
    who: &Principal,
    req: &pb::CastVoteRequest,
) -> Result<pb::Vote, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "proposal_id", &req.proposal_id);
    match (req.option_id.is_empty(), req.abstain) {
        (true, false) => v.add("option_id", "choose an option, or abstain"),
        (false, true) => v.add("abstain", "give either option_id or abstain, not both"),
        _ => {}
    }
    check_opt_text(&mut v, "reason", &req.reason, REASON_MAX);
    v.into_result()?;
    let now = s.now();
    let mut tx = s.db.begin().await?;
    let (p, me) = open_for_votes(s, &mut tx, who, &req.proposal_id, now).await?;
    if let Some(d) = &me.delegate_id {
        return Err(Error::precondition(format!(
            "you gave your vote to {d}; revoke the delegation first"
        )));
    }
    let choice = if req.abstain {
        Choice::Abstain
    } else if p.has_option(&req.option_id) {
        Choice::Option(req.option_id.clone())
    } else {
        return Err(invalid("option_id", "is not an option of this proposal"));
    };
    let reason = req.reason.trim().to_string();
    let before = store::vote::get_vote(&mut tx, &p.id, &who.subject).await?;
    let proxy_for = store::vote::proxies_held(&mut tx, &p.id, &who.subject).await?;
    if let Some(b) = before
        .as_ref()
        .filter(|b| b.choice == choice && b.reason == reason)
    {
        return Ok(convert::vote(b, proxy_for)); // a retry: nothing changes
    }
    let vote = Vote {
        proposal_id: p.id.clone(),
        voter_id: who.subject.clone(),
        choice,
        reason,
        cast_ms: before.as_ref().map_or(now, |b| b.cast_ms),
        updated_ms: now,
        changes: before.as_ref().map_or(0, |b| b.changes + 1),
    };
    store::vote::put_vote(&mut tx, &vote).await?;
    let option = |c: &Choice| match c {
        Choice::Option(o) => o.clone(),
        Choice::Abstain => String::new(),
    };
    let detail = json!({
        "voter_id": vote.voter_id,
        "option_id": option(&vote.choice),
        "abstain": vote.choice == Choice::Abstain,
        "reason": vote.reason,
        "previous_option_id": before.as_ref().map(|b| option(&b.choice)),
        "proxy_for": proxy_for,
        "sealed": p.sealed,
    });
    let action = if before.is_some() {
        "vote.change"
    } else {
        "vote.cast"
    };
    audit::record(&mut tx, now, who, action, &proposal_resource(&p.id), detail).await?;
    tx.commit().await?;
    crate::metrics::vote_cast();
    Ok(convert::vote(&vote, proxy_for))
}

pub async fn delegate(
    s: &Decisions,
    who: &Principal,
    req: &pb::DelegateVoteRequest,
) -> Result<pb::Delegation, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "proposal_id", &req.proposal_id);
    check_id(&mut v, "delegate_id", &req.delegate_id);
    v.check(
        req.delegate_id == who.subject,
        "delegate_id",
        "cannot be yourself",
    );
    v.into_result()?;
    let now = s.now();
    let mut tx = s.db.begin().await?;
    let (p, me) = open_for_votes(s, &mut tx, who, &req.proposal_id, now).await?;
    let to = store::vote::voter(&mut tx, &p.id, &req.delegate_id)
        .await?
        .ok_or_else(|| invalid("delegate_id", "is not an eligible voter of this proposal"))?;
    if me.delegate_id.as_deref() == Some(to.person_id.as_str()) {
        return Ok(pb::Delegation {
            proposal_id: p.id,
            delegator_id: me.person_id,
            delegate_id: to.person_id,
            create_time: Some(to_timestamp(now)),
        });
    }
    if to.delegate_id.is_some() {
        return Err(Error::precondition(
            "that voter gave their own vote away; a delegation goes one level only",
        ));
    }
    let held = store::vote::proxies_held(&mut tx, &p.id, &me.person_id).await?;
    if !held.is_empty() {
        return Err(Error::precondition(format!(
            "you hold the votes of {} voter(s); a delegation goes one level only",
            held.len()
        )));
    }
    let withdrew = store::vote::delete_vote(&mut tx, &p.id, &me.person_id).await?;
    store::vote::put_delegation(&mut tx, &p.id, &me.person_id, &to.person_id, now).await?;
    let detail = json!({
        "delegator_id": me.person_id,
        "delegate_id": to.person_id,
        "replaces": me.delegate_id,
        "withdrew_own_vote": withdrew,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "delegation.create",
        &proposal_resource(&p.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(pb::Delegation {
        proposal_id: p.id,
        delegator_id: me.person_id,
        delegate_id: to.person_id,
        create_time: Some(to_timestamp(now)),
    })
}

pub async fn revoke(
    s: &Decisions,
    who: &Principal,
    req: &pb::RevokeDelegationRequest,
) -> Result<pb::RevokeDelegationResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "proposal_id", &req.proposal_id);
    v.into_result()?;
    let now = s.now();
    let mut tx = s.db.begin().await?;
    let (p, me) = open_for_votes(s, &mut tx, who, &req.proposal_id, now).await?;
    // Revoking what is not there is a retry: nothing to record.
    if store::vote::delete_delegation(&mut tx, &p.id, &me.person_id).await? {
        let detail = json!({ "delegator_id": me.person_id, "delegate_id": me.delegate_id });
        audit::record(
            &mut tx,
            now,
            who,
            "delegation.revoke",
            &proposal_resource(&p.id),
            detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(pb::RevokeDelegationResponse {})
}

pub async fn voters(
    s: &Decisions,
    who: &Principal,
    req: &pb::ListEligibleVotersRequest,
) -> Result<pb::ListEligibleVotersResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "proposal_id", &req.proposal_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("voters|{}", req.proposal_id),
    )?;
    let p = visible(s, who, &req.proposal_id).await?;
    let rows = store::vote::voters(
        &mut *s.conn().await?,
        &p.id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |v| v.person_id.clone());
    Ok(pb::ListEligibleVotersResponse {
        voters: rows.iter().map(convert::voter).collect(),
        next_page_token,
    })
}

pub async fn votes(
    s: &Decisions,
    who: &Principal,
    req: &pb::ListVotesRequest,
) -> Result<pb::ListVotesResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "proposal_id", &req.proposal_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let p = visible(s, who, &req.proposal_id).await?;
    let only = sealed_for(who, &p).then_some(who.subject.as_str());
    let filter = format!("votes|{}|{}", req.proposal_id, only.unwrap_or_default());
    let page = Page::parse(req.page_size, &req.page_token, &filter)?;
    let mut conn = s.conn().await?;
    let rows = store::vote::votes(
        &mut conn,
        &p.id,
        only,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |v| v.voter_id.clone());
    let mut proxies: HashMap<String, Vec<String>> = HashMap::new();
    for (from, to) in store::vote::delegations(&mut conn, &p.id).await? {
        proxies.entry(to).or_default().push(from);
    }
    Ok(pb::ListVotesResponse {
        votes: rows
            .iter()
            .map(|v| {
                let mut by = proxies.remove(&v.voter_id).unwrap_or_default();
                by.sort();
                convert::vote(v, by)
            })
            .collect(),
        next_page_token,
    })
}

pub async fn tally(
    s: &Decisions,
    who: &Principal,
    req: &pb::GetTallyRequest,
) -> Result<pb::Tally, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "proposal_id", &req.proposal_id);
    v.into_result()?;
    let p = visible(s, who, &req.proposal_id).await?;
    if matches!(p.stage, Stage::Draft | Stage::Consultation) {
        return Err(Error::precondition("voting has not opened yet"));
    }
    if sealed_for(who, &p) {
        return Err(Error::denied(
            "the tally of a sealed proposal is hidden until voting closes",
        ));
    }
    let c = flow::count(&mut *s.conn().await?, &p).await?;
    let leading = match &p.outcome {
        Some(o) => o.chosen_option.clone(),
        None => tally::winner(p.rule, &c).filter(|w| !p.approve_or_reject || w == APPROVE),
    };
    Ok(pb::Tally {
        proposal_id: p.id.clone(),
        options: c
            .options
            .iter()
            .map(|(id, n)| pb::OptionCount {
                option_id: id.clone(),
                label: p
                    .options
                    .iter()
                    .find(|o| o.id == *id)
                    .map(|o| o.label.clone())
                    .unwrap_or_default(),
                votes: *n,
            })
            .collect(),
        abstentions: c.abstentions,
        eligible: c.eligible,
        participated: c.participated,
        by_proxy: c.by_proxy,
        quorum_met: tally::quorum_met(p.quorum_percent, &c),
        r#final: p.stage.is_past_voting(),
        leading_option_id: leading.unwrap_or_default(),
    })
}

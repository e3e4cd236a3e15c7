//! The moves of a proposal through its stages, made by a person
//! (`AdvanceProposal`) or by the service at a deadline. Each move runs in one
//! transaction holding the proposal's row: it checks the stage it starts
//! from, writes the new stage, schedules or cancels the deadlines that
//! follow, and records the move in the audit trail.

use concord_kit::auth::Principal;
use concord_kit::{Error, audit, due};
use serde_json::json;

use crate::domain::{ParticipationRole, Proposal, Stage, tally};
use crate::electorate;
use crate::service::{Decisions, proposal_resource, system};
use crate::store;

/// Due-row kinds of proposals.
pub const CONSULTATION_END: &str = "proposal.consultation_end";
pub const VOTING_END: &str = "proposal.voting_end";
pub const INFORM: &str = "proposal.inform";

/// Who makes a move.
#[derive(Debug, Clone, Copy)]
pub enum Mover<'a> {
    Person(&'a Principal),
    Deadline,
}

impl Mover<'_> {
    fn principal(&self) -> Principal {
        match self {
            Mover::Person(p) => (*p).clone(),
            Mover::Deadline => system(),
        }
    }

    fn by_deadline(&self) -> bool {
        matches!(self, Mover::Deadline)
    }
}

fn not_found(id: &str) -> Error {
    Error::not_found("proposal", id)
}

/// Writes `p` (read at `read`) or reports the concurrent change.
async fn save(conn: &mut sqlx::AnyConnection, p: &Proposal, read: i64) -> Result<(), Error> {
    if store::proposal::update(conn, p, read, false).await? {
        Ok(())
    } else {
        Err(Error::stale_etag("proposal"))
    }
}

/// Draft to consultation; schedules the consultation deadline.
#[tracing::instrument(skip_all, fields(proposal_id = %id))]
pub async fn open_consultation(
    s: &Decisions,
    who: &Principal,
    id: &str,
) -> Result<Proposal, Error> {
    let now = s.now();
    let mut tx = s.db.begin().await?;
    let mut p = store::proposal::get(&mut tx, id, s.db.for_update())
        .await?
        .ok_or_else(|| not_found(id))?;
    let read = p.version;
    p.open_consultation(now)?;
    save(&mut tx, &p, read).await?;
    due::schedule(&mut tx, CONSULTATION_END, &p.id, p.consultation_end_ms, "").await?;
    let detail = json!({ "consultation_end_ms": p.consultation_end_ms });
    audit::record(
        &mut tx,
        now,
        who,
        "proposal.consultation",
        &proposal_resource(id),
        detail,
    )
    .await?;
    tx.commit().await?;
    s.refresh_gauges().await;
    Ok(p)
}

/// Consultation to voting: resolves the eligible voters through the
/// directory, keeps them, and schedules the voting deadline. At the
/// deadline a consent proposal with unanswered objections stays in
/// consultation, and the hold is recorded.
#[tracing::instrument(skip_all, fields(proposal_id = %id, by_deadline = mover.by_deadline()))]
pub async fn open_voting(s: &Decisions, mover: Mover<'_>, id: &str) -> Result<Proposal, Error> {
    let who = mover.principal();
    let p = store::proposal::get(&mut *s.conn().await?, id, "")
        .await?
        .ok_or_else(|| not_found(id))?;
    if mover.by_deadline() && (p.stage != Stage::Consultation || s.now() < p.consultation_end_ms) {
        return Ok(p); // moved by hand meanwhile, or the deadline moved
    }
    let unanswered = store::comment::unanswered_objections(&mut *s.conn().await?, id).await?;
    if let Err(e) = p.may_open_voting(s.now(), unanswered, mover.by_deadline()) {
        if mover.by_deadline() {
            hold(s, &p, &e.to_string()).await?;
            return Ok(p);
        }
        return Err(e);
    }
    let voters = match electorate::of(&s.directory, &p).await {
        Ok(v) => v,
        Err(e @ Error::FailedPrecondition(_)) if mover.by_deadline() => {
            hold(s, &p, &e.to_string()).await?;
            return Ok(p);
        }
        Err(e) => return Err(e),
    };
    let now = s.now();
    let mut tx = s.db.begin().await?;
    let mut p = store::proposal::get(&mut tx, id, s.db.for_update())
        .await?
        .ok_or_else(|| not_found(id))?;
    if mover.by_deadline() && p.stage != Stage::Consultation {
        return Ok(p);
    }
    let unanswered = store::comment::unanswered_objections(&mut tx, id).await?;
    let read = p.version;
    let eligible = i64::try_from(voters.len()).unwrap_or(i64::MAX);
    p.open_voting(now, eligible, unanswered, mover.by_deadline())?;
    store::vote::insert_voters(&mut tx, id, &voters).await?;
    save(&mut tx, &p, read).await?;
    due::cancel(&mut tx, CONSULTATION_END, id).await?;
    due::schedule(&mut tx, VOTING_END, id, p.voting_end_ms, "").await?;
    let detail = json!({
        "eligible_voters": eligible,
        "electorate": p.electorate.as_str(),
        "voting_end_ms": p.voting_end_ms,
        "by_deadline": mover.by_deadline(),
    });
    audit::record(
        &mut tx,
        now,
        &who,
        "proposal.voting",
        &proposal_resource(id),
        detail,
    )
    .await?;
    tx.commit().await?;
    s.refresh_gauges().await;
    Ok(p)
}

/// Records that the consultation deadline could not open the vote.
async fn hold(s: &Decisions, p: &Proposal, why: &str) -> Result<(), Error> {
    let mut tx = s.db.begin().await?;
    let detail = json!({ "reason": why });
    audit::record(
        &mut tx,
        s.now(),
        &system(),
        "proposal.voting_held",
        &proposal_resource(&p.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(proposal_id = %p.id, reason = why, "voting not opened at the consultation deadline");
    Ok(())
}

/// The count of a proposal's vote as it stands, read in `conn`.
pub async fn count(conn: &mut sqlx::AnyConnection, p: &Proposal) -> Result<tally::Count, Error> {
    let voters = store::vote::voter_ids(conn, &p.id).await?;
    let ballots = store::vote::ballots(conn, &p.id).await?;
    let delegations = store::vote::delegations(conn, &p.id).await?;
    Ok(tally::count(&p.options, &voters, &ballots, &delegations))
}

/// Voting to its outcome by the proposal's rule. Schedules the notice to
/// the informed departments in the same transaction.
#[tracing::instrument(skip_all, fields(proposal_id = %id, by_deadline = mover.by_deadline()))]
pub async fn close_voting(
    s: &Decisions,
    mover: Mover<'_>,
    id: &str,
    rationale: String,
) -> Result<Proposal, Error> {
    let who = mover.principal();
    let now = s.now();
    let mut tx = s.db.begin().await?;
    let mut p = store::proposal::get(&mut tx, id, s.db.for_update())
        .await?
        .ok_or_else(|| not_found(id))?;
    if mover.by_deadline() && (p.stage != Stage::Voting || now < p.voting_end_ms) {
        return Ok(p);
    }
    let read = p.version;
    let c = count(&mut tx, &p).await?;
    let v = tally::verdict(
        p.rule,
        p.quorum_percent,
        p.approve_or_reject,
        &p.options,
        &c,
    );
    let by = match mover {
        Mover::Person(who) => Some(who.subject.clone()),
        Mover::Deadline => None,
    };
    p.close_voting(now, &v, by, rationale)?;
    save(&mut tx, &p, read).await?;
    due::cancel(&mut tx, VOTING_END, id).await?;
    if !p.departments(ParticipationRole::Informed).is_empty() {
        due::schedule(&mut tx, INFORM, id, now, "").await?;
    }
    let outcome = p.outcome.as_ref();
    let detail = json!({
        "result": v.result.as_str(),
        "chosen_option_id": v.chosen,
        "explanation": v.explanation,
        "rationale": outcome.map(|o| o.rationale.clone()),
        "eligible": c.eligible,
        "participated": c.participated,
        "by_proxy": c.by_proxy,
        "by_deadline": mover.by_deadline(),
    });
    audit::record(
        &mut tx,
        now,
        &who,
        "proposal.outcome",
        &proposal_resource(id),
        detail,
    )
    .await?;
    tx.commit().await?;
    crate::metrics::decided((now - p.created_ms) as f64 / 1000.0);
    s.refresh_gauges().await;
    Ok(p)
}

/// Decided to implementing, or on to closed.
#[tracing::instrument(skip_all, fields(proposal_id = %id, to = to.as_str()))]
pub async fn finish(
    s: &Decisions,
    who: &Principal,
    id: &str,
    to: Stage,
) -> Result<Proposal, Error> {
    let now = s.now();
    let mut tx = s.db.begin().await?;
    let mut p = store::proposal::get(&mut tx, id, s.db.for_update())
        .await?
        .ok_or_else(|| not_found(id))?;
    let read = p.version;
    let action = match to {
        Stage::Implementing => {
            p.start_implementing(now)?;
            "proposal.implementing"
        }
        _ => {
            p.close(now)?;
            "proposal.closed"
        }
    };
    save(&mut tx, &p, read).await?;
    audit::record(&mut tx, now, who, action, &proposal_resource(id), json!({})).await?;
    tx.commit().await?;
    s.refresh_gauges().await;
    Ok(p)
}

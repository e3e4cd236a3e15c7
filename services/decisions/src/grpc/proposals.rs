//! Proposals: create, read, list, change and move through the stages.

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, remember, replay};
use concord_kit::ids::{check_id, check_opt_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, due, fields};
use concord_proto::decisions::v1 as pb;
use serde_json::json;

use super::{convert, requests};
use crate::domain::access::{ensure_may_move, may_see, owning_department, sees_all_drafts};
use crate::domain::{Proposal, ProposalField, REASON_MAX, Stage};
use crate::flow::{self, CONSULTATION_END, Mover};
use crate::service::{Decisions, proposal_resource};
use crate::store;
use crate::store::proposal::Filter;

const KIND: &str = "proposal";

/// Reads a proposal the caller may see.
pub async fn visible(s: &Decisions, who: &Principal, id: &str) -> Result<Proposal, Error> {
    let p = store::proposal::get(&mut *s.conn().await?, id, "")
        .await?
        .ok_or_else(|| Error::not_found(KIND, id))?;
    if !may_see(who, &p) {
        return Err(Error::denied(
            "a draft is seen by its proposer, the owning department's head, admins and auditors",
        ));
    }
    Ok(p)
}

/// Renders `p` with its count of unanswered objections.
pub async fn render(s: &Decisions, p: &Proposal) -> Result<pb::Proposal, Error> {
    let n = store::comment::unanswered_objections(&mut *s.conn().await?, &p.id).await?;
    Ok(convert::proposal(p, n))
}

/// The `(field, department id)` pairs a proposal's participants name.
fn participant_fields(prefix: &str, p: &[crate::domain::Participant]) -> Vec<(String, String)> {
    p.iter()
        .enumerate()
        .map(|(i, x)| {
            (
                format!("{prefix}participants[{i}].department_id"),
                x.department_id.clone(),
            )
        })
        .collect()
}

pub async fn create(
    s: &Decisions,
    who: &Principal,
    req: &pb::CreateProposalRequest,
) -> Result<pb::Proposal, Error> {
    let now = s.now();
    let (content, asked) = requests::new_proposal(req, now)?;
    let owning = owning_department(who, asked.as_deref())?;
    let mut departments = vec![("owning_department_id".to_string(), owning.clone())];
    departments.extend(participant_fields("", &content.participants));
    s.directory.check_departments(&departments).await?;
    let key = Key::new("CreateProposal", &who.subject, &req.request_id);
    let mut tx = s.db.begin().await?;
    if let Some(done) = replay::<pb::Proposal>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let p = Proposal::draft(new_id(), who.subject.clone(), owning, content, now);
    store::proposal::insert(&mut tx, &p).await?;
    let detail = json!({
        "title": p.title,
        "owning_department_id": p.owning_department_id,
        "options": p.options.iter().map(|o| &o.label).collect::<Vec<_>>(),
        "participants": p.participants.iter()
            .map(|x| json!({ "department_id": x.department_id, "role": x.role.as_str() }))
            .collect::<Vec<_>>(),
        "rule": p.rule.as_str(),
        "quorum_percent": p.quorum_percent,
        "electorate": p.electorate.as_str(),
        "sealed": p.sealed,
        "consultation_end_ms": p.consultation_end_ms,
        "voting_end_ms": p.voting_end_ms,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "proposal.create",
        &proposal_resource(&p.id),
        detail,
    )
    .await?;
    let out = convert::proposal(&p, 0);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    s.refresh_gauges().await;
    Ok(out)
}

pub async fn get(
    s: &Decisions,
    who: &Principal,
    req: &pb::GetProposalRequest,
) -> Result<pb::Proposal, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    let p = visible(s, who, &req.id).await?;
    render(s, &p).await
}

pub async fn list(
    s: &Decisions,
    who: &Principal,
    req: &pb::ListProposalsRequest,
) -> Result<pb::ListProposalsResponse, Error> {
    let mut v = Violations::new();
    let department = fields::opt_id(&mut v, "department_id", &req.department_id);
    // Proposers are principals: people (UUIDs) or, for admins, any subject.
    concord_kit::ids::check_opt_text(&mut v, "proposer_id", &req.proposer_id, 200);
    let proposer = (!req.proposer_id.is_empty()).then_some(req.proposer_id.as_str());
    let stage = convert::stage_from(req.stage);
    if req.stage != 0 && stage.is_none() {
        v.add("stage", "is not a known stage");
    }
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let filter_text = format!(
        "proposals|{}|{}|{}",
        req.stage, req.department_id, req.proposer_id
    );
    let page = Page::parse(req.page_size, &req.page_token, &filter_text)?;
    let heads = who.department_id.as_deref().filter(|d| who.heads(d));
    let f = Filter {
        stage,
        department_id: department.as_deref(),
        proposer_id: proposer,
        all_drafts: sees_all_drafts(who),
        me: &who.subject,
        heads,
    };
    let mut conn = s.conn().await?;
    let rows =
        store::proposal::list(&mut conn, &f, page.after.as_deref(), page.fetch_limit()).await?;
    let (rows, next_page_token) = page.finish(rows, |p| p.id.clone());
    let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let unanswered = store::comment::unanswered_for(&mut conn, &ids).await?;
    Ok(pb::ListProposalsResponse {
        proposals: rows
            .iter()
            .map(|p| convert::proposal(p, unanswered.get(&p.id).copied().unwrap_or(0)))
            .collect(),
        next_page_token,
    })
}

pub async fn update(
    s: &Decisions,
    who: &Principal,
    req: &pb::UpdateProposalRequest,
) -> Result<pb::Proposal, Error> {
    let now = s.now();
    let change = requests::proposal_change(req, now)?;
    if change.touches(ProposalField::Participants) {
        let fields = participant_fields("proposal.", &change.content.participants);
        s.directory.check_departments(&fields).await?;
    }
    let mut tx = s.db.begin().await?;
    let mut p = store::proposal::get(&mut tx, &change.id, s.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found(KIND, &change.id))?;
    if !may_see(who, &p) {
        return Err(Error::denied("this draft is not yours to change"));
    }
    fields::check_etag(KIND, change.expected_version, p.version)?;
    ensure_may_move(who, &p)?;
    let read = p.version;
    p.apply(&change, now)?;
    p.version += 1;
    p.updated_ms = now;
    let participants = change.touches(ProposalField::Participants);
    if !store::proposal::update(&mut tx, &p, read, participants).await? {
        return Err(Error::stale_etag(KIND));
    }
    if change.touches(ProposalField::ConsultationEnd) && p.stage == Stage::Consultation {
        due::schedule(&mut tx, CONSULTATION_END, &p.id, p.consultation_end_ms, "").await?;
    }
    let fields: Vec<&str> = change.fields.iter().map(|f| f.path()).collect();
    let detail = json!({
        "fields": fields,
        "title": p.title,
        "consultation_end_ms": p.consultation_end_ms,
        "voting_end_ms": p.voting_end_ms,
        "rationale": p.outcome.as_ref().map(|o| o.rationale.clone()),
    });
    audit::record(
        &mut tx,
        now,
        who,
        "proposal.update",
        &proposal_resource(&p.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    render(s, &p).await
}

pub async fn advance(
    s: &Decisions,
    who: &Principal,
    req: &pb::AdvanceProposalRequest,
) -> Result<pb::Proposal, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let from = convert::stage_from(req.from_stage);
    if from.is_none() {
        v.add("from_stage", "is required: the stage the proposal is in");
    }
    check_opt_text(&mut v, "rationale", &req.rationale, REASON_MAX);
    if !req.rationale.is_empty() && from.is_some_and(|f| f != Stage::Voting) {
        v.add("rationale", "is recorded only when closing the vote");
    }
    v.into_result()?;
    let Some(from) = from else {
        return Err(concord_kit::invalid("from_stage", "is required"));
    };
    let p = visible(s, who, &req.id).await?;
    ensure_may_move(who, &p)?;
    if p.stage != from {
        return Err(Error::precondition(format!(
            "the proposal is in stage {}, not {}",
            p.stage.as_str(),
            from.as_str()
        )));
    }
    let moved = match from {
        Stage::Draft => flow::open_consultation(s, who, &p.id).await?,
        Stage::Consultation => flow::open_voting(s, Mover::Person(who), &p.id).await?,
        Stage::Voting => {
            flow::close_voting(
                s,
                Mover::Person(who),
                &p.id,
                req.rationale.trim().to_string(),
            )
            .await?
        }
        Stage::Decided => flow::finish(s, who, &p.id, Stage::Implementing).await?,
        Stage::Rejected | Stage::NoQuorum | Stage::Implementing => {
            flow::finish(s, who, &p.id, Stage::Closed).await?
        }
        Stage::Closed => return Err(Error::precondition("a closed proposal moves no further")),
    };
    render(s, &moved).await
}

//! Proposals brought to every stage (a draft, one in consultation with an
//! objection answered, one being voted on, decided, rejected, without
//! quorum, implementing, closed) and the action items that follow.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use concord_kit::clock::to_timestamp;
use concord_proto::decisions::v1::*;
use concord_proto::directory::v1::Person;

use super::content::{ActionSpec, Goal, ProposalSpec};
use super::org::Org;
use super::session::{Session, call, pages};

pub async fn proposals(s: &Session, org: &Org) -> anyhow::Result<HashMap<&'static str, String>> {
    let mut ids = HashMap::new();
    for spec in s.content.proposals {
        let id = proposal(s, org, spec)
            .await
            .with_context(|| format!("the proposal {}", spec.title))?;
        ids.insert(spec.key, id);
        s.step(spec.title);
    }
    Ok(ids)
}

async fn proposal(s: &Session, org: &Org, spec: &ProposalSpec) -> anyhow::Result<String> {
    let proposer = org.head(spec.owner);
    let conn = s.as_person(proposer)?;
    let dec = conn.decisions();
    let mine = pages!(
        dec,
        list_proposals,
        ListProposalsRequest {
            proposer_id: proposer.id.clone(),
            ..Default::default()
        },
        proposals
    );
    let mut p = match mine.into_iter().find(|p| p.title == spec.title) {
        Some(p) => {
            s.found();
            p
        }
        None => {
            s.made();
            let role = |keys: &[&str], role: ParticipationRole, skip: &HashSet<&str>| {
                keys.iter()
                    .filter(|k| !skip.contains(**k))
                    .map(|k| Participant {
                        department_id: org.id(k),
                        role: role as i32,
                    })
                    .collect::<Vec<_>>()
            };
            let approving: HashSet<&str> = spec.approving.iter().copied().collect();
            let mut taken = approving.clone();
            let mut participants = role(
                spec.approving,
                ParticipationRole::Approving,
                &HashSet::new(),
            );
            participants.extend(role(spec.consulted, ParticipationRole::Consulted, &taken));
            taken.extend(spec.consulted.iter().copied());
            participants.extend(role(spec.informed, ParticipationRole::Informed, &taken));
            let electorate = if spec.heads_only {
                Electorate::ApprovingHeads
            } else {
                Electorate::ApprovingMembers
            };
            call!(
                dec,
                create_proposal,
                CreateProposalRequest {
                    request_id: s.rid(&["proposal", spec.key]),
                    title: spec.title.into(),
                    background: spec.background.into(),
                    options: spec.options.iter().map(|o| o.to_string()).collect(),
                    owning_department_id: org.id(spec.owner),
                    participants,
                    rule: spec.rule,
                    quorum_percent: spec.quorum,
                    electorate: electorate as i32,
                    sealed: false,
                    consultation_end_time: Some(to_timestamp(s.days(3))),
                    voting_end_time: Some(to_timestamp(s.days(7))),
                }
            )?
        }
    };
    // Bring it forward one stage at a time until it reaches its goal.
    loop {
        let stage = Stage::try_from(p.stage).unwrap_or(Stage::Unspecified);
        let advance = match stage {
            Stage::Draft => spec.goal > Goal::Draft,
            Stage::Consultation => {
                comment(s, org, spec, &p).await?;
                spec.goal > Goal::Consultation
            }
            Stage::Voting => {
                vote(s, org, spec, &p).await?;
                spec.goal >= Goal::Decided
            }
            Stage::Decided => spec.goal >= Goal::Implementing,
            Stage::Implementing => spec.goal >= Goal::Closed,
            _ => false,
        };
        if !advance {
            return Ok(p.id);
        }
        p = call!(
            dec,
            advance_proposal,
            AdvanceProposalRequest {
                id: p.id.clone(),
                from_stage: p.stage,
                rationale: if stage == Stage::Voting {
                    spec.rationale.to_string()
                } else {
                    String::new()
                },
            }
        )?;
    }
}

/// The heads' comments, and the proposer's answer to each objection.
async fn comment(s: &Session, org: &Org, spec: &ProposalSpec, p: &Proposal) -> anyhow::Result<()> {
    let proposer = s.as_person(org.head(spec.owner))?;
    let existing = pages!(
        proposer.decisions(),
        list_comments,
        ListCommentsRequest {
            proposal_id: p.id.clone(),
            ..Default::default()
        },
        comments
    );
    let mut written: Vec<Comment> = existing;
    for (dept, stance, body) in spec.comments {
        if written.iter().any(|c| c.body == *body) {
            continue;
        }
        let author = s.as_person(org.head(dept))?;
        let c = call!(
            author.decisions(),
            create_comment,
            CreateCommentRequest {
                request_id: s.rid(&["comment", spec.key, body]),
                proposal_id: p.id.clone(),
                parent_id: String::new(),
                stance: *stance,
                body: body.to_string(),
            }
        )?;
        written.push(c);
    }
    if spec.reply.is_empty() {
        return Ok(());
    }
    let objections: Vec<&Comment> = written
        .iter()
        .filter(|c| c.stance == Stance::Objection as i32 && !c.answered)
        .collect();
    for o in objections {
        if written.iter().any(|c| c.parent_id == o.id) {
            continue;
        }
        call!(
            proposer.decisions(),
            create_comment,
            CreateCommentRequest {
                request_id: s.rid(&["reply", spec.key, &o.id]),
                proposal_id: p.id.clone(),
                parent_id: o.id.clone(),
                stance: 0,
                body: spec.reply.to_string(),
            }
        )?;
    }
    Ok(())
}

/// The eligible voters who have not voted yet vote as the spec says.
async fn vote(s: &Session, org: &Org, spec: &ProposalSpec, p: &Proposal) -> anyhow::Result<()> {
    if spec.votes.is_empty() {
        return Ok(());
    }
    let proposer = s.as_person(org.head(spec.owner))?;
    let voters = pages!(
        proposer.decisions(),
        list_eligible_voters,
        ListEligibleVotersRequest {
            proposal_id: p.id.clone(),
            ..Default::default()
        },
        voters
    );
    let voted: HashSet<String> = pages!(
        proposer.decisions(),
        list_votes,
        ListVotesRequest {
            proposal_id: p.id.clone(),
            ..Default::default()
        },
        votes
    )
    .into_iter()
    .map(|v| v.voter_id)
    .collect();
    let people: HashMap<&str, &Person> = org
        .everyone()
        .into_iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    // Auditors read but never vote.
    let auditor = concord_proto::policy::v1::Role::Auditor as i32;
    let voters: Vec<&Person> = voters
        .iter()
        .filter_map(|v| people.get(v.person_id.as_str()).copied())
        .filter(|p| !p.roles.contains(&auditor))
        .collect();
    let limit = spec.voters.unwrap_or(voters.len());
    for (i, person) in voters.into_iter().take(limit).enumerate() {
        if voted.contains(&person.id) {
            continue;
        }
        let choice = spec.votes[i % spec.votes.len()];
        let voter = s.as_person(person)?;
        call!(
            voter.decisions(),
            cast_vote,
            CastVoteRequest {
                proposal_id: p.id.clone(),
                option_id: if choice == "abstain" {
                    String::new()
                } else {
                    choice.to_string()
                },
                abstain: choice == "abstain",
                reason: String::new(),
            }
        )?;
    }
    Ok(())
}

pub async fn action_items(
    s: &Session,
    org: &Org,
    proposals: &HashMap<&'static str, String>,
) -> anyhow::Result<()> {
    let coordinator = s.as_person(org.coordinator())?;
    let existing = pages!(
        coordinator.actions(),
        list_action_items,
        ListActionItemsRequest::default(),
        action_items
    );
    for (n, spec) in s.content.actions.iter().enumerate() {
        let item = match existing.iter().find(|a| a.title == spec.title) {
            Some(a) => {
                s.found();
                a.clone()
            }
            None => {
                s.made();
                create(s, org, spec, n, proposals)
                    .await
                    .with_context(|| format!("the action item {}", spec.title))?
            }
        };
        progress(s, org, spec, &item)
            .await
            .with_context(|| format!("progress on {}", spec.title))?;
        s.step(spec.title);
    }
    Ok(())
}

async fn create(
    s: &Session,
    org: &Org,
    spec: &ActionSpec,
    n: usize,
    proposals: &HashMap<&'static str, String>,
) -> anyhow::Result<ActionItem> {
    let coordinator = s.as_person(org.coordinator())?;
    Ok(call!(
        coordinator.actions(),
        create_action_item,
        CreateActionItemRequest {
            request_id: s.rid(&["action", spec.key]),
            title: spec.title.into(),
            description: spec.description.into(),
            proposal_id: spec
                .proposal
                .and_then(|k| proposals.get(k).cloned())
                .unwrap_or_default(),
            lead_department_id: org.id(spec.lead),
            supporting_department_ids: spec.supporting.iter().map(|k| org.id(k)).collect(),
            owner_id: org.someone_in(spec.lead, n).id.clone(),
            due_time: Some(to_timestamp(s.days(spec.due_days))),
        }
    )?)
}

/// The owner's notes; the last one sets the spec's status.
async fn progress(
    s: &Session,
    org: &Org,
    spec: &ActionSpec,
    item: &ActionItem,
) -> anyhow::Result<()> {
    let owner = org
        .everyone()
        .into_iter()
        .find(|p| p.id == item.owner_id)
        .context("the owner is not one of the demo's people")?;
    let conn = s.as_person(owner)?;
    let notes = pages!(
        conn.actions(),
        list_progress_notes,
        ListProgressNotesRequest {
            action_item_id: item.id.clone(),
            ..Default::default()
        },
        notes
    );
    for (i, text) in spec.notes.iter().enumerate() {
        if notes.iter().any(|n| n.text == *text) {
            continue;
        }
        let last = i + 1 == spec.notes.len();
        let status = if last {
            spec.status
        } else {
            ActionItemStatus::InProgress as i32
        };
        call!(
            conn.actions(),
            report_progress,
            ReportProgressRequest {
                request_id: s.rid(&["progress", spec.key, text]),
                action_item_id: item.id.clone(),
                text: text.to_string(),
                status,
            }
        )?;
    }
    Ok(())
}

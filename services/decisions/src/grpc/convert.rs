//! Domain values rendered as messages, and the enum mappings both ways.

use concord_kit::clock::{to_timestamp, to_timestamp_opt};
use concord_kit::fields::render_etag;
use concord_proto::decisions::v1 as pb;

use crate::domain::{
    ActionItem, ActionStatus, Comment, Electorate, ParticipationRole, Proposal, Stage, Stance,
    VotingRule,
};
use crate::store::action_item::Note;
use crate::store::vote::{Vote, Voter};

pub fn stage(s: Stage) -> pb::Stage {
    match s {
        Stage::Draft => pb::Stage::Draft,
        Stage::Consultation => pb::Stage::Consultation,
        Stage::Voting => pb::Stage::Voting,
        Stage::Decided => pb::Stage::Decided,
        Stage::Rejected => pb::Stage::Rejected,
        Stage::NoQuorum => pb::Stage::NoQuorum,
        Stage::Implementing => pb::Stage::Implementing,
        Stage::Closed => pb::Stage::Closed,
    }
}

/// `None` for unspecified or unknown values.
pub fn stage_from(v: i32) -> Option<Stage> {
    Stage::ALL.into_iter().find(|s| stage(*s) as i32 == v)
}

pub fn rule(r: VotingRule) -> pb::VotingRule {
    match r {
        VotingRule::SimpleMajority => pb::VotingRule::SimpleMajority,
        VotingRule::TwoThirds => pb::VotingRule::TwoThirds,
        VotingRule::Unanimity => pb::VotingRule::Unanimity,
        VotingRule::Consent => pb::VotingRule::Consent,
    }
}

pub fn rule_from(v: i32) -> Option<VotingRule> {
    match pb::VotingRule::try_from(v).ok()? {
        pb::VotingRule::SimpleMajority => Some(VotingRule::SimpleMajority),
        pb::VotingRule::TwoThirds => Some(VotingRule::TwoThirds),
        pb::VotingRule::Unanimity => Some(VotingRule::Unanimity),
        pb::VotingRule::Consent => Some(VotingRule::Consent),
        pb::VotingRule::Unspecified => None,
    }
}

pub fn electorate(e: Electorate) -> pb::Electorate {
    match e {
        Electorate::ApprovingMembers => pb::Electorate::ApprovingMembers,
        Electorate::ApprovingHeads => pb::Electorate::ApprovingHeads,
    }
}

pub fn electorate_from(v: i32) -> Option<Electorate> {
    match pb::Electorate::try_from(v).ok()? {
        pb::Electorate::ApprovingMembers => Some(Electorate::ApprovingMembers),
        pb::Electorate::ApprovingHeads => Some(Electorate::ApprovingHeads),
        pb::Electorate::Unspecified => None,
    }
}

pub fn role(r: ParticipationRole) -> pb::ParticipationRole {
    match r {
        ParticipationRole::Consulted => pb::ParticipationRole::Consulted,
        ParticipationRole::Approving => pb::ParticipationRole::Approving,
        ParticipationRole::Informed => pb::ParticipationRole::Informed,
    }
}

pub fn role_from(v: i32) -> Option<ParticipationRole> {
    match pb::ParticipationRole::try_from(v).ok()? {
        pb::ParticipationRole::Consulted => Some(ParticipationRole::Consulted),
        pb::ParticipationRole::Approving => Some(ParticipationRole::Approving),
        pb::ParticipationRole::Informed => Some(ParticipationRole::Informed),
        pb::ParticipationRole::Unspecified => None,
    }
}

pub fn stance(s: Stance) -> pb::Stance {
    match s {
        Stance::None => pb::Stance::Unspecified,
        Stance::Support => pb::Stance::Support,
        Stance::Concern => pb::Stance::Concern,
        Stance::Objection => pb::Stance::Objection,
    }
}

/// Unspecified is [`Stance::None`]; `None` for unknown values.
pub fn stance_from(v: i32) -> Option<Stance> {
    Some(match pb::Stance::try_from(v).ok()? {
        pb::Stance::Unspecified => Stance::None,
        pb::Stance::Support => Stance::Support,
        pb::Stance::Concern => Stance::Concern,
        pb::Stance::Objection => Stance::Objection,
    })
}

pub fn status(s: ActionStatus) -> pb::ActionItemStatus {
    match s {
        ActionStatus::Open => pb::ActionItemStatus::Open,
        ActionStatus::InProgress => pb::ActionItemStatus::InProgress,
        ActionStatus::Blocked => pb::ActionItemStatus::Blocked,
        ActionStatus::Done => pb::ActionItemStatus::Done,
    }
}

pub fn status_from(v: i32) -> Option<ActionStatus> {
    ActionStatus::ALL
        .into_iter()
        .find(|s| status(*s) as i32 == v)
}

pub fn proposal(p: &Proposal, unanswered_objections: i64) -> pb::Proposal {
    pb::Proposal {
        id: p.id.clone(),
        title: p.title.clone(),
        background: p.background.clone(),
        options: p
            .options
            .iter()
            .map(|o| pb::ProposalOption {
                id: o.id.clone(),
                label: o.label.clone(),
            })
            .collect(),
        approve_or_reject: p.approve_or_reject,
        proposer_id: p.proposer_id.clone(),
        owning_department_id: p.owning_department_id.clone(),
        participants: p
            .participants
            .iter()
            .map(|x| pb::Participant {
                department_id: x.department_id.clone(),
                role: role(x.role) as i32,
            })
            .collect(),
        rule: rule(p.rule) as i32,
        quorum_percent: i32::try_from(p.quorum_percent).unwrap_or(0),
        electorate: electorate(p.electorate) as i32,
        sealed: p.sealed,
        consultation_end_time: Some(to_timestamp(p.consultation_end_ms)),
        voting_end_time: Some(to_timestamp(p.voting_end_ms)),
        stage: stage(p.stage) as i32,
        stage_time: Some(to_timestamp(p.stage_ms)),
        consultation_start_time: to_timestamp_opt(p.consultation_start_ms),
        voting_start_time: to_timestamp_opt(p.voting_start_ms),
        outcome: p.outcome.as_ref().map(|o| pb::Outcome {
            result: stage(o.result) as i32,
            chosen_option_id: o.chosen_option.clone().unwrap_or_default(),
            explanation: o.explanation.clone(),
            rationale: o.rationale.clone(),
            decide_time: Some(to_timestamp(o.decided_ms)),
            decided_by: o.decided_by.clone().unwrap_or_default(),
            notice_id: o.notice_id.clone().unwrap_or_default(),
        }),
        eligible_voters: p.eligible_voters,
        unanswered_objections,
        create_time: Some(to_timestamp(p.created_ms)),
        update_time: Some(to_timestamp(p.updated_ms)),
        etag: render_etag(p.version),
    }
}

pub fn comment(c: &Comment) -> pb::Comment {
    pb::Comment {
        id: c.id.clone(),
        proposal_id: c.proposal_id.clone(),
        parent_id: c.parent_id.clone().unwrap_or_default(),
        author_id: c.author_id.clone(),
        author_department_id: c.author_department_id.clone(),
        stance: stance(c.stance) as i32,
        body: c.body.clone(),
        create_time: Some(to_timestamp(c.created_ms)),
        answered: c.answered,
    }
}

pub fn vote(v: &Vote, proxy_for: Vec<String>) -> pb::Vote {
    let (option_id, abstain) = match &v.choice {
        crate::domain::Choice::Option(o) => (o.clone(), false),
        crate::domain::Choice::Abstain => (String::new(), true),
    };
    pb::Vote {
        proposal_id: v.proposal_id.clone(),
        voter_id: v.voter_id.clone(),
        option_id,
        abstain,
        reason: v.reason.clone(),
        cast_time: Some(to_timestamp(v.cast_ms)),
        update_time: Some(to_timestamp(v.updated_ms)),
        changes: v.changes,
        proxy_for,
    }
}

pub fn voter(v: &Voter) -> pb::Voter {
    pb::Voter {
        person_id: v.person_id.clone(),
        department_id: v.department_id.clone(),
        display_name: v.display_name.clone(),
        delegate_id: v.delegate_id.clone().unwrap_or_default(),
    }
}

/// An item as of `now`: overdue when flagged, or past due and not done.
pub fn action_item(a: &ActionItem, now: i64) -> pb::ActionItem {
    pb::ActionItem {
        id: a.id.clone(),
        title: a.title.clone(),
        description: a.description.clone(),
        proposal_id: a.proposal_id.clone().unwrap_or_default(),
        lead_department_id: a.lead_department_id.clone(),
        supporting_department_ids: a.supporting_department_ids.clone(),
        owner_id: a.owner_id.clone(),
        due_time: Some(to_timestamp(a.due_ms)),
        status: status(a.status) as i32,
        overdue: a.overdue || a.is_overdue_at(now),
        done_time: to_timestamp_opt(a.done_ms),
        created_by: a.created_by.clone(),
        create_time: Some(to_timestamp(a.created_ms)),
        update_time: Some(to_timestamp(a.updated_ms)),
        etag: render_etag(a.version),
    }
}

pub fn note(n: &Note) -> pb::ProgressNote {
    pb::ProgressNote {
        id: n.id.clone(),
        action_item_id: n.action_item_id.clone(),
        author_id: n.author_id.clone(),
        text: n.text.clone(),
        status: n.status.map_or(pb::ActionItemStatus::Unspecified, status) as i32,
        create_time: Some(to_timestamp(n.created_ms)),
    }
}

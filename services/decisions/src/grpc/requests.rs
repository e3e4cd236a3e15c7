//! Requests validated into domain values, every bad field named (AIP-style
//! `participants[1].role`, `proposal.title`), before anything is read or
//! written.

use std::collections::HashSet;

use concord_kit::clock::from_timestamp;
use concord_kit::idempotency::check_request_id;
use concord_kit::ids::{check_id, check_opt_text, check_text};
use concord_kit::{Error, Violations, fields};
use concord_proto::decisions::v1 as pb;
use prost_types::{FieldMask, Timestamp};

use super::convert;
use crate::domain::{
    ActionItemChange, ActionItemField, DEPARTMENTS_MAX, NewActionItem, NewComment, OPTION_MAX,
    OPTIONS_MAX, Participant, ParticipationRole, ProposalChange, ProposalContent, ProposalField,
    REASON_MAX, TEXT_MAX, TITLE_MAX, VotingRule,
};

/// A title: required, one line, trimmed.
pub fn title(v: &mut Violations, field: &str, value: &str) -> String {
    let value = value.trim();
    check_text(v, field, value, TITLE_MAX);
    if value.contains(['\n', '\r']) {
        v.add(field, "must be a single line");
    }
    value.to_string()
}

/// A required time.
pub fn time(v: &mut Violations, field: &str, ts: Option<&Timestamp>) -> i64 {
    match ts.map(from_timestamp) {
        Some(Some(ms)) => ms,
        Some(None) => {
            v.add(field, "is not a valid timestamp");
            0
        }
        None => {
            v.add(field, "is required");
            0
        }
    }
}

/// The fields of an `UpdateProposal` mask: the draft's fields (what `*`
/// names) and `outcome.rationale`, which is named on its own.
fn proposal_mask(v: &mut Violations, mask: Option<&FieldMask>) -> Vec<ProposalField> {
    const RATIONALE: &str = "outcome.rationale";
    let rationale = mask.is_some_and(|m| m.paths.iter().any(|p| p == RATIONALE));
    let rest = mask.map(|m| FieldMask {
        paths: m
            .paths
            .iter()
            .filter(|p| *p != RATIONALE)
            .cloned()
            .collect(),
    });
    let mut fields = match &rest {
        Some(r) if rationale && r.paths.is_empty() => Vec::new(),
        _ => fields::update_mask(v, rest.as_ref(), &ProposalField::KNOWN),
    };
    if rationale {
        fields.push(ProposalField::Rationale);
    }
    fields
}

/// The client-set parts of a proposal, as they arrive.
struct Raw<'a> {
    title: &'a str,
    background: &'a str,
    labels: Vec<&'a str>,
    participants: &'a [pb::Participant],
    rule: i32,
    quorum_percent: i32,
    electorate: i32,
    sealed: bool,
    consultation_end: Option<&'a Timestamp>,
    voting_end: Option<&'a Timestamp>,
}

/// Validates the `fields` of `raw`; `prefix` is "" or "proposal.",
/// `label_field` names the field of the i-th option label.
fn content(
    v: &mut Violations,
    prefix: &str,
    raw: &Raw<'_>,
    fields: &[ProposalField],
    label_field: &dyn Fn(usize) -> String,
    now: i64,
) -> ProposalContent {
    let has = |f| fields.contains(&f);
    let f = |name: &str| format!("{prefix}{name}");
    let mut c = ProposalContent {
        title: String::new(),
        background: raw.background.to_string(),
        option_labels: Vec::new(),
        participants: Vec::new(),
        rule: VotingRule::SimpleMajority,
        quorum_percent: i64::from(raw.quorum_percent),
        electorate: crate::domain::Electorate::ApprovingMembers,
        sealed: raw.sealed,
        consultation_end_ms: 0,
        voting_end_ms: 0,
    };
    if has(ProposalField::Title) {
        c.title = title(v, &f("title"), raw.title);
    }
    if has(ProposalField::Background) {
        check_opt_text(v, &f("background"), raw.background, TEXT_MAX);
    }
    if has(ProposalField::Options) {
        match raw.labels.len() {
            1 => v.add(
                f("options"),
                "give two or more options, or none for approve/reject",
            ),
            n if n > OPTIONS_MAX => v.add(f("options"), format!("at most {OPTIONS_MAX} options")),
            _ => {}
        }
        let mut seen = HashSet::new();
        for (i, label) in raw.labels.iter().enumerate() {
            let label = label.trim();
            let field = label_field(i);
            check_text(v, &field, label, OPTION_MAX);
            if !label.is_empty() && !seen.insert(label.to_lowercase()) {
                v.add(field, "repeats another option");
            }
            c.option_labels.push(label.to_string());
        }
    }
    if has(ProposalField::Participants) {
        if raw.participants.len() > DEPARTMENTS_MAX {
            v.add(
                f("participants"),
                format!("at most {DEPARTMENTS_MAX} departments"),
            );
        }
        let mut seen = HashSet::new();
        for (i, p) in raw.participants.iter().enumerate() {
            let field = f(&format!("participants[{i}]"));
            check_id(v, &format!("{field}.department_id"), &p.department_id);
            if !p.department_id.is_empty() && !seen.insert(p.department_id.as_str()) {
                v.add(format!("{field}.department_id"), "names a department twice");
            }
            match convert::role_from(p.role) {
                Some(role) => c.participants.push(Participant {
                    department_id: p.department_id.clone(),
                    role,
                }),
                None => v.add(format!("{field}.role"), "is required"),
            }
        }
        if !raw
            .participants
            .iter()
            .any(|p| convert::role_from(p.role) == Some(ParticipationRole::Approving))
        {
            v.add(f("participants"), "needs at least one approving department");
        }
    }
    if has(ProposalField::Rule) {
        match convert::rule_from(raw.rule) {
            Some(r) => c.rule = r,
            None => v.add(f("rule"), "is required"),
        }
    }
    if has(ProposalField::QuorumPercent) && !(0..=100).contains(&raw.quorum_percent) {
        v.add(f("quorum_percent"), "must be between 0 and 100");
    }
    if has(ProposalField::Electorate) {
        match convert::electorate_from(raw.electorate) {
            Some(e) => c.electorate = e,
            None => v.add(f("electorate"), "is required"),
        }
    }
    if has(ProposalField::ConsultationEnd) {
        c.consultation_end_ms = time(v, &f("consultation_end_time"), raw.consultation_end);
        if raw.consultation_end.is_some()
            && c.consultation_end_ms != 0
            && c.consultation_end_ms <= now
        {
            v.add(f("consultation_end_time"), "must be in the future");
        }
    }
    if has(ProposalField::VotingEnd) {
        c.voting_end_ms = time(v, &f("voting_end_time"), raw.voting_end);
    }
    c
}

/// A validated `CreateProposal`: the content and the owning department asked
/// for.
pub fn new_proposal(
    req: &pb::CreateProposalRequest,
    now: i64,
) -> Result<(ProposalContent, Option<String>), Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    let owning = fields::opt_id(&mut v, "owning_department_id", &req.owning_department_id);
    let raw = Raw {
        title: &req.title,
        background: &req.background,
        labels: req.options.iter().map(String::as_str).collect(),
        participants: &req.participants,
        rule: req.rule,
        quorum_percent: req.quorum_percent,
        electorate: req.electorate,
        sealed: req.sealed,
        consultation_end: req.consultation_end_time.as_ref(),
        voting_end: req.voting_end_time.as_ref(),
    };
    let c = content(
        &mut v,
        "",
        &raw,
        &ProposalField::KNOWN.map(|(_, f)| f),
        &|i| format!("options[{i}]"),
        now,
    );
    if c.rule == VotingRule::Consent && !c.option_labels.is_empty() {
        v.add(
            "rule",
            "consent applies to approve/reject proposals only (give no options)",
        );
    }
    if req.voting_end_time.is_some()
        && c.voting_end_ms != 0
        && c.voting_end_ms <= c.consultation_end_ms
    {
        v.add("voting_end_time", "voting must end after consultation ends");
    }
    v.into_result()?;
    Ok((c, owning))
}

/// A validated `UpdateProposal`.
pub fn proposal_change(req: &pb::UpdateProposalRequest, now: i64) -> Result<ProposalChange, Error> {
    let mut v = Violations::new();
    let fields = proposal_mask(&mut v, req.update_mask.as_ref());
    let Some(p) = req.proposal.as_ref() else {
        v.add("proposal", "is required");
        return Err(Error::Invalid(v));
    };
    check_id(&mut v, "proposal.id", &p.id);
    let expected_version = fields::etag(&mut v, "proposal.etag", &p.etag);
    let raw = Raw {
        title: &p.title,
        background: &p.background,
        labels: p.options.iter().map(|o| o.label.as_str()).collect(),
        participants: &p.participants,
        rule: p.rule,
        quorum_percent: p.quorum_percent,
        electorate: p.electorate,
        sealed: p.sealed,
        consultation_end: p.consultation_end_time.as_ref(),
        voting_end: p.voting_end_time.as_ref(),
    };
    let content = content(
        &mut v,
        "proposal.",
        &raw,
        &fields,
        &|i| format!("proposal.options[{i}].label"),
        now,
    );
    let rationale = p
        .outcome
        .as_ref()
        .map(|o| o.rationale.clone())
        .unwrap_or_default();
    if fields.contains(&ProposalField::Rationale) {
        check_opt_text(&mut v, "proposal.outcome.rationale", &rationale, REASON_MAX);
    }
    v.into_result()?;
    Ok(ProposalChange {
        id: p.id.clone(),
        expected_version,
        fields,
        content,
        rationale,
    })
}

/// A validated `CreateComment`.
pub fn new_comment(req: &pb::CreateCommentRequest) -> Result<NewComment, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "proposal_id", &req.proposal_id);
    let parent_id = fields::opt_id(&mut v, "parent_id", &req.parent_id);
    let body = req.body.trim().to_string();
    check_text(&mut v, "body", &body, TEXT_MAX);
    let stance = convert::stance_from(req.stance).unwrap_or_else(|| {
        v.add("stance", "is not a known stance");
        crate::domain::Stance::None
    });
    let c = NewComment {
        proposal_id: req.proposal_id.clone(),
        parent_id,
        stance,
        body,
    };
    if let Some(why) = c.stance_problem() {
        v.add("stance", why);
    }
    v.into_result()?;
    Ok(c)
}

/// The departments and owner of an item, as they arrive.
fn item_values(
    v: &mut Violations,
    prefix: &str,
    a: &ItemRaw<'_>,
    fields: &[ActionItemField],
    now: i64,
) -> NewActionItem {
    let has = |f| fields.contains(&f);
    let f = |name: &str| format!("{prefix}{name}");
    let mut n = NewActionItem {
        title: String::new(),
        description: a.description.to_string(),
        proposal_id: None,
        lead_department_id: a.lead.to_string(),
        supporting_department_ids: Vec::new(),
        owner_id: a.owner.to_string(),
        due_ms: 0,
    };
    if has(ActionItemField::Title) {
        n.title = title(v, &f("title"), a.title);
    }
    if has(ActionItemField::Description) {
        check_opt_text(v, &f("description"), a.description, TEXT_MAX);
    }
    if has(ActionItemField::LeadDepartment) {
        check_id(v, &f("lead_department_id"), a.lead);
    }
    if has(ActionItemField::SupportingDepartments) {
        if a.supporting.len() > DEPARTMENTS_MAX {
            v.add(
                f("supporting_department_ids"),
                format!("at most {DEPARTMENTS_MAX} departments"),
            );
        }
        let mut seen = HashSet::new();
        for (i, d) in a.supporting.iter().enumerate() {
            let field = f(&format!("supporting_department_ids[{i}]"));
            check_id(v, &field, d);
            if !d.is_empty() && !seen.insert(d.as_str()) {
                v.add(field, "names a department twice");
            } else if has(ActionItemField::LeadDepartment) && d == a.lead {
                v.add(field, "is the lead department");
            }
            n.supporting_department_ids.push(d.clone());
        }
    }
    if has(ActionItemField::Owner) {
        check_id(v, &f("owner_id"), a.owner);
    }
    if has(ActionItemField::Due) {
        n.due_ms = time(v, &f("due_time"), a.due);
        if a.due.is_some() && n.due_ms != 0 && n.due_ms <= now {
            v.add(f("due_time"), "must be in the future");
        }
    }
    n
}

struct ItemRaw<'a> {
    title: &'a str,
    description: &'a str,
    lead: &'a str,
    supporting: &'a [String],
    owner: &'a str,
    due: Option<&'a Timestamp>,
}

/// A validated `CreateActionItem`.
pub fn new_action_item(
    req: &pb::CreateActionItemRequest,
    now: i64,
) -> Result<NewActionItem, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    let raw = ItemRaw {
        title: &req.title,
        description: &req.description,
        lead: &req.lead_department_id,
        supporting: &req.supporting_department_ids,
        owner: &req.owner_id,
        due: req.due_time.as_ref(),
    };
    let mut n = item_values(&mut v, "", &raw, &ActionItemField::all(), now);
    n.proposal_id = fields::opt_id(&mut v, "proposal_id", &req.proposal_id);
    v.into_result()?;
    Ok(n)
}

/// A validated `UpdateActionItem`.
pub fn action_item_change(
    req: &pb::UpdateActionItemRequest,
    now: i64,
) -> Result<ActionItemChange, Error> {
    let mut v = Violations::new();
    let fields = fields::update_mask(&mut v, req.update_mask.as_ref(), &ActionItemField::KNOWN);
    let Some(a) = req.action_item.as_ref() else {
        v.add("action_item", "is required");
        return Err(Error::Invalid(v));
    };
    check_id(&mut v, "action_item.id", &a.id);
    let expected_version = fields::etag(&mut v, "action_item.etag", &a.etag);
    let raw = ItemRaw {
        title: &a.title,
        description: &a.description,
        lead: &a.lead_department_id,
        supporting: &a.supporting_department_ids,
        owner: &a.owner_id,
        due: a.due_time.as_ref(),
    };
    let new = item_values(&mut v, "action_item.", &raw, &fields, now);
    v.into_result()?;
    Ok(ActionItemChange {
        id: a.id.clone(),
        expected_version,
        fields,
        new,
    })
}

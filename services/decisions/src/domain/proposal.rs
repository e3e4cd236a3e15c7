//! Proposals and their staged flow. The stages follow one another in a fixed
//! order; each move checks the stage it starts from, so a move is never
//! applied twice nor out of order, whether a person or a deadline makes it.

use concord_kit::Error;
use concord_kit::clock::Millis;

use super::tally::Verdict;

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Draft,
    Consultation,
    Voting,
    Decided,
    Rejected,
    NoQuorum,
    Implementing,
    Closed,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Draft,
        Stage::Consultation,
        Stage::Voting,
        Stage::Decided,
        Stage::Rejected,
        Stage::NoQuorum,
        Stage::Implementing,
        Stage::Closed,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Draft => "draft",
            Stage::Consultation => "consultation",
            Stage::Voting => "voting",
            Stage::Decided => "decided",
            Stage::Rejected => "rejected",
            Stage::NoQuorum => "no_quorum",
            Stage::Implementing => "implementing",
            Stage::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether voting has closed (the outcome is known).
    pub fn is_past_voting(self) -> bool {
        matches!(
            self,
            Stage::Decided
                | Stage::Rejected
                | Stage::NoQuorum
                | Stage::Implementing
                | Stage::Closed
        )
    }

    /// Whether deliberation (comments) is open.
    pub fn is_deliberating(self) -> bool {
        matches!(self, Stage::Consultation | Stage::Voting)
    }
}

/// How votes decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VotingRule {
    SimpleMajority,
    TwoThirds,
    Unanimity,
    Consent,
}

impl VotingRule {
    pub fn as_str(self) -> &'static str {
        match self {
            VotingRule::SimpleMajority => "simple_majority",
            VotingRule::TwoThirds => "two_thirds",
            VotingRule::Unanimity => "unanimity",
            VotingRule::Consent => "consent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            VotingRule::SimpleMajority,
            VotingRule::TwoThirds,
            VotingRule::Unanimity,
            VotingRule::Consent,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Who may vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Electorate {
    /// Every active person of the approving departments.
    ApprovingMembers,
    /// The heads of the approving departments.
    ApprovingHeads,
}

impl Electorate {
    pub fn as_str(self) -> &'static str {
        match self {
            Electorate::ApprovingMembers => "approving_members",
            Electorate::ApprovingHeads => "approving_heads",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approving_members" => Some(Electorate::ApprovingMembers),
            "approving_heads" => Some(Electorate::ApprovingHeads),
            _ => None,
        }
    }
}

/// What a department does in a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipationRole {
    Consulted,
    Approving,
    Informed,
}

impl ParticipationRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipationRole::Consulted => "consulted",
            ParticipationRole::Approving => "approving",
            ParticipationRole::Informed => "informed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "consulted" => Some(ParticipationRole::Consulted),
            "approving" => Some(ParticipationRole::Approving),
            "informed" => Some(ParticipationRole::Informed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub department_id: String,
    pub role: ParticipationRole,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProposalOption {
    pub id: String,
    pub label: String,
}

/// The option ids of an approve/reject proposal.
pub const APPROVE: &str = "approve";
pub const REJECT: &str = "reject";

/// Options from the labels a client gave: none makes approve/reject.
pub fn options_from_labels(labels: &[String]) -> Vec<ProposalOption> {
    if labels.is_empty() {
        return vec![
            ProposalOption {
                id: APPROVE.into(),
                label: APPROVE.into(),
            },
            ProposalOption {
                id: REJECT.into(),
                label: REJECT.into(),
            },
        ];
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| ProposalOption {
            id: (i + 1).to_string(),
            label: l.clone(),
        })
        .collect()
}

/// The result of a vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Decided, rejected or no quorum.
    pub result: Stage,
    pub chosen_option: Option<String>,
    pub explanation: String,
    pub rationale: String,
    pub decided_ms: Millis,
    /// `None` when the deadline closed the vote.
    pub decided_by: Option<String>,
    pub notice_id: Option<String>,
}

/// What a client may set on a proposal: validated, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalContent {
    pub title: String,
    pub background: String,
    /// Labels; empty for approve/reject.
    pub option_labels: Vec<String>,
    pub participants: Vec<Participant>,
    pub rule: VotingRule,
    pub quorum_percent: i64,
    pub electorate: Electorate,
    pub sealed: bool,
    pub consultation_end_ms: Millis,
    pub voting_end_ms: Millis,
}

/// A stored proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub id: String,
    pub title: String,
    pub background: String,
    pub options: Vec<ProposalOption>,
    pub approve_or_reject: bool,
    pub proposer_id: String,
    pub owning_department_id: String,
    pub participants: Vec<Participant>,
    pub rule: VotingRule,
    pub quorum_percent: i64,
    pub electorate: Electorate,
    pub sealed: bool,
    pub consultation_end_ms: Millis,
    pub voting_end_ms: Millis,
    pub stage: Stage,
    pub stage_ms: Millis,
    pub consultation_start_ms: Option<Millis>,
    pub voting_start_ms: Option<Millis>,
    pub outcome: Option<Outcome>,
    pub eligible_voters: i64,
    pub version: i64,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// A field `UpdateProposal` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalField {
    Title,
    Background,
    Options,
    Participants,
    Rule,
    QuorumPercent,
    Electorate,
    Sealed,
    ConsultationEnd,
    VotingEnd,
    Rationale,
}

impl ProposalField {
    /// The update-mask paths of the fields a draft may change (what `*`
    /// names); `outcome.rationale` is named on its own.
    pub const KNOWN: [(&'static str, Self); 10] = [
        ("title", Self::Title),
        ("background", Self::Background),
        ("options", Self::Options),
        ("participants", Self::Participants),
        ("rule", Self::Rule),
        ("quorum_percent", Self::QuorumPercent),
        ("electorate", Self::Electorate),
        ("sealed", Self::Sealed),
        ("consultation_end_time", Self::ConsultationEnd),
        ("voting_end_time", Self::VotingEnd),
    ];

    pub fn path(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Background => "background",
            Self::Options => "options",
            Self::Participants => "participants",
            Self::Rule => "rule",
            Self::QuorumPercent => "quorum_percent",
            Self::Electorate => "electorate",
            Self::Sealed => "sealed",
            Self::ConsultationEnd => "consultation_end_time",
            Self::VotingEnd => "voting_end_time",
            Self::Rationale => "outcome.rationale",
        }
    }

    /// Whether the field may change in `stage`.
    pub fn changeable_in(self, stage: Stage) -> bool {
        match self {
            Self::Rationale => matches!(
                stage,
                Stage::Decided | Stage::Rejected | Stage::NoQuorum | Stage::Implementing
            ),
            Self::ConsultationEnd | Self::VotingEnd => {
                matches!(stage, Stage::Draft | Stage::Consultation)
            }
            _ => stage == Stage::Draft,
        }
    }
}

/// A validated `UpdateProposal`: only the masked fields of `content` (and
/// `rationale`) are meaningful.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalChange {
    pub id: String,
    pub expected_version: Option<i64>,
    pub fields: Vec<ProposalField>,
    pub content: ProposalContent,
    pub rationale: String,
}

impl ProposalChange {
    pub fn touches(&self, f: ProposalField) -> bool {
        self.fields.contains(&f)
    }
}

fn wrong_stage(what: &str, stage: Stage) -> Error {
    Error::precondition(format!(
        "{what} is not possible while the proposal is in stage {}",
        stage.as_str()
    ))
}

/// Checks the deadlines of a proposal against each other and against now.
pub fn check_deadlines(consultation_end: Millis, voting_end: Millis) -> Result<(), &'static str> {
    if voting_end <= consultation_end {
        return Err("voting must end after consultation ends");
    }
    Ok(())
}

impl Proposal {
    /// A new draft.
    pub fn draft(
        id: String,
        proposer_id: String,
        owning_department_id: String,
        c: ProposalContent,
        now: Millis,
    ) -> Self {
        Proposal {
            id,
            options: options_from_labels(&c.option_labels),
            approve_or_reject: c.option_labels.is_empty(),
            title: c.title,
            background: c.background,
            proposer_id,
            owning_department_id,
            participants: c.participants,
            rule: c.rule,
            quorum_percent: c.quorum_percent,
            electorate: c.electorate,
            sealed: c.sealed,
            consultation_end_ms: c.consultation_end_ms,
            voting_end_ms: c.voting_end_ms,
            stage: Stage::Draft,
            stage_ms: now,
            consultation_start_ms: None,
            voting_start_ms: None,
            outcome: None,
            eligible_voters: 0,
            version: 1,
            created_ms: now,
            updated_ms: now,
        }
    }

    /// The departments with `role`.
    pub fn departments(&self, role: ParticipationRole) -> Vec<String> {
        self.participants
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.department_id.clone())
            .collect()
    }

    pub fn has_option(&self, id: &str) -> bool {
        self.options.iter().any(|o| o.id == id)
    }

    /// Applies the masked fields of `change`, refusing fields this stage
    /// keeps fixed and deadlines that no longer fit.
    pub fn apply(&mut self, change: &ProposalChange, now: Millis) -> Result<(), Error> {
        for f in &change.fields {
            if !f.changeable_in(self.stage) {
                return Err(Error::precondition(format!(
                    "{} cannot be changed while the proposal is in stage {}",
                    f.path(),
                    self.stage.as_str()
                )));
            }
        }
        let c = &change.content;
        for f in &change.fields {
            match f {
                ProposalField::Title => self.title.clone_from(&c.title),
                ProposalField::Background => self.background.clone_from(&c.background),
                ProposalField::Options => {
                    self.options = options_from_labels(&c.option_labels);
                    self.approve_or_reject = c.option_labels.is_empty();
                }
                ProposalField::Participants => self.participants.clone_from(&c.participants),
                ProposalField::Rule => self.rule = c.rule,
                ProposalField::QuorumPercent => self.quorum_percent = c.quorum_percent,
                ProposalField::Electorate => self.electorate = c.electorate,
                ProposalField::Sealed => self.sealed = c.sealed,
                ProposalField::ConsultationEnd => self.consultation_end_ms = c.consultation_end_ms,
                ProposalField::VotingEnd => self.voting_end_ms = c.voting_end_ms,
                ProposalField::Rationale => {
                    if let Some(o) = self.outcome.as_mut() {
                        o.rationale.clone_from(&change.rationale);
                    }
                }
            }
        }
        if self.rule == VotingRule::Consent && !self.approve_or_reject {
            return Err(concord_kit::invalid(
                "proposal.rule",
                "consent applies to approve/reject proposals only (give no options)",
            ));
        }
        let touches_deadline = change.touches(ProposalField::ConsultationEnd)
            || change.touches(ProposalField::VotingEnd);
        if touches_deadline {
            if let Err(why) = check_deadlines(self.consultation_end_ms, self.voting_end_ms) {
                return Err(concord_kit::invalid("proposal.voting_end_time", why));
            }
            if change.touches(ProposalField::ConsultationEnd) && self.consultation_end_ms <= now {
                return Err(concord_kit::invalid(
                    "proposal.consultation_end_time",
                    "must be in the future",
                ));
            }
            if self.voting_end_ms <= now {
                return Err(concord_kit::invalid(
                    "proposal.voting_end_time",
                    "must be in the future",
                ));
            }
        }
        Ok(())
    }

    fn enter(&mut self, stage: Stage, now: Millis) {
        self.stage = stage;
        self.stage_ms = now;
        self.updated_ms = now;
        self.version += 1;
    }

    /// Draft to consultation. The consultation deadline must still lie ahead.
    pub fn open_consultation(&mut self, now: Millis) -> Result<(), Error> {
        if self.stage != Stage::Draft {
            return Err(wrong_stage("opening consultation", self.stage));
        }
        if self.consultation_end_ms <= now {
            return Err(Error::precondition(
                "consultation_end_time has passed; move it into the future first",
            ));
        }
        self.consultation_start_ms = Some(now);
        self.enter(Stage::Consultation, now);
        Ok(())
    }

    /// Whether voting may open now: the stage is right and, for consent,
    /// every objection is answered. `by_deadline` opens even when the voting
    /// deadline has already passed (the service was down across both), so
    /// that the vote then closes at once.
    pub fn may_open_voting(
        &self,
        now: Millis,
        unanswered_objections: i64,
        by_deadline: bool,
    ) -> Result<(), Error> {
        if self.stage != Stage::Consultation {
            return Err(wrong_stage("opening the vote", self.stage));
        }
        if self.rule == VotingRule::Consent && unanswered_objections > 0 {
            return Err(Error::precondition(format!(
                "{unanswered_objections} objection(s) must be answered before voting opens on a consent proposal"
            )));
        }
        if !by_deadline && self.voting_end_ms <= now {
            return Err(Error::precondition(
                "voting_end_time has passed; move it into the future first",
            ));
        }
        Ok(())
    }

    /// Consultation to voting with `eligible` voters resolved.
    pub fn open_voting(
        &mut self,
        now: Millis,
        eligible: i64,
        unanswered_objections: i64,
        by_deadline: bool,
    ) -> Result<(), Error> {
        self.may_open_voting(now, unanswered_objections, by_deadline)?;
        self.voting_start_ms = Some(now);
        self.eligible_voters = eligible;
        self.enter(Stage::Voting, now);
        Ok(())
    }

    /// Voting to its outcome, by `verdict`. `by` is `None` at the deadline.
    pub fn close_voting(
        &mut self,
        now: Millis,
        verdict: &Verdict,
        by: Option<String>,
        rationale: String,
    ) -> Result<(), Error> {
        if self.stage != Stage::Voting {
            return Err(wrong_stage("closing the vote", self.stage));
        }
        self.outcome = Some(Outcome {
            result: verdict.result,
            chosen_option: verdict.chosen.clone(),
            explanation: verdict.explanation.clone(),
            rationale,
            decided_ms: now,
            decided_by: by,
            notice_id: None,
        });
        self.enter(verdict.result, now);
        Ok(())
    }

    /// Decided to implementing.
    pub fn start_implementing(&mut self, now: Millis) -> Result<(), Error> {
        if self.stage != Stage::Decided {
            return Err(wrong_stage("starting implementation", self.stage));
        }
        self.enter(Stage::Implementing, now);
        Ok(())
    }

    /// Implementing, rejected or no quorum to closed.
    pub fn close(&mut self, now: Millis) -> Result<(), Error> {
        if !matches!(
            self.stage,
            Stage::Implementing | Stage::Rejected | Stage::NoQuorum
        ) {
            return Err(wrong_stage("closing", self.stage));
        }
        self.enter(Stage::Closed, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tally::Verdict;

    fn content() -> ProposalContent {
        ProposalContent {
            title: "调整午休时间".into(),
            background: "背景".into(),
            option_labels: vec![],
            participants: vec![Participant {
                department_id: "d1".into(),
                role: ParticipationRole::Approving,
            }],
            rule: VotingRule::SimpleMajority,
            quorum_percent: 50,
            electorate: Electorate::ApprovingMembers,
            sealed: false,
            consultation_end_ms: 1_000,
            voting_end_ms: 2_000,
        }
    }

    fn draft() -> Proposal {
        Proposal::draft("p".into(), "me".into(), "d1".into(), content(), 0)
    }

    fn verdict(result: Stage) -> Verdict {
        Verdict {
            result,
            chosen: (result == Stage::Decided).then(|| APPROVE.to_string()),
            quorum_met: result != Stage::NoQuorum,
            explanation: "x".into(),
        }
    }

    fn is_precondition(r: Result<(), Error>) -> bool {
        matches!(r, Err(Error::FailedPrecondition(_)))
    }

    #[test]
    fn stages_round_trip_their_spelling() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        assert_eq!(Stage::parse("nope"), None);
    }

    #[test]
    fn approve_reject_options_and_numbered_options() {
        let p = draft();
        assert!(p.approve_or_reject);
        assert_eq!(
            p.options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
            [APPROVE, REJECT]
        );
        let opts = options_from_labels(&["甲".into(), "乙".into(), "丙".into()]);
        assert_eq!(
            opts.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
    }

    #[test]
    fn the_whole_flow_in_order() {
        let mut p = draft();
        p.open_consultation(10).unwrap();
        assert_eq!(
            (p.stage, p.consultation_start_ms, p.version),
            (Stage::Consultation, Some(10), 2)
        );
        p.open_voting(20, 5, 0, false).unwrap();
        assert_eq!(
            (p.stage, p.voting_start_ms, p.eligible_voters),
            (Stage::Voting, Some(20), 5)
        );
        p.close_voting(
            30,
            &verdict(Stage::Decided),
            Some("me".into()),
            "理由".into(),
        )
        .unwrap();
        assert_eq!(p.stage, Stage::Decided);
        let o = p.outcome.clone().unwrap();
        assert_eq!((o.decided_ms, o.rationale.as_str()), (30, "理由"));
        p.start_implementing(40).unwrap();
        assert_eq!(p.stage, Stage::Implementing);
        p.close(50).unwrap();
        assert_eq!((p.stage, p.stage_ms, p.version), (Stage::Closed, 50, 6));
    }

    #[test]
    fn rejected_and_no_quorum_close_directly() {
        for result in [Stage::Rejected, Stage::NoQuorum] {
            let mut p = draft();
            p.open_consultation(1).unwrap();
            p.open_voting(2, 3, 0, false).unwrap();
            p.close_voting(3, &verdict(result), None, String::new())
                .unwrap();
            assert_eq!(p.stage, result);
            assert!(is_precondition(p.start_implementing(4)));
            p.close(4).unwrap();
            assert_eq!(p.stage, Stage::Closed);
        }
    }

    #[test]
    fn every_move_refuses_every_other_stage() {
        let at = |stage: Stage| {
            let mut p = draft();
            p.stage = stage;
            p
        };
        for s in Stage::ALL {
            let ok_consult = s == Stage::Draft;
            assert_eq!(at(s).open_consultation(0).is_ok(), ok_consult, "{s:?}");
            let ok_vote = s == Stage::Consultation;
            assert_eq!(at(s).open_voting(0, 1, 0, false).is_ok(), ok_vote, "{s:?}");
            let ok_close_vote = s == Stage::Voting;
            assert_eq!(
                at(s)
                    .close_voting(0, &verdict(Stage::Decided), None, String::new())
                    .is_ok(),
                ok_close_vote,
                "{s:?}"
            );
            let ok_impl = s == Stage::Decided;
            assert_eq!(at(s).start_implementing(0).is_ok(), ok_impl, "{s:?}");
            let ok_close = matches!(s, Stage::Implementing | Stage::Rejected | Stage::NoQuorum);
            assert_eq!(at(s).close(0).is_ok(), ok_close, "{s:?}");
        }
    }

    #[test]
    fn deadlines_gate_manual_moves_but_not_deadline_moves() {
        let mut p = draft();
        assert!(is_precondition(p.open_consultation(1_000)));
        p.open_consultation(999).unwrap();
        assert!(is_precondition(p.open_voting(2_000, 1, 0, false)));
        p.open_voting(2_000, 1, 0, true).unwrap();
        assert_eq!(p.stage, Stage::Voting);
    }

    #[test]
    fn consent_needs_every_objection_answered() {
        let mut c = content();
        c.rule = VotingRule::Consent;
        let mut p = Proposal::draft("p".into(), "me".into(), "d1".into(), c, 0);
        p.open_consultation(1).unwrap();
        assert!(is_precondition(p.open_voting(2, 3, 1, false)));
        assert!(is_precondition(p.open_voting(2, 3, 1, true)));
        p.open_voting(2, 3, 0, false).unwrap();
        // Other rules ignore objections.
        let mut q = draft();
        q.open_consultation(1).unwrap();
        q.open_voting(2, 3, 4, false).unwrap();
    }

    #[test]
    fn updates_respect_the_stage() {
        let mut p = draft();
        let change = |fields: Vec<ProposalField>| ProposalChange {
            id: "p".into(),
            expected_version: None,
            fields,
            content: ProposalContent {
                title: "新标题".into(),
                consultation_end_ms: 1_500,
                voting_end_ms: 3_000,
                ..content()
            },
            rationale: "因为".into(),
        };
        p.apply(&change(vec![ProposalField::Title]), 0).unwrap();
        assert_eq!(p.title, "新标题");
        assert!(is_precondition(
            p.apply(&change(vec![ProposalField::Rationale]), 0)
        ));
        p.open_consultation(1).unwrap();
        assert!(is_precondition(
            p.apply(&change(vec![ProposalField::Title]), 1)
        ));
        p.apply(
            &change(vec![
                ProposalField::ConsultationEnd,
                ProposalField::VotingEnd,
            ]),
            1,
        )
        .unwrap();
        assert_eq!((p.consultation_end_ms, p.voting_end_ms), (1_500, 3_000));
        // Deadlines in the past or out of order are refused.
        assert!(matches!(
            p.apply(&change(vec![ProposalField::VotingEnd]), 3_000),
            Err(Error::Invalid(_))
        ));
        p.open_voting(2, 1, 0, false).unwrap();
        p.close_voting(3, &verdict(Stage::Decided), None, String::new())
            .unwrap();
        p.apply(&change(vec![ProposalField::Rationale]), 4).unwrap();
        assert_eq!(p.outcome.unwrap().rationale, "因为");
    }

    #[test]
    fn consent_requires_approve_or_reject() {
        let mut p = draft();
        let mut c = content();
        c.option_labels = vec!["A".into(), "B".into()];
        c.rule = VotingRule::Consent;
        let change = ProposalChange {
            id: "p".into(),
            expected_version: None,
            fields: vec![ProposalField::Options, ProposalField::Rule],
            content: c,
            rationale: String::new(),
        };
        assert!(matches!(p.apply(&change, 0), Err(Error::Invalid(_))));
    }
}

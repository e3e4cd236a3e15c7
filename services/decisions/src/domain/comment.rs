//! Deliberation: comments with a stance, and replies. An objection is
//! answered once somebody who can move the proposal (its proposer, the
//! owning department's head or an admin) replies to it; a consent proposal
//! cannot go to the vote with an objection unanswered.

use concord_kit::clock::Millis;

/// Where a comment stands on the proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stance {
    /// Replies may take none.
    None,
    Support,
    Concern,
    Objection,
}

impl Stance {
    pub fn as_str(self) -> &'static str {
        match self {
            Stance::None => "",
            Stance::Support => "support",
            Stance::Concern => "concern",
            Stance::Objection => "objection",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" => Stance::None,
            "support" => Stance::Support,
            "concern" => Stance::Concern,
            "objection" => Stance::Objection,
            _ => return None,
        })
    }
}

/// A validated `CreateComment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    pub proposal_id: String,
    pub parent_id: Option<String>,
    pub stance: Stance,
    pub body: String,
}

impl NewComment {
    /// Top-level comments take a stance; replies may not.
    pub fn stance_problem(&self) -> Option<&'static str> {
        (self.parent_id.is_none() && self.stance == Stance::None)
            .then_some("is required for a comment that is not a reply")
    }
}

/// A stored comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: String,
    pub proposal_id: String,
    pub parent_id: Option<String>,
    pub author_id: String,
    pub author_department_id: String,
    pub stance: Stance,
    pub body: String,
    pub created_ms: Millis,
    /// For objections: whether it has been answered.
    pub answered: bool,
}

impl Comment {
    /// Whether a reply by somebody who may move the proposal answers this
    /// comment (only objections need answers; one's own reply does not).
    pub fn answered_by(&self, replier_may_move: bool, replier_id: &str) -> bool {
        self.stance == Stance::Objection
            && !self.answered
            && replier_may_move
            && replier_id != self.author_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objection() -> Comment {
        Comment {
            id: "c".into(),
            proposal_id: "p".into(),
            parent_id: None,
            author_id: "张三".into(),
            author_department_id: "d".into(),
            stance: Stance::Objection,
            body: "反对".into(),
            created_ms: 0,
            answered: false,
        }
    }

    #[test]
    fn stances_round_trip() {
        for s in [
            Stance::None,
            Stance::Support,
            Stance::Concern,
            Stance::Objection,
        ] {
            assert_eq!(Stance::parse(s.as_str()), Some(s));
        }
        assert_eq!(Stance::parse("meh"), None);
    }

    #[test]
    fn only_replies_may_go_without_a_stance() {
        let mut c = NewComment {
            proposal_id: "p".into(),
            parent_id: None,
            stance: Stance::None,
            body: "x".into(),
        };
        assert!(c.stance_problem().is_some());
        c.parent_id = Some("c".into());
        assert!(c.stance_problem().is_none());
    }

    #[test]
    fn objections_are_answered_by_those_who_move_the_proposal() {
        let o = objection();
        assert!(o.answered_by(true, "proposer"));
        assert!(!o.answered_by(false, "colleague"));
        // The objector cannot answer their own objection.
        assert!(!o.answered_by(true, "张三"));
        let mut concern = objection();
        concern.stance = Stance::Concern;
        assert!(!concern.answered_by(true, "proposer"));
        let mut done = objection();
        done.answered = true;
        assert!(!done.answered_by(true, "proposer"));
    }
}

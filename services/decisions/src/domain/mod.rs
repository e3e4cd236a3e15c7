//! The decisions' rules, free of gRPC and SQL: proposals and their staged
//! flow, deliberation, the voting rules with quorum and proxies, action
//! items, and who may do what.

pub mod access;
pub mod action_item;
pub mod comment;
pub mod proposal;
pub mod tally;

pub use action_item::{ActionItem, ActionItemChange, ActionItemField, ActionStatus, NewActionItem};
pub use comment::{Comment, NewComment, Stance};
pub use proposal::{
    Electorate, Outcome, Participant, ParticipationRole, Proposal, ProposalChange, ProposalContent,
    ProposalField, ProposalOption, Stage, VotingRule,
};
pub use tally::{Choice, Count, Verdict};

/// Longest proposal or action item title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest background, description or comment (Markdown), in characters.
pub const TEXT_MAX: usize = 20_000;
/// Longest option label, in characters.
pub const OPTION_MAX: usize = 200;
/// Most options of a proposal.
pub const OPTIONS_MAX: usize = 20;
/// Most participating or supporting departments.
pub const DEPARTMENTS_MAX: usize = 100;
/// Longest vote reason, rationale or progress note, in characters.
pub const REASON_MAX: usize = 5_000;

/// The actor of the moves the service makes by itself at deadlines.
pub const SYSTEM_ACTOR: &str = "system:decisions";

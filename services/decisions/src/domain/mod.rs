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

/// An etag is the row's version counter rendered as a decimal string.
pub fn render_etag(version: i64) -> String {
    version.to_string()
}

/// Parses an etag a client sent back: `Ok(None)` when none was given (the
/// change is then unconditional), `Err` when it is not one of ours.
pub fn parse_etag(etag: &str) -> Result<Option<i64>, &'static str> {
    if etag.is_empty() {
        return Ok(None);
    }
    etag.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .map(Some)
        .ok_or("is not an etag returned by this service")
}

/// Whether a change made against `expected` may apply to a row at `current`.
pub fn etag_matches(expected: Option<i64>, current: i64) -> bool {
    expected.is_none_or(|v| v == current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_and_refuse_garbage() {
        assert_eq!(parse_etag(&render_etag(7)), Ok(Some(7)));
        assert_eq!(parse_etag(""), Ok(None));
        assert!(parse_etag("W/\"7\"").is_err());
        assert!(parse_etag("0").is_err());
        assert!(etag_matches(None, 3));
        assert!(etag_matches(Some(3), 3));
        assert!(!etag_matches(Some(2), 3));
    }
}

//! The notices' rules, free of gRPC and SQL: notices and their lifecycle,
//! audiences, receipts, the communication rules (quiet hours), and recurring
//! meetings.

pub mod meeting;
pub mod notice;
pub mod receipt;
pub mod rules;

pub use meeting::{Meeting, Recurrence};
pub use notice::{Attachment, Audience, Notice, NoticeContent, NoticeField, NoticeState, Priority};
pub use receipt::{EventKind, Receipt, ReceiptCounts, ReceiptFilter};
pub use rules::CommunicationRule;

/// Longest notice, meeting or agenda item title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest notice body or minutes (Markdown), in characters.
pub const BODY_MAX: usize = 50_000;
/// Longest meeting description, in characters.
pub const DESCRIPTION_MAX: usize = 5_000;
/// Longest meeting location (a room or a link), in characters.
pub const LOCATION_MAX: usize = 500;
/// Most attachments on a notice.
pub const ATTACHMENTS_MAX: usize = 20;
/// Longest attachment link.
pub const URL_MAX: usize = 2_000;
/// Most ids in one list of an audience or of meeting participants.
pub const IDS_MAX: usize = 1_000;
/// Longest retraction reason, in characters.
pub const REASON_MAX: usize = 1_000;

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

/// The key titles are ordered by.
pub fn sort_key(title: &str) -> String {
    title.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_and_refuse_garbage() {
        assert_eq!(parse_etag(&render_etag(7)), Ok(Some(7)));
        assert_eq!(parse_etag(""), Ok(None));
        assert!(parse_etag("x").is_err());
        assert!(parse_etag("0").is_err());
        assert!(etag_matches(None, 3));
        assert!(!etag_matches(Some(2), 3));
    }
}

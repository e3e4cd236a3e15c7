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

/// The key titles are ordered by.
pub fn sort_key(title: &str) -> String {
    title.to_lowercase()
}

//! One recipient's copy of a published notice: delivered, read (the first
//! read time is kept), acknowledged, and how often they were reminded.

use concord_kit::clock::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub notice_id: String,
    pub person_id: String,
    /// The recipient's department when the notice was published.
    pub department_id: String,
    pub display_name: String,
    pub delivered_ms: Millis,
    pub ack_required: bool,
    pub read_ms: Option<Millis>,
    pub ack_ms: Option<Millis>,
    pub reminders: i64,
}

/// Which receipts a list or a reminder is about. Numbers are the protobuf values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptFilter {
    All = 0,
    Unread = 1,
    Read = 2,
    Unacknowledged = 3,
    Acknowledged = 4,
}

impl ReceiptFilter {
    pub fn from_i32(n: i32) -> Option<Self> {
        [
            Self::All,
            Self::Unread,
            Self::Read,
            Self::Unacknowledged,
            Self::Acknowledged,
        ]
        .into_iter()
        .find(|f| *f as i32 == n)
    }

    /// The SQL condition on receipt columns prefixed with `p` (`"r."` or `""`).
    pub fn condition(self, p: &str) -> String {
        match self {
            ReceiptFilter::All => "1 = 1".to_string(),
            ReceiptFilter::Unread => format!("{p}read_ms IS NULL"),
            ReceiptFilter::Read => format!("{p}read_ms IS NOT NULL"),
            ReceiptFilter::Unacknowledged => format!("{p}ack_required = 1 AND {p}ack_ms IS NULL"),
            ReceiptFilter::Acknowledged => format!("{p}ack_ms IS NOT NULL"),
        }
    }
}

/// The counts of a notice's receipts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptCounts {
    pub recipients: i64,
    pub read: i64,
    pub acknowledged: i64,
    pub reminder_rounds: i64,
    pub reminders_sent: i64,
}

/// What an inbox event announces. Numbers are the protobuf values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Notice = 1,
    Reminder = 2,
    Retracted = 3,
}

impl EventKind {
    pub fn from_i64(n: i64) -> Option<Self> {
        [Self::Notice, Self::Reminder, Self::Retracted]
            .into_iter()
            .find(|k| *k as i64 == n)
    }
}

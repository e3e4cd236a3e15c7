//! The emergency service's rules, free of gRPC and SQL: plans and their
//! versions, incidents and their state machine, alerts and escalation, who
//! may do what, and the figures of reports and statistics.

pub mod access;
pub mod alert;
pub mod incident;
pub mod plan;
pub mod report;
pub mod stats;

pub use alert::{Alert, AlertKind, Delivery, Recipient};
pub use incident::{DepartmentResponse, Incident, IncidentStep, Review, Status};
pub use plan::{
    Contact, EscalationTarget, IncidentType, Plan, PlanContent, PlanField, PlanStep, Severity,
};

/// Longest plan or incident title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest description, instructions, note or review text, in characters.
pub const TEXT_MAX: usize = 10_000;
/// Longest contact name, role or phone, in characters.
pub const CONTACT_FIELD_MAX: usize = 100;
/// Most steps in a plan.
pub const STEPS_MAX: usize = 100;
/// Most contacts in a plan.
pub const CONTACTS_MAX: usize = 50;
/// Longest step target: a week, in minutes.
pub const TARGET_MINUTES_MAX: i64 = 7 * 24 * 60;
/// Shortest and longest acknowledgement timeout.
pub const ACK_TIMEOUT_MIN_MS: i64 = 10_000;
pub const ACK_TIMEOUT_MAX_MS: i64 = 86_400_000;
/// Shortest and longest reminder interval (0 means no reminders).
pub const REMINDER_MIN_MS: i64 = 60_000;
pub const REMINDER_MAX_MS: i64 = 86_400_000;

/// An etag is the row's version counter rendered as a decimal string.
pub fn render_etag(version: i64) -> String {
    version.to_string()
}

/// Parses an etag a client sent back: `Ok(None)` when none was given.
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
        assert_eq!(parse_etag(&render_etag(3)), Ok(Some(3)));
        assert_eq!(parse_etag(""), Ok(None));
        assert!(parse_etag("x").is_err());
        assert!(parse_etag("-1").is_err());
        assert!(etag_matches(None, 2));
        assert!(!etag_matches(Some(1), 2));
    }
}

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

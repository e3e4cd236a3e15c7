//! Training's rules in the organisation's words, free of gRPC and SQL:
//! plans and their sessions, enrolments with seats and a waiting list,
//! completion records, who may do what, development plans, and how the
//! statistics are counted.

pub mod access;
pub mod development;
pub mod enrolment;
pub mod plan;
pub mod reminder;
pub mod stats;

/// Milliseconds in an hour, for "hours of training".
pub const HOUR_MS: i64 = 3_600_000;

/// Hours in `ms` milliseconds.
pub fn hours(ms: i64) -> f64 {
    ms as f64 / HOUR_MS as f64
}

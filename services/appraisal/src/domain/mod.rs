//! The appraisal's rules, free of gRPC and SQL: indicators and how values
//! become scores, cycles and their stages, scorecards and rankings, and who
//! may do what.

pub mod access;
pub mod cycle;
pub mod indicator;
pub mod recognition;
pub mod scorecard;

pub use cycle::{Cycle, Schedule, Stage, Subject, SubjectKind};
pub use indicator::{Dimension, Indicator, Rule, Service, SetContent, Source};
pub use scorecard::{AutoValue, Calibration, Card, Inputs, Score};

/// Longest name of a set, an indicator, a cycle or a commendation, in characters.
pub const NAME_MAX: usize = 200;
/// Longest description, note, comment or citation, in characters.
pub const DESCRIPTION_MAX: usize = 5_000;
/// Longest feedback text (strengths, improvements), in characters.
pub const FEEDBACK_MAX: usize = 10_000;
/// Most indicators in a set.
pub const INDICATORS_MAX: usize = 50;
/// Most subjects in a cycle.
pub const SUBJECTS_MAX: usize = 500;
/// Most agreed actions in one feedback.
pub const ACTIONS_MAX: usize = 50;

/// The actor of the moves the service makes by itself at deadlines.
pub const SYSTEM_ACTOR: &str = "system:appraisal";

/// Rounds a score to two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn rounding_keeps_two_decimals() {
        assert_eq!(super::round2(66.666_666), 66.67);
        assert_eq!(super::round2(74.074), 74.07);
        assert_eq!(super::round2(100.0), 100.0);
    }
}

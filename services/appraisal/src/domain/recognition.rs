//! What the appraised get besides a score: feedback (strengths,
//! improvements, agreed actions) and commendations.

use concord_kit::clock::Millis;

use super::SubjectKind;

/// Feedback to one appraised subject of a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppraisalFeedback {
    pub cycle_id: String,
    pub subject_id: String,
    pub strengths: String,
    pub improvements: String,
    pub agreed_actions: Vec<String>,
    pub author_id: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
    /// When the appraised acknowledged it; `None` until then.
    pub acknowledged_ms: Option<Millis>,
    pub acknowledged_by: String,
    pub response: String,
    pub version: i64,
}

/// A commendation of a person or a department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commendation {
    pub id: String,
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub department_id: String,
    pub display_name: String,
    /// The published cycle it is for.
    pub cycle_id: Option<String>,
    pub title: String,
    pub citation: String,
    pub awarded_by: String,
    pub created_ms: Millis,
}

//! Duties: what a department is responsible for, in the organisation's words.

/// A stored duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    pub id: String,
    pub department_id: String,
    pub text: String,
    pub created_ms: i64,
}

/// A validated request to add a duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDuty {
    pub department_id: String,
    pub text: String,
}

//! Incidents and drills: declared from a plan version, with the plan's steps
//! copied, moving forward through declared, responding, contained, resolved
//! and reviewed.

use super::plan::{EscalationTarget, IncidentType, Severity};

/// Where an incident stands. Only forward moves are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Declared = 1,
    Responding = 2,
    /// Under control: escalations and reminders stop.
    Contained = 3,
    Resolved = 4,
    Reviewed = 5,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Declared,
        Status::Responding,
        Status::Contained,
        Status::Resolved,
        Status::Reviewed,
    ];

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The metric label and timeline spelling.
    pub fn name(self) -> &'static str {
        match self {
            Status::Declared => "declared",
            Status::Responding => "responding",
            Status::Contained => "contained",
            Status::Resolved => "resolved",
            Status::Reviewed => "reviewed",
        }
    }

    /// Nothing more to escalate or remind: contained or later.
    pub fn is_settled(self) -> bool {
        self >= Status::Contained
    }

    /// Why UpdateIncidentStatus may not move from `self` to `to`, if it may not.
    pub fn refuse_move(self, to: Status) -> Option<&'static str> {
        if to == Status::Declared {
            Some("an incident cannot be moved back to declared")
        } else if to == Status::Reviewed {
            Some("an incident is reviewed with ReviewIncident")
        } else if to <= self {
            Some(
                "an incident only moves forward: declared, responding, contained, resolved, reviewed",
            )
        } else {
            None
        }
    }
}

/// The closing review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub summary: String,
    pub lessons: String,
    pub reviewed_by: String,
    pub reviewed_ms: i64,
}

/// An incident or a drill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: String,
    pub plan_id: String,
    pub plan_version: i64,
    /// The plan's owner department at that version.
    pub owner_department_id: String,
    pub title: String,
    pub description: String,
    pub incident_type: IncidentType,
    pub severity: Severity,
    pub drill: bool,
    pub status: Status,
    pub declared_by: String,
    pub declared_ms: i64,
    pub contained_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
    pub ack_timeout_ms: i64,
    pub reminder_ms: i64,
    pub escalation_chain: Vec<EscalationTarget>,
    pub contact_people: Vec<String>,
    pub review: Option<Review>,
    pub version: i64,
}

impl Incident {
    /// The metric label of the drill flag.
    pub fn drill_label(&self) -> &'static str {
        drill_label(self.drill)
    }

    /// Applies a status move (already allowed) at `now`.
    pub fn move_to(&mut self, to: Status, now: i64) {
        if to >= Status::Contained && self.contained_ms.is_none() {
            self.contained_ms = Some(now);
        }
        if to >= Status::Resolved && self.resolved_ms.is_none() {
            self.resolved_ms = Some(now);
        }
        self.status = to;
    }
}

/// `"true"` for drills, `"false"` for real incidents.
pub fn drill_label(drill: bool) -> &'static str {
    if drill { "true" } else { "false" }
}

/// A step of an incident, copied from the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentStep {
    pub incident_id: String,
    pub index: i64,
    pub title: String,
    pub instructions: String,
    pub department_id: String,
    pub target_minutes: i64,
    pub completed_ms: Option<i64>,
    pub completed_by: String,
    pub note: String,
}

impl IncidentStep {
    pub fn target_ms(&self) -> i64 {
        self.target_minutes * 60_000
    }

    /// Time from the declaration to completion, when complete.
    pub fn time_to_complete(&self, declared_ms: i64) -> Option<i64> {
        self.completed_ms.map(|c| c - declared_ms)
    }

    /// Completed within the target.
    pub fn on_time(&self, declared_ms: i64) -> bool {
        self.time_to_complete(declared_ms)
            .is_some_and(|t| t <= self.target_ms())
    }
}

/// How one department of an incident responded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentResponse {
    pub incident_id: String,
    pub department_id: String,
    pub drill: bool,
    pub declared_ms: i64,
    pub alerted_ms: i64,
    pub ack_timeout_ms: i64,
    pub people_alerted: i64,
    pub acknowledged_ms: Option<i64>,
    pub acknowledged_by: String,
    pub escalation_level: i64,
    pub reminders_sent: i64,
}

impl DepartmentResponse {
    pub fn time_to_acknowledge(&self) -> Option<i64> {
        self.acknowledged_ms.map(|a| a - self.alerted_ms)
    }

    pub fn within_timeout(&self) -> bool {
        self.time_to_acknowledge()
            .is_some_and(|t| t <= self.ack_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_moves_only_forward_and_review_has_its_own_call() {
        assert_eq!(Status::Declared.refuse_move(Status::Contained), None);
        assert_eq!(Status::Responding.refuse_move(Status::Resolved), None);
        assert!(Status::Contained.refuse_move(Status::Responding).is_some());
        assert!(Status::Resolved.refuse_move(Status::Resolved).is_some());
        assert!(Status::Resolved.refuse_move(Status::Reviewed).is_some());
        assert!(Status::Responding.refuse_move(Status::Declared).is_some());
        assert!(Status::Contained.is_settled() && !Status::Responding.is_settled());
    }

    #[test]
    fn steps_are_on_time_within_their_target() {
        let mut s = IncidentStep {
            incident_id: "i".into(),
            index: 0,
            title: "断电".into(),
            instructions: String::new(),
            department_id: "d".into(),
            target_minutes: 10,
            completed_ms: None,
            completed_by: String::new(),
            note: String::new(),
        };
        assert!(!s.on_time(0));
        s.completed_ms = Some(600_000);
        assert!(s.on_time(0));
        s.completed_ms = Some(600_001);
        assert!(!s.on_time(0));
        assert_eq!(s.time_to_complete(1), Some(600_000));
    }
}

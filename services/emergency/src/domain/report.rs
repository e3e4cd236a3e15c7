//! The incident report (for drills, the drill report): per department the
//! time to acknowledge and to complete each step, against the plan's targets.

use std::collections::HashMap;

use super::incident::{DepartmentResponse, Incident, IncidentStep};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFigures {
    pub index: i64,
    pub title: String,
    pub target_ms: i64,
    pub time_to_complete_ms: Option<i64>,
    pub on_time: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentFigures {
    pub department_id: String,
    pub people_alerted: i64,
    pub people_acknowledged: i64,
    pub ack_target_ms: i64,
    pub time_to_acknowledge_ms: Option<i64>,
    pub within_target: bool,
    pub escalation_level: i64,
    pub steps: Vec<StepFigures>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub departments: Vec<DepartmentFigures>,
    pub time_to_contain_ms: Option<i64>,
    pub time_to_resolve_ms: Option<i64>,
    pub escalations: i64,
    pub alerts_delivered: i64,
    pub steps_on_time: i64,
    pub steps_total: i64,
}

/// What the store counted for a report besides the incident's own rows.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// People who acknowledged, per department.
    pub acknowledged_people: HashMap<String, i64>,
    pub escalations: i64,
    pub alerts_delivered: i64,
}

/// Builds the report; departments in the order given (the plan's order).
pub fn build(
    incident: &Incident,
    departments: &[DepartmentResponse],
    steps: &[IncidentStep],
    counts: &Counts,
) -> Report {
    let declared = incident.declared_ms;
    let figures = departments
        .iter()
        .map(|d| DepartmentFigures {
            department_id: d.department_id.clone(),
            people_alerted: d.people_alerted,
            people_acknowledged: counts
                .acknowledged_people
                .get(&d.department_id)
                .copied()
                .unwrap_or(0),
            ack_target_ms: d.ack_timeout_ms,
            time_to_acknowledge_ms: d.time_to_acknowledge(),
            within_target: d.within_timeout(),
            escalation_level: d.escalation_level,
            steps: steps
                .iter()
                .filter(|s| s.department_id == d.department_id)
                .map(|s| StepFigures {
                    index: s.index,
                    title: s.title.clone(),
                    target_ms: s.target_ms(),
                    time_to_complete_ms: s.time_to_complete(declared),
                    on_time: s.on_time(declared),
                })
                .collect(),
        })
        .collect();
    Report {
        departments: figures,
        time_to_contain_ms: incident.contained_ms.map(|t| t - declared),
        time_to_resolve_ms: incident.resolved_ms.map(|t| t - declared),
        escalations: counts.escalations,
        alerts_delivered: counts.alerts_delivered,
        steps_on_time: steps.iter().filter(|s| s.on_time(declared)).count() as i64,
        steps_total: steps.len() as i64,
    }
}

//! Alerts: what is sent to people when an incident is declared, escalated,
//! reminded or contained, and the per-person deliveries that carry a
//! sequence number.

use super::incident::{Incident, IncidentStep, Status};
use super::plan::{EscalationTarget, IncidentType, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    Declared = 1,
    Escalation = 2,
    Reminder = 3,
    StatusChanged = 4,
}

impl AlertKind {
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        [
            AlertKind::Declared,
            AlertKind::Escalation,
            AlertKind::Reminder,
            AlertKind::StatusChanged,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }

    /// The metric label.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::Declared => "declared",
            AlertKind::Escalation => "escalation",
            AlertKind::Reminder => "reminder",
            AlertKind::StatusChanged => "status_changed",
        }
    }
}

/// One alert; its deliveries say who it reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: String,
    pub incident_id: String,
    pub kind: AlertKind,
    pub drill: bool,
    pub severity: Severity,
    pub incident_type: IncidentType,
    pub title: String,
    pub message: String,
    /// The department an escalation or reminder is about; empty otherwise.
    pub department_id: String,
    pub escalation_level: i64,
    pub created_ms: i64,
}

/// Somebody an alert reaches, and the department it reaches them for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Recipient {
    pub person_id: String,
    pub department_id: String,
}

/// An alert as one person received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub person_id: String,
    /// Per person, gap-free in commit order.
    pub seq: i64,
    pub department_id: String,
    pub acknowledged_ms: Option<i64>,
    pub alert: Alert,
}

impl Alert {
    /// A new alert about `incident`.
    pub fn about(
        incident: &Incident,
        kind: AlertKind,
        message: String,
        department_id: &str,
        level: i64,
        now: i64,
    ) -> Self {
        Alert {
            id: concord_kit::ids::new_id(),
            incident_id: incident.id.clone(),
            kind,
            drill: incident.drill,
            severity: incident.severity,
            incident_type: incident.incident_type,
            title: incident.title.clone(),
            message,
            department_id: department_id.to_string(),
            escalation_level: level,
            created_ms: now,
        }
    }
}

/// "【演练】" before every drill text, so nobody mistakes a drill for the real thing.
fn drill_prefix(incident: &Incident) -> &'static str {
    if incident.drill {
        "【演练 DRILL】"
    } else {
        ""
    }
}

/// The text of the declaration alert.
pub fn declared_message(incident: &Incident) -> String {
    let mut text = format!(
        "{}{} {}：{}",
        drill_prefix(incident),
        incident.severity.label(),
        incident.incident_type.label(),
        incident.title
    );
    if !incident.description.is_empty() {
        text.push('\n');
        text.push_str(&incident.description);
    }
    text
}

/// The text of an escalation about `department_name` (an id when unknown).
pub fn escalation_message(
    incident: &Incident,
    department_id: &str,
    level: i64,
    target: EscalationTarget,
) -> String {
    format!(
        "{}升级（第{level}级，{}）：部门 {department_id} 未在 {} 秒内确认 — nobody in the department acknowledged \"{}\" in time",
        drill_prefix(incident),
        target.label(),
        incident.ack_timeout_ms / 1000,
        incident.title
    )
}

/// The text of a reminder listing the open steps.
pub fn reminder_message(incident: &Incident, open: &[&IncidentStep]) -> String {
    let steps: Vec<String> = open
        .iter()
        .map(|s| format!("{}. {}", s.index + 1, s.title))
        .collect();
    format!(
        "{}提醒 reminder：\"{}\" 尚有未完成步骤 open steps: {}",
        drill_prefix(incident),
        incident.title,
        steps.join("; ")
    )
}

/// The text of a status alert.
pub fn status_message(incident: &Incident, to: Status, note: &str) -> String {
    let what = match to {
        Status::Contained => "已控制 contained",
        Status::Resolved => "已解除 resolved",
        Status::Responding => "处置中 responding",
        Status::Declared => "已发布 declared",
        Status::Reviewed => "已复盘 reviewed",
    };
    let mut text = format!("{}\"{}\" {what}", drill_prefix(incident), incident.title);
    if !note.is_empty() {
        text.push('：');
        text.push_str(note);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(drill: bool) -> Incident {
        Incident {
            id: "i".into(),
            plan_id: "p".into(),
            plan_version: 1,
            owner_department_id: "d".into(),
            title: "机房起火".into(),
            description: "三楼".into(),
            incident_type: IncidentType::Fire,
            severity: Severity::I,
            drill,
            status: Status::Declared,
            declared_by: "u".into(),
            declared_ms: 0,
            contained_ms: None,
            resolved_ms: None,
            ack_timeout_ms: 60_000,
            reminder_ms: 0,
            escalation_chain: vec![],
            contact_people: vec![],
            review: None,
            version: 1,
        }
    }

    #[test]
    fn drills_say_so_in_every_text() {
        assert!(declared_message(&incident(true)).starts_with("【演练 DRILL】I级（特别重大）"));
        assert!(!declared_message(&incident(false)).contains("演练"));
        assert!(status_message(&incident(true), Status::Contained, "").contains("contained"));
        let e = escalation_message(&incident(true), "d1", 1, EscalationTarget::DepartmentHead);
        assert!(e.contains("演练") && e.contains("60"));
    }
}

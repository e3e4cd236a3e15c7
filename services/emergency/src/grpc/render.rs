//! From the domain to the wire: domain values rendered as messages.

use concord_kit::clock::{to_timestamp, to_timestamp_opt};
use concord_kit::fields;
use concord_proto::emergency::v1 as pb;

use crate::domain::report::Report;
use crate::domain::stats::{Figures, Split};
use crate::domain::{Delivery, DepartmentResponse, Incident, IncidentStep, Plan};
use crate::store::timeline::Entry;

pub fn duration(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

pub fn plan(p: &Plan) -> pb::Plan {
    let c = &p.content;
    pb::Plan {
        id: p.id.clone(),
        version: p.version,
        title: c.title.clone(),
        description: c.description.clone(),
        incident_type: c.incident_type.code() as i32,
        severity: c.severity.code() as i32,
        owner_department_id: c.owner_department_id.clone(),
        steps: c
            .steps
            .iter()
            .map(|s| pb::PlanStep {
                title: s.title.clone(),
                instructions: s.instructions.clone(),
                department_id: s.department_id.clone(),
                target_minutes: i32::try_from(s.target_minutes).unwrap_or(i32::MAX),
            })
            .collect(),
        contacts: c
            .contacts
            .iter()
            .map(|x| pb::Contact {
                name: x.name.clone(),
                role: x.role.clone(),
                phone: x.phone.clone(),
                person_id: x.person_id.clone().unwrap_or_default(),
            })
            .collect(),
        acknowledgement_timeout: Some(duration(c.ack_timeout_ms)),
        reminder_interval: Some(duration(c.reminder_ms)),
        escalation_chain: c.escalation_chain.iter().map(|t| t.code() as i32).collect(),
        archived: p.archived,
        create_time: Some(to_timestamp(p.created_ms)),
        update_time: Some(to_timestamp(p.updated_ms)),
        etag: fields::render_etag(p.current_version),
        updated_by: p.updated_by.clone(),
    }
}

pub fn step_pb(s: &IncidentStep) -> pb::IncidentStep {
    pb::IncidentStep {
        index: i32::try_from(s.index).unwrap_or(i32::MAX),
        title: s.title.clone(),
        instructions: s.instructions.clone(),
        department_id: s.department_id.clone(),
        target_minutes: i32::try_from(s.target_minutes).unwrap_or(i32::MAX),
        complete_time: s.completed_ms.map(to_timestamp),
        completed_by: s.completed_by.clone(),
        note: s.note.clone(),
        incident_id: s.incident_id.clone(),
    }
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub fn department_pb(d: &DepartmentResponse) -> pb::DepartmentResponse {
    pb::DepartmentResponse {
        department_id: d.department_id.clone(),
        people_alerted: count(d.people_alerted),
        acknowledge_time: d.acknowledged_ms.map(to_timestamp),
        acknowledged_by: d.acknowledged_by.clone(),
        escalation_level: count(d.escalation_level),
    }
}

pub fn incident(
    i: &Incident,
    steps: &[IncidentStep],
    departments: &[DepartmentResponse],
) -> pb::Incident {
    pb::Incident {
        id: i.id.clone(),
        plan_id: i.plan_id.clone(),
        plan_version: i.plan_version,
        title: i.title.clone(),
        description: i.description.clone(),
        incident_type: i.incident_type.code() as i32,
        severity: i.severity.code() as i32,
        drill: i.drill,
        status: i.status.code() as i32,
        declared_by: i.declared_by.clone(),
        declare_time: Some(to_timestamp(i.declared_ms)),
        contain_time: to_timestamp_opt(i.contained_ms),
        resolve_time: to_timestamp_opt(i.resolved_ms),
        steps: steps
            .iter()
            .filter(|s| s.incident_id == i.id)
            .map(step_pb)
            .collect(),
        departments: departments
            .iter()
            .filter(|d| d.incident_id == i.id)
            .map(department_pb)
            .collect(),
        acknowledgement_timeout: Some(duration(i.ack_timeout_ms)),
        reminder_interval: Some(duration(i.reminder_ms)),
        review: i.review.as_ref().map(|r| pb::Review {
            summary: r.summary.clone(),
            lessons: r.lessons.clone(),
            reviewed_by: r.reviewed_by.clone(),
            review_time: Some(to_timestamp(r.reviewed_ms)),
        }),
        etag: fields::render_etag(i.version),
    }
}

pub fn alert_event(d: &Delivery) -> pb::AlertEvent {
    let a = &d.alert;
    pb::AlertEvent {
        sequence: d.seq,
        alert: Some(pb::Alert {
            id: a.id.clone(),
            incident_id: a.incident_id.clone(),
            kind: a.kind.code() as i32,
            drill: a.drill,
            severity: a.severity.code() as i32,
            incident_type: a.incident_type.code() as i32,
            title: a.title.clone(),
            message: a.message.clone(),
            department_id: a.department_id.clone(),
            escalation_level: count(a.escalation_level),
            create_time: Some(to_timestamp(a.created_ms)),
        }),
        department_id: d.department_id.clone(),
        acknowledge_time: d.acknowledged_ms.map(to_timestamp),
    }
}

pub fn timeline_entry(e: &Entry) -> pb::TimelineEntry {
    pb::TimelineEntry {
        id: e.id.clone(),
        incident_id: e.incident_id.clone(),
        time: Some(to_timestamp(e.at_ms)),
        kind: e.kind.clone(),
        actor: e.actor.clone(),
        department_id: e.department_id.clone(),
        text: e.text.clone(),
    }
}

pub fn report(i: pb::Incident, r: &Report, drill: bool) -> pb::IncidentReport {
    pb::IncidentReport {
        incident: Some(i),
        drill,
        departments: r
            .departments
            .iter()
            .map(|d| pb::DepartmentReport {
                department_id: d.department_id.clone(),
                people_alerted: count(d.people_alerted),
                people_acknowledged: count(d.people_acknowledged),
                acknowledgement_target: Some(duration(d.ack_target_ms)),
                time_to_acknowledge: d.time_to_acknowledge_ms.map(duration),
                acknowledged_within_target: d.within_target,
                escalation_level: count(d.escalation_level),
                steps: d
                    .steps
                    .iter()
                    .map(|s| pb::StepReport {
                        index: count(s.index),
                        title: s.title.clone(),
                        target: Some(duration(s.target_ms)),
                        time_to_complete: s.time_to_complete_ms.map(duration),
                        completed_on_time: s.on_time,
                    })
                    .collect(),
            })
            .collect(),
        time_to_contain: r.time_to_contain_ms.map(duration),
        time_to_resolve: r.time_to_resolve_ms.map(duration),
        escalations: count(r.escalations),
        alerts_delivered: count(r.alerts_delivered),
        steps_completed_on_time: count(r.steps_on_time),
        steps_total: count(r.steps_total),
    }
}

pub fn figures(f: &Figures) -> pb::ResponseFigures {
    pb::ResponseFigures {
        incidents: f.incidents,
        alerts_received: f.alerts_received,
        acknowledged: f.acknowledged,
        acknowledged_within_timeout: f.acknowledged_within_timeout,
        median_time_to_acknowledge: f.median_ms.map(duration),
        p90_time_to_acknowledge: f.p90_ms.map(duration),
        steps: f.steps,
        steps_completed: f.steps_completed,
        steps_completed_on_time: f.steps_on_time,
    }
}

pub fn split(department_id: &str, s: &Split) -> pb::DepartmentStatistics {
    pb::DepartmentStatistics {
        department_id: department_id.to_string(),
        real: Some(figures(&s.real)),
        drills: Some(figures(&s.drills)),
    }
}

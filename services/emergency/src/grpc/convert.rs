//! From the wire to the domain: requests are validated into domain values,
//! every bad field named (`plan.steps[2].department_id`).

use concord_kit::fields::{etag, opt_id, single_line, update_mask};
use concord_kit::ids::{check_id, check_opt_text, check_text};
use concord_kit::{Error, Violations};
use concord_proto::emergency::v1 as pb;

use crate::domain::{
    ACK_TIMEOUT_MAX_MS, ACK_TIMEOUT_MIN_MS, CONTACT_FIELD_MAX, CONTACTS_MAX, Contact,
    EscalationTarget, IncidentType, PlanContent, PlanField, PlanStep, REMINDER_MAX_MS,
    REMINDER_MIN_MS, STEPS_MAX, Severity, Status, TARGET_MINUTES_MAX, TEXT_MAX, TITLE_MAX,
};

/// A one-line title: required, at most [`TITLE_MAX`] characters; trimmed.
pub fn title(v: &mut Violations, field: &str, value: &str) -> String {
    single_line(v, field, value, TITLE_MAX)
}

/// Optional free text of at most [`TEXT_MAX`] characters; trimmed.
pub fn text(v: &mut Violations, field: &str, value: &str) -> String {
    let value = value.trim();
    check_opt_text(v, field, value, TEXT_MAX);
    value.to_string()
}

pub fn incident_type(
    v: &mut Violations,
    field: &str,
    value: i32,
    required: bool,
) -> Option<IncidentType> {
    match pb::IncidentType::try_from(value) {
        Ok(pb::IncidentType::Unspecified) if !required => None,
        Ok(pb::IncidentType::Unspecified) => {
            v.add(field, "is required");
            None
        }
        Ok(t) => IncidentType::from_code(i64::from(t as i32)),
        Err(_) => {
            v.add(field, "is not a known incident type");
            None
        }
    }
}

pub fn severity(v: &mut Violations, field: &str, value: i32, required: bool) -> Option<Severity> {
    match pb::Severity::try_from(value) {
        Ok(pb::Severity::Unspecified) if !required => None,
        Ok(pb::Severity::Unspecified) => {
            v.add(field, "is required: I, II, III or IV");
            None
        }
        Ok(s) => Severity::from_code(i64::from(s as i32)),
        Err(_) => {
            v.add(field, "is not a severity level (I to IV)");
            None
        }
    }
}

pub fn status(v: &mut Violations, field: &str, value: i32, required: bool) -> Option<Status> {
    match pb::IncidentStatus::try_from(value) {
        Ok(pb::IncidentStatus::Unspecified) if !required => None,
        Ok(pb::IncidentStatus::Unspecified) => {
            v.add(field, "is required");
            None
        }
        Ok(s) => Status::from_code(i64::from(s as i32)),
        Err(_) => {
            v.add(field, "is not an incident status");
            None
        }
    }
}

/// A duration in milliseconds; `None` when unset.
fn duration_ms(v: &mut Violations, field: &str, d: Option<&prost_types::Duration>) -> Option<i64> {
    let d = d?;
    if d.seconds < 0 || !(0..1_000_000_000).contains(&d.nanos) || d.seconds > 10 * 365 * 86_400 {
        v.add(field, "is not a valid non-negative duration");
        return None;
    }
    Some(d.seconds * 1000 + i64::from(d.nanos / 1_000_000))
}

fn step(v: &mut Violations, field: &str, s: &pb::PlanStep) -> PlanStep {
    let target = i64::from(s.target_minutes);
    if !(1..=TARGET_MINUTES_MAX).contains(&target) {
        v.add(
            format!("{field}.target_minutes"),
            format!("must be 1 to {TARGET_MINUTES_MAX} minutes"),
        );
    }
    check_id(v, &format!("{field}.department_id"), &s.department_id);
    PlanStep {
        title: title(v, &format!("{field}.title"), &s.title),
        instructions: text(v, &format!("{field}.instructions"), &s.instructions),
        department_id: s.department_id.clone(),
        target_minutes: target,
    }
}

fn contact(v: &mut Violations, field: &str, c: &pb::Contact) -> Contact {
    let name = c.name.trim();
    check_text(v, &format!("{field}.name"), name, CONTACT_FIELD_MAX);
    check_opt_text(
        v,
        &format!("{field}.role"),
        c.role.trim(),
        CONTACT_FIELD_MAX,
    );
    check_opt_text(
        v,
        &format!("{field}.phone"),
        c.phone.trim(),
        CONTACT_FIELD_MAX,
    );
    Contact {
        name: name.to_string(),
        role: c.role.trim().to_string(),
        phone: c.phone.trim().to_string(),
        person_id: opt_id(v, &format!("{field}.person_id"), &c.person_id),
    }
}

fn chain(v: &mut Violations, field: &str, values: &[i32]) -> Vec<EscalationTarget> {
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let f = format!("{field}[{i}]");
        match pb::EscalationTarget::try_from(*value) {
            Ok(pb::EscalationTarget::Unspecified) | Err(_) => {
                v.add(f, "is not an escalation target")
            }
            Ok(t) => match EscalationTarget::from_code(i64::from(t as i32)) {
                Some(t) if out.contains(&t) => v.add(f, "appears twice in the chain"),
                Some(t) => out.push(t),
                None => v.add(f, "is not an escalation target"),
            },
        }
    }
    out
}

/// Validates the `fields` of a plan message (prefix `plan.`).
fn plan_fields(v: &mut Violations, p: &pb::Plan, fields: &[PlanField]) -> PlanContent {
    let mut c = PlanContent {
        title: String::new(),
        description: String::new(),
        incident_type: IncidentType::Other,
        severity: Severity::Iv,
        owner_department_id: p.owner_department_id.clone(),
        steps: vec![],
        contacts: vec![],
        ack_timeout_ms: 0,
        reminder_ms: 0,
        escalation_chain: vec![],
    };
    for f in fields {
        match f {
            PlanField::Title => c.title = title(v, "plan.title", &p.title),
            PlanField::Description => c.description = text(v, "plan.description", &p.description),
            PlanField::IncidentType => {
                c.incident_type = incident_type(v, "plan.incident_type", p.incident_type, true)
                    .unwrap_or(IncidentType::Other)
            }
            PlanField::Severity => {
                c.severity = severity(v, "plan.severity", p.severity, true).unwrap_or(Severity::Iv)
            }
            PlanField::OwnerDepartmentId => {
                check_id(v, "plan.owner_department_id", &p.owner_department_id)
            }
            PlanField::Steps => {
                if p.steps.is_empty() {
                    v.add("plan.steps", "must hold at least one step");
                } else if p.steps.len() > STEPS_MAX {
                    v.add("plan.steps", format!("must hold at most {STEPS_MAX} steps"));
                } else {
                    c.steps = p
                        .steps
                        .iter()
                        .enumerate()
                        .map(|(i, s)| step(v, &format!("plan.steps[{i}]"), s))
                        .collect();
                }
            }
            PlanField::Contacts => {
                if p.contacts.len() > CONTACTS_MAX {
                    v.add(
                        "plan.contacts",
                        format!("must hold at most {CONTACTS_MAX} contacts"),
                    );
                } else {
                    c.contacts = p
                        .contacts
                        .iter()
                        .enumerate()
                        .map(|(i, x)| contact(v, &format!("plan.contacts[{i}]"), x))
                        .collect();
                }
            }
            PlanField::AcknowledgementTimeout => {
                match duration_ms(
                    v,
                    "plan.acknowledgement_timeout",
                    p.acknowledgement_timeout.as_ref(),
                ) {
                    None if p.acknowledgement_timeout.is_none() => {
                        v.add("plan.acknowledgement_timeout", "is required")
                    }
                    Some(ms) if !(ACK_TIMEOUT_MIN_MS..=ACK_TIMEOUT_MAX_MS).contains(&ms) => v.add(
                        "plan.acknowledgement_timeout",
                        "must be between 10 seconds and 1 day",
                    ),
                    Some(ms) => c.ack_timeout_ms = ms,
                    None => {}
                }
            }
            PlanField::ReminderInterval => {
                match duration_ms(v, "plan.reminder_interval", p.reminder_interval.as_ref()) {
                    Some(ms) if ms != 0 && !(REMINDER_MIN_MS..=REMINDER_MAX_MS).contains(&ms) => v
                        .add(
                            "plan.reminder_interval",
                            "must be zero (no reminders) or between 1 minute and 1 day",
                        ),
                    Some(ms) => c.reminder_ms = ms,
                    None => {}
                }
            }
            PlanField::EscalationChain => {
                c.escalation_chain = chain(v, "plan.escalation_chain", &p.escalation_chain)
            }
        }
    }
    c
}

impl TryFrom<&pb::CreatePlanRequest> for PlanContent {
    type Error = Error;

    fn try_from(r: &pb::CreatePlanRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        concord_kit::idempotency::check_request_id(&mut v, &r.request_id);
        let Some(p) = &r.plan else {
            v.add("plan", "is required");
            return Err(Error::Invalid(v));
        };
        let c = plan_fields(&mut v, p, &PlanField::ALL);
        v.into_result()?;
        Ok(c)
    }
}

/// A validated UpdatePlan.
#[derive(Debug, Clone)]
pub struct PlanChange {
    pub id: String,
    pub expected_version: Option<i64>,
    pub fields: Vec<PlanField>,
    pub content: PlanContent,
}

impl TryFrom<&pb::UpdatePlanRequest> for PlanChange {
    type Error = Error;

    fn try_from(r: &pb::UpdatePlanRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        let fields = update_mask(&mut v, r.update_mask.as_ref(), &PlanField::known());
        let Some(p) = &r.plan else {
            v.add("plan", "is required");
            return Err(Error::Invalid(v));
        };
        check_id(&mut v, "plan.id", &p.id);
        let expected_version = etag(&mut v, "plan.etag", &p.etag);
        let content = plan_fields(&mut v, p, &fields);
        v.into_result()?;
        Ok(Self {
            id: p.id.clone(),
            expected_version,
            fields,
            content,
        })
    }
}

/// Ids a plan names, each with the request field it came from.
pub type Named = Vec<(String, String)>;

/// The departments and people a plan names, with the field naming each, for
/// checking against the directory.
pub fn plan_references(c: &PlanContent, fields: &[PlanField]) -> (Named, Named) {
    let mut departments = Vec::new();
    let mut people = Vec::new();
    if fields.contains(&PlanField::OwnerDepartmentId) {
        departments.push((
            "plan.owner_department_id".to_string(),
            c.owner_department_id.clone(),
        ));
    }
    if fields.contains(&PlanField::Steps) {
        for (i, s) in c.steps.iter().enumerate() {
            departments.push((
                format!("plan.steps[{i}].department_id"),
                s.department_id.clone(),
            ));
        }
    }
    if fields.contains(&PlanField::Contacts) {
        for (i, x) in c.contacts.iter().enumerate() {
            if let Some(p) = &x.person_id {
                people.push((format!("plan.contacts[{i}].person_id"), p.clone()));
            }
        }
    }
    (departments, people)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::render::duration;

    #[test]
    fn durations_round_trip_and_refuse_negatives() {
        let mut v = Violations::new();
        assert_eq!(
            duration_ms(&mut v, "d", Some(&duration(90_500))),
            Some(90_500)
        );
        assert_eq!(
            duration_ms(
                &mut v,
                "d",
                Some(&prost_types::Duration {
                    seconds: -1,
                    nanos: 0
                })
            ),
            None
        );
        assert_eq!(v.fields().collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn a_plan_names_every_bad_field() {
        let p = pb::Plan {
            title: "".into(),
            incident_type: 99,
            severity: 0,
            owner_department_id: "nope".into(),
            steps: vec![pb::PlanStep {
                title: "疏散".into(),
                department_id: "".into(),
                target_minutes: 0,
                ..Default::default()
            }],
            contacts: vec![pb::Contact {
                name: "".into(),
                person_id: "x".into(),
                ..Default::default()
            }],
            acknowledgement_timeout: Some(duration(1_000)),
            reminder_interval: Some(duration(5_000)),
            escalation_chain: vec![1, 1, 7],
            ..Default::default()
        };
        let err = PlanContent::try_from(&pb::CreatePlanRequest {
            request_id: String::new(),
            plan: Some(p),
        })
        .unwrap_err();
        let Error::Invalid(v) = err else {
            panic!("not invalid")
        };
        let fields: Vec<&str> = v.fields().collect();
        for f in [
            "plan.title",
            "plan.incident_type",
            "plan.severity",
            "plan.owner_department_id",
            "plan.steps[0].target_minutes",
            "plan.steps[0].department_id",
            "plan.contacts[0].name",
            "plan.contacts[0].person_id",
            "plan.acknowledgement_timeout",
            "plan.reminder_interval",
            "plan.escalation_chain[1]",
            "plan.escalation_chain[2]",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }
}

//! Who may do what, on top of the coarse role policy the kit enforces:
//! admins and the head of a plan's owner department manage the plan; admins
//! and heads of the plan's departments declare; people see the incidents of
//! their departments and those addressed to them; everybody acknowledges
//! only their own alerts; auditors and services read everything.

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_proto::policy::v1::Role;

use super::incident::Incident;
use super::plan::PlanContent;

/// Admins, auditors and services read every incident and report.
pub fn sees_all(who: &Principal) -> bool {
    who.is_admin() || who.has(Role::Auditor) || who.is_service()
}

/// Creating, editing or archiving a plan owned by `owner_department_id`.
pub fn may_manage_plan(who: &Principal, owner_department_id: &str) -> Result<(), Error> {
    if who.is_admin() || who.heads(owner_department_id) {
        Ok(())
    } else {
        Err(Error::denied(
            "only admins and the head of the plan's owner department manage a plan",
        ))
    }
}

/// Declaring an incident or drill from `plan`.
pub fn may_declare(who: &Principal, plan: &PlanContent) -> Result<(), Error> {
    if who.is_admin() {
        return Ok(());
    }
    let named = plan.departments();
    let heads_one = who.has(Role::DepartmentHead)
        && who
            .department_id
            .as_deref()
            .is_some_and(|d| d == plan.owner_department_id || named.iter().any(|n| n == d));
    if heads_one {
        Ok(())
    } else {
        Err(Error::denied(
            "only admins and the heads of the plan's departments declare from it",
        ))
    }
}

/// How the caller is part of an incident.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Involvement {
    pub declared: bool,
    /// Their department was alerted.
    pub department: bool,
    /// An alert reached them.
    pub recipient: bool,
}

impl Involvement {
    pub fn any(self) -> bool {
        self.declared || self.department || self.recipient
    }
}

/// Reading an incident, its timeline and its report.
pub fn may_see(who: &Principal, involvement: Involvement) -> Result<(), Error> {
    if sees_all(who) || involvement.any() {
        Ok(())
    } else {
        Err(Error::denied(
            "this incident concerns neither you nor your department",
        ))
    }
}

/// Writing a note on the timeline: those involved and admins (auditors only read).
pub fn may_note(who: &Principal, involvement: Involvement) -> Result<(), Error> {
    if who.is_admin() || involvement.any() {
        Ok(())
    } else {
        Err(Error::denied(
            "only admins and the people involved add to an incident's timeline",
        ))
    }
}

/// Moving the status: admins, the declarer, heads of the incident's departments.
pub fn may_change_status(
    who: &Principal,
    incident: &Incident,
    departments: &[String],
) -> Result<(), Error> {
    let head_of_one =
        departments.iter().any(|d| who.heads(d)) || who.heads(&incident.owner_department_id);
    if who.is_admin() || who.subject == incident.declared_by || head_of_one {
        Ok(())
    } else {
        Err(Error::denied(
            "only admins, the declarer and heads of the incident's departments change its status",
        ))
    }
}

/// Reviewing: admins, the declarer, the head of the plan's owner department.
pub fn may_review(who: &Principal, incident: &Incident) -> Result<(), Error> {
    if who.is_admin()
        || who.subject == incident.declared_by
        || who.heads(&incident.owner_department_id)
    {
        Ok(())
    } else {
        Err(Error::denied(
            "only admins, the declarer and the head of the plan's owner department review an incident",
        ))
    }
}

/// Completing a step of `step_department`: its people (or those an
/// escalation reached for it), and admins.
pub fn may_complete_step(
    who: &Principal,
    step_department: &str,
    recipient_for_it: bool,
) -> Result<(), Error> {
    if who.is_admin() || who.department_id.as_deref() == Some(step_department) || recipient_for_it {
        Ok(())
    } else {
        Err(Error::denied(
            "only the responsible department completes a step",
        ))
    }
}

/// Reading a report: those who see everything, the declarer, heads of the
/// incident's departments or of its owner department.
pub fn may_read_report(
    who: &Principal,
    incident: &Incident,
    departments: &[String],
) -> Result<(), Error> {
    let head_of_one =
        departments.iter().any(|d| who.heads(d)) || who.heads(&incident.owner_department_id);
    if sees_all(who) || who.subject == incident.declared_by || head_of_one {
        Ok(())
    } else {
        Err(Error::denied(
            "reports are for admins, auditors, the declarer and the heads of the incident's departments",
        ))
    }
}

/// Naming another person in ListAlerts: admins and auditors.
pub fn may_list_alerts_of(who: &Principal, person_id: &str) -> Result<(), Error> {
    if person_id == who.subject || who.is_admin() || who.has(Role::Auditor) {
        Ok(())
    } else {
        Err(Error::denied(
            "only admins and auditors list somebody else's alerts",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::{IncidentType, PlanStep, Severity};

    fn who(roles: &[Role], dept: Option<&str>) -> Principal {
        Principal {
            subject: "me".into(),
            department_id: dept.map(Into::into),
            roles: roles.to_vec(),
            expires_at: i64::MAX,
        }
    }

    fn plan() -> PlanContent {
        PlanContent {
            title: "t".into(),
            description: String::new(),
            incident_type: IncidentType::Fire,
            severity: Severity::Iii,
            owner_department_id: "owner".into(),
            steps: vec![PlanStep {
                title: "s".into(),
                instructions: String::new(),
                department_id: "a".into(),
                target_minutes: 1,
            }],
            contacts: vec![],
            ack_timeout_ms: 60_000,
            reminder_ms: 0,
            escalation_chain: vec![],
        }
    }

    #[test]
    fn heads_of_named_departments_declare_and_others_do_not() {
        assert!(may_declare(&who(&[Role::Admin], None), &plan()).is_ok());
        assert!(may_declare(&who(&[Role::DepartmentHead], Some("a")), &plan()).is_ok());
        assert!(may_declare(&who(&[Role::DepartmentHead], Some("owner")), &plan()).is_ok());
        assert!(may_declare(&who(&[Role::DepartmentHead], Some("z")), &plan()).is_err());
        assert!(may_declare(&who(&[Role::Member], Some("a")), &plan()).is_err());
    }

    #[test]
    fn plans_are_managed_by_admins_and_the_owner_head() {
        assert!(may_manage_plan(&who(&[Role::DepartmentHead], Some("owner")), "owner").is_ok());
        assert!(may_manage_plan(&who(&[Role::DepartmentHead], Some("a")), "owner").is_err());
        assert!(may_manage_plan(&who(&[Role::Coordinator], Some("owner")), "owner").is_err());
    }

    #[test]
    fn auditors_read_but_do_not_write() {
        let auditor = who(&[Role::Auditor], None);
        assert!(may_see(&auditor, Involvement::default()).is_ok());
        assert!(may_note(&auditor, Involvement::default()).is_err());
        assert!(may_see(&who(&[Role::Member], Some("x")), Involvement::default()).is_err());
        assert!(
            may_see(
                &who(&[Role::Member], Some("x")),
                Involvement {
                    recipient: true,
                    ..Default::default()
                }
            )
            .is_ok()
        );
        assert!(may_list_alerts_of(&auditor, "other").is_ok());
        assert!(may_list_alerts_of(&who(&[Role::Member], None), "other").is_err());
    }
}

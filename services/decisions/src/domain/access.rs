//! Who may do what, on top of the coarse role policy the kit enforces.
//!
//! Proposals move (and change) by their proposer, the head of the owning
//! department or an admin. Drafts are seen by those and by auditors; later
//! stages by everybody signed in. Coordinators and admins create and assign
//! any action item, cross-department ones included; a head manages the items
//! their own department leads, as long as no other department supports them.

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_proto::policy::v1::Role;

use super::action_item::{ActionItem, ActionItemChange, ActionItemField, NewActionItem};
use super::proposal::{Proposal, Stage};

/// Whether `who` may move or change `p`.
pub fn may_move(who: &Principal, p: &Proposal) -> bool {
    who.is_admin() || who.subject == p.proposer_id || who.heads(&p.owning_department_id)
}

/// Fails unless `who` may move or change `p`.
pub fn ensure_may_move(who: &Principal, p: &Proposal) -> Result<(), Error> {
    if may_move(who, p) {
        Ok(())
    } else {
        Err(Error::denied(
            "only the proposer, the owning department's head or an admin moves or changes a proposal",
        ))
    }
}

/// Whether `who` may read `p` at all.
pub fn may_see(who: &Principal, p: &Proposal) -> bool {
    p.stage != Stage::Draft || may_move(who, p) || who.has(Role::Auditor)
}

/// Whether `who` sees everything, including sealed votes before the close.
pub fn sees_sealed(who: &Principal) -> bool {
    who.is_admin()
}

/// Whether `who` reads every draft (lists need this up front).
pub fn sees_all_drafts(who: &Principal) -> bool {
    who.is_admin() || who.has(Role::Auditor)
}

/// The department a new proposal belongs to: the caller's own, or (for
/// admins) the one named.
pub fn owning_department(who: &Principal, asked: Option<&str>) -> Result<String, Error> {
    match (asked, who.department_id.as_deref()) {
        (Some(d), _) if who.is_admin() => Ok(d.to_string()),
        (Some(d), Some(mine)) if d == mine => Ok(d.to_string()),
        (Some(_), _) => Err(Error::denied(
            "a proposal belongs to its proposer's department; only admins name another",
        )),
        (None, Some(mine)) => Ok(mine.to_string()),
        (None, None) => Err(concord_kit::invalid(
            "owning_department_id",
            "is required when the caller belongs to no department",
        )),
    }
}

/// Coordinators and admins: they create and assign any action item.
pub fn coordinates(who: &Principal) -> bool {
    who.is_admin() || who.has(Role::Coordinator)
}

/// Whether `who` may make a person of `owner_department` the owner of an
/// item led by `lead`: heads assign the people of their own department.
pub fn may_assign(who: &Principal, lead: &str, owner_department: &str) -> Result<(), Error> {
    if coordinates(who) || owner_department == lead {
        Ok(())
    } else {
        Err(Error::denied(
            "department heads assign action items to people of their own department",
        ))
    }
}

const CROSS: &str = "only coordinators and admins assign cross-department action items";

/// Whether `who` may create `new`.
pub fn may_create_item(who: &Principal, new: &NewActionItem) -> Result<(), Error> {
    if coordinates(who) {
        return Ok(());
    }
    if !who.heads(&new.lead_department_id) {
        return Err(Error::denied(
            "department heads create action items only for the department they head",
        ));
    }
    if new.is_cross_department() {
        return Err(Error::denied(CROSS));
    }
    Ok(())
}

/// Whether `who` may make `change` to `before`, giving `after`.
pub fn may_update_item(
    who: &Principal,
    before: &ActionItem,
    change: &ActionItemChange,
    after: &NewActionItem,
) -> Result<(), Error> {
    if coordinates(who) {
        return Ok(());
    }
    if !who.heads(&before.lead_department_id) {
        return Err(Error::denied(
            "department heads manage only the action items their department leads",
        ));
    }
    if after.lead_department_id != before.lead_department_id {
        return Err(Error::denied(
            "only coordinators and admins hand an action item to another lead department",
        ));
    }
    let cross = before.values().is_cross_department() || after.is_cross_department();
    if cross
        && (change.touches(ActionItemField::SupportingDepartments)
            || change.touches(ActionItemField::Owner))
    {
        return Err(Error::denied(CROSS));
    }
    Ok(())
}

/// Whether `who` may add a progress note to `item`.
pub fn may_note(who: &Principal, item: &ActionItem) -> bool {
    coordinates(who)
        || who.subject == item.owner_id
        || who.heads(&item.lead_department_id)
        || item.supporting_department_ids.iter().any(|d| who.heads(d))
}

/// Whether `who` may change the status of `item`.
pub fn may_set_status(who: &Principal, item: &ActionItem) -> bool {
    coordinates(who) || who.subject == item.owner_id || who.heads(&item.lead_department_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::action_item::ActionStatus;

    fn p(subject: &str, roles: &[Role], dept: Option<&str>) -> Principal {
        Principal {
            subject: subject.into(),
            department_id: dept.map(str::to_string),
            roles: roles.to_vec(),
            expires_at: i64::MAX,
        }
    }

    fn item(supporting: &[&str]) -> ActionItem {
        ActionItem {
            id: "a".into(),
            title: "t".into(),
            description: String::new(),
            proposal_id: None,
            lead_department_id: "lead".into(),
            supporting_department_ids: supporting.iter().map(|s| s.to_string()).collect(),
            owner_id: "owner".into(),
            due_ms: 10,
            status: ActionStatus::Open,
            overdue: false,
            done_ms: None,
            created_by: "c".into(),
            version: 1,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn owning_department_is_the_callers_unless_admin() {
        let m = p("m", &[Role::Member], Some("d1"));
        assert_eq!(owning_department(&m, None).unwrap(), "d1");
        assert_eq!(owning_department(&m, Some("d1")).unwrap(), "d1");
        assert!(matches!(
            owning_department(&m, Some("d2")),
            Err(Error::PermissionDenied(_))
        ));
        let a = p("a", &[Role::Admin], None);
        assert_eq!(owning_department(&a, Some("d2")).unwrap(), "d2");
        assert!(matches!(
            owning_department(&a, None),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn heads_create_only_their_own_single_department_items() {
        let head = p("h", &[Role::DepartmentHead], Some("lead"));
        let coord = p("c", &[Role::Coordinator], Some("x"));
        let member = p("m", &[Role::Member], Some("lead"));
        assert!(may_create_item(&head, &item(&[]).values()).is_ok());
        assert!(may_create_item(&head, &item(&["other"]).values()).is_err());
        assert!(may_create_item(&coord, &item(&["other"]).values()).is_ok());
        assert!(may_create_item(&member, &item(&[]).values()).is_err());
        let other_head = p("h2", &[Role::DepartmentHead], Some("other"));
        assert!(may_create_item(&other_head, &item(&[]).values()).is_err());
    }

    #[test]
    fn heads_do_not_reassign_cross_department_items() {
        let head = p("h", &[Role::DepartmentHead], Some("lead"));
        let before = item(&["other"]);
        let change = |fields: Vec<ActionItemField>, new: NewActionItem| ActionItemChange {
            id: "a".into(),
            expected_version: None,
            fields,
            new,
        };
        let mut after = before.values();
        after.owner_id = "someone".into();
        let c = change(vec![ActionItemField::Owner], after.clone());
        assert!(may_update_item(&head, &before, &c, &after).is_err());
        let mut due = before.values();
        due.due_ms = 99;
        let c = change(vec![ActionItemField::Due], due.clone());
        assert!(may_update_item(&head, &before, &c, &due).is_ok());
        let mut moved = before.values();
        moved.lead_department_id = "elsewhere".into();
        let c = change(vec![ActionItemField::LeadDepartment], moved.clone());
        assert!(may_update_item(&head, &before, &c, &moved).is_err());
        let coord = p("c", &[Role::Coordinator], None);
        assert!(may_update_item(&coord, &before, &c, &moved).is_ok());
    }

    #[test]
    fn notes_and_status() {
        let it = item(&["support"]);
        let owner = p("owner", &[Role::Member], Some("lead"));
        let support_head = p("sh", &[Role::DepartmentHead], Some("support"));
        let stranger = p("s", &[Role::Member], Some("lead"));
        assert!(may_note(&owner, &it) && may_set_status(&owner, &it));
        assert!(may_note(&support_head, &it) && !may_set_status(&support_head, &it));
        assert!(!may_note(&stranger, &it) && !may_set_status(&stranger, &it));
    }
}

//! Who may see and act on an item, on top of the coarse role policy: admins
//! and auditors see every item; a department head sees the items of their
//! department and those below it and manages them (assigns, reroutes,
//! reclassifies); the department's people see its items; the owner and the
//! head work on them (accept, start, resolve, reply, notes); a submitter sees
//! their own named items and answers the resolution. Auditors never change
//! anything.

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_proto::policy::v1::Role;

use super::Item;

/// How the caller stands to one item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub admin: bool,
    pub auditor: bool,
    /// Heads the owning department or one above it.
    pub head: bool,
    /// Belongs to the owning department.
    pub member: bool,
    pub owner: bool,
    /// Submitted the item under their name.
    pub submitter: bool,
}

impl Standing {
    /// The standing of `who` to `item`; `heads_above` says whether `who`
    /// heads a department above the item's (asked of the directory only
    /// when it matters).
    pub fn of(who: &Principal, item: &Item, heads_above: bool) -> Self {
        let in_department = item.department_id.is_some()
            && who.department_id.is_some()
            && who.department_id == item.department_id;
        Self {
            admin: who.is_admin(),
            auditor: who.has(Role::Auditor),
            head: who.has(Role::DepartmentHead) && (in_department || heads_above),
            member: in_department,
            owner: item.owner_id.as_deref() == Some(who.subject.as_str()),
            submitter: !item.anonymous && item.submitter_id.as_deref() == Some(&who.subject),
        }
    }

    /// Sees the item at all.
    pub fn may_see(&self) -> bool {
        self.staff_view() || self.submitter
    }

    /// Sees the whole timeline, internal notes included.
    pub fn staff_view(&self) -> bool {
        self.admin || self.auditor || self.head || self.member || self.owner
    }

    /// Works on the item: accepts, starts, resolves, replies, writes notes.
    pub fn may_work(&self) -> bool {
        self.admin || self.head || self.owner
    }

    /// Assigns the owner, transfers, reclassifies.
    pub fn may_manage(&self) -> bool {
        self.admin || self.head
    }

    /// Why the caller may not do something: NOT_FOUND for an item they may
    /// not see (so its existence is not revealed), else PERMISSION_DENIED.
    pub fn refusal(&self, item_id: &str, why: &str) -> Error {
        if self.may_see() {
            Error::denied(why)
        } else {
            Error::not_found("feedback item", item_id)
        }
    }

    /// Fails with [`Self::refusal`] unless the caller sees the item and
    /// `allowed` holds.
    pub fn require(&self, item_id: &str, allowed: bool, why: &str) -> Result<(), Error> {
        if self.may_see() && allowed {
            Ok(())
        } else {
            Err(self.refusal(item_id, why))
        }
    }
}

/// Whether a head check against the directory could change the answer:
/// `who` is a head outside the item's own department.
pub fn needs_directory(who: &Principal, item: &Item) -> bool {
    who.has(Role::DepartmentHead)
        && who.department_id.is_some()
        && item.department_id.is_some()
        && who.department_id != item.department_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sla::SlaPolicy;
    use crate::domain::{Category, Channel, NewItem, Priority, Routing};

    fn who(subject: &str, roles: &[Role], dept: Option<&str>) -> Principal {
        Principal {
            subject: subject.into(),
            department_id: dept.map(str::to_string),
            roles: roles.to_vec(),
            expires_at: i64::MAX,
        }
    }

    fn item(anonymous: bool) -> Item {
        let new = NewItem {
            channel: Channel::Hotline,
            category: Category::Complaint,
            priority: Priority::High,
            subject: "食堂".into(),
            body: "饭菜太咸".into(),
            location: String::new(),
            links: vec![],
            anonymous,
            department_id: Some("canteen".into()),
        };
        let (mut item, _) = Item::submit(
            "i".into(),
            new,
            Some("p1".into()),
            Routing::Submitter,
            &SlaPolicy::builtin(),
            0,
        );
        item.owner_id = Some("cook".into());
        item
    }

    #[test]
    fn each_role_sees_and_acts_as_the_rules_say() {
        let i = item(false);
        let s = |p: &Principal, above| Standing::of(p, &i, above);
        let member = s(&who("m", &[Role::Member], Some("canteen")), false);
        assert!(member.may_see() && member.staff_view() && !member.may_work());
        let outsider = s(&who("x", &[Role::Member], Some("it")), false);
        assert!(!outsider.may_see());
        let owner = s(&who("cook", &[Role::Member], Some("canteen")), false);
        assert!(owner.may_work() && !owner.may_manage());
        let head = s(&who("h", &[Role::DepartmentHead], Some("canteen")), false);
        assert!(head.may_manage());
        let upper = s(&who("h2", &[Role::DepartmentHead], Some("hq")), true);
        assert!(upper.may_manage());
        let auditor = s(&who("a", &[Role::Auditor], None), false);
        assert!(auditor.staff_view() && !auditor.may_work());
        let submitter = s(&who("p1", &[Role::Member], Some("it")), false);
        assert!(submitter.may_see() && !submitter.staff_view());
        assert!(outsider.require("i", true, "").is_err());
    }

    #[test]
    fn an_anonymous_item_has_no_submitter_to_match() {
        let i = item(true);
        assert_eq!(i.submitter_id, None);
        let s = Standing::of(&who("p1", &[Role::Member], Some("it")), &i, false);
        assert!(!s.may_see());
    }
}

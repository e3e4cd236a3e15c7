//! Who may change what, on top of the coarse role policy the kit enforces:
//! admins change everything; a department head manages the people and duties
//! of their own department and everything below it, may hand out only the
//! member and coordinator roles, and may not change anybody's roles nor touch
//! people who hold organisation-wide roles. Everybody signed in reads.

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_proto::policy::v1::Role;

use super::person::{Person, Roles};

pub use concord_kit::authz::Reach;

/// The part of the tree `who` manages people and duties in.
pub fn reach(who: &Principal) -> Reach {
    Reach::managing(who)
}

/// Departments themselves (create, rename, move, delete) are the admins'.
pub fn may_change_structure(who: &Principal) -> Result<(), Error> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(Error::denied("only admins change the department structure"))
    }
}

/// The roles a department head may hand out when creating a person.
const HEAD_GRANTABLE: [Role; 2] = [Role::Member, Role::Coordinator];

/// Whether `who` may create a person holding `roles`.
pub fn may_grant(who: &Principal, roles: &Roles) -> Result<(), Error> {
    if who.is_admin() || roles.iter().all(|r| HEAD_GRANTABLE.contains(&r)) {
        Ok(())
    } else {
        Err(Error::denied(
            "department heads may create people only with the member or coordinator role",
        ))
    }
}

/// Whether `who` may change a person's roles from `old` to `new`.
pub fn may_change_roles(who: &Principal, old: &Roles, new: &Roles) -> Result<(), Error> {
    if who.is_admin() || old == new {
        Ok(())
    } else {
        Err(Error::denied("only admins change roles"))
    }
}

/// Roles that reach beyond a department; their holders are managed by admins.
const ORGANISATION_ROLES: [Role; 3] = [Role::Admin, Role::Auditor, Role::Service];

/// Whether `who` may change `person` at all (their department is checked
/// against [`reach`] separately).
pub fn may_touch(who: &Principal, person: &Person) -> Result<(), Error> {
    if who.is_admin() || !ORGANISATION_ROLES.iter().any(|r| person.roles.contains(*r)) {
        Ok(())
    } else {
        Err(Error::denied(
            "people with organisation-wide roles are managed by admins",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role], dept: Option<&str>) -> Principal {
        Principal {
            subject: "p".into(),
            department_id: dept.map(str::to_string),
            roles: roles.to_vec(),
            expires_at: i64::MAX,
        }
    }

    fn roles(r: &[Role]) -> Roles {
        Roles::parse(&r.iter().map(|r| *r as i32).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn reach_follows_role_and_department() {
        assert_eq!(reach(&principal(&[Role::Admin], None)), Reach::Everywhere);
        assert_eq!(
            reach(&principal(&[Role::DepartmentHead], Some("d"))),
            Reach::Subtree("d".into())
        );
        assert_eq!(
            reach(&principal(&[Role::DepartmentHead], None)),
            Reach::Nowhere
        );
        assert_eq!(
            reach(&principal(&[Role::Coordinator], Some("d"))),
            Reach::Nowhere
        );
    }

    #[test]
    fn heads_grant_only_member_and_coordinator_and_never_change_roles() {
        let head = principal(&[Role::DepartmentHead], Some("d"));
        let admin = principal(&[Role::Admin], None);
        assert!(may_grant(&head, &roles(&[Role::Member, Role::Coordinator])).is_ok());
        assert!(may_grant(&head, &roles(&[Role::DepartmentHead])).is_err());
        assert!(may_grant(&admin, &roles(&[Role::Admin])).is_ok());
        let m = roles(&[Role::Member]);
        let c = roles(&[Role::Coordinator]);
        assert!(may_change_roles(&head, &m, &m).is_ok());
        assert!(may_change_roles(&head, &m, &c).is_err());
        assert!(may_change_roles(&admin, &m, &c).is_ok());
        assert!(may_change_structure(&head).is_err());
        assert!(may_change_structure(&admin).is_ok());
    }
}

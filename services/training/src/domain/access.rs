//! Who may do what. Subtree questions ("is this department below mine?")
//! need the directory, so rules here say which subtree to ask about.

use concord_kit::auth::Principal;
use concord_proto::policy::v1::Role;

pub use concord_kit::authz::Reach;

/// Where the caller may plan training and run it (enrol others, record
/// attendance and completion, remind): admins everywhere, heads in their own
/// subtree.
pub fn planning(who: &Principal) -> Reach {
    Reach::managing(who)
}

/// Where the caller may read people's training records and statistics:
/// admins, auditors and services everywhere, heads in their own subtree.
pub fn reading(who: &Principal) -> Reach {
    Reach::reading(who)
}

/// Where the caller may see and change development plans (besides their
/// own): admins everywhere (auditors read only), heads in their subtree.
pub fn developing(who: &Principal) -> Reach {
    Reach::managing(who)
}

/// Auditors read everything and change nothing.
pub fn is_auditor(who: &Principal) -> bool {
    who.has(Role::Auditor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(roles: &[Role], dept: Option<&str>) -> Principal {
        Principal {
            subject: "p".into(),
            department_id: dept.map(str::to_string),
            roles: roles.to_vec(),
            expires_at: 0,
        }
    }

    #[test]
    fn reaches_follow_roles() {
        assert_eq!(planning(&p(&[Role::Admin], None)), Reach::Everywhere);
        assert_eq!(
            planning(&p(&[Role::DepartmentHead], Some("d"))),
            Reach::Subtree("d".into())
        );
        assert_eq!(planning(&p(&[Role::DepartmentHead], None)), Reach::Nowhere);
        assert_eq!(planning(&p(&[Role::Auditor], None)), Reach::Nowhere);
        assert_eq!(reading(&p(&[Role::Auditor], None)), Reach::Everywhere);
        assert_eq!(reading(&p(&[Role::Service], None)), Reach::Everywhere);
        assert_eq!(reading(&p(&[Role::Member], Some("d"))), Reach::Nowhere);
        assert_eq!(developing(&p(&[Role::Auditor], None)), Reach::Nowhere);
    }
}

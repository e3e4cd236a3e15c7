//! Who may do what, on top of the coarse role policy the kit enforces.
//!
//! A cycle's managers are admins and the heads of its owner department or
//! of a department above it. Scores are seen by admins, auditors and
//! services at every stage; by the managers of the appraised (heads whose
//! subtree holds the appraised, the appraised excepted) at every stage; by
//! the appraised themselves once published. Reviewers see what they score.

use std::collections::HashSet;

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_proto::policy::v1::Role;

use super::cycle::{Stage, Subject, SubjectKind};

/// The part of the organisation a caller manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Everywhere,
    /// A head: their department and every department below it.
    Subtree(HashSet<String>),
    Nowhere,
}

impl Reach {
    pub fn covers(&self, department_id: &str) -> bool {
        match self {
            Reach::Everywhere => true,
            Reach::Subtree(ids) => ids.contains(department_id),
            Reach::Nowhere => false,
        }
    }
}

/// Admins, auditors and services read every score.
pub fn sees_all(who: &Principal) -> bool {
    who.is_admin() || who.has(Role::Auditor) || who.is_service()
}

/// Whether `who` is the appraised `subject` (the person, or a head of the
/// appraised department).
pub fn is_appraised(who: &Principal, kind: SubjectKind, subject: &Subject) -> bool {
    match kind {
        SubjectKind::Person => who.subject == subject.id,
        SubjectKind::Department => who.heads(&subject.id),
    }
}

/// Whether `who` manages the cycle owned by `owner` (`None`: the
/// organisation, admins only).
pub fn manages_cycle(who: &Principal, reach: &Reach, owner: Option<&str>) -> bool {
    who.is_admin() || owner.is_some_and(|o| who.has(Role::DepartmentHead) && reach.covers(o))
}

/// Fails unless `who` manages the cycle.
pub fn ensure_manages_cycle(
    who: &Principal,
    reach: &Reach,
    owner: Option<&str>,
) -> Result<(), Error> {
    if manages_cycle(who, reach, owner) {
        Ok(())
    } else {
        Err(Error::denied(
            "only admins and the heads of the cycle's owner department (or above it) manage a cycle",
        ))
    }
}

/// Whether `who` manages the appraised `subject`: a head whose subtree holds
/// it (not the appraised themselves), or an admin.
pub fn manages_subject(
    who: &Principal,
    reach: &Reach,
    kind: SubjectKind,
    subject: &Subject,
) -> bool {
    if who.is_admin() {
        return true;
    }
    who.has(Role::DepartmentHead)
        && reach.covers(&subject.department_id)
        && !is_appraised(who, kind, subject)
}

/// Whether `who` may see the subject's scorecard, scores, calibrations and
/// feedback at `stage`.
pub fn may_see(
    who: &Principal,
    reach: &Reach,
    kind: SubjectKind,
    subject: &Subject,
    stage: Stage,
) -> bool {
    sees_all(who)
        || manages_subject(who, reach, kind, subject)
        || (stage == Stage::Published && is_appraised(who, kind, subject))
}

/// Fails unless `who` may see the subject's results.
pub fn ensure_may_see(
    who: &Principal,
    reach: &Reach,
    kind: SubjectKind,
    subject: &Subject,
    stage: Stage,
) -> Result<(), Error> {
    if may_see(who, reach, kind, subject, stage) {
        Ok(())
    } else if is_appraised(who, kind, subject) {
        Err(Error::denied(
            "the appraised see their scorecard once the cycle is published",
        ))
    } else {
        Err(Error::denied(
            "scores are for the appraised, their managers, admins and auditors",
        ))
    }
}

/// Calibrating or writing feedback: the cycle's or the subject's managers,
/// never the appraised themselves.
pub fn ensure_may_judge(
    who: &Principal,
    reach: &Reach,
    owner: Option<&str>,
    kind: SubjectKind,
    subject: &Subject,
) -> Result<(), Error> {
    if is_appraised(who, kind, subject) && !who.is_admin() {
        return Err(Error::denied("nobody judges their own appraisal"));
    }
    if manages_cycle(who, reach, owner) || manages_subject(who, reach, kind, subject) {
        Ok(())
    } else {
        Err(Error::denied(
            "only the managers of the cycle or of the appraised do this",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(subject: &str, roles: &[Role], dept: Option<&str>) -> Principal {
        Principal {
            subject: subject.into(),
            department_id: dept.map(Into::into),
            roles: roles.to_vec(),
            expires_at: i64::MAX,
        }
    }

    fn subject(id: &str, dept: &str) -> Subject {
        Subject {
            id: id.into(),
            department_id: dept.into(),
            display_name: "张三".into(),
            position: 0,
        }
    }

    fn reach(ids: &[&str]) -> Reach {
        Reach::Subtree(ids.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_appraised_see_their_card_only_once_published() {
        let p = who("p", &[Role::Member], Some("d"));
        let s = subject("p", "d");
        assert!(!may_see(
            &p,
            &Reach::Nowhere,
            SubjectKind::Person,
            &s,
            Stage::Calibration
        ));
        assert!(may_see(
            &p,
            &Reach::Nowhere,
            SubjectKind::Person,
            &s,
            Stage::Published
        ));
        let other = who("q", &[Role::Member], Some("d"));
        assert!(!may_see(
            &other,
            &Reach::Nowhere,
            SubjectKind::Person,
            &s,
            Stage::Published
        ));
    }

    #[test]
    fn heads_see_their_subtree_but_not_their_own_department_early() {
        let head = who("h", &[Role::DepartmentHead], Some("d"));
        let r = reach(&["d", "d1"]);
        let person = subject("p", "d1");
        assert!(may_see(
            &head,
            &r,
            SubjectKind::Person,
            &person,
            Stage::Scoring
        ));
        let own = subject("d", "d");
        assert!(!may_see(
            &head,
            &r,
            SubjectKind::Department,
            &own,
            Stage::Calibration
        ));
        assert!(may_see(
            &head,
            &r,
            SubjectKind::Department,
            &own,
            Stage::Published
        ));
        let sub = subject("d1", "d1");
        assert!(may_see(
            &head,
            &r,
            SubjectKind::Department,
            &sub,
            Stage::Open
        ));
        let outside = subject("x", "elsewhere");
        assert!(!may_see(
            &head,
            &r,
            SubjectKind::Department,
            &outside,
            Stage::Published
        ));
        assert!(ensure_may_judge(&head, &r, Some("d"), SubjectKind::Department, &own).is_err());
        assert!(ensure_may_judge(&head, &r, Some("d"), SubjectKind::Department, &sub).is_ok());
    }

    #[test]
    fn auditors_read_everything_and_manage_nothing() {
        let a = who("a", &[Role::Auditor], None);
        let s = subject("p", "d");
        assert!(may_see(
            &a,
            &Reach::Nowhere,
            SubjectKind::Person,
            &s,
            Stage::Open
        ));
        assert!(!manages_cycle(&a, &Reach::Nowhere, Some("d")));
        let admin = who("root", &[Role::Admin], None);
        assert!(manages_cycle(&admin, &Reach::Everywhere, None));
        let head = who("h", &[Role::DepartmentHead], Some("d"));
        assert!(!manages_cycle(&head, &reach(&["d"]), None));
    }
}

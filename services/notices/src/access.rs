//! Who may do what, on top of the coarse role policy the kit enforces:
//! admins publish to anyone; a department head to their own department's
//! subtree; anybody else only to the subtrees a head granted them. A notice
//! is managed (edited, published, retracted, its receipts read, reminders
//! sent) by its author, the heads above the author's department and admins.

use std::collections::BTreeSet;

use concord_kit::Error;
use concord_kit::auth::Principal;
use concord_kit::directory::under;
use concord_proto::policy::v1::Role;

use crate::core::Core;
use crate::domain::{Audience, Notice};
use crate::store::grant;

/// The departments someone may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Everywhere,
    Departments(BTreeSet<String>),
}

impl Reach {
    pub fn contains(&self, department_id: &str) -> bool {
        match self {
            Reach::Everywhere => true,
            Reach::Departments(d) => d.contains(department_id),
        }
    }
}

impl Core {
    /// The subtree a head heads; empty for anybody else.
    pub async fn headed(&self, who: &Principal) -> Result<BTreeSet<String>, Error> {
        match (who.has(Role::DepartmentHead), &who.department_id) {
            (true, Some(d)) => Ok(self.directory.subtree(d).await?.unwrap_or_default()),
            _ => Ok(BTreeSet::new()),
        }
    }

    /// Where `who` may publish.
    pub async fn publishing_reach(&self, who: &Principal) -> Result<Reach, Error> {
        if who.is_admin() || who.is_service() {
            return Ok(Reach::Everywhere);
        }
        let mut roots =
            grant::departments_of(&mut *self.db.pool().acquire().await?, &who.subject).await?;
        if let (true, Some(d)) = (who.has(Role::DepartmentHead), &who.department_id) {
            roots.push(d.clone());
        }
        Ok(Reach::Departments(self.directory.subtrees(&roots).await?))
    }

    /// Fails unless `who` may publish to `audience`.
    pub async fn ensure_may_publish(
        &self,
        who: &Principal,
        audience: &Audience,
    ) -> Result<(), Error> {
        let reach = self.publishing_reach(who).await?;
        let Reach::Departments(allowed) = &reach else {
            return Ok(());
        };
        if audience.everyone {
            return Err(Error::denied("only admins publish to everyone"));
        }
        if allowed.is_empty() {
            return Err(Error::denied(
                "you may not publish: department heads publish to their department, others where a head granted it",
            ));
        }
        if let Some(d) = audience
            .department_ids
            .iter()
            .find(|d| !allowed.contains(*d))
        {
            return Err(Error::denied(format!(
                "department {d} is outside the departments you may publish to"
            )));
        }
        if !audience.person_ids.is_empty() {
            let named = Audience {
                person_ids: audience.person_ids.clone(),
                ..Audience::default()
            };
            let people = self.resolve(&named, &under("audience")).await?;
            if let Some(p) = people.iter().find(|p| !allowed.contains(&p.department_id)) {
                return Err(Error::denied(format!(
                    "person {} works outside the departments you may publish to",
                    p.person_id
                )));
            }
        }
        Ok(())
    }

    /// Whether `who` manages notice `n`.
    pub async fn manages(&self, who: &Principal, n: &Notice) -> Result<bool, Error> {
        if who.is_admin() || who.subject == n.author_id {
            return Ok(true);
        }
        if !who.has(Role::DepartmentHead) || n.author_department_id.is_empty() {
            return Ok(false);
        }
        if who.department_id.as_deref() == Some(n.author_department_id.as_str()) {
            return Ok(true);
        }
        Ok(self.headed(who).await?.contains(&n.author_department_id))
    }

    /// Fails unless `who` manages `n`.
    pub async fn ensure_manages(&self, who: &Principal, n: &Notice) -> Result<(), Error> {
        if self.manages(who, n).await? {
            Ok(())
        } else {
            Err(Error::denied(
                "only the author, the heads above the author and admins manage a notice",
            ))
        }
    }

    /// Whether `who` may read the receipts of `n` (managers and auditors).
    pub async fn ensure_reads_receipts(&self, who: &Principal, n: &Notice) -> Result<(), Error> {
        if who.has(Role::Auditor) || self.manages(who, n).await? {
            Ok(())
        } else {
            Err(Error::denied(
                "only the author, the heads above the author, admins and auditors see receipts",
            ))
        }
    }
}

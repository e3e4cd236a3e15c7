//! The directory as the other services ask it, over the service channel
//! with the caller's service identity: who an audience covers, which
//! departments lie below one, who a person is, who heads a department,
//! "who handles this?", and how far a caller's [`Reach`] goes.
//!
//! Failures map once: the directory's invalid fields are renamed to the
//! caller's request fields, an unreachable directory is UNAVAILABLE, and
//! anything else is internal. A lookup by id that finds nothing (or an id
//! the directory cannot read) is `None`, not an error.

use std::collections::BTreeSet;

use concord_proto::directory::v1 as pb;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::policy::v1::Role;
use tonic::Code;
use tonic_types::StatusExt;

use crate::authz::Reach;
use crate::clients::ServiceChannel;
use crate::error::{Error, Violations, invalid};

/// The largest page the directory gives.
const PAGE: i32 = 500;

/// The longest topic FindResponsible accepts, in characters.
const TOPIC_MAX: usize = 10_000;

/// A person an audience covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub person_id: String,
    pub department_id: String,
    pub display_name: String,
}

/// A person as the directory knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub department_id: String,
    pub display_name: String,
    pub active: bool,
    pub roles: Vec<Role>,
}

impl Person {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A department as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: String,
    pub name: String,
    /// Empty for a root.
    pub parent_id: String,
}

/// The department whose duties match a topic best.
#[derive(Debug, Clone, PartialEq)]
pub struct Responsible {
    pub department_id: String,
    pub score: f64,
    /// The duty that matched best.
    pub duty: String,
}

/// Renames the directory's audience fields (`department_ids[2]`) under the
/// caller's `prefix` (`audience.department_ids[2]`); a complaint about the
/// audience as a whole (`everyone`) names `prefix` itself.
pub fn under(prefix: &str) -> impl Fn(&str) -> String + Sync + '_ {
    move |f: &str| {
        if f.is_empty() || f == "everyone" {
            prefix.to_string()
        } else {
            format!("{prefix}.{f}")
        }
    }
}

/// The error a failed directory call is to the caller. Invalid fields of
/// the directory's request are renamed by `rename`.
pub fn failure(status: &tonic::Status, rename: &(dyn Fn(&str) -> String + Sync)) -> Error {
    match status.code() {
        Code::InvalidArgument => {
            let mut v = Violations::new();
            if let Some(bad) = status.get_error_details().bad_request() {
                for f in &bad.field_violations {
                    v.add(rename(&f.field), f.description.clone());
                }
            }
            if v.is_empty() {
                v.add(rename(""), status.message().to_string());
            }
            Error::Invalid(v)
        }
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::Unknown
        | Code::ResourceExhausted => Error::Unavailable(format!("directory: {}", status.message())),
        code => Error::Internal(anyhow::anyhow!(
            "directory answered {code:?}: {}",
            status.message()
        )),
    }
}

/// Nothing was found by that id: NOT_FOUND, or an id the directory cannot read.
fn names_nothing(status: &tonic::Status) -> bool {
    matches!(status.code(), Code::NotFound | Code::InvalidArgument)
}

fn person(p: pb::Person) -> Person {
    Person {
        roles: p
            .roles
            .iter()
            .filter_map(|r| Role::try_from(*r).ok())
            .collect(),
        id: p.id,
        department_id: p.department_id,
        display_name: p.display_name,
        active: p.active,
    }
}

/// A client of the directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DirectoryLink {
    client: DirectoryServiceClient<ServiceChannel>,
}

impl DirectoryLink {
    /// Over `ctx.upstreams.channel("directory")`.
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            client: DirectoryServiceClient::new(channel),
        }
    }

    /// The active people `audience` covers, each once, in display-name
    /// order. Bad ids are violations named through `rename` (the directory
    /// names them `department_ids[i]` and `person_ids[i]`; see [`under`]).
    #[tracing::instrument(skip_all, fields(everyone = audience.everyone, departments = audience.department_ids.len(), people = audience.person_ids.len()))]
    pub async fn resolve(
        &self,
        audience: pb::ResolveAudienceRequest,
        rename: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Vec<Member>, Error> {
        let members = self
            .client
            .clone()
            .resolve_audience(audience)
            .await
            .map_err(|s| failure(&s, rename))?
            .into_inner()
            .members;
        Ok(members
            .into_iter()
            .map(|m| Member {
                person_id: m.person_id,
                department_id: m.department_id,
                display_name: m.display_name,
            })
            .collect())
    }

    /// The department and every department below it; `None` when there is
    /// no such department.
    #[tracing::instrument(skip_all, fields(department_id = %id))]
    pub async fn subtree(&self, id: &str) -> Result<Option<BTreeSet<String>>, Error> {
        let mut out = BTreeSet::from([id.to_string()]);
        let mut page_token = String::new();
        loop {
            let request = pb::ListDepartmentsRequest {
                parent_id: id.to_string(),
                subtree: true,
                page_size: PAGE,
                page_token,
            };
            let page = match self.client.clone().list_departments(request).await {
                Ok(r) => r.into_inner(),
                Err(s) if names_nothing(&s) => return Ok(None),
                Err(s) => return Err(failure(&s, &|_| "department_id".into())),
            };
            out.extend(page.departments.into_iter().map(|d| d.id));
            if page.next_page_token.is_empty() {
                return Ok(Some(out));
            }
            page_token = page.next_page_token;
        }
    }

    /// [`Self::subtree`], or just `id` when the directory does not know it
    /// (a department that vanished has nothing below it).
    pub async fn subtree_or_self(&self, id: &str) -> Result<BTreeSet<String>, Error> {
        Ok(self
            .subtree(id)
            .await?
            .unwrap_or_else(|| BTreeSet::from([id.to_string()])))
    }

    /// The union of the subtrees of `roots` (unknown roots add nothing).
    pub async fn subtrees(&self, roots: &[String]) -> Result<BTreeSet<String>, Error> {
        let mut out = BTreeSet::new();
        for root in roots {
            if !out.contains(root) {
                out.extend(self.subtree(root).await?.unwrap_or_default());
            }
        }
        Ok(out)
    }

    /// Whether `department` is `root` or lies below it.
    pub async fn within(&self, root: &str, department: &str) -> Result<bool, Error> {
        if root == department {
            return Ok(true);
        }
        Ok(self
            .subtree(root)
            .await?
            .is_some_and(|s| s.contains(department)))
    }

    /// A person, active or not; `None` when there is no such person.
    #[tracing::instrument(skip_all, fields(person_id = %id))]
    pub async fn person(&self, id: &str) -> Result<Option<Person>, Error> {
        let request = pb::GetPersonRequest { id: id.to_string() };
        match self.client.clone().get_person(request).await {
            Ok(r) => Ok(Some(person(r.into_inner()))),
            Err(s) if names_nothing(&s) => Ok(None),
            Err(s) => Err(failure(&s, &|_| "person_id".into())),
        }
    }

    /// A department; `None` when there is no such department.
    #[tracing::instrument(skip_all, fields(department_id = %id))]
    pub async fn department(&self, id: &str) -> Result<Option<Department>, Error> {
        let request = pb::GetDepartmentRequest { id: id.to_string() };
        match self.client.clone().get_department(request).await {
            Ok(r) => {
                let d = r.into_inner();
                Ok(Some(Department {
                    id: d.id,
                    name: d.name,
                    parent_id: d.parent_id,
                }))
            }
            Err(s) if names_nothing(&s) => Ok(None),
            Err(s) => Err(failure(&s, &|_| "department_id".into())),
        }
    }

    /// Whether `id` names a department.
    pub async fn department_exists(&self, id: &str) -> Result<bool, Error> {
        Ok(self.department(id).await?.is_some())
    }

    /// Fails with INVALID_ARGUMENT naming every `(field, id)` whose id names
    /// no department; the lookups run at once.
    #[tracing::instrument(skip_all, fields(departments = fields.len()))]
    pub async fn check_departments(&self, fields: &[(String, String)]) -> Result<(), Error> {
        let lookups = fields
            .iter()
            .map(|(field, id)| async move { (field, self.department(id).await) });
        let mut v = Violations::new();
        for (field, found) in futures::future::join_all(lookups).await {
            if found?.is_none() {
                v.add(field.clone(), "names no department");
            }
        }
        v.into_result()
    }

    /// The active people of `department_id` (not its sub-departments; empty:
    /// the whole organisation) who hold `role`.
    #[tracing::instrument(skip_all, fields(department_id = %department_id, role = ?role))]
    pub async fn holders(&self, department_id: &str, role: Role) -> Result<Vec<Person>, Error> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::ListPeopleRequest {
                department_id: department_id.to_string(),
                include_sub_departments: false,
                include_inactive: false,
                page_size: PAGE,
                page_token,
            };
            let page = self
                .client
                .clone()
                .list_people(request)
                .await
                .map_err(|s| failure(&s, &|_| "department_id".into()))?
                .into_inner();
            out.extend(
                page.people
                    .into_iter()
                    .map(person)
                    .filter(|p| p.active && p.has(role)),
            );
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// The active heads of a department.
    pub async fn heads(&self, department_id: &str) -> Result<Vec<Person>, Error> {
        self.holders(department_id, Role::DepartmentHead).await
    }

    /// Every active admin of the organisation.
    pub async fn admins(&self) -> Result<Vec<Person>, Error> {
        self.holders("", Role::Admin).await
    }

    /// The department whose duties match `topic` best (cut to the length
    /// the directory accepts), if any scores at all.
    #[tracing::instrument(skip_all)]
    pub async fn find_responsible(&self, topic: &str) -> Result<Option<Responsible>, Error> {
        let request = pb::FindResponsibleRequest {
            topic: topic.chars().take(TOPIC_MAX).collect(),
            max_results: 1,
        };
        let matches = self
            .client
            .clone()
            .find_responsible(request)
            .await
            .map_err(|s| failure(&s, &|_| "topic".into()))?
            .into_inner()
            .matches;
        Ok(matches.into_iter().find_map(|m| {
            Some(Responsible {
                department_id: m.department?.id,
                score: m.score,
                duty: m
                    .matched_duties
                    .first()
                    .map(|d| d.text.clone())
                    .unwrap_or_default(),
            })
        }))
    }

    /// The departments `reach` covers: `None` for all of them.
    pub async fn reach_set(&self, reach: &Reach) -> Result<Option<BTreeSet<String>>, Error> {
        match reach {
            Reach::Everywhere => Ok(None),
            Reach::Subtree(root) => Ok(Some(self.subtree_or_self(root).await?)),
            Reach::Nowhere => Ok(Some(BTreeSet::new())),
        }
    }

    /// Whether `reach` covers `department`.
    pub async fn covers(&self, reach: &Reach, department: &str) -> Result<bool, Error> {
        match reach {
            Reach::Everywhere => Ok(true),
            Reach::Subtree(root) => self.within(root, department).await,
            Reach::Nowhere => Ok(false),
        }
    }

    /// The departments a filter of a list or a statistic covers for a
    /// caller with `reach`: `department_id` (empty: no filter) with its
    /// sub-departments when `include_sub_departments`, `None` meaning the
    /// whole organisation. Refused when the reach is nowhere or the
    /// department lies outside it; a department that does not exist is a
    /// violation naming `field`. With no department named, a reach limited
    /// to a subtree yields that subtree.
    pub async fn scope(
        &self,
        reach: &Reach,
        field: &str,
        department_id: &str,
        include_sub_departments: bool,
    ) -> Result<Option<BTreeSet<String>>, Error> {
        if *reach == Reach::Nowhere {
            return Err(Error::denied(
                "only admins, auditors, services and department heads see these figures",
            ));
        }
        let wanted = if department_id.is_empty() {
            None
        } else {
            let below = self
                .subtree(department_id)
                .await?
                .ok_or_else(|| invalid(field, "names no department"))?;
            Some(if include_sub_departments {
                below
            } else {
                BTreeSet::from([department_id.to_string()])
            })
        };
        let Some(allowed) = self.reach_set(reach).await? else {
            return Ok(wanted);
        };
        match wanted {
            None => Ok(Some(allowed)),
            Some(w) if w.is_subset(&allowed) => Ok(Some(w)),
            Some(_) => Err(Error::denied(
                "department heads see only their own department and those below it",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn audience_fields_are_named_under_the_callers_field() {
        let rename = under("plan.audience");
        assert_eq!(
            rename("department_ids[2]"),
            "plan.audience.department_ids[2]"
        );
        assert_eq!(rename("everyone"), "plan.audience");
        assert_eq!(rename(""), "plan.audience");
    }

    #[test]
    fn failures_map_to_renamed_fields_unavailable_or_internal() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("person_ids[1]", "names no person");
        let bad = tonic::Status::with_error_details(Code::InvalidArgument, "bad", details);
        let Error::Invalid(v) = failure(&bad, &under("audience")) else {
            panic!("not invalid")
        };
        assert_eq!(v.fields().collect::<Vec<_>>(), ["audience.person_ids[1]"]);
        let bare = tonic::Status::invalid_argument("无效");
        let Error::Invalid(v) = failure(&bare, &under("audience")) else {
            panic!("not invalid")
        };
        assert_eq!(v.fields().collect::<Vec<_>>(), ["audience"]);
        for code in [Code::Unavailable, Code::DeadlineExceeded, Code::Cancelled] {
            let e = failure(&tonic::Status::new(code, "down"), &under("x"));
            assert!(matches!(e, Error::Unavailable(_)), "{code:?}");
        }
        let e = failure(&tonic::Status::permission_denied("no"), &under("x"));
        assert!(matches!(e, Error::Internal(_)));
        assert!(names_nothing(&tonic::Status::not_found("gone")));
        assert!(!names_nothing(&tonic::Status::unavailable("down")));
    }
}

//! What the decisions ask the directory: whether departments and people
//! exist, who the eligible voters of a proposal are, and which departments
//! lie below one. Calls go over the service channel with this service's
//! identity.

use concord_kit::Error;
use concord_kit::clients::ServiceChannel;
use concord_proto::directory::v1 as dir;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::policy::v1::Role;
use tonic::Code;

use crate::domain::{Electorate, ParticipationRole, Proposal};
use crate::store::vote::Voter;

/// A person as the decisions need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacts {
    pub id: String,
    pub department_id: String,
    pub active: bool,
}

/// The directory, reached over a service channel.
#[derive(Debug, Clone)]
pub struct DirectoryLink {
    client: DirectoryServiceClient<ServiceChannel>,
}

/// A directory failure: UNAVAILABLE when it cannot be reached, else internal.
fn failed(what: &str, s: tonic::Status) -> Error {
    match s.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => {
            Error::Unavailable(format!("directory ({what}): {}", s.message()))
        }
        _ => Error::Internal(anyhow::anyhow!(
            "directory ({what}) answered {:?}: {}",
            s.code(),
            s.message()
        )),
    }
}

impl DirectoryLink {
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            client: DirectoryServiceClient::new(channel),
        }
    }

    /// Fails with INVALID_ARGUMENT naming every `(field, id)` whose id names
    /// no department.
    #[tracing::instrument(skip_all, fields(departments = fields.len()))]
    pub async fn check_departments(&self, fields: &[(String, String)]) -> Result<(), Error> {
        let lookups = fields.iter().map(|(field, id)| {
            let mut c = self.client.clone();
            async move {
                let r = c
                    .get_department(dir::GetDepartmentRequest { id: id.clone() })
                    .await;
                (field, r)
            }
        });
        let mut v = concord_kit::Violations::new();
        for (field, r) in futures::future::join_all(lookups).await {
            match r {
                Ok(_) => {}
                Err(s) if s.code() == Code::NotFound => v.add(field.clone(), "names no department"),
                Err(s) => return Err(failed("GetDepartment", s)),
            }
        }
        v.into_result()
    }

    /// The person with `id`, if any.
    #[tracing::instrument(skip_all, fields(person_id = %id))]
    pub async fn person(&self, id: &str) -> Result<Option<PersonFacts>, Error> {
        match self
            .client
            .clone()
            .get_person(dir::GetPersonRequest { id: id.into() })
            .await
        {
            Ok(p) => {
                let p = p.into_inner();
                Ok(Some(PersonFacts {
                    id: p.id,
                    department_id: p.department_id,
                    active: p.active,
                }))
            }
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(failed("GetPerson", s)),
        }
    }

    /// The eligible voters of `p` now: the active people of its approving
    /// departments (through ResolveAudience), or only their heads.
    /// FAILED_PRECONDITION when an approving department no longer exists.
    #[tracing::instrument(skip_all, fields(proposal_id = %p.id))]
    pub async fn electorate(&self, p: &Proposal) -> Result<Vec<Voter>, Error> {
        let departments = p.departments(ParticipationRole::Approving);
        let mut voters = match p.electorate {
            Electorate::ApprovingMembers => {
                let r = self
                    .client
                    .clone()
                    .resolve_audience(dir::ResolveAudienceRequest {
                        department_ids: departments,
                        ..Default::default()
                    })
                    .await;
                match r {
                    Ok(r) => r
                        .into_inner()
                        .members
                        .into_iter()
                        .map(|m| Voter {
                            person_id: m.person_id,
                            department_id: m.department_id,
                            display_name: m.display_name,
                            delegate_id: None,
                        })
                        .collect(),
                    Err(s) if s.code() == Code::InvalidArgument => {
                        return Err(Error::precondition(
                            "an approving department no longer exists in the directory",
                        ));
                    }
                    Err(s) => return Err(failed("ResolveAudience", s)),
                }
            }
            Electorate::ApprovingHeads => {
                let mut heads = Vec::new();
                for d in &departments {
                    heads.extend(self.heads_of(d).await?);
                }
                heads
            }
        };
        voters.sort_by(|a, b| a.person_id.cmp(&b.person_id));
        voters.dedup_by(|a, b| a.person_id == b.person_id);
        Ok(voters)
    }

    /// The active people holding the head role in `department_id`.
    async fn heads_of(&self, department_id: &str) -> Result<Vec<Voter>, Error> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let r = self
                .client
                .clone()
                .list_people(dir::ListPeopleRequest {
                    department_id: department_id.into(),
                    page_size: 500,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await;
            let page = match r {
                Ok(r) => r.into_inner(),
                Err(s) if s.code() == Code::InvalidArgument => {
                    return Err(Error::precondition(
                        "an approving department no longer exists in the directory",
                    ));
                }
                Err(s) => return Err(failed("ListPeople", s)),
            };
            out.extend(
                page.people
                    .into_iter()
                    .filter(|p| p.active && p.roles.contains(&(Role::DepartmentHead as i32)))
                    .map(|p| Voter {
                        person_id: p.id,
                        department_id: p.department_id,
                        display_name: p.display_name,
                        delegate_id: None,
                    }),
            );
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// `department_id` and every department below it. FAILED_PRECONDITION
    /// when it names no department.
    #[tracing::instrument(skip_all, fields(department_id = %department_id))]
    pub async fn subtree(&self, department_id: &str) -> Result<Vec<String>, Error> {
        let mut out = vec![department_id.to_string()];
        let mut page_token = String::new();
        loop {
            let r = self
                .client
                .clone()
                .list_departments(dir::ListDepartmentsRequest {
                    parent_id: department_id.into(),
                    subtree: true,
                    page_size: 500,
                    page_token: page_token.clone(),
                })
                .await;
            let page = match r {
                Ok(r) => r.into_inner(),
                Err(s) if matches!(s.code(), Code::InvalidArgument | Code::NotFound) => {
                    return Err(Error::precondition(format!(
                        "department {department_id} does not exist in the directory"
                    )));
                }
                Err(s) => return Err(failed("ListDepartments", s)),
            };
            out.extend(page.departments.into_iter().map(|d| d.id));
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }
}

//! What the appraisal asks the directory, over gRPC with the service's own
//! identity: the subtree a head manages, who the appraised are, and whether
//! a reviewer is an active person.

use std::collections::{HashMap, HashSet};

use concord_kit::auth::Principal;
use concord_kit::clients::ServiceChannel;
use concord_kit::{Error, Violations};
use concord_proto::directory::v1 as pb;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::policy::v1::Role;
use tonic::Code;

use crate::domain::Subject;
use crate::domain::access::Reach;

/// A client of the directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Org {
    client: DirectoryServiceClient<ServiceChannel>,
}

/// A person as the appraisal needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacts {
    pub id: String,
    pub department_id: String,
    pub display_name: String,
    pub active: bool,
    pub heads_department: bool,
}

fn unavailable(status: &tonic::Status) -> Error {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            Error::Unavailable(format!("directory: {}", status.message()))
        }
        code => Error::Internal(anyhow::anyhow!(
            "directory answered {code:?}: {}",
            status.message()
        )),
    }
}

impl Org {
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            client: DirectoryServiceClient::new(channel),
        }
    }

    /// The part of the organisation `who` manages.
    pub async fn reach(&self, who: &Principal) -> Result<Reach, Error> {
        if who.is_admin() {
            return Ok(Reach::Everywhere);
        }
        match (&who.department_id, who.has(Role::DepartmentHead)) {
            (Some(d), true) => Ok(Reach::Subtree(self.subtree(d).await?.unwrap_or_default())),
            _ => Ok(Reach::Nowhere),
        }
    }

    /// The department and everything below it; `None` when there is no such
    /// department.
    #[tracing::instrument(skip_all, fields(department_id = %department_id))]
    pub async fn subtree(&self, department_id: &str) -> Result<Option<HashSet<String>>, Error> {
        let mut out = HashSet::from([department_id.to_string()]);
        let mut page_token = String::new();
        loop {
            let request = pb::ListDepartmentsRequest {
                parent_id: department_id.to_string(),
                subtree: true,
                page_size: 500,
                page_token,
            };
            let page = match self.client.clone().list_departments(request).await {
                Ok(r) => r.into_inner(),
                Err(s) if matches!(s.code(), Code::InvalidArgument | Code::NotFound) => {
                    return Ok(None);
                }
                Err(s) => return Err(unavailable(&s)),
            };
            out.extend(page.departments.into_iter().map(|d| d.id));
            if page.next_page_token.is_empty() {
                return Ok(Some(out));
            }
            page_token = page.next_page_token;
        }
    }

    /// Every department: id to name.
    #[tracing::instrument(skip_all)]
    async fn all_departments(&self) -> Result<HashMap<String, String>, Error> {
        let mut out = HashMap::new();
        let mut page_token = String::new();
        loop {
            let request = pb::ListDepartmentsRequest {
                parent_id: String::new(),
                subtree: true,
                page_size: 500,
                page_token,
            };
            let page = self
                .client
                .clone()
                .list_departments(request)
                .await
                .map_err(|s| unavailable(&s))?
                .into_inner();
            out.extend(page.departments.into_iter().map(|d| (d.id, d.name)));
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// The departments named by `ids` as subjects; a violation naming
    /// `field[i]` for each id that names no department.
    pub async fn departments(&self, field: &str, ids: &[String]) -> Result<Vec<Subject>, Error> {
        let all = self.all_departments().await?;
        let mut v = Violations::new();
        let mut out = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match all.get(id) {
                Some(name) => out.push(Subject {
                    id: id.clone(),
                    department_id: id.clone(),
                    display_name: name.clone(),
                    position: i64::try_from(i).unwrap_or(i64::MAX),
                }),
                None => v.add(format!("{field}[{i}]"), "names no department"),
            }
        }
        v.into_result()?;
        Ok(out)
    }

    /// The active people named by `ids` as subjects; a violation naming
    /// `field[i]` for each id that names no active person.
    #[tracing::instrument(skip_all, fields(people = ids.len()))]
    pub async fn people(&self, field: &str, ids: &[String]) -> Result<Vec<Subject>, Error> {
        let request = pb::ResolveAudienceRequest {
            everyone: false,
            department_ids: vec![],
            include_sub_departments: false,
            person_ids: ids.to_vec(),
        };
        let members = match self.client.clone().resolve_audience(request).await {
            Ok(r) => r.into_inner().members,
            Err(s) if s.code() == Code::InvalidArgument => {
                // The directory names the bad ids `person_ids[i]`.
                use tonic_types::StatusExt;
                let mut v = Violations::new();
                for f in s
                    .get_error_details()
                    .bad_request()
                    .map(|b| b.field_violations.clone())
                    .unwrap_or_default()
                {
                    let name = f.field.replacen("person_ids", field, 1);
                    v.add(name, "names no person");
                }
                if v.is_empty() {
                    v.add(field, s.message().to_string());
                }
                return Err(Error::Invalid(v));
            }
            Err(s) => return Err(unavailable(&s)),
        };
        let found: HashMap<&str, &pb::AudienceMember> =
            members.iter().map(|m| (m.person_id.as_str(), m)).collect();
        let mut v = Violations::new();
        let mut out = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match found.get(id.as_str()) {
                Some(m) => out.push(Subject {
                    id: id.clone(),
                    department_id: m.department_id.clone(),
                    display_name: m.display_name.clone(),
                    position: i64::try_from(i).unwrap_or(i64::MAX),
                }),
                None => v.add(format!("{field}[{i}]"), "is not an active person"),
            }
        }
        v.into_result()?;
        Ok(out)
    }

    /// A person, or `None` when there is no such person.
    #[tracing::instrument(skip_all, fields(person_id = %id))]
    pub async fn person(&self, id: &str) -> Result<Option<PersonFacts>, Error> {
        match self
            .client
            .clone()
            .get_person(pb::GetPersonRequest { id: id.to_string() })
            .await
        {
            Ok(r) => {
                let p = r.into_inner();
                Ok(Some(PersonFacts {
                    heads_department: p.roles.contains(&(Role::DepartmentHead as i32)),
                    id: p.id,
                    department_id: p.department_id,
                    display_name: p.display_name,
                    active: p.active,
                }))
            }
            Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => Ok(None),
            Err(s) => Err(unavailable(&s)),
        }
    }

    /// A department's name, or `None` when there is no such department.
    #[tracing::instrument(skip_all, fields(department_id = %id))]
    pub async fn department(&self, id: &str) -> Result<Option<String>, Error> {
        match self
            .client
            .clone()
            .get_department(pb::GetDepartmentRequest { id: id.to_string() })
            .await
        {
            Ok(r) => Ok(Some(r.into_inner().name)),
            Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => Ok(None),
            Err(s) => Err(unavailable(&s)),
        }
    }
}

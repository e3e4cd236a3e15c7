//! What the emergency service asks the directory: who is in the plan's
//! departments, who heads a department, who the admins are, whether a
//! department or person exists, and a department's subtree.

use concord_kit::Error;
use concord_kit::clients::ServiceChannel;
use concord_proto::directory::v1 as dir;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::policy::v1::Role;
use tonic::Code;

use crate::domain::Recipient;

/// A client of the directory carrying this service's identity.
#[derive(Debug, Clone)]
pub struct Directory {
    client: DirectoryServiceClient<ServiceChannel>,
}

/// A directory failure as the caller should see it.
fn failed(what: &str, s: tonic::Status) -> Error {
    match s.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => {
            Error::Unavailable(format!("directory ({what}): {}", s.message()))
        }
        _ => Error::Internal(anyhow::anyhow!(
            "directory refused {what}: {:?} {}",
            s.code(),
            s.message()
        )),
    }
}

/// Largest page the directory gives.
const PAGE: i32 = 500;

impl Directory {
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            client: DirectoryServiceClient::new(channel),
        }
    }

    /// The active people of `department_ids` (not their sub-departments),
    /// each with their department. A department that no longer exists is a
    /// failed precondition: the plan must be updated.
    #[tracing::instrument(skip_all, fields(departments = department_ids.len()))]
    pub async fn audience(&self, department_ids: &[String]) -> Result<Vec<Recipient>, Error> {
        let req = dir::ResolveAudienceRequest {
            everyone: false,
            department_ids: department_ids.to_vec(),
            include_sub_departments: false,
            person_ids: vec![],
        };
        let res = self.client.clone().resolve_audience(req).await.map_err(|s| {
            if s.code() == Code::InvalidArgument {
                Error::precondition(format!(
                    "the plan names a department the directory no longer knows ({}); update the plan",
                    s.message()
                ))
            } else {
                failed("ResolveAudience", s)
            }
        })?;
        Ok(res
            .into_inner()
            .members
            .into_iter()
            .map(|m| Recipient {
                person_id: m.person_id,
                department_id: m.department_id,
            })
            .collect())
    }

    /// Active people of a department (or everybody) holding `role`.
    async fn people_with(&self, department_id: &str, role: Role) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let req = dir::ListPeopleRequest {
                department_id: department_id.to_string(),
                include_sub_departments: false,
                include_inactive: false,
                page_size: PAGE,
                page_token,
            };
            let res = self
                .client
                .clone()
                .list_people(req)
                .await
                .map_err(|s| failed("ListPeople", s))?
                .into_inner();
            out.extend(
                res.people
                    .into_iter()
                    .filter(|p| p.active && p.roles.contains(&(role as i32)))
                    .map(|p| p.id),
            );
            if res.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = res.next_page_token;
        }
    }

    /// The heads of a department.
    #[tracing::instrument(skip_all, fields(department_id = %department_id))]
    pub async fn heads(&self, department_id: &str) -> Result<Vec<String>, Error> {
        self.people_with(department_id, Role::DepartmentHead).await
    }

    /// Every admin of the organisation.
    #[tracing::instrument(skip_all)]
    pub async fn admins(&self) -> Result<Vec<String>, Error> {
        self.people_with("", Role::Admin).await
    }

    /// Whether the department exists.
    pub async fn department_exists(&self, id: &str) -> Result<bool, Error> {
        match self
            .client
            .clone()
            .get_department(dir::GetDepartmentRequest { id: id.to_string() })
            .await
        {
            Ok(_) => Ok(true),
            Err(s) if s.code() == Code::NotFound => Ok(false),
            Err(s) => Err(failed("GetDepartment", s)),
        }
    }

    /// The department a person belongs to, when the person exists.
    pub async fn person_department(&self, id: &str) -> Result<Option<String>, Error> {
        match self
            .client
            .clone()
            .get_person(dir::GetPersonRequest { id: id.to_string() })
            .await
        {
            Ok(p) => Ok(Some(p.into_inner().department_id)),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(failed("GetPerson", s)),
        }
    }

    /// The department and every department below it.
    #[tracing::instrument(skip_all, fields(department_id = %id))]
    pub async fn subtree(&self, id: &str) -> Result<Vec<String>, Error> {
        let mut out = vec![id.to_string()];
        let mut page_token = String::new();
        loop {
            let req = dir::ListDepartmentsRequest {
                parent_id: id.to_string(),
                subtree: true,
                page_size: PAGE,
                page_token,
            };
            let res = self
                .client
                .clone()
                .list_departments(req)
                .await
                .map_err(|s| failed("ListDepartments", s))?
                .into_inner();
            out.extend(res.departments.into_iter().map(|d| d.id));
            if res.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = res.next_page_token;
        }
    }
}

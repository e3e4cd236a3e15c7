//! The organisation as the directory knows it: who handles a topic, which
//! departments lie below which, who a person is and who heads a department.
//! Calls go straight to the directory with this service's identity.

use concord_kit::Error;
use concord_kit::clients::ServiceChannel;
use concord_proto::directory::v1 as dir;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::policy::v1::Role;
use tonic::Code;

/// The directory's FindResponsible accepts topics up to this many characters.
const TOPIC_MAX: usize = 10_000;

/// The best department for a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Responsible {
    pub department_id: String,
    pub score: f64,
    /// The duty that matched best.
    pub duty: String,
}

/// A client of the directory.
#[derive(Debug, Clone)]
pub struct Org {
    client: DirectoryServiceClient<ServiceChannel>,
}

fn unavailable(what: &str, s: tonic::Status) -> Error {
    match s.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            Error::Unavailable(format!("directory {what}: {}", s.message()))
        }
        _ => Error::Internal(anyhow::anyhow!("directory {what} failed: {s:?}")),
    }
}

impl Org {
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            client: DirectoryServiceClient::new(channel),
        }
    }

    /// The department whose duties match `subject` and `body` best, if any
    /// scores at all.
    #[tracing::instrument(skip_all)]
    pub async fn find_responsible(
        &self,
        subject: &str,
        body: &str,
    ) -> Result<Option<Responsible>, Error> {
        let topic: String = format!("{subject}\n{body}")
            .chars()
            .take(TOPIC_MAX)
            .collect();
        let resp = self
            .client
            .clone()
            .find_responsible(dir::FindResponsibleRequest {
                topic,
                max_results: 1,
            })
            .await
            .map_err(|s| unavailable("FindResponsible", s))?
            .into_inner();
        Ok(resp.matches.into_iter().find_map(|m| {
            let department_id = m.department?.id;
            Some(Responsible {
                department_id,
                score: m.score,
                duty: m
                    .matched_duties
                    .first()
                    .map(|d| d.text.clone())
                    .unwrap_or_default(),
            })
        }))
    }

    /// Whether `id` names a department.
    #[tracing::instrument(skip_all, fields(department_id = %id))]
    pub async fn department_exists(&self, id: &str) -> Result<bool, Error> {
        match self
            .client
            .clone()
            .get_department(dir::GetDepartmentRequest { id: id.into() })
            .await
        {
            Ok(_) => Ok(true),
            Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => Ok(false),
            Err(s) => Err(unavailable("GetDepartment", s)),
        }
    }

    /// `root` and every department below it.
    #[tracing::instrument(skip_all, fields(department_id = %root))]
    pub async fn subtree(&self, root: &str) -> Result<Vec<String>, Error> {
        let mut out = vec![root.to_string()];
        let mut page_token = String::new();
        loop {
            let resp = self
                .client
                .clone()
                .list_departments(dir::ListDepartmentsRequest {
                    parent_id: root.into(),
                    subtree: true,
                    page_size: 500,
                    page_token,
                })
                .await;
            let resp = match resp {
                Ok(r) => r.into_inner(),
                // A department that vanished has nothing below it.
                Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => {
                    return Ok(out);
                }
                Err(s) => return Err(unavailable("ListDepartments", s)),
            };
            out.extend(resp.departments.into_iter().map(|d| d.id));
            if resp.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = resp.next_page_token;
        }
    }

    /// Whether `department` is `root` or lies below it.
    pub async fn within(&self, root: &str, department: &str) -> Result<bool, Error> {
        Ok(root == department || self.subtree(root).await?.iter().any(|d| d == department))
    }

    /// The person with `id`, if any.
    #[tracing::instrument(skip_all, fields(person_id = %id))]
    pub async fn person(&self, id: &str) -> Result<Option<dir::Person>, Error> {
        match self
            .client
            .clone()
            .get_person(dir::GetPersonRequest { id: id.into() })
            .await
        {
            Ok(p) => Ok(Some(p.into_inner())),
            Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => Ok(None),
            Err(s) => Err(unavailable("GetPerson", s)),
        }
    }

    /// The active heads of `department`.
    #[tracing::instrument(skip_all, fields(department_id = %department))]
    pub async fn heads_of(&self, department: &str) -> Result<Vec<String>, Error> {
        let mut heads = Vec::new();
        let mut page_token = String::new();
        loop {
            let resp = self
                .client
                .clone()
                .list_people(dir::ListPeopleRequest {
                    department_id: department.into(),
                    page_size: 500,
                    page_token,
                    ..Default::default()
                })
                .await
                .map_err(|s| unavailable("ListPeople", s))?
                .into_inner();
            heads.extend(
                resp.people
                    .into_iter()
                    .filter(|p| p.active && p.roles.contains(&(Role::DepartmentHead as i32)))
                    .map(|p| p.id),
            );
            if resp.next_page_token.is_empty() {
                return Ok(heads);
            }
            page_token = resp.next_page_token;
        }
    }
}

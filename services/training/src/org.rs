//! What training asks the directory, over gRPC with the service's own
//! identity: who an audience covers, which departments lie below one, and
//! where a person works.

use std::collections::BTreeSet;

use concord_kit::clients::ServiceChannel;
use concord_kit::{Error, Violations};
use concord_proto::directory::v1 as pb;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

use crate::domain::plan::Audience;

/// A client of the directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Org {
    client: DirectoryServiceClient<ServiceChannel>,
}

/// A person an audience covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub person_id: String,
    pub department_id: String,
    pub display_name: String,
}

/// A person as training needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonInfo {
    pub id: String,
    pub department_id: String,
    pub active: bool,
}

/// Maps a directory failure. Invalid fields of the directory's request are
/// renamed by `rename`, so the caller sees its own field names.
fn map_status(status: tonic::Status, rename: &(dyn Fn(&str) -> String + Sync)) -> Error {
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
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            Error::Unavailable(format!("directory: {}", status.message()))
        }
        _ => Error::Internal(anyhow::anyhow!(
            "directory answered {:?}: {}",
            status.code(),
            status.message()
        )),
    }
}

/// The directory names audience fields `department_ids[i]`; a plan names
/// them `audience.department_ids[i]` (`plan.audience…` in an update).
pub fn audience_field(prefix: &str) -> impl Fn(&str) -> String + Sync + '_ {
    move |f: &str| {
        if f.is_empty() || f == "everyone" {
            prefix.to_string()
        } else {
            format!("{prefix}.{f}")
        }
    }
}

impl Org {
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            client: DirectoryServiceClient::new(channel),
        }
    }

    /// The active people `audience` covers, each once, by display name.
    #[tracing::instrument(skip_all, fields(departments = audience.department_ids.len(), people = audience.person_ids.len()))]
    pub async fn resolve(
        &self,
        audience: &Audience,
        rename: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Vec<Member>, Error> {
        let request = pb::ResolveAudienceRequest {
            everyone: false,
            department_ids: audience.department_ids.clone(),
            include_sub_departments: audience.include_sub_departments,
            person_ids: audience.person_ids.clone(),
        };
        let members = self
            .client
            .clone()
            .resolve_audience(request)
            .await
            .map_err(|s| map_status(s, rename))?
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

    /// The department and everything below it; `None` when there is no
    /// such department.
    #[tracing::instrument(skip_all, fields(department_id = %department_id))]
    pub async fn subtree(&self, department_id: &str) -> Result<Option<BTreeSet<String>>, Error> {
        let mut out = BTreeSet::from([department_id.to_string()]);
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
                Err(s) => return Err(map_status(s, &|_| "department_id".into())),
            };
            out.extend(page.departments.into_iter().map(|d| d.id));
            if page.next_page_token.is_empty() {
                return Ok(Some(out));
            }
            page_token = page.next_page_token;
        }
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

    /// A person, or `None` when there is no such person.
    #[tracing::instrument(skip_all, fields(person_id = %id))]
    pub async fn person(&self, id: &str) -> Result<Option<PersonInfo>, Error> {
        match self
            .client
            .clone()
            .get_person(pb::GetPersonRequest { id: id.into() })
            .await
        {
            Ok(p) => {
                let p = p.into_inner();
                Ok(Some(PersonInfo {
                    id: p.id,
                    department_id: p.department_id,
                    active: p.active,
                }))
            }
            Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => Ok(None),
            Err(s) => Err(map_status(s, &|_| "person_id".into())),
        }
    }
}

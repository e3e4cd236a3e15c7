//! The `DirectoryService` implementation: each RPC takes the caller from the
//! request, validates the message into domain values, applies the resource
//! rules and runs its SQL in one transaction with its audit entry.

mod convert;
mod departments;
mod duties;
mod lookup;
mod people;

use concord_kit::auth::{Principal, principal};
use concord_kit::clock::SharedClock;
use concord_kit::db::Db;
use concord_kit::{Error, audit};
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::directory::v1::directory_service_server::DirectoryService;
use concord_proto::directory::v1::*;
use sqlx::AnyConnection;
use sqlx::pool::PoolConnection;
use tonic::{Request, Response, Status};

use crate::domain::access::{Reach, reach};
use crate::store;

/// The directory service over its database.
#[derive(Debug, Clone)]
pub struct Directory {
    db: Db,
    clock: SharedClock,
}

impl Directory {
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A connection for reads that need no transaction.
    async fn conn(&self) -> Result<PoolConnection<sqlx::Any>, Error> {
        Ok(self.db.pool().acquire().await?)
    }
}

/// Fails unless `who` manages the people and duties of `department_id`.
async fn ensure_reaches(
    conn: &mut AnyConnection,
    who: &Principal,
    department_id: &str,
) -> Result<(), Error> {
    match reach(who) {
        Reach::Everywhere => Ok(()),
        Reach::Subtree(root) if store::department::within(conn, &root, department_id).await? => {
            Ok(())
        }
        Reach::Subtree(_) => Err(Error::denied(
            "department heads manage only their own department and the departments below it",
        )),
        Reach::Nowhere => Err(Error::denied(
            "only admins and department heads manage people and duties",
        )),
    }
}

/// Fails unless `department_id` names a department; `field` is the request
/// field it came from.
async fn ensure_department(
    conn: &mut AnyConnection,
    field: &str,
    department_id: &str,
) -> Result<(), Error> {
    match store::department::get(conn, department_id).await? {
        Some(_) => Ok(()),
        None => Err(concord_kit::invalid(field, "names no department")),
    }
}

/// The audit resource name of a department, person or duty.
fn resource(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

#[tonic::async_trait]
impl DirectoryService for Directory {
    #[tracing::instrument(skip_all, fields(parent_id = %request.get_ref().parent_id))]
    async fn create_department(
        &self,
        request: Request<CreateDepartmentRequest>,
    ) -> Result<Response<Department>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            departments::create(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().id))]
    async fn get_department(
        &self,
        request: Request<GetDepartmentRequest>,
    ) -> Result<Response<Department>, Status> {
        principal(&request)?;
        Ok(Response::new(
            departments::get(self, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(parent_id = %request.get_ref().parent_id))]
    async fn list_departments(
        &self,
        request: Request<ListDepartmentsRequest>,
    ) -> Result<Response<ListDepartmentsResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            departments::list(self, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department.as_ref().map(|d| d.id.as_str()).unwrap_or_default()))]
    async fn update_department(
        &self,
        request: Request<UpdateDepartmentRequest>,
    ) -> Result<Response<Department>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            departments::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().id, new_parent_id = %request.get_ref().new_parent_id))]
    async fn move_department(
        &self,
        request: Request<MoveDepartmentRequest>,
    ) -> Result<Response<Department>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            departments::relocate(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().id))]
    async fn delete_department(
        &self,
        request: Request<DeleteDepartmentRequest>,
    ) -> Result<Response<DeleteDepartmentResponse>, Status> {
        let who = principal(&request)?;
        departments::delete(self, &who, request.get_ref()).await?;
        Ok(Response::new(DeleteDepartmentResponse {}))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn create_person(
        &self,
        request: Request<CreatePersonRequest>,
    ) -> Result<Response<Person>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            people::create(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().id))]
    async fn get_person(
        &self,
        request: Request<GetPersonRequest>,
    ) -> Result<Response<Person>, Status> {
        principal(&request)?;
        Ok(Response::new(people::get(self, request.get_ref()).await?))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn list_people(
        &self,
        request: Request<ListPeopleRequest>,
    ) -> Result<Response<ListPeopleResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(people::list(self, request.get_ref()).await?))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person.as_ref().map(|p| p.id.as_str()).unwrap_or_default()))]
    async fn update_person(
        &self,
        request: Request<UpdatePersonRequest>,
    ) -> Result<Response<Person>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            people::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().id))]
    async fn deactivate_person(
        &self,
        request: Request<DeactivatePersonRequest>,
    ) -> Result<Response<Person>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            people::deactivate(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn add_duty(&self, request: Request<AddDutyRequest>) -> Result<Response<Duty>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            duties::add(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn list_duties(
        &self,
        request: Request<ListDutiesRequest>,
    ) -> Result<Response<ListDutiesResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(duties::list(self, request.get_ref()).await?))
    }

    #[tracing::instrument(skip_all, fields(duty_id = %request.get_ref().id))]
    async fn remove_duty(
        &self,
        request: Request<RemoveDutyRequest>,
    ) -> Result<Response<RemoveDutyResponse>, Status> {
        let who = principal(&request)?;
        duties::remove(self, &who, request.get_ref()).await?;
        Ok(Response::new(RemoveDutyResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn search(
        &self,
        request: Request<SearchRequest>,
    ) -> Result<Response<SearchResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            lookup::search(self, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn find_responsible(
        &self,
        request: Request<FindResponsibleRequest>,
    ) -> Result<Response<FindResponsibleResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            lookup::find_responsible(self, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(everyone = request.get_ref().everyone))]
    async fn resolve_audience(
        &self,
        request: Request<ResolveAudienceRequest>,
    ) -> Result<Response<ResolveAudienceResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            lookup::resolve_audience(self, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(resource = %request.get_ref().resource))]
    async fn list_audit_entries(
        &self,
        request: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            audit::list(&self.db, request.get_ref()).await?,
        ))
    }
}

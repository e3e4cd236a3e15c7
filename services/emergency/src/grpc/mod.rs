//! The `EmergencyService` implementation: each RPC takes the caller from the
//! request, validates the message into domain values, applies the resource
//! rules and runs its SQL in one transaction with its audit entry; alerts
//! are announced after the commit.

mod alerts;
pub(crate) mod convert;
mod incidents;
mod plans;
mod render;
mod reports;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use concord_kit::announce::Announcer;
use concord_kit::auth::principal;
use concord_kit::bus::SharedBus;
use concord_kit::clock::SharedClock;
use concord_kit::db::Db;
use concord_kit::directory::DirectoryLink;
use concord_kit::{Error, audit};
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::emergency::v1::emergency_service_server::EmergencyService;
use concord_proto::emergency::v1::*;
use futures::Stream;
use sqlx::pool::PoolConnection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

pub(crate) use incidents::{incident_response, load_incident};

/// The emergency service over its database. Cheap to clone: the due-action
/// handlers hold a clone.
#[derive(Debug, Clone)]
pub struct Emergency {
    pub(crate) db: Db,
    pub(crate) clock: SharedClock,
    pub(crate) directory: DirectoryLink,
    pub(crate) announcer: Announcer,
    pub(crate) bus: SharedBus,
    pub(crate) shutdown: CancellationToken,
    /// Woken after every change of an incident, to refresh the gauge.
    pub(crate) census: Arc<Notify>,
    /// How often an alert stream re-reads the database without an announcement.
    pub(crate) poll_every: Duration,
}

impl Emergency {
    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A connection for reads that need no transaction.
    pub(crate) async fn conn(&self) -> Result<PoolConnection<sqlx::Any>, Error> {
        Ok(self.db.pool().acquire().await?)
    }

    pub(crate) fn incidents_changed(&self) {
        self.census.notify_one();
    }
}

/// The audit resource name of a plan or incident.
pub(crate) fn resource(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<AlertEvent, Status>> + Send>>;

#[tonic::async_trait]
impl EmergencyService for Emergency {
    #[tracing::instrument(skip_all)]
    async fn create_plan(
        &self,
        request: Request<CreatePlanRequest>,
    ) -> Result<Response<Plan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::create(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().id))]
    async fn get_plan(&self, request: Request<GetPlanRequest>) -> Result<Response<Plan>, Status> {
        principal(&request)?;
        Ok(Response::new(plans::get(self, request.get_ref()).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_plans(
        &self,
        request: Request<ListPlansRequest>,
    ) -> Result<Response<ListPlansResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(plans::list(self, request.get_ref()).await?))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan.as_ref().map(|p| p.id.as_str()).unwrap_or_default()))]
    async fn update_plan(
        &self,
        request: Request<UpdatePlanRequest>,
    ) -> Result<Response<Plan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().id))]
    async fn archive_plan(
        &self,
        request: Request<ArchivePlanRequest>,
    ) -> Result<Response<Plan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::archive(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id, drill = request.get_ref().drill))]
    async fn declare_incident(
        &self,
        request: Request<DeclareIncidentRequest>,
    ) -> Result<Response<Incident>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            incidents::declare(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().id))]
    async fn get_incident(
        &self,
        request: Request<GetIncidentRequest>,
    ) -> Result<Response<Incident>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            incidents::get(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_incidents(
        &self,
        request: Request<ListIncidentsRequest>,
    ) -> Result<Response<ListIncidentsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            incidents::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().id, status = request.get_ref().status))]
    async fn update_incident_status(
        &self,
        request: Request<UpdateIncidentStatusRequest>,
    ) -> Result<Response<Incident>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            incidents::update_status(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().incident_id, step = request.get_ref().step_index))]
    async fn complete_step(
        &self,
        request: Request<CompleteStepRequest>,
    ) -> Result<Response<IncidentStep>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            incidents::complete_step(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().incident_id))]
    async fn add_timeline_entry(
        &self,
        request: Request<AddTimelineEntryRequest>,
    ) -> Result<Response<TimelineEntry>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            incidents::add_note(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().incident_id))]
    async fn list_timeline(
        &self,
        request: Request<ListTimelineRequest>,
    ) -> Result<Response<ListTimelineResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            incidents::timeline(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().id))]
    async fn review_incident(
        &self,
        request: Request<ReviewIncidentRequest>,
    ) -> Result<Response<Incident>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            incidents::review(self, &who, request.get_ref()).await?,
        ))
    }

    type WatchAlertsStream = AlertStream;

    #[tracing::instrument(skip_all, fields(after = request.get_ref().after_sequence))]
    async fn watch_alerts(
        &self,
        request: Request<WatchAlertsRequest>,
    ) -> Result<Response<Self::WatchAlertsStream>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(alerts::watch(self, &who, request.get_ref())?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_alerts(
        &self,
        request: Request<ListAlertsRequest>,
    ) -> Result<Response<ListAlertsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            alerts::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(alert_id = %request.get_ref().alert_id))]
    async fn acknowledge_alert(
        &self,
        request: Request<AcknowledgeAlertRequest>,
    ) -> Result<Response<Acknowledgement>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            alerts::acknowledge(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().incident_id))]
    async fn get_incident_report(
        &self,
        request: Request<GetIncidentReportRequest>,
    ) -> Result<Response<IncidentReport>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            reports::incident_report(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn get_emergency_statistics(
        &self,
        request: Request<GetEmergencyStatisticsRequest>,
    ) -> Result<Response<GetEmergencyStatisticsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            reports::statistics(self, &who, request.get_ref()).await?,
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

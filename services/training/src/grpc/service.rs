//! The generated service traits, each RPC handed to its module with the
//! verified caller.

use concord_kit::audit;
use concord_kit::auth::principal;
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::training::v1::development_service_server::DevelopmentService;
use concord_proto::training::v1::training_service_server::TrainingService;
use concord_proto::training::v1::*;
use tonic::{Request, Response, Status};

use super::{
    Training, attendance, completion, development, enrolments, goals, mandatory, plans, stats,
};

#[tonic::async_trait]
impl TrainingService for Training {
    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn create_training_plan(
        &self,
        request: Request<CreateTrainingPlanRequest>,
    ) -> Result<Response<TrainingPlan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::create(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().id))]
    async fn get_training_plan(
        &self,
        request: Request<GetTrainingPlanRequest>,
    ) -> Result<Response<TrainingPlan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::get(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn list_training_plans(
        &self,
        request: Request<ListTrainingPlansRequest>,
    ) -> Result<Response<ListTrainingPlansResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan.as_ref().map(|p| p.id.as_str()).unwrap_or_default()))]
    async fn update_training_plan(
        &self,
        request: Request<UpdateTrainingPlanRequest>,
    ) -> Result<Response<TrainingPlan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().id))]
    async fn publish_training_plan(
        &self,
        request: Request<PublishTrainingPlanRequest>,
    ) -> Result<Response<TrainingPlan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::publish(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().id))]
    async fn cancel_training_plan(
        &self,
        request: Request<CancelTrainingPlanRequest>,
    ) -> Result<Response<TrainingPlan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            plans::cancel(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id, person_id = %request.get_ref().person_id))]
    async fn enrol_in_training(
        &self,
        request: Request<EnrolInTrainingRequest>,
    ) -> Result<Response<Enrolment>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            enrolments::enrol(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(enrolment_id = %request.get_ref().enrolment_id))]
    async fn cancel_enrolment(
        &self,
        request: Request<CancelEnrolmentRequest>,
    ) -> Result<Response<Enrolment>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            enrolments::cancel(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id, person_id = %request.get_ref().person_id))]
    async fn list_enrolments(
        &self,
        request: Request<ListEnrolmentsRequest>,
    ) -> Result<Response<ListEnrolmentsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            enrolments::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id, session_id = %request.get_ref().session_id))]
    async fn record_attendance(
        &self,
        request: Request<RecordAttendanceRequest>,
    ) -> Result<Response<RecordAttendanceResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            attendance::record(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id))]
    async fn list_attendance(
        &self,
        request: Request<ListAttendanceRequest>,
    ) -> Result<Response<ListAttendanceResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            attendance::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(enrolment_id = %request.get_ref().enrolment_id))]
    async fn complete_training(
        &self,
        request: Request<CompleteTrainingRequest>,
    ) -> Result<Response<Enrolment>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            completion::complete(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_completion_record(
        &self,
        request: Request<GetCompletionRecordRequest>,
    ) -> Result<Response<CompletionRecord>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            completion::get_record(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id))]
    async fn list_completion_records(
        &self,
        request: Request<ListCompletionRecordsRequest>,
    ) -> Result<Response<ListCompletionRecordsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            completion::list_records(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id))]
    async fn list_incomplete(
        &self,
        request: Request<ListIncompleteRequest>,
    ) -> Result<Response<ListIncompleteResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            mandatory::list_incomplete(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id))]
    async fn remind_incomplete(
        &self,
        request: Request<RemindIncompleteRequest>,
    ) -> Result<Response<RemindIncompleteResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            mandatory::remind(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id, person_id = %request.get_ref().person_id))]
    async fn get_training_statistics(
        &self,
        request: Request<GetTrainingStatisticsRequest>,
    ) -> Result<Response<GetTrainingStatisticsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            stats::get(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(resource = %request.get_ref().resource))]
    async fn list_audit_entries(
        &self,
        request: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            audit::list(self.db(), request.get_ref()).await?,
        ))
    }
}

#[tonic::async_trait]
impl DevelopmentService for Training {
    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id))]
    async fn create_development_plan(
        &self,
        request: Request<CreateDevelopmentPlanRequest>,
    ) -> Result<Response<DevelopmentPlan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            development::create(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().id))]
    async fn get_development_plan(
        &self,
        request: Request<GetDevelopmentPlanRequest>,
    ) -> Result<Response<DevelopmentPlan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            development::get(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id, department_id = %request.get_ref().department_id))]
    async fn list_development_plans(
        &self,
        request: Request<ListDevelopmentPlansRequest>,
    ) -> Result<Response<ListDevelopmentPlansResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            development::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan.as_ref().map(|p| p.id.as_str()).unwrap_or_default()))]
    async fn update_development_plan(
        &self,
        request: Request<UpdateDevelopmentPlanRequest>,
    ) -> Result<Response<DevelopmentPlan>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            development::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id))]
    async fn add_goal(&self, request: Request<AddGoalRequest>) -> Result<Response<Goal>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            goals::add(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(goal_id = %request.get_ref().goal.as_ref().map(|g| g.id.as_str()).unwrap_or_default()))]
    async fn update_goal(
        &self,
        request: Request<UpdateGoalRequest>,
    ) -> Result<Response<Goal>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            goals::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id, goal_id = %request.get_ref().goal_id))]
    async fn add_progress_update(
        &self,
        request: Request<AddProgressUpdateRequest>,
    ) -> Result<Response<ProgressUpdate>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            goals::add_progress(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id))]
    async fn list_progress_updates(
        &self,
        request: Request<ListProgressUpdatesRequest>,
    ) -> Result<Response<ListProgressUpdatesResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            goals::list_progress(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id))]
    async fn review_development_plan(
        &self,
        request: Request<ReviewDevelopmentPlanRequest>,
    ) -> Result<Response<Review>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            goals::review(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(plan_id = %request.get_ref().plan_id))]
    async fn list_reviews(
        &self,
        request: Request<ListReviewsRequest>,
    ) -> Result<Response<ListReviewsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            goals::list_reviews(self, &who, request.get_ref()).await?,
        ))
    }
}

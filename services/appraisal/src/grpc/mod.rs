//! The `AppraisalService` implementation: each RPC takes the caller from
//! the request, validates the message into domain values, applies the
//! resource rules and runs its SQL in one transaction with its audit entry.

mod convert;
mod cycles;
mod recognition;
mod results;
mod reviews;
mod sets;

use concord_kit::audit;
use concord_kit::auth::principal;
use concord_proto::appraisal::v1::appraisal_service_server::AppraisalService;
use concord_proto::appraisal::v1::*;
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use tonic::{Request, Response, Status};

use crate::service::Appraisal;

/// The gRPC face of the appraisal.
#[derive(Debug, Clone)]
pub struct Handler {
    app: Appraisal,
}

impl Handler {
    pub fn new(app: Appraisal) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl AppraisalService for Handler {
    #[tracing::instrument(skip_all)]
    async fn create_indicator_set(
        &self,
        request: Request<CreateIndicatorSetRequest>,
    ) -> Result<Response<IndicatorSet>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            sets::create(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(set_id = %request.get_ref().id))]
    async fn get_indicator_set(
        &self,
        request: Request<GetIndicatorSetRequest>,
    ) -> Result<Response<IndicatorSet>, Status> {
        principal(&request)?;
        Ok(Response::new(
            sets::get(&self.app, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn list_indicator_sets(
        &self,
        request: Request<ListIndicatorSetsRequest>,
    ) -> Result<Response<ListIndicatorSetsResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            sets::list(&self.app, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(set_id = %request.get_ref().id))]
    async fn revise_indicator_set(
        &self,
        request: Request<ReviseIndicatorSetRequest>,
    ) -> Result<Response<IndicatorSet>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            sets::revise(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(set_id = %request.get_ref().id))]
    async fn list_indicator_set_versions(
        &self,
        request: Request<ListIndicatorSetVersionsRequest>,
    ) -> Result<Response<ListIndicatorSetVersionsResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            sets::versions(&self.app, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(indicator_set_id = %request.get_ref().indicator_set_id))]
    async fn create_cycle(
        &self,
        request: Request<CreateCycleRequest>,
    ) -> Result<Response<Cycle>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            cycles::create(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().id))]
    async fn get_cycle(
        &self,
        request: Request<GetCycleRequest>,
    ) -> Result<Response<Cycle>, Status> {
        principal(&request)?;
        Ok(Response::new(
            cycles::get(&self.app, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn list_cycles(
        &self,
        request: Request<ListCyclesRequest>,
    ) -> Result<Response<ListCyclesResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            cycles::list(&self.app, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle.as_ref().map(|c| c.id.as_str()).unwrap_or_default()))]
    async fn update_cycle(
        &self,
        request: Request<UpdateCycleRequest>,
    ) -> Result<Response<Cycle>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            cycles::update(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().id))]
    async fn advance_cycle(
        &self,
        request: Request<AdvanceCycleRequest>,
    ) -> Result<Response<Cycle>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            cycles::advance(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id, subject_id = %request.get_ref().subject_id))]
    async fn assign_reviewer(
        &self,
        request: Request<AssignReviewerRequest>,
    ) -> Result<Response<ReviewAssignment>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            reviews::assign(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id, subject_id = %request.get_ref().subject_id))]
    async fn remove_reviewer(
        &self,
        request: Request<RemoveReviewerRequest>,
    ) -> Result<Response<RemoveReviewerResponse>, Status> {
        let who = principal(&request)?;
        reviews::remove(&self.app, &who, request.get_ref()).await?;
        Ok(Response::new(RemoveReviewerResponse {}))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id))]
    async fn list_review_assignments(
        &self,
        request: Request<ListReviewAssignmentsRequest>,
    ) -> Result<Response<ListReviewAssignmentsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            reviews::assignments(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id))]
    async fn collect_automatic_scores(
        &self,
        request: Request<CollectAutomaticScoresRequest>,
    ) -> Result<Response<CollectAutomaticScoresResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            results::collect(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id, subject_id = %request.get_ref().subject_id))]
    async fn submit_score(
        &self,
        request: Request<SubmitScoreRequest>,
    ) -> Result<Response<Score>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            reviews::submit(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id, subject_id = %request.get_ref().subject_id))]
    async fn submit_self_assessment(
        &self,
        request: Request<SubmitSelfAssessmentRequest>,
    ) -> Result<Response<Score>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            reviews::submit_self(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id))]
    async fn list_scores(
        &self,
        request: Request<ListScoresRequest>,
    ) -> Result<Response<ListScoresResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            reviews::scores(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id, subject_id = %request.get_ref().subject_id))]
    async fn calibrate_score(
        &self,
        request: Request<CalibrateScoreRequest>,
    ) -> Result<Response<Calibration>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            results::calibrate(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id))]
    async fn list_calibrations(
        &self,
        request: Request<ListCalibrationsRequest>,
    ) -> Result<Response<ListCalibrationsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            results::calibrations(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id, subject_id = %request.get_ref().subject_id))]
    async fn get_scorecard(
        &self,
        request: Request<GetScorecardRequest>,
    ) -> Result<Response<Scorecard>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            results::scorecard(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id))]
    async fn list_scorecards(
        &self,
        request: Request<ListScorecardsRequest>,
    ) -> Result<Response<ListScorecardsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            results::list_scorecards(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id))]
    async fn list_rankings(
        &self,
        request: Request<ListRankingsRequest>,
    ) -> Result<Response<ListRankingsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            results::rankings(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().feedback.as_ref().map(|f| f.cycle_id.as_str()).unwrap_or_default()))]
    async fn set_appraisal_feedback(
        &self,
        request: Request<SetAppraisalFeedbackRequest>,
    ) -> Result<Response<AppraisalFeedback>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            recognition::set_feedback(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id, subject_id = %request.get_ref().subject_id))]
    async fn get_appraisal_feedback(
        &self,
        request: Request<GetAppraisalFeedbackRequest>,
    ) -> Result<Response<AppraisalFeedback>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            recognition::get_feedback(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(cycle_id = %request.get_ref().cycle_id, subject_id = %request.get_ref().subject_id))]
    async fn acknowledge_appraisal_feedback(
        &self,
        request: Request<AcknowledgeAppraisalFeedbackRequest>,
    ) -> Result<Response<AppraisalFeedback>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            recognition::acknowledge(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(subject_id = %request.get_ref().subject_id))]
    async fn create_commendation(
        &self,
        request: Request<CreateCommendationRequest>,
    ) -> Result<Response<Commendation>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            recognition::commend(&self.app, &who, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(commendation_id = %request.get_ref().id))]
    async fn get_commendation(
        &self,
        request: Request<GetCommendationRequest>,
    ) -> Result<Response<Commendation>, Status> {
        principal(&request)?;
        Ok(Response::new(
            recognition::commendation(&self.app, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn list_commendations(
        &self,
        request: Request<ListCommendationsRequest>,
    ) -> Result<Response<ListCommendationsResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            recognition::commendations(&self.app, request.get_ref()).await?,
        ))
    }
    #[tracing::instrument(skip_all, fields(resource = %request.get_ref().resource))]
    async fn list_audit_entries(
        &self,
        request: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(
            audit::list(&self.app.db, request.get_ref()).await?,
        ))
    }
}

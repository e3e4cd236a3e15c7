//! The `DecisionService` and `ActionItemService` implementations: each RPC
//! takes the caller from the request, validates the message into domain
//! values, applies the resource rules and runs its SQL in one transaction
//! with its audit entry.

mod action_items;
mod convert;
mod deliberation;
mod history;
mod proposals;
mod requests;
mod statistics;
mod voting;

use concord_kit::auth::principal;
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::decisions::v1::action_item_service_server::ActionItemService;
use concord_proto::decisions::v1::decision_service_server::DecisionService;
use concord_proto::decisions::v1::*;
use tonic::{Request, Response, Status};

use crate::service::Decisions;

/// Runs `$body` (an `async` expression giving `Result<T, Error>`) and wraps
/// the answer.
macro_rules! answer {
    ($body:expr) => {
        $body.await.map(Response::new).map_err(Status::from)
    };
}

#[tonic::async_trait]
impl DecisionService for Decisions {
    #[tracing::instrument(skip_all)]
    async fn create_proposal(
        &self,
        request: Request<CreateProposalRequest>,
    ) -> Result<Response<Proposal>, Status> {
        let who = principal(&request)?;
        answer!(proposals::create(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().id))]
    async fn get_proposal(
        &self,
        request: Request<GetProposalRequest>,
    ) -> Result<Response<Proposal>, Status> {
        let who = principal(&request)?;
        answer!(proposals::get(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn list_proposals(
        &self,
        request: Request<ListProposalsRequest>,
    ) -> Result<Response<ListProposalsResponse>, Status> {
        let who = principal(&request)?;
        answer!(proposals::list(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal.as_ref().map(|p| p.id.as_str()).unwrap_or_default()))]
    async fn update_proposal(
        &self,
        request: Request<UpdateProposalRequest>,
    ) -> Result<Response<Proposal>, Status> {
        let who = principal(&request)?;
        answer!(proposals::update(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().id))]
    async fn advance_proposal(
        &self,
        request: Request<AdvanceProposalRequest>,
    ) -> Result<Response<Proposal>, Status> {
        let who = principal(&request)?;
        answer!(proposals::advance(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn create_comment(
        &self,
        request: Request<CreateCommentRequest>,
    ) -> Result<Response<Comment>, Status> {
        let who = principal(&request)?;
        answer!(deliberation::create(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn list_comments(
        &self,
        request: Request<ListCommentsRequest>,
    ) -> Result<Response<ListCommentsResponse>, Status> {
        let who = principal(&request)?;
        answer!(deliberation::list(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn cast_vote(&self, request: Request<CastVoteRequest>) -> Result<Response<Vote>, Status> {
        let who = principal(&request)?;
        answer!(voting::cast(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn delegate_vote(
        &self,
        request: Request<DelegateVoteRequest>,
    ) -> Result<Response<Delegation>, Status> {
        let who = principal(&request)?;
        answer!(voting::delegate(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn revoke_delegation(
        &self,
        request: Request<RevokeDelegationRequest>,
    ) -> Result<Response<RevokeDelegationResponse>, Status> {
        let who = principal(&request)?;
        answer!(voting::revoke(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn list_eligible_voters(
        &self,
        request: Request<ListEligibleVotersRequest>,
    ) -> Result<Response<ListEligibleVotersResponse>, Status> {
        let who = principal(&request)?;
        answer!(voting::voters(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn list_votes(
        &self,
        request: Request<ListVotesRequest>,
    ) -> Result<Response<ListVotesResponse>, Status> {
        let who = principal(&request)?;
        answer!(voting::votes(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn get_tally(
        &self,
        request: Request<GetTallyRequest>,
    ) -> Result<Response<Tally>, Status> {
        let who = principal(&request)?;
        answer!(voting::tally(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(proposal_id = %request.get_ref().proposal_id))]
    async fn list_proposal_history(
        &self,
        request: Request<ListProposalHistoryRequest>,
    ) -> Result<Response<ListProposalHistoryResponse>, Status> {
        let who = principal(&request)?;
        answer!(history::proposal(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn get_decision_statistics(
        &self,
        request: Request<GetDecisionStatisticsRequest>,
    ) -> Result<Response<DecisionStatistics>, Status> {
        let who = principal(&request)?;
        answer!(statistics::get(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(resource = %request.get_ref().resource))]
    async fn list_audit_entries(
        &self,
        request: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        let who = principal(&request)?;
        answer!(history::audit(self, &who, request.get_ref()))
    }
}

#[tonic::async_trait]
impl ActionItemService for Decisions {
    #[tracing::instrument(skip_all, fields(lead_department_id = %request.get_ref().lead_department_id))]
    async fn create_action_item(
        &self,
        request: Request<CreateActionItemRequest>,
    ) -> Result<Response<ActionItem>, Status> {
        let who = principal(&request)?;
        answer!(action_items::create(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(action_item_id = %request.get_ref().id))]
    async fn get_action_item(
        &self,
        request: Request<GetActionItemRequest>,
    ) -> Result<Response<ActionItem>, Status> {
        principal(&request)?;
        answer!(action_items::get(self, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn list_action_items(
        &self,
        request: Request<ListActionItemsRequest>,
    ) -> Result<Response<ListActionItemsResponse>, Status> {
        principal(&request)?;
        answer!(action_items::list(self, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(action_item_id = %request.get_ref().action_item.as_ref().map(|a| a.id.as_str()).unwrap_or_default()))]
    async fn update_action_item(
        &self,
        request: Request<UpdateActionItemRequest>,
    ) -> Result<Response<ActionItem>, Status> {
        let who = principal(&request)?;
        answer!(action_items::update(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(action_item_id = %request.get_ref().action_item_id))]
    async fn report_progress(
        &self,
        request: Request<ReportProgressRequest>,
    ) -> Result<Response<ReportProgressResponse>, Status> {
        let who = principal(&request)?;
        answer!(action_items::report(self, &who, request.get_ref()))
    }

    #[tracing::instrument(skip_all, fields(action_item_id = %request.get_ref().action_item_id))]
    async fn list_progress_notes(
        &self,
        request: Request<ListProgressNotesRequest>,
    ) -> Result<Response<ListProgressNotesResponse>, Status> {
        principal(&request)?;
        answer!(action_items::notes(self, request.get_ref()))
    }
}

//! The `NoticeService` and `MeetingService` implementations: each RPC takes
//! the caller from the request, validates the message into domain values,
//! applies the resource rules and runs its SQL in one transaction with its
//! audit entry.

mod convert;
mod grants;
mod inbox;
mod meetings;
mod notices;
mod occurrences;
mod receipts;
mod rules;
mod stats;

use concord_kit::audit;
use concord_kit::auth::principal;
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::notices::v1::meeting_service_server::MeetingService;
use concord_proto::notices::v1::notice_service_server::NoticeService;
use concord_proto::notices::v1::*;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::core::Core;

/// The notice service over its core.
#[derive(Debug, Clone)]
pub struct Notices {
    core: Core,
    /// Ends the live inbox streams at shutdown.
    shutdown: CancellationToken,
}

impl Notices {
    pub fn new(core: Core, shutdown: CancellationToken) -> Self {
        Self { core, shutdown }
    }
}

/// The meeting service over the same core.
#[derive(Debug, Clone)]
pub struct Meetings {
    core: Core,
}

impl Meetings {
    pub fn new(core: Core) -> Self {
        Self { core }
    }
}

#[tonic::async_trait]
impl NoticeService for Notices {
    #[tracing::instrument(skip_all)]
    async fn create_notice(
        &self,
        request: Request<CreateNoticeRequest>,
    ) -> Result<Response<Notice>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            notices::create(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().id))]
    async fn get_notice(
        &self,
        request: Request<GetNoticeRequest>,
    ) -> Result<Response<Notice>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            notices::get(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(author_id = %request.get_ref().author_id))]
    async fn list_notices(
        &self,
        request: Request<ListNoticesRequest>,
    ) -> Result<Response<ListNoticesResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            notices::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().notice.as_ref().map(|n| n.id.as_str()).unwrap_or_default()))]
    async fn update_notice(
        &self,
        request: Request<UpdateNoticeRequest>,
    ) -> Result<Response<Notice>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            notices::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().id))]
    async fn publish_notice(
        &self,
        request: Request<PublishNoticeRequest>,
    ) -> Result<Response<Notice>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            notices::publish(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().id))]
    async fn retract_notice(
        &self,
        request: Request<RetractNoticeRequest>,
    ) -> Result<Response<Notice>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            notices::retract(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_inbox(
        &self,
        request: Request<ListInboxRequest>,
    ) -> Result<Response<ListInboxResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            inbox::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().notice_id))]
    async fn mark_notice_read(
        &self,
        request: Request<MarkNoticeReadRequest>,
    ) -> Result<Response<Receipt>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            inbox::mark(self, &who, &request.get_ref().notice_id, false).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().notice_id))]
    async fn acknowledge_notice(
        &self,
        request: Request<AcknowledgeNoticeRequest>,
    ) -> Result<Response<Receipt>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            inbox::mark(self, &who, &request.get_ref().notice_id, true).await?,
        ))
    }

    type WatchInboxStream = inbox::WatchStream;

    #[tracing::instrument(skip_all, fields(after_sequence = request.get_ref().after_sequence))]
    async fn watch_inbox(
        &self,
        request: Request<WatchInboxRequest>,
    ) -> Result<Response<Self::WatchInboxStream>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(inbox::watch(self, &who, request.get_ref())?))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().notice_id))]
    async fn get_receipt_summary(
        &self,
        request: Request<GetReceiptSummaryRequest>,
    ) -> Result<Response<ReceiptSummary>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            receipts::summary(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().notice_id))]
    async fn list_receipts(
        &self,
        request: Request<ListReceiptsRequest>,
    ) -> Result<Response<ListReceiptsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            receipts::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(notice_id = %request.get_ref().notice_id))]
    async fn remind_unread(
        &self,
        request: Request<RemindUnreadRequest>,
    ) -> Result<Response<RemindUnreadResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            receipts::remind(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_communication_rules(
        &self,
        request: Request<ListCommunicationRulesRequest>,
    ) -> Result<Response<ListCommunicationRulesResponse>, Status> {
        principal(&request)?;
        Ok(Response::new(rules::list(self).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn update_communication_rule(
        &self,
        request: Request<UpdateCommunicationRuleRequest>,
    ) -> Result<Response<CommunicationRule>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            rules::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id, department_id = %request.get_ref().department_id))]
    async fn create_publishing_grant(
        &self,
        request: Request<CreatePublishingGrantRequest>,
    ) -> Result<Response<PublishingGrant>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            grants::create(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id))]
    async fn list_publishing_grants(
        &self,
        request: Request<ListPublishingGrantsRequest>,
    ) -> Result<Response<ListPublishingGrantsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            grants::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(grant_id = %request.get_ref().id))]
    async fn delete_publishing_grant(
        &self,
        request: Request<DeletePublishingGrantRequest>,
    ) -> Result<Response<DeletePublishingGrantResponse>, Status> {
        let who = principal(&request)?;
        grants::delete(self, &who, request.get_ref()).await?;
        Ok(Response::new(DeletePublishingGrantResponse {}))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn get_notice_statistics(
        &self,
        request: Request<GetNoticeStatisticsRequest>,
    ) -> Result<Response<NoticeStatistics>, Status> {
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
            audit::list(&self.core.db, request.get_ref()).await?,
        ))
    }
}

#[tonic::async_trait]
impl MeetingService for Meetings {
    #[tracing::instrument(skip_all)]
    async fn create_meeting(
        &self,
        request: Request<CreateMeetingRequest>,
    ) -> Result<Response<Meeting>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            meetings::create(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(meeting_id = %request.get_ref().id))]
    async fn get_meeting(
        &self,
        request: Request<GetMeetingRequest>,
    ) -> Result<Response<Meeting>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            meetings::get(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_meetings(
        &self,
        request: Request<ListMeetingsRequest>,
    ) -> Result<Response<ListMeetingsResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            meetings::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(meeting_id = %request.get_ref().meeting.as_ref().map(|m| m.id.as_str()).unwrap_or_default()))]
    async fn update_meeting(
        &self,
        request: Request<UpdateMeetingRequest>,
    ) -> Result<Response<Meeting>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            meetings::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(meeting_id = %request.get_ref().id))]
    async fn cancel_meeting(
        &self,
        request: Request<CancelMeetingRequest>,
    ) -> Result<Response<Meeting>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            meetings::cancel(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_upcoming_occurrences(
        &self,
        request: Request<ListUpcomingOccurrencesRequest>,
    ) -> Result<Response<ListUpcomingOccurrencesResponse>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            occurrences::upcoming(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(meeting_id = %request.get_ref().meeting_id, occurrence = request.get_ref().occurrence_index))]
    async fn get_occurrence(
        &self,
        request: Request<GetOccurrenceRequest>,
    ) -> Result<Response<Occurrence>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            occurrences::get(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(meeting_id = %request.get_ref().meeting_id, occurrence = request.get_ref().occurrence_index))]
    async fn add_agenda_item(
        &self,
        request: Request<AddAgendaItemRequest>,
    ) -> Result<Response<AgendaItem>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            occurrences::add_item(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id))]
    async fn remove_agenda_item(
        &self,
        request: Request<RemoveAgendaItemRequest>,
    ) -> Result<Response<RemoveAgendaItemResponse>, Status> {
        let who = principal(&request)?;
        occurrences::remove_item(self, &who, request.get_ref()).await?;
        Ok(Response::new(RemoveAgendaItemResponse {}))
    }

    #[tracing::instrument(skip_all, fields(meeting_id = %request.get_ref().meeting_id, occurrence = request.get_ref().occurrence_index))]
    async fn record_attendance(
        &self,
        request: Request<RecordAttendanceRequest>,
    ) -> Result<Response<Occurrence>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            occurrences::attendance(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(meeting_id = %request.get_ref().meeting_id, occurrence = request.get_ref().occurrence_index))]
    async fn record_minutes(
        &self,
        request: Request<RecordMinutesRequest>,
    ) -> Result<Response<Occurrence>, Status> {
        let who = principal(&request)?;
        Ok(Response::new(
            occurrences::minutes(self, &who, request.get_ref()).await?,
        ))
    }
}

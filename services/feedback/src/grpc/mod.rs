//! The `FeedbackService` implementation. Every change loads the item under
//! its row lock, applies a domain transition, and writes the item, its
//! timeline entries, its due rows and the audit entry in one transaction;
//! metrics, gauges and bus notifications follow the commit.

mod convert;
mod read;
mod sla;
mod stats;
mod submit;
mod submitter;
mod work;

use concord_kit::auth::{Principal, principal};
use concord_kit::bus::SharedBus;
use concord_kit::clock::{SharedClock, to_timestamp};
use concord_kit::db::Db;
use concord_kit::directory::DirectoryLink;
use concord_kit::{Error, audit};
use concord_proto::audit::v1::{ListAuditEntriesRequest, ListAuditEntriesResponse};
use concord_proto::feedback::v1 as pb;
use concord_proto::feedback::v1::feedback_service_server::FeedbackService;
use prost::Message;
use sqlx::{Any, Transaction};
use tonic::{Request, Response, Status};

use crate::domain::access::{Standing, needs_directory};
use crate::domain::{Effects, Item, Level};
use crate::metrics::{self, Gauges};
use crate::store::entry::Entry;
use crate::store::{self, entry};

pub(crate) use convert::{deadline as deadline_pb, level as level_pb};

/// The bus topic escalations are announced on.
pub const ESCALATION_TOPIC: &str = "feedback.escalations";

/// The audit actor of everything an anonymous submitter does.
pub const ANONYMOUS: &str = "anonymous";
/// The audit actor of what the service does by itself.
pub const SYSTEM: &str = "system:feedback";

/// A principal that names nobody, for the audit trail.
pub fn nobody(subject: &str) -> Principal {
    Principal {
        subject: subject.to_string(),
        department_id: None,
        roles: Vec::new(),
        expires_at: 0,
    }
}

/// The feedback service over its database.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub(crate) db: Db,
    pub(crate) clock: SharedClock,
    pub(crate) org: DirectoryLink,
    pub(crate) bus: SharedBus,
    pub(crate) gauges: Gauges,
}

/// A change to write: what the item was before, the effects of the
/// transition, and how the audit trail names it.
pub(crate) struct Change {
    pub before: Item,
    pub effects: Effects,
    /// The audit action, e.g. `feedback.accept`.
    pub action: &'static str,
    pub detail: serde_json::Value,
}

impl Feedback {
    pub fn new(
        db: Db,
        clock: SharedClock,
        org: DirectoryLink,
        bus: SharedBus,
        gauges: Gauges,
    ) -> Self {
        Self {
            db,
            clock,
            org,
            bus,
            gauges,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// How `who` stands to `item`, asking the directory only for heads of
    /// other departments.
    pub(crate) async fn standing(&self, who: &Principal, item: &Item) -> Result<Standing, Error> {
        let above = match (
            needs_directory(who, item),
            &who.department_id,
            &item.department_id,
        ) {
            (true, Some(mine), Some(theirs)) => self.org.within(mine, theirs).await?,
            _ => false,
        };
        Ok(Standing::of(who, item, above))
    }

    /// The item under its row lock, or NOT_FOUND.
    pub(crate) async fn locked(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
    ) -> Result<Item, Error> {
        store::item::get(tx, id, self.db.for_update())
            .await?
            .ok_or_else(|| Error::not_found("feedback item", id))
    }

    /// Writes the changed `item` with its entries, due rows and audit entry
    /// in `tx` (not committed). Returns the entries written.
    pub(crate) async fn write(
        &self,
        tx: &mut Transaction<'static, Any>,
        who: &Principal,
        item: &mut Item,
        change: &Change,
    ) -> Result<Vec<Entry>, Error> {
        let now = self.now();
        let first_seq = item.entries + 1;
        item.entries += i64::try_from(change.effects.entries.len()).unwrap_or(0);
        item.version = change.before.version + 1;
        if !store::item::update(tx, item, change.before.version).await? {
            return Err(Error::stale_etag("feedback item"));
        }
        let entries = entry::insert(tx, &item.id, first_seq, &change.effects.entries, now).await?;
        store::apply_timers(tx, &item.id, &change.effects.timers).await?;
        let detail = change.detail.clone();
        audit::record(tx, now, who, change.action, &resource(&item.id), detail).await?;
        Ok(entries)
    }

    /// [`Self::write`], commit, then metrics and notifications.
    pub(crate) async fn commit(
        &self,
        mut tx: Transaction<'static, Any>,
        who: &Principal,
        item: &mut Item,
        change: Change,
    ) -> Result<Vec<Entry>, Error> {
        let entries = self.write(&mut tx, who, item, &change).await?;
        tx.commit().await?;
        self.after_commit(&change.before, item, &change.effects)
            .await;
        Ok(entries)
    }

    /// Metrics and notifications of a committed change.
    pub(crate) async fn after_commit(&self, before: &Item, after: &Item, effects: &Effects) {
        let dept = after.department_id.as_deref();
        if let (None, Some(t)) = (before.first_response_ms, after.first_response_ms) {
            metrics::first_response(dept, t - after.created_ms);
        }
        if let (None, Some(t)) = (before.resolved_ms, after.resolved_ms) {
            let on_time = t <= after.resolution_due_ms;
            metrics::resolved(dept, after.category, t - after.created_ms, on_time);
        }
        if let (None, Some(s)) = (before.satisfaction, after.satisfaction) {
            metrics::rated(dept, s);
        }
        if !before.closed_automatically && after.closed_automatically {
            metrics::auto_closed(dept);
        }
        if let Some((level, deadline)) = effects.escalated {
            metrics::escalated(dept, level, deadline);
            self.announce_escalation(after, level, deadline).await;
        }
        self.gauges.nudge();
    }

    /// Publishes the escalation on the bus; a failed publish is only logged
    /// (the database holds the escalation).
    async fn announce_escalation(
        &self,
        item: &Item,
        level: Level,
        deadline: crate::domain::Deadline,
    ) {
        let notify = match (&item.department_id, level) {
            (Some(d), Level::DepartmentHead) => self.org.heads(d).await.map(|heads| heads.into_iter().map(|p| p.id).collect()).unwrap_or_else(|e| {
                tracing::warn!(item_id = %item.id, error = %e, "cannot look up the department heads to notify");
                Vec::new()
            }),
            _ => Vec::new(),
        };
        let deadline_ms = match deadline {
            crate::domain::Deadline::FirstResponse => item.first_response_due_ms,
            crate::domain::Deadline::Resolution => item.resolution_due_ms,
        };
        let event = pb::FeedbackEscalation {
            item_id: item.id.clone(),
            department_id: item.department_id.clone().unwrap_or_default(),
            level: level_pb(level) as i32,
            deadline: deadline_pb(deadline) as i32,
            deadline_time: Some(to_timestamp(deadline_ms)),
            owner_id: item.owner_id.clone().unwrap_or_default(),
            notify_person_ids: notify,
            escalate_time: Some(to_timestamp(self.now())),
            subject: item.subject.clone(),
        };
        tracing::info!(item_id = %item.id, level = level.as_str(), deadline = deadline.as_str(), "feedback escalated");
        if let Err(e) = self
            .bus
            .publish(ESCALATION_TOPIC, event.encode_to_vec().into())
            .await
        {
            tracing::warn!(item_id = %item.id, error = %e, "cannot announce the escalation on the bus");
        }
    }
}

/// The audit resource name of an item.
pub fn resource(id: &str) -> String {
    format!("feedback/{id}")
}

fn caller<T>(request: &Request<T>) -> Result<std::sync::Arc<Principal>, Status> {
    principal(request)
}

#[tonic::async_trait]
impl FeedbackService for Feedback {
    #[tracing::instrument(skip_all, fields(item_id = tracing::field::Empty))]
    async fn submit_feedback(
        &self,
        request: Request<pb::SubmitFeedbackRequest>,
    ) -> Result<Response<pb::SubmitFeedbackResponse>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            submit::submit(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id))]
    async fn get_feedback_item(
        &self,
        request: Request<pb::GetFeedbackItemRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            read::get(self, &who, &request.get_ref().id).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id))]
    async fn list_feedback_items(
        &self,
        request: Request<pb::ListFeedbackItemsRequest>,
    ) -> Result<Response<pb::ListFeedbackItemsResponse>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            read::list(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id))]
    async fn list_feedback_timeline(
        &self,
        request: Request<pb::ListFeedbackTimelineRequest>,
    ) -> Result<Response<pb::ListFeedbackTimelineResponse>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            read::timeline(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().item.as_ref().map(|i| i.id.as_str()).unwrap_or_default()))]
    async fn update_feedback_item(
        &self,
        request: Request<pb::UpdateFeedbackItemRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            work::update(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id, department_id = %request.get_ref().department_id))]
    async fn route_feedback(
        &self,
        request: Request<pb::RouteFeedbackRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            work::route(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id, owner_id = %request.get_ref().owner_id))]
    async fn assign_feedback_owner(
        &self,
        request: Request<pb::AssignFeedbackOwnerRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            work::assign(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id))]
    async fn accept_feedback(
        &self,
        request: Request<pb::AcceptFeedbackRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        let r = request.get_ref();
        Ok(Response::new(
            work::step(self, &who, &r.id, &r.etag, work::Step::Accept(&r.comment)).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id))]
    async fn start_feedback_work(
        &self,
        request: Request<pb::StartFeedbackWorkRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        let r = request.get_ref();
        Ok(Response::new(
            work::step(self, &who, &r.id, &r.etag, work::Step::Start(&r.comment)).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id))]
    async fn resolve_feedback(
        &self,
        request: Request<pb::ResolveFeedbackRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        let r = request.get_ref();
        Ok(Response::new(
            work::step(self, &who, &r.id, &r.etag, work::Step::Resolve(&r.solution)).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id, internal = request.get_ref().internal))]
    async fn add_feedback_reply(
        &self,
        request: Request<pb::AddFeedbackReplyRequest>,
    ) -> Result<Response<pb::TimelineEntry>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            work::reply(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id))]
    async fn confirm_resolution(
        &self,
        request: Request<pb::ConfirmResolutionRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        let r = request.get_ref();
        let answer = submitter::Answer::Confirm(r.satisfaction, &r.comment);
        Ok(Response::new(
            submitter::answer(self, &who, &r.id, answer).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(item_id = %request.get_ref().id))]
    async fn reopen_feedback(
        &self,
        request: Request<pb::ReopenFeedbackRequest>,
    ) -> Result<Response<pb::FeedbackItem>, Status> {
        let who = caller(&request)?;
        let r = request.get_ref();
        let answer = submitter::Answer::Reopen(&r.comment);
        Ok(Response::new(
            submitter::answer(self, &who, &r.id, answer).await?,
        ))
    }

    // The `…ByCode` spans carry no fields: the code is a secret and the item
    // id would tie the caller's connection to the item.
    #[tracing::instrument(skip_all)]
    async fn get_feedback_by_code(
        &self,
        request: Request<pb::GetFeedbackByCodeRequest>,
    ) -> Result<Response<pb::FollowUpView>, Status> {
        Ok(Response::new(
            submitter::view_by_code(self, &request.get_ref().follow_up_code).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn reply_by_code(
        &self,
        request: Request<pb::ReplyByCodeRequest>,
    ) -> Result<Response<pb::TimelineEntry>, Status> {
        Ok(Response::new(
            submitter::reply_by_code(self, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn confirm_resolution_by_code(
        &self,
        request: Request<pb::ConfirmResolutionByCodeRequest>,
    ) -> Result<Response<pb::FollowUpView>, Status> {
        let r = request.get_ref();
        let answer = submitter::Answer::Confirm(r.satisfaction, &r.comment);
        Ok(Response::new(
            submitter::answer_by_code(self, &r.follow_up_code, answer).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn reopen_feedback_by_code(
        &self,
        request: Request<pb::ReopenFeedbackByCodeRequest>,
    ) -> Result<Response<pb::FollowUpView>, Status> {
        let r = request.get_ref();
        let answer = submitter::Answer::Reopen(&r.comment);
        Ok(Response::new(
            submitter::answer_by_code(self, &r.follow_up_code, answer).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_sla_policy(
        &self,
        request: Request<pb::SetSlaPolicyRequest>,
    ) -> Result<Response<pb::SlaPolicy>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            sla::set(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_sla_policies(
        &self,
        request: Request<pb::ListSlaPoliciesRequest>,
    ) -> Result<Response<pb::ListSlaPoliciesResponse>, Status> {
        caller(&request)?;
        Ok(Response::new(sla::list(self).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_sla_policy(
        &self,
        request: Request<pb::DeleteSlaPolicyRequest>,
    ) -> Result<Response<pb::DeleteSlaPolicyResponse>, Status> {
        let who = caller(&request)?;
        sla::delete(self, &who, request.get_ref()).await?;
        Ok(Response::new(pb::DeleteSlaPolicyResponse {}))
    }

    #[tracing::instrument(skip_all, fields(department_id = %request.get_ref().department_id, person_id = %request.get_ref().person_id))]
    async fn get_feedback_statistics(
        &self,
        request: Request<pb::GetFeedbackStatisticsRequest>,
    ) -> Result<Response<pb::GetFeedbackStatisticsResponse>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(
            stats::get(self, &who, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(resource = %request.get_ref().resource))]
    async fn list_audit_entries(
        &self,
        request: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        caller(&request)?;
        Ok(Response::new(
            audit::list(&self.db, request.get_ref()).await?,
        ))
    }
}

//! Telling people through the notices service: a reminder becomes a notice
//! addressed to the people reminded, created and published with training's
//! own identity. The due row that drives a delivery retries it until the
//! notice is out.

use concord_kit::clients::ServiceChannel;
use concord_proto::notices::v1 as nt;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;

use crate::domain::reminder::ReminderNotice;

/// Why a notice could not be delivered.
pub use concord_kit::notices::NoticeError as NotifyError;

/// The notices service, when training was given its address.
#[derive(Debug, Clone)]
pub struct Notifier {
    client: Option<NoticeServiceClient<ServiceChannel>>,
}

impl Notifier {
    pub fn new(channel: Option<ServiceChannel>) -> Self {
        Self {
            client: channel.map(NoticeServiceClient::new),
        }
    }

    /// Creates and publishes `notice`; returns its id. Both calls are
    /// idempotent (the request id, and publishing a published notice
    /// returns it unchanged), so a retry after a lost answer publishes once.
    #[tracing::instrument(skip_all, fields(request_id = %notice.request_id, people = notice.person_ids.len()))]
    pub async fn publish(&self, notice: &ReminderNotice) -> Result<String, NotifyError> {
        let Some(client) = &self.client else {
            return Err(NotifyError::Transient(
                "training has no address for notices (set CONCORD_UPSTREAMS__NOTICES)".into(),
            ));
        };
        let outgoing = concord_kit::notices::OutgoingNotice {
            request_id: notice.request_id.clone(),
            title: notice.title.clone(),
            body: notice.body.clone(),
            audience: nt::Audience {
                person_ids: notice.person_ids.clone(),
                ..Default::default()
            },
        };
        concord_kit::notices::publish(client, &outgoing).await
    }
}

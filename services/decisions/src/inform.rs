//! Telling the informed departments of an outcome, as a notice published
//! through the notices service. The call sits behind [`Informer`] so the
//! flow does not depend on how a notice is delivered; the due row that
//! drives it retries until the notice is out.

use concord_kit::clients::ServiceChannel;
use concord_proto::notices::v1 as nt;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;

/// The notice telling an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeNotice {
    /// Stable per proposal, so a retried delivery publishes one notice.
    pub request_id: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// The informed departments (with their sub-departments).
    pub department_ids: Vec<String>,
}

/// Why a notice could not be delivered.
pub use concord_kit::notices::NoticeError as InformError;

/// Delivers outcome notices.
#[async_trait::async_trait]
pub trait Informer: Send + Sync + std::fmt::Debug + 'static {
    /// Publishes `notice` and returns its id.
    async fn inform(&self, notice: &OutcomeNotice) -> Result<String, InformError>;
}

/// The notices service, called with this service's identity.
#[derive(Debug, Clone)]
pub struct NoticesInformer {
    client: NoticeServiceClient<ServiceChannel>,
}

impl NoticesInformer {
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            client: NoticeServiceClient::new(channel),
        }
    }
}

#[async_trait::async_trait]
impl Informer for NoticesInformer {
    #[tracing::instrument(skip_all, fields(departments = notice.department_ids.len()))]
    async fn inform(&self, notice: &OutcomeNotice) -> Result<String, InformError> {
        let outgoing = concord_kit::notices::OutgoingNotice {
            request_id: notice.request_id.clone(),
            title: notice.title.clone(),
            body: notice.body.clone(),
            audience: nt::Audience {
                department_ids: notice.department_ids.clone(),
                include_sub_departments: true,
                ..Default::default()
            },
        };
        concord_kit::notices::publish(&self.client, &outgoing).await
    }
}

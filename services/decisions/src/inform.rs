//! Telling the informed departments of an outcome, as a notice published
//! through the notices service. The call sits behind [`Informer`] so the
//! flow does not depend on how a notice is delivered; the due row that
//! drives it retries until the notice is out.

use concord_kit::clients::ServiceChannel;
use concord_proto::notices::v1 as nt;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use tonic::Code;

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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InformError {
    /// Worth retrying: the notices service is down or busy.
    #[error("notices unavailable: {0}")]
    Transient(String),
    /// Retrying the same request will not help (refused, invalid).
    #[error("notices refused the notice: {0}")]
    Refused(String),
}

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

fn classify(s: tonic::Status) -> InformError {
    match s.code() {
        Code::InvalidArgument
        | Code::PermissionDenied
        | Code::Unauthenticated
        | Code::NotFound
        | Code::FailedPrecondition
        | Code::Unimplemented => InformError::Refused(format!("{:?}: {}", s.code(), s.message())),
        _ => InformError::Transient(format!("{:?}: {}", s.code(), s.message())),
    }
}

#[async_trait::async_trait]
impl Informer for NoticesInformer {
    #[tracing::instrument(skip_all, fields(departments = notice.department_ids.len()))]
    async fn inform(&self, notice: &OutcomeNotice) -> Result<String, InformError> {
        let mut client = self.client.clone();
        let created = client
            .create_notice(nt::CreateNoticeRequest {
                request_id: notice.request_id.clone(),
                title: notice.title.clone(),
                body: notice.body.clone(),
                audience: Some(nt::Audience {
                    department_ids: notice.department_ids.clone(),
                    include_sub_departments: true,
                    ..Default::default()
                }),
                priority: nt::Priority::Normal as i32,
                ..Default::default()
            })
            .await
            .map_err(classify)?
            .into_inner();
        // Publishing a published notice returns it unchanged, so a retry
        // after a lost answer is harmless.
        let published = client
            .publish_notice(nt::PublishNoticeRequest {
                id: created.id,
                etag: String::new(),
            })
            .await
            .map_err(classify)?
            .into_inner();
        Ok(published.id)
    }
}

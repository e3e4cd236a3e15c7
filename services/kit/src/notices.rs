//! Telling people through the notices service, for a service that has
//! something to announce (a decision's outcome, a training reminder): one
//! notice created and published with the calling service's identity. Both
//! calls are idempotent (the request id; publishing a published notice
//! returns it unchanged), so the due row that drives a delivery can retry
//! it until the notice is out, and a retry after a lost answer publishes
//! once.

use concord_proto::notices::v1 as nt;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use tonic::Code;

use crate::clients::ServiceChannel;

/// A notice to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingNotice {
    /// Stable per delivery, so a retry publishes one notice.
    pub request_id: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub audience: nt::Audience,
}

/// Why a notice could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// Worth retrying: the notices service is down, busy or not configured.
    #[error("notices unavailable: {0}")]
    Transient(String),
    /// Retrying the same request will not help (refused, invalid).
    #[error("notices refused the notice: {0}")]
    Refused(String),
}

impl From<tonic::Status> for NoticeError {
    fn from(s: tonic::Status) -> Self {
        let what = format!("{:?}: {}", s.code(), s.message());
        match s.code() {
            Code::InvalidArgument
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::NotFound
            | Code::FailedPrecondition
            | Code::Unimplemented => Self::Refused(what),
            _ => Self::Transient(what),
        }
    }
}

/// Creates and publishes `notice` (normal priority) through `client`;
/// the published notice's id.
#[tracing::instrument(skip_all, fields(request_id = %notice.request_id))]
pub async fn publish(
    client: &NoticeServiceClient<ServiceChannel>,
    notice: &OutgoingNotice,
) -> Result<String, NoticeError> {
    let mut client = client.clone();
    let created = client
        .create_notice(nt::CreateNoticeRequest {
            request_id: notice.request_id.clone(),
            title: notice.title.clone(),
            body: notice.body.clone(),
            audience: Some(notice.audience.clone()),
            priority: nt::Priority::Normal as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    let published = client
        .publish_notice(nt::PublishNoticeRequest {
            id: created.id,
            etag: String::new(),
        })
        .await?
        .into_inner();
    Ok(published.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_from_outages() {
        for code in [
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::NotFound,
        ] {
            let e = NoticeError::from(tonic::Status::new(code, "no"));
            assert!(matches!(e, NoticeError::Refused(_)), "{code:?}: {e}");
        }
        for code in [Code::Unavailable, Code::DeadlineExceeded, Code::Internal] {
            let e = NoticeError::from(tonic::Status::new(code, "later"));
            assert!(matches!(e, NoticeError::Transient(_)), "{code:?}: {e}");
        }
    }
}

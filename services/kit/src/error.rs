//! The one mapping from what went wrong to a gRPC status (AIP-193): invalid
//! input names each bad field in a `google.rpc.BadRequest`; internal causes
//! go to the log, never to the caller.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The invalid fields of a request, collected before anything is written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<(String, String)>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is invalid, saying why.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push((field.into(), description.into()));
    }

    /// Records a violation when `bad` holds.
    pub fn check(&mut self, bad: bool, field: &str, description: &str) {
        if bad {
            self.add(field, description);
        }
    }

    /// Adds every violation of `other` (e.g. from `Page::parse` or
    /// `Period::from_request`) so all bad fields are reported together.
    pub fn extend(&mut self, other: Violations) {
        self.0.extend(other.0);
    }

    /// Runs a check that fails with an invalid-argument error and keeps its
    /// violations; other errors pass through.
    pub fn absorb<T>(&mut self, result: Result<T, Error>) -> Result<Option<T>, Error> {
        match result {
            Ok(t) => Ok(Some(t)),
            Err(Error::Invalid(v)) => {
                self.extend(v);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(f, _)| f.as_str())
    }

    /// `Ok(())` when nothing was recorded, else the invalid-argument error.
    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self))
        }
    }
}

/// A single-field invalid-argument error.
pub fn invalid(field: &str, description: &str) -> Error {
    let mut v = Violations::new();
    v.add(field, description);
    Error::Invalid(v)
}

/// Everything a Concord RPC can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {}", .0.fields().collect::<Vec<_>>().join(", "))]
    Invalid(Violations),
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    /// The resource is in the wrong state for this call.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A stale etag or a concurrent change (AIP-154).
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// A dependency (database, another service) cannot be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
        }
    }

    pub fn denied(why: impl Into<String>) -> Self {
        Error::PermissionDenied(why.into())
    }

    pub fn precondition(why: impl Into<String>) -> Self {
        Error::FailedPrecondition(why.into())
    }

    /// The etag given does not match the stored one.
    pub fn stale_etag(kind: &'static str) -> Self {
        Error::Aborted(format!(
            "{kind} was changed since it was read (etag mismatch); read it again"
        ))
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Error::Unavailable(format!("database: {e}")),
            sqlx::Error::Database(ref db) => match db.code().as_deref() {
                // Connection exceptions, an administrator's shutdown or
                // terminate, too many connections: the database is away for
                // a while, not broken.
                Some(c) if c.starts_with("08") || c.starts_with("57P") || c == "53300" => {
                    Error::Unavailable(format!("database: {e}"))
                }
                // A character PostgreSQL cannot store (NUL) that slipped past
                // a service's own checks is the caller's input, not our fault.
                Some("22021" | "22P05") => invalid(
                    "request",
                    "contains a character that cannot be stored (NUL)",
                ),
                _ => Error::Internal(anyhow::Error::new(e).context("database query failed")),
            },
            other => Error::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::Invalid(v) => {
                // Bounded, so the status fits in a client's header limit
                // (16 KiB by default) however many items were bad.
                const MOST: usize = 20;
                const LONGEST: usize = 200;
                let cut = |s: &str| -> String {
                    match s.char_indices().nth(LONGEST) {
                        Some((i, _)) => format!("{}…", &s[..i]),
                        None => s.to_string(),
                    }
                };
                let mut details = ErrorDetails::new();
                let mut names = Vec::new();
                for (field, why) in v.0.iter().take(MOST) {
                    let (field, why) = (cut(field), cut(why));
                    names.push(format!("{field}: {why}"));
                    details.add_bad_request_violation(field, why);
                }
                if v.0.len() > MOST {
                    names.push(format!("and {} more", v.0.len() - MOST));
                }
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid argument: {}", names.join("; ")),
                    details,
                )
            }
            Error::NotFound { kind, id } => Status::not_found(format!("{kind} {id} not found")),
            Error::AlreadyExists(m) => Status::already_exists(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::Aborted(m) => Status::aborted(m),
            Error::PermissionDenied(m) => Status::permission_denied(m),
            Error::Unauthenticated(m) => Status::unauthenticated(m),
            Error::Unavailable(m) => {
                tracing::warn!(cause = %m, "dependency unavailable");
                Status::unavailable("a dependency is unavailable; retry later")
            }
            Error::ResourceExhausted(m) => Status::resource_exhausted(m),
            Error::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// Result of a Concord operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds `.context("Failed to …")` that produces an internal error.
pub trait Context<T> {
    fn context(self, what: &'static str) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &'static str) -> Result<T> {
        self.map_err(|e| Error::Internal(anyhow::Error::new(e).context(what)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_every_field_in_bad_request() {
        let mut v = Violations::new();
        v.add("name", "must not be empty");
        v.add("parent_id", "is not a valid id");
        let status: Status = Error::Invalid(v).into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|f| f.field.clone())
            .collect();
        assert_eq!(fields, ["name", "parent_id"]);
    }

    #[test]
    fn internal_hides_the_cause() {
        let status: Status = Error::Internal(anyhow::anyhow!("secret table xyz")).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("xyz"));
    }
}

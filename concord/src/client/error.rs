//! What went wrong, said once: the message on stderr (with every bad field
//! of an INVALID_ARGUMENT) and the exit code a script can branch on.

use std::process::ExitCode;

use tonic::Code;
use tonic_types::StatusExt;

/// The exit codes documented in `--help` ([`super::EXIT_CODES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Success = 0,
    Other = 1,
    Usage = 2,
    Denied = 3,
    NotFound = 4,
    Invalid = 5,
    Unavailable = 6,
}

impl Exit {
    /// The exit code for a gRPC status code.
    pub fn of(code: Code) -> Exit {
        match code {
            Code::Ok => Exit::Success,
            Code::PermissionDenied | Code::Unauthenticated => Exit::Denied,
            Code::NotFound => Exit::NotFound,
            Code::InvalidArgument | Code::OutOfRange => Exit::Invalid,
            Code::Unavailable | Code::DeadlineExceeded => Exit::Unavailable,
            Code::Cancelled
            | Code::Unknown
            | Code::AlreadyExists
            | Code::ResourceExhausted
            | Code::FailedPrecondition
            | Code::Aborted
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss => Exit::Other,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A failed client command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag or value the command cannot use (exit 2, like clap's own).
    #[error("{0}")]
    Usage(String),
    /// The server (or the connection to it) refused the call.
    #[error("{}", describe(.0))]
    Status(#[from] tonic::Status),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) => Exit::Usage,
            CliError::Status(s) => Exit::of(s.code()),
            CliError::Other(_) => Exit::Other,
        }
    }

    /// Prints the error on stderr and returns its exit code.
    pub fn report(&self) -> ExitCode {
        eprintln!("concord: {self}");
        if let CliError::Status(s) = self
            && s.code() == Code::Unauthenticated
        {
            eprintln!(
                "hint: pass --token, set CONCORD_TOKEN, or run `concord login --addr ADDR --token TOKEN`"
            );
        }
        self.exit().into()
    }
}

/// The status in words: its code, message and, for a bad request, one line
/// per field.
pub fn describe(status: &tonic::Status) -> String {
    match status.get_details_bad_request() {
        // The fields say it all, one a line.
        Some(bad) if !bad.field_violations.is_empty() => {
            let mut out = format!("{}:", code_name(status.code()));
            for v in &bad.field_violations {
                out.push_str(&format!("\n  {}: {}", v.field, v.description));
            }
            out
        }
        _ => format!("{}: {}", code_name(status.code()), status.message()),
    }
}

/// The bad fields a status names (for scripts and tests).
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown error",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "timed out",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "not possible now",
        Code::Aborted => "conflict",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "not served",
        Code::Internal => "server error",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "not signed in",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_documented_exits() {
        assert_eq!(Exit::of(Code::PermissionDenied) as u8, 3);
        assert_eq!(Exit::of(Code::Unauthenticated) as u8, 3);
        assert_eq!(Exit::of(Code::NotFound) as u8, 4);
        assert_eq!(Exit::of(Code::InvalidArgument) as u8, 5);
        assert_eq!(Exit::of(Code::Unavailable) as u8, 6);
        assert_eq!(Exit::of(Code::DeadlineExceeded) as u8, 6);
        assert_eq!(Exit::of(Code::FailedPrecondition) as u8, 1);
        assert_eq!(CliError::usage("x").exit() as u8, 2);
    }

    #[test]
    fn bad_request_names_each_field() {
        let mut details = tonic_types::ErrorDetails::new();
        details.add_bad_request_violation("title", "is required");
        details.add_bad_request_violation("audience.department_ids[1]", "names nothing");
        let status = tonic::Status::with_error_details(Code::InvalidArgument, "bad", details);
        let text = describe(&status);
        assert!(text.contains("\n  title: is required"), "{text}");
        assert!(text.contains("audience.department_ids[1]: names nothing"));
        assert_eq!(bad_fields(&status), ["title", "audience.department_ids[1]"]);
    }
}

//! The directory's rules, free of gRPC and SQL: departments as a tree, people
//! and their roles, duties and the matcher that answers "who handles X?", and
//! who may change what.

pub mod access;
pub mod department;
pub mod duty;
pub mod matcher;
pub mod person;

pub use department::{Department, DepartmentChange, DepartmentField, NewDepartment};
pub use duty::{Duty, NewDuty};
pub use person::{AudienceMember, NewPerson, Person, PersonChange, PersonField, Roles};

/// Longest department or person name, in characters.
pub const NAME_MAX: usize = 100;
/// Longest department description, in characters.
pub const DESCRIPTION_MAX: usize = 2000;
/// Longest duty text, in characters.
pub const DUTY_MAX: usize = 1000;
/// Longest job title, in characters.
pub const TITLE_MAX: usize = 100;
/// Longest search query, in characters.
pub const QUERY_MAX: usize = 100;
/// Longest FindResponsible topic, in characters.
pub const TOPIC_MAX: usize = 10_000;
/// Most ids in one list of an audience.
pub const AUDIENCE_IDS_MAX: usize = 1000;

/// The key names are ordered and compared by: the lowercased name, so
/// "it" and "IT" sort together and cannot be siblings.
pub fn sort_key(name: &str) -> String {
    name.to_lowercase()
}

/// An etag is the row's version counter rendered as a decimal string.
pub fn render_etag(version: i64) -> String {
    version.to_string()
}

/// Parses an etag a client sent back: `Ok(None)` when none was given (the
/// change is then unconditional), `Err` when it is not one of ours.
pub fn parse_etag(etag: &str) -> Result<Option<i64>, &'static str> {
    if etag.is_empty() {
        return Ok(None);
    }
    etag.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .map(Some)
        .ok_or("is not an etag returned by this service")
}

/// Whether a change made against `expected` may apply to a row at `current`.
pub fn etag_matches(expected: Option<i64>, current: i64) -> bool {
    expected.is_none_or(|v| v == current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_and_refuse_garbage() {
        assert_eq!(parse_etag(&render_etag(7)), Ok(Some(7)));
        assert_eq!(parse_etag(""), Ok(None));
        assert!(parse_etag("W/\"7\"").is_err());
        assert!(parse_etag("0").is_err());
        assert!(etag_matches(None, 3));
        assert!(etag_matches(Some(3), 3));
        assert!(!etag_matches(Some(2), 3));
    }

    #[test]
    fn sort_keys_ignore_ascii_case_and_keep_chinese() {
        assert_eq!(sort_key("IT Support"), "it support");
        assert_eq!(sort_key("信息中心"), "信息中心");
    }
}

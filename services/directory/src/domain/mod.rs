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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_ignore_ascii_case_and_keep_chinese() {
        assert_eq!(sort_key("IT Support"), "it support");
        assert_eq!(sort_key("信息中心"), "信息中心");
    }
}

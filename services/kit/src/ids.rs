//! Resource ids: UUIDv7 strings, so they sort by creation time.

use crate::error::Violations;

/// A new UUIDv7 id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Checks a required id field, recording a violation naming it.
pub fn check_id(v: &mut Violations, field: &str, value: &str) {
    if value.is_empty() {
        v.add(field, "is required");
    } else if uuid::Uuid::try_parse(value).is_err() {
        v.add(field, "is not a valid id");
    }
}

/// Checks an optional id field (empty is allowed).
pub fn check_opt_id(v: &mut Violations, field: &str, value: &str) {
    if !value.is_empty() && uuid::Uuid::try_parse(value).is_err() {
        v.add(field, "is not a valid id");
    }
}

/// Checks a required text field with a maximum length in characters.
pub fn check_text(v: &mut Violations, field: &str, value: &str, max_chars: usize) {
    if value.trim().is_empty() {
        v.add(field, "is required");
    } else {
        check_opt_text(v, field, value, max_chars);
    }
}

/// Checks an optional text field's length in characters.
pub fn check_opt_text(v: &mut Violations, field: &str, value: &str, max_chars: usize) {
    if value.chars().count() > max_chars {
        v.add(field, format!("must be at most {max_chars} characters"));
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        v.add(field, "must not contain control characters");
    }
}

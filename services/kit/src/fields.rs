//! Request fields every service validates the same way: etags (AIP-154),
//! update masks (AIP-134), page sizes, optional ids and one-line texts.

use prost_types::FieldMask;

use crate::error::{Error, Violations};

/// An etag is the row's version counter rendered as a decimal string.
pub fn render_etag(version: i64) -> String {
    version.to_string()
}

/// Parses an etag field a client sent back: `None` when empty (the change is
/// then unconditional); a violation naming `field` when it is not ours.
pub fn etag(v: &mut Violations, field: &str, value: &str) -> Option<i64> {
    if value.is_empty() {
        return None;
    }
    match value.parse::<i64>().ok().filter(|n| *n > 0) {
        Some(n) => Some(n),
        None => {
            v.add(field, "is not an etag returned by this service");
            None
        }
    }
}

/// Refuses a change made against a version that is no longer current
/// (ABORTED, as AIP-154 asks).
pub fn check_etag(kind: &'static str, expected: Option<i64>, current: i64) -> Result<(), Error> {
    if expected.is_none_or(|e| e == current) {
        Ok(())
    } else {
        Err(Error::stale_etag(kind))
    }
}

/// The fields named by an update mask. `known` maps each accepted path to
/// the field it means; `*` means all of them. A missing or empty mask, or an
/// unknown path, is a violation naming `update_mask`.
pub fn update_mask<F: Copy + PartialEq>(
    v: &mut Violations,
    mask: Option<&FieldMask>,
    known: &[(&str, F)],
) -> Vec<F> {
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        v.add(
            "update_mask",
            "is required: name the fields to change, or \"*\" for all",
        );
    }
    let mut fields = Vec::new();
    for path in paths {
        if path == "*" {
            for (_, f) in known {
                if !fields.contains(f) {
                    fields.push(*f);
                }
            }
            continue;
        }
        match known.iter().find(|(p, _)| p == path) {
            Some((_, f)) if !fields.contains(f) => fields.push(*f),
            Some(_) => {}
            None => v.add(
                "update_mask",
                format!("names {path:?}, which cannot be updated here"),
            ),
        }
    }
    fields
}

/// `page_size` must not be negative; checked with the other fields so all
/// are reported together.
pub fn page_size(v: &mut Violations, value: i32) {
    v.check(value < 0, "page_size", "must not be negative");
}

/// An optional id field (a filter, a parent): `None` when empty, else the
/// id, with a violation naming `field` when it is not a valid id.
pub fn opt_id(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    crate::ids::check_opt_id(v, field, value);
    (!value.is_empty()).then(|| value.to_string())
}

/// A required one-line text (a name, a title) of at most `max_chars`
/// characters, trimmed.
pub fn single_line(v: &mut Violations, field: &str, value: &str, max_chars: usize) -> String {
    let value = value.trim();
    crate::ids::check_text(v, field, value, max_chars);
    if value.contains(['\n', '\r', '\t']) {
        v.add(field, "must be a single line");
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum F {
        Name,
        Description,
    }

    #[test]
    fn etags_round_trip_and_refuse_garbage() {
        let mut v = Violations::new();
        assert_eq!(etag(&mut v, "etag", &render_etag(7)), Some(7));
        assert_eq!(etag(&mut v, "etag", ""), None);
        assert!(v.is_empty());
        assert_eq!(etag(&mut v, "etag", "W/\"7\""), None);
        assert_eq!(v.fields().collect::<Vec<_>>(), ["etag"]);
        assert!(check_etag("department", None, 3).is_ok());
        assert!(check_etag("department", Some(3), 3).is_ok());
        assert!(matches!(
            check_etag("department", Some(2), 3),
            Err(Error::Aborted(_))
        ));
    }

    #[test]
    fn masks_name_known_fields_or_everything() {
        let known = [("name", F::Name), ("description", F::Description)];
        let mut v = Violations::new();
        let m = FieldMask {
            paths: vec!["name".into(), "name".into()],
        };
        assert_eq!(update_mask(&mut v, Some(&m), &known), [F::Name]);
        let all = FieldMask {
            paths: vec!["*".into()],
        };
        assert_eq!(
            update_mask(&mut v, Some(&all), &known),
            [F::Name, F::Description]
        );
        assert!(v.is_empty());
        let bad = FieldMask {
            paths: vec!["colour".into()],
        };
        update_mask(&mut v, Some(&bad), &known);
        update_mask(&mut v, None, &known);
        assert_eq!(
            v.fields().collect::<Vec<_>>(),
            ["update_mask", "update_mask"]
        );
    }

    #[test]
    fn optional_ids_and_single_lines() {
        let mut v = Violations::new();
        assert_eq!(opt_id(&mut v, "parent_id", ""), None);
        let id = crate::ids::new_id();
        assert_eq!(opt_id(&mut v, "parent_id", &id), Some(id.clone()));
        assert_eq!(single_line(&mut v, "name", "  信息中心 ", 10), "信息中心");
        assert!(v.is_empty());
        opt_id(&mut v, "owner_id", "x");
        single_line(&mut v, "title", "两行\n标题", 10);
        single_line(&mut v, "name", "   ", 10);
        single_line(&mut v, "name", "too long for ten", 10);
        assert_eq!(
            v.fields().collect::<Vec<_>>(),
            ["owner_id", "title", "name", "name"]
        );
    }
}

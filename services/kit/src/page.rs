//! Pagination (AIP-158): `page_size` defaults to 50 and is capped at 500;
//! `page_token` is opaque and bound to the filter it was made for, so a token
//! reused with another filter is refused instead of silently skipping rows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, invalid};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows to return.
    pub size: i64,
    /// The sort key of the last row already returned.
    pub after: Option<String>,
    filter: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    k: String,
    f: String,
}

fn fingerprint(filter: &str) -> String {
    let digest = Sha256::digest(filter.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Page {
    /// Validates `page_size` and `page_token` for a list whose filter is
    /// described by `filter` (any stable rendering of the filter fields).
    pub fn parse(page_size: i32, page_token: &str, filter: &str) -> Result<Self, Error> {
        let size = match i64::from(page_size) {
            n if n < 0 => return Err(invalid("page_size", "must not be negative")),
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let filter = fingerprint(filter);
        let after = if page_token.is_empty() {
            None
        } else {
            let bad = || invalid("page_token", "is not a token returned by this list");
            let bytes = URL_SAFE_NO_PAD.decode(page_token).map_err(|_| bad())?;
            let token: Token = serde_json::from_slice(&bytes).map_err(|_| bad())?;
            if token.f != filter {
                return Err(invalid("page_token", "was made for a different filter"));
            }
            Some(token.k)
        };
        Ok(Self {
            size,
            after,
            filter,
        })
    }

    /// Rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch_limit(&self) -> i64 {
        self.size + 1
    }

    /// Cuts `rows` to the page and returns the token for the next one.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
        let limit = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= limit {
            return (rows, String::new());
        }
        rows.truncate(limit);
        let next = rows.last().map(|last| {
            let token = Token {
                k: key(last),
                f: self.filter.clone(),
            };
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
        });
        (rows, next.unwrap_or_default())
    }
}

/// Renders a keyset position of several keys (`(sort_key, id)`,
/// `(due_ms, id)`, `[rank, key]`) for [`Page::finish`].
pub fn render_cursor(key: &impl Serialize) -> String {
    serde_json::to_string(key).unwrap_or_default()
}

/// Reads a position made by [`render_cursor`] from [`Page::after`]: `None`
/// on the first page; a violation naming `page_token` when it does not
/// have the shape `K`.
pub fn cursor<K: DeserializeOwned>(after: Option<&str>) -> Result<Option<K>, Error> {
    after
        .map(|a| {
            serde_json::from_str(a)
                .map_err(|_| invalid("page_token", "is not a token returned by this list"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_and_binds_the_filter() {
        let p = Page::parse(2, "", "dept=a").unwrap();
        assert_eq!(p.fetch_limit(), 3);
        let (rows, next) = p.finish(vec!["x", "y", "z"], |s| s.to_string());
        assert_eq!(rows, ["x", "y"]);
        let p2 = Page::parse(2, &next, "dept=a").unwrap();
        assert_eq!(p2.after.as_deref(), Some("y"));
        assert!(Page::parse(2, &next, "dept=b").is_err());
        assert!(Page::parse(2, "garbage!", "dept=a").is_err());
        assert!(Page::parse(-1, "", "").is_err());
        assert_eq!(Page::parse(10_000, "", "").unwrap().size, MAX_PAGE_SIZE);
        assert_eq!(Page::parse(0, "", "").unwrap().size, DEFAULT_PAGE_SIZE);
        let (_, last) = p2.finish(vec!["z"], |s| s.to_string());
        assert!(last.is_empty());
    }

    #[test]
    fn multi_key_cursors_round_trip_and_refuse_other_shapes() {
        let c = render_cursor(&("后勤保障处", "id-1"));
        assert_eq!(
            cursor::<(String, String)>(Some(&c)).unwrap(),
            Some(("后勤保障处".to_string(), "id-1".to_string()))
        );
        let c = render_cursor(&(42, "id-1"));
        assert_eq!(
            cursor::<(i64, String)>(Some(&c)).unwrap(),
            Some((42, "id-1".to_string()))
        );
        let c = render_cursor(&["1", "张三"]);
        assert_eq!(
            cursor::<[String; 2]>(Some(&c)).unwrap(),
            Some(["1".to_string(), "张三".to_string()])
        );
        assert!(cursor::<[String; 3]>(Some(&c)).is_err());
        assert!(cursor::<(i64, String)>(Some(&c)).is_err());
        assert!(cursor::<[String; 1]>(Some("nope")).is_err());
        assert_eq!(cursor::<[String; 1]>(None).unwrap(), None);
    }
}

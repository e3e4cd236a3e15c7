//! What every demo step shares: the admin's connection, tokens for the demo
//! organisation's people, deterministic request ids, calls retried through
//! rate limits and brief outages, and the progress bar.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use concord_kit::auth::Issuer;
use concord_kit::clock::Millis;
use concord_kit::period::OrgZone;
use concord_proto::directory::v1::Person;
use concord_proto::policy::v1::Role;
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic_types::StatusExt;

use super::content::Content;
use crate::client::Conn;

/// The demo's shared state.
pub struct Session {
    /// Connection with the token the demo was started with (an admin).
    pub admin: Conn,
    issuer: Issuer,
    people: Mutex<HashMap<String, Conn>>,
    pub content: &'static Content,
    pub lang: &'static str,
    pub zone: OrgZone,
    /// When the demo started.
    pub now: Millis,
    pub progress: ProgressBar,
    created: AtomicU64,
    existing: AtomicU64,
}

impl Session {
    pub fn new(
        admin: Conn,
        issuer: Issuer,
        content: &'static Content,
        lang: &'static str,
        now: Millis,
        progress: ProgressBar,
    ) -> Self {
        Self {
            zone: admin.zone,
            admin,
            issuer,
            people: Mutex::new(HashMap::new()),
            content,
            lang,
            now,
            progress,
            created: AtomicU64::new(0),
            existing: AtomicU64::new(0),
        }
    }

    /// The request id of a create, the same on every run for the same item.
    pub fn rid(&self, parts: &[&str]) -> String {
        let mut h = Sha256::new();
        h.update(b"concord-demo\x1f");
        h.update(self.lang.as_bytes());
        for p in parts {
            h.update(b"\x1f");
            h.update(p.as_bytes());
        }
        let hex: String = h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("demo-{hex}")
    }

    /// A connection acting as `person`, with a development token carrying
    /// their roles and department.
    pub fn as_person(&self, person: &Person) -> anyhow::Result<Conn> {
        let mut cache = self.people.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&person.id) {
            return Ok(c.clone());
        }
        let roles: Vec<Role> = person
            .roles
            .iter()
            .filter_map(|r| Role::try_from(*r).ok())
            .collect();
        let token = self.issuer.issue(
            &person.id,
            &roles,
            Some(&person.department_id),
            Duration::from_secs(4 * 3600),
        )?;
        let conn = self
            .admin
            .signed(token)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        cache.insert(person.id.clone(), conn.clone());
        Ok(conn)
    }

    /// Counts a thing the demo made.
    pub fn made(&self) {
        self.created.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a thing that was already there.
    pub fn found(&self) {
        self.existing.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> (u64, u64) {
        (
            self.created.load(Ordering::Relaxed),
            self.existing.load(Ordering::Relaxed),
        )
    }

    /// Moves the bar on, naming what is being done.
    pub fn step(&self, what: &str) {
        self.progress.set_message(what.to_string());
        self.progress.inc(1);
    }

    /// A message above the bar.
    pub fn note(&self, message: &str) {
        self.progress.suspend(|| eprintln!("{message}"));
    }

    /// Days from the demo's start.
    pub fn days(&self, d: i64) -> Millis {
        self.now + d * 86_400_000
    }

    /// The local time `hour:minute` on the day `days` from today.
    pub fn local_at(&self, days: i64, hour: u32, minute: u32) -> Millis {
        let today = self.zone.date_of(self.now);
        let shift = chrono::Days::new(days.unsigned_abs());
        let date = if days >= 0 {
            today.checked_add_days(shift)
        } else {
            today.checked_sub_days(shift)
        }
        .unwrap_or(today);
        self.zone.start_of(date) + i64::from(hour) * 3_600_000 + i64::from(minute) * 60_000
    }
}

/// Whether a deterministic coin with `percent` chance of heads comes up
/// heads for `seed`.
pub fn chance(seed: &str, percent: u64) -> bool {
    let h = Sha256::digest(seed.as_bytes());
    let n = u64::from_be_bytes(h[..8].try_into().unwrap_or_default());
    n % 100 < percent
}

/// Runs a call again while the gateway asks to slow down or the suite is
/// briefly unavailable.
pub async fn retry<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let mut wait = Duration::from_millis(50);
    let mut attempts = 0;
    loop {
        match call().await {
            Ok(r) => return Ok(r.into_inner()),
            Err(s) if attempts < 40 && transient(&s) => {
                attempts += 1;
                let hinted = s.get_details_retry_info().and_then(|r| r.retry_delay);
                tokio::time::sleep(hinted.unwrap_or(wait)).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(s) => return Err(s),
        }
    }
}

fn transient(s: &tonic::Status) -> bool {
    match s.code() {
        Code::ResourceExhausted | Code::Unavailable => true,
        // The same request id is still being processed.
        Code::Aborted => s.message().contains("being processed"),
        _ => false,
    }
}

/// `call!(client, method, request)`: one retried call, the request cloned
/// for each attempt.
macro_rules! call {
    ($client:expr, $method:ident, $req:expr) => {{
        let client = &$client;
        let req = $req;
        $crate::demo::session::retry(|| {
            let mut c = client.clone();
            let r = req.clone();
            async move { c.$method(r).await }
        })
        .await
    }};
}
pub(crate) use call;

/// Every page of a list: `pages!(client, method, Request { .. }, field)`.
macro_rules! pages {
    ($client:expr, $method:ident, $req:expr, $field:ident) => {{
        let mut req = $req;
        #[allow(clippy::field_reassign_with_default)]
        {
            req.page_size = 500;
        }
        let mut all = Vec::new();
        loop {
            let r = $crate::demo::session::call!($client, $method, req.clone())?;
            all.extend(r.$field);
            if r.next_page_token.is_empty() {
                break;
            }
            req.page_token = r.next_page_token;
        }
        all
    }};
}
pub(crate) use pages;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chance_is_deterministic_and_roughly_fair() {
        let heads = (0..1000).filter(|i| chance(&format!("s{i}"), 70)).count();
        assert!((620..780).contains(&heads), "{heads}");
        assert_eq!(chance("x", 50), chance("x", 50));
        assert!(!chance("x", 0));
        assert!(chance("x", 100));
    }
}

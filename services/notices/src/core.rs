//! What the RPCs and the scheduled actions share: the database, clock, time
//! zone, bus and directory, and the publishing path itself (audience to
//! receipts to inbox events, held during quiet hours).

use concord_kit::announce::Announcer;
use concord_kit::auth::Principal;
use concord_kit::bus::SharedBus;
use concord_kit::clock::{Millis, SharedClock};
use concord_kit::db::Db;
use concord_kit::directory::{DirectoryLink, under};
use concord_kit::period::OrgZone;
use concord_kit::{Error, audit, due, fields};
use concord_proto::directory::v1::ResolveAudienceRequest;
use serde_json::json;
use sqlx::AnyConnection;

use crate::domain::{Audience, EventKind, Notice, NoticeState};
use crate::metrics;
use crate::store::receipt::Recipient;
use crate::store::{inbox, notice as notices, receipt, rules};

/// The bus topic whose messages announce new inbox events.
pub const INBOX_TOPIC: &str = "notices.inbox";

/// Due action kinds.
pub const DUE_PUBLISH: &str = "notice.publish";
pub const DUE_EXPIRE: &str = "notice.expire";
pub const DUE_PUSH: &str = "notice.push";

/// The audit resource name of a notice.
pub fn resource(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

/// The actor of something the service does by itself on someone's behalf.
pub fn on_behalf_of(subject: &str) -> Principal {
    Principal {
        subject: subject.to_string(),
        department_id: None,
        roles: Vec::new(),
        expires_at: 0,
    }
}

#[derive(Debug, Clone)]
pub struct Core {
    pub db: Db,
    pub clock: SharedClock,
    pub zone: OrgZone,
    pub bus: SharedBus,
    /// Announces new inbox events on [`INBOX_TOPIC`].
    pub announcer: Announcer,
    pub directory: DirectoryLink,
}

impl Core {
    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    /// The active people `audience` covers, each once; the directory's
    /// complaints about ids are named through `rename`.
    pub async fn resolve(
        &self,
        audience: &Audience,
        rename: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Vec<Recipient>, Error> {
        let request = ResolveAudienceRequest {
            everyone: audience.everyone,
            department_ids: audience.department_ids.clone(),
            include_sub_departments: audience.include_sub_departments,
            person_ids: audience.person_ids.clone(),
        };
        self.directory.resolve(request, rename).await
    }

    /// Appends `kind` events to `people`'s inboxes now, or at the start of
    /// the next push window of the notice's priority (quiet hours) through
    /// the due action `hold` (its subject). Returns whether it was pushed now.
    pub async fn push_or_hold(
        &self,
        conn: &mut AnyConnection,
        n: &Notice,
        kind: EventKind,
        people: &[String],
        hold: &str,
    ) -> Result<bool, Error> {
        let now = self.now();
        let rule = rules::get(conn, n.priority, "").await?;
        let at = rule.push_at(&self.zone, now);
        if at <= now {
            inbox::append(conn, self.db.backend(), kind, &n.id, people, now).await?;
            Ok(true)
        } else {
            due::schedule(conn, DUE_PUSH, hold, at, "").await?;
            Ok(false)
        }
    }

    /// Tells watchers (on every replica) that `people` have new events.
    /// After commit; a lost announcement is covered by the streams' poll.
    pub fn ring(&self, people: &[String]) {
        self.announcer.ring(people.to_vec());
    }

    /// Publishes the draft or scheduled notice `id` now: resolves its
    /// audience through the directory and writes one receipt per recipient,
    /// the inbox events (or their hold) and the expiry in one transaction.
    /// `expected` is the version the caller read; `allow_empty` publishes
    /// even when the audience covers nobody (a scheduled publish whose time
    /// has come).
    #[tracing::instrument(skip_all, fields(notice_id = %id))]
    pub async fn publish_now(
        &self,
        id: &str,
        who: &Principal,
        expected: i64,
        allow_empty: bool,
    ) -> Result<Notice, Error> {
        let current = notices::get(&mut *self.db.pool().acquire().await?, id, "")
            .await?
            .ok_or_else(|| Error::not_found("notice", id))?;
        let recipients = self.resolve(&current.audience, &under("audience")).await?;
        if recipients.is_empty() && !allow_empty {
            return Err(Error::precondition(
                "the notice's audience has no active people",
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut n = notices::get(&mut tx, id, self.db.for_update())
            .await?
            .ok_or_else(|| Error::not_found("notice", id))?;
        if n.state == NoticeState::Published {
            return Ok(n);
        }
        fields::check_etag("notice", Some(expected), n.version)?;
        if !matches!(n.state, NoticeState::Draft | NoticeState::Scheduled) {
            return Err(Error::precondition(format!(
                "a {} notice cannot be published",
                n.state.name()
            )));
        }
        if n.expire_ms.is_some_and(|e| e <= now) {
            return Err(Error::precondition(
                "the notice's expire_time has passed; change it first",
            ));
        }
        receipt::insert_many(&mut tx, &n.id, now, n.ack_required, &recipients).await?;
        let read = n.version;
        n.state = NoticeState::Published;
        n.published_ms = Some(now);
        n.recipient_count = i64::try_from(recipients.len()).unwrap_or(i64::MAX);
        n.version += 1;
        n.updated_ms = now;
        let people: Vec<String> = recipients.iter().map(|r| r.person_id.clone()).collect();
        n.pushed = self
            .push_or_hold(
                &mut tx,
                &n,
                EventKind::Notice,
                &people,
                &format!("notice:{}", n.id),
            )
            .await?;
        due::cancel(&mut tx, DUE_PUBLISH, &n.id).await?;
        if let Some(e) = n.expire_ms {
            due::schedule(&mut tx, DUE_EXPIRE, &n.id, e, "").await?;
        }
        if !notices::update(&mut tx, &n, read).await? {
            return Err(Error::stale_etag("notice"));
        }
        let detail = json!({ "recipients": n.recipient_count, "priority": n.priority.label(), "pushed": n.pushed });
        audit::record(
            &mut tx,
            now,
            who,
            "notice.publish",
            &resource("notices", &n.id),
            detail,
        )
        .await?;
        tx.commit().await?;

        metrics::METRICS
            .published
            .with_label_values(&[n.priority.label()])
            .inc();
        let mut per_department = std::collections::BTreeMap::<&str, u64>::new();
        for r in &recipients {
            *per_department.entry(r.department_id.as_str()).or_default() += 1;
        }
        for (d, count) in per_department {
            metrics::receipts(d, "delivered", count);
        }
        if n.pushed {
            self.ring(&people);
        }
        Ok(n)
    }
}

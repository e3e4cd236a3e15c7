//! The notices' scheduled actions, run by the kit's due worker on whichever
//! replica claims them: scheduled publishing, expiry, and pushes held back
//! by quiet hours. Each checks the state it acts on, so running twice does
//! nothing twice.

use concord_kit::auth::Principal;
use concord_kit::due::{DueAction, DueHandler, Handlers};
use concord_kit::{Error, audit};
use serde_json::json;

use crate::core::{Core, DUE_EXPIRE, DUE_PUBLISH, DUE_PUSH, on_behalf_of, resource};
use crate::domain::{EventKind, NoticeState};
use crate::store::{inbox, notice as notices, receipt};

/// Who the audit trail names for what the service does by itself.
pub const SYSTEM: &str = "concord-notices";

pub fn handlers(core: &Core) -> Handlers {
    Handlers::new()
        .on(DUE_PUBLISH, Publish(core.clone()))
        .on(DUE_EXPIRE, Expire(core.clone()))
        .on(DUE_PUSH, Push(core.clone()))
}

/// Publishes a scheduled notice whose time has come. The payload names who
/// scheduled it.
struct Publish(Core);

#[async_trait::async_trait]
impl DueHandler for Publish {
    #[tracing::instrument(skip_all, fields(notice_id = %action.subject))]
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        let core = &self.0;
        let Some(n) =
            notices::get(&mut *core.db.pool().acquire().await?, &action.subject, "").await?
        else {
            return Ok(());
        };
        if n.state != NoticeState::Scheduled {
            return Ok(());
        }
        match core
            .publish_now(&n.id, &on_behalf_of(&action.payload), n.version, true)
            .await
        {
            Ok(_) => Ok(()),
            // It can no longer be published (its expiry passed, or its
            // audience names departments or people that are gone): back to
            // the author as a draft rather than retried forever.
            Err(Error::FailedPrecondition(why)) => {
                tracing::warn!(notice_id = %n.id, reason = %why, "scheduled notice not published; back to draft");
                unschedule(core, &n.id, &why).await
            }
            Err(Error::Invalid(bad)) => {
                let why = format!(
                    "its audience is no longer valid: {}",
                    bad.fields().collect::<Vec<_>>().join(", ")
                );
                tracing::warn!(notice_id = %n.id, reason = %why, "scheduled notice not published; back to draft");
                unschedule(core, &n.id, &why).await
            }
            // Unavailable directory or a concurrent change: the worker retries.
            Err(e) => Err(e),
        }
    }
}

/// Returns a scheduled notice that cannot be published to draft.
async fn unschedule(core: &Core, id: &str, why: &str) -> Result<(), Error> {
    let now = core.now();
    let mut tx = core.db.begin().await?;
    let Some(mut n) = notices::get(&mut tx, id, core.db.for_update()).await? else {
        return Ok(());
    };
    if n.state != NoticeState::Scheduled {
        return Ok(());
    }
    let read = n.version;
    n.state = NoticeState::Draft;
    n.version += 1;
    n.updated_ms = now;
    notices::update(&mut tx, &n, read).await?;
    let detail = json!({ "reason": why });
    audit::record(
        &mut tx,
        now,
        &Principal::service(SYSTEM),
        "notice.unschedule",
        &resource("notices", &n.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Moves a published notice past its expire time to expired.
struct Expire(Core);

#[async_trait::async_trait]
impl DueHandler for Expire {
    #[tracing::instrument(skip_all, fields(notice_id = %action.subject))]
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        let core = &self.0;
        let now = core.now();
        let mut tx = core.db.begin().await?;
        let Some(mut n) = notices::get(&mut tx, &action.subject, core.db.for_update()).await?
        else {
            return Ok(());
        };
        if n.state != NoticeState::Published || n.expire_ms.is_none_or(|e| e > now) {
            return Ok(());
        }
        let read = n.version;
        n.state = NoticeState::Expired;
        n.version += 1;
        n.updated_ms = now;
        notices::update(&mut tx, &n, read).await?;
        audit::record(
            &mut tx,
            now,
            &Principal::service(SYSTEM),
            "notice.expire",
            &resource("notices", &n.id),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Delivers a push held back by quiet hours: `notice:<id>` for a new
/// notice, `reminder:<id>` for a reminder round.
struct Push(Core);

#[async_trait::async_trait]
impl DueHandler for Push {
    #[tracing::instrument(skip_all, fields(subject = %action.subject))]
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        let core = &self.0;
        let now = core.now();
        let lock = core.db.for_update();
        let mut tx = core.db.begin().await?;
        let people = if let Some(id) = action.subject.strip_prefix("notice:") {
            let Some(mut n) = notices::get(&mut tx, id, lock).await? else {
                return Ok(());
            };
            if n.state != NoticeState::Published || n.pushed {
                return Ok(());
            }
            let people = receipt::recipients(&mut tx, &n.id).await?;
            inbox::append(
                &mut tx,
                core.db.backend(),
                EventKind::Notice,
                &n.id,
                &people,
                now,
            )
            .await?;
            let read = n.version;
            n.pushed = true;
            n.version += 1;
            n.updated_ms = now;
            notices::update(&mut tx, &n, read).await?;
            people
        } else if let Some(id) = action.subject.strip_prefix("reminder:") {
            let Some(r) = receipt::get_reminder(&mut tx, id, lock).await? else {
                return Ok(());
            };
            if r.delivered {
                return Ok(());
            }
            let published = notices::get(&mut tx, &r.notice_id, "")
                .await?
                .is_some_and(|n| n.state == NoticeState::Published);
            let people = if published {
                receipt::reminded(&mut tx, &r.notice_id, &r.id, r.target).await?
            } else {
                Vec::new()
            };
            inbox::append(
                &mut tx,
                core.db.backend(),
                EventKind::Reminder,
                &r.notice_id,
                &people,
                now,
            )
            .await?;
            receipt::reminder_delivered(&mut tx, &r.id).await?;
            people
        } else {
            tracing::warn!(subject = %action.subject, "unknown held push");
            return Ok(());
        };
        tx.commit().await?;
        core.ring(&people);
        Ok(())
    }
}

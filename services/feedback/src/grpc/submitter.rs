//! The submitter's side of the loop: confirm the resolution with a rating,
//! or reopen it; and, for anonymous submitters, the same through the
//! follow-up code (read, reply, confirm, reopen) without a token. Whatever
//! an anonymous submitter does is recorded without a person: the timeline
//! says "submitter", the audit trail says "anonymous".

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::check_id;
use concord_kit::{Error, Violations, invalid};
use concord_proto::feedback::v1 as pb;
use serde_json::json;
use sqlx::{Any, AnyConnection, Transaction};

use super::{ANONYMOUS, Change, Feedback, convert, nobody};
use crate::domain::effects::Actor;
use crate::domain::{Effects, Item, code};
use crate::store::{self, entry};

/// The most public entries a follow-up view carries.
const VIEW_ENTRIES: i64 = 500;

/// The submitter's answer to a resolution.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// Satisfaction 1–5 and an optional comment.
    Confirm(i32, &'a str),
    /// Why it is not solved.
    Reopen(&'a str),
}

/// The answer, validated.
enum Checked {
    Confirm(i64, String),
    Reopen(String),
}

fn check(v: &mut Violations, answer: Answer<'_>) -> Checked {
    match answer {
        Answer::Confirm(s, c) => Checked::Confirm(
            convert::satisfaction(v, s),
            convert::opt_text(v, "comment", c),
        ),
        Answer::Reopen(c) => Checked::Reopen(convert::text(v, "comment", c)),
    }
}

/// Applies the answer to the locked item.
async fn apply(
    tx: &mut AnyConnection,
    item: &mut Item,
    actor: &Actor,
    answer: &Checked,
    now: i64,
) -> Result<(Effects, &'static str, serde_json::Value), Error> {
    Ok(match answer {
        Checked::Confirm(satisfaction, comment) => (
            item.confirm(actor, *satisfaction, comment, now)?,
            "feedback.confirm",
            json!({ "satisfaction": satisfaction }),
        ),
        Checked::Reopen(comment) => {
            let policy = store::sla::applicable(tx, item.category, item.priority).await?;
            (
                item.reopen(actor, comment, &policy, now)?,
                "feedback.reopen",
                json!({ "comment": comment }),
            )
        }
    })
}

/// ConfirmResolution and ReopenFeedback by the signed-in submitter.
pub async fn answer(
    svc: &Feedback,
    who: &Principal,
    id: &str,
    answer: Answer<'_>,
) -> Result<pb::FeedbackItem, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", id);
    let answer = check(&mut v, answer);
    v.into_result()?;
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    let mut item = svc.locked(&mut tx, id).await?;
    let standing = svc.standing(who, &item).await?;
    standing.require(
        id,
        standing.submitter,
        "only the submitter confirms or reopens a resolution",
    )?;
    let before = item.clone();
    let actor = Actor::Submitter(Some(who.subject.clone()));
    let (effects, action, detail) = apply(&mut tx, &mut item, &actor, &answer, now).await?;
    let change = Change {
        before,
        effects,
        action,
        detail,
    };
    svc.commit(tx, who, &mut item, change).await?;
    Ok(convert::item(&item, now))
}

/// The hash of a follow-up code as typed, or INVALID_ARGUMENT.
fn code_hash(v: &mut Violations, input: &str) -> String {
    match code::normalize(input) {
        Some(n) => code::hash(&n),
        None => {
            v.add(
                "follow_up_code",
                if input.trim().is_empty() {
                    "is required"
                } else {
                    "is not a follow-up code"
                },
            );
            String::new()
        }
    }
}

fn unknown_code() -> Error {
    Error::not_found("feedback item", "with this follow-up code")
}

async fn by_code(
    svc: &Feedback,
    tx: &mut Transaction<'static, Any>,
    hash: &str,
) -> Result<Item, Error> {
    store::item::by_code(tx, hash, svc.db.for_update())
        .await?
        .ok_or_else(unknown_code)
}

async fn view(
    svc: &Feedback,
    conn: &mut AnyConnection,
    item: &Item,
) -> Result<pb::FollowUpView, Error> {
    let entries = entry::latest_public(conn, &item.id, VIEW_ENTRIES).await?;
    Ok(pb::FollowUpView {
        item: Some(convert::item(item, svc.now())),
        entries: entries.iter().map(convert::entry).collect(),
    })
}

pub async fn view_by_code(svc: &Feedback, input: &str) -> Result<pb::FollowUpView, Error> {
    let mut v = Violations::new();
    let hash = code_hash(&mut v, input);
    v.into_result()?;
    let mut conn = svc.db.pool().acquire().await?;
    let item = store::item::by_code(&mut conn, &hash, "")
        .await?
        .ok_or_else(unknown_code)?;
    view(svc, &mut conn, &item).await
}

pub async fn reply_by_code(
    svc: &Feedback,
    req: &pb::ReplyByCodeRequest,
) -> Result<pb::TimelineEntry, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    let hash = code_hash(&mut v, &req.follow_up_code);
    let text = convert::text(&mut v, "text", &req.text);
    v.into_result()?;
    let anonymous = nobody(ANONYMOUS);
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    let mut item = by_code(svc, &mut tx, &hash).await?;
    let key = Key::new("ReplyByCode", &format!("item:{}", item.id), &req.request_id);
    if let Some(done) = replay::<pb::TimelineEntry>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let before = item.clone();
    let effects = item.comment(&Actor::Submitter(None), &text, true, now)?;
    let change = Change {
        before,
        effects,
        action: "feedback.reply",
        detail: json!({ "public": true }),
    };
    let entries = svc.write(&mut tx, &anonymous, &mut item, &change).await?;
    let out = entries
        .first()
        .map(convert::entry)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a reply wrote no entry")))?;
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    svc.after_commit(&change.before, &item, &change.effects)
        .await;
    Ok(out)
}

pub async fn answer_by_code(
    svc: &Feedback,
    input: &str,
    answer: Answer<'_>,
) -> Result<pb::FollowUpView, Error> {
    let mut v = Violations::new();
    let hash = code_hash(&mut v, input);
    let answer = check(&mut v, answer);
    v.into_result()?;
    let anonymous = nobody(ANONYMOUS);
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    let mut item = by_code(svc, &mut tx, &hash).await?;
    if !item.anonymous {
        return Err(invalid("follow_up_code", "belongs to no anonymous item"));
    }
    let before = item.clone();
    let (effects, action, detail) =
        apply(&mut tx, &mut item, &Actor::Submitter(None), &answer, now).await?;
    let change = Change {
        before,
        effects,
        action,
        detail,
    };
    svc.commit(tx, &anonymous, &mut item, change).await?;
    let mut conn = svc.db.pool().acquire().await?;
    view(svc, &mut conn, &item).await
}

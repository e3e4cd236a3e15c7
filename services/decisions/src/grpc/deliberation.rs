//! Deliberation: comments with a stance, and replies that answer objections.

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, invalid};
use concord_proto::decisions::v1 as pb;
use serde_json::json;

use super::proposals::visible;
use super::{convert, requests};
use crate::domain::Comment;
use crate::domain::access::{may_move, may_see};
use crate::service::{Decisions, proposal_resource};
use crate::store;

pub async fn create(
    s: &Decisions,
    who: &Principal,
    req: &pb::CreateCommentRequest,
) -> Result<pb::Comment, Error> {
    let new = requests::new_comment(req)?;
    let now = s.now();
    let key = Key::new("CreateComment", &who.subject, &req.request_id);
    let mut tx = s.db.begin().await?;
    if let Some(done) = replay::<pb::Comment>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    // The proposal's row is held so that opening the vote sees every
    // objection committed before it.
    let p = store::proposal::get(&mut tx, &new.proposal_id, s.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("proposal", &new.proposal_id))?;
    if !may_see(who, &p) {
        return Err(Error::denied("drafts are not open for comments"));
    }
    if !p.stage.is_deliberating() {
        return Err(Error::precondition(format!(
            "comments are open during consultation and voting; the proposal is in stage {}",
            p.stage.as_str()
        )));
    }
    let parent = match &new.parent_id {
        Some(id) => Some(
            store::comment::get(&mut tx, id)
                .await?
                .filter(|c| c.proposal_id == p.id)
                .ok_or_else(|| invalid("parent_id", "names no comment of this proposal"))?,
        ),
        None => None,
    };
    let c = Comment {
        id: new_id(),
        proposal_id: p.id.clone(),
        parent_id: new.parent_id.clone(),
        author_id: who.subject.clone(),
        author_department_id: who.department_id.clone().unwrap_or_default(),
        stance: new.stance,
        body: new.body,
        created_ms: now,
        answered: false,
    };
    store::comment::insert(&mut tx, &c).await?;
    let answers = parent
        .as_ref()
        .filter(|parent| parent.answered_by(may_move(who, &p), &who.subject));
    if let Some(objection) = answers {
        store::comment::mark_answered(&mut tx, &objection.id).await?;
    }
    let detail = json!({
        "comment_id": c.id,
        "parent_id": c.parent_id,
        "stance": c.stance.as_str(),
        "body": c.body,
        "answers_objection": answers.map(|o| o.id.clone()),
    });
    audit::record(
        &mut tx,
        now,
        who,
        "comment.create",
        &proposal_resource(&p.id),
        detail,
    )
    .await?;
    let out = convert::comment(&c);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn list(
    s: &Decisions,
    who: &Principal,
    req: &pb::ListCommentsRequest,
) -> Result<pb::ListCommentsResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "proposal_id", &req.proposal_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("comments|{}", req.proposal_id),
    )?;
    let p = visible(s, who, &req.proposal_id).await?;
    let rows = store::comment::list(
        &mut *s.conn().await?,
        &p.id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |c| c.id.clone());
    Ok(pb::ListCommentsResponse {
        comments: rows.iter().map(convert::comment).collect(),
        next_page_token,
    })
}

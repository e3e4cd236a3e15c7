//! Feedback to the appraised and commendations.

use concord_kit::auth::Principal;
use concord_kit::fields::{self, check_etag, etag};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_id, check_opt_text, check_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, invalid};
use concord_proto::appraisal::v1 as pb;
use serde_json::json;

use super::convert;
use crate::domain::access::{ensure_may_judge, ensure_may_see, is_appraised};
use crate::domain::recognition::{AppraisalFeedback, Commendation};
use crate::domain::{
    ACTIONS_MAX, DESCRIPTION_MAX, FEEDBACK_MAX, NAME_MAX, Stage, Subject, SubjectKind,
};
use crate::service::{Appraisal, resource};
use crate::store;
use crate::store::recognition::CommendationFilter;

const FEEDBACK: &str = "appraisal feedback";

pub async fn set_feedback(
    app: &Appraisal,
    who: &Principal,
    req: &pb::SetAppraisalFeedbackRequest,
) -> Result<pb::AppraisalFeedback, Error> {
    let Some(f) = req.feedback.as_ref() else {
        return Err(invalid("feedback", "is required"));
    };
    let mut v = Violations::new();
    check_id(&mut v, "feedback.cycle_id", &f.cycle_id);
    check_id(&mut v, "feedback.subject_id", &f.subject_id);
    check_opt_text(&mut v, "feedback.strengths", &f.strengths, FEEDBACK_MAX);
    check_opt_text(
        &mut v,
        "feedback.improvements",
        &f.improvements,
        FEEDBACK_MAX,
    );
    if f.agreed_actions.len() > ACTIONS_MAX {
        v.add(
            "feedback.agreed_actions",
            format!("at most {ACTIONS_MAX} actions are allowed"),
        );
    }
    for (i, a) in f.agreed_actions.iter().enumerate() {
        check_text(
            &mut v,
            &format!("feedback.agreed_actions[{i}]"),
            a,
            DESCRIPTION_MAX,
        );
    }
    if f.strengths.trim().is_empty()
        && f.improvements.trim().is_empty()
        && f.agreed_actions.is_empty()
    {
        v.add(
            "feedback",
            "write strengths, improvements or agreed actions",
        );
    }
    let expected = etag(&mut v, "feedback.etag", &f.etag);
    v.into_result()?;
    let cycle = app.cycle(&f.cycle_id).await?;
    let subject = app.subject(&cycle, &f.subject_id).await?;
    let reach = app.reach(who).await?;
    ensure_may_judge(
        who,
        &reach,
        cycle.owner_department_id.as_deref(),
        cycle.subject_kind,
        &subject,
    )?;
    const ALLOWED: [Stage; 2] = [Stage::Calibration, Stage::Published];
    cycle.expect_stage(&ALLOWED, "writing feedback")?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let locked = store::cycle::get(&mut tx, &cycle.id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("cycle", &cycle.id))?;
    locked.expect_stage(&ALLOWED, "writing feedback")?;
    let old =
        store::recognition::feedback(&mut tx, &cycle.id, &subject.id, app.db.for_update()).await?;
    if let Some(o) = &old {
        check_etag(FEEDBACK, expected, o.version)?;
    } else if expected.is_some() {
        return Err(Error::stale_etag(FEEDBACK));
    }
    let new = AppraisalFeedback {
        cycle_id: cycle.id.clone(),
        subject_id: subject.id.clone(),
        strengths: f.strengths.clone(),
        improvements: f.improvements.clone(),
        agreed_actions: f.agreed_actions.clone(),
        author_id: who.subject.clone(),
        created_ms: old.as_ref().map_or(now, |o| o.created_ms),
        updated_ms: now,
        acknowledged_ms: None,
        acknowledged_by: String::new(),
        response: String::new(),
        version: old.as_ref().map_or(1, |o| o.version + 1),
    };
    if !store::recognition::put_feedback(&mut tx, &new, old.as_ref().map(|o| o.version)).await? {
        return Err(Error::stale_etag(FEEDBACK));
    }
    let detail = json!({ "subject_id": subject.id, "version": new.version, "agreed_actions": new.agreed_actions.len() });
    audit::record(
        &mut tx,
        now,
        who,
        "feedback.set",
        &resource("cycles", &cycle.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::feedback(&new))
}

pub async fn get_feedback(
    app: &Appraisal,
    who: &Principal,
    req: &pb::GetAppraisalFeedbackRequest,
) -> Result<pb::AppraisalFeedback, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    check_id(&mut v, "subject_id", &req.subject_id);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let subject = app.subject(&cycle, &req.subject_id).await?;
    let reach = app.reach(who).await?;
    ensure_may_see(who, &reach, cycle.subject_kind, &subject, cycle.stage)?;
    store::recognition::feedback(&mut *app.conn().await?, &cycle.id, &subject.id, "")
        .await?
        .map(|f| convert::feedback(&f))
        .ok_or_else(|| Error::not_found(FEEDBACK, &subject.id))
}

pub async fn acknowledge(
    app: &Appraisal,
    who: &Principal,
    req: &pb::AcknowledgeAppraisalFeedbackRequest,
) -> Result<pb::AppraisalFeedback, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    check_id(&mut v, "subject_id", &req.subject_id);
    check_opt_text(&mut v, "response", &req.response, DESCRIPTION_MAX);
    let expected = etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let subject = app.subject(&cycle, &req.subject_id).await?;
    if !is_appraised(who, cycle.subject_kind, &subject) {
        return Err(Error::denied(
            "only the appraised acknowledge their feedback",
        ));
    }
    cycle.expect_stage(&[Stage::Published], "acknowledging feedback")?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut f = store::recognition::feedback(&mut tx, &cycle.id, &subject.id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found(FEEDBACK, &subject.id))?;
    check_etag(FEEDBACK, expected, f.version)?;
    let read = f.version;
    f.acknowledged_ms = Some(now);
    f.acknowledged_by = who.subject.clone();
    f.response = req.response.clone();
    f.version += 1;
    if !store::recognition::put_feedback(&mut tx, &f, Some(read)).await? {
        return Err(Error::stale_etag(FEEDBACK));
    }
    let detail = json!({ "subject_id": subject.id, "response": !f.response.is_empty() });
    audit::record(
        &mut tx,
        now,
        who,
        "feedback.acknowledge",
        &resource("cycles", &cycle.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::feedback(&f))
}

/// The commended subject as the directory knows it.
async fn commended(app: &Appraisal, kind: SubjectKind, id: &str) -> Result<Subject, Error> {
    let ids = [id.to_string()];
    let found = match kind {
        SubjectKind::Department => app.org.departments("subject_id", &ids).await,
        SubjectKind::Person => app.org.people("subject_id", &ids).await,
    };
    match found {
        Ok(mut s) if !s.is_empty() => Ok(s.remove(0)),
        Ok(_) => Err(invalid("subject_id", "names nobody")),
        // The directory's field is `subject_id[0]`; ours is `subject_id`.
        Err(Error::Invalid(_)) => Err(invalid(
            "subject_id",
            match kind {
                SubjectKind::Department => "names no department",
                SubjectKind::Person => "is not an active person",
            },
        )),
        Err(e) => Err(e),
    }
}

pub async fn commend(
    app: &Appraisal,
    who: &Principal,
    req: &pb::CreateCommendationRequest,
) -> Result<pb::Commendation, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    let kind = convert::parse_subject_kind(&mut v, "subject_kind", req.subject_kind);
    check_id(&mut v, "subject_id", &req.subject_id);
    check_opt_id(&mut v, "cycle_id", &req.cycle_id);
    check_text(&mut v, "title", &req.title, NAME_MAX);
    check_opt_text(&mut v, "citation", &req.citation, DESCRIPTION_MAX);
    v.into_result()?;
    let kind = kind.ok_or_else(|| invalid("subject_kind", "is required"))?;
    let subject = commended(app, kind, &req.subject_id).await?;
    let reach = app.reach(who).await?;
    if is_appraised(who, kind, &subject) && !who.is_admin() {
        return Err(Error::denied("nobody commends themselves"));
    }
    if !reach.covers(&subject.department_id) {
        return Err(Error::denied(
            "heads commend the departments and people of their own subtree",
        ));
    }
    let cycle_id = if req.cycle_id.is_empty() {
        None
    } else {
        let cycle = store::cycle::get(&mut *app.conn().await?, &req.cycle_id, "")
            .await?
            .ok_or_else(|| invalid("cycle_id", "names no cycle"))?;
        if cycle.subject_kind != kind || app.subject(&cycle, &subject.id).await.is_err() {
            return Err(invalid(
                "cycle_id",
                "did not appraise the commended subject",
            ));
        }
        cycle.expect_stage(&[Stage::Published], "commending for a cycle")?;
        Some(cycle.id)
    };
    let key = Key::new("CreateCommendation", &who.subject, &req.request_id);
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if let Some(done) = replay::<pb::Commendation>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let c = Commendation {
        id: new_id(),
        subject_kind: kind,
        subject_id: subject.id.clone(),
        department_id: subject.department_id.clone(),
        display_name: subject.display_name.clone(),
        cycle_id,
        title: req.title.clone(),
        citation: req.citation.clone(),
        awarded_by: who.subject.clone(),
        created_ms: now,
    };
    store::recognition::insert_commendation(&mut tx, &c).await?;
    let detail = json!({ "subject_kind": kind.as_str(), "subject_id": c.subject_id, "cycle_id": c.cycle_id, "title": c.title });
    audit::record(
        &mut tx,
        now,
        who,
        "commendation.create",
        &resource("commendations", &c.id),
        detail,
    )
    .await?;
    let out = convert::commendation(&c);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn commendation(
    app: &Appraisal,
    req: &pb::GetCommendationRequest,
) -> Result<pb::Commendation, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    store::recognition::commendation(&mut *app.conn().await?, &req.id)
        .await?
        .map(|c| convert::commendation(&c))
        .ok_or_else(|| Error::not_found("commendation", &req.id))
}

pub async fn commendations(
    app: &Appraisal,
    req: &pb::ListCommendationsRequest,
) -> Result<pb::ListCommendationsResponse, Error> {
    let mut v = Violations::new();
    check_opt_id(&mut v, "subject_id", &req.subject_id);
    check_opt_id(&mut v, "department_id", &req.department_id);
    check_opt_id(&mut v, "cycle_id", &req.cycle_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!(
            "commendations|{}|{}|{}",
            req.subject_id, req.department_id, req.cycle_id
        ),
    )?;
    let filter = CommendationFilter {
        subject_id: req.subject_id.clone(),
        department_id: req.department_id.clone(),
        cycle_id: req.cycle_id.clone(),
    };
    let rows = store::recognition::commendations(
        &mut *app.conn().await?,
        &filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |c| c.id.clone());
    Ok(pb::ListCommendationsResponse {
        commendations: rows.iter().map(convert::commendation).collect(),
        next_page_token,
    })
}

//! Reviewers and their scores: assignments, manual scores with comments,
//! self-assessments, and the list of scores each caller may see.

use std::collections::HashMap;

use concord_kit::auth::Principal;
use concord_kit::ids::{check_id, check_opt_id, check_opt_text, check_text};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, invalid};
use concord_proto::appraisal::v1 as pb;
use serde_json::json;

use super::convert;
use super::cycles::ensure_manager;
use crate::domain::access::{is_appraised, manages_cycle, may_see, sees_all};
use crate::domain::{Cycle, DESCRIPTION_MAX, Indicator, Score, Stage, Subject, SubjectKind};
use crate::service::{Appraisal, resource};
use crate::store;
use crate::store::cycle::Assignment;

/// A cursor kept in a page token as JSON.
fn parse_cursor<T: serde::de::DeserializeOwned>(after: Option<&str>) -> Result<Option<T>, Error> {
    after
        .map(|a| {
            serde_json::from_str(a)
                .map_err(|_| invalid("page_token", "is not a token returned by this list"))
        })
        .transpose()
}

fn assignment(a: &Assignment, to_score: usize) -> pb::ReviewAssignment {
    pb::ReviewAssignment {
        cycle_id: a.cycle_id.clone(),
        subject_id: a.subject_id.clone(),
        reviewer_id: a.reviewer_id.clone(),
        assigned_by: a.assigned_by.clone(),
        assign_time: Some(concord_kit::clock::to_timestamp(a.assigned_ms)),
        scored: i32::try_from(a.scored).unwrap_or(i32::MAX),
        to_score: i32::try_from(to_score).unwrap_or(i32::MAX),
    }
}

fn check_ids(v: &mut Violations, cycle_id: &str, subject_id: &str) {
    check_id(v, "cycle_id", cycle_id);
    check_id(v, "subject_id", subject_id);
}

pub async fn assign(
    app: &Appraisal,
    who: &Principal,
    req: &pb::AssignReviewerRequest,
) -> Result<pb::ReviewAssignment, Error> {
    let mut v = Violations::new();
    check_ids(&mut v, &req.cycle_id, &req.subject_id);
    check_id(&mut v, "reviewer_id", &req.reviewer_id);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    ensure_manager(app, who, &cycle).await?;
    let subject = app.subject(&cycle, &req.subject_id).await?;
    const ALLOWED: [Stage; 2] = [Stage::Open, Stage::Scoring];
    cycle.expect_stage(&ALLOWED, "assigning reviewers")?;
    let reviewer = app
        .org
        .person(&req.reviewer_id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| invalid("reviewer_id", "is not an active person"))?;
    let own = match cycle.subject_kind {
        SubjectKind::Person => reviewer.id == subject.id,
        SubjectKind::Department => {
            reviewer.heads_department && reviewer.department_id == subject.id
        }
    };
    if own {
        return Err(invalid(
            "reviewer_id",
            "is the appraised; the appraised assess themselves instead",
        ));
    }
    let indicators = app.indicators(&cycle).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let locked = store::cycle::get(&mut tx, &cycle.id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("cycle", &cycle.id))?;
    locked.expect_stage(&ALLOWED, "assigning reviewers")?;
    let a = Assignment {
        cycle_id: cycle.id.clone(),
        subject_id: subject.id.clone(),
        reviewer_id: reviewer.id.clone(),
        assigned_by: who.subject.clone(),
        assigned_ms: now,
        scored: 0,
        position: subject.position,
    };
    if store::cycle::assign(&mut tx, &a).await? {
        let detail = json!({ "subject_id": a.subject_id, "reviewer_id": a.reviewer_id });
        audit::record(
            &mut tx,
            now,
            who,
            "reviewer.assign",
            &resource("cycles", &cycle.id),
            detail,
        )
        .await?;
    }
    let stored = store::cycle::assignments(
        &mut tx,
        &cycle.id,
        Some(&reviewer.id),
        Some(&subject.id),
        None,
        1,
    )
    .await?;
    tx.commit().await?;
    let stored = stored.first().unwrap_or(&a);
    Ok(assignment(stored, manual_count(&indicators)))
}

fn manual_count(indicators: &[Indicator]) -> usize {
    indicators.iter().filter(|i| i.is_manual()).count()
}

pub async fn remove(
    app: &Appraisal,
    who: &Principal,
    req: &pb::RemoveReviewerRequest,
) -> Result<(), Error> {
    let mut v = Violations::new();
    check_ids(&mut v, &req.cycle_id, &req.subject_id);
    check_id(&mut v, "reviewer_id", &req.reviewer_id);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    ensure_manager(app, who, &cycle).await?;
    let subject = app.subject(&cycle, &req.subject_id).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let locked = store::cycle::get(&mut tx, &cycle.id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("cycle", &cycle.id))?;
    locked.expect_stage(&[Stage::Open, Stage::Scoring], "removing reviewers")?;
    if !store::cycle::unassign(&mut tx, &cycle.id, &subject.id, &req.reviewer_id).await? {
        return Err(Error::not_found("review assignment", &req.reviewer_id));
    }
    let detail = json!({ "subject_id": subject.id, "reviewer_id": req.reviewer_id });
    audit::record(
        &mut tx,
        now,
        who,
        "reviewer.remove",
        &resource("cycles", &cycle.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn assignments(
    app: &Appraisal,
    who: &Principal,
    req: &pb::ListReviewAssignmentsRequest,
) -> Result<pb::ListReviewAssignmentsResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    check_opt_id(&mut v, "reviewer_id", &req.reviewer_id);
    check_opt_id(&mut v, "subject_id", &req.subject_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let mut reviewer = req.reviewer_id.clone();
    if reviewer != who.subject && !sees_all(who) {
        let reach = app.reach(who).await?;
        if !manages_cycle(who, &reach, cycle.owner_department_id.as_deref()) {
            if !reviewer.is_empty() {
                return Err(Error::denied(
                    "only the cycle's managers list other reviewers' assignments",
                ));
            }
            reviewer = who.subject.clone();
        }
    }
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("assignments|{}|{}|{}", cycle.id, reviewer, req.subject_id),
    )?;
    let after: Option<(i64, String)> = parse_cursor(page.after.as_deref())?;
    let indicators = app.indicators(&cycle).await?;
    let rows = store::cycle::assignments(
        &mut *app.conn().await?,
        &cycle.id,
        (!reviewer.is_empty()).then_some(reviewer.as_str()),
        (!req.subject_id.is_empty()).then_some(req.subject_id.as_str()),
        after.as_ref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) =
        page.finish(rows, |a| json!([a.position, a.reviewer_id]).to_string());
    let n = manual_count(&indicators);
    Ok(pb::ListReviewAssignmentsResponse {
        assignments: rows.iter().map(|a| assignment(a, n)).collect(),
        next_page_token,
    })
}

/// Checks a score's request fields.
fn check_score(
    v: &mut Violations,
    cycle_id: &str,
    subject_id: &str,
    code: &str,
    value: f64,
    comment: &str,
    comment_required: bool,
) {
    check_ids(v, cycle_id, subject_id);
    v.check(code.is_empty(), "indicator_code", "is required");
    v.check(!value.is_finite(), "value", "must be a finite number");
    if comment_required {
        check_text(v, "comment", comment, DESCRIPTION_MAX);
    } else {
        check_opt_text(v, "comment", comment, DESCRIPTION_MAX);
    }
}

/// The manual indicator `code` of the cycle, with the value checked against
/// its rule.
async fn manual_indicator(
    app: &Appraisal,
    cycle: &Cycle,
    code: &str,
    value: f64,
) -> Result<Indicator, Error> {
    let ind = app
        .indicators(cycle)
        .await?
        .into_iter()
        .find(|i| i.code == code)
        .ok_or_else(|| {
            invalid(
                "indicator_code",
                "is not an indicator of the cycle's set version",
            )
        })?;
    if !ind.is_manual() {
        return Err(invalid(
            "indicator_code",
            "is collected automatically; only manual indicators are scored",
        ));
    }
    let mut v = Violations::new();
    ind.check_value(&mut v, "value", value);
    v.into_result()?;
    Ok(ind)
}

/// Writes a score in SCORING, in one transaction with its audit entry.
async fn write(
    app: &Appraisal,
    who: &Principal,
    score: Score,
    action: &str,
) -> Result<pb::Score, Error> {
    let mut tx = app.db.begin().await?;
    let locked = store::cycle::get(&mut tx, &score.cycle_id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("cycle", &score.cycle_id))?;
    locked.expect_stage(&[Stage::Scoring], "scoring")?;
    let stored = store::score::upsert(&mut tx, &score).await?;
    let detail = json!({ "subject_id": stored.subject_id, "indicator_code": stored.code, "value": stored.value });
    audit::record(
        &mut tx,
        score.updated_ms,
        who,
        action,
        &resource("cycles", &score.cycle_id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::score(&stored))
}

pub async fn submit(
    app: &Appraisal,
    who: &Principal,
    req: &pb::SubmitScoreRequest,
) -> Result<pb::Score, Error> {
    let mut v = Violations::new();
    check_score(
        &mut v,
        &req.cycle_id,
        &req.subject_id,
        &req.indicator_code,
        req.value,
        &req.comment,
        true,
    );
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let subject = app.subject(&cycle, &req.subject_id).await?;
    if !store::cycle::is_reviewer(
        &mut *app.conn().await?,
        &cycle.id,
        &subject.id,
        &who.subject,
    )
    .await?
    {
        return Err(Error::denied(
            "only the subject's assigned reviewers score it",
        ));
    }
    cycle.expect_stage(&[Stage::Scoring], "scoring")?;
    manual_indicator(app, &cycle, &req.indicator_code, req.value).await?;
    let now = app.now();
    let score = Score {
        cycle_id: cycle.id.clone(),
        subject_id: subject.id.clone(),
        code: req.indicator_code.clone(),
        author_id: who.subject.clone(),
        self_assessment: false,
        value: req.value,
        comment: req.comment.clone(),
        created_ms: now,
        updated_ms: now,
    };
    write(app, who, score, "score.submit").await
}

pub async fn submit_self(
    app: &Appraisal,
    who: &Principal,
    req: &pb::SubmitSelfAssessmentRequest,
) -> Result<pb::Score, Error> {
    let mut v = Violations::new();
    check_score(
        &mut v,
        &req.cycle_id,
        &req.subject_id,
        &req.indicator_code,
        req.value,
        &req.comment,
        false,
    );
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let subject = app.subject(&cycle, &req.subject_id).await?;
    if !is_appraised(who, cycle.subject_kind, &subject) {
        return Err(Error::denied("only the appraised assess themselves"));
    }
    if !cycle.self_assessment {
        return Err(Error::precondition(
            "this cycle does not ask for self-assessment",
        ));
    }
    cycle.expect_stage(&[Stage::Scoring], "self-assessment")?;
    manual_indicator(app, &cycle, &req.indicator_code, req.value).await?;
    let now = app.now();
    let score = Score {
        cycle_id: cycle.id.clone(),
        subject_id: subject.id.clone(),
        code: req.indicator_code.clone(),
        author_id: who.subject.clone(),
        self_assessment: true,
        value: req.value,
        comment: req.comment.clone(),
        created_ms: now,
        updated_ms: now,
    };
    write(app, who, score, "score.self_assess").await
}

/// Which subjects of `cycle` the caller may see the results of.
pub async fn visible_subjects(
    app: &Appraisal,
    who: &Principal,
    cycle: &Cycle,
) -> Result<HashMap<String, bool>, Error> {
    let reach = app.reach(who).await?;
    let subjects: Vec<Subject> =
        store::cycle::all_subjects(&mut *app.conn().await?, &cycle.id).await?;
    Ok(subjects
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                may_see(who, &reach, cycle.subject_kind, s, cycle.stage),
            )
        })
        .collect())
}

pub async fn scores(
    app: &Appraisal,
    who: &Principal,
    req: &pb::ListScoresRequest,
) -> Result<pb::ListScoresResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    check_opt_id(&mut v, "subject_id", &req.subject_id);
    check_opt_id(&mut v, "reviewer_id", &req.reviewer_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("scores|{}|{}|{}", cycle.id, req.subject_id, req.reviewer_id),
    )?;
    let after: Option<store::score::ScoreCursor> = parse_cursor(page.after.as_deref())?;
    let subject = (!req.subject_id.is_empty()).then_some(req.subject_id.as_str());
    let reviewer = (!req.reviewer_id.is_empty()).then_some(req.reviewer_id.as_str());
    let rows = if sees_all(who) {
        let mut conn = app.conn().await?;
        store::score::list(
            &mut conn,
            &cycle.id,
            subject,
            reviewer,
            after.as_ref(),
            page.fetch_limit(),
        )
        .await?
    } else {
        // Filtered by what the caller may see; a cycle's scores are bounded
        // by its subjects, indicators and reviewers.
        let visible = visible_subjects(app, who, &cycle).await?;
        let mut conn = app.conn().await?;
        store::score::list(
            &mut conn,
            &cycle.id,
            subject,
            reviewer,
            after.as_ref(),
            i64::MAX,
        )
        .await?
        .into_iter()
        .filter(|(s, _)| s.author_id == who.subject || visible.get(&s.subject_id) == Some(&true))
        .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
        .collect()
    };
    let (rows, next_page_token) = page.finish(rows, |(_, c)| json!(c).to_string());
    Ok(pb::ListScoresResponse {
        scores: rows.iter().map(|(s, _)| convert::score(s)).collect(),
        next_page_token,
    })
}

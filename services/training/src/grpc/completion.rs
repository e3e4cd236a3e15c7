//! Completion with an optional assessment score, and the completion records
//! it issues.

use chrono::Datelike;
use concord_kit::auth::Principal;
use concord_kit::ids::{check_id, check_opt_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit};
use concord_proto::training::v1 as pb;
use serde_json::json;

use super::enrolments::{load_enrolment, render};
use super::plans::load;
use super::{Training, convert, resource};
use crate::domain::enrolment::{Completion, Status, certificate_number, score_centi};
use crate::domain::plan::PlanState;
use crate::metrics;
use crate::store::{attendance, compliance, enrolment as db, plan as plans};

const CERTIFICATE_MAX: usize = 64;

pub async fn complete(
    t: &Training,
    who: &Principal,
    req: &pb::CompleteTrainingRequest,
) -> Result<pb::Enrolment, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_id(&mut v, "enrolment_id", &req.enrolment_id);
    let score = match req.assessment_score.map(score_centi) {
        Some(Ok(s)) => Some(s),
        Some(Err(why)) => {
            v.add("assessment_score", why);
            None
        }
        None => None,
    };
    v.into_result()?;
    let e = load_enrolment(t, &req.enrolment_id).await?;
    let plan = load(t, &e.plan_id).await?;
    t.ensure_planner(who, &plan).await?;
    if plan.state != PlanState::Published {
        return Err(Error::precondition("the training is not running"));
    }
    match e.status {
        Status::Enrolled => {}
        Status::Completed => return Err(Error::precondition("already completed")),
        Status::Waitlisted | Status::Cancelled => {
            return Err(Error::precondition(
                "only a person holding a seat can complete",
            ));
        }
    }

    let mut tx = t.db.begin().await?;
    plans::lock(&t.db, &mut tx, &plan.id).await?;
    let year = t.zone.local(now).year();
    let n = db::next_certificate(&mut tx, year).await?;
    let c = Completion {
        certificate_number: certificate_number(year, n),
        completed_ms: now,
        score_centi: score,
        issued_by: who.subject.clone(),
    };
    if !db::complete(&mut tx, &e.id, &c).await? {
        return Err(Error::precondition(
            "the enrolment changed meanwhile; read it again",
        ));
    }
    let detail = json!({
        "plan_id": plan.id, "person_id": e.person_id,
        "certificate_number": c.certificate_number, "assessment_score": req.assessment_score,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "enrolment.complete",
        &resource("enrolments", &e.id),
        detail,
    )
    .await?;
    let done = db::get(&mut tx, &e.id)
        .await?
        .ok_or_else(|| Error::not_found("enrolment", &e.id))?;
    let out = render(&mut tx, &done, &plan).await?;
    let gauge = compliance::of(&mut tx, &plan.id).await?;
    tx.commit().await?;
    metrics::completed(&done.department_id);
    if let Some(g) = gauge {
        metrics::compliance(&g);
    }
    Ok(out)
}

pub async fn get_record(
    t: &Training,
    who: &Principal,
    req: &pb::GetCompletionRecordRequest,
) -> Result<pb::CompletionRecord, Error> {
    let number = req.certificate_number.trim();
    let mut v = Violations::new();
    if number.is_empty() {
        v.add("certificate_number", "is required");
    } else if number.chars().count() > CERTIFICATE_MAX {
        v.add("certificate_number", "is not a certificate number");
    }
    v.into_result()?;
    let not_found = || Error::not_found("completion record", number);
    let mut conn = t.conn().await?;
    let e = db::by_certificate(&mut conn, number)
        .await?
        .ok_or_else(not_found)?;
    let plan = plans::get(&mut conn, &e.plan_id)
        .await?
        .ok_or_else(not_found)?;
    drop(conn);
    if !t
        .reads_person(who, &e.person_id, Some(&e.department_id))
        .await?
        && !t.plans_for(who, &plan.department_id).await?
    {
        return Err(Error::denied(
            "a completion record is seen by its holder, their heads, the training's planners, admins, auditors and services",
        ));
    }
    let hours = attendance::attended_ms(&mut *t.conn().await?, &plan.id, &e.person_id).await?;
    convert::record(&e, &plan, hours).ok_or_else(not_found)
}

pub async fn list_records(
    t: &Training,
    who: &Principal,
    req: &pb::ListCompletionRecordsRequest,
) -> Result<pb::ListCompletionRecordsResponse, Error> {
    let mut v = Violations::new();
    check_opt_id(&mut v, "person_id", &req.person_id);
    let page = v.absorb(Page::parse(
        req.page_size,
        &req.page_token,
        &format!("records|{}", req.person_id),
    ))?;
    v.into_result()?;
    let page = page.ok_or_else(|| concord_kit::invalid("page_token", "is not valid"))?;
    let person_id = if req.person_id.is_empty() {
        who.subject.as_str()
    } else {
        req.person_id.as_str()
    };
    if !t.reads_person(who, person_id, None).await? {
        return Err(Error::denied(
            "completion records are seen by their holder, their heads, admins, auditors and services",
        ));
    }
    let mut conn = t.conn().await?;
    let rows = db::completions_of(
        &mut conn,
        person_id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |e| {
        let number = e
            .completion
            .as_ref()
            .map(|c| c.certificate_number.as_str())
            .unwrap_or_default();
        crate::store::key_cursor(number)
    });
    let mut records = Vec::with_capacity(rows.len());
    for e in &rows {
        let Some(plan) = plans::get(&mut conn, &e.plan_id).await? else {
            continue;
        };
        let hours = attendance::attended_ms(&mut conn, &plan.id, &e.person_id).await?;
        records.extend(convert::record(e, &plan, hours));
    }
    Ok(pb::ListCompletionRecordsResponse {
        records,
        next_page_token,
    })
}

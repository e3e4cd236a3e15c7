//! Attendance per session.

use std::collections::HashSet;

use concord_kit::auth::Principal;
use concord_kit::ids::{check_id, check_opt_id};
use concord_kit::{Error, Violations, audit};
use concord_proto::training::v1 as pb;
use serde_json::json;

use super::plans::load;
use super::{Training, convert, resource};
use crate::domain::access;
use crate::domain::plan::PlanState;
use crate::metrics;
use crate::store::attendance::{self as db, Mark};
use crate::store::{enrolment, plan as plans};

/// Most marks in one call.
const MARKS_MAX: usize = 2_000;

pub async fn record(
    t: &Training,
    who: &Principal,
    req: &pb::RecordAttendanceRequest,
) -> Result<pb::RecordAttendanceResponse, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_id(&mut v, "plan_id", &req.plan_id);
    check_id(&mut v, "session_id", &req.session_id);
    if req.marks.is_empty() {
        v.add("marks", "at least one mark is required");
    } else if req.marks.len() > MARKS_MAX {
        v.add("marks", format!("at most {MARKS_MAX} marks in one call"));
    }
    let mut seen = HashSet::new();
    for (i, m) in req.marks.iter().enumerate() {
        let field = format!("marks[{i}].person_id");
        check_id(&mut v, &field, &m.person_id);
        if !m.person_id.is_empty() && !seen.insert(m.person_id.as_str()) {
            v.add(field, "appears more than once");
        }
    }
    v.into_result()?;
    let plan = load(t, &req.plan_id).await?;
    t.ensure_planner(who, &plan).await?;
    if plan.state != PlanState::Published {
        return Err(Error::precondition(
            "attendance is recorded only for a published training",
        ));
    }
    let session = plans::session(&mut *t.conn().await?, &plan.id, &req.session_id)
        .await?
        .ok_or_else(|| concord_kit::invalid("session_id", "is not a session of this training"))?;
    if now < session.start_ms {
        return Err(Error::precondition("the session has not started yet"));
    }

    let mut tx = t.db.begin().await?;
    plans::lock(&t.db, &mut tx, &plan.id).await?;
    let mut v = Violations::new();
    let mut marks = Vec::with_capacity(req.marks.len());
    for (i, m) in req.marks.iter().enumerate() {
        match enrolment::of_person(&mut tx, &plan.id, &m.person_id).await? {
            Some(e) if e.status.holds_seat() => marks.push(Mark {
                session_id: session.id.clone(),
                person_id: m.person_id.clone(),
                plan_id: plan.id.clone(),
                department_id: e.department_id,
                present: m.present,
                recorded_by: who.subject.clone(),
                record_ms: now,
            }),
            _ => v.add(
                format!("marks[{i}].person_id"),
                "holds no seat in this training",
            ),
        }
    }
    v.into_result()?;
    let mut newly_present = Vec::new();
    for m in &marks {
        if m.present && !db::was_present(&mut tx, &m.session_id, &m.person_id).await? {
            newly_present.push(m.department_id.clone());
        }
        db::upsert(&mut tx, m).await?;
    }
    let present = marks.iter().filter(|m| m.present).count();
    let detail = json!({
        "session_id": session.id, "present": present, "absent": marks.len() - present,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "attendance.record",
        &resource("plans", &plan.id),
        detail,
    )
    .await?;
    let out = db::list(&mut tx, &plan.id, Some(&session.id)).await?;
    tx.commit().await?;
    for d in &newly_present {
        metrics::attended(d, session.duration_ms());
    }
    Ok(pb::RecordAttendanceResponse {
        attendance: out.iter().map(convert::attendance).collect(),
    })
}

pub async fn list(
    t: &Training,
    who: &Principal,
    req: &pb::ListAttendanceRequest,
) -> Result<pb::ListAttendanceResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "plan_id", &req.plan_id);
    check_opt_id(&mut v, "session_id", &req.session_id);
    v.into_result()?;
    let plan = load(t, &req.plan_id).await?;
    if !access::is_auditor(who) && !t.plans_for(who, &plan.department_id).await? {
        return Err(Error::denied(
            "attendance is seen by those who run the training and auditors",
        ));
    }
    let session = (!req.session_id.is_empty()).then_some(req.session_id.as_str());
    if let Some(s) = session
        && !plan.content.sessions.iter().any(|x| x.id == s)
    {
        return Err(concord_kit::invalid(
            "session_id",
            "is not a session of this training",
        ));
    }
    let rows = db::list(&mut *t.conn().await?, &plan.id, session).await?;
    Ok(pb::ListAttendanceResponse {
        attendance: rows.iter().map(convert::attendance).collect(),
    })
}

//! Cycles: create (pinning the set's current version), read, list, change
//! and move through the stages.

use concord_kit::auth::Principal;
use concord_kit::fields::{self, check_etag, etag, update_mask};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_id, check_opt_text, check_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, due, invalid};
use concord_proto::appraisal::v1 as pb;
use serde_json::json;

use super::convert;
use crate::domain::access::{Reach, ensure_manages_cycle};
use crate::domain::{
    Cycle, DESCRIPTION_MAX, NAME_MAX, SUBJECTS_MAX, Schedule, Stage, Subject, SubjectKind,
};
use crate::flow::{self, SCORING_DEADLINE, SCORING_START};
use crate::service::{Appraisal, resource};
use crate::store;

const KIND: &str = "cycle";

/// The owner department: as asked, or a head's own department.
fn owner_of(who: &Principal, asked: &str) -> Option<String> {
    if !asked.is_empty() {
        Some(asked.to_string())
    } else if who.is_admin() {
        None
    } else {
        who.department_id.clone()
    }
}

/// Checks the subjects exist and lie within the owner department.
async fn subjects(
    app: &Appraisal,
    kind: SubjectKind,
    ids: &[String],
    owner: Option<&str>,
) -> Result<Vec<Subject>, Error> {
    let subjects = match kind {
        SubjectKind::Department => app.org.departments("subject_ids", ids).await?,
        SubjectKind::Person => app.org.people("subject_ids", ids).await?,
    };
    if let Some(owner) = owner {
        let within = app.org.subtree(owner).await?.unwrap_or_default();
        let mut v = Violations::new();
        for (i, s) in subjects.iter().enumerate() {
            if !within.contains(&s.department_id) {
                v.add(
                    format!("subject_ids[{i}]"),
                    "lies outside the owner department",
                );
            }
        }
        v.into_result()?;
    }
    Ok(subjects)
}

pub async fn create(
    app: &Appraisal,
    who: &Principal,
    req: &pb::CreateCycleRequest,
) -> Result<pb::Cycle, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_text(&mut v, "name", &req.name, NAME_MAX);
    check_opt_text(&mut v, "description", &req.description, DESCRIPTION_MAX);
    check_id(&mut v, "indicator_set_id", &req.indicator_set_id);
    let kind = convert::parse_subject_kind(&mut v, "subject_kind", req.subject_kind);
    if req.subject_ids.is_empty() {
        v.add("subject_ids", "at least one subject is required");
    } else if req.subject_ids.len() > SUBJECTS_MAX {
        v.add(
            "subject_ids",
            format!("at most {SUBJECTS_MAX} subjects are allowed"),
        );
    }
    for (i, id) in req.subject_ids.iter().enumerate() {
        let field = format!("subject_ids[{i}]");
        check_id(&mut v, &field, id);
        if req.subject_ids[..i].contains(id) {
            v.add(field, "is listed twice");
        }
    }
    check_opt_id(&mut v, "owner_department_id", &req.owner_department_id);
    let start = convert::time(&mut v, "period_start_time", req.period_start_time.as_ref());
    let end = convert::time(&mut v, "period_end_time", req.period_end_time.as_ref());
    let scoring = convert::opt_time(
        &mut v,
        "scoring_start_time",
        req.scoring_start_time.as_ref(),
    );
    let deadline = convert::opt_time(&mut v, "scoring_deadline", req.scoring_deadline.as_ref());
    let schedule = Schedule {
        period_start_ms: start,
        period_end_ms: end,
        scoring_start_ms: scoring.unwrap_or(end),
        scoring_deadline_ms: deadline,
    };
    if v.is_empty() {
        schedule.validate(&mut v, "");
    }
    v.into_result()?;
    let kind = kind.ok_or_else(|| invalid("subject_kind", "is required"))?;
    let owner = owner_of(who, &req.owner_department_id);
    if let Some(o) = &owner
        && app.org.department(o).await?.is_none()
    {
        return Err(invalid("owner_department_id", "names no department"));
    }
    let reach = app.reach(who).await?;
    ensure_manages_cycle(who, &reach, owner.as_deref())?;
    let subjects = subjects(app, kind, &req.subject_ids, owner.as_deref()).await?;

    let key = Key::new("CreateCycle", &who.subject, &req.request_id);
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if let Some(done) = replay::<pb::Cycle>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    // The version current now is the one the cycle keeps.
    let set = store::set::get_set(&mut tx, &req.indicator_set_id, app.db.for_update())
        .await?
        .ok_or_else(|| invalid("indicator_set_id", "names no indicator set"))?;
    let cycle = Cycle {
        id: new_id(),
        name: req.name.clone(),
        description: req.description.clone(),
        set_id: set.id.clone(),
        set_version: set.current_version,
        subject_kind: kind,
        owner_department_id: owner,
        period_start_ms: schedule.period_start_ms,
        period_end_ms: schedule.period_end_ms,
        include_sub_departments: kind == SubjectKind::Department && req.include_sub_departments,
        self_assessment: req.self_assessment,
        scoring_start_ms: schedule.scoring_start_ms,
        scoring_deadline_ms: schedule.scoring_deadline_ms,
        stage: Stage::Open,
        collected_ms: None,
        published_ms: None,
        created_by: who.subject.clone(),
        created_ms: now,
        updated_ms: now,
        version: 1,
    };
    store::cycle::insert(&mut tx, &cycle, &subjects).await?;
    due::schedule(
        &mut tx,
        SCORING_START,
        &cycle.id,
        cycle.scoring_start_ms,
        "",
    )
    .await?;
    let detail = json!({
        "name": cycle.name,
        "indicator_set_id": cycle.set_id,
        "indicator_set_version": cycle.set_version,
        "subject_kind": kind.as_str(),
        "subjects": subjects.len(),
        "owner_department_id": cycle.owner_department_id,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "cycle.create",
        &resource("cycles", &cycle.id),
        detail,
    )
    .await?;
    let out = convert::cycle(&cycle, &subjects);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    app.gauges.nudge();
    Ok(out)
}

/// A cycle with its subjects as a message.
pub async fn render(app: &Appraisal, c: &Cycle) -> Result<pb::Cycle, Error> {
    let subjects = store::cycle::all_subjects(&mut *app.conn().await?, &c.id).await?;
    Ok(convert::cycle(c, &subjects))
}

pub async fn get(app: &Appraisal, req: &pb::GetCycleRequest) -> Result<pb::Cycle, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    render(app, &app.cycle(&req.id).await?).await
}

pub async fn list(
    app: &Appraisal,
    req: &pb::ListCyclesRequest,
) -> Result<pb::ListCyclesResponse, Error> {
    let mut v = Violations::new();
    let stage = convert::parse_stage(&mut v, "stage", req.stage, false);
    check_opt_id(&mut v, "subject_id", &req.subject_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("cycles|{}|{}", req.stage, req.subject_id),
    )?;
    let subject = (!req.subject_id.is_empty()).then_some(req.subject_id.as_str());
    let rows = store::cycle::list(
        &mut *app.conn().await?,
        stage,
        subject,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |c| c.id.clone());
    let mut cycles = Vec::with_capacity(rows.len());
    for c in &rows {
        cycles.push(render(app, c).await?);
    }
    Ok(pb::ListCyclesResponse {
        cycles,
        next_page_token,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Description,
    SelfAssessment,
    ScoringStart,
    ScoringDeadline,
}

const FIELDS: [(&str, Field); 5] = [
    ("name", Field::Name),
    ("description", Field::Description),
    ("self_assessment", Field::SelfAssessment),
    ("scoring_start_time", Field::ScoringStart),
    ("scoring_deadline", Field::ScoringDeadline),
];

/// Fails unless `who` manages `cycle`.
pub async fn ensure_manager(
    app: &Appraisal,
    who: &Principal,
    cycle: &Cycle,
) -> Result<Reach, Error> {
    let reach = app.reach(who).await?;
    ensure_manages_cycle(who, &reach, cycle.owner_department_id.as_deref())?;
    Ok(reach)
}

pub async fn update(
    app: &Appraisal,
    who: &Principal,
    req: &pb::UpdateCycleRequest,
) -> Result<pb::Cycle, Error> {
    let mut v = Violations::new();
    let Some(p) = req.cycle.as_ref() else {
        return Err(invalid("cycle", "is required"));
    };
    check_id(&mut v, "cycle.id", &p.id);
    let expected = etag(&mut v, "cycle.etag", &p.etag);
    let changes = update_mask(&mut v, req.update_mask.as_ref(), &FIELDS);
    let has = |f: Field| changes.contains(&f);
    if has(Field::Name) {
        check_text(&mut v, "cycle.name", &p.name, NAME_MAX);
    }
    if has(Field::Description) {
        check_opt_text(&mut v, "cycle.description", &p.description, DESCRIPTION_MAX);
    }
    let scoring_start = has(Field::ScoringStart).then(|| {
        convert::time(
            &mut v,
            "cycle.scoring_start_time",
            p.scoring_start_time.as_ref(),
        )
    });
    let deadline = has(Field::ScoringDeadline).then(|| {
        convert::opt_time(
            &mut v,
            "cycle.scoring_deadline",
            p.scoring_deadline.as_ref(),
        )
    });
    v.into_result()?;
    let before = app.cycle(&p.id).await?;
    ensure_manager(app, who, &before).await?;

    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut c = store::cycle::get(&mut tx, &p.id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found(KIND, &p.id))?;
    check_etag(KIND, expected, c.version)?;
    let before_open = [Stage::Open, Stage::Scoring, Stage::Calibration];
    c.expect_stage(&before_open, "changing a cycle")?;
    if has(Field::SelfAssessment) || has(Field::ScoringStart) {
        c.expect_stage(
            &[Stage::Open],
            "changing self-assessment or the scoring start",
        )?;
    }
    if has(Field::ScoringDeadline) {
        c.expect_stage(
            &[Stage::Open, Stage::Scoring],
            "changing the scoring deadline",
        )?;
    }
    if has(Field::Name) {
        c.name = p.name.clone();
    }
    if has(Field::Description) {
        c.description = p.description.clone();
    }
    if has(Field::SelfAssessment) {
        c.self_assessment = p.self_assessment;
    }
    if let Some(ms) = scoring_start {
        c.scoring_start_ms = ms;
    }
    if let Some(d) = deadline {
        c.scoring_deadline_ms = d;
    }
    let mut v = Violations::new();
    c.schedule().validate(&mut v, "cycle.");
    v.into_result()?;
    if scoring_start.is_some() {
        due::schedule(&mut tx, SCORING_START, &c.id, c.scoring_start_ms, "").await?;
    }
    if deadline.is_some() && c.stage == Stage::Scoring {
        match c.scoring_deadline_ms {
            Some(d) => due::schedule(&mut tx, SCORING_DEADLINE, &c.id, d, "").await?,
            None => due::cancel(&mut tx, SCORING_DEADLINE, &c.id).await?,
        }
    }
    let read = c.version;
    c.version += 1;
    c.updated_ms = now;
    if !store::cycle::update(&mut tx, &c, read).await? {
        return Err(Error::stale_etag(KIND));
    }
    let names: Vec<&str> = FIELDS
        .iter()
        .filter(|(_, f)| has(*f))
        .map(|(n, _)| *n)
        .collect();
    let detail = json!({ "fields": names, "name": c.name, "self_assessment": c.self_assessment,
        "scoring_start_ms": c.scoring_start_ms, "scoring_deadline_ms": c.scoring_deadline_ms });
    audit::record(
        &mut tx,
        now,
        who,
        "cycle.update",
        &resource("cycles", &c.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    render(app, &c).await
}

pub async fn advance(
    app: &Appraisal,
    who: &Principal,
    req: &pb::AdvanceCycleRequest,
) -> Result<pb::Cycle, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let from = convert::parse_stage(&mut v, "from_stage", req.from_stage, true);
    let expected = etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let from = from.ok_or_else(|| invalid("from_stage", "is required"))?;
    let cycle = app.cycle(&req.id).await?;
    ensure_manager(app, who, &cycle).await?;
    let moved = flow::advance(app, &who.subject, &cycle.id, from, expected).await?;
    render(app, &moved).await
}

//! Incidents and drills: declare from a plan, read, list, move the status,
//! complete steps, the timeline, and the closing review.

use concord_kit::auth::Principal;
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, fields, invalid};
use concord_proto::directory::v1::ResolveAudienceRequest;
use concord_proto::emergency::v1 as pb;
use serde_json::json;
use sqlx::AnyConnection;

use super::{Emergency, convert, render, resource};
use crate::dispatch;
use crate::domain::access::{
    may_change_status, may_complete_step, may_declare, may_note, may_review, may_see, sees_all,
};
use crate::domain::alert::{declared_message, status_message};
use crate::domain::{
    Alert, AlertKind, DepartmentResponse, Incident, IncidentStep, Recipient, Review, Status,
    TEXT_MAX,
};
use crate::escalation;
use crate::store::timeline::{self, Entry};
use crate::store::{alert as alerts, incident as db, plan as plans};

const KIND: &str = "incident";

/// The incident `id`, locked for update when `lock` says so.
pub(crate) async fn load_incident(
    conn: &mut AnyConnection,
    id: &str,
    lock: &str,
) -> Result<Incident, Error> {
    db::get(conn, id, lock)
        .await?
        .ok_or_else(|| Error::not_found(KIND, id))
}

/// The incident with its steps and departments.
pub(crate) async fn incident_response(
    conn: &mut AnyConnection,
    i: &Incident,
) -> Result<pb::Incident, Error> {
    let steps = db::steps(conn, &i.id).await?;
    let departments = db::departments(conn, &i.id).await?;
    Ok(render::incident(i, &steps, &departments))
}

/// Fails unless `who` may see the incident.
async fn ensure_sees(conn: &mut AnyConnection, who: &Principal, i: &Incident) -> Result<(), Error> {
    if sees_all(who) {
        return Ok(());
    }
    may_see(who, db::involvement(conn, i, who).await?)
}

fn check_incident_id(v: &mut Violations, field: &str, id: &str) {
    check_id(v, field, id);
}

/// The active people of the plan's departments (not their sub-departments),
/// each with their department. A department the directory no longer knows
/// is a failed precondition: the plan must be updated.
async fn audience(e: &Emergency, departments: &[String]) -> Result<Vec<Recipient>, Error> {
    let request = ResolveAudienceRequest {
        department_ids: departments.to_vec(),
        ..Default::default()
    };
    match e.directory.resolve(request, &|f| f.to_string()).await {
        Ok(members) => Ok(members
            .into_iter()
            .map(|m| Recipient {
                person_id: m.person_id,
                department_id: m.department_id,
            })
            .collect()),
        Err(Error::Invalid(v)) => Err(Error::precondition(format!(
            "the plan names a department the directory no longer knows ({}); update the plan",
            v.fields().collect::<Vec<_>>().join(", ")
        ))),
        Err(other) => Err(other),
    }
}

pub async fn declare(
    e: &Emergency,
    who: &Principal,
    req: &pb::DeclareIncidentRequest,
) -> Result<pb::Incident, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_id(&mut v, "plan_id", &req.plan_id);
    let title = if req.title.trim().is_empty() {
        String::new()
    } else {
        convert::title(&mut v, "title", &req.title)
    };
    let description = convert::text(&mut v, "description", &req.description);
    let severity = convert::severity(&mut v, "severity", req.severity, false);
    v.into_result()?;

    let plan = plans::get(&mut *e.conn().await?, &req.plan_id, None)
        .await?
        .ok_or_else(|| Error::not_found("plan", &req.plan_id))?;
    may_declare(who, &plan.content)?;
    let departments = plan.content.departments();
    // The directory is asked before the transaction so no lock is held
    // across a network call.
    let audience = audience(e, &departments).await?;

    let key = Key::new("DeclareIncident", &who.subject, &req.request_id);
    let now = e.now();
    let mut tx = e.db.begin().await?;
    if let Some(done) = replay::<pb::Incident>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let plan_now = plans::get(&mut tx, &req.plan_id, None)
        .await?
        .ok_or_else(|| Error::not_found("plan", &req.plan_id))?;
    if plan_now.archived {
        return Err(Error::precondition(
            "the plan is archived; declare from a current plan",
        ));
    }
    if plan_now.current_version != plan.current_version {
        return Err(Error::Aborted(
            "the plan was edited meanwhile; declare again".into(),
        ));
    }
    let c = &plan.content;
    let incident = Incident {
        id: new_id(),
        plan_id: plan.id.clone(),
        plan_version: plan.version,
        owner_department_id: c.owner_department_id.clone(),
        title: if title.is_empty() {
            c.title.clone()
        } else {
            title
        },
        description,
        incident_type: c.incident_type,
        severity: severity.unwrap_or(c.severity),
        drill: req.drill,
        status: Status::Declared,
        declared_by: who.subject.clone(),
        declared_ms: now,
        contained_ms: None,
        resolved_ms: None,
        ack_timeout_ms: c.ack_timeout_ms,
        reminder_ms: c.reminder_ms,
        escalation_chain: c.chain(),
        contact_people: c.contact_people(),
        review: None,
        version: 1,
    };
    db::insert(&mut tx, &incident).await?;
    let steps: Vec<IncidentStep> = c
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| IncidentStep {
            incident_id: incident.id.clone(),
            index: i as i64,
            title: s.title.clone(),
            instructions: s.instructions.clone(),
            department_id: s.department_id.clone(),
            target_minutes: s.target_minutes,
            completed_ms: None,
            completed_by: String::new(),
            note: String::new(),
        })
        .collect();
    for s in &steps {
        db::insert_step(&mut tx, s).await?;
    }
    let mut responses = Vec::new();
    for d in &departments {
        let r = DepartmentResponse {
            incident_id: incident.id.clone(),
            department_id: d.clone(),
            drill: incident.drill,
            declared_ms: now,
            alerted_ms: now,
            ack_timeout_ms: incident.ack_timeout_ms,
            people_alerted: audience.iter().filter(|m| &m.department_id == d).count() as i64,
            acknowledged_ms: None,
            acknowledged_by: String::new(),
            escalation_level: 0,
            reminders_sent: 0,
        };
        db::insert_department(&mut tx, &r).await?;
        escalation::schedule_escalation(&mut tx, &incident, d, 1, now).await?;
        responses.push(r);
    }
    let alert = Alert::about(
        &incident,
        AlertKind::Declared,
        declared_message(&incident),
        "",
        0,
        now,
    );
    let sent = dispatch::send(&mut tx, &alert, &audience).await?;
    let what = if incident.drill {
        "演练已发布 drill declared"
    } else {
        "事件已发布 incident declared"
    };
    timeline::add(
        &mut tx,
        &Entry::new(&incident.id, now, "declared", &who.subject, "", what),
    )
    .await?;
    let text = format!(
        "alerted {} people in {} departments",
        sent.people(),
        departments.len()
    );
    timeline::add(
        &mut tx,
        &Entry::new(&incident.id, now, "alerted", "", "", text),
    )
    .await?;
    let detail = json!({
        "plan_id": plan.id, "plan_version": plan.version, "drill": incident.drill,
        "severity": incident.severity.roman(), "people_alerted": sent.people(),
    });
    audit::record(
        &mut tx,
        now,
        who,
        "incident.declare",
        &resource("incidents", &incident.id),
        detail,
    )
    .await?;
    let out = render::incident(&incident, &steps, &responses);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    sent.announce(&e.announcer);
    e.incidents_changed();
    Ok(out)
}

pub async fn get(
    e: &Emergency,
    who: &Principal,
    req: &pb::GetIncidentRequest,
) -> Result<pb::Incident, Error> {
    let mut v = Violations::new();
    check_incident_id(&mut v, "id", &req.id);
    v.into_result()?;
    let mut conn = e.conn().await?;
    let i = load_incident(&mut conn, &req.id, "").await?;
    ensure_sees(&mut conn, who, &i).await?;
    incident_response(&mut conn, &i).await
}

pub async fn list(
    e: &Emergency,
    who: &Principal,
    req: &pb::ListIncidentsRequest,
) -> Result<pb::ListIncidentsResponse, Error> {
    let mut v = Violations::new();
    let status = convert::status(&mut v, "status", req.status, false);
    let plan_id = fields::opt_id(&mut v, "plan_id", &req.plan_id);
    let department_id = fields::opt_id(&mut v, "department_id", &req.department_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let filter = format!(
        "incidents|{}|{}|{}|{:?}",
        req.status, req.plan_id, req.department_id, req.drill
    );
    let page = Page::parse(req.page_size, &req.page_token, &filter)?;
    let f = db::Filter {
        status,
        plan_id,
        department_id,
        drill: req.drill,
        visible_to: (!sees_all(who)).then(|| {
            (
                who.subject.clone(),
                who.department_id.clone().unwrap_or_default(),
            )
        }),
    };
    let mut conn = e.conn().await?;
    let rows = db::list(&mut conn, &f, page.after.as_deref(), page.fetch_limit()).await?;
    let (rows, next_page_token) = page.finish(rows, |i| i.id.clone());
    let ids: Vec<String> = rows.iter().map(|i| i.id.clone()).collect();
    let steps = db::steps_of(&mut conn, &ids).await?;
    let departments = db::departments_of(&mut conn, &ids).await?;
    Ok(pb::ListIncidentsResponse {
        incidents: rows
            .iter()
            .map(|i| render::incident(i, &steps, &departments))
            .collect(),
        next_page_token,
    })
}

pub async fn update_status(
    e: &Emergency,
    who: &Principal,
    req: &pb::UpdateIncidentStatusRequest,
) -> Result<pb::Incident, Error> {
    let mut v = Violations::new();
    check_incident_id(&mut v, "id", &req.id);
    let to = convert::status(&mut v, "status", req.status, true);
    let note = convert::text(&mut v, "note", &req.note);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let Some(to) = to else {
        return Err(invalid("status", "is required"));
    };

    let now = e.now();
    let mut tx = e.db.begin().await?;
    let mut i = load_incident(&mut tx, &req.id, e.db.for_update()).await?;
    let departments: Vec<String> = db::departments(&mut tx, &i.id)
        .await?
        .into_iter()
        .map(|d| d.department_id)
        .collect();
    may_change_status(who, &i, &departments)?;
    fields::check_etag(KIND, expected, i.version)?;
    if let Some(why) = i.status.refuse_move(to) {
        return Err(Error::precondition(why));
    }
    let read = i.version;
    let from = i.status;
    i.move_to(to, now);
    i.version += 1;
    if !db::update(&mut tx, &i, read).await? {
        return Err(Error::stale_etag(KIND));
    }
    let text = if note.is_empty() {
        format!("{} → {}", from.name(), to.name())
    } else {
        format!("{} → {}: {note}", from.name(), to.name())
    };
    timeline::add(
        &mut tx,
        &Entry::new(&i.id, now, "status_changed", &who.subject, "", text),
    )
    .await?;
    let mut sent = None;
    if to.is_settled() {
        escalation::cancel_all(&mut tx, &i.id, &departments).await?;
        // Tell everybody the incident reached, each once.
        let mut people: Vec<Recipient> = alerts::recipients(&mut tx, &i.id, None).await?;
        people.dedup_by(|a, b| a.person_id == b.person_id);
        let alert = Alert::about(
            &i,
            AlertKind::StatusChanged,
            status_message(&i, to, &note),
            "",
            0,
            now,
        );
        sent = Some(dispatch::send(&mut tx, &alert, &people).await?);
    }
    let detail = json!({ "from": from.name(), "to": to.name(), "note": note });
    audit::record(
        &mut tx,
        now,
        who,
        "incident.status",
        &resource("incidents", &i.id),
        detail,
    )
    .await?;
    let out = incident_response(&mut tx, &i).await?;
    tx.commit().await?;
    if let Some(sent) = sent {
        sent.announce(&e.announcer);
    }
    e.incidents_changed();
    Ok(out)
}

pub async fn complete_step(
    e: &Emergency,
    who: &Principal,
    req: &pb::CompleteStepRequest,
) -> Result<pb::IncidentStep, Error> {
    let mut v = Violations::new();
    check_incident_id(&mut v, "incident_id", &req.incident_id);
    v.check(req.step_index < 0, "step_index", "must not be negative");
    let note = convert::text(&mut v, "note", &req.note);
    v.into_result()?;
    let index = i64::from(req.step_index);

    let now = e.now();
    let mut tx = e.db.begin().await?;
    let i = load_incident(&mut tx, &req.incident_id, e.db.for_update()).await?;
    let steps = db::steps(&mut tx, &i.id).await?;
    let Some(step) = steps.iter().find(|s| s.index == index) else {
        return Err(invalid(
            "step_index",
            &format!(
                "the incident has steps 0 to {}",
                steps.len().saturating_sub(1)
            ),
        ));
    };
    let recipient =
        alerts::is_recipient_for(&mut tx, &i.id, &who.subject, &step.department_id).await?;
    may_complete_step(who, &step.department_id, recipient)?;
    if i.status >= Status::Resolved {
        return Err(Error::precondition(
            "the incident is resolved; its steps are closed",
        ));
    }
    if !db::complete_step(&mut tx, &i.id, index, now, &who.subject, &note).await? {
        return Err(Error::precondition("the step is already completed"));
    }
    let mut done = step.clone();
    done.completed_ms = Some(now);
    done.completed_by = who.subject.clone();
    done.note = note.clone();
    let text = format!(
        "{}. {} ✓ ({} min target)",
        index + 1,
        step.title,
        step.target_minutes
    );
    timeline::add(
        &mut tx,
        &Entry::new(
            &i.id,
            now,
            "step_completed",
            &who.subject,
            &step.department_id,
            text,
        ),
    )
    .await?;
    let open_left = steps.iter().any(|s| {
        s.department_id == step.department_id && s.index != index && s.completed_ms.is_none()
    });
    if !open_left {
        escalation::cancel_reminder(&mut tx, &i.id, &step.department_id).await?;
    }
    let detail =
        json!({ "step_index": index, "on_time": done.on_time(i.declared_ms), "note": note });
    audit::record(
        &mut tx,
        now,
        who,
        "incident.step.complete",
        &resource("incidents", &i.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(render::step_pb(&done))
}

pub async fn add_note(
    e: &Emergency,
    who: &Principal,
    req: &pb::AddTimelineEntryRequest,
) -> Result<pb::TimelineEntry, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_incident_id(&mut v, "incident_id", &req.incident_id);
    let text = req.text.trim();
    concord_kit::ids::check_text(&mut v, "text", text, TEXT_MAX);
    v.into_result()?;
    let key = Key::new("AddTimelineEntry", &who.subject, &req.request_id);
    let now = e.now();
    let mut tx = e.db.begin().await?;
    if let Some(done) = replay::<pb::TimelineEntry>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let i = load_incident(&mut tx, &req.incident_id, "").await?;
    may_note(who, db::involvement(&mut tx, &i, who).await?)?;
    let entry = Entry::new(
        &i.id,
        now,
        "note",
        &who.subject,
        who.department_id.as_deref().unwrap_or_default(),
        text,
    );
    timeline::add(&mut tx, &entry).await?;
    audit::record(
        &mut tx,
        now,
        who,
        "incident.note",
        &resource("incidents", &i.id),
        json!({ "entry_id": entry.id }),
    )
    .await?;
    let out = render::timeline_entry(&entry);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn timeline(
    e: &Emergency,
    who: &Principal,
    req: &pb::ListTimelineRequest,
) -> Result<pb::ListTimelineResponse, Error> {
    let mut v = Violations::new();
    check_incident_id(&mut v, "incident_id", &req.incident_id);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("timeline|{}", req.incident_id),
    )?;
    let after = match page.after.as_deref() {
        None => None,
        Some(k) => {
            let bad = || invalid("page_token", "is not a token returned by this list");
            let (at, id) = k.split_once('|').ok_or_else(bad)?;
            Some((at.parse::<i64>().map_err(|_| bad())?, id.to_string()))
        }
    };
    let mut conn = e.conn().await?;
    let i = load_incident(&mut conn, &req.incident_id, "").await?;
    ensure_sees(&mut conn, who, &i).await?;
    let rows = timeline::list(&mut conn, &i.id, after, page.fetch_limit()).await?;
    let (rows, next_page_token) = page.finish(rows, |e| format!("{}|{}", e.at_ms, e.id));
    Ok(pb::ListTimelineResponse {
        entries: rows.iter().map(render::timeline_entry).collect(),
        next_page_token,
    })
}

pub async fn review(
    e: &Emergency,
    who: &Principal,
    req: &pb::ReviewIncidentRequest,
) -> Result<pb::Incident, Error> {
    let mut v = Violations::new();
    check_incident_id(&mut v, "id", &req.id);
    let summary = req.summary.trim();
    concord_kit::ids::check_text(&mut v, "summary", summary, TEXT_MAX);
    let lessons = convert::text(&mut v, "lessons", &req.lessons);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let now = e.now();
    let mut tx = e.db.begin().await?;
    let mut i = load_incident(&mut tx, &req.id, e.db.for_update()).await?;
    may_review(who, &i)?;
    fields::check_etag(KIND, expected, i.version)?;
    if i.status != Status::Resolved {
        return Err(Error::precondition(format!(
            "only a resolved incident is reviewed; this one is {}",
            i.status.name()
        )));
    }
    let read = i.version;
    i.status = Status::Reviewed;
    i.review = Some(Review {
        summary: summary.to_string(),
        lessons: lessons.clone(),
        reviewed_by: who.subject.clone(),
        reviewed_ms: now,
    });
    i.version += 1;
    if !db::update(&mut tx, &i, read).await? {
        return Err(Error::stale_etag(KIND));
    }
    timeline::add(
        &mut tx,
        &Entry::new(&i.id, now, "reviewed", &who.subject, "", summary),
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        who,
        "incident.review",
        &resource("incidents", &i.id),
        json!({ "lessons": lessons }),
    )
    .await?;
    let out = incident_response(&mut tx, &i).await?;
    tx.commit().await?;
    e.incidents_changed();
    Ok(out)
}

//! Recurring meetings: create, read, list, change and cancel the series.

use concord_kit::auth::Principal;
use concord_kit::clock::{Millis, from_timestamp, to_timestamp, to_timestamp_opt};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_text, new_id};
use concord_kit::page::{Page, cursor, render_cursor};
use concord_kit::{Error, Violations, audit, fields, invalid};
use concord_proto::notices::v1 as pb;
use concord_proto::policy::v1::Role;
use serde_json::json;

use super::{Meetings, convert};
use crate::core::resource;
use crate::domain::meeting::{DURATION_MAX_MS, MeetingField};
use crate::domain::{Audience, DESCRIPTION_MAX, LOCATION_MAX, Meeting, Recurrence, sort_key};
use crate::store::meeting::{self as db, Visible};

const KIND: &str = "meeting";

pub fn meeting(m: &Meeting) -> pb::Meeting {
    pb::Meeting {
        id: m.id.clone(),
        title: m.title.clone(),
        description: m.description.clone(),
        recurrence: m.recurrence as i32,
        first_start_time: Some(to_timestamp(m.first_start_ms)),
        duration: Some(prost_types::Duration {
            seconds: m.duration_ms / 1000,
            nanos: 0,
        }),
        location: m.location.clone(),
        organizing_department_id: m.organizing_department_id.clone(),
        participant_department_ids: m.participant_department_ids.clone(),
        participant_person_ids: m.participant_person_ids.clone(),
        until_time: to_timestamp_opt(m.until_ms),
        cancelled: m.cancelled,
        created_by: m.created_by.clone(),
        create_time: Some(to_timestamp(m.created_ms)),
        update_time: Some(to_timestamp(m.updated_ms)),
        etag: fields::render_etag(m.version),
    }
}

/// Validates the `fields` of `p` into `m` (prefix `meeting.`).
fn fill(v: &mut Violations, m: &mut Meeting, p: &pb::Meeting, fields: &[MeetingField]) {
    for f in fields {
        match f {
            MeetingField::Title => m.title = convert::title(v, "meeting.title", &p.title),
            MeetingField::Description => {
                check_opt_text(v, "meeting.description", &p.description, DESCRIPTION_MAX);
                m.description = p.description.trim().to_string();
            }
            MeetingField::Location => {
                m.location = p.location.trim().to_string();
                concord_kit::ids::check_text(v, "meeting.location", &m.location, LOCATION_MAX);
            }
            MeetingField::Duration => {
                let ms = p.duration.as_ref().and_then(|d| {
                    (0..1_000_000_000)
                        .contains(&d.nanos)
                        .then(|| d.seconds.checked_mul(1000))
                        .flatten()
                });
                match ms {
                    Some(ms) if ms > 0 && ms <= DURATION_MAX_MS => m.duration_ms = ms,
                    Some(_) => v.add(
                        "meeting.duration",
                        "must be more than zero and at most 24 hours",
                    ),
                    None => v.add("meeting.duration", "is required"),
                }
            }
            MeetingField::ParticipantDepartments => {
                m.participant_department_ids = convert::ids(
                    v,
                    "meeting.participant_department_ids",
                    &p.participant_department_ids,
                );
            }
            MeetingField::ParticipantPeople => {
                m.participant_person_ids = convert::ids(
                    v,
                    "meeting.participant_person_ids",
                    &p.participant_person_ids,
                );
            }
            MeetingField::Until => {
                m.until_ms = convert::opt_time(v, "meeting.until_time", p.until_time.as_ref())
            }
        }
    }
    if m.participant_department_ids.is_empty() && m.participant_person_ids.is_empty() {
        v.add(
            "meeting.participant_department_ids",
            "name at least one participating department or person",
        );
    }
    if m.until_ms.is_some_and(|u| u <= m.first_start_ms) {
        v.add("meeting.until_time", "must be after first_start_time");
    }
}

/// Checks that the participants exist, naming unknown ones by their field.
async fn check_participants(svc: &Meetings, m: &Meeting) -> Result<(), Error> {
    let audience = Audience {
        department_ids: m.participant_department_ids.clone(),
        person_ids: m.participant_person_ids.clone(),
        ..Audience::default()
    };
    let rename = |f: &str| format!("meeting.participant_{f}");
    svc.core.resolve(&audience, &rename).await.map(|_| ())
}

/// Whether `who` organises `m`: admins, its creator, and the heads above
/// its organising department.
pub async fn organizes(svc: &Meetings, who: &Principal, m: &Meeting) -> Result<bool, Error> {
    if who.is_admin() || who.subject == m.created_by {
        return Ok(true);
    }
    Ok(who.has(Role::DepartmentHead)
        && svc
            .core
            .headed(who)
            .await?
            .contains(&m.organizing_department_id))
}

pub async fn ensure_organizes(svc: &Meetings, who: &Principal, m: &Meeting) -> Result<(), Error> {
    if organizes(svc, who, m).await? {
        Ok(())
    } else {
        Err(Error::denied(
            "only the meeting's organisers (its creator, the heads above its department, admins) do this",
        ))
    }
}

/// Whether `who` takes part in `m` (by name, or through their department).
pub fn takes_part(who: &Principal, m: &Meeting) -> bool {
    m.includes(&who.subject, who.department_id.as_deref())
        || who.department_id.as_deref() == Some(m.organizing_department_id.as_str())
}

pub async fn ensure_sees(svc: &Meetings, who: &Principal, m: &Meeting) -> Result<(), Error> {
    if who.has(Role::Auditor) || takes_part(who, m) || organizes(svc, who, m).await? {
        Ok(())
    } else {
        Err(Error::denied(
            "a meeting is seen by its participants, its organisers, admins and auditors",
        ))
    }
}

pub async fn load(svc: &Meetings, id: &str) -> Result<Meeting, Error> {
    db::get(&mut *svc.core.db.pool().acquire().await?, id, "")
        .await?
        .ok_or_else(|| Error::not_found(KIND, id))
}

pub async fn create(
    svc: &Meetings,
    who: &Principal,
    req: &pb::CreateMeetingRequest,
) -> Result<pb::Meeting, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    let Some(p) = &req.meeting else {
        v.add("meeting", "is required");
        return Err(Error::Invalid(v));
    };
    let now = svc.core.now();
    let recurrence = Recurrence::from_i64(i64::from(p.recurrence));
    v.check(
        recurrence.is_none(),
        "meeting.recurrence",
        "must be weekly, biweekly or monthly",
    );
    let first: Option<Millis> = match p.first_start_time.as_ref().map(from_timestamp) {
        Some(Some(ms)) => Some(ms),
        Some(None) => {
            v.add("meeting.first_start_time", "is not a valid timestamp");
            None
        }
        None => {
            v.add("meeting.first_start_time", "is required");
            None
        }
    };
    check_id(
        &mut v,
        "meeting.organizing_department_id",
        &p.organizing_department_id,
    );
    let mut m = Meeting {
        id: new_id(),
        title: String::new(),
        description: String::new(),
        recurrence: recurrence.unwrap_or(Recurrence::Weekly),
        first_start_ms: first.unwrap_or(0),
        duration_ms: 0,
        location: String::new(),
        organizing_department_id: p.organizing_department_id.clone(),
        participant_department_ids: Vec::new(),
        participant_person_ids: Vec::new(),
        until_ms: None,
        cancelled: false,
        created_by: who.subject.clone(),
        version: 1,
        created_ms: now,
        updated_ms: now,
    };
    fill(&mut v, &mut m, p, &MeetingField::ALL);
    v.into_result()?;
    if svc
        .core
        .directory
        .subtree(&m.organizing_department_id)
        .await?
        .is_none()
    {
        return Err(invalid(
            "meeting.organizing_department_id",
            "names no department",
        ));
    }
    if !who.is_admin()
        && !who.has(Role::Coordinator)
        && !svc
            .core
            .headed(who)
            .await?
            .contains(&m.organizing_department_id)
    {
        return Err(Error::denied(
            "heads organise meetings for their own department or one below it",
        ));
    }
    check_participants(svc, &m).await?;

    let key = Key::new("CreateMeeting", &who.subject, &req.request_id);
    let mut tx = svc.core.db.begin().await?;
    if let Some(done) = replay::<pb::Meeting>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    db::insert(&mut tx, &m).await?;
    let detail =
        json!({ "title": m.title, "organizing_department_id": m.organizing_department_id });
    audit::record(
        &mut tx,
        now,
        who,
        "meeting.create",
        &resource("meetings", &m.id),
        detail,
    )
    .await?;
    let out = meeting(&m);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn get(
    svc: &Meetings,
    who: &Principal,
    req: &pb::GetMeetingRequest,
) -> Result<pb::Meeting, Error> {
    convert::required_id("id", &req.id)?;
    let m = load(svc, &req.id).await?;
    ensure_sees(svc, who, &m).await?;
    Ok(meeting(&m))
}

pub async fn list(
    svc: &Meetings,
    who: &Principal,
    req: &pb::ListMeetingsRequest,
) -> Result<pb::ListMeetingsResponse, Error> {
    let mut v = Violations::new();
    let organizer = fields::opt_id(
        &mut v,
        "organizing_department_id",
        &req.organizing_department_id,
    );
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let filter = format!(
        "meetings|{}|{}",
        req.organizing_department_id, req.include_cancelled
    );
    let page = Page::parse(req.page_size, &req.page_token, &filter)?;
    let after = cursor::<(String, String)>(page.after.as_deref())?;
    let visible = if who.is_admin() || who.has(Role::Auditor) {
        Visible::All
    } else {
        Visible::Involving {
            person_id: &who.subject,
            department_id: who.department_id.as_deref().unwrap_or_default(),
        }
    };
    let mut conn = svc.core.db.pool().acquire().await?;
    let rows = db::list(
        &mut conn,
        visible,
        organizer.as_deref(),
        req.include_cancelled,
        after.as_ref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) =
        page.finish(rows, |m| render_cursor(&(sort_key(&m.title), &m.id)));
    Ok(pb::ListMeetingsResponse {
        meetings: rows.iter().map(meeting).collect(),
        next_page_token,
    })
}

pub async fn update(
    svc: &Meetings,
    who: &Principal,
    req: &pb::UpdateMeetingRequest,
) -> Result<pb::Meeting, Error> {
    let mut v = Violations::new();
    let fields = fields::update_mask(&mut v, req.update_mask.as_ref(), &MeetingField::known());
    let Some(p) = &req.meeting else {
        v.add("meeting", "is required");
        return Err(Error::Invalid(v));
    };
    check_id(&mut v, "meeting.id", &p.id);
    let expected = fields::etag(&mut v, "meeting.etag", &p.etag);
    v.into_result()?;
    let mut m = load(svc, &p.id).await?;
    ensure_organizes(svc, who, &m).await?;
    fields::check_etag(KIND, expected, m.version)?;
    if m.cancelled {
        return Err(Error::precondition("the meeting was cancelled"));
    }
    let mut v = Violations::new();
    fill(&mut v, &mut m, p, &fields);
    v.into_result()?;
    if fields.iter().any(|f| {
        matches!(
            f,
            MeetingField::ParticipantDepartments | MeetingField::ParticipantPeople
        )
    }) {
        check_participants(svc, &m).await?;
    }
    write(
        svc,
        who,
        m,
        "meeting.update",
        json!({ "fields": fields.iter().map(|f| f.path()).collect::<Vec<_>>() }),
    )
    .await
}

async fn write(
    svc: &Meetings,
    who: &Principal,
    mut m: Meeting,
    action: &str,
    detail: serde_json::Value,
) -> Result<pb::Meeting, Error> {
    let now = svc.core.now();
    let read = m.version;
    m.version += 1;
    m.updated_ms = now;
    let mut tx = svc.core.db.begin().await?;
    if !db::update(&mut tx, &m, read).await? {
        return Err(Error::stale_etag(KIND));
    }
    audit::record(
        &mut tx,
        now,
        who,
        action,
        &resource("meetings", &m.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(meeting(&m))
}

pub async fn cancel(
    svc: &Meetings,
    who: &Principal,
    req: &pb::CancelMeetingRequest,
) -> Result<pb::Meeting, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    let expected = fields::etag(&mut v, "etag", &req.etag);
    v.into_result()?;
    let mut m = load(svc, &req.id).await?;
    ensure_organizes(svc, who, &m).await?;
    if m.cancelled {
        return Ok(meeting(&m));
    }
    fields::check_etag(KIND, expected, m.version)?;
    let now = svc.core.now();
    m.cancelled = true;
    m.until_ms = Some(m.until_ms.map_or(now, |u| u.min(now)).max(m.first_start_ms));
    write(svc, who, m, "meeting.cancel", json!({})).await
}

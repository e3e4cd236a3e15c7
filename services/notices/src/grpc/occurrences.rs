//! Occurrences of meetings: the caller's upcoming ones, and per occurrence
//! the agenda, attendance and minutes (which are published as a notice to
//! the participants).

use concord_kit::auth::Principal;
use concord_kit::clock::{Millis, to_timestamp};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_text, new_id};
use concord_kit::{Error, Violations, audit, fields, invalid};
use concord_proto::notices::v1 as pb;
use serde_json::json;

use super::meetings::{ensure_organizes, ensure_sees, load, organizes, takes_part};
use super::{Meetings, convert};
use crate::core::resource;
use crate::domain::{Audience, BODY_MAX, IDS_MAX, Meeting, Notice, NoticeState, Priority};
use crate::store::meeting::{self as db, AgendaItem, Visible};
use crate::store::{notice as notices, rules};

const DAY_MS: i64 = 86_400_000;

fn item(a: &AgendaItem) -> pb::AgendaItem {
    pb::AgendaItem {
        id: a.id.clone(),
        meeting_id: a.meeting_id.clone(),
        occurrence_index: a.occurrence,
        title: a.title.clone(),
        proposed_by: a.proposed_by.clone(),
        create_time: Some(to_timestamp(a.created_ms)),
    }
}

fn bare(m: &Meeting, index: i64, start: Millis) -> pb::Occurrence {
    pb::Occurrence {
        meeting_id: m.id.clone(),
        index,
        start_time: Some(to_timestamp(start)),
        end_time: Some(to_timestamp(start + m.duration_ms)),
        title: m.title.clone(),
        location: m.location.clone(),
        ..Default::default()
    }
}

/// The occurrence with everything recorded for it.
async fn full(
    svc: &Meetings,
    m: &Meeting,
    index: i64,
    start: Millis,
) -> Result<pb::Occurrence, Error> {
    let mut conn = svc.core.db.pool().acquire().await?;
    let mut o = bare(m, index, start);
    o.agenda = db::items(&mut conn, &m.id, index)
        .await?
        .iter()
        .map(item)
        .collect();
    o.attendance = db::attendance(&mut conn, &m.id, index)
        .await?
        .into_iter()
        .map(|(person_id, status)| pb::Attendance {
            person_id,
            status: i32::try_from(status).unwrap_or(0),
        })
        .collect();
    if let Some((minutes, notice_id)) = db::minutes(&mut conn, &m.id, index).await? {
        o.minutes = minutes;
        o.minutes_notice_id = notice_id;
    }
    Ok(o)
}

/// Validates a meeting id and occurrence index and loads both.
async fn occurrence(
    svc: &Meetings,
    v: &mut Violations,
    meeting_id: &str,
    index: i64,
) -> Result<(Meeting, Millis), Error> {
    check_id(v, "meeting_id", meeting_id);
    v.check(index < 0, "occurrence_index", "must not be negative");
    std::mem::take(v).into_result()?;
    let m = load(svc, meeting_id).await?;
    let start = m
        .occurrence_start(&svc.core.zone, index)
        .ok_or_else(|| invalid("occurrence_index", "names no occurrence of this meeting"))?;
    Ok((m, start))
}

pub async fn upcoming(
    svc: &Meetings,
    who: &Principal,
    req: &pb::ListUpcomingOccurrencesRequest,
) -> Result<pb::ListUpcomingOccurrencesResponse, Error> {
    let now = svc.core.now();
    let mut v = Violations::new();
    let start = convert::opt_time(&mut v, "start_time", req.start_time.as_ref()).unwrap_or(now);
    let end =
        convert::opt_time(&mut v, "end_time", req.end_time.as_ref()).unwrap_or(start + 14 * DAY_MS);
    if v.is_empty() && end <= start {
        v.add("end_time", "must be after start_time");
    }
    if v.is_empty() && end - start > 92 * DAY_MS {
        v.add("end_time", "must be at most 92 days after start_time");
    }
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let limit = match req.page_size {
        0 => 50,
        n => usize::try_from(n).unwrap_or(50).min(500),
    };
    let visible = Visible::Involving {
        person_id: &who.subject,
        department_id: who.department_id.as_deref().unwrap_or_default(),
    };
    let mut conn = svc.core.db.pool().acquire().await?;
    let mut out = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let page = db::list(&mut conn, visible, None, false, after.as_ref(), 500).await?;
        for m in &page {
            out.extend(
                m.occurrences_between(&svc.core.zone, start, end)
                    .into_iter()
                    .map(|(i, s)| (s, bare(m, i, s))),
            );
        }
        match page.last() {
            Some(last) if page.len() == 500 => {
                after = Some((crate::domain::sort_key(&last.title), last.id.clone()))
            }
            _ => break,
        }
    }
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.meeting_id.cmp(&b.1.meeting_id))
    });
    out.truncate(limit);
    Ok(pb::ListUpcomingOccurrencesResponse {
        occurrences: out.into_iter().map(|(_, o)| o).collect(),
    })
}

pub async fn get(
    svc: &Meetings,
    who: &Principal,
    req: &pb::GetOccurrenceRequest,
) -> Result<pb::Occurrence, Error> {
    let (m, start) = occurrence(
        svc,
        &mut Violations::new(),
        &req.meeting_id,
        req.occurrence_index,
    )
    .await?;
    ensure_sees(svc, who, &m).await?;
    full(svc, &m, req.occurrence_index, start).await
}

pub async fn add_item(
    svc: &Meetings,
    who: &Principal,
    req: &pb::AddAgendaItemRequest,
) -> Result<pb::AgendaItem, Error> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    let title = convert::title(&mut v, "title", &req.title);
    let (m, _) = occurrence(svc, &mut v, &req.meeting_id, req.occurrence_index).await?;
    if !takes_part(who, &m) && !organizes(svc, who, &m).await? {
        return Err(Error::denied(
            "agenda items are proposed by the meeting's participants and organisers",
        ));
    }
    let now = svc.core.now();
    let key = Key::new("AddAgendaItem", &who.subject, &req.request_id);
    let mut tx = svc.core.db.begin().await?;
    if let Some(done) = replay::<pb::AgendaItem>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    if db::minutes(&mut tx, &m.id, req.occurrence_index)
        .await?
        .is_some()
    {
        return Err(Error::precondition(
            "the minutes of this occurrence are recorded; its agenda is closed",
        ));
    }
    let a = AgendaItem {
        id: new_id(),
        meeting_id: m.id.clone(),
        occurrence: req.occurrence_index,
        title,
        proposed_by: who.subject.clone(),
        created_ms: now,
    };
    db::add_item(&mut tx, &a).await?;
    let detail = json!({ "occurrence": a.occurrence, "title": a.title });
    audit::record(
        &mut tx,
        now,
        who,
        "meeting.agenda.add",
        &resource("meetings", &m.id),
        detail,
    )
    .await?;
    let out = item(&a);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn remove_item(
    svc: &Meetings,
    who: &Principal,
    req: &pb::RemoveAgendaItemRequest,
) -> Result<(), Error> {
    convert::required_id("id", &req.id)?;
    let a = db::get_item(&mut *svc.core.db.pool().acquire().await?, &req.id)
        .await?
        .ok_or_else(|| Error::not_found("agenda item", &req.id))?;
    let m = load(svc, &a.meeting_id).await?;
    if who.subject != a.proposed_by && !organizes(svc, who, &m).await? {
        return Err(Error::denied(
            "an agenda item is removed by its proposer or the meeting's organisers",
        ));
    }
    let now = svc.core.now();
    let mut tx = svc.core.db.begin().await?;
    db::remove_item(&mut tx, &a.id).await?;
    let detail = json!({ "occurrence": a.occurrence, "title": a.title, "item_id": a.id });
    audit::record(
        &mut tx,
        now,
        who,
        "meeting.agenda.remove",
        &resource("meetings", &m.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn attendance(
    svc: &Meetings,
    who: &Principal,
    req: &pb::RecordAttendanceRequest,
) -> Result<pb::Occurrence, Error> {
    let mut v = Violations::new();
    if req.attendance.is_empty() {
        v.add("attendance", "name at least one person");
    } else if req.attendance.len() > IDS_MAX {
        v.add("attendance", format!("must name at most {IDS_MAX} people"));
    }
    let mut statuses: Vec<(String, i64)> = Vec::new();
    for (i, a) in req.attendance.iter().enumerate() {
        check_id(&mut v, &format!("attendance[{i}].person_id"), &a.person_id);
        if !(1..=3).contains(&a.status) {
            v.add(
                format!("attendance[{i}].status"),
                "must be present, absent or excused",
            );
        }
        statuses.retain(|(p, _)| *p != a.person_id);
        statuses.push((a.person_id.clone(), i64::from(a.status)));
    }
    let (m, start) = occurrence(svc, &mut v, &req.meeting_id, req.occurrence_index).await?;
    ensure_organizes(svc, who, &m).await?;
    let now = svc.core.now();
    if start > now {
        return Err(Error::precondition(
            "attendance is recorded once the occurrence has started",
        ));
    }
    let mut tx = svc.core.db.begin().await?;
    db::record_attendance(&mut tx, &m.id, req.occurrence_index, &statuses, now).await?;
    let detail = json!({ "occurrence": req.occurrence_index, "people": statuses.len() });
    audit::record(
        &mut tx,
        now,
        who,
        "meeting.attendance",
        &resource("meetings", &m.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    full(svc, &m, req.occurrence_index, start).await
}

pub async fn minutes(
    svc: &Meetings,
    who: &Principal,
    req: &pb::RecordMinutesRequest,
) -> Result<pb::Occurrence, Error> {
    let mut v = Violations::new();
    let text = req.minutes.trim();
    check_text(&mut v, "minutes", text, BODY_MAX);
    let (m, start) = occurrence(svc, &mut v, &req.meeting_id, req.occurrence_index).await?;
    ensure_organizes(svc, who, &m).await?;
    let now = svc.core.now();
    if start > now {
        return Err(Error::precondition(
            "minutes are recorded once the occurrence has started",
        ));
    }
    let index = req.occurrence_index;
    let mut tx = svc.core.db.begin().await?;
    let notice_id = match db::minutes(&mut tx, &m.id, index).await? {
        Some((recorded, notice_id)) if recorded == text => notice_id,
        Some((_, notice_id)) => {
            return Err(Error::precondition(format!(
                "the minutes of this occurrence were already shared as notice {notice_id}"
            )));
        }
        None => {
            let n = minutes_notice(svc, &mut tx, who, &m, index, start, text, now).await?;
            db::record_minutes(&mut tx, &m.id, index, text, &n.id, &who.subject, now).await?;
            let detail = json!({ "occurrence": index, "notice_id": n.id });
            audit::record(
                &mut tx,
                now,
                who,
                "meeting.minutes",
                &resource("meetings", &m.id),
                detail,
            )
            .await?;
            n.id
        }
    };
    tx.commit().await?;
    // Publishing is its own transaction (it asks the directory first); a
    // retry with the same minutes finishes a publish that failed here.
    let n = notices::get(&mut *svc.core.db.pool().acquire().await?, &notice_id, "")
        .await?
        .ok_or_else(|| Error::not_found("notice", &notice_id))?;
    if n.state == NoticeState::Draft {
        svc.core.publish_now(&n.id, who, n.version, true).await?;
    }
    full(svc, &m, index, start).await
}

/// The draft notice that shares the minutes with the participants.
#[allow(clippy::too_many_arguments)]
async fn minutes_notice(
    svc: &Meetings,
    conn: &mut sqlx::AnyConnection,
    who: &Principal,
    m: &Meeting,
    index: i64,
    start: Millis,
    text: &str,
    now: Millis,
) -> Result<Notice, Error> {
    let rule = rules::get(conn, Priority::Normal, "").await?;
    let date = svc.core.zone.date_of(start).format("%Y-%m-%d");
    let n = Notice {
        id: new_id(),
        title: format!("{} · {date}", m.title)
            .chars()
            .take(crate::domain::TITLE_MAX)
            .collect(),
        body: text.to_string(),
        author_id: who.subject.clone(),
        author_department_id: who.department_id.clone().unwrap_or_default(),
        audience: Audience {
            everyone: false,
            department_ids: m.participant_department_ids.clone(),
            include_sub_departments: false,
            person_ids: m.participant_person_ids.clone(),
        },
        priority: Priority::Normal,
        ack_required: rule.ack_required,
        attachments: Vec::new(),
        publish_ms: None,
        expire_ms: None,
        state: NoticeState::Draft,
        published_ms: None,
        recipient_count: 0,
        pushed: false,
        meeting_id: m.id.clone(),
        version: 1,
        created_ms: now,
        updated_ms: now,
    };
    notices::insert(conn, &n).await?;
    let detail = json!({ "title": n.title, "meeting_id": m.id, "occurrence": index });
    audit::record(
        conn,
        now,
        who,
        "notice.create",
        &resource("notices", &n.id),
        detail,
    )
    .await?;
    Ok(n)
}

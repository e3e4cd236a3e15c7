//! Notices published by heads and the administrator, partly read and
//! acknowledged, with reminders; recurring meetings with agenda,
//! attendance and minutes shared as notices.

use anyhow::Context as _;
use concord_kit::clock::to_timestamp;
use concord_proto::directory::v1::Person;
use concord_proto::notices::v1::*;
use futures::{StreamExt, TryStreamExt};

use super::content::{Actor, Audience as Who, MeetingSpec, NoticeSpec};
use super::org::Org;
use super::session::{Session, call, chance, pages};

/// The person an actor of the content is.
pub fn actor(org: &Org, a: Actor) -> &Person {
    match a {
        Actor::Admin => org.admin(),
        Actor::Coordinator => org.coordinator(),
        Actor::Head(key) => org.head(key),
    }
}

pub async fn notices(s: &Session, org: &Org) -> anyhow::Result<()> {
    for spec in s.content.notices {
        let notice = publish(s, org, spec)
            .await
            .with_context(|| format!("publishing the notice {}", spec.title))?;
        read(s, org, spec, &notice).await?;
        s.step(spec.title);
    }
    Ok(())
}

async fn publish(s: &Session, org: &Org, spec: &NoticeSpec) -> anyhow::Result<Notice> {
    let author = actor(org, spec.author);
    let conn = s.as_person(author)?;
    let mine = pages!(
        conn.notices(),
        list_notices,
        ListNoticesRequest {
            author_id: author.id.clone(),
            ..Default::default()
        },
        notices
    );
    let draft = match mine.into_iter().find(|n| n.title == spec.title) {
        Some(n) if n.state != NoticeState::Draft as i32 => {
            s.found();
            return Ok(n);
        }
        Some(n) => n,
        None => {
            let audience = match spec.audience {
                Who::Everyone => Audience {
                    everyone: true,
                    ..Default::default()
                },
                Who::Departments(keys) => Audience {
                    department_ids: keys.iter().map(|k| org.id(k)).collect(),
                    include_sub_departments: true,
                    ..Default::default()
                },
            };
            s.made();
            call!(
                conn.notices(),
                create_notice,
                CreateNoticeRequest {
                    request_id: s.rid(&["notice", spec.key]),
                    title: spec.title.into(),
                    body: spec.body.into(),
                    audience: Some(audience),
                    priority: spec.priority,
                    acknowledgement_required: Some(spec.ack),
                    ..Default::default()
                }
            )?
        }
    };
    Ok(call!(
        conn.notices(),
        publish_notice,
        PublishNoticeRequest {
            id: draft.id,
            etag: String::new(),
        }
    )?)
}

/// Recipients read (and acknowledge) it by the spec's shares; the author
/// then reminds those who have not.
async fn read(s: &Session, org: &Org, spec: &NoticeSpec, notice: &Notice) -> anyhow::Result<()> {
    let recipients: Vec<&Person> = match spec.audience {
        Who::Everyone => org.everyone(),
        Who::Departments(keys) => org
            .everyone()
            .into_iter()
            .filter(|p| {
                org.key_of(&p.department_id)
                    .is_some_and(|k| keys.iter().any(|a| org.within(k, a)))
            })
            .collect(),
    };
    futures::stream::iter(recipients)
        .map(|p| async move {
            let seed = format!("{}:{}", spec.key, p.email);
            if !chance(&seed, spec.read) {
                return anyhow::Ok(());
            }
            let conn = s.as_person(p)?;
            let id = notice.id.clone();
            if spec.ack && chance(&format!("{seed}:ack"), spec.acknowledged) {
                call!(
                    conn.notices(),
                    acknowledge_notice,
                    AcknowledgeNoticeRequest { notice_id: id }
                )?;
            } else {
                call!(
                    conn.notices(),
                    mark_notice_read,
                    MarkNoticeReadRequest { notice_id: id }
                )?;
            }
            Ok(())
        })
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
        .with_context(|| format!("reading the notice {}", spec.title))?;
    let target = match (spec.ack, spec.read < 60) {
        (true, _) => ReceiptFilter::Unacknowledged,
        (false, true) => ReceiptFilter::Unread,
        (false, false) => return Ok(()),
    };
    let author = s.as_person(actor(org, spec.author))?;
    call!(
        author.notices(),
        remind_unread,
        RemindUnreadRequest {
            request_id: s.rid(&["remind", spec.key]),
            notice_id: notice.id.clone(),
            target: target as i32,
        }
    )
    .with_context(|| format!("reminding about {}", spec.title))?;
    Ok(())
}

pub async fn meetings(s: &Session, org: &Org) -> anyhow::Result<()> {
    for spec in s.content.meetings {
        meeting(s, org, spec)
            .await
            .with_context(|| format!("the meeting {}", spec.title))?;
        s.step(spec.title);
    }
    Ok(())
}

async fn meeting(s: &Session, org: &Org, spec: &MeetingSpec) -> anyhow::Result<()> {
    let organizer = s.as_person(actor(org, spec.organizer))?;
    let heads: Vec<&Person> = if spec.heads { org.heads() } else { Vec::new() };
    let existing = pages!(
        organizer.meetings(),
        list_meetings,
        ListMeetingsRequest {
            organizing_department_id: org.id(spec.department),
            ..Default::default()
        },
        meetings
    );
    let m = match existing.into_iter().find(|m| m.title == spec.title) {
        Some(m) => {
            s.found();
            m
        }
        None => {
            s.made();
            call!(
                organizer.meetings(),
                create_meeting,
                CreateMeetingRequest {
                    request_id: s.rid(&["meeting", spec.key]),
                    meeting: Some(Meeting {
                        title: spec.title.into(),
                        description: spec.description.into(),
                        recurrence: spec.recurrence,
                        first_start_time: Some(to_timestamp(s.local_at(
                            -spec.first_days_ago,
                            spec.hour,
                            spec.minute
                        ))),
                        duration: Some(prost_types::Duration {
                            seconds: 3600,
                            nanos: 0
                        }),
                        location: spec.location.into(),
                        organizing_department_id: org.id(spec.department),
                        participant_department_ids: spec
                            .departments
                            .iter()
                            .map(|k| org.id(k))
                            .collect(),
                        participant_person_ids: heads.iter().map(|p| p.id.clone()).collect(),
                        ..Default::default()
                    }),
                }
            )?
        }
    };
    // The occurrences that have begun, oldest first.
    let mut past = Vec::new();
    for index in 0..12 {
        let o = call!(
            organizer.meetings(),
            get_occurrence,
            GetOccurrenceRequest {
                meeting_id: m.id.clone(),
                occurrence_index: index,
            }
        )?;
        let started = o
            .start_time
            .as_ref()
            .and_then(concord_kit::clock::from_timestamp)
            .is_some_and(|t| t <= s.now);
        if !started {
            break;
        }
        past.push(o);
    }
    let mut attendees: Vec<&Person> = heads.clone();
    for k in spec.departments {
        attendees.extend(org.subtree(k));
    }
    attendees.sort_by(|a, b| a.id.cmp(&b.id));
    attendees.dedup_by(|a, b| a.id == b.id);
    for o in &past {
        let attendance: Vec<Attendance> = attendees
            .iter()
            .map(|p| {
                let seed = format!("{}:{}:{}", spec.key, o.index, p.email);
                let status = if chance(&seed, 6) {
                    AttendanceStatus::Absent
                } else if chance(&format!("{seed}:x"), 6) {
                    AttendanceStatus::Excused
                } else {
                    AttendanceStatus::Present
                };
                Attendance {
                    person_id: p.id.clone(),
                    status: status as i32,
                }
            })
            .collect();
        call!(
            organizer.meetings(),
            record_attendance,
            RecordAttendanceRequest {
                meeting_id: m.id.clone(),
                occurrence_index: o.index,
                attendance,
            }
        )?;
    }
    // Agenda for the latest occurrence that began and the next one.
    let next = past.len() as i64;
    for index in [next - 1, next].into_iter().filter(|i| *i >= 0) {
        for (n, title) in spec.agenda.iter().enumerate() {
            let proposer =
                s.as_person(heads.get(n).copied().unwrap_or(actor(org, spec.organizer)))?;
            let minutes_done = past
                .get(index as usize)
                .is_some_and(|o| !o.minutes.is_empty());
            if minutes_done {
                continue;
            }
            let agenda = call!(
                organizer.meetings(),
                get_occurrence,
                GetOccurrenceRequest {
                    meeting_id: m.id.clone(),
                    occurrence_index: index,
                }
            )?
            .agenda;
            if agenda.iter().any(|a| a.title == *title) {
                continue;
            }
            call!(
                proposer.meetings(),
                add_agenda_item,
                AddAgendaItemRequest {
                    request_id: s.rid(&["agenda", spec.key, &index.to_string(), title]),
                    meeting_id: m.id.clone(),
                    occurrence_index: index,
                    title: title.to_string(),
                }
            )?;
        }
    }
    // Minutes of the earlier occurrences (the latest stays open).
    for (o, text) in past.iter().zip(spec.minutes) {
        if o.minutes.is_empty() && (o.index + 1) < next {
            call!(
                organizer.meetings(),
                record_minutes,
                RecordMinutesRequest {
                    meeting_id: m.id.clone(),
                    occurrence_index: o.index,
                    minutes: text.to_string(),
                }
            )?;
        }
    }
    Ok(())
}

//! Recurring cross-department meetings: the series, upcoming occurrences,
//! agenda, attendance, and minutes shared as a notice to the participants.

mod common;

use common::*;
use concord_kit::testing::{Backend, bad_fields};
use concord_proto::notices::v1::*;
use prost_types::FieldMask;
use tonic::Code;

const WEEK_MS: i64 = 7 * 86_400_000;

fn weekly(o: &Org, first: i64) -> Meeting {
    Meeting {
        title: "安全生产协调会 Safety coordination".into(),
        description: "每周一次，跨部门。".into(),
        recurrence: Recurrence::Weekly as i32,
        first_start_time: Some(ts(first)),
        duration: Some(prost_types::Duration {
            seconds: 3_600,
            nanos: 0,
        }),
        location: "三楼会议室 / https://meet.example/safety".into(),
        organizing_department_id: o.logistics.clone(),
        participant_department_ids: vec![o.office.clone()],
        participant_person_ids: vec![o.logistics_member.id.clone()],
        ..Default::default()
    }
}

async fn meetings_recur_with_agenda_attendance_and_minutes(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    // Tomorrow (Tuesday 1 December) 09:30 Shanghai, weekly.
    let first = shanghai(2026, 12, 1, 9) + 30 * 60_000;
    let req = CreateMeetingRequest {
        request_id: "m-1".into(),
        meeting: Some(weekly(&o, first)),
    };
    let m = s
        .m()
        .create_meeting(o.coordinator.req(req.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.created_by, o.coordinator.id);
    assert_eq!(
        s.m()
            .create_meeting(o.coordinator.req(req))
            .await
            .unwrap()
            .into_inner()
            .id,
        m.id,
        "idempotent"
    );

    // Upcoming for a participant through their department: the next two weeks.
    let up = s
        .m()
        .list_upcoming_occurrences(
            o.office_member
                .req(ListUpcomingOccurrencesRequest::default()),
        )
        .await
        .unwrap()
        .into_inner()
        .occurrences;
    assert_eq!(up.iter().map(|o| o.index).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(up[1].start_time, Some(ts(first + WEEK_MS)));
    assert_eq!(up[0].end_time, Some(ts(first + 3_600_000)));
    // Not for someone outside.
    let none = s
        .m()
        .list_upcoming_occurrences(
            o.records_member
                .req(ListUpcomingOccurrencesRequest::default()),
        )
        .await
        .unwrap()
        .into_inner();
    assert!(
        none.occurrences.is_empty(),
        "文书科 is below 办公室 but was not invited"
    );

    // Lists: participants and organisers see it; others do not.
    for who in [
        &o.office_member,
        &o.logistics_member,
        &o.coordinator,
        &o.logistics_head,
        &o.admin,
        &o.auditor,
    ] {
        let list = s
            .m()
            .list_meetings(who.req(ListMeetingsRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(list.meetings.len(), 1, "{who:?}");
    }
    let list = s
        .m()
        .list_meetings(o.records_member.req(ListMeetingsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(list.meetings.is_empty());
    let err = s
        .m()
        .get_meeting(o.records_member.req(GetMeetingRequest { id: m.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Agenda: participants propose; the proposer or organisers remove.
    let item = s
        .m()
        .add_agenda_item(o.office_member.req(AddAgendaItemRequest {
            request_id: "a-1".into(),
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            title: "消防通道清理".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let second = s
        .m()
        .add_agenda_item(o.logistics_member.req(AddAgendaItemRequest {
            request_id: String::new(),
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            title: "Fire drill schedule".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let err = s
        .m()
        .remove_agenda_item(o.office_member.req(RemoveAgendaItemRequest {
            id: second.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    s.m()
        .remove_agenda_item(o.coordinator.req(RemoveAgendaItemRequest {
            id: second.id.clone(),
        }))
        .await
        .unwrap();

    // Attendance and minutes wait until the meeting has started.
    let attendance = vec![
        Attendance {
            person_id: o.office_member.id.clone(),
            status: AttendanceStatus::Present as i32,
        },
        Attendance {
            person_id: o.logistics_member.id.clone(),
            status: AttendanceStatus::Excused as i32,
        },
    ];
    let record = RecordAttendanceRequest {
        meeting_id: m.id.clone(),
        occurrence_index: 0,
        attendance: attendance.clone(),
    };
    let err = s
        .m()
        .record_attendance(o.coordinator.req(record.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    s.clock.set(first + 3_600_000);
    let occ = s
        .m()
        .record_attendance(o.coordinator.req(record))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(occ.attendance.len(), 2);
    assert_eq!(
        occ.agenda.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [item.id.as_str()]
    );

    let minutes = "## 决议\n1. 本周五前清理消防通道。\n2. Fire drill on 12 December.";
    let occ = s
        .m()
        .record_minutes(o.coordinator.req(RecordMinutesRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            minutes: minutes.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(occ.minutes, minutes);
    assert!(!occ.minutes_notice_id.is_empty());
    // Shared as a notice with the participants: 办公室 without its
    // sub-departments (the head and the member) and the named logistics member.
    let n = s.notice(&o.admin, &occ.minutes_notice_id).await;
    assert_eq!(n.state, NoticeState::Published as i32);
    assert_eq!(n.meeting_id, m.id);
    assert_eq!(n.recipient_count, 3);
    assert!(n.title.contains("安全生产协调会"));
    let inbox = s.inbox(&o.logistics_member, true).await;
    assert_eq!(
        inbox.items[0].notice.as_ref().unwrap().id,
        occ.minutes_notice_id
    );
    assert!(s.inbox(&o.records_member, false).await.items.is_empty());
    // The same minutes again change nothing; other minutes are refused.
    let again = s
        .m()
        .record_minutes(o.coordinator.req(RecordMinutesRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            minutes: minutes.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.minutes_notice_id, occ.minutes_notice_id);
    let err = s
        .m()
        .record_minutes(o.coordinator.req(RecordMinutesRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            minutes: "别的".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = s
        .m()
        .add_agenda_item(o.office_member.req(AddAgendaItemRequest {
            request_id: String::new(),
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            title: "迟到的议题".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "the agenda closes with the minutes"
    );
    let got = s
        .m()
        .get_occurrence(o.office_member.req(GetOccurrenceRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 0,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, occ);

    // Changing and cancelling the series.
    let mut change = m.clone();
    change.location = "五楼大会议室".into();
    change.participant_department_ids = vec![o.office.clone(), o.records.clone()];
    let mask = FieldMask {
        paths: vec!["location".into(), "participant_department_ids".into()],
    };
    let updated = s
        .m()
        .update_meeting(o.logistics_head.req(UpdateMeetingRequest {
            meeting: Some(change.clone()),
            update_mask: Some(mask.clone()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.location, "五楼大会议室");
    assert_eq!(updated.participant_department_ids.len(), 2);
    let err = s
        .m()
        .update_meeting(o.logistics_head.req(UpdateMeetingRequest {
            meeting: Some(change),
            update_mask: Some(mask),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = s
        .m()
        .cancel_meeting(o.office_head.req(CancelMeetingRequest {
            id: m.id.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "the office head does not organise it"
    );
    let cancelled = s
        .m()
        .cancel_meeting(o.coordinator.req(CancelMeetingRequest {
            id: m.id.clone(),
            etag: updated.etag.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(cancelled.cancelled);
    let up = s
        .m()
        .list_upcoming_occurrences(
            o.office_member
                .req(ListUpcomingOccurrencesRequest::default()),
        )
        .await
        .unwrap()
        .into_inner();
    assert!(up.occurrences.is_empty());
    let err = s
        .m()
        .get_occurrence(o.office_member.req(GetOccurrenceRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 1,
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["occurrence_index"]);
    assert!(
        s.m()
            .list_meetings(o.office_member.req(ListMeetingsRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .meetings
            .is_empty()
    );
    let with_cancelled = s
        .m()
        .list_meetings(o.office_member.req(ListMeetingsRequest {
            include_cancelled: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(with_cancelled.meetings.len(), 1);
}

async fn monthly_meetings_and_who_may_organise(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let first = shanghai(2027, 1, 31, 14);
    let mut spec = weekly(&o, first);
    spec.recurrence = Recurrence::Monthly as i32;
    spec.title = "月度经营分析会".into();
    spec.organizing_department_id = o.office.clone();
    // A head organises for their own subtree only; members not at all.
    let err = s
        .m()
        .create_meeting(o.logistics_head.req(CreateMeetingRequest {
            request_id: String::new(),
            meeting: Some(spec.clone()),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = s
        .m()
        .create_meeting(o.office_member.req(CreateMeetingRequest {
            request_id: String::new(),
            meeting: Some(spec.clone()),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let m = s
        .m()
        .create_meeting(o.office_head.req(CreateMeetingRequest {
            request_id: String::new(),
            meeting: Some(spec),
        }))
        .await
        .unwrap()
        .into_inner();
    let window = ListUpcomingOccurrencesRequest {
        start_time: Some(ts(shanghai(2027, 1, 1, 0))),
        end_time: Some(ts(shanghai(2027, 4, 1, 0))),
        page_size: 10,
    };
    let up = s
        .m()
        .list_upcoming_occurrences(o.logistics_member.req(window))
        .await
        .unwrap()
        .into_inner()
        .occurrences;
    let starts: Vec<_> = up.iter().map(|o| o.start_time.unwrap()).collect();
    assert_eq!(
        starts,
        [
            ts(first),
            ts(shanghai(2027, 2, 28, 14)),
            ts(shanghai(2027, 3, 31, 14))
        ]
    );
    assert!(up.iter().all(|x| x.meeting_id == m.id));
}

concord_kit::backend_tests!(
    meetings_recur_with_agenda_attendance_and_minutes,
    monthly_meetings_and_who_may_organise
);

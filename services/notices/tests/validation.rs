//! Bad input is refused with INVALID_ARGUMENT naming each bad field, for
//! every RPC, before anything is written.

mod common;

use common::*;
use concord_kit::testing::{Backend, bad_fields};
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::notices::v1::*;
use prost_types::FieldMask;
use tonic::{Code, Response, Status};

const NOT_AN_ID: &str = "not-an-id";
const UNKNOWN_ID: &str = "01900000-0000-7000-8000-000000000000";

/// The bad fields of a refused call.
fn bad<T: std::fmt::Debug>(r: Result<Response<T>, Status>) -> Vec<String> {
    let status = r.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    bad_fields(&status)
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

async fn notices_name_every_bad_field(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let a = &o.admin;
    let good = || CreateNoticeRequest {
        title: "通知".into(),
        audience: Some(departments(&[&o.office], false)),
        ..Default::default()
    };
    let create = |r: CreateNoticeRequest| {
        let c = s.n();
        let req = a.req(r);
        async move { c.clone().create_notice(req).await }
    };
    assert_eq!(
        bad(create(CreateNoticeRequest {
            title: " ".into(),
            ..good()
        })
        .await),
        ["title"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            title: "长".repeat(201),
            ..good()
        })
        .await),
        ["title"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            title: "两\n行".into(),
            ..good()
        })
        .await),
        ["title"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            body: "x".repeat(50_001),
            ..good()
        })
        .await),
        ["body"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            request_id: "r".repeat(129),
            ..good()
        })
        .await),
        ["request_id"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            audience: None,
            ..good()
        })
        .await),
        ["audience"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            audience: Some(Audience::default()),
            ..good()
        })
        .await),
        ["audience"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            audience: Some(people(&[&o.office_member.id, NOT_AN_ID])),
            ..good()
        })
        .await),
        ["audience.person_ids[1]"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            audience: Some(departments(&[NOT_AN_ID], true)),
            ..good()
        })
        .await),
        ["audience.department_ids[0]"]
    );
    let mixed = Audience {
        everyone: true,
        person_ids: vec![o.office_member.id.clone()],
        ..Default::default()
    };
    assert_eq!(
        bad(create(CreateNoticeRequest {
            audience: Some(mixed),
            ..good()
        })
        .await),
        ["audience.everyone"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            priority: 9,
            ..good()
        })
        .await),
        ["priority"]
    );
    let attachment = |title: &str, url: &str| {
        vec![Attachment {
            title: title.into(),
            url: url.into(),
        }]
    };
    assert_eq!(
        bad(create(CreateNoticeRequest {
            attachments: attachment("表", "ftp://x/y"),
            ..good()
        })
        .await),
        ["attachments[0].url"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            attachments: attachment("", "https://a.example/b c"),
            ..good()
        })
        .await),
        ["attachments[0].title", "attachments[0].url"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            publish_time: Some(ts(t0() - 1)),
            ..good()
        })
        .await),
        ["publish_time"]
    );
    assert_eq!(
        bad(create(CreateNoticeRequest {
            publish_time: Some(ts(t0() + 10_000)),
            expire_time: Some(ts(t0() + 5_000)),
            ..good()
        })
        .await),
        ["expire_time"]
    );
    let nonsense = prost_types::Timestamp {
        seconds: 1,
        nanos: -5,
    };
    assert_eq!(
        bad(create(CreateNoticeRequest {
            expire_time: Some(nonsense),
            ..good()
        })
        .await),
        ["expire_time"]
    );
    // Several at once, each named.
    assert_eq!(
        bad(create(CreateNoticeRequest {
            title: String::new(),
            priority: 7,
            audience: None,
            ..good()
        })
        .await),
        ["title", "audience", "priority"]
    );
    // Unknown (well-formed) departments are named when the audience is resolved.
    let unknown = create(CreateNoticeRequest {
        audience: Some(departments(&[UNKNOWN_ID], false)),
        ..good()
    })
    .await
    .unwrap()
    .into_inner();
    assert_eq!(
        bad(s
            .n()
            .publish_notice(a.req(PublishNoticeRequest {
                id: unknown.id.clone(),
                etag: String::new()
            }))
            .await),
        ["audience.department_ids[0]"]
    );

    let n = create(good()).await.unwrap().into_inner();
    assert_eq!(
        bad(s
            .n()
            .get_notice(a.req(GetNoticeRequest { id: String::new() }))
            .await),
        ["id"]
    );
    assert_eq!(
        bad(s
            .n()
            .get_notice(a.req(GetNoticeRequest {
                id: NOT_AN_ID.into()
            }))
            .await),
        ["id"]
    );
    assert_eq!(
        s.n()
            .get_notice(a.req(GetNoticeRequest {
                id: UNKNOWN_ID.into()
            }))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        bad(s
            .n()
            .list_notices(a.req(ListNoticesRequest {
                author_id: NOT_AN_ID.into(),
                state: 42,
                page_size: -1,
                ..Default::default()
            }))
            .await),
        ["author_id", "state", "page_size"]
    );
    assert_eq!(
        bad(s
            .n()
            .list_notices(a.req(ListNoticesRequest {
                page_token: "garbage".into(),
                ..Default::default()
            }))
            .await),
        ["page_token"]
    );

    let update = |notice: Option<Notice>, m: Option<FieldMask>| {
        let c = s.n();
        let req = a.req(UpdateNoticeRequest {
            notice,
            update_mask: m,
        });
        async move { c.clone().update_notice(req).await }
    };
    assert_eq!(bad(update(Some(n.clone()), None).await), ["update_mask"]);
    assert_eq!(
        bad(update(Some(n.clone()), mask(&["author_id"])).await),
        ["update_mask"]
    );
    assert_eq!(bad(update(None, mask(&["title"])).await), ["notice"]);
    assert_eq!(
        bad(update(
            Some(Notice {
                id: NOT_AN_ID.into(),
                ..n.clone()
            }),
            mask(&["title"])
        )
        .await),
        ["notice.id"]
    );
    assert_eq!(
        bad(update(
            Some(Notice {
                etag: "W/1".into(),
                ..n.clone()
            }),
            mask(&["title"])
        )
        .await),
        ["notice.etag"]
    );
    assert_eq!(
        bad(update(
            Some(Notice {
                title: String::new(),
                ..n.clone()
            }),
            mask(&["title"])
        )
        .await),
        ["notice.title"]
    );
    assert_eq!(
        bad(update(
            Some(Notice {
                audience: None,
                ..n.clone()
            }),
            mask(&["audience"])
        )
        .await),
        ["notice.audience"]
    );
    assert_eq!(
        bad(update(
            Some(Notice {
                expire_time: Some(ts(t0() - 1)),
                ..n.clone()
            }),
            mask(&["expire_time"])
        )
        .await),
        ["notice.expire_time"]
    );
    // An empty title outside the mask is fine.
    update(
        Some(Notice {
            title: String::new(),
            body: "新正文".into(),
            ..n.clone()
        }),
        mask(&["body"]),
    )
    .await
    .unwrap();

    assert_eq!(
        bad(s
            .n()
            .publish_notice(a.req(PublishNoticeRequest {
                id: NOT_AN_ID.into(),
                etag: "x".into()
            }))
            .await),
        ["id", "etag"]
    );
    assert_eq!(
        bad(s
            .n()
            .retract_notice(a.req(RetractNoticeRequest {
                id: String::new(),
                etag: String::new(),
                reason: "因".repeat(1_001)
            }))
            .await),
        ["id", "reason"]
    );
    let m = &o.office_member;
    assert_eq!(
        bad(s
            .n()
            .list_inbox(m.req(ListInboxRequest {
                page_size: -5,
                ..Default::default()
            }))
            .await),
        ["page_size"]
    );
    assert_eq!(
        bad(s
            .n()
            .list_inbox(m.req(ListInboxRequest {
                page_token: "zz".into(),
                ..Default::default()
            }))
            .await),
        ["page_token"]
    );
    assert_eq!(
        bad(s
            .n()
            .mark_notice_read(m.req(MarkNoticeReadRequest {
                notice_id: NOT_AN_ID.into()
            }))
            .await),
        ["notice_id"]
    );
    assert_eq!(
        bad(s
            .n()
            .acknowledge_notice(m.req(AcknowledgeNoticeRequest {
                notice_id: String::new()
            }))
            .await),
        ["notice_id"]
    );
    assert_eq!(
        bad(s
            .n()
            .watch_inbox(m.req(WatchInboxRequest { after_sequence: -1 }))
            .await),
        ["after_sequence"]
    );
    assert_eq!(
        bad(s
            .n()
            .get_receipt_summary(a.req(GetReceiptSummaryRequest {
                notice_id: NOT_AN_ID.into()
            }))
            .await),
        ["notice_id"]
    );
    assert_eq!(
        bad(s
            .n()
            .list_receipts(a.req(ListReceiptsRequest {
                notice_id: NOT_AN_ID.into(),
                filter: 9,
                page_size: -1,
                ..Default::default()
            }))
            .await),
        ["notice_id", "filter", "page_size"]
    );
    assert_eq!(
        bad(s
            .n()
            .remind_unread(a.req(RemindUnreadRequest {
                request_id: "r".repeat(200),
                notice_id: NOT_AN_ID.into(),
                target: ReceiptFilter::Read as i32
            }))
            .await),
        ["request_id", "notice_id", "target"]
    );
    // Acknowledging a notice that does not ask for it is a wrong state, not bad input.
    let p = s.publish(a, "无需确认", people(&[&m.id])).await;
    let err = s
        .n()
        .acknowledge_notice(m.req(AcknowledgeNoticeRequest {
            notice_id: p.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let rule = s
        .n()
        .list_communication_rules(a.req(ListCommunicationRulesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .rules;
    let rule_update = |r: Option<CommunicationRule>, m: Option<FieldMask>| {
        let c = s.n();
        let req = a.req(UpdateCommunicationRuleRequest {
            rule: r,
            update_mask: m,
        });
        async move { c.clone().update_communication_rule(req).await }
    };
    assert_eq!(
        bad(rule_update(None, mask(&["push_end_hour"])).await),
        ["rule"]
    );
    assert_eq!(
        bad(rule_update(Some(rule[0].clone()), None).await),
        ["update_mask"]
    );
    assert_eq!(
        bad(rule_update(
            Some(CommunicationRule {
                priority: 0,
                ..rule[0].clone()
            }),
            mask(&["push_end_hour"])
        )
        .await),
        ["rule.priority"]
    );
    assert_eq!(
        bad(rule_update(
            Some(CommunicationRule {
                etag: "nope".into(),
                ..rule[0].clone()
            }),
            mask(&["push_end_hour"])
        )
        .await),
        ["rule.etag"]
    );
    assert_eq!(
        bad(rule_update(
            Some(CommunicationRule {
                push_end_hour: 25,
                ..rule[0].clone()
            }),
            mask(&["push_end_hour"])
        )
        .await),
        ["rule.push_end_hour"]
    );
    assert_eq!(
        bad(rule_update(
            Some(CommunicationRule {
                push_start_hour: 21,
                ..rule[0].clone()
            }),
            mask(&["push_start_hour"])
        )
        .await),
        ["rule.push_end_hour"]
    );
    assert_eq!(
        bad(rule_update(
            Some(CommunicationRule {
                push_start_hour: -1,
                ..rule[0].clone()
            }),
            mask(&["push_start_hour"])
        )
        .await),
        ["rule.push_start_hour"]
    );
    assert_eq!(
        bad(rule_update(
            Some(CommunicationRule {
                push_start_hour: 8,
                ..rule[2].clone()
            }),
            mask(&["push_start_hour"])
        )
        .await),
        ["rule.push_start_hour"]
    );

    let grant = |person_id: &str, department_id: &str| CreatePublishingGrantRequest {
        request_id: String::new(),
        person_id: person_id.into(),
        department_id: department_id.into(),
    };
    assert_eq!(
        bad(s
            .n()
            .create_publishing_grant(a.req(grant(NOT_AN_ID, NOT_AN_ID)))
            .await),
        ["person_id", "department_id"]
    );
    assert_eq!(
        bad(s.n().create_publishing_grant(a.req(grant(&m.id, ""))).await),
        ["department_id"]
    );
    assert_eq!(
        bad(s
            .n()
            .create_publishing_grant(a.req(grant(UNKNOWN_ID, &o.office)))
            .await),
        ["person_id"]
    );
    assert_eq!(
        bad(s
            .n()
            .create_publishing_grant(a.req(grant(&m.id, UNKNOWN_ID)))
            .await),
        ["department_id"]
    );
    assert_eq!(
        bad(s
            .n()
            .list_publishing_grants(a.req(ListPublishingGrantsRequest {
                person_id: NOT_AN_ID.into(),
                page_size: -1,
                ..Default::default()
            }))
            .await),
        ["person_id", "page_size"]
    );
    assert_eq!(
        bad(s
            .n()
            .delete_publishing_grant(a.req(DeletePublishingGrantRequest {
                id: NOT_AN_ID.into()
            }))
            .await),
        ["id"]
    );

    let stats = |r: GetNoticeStatisticsRequest| {
        let c = s.n();
        let req = a.req(r);
        async move { c.clone().get_notice_statistics(req).await }
    };
    let period = || GetNoticeStatisticsRequest {
        start_time: Some(ts(t0() - 1_000)),
        end_time: Some(ts(t0() + 1_000)),
        ..Default::default()
    };
    assert_eq!(
        bad(stats(GetNoticeStatisticsRequest::default()).await),
        ["start_time", "end_time"]
    );
    assert_eq!(
        bad(stats(GetNoticeStatisticsRequest {
            end_time: Some(ts(t0() - 5_000)),
            ..period()
        })
        .await),
        ["end_time"]
    );
    assert_eq!(
        bad(stats(GetNoticeStatisticsRequest {
            department_id: NOT_AN_ID.into(),
            person_id: NOT_AN_ID.into(),
            ..period()
        })
        .await),
        ["department_id", "person_id"]
    );
    assert_eq!(
        bad(stats(GetNoticeStatisticsRequest {
            department_id: UNKNOWN_ID.into(),
            ..period()
        })
        .await),
        ["department_id"]
    );
    assert_eq!(
        bad(s
            .n()
            .list_audit_entries(a.req(ListAuditEntriesRequest {
                page_size: -1,
                ..Default::default()
            }))
            .await),
        ["page_size"]
    );
}

async fn meetings_name_every_bad_field(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let a = &o.admin;
    let good = || Meeting {
        title: "周例会".into(),
        recurrence: Recurrence::Biweekly as i32,
        first_start_time: Some(ts(t0() + 3_600_000)),
        duration: Some(prost_types::Duration {
            seconds: 1_800,
            nanos: 0,
        }),
        location: "二楼".into(),
        organizing_department_id: o.office.clone(),
        participant_department_ids: vec![o.logistics.clone()],
        ..Default::default()
    };
    let create = |m: Option<Meeting>| {
        let c = s.m();
        let req = a.req(CreateMeetingRequest {
            request_id: String::new(),
            meeting: m,
        });
        async move { c.clone().create_meeting(req).await }
    };
    assert_eq!(bad(create(None).await), ["meeting"]);
    assert_eq!(
        bad(create(Some(Meeting {
            title: String::new(),
            ..good()
        }))
        .await),
        ["meeting.title"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            recurrence: 0,
            ..good()
        }))
        .await),
        ["meeting.recurrence"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            first_start_time: None,
            ..good()
        }))
        .await),
        ["meeting.first_start_time"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            duration: None,
            ..good()
        }))
        .await),
        ["meeting.duration"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            duration: Some(prost_types::Duration {
                seconds: 90_000,
                nanos: 0
            }),
            ..good()
        }))
        .await),
        ["meeting.duration"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            location: " ".into(),
            ..good()
        }))
        .await),
        ["meeting.location"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            organizing_department_id: NOT_AN_ID.into(),
            ..good()
        }))
        .await),
        ["meeting.organizing_department_id"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            participant_department_ids: vec![],
            ..good()
        }))
        .await),
        ["meeting.participant_department_ids"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            participant_person_ids: vec![NOT_AN_ID.into()],
            ..good()
        }))
        .await),
        ["meeting.participant_person_ids[0]"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            until_time: Some(ts(t0())),
            ..good()
        }))
        .await),
        ["meeting.until_time"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            organizing_department_id: UNKNOWN_ID.into(),
            ..good()
        }))
        .await),
        ["meeting.organizing_department_id"]
    );
    assert_eq!(
        bad(create(Some(Meeting {
            participant_department_ids: vec![o.office.clone(), UNKNOWN_ID.into()],
            ..good()
        }))
        .await),
        ["meeting.participant_department_ids[1]"]
    );
    let m = create(Some(good())).await.unwrap().into_inner();

    assert_eq!(
        bad(s
            .m()
            .get_meeting(a.req(GetMeetingRequest {
                id: NOT_AN_ID.into()
            }))
            .await),
        ["id"]
    );
    assert_eq!(
        bad(s
            .m()
            .list_meetings(a.req(ListMeetingsRequest {
                organizing_department_id: NOT_AN_ID.into(),
                page_size: -2,
                ..Default::default()
            }))
            .await),
        ["organizing_department_id", "page_size"]
    );
    let update = |meeting: Option<Meeting>, m: Option<FieldMask>| {
        let c = s.m();
        let req = a.req(UpdateMeetingRequest {
            meeting,
            update_mask: m,
        });
        async move { c.clone().update_meeting(req).await }
    };
    assert_eq!(bad(update(Some(m.clone()), None).await), ["update_mask"]);
    assert_eq!(
        bad(update(Some(m.clone()), mask(&["recurrence"])).await),
        ["update_mask"]
    );
    assert_eq!(bad(update(None, mask(&["title"])).await), ["meeting"]);
    assert_eq!(
        bad(update(
            Some(Meeting {
                id: NOT_AN_ID.into(),
                etag: "e".into(),
                ..m.clone()
            }),
            mask(&["title"])
        )
        .await),
        ["meeting.id", "meeting.etag"]
    );
    assert_eq!(
        bad(update(
            Some(Meeting {
                title: "\t".into(),
                ..m.clone()
            }),
            mask(&["title"])
        )
        .await),
        ["meeting.title"]
    );
    assert_eq!(
        bad(s
            .m()
            .cancel_meeting(a.req(CancelMeetingRequest {
                id: String::new(),
                etag: "x".into()
            }))
            .await),
        ["id", "etag"]
    );

    let upcoming = |start: Option<i64>, end: Option<i64>, page_size: i32| {
        let c = s.m();
        let req = a.req(ListUpcomingOccurrencesRequest {
            start_time: start.map(ts),
            end_time: end.map(ts),
            page_size,
        });
        async move { c.clone().list_upcoming_occurrences(req).await }
    };
    assert_eq!(
        bad(upcoming(Some(t0()), Some(t0() - 1), 0).await),
        ["end_time"]
    );
    assert_eq!(
        bad(upcoming(Some(t0()), Some(t0() + 93 * 86_400_000), 0).await),
        ["end_time"]
    );
    assert_eq!(bad(upcoming(None, None, -1).await), ["page_size"]);
    assert_eq!(
        bad(s
            .m()
            .get_occurrence(a.req(GetOccurrenceRequest {
                meeting_id: NOT_AN_ID.into(),
                occurrence_index: -1
            }))
            .await),
        ["meeting_id", "occurrence_index"]
    );
    assert_eq!(
        bad(s
            .m()
            .add_agenda_item(a.req(AddAgendaItemRequest {
                request_id: String::new(),
                meeting_id: m.id.clone(),
                occurrence_index: 0,
                title: String::new()
            }))
            .await),
        ["title"]
    );
    assert_eq!(
        bad(s
            .m()
            .remove_agenda_item(a.req(RemoveAgendaItemRequest {
                id: NOT_AN_ID.into()
            }))
            .await),
        ["id"]
    );
    let attend = |attendance: Vec<Attendance>| {
        let c = s.m();
        let req = a.req(RecordAttendanceRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            attendance,
        });
        async move { c.clone().record_attendance(req).await }
    };
    assert_eq!(bad(attend(vec![]).await), ["attendance"]);
    assert_eq!(
        bad(attend(vec![Attendance {
            person_id: NOT_AN_ID.into(),
            status: 0
        }])
        .await),
        ["attendance[0].person_id", "attendance[0].status"]
    );
    assert_eq!(
        bad(s
            .m()
            .record_minutes(a.req(RecordMinutesRequest {
                meeting_id: m.id.clone(),
                occurrence_index: 0,
                minutes: "  ".into()
            }))
            .await),
        ["minutes"]
    );
}

concord_kit::backend_tests!(notices_name_every_bad_field, meetings_name_every_bad_field);

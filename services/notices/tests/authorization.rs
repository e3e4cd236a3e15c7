//! Who may call what, for every RPC: allowed and denied per role (admin,
//! department head of the right and of the wrong subtree, a head above the
//! author, coordinator, member, auditor, service, nobody).

mod common;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::notices::v1::*;
use concord_proto::policy::v1::Role;
use futures::StreamExt;
use prost_types::FieldMask;
use tonic::{Code, Response, Status};

/// The outcome of a call as a code (`Ok` when it succeeded).
fn code<T>(r: Result<Response<T>, Status>) -> Code {
    r.map_or_else(|s| s.code(), |_| Code::Ok)
}

const OK: Code = Code::Ok;
const DENIED: Code = Code::PermissionDenied;

fn nobody<T>(msg: T) -> tonic::Request<T> {
    tonic::Request::new(msg)
}

async fn notice_rpcs_allow_and_deny_per_role(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let hq_head = person(
        &s.directory,
        &o.admin.token,
        "总部刘总",
        &o.hq,
        Role::DepartmentHead,
    )
    .await;
    let n = s
        .publish(
            &o.office_head,
            "办公室通知",
            departments(&[&o.office], true),
        )
        .await;
    let draft = s
        .draft(&o.office_head, "草稿", departments(&[&o.office], false))
        .await;
    let c = s.n();

    // CreateNotice.
    let create = |audience: Audience| CreateNoticeRequest {
        title: "通知".into(),
        audience: Some(audience),
        ..Default::default()
    };
    let cases = [
        (&o.admin, everyone(), OK),
        (&o.office_head, departments(&[&o.records], false), OK),
        (&o.office_head, people(&[&o.records_member.id]), OK),
        (&o.office_head, departments(&[&o.logistics], false), DENIED),
        (&o.office_head, everyone(), DENIED),
        (&o.office_head, people(&[&o.logistics_member.id]), DENIED),
        (&hq_head, departments(&[&o.logistics], true), OK),
        (&o.office_member, departments(&[&o.office], false), DENIED),
        (&o.coordinator, departments(&[&o.logistics], false), DENIED),
        (&o.auditor, departments(&[&o.office], false), DENIED),
        // Other services publish on the organisation's behalf (decisions
        // tells informed departments of an outcome).
        (&o.service, departments(&[&o.office], false), OK),
    ];
    for (who, audience, expected) in cases {
        assert_eq!(
            code(
                c.clone()
                    .create_notice(who.req(create(audience.clone())))
                    .await
            ),
            expected,
            "{who:?} {audience:?}"
        );
    }
    assert_eq!(
        code(c.clone().create_notice(nobody(create(everyone()))).await),
        Code::Unauthenticated
    );

    // GetNotice: managers, auditors and recipients.
    for (who, expected) in [
        (&o.office_head, OK),
        (&hq_head, OK),
        (&o.admin, OK),
        (&o.auditor, OK),
        (&o.records_member, OK),
        (&o.logistics_member, DENIED),
        (&o.logistics_head, DENIED),
        (&o.service, DENIED),
    ] {
        assert_eq!(
            code(
                c.clone()
                    .get_notice(who.req(GetNoticeRequest { id: n.id.clone() }))
                    .await
            ),
            expected,
            "{who:?}"
        );
    }
    assert_eq!(
        code(
            c.clone()
                .get_notice(o.office_member.req(GetNoticeRequest {
                    id: draft.id.clone()
                }))
                .await
        ),
        DENIED,
        "drafts are not addressed yet"
    );
    assert_eq!(
        code(
            c.clone()
                .get_notice(nobody(GetNoticeRequest { id: n.id.clone() }))
                .await
        ),
        Code::Unauthenticated
    );

    // ListNotices shows each caller only what they manage: the office
    // head's four notices (two made above) to the heads above and admins.
    for (who, count) in [
        (&o.office_head, 4),
        (&hq_head, 4),
        (&o.admin, 4),
        (&o.auditor, 4),
        (&o.logistics_head, 0),
        (&o.records_member, 0),
    ] {
        let listed = c
            .clone()
            .list_notices(who.req(ListNoticesRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .notices;
        let by_office_head = listed
            .iter()
            .filter(|x| x.author_id == o.office_head.id)
            .count();
        assert_eq!(by_office_head, count, "{who:?}");
    }

    // UpdateNotice, PublishNotice, RetractNotice: the author, heads above, admins.
    let mut change = draft.clone();
    change.body = "改过的正文".into();
    let update = |who: &Who, notice: Notice| {
        who.req(UpdateNoticeRequest {
            notice: Some(notice),
            update_mask: Some(FieldMask {
                paths: vec!["body".into()],
            }),
        })
    };
    for (who, expected) in [
        (&o.logistics_head, DENIED),
        (&o.office_member, DENIED),
        (&o.auditor, DENIED),
        (&o.service, DENIED),
    ] {
        assert_eq!(
            code(c.clone().update_notice(update(who, change.clone())).await),
            expected,
            "{who:?}"
        );
        let publish = who.req(PublishNoticeRequest {
            id: draft.id.clone(),
            etag: String::new(),
        });
        assert_eq!(
            code(c.clone().publish_notice(publish).await),
            expected,
            "{who:?}"
        );
        let retract = who.req(RetractNoticeRequest {
            id: n.id.clone(),
            ..Default::default()
        });
        assert_eq!(
            code(c.clone().retract_notice(retract).await),
            expected,
            "{who:?}"
        );
    }
    let changed = c
        .clone()
        .update_notice(update(&hq_head, change.clone()))
        .await
        .unwrap()
        .into_inner();
    let mut again = changed.clone();
    again.body = "作者再改".into();
    assert_eq!(
        code(c.clone().update_notice(update(&o.office_head, again)).await),
        OK
    );
    assert_eq!(
        code(
            c.clone()
                .publish_notice(o.admin.req(PublishNoticeRequest {
                    id: draft.id.clone(),
                    etag: String::new()
                }))
                .await
        ),
        OK
    );

    // The inbox is one's own.
    for who in [&o.records_member, &o.auditor, &o.service, &o.admin] {
        assert_eq!(
            code(
                c.clone()
                    .list_inbox(who.req(ListInboxRequest::default()))
                    .await
            ),
            OK
        );
    }
    assert_eq!(
        code(
            c.clone()
                .list_inbox(nobody(ListInboxRequest::default()))
                .await
        ),
        Code::Unauthenticated
    );
    assert_eq!(
        code(
            c.clone()
                .mark_notice_read(o.records_member.req(MarkNoticeReadRequest {
                    notice_id: n.id.clone()
                }))
                .await
        ),
        OK
    );
    assert_eq!(
        code(
            c.clone()
                .mark_notice_read(o.logistics_member.req(MarkNoticeReadRequest {
                    notice_id: n.id.clone()
                }))
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.clone()
                .mark_notice_read(nobody(MarkNoticeReadRequest {
                    notice_id: n.id.clone()
                }))
                .await
        ),
        Code::Unauthenticated
    );
    assert_eq!(
        code(
            c.clone()
                .acknowledge_notice(o.logistics_member.req(AcknowledgeNoticeRequest {
                    notice_id: n.id.clone()
                }))
                .await
        ),
        Code::FailedPrecondition
    );
    assert_eq!(
        code(
            c.clone()
                .acknowledge_notice(nobody(AcknowledgeNoticeRequest {
                    notice_id: n.id.clone()
                }))
                .await
        ),
        Code::Unauthenticated
    );
    // A watcher sees only their own events.
    let mut mine = c
        .clone()
        .watch_inbox(
            o.logistics_member
                .req(WatchInboxRequest { after_sequence: 0 }),
        )
        .await
        .unwrap()
        .into_inner();
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), mine.next())
            .await
            .is_err(),
        "nothing addressed to them"
    );
    assert_eq!(
        code(
            c.clone()
                .watch_inbox(nobody(WatchInboxRequest { after_sequence: 0 }))
                .await
        ),
        Code::Unauthenticated
    );

    // Receipts: managers and auditors; reminders: managers.
    for (who, expected) in [
        (&o.office_head, OK),
        (&hq_head, OK),
        (&o.admin, OK),
        (&o.auditor, OK),
        (&o.records_member, DENIED),
        (&o.logistics_head, DENIED),
        (&o.service, DENIED),
    ] {
        let summary = who.req(GetReceiptSummaryRequest {
            notice_id: n.id.clone(),
        });
        assert_eq!(
            code(c.clone().get_receipt_summary(summary).await),
            expected,
            "{who:?}"
        );
        let list = who.req(ListReceiptsRequest {
            notice_id: n.id.clone(),
            ..Default::default()
        });
        assert_eq!(
            code(c.clone().list_receipts(list).await),
            expected,
            "{who:?}"
        );
    }
    for (who, expected) in [
        (&o.office_head, OK),
        (&hq_head, OK),
        (&o.admin, OK),
        (&o.auditor, DENIED),
        (&o.records_member, DENIED),
        (&o.logistics_head, DENIED),
    ] {
        let remind = who.req(RemindUnreadRequest {
            request_id: String::new(),
            notice_id: n.id.clone(),
            target: 0,
        });
        assert_eq!(
            code(c.clone().remind_unread(remind).await),
            expected,
            "{who:?}"
        );
    }

    // Communication rules: everybody reads, admins change.
    let rules = c
        .clone()
        .list_communication_rules(o.service.req(ListCommunicationRulesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .rules;
    let rule = UpdateCommunicationRuleRequest {
        rule: Some(rules[1].clone()),
        update_mask: Some(FieldMask {
            paths: vec!["acknowledgement_required".into()],
        }),
    };
    for who in [
        &o.office_head,
        &o.auditor,
        &o.records_member,
        &o.coordinator,
        &o.service,
    ] {
        assert_eq!(
            code(
                c.clone()
                    .update_communication_rule(who.req(rule.clone()))
                    .await
            ),
            DENIED,
            "{who:?}"
        );
    }
    assert_eq!(
        code(c.clone().update_communication_rule(o.admin.req(rule)).await),
        OK
    );

    // Grants: heads within their subtree, admins anywhere.
    let grant = |person: &Who, department: &str| CreatePublishingGrantRequest {
        request_id: String::new(),
        person_id: person.id.clone(),
        department_id: department.into(),
    };
    for (who, req, expected) in [
        (
            &o.office_head,
            grant(&o.logistics_member, &o.office),
            DENIED,
        ),
        (
            &o.office_head,
            grant(&o.office_member, &o.logistics),
            DENIED,
        ),
        (&o.office_member, grant(&o.office_member, &o.office), DENIED),
        (&o.auditor, grant(&o.office_member, &o.office), DENIED),
        (&o.coordinator, grant(&o.coordinator, &o.logistics), DENIED),
        (&o.office_head, grant(&o.records_member, ""), OK),
        (&o.admin, grant(&o.coordinator, &o.logistics), OK),
    ] {
        assert_eq!(
            code(
                c.clone()
                    .create_publishing_grant(who.req(req.clone()))
                    .await
            ),
            expected,
            "{who:?} {req:?}"
        );
    }
    let grants = c
        .clone()
        .list_publishing_grants(o.admin.req(ListPublishingGrantsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .grants;
    let office_grant = grants
        .iter()
        .find(|g| g.person_id == o.records_member.id)
        .unwrap()
        .clone();
    assert_eq!(
        office_grant.department_id, o.office,
        "defaults to the head's department"
    );
    let own = c
        .clone()
        .list_publishing_grants(o.records_member.req(ListPublishingGrantsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .grants;
    assert_eq!(own.len(), 1);
    for (who, expected) in [
        (&o.logistics_head, DENIED),
        (&o.records_member, DENIED),
        (&o.auditor, DENIED),
        (&hq_head, OK),
    ] {
        let delete = who.req(DeletePublishingGrantRequest {
            id: office_grant.id.clone(),
        });
        assert_eq!(
            code(c.clone().delete_publishing_grant(delete).await),
            expected,
            "{who:?}"
        );
    }

    // Statistics: admins, auditors, services, heads for their own subtree.
    let stats = |department: &str| GetNoticeStatisticsRequest {
        department_id: department.into(),
        include_sub_departments: true,
        start_time: Some(ts(t0() - 1_000)),
        end_time: Some(ts(t0() + 1_000)),
        ..Default::default()
    };
    for (who, req, expected) in [
        (&o.admin, stats(""), OK),
        (&o.auditor, stats(""), OK),
        (&o.service, stats(&o.logistics), OK),
        (&o.office_head, stats(&o.office), OK),
        (&o.office_head, stats(&o.records), OK),
        (&o.office_head, stats(&o.logistics), DENIED),
        (&o.office_head, stats(""), DENIED),
        (&o.records_member, stats(&o.records), DENIED),
        (&o.coordinator, stats(&o.logistics), DENIED),
    ] {
        assert_eq!(
            code(c.clone().get_notice_statistics(who.req(req.clone())).await),
            expected,
            "{who:?} {req:?}"
        );
    }

    // The audit trail: admins and auditors.
    for (who, expected) in [
        (&o.admin, OK),
        (&o.auditor, OK),
        (&o.office_head, DENIED),
        (&o.records_member, DENIED),
        (&o.service, DENIED),
    ] {
        assert_eq!(
            code(
                c.clone()
                    .list_audit_entries(who.req(ListAuditEntriesRequest::default()))
                    .await
            ),
            expected,
            "{who:?}"
        );
    }
}

async fn meeting_rpcs_allow_and_deny_per_role(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let c = s.m();
    let spec = |organizer: &str| Meeting {
        title: "联席会议".into(),
        recurrence: Recurrence::Weekly as i32,
        first_start_time: Some(ts(t0() + 3_600_000)),
        duration: Some(prost_types::Duration {
            seconds: 3_600,
            nanos: 0,
        }),
        location: "一楼".into(),
        organizing_department_id: organizer.into(),
        participant_department_ids: vec![o.records.clone()],
        ..Default::default()
    };
    let create = |m: Meeting| CreateMeetingRequest {
        request_id: String::new(),
        meeting: Some(m),
    };
    for (who, organizer, expected) in [
        (&o.office_member, &o.office, DENIED),
        (&o.auditor, &o.office, DENIED),
        (&o.service, &o.office, DENIED),
        (&o.office_head, &o.logistics, DENIED),
        (&o.admin, &o.office, OK),
        (&o.coordinator, &o.office, OK),
    ] {
        assert_eq!(
            code(
                c.clone()
                    .create_meeting(who.req(create(spec(organizer))))
                    .await
            ),
            expected,
            "{who:?}"
        );
    }
    // Organised by 办公室 through its head; 文书科 takes part.
    let m = c
        .clone()
        .create_meeting(o.office_head.req(create(spec(&o.office))))
        .await
        .unwrap()
        .into_inner();

    for (who, expected) in [
        (&o.records_member, OK),
        (&o.office_member, OK),
        (&o.office_head, OK),
        (&o.auditor, OK),
        (&o.admin, OK),
        (&o.logistics_member, DENIED),
        (&o.logistics_head, DENIED),
    ] {
        assert_eq!(
            code(
                c.clone()
                    .get_meeting(who.req(GetMeetingRequest { id: m.id.clone() }))
                    .await
            ),
            expected,
            "{who:?}"
        );
        let occ = who.req(GetOccurrenceRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 0,
        });
        assert_eq!(
            code(c.clone().get_occurrence(occ).await),
            expected,
            "{who:?}"
        );
    }
    for who in [&o.logistics_member, &o.auditor, &o.service] {
        assert_eq!(
            code(
                c.clone()
                    .list_meetings(who.req(ListMeetingsRequest::default()))
                    .await
            ),
            OK
        );
        assert_eq!(
            code(
                c.clone()
                    .list_upcoming_occurrences(who.req(ListUpcomingOccurrencesRequest::default()))
                    .await
            ),
            OK
        );
    }
    assert_eq!(
        code(
            c.clone()
                .list_meetings(nobody(ListMeetingsRequest::default()))
                .await
        ),
        Code::Unauthenticated
    );

    // Agenda: participants propose, proposers or organisers remove.
    let add = |who: &Who| {
        who.req(AddAgendaItemRequest {
            request_id: String::new(),
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            title: "议题".into(),
        })
    };
    assert_eq!(
        code(c.clone().add_agenda_item(add(&o.logistics_member)).await),
        DENIED
    );
    let item = c
        .clone()
        .add_agenda_item(add(&o.records_member))
        .await
        .unwrap()
        .into_inner();
    let other = c
        .clone()
        .add_agenda_item(add(&o.records_member))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        code(
            c.clone()
                .remove_agenda_item(o.office_member.req(RemoveAgendaItemRequest {
                    id: item.id.clone()
                }))
                .await
        ),
        DENIED
    );
    assert_eq!(
        code(
            c.clone()
                .remove_agenda_item(o.logistics_head.req(RemoveAgendaItemRequest {
                    id: item.id.clone()
                }))
                .await
        ),
        DENIED
    );
    assert_eq!(
        code(
            c.clone()
                .remove_agenda_item(o.records_member.req(RemoveAgendaItemRequest {
                    id: item.id.clone()
                }))
                .await
        ),
        OK
    );
    assert_eq!(
        code(
            c.clone()
                .remove_agenda_item(o.office_head.req(RemoveAgendaItemRequest {
                    id: other.id.clone()
                }))
                .await
        ),
        OK
    );

    // Organisers only: update, cancel, attendance, minutes.
    s.advance(std::time::Duration::from_secs(7_200));
    let update = |who: &Who| {
        let mut x = m.clone();
        x.location = "二楼".into();
        who.req(UpdateMeetingRequest {
            meeting: Some(x),
            update_mask: Some(FieldMask {
                paths: vec!["location".into()],
            }),
        })
    };
    let attend = |who: &Who| {
        who.req(RecordAttendanceRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            attendance: vec![Attendance {
                person_id: o.records_member.id.clone(),
                status: AttendanceStatus::Present as i32,
            }],
        })
    };
    let minutes = |who: &Who| {
        who.req(RecordMinutesRequest {
            meeting_id: m.id.clone(),
            occurrence_index: 0,
            minutes: "纪要".into(),
        })
    };
    let cancel = |who: &Who| {
        who.req(CancelMeetingRequest {
            id: m.id.clone(),
            etag: String::new(),
        })
    };
    for who in [
        &o.logistics_head,
        &o.coordinator,
        &o.records_member,
        &o.auditor,
        &o.service,
    ] {
        assert_eq!(
            code(c.clone().update_meeting(update(who)).await),
            DENIED,
            "{who:?}"
        );
        assert_eq!(
            code(c.clone().record_attendance(attend(who)).await),
            DENIED,
            "{who:?}"
        );
        assert_eq!(
            code(c.clone().record_minutes(minutes(who)).await),
            DENIED,
            "{who:?}"
        );
        assert_eq!(
            code(c.clone().cancel_meeting(cancel(who)).await),
            DENIED,
            "{who:?}"
        );
    }
    assert_eq!(
        code(c.clone().update_meeting(update(&o.office_head)).await),
        OK
    );
    assert_eq!(
        code(c.clone().record_attendance(attend(&o.admin)).await),
        OK
    );
    assert_eq!(
        code(c.clone().record_minutes(minutes(&o.office_head)).await),
        OK
    );
    assert_eq!(
        code(c.clone().cancel_meeting(cancel(&o.office_head)).await),
        OK
    );
}

concord_kit::backend_tests!(
    notice_rpcs_allow_and_deny_per_role,
    meeting_rpcs_allow_and_deny_per_role
);

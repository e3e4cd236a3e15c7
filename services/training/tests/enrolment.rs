//! Enrolment, the waiting list at its edges (cancel when full, concurrent
//! enrolments for the last seat), attendance and completion records.

mod common;

use common::*;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::policy::v1::Role;
use concord_proto::training::v1::*;
use prost_types::FieldMask;
use tonic::Code;

const ENROLLED: i32 = EnrolmentStatus::Enrolled as i32;
const WAITLISTED: i32 = EnrolmentStatus::Waitlisted as i32;
const CANCELLED: i32 = EnrolmentStatus::Cancelled as i32;
const COMPLETED: i32 = EnrolmentStatus::Completed as i32;

/// (person, status, waiting-list position) of each enrolment in list order.
fn rows(list: &[Enrolment]) -> Vec<(String, i32, i32)> {
    list.iter()
        .map(|e| (e.person_id.clone(), e.status, e.waitlist_position))
        .collect()
}

async fn the_waiting_list_moves_up_by_itself(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let h = &o.safety_head;
    let mut req = plan_req(&o.safety, "有限空间作业安全培训", &[&o.safety]);
    req.capacity = 2;
    let plan = s.open(h, req).await;

    let zhang = s.enrol(&o.zhang, &plan.id).await;
    assert_eq!((zhang.status, zhang.waitlist_position), (ENROLLED, 0));
    assert!(zhang.seat_time.is_some());
    assert_eq!(zhang.department_id, o.safety);
    let li = s.enrol(&o.li, &plan.id).await;
    assert_eq!(li.status, ENROLLED);
    // Full: the waiting list, in order. A retried enrolment enrols nobody.
    let first = EnrolInTrainingRequest {
        request_id: "alice-1".into(),
        plan_id: plan.id.clone(),
        person_id: String::new(),
    };
    let alice = s
        .t()
        .enrol_in_training(by(&o.alice, first.clone()))
        .await
        .unwrap()
        .into_inner();
    let retry = s
        .t()
        .enrol_in_training(by(&o.alice, first))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry.id, alice.id);
    assert_eq!((alice.status, alice.waitlist_position), (WAITLISTED, 1));
    assert!(alice.seat_time.is_none());
    let wang = s.enrol(&o.wang, &plan.id).await;
    assert_eq!(
        (
            wang.status,
            wang.waitlist_position,
            wang.department_id.as_str()
        ),
        (WAITLISTED, 2, o.fire.as_str())
    );
    let p = s.get(h, &plan.id).await;
    assert_eq!((p.seats_taken, p.waiting), (2, 2));

    // Nobody enrols twice; the audience decides who may enrol.
    let again = EnrolInTrainingRequest {
        plan_id: plan.id.clone(),
        ..Default::default()
    };
    fails(
        s.t().enrol_in_training(by(&o.zhang, again.clone())).await,
        Code::AlreadyExists,
    );
    fails(
        s.t().enrol_in_training(by(&o.alice, again.clone())).await,
        Code::AlreadyExists,
    );
    fails(
        s.t().enrol_in_training(by(&o.bob, again.clone())).await,
        Code::PermissionDenied,
    );

    // Cancel when full: the first who waits takes the seat in the same step.
    let cancelled = s.cancel_enrolment(&o.li, &li.id).await;
    assert_eq!(cancelled.status, CANCELLED);
    assert!(cancelled.cancel_time.is_some());
    let list = s.enrolments(h, &plan.id).await;
    assert_eq!(
        rows(&list),
        [
            (o.zhang.id.clone(), ENROLLED, 0),
            (o.alice.id.clone(), ENROLLED, 0),
            (o.wang.id.clone(), WAITLISTED, 1),
            (o.li.id.clone(), CANCELLED, 0),
        ]
    );
    assert!(list[1].seat_time.is_some());
    // Cancelling twice changes nothing; a waiting person leaving frees no seat.
    assert_eq!(s.cancel_enrolment(&o.li, &li.id).await.status, CANCELLED);
    s.cancel_enrolment(h, &wang.id).await;
    let p = s.get(h, &plan.id).await;
    assert_eq!((p.seats_taken, p.waiting), (2, 0));

    // A cancelled person enrols again at the end of the queue.
    let li_again = s.enrol(&o.li, &plan.id).await;
    assert_eq!(
        (
            li_again.id.as_str(),
            li_again.status,
            li_again.waitlist_position
        ),
        (li.id.as_str(), WAITLISTED, 1)
    );
    let wang_again = s.enrol(&o.wang, &plan.id).await;
    assert_eq!(wang_again.waitlist_position, 2);
    // A larger capacity moves the waiting list up.
    let mut bigger = s.get(h, &plan.id).await;
    bigger.capacity = 3;
    let bigger = s
        .t()
        .update_training_plan(by(
            h,
            UpdateTrainingPlanRequest {
                plan: Some(bigger),
                update_mask: Some(FieldMask {
                    paths: vec!["capacity".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((bigger.seats_taken, bigger.waiting), (3, 1));
    let list = s.enrolments(h, &plan.id).await;
    assert_eq!(
        rows(&list),
        [
            (o.zhang.id.clone(), ENROLLED, 0),
            (o.alice.id.clone(), ENROLLED, 0),
            (o.li.id.clone(), ENROLLED, 0),
            (o.wang.id.clone(), WAITLISTED, 1),
        ]
    );
    // Who moved up is in the audit trail.
    let audit = s
        .t()
        .list_audit_entries(by(
            &o.admin,
            ListAuditEntriesRequest {
                resource: format!("enrolments/{}", alice.id),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let actions: Vec<&str> = audit.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["enrolment.create", "enrolment.move_up"]);

    // Pages of a plan's enrolments keep the order.
    let page = |token: String| ListEnrolmentsRequest {
        plan_id: plan.id.clone(),
        page_size: 3,
        page_token: token,
        ..Default::default()
    };
    let first = s
        .t()
        .list_enrolments(by(h, page(String::new())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.enrolments.len(), 3);
    let second = s
        .t()
        .list_enrolments(by(h, page(first.next_page_token)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        rows(&second.enrolments),
        [(o.wang.id.clone(), WAITLISTED, 1)]
    );
    assert!(second.next_page_token.is_empty());
    let waiting = ListEnrolmentsRequest {
        plan_id: plan.id.clone(),
        status: WAITLISTED,
        ..Default::default()
    };
    assert_eq!(
        s.t()
            .list_enrolments(by(h, waiting))
            .await
            .unwrap()
            .into_inner()
            .enrolments
            .len(),
        1
    );

    // Cancelling the plan cancels every open enrolment.
    let p = s.get(h, &plan.id).await;
    s.t()
        .cancel_training_plan(by(
            h,
            CancelTrainingPlanRequest {
                id: p.id.clone(),
                etag: p.etag,
                reason: "场地检修".into(),
            },
        ))
        .await
        .unwrap();
    assert!(
        s.enrolments(h, &plan.id)
            .await
            .iter()
            .all(|e| e.status == CANCELLED)
    );
    fails(
        s.t().enrol_in_training(by(&o.bob, again)).await,
        Code::FailedPrecondition,
    );
}

async fn who_may_enrol_and_cancel(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let h = &o.safety_head;
    let plan = s
        .open(
            h,
            plan_req(&o.safety, "Working at height 高处作业", &[&o.safety]),
        )
        .await;
    let draft = s.create(h, plan_req(&o.safety, "草稿", &[&o.safety])).await;
    fails(
        s.t()
            .enrol_in_training(by(
                &o.zhang,
                EnrolInTrainingRequest {
                    plan_id: draft.id.clone(),
                    ..Default::default()
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    // Planners enrol people of the audience; others may not enrol anybody.
    let for_wang = EnrolInTrainingRequest {
        plan_id: plan.id.clone(),
        person_id: o.wang.id.clone(),
        ..Default::default()
    };
    for who in [&o.zhang, &o.it_head, &o.auditor] {
        fails(
            s.t().enrol_in_training(by(who, for_wang.clone())).await,
            Code::PermissionDenied,
        );
    }
    let wang = s
        .t()
        .enrol_in_training(by(h, for_wang))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (wang.person_id.as_str(), wang.status),
        (o.wang.id.as_str(), ENROLLED)
    );
    names_fields(
        s.t()
            .enrol_in_training(by(
                h,
                EnrolInTrainingRequest {
                    plan_id: plan.id.clone(),
                    person_id: o.bob.id.clone(),
                    ..Default::default()
                },
            ))
            .await,
        &["person_id"],
    );
    // Somebody who joined the audience's departments after publication may enrol.
    let newcomer = s.person("新同事赵六", &o.fire, &[Role::Member]).await;
    let e = s.enrol(&newcomer, &plan.id).await;
    assert_eq!(
        (e.status, e.department_id.as_str()),
        (ENROLLED, o.fire.as_str())
    );
    assert_eq!(s.get(h, &plan.id).await.audience_size, 6);

    // Cancelling: the person or the plan's planners.
    let zhang = s.enrol(&o.zhang, &plan.id).await;
    let cancel = CancelEnrolmentRequest {
        enrolment_id: zhang.id.clone(),
        reason: String::new(),
    };
    for who in [&o.li, &o.bob, &o.it_head] {
        fails(
            s.t().cancel_enrolment(by(who, cancel.clone())).await,
            Code::PermissionDenied,
        );
    }
    assert_eq!(
        s.t()
            .cancel_enrolment(by(&o.hq_head, cancel))
            .await
            .unwrap()
            .into_inner()
            .status,
        CANCELLED
    );

    // A person's enrolments: them, their heads, admins, auditors, services.
    let mine = ListEnrolmentsRequest {
        person_id: o.wang.id.clone(),
        ..Default::default()
    };
    for who in [
        &o.wang,
        &o.safety_head,
        &o.hq_head,
        &o.admin,
        &o.auditor,
        &o.service,
    ] {
        let list = s
            .t()
            .list_enrolments(by(who, mine.clone()))
            .await
            .unwrap()
            .into_inner()
            .enrolments;
        assert_eq!(list.len(), 1, "as {}", who.id);
    }
    for who in [&o.zhang, &o.it_head, &o.bob] {
        fails(
            s.t().list_enrolments(by(who, mine.clone())).await,
            Code::PermissionDenied,
        );
    }
    // A plan's enrolments: its planners and auditors.
    let of_plan = ListEnrolmentsRequest {
        plan_id: plan.id.clone(),
        ..Default::default()
    };
    for who in [&o.safety_head, &o.hq_head, &o.admin, &o.auditor] {
        assert_eq!(
            s.t()
                .list_enrolments(by(who, of_plan.clone()))
                .await
                .unwrap()
                .into_inner()
                .enrolments
                .len(),
            3
        );
    }
    for who in [&o.zhang, &o.it_head, &o.service] {
        fails(
            s.t().list_enrolments(by(who, of_plan.clone())).await,
            Code::PermissionDenied,
        );
    }

    // Bad input, field by field.
    names_fields(
        s.t()
            .enrol_in_training(by(
                &o.zhang,
                EnrolInTrainingRequest {
                    request_id: "r".repeat(129),
                    plan_id: "x".into(),
                    person_id: "y".into(),
                },
            ))
            .await,
        &["request_id", "plan_id", "person_id"],
    );
    let unknown = concord_kit::ids::new_id();
    fails(
        s.t()
            .enrol_in_training(by(
                &o.zhang,
                EnrolInTrainingRequest {
                    plan_id: unknown.clone(),
                    ..Default::default()
                },
            ))
            .await,
        Code::NotFound,
    );
    names_fields(
        s.t()
            .cancel_enrolment(by(
                &o.zhang,
                CancelEnrolmentRequest {
                    enrolment_id: String::new(),
                    reason: "\u{0}".into(),
                },
            ))
            .await,
        &["enrolment_id", "reason"],
    );
    fails(
        s.t()
            .cancel_enrolment(by(
                &o.zhang,
                CancelEnrolmentRequest {
                    enrolment_id: unknown.clone(),
                    reason: String::new(),
                },
            ))
            .await,
        Code::NotFound,
    );
    names_fields(
        s.t()
            .list_enrolments(by(h, ListEnrolmentsRequest::default()))
            .await,
        &["plan_id"],
    );
    names_fields(
        s.t()
            .list_enrolments(by(
                h,
                ListEnrolmentsRequest {
                    plan_id: plan.id.clone(),
                    person_id: o.zhang.id.clone(),
                    status: 17,
                    ..Default::default()
                },
            ))
            .await,
        &["person_id", "status"],
    );
    names_fields(
        s.t()
            .list_enrolments(by(
                h,
                ListEnrolmentsRequest {
                    plan_id: "bad".into(),
                    page_size: -2,
                    ..Default::default()
                },
            ))
            .await,
        &["plan_id", "page_size"],
    );
}

/// Enrols `people` at once, each on their own connection's task.
async fn race(s: &Suite, plan_id: &str, people: &[Who]) -> Vec<Enrolment> {
    let calls = people.iter().map(|who| {
        let mut client = s.t();
        let req = by(
            who,
            EnrolInTrainingRequest {
                plan_id: plan_id.into(),
                ..Default::default()
            },
        );
        tokio::spawn(async move { client.enrol_in_training(req).await.map(|r| r.into_inner()) })
    });
    futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("enrol"))
        .collect()
}

async fn concurrent_enrolments_never_share_the_last_seat(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let h = &o.safety_head;
    let mut crowd = Vec::new();
    for i in 0..12 {
        crowd.push(
            s.person(&format!("学员{i:02}"), &o.safety, &[Role::Member])
                .await,
        );
    }
    for round in 0..3 {
        // Two people for the last seat.
        let mut req = plan_req(&o.safety, &format!("最后一席 {round}"), &[&o.safety]);
        req.capacity = 2;
        let plan = s.open(h, req).await;
        s.enrol(&o.zhang, &plan.id).await;
        let got = race(&s, &plan.id, &crowd[..2]).await;
        let seated = got.iter().filter(|e| e.status == ENROLLED).count();
        assert_eq!(seated, 1, "round {round}: {got:?}");
        let waiting: Vec<i32> = got
            .iter()
            .filter(|e| e.status == WAITLISTED)
            .map(|e| e.waitlist_position)
            .collect();
        assert_eq!(waiting, [1]);
        let p = s.get(h, &plan.id).await;
        assert_eq!((p.seats_taken, p.waiting), (2, 1));
    }
    // Twelve people for three seats.
    let mut req = plan_req(&o.safety, "十二抢三", &[&o.safety]);
    req.capacity = 3;
    let plan = s.open(h, req).await;
    let got = race(&s, &plan.id, &crowd).await;
    assert_eq!(got.iter().filter(|e| e.status == ENROLLED).count(), 3);
    let mut positions: Vec<i32> = got
        .iter()
        .filter(|e| e.status == WAITLISTED)
        .map(|e| e.waitlist_position)
        .collect();
    positions.sort();
    assert_eq!(positions, (1..=9).collect::<Vec<_>>());
    // Seats freed at once go to the first who wait, never to more.
    let seated: Vec<&Enrolment> = got.iter().filter(|e| e.status == ENROLLED).collect();
    let cancels = seated.iter().map(|e| {
        let mut client = s.t();
        let req = by(
            h,
            CancelEnrolmentRequest {
                enrolment_id: e.id.clone(),
                reason: String::new(),
            },
        );
        tokio::spawn(async move { client.cancel_enrolment(req).await })
    });
    for r in futures::future::join_all(cancels).await {
        r.expect("task").expect("cancel");
    }
    let list = s.enrolments(h, &plan.id).await;
    assert_eq!(list.iter().filter(|e| e.status == ENROLLED).count(), 3);
    let waiting: Vec<i32> = list
        .iter()
        .filter(|e| e.status == WAITLISTED)
        .map(|e| e.waitlist_position)
        .collect();
    assert_eq!(waiting, (1..=6).collect::<Vec<_>>());
    let p = s.get(h, &plan.id).await;
    assert_eq!((p.seats_taken, p.waiting), (3, 6));
}

async fn attendance_and_completion_records(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let h = &o.safety_head;
    let mut req = plan_req(&o.safety, "危险化学品安全管理", &[&o.safety]);
    req.capacity = 3;
    let plan = s.open(h, req).await;
    let zhang = s.enrol(&o.zhang, &plan.id).await;
    let li = s.enrol(&o.li, &plan.id).await;
    s.enrol(&o.alice, &plan.id).await;
    let wang = s.enrol(&o.wang, &plan.id).await;
    assert_eq!(wang.status, WAITLISTED);
    let session0 = plan.sessions[0].id.clone();
    let record = |marks: Vec<AttendanceMark>| RecordAttendanceRequest {
        plan_id: plan.id.clone(),
        session_id: session0.clone(),
        marks,
    };
    let mark = |who: &Who, present: bool| AttendanceMark {
        person_id: who.id.clone(),
        present,
    };

    // Not before the session starts.
    fails(
        s.t()
            .record_attendance(by(h, record(vec![mark(&o.zhang, true)])))
            .await,
        Code::FailedPrecondition,
    );
    s.advance(DAY + 2 * HOUR);
    // Only seated people; each once; known sessions of this plan.
    names_fields(
        s.t()
            .record_attendance(by(
                h,
                record(vec![
                    mark(&o.zhang, true),
                    mark(&o.wang, true),
                    mark(&o.zhang, false),
                    mark(&o.bob, true),
                ]),
            ))
            .await,
        &["marks[2].person_id"],
    );
    names_fields(
        s.t()
            .record_attendance(by(
                h,
                record(vec![
                    mark(&o.zhang, true),
                    mark(&o.wang, true),
                    mark(&o.bob, true),
                ]),
            ))
            .await,
        &["marks[1].person_id", "marks[2].person_id"],
    );
    names_fields(
        s.t()
            .record_attendance(by(
                h,
                RecordAttendanceRequest {
                    plan_id: "x".into(),
                    session_id: String::new(),
                    marks: vec![AttendanceMark::default()],
                },
            ))
            .await,
        &["plan_id", "session_id", "marks[0].person_id"],
    );
    names_fields(
        s.t().record_attendance(by(h, record(vec![]))).await,
        &["marks"],
    );
    names_fields(
        s.t()
            .record_attendance(by(
                h,
                RecordAttendanceRequest {
                    session_id: concord_kit::ids::new_id(),
                    ..record(vec![mark(&o.zhang, true)])
                },
            ))
            .await,
        &["session_id"],
    );
    // Planners record; nobody else.
    fails(
        s.t()
            .record_attendance(by(&o.it_head, record(vec![mark(&o.zhang, true)])))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.t()
            .record_attendance(by(&o.zhang, record(vec![mark(&o.zhang, true)])))
            .await,
        Code::PermissionDenied,
    );
    s.attend(
        h,
        &plan,
        0,
        &[(&o.zhang, true), (&o.li, true), (&o.alice, false)],
    )
    .await;
    // A later mark replaces an earlier one.
    s.attend(h, &plan, 0, &[(&o.alice, true)]).await;
    s.attend(h, &plan, 0, &[(&o.alice, false)]).await;
    s.advance(DAY + 4 * HOUR);
    s.attend(h, &plan, 1, &[(&o.zhang, true), (&o.li, false)])
        .await;
    let all = s
        .t()
        .list_attendance(by(
            &o.auditor,
            ListAttendanceRequest {
                plan_id: plan.id.clone(),
                session_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .attendance;
    assert_eq!(all.len(), 5);
    assert_eq!(all.iter().filter(|a| a.present).count(), 3);
    assert!(all[..3].iter().all(|a| a.session_id == session0));
    let first = s
        .t()
        .list_attendance(by(
            h,
            ListAttendanceRequest {
                plan_id: plan.id.clone(),
                session_id: session0.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .attendance;
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|a| a.recorded_by == h.id));
    fails(
        s.t()
            .list_attendance(by(
                &o.zhang,
                ListAttendanceRequest {
                    plan_id: plan.id.clone(),
                    session_id: String::new(),
                },
            ))
            .await,
        Code::PermissionDenied,
    );
    names_fields(
        s.t()
            .list_attendance(by(
                h,
                ListAttendanceRequest {
                    plan_id: String::new(),
                    session_id: "s".into(),
                },
            ))
            .await,
        &["plan_id", "session_id"],
    );

    // Completion: a numbered record with the hours attended and the score.
    let done = s.complete(h, &zhang.id, Some(92.5)).await;
    assert_eq!(done.status, COMPLETED);
    let record1 = done.completion.clone().expect("a completion record");
    assert_eq!(record1.certificate_number, "TR-2026-000001");
    assert_eq!(record1.hours, 4.5);
    assert_eq!(record1.assessment_score, Some(92.5));
    assert_eq!(record1.plan_title, "危险化学品安全管理");
    assert_eq!(record1.issued_by, h.id);
    assert!(!record1.within_deadline);
    let record2 = s
        .complete(&o.hq_head, &li.id, None)
        .await
        .completion
        .unwrap();
    assert_eq!(
        (
            record2.certificate_number.as_str(),
            record2.hours,
            record2.assessment_score
        ),
        ("TR-2026-000002", 3.0, None)
    );
    fails(
        s.t()
            .complete_training(by(
                h,
                CompleteTrainingRequest {
                    enrolment_id: zhang.id.clone(),
                    assessment_score: None,
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    fails(
        s.t()
            .complete_training(by(
                h,
                CompleteTrainingRequest {
                    enrolment_id: wang.id.clone(),
                    assessment_score: None,
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    fails(
        s.t()
            .cancel_enrolment(by(
                &o.zhang,
                CancelEnrolmentRequest {
                    enrolment_id: zhang.id.clone(),
                    reason: String::new(),
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    for bad in [100.5, -0.5, f64::NAN, f64::INFINITY] {
        names_fields(
            s.t()
                .complete_training(by(
                    h,
                    CompleteTrainingRequest {
                        enrolment_id: wang.id.clone(),
                        assessment_score: Some(bad),
                    },
                ))
                .await,
            &["assessment_score"],
        );
    }
    names_fields(
        s.t()
            .complete_training(by(
                h,
                CompleteTrainingRequest {
                    enrolment_id: "e".into(),
                    assessment_score: None,
                },
            ))
            .await,
        &["enrolment_id"],
    );
    fails(
        s.t()
            .complete_training(by(
                &o.it_head,
                CompleteTrainingRequest {
                    enrolment_id: wang.id.clone(),
                    assessment_score: None,
                },
            ))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.t()
            .complete_training(by(
                &o.zhang,
                CompleteTrainingRequest {
                    enrolment_id: wang.id.clone(),
                    assessment_score: None,
                },
            ))
            .await,
        Code::PermissionDenied,
    );
    let p = s.get(&o.zhang, &plan.id).await;
    assert_eq!((p.seats_taken, p.completed, p.waiting), (3, 2, 1));

    // The certificate: its holder, their heads, the planners, admins,
    // auditors and services; nobody else.
    let get = GetCompletionRecordRequest {
        certificate_number: record1.certificate_number.clone(),
    };
    for who in [
        &o.zhang,
        &o.safety_head,
        &o.hq_head,
        &o.admin,
        &o.auditor,
        &o.service,
    ] {
        let r = s
            .t()
            .get_completion_record(by(who, get.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r, record1, "as {}", who.id);
    }
    for who in [&o.li, &o.bob, &o.it_head] {
        fails(
            s.t().get_completion_record(by(who, get.clone())).await,
            Code::PermissionDenied,
        );
    }
    fails(
        s.t()
            .get_completion_record(by(
                &o.admin,
                GetCompletionRecordRequest {
                    certificate_number: "TR-1999-000001".into(),
                },
            ))
            .await,
        Code::NotFound,
    );
    names_fields(
        s.t()
            .get_completion_record(by(
                &o.admin,
                GetCompletionRecordRequest {
                    certificate_number: " ".into(),
                },
            ))
            .await,
        &["certificate_number"],
    );
    let mine = s
        .t()
        .list_completion_records(by(&o.zhang, ListCompletionRecordsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(mine, std::slice::from_ref(&record1));
    let lis = ListCompletionRecordsRequest {
        person_id: o.li.id.clone(),
        ..Default::default()
    };
    assert_eq!(
        s.t()
            .list_completion_records(by(h, lis.clone()))
            .await
            .unwrap()
            .into_inner()
            .records,
        [record2]
    );
    for who in [&o.zhang, &o.it_head] {
        fails(
            s.t().list_completion_records(by(who, lis.clone())).await,
            Code::PermissionDenied,
        );
    }
    names_fields(
        s.t()
            .list_completion_records(by(
                h,
                ListCompletionRecordsRequest {
                    person_id: "p".into(),
                    page_size: -1,
                    ..Default::default()
                },
            ))
            .await,
        &["person_id", "page_size"],
    );
    // The enrolment carries its record too.
    let zhangs = s
        .t()
        .list_enrolments(by(
            &o.zhang,
            ListEnrolmentsRequest {
                person_id: o.zhang.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .enrolments;
    assert_eq!(zhangs[0].completion.as_ref(), Some(&record1));
}

concord_kit::backend_tests!(
    the_waiting_list_moves_up_by_itself,
    who_may_enrol_and_cancel,
    concurrent_enrolments_never_share_the_last_seat,
    attendance_and_completion_records,
);

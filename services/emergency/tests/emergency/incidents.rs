//! Incidents from declaration to review: the audience, acknowledgement,
//! steps, status alerts, the timeline; input checks and who may do what.

use concord_kit::testing::{Backend, bad_fields, token};
use concord_proto::emergency::v1::*;
use concord_proto::policy::v1::Role;
use tonic::Code;

use crate::harness::{Suite, Watcher, assert_once, kind, settle};

async fn an_incident_runs_from_declaration_to_review(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    // 保卫处 never acknowledges here; an hour's timeout keeps its
    // escalation (tested in alerts.rs) out of this incident's life, which
    // advances the clock by minutes.
    let plan = s
        .as_(&o.office_head)
        .create_plan(CreatePlanRequest {
            request_id: String::new(),
            plan: Some(Plan {
                acknowledgement_timeout: Some(prost_types::Duration {
                    seconds: 3600,
                    nanos: 0,
                }),
                ..s.plan()
            }),
        })
        .await
        .expect("create plan")
        .into_inner();
    let watchers = [
        ("张三", Watcher::start(s.as_(&o.zhang), 0).await),
        ("Alice", Watcher::start(s.as_(&o.alice), 0).await),
        ("李工", Watcher::start(s.as_(&o.it_head), 0).await),
        ("Bob", Watcher::start(s.as_(&o.bob), 0).await),
        ("赵处长", Watcher::start(s.as_(&o.security_head), 0).await),
    ];
    let outsider = Watcher::start(s.as_(&o.qian), 0).await;
    let sub_department = Watcher::start(s.as_(&o.sun), 0).await;

    // A retried declaration returns the first incident and alerts nobody twice.
    let req = DeclareIncidentRequest {
        request_id: "declare-1".into(),
        plan_id: plan.id.clone(),
        title: "三号楼机房停电".into(),
        description: "UPS 告警 UPS alarm".into(),
        severity: Severity::I as i32,
        drill: false,
    };
    let head = s.as_(&o.office_head);
    let incident = head
        .clone()
        .declare_incident(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        head.clone()
            .declare_incident(req)
            .await
            .unwrap()
            .into_inner(),
        incident
    );
    assert_eq!(incident.status, IncidentStatus::Declared as i32);
    assert_eq!(
        (incident.severity, incident.drill),
        (Severity::I as i32, false)
    );
    assert_eq!(incident.title, "三号楼机房停电");
    let alerted: Vec<(String, i32)> = incident
        .departments
        .iter()
        .map(|d| (d.department_id.clone(), d.people_alerted))
        .collect();
    assert_eq!(
        alerted,
        [(o.it.clone(), 3), (o.security.clone(), 2)],
        "people of the step departments, not sub-departments"
    );

    for (who, w) in &watchers {
        let got = w.wait_count(1, 10).await;
        let a = got[0].alert.as_ref().unwrap();
        assert_eq!(
            (got[0].sequence, a.kind, a.drill),
            (1, AlertKind::Declared as i32, false),
            "{who}"
        );
        assert_eq!(a.incident_id, incident.id);
        assert!(a.message.contains("I级（特别重大）"), "{}", a.message);
    }
    settle().await;
    assert!(outsider.snapshot().is_empty(), "财务处 is in no step");
    assert!(
        sub_department.snapshot().is_empty(),
        "网络组 is below 信息中心, not in it"
    );

    // The first acknowledgement of a department counts for it and moves the
    // incident to responding; a second one changes nothing.
    let alert_id = watchers[0].1.snapshot()[0]
        .alert
        .as_ref()
        .unwrap()
        .id
        .clone();
    s.advance(20);
    let ack = s
        .as_(&o.zhang)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: alert_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ack.first_for_department);
    assert_eq!(ack.department_id, o.it);
    assert_eq!(ack.time_to_acknowledge.unwrap().seconds, 20);
    s.advance(5);
    let again = s
        .as_(&o.zhang)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: alert_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.first_for_department);
    assert_eq!(again.acknowledge_time, ack.acknowledge_time);
    let alice_alert = watchers[1].1.snapshot()[0]
        .alert
        .as_ref()
        .unwrap()
        .id
        .clone();
    let alice = s
        .as_(&o.alice)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: alice_alert,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !alice.first_for_department,
        "信息中心 had already acknowledged"
    );

    let now = s
        .as_(&o.zhang)
        .get_incident(GetIncidentRequest {
            id: incident.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.status, IncidentStatus::Responding as i32);
    let it = now
        .departments
        .iter()
        .find(|d| d.department_id == o.it)
        .unwrap();
    assert_eq!(it.acknowledged_by, o.zhang.id);
    let unacked = s
        .as_(&o.zhang)
        .list_alerts(ListAlertsRequest {
            unacknowledged_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(unacked.alerts.is_empty());
    let bob_unacked = s
        .as_(&o.bob)
        .list_alerts(ListAlertsRequest {
            unacknowledged_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bob_unacked.alerts.len(), 1);

    // Steps: the responsible department completes its own.
    let done = s
        .as_(&o.alice)
        .complete_step(CompleteStepRequest {
            incident_id: incident.id.clone(),
            step_index: 0,
            note: "已切换".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (done.completed_by.as_str(), done.note.as_str()),
        (o.alice.id.as_str(), "已切换")
    );
    let twice = s
        .as_(&o.zhang)
        .complete_step(CompleteStepRequest {
            incident_id: incident.id.clone(),
            step_index: 0,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let wrong = s
        .as_(&o.zhang)
        .complete_step(CompleteStepRequest {
            incident_id: incident.id.clone(),
            step_index: 1,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        wrong.code(),
        Code::PermissionDenied,
        "step 1 belongs to 保卫处"
    );
    s.as_(&o.bob)
        .complete_step(CompleteStepRequest {
            incident_id: incident.id.clone(),
            step_index: 1,
            note: "Room locked".into(),
        })
        .await
        .unwrap();

    // Notes, contained (everybody hears), resolved, reviewed.
    let note = AddTimelineEntryRequest {
        request_id: "note-1".into(),
        incident_id: incident.id.clone(),
        text: "供电公司已到场".into(),
    };
    let n1 = s
        .as_(&o.bob)
        .add_timeline_entry(note.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        s.as_(&o.bob)
            .add_timeline_entry(note)
            .await
            .unwrap()
            .into_inner(),
        n1
    );
    // Less than the reminder interval: no reminder comes between.
    s.advance(200);
    let contained = head
        .clone()
        .update_incident_status(UpdateIncidentStatusRequest {
            id: incident.id.clone(),
            status: IncidentStatus::Contained as i32,
            note: "备用电源已接管".into(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(contained.status, IncidentStatus::Contained as i32);
    assert!(contained.contain_time.is_some());
    for (who, w) in &watchers {
        let got = w.wait_count(2, 10).await;
        assert_eq!(kind(&got[1]), AlertKind::StatusChanged, "{who}");
        assert!(
            got[1]
                .alert
                .as_ref()
                .unwrap()
                .message
                .contains("备用电源已接管")
        );
        assert_once(&got, who);
    }
    let back = head
        .clone()
        .update_incident_status(UpdateIncidentStatusRequest {
            id: incident.id.clone(),
            status: IncidentStatus::Responding as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(back.code(), Code::FailedPrecondition);
    let early = head
        .clone()
        .review_incident(ReviewIncidentRequest {
            id: incident.id.clone(),
            summary: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        early.code(),
        Code::FailedPrecondition,
        "only resolved incidents are reviewed"
    );
    let stale = head
        .clone()
        .update_incident_status(UpdateIncidentStatusRequest {
            id: incident.id.clone(),
            status: IncidentStatus::Resolved as i32,
            etag: "1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let resolved = head
        .clone()
        .update_incident_status(UpdateIncidentStatusRequest {
            id: incident.id.clone(),
            status: IncidentStatus::Resolved as i32,
            etag: contained.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let closed = s
        .as_(&o.it_head)
        .complete_step(CompleteStepRequest {
            incident_id: incident.id.clone(),
            step_index: 2,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        closed.code(),
        Code::FailedPrecondition,
        "steps close with the incident"
    );
    let reviewed = head
        .clone()
        .review_incident(ReviewIncidentRequest {
            id: incident.id.clone(),
            summary: "响应及时 Response was quick".into(),
            lessons: "UPS 需要月检".into(),
            etag: resolved.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reviewed.status, IncidentStatus::Reviewed as i32);
    let review = reviewed.review.unwrap();
    assert_eq!(
        (review.reviewed_by.as_str(), review.lessons.as_str()),
        (o.office_head.id.as_str(), "UPS 需要月检")
    );

    let timeline = s
        .as_(&o.auditor)
        .list_timeline(ListTimelineRequest {
            incident_id: incident.id.clone(),
            page_size: 3,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(timeline.entries.len(), 3);
    let mut entries = timeline.entries.clone();
    let mut token = timeline.next_page_token;
    while !token.is_empty() {
        let page = s
            .as_(&o.auditor)
            .list_timeline(ListTimelineRequest {
                incident_id: incident.id.clone(),
                page_size: 3,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        entries.extend(page.entries);
        token = page.next_page_token;
    }
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "declared",
            "alerted",
            "acknowledged",
            "status_changed",
            "step_completed",
            "step_completed",
            "note",
            "status_changed",
            "status_changed",
            "reviewed"
        ]
    );
    let audit = s
        .as_(&o.admin)
        .list_audit_entries(concord_proto::audit::v1::ListAuditEntriesRequest {
            resource: format!("incidents/{}", incident.id),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "alert.acknowledge",
            "alert.acknowledge",
            "incident.declare",
            "incident.note",
            "incident.review",
            "incident.status",
            "incident.status",
            "incident.step.complete",
            "incident.step.complete"
        ]
    );
}

async fn incidents_are_listed_to_those_involved(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let plan = s.create_plan().await;
    let real = s.declare(&plan.id, false).await;
    let drill = s.declare(&plan.id, true).await;
    let finance_plan = Plan {
        owner_department_id: o.finance.clone(),
        steps: vec![crate::harness::step("核对账目", &o.finance, 30)],
        ..s.plan()
    };
    let finance_plan = s
        .as_(&o.finance_head)
        .create_plan(CreatePlanRequest {
            request_id: String::new(),
            plan: Some(finance_plan),
        })
        .await
        .unwrap()
        .into_inner();
    let finance = s
        .as_(&o.finance_head)
        .declare_incident(DeclareIncidentRequest {
            plan_id: finance_plan.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    let ids = |r: ListIncidentsResponse| r.incidents.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let list = |who: &crate::harness::Person, req: ListIncidentsRequest| {
        let c = s.as_(who);
        async move { ids(c.clone().list_incidents(req).await.unwrap().into_inner()) }
    };
    assert_eq!(
        list(&o.auditor, Default::default()).await,
        [finance.id.as_str(), drill.id.as_str(), real.id.as_str()]
    );
    assert_eq!(
        list(&o.zhang, Default::default()).await,
        [drill.id.as_str(), real.id.as_str()]
    );
    assert_eq!(
        list(&o.qian, Default::default()).await,
        [finance.id.as_str()]
    );
    assert_eq!(list(&o.sun, Default::default()).await, Vec::<String>::new());
    assert_eq!(
        list(
            &o.admin,
            ListIncidentsRequest {
                drill: Some(true),
                ..Default::default()
            }
        )
        .await,
        [drill.id.as_str()]
    );
    assert_eq!(
        list(
            &o.admin,
            ListIncidentsRequest {
                drill: Some(false),
                ..Default::default()
            }
        )
        .await,
        [finance.id.as_str(), real.id.as_str()]
    );
    assert_eq!(
        list(
            &o.admin,
            ListIncidentsRequest {
                department_id: o.security.clone(),
                ..Default::default()
            }
        )
        .await,
        [drill.id.as_str(), real.id.as_str()]
    );
    assert_eq!(
        list(
            &o.admin,
            ListIncidentsRequest {
                plan_id: finance_plan.id.clone(),
                ..Default::default()
            }
        )
        .await,
        [finance.id.as_str()]
    );
    assert_eq!(
        list(
            &o.admin,
            ListIncidentsRequest {
                status: IncidentStatus::Declared as i32,
                page_size: 2,
                ..Default::default()
            }
        )
        .await
        .len(),
        2
    );
    // A list shows each incident as Get does.
    let listed = s
        .as_(&o.admin)
        .list_incidents(ListIncidentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    for i in listed.incidents {
        let one = s
            .as_(&o.admin)
            .get_incident(GetIncidentRequest { id: i.id.clone() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(i, one);
    }
    let err = s
        .as_(&o.sun)
        .get_incident(GetIncidentRequest {
            id: real.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = s
        .as_(&o.sun)
        .list_timeline(ListTimelineRequest {
            incident_id: real.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let service = token("appraisal", &[Role::Service], None);
    s.with(&service)
        .get_incident(GetIncidentRequest {
            id: real.id.clone(),
        })
        .await
        .unwrap();
}

async fn incident_input_is_checked_field_by_field(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let admin = s.as_(&o.admin);
    let plan = s.create_plan().await;
    let incident = s.declare(&plan.id, false).await;
    let ghost = concord_kit::ids::new_id();

    let err = admin
        .clone()
        .declare_incident(DeclareIncidentRequest {
            request_id: "x".repeat(129),
            plan_id: "plan".into(),
            title: "两行\n标题".into(),
            description: "d".repeat(10_001),
            severity: 5,
            drill: false,
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        ["request_id", "plan_id", "title", "description", "severity"]
    );
    let err = admin
        .clone()
        .declare_incident(DeclareIncidentRequest {
            plan_id: ghost.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let err = admin
        .clone()
        .get_incident(GetIncidentRequest { id: "1".into() })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["id"]);
    let err = admin
        .clone()
        .get_incident(GetIncidentRequest { id: ghost.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = admin
        .clone()
        .list_incidents(ListIncidentsRequest {
            status: 99,
            plan_id: "p".into(),
            department_id: "d".into(),
            page_size: -5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        ["status", "plan_id", "department_id", "page_size"]
    );
    let err = admin
        .clone()
        .update_incident_status(UpdateIncidentStatusRequest {
            id: "".into(),
            status: 0,
            note: "n".repeat(10_001),
            etag: "e".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["id", "status", "note", "etag"]);
    let err = admin
        .clone()
        .update_incident_status(UpdateIncidentStatusRequest {
            id: incident.id.clone(),
            status: IncidentStatus::Reviewed as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "reviewing has its own call"
    );
    let err = admin
        .clone()
        .complete_step(CompleteStepRequest {
            incident_id: "i".into(),
            step_index: -1,
            note: "n".repeat(10_001),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["incident_id", "step_index", "note"]);
    let err = admin
        .clone()
        .complete_step(CompleteStepRequest {
            incident_id: incident.id.clone(),
            step_index: 3,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["step_index"]);
    let err = admin
        .clone()
        .add_timeline_entry(AddTimelineEntryRequest {
            request_id: String::new(),
            incident_id: "".into(),
            text: " ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["incident_id", "text"]);
    let err = admin
        .clone()
        .list_timeline(ListTimelineRequest {
            incident_id: "x".into(),
            page_size: -1,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["incident_id", "page_size"]);
    let err = admin
        .clone()
        .list_timeline(ListTimelineRequest {
            incident_id: incident.id.clone(),
            page_size: 0,
            page_token: "bad!".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["page_token"]);
    let err = admin
        .clone()
        .review_incident(ReviewIncidentRequest {
            id: "".into(),
            summary: "".into(),
            lessons: "l".repeat(10_001),
            etag: "-".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["id", "summary", "lessons", "etag"]);
    let err = admin
        .clone()
        .watch_alerts(WatchAlertsRequest { after_sequence: -1 })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["after_sequence"]);
    let err = admin
        .clone()
        .list_alerts(ListAlertsRequest {
            person_id: "p".into(),
            after_sequence: -1,
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        ["person_id", "after_sequence", "page_size"]
    );
    let err = admin
        .clone()
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: "a".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["alert_id"]);
    let err = admin
        .clone()
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: ghost.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = admin
        .clone()
        .get_incident_report(GetIncidentReportRequest {
            incident_id: "r".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["incident_id"]);
    let err = admin
        .clone()
        .get_emergency_statistics(GetEmergencyStatisticsRequest {
            department_id: "d".into(),
            person_id: "p".into(),
            start_time: None,
            end_time: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        ["department_id", "person_id", "start_time", "end_time"]
    );
    let ts = |ms: i64| Some(concord_kit::clock::to_timestamp(ms));
    let err = admin
        .clone()
        .get_emergency_statistics(GetEmergencyStatisticsRequest {
            start_time: ts(crate::harness::T0),
            end_time: ts(crate::harness::T0 - 1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["end_time"]);
    let err = admin
        .clone()
        .get_emergency_statistics(GetEmergencyStatisticsRequest {
            department_id: ghost.clone(),
            start_time: ts(crate::harness::T0 - 86_400_000),
            end_time: ts(crate::harness::T0),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["department_id"]);
}

async fn incident_authorization_per_role(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let plan = s.create_plan().await;
    let declare = DeclareIncidentRequest {
        plan_id: plan.id.clone(),
        drill: true,
        ..Default::default()
    };
    // Members, coordinators and auditors never declare; heads only for the plan's departments.
    for who in [&o.zhang, &o.coordinator, &o.auditor] {
        let err = s
            .as_(who)
            .declare_incident(declare.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{}", who.name);
    }
    let err = s
        .as_(&o.finance_head)
        .declare_incident(declare.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let by_it = s
        .as_(&o.it_head)
        .declare_incident(declare.clone())
        .await
        .unwrap()
        .into_inner();
    let by_admin = s
        .as_(&o.admin)
        .declare_incident(declare.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_admin.declared_by, o.admin.id);

    let status = |id: &str, to: IncidentStatus| UpdateIncidentStatusRequest {
        id: id.into(),
        status: to as i32,
        ..Default::default()
    };
    let err = s
        .as_(&o.zhang)
        .update_incident_status(status(&by_it.id, IncidentStatus::Contained))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "members do not change status (policy)"
    );
    let err = s
        .as_(&o.finance_head)
        .update_incident_status(status(&by_it.id, IncidentStatus::Contained))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "heads of uninvolved departments do not either"
    );
    s.as_(&o.security_head)
        .update_incident_status(status(&by_it.id, IncidentStatus::Responding))
        .await
        .unwrap();
    s.as_(&o.it_head)
        .update_incident_status(status(&by_it.id, IncidentStatus::Resolved))
        .await
        .unwrap();
    let review = ReviewIncidentRequest {
        id: by_it.id.clone(),
        summary: "复盘".into(),
        ..Default::default()
    };
    let err = s
        .as_(&o.security_head)
        .review_incident(review.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "only the declarer, the owner head and admins review"
    );
    let err = s
        .as_(&o.bob)
        .review_incident(review.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    s.as_(&o.it_head).review_incident(review).await.unwrap();

    // Reading and writing around an incident.
    let get = GetIncidentRequest {
        id: by_admin.id.clone(),
    };
    s.as_(&o.bob).get_incident(get.clone()).await.unwrap();
    s.as_(&o.auditor).get_incident(get.clone()).await.unwrap();
    assert_eq!(
        s.as_(&o.qian)
            .get_incident(get.clone())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let note = |text: &str| AddTimelineEntryRequest {
        request_id: String::new(),
        incident_id: by_admin.id.clone(),
        text: text.into(),
    };
    assert_eq!(
        s.as_(&o.auditor)
            .add_timeline_entry(note("看看"))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        s.as_(&o.qian)
            .add_timeline_entry(note("看看"))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    s.as_(&o.bob)
        .add_timeline_entry(note("到达现场"))
        .await
        .unwrap();
    let complete = CompleteStepRequest {
        incident_id: by_admin.id.clone(),
        step_index: 1,
        note: String::new(),
    };
    assert_eq!(
        s.as_(&o.auditor)
            .complete_step(complete.clone())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        s.as_(&o.zhang)
            .complete_step(complete.clone())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    s.as_(&o.admin).complete_step(complete).await.unwrap();

    // Everybody acknowledges only their own alerts.
    let alerts = s
        .as_(&o.zhang)
        .list_alerts(ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .alerts;
    let alert_id = alerts[0].alert.as_ref().unwrap().id.clone();
    let err = s
        .as_(&o.qian)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: alert_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = s
        .as_(&o.admin)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: alert_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "not even admins acknowledge for somebody else"
    );
    s.as_(&o.zhang)
        .acknowledge_alert(AcknowledgeAlertRequest { alert_id })
        .await
        .unwrap();
    let someone_else = ListAlertsRequest {
        person_id: o.zhang.id.clone(),
        ..Default::default()
    };
    assert_eq!(
        s.as_(&o.bob)
            .list_alerts(someone_else.clone())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    // Two declarations and the resolution of the first.
    assert_eq!(
        s.as_(&o.auditor)
            .list_alerts(someone_else.clone())
            .await
            .unwrap()
            .into_inner()
            .alerts
            .len(),
        3
    );

    // Reports: admins, auditors, services, the declarer, heads of the departments.
    let report = GetIncidentReportRequest {
        incident_id: by_admin.id.clone(),
    };
    let service = token("appraisal", &[Role::Service], None);
    for c in [
        s.as_(&o.admin),
        s.as_(&o.auditor),
        s.with(&service),
        s.as_(&o.security_head),
        s.as_(&o.office_head),
    ] {
        c.clone().get_incident_report(report.clone()).await.unwrap();
    }
    for who in [&o.bob, &o.finance_head, &o.coordinator] {
        let err = s
            .as_(who)
            .get_incident_report(report.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{}", who.name);
    }

    // Statistics: admins, auditors, services everywhere; heads in their subtree.
    let ts = |ms: i64| Some(concord_kit::clock::to_timestamp(ms));
    let stats = |dept: &str| GetEmergencyStatisticsRequest {
        department_id: dept.into(),
        start_time: ts(crate::harness::T0 - 86_400_000),
        end_time: ts(crate::harness::T0 + 86_400_000),
        ..Default::default()
    };
    for c in [s.as_(&o.admin), s.as_(&o.auditor), s.with(&service)] {
        c.clone().get_emergency_statistics(stats("")).await.unwrap();
    }
    s.as_(&o.it_head)
        .get_emergency_statistics(stats(&o.network))
        .await
        .unwrap();
    s.as_(&o.it_head)
        .get_emergency_statistics(stats(""))
        .await
        .unwrap();
    let err = s
        .as_(&o.it_head)
        .get_emergency_statistics(stats(&o.security))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = s
        .as_(&o.zhang)
        .get_emergency_statistics(stats(&o.it))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = s
        .as_(&o.it_head)
        .get_emergency_statistics(GetEmergencyStatisticsRequest {
            person_id: o.bob.id.clone(),
            ..stats("")
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "Bob is outside 信息中心"
    );
    let err = s.with("").get_incident(get).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

concord_kit::backend_tests!(
    an_incident_runs_from_declaration_to_review,
    incidents_are_listed_to_those_involved,
    incident_input_is_checked_field_by_field,
    incident_authorization_per_role,
);

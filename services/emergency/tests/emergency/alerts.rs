//! Alert streams that resume from a cursor, and escalation and reminders
//! driven by a manual clock across a restart of the service.

use concord_kit::testing::Backend;
use concord_proto::emergency::v1::*;
use tonic::Code;

use crate::harness::{Suite, Watcher, assert_once, kind, settle};

fn seqs(events: &[AlertEvent]) -> Vec<i64> {
    events.iter().map(|e| e.sequence).collect()
}

async fn watchers_resume_from_their_cursor(backend: Backend) {
    let mut s = Suite::start(backend).await;
    let o = s.org.clone();
    let plan = s.create_plan().await;
    let first = Watcher::start(s.as_(&o.zhang), 0).await;
    for _ in 0..3 {
        s.declare(&plan.id, true).await;
    }
    let got = first.wait_count(3, 10).await;
    assert_eq!(seqs(&got), [1, 2, 3]);
    assert!(
        got.iter().all(|e| e.alert.as_ref().unwrap().drill),
        "drills say so on the stream"
    );
    drop(first);

    // Missed while away: the backlog first, then live, nothing twice.
    s.declare(&plan.id, true).await;
    s.declare(&plan.id, false).await;
    let back = Watcher::start(s.as_(&o.zhang), 3).await;
    back.wait_count(2, 10).await;
    s.declare(&plan.id, false).await;
    let got = back.wait_count(3, 10).await;
    settle().await;
    assert_eq!(seqs(&back.snapshot()), [4, 5, 6]);
    assert_eq!(
        got.iter()
            .map(|e| e.alert.as_ref().unwrap().drill)
            .collect::<Vec<_>>(),
        [true, false, false]
    );
    let all = Watcher::start(s.as_(&o.zhang), 0).await;
    assert_once(&all.wait_count(6, 10).await, "张三");

    // Pages of the same, by sequence.
    let c = s.as_(&o.zhang);
    let mut token = String::new();
    let mut pages = vec![];
    loop {
        let page = c
            .clone()
            .list_alerts(ListAlertsRequest {
                page_size: 4,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages.push(seqs(&page.alerts));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, [vec![1, 2, 3, 4], vec![5, 6]]);
    let after = c
        .clone()
        .list_alerts(ListAlertsRequest {
            after_sequence: 4,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seqs(&after.alerts), [5, 6]);
    // Each person has their own sequence.
    let bob = s
        .as_(&o.bob)
        .list_alerts(ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seqs(&bob.alerts), [1, 2, 3, 4, 5, 6]);

    // A stream ends with UNAVAILABLE when the service stops; the client
    // resumes elsewhere from its cursor.
    let last = all.last_seq();
    s.restart().await;
    all.wait("the stream to end", 10, |_| {
        all.ended.lock().unwrap().is_some()
    })
    .await;
    assert_eq!(
        all.ended.lock().unwrap().as_ref().unwrap().code(),
        Code::Unavailable
    );
    let resumed = Watcher::start(s.as_(&o.zhang), last).await;
    s.declare(&plan.id, true).await;
    let got = resumed.wait_count(1, 10).await;
    settle().await;
    assert_eq!(seqs(&resumed.snapshot()), [7]);
    assert_eq!(kind(&got[0]), AlertKind::Declared);
}

async fn escalation_survives_a_restart_and_fires_once(backend: Backend) {
    let mut s = Suite::start(backend).await;
    let o = s.org.clone();
    let plan = s.create_plan().await;
    let incident = s.declare(&plan.id, false).await;
    let zhang = Watcher::start(s.as_(&o.zhang), 0).await;
    let first = zhang.wait_count(1, 10).await;
    s.advance(30);
    let ack = s
        .as_(&o.zhang)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: first[0].alert.as_ref().unwrap().id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ack.first_for_department);
    drop(zhang);

    // The service goes away while 保卫处's escalation is pending (due at +60 s).
    s.restart().await;
    let security_head = Watcher::start(s.as_(&o.security_head), 1).await;
    let it_head = Watcher::start(s.as_(&o.it_head), 1).await;
    let admin = Watcher::start(s.as_(&o.admin), 0).await;
    let bob = Watcher::start(s.as_(&o.bob), 1).await;
    let zhang = Watcher::start(s.as_(&o.zhang), 1).await;
    settle().await;
    assert!(
        security_head.snapshot().is_empty(),
        "nothing before the timeout"
    );

    s.advance(31);
    let got = security_head.wait_count(1, 10).await;
    let a = got[0].alert.as_ref().unwrap();
    assert_eq!(
        (kind(&got[0]), a.escalation_level, a.department_id.as_str()),
        (AlertKind::Escalation, 1, o.security.as_str())
    );
    assert_eq!(got[0].department_id, o.security);
    settle().await;
    assert_eq!(security_head.snapshot().len(), 1, "level 1 fired once");
    assert!(
        it_head.snapshot().is_empty(),
        "信息中心 acknowledged in time"
    );
    assert!(admin.snapshot().is_empty(), "admins come at the next level");

    s.advance(30);
    settle().await;
    assert!(
        admin.snapshot().is_empty(),
        "the second level waits a full timeout after the first"
    );
    s.advance(31);
    let got = admin.wait_count(1, 10).await;
    let a = got[0].alert.as_ref().unwrap();
    assert_eq!(
        (kind(&got[0]), a.escalation_level),
        (AlertKind::Escalation, 2)
    );
    // The admin takes it on for 保卫处.
    let ack = s
        .as_(&o.admin)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: a.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ack.first_for_department);
    assert_eq!(ack.department_id, o.security);
    assert_eq!(ack.time_to_acknowledge.unwrap().seconds, 122);
    settle().await;
    assert_eq!(security_head.snapshot().len(), 1);
    assert_eq!(admin.snapshot().len(), 1);

    // Reminders: both departments acknowledged with open steps; one
    // reminder each per interval.
    s.advance(300);
    let z = zhang
        .wait("a reminder", 10, |e| {
            e.iter().any(|e| kind(e) == AlertKind::Reminder)
        })
        .await;
    let reminder = z
        .iter()
        .find(|e| kind(e) == AlertKind::Reminder)
        .unwrap()
        .alert
        .clone()
        .unwrap();
    assert!(
        reminder.message.contains("1. 切换备用服务器") && reminder.message.contains("3. 恢复服务"),
        "{}",
        reminder.message
    );
    assert!(
        !reminder.message.contains("封锁机房"),
        "only the department's own steps"
    );
    bob.wait("a reminder", 10, |e| {
        e.iter().any(|e| kind(e) == AlertKind::Reminder)
    })
    .await;
    admin
        .wait("a reminder for 保卫处", 10, |e| {
            e.iter().any(|e| kind(e) == AlertKind::Reminder)
        })
        .await;
    settle().await;
    let count = |w: &Watcher, k: AlertKind| w.snapshot().iter().filter(|e| kind(e) == k).count();
    assert_eq!(count(&zhang, AlertKind::Reminder), 1);
    assert_eq!(count(&bob, AlertKind::Reminder), 1);

    // 信息中心 finishes its steps: its reminders stop; 保卫处's go on.
    for step_index in [0, 2] {
        s.as_(&o.zhang)
            .complete_step(CompleteStepRequest {
                incident_id: incident.id.clone(),
                step_index,
                note: String::new(),
            })
            .await
            .unwrap();
    }
    s.advance(300);
    bob.wait("a second reminder", 10, |e| {
        e.iter().filter(|e| kind(e) == AlertKind::Reminder).count() == 2
    })
    .await;
    settle().await;
    assert_eq!(count(&zhang, AlertKind::Reminder), 1);

    // Contained: nothing more is sent but the status alert.
    s.as_(&o.office_head)
        .update_incident_status(UpdateIncidentStatusRequest {
            id: incident.id.clone(),
            status: IncidentStatus::Contained as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    bob.wait("the status alert", 10, |e| {
        e.iter().any(|e| kind(e) == AlertKind::StatusChanged)
    })
    .await;
    s.advance(3600);
    settle().await;
    settle().await;
    assert_eq!(count(&bob, AlertKind::Reminder), 2);
    for (who, w) in [
        ("赵处长", &security_head),
        ("李工", &it_head),
        ("管理员", &admin),
        ("Bob", &bob),
        ("张三", &zhang),
    ] {
        assert_once(&w.snapshot(), who);
    }
    let report = s
        .as_(&o.admin)
        .get_incident_report(GetIncidentReportRequest {
            incident_id: incident.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.escalations, 2);
    let security = report
        .departments
        .iter()
        .find(|d| d.department_id == o.security)
        .unwrap();
    assert_eq!(security.escalation_level, 2);
    assert!(!security.acknowledged_within_target);
    let timeline = s
        .as_(&o.admin)
        .list_timeline(ListTimelineRequest {
            incident_id: incident.id.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let escalated = timeline
        .entries
        .iter()
        .filter(|e| e.kind == "escalated")
        .count();
    let reminded = timeline
        .entries
        .iter()
        .filter(|e| e.kind == "reminded")
        .count();
    assert_eq!((escalated, reminded), (2, 3));
}

async fn contacts_can_be_an_escalation_level(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let mut plan = s.plan();
    plan.escalation_chain = vec![EscalationTarget::Contacts as i32];
    plan.steps.truncate(1);
    let plan = s
        .as_(&o.admin)
        .create_plan(CreatePlanRequest {
            request_id: String::new(),
            plan: Some(plan),
        })
        .await
        .unwrap()
        .into_inner();
    let commander = Watcher::start(s.as_(&o.office_head), 0).await;
    let incident = s.declare(&plan.id, true).await;
    s.advance(61);
    let got = commander.wait_count(1, 10).await;
    assert_eq!(kind(&got[0]), AlertKind::Escalation);
    assert!(got[0].alert.as_ref().unwrap().drill);
    s.advance(600);
    settle().await;
    assert_eq!(commander.snapshot().len(), 1, "the chain has one level");
    // The escalated person may work on the department's steps.
    s.as_(&o.office_head)
        .complete_step(CompleteStepRequest {
            incident_id: incident.id.clone(),
            step_index: 0,
            note: "代为完成".into(),
        })
        .await
        .unwrap();
}

concord_kit::backend_tests!(
    watchers_resume_from_their_cursor,
    escalation_survives_a_restart_and_fires_once,
    contacts_can_be_an_escalation_level,
);

//! A scripted drill on a manual clock: the report shows the times the script
//! made, the statistics keep drills and real incidents apart, and the
//! metrics carry the drill label.

use concord_kit::clock::to_timestamp;
use concord_kit::testing::{Backend, token};
use concord_proto::emergency::v1::*;
use concord_proto::policy::v1::Role;

use crate::harness::{Suite, T0, Watcher, kind};

fn secs(d: &Option<prost_types::Duration>) -> Option<i64> {
    d.as_ref().map(|d| d.seconds)
}

async fn a_scripted_drill_produces_the_expected_report(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let plan = s.create_plan().await;
    let zhang = Watcher::start(s.as_(&o.zhang), 0).await;
    let security_head = Watcher::start(s.as_(&o.security_head), 0).await;

    // 09:00 Shanghai: the drill is declared.
    let drill = s.declare(&plan.id, true).await;
    let alert = zhang.wait_count(1, 10).await[0].alert.clone().unwrap();
    assert!(
        alert.drill && alert.message.starts_with("【演练 DRILL】"),
        "{}",
        alert.message
    );
    security_head.wait_count(1, 10).await;

    // +45 s: 张三 acknowledges for 信息中心.
    s.advance(45);
    s.as_(&o.zhang)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: alert.id.clone(),
        })
        .await
        .unwrap();
    // +61 s: nobody in 保卫处 has; their head is alerted.
    s.advance(16);
    let got = security_head.wait_count(2, 10).await;
    assert_eq!(kind(&got[1]), AlertKind::Escalation);
    // +90 s: the head acknowledges the escalation.
    s.advance(29);
    let ack = s
        .as_(&o.security_head)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: got[1].alert.as_ref().unwrap().id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ack.first_for_department && ack.drill);
    // Steps at +10 min (target 15), +12 min (target 10, late) and +50 min (target 60).
    let complete = |who: &crate::harness::Person, step_index: i32| {
        let c = s.as_(who);
        let id = drill.id.clone();
        async move {
            c.clone()
                .complete_step(CompleteStepRequest {
                    incident_id: id,
                    step_index,
                    note: String::new(),
                })
                .await
                .unwrap()
        }
    };
    s.clock.set(T0 + 600_000);
    complete(&o.alice, 0).await;
    s.clock.set(T0 + 720_000);
    complete(&o.bob, 1).await;
    s.clock.set(T0 + 3_000_000);
    complete(&o.zhang, 2).await;
    // Contained at +55 min, resolved at +70 min.
    let status = |to: IncidentStatus| UpdateIncidentStatusRequest {
        id: drill.id.clone(),
        status: to as i32,
        ..Default::default()
    };
    s.clock.set(T0 + 3_300_000);
    s.as_(&o.office_head)
        .update_incident_status(status(IncidentStatus::Contained))
        .await
        .unwrap();
    s.clock.set(T0 + 4_200_000);
    s.as_(&o.office_head)
        .update_incident_status(status(IncidentStatus::Resolved))
        .await
        .unwrap();

    let report = s
        .as_(&o.office_head)
        .get_incident_report(GetIncidentReportRequest {
            incident_id: drill.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(report.drill);
    assert_eq!(secs(&report.time_to_contain), Some(3300));
    assert_eq!(secs(&report.time_to_resolve), Some(4200));
    assert_eq!(
        (
            report.escalations,
            report.steps_completed_on_time,
            report.steps_total
        ),
        (1, 2, 3)
    );
    let it = &report.departments[0];
    assert_eq!(it.department_id, o.it);
    assert_eq!((it.people_alerted, it.people_acknowledged), (3, 1));
    assert_eq!(
        (
            secs(&it.time_to_acknowledge),
            secs(&it.acknowledgement_target)
        ),
        (Some(45), Some(60))
    );
    assert!(it.acknowledged_within_target);
    assert_eq!(it.escalation_level, 0);
    let steps: Vec<(i32, Option<i64>, Option<i64>, bool)> = it
        .steps
        .iter()
        .map(|s| {
            (
                s.index,
                secs(&s.target),
                secs(&s.time_to_complete),
                s.completed_on_time,
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (0, Some(900), Some(600), true),
            (2, Some(3600), Some(3000), true)
        ]
    );
    let security = &report.departments[1];
    assert_eq!(security.department_id, o.security);
    assert_eq!(
        (
            secs(&security.time_to_acknowledge),
            security.acknowledged_within_target
        ),
        (Some(90), false)
    );
    assert_eq!(
        (security.escalation_level, security.people_acknowledged),
        (1, 1)
    );
    let steps: Vec<(i32, Option<i64>, bool)> = security
        .steps
        .iter()
        .map(|s| (s.index, secs(&s.time_to_complete), s.completed_on_time))
        .collect();
    assert_eq!(steps, [(1, Some(720), false)]);
    assert!(
        report.alerts_delivered >= 5 + 1 + 5,
        "declared, escalation, two status alerts"
    );

    // A real incident the same day, acknowledged in 10 s, is counted apart.
    let real = s.declare(&plan.id, false).await;
    let real_alert = zhang
        .wait("the real alert", 10, |e| {
            e.iter().any(|e| !e.alert.as_ref().unwrap().drill)
        })
        .await;
    let real_alert = real_alert
        .iter()
        .find(|e| !e.alert.as_ref().unwrap().drill)
        .unwrap()
        .alert
        .clone()
        .unwrap();
    assert_eq!(real_alert.incident_id, real.id);
    s.advance(10);
    s.as_(&o.zhang)
        .acknowledge_alert(AcknowledgeAlertRequest {
            alert_id: real_alert.id,
        })
        .await
        .unwrap();

    let day = |dept: &str, person: &str, subs: bool| GetEmergencyStatisticsRequest {
        department_id: dept.into(),
        include_sub_departments: subs,
        person_id: person.into(),
        start_time: Some(to_timestamp(T0 - 3_600_000)),
        end_time: Some(to_timestamp(T0 + 86_400_000)),
    };
    let all = s
        .as_(&o.auditor)
        .get_emergency_statistics(day("", "", false))
        .await
        .unwrap()
        .into_inner();
    let drills = all.drills.unwrap();
    assert_eq!(
        (
            drills.incidents,
            drills.alerts_received,
            drills.acknowledged,
            drills.acknowledged_within_timeout
        ),
        (1, 2, 2, 1)
    );
    assert_eq!(
        (
            secs(&drills.median_time_to_acknowledge),
            secs(&drills.p90_time_to_acknowledge)
        ),
        (Some(45), Some(90))
    );
    assert_eq!(
        (
            drills.steps,
            drills.steps_completed,
            drills.steps_completed_on_time
        ),
        (3, 3, 2)
    );
    let real_figures = all.real.unwrap();
    assert_eq!(
        (
            real_figures.incidents,
            real_figures.alerts_received,
            real_figures.acknowledged
        ),
        (1, 2, 1)
    );
    assert_eq!(secs(&real_figures.median_time_to_acknowledge), Some(10));
    assert_eq!((real_figures.steps, real_figures.steps_completed), (3, 0));
    assert_eq!(all.departments.len(), 2);

    // 信息中心's head sees their subtree; a service sees one person.
    let it = s
        .as_(&o.it_head)
        .get_emergency_statistics(day("", "", true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        it.departments
            .iter()
            .map(|d| d.department_id.as_str())
            .collect::<Vec<_>>(),
        [o.it.as_str()]
    );
    let it_drills = it.drills.unwrap();
    assert_eq!(
        (
            it_drills.alerts_received,
            secs(&it_drills.median_time_to_acknowledge)
        ),
        (1, Some(45))
    );
    assert_eq!((it_drills.steps, it_drills.steps_completed_on_time), (2, 2));
    let service = token("appraisal", &[Role::Service], None);
    let person = s
        .with(&service)
        .get_emergency_statistics(day("", &o.zhang.id, false))
        .await
        .unwrap()
        .into_inner();
    let (pd, pr) = (person.drills.unwrap(), person.real.unwrap());
    assert_eq!(
        (
            pd.alerts_received,
            pd.acknowledged,
            secs(&pd.median_time_to_acknowledge)
        ),
        (1, 1, Some(45))
    );
    assert_eq!(
        (pd.steps, pd.steps_completed_on_time),
        (1, 1),
        "张三 completed step 2 on time"
    );
    assert_eq!(
        (pr.alerts_received, secs(&pr.median_time_to_acknowledge)),
        (1, Some(10))
    );
    assert!(person.departments.is_empty());
    let alice = s
        .with(&service)
        .get_emergency_statistics(day("", &o.alice.id, false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        alice.drills.unwrap().acknowledged,
        0,
        "Alice was alerted but never acknowledged"
    );
    let other_day = GetEmergencyStatisticsRequest {
        start_time: Some(to_timestamp(T0 + 86_400_000)),
        end_time: Some(to_timestamp(T0 + 2 * 86_400_000)),
        ..day("", "", false)
    };
    let empty = s
        .as_(&o.admin)
        .get_emergency_statistics(other_day)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(empty.drills.unwrap().alerts_received, 0);
    assert!(empty.departments.is_empty());

    // The metrics carry the drill label.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let text = concord_kit::metrics::render();
    let it_id = &o.it;
    for needle in [
        format!(
            "concord_emergency_time_to_acknowledge_seconds_count{{department=\"{it_id}\",drill=\"true\"}} 1"
        ),
        format!(
            "concord_emergency_time_to_acknowledge_seconds_count{{department=\"{it_id}\",drill=\"false\"}} 1"
        ),
        "concord_emergency_escalations_total{drill=\"true\",escalated_to=\"department_head\"}"
            .to_string(),
        "concord_emergency_alerts_published_total{drill=\"true\",kind=\"declared\"}".to_string(),
        "concord_emergency_alerts_delivered_total{drill=\"true\"}".to_string(),
        "concord_emergency_incidents{drill=\"true\",severity=\"II\",status=\"resolved\"}"
            .to_string(),
    ] {
        assert!(text.contains(&needle), "metrics lack {needle}");
    }
}

concord_kit::backend_tests!(a_scripted_drill_produces_the_expected_report);

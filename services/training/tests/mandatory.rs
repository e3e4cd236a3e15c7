//! Mandatory training followed to its deadline (who has not completed it,
//! reminders, the deadline as a due row across a restart), reminders
//! delivered as notices through the real notices service (also when it is
//! down at the time), and the statistics and metrics checked against a
//! known data set.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::*;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::training::v1::*;
use prost_types::FieldMask;
use tonic::Code;

fn mandatory(
    department: &str,
    title: &str,
    audience: &[&str],
    deadline: i64,
) -> CreateTrainingPlanRequest {
    CreateTrainingPlanRequest {
        mandatory: true,
        completion_deadline: ts(deadline),
        ..plan_req(department, title, audience)
    }
}

/// The fire-safety course, mandatory for `audience` within ten days,
/// planned and published by the head of headquarters.
async fn fire_safety(s: &Suite, audience: &[&str]) -> TrainingPlan {
    let o = &s.org;
    let req = mandatory(&o.hq, "消防安全必修课 Fire safety", audience, T0 + 10 * DAY);
    s.open(&o.hq_head, req).await
}

/// A reminder round of `plan_id` by `who` under `request_id`.
async fn remind(s: &Suite, who: &Who, plan_id: &str, request_id: &str) -> RemindIncompleteResponse {
    let req = RemindIncompleteRequest {
        request_id: request_id.into(),
        plan_id: plan_id.into(),
    };
    s.t()
        .remind_incomplete(by(who, req))
        .await
        .expect("remind the incomplete")
        .into_inner()
}

/// Advances the clock a minute at a time until `plan_id`'s reminders are
/// delivered.
async fn until_delivered(s: &Suite, plan_id: &str) {
    eventually_advancing(s, MINUTE, "the reminder to arrive", || async {
        (!audited(s, plan_id, "plan.reminders_delivered")
            .await
            .is_empty())
        .then_some(())
    })
    .await;
}

fn ids(people: &[IncompletePerson]) -> BTreeSet<String> {
    people.iter().map(|p| p.person_id.clone()).collect()
}

fn set(who: &[&Who]) -> BTreeSet<String> {
    who.iter().map(|w| w.id.clone()).collect()
}

/// A sample of the process's Prometheus exposition, by name and labels.
fn metric(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = concord_kit::metrics::render();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let rest = series.strip_prefix(name)?;
            if !(rest.is_empty() || rest.starts_with('{')) {
                return None;
            }
            labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
                .then(|| value.parse().ok())?
        })
}

async fn mandatory_training_is_followed_to_its_deadline(backend: concord_kit::testing::Backend) {
    let mut s = Suite::start(backend).await;
    let o = s.org.clone();
    let mut reminders = s.subscribe_reminders();
    let deadline = T0 + 10 * DAY;
    // Organised by 总部 for 安全生产部 and the departments below it.
    let plan = s
        .open(
            &o.hq_head,
            mandatory(&o.hq, "安全生产法规全员必修课", &[&o.safety], deadline),
        )
        .await;
    assert_eq!(plan.audience_size, 5);
    let everybody = set(&[&o.safety_head, &o.zhang, &o.li, &o.alice, &o.wang]);
    let r = s.incomplete(&o.hq_head, &plan.id).await;
    assert_eq!(ids(&r.people), everybody);
    assert_eq!(
        (r.audience_size, r.completed, r.completed_by_deadline),
        (5, 0, 0)
    );
    assert!(
        r.people
            .iter()
            .all(|p| !p.non_compliant && p.enrolment_status == 0 && p.reminders_sent == 0)
    );

    let zhang = s.enrol(&o.zhang, &plan.id).await;
    s.enrol(&o.li, &plan.id).await;
    s.advance(3 * DAY);
    s.attend(&o.hq_head, &plan, 0, &[(&o.zhang, true), (&o.li, true)])
        .await;
    let record = s
        .complete(&o.hq_head, &zhang.id, Some(88.0))
        .await
        .completion
        .unwrap();
    assert!(record.within_deadline);
    let r = s.incomplete(&o.hq_head, &plan.id).await;
    let outstanding = set(&[&o.safety_head, &o.li, &o.alice, &o.wang]);
    assert_eq!(ids(&r.people), outstanding);
    assert_eq!(
        (r.audience_size, r.completed, r.completed_by_deadline),
        (5, 1, 1)
    );
    let li = r.people.iter().find(|p| p.person_id == o.li.id).unwrap();
    assert_eq!(
        (li.enrolment_status, li.display_name.as_str()),
        (EnrolmentStatus::Enrolled as i32, "李娜")
    );

    // Who sees the list: planners, auditors, admins; other heads their own people.
    for who in [&o.admin, &o.auditor] {
        assert_eq!(ids(&s.incomplete(who, &plan.id).await.people), outstanding);
    }
    assert_eq!(
        ids(&s.incomplete(&o.safety_head, &plan.id).await.people),
        outstanding
    );
    assert!(s.incomplete(&o.it_head, &plan.id).await.people.is_empty());
    let fire_only = ListIncompleteRequest {
        plan_id: plan.id.clone(),
        department_id: o.fire.clone(),
        ..Default::default()
    };
    let fire = s
        .t()
        .list_incomplete(by(&o.safety_head, fire_only.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&fire.people), set(&[&o.wang]));
    assert_eq!(fire.audience_size, 5);
    fails(
        s.t().list_incomplete(by(&o.it_head, fire_only)).await,
        Code::PermissionDenied,
    );
    for who in [&o.zhang, &o.service] {
        fails(
            s.t()
                .list_incomplete(by(
                    who,
                    ListIncompleteRequest {
                        plan_id: plan.id.clone(),
                        ..Default::default()
                    },
                ))
                .await,
            Code::PermissionDenied,
        );
    }
    // Pages by name.
    let page1 = s
        .t()
        .list_incomplete(by(
            &o.hq_head,
            ListIncompleteRequest {
                plan_id: plan.id.clone(),
                page_size: 3,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let page2 = s
        .t()
        .list_incomplete(by(
            &o.hq_head,
            ListIncompleteRequest {
                plan_id: plan.id.clone(),
                page_size: 3,
                page_token: page1.next_page_token,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((page1.people.len(), page2.people.len()), (3, 1));
    assert!(page2.next_page_token.is_empty());

    // Reminders go to exactly the people who have not completed, once per round.
    let round = RemindIncompleteRequest {
        request_id: "round-1".into(),
        plan_id: plan.id.clone(),
    };
    let sent = s
        .t()
        .remind_incomplete(by(&o.hq_head, round.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sent.reminded, 4);
    assert_eq!(
        sent.person_ids.iter().cloned().collect::<BTreeSet<_>>(),
        outstanding
    );
    let event = next_reminder(&mut reminders).await;
    assert_eq!(event.plan_id, plan.id);
    assert_eq!(event.title, "安全生产法规全员必修课");
    assert_eq!(event.completion_deadline, ts(deadline));
    assert_eq!(
        event.person_ids.iter().cloned().collect::<BTreeSet<_>>(),
        outstanding
    );
    let again = s
        .t()
        .remind_incomplete(by(&o.hq_head, round))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, sent);
    let r = s.incomplete(&o.hq_head, &plan.id).await;
    assert!(r.people.iter().all(|p| p.reminders_sent == 1));
    s.advance(HOUR);
    s.t()
        .remind_incomplete(by(
            &o.admin,
            RemindIncompleteRequest {
                request_id: "round-2".into(),
                plan_id: plan.id.clone(),
            },
        ))
        .await
        .unwrap();
    let r = s.incomplete(&o.hq_head, &plan.id).await;
    assert!(
        r.people
            .iter()
            .all(|p| p.reminders_sent == 2 && p.last_reminder_time == ts(s.now()))
    );
    assert_eq!(next_reminder(&mut reminders).await.person_ids.len(), 4);
    // Only the planners remind.
    let other = RemindIncompleteRequest {
        plan_id: plan.id.clone(),
        ..Default::default()
    };
    fails(
        s.t()
            .remind_incomplete(by(&o.safety_head, other.clone()))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.t().remind_incomplete(by(&o.zhang, other.clone())).await,
        Code::PermissionDenied,
    );
    fails(
        s.t().remind_incomplete(by(&o.auditor, other)).await,
        Code::PermissionDenied,
    );
    // Not for a training that is not mandatory.
    let optional = s
        .open(
            &o.safety_head,
            plan_req(&o.safety, "选修：急救常识", &[&o.safety]),
        )
        .await;
    fails(
        s.t()
            .remind_incomplete(by(
                &o.safety_head,
                RemindIncompleteRequest {
                    plan_id: optional.id.clone(),
                    ..Default::default()
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    fails(
        s.t()
            .list_incomplete(by(
                &o.safety_head,
                ListIncompleteRequest {
                    plan_id: optional.id.clone(),
                    ..Default::default()
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    names_fields(
        s.t()
            .remind_incomplete(by(
                &o.admin,
                RemindIncompleteRequest {
                    request_id: "r".repeat(200),
                    plan_id: "p".into(),
                },
            ))
            .await,
        &["request_id", "plan_id"],
    );
    names_fields(
        s.t()
            .list_incomplete(by(
                &o.admin,
                ListIncompleteRequest {
                    plan_id: String::new(),
                    department_id: "d".into(),
                    page_size: -3,
                    ..Default::default()
                },
            ))
            .await,
        &["plan_id", "department_id", "page_size"],
    );

    // The deadline moves, and its due row with it.
    let training_db = concord_training::connect(&s.db.location).await.unwrap();
    let due = || concord_kit::due::pending(&training_db, concord_training::DEADLINE, &plan.id);
    assert_eq!(due().await.unwrap(), Some(deadline));
    let mut later = s.get(&o.hq_head, &plan.id).await;
    let deadline = T0 + 12 * DAY;
    later.completion_deadline = ts(deadline);
    s.t()
        .update_training_plan(by(
            &o.hq_head,
            UpdateTrainingPlanRequest {
                plan: Some(later),
                update_mask: Some(FieldMask {
                    paths: vec!["completion_deadline".into()],
                }),
            },
        ))
        .await
        .unwrap();
    assert_eq!(due().await.unwrap(), Some(deadline));

    // The deadline passes while training is down; the due row survives.
    s.stop().await;
    s.advance(deadline - s.now() + MINUTE);
    s.restart().await;
    let passed = eventually("the deadline to be marked", || async {
        let p = s.get(&o.admin, &plan.id).await;
        p.deadline_passed.then_some(p)
    })
    .await;
    assert_eq!(passed.completed, 1);
    // The worker deletes the row once the handler has committed.
    eventually("the due row to be done", || async {
        due().await.unwrap().is_none().then_some(())
    })
    .await;
    let r = s.incomplete(&o.hq_head, &plan.id).await;
    assert_eq!(ids(&r.people), outstanding);
    assert!(r.people.iter().all(|p| p.non_compliant));
    // A late completion counts as completed, not as compliant.
    let li = s
        .enrolments(&o.hq_head, &plan.id)
        .await
        .into_iter()
        .find(|e| e.person_id == o.li.id)
        .unwrap();
    let late = s
        .complete(&o.hq_head, &li.id, None)
        .await
        .completion
        .unwrap();
    assert!(!late.within_deadline);
    let r = s.incomplete(&o.hq_head, &plan.id).await;
    assert_eq!(
        (r.audience_size, r.completed, r.completed_by_deadline),
        (5, 2, 1)
    );
    assert_eq!(r.people.len(), 3);
    // A passed deadline no longer moves.
    let mut p = s.get(&o.hq_head, &plan.id).await;
    p.completion_deadline = ts(s.now() + DAY);
    fails(
        s.t()
            .update_training_plan(by(
                &o.hq_head,
                UpdateTrainingPlanRequest {
                    plan: Some(p),
                    update_mask: Some(FieldMask {
                        paths: vec!["completion_deadline".into()],
                    }),
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    // The service recorded the deadline in the audit trail.
    let entries = s
        .t()
        .list_audit_entries(by(
            &o.auditor,
            ListAuditEntriesRequest {
                resource: format!("plans/{}", plan.id),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let marked = entries
        .iter()
        .find(|e| e.action == "plan.deadline")
        .expect("deadline audited");
    assert_eq!(marked.actor, "training");
    assert!(
        marked.detail_json.contains("\"non_compliant\":4"),
        "{}",
        marked.detail_json
    );
    // The compliance gauge: one of five completed by the deadline.
    let ratio = metric(
        "concord_training_mandatory_compliance_ratio",
        &[("plan", &plan.id), ("department", &o.hq)],
    );
    assert_eq!(ratio, Some(0.2));
}

fn stats_req(
    department: &str,
    sub: bool,
    person: &str,
    start: i64,
    end: i64,
) -> GetTrainingStatisticsRequest {
    GetTrainingStatisticsRequest {
        department_id: department.into(),
        include_sub_departments: sub,
        person_id: person.into(),
        start_time: ts(start),
        end_time: ts(end),
    }
}

fn figures(
    enrolments: i64,
    completed: i64,
    hours: f64,
    required: i64,
    by_deadline: i64,
    certificates: i64,
    average: f64,
) -> TrainingFigures {
    TrainingFigures {
        enrolments,
        completed,
        completion_rate: if enrolments == 0 {
            0.0
        } else {
            completed as f64 / enrolments as f64
        },
        training_hours: hours,
        mandatory_required: required,
        mandatory_completed_by_deadline: by_deadline,
        mandatory_compliance_rate: if required == 0 {
            0.0
        } else {
            by_deadline as f64 / required as f64
        },
        certificates_issued: certificates,
        average_assessment_score: average,
    }
}

fn rows(r: &GetTrainingStatisticsResponse) -> HashMap<String, TrainingFigures> {
    r.departments
        .iter()
        .map(|d| (d.department_id.clone(), d.figures.unwrap()))
        .collect()
}

async fn statistics_are_exact_on_a_known_data_set(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    // A: 安全生产部's optional training (sessions of 3 h and 1.5 h).
    let a = s
        .open(
            &o.safety_head,
            plan_req(&o.safety, "Confined space entry 有限空间作业", &[&o.safety]),
        )
        .await;
    // B: 信息中心's mandatory training, also for 张伟; one session of 1 h.
    let mut b = mandatory(
        &o.it,
        "Information security 信息安全必修",
        &[&o.it],
        T0 + 10 * DAY,
    );
    b.audience.as_mut().unwrap().person_ids = vec![o.zhang.id.clone()];
    b.sessions = vec![session("唯一一讲", T0 + 3 * DAY + 2 * HOUR, 60)];
    let b = s.open(&o.admin, b).await;
    assert_eq!(b.audience_size, 3);
    // C: 消防科's mandatory training, due after the first month.
    let mut c = mandatory(&o.fire, "消防器材使用", &[&o.fire], T0 + 40 * DAY);
    c.sessions = vec![session("实操", T0 + 20 * DAY, 120)];
    let c = s.open(&o.safety_head, c).await;

    let zhang_a = s.enrol(&o.zhang, &a.id).await;
    s.enrol(&o.li, &a.id).await;
    let alice_a = s.enrol(&o.alice, &a.id).await;
    let wang_a = s.enrol(&o.wang, &a.id).await;
    let bob_b = s.enrol(&o.bob, &b.id).await;
    let zhang_b = s.enrol(&o.zhang, &b.id).await;
    s.cancel_enrolment(&o.alice, &alice_a.id).await;
    s.advance(4 * DAY);
    s.attend(
        &o.safety_head,
        &a,
        0,
        &[(&o.zhang, true), (&o.li, true), (&o.wang, true)],
    )
    .await;
    s.attend(
        &o.safety_head,
        &a,
        1,
        &[(&o.zhang, true), (&o.wang, true), (&o.li, false)],
    )
    .await;
    s.attend(&o.admin, &b, 0, &[(&o.bob, true), (&o.zhang, false)])
        .await;
    s.complete(&o.safety_head, &zhang_a.id, Some(90.0)).await;
    s.complete(&o.safety_head, &wang_a.id, Some(80.0)).await;
    s.complete(&o.admin, &bob_b.id, None).await;
    s.advance(7 * DAY);
    s.complete(&o.admin, &zhang_b.id, None).await;

    let month = (T0, T0 + 30 * DAY);
    let safety = figures(3, 2, 7.5, 1, 0, 2, 90.0);
    let fire = figures(1, 1, 4.5, 0, 0, 1, 80.0);
    let it = figures(1, 1, 1.0, 2, 1, 1, 0.0);
    let totals = figures(5, 4, 13.0, 3, 1, 4, 85.0);
    for who in [&o.admin, &o.auditor, &o.service, &o.hq_head] {
        let r = s
            .statistics(who, stats_req("", false, "", month.0, month.1))
            .await;
        assert_eq!(r.totals, Some(totals), "as {}", who.id);
        assert_eq!(
            rows(&r),
            HashMap::from([
                (o.safety.clone(), safety),
                (o.fire.clone(), fire),
                (o.it.clone(), it)
            ])
        );
    }
    // A department with those below it, or alone; a head's own subtree.
    let with_fire = figures(4, 3, 12.0, 1, 0, 3, 85.0);
    let r = s
        .statistics(&o.admin, stats_req(&o.safety, true, "", month.0, month.1))
        .await;
    assert_eq!(r.totals, Some(with_fire));
    assert_eq!(
        rows(&r),
        HashMap::from([(o.safety.clone(), safety), (o.fire.clone(), fire)])
    );
    let r = s
        .statistics(&o.safety_head, stats_req("", false, "", month.0, month.1))
        .await;
    assert_eq!(r.totals, Some(with_fire));
    let r = s
        .statistics(
            &o.safety_head,
            stats_req(&o.safety, false, "", month.0, month.1),
        )
        .await;
    assert_eq!(
        (r.totals, rows(&r)),
        (Some(safety), HashMap::from([(o.safety.clone(), safety)]))
    );
    // One person.
    let r = s
        .statistics(
            &o.safety_head,
            stats_req("", false, &o.zhang.id, month.0, month.1),
        )
        .await;
    assert_eq!(r.totals, Some(figures(2, 2, 4.5, 1, 0, 2, 90.0)));
    // Two months also reach C's deadline; nothing before the start.
    let r = s
        .statistics(&o.admin, stats_req("", false, "", T0, T0 + 60 * DAY))
        .await;
    assert_eq!(rows(&r)[&o.fire], figures(1, 1, 4.5, 1, 0, 1, 80.0));
    assert_eq!(r.totals.unwrap().mandatory_required, 4);
    let r = s
        .statistics(&o.admin, stats_req("", false, "", T0 - 30 * DAY, T0))
        .await;
    assert_eq!(
        (r.totals, r.departments.len()),
        (Some(figures(0, 0, 0.0, 0, 0, 0, 0.0)), 0)
    );
    // Only within one's reach.
    fails(
        s.t()
            .get_training_statistics(by(
                &o.safety_head,
                stats_req(&o.it, false, "", month.0, month.1),
            ))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.t()
            .get_training_statistics(by(&o.it_head, stats_req(&o.hq, true, "", month.0, month.1)))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.t()
            .get_training_statistics(by(
                &o.zhang,
                stats_req("", false, &o.zhang.id, month.0, month.1),
            ))
            .await,
        Code::PermissionDenied,
    );
    // Bad input, field by field.
    names_fields(
        s.t()
            .get_training_statistics(by(
                &o.admin,
                GetTrainingStatisticsRequest {
                    department_id: "x".into(),
                    person_id: "y".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["department_id", "person_id", "start_time", "end_time"],
    );
    names_fields(
        s.t()
            .get_training_statistics(by(&o.admin, stats_req("", false, "", T0, T0 - 1)))
            .await,
        &["end_time"],
    );
    names_fields(
        s.t()
            .get_training_statistics(by(
                &o.admin,
                stats_req(&concord_kit::ids::new_id(), false, "", month.0, month.1),
            ))
            .await,
        &["department_id"],
    );

    // The same activity as metrics.
    let by_dept = |name: &str, d: &str| metric(name, &[("department", d)]);
    assert_eq!(
        by_dept("concord_training_enrolments_total", &o.safety),
        Some(4.0)
    );
    assert_eq!(
        by_dept("concord_training_enrolments_total", &o.fire),
        Some(1.0)
    );
    assert_eq!(
        by_dept("concord_training_enrolments_total", &o.it),
        Some(1.0)
    );
    assert_eq!(
        by_dept("concord_training_completions_total", &o.safety),
        Some(2.0)
    );
    assert_eq!(
        by_dept("concord_training_completions_total", &o.it),
        Some(1.0)
    );
    assert_eq!(
        by_dept("concord_training_hours_total", &o.safety),
        Some(7.5)
    );
    assert_eq!(by_dept("concord_training_hours_total", &o.fire), Some(4.5));
    assert_eq!(by_dept("concord_training_hours_total", &o.it), Some(1.0));
    let ratio = |plan: &TrainingPlan, d: &str| {
        metric(
            "concord_training_mandatory_compliance_ratio",
            &[("plan", &plan.id), ("department", d)],
        )
    };
    assert!((ratio(&b, &o.it).unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(ratio(&c, &o.fire), Some(0.0));
    // Cancelling a plan drops its gauge.
    let c = s.get(&o.safety_head, &c.id).await;
    s.t()
        .cancel_training_plan(by(
            &o.safety_head,
            CancelTrainingPlanRequest {
                id: c.id.clone(),
                etag: c.etag.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(ratio(&c, &o.fire), None);
}

/// The audit entries of `plan_id` with `action`, oldest first.
async fn audited(s: &Suite, plan_id: &str, action: &str) -> Vec<serde_json::Value> {
    s.t()
        .list_audit_entries(by(
            &s.org.auditor,
            ListAuditEntriesRequest {
                resource: format!("plans/{plan_id}"),
                page_size: 100,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| {
            if action.starts_with("plan.reminders_") {
                assert_eq!(e.actor, "training", "the service delivers");
            }
            serde_json::from_str(&e.detail_json).unwrap()
        })
        .collect()
}

/// Polls `f`, moving the clock by `step` between tries (retries back off on
/// the service's clock).
async fn eventually_advancing<T, F, Fut>(s: &Suite, step: i64, what: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        s.advance(step);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The reminder notice in `who`'s inbox, checked: the training, its
/// deadline, how to complete it, from training, to exactly `to`.
async fn reminder_in_inbox(
    s: &Suite,
    who: &Who,
    plan: &TrainingPlan,
    to: &BTreeSet<String>,
) -> String {
    let inbox = s.inbox(who).await;
    assert_eq!(inbox.len(), 1, "one reminder for {}: {inbox:?}", who.id);
    let n = &inbox[0];
    assert_eq!(
        n.title,
        format!("必修培训提醒 Mandatory training reminder: {}", plan.title)
    );
    for needle in [
        plan.title.as_str(),
        "Deadline: 2026-10-11 08:00 (Asia/Shanghai)",
        "报名 Enrol",
        plan.id.as_str(),
        "地点 Place: 三楼大会议室",
        "2026-10-02 09:00–2026-10-02 12:00 第一讲",
        "完成 Complete",
    ] {
        assert!(n.body.contains(needle), "{needle} missing from {}", n.body);
    }
    assert_eq!(n.author_id, "training");
    let audience = n.audience.as_ref().unwrap();
    assert_eq!(
        audience.person_ids.iter().cloned().collect::<BTreeSet<_>>(),
        *to
    );
    assert!(audience.department_ids.is_empty() && !audience.everyone);
    n.id.clone()
}

/// A reminder round reaches exactly the people reminded, as one notice in
/// their inbox: not the person who completed, not outsiders; neither a
/// repeated request nor a rerun of the delivery publishes it twice.
async fn reminders_reach_exactly_the_reminded_as_notices(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let plan = fire_safety(&s, &[&o.safety]).await;
    // 张伟 completes and is not reminded.
    let zhang = s.enrol(&o.zhang, &plan.id).await;
    s.advance(2 * DAY);
    s.attend(&o.hq_head, &plan, 0, &[(&o.zhang, true)]).await;
    s.complete(&o.hq_head, &zhang.id, None).await;
    let round = RemindIncompleteRequest {
        request_id: "fire-round-1".into(),
        plan_id: plan.id.clone(),
    };
    let sent = s
        .t()
        .remind_incomplete(by(&o.hq_head, round.clone()))
        .await
        .unwrap()
        .into_inner();
    let reminded = [&o.safety_head, &o.li, &o.alice, &o.wang];
    let to = set(&reminded);
    assert_eq!(sent.person_ids.iter().cloned().collect::<BTreeSet<_>>(), to);
    let delivered = eventually("the round to be delivered", || async {
        audited(&s, &plan.id, "plan.reminders_delivered")
            .await
            .pop()
    })
    .await;
    let mut notice_ids = BTreeSet::new();
    for who in reminded {
        notice_ids.insert(reminder_in_inbox(&s, who, &plan, &to).await);
    }
    assert_eq!(notice_ids.len(), 1, "one notice for the round");
    assert_eq!(
        delivered["notice_ids"],
        serde_json::json!(notice_ids.iter().collect::<Vec<_>>())
    );
    for who in [&o.zhang, &o.bob, &o.it_head, &o.hq_head, &o.admin] {
        assert!(s.inbox(who).await.is_empty(), "{} was not reminded", who.id);
    }

    // The same request again is the same round: no second notice.
    let again = s
        .t()
        .remind_incomplete(by(&o.hq_head, round))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, sent);
    assert_eq!(audited(&s, &plan.id, "plan.remind").await.len(), 1);

    // The delivery runs again (a replica dying after publishing): the
    // notice is not published twice.
    let round_id = audited(&s, &plan.id, "plan.remind").await[0]["round_id"]
        .as_str()
        .unwrap()
        .to_string();
    let training_db = concord_training::connect(&s.db.location).await.unwrap();
    let mut conn = training_db.pool().acquire().await.unwrap();
    concord_kit::due::schedule(
        &mut conn,
        concord_training::REMINDER,
        &round_id,
        s.now(),
        &plan.id,
    )
    .await
    .unwrap();
    drop(conn);
    let rerun = eventually_advancing(&s, 1_000, "the delivery to run again", || async {
        let d = audited(&s, &plan.id, "plan.reminders_delivered").await;
        (d.len() == 2).then(|| d[1].clone())
    })
    .await;
    assert_eq!(rerun["notice_ids"], delivered["notice_ids"]);
    for who in reminded {
        reminder_in_inbox(&s, who, &plan, &to).await;
    }
    eventually("the due row to be done", || async {
        concord_kit::due::pending(&training_db, concord_training::REMINDER, &round_id)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

/// Notices is down when the round is recorded and training restarts
/// meanwhile: the reminder is not lost, it arrives once notices is up.
async fn reminders_wait_for_notices_to_come_up(backend: concord_kit::testing::Backend) {
    let mut s = Suite::start_with_notices_down(backend).await;
    let o = s.org.clone();
    let plan = fire_safety(&s, &[&o.safety]).await;
    let sent = remind(&s, &o.hq_head, &plan.id, "while-notices-is-down").await;
    let reminded = [&o.safety_head, &o.zhang, &o.li, &o.alice, &o.wang];
    let to = set(&reminded);
    assert_eq!(sent.person_ids.iter().cloned().collect::<BTreeSet<_>>(), to);
    // A few failed attempts while notices is down; then a redeploy.
    for _ in 0..3 {
        s.advance(MINUTE);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        audited(&s, &plan.id, "plan.reminders_delivered")
            .await
            .is_empty()
    );
    assert!(
        audited(&s, &plan.id, "plan.reminders_failed")
            .await
            .is_empty()
    );
    s.restart().await;
    s.notices_up().await;
    until_delivered(&s, &plan.id).await;
    for who in reminded {
        reminder_in_inbox(&s, who, &plan, &to).await;
    }
    for who in [&o.bob, &o.it_head, &o.hq_head] {
        assert!(s.inbox(who).await.is_empty(), "{} was not reminded", who.id);
    }
}

/// Training started without the address of notices keeps the round's due
/// row and retries it (logging each failure) instead of dropping it; once
/// restarted with the address, the reminder arrives.
async fn reminders_wait_for_notices_to_be_configured(backend: concord_kit::testing::Backend) {
    let mut s = Suite::start(backend).await;
    s.tells_notices = false;
    s.restart().await;
    let o = s.org.clone();
    let plan = fire_safety(&s, &[&o.fire]).await;
    remind(&s, &o.hq_head, &plan.id, "unconfigured").await;
    let round_id = audited(&s, &plan.id, "plan.remind").await[0]["round_id"]
        .as_str()
        .unwrap()
        .to_string();
    let training_db = concord_training::connect(&s.db.location).await.unwrap();
    let attempts = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT attempts FROM kit_due WHERE kind = $1 AND subject = $2",
        )
        .bind(concord_training::REMINDER)
        .bind(&round_id)
        .fetch_optional(training_db.pool())
        .await
        .unwrap()
    };
    eventually_advancing(&s, MINUTE, "a few failed attempts", || async {
        attempts().await.filter(|a| *a >= 3).map(|_| ())
    })
    .await;
    assert!(
        audited(&s, &plan.id, "plan.reminders_delivered")
            .await
            .is_empty()
    );
    assert!(s.inbox(&o.wang).await.is_empty());
    s.tells_notices = true;
    s.restart().await;
    until_delivered(&s, &plan.id).await;
    reminder_in_inbox(&s, &o.wang, &plan, &set(&[&o.wang])).await;
    assert!(s.inbox(&o.li).await.is_empty());
}

concord_kit::backend_tests!(
    reminders_wait_for_notices_to_be_configured,
    mandatory_training_is_followed_to_its_deadline,
    statistics_are_exact_on_a_known_data_set,
    reminders_reach_exactly_the_reminded_as_notices,
    reminders_wait_for_notices_to_come_up,
);

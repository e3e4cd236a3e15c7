//! Automatic indicators collected from the real notices, emergency,
//! feedback, decisions and training servers (started on port 0 over their
//! own databases, no mocks), checked by exact values and against what those
//! services report; the collection is idempotent and keeps the raw figures;
//! the deadlines collect by themselves and survive restarts and a source
//! that cannot be reached.

mod common;

use common::*;
use concord_kit::clock::to_timestamp;
use concord_kit::testing::Backend;
use concord_proto::appraisal::v1::*;
use concord_proto::decisions::v1 as decisions;
use concord_proto::decisions::v1::action_item_service_client::ActionItemServiceClient;
use concord_proto::decisions::v1::decision_service_client::DecisionServiceClient;
use concord_proto::emergency::v1 as emergency;
use concord_proto::emergency::v1::emergency_service_client::EmergencyServiceClient;
use concord_proto::feedback::v1 as feedback;
use concord_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use concord_proto::notices::v1 as notices;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use concord_proto::training::v1 as training;
use concord_proto::training::v1::training_service_client::TrainingServiceClient;
use tonic::Code;

const START: i64 = T0 - HOUR;
const END: i64 = T0 + 30 * DAY;

/// Every automatic source once, and a manual attitude indicator.
fn department_indicators() -> Vec<Indicator> {
    vec![
        linear(
            "fb.on_time",
            "按时办结率",
            15,
            Source::FeedbackResolvedOnTime,
            0.0,
            100.0,
        ),
        linear(
            "fb.satisfaction",
            "群众满意度",
            10,
            Source::FeedbackSatisfaction,
            1.0,
            5.0,
        ),
        linear(
            "drill.ack",
            "演练响应时间 Drill response",
            15,
            Source::DrillTimeToAcknowledge,
            600.0,
            30.0,
        ),
        Indicator {
            rule: ScoringRule::Threshold as i32,
            target: 100.0,
            floor: 0.0,
            ..linear(
                "alerts.on_time",
                "及时确认率",
                10,
                Source::AlertsAcknowledgedOnTime,
                0.0,
                100.0,
            )
        },
        linear(
            "actions.on_time",
            "督办事项按时完成率",
            15,
            Source::ActionItemsOnTime,
            0.0,
            100.0,
        ),
        linear(
            "notices.read",
            "通知阅读率",
            15,
            Source::NoticeReadRate,
            0.0,
            100.0,
        ),
        Indicator {
            rule: ScoringRule::Threshold as i32,
            target: 80.0,
            floor: 0.0,
            ..linear(
                "training.done",
                "培训完成率",
                10,
                Source::TrainingCompletion,
                0.0,
                100.0,
            )
        },
        manual("attitude", "工作作风", Dimension::Attitude, 10),
    ]
}

fn period() -> (
    Option<prost_types::Timestamp>,
    Option<prost_types::Timestamp>,
) {
    (Some(to_timestamp(START)), Some(to_timestamp(END)))
}

/// Known data in every source service, through their own APIs.
///
/// Notices: 李主任 tells 办公室 (4 people; 张三 and 李四 read it); Chen IT
/// tells 信息中心 (2 people; both read it).
/// Emergency: a drill alerts 办公室 and 信息中心; 张三 acknowledges after
/// 45 s (within the 60 s timeout), Qian after 120 s.
/// Feedback: two items for 办公室, one resolved in a day (rated 5), one
/// after eight days, past the seven-day deadline (rated 3).
/// Decisions: two action items led by 办公室, 张三's done early, 李四's late.
/// Training: 张三 and 李四 enrolled in an office course; 张三 completed it.
async fn seed(s: &Suite) {
    let o = s.org.clone();
    let mut notices = NoticeServiceClient::new(s.channel("notices").await);
    let mut emergency = EmergencyServiceClient::new(s.channel("emergency").await);
    let feedback = FeedbackServiceClient::new(s.channel("feedback").await);
    let actions = ActionItemServiceClient::new(s.channel("decisions").await);
    let mut training = TrainingServiceClient::new(s.channel("training").await);

    // Notices.
    for (author, dept, readers) in [
        (&o.office_head, &o.office, vec![&o.zhang, &o.li]),
        (&o.it_head, &o.it, vec![&o.it_head, &o.qian]),
    ] {
        let draft = notices
            .create_notice(author.req(notices::CreateNoticeRequest {
                title: "关于年终考核的通知 Year-end appraisal".into(),
                body: "请各位按时完成自评。".into(),
                audience: Some(notices::Audience {
                    department_ids: vec![dept.clone()],
                    ..Default::default()
                }),
                ..Default::default()
            }))
            .await
            .expect("create notice")
            .into_inner();
        notices
            .publish_notice(author.req(notices::PublishNoticeRequest {
                id: draft.id.clone(),
                etag: String::new(),
            }))
            .await
            .expect("publish notice");
        for r in readers {
            notices
                .mark_notice_read(r.req(notices::MarkNoticeReadRequest {
                    notice_id: draft.id.clone(),
                }))
                .await
                .expect("read notice");
        }
    }

    // Emergency: a drill.
    let secs = |s: i64| {
        Some(prost_types::Duration {
            seconds: s,
            nanos: 0,
        })
    };
    let step = |title: &str, dept: &str| emergency::PlanStep {
        title: title.into(),
        instructions: String::new(),
        department_id: dept.into(),
        target_minutes: 30,
    };
    let plan = emergency
        .create_plan(o.office_head.req(emergency::CreatePlanRequest {
            request_id: String::new(),
            plan: Some(emergency::Plan {
                title: "办公楼火灾疏散预案 Fire evacuation".into(),
                incident_type: emergency::IncidentType::Fire as i32,
                severity: emergency::Severity::Iii as i32,
                owner_department_id: o.office.clone(),
                steps: vec![step("组织疏散", &o.office), step("切断机房电源", &o.it)],
                acknowledgement_timeout: secs(60),
                ..Default::default()
            }),
        }))
        .await
        .expect("create plan")
        .into_inner();
    emergency
        .declare_incident(o.office_head.req(emergency::DeclareIncidentRequest {
            plan_id: plan.id.clone(),
            description: "消防演练 fire drill".into(),
            drill: true,
            ..Default::default()
        }))
        .await
        .expect("declare drill");
    let alert_of = |who: &Who| {
        let mut e = emergency.clone();
        let req = who.req(emergency::ListAlertsRequest::default());
        async move {
            e.list_alerts(req)
                .await
                .expect("alerts")
                .into_inner()
                .alerts[0]
                .alert
                .clone()
                .expect("an alert")
                .id
        }
    };
    let zhang_alert = alert_of(&o.zhang).await;
    let qian_alert = alert_of(&o.qian).await;
    s.advance(45_000);
    emergency
        .acknowledge_alert(o.zhang.req(emergency::AcknowledgeAlertRequest {
            alert_id: zhang_alert,
        }))
        .await
        .expect("zhang acknowledges");
    s.advance(75_000);
    emergency
        .acknowledge_alert(o.qian.req(emergency::AcknowledgeAlertRequest {
            alert_id: qian_alert,
        }))
        .await
        .expect("qian acknowledges");

    // Decisions: action items led by 办公室.
    let item = |owner: &Who, due: i64| {
        let req = o.office_head.req(decisions::CreateActionItemRequest {
            title: format!("整改落实 {}", owner.id),
            lead_department_id: o.office.clone(),
            owner_id: owner.id.clone(),
            due_time: Some(to_timestamp(due)),
            ..Default::default()
        });
        let mut a = actions.clone();
        async move {
            a.create_action_item(req)
                .await
                .expect("create item")
                .into_inner()
        }
    };
    let early = item(&o.zhang, T0 + 5 * DAY).await;
    let late = item(&o.li, T0 + 2 * DAY).await;

    // Feedback: two items for 办公室.
    let submit = |subject: &str| {
        let req = o.qian.req(feedback::SubmitFeedbackRequest {
            channel: feedback::Channel::WebForm as i32,
            category: feedback::Category::Problem as i32,
            subject: subject.into(),
            body: "请尽快处理".into(),
            department_id: o.office.clone(),
            ..Default::default()
        });
        let mut f = feedback.clone();
        async move {
            f.submit_feedback(req)
                .await
                .expect("submit")
                .into_inner()
                .item
                .expect("item")
                .id
        }
    };
    let quick = submit("会议室投影仪坏了").await;
    let slow = submit("Printer on floor 3 jams").await;
    let close = |id: String, rating: i32| {
        let mut f = feedback.clone();
        let resolve = o.office_head.req(feedback::ResolveFeedbackRequest {
            id: id.clone(),
            solution: "已更换 replaced".into(),
            etag: String::new(),
        });
        let confirm = o.qian.req(feedback::ConfirmResolutionRequest {
            id,
            satisfaction: rating,
            comment: "谢谢".into(),
        });
        async move {
            f.resolve_feedback(resolve).await.expect("resolve");
            f.confirm_resolution(confirm).await.expect("confirm");
        }
    };

    // Training: an online course for 办公室.
    let plan = training
        .create_training_plan(o.office_head.req(training::CreateTrainingPlanRequest {
            department_id: o.office.clone(),
            title: "公文写作培训".into(),
            mode: training::Mode::Online as i32,
            link: "https://learn.example.org/writing".into(),
            sessions: vec![training::Session {
                title: "第一讲".into(),
                start_time: Some(to_timestamp(T0 + 2 * DAY)),
                end_time: Some(to_timestamp(T0 + 2 * DAY + 2 * HOUR)),
                ..Default::default()
            }],
            audience: Some(training::Audience {
                department_ids: vec![o.office.clone()],
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create training")
        .into_inner();
    training
        .publish_training_plan(o.office_head.req(training::PublishTrainingPlanRequest {
            id: plan.id.clone(),
            etag: String::new(),
        }))
        .await
        .expect("publish training");
    let mut enrolled = Vec::new();
    for who in [&o.zhang, &o.li] {
        enrolled.push(
            training
                .enrol_in_training(o.office_head.req(training::EnrolInTrainingRequest {
                    plan_id: plan.id.clone(),
                    person_id: who.id.clone(),
                    ..Default::default()
                }))
                .await
                .expect("enrol")
                .into_inner(),
        );
    }

    // Day 1: the quick item is resolved, 张三's item done (due day 5).
    s.advance(DAY);
    close(quick, 5).await;
    let done = |who: &Who, id: &str| {
        let req = who.req(decisions::ReportProgressRequest {
            action_item_id: id.into(),
            text: "已完成".into(),
            status: decisions::ActionItemStatus::Done as i32,
            ..Default::default()
        });
        let mut a = actions.clone();
        async move { a.report_progress(req).await.expect("progress") }
    };
    done(&o.zhang, &early.id).await;
    // Day 3: 李四's item done, a day after it was due; 张三 completes the course.
    s.advance(2 * DAY);
    done(&o.li, &late.id).await;
    training
        .complete_training(o.office_head.req(training::CompleteTrainingRequest {
            enrolment_id: enrolled[0].id.clone(),
            assessment_score: Some(92.0),
        }))
        .await
        .expect("complete");
    // Day 9: the slow item is resolved, past its seven-day deadline.
    s.advance(6 * DAY);
    close(slow, 3).await;
}

/// The lines of a scorecard as (code, applicable, value, final score).
fn lines(card: &Scorecard) -> Vec<(String, bool, Option<f64>, Option<f64>)> {
    card.lines
        .iter()
        .map(|l| {
            (
                l.indicator.as_ref().unwrap().code.clone(),
                l.applicable,
                l.value,
                l.final_score,
            )
        })
        .collect()
}

fn row(
    code: &str,
    applicable: bool,
    value: Option<f64>,
    score: Option<f64>,
) -> (String, bool, Option<f64>, Option<f64>) {
    (code.to_string(), applicable, value, score)
}

async fn automatic_indicators_come_from_the_real_services(backend: Backend) {
    let s = Suite::with_sources(backend).await;
    let o = s.org.clone();
    seed(&s).await;
    let set = s
        .create_set("2026 部门综合考核", department_indicators())
        .await;
    let cycle = s
        .create_cycle(
            &o.admin,
            CreateCycleRequest {
                name: "2026 年 10 月部门考核".into(),
                indicator_set_id: set.id.clone(),
                subject_kind: SubjectKind::Department as i32,
                subject_ids: vec![o.office.clone(), o.it.clone()],
                period_start_time: ts(START),
                period_end_time: ts(END),
                ..Default::default()
            },
        )
        .await;
    s.assign(&o.admin, &cycle.id, &o.office, &o.hq_head).await;
    s.assign(&o.admin, &cycle.id, &o.it, &o.hq_head).await;
    // Entering scoring collects.
    let cycle = s.advance_cycle(&o.admin, &cycle).await;
    assert_eq!(cycle.stage, Stage::Scoring as i32);
    assert_eq!(cycle.collect_time, ts(s.now()));
    s.score(&o.hq_head, &cycle.id, &o.office, "attitude", 90.0)
        .await;
    s.score(&o.hq_head, &cycle.id, &o.it, "attitude", 80.0)
        .await;

    let office = s.scorecard(&o.admin, &cycle.id, &o.office).await.unwrap();
    assert_eq!(
        lines(&office),
        [
            row("fb.on_time", true, Some(50.0), Some(50.0)),
            row("fb.satisfaction", true, Some(4.0), Some(75.0)),
            // (45 - 600) / (30 - 600) = 97.368…
            row("drill.ack", true, Some(45.0), Some(97.37)),
            row("alerts.on_time", true, Some(100.0), Some(100.0)),
            row("actions.on_time", true, Some(50.0), Some(50.0)),
            row("notices.read", true, Some(50.0), Some(50.0)),
            row("training.done", true, Some(50.0), Some(0.0)),
            row("attitude", true, Some(90.0), Some(90.0)),
        ]
    );
    // (15*50 + 10*75 + 15*97.37 + 10*100 + 15*50 + 15*50 + 10*0 + 10*90) / 100.
    assert_eq!(office.total, 63.61);
    assert!(office.complete);
    let raw: serde_json::Value =
        serde_json::from_str(&office.lines[0].raw_json).expect("raw figures as JSON");
    assert_eq!(
        raw,
        serde_json::json!({"resolved": 2, "resolved_on_time": 1})
    );

    let it = s.scorecard(&o.admin, &cycle.id, &o.it).await.unwrap();
    assert_eq!(
        lines(&it),
        [
            // No feedback, no action items, no training: not applicable.
            row("fb.on_time", false, None, None),
            row("fb.satisfaction", false, None, None),
            // (120 - 600) / (30 - 600) = 84.21…
            row("drill.ack", true, Some(120.0), Some(84.21)),
            row("alerts.on_time", true, Some(0.0), Some(0.0)),
            row("actions.on_time", false, None, None),
            row("notices.read", true, Some(100.0), Some(100.0)),
            row("training.done", false, None, None),
            row("attitude", true, Some(80.0), Some(80.0)),
        ]
    );
    // (15*84.21 + 10*0 + 15*100 + 10*80) / 50.
    assert_eq!(it.total, 71.26);
    assert!(it.complete);

    // The same figures as the services report themselves.
    let (start_time, end_time) = period();
    let fb = FeedbackServiceClient::new(s.channel("feedback").await)
        .get_feedback_statistics(o.auditor.req(feedback::GetFeedbackStatisticsRequest {
            department_id: o.office.clone(),
            start_time,
            end_time,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .totals
        .unwrap();
    assert_eq!(office.lines[0].value, Some(fb.on_time_rate * 100.0));
    assert_eq!(office.lines[1].value, Some(fb.average_satisfaction));
    for (card, dept) in [(&office, &o.office), (&it, &o.it)] {
        let em = EmergencyServiceClient::new(s.channel("emergency").await)
            .get_emergency_statistics(o.auditor.req(emergency::GetEmergencyStatisticsRequest {
                department_id: dept.clone(),
                start_time,
                end_time,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .drills
            .unwrap();
        let median = em.median_time_to_acknowledge.unwrap();
        assert_eq!(card.lines[2].value, Some(median.seconds as f64));
        assert_eq!(
            card.lines[3].value,
            Some(em.acknowledged_within_timeout as f64 * 100.0 / em.alerts_received as f64)
        );
        let n = NoticeServiceClient::new(s.channel("notices").await)
            .get_notice_statistics(o.auditor.req(notices::GetNoticeStatisticsRequest {
                department_id: dept.clone(),
                start_time,
                end_time,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .total
            .unwrap();
        assert_eq!(card.lines[5].value, Some(n.read_rate * 100.0));
    }
    let d = DecisionServiceClient::new(s.channel("decisions").await)
        .get_decision_statistics(o.auditor.req(decisions::GetDecisionStatisticsRequest {
            department_id: o.office.clone(),
            start_time,
            end_time,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((d.action_items_due, d.action_items_done_on_time), (2, 1));
    let t = TrainingServiceClient::new(s.channel("training").await)
        .get_training_statistics(o.auditor.req(training::GetTrainingStatisticsRequest {
            department_id: o.office.clone(),
            start_time,
            end_time,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .totals
        .unwrap();
    assert_eq!(office.lines[6].value, Some(t.completion_rate * 100.0));

    // Collecting again is idempotent: the same values, nothing new.
    s.advance(MINUTE);
    let first = s
        .c()
        .collect_automatic_scores(o.admin.req(CollectAutomaticScoresRequest {
            cycle_id: cycle.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    let second = s
        .c()
        .collect_automatic_scores(o.office_head.req(CollectAutomaticScoresRequest {
            cycle_id: cycle.id.clone(),
        }))
        .await;
    // 李主任 heads an appraised department but does not manage this cycle.
    fails(second, Code::PermissionDenied);
    let second = s
        .c()
        .collect_automatic_scores(o.hq_head.req(CollectAutomaticScoresRequest {
            cycle_id: cycle.id.clone(),
        }))
        .await;
    fails(second, Code::PermissionDenied);
    let second = s
        .c()
        .collect_automatic_scores(o.admin.req(CollectAutomaticScoresRequest {
            cycle_id: cycle.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.values.len(),
        14,
        "seven automatic indicators for two departments"
    );
    let strip = |r: &CollectAutomaticScoresResponse| {
        r.values
            .iter()
            .map(|v| {
                (
                    v.subject_id.clone(),
                    v.indicator_code.clone(),
                    v.applicable,
                    v.value,
                    v.raw_json.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&first), strip(&second));
    assert_eq!(second.cycle.unwrap().collect_time, ts(s.now()));
    let again = s.scorecard(&o.admin, &cycle.id, &o.office).await.unwrap();
    assert_eq!(again.total, 63.61);
    assert_eq!(again.lines, office.lines);

    // The same sources per person: 张三 and 李四.
    let people_set = s
        .create_set(
            "个人自动指标",
            vec![
                linear(
                    "notices.read",
                    "通知阅读率",
                    25,
                    Source::NoticeReadRate,
                    0.0,
                    100.0,
                ),
                linear(
                    "drill.ack",
                    "演练响应",
                    25,
                    Source::DrillTimeToAcknowledge,
                    300.0,
                    0.0,
                ),
                linear(
                    "actions.on_time",
                    "督办按时率",
                    25,
                    Source::ActionItemsOnTime,
                    0.0,
                    100.0,
                ),
                linear(
                    "training.done",
                    "培训完成率",
                    25,
                    Source::TrainingCompletion,
                    0.0,
                    100.0,
                ),
            ],
        )
        .await;
    let people = s
        .create_cycle(&o.office_head, {
            let mut r = person_cycle(&people_set, "", &[&o.zhang, &o.li]);
            r.period_start_time = ts(START);
            r
        })
        .await;
    let people = s.advance_cycle(&o.office_head, &people).await;
    let zhang = s
        .scorecard(&o.office_head, &people.id, &o.zhang.id)
        .await
        .unwrap();
    assert_eq!(
        lines(&zhang),
        [
            row("notices.read", true, Some(100.0), Some(100.0)),
            // (45 - 300) / (0 - 300) = 85.
            row("drill.ack", true, Some(45.0), Some(85.0)),
            row("actions.on_time", true, Some(100.0), Some(100.0)),
            row("training.done", true, Some(100.0), Some(100.0)),
        ]
    );
    assert_eq!(zhang.total, 96.25);
    let li = s
        .scorecard(&o.office_head, &people.id, &o.li.id)
        .await
        .unwrap();
    assert_eq!(
        lines(&li),
        [
            row("notices.read", true, Some(100.0), Some(100.0)),
            // 李四 never acknowledged the drill.
            row("drill.ack", false, None, None),
            row("actions.on_time", true, Some(0.0), Some(0.0)),
            row("training.done", true, Some(0.0), Some(0.0)),
        ]
    );
    assert_eq!(li.total, 33.33);
}

async fn deadlines_collect_by_themselves_across_restarts_and_outages(backend: Backend) {
    let mut s = Suite::start_with(backend, &["feedback"]).await;
    let o = s.org.clone();
    let directory_only = vec![("directory", s.url("directory"))];
    let everything = s.urls.clone();
    // Feedback cannot be reached by the appraisal for now.
    s.restart_with(&directory_only).await;
    let set = s
        .create_set(
            "按时办结",
            vec![
                linear(
                    "fb.on_time",
                    "按时办结率",
                    50,
                    Source::FeedbackResolvedOnTime,
                    0.0,
                    100.0,
                ),
                manual("quality", "工作质量", Dimension::Quality, 50),
            ],
        )
        .await;
    let cycle = s
        .create_cycle(
            &o.admin,
            CreateCycleRequest {
                name: "十月考核".into(),
                indicator_set_id: set.id.clone(),
                subject_kind: SubjectKind::Department as i32,
                subject_ids: vec![o.office.clone()],
                period_start_time: ts(T0),
                period_end_time: ts(T0 + DAY),
                scoring_deadline: ts(T0 + 3 * DAY),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(cycle.scoring_start_time, ts(T0 + DAY));
    let mut fb = FeedbackServiceClient::new(s.channel("feedback").await);
    let item = fb
        .submit_feedback(o.qian.req(feedback::SubmitFeedbackRequest {
            channel: feedback::Channel::Hotline as i32,
            category: feedback::Category::Complaint as i32,
            subject: "窗口排队太久".into(),
            body: "上午十点排队超过一小时 waited an hour".into(),
            department_id: o.office.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    s.advance(HOUR);
    fb.resolve_feedback(o.office_head.req(feedback::ResolveFeedbackRequest {
        id: item.id.clone(),
        solution: "增开窗口".into(),
        etag: String::new(),
    }))
    .await
    .unwrap();

    // The end of the period passes: the source is down, the cycle waits.
    let failed_before = failed_collections();
    s.advance(DAY);
    eventually("a failed collection", || async {
        (failed_collections() > failed_before).then_some(())
    })
    .await;
    assert_eq!(
        s.get_cycle(&o.admin, &cycle.id).await.stage,
        Stage::Open as i32
    );
    let refused = s
        .c()
        .advance_cycle(o.admin.req(AdvanceCycleRequest {
            id: cycle.id.clone(),
            from_stage: Stage::Open as i32,
            etag: String::new(),
        }))
        .await;
    fails(refused, Code::Unavailable);
    let still = s.get_cycle(&o.admin, &cycle.id).await;
    assert_eq!(
        (still.stage, still.collect_time),
        (Stage::Open as i32, None)
    );

    // A redeploy that reaches feedback again: the stored deadline runs again.
    s.restart_with(&everything).await;
    s.advance(10 * MINUTE);
    let scoring = s
        .cycle_until(&cycle.id, "scoring by itself", |c| {
            c.stage == Stage::Scoring as i32
        })
        .await;
    assert!(scoring.collect_time.is_some());
    let card = s.scorecard(&o.admin, &cycle.id, &o.office).await.unwrap();
    assert_eq!(card.lines[0].value, Some(100.0));
    assert!(!card.complete, "quality is not scored yet");
    let trail = s
        .c()
        .list_audit_entries(
            o.auditor
                .req(concord_proto::audit::v1::ListAuditEntriesRequest {
                    resource: format!("cycles/{}", cycle.id),
                    ..Default::default()
                }),
        )
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        trail
            .iter()
            .any(|e| e.action == "cycle.scoring" && e.actor == "system:appraisal")
    );

    // Another restart, then the scoring deadline: calibration by itself.
    s.restart_with(&everything).await;
    s.advance(2 * DAY);
    s.cycle_until(&cycle.id, "calibration by itself", |c| {
        c.stage == Stage::Calibration as i32
    })
    .await;
}

/// Collections that failed, in this process.
fn failed_collections() -> f64 {
    let prefix = "concord_appraisal_collections_total{outcome=\"failed\"} ";
    concord_kit::metrics::render()
        .lines()
        .find_map(|l| {
            l.strip_prefix(prefix)
                .map(|v| v.trim().parse().unwrap_or(0.0))
        })
        .unwrap_or(0.0)
}

concord_kit::backend_tests!(
    automatic_indicators_come_from_the_real_services,
    deadlines_collect_by_themselves_across_restarts_and_outages,
);

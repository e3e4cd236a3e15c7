//! Cycles from open to published: reviewers' scores with comments,
//! self-assessment, calibration with a kept reason, weighted scorecards by
//! exact values, rankings in which ties share a rank, feedback to the
//! appraised, commendations, visibility per role, and the metrics.

mod common;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::appraisal::v1::*;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use tonic::Code;

/// A cycle over 张三, 李四 (办公室) and 赵六 (文书科), owned by 办公室, in
/// SCORING with every manual indicator scored:
/// 张三 by 李主任 (90, 15 tasks, 80) = 83.5;
/// 李四 by 李主任 (80, 20, 70) and 周协调 (90, 18, 80) = 86.0;
/// 赵六 by 孙科长 (85, 16, 90) = 84.5.
async fn scored_cycle(s: &Suite) -> Cycle {
    let o = &s.org;
    let set = s
        .create_set("2026 年度个人考核指标", staff_indicators())
        .await;
    let cycle = s
        .create_cycle(
            &o.office_head,
            person_cycle(&set, "", &[&o.zhang, &o.li, &o.zhao]),
        )
        .await;
    s.assign(&o.office_head, &cycle.id, &o.zhang.id, &o.office_head)
        .await;
    s.assign(&o.office_head, &cycle.id, &o.li.id, &o.office_head)
        .await;
    s.assign(&o.office_head, &cycle.id, &o.li.id, &o.coordinator)
        .await;
    s.assign(&o.office_head, &cycle.id, &o.zhao.id, &o.records_head)
        .await;
    let cycle = s.advance_cycle(&o.office_head, &cycle).await;
    assert_eq!(cycle.stage, Stage::Scoring as i32);
    for (reviewer, subject, q, e, a) in [
        (&o.office_head, &o.zhang, 90.0, 15.0, 80.0),
        (&o.office_head, &o.li, 80.0, 20.0, 70.0),
        (&o.coordinator, &o.li, 90.0, 18.0, 80.0),
        (&o.records_head, &o.zhao, 85.0, 16.0, 90.0),
    ] {
        s.score(reviewer, &cycle.id, &subject.id, "quality", q)
            .await;
        s.score(reviewer, &cycle.id, &subject.id, "efficiency", e)
            .await;
        s.score(reviewer, &cycle.id, &subject.id, "attitude", a)
            .await;
    }
    cycle
}

fn line<'a>(card: &'a Scorecard, code: &str) -> &'a ScorecardLine {
    card.lines
        .iter()
        .find(|l| l.indicator.as_ref().is_some_and(|i| i.code == code))
        .unwrap_or_else(|| panic!("no line {code}"))
}

/// The value of a gauge line in the metrics text, when present.
fn gauge(name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    concord_kit::metrics::render().lines().find_map(|l| {
        l.strip_prefix(&prefix)
            .map(|v| v.trim().parse().expect("a number"))
    })
}

async fn a_cycle_runs_from_open_to_published_with_ranked_scorecards(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let set = s
        .create_set("2026 年度个人考核指标", staff_indicators())
        .await;
    let cycle = s
        .create_cycle(
            &o.office_head,
            person_cycle(&set, "", &[&o.zhang, &o.li, &o.zhao]),
        )
        .await;
    // A head's cycle belongs to their department; it pins version 1.
    assert_eq!(cycle.owner_department_id, o.office);
    assert_eq!(cycle.stage, Stage::Open as i32);
    assert_eq!(cycle.indicator_set_version, 1);
    assert_eq!(cycle.scoring_start_time, ts(T0 + 30 * DAY));
    let names: Vec<&str> = cycle
        .subjects
        .iter()
        .map(|s| s.display_name.as_str())
        .collect();
    assert_eq!(names, ["张三", "李四", "赵六"]);
    assert_eq!(cycle.subjects[2].department_id, o.records);

    s.assign(&o.office_head, &cycle.id, &o.zhang.id, &o.office_head)
        .await;
    // Assigning again changes nothing.
    s.assign(&o.office_head, &cycle.id, &o.zhang.id, &o.office_head)
        .await;
    let early = s
        .c()
        .submit_score(o.office_head.req(SubmitScoreRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            indicator_code: "quality".into(),
            value: 90.0,
            comment: "太早了".into(),
        }))
        .await;
    fails(early, Code::FailedPrecondition);
    s.assign(&o.office_head, &cycle.id, &o.li.id, &o.office_head)
        .await;
    s.assign(&o.office_head, &cycle.id, &o.li.id, &o.coordinator)
        .await;
    s.assign(&o.office_head, &cycle.id, &o.zhao.id, &o.records_head)
        .await;

    let cycle = s.advance_cycle(&o.office_head, &cycle).await;
    assert_eq!(cycle.stage, Stage::Scoring as i32);
    for (reviewer, subject, q, e, a) in [
        (&o.office_head, &o.zhang, 70.0, 15.0, 80.0),
        (&o.office_head, &o.li, 80.0, 20.0, 70.0),
        (&o.coordinator, &o.li, 90.0, 18.0, 80.0),
        (&o.records_head, &o.zhao, 85.0, 16.0, 90.0),
    ] {
        s.score(reviewer, &cycle.id, &subject.id, "quality", q)
            .await;
        s.score(reviewer, &cycle.id, &subject.id, "efficiency", e)
            .await;
        s.score(reviewer, &cycle.id, &subject.id, "attitude", a)
            .await;
    }
    // Scoring again replaces the reviewer's score.
    let again = s
        .score(&o.office_head, &cycle.id, &o.zhang.id, "quality", 90.0)
        .await;
    assert_eq!(again.value, 90.0);
    assert!(again.comment.contains("表现稳定"));
    let own = s
        .c()
        .list_scores(o.office_head.req(ListScoresRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .scores;
    assert_eq!(own.len(), 3);
    // 张三 assesses himself; it shows but does not count.
    let selfa = s
        .c()
        .submit_self_assessment(o.zhang.req(SubmitSelfAssessmentRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            indicator_code: "quality".into(),
            value: 95.0,
            comment: "全年无差错 no errors all year".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(selfa.self_assessment);
    let progress = s
        .c()
        .list_review_assignments(o.coordinator.req(ListReviewAssignmentsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert_eq!(progress.len(), 1, "a reviewer sees their own assignments");
    assert_eq!((progress[0].scored, progress[0].to_score), (3, 3));
    assert_eq!(progress[0].subject_id, o.li.id);

    let cycle = s.advance_cycle(&o.office_head, &cycle).await;
    assert_eq!(cycle.stage, Stage::Calibration as i32);
    let late = s
        .c()
        .submit_score(o.office_head.req(SubmitScoreRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            indicator_code: "quality".into(),
            value: 60.0,
            comment: "改分".into(),
        }))
        .await;
    fails(late, Code::FailedPrecondition);

    // Before calibration: 张三 83.5, 李四 86.0, 赵六 84.5.
    let before = s.scorecard(&o.admin, &cycle.id, &o.zhang.id).await.unwrap();
    assert_eq!(before.total, 83.5);
    assert!(before.complete);
    // Calibration lifts 张三's attitude from 80 to 92.5: a tie with 李四.
    let cal = s
        .c()
        .calibrate_score(o.hq_head.req(CalibrateScoreRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            indicator_code: "attitude".into(),
            score: 92.5,
            reason: "群众来信表扬三次 three letters of praise".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cal.previous_score, Some(80.0));
    assert_eq!(cal.score, 92.5);
    let live = s
        .c()
        .list_rankings(o.office_head.req(ListRankingsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let ranking: Vec<(i32, &str, f64)> = live
        .entries
        .iter()
        .map(|e| {
            (
                e.rank,
                e.subject.as_ref().unwrap().display_name.as_str(),
                e.total,
            )
        })
        .collect();
    assert_eq!(
        ranking,
        [(1, "张三", 86.0), (1, "李四", 86.0), (3, "赵六", 84.5)]
    );

    s.c()
        .set_appraisal_feedback(o.office_head.req(SetAppraisalFeedbackRequest {
            feedback: Some(AppraisalFeedback {
                cycle_id: cycle.id.clone(),
                subject_id: o.zhang.id.clone(),
                strengths: "服务意识强，群众满意".into(),
                improvements: "Write weekly reports on time".into(),
                agreed_actions: vec!["参加公文写作培训".into(), "每周五提交周报".into()],
                ..Default::default()
            }),
        }))
        .await
        .unwrap();
    let hidden = s
        .c()
        .get_appraisal_feedback(o.zhang.req(GetAppraisalFeedbackRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
        }))
        .await;
    fails(hidden, Code::PermissionDenied);

    let cycle = s.advance_cycle(&o.office_head, &cycle).await;
    assert_eq!(cycle.stage, Stage::Published as i32);
    assert!(cycle.publish_time.is_some());

    let card = s.scorecard(&o.zhang, &cycle.id, &o.zhang.id).await.unwrap();
    assert_eq!(card.total, 86.0);
    assert_eq!(card.rank, 1);
    assert!(card.complete);
    assert_eq!(card.indicator_set_version, 1);
    let q = line(&card, "quality");
    assert_eq!(
        (q.value, q.score, q.final_score),
        (Some(90.0), Some(90.0), Some(90.0))
    );
    assert_eq!(q.self_assessment, Some(95.0));
    assert_eq!(q.self_assessment_comment, "全年无差错 no errors all year");
    assert_eq!(q.reviewer_scores.len(), 1);
    assert_eq!(q.reviewer_scores[0].reviewer_id, o.office_head.id);
    let e = line(&card, "efficiency");
    assert_eq!((e.value, e.score), (Some(15.0), Some(75.0)));
    assert_eq!(e.indicator.as_ref().unwrap().unit, "value");
    let a = line(&card, "attitude");
    assert_eq!((a.score, a.final_score), (Some(80.0), Some(92.5)));
    assert!(a.calibrated);
    assert_eq!(
        a.calibration_reason,
        "群众来信表扬三次 three letters of praise"
    );
    let parts: Vec<(i32, i32, f64, f64)> = card
        .dimensions
        .iter()
        .map(|d| (d.dimension, d.weight, d.score, d.contribution))
        .collect();
    assert_eq!(
        parts,
        [
            (Dimension::Quality as i32, 50, 90.0, 45.0),
            (Dimension::Efficiency as i32, 30, 75.0, 22.5),
            (Dimension::Attitude as i32, 20, 92.5, 18.5),
        ]
    );
    let li = s.scorecard(&o.li, &cycle.id, &o.li.id).await.unwrap();
    // Two reviewers: quality (80+90)/2, efficiency (20+18)/2 = 19 tasks → 95.
    assert_eq!(line(&li, "quality").value, Some(85.0));
    assert_eq!(line(&li, "efficiency").score, Some(95.0));
    assert_eq!((li.total, li.rank), (86.0, 1));
    let zhao = s.scorecard(&o.zhao, &cycle.id, &o.zhao.id).await.unwrap();
    assert_eq!((zhao.total, zhao.rank), (84.5, 3));

    // The appraised see their own entry of the ranking, ranked in the whole cycle.
    let mine = s
        .c()
        .list_rankings(o.zhao.req(ListRankingsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.ranked_subjects, 3);
    assert_eq!(mine.entries.len(), 1);
    assert_eq!((mine.entries[0].rank, mine.entries[0].total), (3, 84.5));
    // Paging through the whole ranking, one entry a page.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = s
            .c()
            .list_rankings(o.auditor.req(ListRankingsRequest {
                cycle_id: cycle.id.clone(),
                page_size: 1,
                page_token: token.clone(),
            }))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.entries.iter().map(|e| e.rank));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, [1, 1, 3]);

    // Feedback: published, read and acknowledged by the appraised.
    let fb = s
        .c()
        .get_appraisal_feedback(o.zhang.req(GetAppraisalFeedbackRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fb.agreed_actions, ["参加公文写作培训", "每周五提交周报"]);
    assert!(fb.acknowledge_time.is_none());
    let acked = s
        .c()
        .acknowledge_appraisal_feedback(o.zhang.req(AcknowledgeAppraisalFeedbackRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            response: "同意，会按时提交".into(),
            etag: fb.etag.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(acked.acknowledge_time.is_some());
    assert_eq!(acked.acknowledged_by, o.zhang.id);
    // Rewriting clears the acknowledgement.
    let rewritten = s
        .c()
        .set_appraisal_feedback(o.office_head.req(SetAppraisalFeedbackRequest {
            feedback: Some(AppraisalFeedback {
                cycle_id: cycle.id.clone(),
                subject_id: o.zhang.id.clone(),
                strengths: "服务意识强".into(),
                etag: acked.etag.clone(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(rewritten.acknowledge_time.is_none());
    assert!(rewritten.agreed_actions.is_empty());

    // A commendation for the cycle.
    let commendation = s
        .c()
        .create_commendation(o.office_head.req(CreateCommendationRequest {
            request_id: "commend-zhang".into(),
            subject_kind: SubjectKind::Person as i32,
            subject_id: o.zhang.id.clone(),
            cycle_id: cycle.id.clone(),
            title: "2026 年度优秀员工".into(),
            citation: "服务群众，成绩突出".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(commendation.display_name, "张三");
    assert_eq!(commendation.department_id, o.office);
    let listed = s
        .c()
        .list_commendations(o.qian.req(ListCommendationsRequest {
            department_id: o.office.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .commendations;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], commendation);

    // The audit trail keeps the calibration's reason.
    let trail = s
        .c()
        .list_audit_entries(o.auditor.req(ListAuditEntriesRequest {
            resource: format!("cycles/{}", cycle.id),
            page_size: 500,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let calibrated = trail
        .iter()
        .find(|e| e.action == "score.calibrate")
        .expect("calibration audited");
    assert_eq!(calibrated.actor, o.hq_head.id);
    assert!(calibrated.detail_json.contains("群众来信表扬三次"));
    for action in [
        "cycle.create",
        "cycle.scoring",
        "cycle.calibration",
        "cycle.published",
    ] {
        assert!(trail.iter().any(|e| e.action == action), "{action} audited");
    }

    // Published scores per department: 办公室 is the mean of 张三 and 李四.
    let office = format!("department_id=\"{}\",subject_kind=\"person\"", o.office);
    let records = format!("department_id=\"{}\",subject_kind=\"person\"", o.records);
    eventually("the score gauges", || async {
        (gauge("concord_appraisal_score", &office) == Some(86.0)
            && gauge("concord_appraisal_score", &records) == Some(84.5))
        .then_some(())
    })
    .await;
    assert!(gauge("concord_appraisal_cycles", "stage=\"published\"").is_some());
}

async fn scores_are_seen_by_the_appraised_their_managers_and_reviewers_only(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let cycle = scored_cycle(&s).await;
    let card = |who: Who, subject: Who| {
        let s = &s;
        let id = cycle.id.clone();
        async move { s.scorecard(&who, &id, &subject.id).await.map(|c| c.total) }
    };
    let denied = |r: Result<f64, tonic::Status>| {
        assert_eq!(r.expect_err("denied").code(), Code::PermissionDenied);
    };
    // SCORING: managers, admins and auditors see; the appraised and others do not.
    assert_eq!(
        card(o.office_head.clone(), o.zhang.clone()).await.unwrap(),
        83.5
    );
    assert_eq!(card(o.hq_head.clone(), o.zhao.clone()).await.unwrap(), 84.5);
    assert_eq!(
        card(o.records_head.clone(), o.zhao.clone()).await.unwrap(),
        84.5
    );
    assert_eq!(card(o.admin.clone(), o.li.clone()).await.unwrap(), 86.0);
    assert_eq!(card(o.auditor.clone(), o.li.clone()).await.unwrap(), 86.0);
    denied(card(o.zhang.clone(), o.zhang.clone()).await);
    denied(card(o.records_head.clone(), o.zhang.clone()).await);
    denied(card(o.it_head.clone(), o.zhang.clone()).await);
    denied(card(o.li.clone(), o.zhang.clone()).await);
    // A reviewer who manages nobody sees the scores they gave, not the card.
    denied(card(o.coordinator.clone(), o.li.clone()).await);
    let given = s
        .c()
        .list_scores(o.coordinator.req(ListScoresRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .scores;
    assert_eq!(given.len(), 3);
    assert!(given.iter().all(|g| g.reviewer_id == o.coordinator.id));
    let all = s
        .c()
        .list_scores(o.auditor.req(ListScoresRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .scores;
    assert_eq!(all.len(), 12);
    let theirs = s
        .c()
        .list_scorecards(o.records_head.req(ListScorecardsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .scorecards;
    assert_eq!(theirs.len(), 1, "孙科长 manages 赵六 only");
    assert_eq!(theirs[0].subject.as_ref().unwrap().id, o.zhao.id);
    fails(
        s.c()
            .list_rankings(o.zhang.req(ListRankingsRequest {
                cycle_id: cycle.id.clone(),
                ..Default::default()
            }))
            .await,
        Code::PermissionDenied,
    );

    let cycle = s.advance_cycle(&o.admin, &cycle).await;
    let cycle = s.advance_cycle(&o.admin, &cycle).await;
    assert_eq!(cycle.stage, Stage::Published as i32);
    // PUBLISHED: the appraised see their own card, nobody else's.
    assert_eq!(card(o.zhang.clone(), o.zhang.clone()).await.unwrap(), 83.5);
    denied(card(o.zhang.clone(), o.li.clone()).await);
    denied(card(o.coordinator.clone(), o.li.clone()).await);
    let own = s
        .c()
        .list_scorecards(o.li.req(ListScorecardsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .scorecards;
    assert_eq!(own.len(), 1);
    assert_eq!((own[0].total, own[0].rank), (86.0, 1));
    // Their scores too, with the reviewers' comments.
    let mine = s
        .c()
        .list_scores(o.li.req(ListScoresRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .scores;
    assert_eq!(mine.len(), 6);
    assert!(
        mine.iter()
            .all(|m| m.subject_id == o.li.id && !m.comment.is_empty())
    );
}

async fn department_cycles_show_a_department_to_its_head_once_published(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let set = s.create_set("部门考核", staff_indicators()).await;
    let req = CreateCycleRequest {
        name: "2026 部门考核".into(),
        indicator_set_id: set.id.clone(),
        subject_kind: SubjectKind::Department as i32,
        subject_ids: vec![o.office.clone(), o.it.clone()],
        period_start_time: ts(T0),
        period_end_time: ts(T0 + 30 * DAY),
        self_assessment: true,
        ..Default::default()
    };
    let cycle = s.create_cycle(&o.admin, req).await;
    assert_eq!(cycle.owner_department_id, "");
    // The head of the appraised department assesses it, never reviews it.
    let own = s
        .c()
        .assign_reviewer(o.admin.req(AssignReviewerRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.office.clone(),
            reviewer_id: o.office_head.id.clone(),
        }))
        .await;
    names_fields(own, &["reviewer_id"]);
    s.assign(&o.admin, &cycle.id, &o.office.clone(), &o.hq_head)
        .await;
    s.assign(&o.admin, &cycle.id, &o.it.clone(), &o.hq_head)
        .await;
    let cycle = s.advance_cycle(&o.admin, &cycle).await;
    for (dept, v) in [(&o.office, 80.0), (&o.it, 90.0)] {
        for code in ["quality", "attitude"] {
            s.score(&o.hq_head, &cycle.id, dept, code, v).await;
        }
        s.score(&o.hq_head, &cycle.id, dept, "efficiency", 10.0)
            .await;
    }
    s.c()
        .submit_self_assessment(o.office_head.req(SubmitSelfAssessmentRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.office.clone(),
            indicator_code: "quality".into(),
            value: 88.0,
            comment: String::new(),
        }))
        .await
        .unwrap();
    fails(
        s.c()
            .submit_self_assessment(o.it_head.req(SubmitSelfAssessmentRequest {
                cycle_id: cycle.id.clone(),
                subject_id: o.office.clone(),
                indicator_code: "quality".into(),
                value: 10.0,
                comment: String::new(),
            }))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.scorecard(&o.office_head, &cycle.id, &o.office)
            .await
            .map(|c| c.total)
            .map(tonic::Response::new),
        Code::PermissionDenied,
    );
    // The head above sees both at once: (50*80 + 30*50 + 20*80) / 100.
    assert_eq!(
        s.scorecard(&o.hq_head, &cycle.id, &o.office)
            .await
            .unwrap()
            .total,
        71.0
    );
    let cycle = s.advance_cycle(&o.admin, &cycle).await;
    // Nobody calibrates their own department.
    fails(
        s.c()
            .calibrate_score(o.office_head.req(CalibrateScoreRequest {
                cycle_id: cycle.id.clone(),
                subject_id: o.office.clone(),
                indicator_code: "quality".into(),
                score: 100.0,
                reason: "自己改".into(),
            }))
            .await,
        Code::PermissionDenied,
    );
    let cycle = s.advance_cycle(&o.admin, &cycle).await;
    let card = s
        .scorecard(&o.office_head, &cycle.id, &o.office)
        .await
        .unwrap();
    assert_eq!((card.total, card.rank), (71.0, 2));
    assert_eq!(line(&card, "quality").self_assessment, Some(88.0));
    fails(
        s.scorecard(&o.office_head, &cycle.id, &o.it)
            .await
            .map(|c| c.total)
            .map(tonic::Response::new),
        Code::PermissionDenied,
    );
    // IT: (50*90 + 30*50 + 20*90) / 100 = 78.
    assert_eq!(
        s.scorecard(&o.it_head, &cycle.id, &o.it)
            .await
            .unwrap()
            .rank,
        1
    );
    let it = format!("department_id=\"{}\",subject_kind=\"department\"", o.it);
    eventually("the department gauge", || async {
        (gauge("concord_appraisal_score", &it) == Some(78.0)).then_some(())
    })
    .await;
}

async fn calibration_needs_a_reason_and_keeps_every_adjustment(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let cycle = scored_cycle(&s).await;
    let calibrate = |who: &Who, score: f64, reason: &str| {
        let mut c = s.c();
        let req = who.req(CalibrateScoreRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhao.id.clone(),
            indicator_code: "quality".into(),
            score,
            reason: reason.into(),
        });
        async move { c.calibrate_score(req).await }
    };
    // Not before calibration.
    fails(
        calibrate(&o.admin, 90.0, "提前").await,
        Code::FailedPrecondition,
    );
    let cycle = s.advance_cycle(&o.admin, &cycle).await;
    names_fields(calibrate(&o.admin, 90.0, "").await, &["reason"]);
    names_fields(calibrate(&o.admin, 90.0, "   ").await, &["reason"]);
    names_fields(calibrate(&o.admin, 101.0, "太高").await, &["score"]);
    // A reviewer who manages nobody does not calibrate.
    fails(
        calibrate(&o.coordinator, 90.0, "x").await,
        Code::PermissionDenied,
    );
    let first = calibrate(
        &o.records_head,
        95.0,
        "牵头完成档案数字化 led the archive digitisation",
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(first.previous_score, Some(85.0));
    let second = calibrate(
        &o.office_head,
        92.0,
        "与其他科室平衡 balanced across sections",
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(second.previous_score, Some(95.0));
    let kept = s
        .c()
        .list_calibrations(o.auditor.req(ListCalibrationsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .calibrations;
    let reasons: Vec<(&str, f64)> = kept.iter().map(|c| (c.reason.as_str(), c.score)).collect();
    assert_eq!(
        reasons,
        [
            ("牵头完成档案数字化 led the archive digitisation", 95.0),
            ("与其他科室平衡 balanced across sections", 92.0)
        ]
    );
    // The latest counts: (50*92 + 30*80 + 20*90) / 100 = 88.
    let card = s
        .scorecard(&o.office_head, &cycle.id, &o.zhao.id)
        .await
        .unwrap();
    assert_eq!(card.total, 88.0);
    assert_eq!(
        line(&card, "quality").calibration_reason,
        "与其他科室平衡 balanced across sections"
    );
    // Others' calibrations stay hidden from those who may not see the subject.
    let none = s
        .c()
        .list_calibrations(o.it_head.req(ListCalibrationsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .calibrations;
    assert!(none.is_empty());
}

async fn publishing_needs_every_manual_indicator_scored(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let set = s.create_set("个人考核", staff_indicators()).await;
    let cycle = s
        .create_cycle(&o.office_head, person_cycle(&set, "", &[&o.zhang, &o.li]))
        .await;
    s.assign(&o.office_head, &cycle.id, &o.zhang.id, &o.office_head)
        .await;
    let cycle = s.advance_cycle(&o.office_head, &cycle).await;
    s.score(&o.office_head, &cycle.id, &o.zhang.id, "quality", 60.0)
        .await;
    let cycle = s.advance_cycle(&o.office_head, &cycle).await;
    let refused = fails(
        s.c()
            .advance_cycle(o.office_head.req(AdvanceCycleRequest {
                id: cycle.id.clone(),
                from_stage: Stage::Calibration as i32,
                etag: cycle.etag.clone(),
            }))
            .await,
        Code::FailedPrecondition,
    );
    assert!(
        refused.message().contains("5 scores are missing"),
        "{refused:?}"
    );
    assert!(refused.message().contains("李四 quality"), "{refused:?}");
    // Calibration fills what the reviewers left.
    for (subject, code, score) in [
        (&o.zhang, "efficiency", 50.0),
        (&o.zhang, "attitude", 70.0),
        (&o.li, "quality", 80.0),
        (&o.li, "efficiency", 60.0),
        (&o.li, "attitude", 90.0),
    ] {
        s.c()
            .calibrate_score(o.office_head.req(CalibrateScoreRequest {
                cycle_id: cycle.id.clone(),
                subject_id: subject.id.clone(),
                indicator_code: code.into(),
                score,
                reason: "评审人缺席，按考勤记录评定".into(),
            }))
            .await
            .unwrap();
    }
    // A stale etag is refused; the fresh one publishes.
    fails(
        s.c()
            .advance_cycle(o.office_head.req(AdvanceCycleRequest {
                id: cycle.id.clone(),
                from_stage: Stage::Calibration as i32,
                etag: "1".into(),
            }))
            .await,
        Code::Aborted,
    );
    let published = s.advance_cycle(&o.office_head, &cycle).await;
    assert_eq!(published.stage, Stage::Published as i32);
    // Wrong from_stage never skips a stage.
    fails(
        s.c()
            .advance_cycle(o.office_head.req(AdvanceCycleRequest {
                id: cycle.id.clone(),
                from_stage: Stage::Calibration as i32,
                etag: String::new(),
            }))
            .await,
        Code::FailedPrecondition,
    );
    fails(
        s.c()
            .advance_cycle(o.office_head.req(AdvanceCycleRequest {
                id: cycle.id.clone(),
                from_stage: Stage::Published as i32,
                etag: String::new(),
            }))
            .await,
        Code::FailedPrecondition,
    );
    // (50*60 + 30*50 + 20*70) / 100 = 59; (50*80 + 30*60 + 20*90) / 100 = 76.
    let ranking = s
        .c()
        .list_rankings(o.office_head.req(ListRankingsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let got: Vec<(i32, f64)> = ranking.iter().map(|e| (e.rank, e.total)).collect();
    assert_eq!(got, [(1, 76.0), (2, 59.0)]);
    // Published is final: no more changes.
    fails(
        s.c()
            .update_cycle(o.office_head.req(UpdateCycleRequest {
                cycle: Some(Cycle {
                    id: cycle.id.clone(),
                    name: "改名".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["name".into()],
                }),
            }))
            .await,
        Code::FailedPrecondition,
    );
}

async fn cycles_are_listed_changed_and_reviewers_removed(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let set = s.create_set("个人考核", staff_indicators()).await;
    let first = s
        .create_cycle(&o.office_head, person_cycle(&set, "", &[&o.zhang]))
        .await;
    let second = s
        .create_cycle(&o.it_head, person_cycle(&set, "", &[&o.qian]))
        .await;
    let list = |stage: Stage, subject: &str| {
        let mut c = s.c();
        let req = o.qian.req(ListCyclesRequest {
            stage: stage as i32,
            subject_id: subject.into(),
            ..Default::default()
        });
        async move { c.list_cycles(req).await }
    };
    let ids = |r: ListCyclesResponse| r.cycles.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(list(Stage::Unspecified, "").await.unwrap().into_inner()),
        [second.id.clone(), first.id.clone()]
    );
    assert_eq!(
        ids(list(Stage::Open, &o.zhang.id).await.unwrap().into_inner()),
        std::slice::from_ref(&first.id)
    );
    assert!(
        list(Stage::Scoring, "")
            .await
            .unwrap()
            .into_inner()
            .cycles
            .is_empty()
    );
    let paged = s
        .c()
        .list_cycles(o.qian.req(ListCyclesRequest {
            page_size: 1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paged.cycles.len(), 1);
    let rest = s
        .c()
        .list_cycles(o.qian.req(ListCyclesRequest {
            page_size: 1,
            page_token: paged.next_page_token,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.cycles[0].id, first.id);

    let renamed = s
        .c()
        .update_cycle(o.office_head.req(UpdateCycleRequest {
            cycle: Some(Cycle {
                id: first.id.clone(),
                name: "2026 年度办公室考核".into(),
                self_assessment: false,
                scoring_deadline: ts(T0 + 40 * DAY),
                etag: first.etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![
                    "name".into(),
                    "self_assessment".into(),
                    "scoring_deadline".into(),
                ],
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.name, "2026 年度办公室考核");
    assert!(!renamed.self_assessment);
    assert_eq!(renamed.scoring_deadline, ts(T0 + 40 * DAY));
    assert_ne!(renamed.etag, first.etag);
    // The old etag is stale now.
    fails(
        s.c()
            .update_cycle(o.office_head.req(UpdateCycleRequest {
                cycle: Some(Cycle {
                    id: first.id.clone(),
                    name: "再改".into(),
                    etag: first.etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["name".into()],
                }),
            }))
            .await,
        Code::Aborted,
    );
    s.assign(&o.office_head, &first.id, &o.zhang.id, &o.coordinator)
        .await;
    let cycle = s.advance_cycle(&o.office_head, &renamed).await;
    s.score(&o.coordinator, &cycle.id, &o.zhang.id, "quality", 70.0)
        .await;
    // Self-assessment is off for this cycle now.
    fails(
        s.c()
            .submit_self_assessment(o.zhang.req(SubmitSelfAssessmentRequest {
                cycle_id: cycle.id.clone(),
                subject_id: o.zhang.id.clone(),
                indicator_code: "quality".into(),
                value: 99.0,
                comment: String::new(),
            }))
            .await,
        Code::FailedPrecondition,
    );
    s.c()
        .remove_reviewer(o.office_head.req(RemoveReviewerRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            reviewer_id: o.coordinator.id.clone(),
        }))
        .await
        .unwrap();
    // The removed reviewer's scores went with the assignment.
    let card = s
        .scorecard(&o.office_head, &cycle.id, &o.zhang.id)
        .await
        .unwrap();
    assert_eq!(line(&card, "quality").value, None);
    fails(
        s.c()
            .remove_reviewer(o.office_head.req(RemoveReviewerRequest {
                cycle_id: cycle.id.clone(),
                subject_id: o.zhang.id.clone(),
                reviewer_id: o.coordinator.id.clone(),
            }))
            .await,
        Code::NotFound,
    );
    fails(
        s.c()
            .submit_score(o.coordinator.req(SubmitScoreRequest {
                cycle_id: cycle.id.clone(),
                subject_id: o.zhang.id.clone(),
                indicator_code: "quality".into(),
                value: 70.0,
                comment: "还想打分".into(),
            }))
            .await,
        Code::PermissionDenied,
    );
}

async fn moved_deadlines_move_the_cycle_by_themselves(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let set = s.create_set("个人考核", staff_indicators()).await;
    let cycle = s
        .create_cycle(&o.office_head, person_cycle(&set, "", &[&o.zhang]))
        .await;
    let mask = |paths: &[&str]| {
        Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        })
    };
    // Scoring opens two hours in instead of at the end of the period.
    let moved = s
        .c()
        .update_cycle(o.office_head.req(UpdateCycleRequest {
            cycle: Some(Cycle {
                id: cycle.id.clone(),
                scoring_start_time: ts(T0 + 2 * HOUR),
                etag: cycle.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["scoring_start_time"]),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.scoring_start_time, ts(T0 + 2 * HOUR));
    s.advance(HOUR);
    assert_eq!(
        s.get_cycle(&o.admin, &cycle.id).await.stage,
        Stage::Open as i32
    );
    s.advance(2 * HOUR);
    let scoring = s
        .cycle_until(&cycle.id, "scoring", |c| c.stage == Stage::Scoring as i32)
        .await;
    // Once scoring, only the deadline may change; it closes scoring by itself.
    fails(
        s.c()
            .update_cycle(o.office_head.req(UpdateCycleRequest {
                cycle: Some(Cycle {
                    id: cycle.id.clone(),
                    scoring_start_time: ts(T0 + 5 * HOUR),
                    ..Default::default()
                }),
                update_mask: mask(&["scoring_start_time"]),
            }))
            .await,
        Code::FailedPrecondition,
    );
    s.c()
        .update_cycle(o.office_head.req(UpdateCycleRequest {
            cycle: Some(Cycle {
                id: cycle.id.clone(),
                scoring_deadline: ts(T0 + 6 * HOUR),
                etag: scoring.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["scoring_deadline"]),
        }))
        .await
        .unwrap();
    s.advance(2 * HOUR);
    assert_eq!(
        s.get_cycle(&o.admin, &cycle.id).await.stage,
        Stage::Scoring as i32
    );
    s.advance(2 * HOUR);
    s.cycle_until(&cycle.id, "calibration", |c| {
        c.stage == Stage::Calibration as i32
    })
    .await;
}

concord_kit::backend_tests!(
    a_cycle_runs_from_open_to_published_with_ranked_scorecards,
    scores_are_seen_by_the_appraised_their_managers_and_reviewers_only,
    department_cycles_show_a_department_to_its_head_once_published,
    calibration_needs_a_reason_and_keeps_every_adjustment,
    publishing_needs_every_manual_indicator_scored,
    cycles_are_listed_changed_and_reviewers_removed,
    moved_deadlines_move_the_cycle_by_themselves,
);

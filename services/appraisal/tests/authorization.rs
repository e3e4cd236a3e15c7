//! Who may call what, for every RPC: the coarse role policy (admins,
//! heads, auditors, coordinators, members, services) and the resource
//! rules (a cycle's managers, the appraised, reviewers, heads of other
//! subtrees), allowed and denied, through a cycle's whole life.

mod common;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::appraisal::v1::*;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use prost_types::FieldMask;
use tonic::{Code, Response, Status};

macro_rules! call {
    ($s:expr, $who:expr, $method:ident, $req:expr) => {
        $s.c().$method($who.req($req)).await
    };
}

#[track_caller]
fn denied<T: std::fmt::Debug>(r: Result<Response<T>, Status>) {
    fails(r, Code::PermissionDenied);
}

#[track_caller]
fn allowed<T>(r: Result<Response<T>, Status>) -> T {
    match r {
        Ok(r) => r.into_inner(),
        Err(s) => panic!("expected success, got {s:?}"),
    }
}

async fn every_rpc_admits_its_callers_and_refuses_the_rest(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();

    // Indicator sets: admins write, everybody signed in reads.
    let new_set = || CreateIndicatorSetRequest {
        name: "权限测试指标".into(),
        indicators: staff_indicators(),
        ..Default::default()
    };
    for who in [
        &o.office_head,
        &o.coordinator,
        &o.zhang,
        &o.auditor,
        &o.service,
    ] {
        denied(call!(s, who, create_indicator_set, new_set()));
    }
    let set = allowed(call!(s, o.admin, create_indicator_set, new_set()));
    for who in [&o.zhang, &o.qian, &o.auditor, &o.service] {
        allowed(call!(
            s,
            who,
            get_indicator_set,
            GetIndicatorSetRequest {
                id: set.id.clone(),
                version: 0,
            }
        ));
        allowed(call!(
            s,
            who,
            list_indicator_sets,
            ListIndicatorSetsRequest::default()
        ));
        allowed(call!(
            s,
            who,
            list_indicator_set_versions,
            ListIndicatorSetVersionsRequest {
                id: set.id.clone(),
                ..Default::default()
            }
        ));
    }
    fails(
        s.c()
            .get_indicator_set(GetIndicatorSetRequest {
                id: set.id.clone(),
                version: 0,
            })
            .await,
        Code::Unauthenticated,
    );
    let revise = || ReviseIndicatorSetRequest {
        id: set.id.clone(),
        etag: set.etag.clone(),
        name: set.name.clone(),
        description: String::new(),
        indicators: staff_indicators(),
        change_note: "重排".into(),
    };
    for who in [&o.office_head, &o.auditor, &o.zhang] {
        denied(call!(s, who, revise_indicator_set, revise()));
    }
    let set = allowed(call!(s, o.admin, revise_indicator_set, revise()));

    // Cycles: admins anywhere, heads over their own subtree.
    let cycle_req = |owner: &str| person_cycle(&set, owner, &[&o.zhang, &o.li]);
    for who in [&o.zhang, &o.coordinator, &o.auditor, &o.service] {
        denied(call!(s, who, create_cycle, cycle_req("")));
    }
    denied(call!(s, o.it_head, create_cycle, cycle_req(&o.office)));
    denied(call!(s, o.records_head, create_cycle, cycle_req(&o.office)));
    let above = allowed(call!(s, o.hq_head, create_cycle, cycle_req(&o.office)));
    assert_eq!(above.owner_department_id, o.office);
    let org_wide = allowed(call!(s, o.admin, create_cycle, cycle_req("")));
    assert_eq!(org_wide.owner_department_id, "");
    let cycle = allowed(call!(s, o.office_head, create_cycle, cycle_req("")));
    for who in [&o.qian, &o.auditor, &o.service] {
        allowed(call!(
            s,
            who,
            get_cycle,
            GetCycleRequest {
                id: cycle.id.clone()
            }
        ));
        allowed(call!(s, who, list_cycles, ListCyclesRequest::default()));
    }
    fails(
        s.c()
            .get_cycle(GetCycleRequest {
                id: cycle.id.clone(),
            })
            .await,
        Code::Unauthenticated,
    );
    let rename = |name: &str| UpdateCycleRequest {
        cycle: Some(Cycle {
            id: cycle.id.clone(),
            name: name.into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["name".into()],
        }),
    };
    for who in [
        &o.it_head,
        &o.records_head,
        &o.zhang,
        &o.auditor,
        &o.coordinator,
    ] {
        denied(call!(s, who, update_cycle, rename("越权改名")));
    }
    allowed(call!(
        s,
        o.hq_head,
        update_cycle,
        rename("办公室 2026 年度考核")
    ));
    // Only admins manage the organisation's own cycles.
    denied(call!(
        s,
        o.hq_head,
        update_cycle,
        UpdateCycleRequest {
            cycle: Some(Cycle {
                id: org_wide.id.clone(),
                name: "x".into(),
                ..Default::default()
            }),
            ..rename("x")
        }
    ));

    // Reviewers: the cycle's managers assign and remove.
    let assign = |subject: &Who, reviewer: &Who| AssignReviewerRequest {
        cycle_id: cycle.id.clone(),
        subject_id: subject.id.clone(),
        reviewer_id: reviewer.id.clone(),
    };
    for who in [&o.it_head, &o.records_head, &o.zhang, &o.auditor] {
        denied(call!(
            s,
            who,
            assign_reviewer,
            assign(&o.li, &o.coordinator)
        ));
    }
    allowed(call!(
        s,
        o.office_head,
        assign_reviewer,
        assign(&o.li, &o.coordinator)
    ));
    allowed(call!(
        s,
        o.admin,
        assign_reviewer,
        assign(&o.zhang, &o.office_head)
    ));
    allowed(call!(
        s,
        o.office_head,
        assign_reviewer,
        assign(&o.zhang, &o.qian)
    ));
    let remove = || RemoveReviewerRequest {
        cycle_id: cycle.id.clone(),
        subject_id: o.zhang.id.clone(),
        reviewer_id: o.qian.id.clone(),
    };
    for who in [&o.it_head, &o.zhang, &o.auditor, &o.qian] {
        denied(call!(s, who, remove_reviewer, remove()));
    }
    allowed(call!(s, o.hq_head, remove_reviewer, remove()));
    let assignments = |reviewer: &Who| ListReviewAssignmentsRequest {
        cycle_id: cycle.id.clone(),
        reviewer_id: reviewer.id.clone(),
        ..Default::default()
    };
    // A member sees only their own assignments, and names nobody else.
    let own = allowed(call!(
        s,
        o.zhang,
        list_review_assignments,
        ListReviewAssignmentsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }
    ));
    assert!(own.assignments.is_empty());
    denied(call!(
        s,
        o.zhang,
        list_review_assignments,
        assignments(&o.coordinator)
    ));
    let mine = allowed(call!(
        s,
        o.coordinator,
        list_review_assignments,
        assignments(&o.coordinator)
    ));
    assert_eq!(mine.assignments.len(), 1);
    for who in [&o.auditor, &o.office_head] {
        let all = allowed(call!(
            s,
            who,
            list_review_assignments,
            ListReviewAssignmentsRequest {
                cycle_id: cycle.id.clone(),
                ..Default::default()
            }
        ));
        assert_eq!(all.assignments.len(), 2);
    }

    // Moving the stages and collecting: the cycle's managers.
    let advance = |c: &Cycle| AdvanceCycleRequest {
        id: c.id.clone(),
        from_stage: c.stage,
        etag: String::new(),
    };
    let cycle = allowed(call!(
        s,
        o.auditor,
        get_cycle,
        GetCycleRequest {
            id: cycle.id.clone()
        }
    ));
    for who in [
        &o.it_head,
        &o.records_head,
        &o.zhang,
        &o.auditor,
        &o.coordinator,
    ] {
        denied(call!(s, who, advance_cycle, advance(&cycle)));
    }
    let cycle = allowed(call!(s, o.office_head, advance_cycle, advance(&cycle)));
    let collect = || CollectAutomaticScoresRequest {
        cycle_id: cycle.id.clone(),
    };
    for who in [&o.it_head, &o.records_head, &o.zhang, &o.auditor] {
        denied(call!(s, who, collect_automatic_scores, collect()));
    }
    allowed(call!(s, o.office_head, collect_automatic_scores, collect()));

    // Scores: assigned reviewers only; self-assessment: the appraised only.
    let score = |subject: &Who, code: &str, value: f64| SubmitScoreRequest {
        cycle_id: cycle.id.clone(),
        subject_id: subject.id.clone(),
        indicator_code: code.into(),
        value,
        comment: "依据平时表现".into(),
    };
    for who in [&o.zhang, &o.admin, &o.it_head, &o.qian] {
        denied(call!(
            s,
            who,
            submit_score,
            score(&o.zhang, "quality", 50.0)
        ));
    }
    for code in ["quality", "efficiency", "attitude"] {
        allowed(call!(
            s,
            o.office_head,
            submit_score,
            score(&o.zhang, code, 80.0)
        ));
        allowed(call!(
            s,
            o.coordinator,
            submit_score,
            score(&o.li, code, 70.0)
        ));
    }
    let selfa = || SubmitSelfAssessmentRequest {
        cycle_id: cycle.id.clone(),
        subject_id: o.zhang.id.clone(),
        indicator_code: "quality".into(),
        value: 90.0,
        comment: "自评".into(),
    };
    for who in [&o.li, &o.office_head, &o.admin] {
        denied(call!(s, who, submit_self_assessment, selfa()));
    }
    allowed(call!(s, o.zhang, submit_self_assessment, selfa()));
    let scores = || ListScoresRequest {
        cycle_id: cycle.id.clone(),
        ..Default::default()
    };
    assert!(
        allowed(call!(s, o.it_head, list_scores, scores()))
            .scores
            .is_empty()
    );
    let zhang_sees = allowed(call!(s, o.zhang, list_scores, scores())).scores;
    assert_eq!(zhang_sees.len(), 1, "only his own self-assessment");
    assert!(zhang_sees[0].self_assessment);
    assert_eq!(
        allowed(call!(s, o.auditor, list_scores, scores()))
            .scores
            .len(),
        7
    );

    // Scorecards and rankings before publishing: managers, admins, auditors.
    let card = |subject: &Who| GetScorecardRequest {
        cycle_id: cycle.id.clone(),
        subject_id: subject.id.clone(),
    };
    for who in [
        &o.zhang,
        &o.it_head,
        &o.coordinator,
        &o.records_head,
        &o.qian,
    ] {
        denied(call!(s, who, get_scorecard, card(&o.zhang)));
    }
    for who in [&o.office_head, &o.hq_head, &o.admin, &o.auditor, &o.service] {
        allowed(call!(s, who, get_scorecard, card(&o.zhang)));
    }
    let cards = || ListScorecardsRequest {
        cycle_id: cycle.id.clone(),
        ..Default::default()
    };
    for who in [&o.it_head, &o.zhang] {
        assert!(
            allowed(call!(s, who, list_scorecards, cards()))
                .scorecards
                .is_empty()
        );
    }
    assert_eq!(
        allowed(call!(s, o.hq_head, list_scorecards, cards()))
            .scorecards
            .len(),
        2
    );
    let rankings = || ListRankingsRequest {
        cycle_id: cycle.id.clone(),
        ..Default::default()
    };
    for who in [&o.zhang, &o.it_head, &o.coordinator] {
        denied(call!(s, who, list_rankings, rankings()));
    }
    for who in [&o.auditor, &o.office_head] {
        assert_eq!(
            allowed(call!(s, who, list_rankings, rankings()))
                .entries
                .len(),
            2
        );
    }

    // Calibration: the managers of the cycle or of the appraised.
    let cycle = allowed(call!(s, o.office_head, advance_cycle, advance(&cycle)));
    let calibrate = || CalibrateScoreRequest {
        cycle_id: cycle.id.clone(),
        subject_id: o.zhang.id.clone(),
        indicator_code: "attitude".into(),
        score: 85.0,
        reason: "年度先进事迹".into(),
    };
    for who in [
        &o.zhang,
        &o.coordinator,
        &o.auditor,
        &o.service,
        &o.it_head,
        &o.records_head,
    ] {
        denied(call!(s, who, calibrate_score, calibrate()));
    }
    allowed(call!(s, o.hq_head, calibrate_score, calibrate()));
    allowed(call!(s, o.admin, calibrate_score, calibrate()));
    let calibrations = || ListCalibrationsRequest {
        cycle_id: cycle.id.clone(),
        ..Default::default()
    };
    assert!(
        allowed(call!(s, o.it_head, list_calibrations, calibrations()))
            .calibrations
            .is_empty()
    );
    assert!(
        allowed(call!(s, o.zhang, list_calibrations, calibrations()))
            .calibrations
            .is_empty()
    );
    assert_eq!(
        allowed(call!(s, o.auditor, list_calibrations, calibrations()))
            .calibrations
            .len(),
        2
    );

    // Feedback: written by managers, read by the appraised once published.
    let feedback = || SetAppraisalFeedbackRequest {
        feedback: Some(AppraisalFeedback {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            strengths: "主动担当".into(),
            improvements: "加强学习".into(),
            ..Default::default()
        }),
    };
    for who in [&o.zhang, &o.coordinator, &o.auditor, &o.it_head] {
        denied(call!(s, who, set_appraisal_feedback, feedback()));
    }
    allowed(call!(s, o.office_head, set_appraisal_feedback, feedback()));
    let read = || GetAppraisalFeedbackRequest {
        cycle_id: cycle.id.clone(),
        subject_id: o.zhang.id.clone(),
    };
    for who in [&o.zhang, &o.it_head, &o.li] {
        denied(call!(s, who, get_appraisal_feedback, read()));
    }
    allowed(call!(s, o.auditor, get_appraisal_feedback, read()));
    let ack = || AcknowledgeAppraisalFeedbackRequest {
        cycle_id: cycle.id.clone(),
        subject_id: o.zhang.id.clone(),
        response: "收到".into(),
        etag: String::new(),
    };
    denied(call!(
        s,
        o.office_head,
        acknowledge_appraisal_feedback,
        ack()
    ));
    fails(
        call!(s, o.zhang, acknowledge_appraisal_feedback, ack()),
        Code::FailedPrecondition,
    );

    // Published: the appraised see their own results.
    let cycle = allowed(call!(s, o.office_head, advance_cycle, advance(&cycle)));
    assert_eq!(cycle.stage, Stage::Published as i32);
    allowed(call!(s, o.zhang, get_scorecard, card(&o.zhang)));
    denied(call!(s, o.zhang, get_scorecard, card(&o.li)));
    denied(call!(s, o.coordinator, get_scorecard, card(&o.li)));
    assert_eq!(
        allowed(call!(s, o.zhang, list_rankings, rankings()))
            .entries
            .len(),
        1
    );
    assert!(
        allowed(call!(s, o.qian, list_rankings, rankings()))
            .entries
            .is_empty()
    );
    allowed(call!(s, o.zhang, get_appraisal_feedback, read()));
    denied(call!(s, o.li, get_appraisal_feedback, read()));
    denied(call!(s, o.li, acknowledge_appraisal_feedback, ack()));
    denied(call!(
        s,
        o.office_head,
        acknowledge_appraisal_feedback,
        ack()
    ));
    allowed(call!(s, o.zhang, acknowledge_appraisal_feedback, ack()));

    // Commendations: admins anywhere, heads within their subtree, never themselves.
    let commend = |kind: SubjectKind, subject: &str| CreateCommendationRequest {
        subject_kind: kind as i32,
        subject_id: subject.into(),
        title: "先进个人".into(),
        ..Default::default()
    };
    for who in [&o.zhang, &o.coordinator, &o.auditor, &o.service] {
        denied(call!(
            s,
            who,
            create_commendation,
            commend(SubjectKind::Person, &o.zhang.id)
        ));
    }
    denied(call!(
        s,
        o.it_head,
        create_commendation,
        commend(SubjectKind::Person, &o.zhang.id)
    ));
    denied(call!(
        s,
        o.office_head,
        create_commendation,
        commend(SubjectKind::Person, &o.office_head.id)
    ));
    denied(call!(
        s,
        o.office_head,
        create_commendation,
        commend(SubjectKind::Department, &o.office)
    ));
    let k = allowed(call!(
        s,
        o.office_head,
        create_commendation,
        commend(SubjectKind::Person, &o.zhang.id)
    ));
    allowed(call!(
        s,
        o.hq_head,
        create_commendation,
        commend(SubjectKind::Department, &o.office)
    ));
    allowed(call!(
        s,
        o.admin,
        create_commendation,
        commend(SubjectKind::Department, &o.it)
    ));
    for who in [&o.qian, &o.service, &o.zhang] {
        allowed(call!(
            s,
            who,
            get_commendation,
            GetCommendationRequest { id: k.id.clone() }
        ));
        let all = allowed(call!(
            s,
            who,
            list_commendations,
            ListCommendationsRequest::default()
        ));
        assert_eq!(all.commendations.len(), 3);
    }

    // The audit trail: admins and auditors.
    for who in [&o.zhang, &o.office_head, &o.coordinator, &o.service] {
        denied(call!(
            s,
            who,
            list_audit_entries,
            ListAuditEntriesRequest::default()
        ));
    }
    for who in [&o.admin, &o.auditor] {
        let trail = allowed(call!(
            s,
            who,
            list_audit_entries,
            ListAuditEntriesRequest {
                page_size: 500,
                ..Default::default()
            }
        ));
        assert!(
            trail
                .entries
                .iter()
                .any(|e| e.action == "commendation.create")
        );
    }
}

concord_kit::backend_tests!(every_rpc_admits_its_callers_and_refuses_the_rest);

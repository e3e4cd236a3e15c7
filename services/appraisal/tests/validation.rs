//! Bad input, field by field, for every RPC: INVALID_ARGUMENT naming each
//! bad field in a BadRequest, NOT_FOUND for a missing resource the call is
//! about, and nothing written.

mod common;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::appraisal::v1::*;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use prost_types::{FieldMask, Timestamp};
use tonic::Code;

macro_rules! call {
    ($s:expr, $who:expr, $method:ident, $req:expr) => {
        $s.c().$method($who.req($req)).await
    };
}

const NOBODY: &str = "0192f0c4-0000-7000-8000-000000000000";

fn set_with(indicators: Vec<Indicator>) -> CreateIndicatorSetRequest {
    CreateIndicatorSetRequest {
        name: "指标".into(),
        indicators,
        ..Default::default()
    }
}

/// `staff_indicators()` with the first indicator changed by `f`.
fn first_changed(f: impl FnOnce(&mut Indicator)) -> CreateIndicatorSetRequest {
    let mut inds = staff_indicators();
    f(&mut inds[0]);
    set_with(inds)
}

async fn indicator_sets_name_each_bad_field(backend: Backend) {
    let s = Suite::start(backend).await;
    let a = s.org.admin.clone();
    let create = |req: CreateIndicatorSetRequest| {
        let mut c = s.c();
        let req = a.req(req);
        async move { c.create_indicator_set(req).await }
    };
    names_fields(
        create(CreateIndicatorSetRequest {
            request_id: "x".repeat(129),
            ..set_with(staff_indicators())
        })
        .await,
        &["request_id"],
    );
    names_fields(
        create(CreateIndicatorSetRequest {
            name: " ".into(),
            ..set_with(staff_indicators())
        })
        .await,
        &["name"],
    );
    names_fields(
        create(CreateIndicatorSetRequest {
            name: "名".repeat(201),
            description: "x".repeat(5001),
            ..set_with(staff_indicators())
        })
        .await,
        &["name", "description"],
    );
    names_fields(create(set_with(vec![])).await, &["indicators"]);
    let many: Vec<Indicator> = (0..51)
        .map(|i| manual(&format!("i{i}"), "x", Dimension::Quality, 1))
        .collect();
    names_fields(create(set_with(many)).await, &["indicators"]);
    for (change, field) in [
        (
            Box::new(|i: &mut Indicator| i.code = "Bad Code".into())
                as Box<dyn FnOnce(&mut Indicator)>,
            "indicators[0].code",
        ),
        (
            Box::new(|i: &mut Indicator| i.code = "attitude".into()),
            "indicators[2].code",
        ),
        (
            Box::new(|i: &mut Indicator| i.name = String::new()),
            "indicators[0].name",
        ),
        (
            Box::new(|i: &mut Indicator| i.name = "a\u{7}b".into()),
            "indicators[0].name",
        ),
        (
            Box::new(|i: &mut Indicator| i.dimension = 0),
            "indicators[0].dimension",
        ),
        (
            Box::new(|i: &mut Indicator| i.dimension = 99),
            "indicators[0].dimension",
        ),
        (
            Box::new(|i: &mut Indicator| i.dimension = Dimension::Custom as i32),
            "indicators[0].custom_dimension",
        ),
        (
            Box::new(|i: &mut Indicator| i.custom_dimension = "廉洁".into()),
            "indicators[0].custom_dimension",
        ),
        (
            Box::new(|i: &mut Indicator| i.rule = 0),
            "indicators[0].rule",
        ),
        (
            Box::new(|i: &mut Indicator| i.rule = 42),
            "indicators[0].rule",
        ),
        (
            Box::new(|i: &mut Indicator| i.source = 0),
            "indicators[0].source",
        ),
        (
            Box::new(|i: &mut Indicator| i.source = 77),
            "indicators[0].source",
        ),
        (
            Box::new(|i: &mut Indicator| i.source = Source::NoticeReadRate as i32),
            "indicators[0].rule",
        ),
        (
            Box::new(|i: &mut Indicator| {
                i.rule = ScoringRule::Linear as i32;
                i.floor = 5.0;
                i.target = 5.0;
            }),
            "indicators[0].floor",
        ),
        (
            Box::new(|i: &mut Indicator| {
                i.rule = ScoringRule::Linear as i32;
                i.floor = 100.0;
                i.target = 0.0;
            }),
            "indicators[0].floor",
        ),
        (
            Box::new(|i: &mut Indicator| {
                i.rule = ScoringRule::Linear as i32;
                i.floor = 0.0;
                i.target = 100.0;
                i.lower_is_better = true;
            }),
            "indicators[0].floor",
        ),
        (
            Box::new(|i: &mut Indicator| {
                i.rule = ScoringRule::Threshold as i32;
                i.target = f64::NAN;
            }),
            "indicators[0].target",
        ),
        (
            Box::new(|i: &mut Indicator| {
                i.rule = ScoringRule::Threshold as i32;
                i.target = 300.0;
                i.source = Source::AlertTimeToAcknowledge as i32;
            }),
            "indicators[0].lower_is_better",
        ),
        (
            Box::new(|i: &mut Indicator| {
                i.rule = ScoringRule::Threshold as i32;
                i.target = 90.0;
                i.source = Source::TrainingCompletion as i32;
                i.lower_is_better = true;
            }),
            "indicators[0].lower_is_better",
        ),
    ] {
        names_fields(create(first_changed(change)).await, &[field]);
    }
    // Weights: each 1..100, together exactly 100.
    names_fields(
        create(first_changed(|i| i.weight = 0)).await,
        &["indicators[0].weight"],
    );
    names_fields(
        create(first_changed(|i| i.weight = 101)).await,
        &["indicators[0].weight"],
    );
    names_fields(
        create(first_changed(|i| i.weight = 40)).await,
        &["indicators"],
    );
    names_fields(
        create(first_changed(|i| i.weight = 60)).await,
        &["indicators"],
    );

    let set = s.create_set("指标", staff_indicators()).await;
    let get = |id: &str, version: i64| {
        let mut c = s.c();
        let req = a.req(GetIndicatorSetRequest {
            id: id.into(),
            version,
        });
        async move { c.get_indicator_set(req).await }
    };
    names_fields(get("", 0).await, &["id"]);
    names_fields(get("42", -1).await, &["id", "version"]);
    fails(get(NOBODY, 0).await, Code::NotFound);
    names_fields(
        call!(
            s,
            a,
            list_indicator_sets,
            ListIndicatorSetsRequest {
                page_size: -1,
                page_token: String::new(),
            }
        ),
        &["page_size"],
    );
    names_fields(
        call!(
            s,
            a,
            list_indicator_sets,
            ListIndicatorSetsRequest {
                page_size: 0,
                page_token: "garbage".into(),
            }
        ),
        &["page_token"],
    );
    let revise = |req: ReviseIndicatorSetRequest| {
        let mut c = s.c();
        let req = a.req(req);
        async move { c.revise_indicator_set(req).await }
    };
    let good = ReviseIndicatorSetRequest {
        id: set.id.clone(),
        etag: set.etag.clone(),
        name: "指标 v2".into(),
        description: String::new(),
        indicators: staff_indicators(),
        change_note: "调整".into(),
    };
    names_fields(
        revise(ReviseIndicatorSetRequest {
            id: "x".into(),
            ..good.clone()
        })
        .await,
        &["id"],
    );
    names_fields(
        revise(ReviseIndicatorSetRequest {
            etag: String::new(),
            ..good.clone()
        })
        .await,
        &["etag"],
    );
    names_fields(
        revise(ReviseIndicatorSetRequest {
            etag: "W/\"1\"".into(),
            ..good.clone()
        })
        .await,
        &["etag"],
    );
    names_fields(
        revise(ReviseIndicatorSetRequest {
            change_note: String::new(),
            ..good.clone()
        })
        .await,
        &["change_note"],
    );
    names_fields(
        revise(ReviseIndicatorSetRequest {
            indicators: first_changed(|i| i.weight = 10).indicators,
            ..good.clone()
        })
        .await,
        &["indicators"],
    );
    fails(
        revise(ReviseIndicatorSetRequest {
            id: NOBODY.into(),
            ..good.clone()
        })
        .await,
        Code::NotFound,
    );
    // Nothing was revised by the refused calls.
    assert_eq!(get(&set.id, 0).await.unwrap().into_inner().version, 1);
    names_fields(
        call!(
            s,
            a,
            list_indicator_set_versions,
            ListIndicatorSetVersionsRequest {
                id: String::new(),
                page_size: -1,
                page_token: String::new(),
            }
        ),
        &["id", "page_size"],
    );
    fails(
        call!(
            s,
            a,
            list_indicator_set_versions,
            ListIndicatorSetVersionsRequest {
                id: NOBODY.into(),
                ..Default::default()
            }
        ),
        Code::NotFound,
    );
}

async fn cycles_name_each_bad_field(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let set = s.create_set("指标", staff_indicators()).await;
    let good = person_cycle(&set, "", &[&o.zhang, &o.li]);
    let create = |who: &Who, req: CreateCycleRequest| {
        let mut c = s.c();
        let req = who.req(req);
        async move { c.create_cycle(req).await }
    };
    let head = &o.office_head;
    for (req, fields) in [
        (
            CreateCycleRequest {
                name: String::new(),
                ..good.clone()
            },
            vec!["name"],
        ),
        (
            CreateCycleRequest {
                indicator_set_id: "nope".into(),
                ..good.clone()
            },
            vec!["indicator_set_id"],
        ),
        (
            CreateCycleRequest {
                indicator_set_id: NOBODY.into(),
                ..good.clone()
            },
            vec!["indicator_set_id"],
        ),
        (
            CreateCycleRequest {
                subject_kind: 0,
                ..good.clone()
            },
            vec!["subject_kind"],
        ),
        (
            CreateCycleRequest {
                subject_kind: 9,
                ..good.clone()
            },
            vec!["subject_kind"],
        ),
        (
            CreateCycleRequest {
                subject_ids: vec![],
                ..good.clone()
            },
            vec!["subject_ids"],
        ),
        (
            CreateCycleRequest {
                subject_ids: vec![o.zhang.id.clone(), "bad".into()],
                ..good.clone()
            },
            vec!["subject_ids[1]"],
        ),
        (
            CreateCycleRequest {
                subject_ids: vec![o.zhang.id.clone(), o.zhang.id.clone()],
                ..good.clone()
            },
            vec!["subject_ids[1]"],
        ),
        (
            CreateCycleRequest {
                subject_ids: vec![o.zhang.id.clone(), NOBODY.into()],
                ..good.clone()
            },
            vec!["subject_ids[1]"],
        ),
        (
            // 信息中心's Qian is outside 办公室.
            CreateCycleRequest {
                subject_ids: vec![o.zhang.id.clone(), o.qian.id.clone()],
                ..good.clone()
            },
            vec!["subject_ids[1]"],
        ),
        (
            // A department id is not a person.
            CreateCycleRequest {
                subject_ids: vec![o.records.clone()],
                ..good.clone()
            },
            vec!["subject_ids[0]"],
        ),
        (
            CreateCycleRequest {
                owner_department_id: "x".into(),
                ..good.clone()
            },
            vec!["owner_department_id"],
        ),
        (
            CreateCycleRequest {
                owner_department_id: NOBODY.into(),
                ..good.clone()
            },
            vec!["owner_department_id"],
        ),
        (
            CreateCycleRequest {
                period_start_time: None,
                period_end_time: Some(Timestamp {
                    seconds: 1,
                    nanos: -5,
                }),
                ..good.clone()
            },
            vec!["period_start_time", "period_end_time"],
        ),
        (
            CreateCycleRequest {
                period_end_time: ts(T0 - DAY),
                ..good.clone()
            },
            vec!["period_end_time"],
        ),
        (
            CreateCycleRequest {
                scoring_start_time: ts(T0 - DAY),
                ..good.clone()
            },
            vec!["scoring_start_time"],
        ),
        (
            CreateCycleRequest {
                scoring_deadline: ts(T0 + DAY),
                ..good.clone()
            },
            vec!["scoring_deadline"],
        ),
        (
            CreateCycleRequest {
                name: String::new(),
                request_id: "r".repeat(200),
                subject_kind: 0,
                ..good.clone()
            },
            vec!["name", "request_id", "subject_kind"],
        ),
    ] {
        names_fields(create(head, req).await, &fields);
    }
    let departments = CreateCycleRequest {
        subject_kind: SubjectKind::Department as i32,
        subject_ids: vec![o.records.clone(), NOBODY.into()],
        ..good.clone()
    };
    names_fields(create(&o.admin, departments).await, &["subject_ids[1]"]);
    // Nothing was created by the refused calls.
    let none = call!(s, o.admin, list_cycles, ListCyclesRequest::default())
        .unwrap()
        .into_inner();
    assert!(none.cycles.is_empty());

    let cycle = s.create_cycle(head, good.clone()).await;
    names_fields(
        call!(s, head, get_cycle, GetCycleRequest { id: "1".into() }),
        &["id"],
    );
    fails(
        call!(s, head, get_cycle, GetCycleRequest { id: NOBODY.into() }),
        Code::NotFound,
    );
    names_fields(
        call!(
            s,
            head,
            list_cycles,
            ListCyclesRequest {
                stage: 17,
                subject_id: "x".into(),
                page_size: -3,
                page_token: String::new(),
            }
        ),
        &["stage", "subject_id", "page_size"],
    );
    names_fields(
        call!(
            s,
            head,
            list_cycles,
            ListCyclesRequest {
                page_token: "not-a-token".into(),
                ..Default::default()
            }
        ),
        &["page_token"],
    );
    let update = |c: Option<Cycle>, paths: &[&str]| {
        let mut client = s.c();
        let req = head.req(UpdateCycleRequest {
            cycle: c,
            update_mask: (!paths.is_empty()).then(|| FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
        });
        async move { client.update_cycle(req).await }
    };
    let with = |f: fn(&mut Cycle)| {
        let mut c = Cycle {
            id: cycle.id.clone(),
            ..Default::default()
        };
        f(&mut c);
        Some(c)
    };
    names_fields(update(None, &["name"]).await, &["cycle"]);
    names_fields(
        update(with(|c| c.id = "x".into()), &["name"]).await,
        &["cycle.id", "cycle.name"],
    );
    names_fields(
        update(with(|c| c.name = "新名".into()), &[]).await,
        &["update_mask"],
    );
    names_fields(
        update(with(|c| c.name = "新名".into()), &["stage"]).await,
        &["update_mask"],
    );
    names_fields(
        update(with(|c| c.name = " ".into()), &["name"]).await,
        &["cycle.name"],
    );
    names_fields(
        update(
            with(|c| {
                c.name = "新名".into();
                c.etag = "abc".into();
            }),
            &["name"],
        )
        .await,
        &["cycle.etag"],
    );
    names_fields(
        update(with(|_| {}), &["scoring_start_time"]).await,
        &["cycle.scoring_start_time"],
    );
    names_fields(
        update(
            with(|c| c.scoring_deadline = ts(T0 + DAY)),
            &["scoring_deadline"],
        )
        .await,
        &["cycle.scoring_deadline"],
    );
    fails(
        update(
            Some(Cycle {
                id: NOBODY.into(),
                name: "x".into(),
                ..Default::default()
            }),
            &["name"],
        )
        .await,
        Code::NotFound,
    );
    let advance = |id: &str, from: i32, etag: &str| {
        let mut c = s.c();
        let req = head.req(AdvanceCycleRequest {
            id: id.into(),
            from_stage: from,
            etag: etag.into(),
        });
        async move { c.advance_cycle(req).await }
    };
    names_fields(advance("", 0, "x").await, &["id", "from_stage", "etag"]);
    names_fields(advance(&cycle.id, 12, "").await, &["from_stage"]);
    fails(
        advance(NOBODY, Stage::Open as i32, "").await,
        Code::NotFound,
    );
    // The cycle did not move.
    assert_eq!(s.get_cycle(head, &cycle.id).await, cycle);
}

async fn reviews_and_scores_name_each_bad_field(backend: Backend) {
    // The set reads one indicator from the notices.
    let s = Suite::start_with(backend, &["notices"]).await;
    let o = s.org.clone();
    let head = o.office_head.clone();
    let mut inds = staff_indicators();
    inds[2] = Indicator {
        weight: 20,
        ..linear(
            "reads",
            "通知阅读率",
            20,
            Source::NoticeReadRate,
            0.0,
            100.0,
        )
    };
    let set = s.create_set("指标", inds).await;
    let cycle = s
        .create_cycle(&head, person_cycle(&set, "", &[&o.zhang, &o.li]))
        .await;
    let assign = |cycle_id: &str, subject_id: &str, reviewer_id: &str| {
        let mut c = s.c();
        let req = head.req(AssignReviewerRequest {
            cycle_id: cycle_id.into(),
            subject_id: subject_id.into(),
            reviewer_id: reviewer_id.into(),
        });
        async move { c.assign_reviewer(req).await }
    };
    names_fields(
        assign("", "x", "").await,
        &["cycle_id", "subject_id", "reviewer_id"],
    );
    names_fields(
        assign(&cycle.id, &o.zhang.id, NOBODY).await,
        &["reviewer_id"],
    );
    names_fields(
        assign(&cycle.id, &o.zhang.id, &o.zhang.id).await,
        &["reviewer_id"],
    );
    fails(assign(NOBODY, &o.zhang.id, &head.id).await, Code::NotFound);
    fails(
        assign(&cycle.id, &o.qian.id, &head.id).await,
        Code::NotFound,
    );
    names_fields(
        call!(
            s,
            head,
            remove_reviewer,
            RemoveReviewerRequest {
                cycle_id: "c".into(),
                subject_id: String::new(),
                reviewer_id: "r".into(),
            }
        ),
        &["cycle_id", "subject_id", "reviewer_id"],
    );
    names_fields(
        call!(
            s,
            head,
            list_review_assignments,
            ListReviewAssignmentsRequest {
                cycle_id: String::new(),
                reviewer_id: "r".into(),
                subject_id: "s".into(),
                page_size: -1,
                page_token: String::new(),
            }
        ),
        &["cycle_id", "reviewer_id", "subject_id", "page_size"],
    );
    names_fields(
        call!(
            s,
            head,
            list_review_assignments,
            ListReviewAssignmentsRequest {
                cycle_id: cycle.id.clone(),
                page_token: "zz".into(),
                ..Default::default()
            }
        ),
        &["page_token"],
    );
    assign(&cycle.id, &o.zhang.id, &head.id).await.unwrap();
    let cycle = s.advance_cycle(&head, &cycle).await;

    let submit = |req: SubmitScoreRequest| {
        let mut c = s.c();
        let req = head.req(req);
        async move { c.submit_score(req).await }
    };
    let good = SubmitScoreRequest {
        cycle_id: cycle.id.clone(),
        subject_id: o.zhang.id.clone(),
        indicator_code: "quality".into(),
        value: 80.0,
        comment: "认真负责".into(),
    };
    names_fields(
        submit(SubmitScoreRequest {
            cycle_id: "x".into(),
            subject_id: String::new(),
            indicator_code: String::new(),
            value: f64::NAN,
            comment: String::new(),
        })
        .await,
        &[
            "cycle_id",
            "subject_id",
            "indicator_code",
            "value",
            "comment",
        ],
    );
    names_fields(
        submit(SubmitScoreRequest {
            comment: "长".repeat(5001),
            ..good.clone()
        })
        .await,
        &["comment"],
    );
    names_fields(
        submit(SubmitScoreRequest {
            indicator_code: "nope".into(),
            ..good.clone()
        })
        .await,
        &["indicator_code"],
    );
    // Automatic indicators are collected, not scored.
    names_fields(
        submit(SubmitScoreRequest {
            indicator_code: "reads".into(),
            ..good.clone()
        })
        .await,
        &["indicator_code"],
    );
    names_fields(
        submit(SubmitScoreRequest {
            value: 100.5,
            ..good.clone()
        })
        .await,
        &["value"],
    );
    names_fields(
        submit(SubmitScoreRequest {
            value: -1.0,
            ..good.clone()
        })
        .await,
        &["value"],
    );
    // A raw value for a linear manual indicator may exceed 100.
    submit(SubmitScoreRequest {
        indicator_code: "efficiency".into(),
        value: 250.0,
        ..good.clone()
    })
    .await
    .unwrap();
    fails(
        submit(SubmitScoreRequest {
            subject_id: o.qian.id.clone(),
            ..good.clone()
        })
        .await,
        Code::NotFound,
    );
    let selfa = |req: SubmitSelfAssessmentRequest| {
        let mut c = s.c();
        let req = o.zhang.req(req);
        async move { c.submit_self_assessment(req).await }
    };
    names_fields(
        selfa(SubmitSelfAssessmentRequest {
            cycle_id: String::new(),
            subject_id: "x".into(),
            indicator_code: String::new(),
            value: f64::INFINITY,
            comment: "\u{0}".into(),
        })
        .await,
        &[
            "cycle_id",
            "subject_id",
            "indicator_code",
            "value",
            "comment",
        ],
    );
    names_fields(
        selfa(SubmitSelfAssessmentRequest {
            cycle_id: cycle.id.clone(),
            subject_id: o.zhang.id.clone(),
            indicator_code: "quality".into(),
            value: 120.0,
            comment: String::new(),
        })
        .await,
        &["value"],
    );
    names_fields(
        call!(
            s,
            head,
            list_scores,
            ListScoresRequest {
                cycle_id: "1".into(),
                subject_id: "2".into(),
                reviewer_id: "3".into(),
                page_size: -1,
                page_token: String::new(),
            }
        ),
        &["cycle_id", "subject_id", "reviewer_id", "page_size"],
    );
    names_fields(
        call!(
            s,
            head,
            list_scores,
            ListScoresRequest {
                cycle_id: cycle.id.clone(),
                page_token: "@@".into(),
                ..Default::default()
            }
        ),
        &["page_token"],
    );
    names_fields(
        call!(
            s,
            head,
            collect_automatic_scores,
            CollectAutomaticScoresRequest {
                cycle_id: "c".into(),
            }
        ),
        &["cycle_id"],
    );
    fails(
        call!(
            s,
            head,
            collect_automatic_scores,
            CollectAutomaticScoresRequest {
                cycle_id: NOBODY.into(),
            }
        ),
        Code::NotFound,
    );
    // Only the valid score was stored.
    let stored = call!(
        s,
        o.admin,
        list_scores,
        ListScoresRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }
    )
    .unwrap()
    .into_inner()
    .scores;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].value, 250.0);
}

async fn results_and_recognition_name_each_bad_field(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let head = o.office_head.clone();
    let set = s.create_set("指标", staff_indicators()).await;
    let cycle = s
        .create_cycle(&head, person_cycle(&set, "", &[&o.zhang]))
        .await;
    let cycle = s.advance_cycle(&head, &cycle).await;
    let cycle = s.advance_cycle(&head, &cycle).await;
    let calibrate = |req: CalibrateScoreRequest| {
        let mut c = s.c();
        let req = head.req(req);
        async move { c.calibrate_score(req).await }
    };
    let good = CalibrateScoreRequest {
        cycle_id: cycle.id.clone(),
        subject_id: o.zhang.id.clone(),
        indicator_code: "quality".into(),
        score: 80.0,
        reason: "按年度工作总结评定".into(),
    };
    names_fields(
        calibrate(CalibrateScoreRequest {
            cycle_id: String::new(),
            subject_id: "x".into(),
            indicator_code: String::new(),
            score: f64::NAN,
            reason: String::new(),
        })
        .await,
        &[
            "cycle_id",
            "subject_id",
            "indicator_code",
            "score",
            "reason",
        ],
    );
    names_fields(
        calibrate(CalibrateScoreRequest {
            score: -0.5,
            ..good.clone()
        })
        .await,
        &["score"],
    );
    names_fields(
        calibrate(CalibrateScoreRequest {
            indicator_code: "teamwork".into(),
            ..good.clone()
        })
        .await,
        &["indicator_code"],
    );
    fails(
        calibrate(CalibrateScoreRequest {
            subject_id: o.li.id.clone(),
            ..good.clone()
        })
        .await,
        Code::NotFound,
    );
    names_fields(
        call!(
            s,
            head,
            list_calibrations,
            ListCalibrationsRequest {
                cycle_id: "c".into(),
                subject_id: "s".into(),
                page_size: -1,
                page_token: String::new(),
            }
        ),
        &["cycle_id", "subject_id", "page_size"],
    );
    names_fields(
        call!(
            s,
            head,
            get_scorecard,
            GetScorecardRequest {
                cycle_id: String::new(),
                subject_id: "s".into(),
            }
        ),
        &["cycle_id", "subject_id"],
    );
    fails(
        call!(
            s,
            head,
            get_scorecard,
            GetScorecardRequest {
                cycle_id: cycle.id.clone(),
                subject_id: NOBODY.into(),
            }
        ),
        Code::NotFound,
    );
    names_fields(
        call!(
            s,
            head,
            list_scorecards,
            ListScorecardsRequest {
                cycle_id: "c".into(),
                page_size: -2,
                page_token: String::new(),
            }
        ),
        &["cycle_id", "page_size"],
    );
    names_fields(
        call!(
            s,
            head,
            list_scorecards,
            ListScorecardsRequest {
                cycle_id: cycle.id.clone(),
                page_size: 0,
                page_token: "nope".into(),
            }
        ),
        &["page_token"],
    );
    names_fields(
        call!(
            s,
            head,
            list_rankings,
            ListRankingsRequest {
                cycle_id: String::new(),
                page_size: -2,
                page_token: String::new(),
            }
        ),
        &["cycle_id", "page_size"],
    );
    names_fields(
        call!(
            s,
            head,
            list_rankings,
            ListRankingsRequest {
                cycle_id: cycle.id.clone(),
                page_size: 0,
                page_token: "nope".into(),
            }
        ),
        &["page_token"],
    );

    let set_feedback = |f: Option<AppraisalFeedback>| {
        let mut c = s.c();
        let req = head.req(SetAppraisalFeedbackRequest { feedback: f });
        async move { c.set_appraisal_feedback(req).await }
    };
    let fb = AppraisalFeedback {
        cycle_id: cycle.id.clone(),
        subject_id: o.zhang.id.clone(),
        strengths: "细致".into(),
        ..Default::default()
    };
    names_fields(set_feedback(None).await, &["feedback"]);
    names_fields(
        set_feedback(Some(AppraisalFeedback {
            cycle_id: "x".into(),
            subject_id: String::new(),
            ..fb.clone()
        }))
        .await,
        &["feedback.cycle_id", "feedback.subject_id"],
    );
    names_fields(
        set_feedback(Some(AppraisalFeedback {
            strengths: String::new(),
            ..fb.clone()
        }))
        .await,
        &["feedback"],
    );
    names_fields(
        set_feedback(Some(AppraisalFeedback {
            strengths: "长".repeat(10_001),
            improvements: "\u{1b}[31m".into(),
            agreed_actions: vec!["报名培训".into(), " ".into()],
            etag: "v1".into(),
            ..fb.clone()
        }))
        .await,
        &[
            "feedback.strengths",
            "feedback.improvements",
            "feedback.agreed_actions[1]",
            "feedback.etag",
        ],
    );
    names_fields(
        set_feedback(Some(AppraisalFeedback {
            agreed_actions: vec!["a".into(); 51],
            ..fb.clone()
        }))
        .await,
        &["feedback.agreed_actions"],
    );
    names_fields(
        call!(
            s,
            head,
            get_appraisal_feedback,
            GetAppraisalFeedbackRequest {
                cycle_id: "c".into(),
                subject_id: String::new(),
            }
        ),
        &["cycle_id", "subject_id"],
    );
    fails(
        call!(
            s,
            head,
            get_appraisal_feedback,
            GetAppraisalFeedbackRequest {
                cycle_id: cycle.id.clone(),
                subject_id: o.zhang.id.clone(),
            }
        ),
        Code::NotFound,
    );
    names_fields(
        call!(
            s,
            o.zhang,
            acknowledge_appraisal_feedback,
            AcknowledgeAppraisalFeedbackRequest {
                cycle_id: String::new(),
                subject_id: "s".into(),
                response: "x".repeat(5001),
                etag: "e".into(),
            }
        ),
        &["cycle_id", "subject_id", "response", "etag"],
    );

    let commend = |req: CreateCommendationRequest| {
        let mut c = s.c();
        let req = head.req(req);
        async move { c.create_commendation(req).await }
    };
    let good = CreateCommendationRequest {
        request_id: String::new(),
        subject_kind: SubjectKind::Person as i32,
        subject_id: o.zhang.id.clone(),
        cycle_id: String::new(),
        title: "服务之星".into(),
        citation: String::new(),
    };
    names_fields(
        commend(CreateCommendationRequest {
            request_id: "r".repeat(129),
            subject_kind: 0,
            subject_id: "z".into(),
            cycle_id: "c".into(),
            title: String::new(),
            citation: "c".repeat(5001),
        })
        .await,
        &[
            "request_id",
            "subject_kind",
            "subject_id",
            "cycle_id",
            "title",
            "citation",
        ],
    );
    names_fields(
        commend(CreateCommendationRequest {
            subject_id: NOBODY.into(),
            ..good.clone()
        })
        .await,
        &["subject_id"],
    );
    names_fields(
        commend(CreateCommendationRequest {
            subject_kind: SubjectKind::Department as i32,
            subject_id: NOBODY.into(),
            ..good.clone()
        })
        .await,
        &["subject_id"],
    );
    names_fields(
        commend(CreateCommendationRequest {
            cycle_id: NOBODY.into(),
            ..good.clone()
        })
        .await,
        &["cycle_id"],
    );
    names_fields(
        commend(CreateCommendationRequest {
            subject_id: o.li.id.clone(),
            cycle_id: cycle.id.clone(),
            ..good.clone()
        })
        .await,
        &["cycle_id"],
    );
    // The cycle is not published yet.
    fails(
        commend(CreateCommendationRequest {
            cycle_id: cycle.id.clone(),
            ..good.clone()
        })
        .await,
        Code::FailedPrecondition,
    );
    names_fields(
        call!(
            s,
            head,
            get_commendation,
            GetCommendationRequest { id: "1".into() }
        ),
        &["id"],
    );
    fails(
        call!(
            s,
            head,
            get_commendation,
            GetCommendationRequest { id: NOBODY.into() }
        ),
        Code::NotFound,
    );
    names_fields(
        call!(
            s,
            head,
            list_commendations,
            ListCommendationsRequest {
                subject_id: "s".into(),
                department_id: "d".into(),
                cycle_id: "c".into(),
                page_size: -1,
                page_token: String::new(),
            }
        ),
        &["subject_id", "department_id", "cycle_id", "page_size"],
    );
    names_fields(
        call!(
            s,
            o.auditor,
            list_audit_entries,
            ListAuditEntriesRequest {
                page_size: -1,
                ..Default::default()
            }
        ),
        &["page_size"],
    );
    names_fields(
        call!(
            s,
            o.auditor,
            list_audit_entries,
            ListAuditEntriesRequest {
                page_token: "x".into(),
                ..Default::default()
            }
        ),
        &["page_token"],
    );
    // None of it was written.
    let written = call!(
        s,
        head,
        list_commendations,
        ListCommendationsRequest::default()
    )
    .unwrap()
    .into_inner();
    assert!(written.commendations.is_empty());
    let calibrations = call!(
        s,
        head,
        list_calibrations,
        ListCalibrationsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        }
    )
    .unwrap()
    .into_inner();
    assert!(calibrations.calibrations.is_empty());
}

concord_kit::backend_tests!(
    indicator_sets_name_each_bad_field,
    cycles_name_each_bad_field,
    reviews_and_scores_name_each_bad_field,
    results_and_recognition_name_each_bad_field,
);

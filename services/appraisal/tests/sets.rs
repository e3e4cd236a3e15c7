//! Indicator sets: versions made by revision, cycles pinning the version
//! they started with, and creates retried with the same request id.

mod common;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::appraisal::v1::*;
use tonic::Code;

fn codes(set: &IndicatorSet) -> Vec<(&str, i32)> {
    set.indicators
        .iter()
        .map(|i| (i.code.as_str(), i.weight))
        .collect()
}

fn card_codes(card: &Scorecard) -> Vec<(String, i32)> {
    card.lines
        .iter()
        .map(|l| {
            let i = l.indicator.as_ref().unwrap();
            (i.code.clone(), i.weight)
        })
        .collect()
}

/// The revised content: quality 60, attitude 20 and a custom 团队协作 20;
/// efficiency is gone.
fn revised() -> Vec<Indicator> {
    vec![
        manual("quality", "工作质量", Dimension::Quality, 60),
        manual("attitude", "服务态度", Dimension::Attitude, 20),
        Indicator {
            custom_dimension: "协作".into(),
            ..manual("teamwork", "团队协作 Teamwork", Dimension::Custom, 20)
        },
    ]
}

async fn sets_are_versioned_and_cycles_pin_the_version_they_started_with(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let v1 = s
        .create_set("2026 年度个人考核指标", staff_indicators())
        .await;
    assert_eq!((v1.version, v1.current_version), (1, 1));
    assert_eq!(
        codes(&v1),
        [("quality", 50), ("efficiency", 30), ("attitude", 20)]
    );
    assert_eq!(v1.indicators[0].unit, "points");
    assert_eq!(v1.created_by, o.admin.id);
    let before = s
        .create_cycle(&o.office_head, person_cycle(&v1, "", &[&o.zhang]))
        .await;
    assert_eq!(before.indicator_set_version, 1);

    let revise = |etag: &str| {
        let mut c = s.c();
        let req = o.admin.req(ReviseIndicatorSetRequest {
            id: v1.id.clone(),
            etag: etag.into(),
            name: "2027 年度个人考核指标".into(),
            description: "加入团队协作".into(),
            indicators: revised(),
            change_note: "2027 起考核团队协作 teamwork counts from 2027".into(),
        });
        async move { c.revise_indicator_set(req).await }
    };
    let v2 = revise(&v1.etag).await.unwrap().into_inner();
    assert_eq!((v2.version, v2.current_version), (2, 2));
    assert_eq!(v2.name, "2027 年度个人考核指标");
    assert_eq!(
        codes(&v2),
        [("quality", 60), ("attitude", 20), ("teamwork", 20)]
    );
    assert_eq!(v2.indicators[2].custom_dimension, "协作");
    assert_ne!(v2.etag, v1.etag);
    // A revision made against the old version is refused.
    fails(revise(&v1.etag).await, Code::Aborted);

    // Version 1 stays as it was; the current one is version 2.
    let get = |version: i64| {
        let mut c = s.c();
        let req = o.zhang.req(GetIndicatorSetRequest {
            id: v1.id.clone(),
            version,
        });
        async move { c.get_indicator_set(req).await }
    };
    let old = get(1).await.unwrap().into_inner();
    assert_eq!(old.name, "2026 年度个人考核指标");
    assert_eq!(codes(&old), codes(&v1));
    assert_eq!((old.version, old.current_version), (1, 2));
    assert_eq!(get(0).await.unwrap().into_inner().version, 2);
    fails(get(3).await, Code::NotFound);
    let mut token = String::new();
    let mut versions = Vec::new();
    loop {
        let page = s
            .c()
            .list_indicator_set_versions(o.qian.req(ListIndicatorSetVersionsRequest {
                id: v1.id.clone(),
                page_size: 1,
                page_token: token.clone(),
            }))
            .await
            .unwrap()
            .into_inner();
        versions.extend(
            page.versions
                .iter()
                .map(|v| (v.version, v.change_note.clone())),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        versions,
        [
            (
                2,
                "2027 起考核团队协作 teamwork counts from 2027".to_string()
            ),
            (1, String::new())
        ]
    );
    let other = s
        .create_set(
            "Attendance",
            vec![manual("attendance", "出勤", Dimension::Attitude, 100)],
        )
        .await;
    let listed = s
        .c()
        .list_indicator_sets(o.qian.req(ListIndicatorSetsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .indicator_sets;
    let names: Vec<(&str, i64)> = listed
        .iter()
        .map(|l| (l.name.as_str(), l.version))
        .collect();
    assert_eq!(names, [("2027 年度个人考核指标", 2), ("Attendance", 1)]);
    assert_eq!(listed[1].id, other.id);

    // A cycle created now pins version 2; the earlier one keeps version 1.
    let after = s
        .create_cycle(&o.office_head, person_cycle(&v1, "", &[&o.zhang]))
        .await;
    assert_eq!(after.indicator_set_version, 2);
    for c in [&before, &after] {
        s.assign(&o.office_head, &c.id, &o.zhang.id, &o.office_head)
            .await;
    }
    let before = s.advance_cycle(&o.office_head, &before).await;
    let after = s.advance_cycle(&o.office_head, &after).await;
    s.score(&o.office_head, &before.id, &o.zhang.id, "efficiency", 10.0)
        .await;
    let gone = s
        .c()
        .submit_score(o.office_head.req(SubmitScoreRequest {
            cycle_id: after.id.clone(),
            subject_id: o.zhang.id.clone(),
            indicator_code: "efficiency".into(),
            value: 10.0,
            comment: "不再考核".into(),
        }))
        .await;
    names_fields(gone, &["indicator_code"]);
    s.score(&o.office_head, &after.id, &o.zhang.id, "teamwork", 70.0)
        .await;
    let old_card = s
        .scorecard(&o.office_head, &before.id, &o.zhang.id)
        .await
        .unwrap();
    assert_eq!(old_card.indicator_set_version, 1);
    assert_eq!(
        card_codes(&old_card),
        [
            ("quality".into(), 50),
            ("efficiency".into(), 30),
            ("attitude".into(), 20)
        ]
    );
    // Only efficiency is scored: 10 of 20 tasks.
    assert_eq!(old_card.total, 50.0);
    let new_card = s
        .scorecard(&o.office_head, &after.id, &o.zhang.id)
        .await
        .unwrap();
    assert_eq!(new_card.indicator_set_version, 2);
    assert_eq!(
        card_codes(&new_card),
        [
            ("quality".into(), 60),
            ("attitude".into(), 20),
            ("teamwork".into(), 20)
        ]
    );
    assert_eq!(new_card.dimensions[2].custom_dimension, "协作");
    assert_eq!(new_card.total, 70.0);
}

async fn retried_creates_create_nothing_new(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let set_req = CreateIndicatorSetRequest {
        request_id: "set-2026".into(),
        name: "2026 指标".into(),
        indicators: staff_indicators(),
        ..Default::default()
    };
    let first = s
        .c()
        .create_indicator_set(o.admin.req(set_req.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = s
        .c()
        .create_indicator_set(o.admin.req(set_req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    let sets = s
        .c()
        .list_indicator_sets(o.admin.req(ListIndicatorSetsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .indicator_sets;
    assert_eq!(sets.len(), 1);

    let mut cycle_req = person_cycle(&first, "", &[&o.zhang, &o.li]);
    cycle_req.request_id = "cycle-2026-q4".into();
    let c1 = s.create_cycle(&o.office_head, cycle_req.clone()).await;
    let c2 = s.create_cycle(&o.office_head, cycle_req.clone()).await;
    assert_eq!(c1, c2);
    // The id is the caller's: another caller creates their own.
    let c3 = s.create_cycle(&o.hq_head, cycle_req).await;
    assert_ne!(c3.id, c1.id);
    let cycles = s
        .c()
        .list_cycles(o.admin.req(ListCyclesRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .cycles;
    assert_eq!(cycles.len(), 2);

    let commend = CreateCommendationRequest {
        request_id: "commend-li".into(),
        subject_kind: SubjectKind::Person as i32,
        subject_id: o.li.id.clone(),
        title: "季度服务之星".into(),
        ..Default::default()
    };
    let k1 = s
        .c()
        .create_commendation(o.office_head.req(commend.clone()))
        .await
        .unwrap()
        .into_inner();
    let k2 = s
        .c()
        .create_commendation(o.office_head.req(commend))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(k1, k2);
    let got = s
        .c()
        .get_commendation(o.zhao.req(GetCommendationRequest { id: k1.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, k1);
    let all = s
        .c()
        .list_commendations(o.zhao.req(ListCommendationsRequest {
            subject_id: o.li.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .commendations;
    assert_eq!(all.len(), 1);
}

concord_kit::backend_tests!(
    sets_are_versioned_and_cycles_pin_the_version_they_started_with,
    retried_creates_create_nothing_new,
);

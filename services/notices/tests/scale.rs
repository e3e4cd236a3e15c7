//! Publishing to a department subtree of more than 1,000 people: one receipt
//! each, in one transaction, and statistics that add up.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use concord_kit::testing::Backend;
use concord_proto::notices::v1::*;
use concord_proto::policy::v1::Role;
use futures::StreamExt;

const SECTIONS: usize = 10;
const PER_SECTION: usize = 100;

async fn a_notice_reaches_every_one_of_a_thousand_people(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    // 10 sections of 100 people below 办公室 (which already has 3 people).
    let started = Instant::now();
    let mut sections = Vec::new();
    for i in 0..SECTIONS {
        sections.push(
            department(
                &s.directory,
                &o.admin.token,
                &format!("第{}科 Section {i}", i + 1),
                &o.office,
            )
            .await,
        );
    }
    let specs: Vec<(String, String)> = sections
        .iter()
        .flat_map(|d| (0..PER_SECTION).map(move |j| (d.clone(), format!("职员{j:03} Staff {j}"))))
        .collect();
    let staff: Vec<Who> = futures::stream::iter(specs)
        .map(|(d, name)| {
            let dir = s.directory.clone();
            let admin = o.admin.token.clone();
            async move { person(&dir, &admin, &name, &d, Role::Member).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    eprintln!("created {} people in {:?}", staff.len(), started.elapsed());

    let started = Instant::now();
    let n = s
        .publish(
            &o.office_head,
            "全体职员体检安排",
            departments(&[&o.office], true),
        )
        .await;
    eprintln!(
        "published to {} recipients in {:?}",
        n.recipient_count,
        started.elapsed()
    );
    let expected: BTreeSet<String> = staff
        .iter()
        .map(|w| w.id.clone())
        .chain([
            o.office_head.id.clone(),
            o.office_member.id.clone(),
            o.records_member.id.clone(),
        ])
        .collect();
    assert_eq!(n.recipient_count, expected.len() as i64);
    assert_eq!(expected.len(), 1_003);

    // Every receipt, each person once, through the paged list.
    let mut seen = BTreeSet::new();
    let mut token_ = String::new();
    loop {
        let page = s
            .n()
            .list_receipts(o.office_head.req(ListReceiptsRequest {
                notice_id: n.id.clone(),
                page_size: 500,
                page_token: token_.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        for r in &page.receipts {
            assert!(seen.insert(r.person_id.clone()), "{} twice", r.person_id);
            assert!(r.read_time.is_none());
            assert_eq!(r.delivered_time, n.published_time);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token_ = page.next_page_token;
    }
    assert_eq!(seen, expected);

    // 300 read after a minute, 100 after ten minutes.
    let read = |who: &Who| {
        let c = s.n();
        let req = who.req(MarkNoticeReadRequest {
            notice_id: n.id.clone(),
        });
        async move {
            c.clone().mark_notice_read(req).await.unwrap();
        }
    };
    s.advance(Duration::from_secs(60));
    futures::stream::iter(staff[..300].iter())
        .for_each_concurrent(16, read)
        .await;
    s.advance(Duration::from_secs(540));
    futures::stream::iter(staff[300..400].iter())
        .for_each_concurrent(16, read)
        .await;

    let summary = s
        .n()
        .get_receipt_summary(o.admin.req(GetReceiptSummaryRequest {
            notice_id: n.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (summary.recipients, summary.read, summary.acknowledged),
        (1_003, 400, 0)
    );
    let unread = s
        .n()
        .list_receipts(o.office_head.req(ListReceiptsRequest {
            notice_id: n.id.clone(),
            filter: ReceiptFilter::Unread as i32,
            page_size: 500,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unread.receipts.len(), 500);
    assert!(
        !unread.next_page_token.is_empty(),
        "603 unread: a second page follows"
    );

    // Statistics for the subtree, by its head.
    let period = (Some(ts(t0() - 86_400_000)), Some(ts(t0() + 86_400_000)));
    let stats = s
        .n()
        .get_notice_statistics(o.office_head.req(GetNoticeStatisticsRequest {
            department_id: o.office.clone(),
            include_sub_departments: true,
            start_time: period.0,
            end_time: period.1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let total = stats.total.unwrap();
    assert_eq!((total.notices_received, total.read), (1_003, 400));
    assert!((total.read_rate - 400.0 / 1_003.0).abs() < 1e-9);
    assert_eq!(
        total.median_time_to_read,
        Some(prost_types::Duration {
            seconds: 60,
            nanos: 0
        })
    );
    assert_eq!(stats.notices_published, 1);
    assert_eq!(
        stats.departments.len(),
        SECTIONS + 2,
        "ten sections, 办公室 and 文书科"
    );
    for row in &stats.departments {
        let f = row.figures.as_ref().unwrap();
        if sections.contains(&row.department_id) {
            assert_eq!(f.notices_received, PER_SECTION as i64);
        }
    }
    let read_total: i64 = stats
        .departments
        .iter()
        .map(|d| d.figures.as_ref().unwrap().read)
        .sum();
    assert_eq!(read_total, 400);

    // One reader, as appraisal would ask (service identity).
    let one = &staff[350];
    let mine = s
        .n()
        .get_notice_statistics(o.service.req(GetNoticeStatisticsRequest {
            person_id: one.id.clone(),
            start_time: period.0,
            end_time: period.1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap();
    assert_eq!((mine.notices_received, mine.read), (1, 1));
    assert_eq!(
        mine.median_time_to_read,
        Some(prost_types::Duration {
            seconds: 600,
            nanos: 0
        })
    );

    // Remind the 603 who have not read it: exactly them.
    let started = Instant::now();
    let out = s
        .n()
        .remind_unread(o.office_head.req(RemindUnreadRequest {
            request_id: "all-unread".into(),
            notice_id: n.id.clone(),
            target: 0,
        }))
        .await
        .unwrap()
        .into_inner();
    eprintln!(
        "reminded {} people in {:?}",
        out.reminded,
        started.elapsed()
    );
    assert_eq!(out.reminded, 603);
    assert_eq!(
        s.inbox(&staff[999], false).await.inbox_sequence,
        2,
        "the notice, then the reminder"
    );
    assert_eq!(
        s.inbox(&staff[0], false).await.inbox_sequence,
        1,
        "readers are not reminded"
    );
}

concord_kit::backend_tests!(a_notice_reaches_every_one_of_a_thousand_people);

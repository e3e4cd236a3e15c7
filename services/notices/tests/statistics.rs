//! Reading statistics per department, person and period (retracted notices
//! left out), and the metrics they are charted from.

mod common;

use std::time::Duration;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::notices::v1::*;

fn secs(s: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: s,
        nanos: 0,
    })
}

async fn statistics_count_receipts_reads_and_acknowledgements(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let logistics = departments(&[&o.logistics], false);
    let n1 = s
        .publish(&o.logistics_head, "仓库安全检查", logistics.clone())
        .await;
    let n2 = {
        let req = CreateNoticeRequest {
            title: "紧急：暴雨预警 Rainstorm warning".into(),
            audience: Some(logistics.clone()),
            priority: Priority::Urgent as i32,
            ..Default::default()
        };
        let d = s
            .n()
            .create_notice(o.logistics_head.req(req))
            .await
            .unwrap()
            .into_inner();
        s.n()
            .publish_notice(o.logistics_head.req(PublishNoticeRequest {
                id: d.id,
                etag: String::new(),
            }))
            .await
            .unwrap()
            .into_inner()
    };
    assert!(n2.acknowledgement_required);
    let n3 = s
        .publish(&o.admin, "办公用品申领", departments(&[&o.office], true))
        .await;
    let n4 = s
        .publish(&o.logistics_head, "发错的通知", logistics.clone())
        .await;
    let read = |who: &Who, id: &str| {
        let c = s.n();
        let req = who.req(MarkNoticeReadRequest {
            notice_id: id.into(),
        });
        async move { c.clone().mark_notice_read(req).await.unwrap() }
    };
    s.advance(Duration::from_secs(10));
    read(&o.logistics_member, &n4.id).await;
    s.n()
        .retract_notice(o.logistics_head.req(RetractNoticeRequest {
            id: n4.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    s.advance(Duration::from_secs(50));
    read(&o.records_member, &n3.id).await;
    s.advance(Duration::from_secs(60));
    read(&o.logistics_member, &n1.id).await;
    s.advance(Duration::from_secs(120));
    read(&o.coordinator, &n1.id).await;
    s.advance(Duration::from_secs(60));
    s.n()
        .acknowledge_notice(o.logistics_member.req(AcknowledgeNoticeRequest {
            notice_id: n2.id.clone(),
        }))
        .await
        .unwrap();

    let ask = |who: &Who, department: &str, subs: bool, person: &str, from: i64, to: i64| {
        let c = s.n();
        let req = who.req(GetNoticeStatisticsRequest {
            department_id: department.into(),
            include_sub_departments: subs,
            person_id: person.into(),
            start_time: Some(ts(from)),
            end_time: Some(ts(to)),
        });
        async move {
            c.clone()
                .get_notice_statistics(req)
                .await
                .unwrap()
                .into_inner()
        }
    };
    let (from, to) = (t0() - 86_400_000, t0() + 86_400_000);

    // 后勤处: N1 and N2 to three people each; N4 was retracted.
    let st = ask(&o.logistics_head, &o.logistics, false, "", from, to).await;
    let t = st.total.unwrap();
    assert_eq!(
        (
            t.notices_received,
            t.read,
            t.acknowledgement_required,
            t.acknowledged
        ),
        (6, 3, 3, 1)
    );
    assert!((t.read_rate - 0.5).abs() < 1e-9);
    assert!((t.acknowledgement_rate - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        t.median_time_to_read,
        secs(240),
        "reads after 120 s, 240 s and 300 s"
    );
    assert_eq!(st.notices_published, 2);

    // The whole organisation, per department.
    let st = ask(&o.auditor, "", false, "", from, to).await;
    let t = st.total.unwrap();
    assert_eq!((t.notices_received, t.read), (9, 4));
    assert_eq!(t.median_time_to_read, secs(120));
    assert_eq!(st.notices_published, 3);
    let row = |d: &str| {
        st.departments
            .iter()
            .find(|r| r.department_id == d)
            .unwrap()
            .figures
            .unwrap()
    };
    assert_eq!(
        (
            row(&o.office).notices_received,
            row(&o.office).read,
            row(&o.office).median_time_to_read
        ),
        (2, 0, None)
    );
    assert_eq!(
        (
            row(&o.records).notices_received,
            row(&o.records).median_time_to_read
        ),
        (1, secs(60))
    );
    assert_eq!(st.departments.len(), 3);

    // 办公室 with and without 文书科.
    let with = ask(&o.office_head, &o.office, true, "", from, to)
        .await
        .total
        .unwrap();
    let without = ask(&o.office_head, &o.office, false, "", from, to)
        .await
        .total
        .unwrap();
    assert_eq!((with.notices_received, without.notices_received), (3, 2));

    // One person, as appraisal asks.
    let me = ask(&o.service, "", false, &o.logistics_member.id, from, to)
        .await
        .total
        .unwrap();
    assert_eq!(
        (
            me.notices_received,
            me.read,
            me.acknowledgement_required,
            me.acknowledged
        ),
        (2, 2, 1, 1)
    );
    assert!((me.acknowledgement_rate - 1.0).abs() < 1e-9);

    // A period before anything was published.
    let empty = ask(&o.admin, "", false, "", from - 86_400_000, from).await;
    let t = empty.total.unwrap();
    assert_eq!(
        (t.notices_received, t.read_rate, t.median_time_to_read),
        (0, 0.0, None)
    );
    assert!(empty.departments.is_empty());

    // The metrics chart the same: receipts entering each state per department.
    let text = concord_kit::metrics::render();
    let line = |state: &str| {
        format!(
            "concord_notices_receipts_total{{department_id=\"{}\",state=\"{state}\"}}",
            o.logistics
        )
    };
    let value = |state: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&line(state)))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("{} missing in\n{text}", line(state)))
    };
    assert_eq!(value("delivered"), 9.0, "N1, N2 and the retracted N4");
    assert_eq!(value("read"), 4.0);
    assert_eq!(value("acknowledged"), 1.0);
    assert!(text.contains("concord_notices_published_total{priority=\"urgent\"}"));
    assert!(text.contains("concord_notices_time_to_read_seconds_bucket"));
    assert!(text.contains("concord_notices_reminders_total"));
}

concord_kit::backend_tests!(statistics_count_receipts_reads_and_acknowledgements);

//! Scheduled publishing survives a restart and fires once, also with two
//! replicas running their due workers over the same database.

mod common;

use std::time::Duration;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use concord_proto::notices::v1::*;
use tonic::Code;

async fn a_scheduled_notice_is_published_once_after_a_restart(backend: Backend) {
    let mut s = Suite::start(backend).await;
    let o = s.org.clone();
    let at = t0() + 3_600_000;
    let req = CreateNoticeRequest {
        title: "元旦放假安排 New Year holiday".into(),
        body: "1月1日至3日放假。".into(),
        audience: Some(departments(&[&o.hq], true)),
        publish_time: Some(ts(at)),
        ..Default::default()
    };
    let d = s
        .n()
        .create_notice(o.admin.req(req))
        .await
        .unwrap()
        .into_inner();
    let n = s
        .n()
        .publish_notice(o.admin.req(PublishNoticeRequest {
            id: d.id.clone(),
            etag: d.etag,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(n.state, NoticeState::Scheduled as i32);
    assert!(
        s.inbox(&o.records_member, false).await.items.is_empty(),
        "not before its time"
    );
    // A scheduled notice cannot be edited any more.
    let err = s
        .n()
        .update_notice(o.admin.req(UpdateNoticeRequest {
            notice: Some(n.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // The service restarts; the deadline is in the database, not in memory.
    s.restart().await;
    // A second replica runs its own due worker over the same data.
    let (replica, replica_stop) = start_notices(
        s.notices_db.location.clone(),
        s.clock.clone(),
        s.bus.clone(),
        &s.directory_server.url(),
    )
    .await;
    s.advance(Duration::from_secs(30 * 60));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        s.notice(&o.admin, &n.id).await.state,
        NoticeState::Scheduled as i32,
        "half an hour early"
    );
    s.advance(Duration::from_secs(30 * 60));
    let p = s
        .wait_for(&n.id, |n| n.state == NoticeState::Published as i32)
        .await;
    assert_eq!(p.recipient_count, 6, "everybody in the organisation's tree");
    assert_eq!(p.published_time, Some(ts(at)));

    // Later ticks and another restart do nothing more.
    s.advance(Duration::from_secs(3_600));
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.restart().await;
    s.advance(Duration::from_secs(3_600));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let inbox = s.inbox(&o.records_member, false).await;
    assert_eq!(inbox.items.len(), 1);
    assert_eq!(inbox.inbox_sequence, 1, "one inbox event: published once");
    let other = NoticeServiceClient::new(replica.channel().await);
    let audit = other
        .clone()
        .list_audit_entries(o.admin.req(ListAuditEntriesRequest {
            resource: format!("notices/{}", n.id),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["notice.publish", "notice.schedule", "notice.create"]
    );
    assert_eq!(
        audit.entries[0].actor, o.admin.id,
        "published on behalf of whoever scheduled it"
    );
    let summary = other
        .clone()
        .get_receipt_summary(o.admin.req(GetReceiptSummaryRequest {
            notice_id: n.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.recipients, 6);
    replica_stop.cancel();
    replica.stop().await.unwrap();
}

async fn a_retracted_schedule_never_fires(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let req = CreateNoticeRequest {
        title: "取消的通知".into(),
        audience: Some(departments(&[&o.logistics], false)),
        publish_time: Some(ts(t0() + 60_000)),
        ..Default::default()
    };
    let d = s
        .n()
        .create_notice(o.logistics_head.req(req))
        .await
        .unwrap()
        .into_inner();
    let n = s
        .n()
        .publish_notice(o.logistics_head.req(PublishNoticeRequest {
            id: d.id.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(n.state, NoticeState::Scheduled as i32);
    s.n()
        .retract_notice(o.logistics_head.req(RetractNoticeRequest {
            id: n.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    s.advance(Duration::from_secs(120));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        s.notice(&o.admin, &n.id).await.state,
        NoticeState::Retracted as i32
    );
    assert!(s.inbox(&o.logistics_member, false).await.items.is_empty());
}

async fn a_schedule_that_can_no_longer_be_published_returns_to_draft(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let req = CreateNoticeRequest {
        title: "过期的安排".into(),
        audience: Some(departments(&[&o.logistics], false)),
        publish_time: Some(ts(t0() + 3_600_000)),
        expire_time: Some(ts(t0() + 7_200_000)),
        ..Default::default()
    };
    let d = s
        .n()
        .create_notice(o.logistics_head.req(req))
        .await
        .unwrap()
        .into_inner();
    let n = s
        .n()
        .publish_notice(o.logistics_head.req(PublishNoticeRequest {
            id: d.id.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(n.state, NoticeState::Scheduled as i32);
    // The service was down past both times: the notice would be born expired.
    s.advance(Duration::from_secs(3 * 3_600));
    let back = s
        .wait_for(&n.id, |n| n.state == NoticeState::Draft as i32)
        .await;
    assert_eq!(back.recipient_count, 0);
    assert!(s.inbox(&o.logistics_member, false).await.items.is_empty());
}

concord_kit::backend_tests!(
    a_scheduled_notice_is_published_once_after_a_restart,
    a_retracted_schedule_never_fires,
    a_schedule_that_can_no_longer_be_published_returns_to_draft
);

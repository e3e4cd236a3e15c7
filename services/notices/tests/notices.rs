//! Notices end to end through gRPC: drafts, publishing to an audience,
//! inboxes, receipts and acknowledgement, reminders, retraction, expiry,
//! quiet hours, the inbox stream and the audit trail, on SQLite and on
//! PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::notices::v1::*;
use futures::StreamExt;
use prost_types::FieldMask;
use tonic::Code;

fn ids(items: &[InboxItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| i.notice.as_ref().unwrap().id.clone())
        .collect()
}

async fn publish_read_acknowledge_remind_and_retract(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let mut draft = CreateNoticeRequest {
        request_id: "req-1".into(),
        title: "关于年终安全检查的通知".into(),
        body: "各科室于**12月5日**前完成自查。".into(),
        audience: Some(departments(&[&o.office], true)),
        priority: Priority::Important as i32,
        acknowledgement_required: Some(true),
        attachments: vec![Attachment {
            title: "检查表".into(),
            url: "https://intranet.example/checklist.pdf".into(),
        }],
        ..Default::default()
    };
    let n = s
        .n()
        .create_notice(o.office_head.req(draft.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(n.state, NoticeState::Draft as i32);
    assert_eq!(n.author_department_id, o.office);
    // A retry with the same request id creates nothing new.
    let again = s
        .n()
        .create_notice(o.office_head.req(draft.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, n.id);
    draft.request_id = "req-2".into();

    // Drafts are not in anybody's inbox.
    assert!(s.inbox(&o.office_member, false).await.items.is_empty());
    let p = s
        .n()
        .publish_notice(o.office_head.req(PublishNoticeRequest {
            id: n.id.clone(),
            etag: n.etag.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.state, NoticeState::Published as i32);
    assert_eq!(
        p.recipient_count, 3,
        "the head, the office member and the records member below"
    );
    // Publishing again changes nothing.
    let p2 = s
        .n()
        .publish_notice(o.office_head.req(PublishNoticeRequest {
            id: n.id.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p2.etag, p.etag);

    for who in [&o.office_head, &o.office_member, &o.records_member] {
        let inbox = s.inbox(who, true).await;
        assert_eq!(ids(&inbox.items), std::slice::from_ref(&n.id));
        assert_eq!(inbox.unread_count, 1);
        assert!(inbox.inbox_sequence >= 1);
    }
    assert!(
        s.inbox(&o.logistics_member, false).await.items.is_empty(),
        "logistics is not in the audience"
    );

    // Reading is idempotent and keeps the first read time.
    s.advance(Duration::from_secs(90));
    let r1 = s
        .n()
        .mark_notice_read(o.office_member.req(MarkNoticeReadRequest {
            notice_id: n.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    s.advance(Duration::from_secs(60));
    let r2 = s
        .n()
        .mark_notice_read(o.office_member.req(MarkNoticeReadRequest {
            notice_id: n.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r1.read_time, r2.read_time);
    assert_eq!(r1.read_time, Some(ts(t0() + 90_000)));
    assert!(r2.acknowledge_time.is_none());
    assert_eq!(s.inbox(&o.office_member, false).await.unread_count, 0);
    assert!(s.inbox(&o.office_member, true).await.items.is_empty());

    // Acknowledging also reads.
    let ack = s
        .n()
        .acknowledge_notice(o.records_member.req(AcknowledgeNoticeRequest {
            notice_id: n.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(ack.read_time.is_some() && ack.acknowledge_time.is_some());
    // Not a recipient.
    let err = s
        .n()
        .mark_notice_read(o.logistics_member.req(MarkNoticeReadRequest {
            notice_id: n.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let summary = s
        .n()
        .get_receipt_summary(o.office_head.req(GetReceiptSummaryRequest {
            notice_id: n.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (summary.recipients, summary.read, summary.acknowledged),
        (3, 2, 1)
    );
    assert!(summary.acknowledgement_required);

    let unread = s
        .n()
        .list_receipts(o.office_head.req(ListReceiptsRequest {
            notice_id: n.id.clone(),
            filter: ReceiptFilter::Unread as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        unread
            .receipts
            .iter()
            .map(|r| r.person_id.as_str())
            .collect::<Vec<_>>(),
        [o.office_head.id.as_str()]
    );
    let unacked = s
        .n()
        .list_receipts(o.admin.req(ListReceiptsRequest {
            notice_id: n.id.clone(),
            filter: ReceiptFilter::Unacknowledged as i32,
            page_size: 1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unacked.receipts.len(), 1);
    let rest = s
        .n()
        .list_receipts(o.admin.req(ListReceiptsRequest {
            notice_id: n.id.clone(),
            filter: ReceiptFilter::Unacknowledged as i32,
            page_size: 1,
            page_token: unacked.next_page_token.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.receipts.len(), 1);
    assert!(rest.next_page_token.is_empty());
    assert_ne!(rest.receipts[0].person_id, unacked.receipts[0].person_id);

    // Remind exactly the unread, once per request id.
    let remind = RemindUnreadRequest {
        request_id: "r-1".into(),
        notice_id: n.id.clone(),
        target: ReceiptFilter::Unread as i32,
    };
    let out = s
        .n()
        .remind_unread(o.office_head.req(remind.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.reminded, 1);
    let out2 = s
        .n()
        .remind_unread(o.office_head.req(remind))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out2, out, "a retried reminder reminds nobody again");
    let out = s
        .n()
        .remind_unread(o.office_head.req(RemindUnreadRequest {
            request_id: "r-2".into(),
            notice_id: n.id.clone(),
            target: ReceiptFilter::Unacknowledged as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        out.reminded, 2,
        "the head and the office member have not acknowledged"
    );
    let summary = out.summary.unwrap();
    assert_eq!((summary.reminder_rounds, summary.reminders_sent), (2, 3));
    let head_receipt = s
        .n()
        .list_receipts(o.office_head.req(ListReceiptsRequest {
            notice_id: n.id.clone(),
            filter: ReceiptFilter::Unread as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(head_receipt.receipts[0].reminder_count, 2);

    // Recipients see the notice; others do not.
    assert_eq!(s.notice(&o.records_member, &n.id).await.id, n.id);
    let err = s
        .n()
        .get_notice(
            o.logistics_member
                .req(GetNoticeRequest { id: n.id.clone() }),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Retracting takes it out of the inboxes and tells the recipients.
    let r = s
        .n()
        .retract_notice(o.office_head.req(RetractNoticeRequest {
            id: n.id.clone(),
            etag: String::new(),
            reason: "发错了".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.state, NoticeState::Retracted as i32);
    assert!(s.inbox(&o.records_member, false).await.items.is_empty());
    let err = s
        .n()
        .mark_notice_read(o.office_head.req(MarkNoticeReadRequest {
            notice_id: n.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = s
        .n()
        .remind_unread(o.office_head.req(RemindUnreadRequest {
            request_id: String::new(),
            notice_id: n.id.clone(),
            target: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // Every change is audited.
    let audit = s
        .n()
        .list_audit_entries(o.auditor.req(ListAuditEntriesRequest {
            resource: format!("notices/{}", n.id),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "notice.retract",
            "notice.remind",
            "notice.remind",
            "notice.publish",
            "notice.create"
        ]
    );
    assert!(audit.entries.iter().all(|e| e.actor == o.office_head.id));
}

async fn drafts_change_with_masks_and_etags_and_list(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let n = s
        .draft(
            &o.office_head,
            "Weekly bulletin",
            departments(&[&o.office], false),
        )
        .await;
    assert!(
        !n.acknowledgement_required,
        "the normal rule does not ask for acknowledgement"
    );
    let mut change = n.clone();
    change.title = "每周简报 Weekly bulletin".into();
    change.priority = Priority::Urgent as i32;
    change.acknowledgement_required = true;
    change.audience = Some(departments(&[&o.records], false));
    let mask = FieldMask {
        paths: vec![
            "title".into(),
            "priority".into(),
            "audience".into(),
            "acknowledgement_required".into(),
        ],
    };
    let updated = s
        .n()
        .update_notice(o.office_head.req(UpdateNoticeRequest {
            notice: Some(change.clone()),
            update_mask: Some(mask.clone()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "每周简报 Weekly bulletin");
    assert_eq!(updated.priority, Priority::Urgent as i32);
    assert!(updated.acknowledgement_required);
    assert_eq!(
        updated.audience.as_ref().unwrap().department_ids,
        std::slice::from_ref(&o.records)
    );
    assert_eq!(updated.body, n.body, "fields outside the mask stay");
    assert_ne!(updated.etag, n.etag);
    // The old etag is stale now.
    let err = s
        .n()
        .update_notice(o.office_head.req(UpdateNoticeRequest {
            notice: Some(change),
            update_mask: Some(mask),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    let other = s
        .publish(
            &o.logistics_head,
            "仓库盘点",
            departments(&[&o.logistics], false),
        )
        .await;
    let mine = s
        .n()
        .list_notices(o.office_head.req(ListNoticesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        mine.notices
            .iter()
            .map(|n| n.id.as_str())
            .collect::<Vec<_>>(),
        [n.id.as_str()]
    );
    let all = s
        .n()
        .list_notices(o.auditor.req(ListNoticesRequest {
            page_size: 1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.notices[0].id, other.id, "newest first");
    let next = s
        .n()
        .list_notices(o.auditor.req(ListNoticesRequest {
            page_size: 1,
            page_token: all.next_page_token,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.notices[0].id, n.id);
    let published = s
        .n()
        .list_notices(o.admin.req(ListNoticesRequest {
            state: NoticeState::Published as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(published.notices.len(), 1);
    let by_author = s
        .n()
        .list_notices(o.admin.req(ListNoticesRequest {
            author_id: o.office_head.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_author.notices.len(), 1);
    // Published notices no longer change.
    let mut late = other.clone();
    late.title = "改标题".into();
    let err = s
        .n()
        .update_notice(o.logistics_head.req(UpdateNoticeRequest {
            notice: Some(late),
            update_mask: Some(FieldMask {
                paths: vec!["title".into()],
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

async fn the_inbox_stream_resumes_from_its_cursor(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let first = s
        .publish(&o.admin, "第一条", people(&[&o.logistics_member.id]))
        .await;
    let mut stream = s
        .n()
        .watch_inbox(
            o.logistics_member
                .req(WatchInboxRequest { after_sequence: 0 }),
        )
        .await
        .unwrap()
        .into_inner();
    let e1 = stream.next().await.unwrap().unwrap();
    assert_eq!(
        (e1.sequence, e1.kind, e1.notice.as_ref().unwrap().id.clone()),
        (1, InboxEventKind::Notice as i32, first.id.clone())
    );
    // Live.
    let second = s
        .publish(
            &o.logistics_head,
            "第二条",
            departments(&[&o.logistics], false),
        )
        .await;
    let e2 = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((e2.sequence, e2.notice.unwrap().id), (2, second.id.clone()));
    drop(stream);
    // Missed while away: a reminder and a retraction.
    s.n()
        .remind_unread(o.logistics_head.req(RemindUnreadRequest {
            request_id: String::new(),
            notice_id: second.id.clone(),
            target: 0,
        }))
        .await
        .unwrap();
    s.n()
        .retract_notice(o.admin.req(RetractNoticeRequest {
            id: first.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let mut stream = s
        .n()
        .watch_inbox(
            o.logistics_member
                .req(WatchInboxRequest { after_sequence: 2 }),
        )
        .await
        .unwrap()
        .into_inner();
    let e3 = stream.next().await.unwrap().unwrap();
    let e4 = stream.next().await.unwrap().unwrap();
    assert_eq!((e3.sequence, e3.kind), (3, InboxEventKind::Reminder as i32));
    assert_eq!(
        (e4.sequence, e4.kind, e4.notice.unwrap().id),
        (4, InboxEventKind::Retracted as i32, first.id)
    );
    assert_eq!(s.inbox(&o.logistics_member, false).await.inbox_sequence, 4);
}

async fn quiet_hours_hold_pushes_until_morning_and_urgent_goes_through(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    // 22:30 in Shanghai: outside the normal window (8–20).
    s.clock.set(shanghai(2026, 11, 30, 22) + 30 * 60_000);
    let normal = s
        .publish(&o.admin, "明日停水通知", people(&[&o.office_member.id]))
        .await;
    let urgent = {
        let req = CreateNoticeRequest {
            title: "紧急：消防演练".into(),
            audience: Some(people(&[&o.office_member.id])),
            priority: Priority::Urgent as i32,
            ..Default::default()
        };
        let d = s
            .n()
            .create_notice(o.admin.req(req))
            .await
            .unwrap()
            .into_inner();
        assert!(
            d.acknowledgement_required,
            "urgent notices ask for acknowledgement by default"
        );
        s.n()
            .publish_notice(o.admin.req(PublishNoticeRequest {
                id: d.id,
                etag: String::new(),
            }))
            .await
            .unwrap()
            .into_inner()
    };
    // Both are in the inbox at once; only the urgent one was pushed.
    assert_eq!(s.inbox(&o.office_member, false).await.items.len(), 2);
    let mut stream = s
        .n()
        .watch_inbox(o.office_member.req(WatchInboxRequest { after_sequence: 0 }))
        .await
        .unwrap()
        .into_inner();
    let e = stream.next().await.unwrap().unwrap();
    assert_eq!(e.notice.unwrap().id, urgent.id);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), stream.next())
            .await
            .is_err(),
        "the normal notice waits for morning"
    );
    // 08:00 the next morning the worker pushes it.
    s.clock.set(shanghai(2026, 12, 1, 8));
    let e = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((e.sequence, e.notice.unwrap().id), (2, normal.id.clone()));
    assert!(s.notice(&o.admin, &normal.id).await.state == NoticeState::Published as i32);

    // A reminder at night waits for the morning too.
    s.clock.set(shanghai(2026, 12, 1, 23));
    let out = s
        .n()
        .remind_unread(o.admin.req(RemindUnreadRequest {
            request_id: String::new(),
            notice_id: normal.id.clone(),
            target: 0,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.reminded, 1);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), stream.next())
            .await
            .is_err(),
        "no reminder pushed at night"
    );
    s.clock.set(shanghai(2026, 12, 2, 8));
    let e = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.sequence, e.kind, e.notice.unwrap().id),
        (3, InboxEventKind::Reminder as i32, normal.id.clone())
    );

    // Admins may change the rules; urgent stays always-on.
    let rules = s
        .n()
        .list_communication_rules(o.records_member.req(ListCommunicationRulesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .rules;
    assert_eq!(rules.len(), 3);
    let normal_rule = rules[0].clone();
    assert_eq!(
        (normal_rule.push_start_hour, normal_rule.push_end_hour),
        (8, 20)
    );
    let mut change = normal_rule.clone();
    change.push_start_hour = 7;
    change.acknowledgement_required = true;
    let mask = FieldMask {
        paths: vec!["push_start_hour".into(), "acknowledgement_required".into()],
    };
    let updated = s
        .n()
        .update_communication_rule(o.admin.req(UpdateCommunicationRuleRequest {
            rule: Some(change.clone()),
            update_mask: Some(mask.clone()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            updated.push_start_hour,
            updated.push_end_hour,
            updated.acknowledgement_required
        ),
        (7, 20, true)
    );
    let err = s
        .n()
        .update_communication_rule(o.admin.req(UpdateCommunicationRuleRequest {
            rule: Some(change),
            update_mask: Some(mask),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "stale etag");
    let d = s
        .draft(&o.admin, "新规则下的通知", people(&[&o.office_member.id]))
        .await;
    assert!(d.acknowledgement_required, "the new default applies");
}

async fn notices_expire_and_leave_the_default_inbox(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let req = CreateNoticeRequest {
        title: "本周食堂菜单".into(),
        audience: Some(departments(&[&o.logistics], false)),
        expire_time: Some(ts(t0() + 3_600_000)),
        ..Default::default()
    };
    let d = s
        .n()
        .create_notice(o.logistics_head.req(req))
        .await
        .unwrap()
        .into_inner();
    let p = s
        .n()
        .publish_notice(o.logistics_head.req(PublishNoticeRequest {
            id: d.id.clone(),
            etag: d.etag,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.inbox(&o.logistics_member, false).await.unread_count, 1);
    s.advance(Duration::from_secs(3_601));
    let n = s
        .wait_for(&p.id, |n| n.state == NoticeState::Expired as i32)
        .await;
    assert_eq!(n.id, p.id);
    let inbox = s.inbox(&o.logistics_member, false).await;
    assert!(inbox.items.is_empty());
    assert_eq!(inbox.unread_count, 0);
    let with_expired = s
        .n()
        .list_inbox(o.logistics_member.req(ListInboxRequest {
            include_expired: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&with_expired.items), std::slice::from_ref(&p.id));
    // Expired notices can still be read; they cannot be retracted.
    s.n()
        .mark_notice_read(o.logistics_member.req(MarkNoticeReadRequest {
            notice_id: p.id.clone(),
        }))
        .await
        .unwrap();
    let err = s
        .n()
        .retract_notice(o.logistics_head.req(RetractNoticeRequest {
            id: p.id,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

async fn grants_let_members_publish_within_the_granted_subtree(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let req = |audience| CreateNoticeRequest {
        title: "科室通知".into(),
        audience: Some(audience),
        ..Default::default()
    };
    let err = s
        .n()
        .create_notice(o.office_member.req(req(departments(&[&o.records], false))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "members need a grant");
    let g = s
        .n()
        .create_publishing_grant(o.office_head.req(CreatePublishingGrantRequest {
            request_id: "g1".into(),
            person_id: o.office_member.id.clone(),
            department_id: o.records.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (g.department_id.as_str(), g.granted_by.as_str()),
        (o.records.as_str(), o.office_head.id.as_str())
    );
    let n = s
        .publish(
            &o.office_member,
            "文书科例会",
            departments(&[&o.records], true),
        )
        .await;
    assert_eq!(n.recipient_count, 1);
    // Only within the granted subtree.
    let err = s
        .n()
        .create_notice(o.office_member.req(req(departments(&[&o.office], false))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = s
        .n()
        .create_notice(o.office_member.req(req(people(&[&o.logistics_member.id]))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Twice is refused.
    let err = s
        .n()
        .create_publishing_grant(o.office_head.req(CreatePublishingGrantRequest {
            request_id: String::new(),
            person_id: o.office_member.id.clone(),
            department_id: o.records.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    // The grantee sees their own grant; heads see those of their subtree.
    for who in [&o.office_member, &o.office_head, &o.admin, &o.auditor] {
        let list = s
            .n()
            .list_publishing_grants(who.req(ListPublishingGrantsRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            list.grants
                .iter()
                .map(|g| g.id.as_str())
                .collect::<Vec<_>>(),
            [g.id.as_str()]
        );
    }
    for who in [&o.logistics_head, &o.logistics_member] {
        let list = s
            .n()
            .list_publishing_grants(who.req(ListPublishingGrantsRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert!(list.grants.is_empty());
    }
    let err = s
        .n()
        .delete_publishing_grant(
            o.logistics_head
                .req(DeletePublishingGrantRequest { id: g.id.clone() }),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    s.n()
        .delete_publishing_grant(
            o.office_head
                .req(DeletePublishingGrantRequest { id: g.id.clone() }),
        )
        .await
        .unwrap();
    let err = s
        .n()
        .create_notice(o.office_member.req(req(departments(&[&o.records], false))))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "a revoked grant no longer lets them publish"
    );
}

concord_kit::backend_tests!(
    publish_read_acknowledge_remind_and_retract,
    drafts_change_with_masks_and_etags_and_list,
    the_inbox_stream_resumes_from_its_cursor,
    quiet_hours_hold_pushes_until_morning_and_urgent_goes_through,
    notices_expire_and_leave_the_default_inbox,
    grants_let_members_publish_within_the_granted_subtree,
);

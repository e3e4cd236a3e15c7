//! Feedback through its gRPC API, against a real directory: routing by
//! duties, the closed loop, the anonymous loop, triage and transfers, SLA
//! escalation with a manual clock (across replicas and restarts), automatic
//! closing, policies, statistics, metrics, bad input and authorization.
//! Each test runs on SQLite and, when `CONCORD_TEST_DATABASE_URL` is set, on
//! PostgreSQL (with the Redis bus when `CONCORD_TEST_REDIS_URL` is set).

mod common;

use common::*;
use concord_kit::clock::to_timestamp;
use concord_kit::testing::{Backend, with_token};
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::feedback::v1::*;
use prost_types::FieldMask;
use sqlx::Row;
use tonic::Code;

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    Some(to_timestamp(ms))
}

fn kinds(entries: &[TimelineEntry]) -> Vec<EntryKind> {
    entries.iter().map(|e| e.kind()).collect()
}

async fn routing_by_duties(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;

    let r = s
        .submit(
            &o.submitter,
            report("三楼会议室空调坏了", "空调不制冷，需要维修"),
        )
        .await;
    let aircon = r.item.expect("item");
    assert!(r.follow_up_code.is_empty());
    assert_eq!(aircon.department_id, o.logistics);
    assert_eq!(aircon.routing(), Routing::Duties);
    assert_eq!(aircon.status(), Status::Submitted);
    assert_eq!(aircon.escalation_level(), EscalationLevel::Owner);
    assert_eq!(aircon.submitter_id, o.submitter.id);
    assert_eq!(aircon.priority(), Priority::Normal);
    assert_eq!(aircon.first_response_deadline, ts(T0 + D));
    assert_eq!(aircon.resolution_deadline, ts(T0 + 7 * D));
    assert_eq!(aircon.create_time, ts(T0));
    assert!(!aircon.overdue);

    let printer = s
        .submit(
            &o.submitter,
            report(
                "Printer on the 2nd floor jams",
                "The printers keep jamming and email is slow",
            ),
        )
        .await
        .item
        .expect("item");
    assert_eq!(printer.department_id, o.it);
    assert_eq!(printer.routing(), Routing::Duties);

    let named = s
        .submit(&o.submitter, report_to(&o.hr, "工资条有误"))
        .await
        .item
        .expect("item");
    assert_eq!(
        (named.department_id.as_str(), named.routing()),
        (o.hr.as_str(), Routing::Submitter)
    );

    let praise = SubmitFeedbackRequest {
        category: Category::Praise as i32,
        ..report("表扬食堂", "饭菜很好吃")
    };
    let praise = s.submit(&o.submitter, praise).await.item.expect("item");
    assert_eq!(praise.department_id, "");
    assert_eq!(praise.routing(), Routing::Triage);

    // The routing note is internal: staff see it, the submitter does not.
    let staff = s.timeline(&o.logistics_head, &aircon.id).await;
    assert_eq!(kinds(&staff), [EntryKind::Submitted, EntryKind::Routing]);
    assert!(
        !staff[1].public && staff[1].text.contains("维修"),
        "{staff:?}"
    );
    assert_eq!(staff[1].author(), Author::System);
    let mine = s.timeline(&o.submitter, &aircon.id).await;
    assert_eq!(kinds(&mine), [EntryKind::Submitted]);
    assert_eq!(mine[0].author(), Author::Submitter);
    assert_eq!(mine[0].author_id, o.submitter.id);

    // A retry with the same request_id creates nothing new.
    let req = SubmitFeedbackRequest {
        request_id: "提交-1".into(),
        ..report_to(&o.it, "Wi-Fi drops in room 305")
    };
    let first = s
        .submit(&o.submitter, req.clone())
        .await
        .item
        .expect("item");
    s.advance(MINUTE);
    let again = s.submit(&o.submitter, req).await.item.expect("item");
    assert_eq!(first, again);
    let listed = s
        .c()
        .list_feedback_items(with_token(
            ListFeedbackItemsRequest {
                submitted_by_me: true,
                ..Default::default()
            },
            &o.submitter.token,
        ))
        .await
        .expect("list")
        .into_inner()
        .items;
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[0].id, first.id, "newest first");
}

async fn closed_loop_with_an_owner(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let item = s
        .submit(
            &o.submitter,
            report("厕所漏水", "二楼男厕所水管漏水，地面湿滑，需要维修"),
        )
        .await
        .item
        .expect("item");
    assert_eq!(item.department_id, o.logistics);

    // The head assigns the one owner: someone of the department or below it.
    let assigned = s
        .assign(&o.logistics_head, &item.id, &o.logistics_staff)
        .await;
    assert_eq!(assigned.owner_id, o.logistics_staff.id);
    let reassigned = s
        .assign(&o.logistics_head, &item.id, &o.repairs_staff)
        .await;
    assert_eq!(reassigned.owner_id, o.repairs_staff.id);
    let outsider = s
        .c()
        .assign_feedback_owner(with_token(
            AssignFeedbackOwnerRequest {
                id: item.id.clone(),
                owner_id: o.it_staff.id.clone(),
                ..Default::default()
            },
            &o.logistics_head.token,
        ))
        .await;
    names_fields(outsider, &["owner_id"]);
    let nobody = s
        .c()
        .assign_feedback_owner(with_token(
            AssignFeedbackOwnerRequest {
                id: item.id.clone(),
                owner_id: concord_kit::ids::new_id(),
                ..Default::default()
            },
            &o.logistics_head.token,
        ))
        .await;
    names_fields(nobody, &["owner_id"]);
    s.assign(&o.logistics_head, &item.id, &o.logistics_staff)
        .await;

    // Accepting is the first response; a stale etag is refused.
    s.advance(2 * HOUR);
    let stale = s
        .c()
        .accept_feedback(with_token(
            AcceptFeedbackRequest {
                id: item.id.clone(),
                comment: "收到".into(),
                etag: item.etag.clone(),
            },
            &o.logistics_staff.token,
        ))
        .await;
    fails(stale, Code::Aborted);
    let accepted = s.accept(&o.logistics_staff, &item.id).await;
    assert_eq!(accepted.status(), Status::Accepted);
    assert_eq!(accepted.first_response_time, ts(T0 + 2 * H));
    let again = s
        .c()
        .accept_feedback(with_token(
            AcceptFeedbackRequest {
                id: item.id.clone(),
                comment: "再次受理".into(),
                etag: String::new(),
            },
            &o.logistics_staff.token,
        ))
        .await;
    fails(again, Code::FailedPrecondition);

    let started = s
        .c()
        .start_feedback_work(with_token(
            StartFeedbackWorkRequest {
                id: item.id.clone(),
                comment: "师傅已到现场".into(),
                etag: accepted.etag.clone(),
            },
            &o.logistics_staff.token,
        ))
        .await
        .expect("start")
        .into_inner();
    assert_eq!(started.status(), Status::InProgress);

    // A public reply reaches the submitter; an internal note does not.
    let reply = |text: &str, internal: bool, who: &Who| {
        let req = AddFeedbackReplyRequest {
            id: item.id.clone(),
            text: text.into(),
            internal,
            ..Default::default()
        };
        let token = who.token.clone();
        let mut c = s.c();
        async move { c.add_feedback_reply(with_token(req, &token)).await }
    };
    let public = reply("需要更换阀门，明天完成", false, &o.logistics_staff)
        .await
        .expect("reply")
        .into_inner();
    assert!(public.public && public.author() == Author::Staff);
    reply("阀门库存不足，已申请采购", true, &o.logistics_staff)
        .await
        .expect("note");
    reply("好的，谢谢", false, &o.submitter)
        .await
        .expect("submitter reply");
    let submitter_view = s.timeline(&o.submitter, &item.id).await;
    assert!(
        submitter_view.iter().all(|e| e.public),
        "{submitter_view:?}"
    );
    assert!(!submitter_view.iter().any(|e| e.text.contains("库存")));
    assert!(submitter_view.iter().any(|e| e.text.contains("阀门")));
    let staff_view = s.timeline(&o.logistics_clerk, &item.id).await;
    assert!(
        staff_view
            .iter()
            .any(|e| e.text.contains("库存") && !e.public)
    );

    // Resolving needs the solution; the submitter reopens, then confirms.
    s.advance(HOUR);
    let resolved = s
        .resolve(&o.logistics_staff, &item.id, "已更换阀门并清理地面")
        .await;
    assert_eq!(resolved.status(), Status::Resolved);
    assert_eq!(resolved.resolve_time, ts(T0 + 3 * H));
    assert_eq!(resolved.auto_close_time, ts(T0 + 3 * H + 7 * D));
    let reopened = s
        .c()
        .reopen_feedback(with_token(
            ReopenFeedbackRequest {
                id: item.id.clone(),
                comment: "还在漏".into(),
            },
            &o.submitter.token,
        ))
        .await
        .expect("reopen")
        .into_inner();
    assert_eq!(reopened.status(), Status::Reopened);
    assert_eq!(reopened.reopen_count, 1);
    assert_eq!(reopened.resolve_time, None);
    assert_eq!(reopened.auto_close_time, None);
    assert_eq!(reopened.resolution_deadline, ts(T0 + 3 * H + 7 * D));
    s.advance(HOUR);
    s.resolve(&o.logistics_staff, &item.id, "更换了整段水管")
        .await;
    let closed = s.confirm(&o.submitter, &item.id, 5).await;
    assert_eq!(closed.status(), Status::Closed);
    assert_eq!(
        (closed.satisfaction, closed.satisfaction_comment.as_str()),
        (5, "谢谢")
    );
    assert_eq!(closed.close_time, ts(T0 + 4 * H));
    assert!(!closed.closed_automatically);
    assert_eq!(closed.solution, "更换了整段水管");

    let closed_reply = reply("还有问题", false, &o.submitter).await;
    fails(closed_reply, Code::FailedPrecondition);
    let statuses: Vec<Status> = s
        .timeline(&o.submitter, &item.id)
        .await
        .iter()
        .filter(|e| e.kind() == EntryKind::StatusChange)
        .map(|e| e.status())
        .collect();
    assert_eq!(
        statuses,
        [
            Status::Accepted,
            Status::InProgress,
            Status::Resolved,
            Status::Reopened,
            Status::Resolved,
            Status::Closed
        ]
    );
}

async fn anonymous_loop(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let req = SubmitFeedbackRequest {
        request_id: "anon-1".into(),
        channel: Channel::SuggestionBox as i32,
        category: Category::Complaint as i32,
        subject: "科长经常无故刁难下属".into(),
        body: "希望领导关注 (a complaint about a section chief)".into(),
        anonymous: true,
        department_id: o.logistics.clone(),
        ..Default::default()
    };
    let first = s.submit(&o.whistleblower, req.clone()).await;
    let item = first.item.expect("item");
    assert!(item.anonymous);
    assert_eq!(item.submitter_id, "");
    assert_eq!(first.follow_up_code.len(), 29);
    assert_eq!(first.follow_up_code.matches('-').count(), 4);

    // A retried submission gets the same item and a new code; the unseen
    // first code stops working.
    let retry = s.submit(&o.whistleblower, req).await;
    assert_eq!(
        retry.item.as_ref().map(|i| i.id.as_str()),
        Some(item.id.as_str())
    );
    assert_ne!(retry.follow_up_code, first.follow_up_code);
    let old = s
        .c()
        .get_feedback_by_code(GetFeedbackByCodeRequest {
            follow_up_code: first.follow_up_code.clone(),
        })
        .await;
    fails(old, Code::NotFound);
    let code = retry.follow_up_code;

    // The whistleblower's own token does not lead to the item.
    let mine = s
        .c()
        .list_feedback_items(with_token(
            ListFeedbackItemsRequest {
                submitted_by_me: true,
                ..Default::default()
            },
            &o.whistleblower.token,
        ))
        .await
        .expect("list")
        .into_inner();
    assert!(mine.items.is_empty());
    let direct = s
        .c()
        .get_feedback_item(with_token(
            GetFeedbackItemRequest {
                id: item.id.clone(),
            },
            &o.whistleblower.token,
        ))
        .await;
    fails(direct, Code::NotFound);
    let staff = s.get(&o.logistics_head, &item.id).await;
    assert_eq!((staff.anonymous, staff.submitter_id.as_str()), (true, ""));

    // With the code, and no token at all: read (however it is typed) and reply.
    let sloppy = code.to_lowercase().replace('-', " ");
    let view = s
        .c()
        .get_feedback_by_code(GetFeedbackByCodeRequest {
            follow_up_code: sloppy,
        })
        .await
        .expect("view by code")
        .into_inner();
    assert_eq!(
        view.item.as_ref().map(|i| i.id.as_str()),
        Some(item.id.as_str())
    );
    assert_eq!(kinds(&view.entries), [EntryKind::Submitted]);
    let reply_req = ReplyByCodeRequest {
        request_id: "r1".into(),
        follow_up_code: code.clone(),
        text: "补充：上周三又发生了一次".into(),
    };
    let reply = s
        .c()
        .reply_by_code(reply_req.clone())
        .await
        .expect("reply")
        .into_inner();
    assert_eq!(
        (reply.author(), reply.author_id.as_str(), reply.public),
        (Author::Submitter, "", true)
    );
    let same = s
        .c()
        .reply_by_code(reply_req)
        .await
        .expect("retried reply")
        .into_inner();
    assert_eq!(same, reply);

    // The department answers in public and notes internally.
    s.advance(HOUR);
    s.accept(&o.logistics_head, &item.id).await;
    s.c()
        .add_feedback_reply(with_token(
            AddFeedbackReplyRequest {
                id: item.id.clone(),
                text: "内部：请纪检同事一起核实".into(),
                internal: true,
                ..Default::default()
            },
            &o.logistics_head.token,
        ))
        .await
        .expect("note");
    s.resolve(&o.logistics_head, &item.id, "已与该科长谈话并调整工作分配")
        .await;
    let view = s
        .c()
        .get_feedback_by_code(GetFeedbackByCodeRequest {
            follow_up_code: code.clone(),
        })
        .await
        .expect("view")
        .into_inner();
    assert_eq!(
        kinds(&view.entries),
        [
            EntryKind::Submitted,
            EntryKind::Comment,
            EntryKind::StatusChange,
            EntryKind::StatusChange
        ]
    );
    assert!(!view.entries.iter().any(|e| e.text.contains("纪检")));

    // Reopen, then confirm with a rating, all by code.
    let reopened = s
        .c()
        .reopen_feedback_by_code(ReopenFeedbackByCodeRequest {
            follow_up_code: code.clone(),
            comment: "情况没有改善".into(),
        })
        .await
        .expect("reopen by code")
        .into_inner();
    assert_eq!(
        reopened.item.as_ref().map(|i| i.status()),
        Some(Status::Reopened)
    );
    s.resolve(&o.logistics_head, &item.id, "已调岗").await;
    let closed = s
        .c()
        .confirm_resolution_by_code(ConfirmResolutionByCodeRequest {
            follow_up_code: code.clone(),
            satisfaction: 4,
            comment: "有改善".into(),
        })
        .await
        .expect("confirm by code")
        .into_inner();
    let closed_item = closed.item.expect("item");
    assert_eq!(
        (closed_item.status(), closed_item.satisfaction),
        (Status::Closed, 4)
    );
    assert!(
        closed
            .entries
            .iter()
            .all(|e| e.author_id.is_empty() || e.author() == Author::Staff)
    );
    let twice = s
        .c()
        .confirm_resolution_by_code(ConfirmResolutionByCodeRequest {
            follow_up_code: code.clone(),
            satisfaction: 5,
            comment: String::new(),
        })
        .await;
    fails(twice, Code::FailedPrecondition);
    let unknown = s
        .c()
        .get_feedback_by_code(GetFeedbackByCodeRequest {
            follow_up_code: "00000-00000-00000-00000-00000".into(),
        })
        .await;
    let status = fails(unknown, Code::NotFound);
    assert!(!status.message().contains("00000"));

    // The audit trail records the submitter's actions as "anonymous".
    let audit = s
        .c()
        .list_audit_entries(with_token(
            ListAuditEntriesRequest {
                resource: format!("feedback/{}", item.id),
                ..Default::default()
            },
            &o.auditor.token,
        ))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let by_submitter: Vec<&str> = audit
        .iter()
        .filter(|e| e.actor == concord_feedback::ANONYMOUS)
        .map(|e| e.action.as_str())
        .collect();
    for action in [
        "feedback.submit",
        "feedback.renew_code",
        "feedback.reply",
        "feedback.reopen",
        "feedback.confirm",
    ] {
        assert!(
            by_submitter.contains(&action),
            "{action} not in {by_submitter:?}"
        );
    }

    // Nothing the service stores names the whistleblower.
    assert_stores_nothing_about(&s, &o.whistleblower.id).await;
    assert!(!concord_kit::metrics::render().contains(&o.whistleblower.id));
}

/// Reads every row of every feedback table and fails if any text or bytes
/// contain `needle`.
async fn assert_stores_nothing_about(s: &Suite, needle: &str) {
    let db = concord_feedback::connect(&s.fb_db.location)
        .await
        .expect("db");
    let mut checked = 0;
    for table in [
        "feedback_item",
        "feedback_entry",
        "sla_policy",
        "anonymous_request",
        "kit_audit",
        "kit_idempotency",
        "kit_due",
    ] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch_all(db.pool())
            .await
            .expect("read table");
        for row in &rows {
            for i in 0..row.len() {
                if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                    assert!(!text.contains(needle), "{table} holds {needle}: {text}");
                    checked += 1;
                } else if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                    let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
                    assert!(!found, "{table} holds {needle} in bytes");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} values were checked");
    db.close().await;
}

async fn triage_and_transfer(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let odd = s
        .submit(&o.submitter, report("停车场的灯太暗", "晚上看不清路"))
        .await
        .item
        .expect("item");
    assert_eq!(odd.routing(), Routing::Triage);

    // Unrouted items wait for the admins; nobody works on them before.
    let queue = s
        .c()
        .list_feedback_items(with_token(
            ListFeedbackItemsRequest {
                triage: true,
                ..Default::default()
            },
            &o.admin.token,
        ))
        .await
        .expect("triage queue")
        .into_inner()
        .items;
    assert_eq!(
        queue.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [odd.id.as_str()]
    );
    let early = s
        .c()
        .accept_feedback(with_token(
            AcceptFeedbackRequest {
                id: odd.id.clone(),
                comment: "收到".into(),
                etag: String::new(),
            },
            &o.admin.token,
        ))
        .await;
    fails(early, Code::FailedPrecondition);

    let route = |who: &Who, department: &str| {
        let req = RouteFeedbackRequest {
            id: odd.id.clone(),
            department_id: department.into(),
            comment: "照明归后勤".into(),
            etag: String::new(),
        };
        let token = who.token.clone();
        let mut c = s.c();
        async move { c.route_feedback(with_token(req, &token)).await }
    };
    let routed = route(&o.admin, &o.logistics)
        .await
        .expect("route")
        .into_inner();
    assert_eq!(
        (routed.department_id.as_str(), routed.routing()),
        (o.logistics.as_str(), Routing::Admin)
    );
    s.assign(&o.logistics_head, &odd.id, &o.logistics_staff)
        .await;

    // The head of the owning department transfers it; the owner is cleared.
    let moved = route(&o.logistics_head, &o.it)
        .await
        .expect("transfer")
        .into_inner();
    assert_eq!(moved.department_id, o.it);
    assert_eq!(moved.routing(), Routing::Transfer);
    assert_eq!(moved.owner_id, "");
    let back = route(&o.logistics_head, &o.logistics).await;
    fails(back, Code::NotFound);
    let same = route(&o.it_head, &o.it).await;
    fails(same, Code::FailedPrecondition);
    let missing = route(&o.admin, &concord_kit::ids::new_id()).await;
    names_fields(missing, &["department_id"]);
    let entries = s.timeline(&o.it_head, &odd.id).await;
    assert_eq!(
        kinds(&entries),
        [
            EntryKind::Submitted,
            EntryKind::Routing,
            EntryKind::Routing,
            EntryKind::Assignment,
            EntryKind::Routing
        ]
    );
    let queue = s
        .c()
        .list_feedback_items(with_token(
            ListFeedbackItemsRequest {
                triage: true,
                ..Default::default()
            },
            &o.auditor.token,
        ))
        .await
        .expect("triage queue")
        .into_inner()
        .items;
    assert!(queue.is_empty());
}

async fn sla_escalation(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    s.set_policy(SlaPolicy {
        category: Category::Complaint as i32,
        priority: Priority::Urgent as i32,
        first_response: duration(HOUR),
        resolution: duration(4 * HOUR),
        escalate_after: duration(30 * MINUTE),
        auto_close_after: duration(DAY),
        update_time: None,
    })
    .await;
    let mut bus = s.subscribe_escalations();
    let urgent = SubmitFeedbackRequest {
        category: Category::Complaint as i32,
        priority: Priority::Urgent as i32,
        ..report_to(&o.logistics, "电梯困人")
    };
    let item = s
        .submit(&o.submitter, urgent.clone())
        .await
        .item
        .expect("item");
    assert_eq!(item.first_response_deadline, ts(T0 + H));
    assert_eq!(item.resolution_deadline, ts(T0 + 4 * H));
    let answered = s.submit(&o.submitter, urgent).await.item.expect("item");
    s.assign(&o.logistics_head, &item.id, &o.logistics_staff)
        .await;

    s.advance(50 * MINUTE);
    s.accept(&o.logistics_head, &answered.id).await;
    // One minute past the first-response deadline: up to the department head.
    s.advance(11 * MINUTE);
    let up = s
        .item_until(&item.id, "escalation to the head", |i| {
            i.escalation_level() == EscalationLevel::DepartmentHead
        })
        .await;
    assert!(up.overdue);
    let event = next_escalation(&mut bus).await;
    assert_eq!(event.item_id, item.id);
    assert_eq!(event.level(), EscalationLevel::DepartmentHead);
    assert_eq!(event.deadline(), Deadline::FirstResponse);
    assert_eq!(event.deadline_time, ts(T0 + H));
    assert_eq!(event.department_id, o.logistics);
    assert_eq!(event.owner_id, o.logistics_staff.id);
    assert_eq!(
        event.notify_person_ids,
        std::slice::from_ref(&o.logistics_head.id)
    );
    assert_eq!(event.subject, "电梯困人");

    // Still unanswered half an hour later: up to the admins.
    s.advance(30 * MINUTE);
    s.item_until(&item.id, "escalation to the admins", |i| {
        i.escalation_level() == EscalationLevel::Admins
    })
    .await;
    let event = next_escalation(&mut bus).await;
    assert_eq!(
        (event.level(), event.notify_person_ids.len()),
        (EscalationLevel::Admins, 0)
    );

    // The answered item never escalated; the overdue list has the other.
    assert_eq!(
        s.get(&o.admin, &answered.id).await.escalation_level(),
        EscalationLevel::Owner
    );
    let overdue = s
        .c()
        .list_feedback_items(with_token(
            ListFeedbackItemsRequest {
                department_id: o.logistics.clone(),
                overdue_only: true,
                ..Default::default()
            },
            &o.logistics_head.token,
        ))
        .await
        .expect("overdue")
        .into_inner()
        .items;
    assert_eq!(
        overdue.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [item.id.as_str()]
    );
    let escalations: Vec<TimelineEntry> = s
        .timeline(&o.logistics_head, &item.id)
        .await
        .into_iter()
        .filter(|e| e.kind() == EntryKind::Escalation)
        .collect();
    assert_eq!(escalations.len(), 2);
    assert!(
        escalations
            .iter()
            .all(|e| !e.public && e.author() == Author::System)
    );
    assert!(
        s.timeline(&o.submitter, &item.id)
            .await
            .iter()
            .all(|e| e.kind() != EntryKind::Escalation)
    );

    // The resolution deadline passes at the admins' level: nothing more to raise.
    s.resolve(&o.logistics_head, &answered.id, "已派人检修")
        .await;
    s.advance(3 * HOUR);
    assert!(no_more_escalations(&mut bus, std::time::Duration::from_millis(400)).await);
    let resolved = s
        .resolve(&o.logistics_staff, &item.id, "已救出并维修电梯")
        .await;
    assert!(!resolved.overdue);
    assert_eq!(resolved.escalation_level(), EscalationLevel::Admins);
}

async fn escalation_once_across_replicas_and_restarts(backend: Backend) {
    let mut s = Suite::start(backend).await;
    let o = s.org.clone();
    let mut bus = s.subscribe_escalations();
    let item = s
        .submit(&o.submitter, report_to(&o.it, "邮箱无法登录"))
        .await
        .item
        .expect("item");
    let second = s.replica().await;
    let third = s.replica().await;

    // Three replicas see the deadline pass; exactly one escalates.
    s.advance(DAY + MINUTE);
    s.item_until(&item.id, "escalation", |i| {
        i.escalation_level() == EscalationLevel::DepartmentHead
    })
    .await;
    assert_eq!(next_escalation(&mut bus).await.item_id, item.id);
    assert!(no_more_escalations(&mut bus, std::time::Duration::from_millis(500)).await);
    let count = |entries: &[TimelineEntry]| {
        entries
            .iter()
            .filter(|e| e.kind() == EntryKind::Escalation)
            .count()
    };
    assert_eq!(count(&s.timeline(&o.admin, &item.id).await), 1);
    second.stop().await;
    third.stop().await;

    // Everything stops; the next deadline passes while nothing runs.
    s.feedback.take().expect("running").stop().await;
    s.advance(DAY);
    s.feedback = Some(s.replica().await);
    s.item_until(&item.id, "escalation after the restart", |i| {
        i.escalation_level() == EscalationLevel::Admins
    })
    .await;
    let event = next_escalation(&mut bus).await;
    assert_eq!(
        (event.item_id.as_str(), event.level()),
        (item.id.as_str(), EscalationLevel::Admins)
    );

    // A restart in between changes nothing twice.
    s.restart().await;
    s.advance(MINUTE);
    assert!(no_more_escalations(&mut bus, std::time::Duration::from_millis(500)).await);
    assert_eq!(count(&s.timeline(&o.admin, &item.id).await), 2);
}

async fn unanswered_resolutions_close_by_themselves(backend: Backend) {
    let mut s = Suite::start(backend).await;
    let o = s.org.clone();
    s.set_policy(SlaPolicy {
        category: 0,
        priority: 0,
        first_response: duration(DAY),
        resolution: duration(3 * DAY),
        escalate_after: duration(DAY),
        auto_close_after: duration(2 * DAY),
        update_time: None,
    })
    .await;
    let item = s
        .submit(&o.submitter, report_to(&o.logistics, "会议室投影仪不亮"))
        .await
        .item
        .expect("item");
    s.advance(HOUR);
    let resolved = s.resolve(&o.logistics_head, &item.id, "已更换灯泡").await;
    assert_eq!(resolved.auto_close_time, ts(T0 + H + 2 * D));

    // The deadline survives a restart.
    s.restart().await;
    s.advance(2 * DAY - MINUTE);
    assert_eq!(s.get(&o.admin, &item.id).await.status(), Status::Resolved);
    s.advance(MINUTE);
    let closed = s
        .item_until(&item.id, "automatic closing", |i| {
            i.status() == Status::Closed
        })
        .await;
    assert!(closed.closed_automatically);
    assert_eq!(closed.satisfaction, 0);
    assert_eq!(closed.close_time, ts(T0 + H + 2 * D));
    let too_late = s
        .c()
        .reopen_feedback(with_token(
            ReopenFeedbackRequest {
                id: item.id.clone(),
                comment: "还是不亮".into(),
            },
            &o.submitter.token,
        ))
        .await;
    fails(too_late, Code::FailedPrecondition);
    let last = s
        .timeline(&o.submitter, &item.id)
        .await
        .pop()
        .expect("entries");
    assert_eq!(
        (last.status(), last.author()),
        (Status::Closed, Author::System)
    );
}

async fn sla_policies_and_reclassification(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let listed = s
        .c()
        .list_sla_policies(with_token(ListSlaPoliciesRequest {}, &o.submitter.token))
        .await
        .expect("list")
        .into_inner();
    assert!(listed.policies.is_empty());
    let default = listed.default_policy.expect("default");
    assert_eq!(default.first_response, duration(DAY));
    assert_eq!(default.resolution, duration(7 * DAY));

    let policy = |category: Category, priority: Priority, hours: u32| SlaPolicy {
        category: category as i32,
        priority: priority as i32,
        first_response: duration(HOUR * hours),
        resolution: duration(HOUR * 2 * hours),
        escalate_after: duration(HOUR),
        auto_close_after: duration(DAY),
        update_time: None,
    };
    let set = s
        .set_policy(policy(Category::Unspecified, Priority::Urgent, 2))
        .await;
    assert_eq!(set.update_time, ts(T0));
    s.set_policy(policy(Category::Complaint, Priority::Unspecified, 8))
        .await;
    s.set_policy(policy(Category::Complaint, Priority::Urgent, 1))
        .await;
    // Setting again replaces.
    s.set_policy(policy(Category::Complaint, Priority::Unspecified, 6))
        .await;
    let listed = s
        .c()
        .list_sla_policies(with_token(ListSlaPoliciesRequest {}, &o.admin.token))
        .await
        .expect("list")
        .into_inner()
        .policies;
    assert_eq!(listed.len(), 3);

    let submit = |category: Category, priority: Priority| SubmitFeedbackRequest {
        category: category as i32,
        priority: priority as i32,
        ..report_to(&o.logistics, "宿舍热水器坏了")
    };
    let deadline = |i: &FeedbackItem| {
        concord_kit::clock::from_timestamp(i.first_response_deadline.as_ref().expect("deadline"))
            .expect("time")
            - T0
    };
    let both = s
        .submit(&o.submitter, submit(Category::Complaint, Priority::Urgent))
        .await
        .item
        .expect("item");
    assert_eq!(deadline(&both), H);
    let category = s
        .submit(&o.submitter, submit(Category::Complaint, Priority::Low))
        .await
        .item
        .expect("item");
    assert_eq!(deadline(&category), 6 * H);
    let priority = s
        .submit(&o.submitter, submit(Category::Problem, Priority::Urgent))
        .await
        .item
        .expect("item");
    assert_eq!(deadline(&priority), 2 * H);
    let none = s
        .submit(&o.submitter, submit(Category::Praise, Priority::Low))
        .await
        .item
        .expect("item");
    assert_eq!(deadline(&none), D);

    // Reclassifying recomputes the deadlines from the submission.
    s.advance(30 * MINUTE);
    let updated = s
        .c()
        .update_feedback_item(with_token(
            UpdateFeedbackItemRequest {
                item: Some(FeedbackItem {
                    id: none.id.clone(),
                    priority: Priority::Urgent as i32,
                    etag: none.etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["priority".into()],
                }),
                comment: "影响整栋楼".into(),
            },
            &o.logistics_head.token,
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(
        (updated.priority(), updated.category()),
        (Priority::Urgent, Category::Praise)
    );
    assert_eq!(updated.first_response_deadline, ts(T0 + 2 * H));
    assert_eq!(updated.resolution_deadline, ts(T0 + 4 * H));
    let stale = s
        .c()
        .update_feedback_item(with_token(
            UpdateFeedbackItemRequest {
                item: Some(FeedbackItem {
                    id: none.id.clone(),
                    priority: Priority::Low as i32,
                    etag: none.etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["priority".into()],
                }),
                comment: "改回".into(),
            },
            &o.logistics_head.token,
        ))
        .await;
    fails(stale, Code::Aborted);

    // The new deadline is the one that escalates.
    s.advance(90 * MINUTE + MINUTE);
    s.item_until(&none.id, "escalation on the new deadline", |i| {
        i.escalation_level() == EscalationLevel::DepartmentHead
    })
    .await;

    let delete = |category: Category, priority: Priority| {
        let req = DeleteSlaPolicyRequest {
            category: category as i32,
            priority: priority as i32,
        };
        let token = o.admin.token.clone();
        let mut c = s.c();
        async move { c.delete_sla_policy(with_token(req, &token)).await }
    };
    delete(Category::Complaint, Priority::Urgent)
        .await
        .expect("delete");
    fails(
        delete(Category::Complaint, Priority::Urgent).await,
        Code::NotFound,
    );
    let after = s
        .submit(&o.submitter, submit(Category::Complaint, Priority::Urgent))
        .await
        .item
        .expect("item");
    // Submitted at T0 + 2 h 1 min; complaint/any (6 h) now wins over any/urgent.
    assert_eq!(deadline(&after), 2 * H + 60_000 + 6 * H);
}

fn secs(ms: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: ms / 1000,
        nanos: 0,
    })
}

/// A known data set, built step by step with the manual clock (offsets from
/// T0; the period is [T0, T0 + 6 d)):
///
/// | item | dept | answered | resolved | deadline | then |
/// |---|---|---|---|---|---|
/// | A | logistics | +2 h (accept) | +1 d | +7 d | confirmed, 5 |
/// | B | logistics, at +1 h | +6 h later | +8 d after submission | +7 d 1 h | escalated, confirmed, 2 |
/// | C | logistics, at +2 h | never | — | — | escalated, overdue |
/// | D | it, at +3 h | +1 h (public reply) | +2 d after | +7 d 3 h | closed by itself |
/// | E | it, at +5 d | +3 h (accept) | — | +12 d | open, not overdue |
/// | G | it, at +6 d 1 h | outside the period | | | |
///
/// A and B are owned by logistics_staff.
async fn statistics_are_exact(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let submit = |dept: &str, subject: &str| {
        let req = report_to(dept, subject);
        let who = o.submitter.clone();
        let s = &s;
        async move { s.submit(&who, req).await.item.expect("item").id }
    };
    let advance_to = |offset: i64| {
        let now = concord_kit::clock::Clock::now_ms(&*s.clock);
        assert!(T0 + offset >= now);
        s.advance(std::time::Duration::from_millis(
            u64::try_from(T0 + offset - now).expect("forward"),
        ));
    };
    let a = submit(&o.logistics, "A 窗户关不上").await;
    advance_to(H);
    let b = submit(&o.logistics, "B 暖气不热").await;
    advance_to(2 * H);
    s.accept(&o.logistics_head, &a).await;
    let c = submit(&o.logistics, "C 墙皮脱落").await;
    advance_to(3 * H);
    let d = submit(&o.it, "D VPN 连不上").await;
    advance_to(4 * H);
    s.c()
        .add_feedback_reply(with_token(
            AddFeedbackReplyRequest {
                id: d.clone(),
                text: "请重装客户端试试".into(),
                ..Default::default()
            },
            &o.it_head.token,
        ))
        .await
        .expect("reply");
    advance_to(7 * H);
    s.accept(&o.logistics_head, &b).await;
    s.assign(&o.logistics_head, &a, &o.logistics_staff).await;
    s.assign(&o.logistics_head, &b, &o.logistics_staff).await;
    advance_to(D);
    s.resolve(&o.logistics_staff, &a, "已修好窗户").await;
    s.confirm(&o.submitter, &a, 5).await;
    advance_to(2 * D + 3 * H);
    s.resolve(&o.it_head, &d, "已更新证书").await;
    advance_to(5 * D);
    let e = submit(&o.it, "E 显示器闪烁").await;
    advance_to(5 * D + 3 * H);
    s.accept(&o.it_head, &e).await;
    advance_to(6 * D + H);
    submit(&o.it, "G 键盘失灵").await;
    advance_to(7 * D + 2 * H);
    s.item_until(&b, "B's resolution escalation", |i| {
        i.escalation_level() == EscalationLevel::DepartmentHead
    })
    .await;
    advance_to(8 * D + H);
    s.resolve(&o.logistics_staff, &b, "已更换暖气阀").await;
    s.confirm(&o.submitter, &b, 2).await;
    advance_to(10 * D);
    s.item_until(&d, "D closing by itself", |i| i.closed_automatically)
        .await;
    s.item_until(&c, "C's escalation", |i| {
        i.escalation_level() == EscalationLevel::Admins
    })
    .await;

    let stats = |who: &Who, department: &str, subs: bool, person: &str| {
        let req = GetFeedbackStatisticsRequest {
            department_id: department.into(),
            include_sub_departments: subs,
            person_id: person.into(),
            start_time: ts(T0),
            end_time: ts(T0 + 6 * D),
        };
        let token = who.token.clone();
        let mut c = s.c();
        async move { c.get_feedback_statistics(with_token(req, &token)).await }
    };
    let all = stats(&o.admin, "", false, "")
        .await
        .expect("stats")
        .into_inner();
    let totals = all.totals.expect("totals");
    assert_eq!(
        totals,
        FeedbackFigures {
            received: 5,
            open: 2,
            overdue: 1,
            resolved: 3,
            resolved_on_time: 2,
            on_time_rate: 2.0 / 3.0,
            median_time_to_first_response: secs(2 * H),
            median_time_to_resolve: secs(2 * D),
            rated: 2,
            average_satisfaction: 3.5,
            escalated: 2,
            closed_automatically: 1,
        }
    );
    let logistics = FeedbackFigures {
        received: 3,
        open: 1,
        overdue: 1,
        resolved: 2,
        resolved_on_time: 1,
        on_time_rate: 0.5,
        median_time_to_first_response: secs(2 * H),
        median_time_to_resolve: secs(D),
        rated: 2,
        average_satisfaction: 3.5,
        escalated: 2,
        closed_automatically: 0,
    };
    let it = FeedbackFigures {
        received: 2,
        open: 1,
        overdue: 0,
        resolved: 1,
        resolved_on_time: 1,
        on_time_rate: 1.0,
        median_time_to_first_response: secs(H),
        median_time_to_resolve: secs(2 * D),
        rated: 0,
        average_satisfaction: 0.0,
        escalated: 0,
        closed_automatically: 1,
    };
    let mut rows: Vec<(String, FeedbackFigures)> = all
        .departments
        .into_iter()
        .map(|d| (d.department_id, d.figures.expect("figures")))
        .collect();
    rows.sort_by(|x, y| x.0.cmp(&y.0));
    let mut want = vec![(o.logistics.clone(), logistics), (o.it.clone(), it)];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(rows, want);

    // One department, its subtree, a head's default scope, the auditor and a service.
    let one = stats(&o.auditor, &o.logistics, false, "")
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(one.totals, Some(logistics));
    let subtree = stats(&o.service, &o.logistics, true, "")
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(subtree.totals, Some(logistics));
    let head = stats(&o.logistics_head, "", false, "")
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(head.totals, Some(logistics));
    let top = stats(&o.hq_head, "", false, "")
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(top.totals.map(|t| t.received), Some(5));
    fails(
        stats(&o.it_head, &o.logistics, false, "").await,
        Code::PermissionDenied,
    );

    // Per owner.
    let owner = stats(&o.admin, "", false, &o.logistics_staff.id)
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(
        owner.totals,
        Some(FeedbackFigures {
            received: 2,
            open: 0,
            overdue: 0,
            resolved: 2,
            resolved_on_time: 1,
            on_time_rate: 0.5,
            median_time_to_first_response: secs(2 * H),
            median_time_to_resolve: secs(D),
            rated: 2,
            average_satisfaction: 3.5,
            escalated: 1,
            closed_automatically: 0,
        })
    );

    // An empty period has zeros and no medians.
    let empty = s
        .c()
        .get_feedback_statistics(with_token(
            GetFeedbackStatisticsRequest {
                start_time: ts(T0 - 10 * D),
                end_time: ts(T0),
                ..Default::default()
            },
            &o.admin.token,
        ))
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(empty.totals, Some(FeedbackFigures::default()));
    assert!(empty.departments.is_empty());
}

/// Reads one sample of the process's metrics, if present.
fn sample(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = concord_kit::metrics::render();
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (label_part, value) = if let Some(rest) = rest.strip_prefix('{') {
            let (l, v) = rest.split_once("} ")?;
            (l, v)
        } else {
            ("", rest.strip_prefix(' ')?)
        };
        labels
            .iter()
            .all(|(k, v)| label_part.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

async fn metrics_follow_the_items(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let items = |state: &'static str| {
        let dept = o.logistics.clone();
        move || {
            let dept = dept.clone();
            async move {
                sample(
                    "concord_feedback_items",
                    &[("department", &dept), ("state", state)],
                )
            }
        }
    };
    let first = s
        .submit(&o.submitter, report_to(&o.logistics, "食堂排队太久"))
        .await
        .item
        .expect("item");
    s.submit(&o.submitter, report_to(&o.logistics, "食堂餐具不干净"))
        .await;
    eventually("two open", || async {
        (items("open")().await == Some(2.0)).then_some(())
    })
    .await;
    assert_eq!(items("overdue")().await, Some(0.0));
    // Received per department, counted once each.
    assert_eq!(
        sample(
            "concord_feedback_submitted_total",
            &[
                ("department", o.logistics.as_str()),
                ("category", "problem")
            ]
        ),
        Some(2.0)
    );

    // Time alone makes items overdue; the escalation refreshes the gauges.
    let escalations_before = sample(
        "concord_feedback_escalations_total",
        &[
            ("department", &o.logistics),
            ("level", "department_head"),
            ("deadline", "first_response"),
        ],
    )
    .unwrap_or(0.0);
    s.advance(DAY + MINUTE);
    eventually("two overdue", || async {
        (items("overdue")().await == Some(2.0)).then_some(())
    })
    .await;
    // Counted after each escalation commits, so possibly after the gauges.
    eventually("two escalations counted", || async {
        let escalations_after = sample(
            "concord_feedback_escalations_total",
            &[
                ("department", &o.logistics),
                ("level", "department_head"),
                ("deadline", "first_response"),
            ],
        )
        .unwrap_or(0.0);
        (escalations_after >= escalations_before + 2.0).then_some(())
    })
    .await;

    // Resolution and satisfaction land in their histograms.
    s.resolve(&o.logistics_head, &first.id, "增加了一个窗口")
        .await;
    s.confirm(&o.submitter, &first.id, 4).await;
    eventually("one open", || async {
        (items("open")().await == Some(1.0)).then_some(())
    })
    .await;
    let dept = o.logistics.as_str();
    assert_eq!(
        sample(
            "concord_feedback_resolution_seconds_count",
            &[("department", dept), ("category", "problem")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            "concord_feedback_resolution_seconds_sum",
            &[("department", dept), ("category", "problem")]
        ),
        Some(86_460.0)
    );
    // A day and a minute is inside the built-in week for a solution.
    assert_eq!(
        sample(
            "concord_feedback_resolved_total",
            &[("department", dept), ("on_time", "true")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            "concord_feedback_resolved_total",
            &[("department", dept), ("on_time", "false")]
        ),
        None
    );
    assert_eq!(
        sample(
            "concord_feedback_first_response_seconds_count",
            &[("department", dept)]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample("concord_feedback_satisfaction_sum", &[("department", dept)]),
        Some(4.0)
    );
    assert_eq!(
        sample(
            "concord_feedback_satisfaction_count",
            &[("department", dept)]
        ),
        Some(1.0)
    );
}

async fn lists_filter_and_page(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let mut ids = Vec::new();
    for i in 0..5 {
        let req = SubmitFeedbackRequest {
            category: if i % 2 == 0 {
                Category::Suggestion as i32
            } else {
                Category::Problem as i32
            },
            ..report_to(
                if i < 4 { &o.logistics } else { &o.repairs },
                &format!("建议 {i}"),
            )
        };
        ids.push(s.submit(&o.submitter, req).await.item.expect("item").id);
        s.advance(MINUTE);
    }
    s.assign(&o.logistics_head, &ids[1], &o.logistics_staff)
        .await;
    s.accept(&o.logistics_head, &ids[2]).await;
    let list = |who: &Who, req: ListFeedbackItemsRequest| {
        let token = who.token.clone();
        let mut c = s.c();
        async move { c.list_feedback_items(with_token(req, &token)).await }
    };
    let names = |items: Vec<FeedbackItem>| items.into_iter().map(|i| i.subject).collect::<Vec<_>>();

    // Pages of two, newest first, over the logistics subtree.
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let page = list(
            &o.logistics_head,
            ListFeedbackItemsRequest {
                department_id: o.logistics.clone(),
                include_sub_departments: true,
                page_size: 2,
                page_token: token,
                ..Default::default()
            },
        )
        .await
        .expect("page")
        .into_inner();
        assert!(page.items.len() <= 2);
        seen.extend(names(page.items));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["建议 4", "建议 3", "建议 2", "建议 1", "建议 0"]);
    let wrong = list(
        &o.logistics_head,
        ListFeedbackItemsRequest {
            page_size: 2,
            page_token: "bm9wZQ".into(),
            ..Default::default()
        },
    )
    .await;
    names_fields(wrong, &["page_token"]);

    // Members see their department only; heads default to their subtree.
    let member = list(&o.logistics_clerk, ListFeedbackItemsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(member.items.len(), 4);
    let head = list(&o.logistics_head, ListFeedbackItemsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(head.items.len(), 5);
    let repairs = list(&o.repairs_staff, ListFeedbackItemsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(names(repairs.items), ["建议 4"]);

    // Filters: status, category, owner (also one's own, anywhere).
    let accepted = list(
        &o.admin,
        ListFeedbackItemsRequest {
            statuses: vec![Status::Accepted as i32],
            ..Default::default()
        },
    )
    .await
    .expect("list")
    .into_inner();
    assert_eq!(names(accepted.items), ["建议 2"]);
    let suggestions = list(
        &o.auditor,
        ListFeedbackItemsRequest {
            department_id: o.logistics.clone(),
            category: Category::Suggestion as i32,
            ..Default::default()
        },
    )
    .await
    .expect("list")
    .into_inner();
    assert_eq!(names(suggestions.items), ["建议 2", "建议 0"]);
    let owned = list(
        &o.logistics_staff,
        ListFeedbackItemsRequest {
            owner_id: o.logistics_staff.id.clone(),
            ..Default::default()
        },
    )
    .await
    .expect("list")
    .into_inner();
    assert_eq!(names(owned.items), ["建议 1"]);
}

async fn bad_input_names_fields(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let c = || s.c();
    let valid_id = concord_kit::ids::new_id();
    let code = "00000-00000-00000-00000-00000".to_string();

    // SubmitFeedback, field by field.
    names_fields(
        c().submit_feedback(by(&o.submitter, SubmitFeedbackRequest::default()))
            .await,
        &["channel", "category", "subject", "body"],
    );
    let everything_wrong = SubmitFeedbackRequest {
        request_id: "r".repeat(129),
        channel: 99,
        category: 99,
        priority: 99,
        subject: "长".repeat(201),
        body: "长".repeat(10_001),
        location: "三号楼\n302".into(),
        links: vec!["https://oa.example.cn".into(); 11],
        anonymous: false,
        department_id: "后勤".into(),
    };
    names_fields(
        c().submit_feedback(by(&o.submitter, everything_wrong))
            .await,
        &[
            "request_id",
            "channel",
            "category",
            "priority",
            "subject",
            "body",
            "location",
            "links",
            "department_id",
        ],
    );
    let links = SubmitFeedbackRequest {
        links: vec!["https://oa.example.cn/工单/7".into(), "ftp://files".into()],
        ..report("链接", "见附件")
    };
    names_fields(
        c().submit_feedback(by(&o.submitter, links)).await,
        &["links[1]"],
    );
    let two_lines = report("第一行\n第二行", "正文");
    names_fields(
        c().submit_feedback(by(&o.submitter, two_lines)).await,
        &["subject"],
    );
    let control = report("标题", "正文\u{7}响铃");
    names_fields(
        c().submit_feedback(by(&o.submitter, control)).await,
        &["body"],
    );
    let nowhere = report_to(&valid_id, "无此部门");
    names_fields(
        c().submit_feedback(by(&o.submitter, nowhere)).await,
        &["department_id"],
    );

    // Reads.
    names_fields(
        c().get_feedback_item(by(&o.submitter, GetFeedbackItemRequest::default()))
            .await,
        &["id"],
    );
    names_fields(
        c().get_feedback_item(by(&o.submitter, GetFeedbackItemRequest { id: "x".into() }))
            .await,
        &["id"],
    );
    fails(
        c().get_feedback_item(by(
            &o.submitter,
            GetFeedbackItemRequest {
                id: valid_id.clone(),
            },
        ))
        .await,
        Code::NotFound,
    );
    let list = ListFeedbackItemsRequest {
        department_id: "x".into(),
        statuses: vec![99, 0],
        category: 99,
        owner_id: "y".into(),
        page_size: -1,
        ..Default::default()
    };
    names_fields(
        c().list_feedback_items(by(&o.admin, list)).await,
        &[
            "department_id",
            "statuses[0]",
            "statuses[1]",
            "category",
            "owner_id",
            "page_size",
        ],
    );
    let triage = ListFeedbackItemsRequest {
        triage: true,
        department_id: o.logistics.clone(),
        ..Default::default()
    };
    names_fields(
        c().list_feedback_items(by(&o.admin, triage)).await,
        &["triage"],
    );
    let timeline = ListFeedbackTimelineRequest {
        page_size: -1,
        ..Default::default()
    };
    names_fields(
        c().list_feedback_timeline(by(&o.admin, timeline)).await,
        &["id", "page_size"],
    );

    // The department's work.
    let item = s
        .submit(&o.submitter, report_to(&o.logistics, "走廊灯坏了"))
        .await
        .item
        .expect("item");
    let id = item.id.clone();
    names_fields(
        c().update_feedback_item(by(&o.logistics_head, UpdateFeedbackItemRequest::default()))
            .await,
        &["item"],
    );
    let update = UpdateFeedbackItemRequest {
        item: Some(FeedbackItem {
            id: "x".into(),
            etag: "e".into(),
            ..Default::default()
        }),
        update_mask: None,
        comment: String::new(),
    };
    names_fields(
        c().update_feedback_item(by(&o.logistics_head, update))
            .await,
        &["item.id", "item.etag", "comment", "update_mask"],
    );
    let mask = |paths: &[&str], priority: i32| UpdateFeedbackItemRequest {
        item: Some(FeedbackItem {
            id: id.clone(),
            priority,
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
        comment: "调整".into(),
    };
    names_fields(
        c().update_feedback_item(by(&o.logistics_head, mask(&["title"], 2)))
            .await,
        &["update_mask"],
    );
    names_fields(
        c().update_feedback_item(by(&o.logistics_head, mask(&["priority"], 0)))
            .await,
        &["item.priority"],
    );
    names_fields(
        c().update_feedback_item(by(&o.logistics_head, mask(&["priority"], 99)))
            .await,
        &["item.priority"],
    );
    names_fields(
        c().route_feedback(by(&o.admin, RouteFeedbackRequest::default()))
            .await,
        &["id", "department_id", "comment"],
    );
    let route = RouteFeedbackRequest {
        id: id.clone(),
        department_id: o.it.clone(),
        comment: "转信息中心".into(),
        etag: "v1".into(),
    };
    names_fields(c().route_feedback(by(&o.admin, route)).await, &["etag"]);
    names_fields(
        c().assign_feedback_owner(by(&o.logistics_head, AssignFeedbackOwnerRequest::default()))
            .await,
        &["id", "owner_id"],
    );
    let assign = AssignFeedbackOwnerRequest {
        id: id.clone(),
        owner_id: o.logistics_staff.id.clone(),
        comment: "长".repeat(10_001),
        etag: "-3".into(),
    };
    names_fields(
        c().assign_feedback_owner(by(&o.logistics_head, assign))
            .await,
        &["comment", "etag"],
    );
    names_fields(
        c().accept_feedback(by(&o.logistics_head, AcceptFeedbackRequest::default()))
            .await,
        &["id", "comment"],
    );
    let blank = StartFeedbackWorkRequest {
        id: id.clone(),
        comment: "   ".into(),
        etag: String::new(),
    };
    names_fields(
        c().start_feedback_work(by(&o.logistics_head, blank)).await,
        &["comment"],
    );
    let resolve = ResolveFeedbackRequest {
        id: id.clone(),
        ..Default::default()
    };
    names_fields(
        c().resolve_feedback(by(&o.logistics_head, resolve)).await,
        &["solution"],
    );
    let reply = AddFeedbackReplyRequest {
        request_id: "r".repeat(200),
        ..Default::default()
    };
    names_fields(
        c().add_feedback_reply(by(&o.logistics_head, reply)).await,
        &["request_id", "id", "text"],
    );

    // The submitter's answers.
    names_fields(
        c().confirm_resolution(by(&o.submitter, ConfirmResolutionRequest::default()))
            .await,
        &["id", "satisfaction"],
    );
    let six = ConfirmResolutionRequest {
        id: id.clone(),
        satisfaction: 6,
        comment: String::new(),
    };
    names_fields(
        c().confirm_resolution(by(&o.submitter, six)).await,
        &["satisfaction"],
    );
    let reopen = ReopenFeedbackRequest {
        id: id.clone(),
        comment: String::new(),
    };
    names_fields(
        c().reopen_feedback(by(&o.submitter, reopen)).await,
        &["comment"],
    );
    names_fields(
        c().get_feedback_by_code(GetFeedbackByCodeRequest::default())
            .await,
        &["follow_up_code"],
    );
    names_fields(
        c().get_feedback_by_code(GetFeedbackByCodeRequest {
            follow_up_code: "abc".into(),
        })
        .await,
        &["follow_up_code"],
    );
    let reply = ReplyByCodeRequest {
        follow_up_code: "x".into(),
        ..Default::default()
    };
    names_fields(c().reply_by_code(reply).await, &["follow_up_code", "text"]);
    let confirm = ConfirmResolutionByCodeRequest {
        satisfaction: 9,
        ..Default::default()
    };
    names_fields(
        c().confirm_resolution_by_code(confirm).await,
        &["follow_up_code", "satisfaction"],
    );
    let reopen = ReopenFeedbackByCodeRequest {
        follow_up_code: code.clone(),
        comment: String::new(),
    };
    names_fields(c().reopen_feedback_by_code(reopen).await, &["comment"]);

    // Policies, statistics, audit.
    names_fields(
        c().set_sla_policy(by(&o.admin, SetSlaPolicyRequest::default()))
            .await,
        &["policy"],
    );
    let empty = SetSlaPolicyRequest {
        policy: Some(SlaPolicy::default()),
    };
    names_fields(
        c().set_sla_policy(by(&o.admin, empty)).await,
        &[
            "policy.first_response",
            "policy.resolution",
            "policy.escalate_after",
            "policy.auto_close_after",
        ],
    );
    let wrong = SetSlaPolicyRequest {
        policy: Some(SlaPolicy {
            category: 99,
            priority: 0,
            first_response: duration(std::time::Duration::from_secs(30)),
            resolution: duration(400 * DAY),
            escalate_after: duration(HOUR),
            auto_close_after: duration(HOUR),
            update_time: None,
        }),
    };
    names_fields(
        c().set_sla_policy(by(&o.admin, wrong)).await,
        &[
            "policy.category",
            "policy.first_response",
            "policy.resolution",
        ],
    );
    let backwards = SetSlaPolicyRequest {
        policy: Some(SlaPolicy {
            first_response: duration(DAY),
            resolution: duration(HOUR),
            escalate_after: duration(HOUR),
            auto_close_after: duration(HOUR),
            ..Default::default()
        }),
    };
    names_fields(
        c().set_sla_policy(by(&o.admin, backwards)).await,
        &["policy.resolution"],
    );
    let delete = DeleteSlaPolicyRequest {
        category: 99,
        priority: 99,
    };
    names_fields(
        c().delete_sla_policy(by(&o.admin, delete)).await,
        &["category", "priority"],
    );
    let stats = GetFeedbackStatisticsRequest {
        department_id: "x".into(),
        person_id: "y".into(),
        ..Default::default()
    };
    names_fields(
        c().get_feedback_statistics(by(&o.admin, stats)).await,
        &["department_id", "person_id"],
    );
    names_fields(
        c().get_feedback_statistics(by(&o.admin, GetFeedbackStatisticsRequest::default()))
            .await,
        &["start_time", "end_time"],
    );
    let backwards = GetFeedbackStatisticsRequest {
        start_time: ts(T0),
        end_time: ts(T0 - H),
        ..Default::default()
    };
    names_fields(
        c().get_feedback_statistics(by(&o.admin, backwards)).await,
        &["end_time"],
    );
    let audit = ListAuditEntriesRequest {
        page_size: -1,
        ..Default::default()
    };
    names_fields(
        c().list_audit_entries(by(&o.admin, audit)).await,
        &["page_size"],
    );

    // Nothing bad was stored.
    let all = c()
        .list_feedback_items(by(&o.admin, ListFeedbackItemsRequest::default()))
        .await
        .expect("list")
        .into_inner()
        .items;
    assert_eq!(all.len(), 1);
    assert_eq!(s.get(&o.admin, &id).await, item);
}

/// Succeeds, or fails with `code`.
#[track_caller]
fn expect<T: std::fmt::Debug>(r: Result<tonic::Response<T>, tonic::Status>, code: Code) {
    if code == Code::Ok {
        if let Err(e) = r {
            panic!("expected success, got {e:?}");
        }
    } else {
        fails(r, code);
    }
}

async fn authorization_by_role(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let c = || s.c();
    expect(
        c().submit_feedback(tonic::Request::new(report("无令牌", "匿名调用")))
            .await,
        Code::Unauthenticated,
    );
    let item = s
        .submit(&o.submitter, report_to(&o.logistics, "会议室椅子坏了"))
        .await
        .item
        .expect("item");
    let id = item.id.clone();

    // Who sees the item.
    let get = |who: &Who| {
        let req = by(who, GetFeedbackItemRequest { id: id.clone() });
        let mut c = c();
        async move { c.get_feedback_item(req).await }
    };
    for who in [
        &o.admin,
        &o.auditor,
        &o.hq_head,
        &o.logistics_head,
        &o.logistics_clerk,
        &o.submitter,
    ] {
        expect(get(who).await, Code::Ok);
    }
    for who in [
        &o.it_staff,
        &o.it_head,
        &o.hr_head,
        &o.repairs_staff,
        &o.whistleblower,
        &o.service,
    ] {
        expect(get(who).await, Code::NotFound);
    }
    expect(
        c().get_feedback_item(GetFeedbackItemRequest { id: id.clone() })
            .await,
        Code::Unauthenticated,
    );
    let timeline = |who: &Who| {
        let req = by(
            who,
            ListFeedbackTimelineRequest {
                id: id.clone(),
                ..Default::default()
            },
        );
        let mut c = c();
        async move { c.list_feedback_timeline(req).await }
    };
    expect(timeline(&o.logistics_clerk).await, Code::Ok);
    expect(timeline(&o.it_staff).await, Code::NotFound);
    let list = |who: &Who, req: ListFeedbackItemsRequest| {
        let req = by(who, req);
        let mut c = c();
        async move { c.list_feedback_items(req).await }
    };
    let of_logistics = ListFeedbackItemsRequest {
        department_id: o.logistics.clone(),
        ..Default::default()
    };
    expect(
        list(&o.it_staff, of_logistics.clone()).await,
        Code::PermissionDenied,
    );
    expect(
        list(&o.it_head, of_logistics.clone()).await,
        Code::PermissionDenied,
    );
    expect(list(&o.hq_head, of_logistics.clone()).await, Code::Ok);
    expect(
        list(&o.service, ListFeedbackItemsRequest::default()).await,
        Code::PermissionDenied,
    );
    let triage = ListFeedbackItemsRequest {
        triage: true,
        ..Default::default()
    };
    expect(
        list(&o.logistics_head, triage.clone()).await,
        Code::PermissionDenied,
    );
    expect(list(&o.admin, triage).await, Code::Ok);
    let it_list = list(&o.it_staff, ListFeedbackItemsRequest::default())
        .await
        .expect("list");
    assert!(it_list.into_inner().items.is_empty());

    // Managing: heads (here and above) and admins; the policy turns others away.
    let assign = |who: &Who, owner: &Who| {
        let req = by(
            who,
            AssignFeedbackOwnerRequest {
                id: id.clone(),
                owner_id: owner.id.clone(),
                ..Default::default()
            },
        );
        let mut c = c();
        async move { c.assign_feedback_owner(req).await }
    };
    expect(
        assign(&o.logistics_staff, &o.logistics_staff).await,
        Code::PermissionDenied,
    );
    expect(assign(&o.it_head, &o.logistics_staff).await, Code::NotFound);
    expect(
        assign(&o.auditor, &o.logistics_staff).await,
        Code::PermissionDenied,
    );
    expect(assign(&o.hq_head, &o.logistics_staff).await, Code::Ok);
    let update = |who: &Who| {
        let req = by(
            who,
            UpdateFeedbackItemRequest {
                item: Some(FeedbackItem {
                    id: id.clone(),
                    priority: Priority::High as i32,
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["priority".into()],
                }),
                comment: "提高优先级".into(),
            },
        );
        let mut c = c();
        async move { c.update_feedback_item(req).await }
    };
    expect(update(&o.logistics_staff).await, Code::PermissionDenied);
    expect(update(&o.it_head).await, Code::NotFound);
    expect(update(&o.logistics_head).await, Code::Ok);
    let route = |who: &Who| {
        let req = by(
            who,
            RouteFeedbackRequest {
                id: id.clone(),
                department_id: o.it.clone(),
                comment: "转".into(),
                etag: String::new(),
            },
        );
        let mut c = c();
        async move { c.route_feedback(req).await }
    };
    expect(route(&o.logistics_clerk).await, Code::PermissionDenied);
    expect(route(&o.hr_head).await, Code::NotFound);

    // Working: the owner, heads and admins; not other members, auditors or the submitter.
    let accept = |who: &Who| {
        let req = by(
            who,
            AcceptFeedbackRequest {
                id: id.clone(),
                comment: "受理".into(),
                etag: String::new(),
            },
        );
        let mut c = c();
        async move { c.accept_feedback(req).await }
    };
    for who in [&o.logistics_clerk, &o.auditor, &o.submitter] {
        expect(accept(who).await, Code::PermissionDenied);
    }
    for who in [&o.it_staff, &o.service] {
        expect(accept(who).await, Code::NotFound);
    }
    expect(accept(&o.logistics_staff).await, Code::Ok);
    let start = |who: &Who| {
        let req = by(
            who,
            StartFeedbackWorkRequest {
                id: id.clone(),
                comment: "开始".into(),
                etag: String::new(),
            },
        );
        let mut c = c();
        async move { c.start_feedback_work(req).await }
    };
    expect(start(&o.logistics_clerk).await, Code::PermissionDenied);
    expect(start(&o.hq_head).await, Code::Ok);
    let reply = |who: &Who, internal: bool| {
        let req = by(
            who,
            AddFeedbackReplyRequest {
                id: id.clone(),
                text: "回复".into(),
                internal,
                ..Default::default()
            },
        );
        let mut c = c();
        async move { c.add_feedback_reply(req).await }
    };
    expect(reply(&o.auditor, false).await, Code::PermissionDenied);
    expect(
        reply(&o.logistics_clerk, false).await,
        Code::PermissionDenied,
    );
    expect(reply(&o.submitter, true).await, Code::PermissionDenied);
    expect(reply(&o.it_staff, false).await, Code::NotFound);
    expect(reply(&o.submitter, false).await, Code::Ok);
    expect(reply(&o.logistics_staff, true).await, Code::Ok);
    let resolve = |who: &Who| {
        let req = by(
            who,
            ResolveFeedbackRequest {
                id: id.clone(),
                solution: "已修好".into(),
                etag: String::new(),
            },
        );
        let mut c = c();
        async move { c.resolve_feedback(req).await }
    };
    expect(resolve(&o.submitter).await, Code::PermissionDenied);
    expect(resolve(&o.logistics_staff).await, Code::Ok);

    // Answering: only the submitter.
    let reopen = |who: &Who| {
        let req = by(
            who,
            ReopenFeedbackRequest {
                id: id.clone(),
                comment: "没修好".into(),
            },
        );
        let mut c = c();
        async move { c.reopen_feedback(req).await }
    };
    let confirm = |who: &Who| {
        let req = by(
            who,
            ConfirmResolutionRequest {
                id: id.clone(),
                satisfaction: 3,
                comment: String::new(),
            },
        );
        let mut c = c();
        async move { c.confirm_resolution(req).await }
    };
    for who in [&o.logistics_staff, &o.admin, &o.logistics_head] {
        expect(reopen(who).await, Code::PermissionDenied);
        expect(confirm(who).await, Code::PermissionDenied);
    }
    expect(confirm(&o.hr_head).await, Code::NotFound);
    expect(reopen(&o.submitter).await, Code::Ok);
    expect(resolve(&o.logistics_head).await, Code::Ok);
    expect(confirm(&o.submitter).await, Code::Ok);

    // Policies: admins change them, everybody signed in reads them.
    let policy = || SetSlaPolicyRequest {
        policy: Some(SlaPolicy {
            category: Category::Suggestion as i32,
            first_response: duration(2 * DAY),
            resolution: duration(14 * DAY),
            escalate_after: duration(DAY),
            auto_close_after: duration(7 * DAY),
            ..Default::default()
        }),
    };
    expect(
        c().set_sla_policy(by(&o.logistics_head, policy())).await,
        Code::PermissionDenied,
    );
    expect(
        c().set_sla_policy(by(&o.submitter, policy())).await,
        Code::PermissionDenied,
    );
    expect(c().set_sla_policy(by(&o.admin, policy())).await, Code::Ok);
    expect(
        c().list_sla_policies(ListSlaPoliciesRequest {}).await,
        Code::Unauthenticated,
    );
    expect(
        c().list_sla_policies(by(&o.submitter, ListSlaPoliciesRequest {}))
            .await,
        Code::Ok,
    );
    let delete = || DeleteSlaPolicyRequest {
        category: Category::Suggestion as i32,
        priority: 0,
    };
    expect(
        c().delete_sla_policy(by(&o.logistics_head, delete())).await,
        Code::PermissionDenied,
    );
    expect(
        c().delete_sla_policy(by(&o.admin, delete())).await,
        Code::Ok,
    );

    // Statistics: admins, auditors, services, heads for their subtree.
    let stats = |who: &Who, department: &str| {
        let req = by(
            who,
            GetFeedbackStatisticsRequest {
                department_id: department.into(),
                start_time: ts(T0),
                end_time: ts(T0 + D),
                ..Default::default()
            },
        );
        let mut c = c();
        async move { c.get_feedback_statistics(req).await }
    };
    for who in [&o.admin, &o.auditor, &o.service] {
        expect(stats(who, "").await, Code::Ok);
    }
    expect(stats(&o.logistics_head, &o.logistics).await, Code::Ok);
    expect(
        stats(&o.logistics_head, &o.it).await,
        Code::PermissionDenied,
    );
    expect(
        stats(&o.logistics_staff, &o.logistics).await,
        Code::PermissionDenied,
    );

    // The audit trail: admins and auditors.
    let audit = |who: &Who| {
        let req = by(who, ListAuditEntriesRequest::default());
        let mut c = c();
        async move { c.list_audit_entries(req).await }
    };
    expect(audit(&o.auditor).await, Code::Ok);
    expect(audit(&o.admin).await, Code::Ok);
    expect(audit(&o.logistics_head).await, Code::PermissionDenied);
    expect(audit(&o.submitter).await, Code::PermissionDenied);
}

async fn audit_trail(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let item = s
        .submit(&o.submitter, report_to(&o.it, "电脑中毒"))
        .await
        .item
        .expect("item");
    s.assign(&o.it_head, &item.id, &o.it_staff).await;
    s.accept(&o.it_staff, &item.id).await;
    s.resolve(&o.it_staff, &item.id, "已杀毒并更新系统").await;
    s.confirm(&o.submitter, &item.id, 5).await;
    let entries = s
        .c()
        .list_audit_entries(with_token(
            ListAuditEntriesRequest {
                resource: format!("feedback/{}", item.id),
                ..Default::default()
            },
            &o.auditor.token,
        ))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let got: Vec<(&str, &str)> = entries
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("feedback.submit", o.submitter.id.as_str()),
            ("feedback.assign", o.it_head.id.as_str()),
            ("feedback.accept", o.it_staff.id.as_str()),
            ("feedback.resolve", o.it_staff.id.as_str()),
            ("feedback.confirm", o.submitter.id.as_str()),
        ]
    );
    assert!(entries.iter().all(|e| e.time == ts(T0)));
    assert!(entries[0].detail_json.contains("\"satisfaction\":5"));
}

async fn directory_outage(backend: Backend) {
    let mut s = Suite::start(backend).await;
    let o = s.org.clone();
    let directory = s.directory.take().expect("directory");
    let addr = directory.addr;
    directory.stop().await.expect("directory stops");

    // A named department cannot be checked: try again later.
    let named = s
        .c()
        .submit_feedback(with_token(report_to(&o.it, "网络断了"), &o.submitter.token))
        .await;
    fails(named, Code::Unavailable);
    // Routing by duties waits: the item is kept, in triage, and routed later.
    let item = s
        .submit(
            &o.submitter,
            report("打印机又卡纸了", "The printer jams every morning"),
        )
        .await
        .item
        .expect("item");
    assert_eq!(
        (item.department_id.as_str(), item.routing()),
        ("", Routing::Triage)
    );

    // The directory comes back at the same address.
    let ctx = concord_kit::testing::context(
        s.dir_db.location.clone(),
        s.clock.clone() as concord_kit::clock::SharedClock,
        concord_kit::bus::InProcessBus::new(),
        concord_kit::testing::upstreams(&[], "directory"),
    );
    let service = (concord_directory::TARGET.start)(ctx)
        .await
        .expect("directory starts");
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("same port");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let handle = tokio::spawn(concord_kit::server::serve(
        listener,
        service,
        concord_kit::testing::verifier(),
        concord_kit::server::Limits::default(),
        shutdown.clone(),
    ));
    s.directory = Some(concord_kit::testing::TestServer {
        addr,
        shutdown,
        handle: Some(handle),
    });
    concord_kit::testing::wait_serving(&s.directory_url, "concord.directory.v1.DirectoryService")
        .await;
    let routed = eventually("routing after the outage", || async {
        // The retry backs off on the service's clock.
        s.advance(std::time::Duration::from_secs(10));
        let i = s.get(&o.admin, &item.id).await;
        (i.department_id == o.it).then_some(i)
    })
    .await;
    assert_eq!(routed.routing(), Routing::Duties);
    let entries = s.timeline(&o.it_head, &item.id).await;
    assert_eq!(entries.last().map(|e| e.author()), Some(Author::System));
}

async fn concurrent_work_on_one_item(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let item = s
        .submit(&o.submitter, report_to(&o.it, "全楼断网"))
        .await
        .item
        .expect("item");

    // Two people accept at once: one wins, the other sees the new state.
    let accept = |who: &Who| {
        let req = by(
            who,
            AcceptFeedbackRequest {
                id: item.id.clone(),
                comment: "我来处理".into(),
                etag: String::new(),
            },
        );
        let mut c = s.c();
        async move { c.accept_feedback(req).await }
    };
    let (a, b) = tokio::join!(accept(&o.it_head), accept(&o.admin));
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
    let loser = a.as_ref().err().or(b.as_ref().err()).expect("one fails");
    assert_eq!(loser.code(), Code::FailedPrecondition, "{loser:?}");

    // Twenty replies at once: all kept, numbered without gaps or repeats.
    let replies = (0..20).map(|i| {
        let req = by(
            &o.it_head,
            AddFeedbackReplyRequest {
                id: item.id.clone(),
                text: format!("进展 {i}"),
                internal: i % 2 == 0,
                ..Default::default()
            },
        );
        let mut c = s.c();
        async move { c.add_feedback_reply(req).await }
    });
    for r in futures::future::join_all(replies).await {
        r.expect("reply");
    }
    let entries = s.timeline(&o.it_head, &item.id).await;
    assert_eq!(entries.len(), 2 + 1 + 20);
    let mut ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), entries.len());
    let public = s.timeline(&o.submitter, &item.id).await;
    assert_eq!(public.len(), 1 + 1 + 10);
    assert_eq!(s.get(&o.admin, &item.id).await.etag, "22");
}

concord_kit::backend_tests!(
    routing_by_duties,
    closed_loop_with_an_owner,
    anonymous_loop,
    triage_and_transfer,
    sla_escalation,
    escalation_once_across_replicas_and_restarts,
    unanswered_resolutions_close_by_themselves,
    sla_policies_and_reclassification,
    statistics_are_exact,
    metrics_follow_the_items,
    lists_filter_and_page,
    bad_input_names_fields,
    authorization_by_role,
    audit_trail,
    directory_outage,
    concurrent_work_on_one_item,
);

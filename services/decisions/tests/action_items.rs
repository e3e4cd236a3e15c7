//! Action items, statistics, metrics and the telling of outcomes through the
//! gRPC API, on SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;

use common::*;
use concord_decisions::InformError;
use concord_kit::clock::to_timestamp;
use concord_kit::testing::Backend;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::decisions::v1::*;
use concord_proto::policy::v1::Role;
use tonic::Code;

fn item(
    _s: &Suite,
    title: &str,
    lead: &str,
    supporting: &[&str],
    owner: &Caller,
    due_ms: i64,
) -> CreateActionItemRequest {
    CreateActionItemRequest {
        title: title.into(),
        description: "按决议执行".into(),
        lead_department_id: lead.into(),
        supporting_department_ids: supporting.iter().map(|d| d.to_string()).collect(),
        owner_id: owner.id.clone(),
        due_time: Some(to_timestamp(due_ms)),
        ..Default::default()
    }
}

async fn create_item(s: &Suite, who: &Caller, req: CreateActionItemRequest) -> ActionItem {
    s.i()
        .create_action_item(who.req(req))
        .await
        .expect("create action item")
        .into_inner()
}

async fn report(
    s: &Suite,
    who: &Caller,
    id: &str,
    text: &str,
    status: ActionItemStatus,
) -> ReportProgressResponse {
    s.i()
        .report_progress(who.req(ReportProgressRequest {
            action_item_id: id.into(),
            text: text.into(),
            status: status as i32,
            ..Default::default()
        }))
        .await
        .unwrap_or_else(|e| panic!("report: {e:?}"))
        .into_inner()
}

async fn list(s: &Suite, req: ListActionItemsRequest) -> Vec<String> {
    s.i()
        .list_action_items(s.org.it_members[2].req(req))
        .await
        .expect("list")
        .into_inner()
        .action_items
        .into_iter()
        .map(|a| a.title)
        .collect()
}

async fn items_crud_and_lists(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let qian = &o.logistics_members[0];
    let cross = create_item(
        &s,
        &o.coordinator,
        item(
            &s,
            "更新门禁系统",
            &o.it,
            &[&o.logistics, &o.finance],
            zhang,
            T0 + 7 * DAY,
        ),
    )
    .await;
    assert_eq!(
        (cross.status, cross.overdue, cross.etag.as_str()),
        (ActionItemStatus::Open as i32, false, "1")
    );
    assert_eq!(
        cross.supporting_department_ids,
        [o.logistics.clone(), o.finance.clone()]
    );
    assert_eq!(
        (cross.created_by.as_str(), cross.owner_id.as_str()),
        (o.coordinator.id.as_str(), zhang.id.as_str())
    );
    let own = create_item(
        &s,
        &o.logistics_head,
        item(
            &s,
            "Replace fire extinguishers 更换灭火器",
            &o.logistics,
            &[],
            qian,
            T0 + 3 * DAY,
        ),
    )
    .await;
    let early = create_item(
        &s,
        &o.it_head,
        item(&s, "备份服务器", &o.it, &[], &o.it_members[1], T0 + DAY),
    )
    .await;
    let got = s
        .i()
        .get_action_item(
            o.finance_member
                .req(GetActionItemRequest { id: own.id.clone() }),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, own);
    fails(
        s.i()
            .get_action_item(zhang.req(GetActionItemRequest {
                id: concord_kit::ids::new_id(),
            }))
            .await,
        Code::NotFound,
    );

    // Earliest due first; by lead department, with supporting ones, by owner.
    assert_eq!(
        list(&s, Default::default()).await,
        [
            "备份服务器",
            "Replace fire extinguishers 更换灭火器",
            "更新门禁系统"
        ]
    );
    let lead = |d: &str| ListActionItemsRequest {
        department_id: d.into(),
        ..Default::default()
    };
    assert_eq!(list(&s, lead(&o.it)).await, ["备份服务器", "更新门禁系统"]);
    assert_eq!(
        list(&s, lead(&o.logistics)).await,
        ["Replace fire extinguishers 更换灭火器"]
    );
    let with_support = ListActionItemsRequest {
        department_id: o.logistics.clone(),
        include_supporting: true,
        ..Default::default()
    };
    assert_eq!(
        list(&s, with_support).await,
        ["Replace fire extinguishers 更换灭火器", "更新门禁系统"]
    );
    let by_owner = ListActionItemsRequest {
        owner_id: zhang.id.clone(),
        ..Default::default()
    };
    assert_eq!(list(&s, by_owner).await, ["更新门禁系统"]);
    let page = s
        .i()
        .list_action_items(zhang.req(ListActionItemsRequest {
            page_size: 2,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.action_items.len(), 2);
    let rest = s
        .i()
        .list_action_items(zhang.req(ListActionItemsRequest {
            page_size: 2,
            page_token: page.next_page_token.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        rest.action_items
            .iter()
            .map(|a| a.id.clone())
            .collect::<Vec<_>>(),
        vec![cross.id.clone()]
    );
    names(
        s.i()
            .list_action_items(zhang.req(ListActionItemsRequest {
                page_size: 2,
                page_token: page.next_page_token,
                owner_id: zhang.id.clone(),
                ..Default::default()
            }))
            .await,
        &["page_token"],
    );

    // Changes with a mask and the etag.
    let update = |who: &Caller, a: ActionItem, paths: &[&str]| {
        let mut c = s.i();
        let r = who.req(UpdateActionItemRequest {
            action_item: Some(a),
            update_mask: mask(paths),
        });
        async move { c.update_action_item(r).await }
    };
    let mut later = early.clone();
    later.due_time = Some(to_timestamp(T0 + 2 * DAY));
    later.title = "备份服务器（全量）".into();
    let changed = update(&o.it_head, later.clone(), &["due_time", "title"])
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (changed.etag.as_str(), changed.title.as_str()),
        ("2", "备份服务器（全量）")
    );
    fails(update(&o.it_head, later, &["title"]).await, Code::Aborted);
    // Reassigning a cross-department item is the coordinator's.
    let mut reassign = cross.clone();
    reassign.owner_id = o.it_members[1].id.clone();
    fails(
        update(&o.it_head, reassign.clone(), &["owner_id"]).await,
        Code::PermissionDenied,
    );
    let moved = update(&o.coordinator, reassign, &["owner_id"])
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.owner_id, o.it_members[1].id);
    // The head of the lead department still manages its due date.
    let mut due = moved.clone();
    due.due_time = Some(to_timestamp(T0 + 9 * DAY));
    update(&o.it_head, due, &["due_time"]).await.unwrap();
    let mut supported = moved.clone();
    supported.etag = String::new();
    supported.supporting_department_ids = vec![o.it.clone()];
    names(
        update(&o.coordinator, supported, &["supporting_department_ids"]).await,
        &["action_item.supporting_department_ids"],
    );

    // Items that follow a decision.
    let p = s
        .voting(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    let mut follow = item(&s, "执行新午休", &o.it, &[], zhang, T0 + 5 * DAY);
    follow.proposal_id = p.id.clone();
    fails(
        s.i()
            .create_action_item(o.it_head.req(follow.clone()))
            .await,
        Code::FailedPrecondition,
    );
    s.vote(zhang, &p.id, "approve").await;
    s.advance_by(zhang, &p.id, Stage::Voting, "").await;
    let f = create_item(&s, &o.it_head, follow).await;
    assert_eq!(f.proposal_id, p.id);
    let by_proposal = ListActionItemsRequest {
        proposal_id: p.id.clone(),
        ..Default::default()
    };
    assert_eq!(list(&s, by_proposal).await, ["执行新午休"]);
    assert!(
        s.actions(&p.id)
            .await
            .contains(&"action_item.create".to_string())
    );

    // Idempotent creation.
    let mut again = item(&s, "一次就好", &o.it, &[], zhang, T0 + 5 * DAY);
    again.request_id = "item-1".into();
    let a = create_item(&s, &o.it_head, again.clone()).await;
    let b = create_item(&s, &o.it_head, again).await;
    assert_eq!(a, b);
    assert_eq!(
        list(
            &s,
            ListActionItemsRequest {
                owner_id: zhang.id.clone(),
                ..Default::default()
            }
        )
        .await
        .iter()
        .filter(|t| *t == "一次就好")
        .count(),
        1
    );
}

async fn progress_and_status(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let a = create_item(
        &s,
        &o.coordinator,
        item(&s, "机房改造", &o.it, &[&o.logistics], zhang, T0 + 2 * DAY),
    )
    .await;
    let r = report(
        &s,
        zhang,
        &a.id,
        "已联系供应商",
        ActionItemStatus::InProgress,
    )
    .await;
    assert_eq!(
        r.action_item.as_ref().unwrap().status,
        ActionItemStatus::InProgress as i32
    );
    assert_eq!(
        r.note.as_ref().unwrap().status,
        ActionItemStatus::InProgress as i32
    );
    // The supporting department's head adds notes, not statuses.
    let n = report(
        &s,
        &o.logistics_head,
        &a.id,
        "后勤已腾出场地",
        ActionItemStatus::Unspecified,
    )
    .await;
    assert_eq!(n.note.unwrap().status, ActionItemStatus::Unspecified as i32);
    let refused = s
        .i()
        .report_progress(o.logistics_head.req(ReportProgressRequest {
            action_item_id: a.id.clone(),
            text: "完成".into(),
            status: ActionItemStatus::Done as i32,
            ..Default::default()
        }))
        .await;
    fails(refused, Code::PermissionDenied);
    // Neither a colleague nor another department.
    for who in [&o.it_members[1], &o.finance_head] {
        let r = s
            .i()
            .report_progress(who.req(ReportProgressRequest {
                action_item_id: a.id.clone(),
                text: "?".into(),
                ..Default::default()
            }))
            .await;
        fails(r, Code::PermissionDenied);
    }
    report(
        &s,
        zhang,
        &a.id,
        "等待电力改造 Waiting for power works",
        ActionItemStatus::Blocked,
    )
    .await;
    s.advance(DAY);
    let done = report(&s, &o.it_head, &a.id, "验收完成", ActionItemStatus::Done).await;
    let item = done.action_item.unwrap();
    assert_eq!(
        (item.status, item.overdue),
        (ActionItemStatus::Done as i32, false)
    );
    assert_eq!(item.done_time, Some(to_timestamp(T0 + DAY)));
    // Past its due time a done item is not overdue.
    s.advance(2 * DAY);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let got = s
        .i()
        .get_action_item(zhang.req(GetActionItemRequest { id: a.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(!got.overdue);
    // Idempotent notes.
    let once = ReportProgressRequest {
        request_id: "note-1".into(),
        action_item_id: a.id.clone(),
        text: "补充说明".into(),
        ..Default::default()
    };
    let x = s
        .i()
        .report_progress(zhang.req(once.clone()))
        .await
        .unwrap()
        .into_inner();
    let y = s
        .i()
        .report_progress(zhang.req(once))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(x, y);
    let notes = s
        .i()
        .list_progress_notes(o.finance_member.req(ListProgressNotesRequest {
            action_item_id: a.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .notes;
    let texts: Vec<_> = notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "已联系供应商",
            "后勤已腾出场地",
            "等待电力改造 Waiting for power works",
            "验收完成",
            "补充说明"
        ]
    );
    assert_eq!(notes[3].author_id, o.it_head.id);
    // Reopened past its due time, it is overdue again.
    let reopened = report(&s, zhang, &a.id, "返工", ActionItemStatus::InProgress)
        .await
        .action_item
        .unwrap();
    assert!(reopened.overdue && reopened.done_time.is_none());
    let audit = s
        .p()
        .list_audit_entries(o.auditor.req(ListAuditEntriesRequest {
            resource: format!("action-items/{}", a.id),
            page_size: 100,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let actions: Vec<_> = audit.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "action_item.create",
            "action_item.progress",
            "action_item.progress",
            "action_item.progress",
            "action_item.progress",
            "action_item.progress",
            "action_item.progress"
        ]
    );
}

async fn overdue_items_are_flagged_and_counted(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let dept = s.department("档案室 Archives", &o.root).await;
    let head = s.person("档案室主任", &dept, &[Role::DepartmentHead]).await;
    let clerk = s.person("Carol 档案员", &dept, &[Role::Member]).await;
    let a = create_item(
        &s,
        &head,
        item(&s, "整理档案", &dept, &[], &clerk, T0 + DAY),
    )
    .await;
    let b = create_item(
        &s,
        &head,
        item(&s, "数字化扫描", &dept, &[], &clerk, T0 + 2 * DAY),
    )
    .await;
    let c = create_item(
        &s,
        &head,
        item(&s, "归档", &dept, &[], &clerk, T0 + 2 * DAY),
    )
    .await;
    let overdue = |d: &str| ListActionItemsRequest {
        department_id: d.into(),
        overdue_only: true,
        ..Default::default()
    };
    assert!(list(&s, overdue(&dept)).await.is_empty());
    let gauge = |d: String| {
        move || {
            let text = concord_kit::metrics::render();
            let line = format!("concord_decisions_action_items_overdue{{department_id=\"{d}\"}}");
            text.lines()
                .find(|l| l.starts_with(&line))
                .map(|l| l[line.len()..].trim().to_string())
        }
    };
    assert_eq!(gauge(dept.clone())().as_deref(), Some("0"));
    s.advance(DAY);
    // The job flags the first item at its due time.
    eventually(|| async {
        let got = s
            .i()
            .get_action_item(clerk.req(GetActionItemRequest { id: a.id.clone() }))
            .await
            .unwrap()
            .into_inner();
        (got.etag == "2").then_some(())
    })
    .await;
    let flagged = s
        .i()
        .get_action_item(clerk.req(GetActionItemRequest { id: a.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(flagged.overdue);
    assert_eq!(list(&s, overdue(&dept)).await, ["整理档案"]);
    assert_eq!(gauge(dept.clone())().as_deref(), Some("1"));
    let audit = s
        .p()
        .list_audit_entries(o.admin.req(ListAuditEntriesRequest {
            resource: format!("action-items/{}", a.id),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor.as_str()),
        ("action_item.overdue", "system:decisions")
    );
    // Done on time, the third never becomes overdue.
    report(&s, &clerk, &c.id, "已归档", ActionItemStatus::Done).await;
    s.advance(DAY);
    eventually(|| async { (list(&s, overdue(&dept)).await.len() == 2).then_some(()) }).await;
    assert_eq!(list(&s, overdue(&dept)).await, ["整理档案", "数字化扫描"]);
    eventually(|| async { (gauge(dept.clone())().as_deref() == Some("2")).then_some(()) }).await;
    // A due date moved later clears the flag; done late keeps it.
    let mut moved = s
        .i()
        .get_action_item(head.req(GetActionItemRequest { id: b.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    moved.due_time = Some(to_timestamp(s.now() + DAY));
    let moved = s
        .i()
        .update_action_item(head.req(UpdateActionItemRequest {
            action_item: Some(moved),
            update_mask: mask(&["due_time"]),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!moved.overdue);
    let late = report(&s, &clerk, &a.id, "终于完成", ActionItemStatus::Done)
        .await
        .action_item
        .unwrap();
    assert!(late.overdue);
    assert!(list(&s, overdue(&dept)).await.is_empty());
    assert_eq!(gauge(dept.clone())().as_deref(), Some("0"));
    // Other departments see theirs only.
    assert!(list(&s, overdue(&o.it)).await.is_empty());
}

async fn items_authorization(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let single = item(&s, "巡检", &o.it, &[], zhang, T0 + DAY);
    let cross = item(&s, "联合巡检", &o.it, &[&o.logistics], zhang, T0 + DAY);
    let create = |who: &Caller, r: CreateActionItemRequest| {
        let mut c = s.i();
        let r = who.req(r);
        async move { c.create_action_item(r).await }
    };
    // Policy: members, auditors and services create nothing.
    for who in [zhang, &o.auditor, &o.service] {
        fails(create(who, single.clone()).await, Code::PermissionDenied);
    }
    // Heads: their own department, single-department, their own people.
    fails(
        create(&o.logistics_head, single.clone()).await,
        Code::PermissionDenied,
    );
    fails(
        create(&o.it_head, cross.clone()).await,
        Code::PermissionDenied,
    );
    let outsider = item(&s, "巡检", &o.it, &[], &o.finance_member, T0 + DAY);
    fails(
        create(&o.it_head, outsider.clone()).await,
        Code::PermissionDenied,
    );
    let a = create(&o.it_head, single.clone())
        .await
        .unwrap()
        .into_inner();
    // Coordinators and admins: anything.
    create(&o.coordinator, cross.clone()).await.unwrap();
    create(&o.coordinator, outsider).await.unwrap();
    create(&o.admin, cross).await.unwrap();
    // Updates: policy first, then the resource rules.
    let update = |who: &Caller, a: ActionItem, paths: &[&str]| {
        let mut c = s.i();
        let r = who.req(UpdateActionItemRequest {
            action_item: Some(a),
            update_mask: mask(paths),
        });
        async move { c.update_action_item(r).await }
    };
    let mut x = a.clone();
    x.etag = String::new();
    x.title = "巡检（每周）".into();
    for who in [zhang, &o.auditor, &o.service] {
        fails(
            update(who, x.clone(), &["title"]).await,
            Code::PermissionDenied,
        );
    }
    fails(
        update(&o.logistics_head, x.clone(), &["title"]).await,
        Code::PermissionDenied,
    );
    let mut widen = x.clone();
    widen.supporting_department_ids = vec![o.finance.clone()];
    fails(
        update(&o.it_head, widen.clone(), &["supporting_department_ids"]).await,
        Code::PermissionDenied,
    );
    let mut hand_over = x.clone();
    hand_over.lead_department_id = o.finance.clone();
    fails(
        update(&o.it_head, hand_over.clone(), &["lead_department_id"]).await,
        Code::PermissionDenied,
    );
    update(&o.it_head, x.clone(), &["title"]).await.unwrap();
    update(&o.coordinator, widen, &["supporting_department_ids"])
        .await
        .unwrap();
    // Progress: the auditor and the service never; reads for everybody.
    for who in [&o.auditor, &o.service] {
        let r = s
            .i()
            .report_progress(who.req(ReportProgressRequest {
                action_item_id: a.id.clone(),
                text: "x".into(),
                ..Default::default()
            }))
            .await;
        fails(r, Code::PermissionDenied);
    }
    for who in [&o.auditor, &o.service, &o.finance_member] {
        assert!(
            s.i()
                .get_action_item(who.req(GetActionItemRequest { id: a.id.clone() }))
                .await
                .is_ok()
        );
        assert!(
            s.i()
                .list_action_items(who.req(ListActionItemsRequest::default()))
                .await
                .is_ok()
        );
        assert!(
            s.i()
                .list_progress_notes(who.req(ListProgressNotesRequest {
                    action_item_id: a.id.clone(),
                    ..Default::default()
                }))
                .await
                .is_ok()
        );
    }
    fails(
        s.i()
            .get_action_item(tonic::Request::new(GetActionItemRequest {
                id: a.id.clone(),
            }))
            .await,
        Code::Unauthenticated,
    );
}

async fn items_bad_input(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let c = &o.coordinator;
    let bad = "nope".to_string();
    names(
        s.i()
            .create_action_item(c.req(CreateActionItemRequest {
                request_id: "r".repeat(129),
                title: " ".into(),
                description: "\u{0}".into(),
                proposal_id: bad.clone(),
                lead_department_id: String::new(),
                supporting_department_ids: vec![bad.clone(), o.it.clone(), o.it.clone()],
                owner_id: bad.clone(),
                due_time: None,
            }))
            .await,
        &[
            "request_id",
            "title",
            "description",
            "proposal_id",
            "lead_department_id",
            "supporting_department_ids[0]",
            "supporting_department_ids[2]",
            "owner_id",
            "due_time",
        ],
    );
    let mut r = item(&s, "过去", &o.it, &[&o.it], &o.it_members[0], T0 - 1);
    r.title = "第一行\n第二行".into();
    names(
        s.i().create_action_item(c.req(r)).await,
        &["title", "supporting_department_ids[0]", "due_time"],
    );
    // Ids that name nothing, or nobody active.
    let ghost = concord_kit::ids::new_id();
    let r = item(
        &s,
        "x",
        &ghost,
        &[&o.it, &concord_kit::ids::new_id()],
        &o.it_members[0],
        T0 + DAY,
    );
    names(
        s.i().create_action_item(c.req(r)).await,
        &["lead_department_id", "supporting_department_ids[1]"],
    );
    let mut r = item(&s, "x", &o.it, &[], &o.it_members[0], T0 + DAY);
    r.owner_id = ghost.clone();
    names(
        s.i().create_action_item(c.req(r.clone())).await,
        &["owner_id"],
    );
    r.owner_id = o.it_members[0].id.clone();
    r.proposal_id = ghost.clone();
    names(s.i().create_action_item(c.req(r)).await, &["proposal_id"]);
    // Reads and lists.
    names(
        s.i()
            .get_action_item(c.req(GetActionItemRequest { id: bad.clone() }))
            .await,
        &["id"],
    );
    names(
        s.i()
            .list_action_items(c.req(ListActionItemsRequest {
                department_id: String::new(),
                include_supporting: true,
                owner_id: bad.clone(),
                status: 17,
                overdue_only: false,
                proposal_id: bad.clone(),
                page_size: -2,
                page_token: String::new(),
            }))
            .await,
        &[
            "include_supporting",
            "owner_id",
            "status",
            "proposal_id",
            "page_size",
        ],
    );
    // Updates.
    let a = create_item(&s, c, item(&s, "x", &o.it, &[], &o.it_members[0], T0 + DAY)).await;
    names(
        s.i()
            .update_action_item(c.req(UpdateActionItemRequest {
                action_item: None,
                update_mask: None,
            }))
            .await,
        &["update_mask", "action_item"],
    );
    let mut bad_item = a.clone();
    bad_item.id = bad.clone();
    bad_item.etag = "x".into();
    bad_item.title = String::new();
    bad_item.due_time = Some(to_timestamp(T0 - DAY));
    bad_item.owner_id = String::new();
    names(
        s.i()
            .update_action_item(c.req(UpdateActionItemRequest {
                action_item: Some(bad_item),
                update_mask: mask(&["title", "due_time", "owner_id", "status"]),
            }))
            .await,
        &[
            "action_item.id",
            "action_item.etag",
            "action_item.title",
            "action_item.due_time",
            "action_item.owner_id",
            "update_mask",
        ],
    );
    let mut nobody = a.clone();
    nobody.owner_id = ghost.clone();
    names(
        s.i()
            .update_action_item(c.req(UpdateActionItemRequest {
                action_item: Some(nobody),
                update_mask: mask(&["owner_id"]),
            }))
            .await,
        &["action_item.owner_id"],
    );
    let mut missing = a.clone();
    missing.id = ghost.clone();
    fails(
        s.i()
            .update_action_item(c.req(UpdateActionItemRequest {
                action_item: Some(missing),
                update_mask: mask(&["title"]),
            }))
            .await,
        Code::NotFound,
    );
    // Progress.
    names(
        s.i()
            .report_progress(c.req(ReportProgressRequest {
                request_id: "r".repeat(200),
                action_item_id: bad.clone(),
                text: String::new(),
                status: 9,
            }))
            .await,
        &["request_id", "action_item_id", "text", "status"],
    );
    fails(
        s.i()
            .report_progress(c.req(ReportProgressRequest {
                action_item_id: ghost.clone(),
                text: "x".into(),
                ..Default::default()
            }))
            .await,
        Code::NotFound,
    );
    names(
        s.i()
            .list_progress_notes(c.req(ListProgressNotesRequest {
                action_item_id: bad,
                page_size: -1,
                ..Default::default()
            }))
            .await,
        &["action_item_id", "page_size"],
    );
}

/// Statistics per department, subtree, person and period, checked by exact
/// values.
async fn statistics(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let (zhang, li) = (&o.it_members[0], &o.it_members[1]);
    let qian = &o.logistics_members[0];
    // A: IT and logistics approve; 3 of 4 IT voters, logistics' head and (by
    // proxy) 钱一. Decided two hours after creation.
    let a = s
        .voting(&o.admin, {
            let mut r = s.draft(&[&o.it, &o.logistics], VotingRule::SimpleMajority, 50);
            r.owning_department_id = o.it.clone();
            r
        })
        .await;
    for who in [&o.it_head, zhang, li] {
        s.vote(who, &a.id, "approve").await;
    }
    s.vote(&o.logistics_head, &a.id, "reject").await;
    s.p()
        .delegate_vote(qian.req(DelegateVoteRequest {
            proposal_id: a.id.clone(),
            delegate_id: o.logistics_head.id.clone(),
        }))
        .await
        .unwrap();
    s.advance(2 * HOUR);
    assert_eq!(
        s.advance_by(&o.admin, &a.id, Stage::Voting, "").await.stage,
        Stage::Decided as i32
    );
    // B: IT alone, nobody votes: no quorum, four hours after creation.
    let b = s
        .voting(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 50))
        .await;
    s.advance(4 * HOUR);
    assert_eq!(
        s.advance_by(zhang, &b.id, Stage::Voting, "").await.stage,
        Stage::NoQuorum as i32
    );
    // Items: IT on time, IT never done, IT late; logistics on time.
    let on_time = create_item(&s, &o.it_head, item(&s, "一", &o.it, &[], zhang, T0 + DAY)).await;
    create_item(&s, &o.it_head, item(&s, "二", &o.it, &[], zhang, T0 + DAY)).await;
    let late = create_item(&s, &o.it_head, item(&s, "三", &o.it, &[], li, T0 + 3 * DAY)).await;
    let logi = create_item(
        &s,
        &o.logistics_head,
        item(&s, "四", &o.logistics, &[], qian, T0 + 2 * DAY),
    )
    .await;
    report(&s, zhang, &on_time.id, "完成", ActionItemStatus::Done).await;
    report(&s, qian, &logi.id, "完成", ActionItemStatus::Done).await;
    s.advance(4 * DAY);
    report(&s, li, &late.id, "迟了", ActionItemStatus::Done).await;
    // C: decided after the period.
    let mut late_vote = s.draft(&[&o.finance], VotingRule::SimpleMajority, 0);
    late_vote.voting_end_time = Some(to_timestamp(T0 + 20 * DAY));
    let c = s.voting(&o.finance_head, late_vote).await;
    s.vote(&o.finance_head, &c.id, "approve").await;
    s.advance(10 * DAY);
    s.advance_by(&o.finance_head, &c.id, Stage::Voting, "")
        .await;

    let stats = |who: &Caller, department: &str, subs: bool, person: &str| {
        let mut cl = s.p();
        let r = who.req(GetDecisionStatisticsRequest {
            department_id: department.into(),
            include_sub_departments: subs,
            person_id: person.into(),
            start_time: Some(to_timestamp(T0)),
            end_time: Some(to_timestamp(T0 + 10 * DAY)),
        });
        async move { cl.get_decision_statistics(r).await }
    };
    let it = stats(&o.service, &o.it, false, "")
        .await
        .unwrap()
        .into_inner();
    let hours = |h: i64| {
        Some(prost_types::Duration {
            seconds: h * 3600,
            nanos: 0,
        })
    };
    assert_eq!(
        it,
        DecisionStatistics {
            start_time: Some(to_timestamp(T0)),
            end_time: Some(to_timestamp(T0 + 10 * DAY)),
            proposals_decided: 2,
            proposals_passed: 1,
            median_time_to_decide: hours(2),
            proposals_taken_part: 1,
            votes_eligible: 8,
            votes_cast: 3,
            participation: 0.375,
            action_items_assigned: 3,
            action_items_due: 3,
            action_items_done_on_time: 1,
            action_items_overdue: 2,
        }
    );
    let logistics = stats(&o.logistics_head, &o.logistics, false, "")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            logistics.proposals_decided,
            logistics.proposals_taken_part,
            logistics.votes_eligible,
            logistics.votes_cast
        ),
        (1, 1, 3, 2)
    );
    assert_eq!(
        (
            logistics.action_items_due,
            logistics.action_items_done_on_time,
            logistics.action_items_overdue
        ),
        (1, 1, 0)
    );
    // The whole organisation, and the root's subtree, are the same here.
    let all = stats(&o.auditor, "", false, "").await.unwrap().into_inner();
    let root = stats(&o.admin, &o.root, true, "")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all, root);
    assert_eq!(
        (
            all.proposals_decided,
            all.votes_eligible,
            all.votes_cast,
            all.action_items_due
        ),
        (2, 11, 5, 4)
    );
    assert_eq!(all.median_time_to_decide, hours(2));
    // The head's subtree includes 网络科 (which has nothing).
    let subtree = stats(&o.it_head, &o.it, true, "")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(subtree, it);
    // One person.
    let z = stats(&o.it_head, "", false, &zhang.id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            z.proposals_decided,
            z.votes_eligible,
            z.votes_cast,
            z.proposals_taken_part
        ),
        (2, 2, 1, 1)
    );
    assert_eq!(
        (
            z.action_items_assigned,
            z.action_items_due,
            z.action_items_done_on_time,
            z.action_items_overdue
        ),
        (2, 2, 1, 1)
    );
    // A later period holds C only.
    let later = s
        .p()
        .get_decision_statistics(o.admin.req(GetDecisionStatisticsRequest {
            start_time: Some(to_timestamp(T0 + 10 * DAY)),
            end_time: Some(to_timestamp(T0 + 30 * DAY)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            later.proposals_decided,
            later.votes_eligible,
            later.votes_cast,
            later.action_items_due
        ),
        (1, 2, 1, 0)
    );

    // Who may read: heads only their own subtree.
    fails(
        stats(&o.it_head, &o.logistics, false, "").await,
        Code::PermissionDenied,
    );
    fails(
        stats(&o.it_head, "", false, "").await,
        Code::PermissionDenied,
    );
    fails(
        stats(&o.it_head, "", false, &qian.id).await,
        Code::PermissionDenied,
    );
    for who in [zhang, &o.coordinator] {
        fails(stats(who, &o.it, false, "").await, Code::PermissionDenied);
    }
    // Bad input.
    let req =
        |d: &str, p: &str, start: Option<i64>, end: Option<i64>| GetDecisionStatisticsRequest {
            department_id: d.into(),
            include_sub_departments: false,
            person_id: p.into(),
            start_time: start.map(to_timestamp),
            end_time: end.map(to_timestamp),
        };
    names(
        s.p()
            .get_decision_statistics(o.admin.req(req("x", "y", None, None)))
            .await,
        &["department_id", "person_id", "start_time", "end_time"],
    );
    names(
        s.p()
            .get_decision_statistics(o.admin.req(req("", "", Some(T0), Some(T0))))
            .await,
        &["end_time"],
    );
    let ghost = concord_kit::ids::new_id();
    names(
        s.p()
            .get_decision_statistics(o.admin.req(req(&ghost, "", Some(T0), Some(T0 + DAY))))
            .await,
        &["department_id"],
    );
    names(
        s.p()
            .get_decision_statistics(o.admin.req(req("", &ghost, Some(T0), Some(T0 + DAY))))
            .await,
        &["person_id"],
    );
    let mut sub = req(&ghost, "", Some(T0), Some(T0 + DAY));
    sub.include_sub_departments = true;
    names(
        s.p().get_decision_statistics(o.admin.req(sub)).await,
        &["department_id"],
    );
}

/// The KPIs are exported under their names.
async fn metrics_are_exported(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let p = s
        .voting(&o.it_head, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    s.vote(&o.it_head, &p.id, "approve").await;
    s.advance(DAY / 2);
    s.advance_by(&o.it_head, &p.id, Stage::Voting, "").await;
    let a = create_item(
        &s,
        &o.it_head,
        item(&s, "指标", &o.it, &[], &o.it_head, s.now() + DAY),
    )
    .await;
    report(&s, &o.it_head, &a.id, "完成", ActionItemStatus::Done).await;
    let text = concord_kit::metrics::render();
    let done = format!(
        "concord_decisions_action_items_completed_total{{department_id=\"{}\",on_time=\"true\"}} 1",
        o.it
    );
    assert!(text.contains(&done), "{done} missing");
    for needle in [
        "concord_decisions_proposals{stage=\"decided\"}",
        "concord_decisions_proposals{stage=\"draft\"}",
        "concord_decisions_cycle_seconds_bucket{le=\"86400\"}",
        "concord_decisions_cycle_seconds_count",
        "concord_decisions_votes_cast_total",
        "concord_decisions_action_items_overdue{department_id=",
        "concord_decisions_action_items_open{department_id=",
    ] {
        assert!(text.contains(needle), "{needle} missing");
    }
}

fn recorded(r: &Recorder) -> Vec<concord_decisions::OutcomeNotice> {
    r.notices.lock().unwrap().clone()
}

/// The informed departments are told the outcome once, also when the
/// first attempt fails; a refusal that persists is recorded.
async fn outcomes_are_told_to_informed_departments(backend: Backend) {
    let recorder = Arc::new(Recorder::default());
    recorder
        .failures
        .lock()
        .unwrap()
        .push(InformError::Transient("notices restarting".into()));
    let s = Suite::start_telling(backend, Telling::Recorder(recorder.clone())).await;
    let o = &s.org;
    let mut req = s.draft(&[&o.it], VotingRule::SimpleMajority, 0);
    req.options = vec!["周一例会".into(), "周五例会 Friday".into()];
    for d in [&o.finance, &o.logistics] {
        req.participants.push(Participant {
            department_id: d.clone(),
            role: ParticipationRole::Informed as i32,
        });
    }
    let p = s.voting(&o.it_head, req).await;
    s.vote(&o.it_head, &p.id, "2").await;
    s.advance_by(&o.it_head, &p.id, Stage::Voting, "方便各部门周末前汇总")
        .await;
    // The first attempt fails; the retry a second later delivers.
    eventually(|| async { recorder.failures.lock().unwrap().is_empty().then_some(()) }).await;
    assert!(recorded(&recorder).is_empty());
    let informed = eventually_advancing(&s, 1_001, || async {
        let p = s.get(&p.id).await;
        p.outcome.filter(|o| !o.notice_id.is_empty())
    })
    .await;
    assert_eq!(informed.notice_id, "notice-1");
    let sent = recorded(&recorder);
    assert_eq!(sent.len(), 1);
    let n = &sent[0];
    assert_eq!(n.request_id, format!("decision-outcome-{}", p.id));
    assert_eq!(n.department_ids, [o.finance.clone(), o.logistics.clone()]);
    assert_eq!(
        n.title,
        "决议通过 Decided: 调整午休时间 Adjust the lunch break"
    );
    assert!(
        n.body.contains("选定方案 Chosen option: 周五例会 Friday"),
        "{}",
        n.body
    );
    assert!(
        n.body.contains("理由 Rationale: 方便各部门周末前汇总"),
        "{}",
        n.body
    );
    assert!(n.body.contains(&p.id));
    s.advance(DAY);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(recorded(&recorder).len(), 1);
    let events = s.history(&o.admin, &p.id).await;
    let last = events.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("proposal.informed", "system:decisions")
    );
    assert!(last.detail_json.contains("notice-1"));

    // Refused three times: recorded, and given up.
    for _ in 0..3 {
        recorder
            .failures
            .lock()
            .unwrap()
            .push(InformError::Refused("PermissionDenied".into()));
    }
    let mut req = s.draft(&[&o.it], VotingRule::SimpleMajority, 0);
    req.participants.push(Participant {
        department_id: o.finance.clone(),
        role: ParticipationRole::Informed as i32,
    });
    let q = s.voting(&o.it_head, req).await;
    s.advance_by(&o.it_head, &q.id, Stage::Voting, "").await;
    let failed = eventually_advancing(&s, 5_000, || async {
        s.history(&o.admin, &q.id)
            .await
            .into_iter()
            .find(|e| e.action == "proposal.inform_failed")
    })
    .await;
    assert!(
        failed.detail_json.contains("PermissionDenied"),
        "{}",
        failed.detail_json
    );
    assert_eq!(recorded(&recorder).len(), 1);
    // No informed department, nothing to tell.
    let r = s
        .voting(&o.it_head, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    s.advance_by(&o.it_head, &r.id, Stage::Voting, "").await;
    s.advance(DAY);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(recorded(&recorder).len(), 1);
}

concord_kit::backend_tests!(
    items_crud_and_lists,
    progress_and_status,
    overdue_items_are_flagged_and_counted,
    items_authorization,
    items_bad_input,
    statistics,
    metrics_are_exported,
    outcomes_are_told_to_informed_departments,
);

/// Through the real notices service: the informed departments' people find
/// the outcome in their inbox.
async fn outcomes_reach_informed_people_through_notices(backend: Backend) {
    use concord_proto::notices::v1::ListInboxRequest;
    use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
    let s = Suite::start(backend).await;
    let o = &s.org;
    let mut req = s.draft(&[&o.it], VotingRule::SimpleMajority, 0);
    req.participants.push(Participant {
        department_id: o.finance.clone(),
        role: ParticipationRole::Informed as i32,
    });
    let p = s.voting(&o.it_head, req).await;
    s.vote(&o.it_head, &p.id, "approve").await;
    s.advance_by(&o.it_head, &p.id, Stage::Voting, "预算已确认")
        .await;
    let notices = NoticeServiceClient::connect(s.notices_url.clone())
        .await
        .unwrap();
    let mut waited = 0;
    let outcome = loop {
        let p = s.get(&p.id).await;
        if let Some(o) = p.outcome.filter(|o| !o.notice_id.is_empty()) {
            break o;
        }
        let actions = s.actions(&p.id).await;
        assert!(
            !actions.contains(&"proposal.inform_failed".to_string()),
            "{:?}",
            s.history(&o.admin, &p.id).await.last()
        );
        // Retries back off on the service's clock.
        s.advance(10_000);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
        assert!(waited < 100, "the outcome was never told");
    };
    let inbox = notices
        .clone()
        .list_inbox(o.finance_member.req(ListInboxRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let told = inbox
        .items
        .iter()
        .find(|i| i.notice.as_ref().is_some_and(|n| n.id == outcome.notice_id))
        .expect("in the inbox");
    let n = told.notice.as_ref().unwrap();
    assert_eq!(
        n.title,
        "决议通过 Decided: 调整午休时间 Adjust the lunch break"
    );
    assert!(n.body.contains("预算已确认"));
    // Not told to the approving department.
    let it_inbox = notices
        .clone()
        .list_inbox(o.it_members[0].req(ListInboxRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(it_inbox.items.is_empty());
}

concord_kit::backend_tests!(outcomes_reach_informed_people_through_notices);

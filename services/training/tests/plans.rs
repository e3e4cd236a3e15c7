//! Training plans: their life (draft, change, publish, cancel), what each
//! role may do with them, bad input field by field, and the audit trail.

mod common;

use common::*;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::training::v1::*;
use prost_types::FieldMask;
use tonic::Code;

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

async fn list(s: &Suite, who: &Who, req: ListTrainingPlansRequest) -> Vec<TrainingPlan> {
    s.t()
        .list_training_plans(by(who, req))
        .await
        .expect("list plans")
        .into_inner()
        .plans
}

async fn plans_live_from_draft_to_cancellation(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let mut req = plan_req(&o.safety, "2026年度消防安全培训", &[&o.safety]);
    req.request_id = "plan-1".into();
    let draft = s.create(&o.safety_head, req.clone()).await;
    assert_eq!(draft.state, PlanState::Draft as i32);
    assert_eq!(draft.title, "2026年度消防安全培训");
    assert_eq!(draft.sessions.len(), 2);
    assert_eq!(draft.sessions[0].hours, 3.0);
    assert_eq!(draft.sessions[1].hours, 1.5);
    assert_eq!(draft.created_by, o.safety_head.id);
    // A retried create creates nothing new.
    let again = s.create(&o.safety_head, req).await;
    assert_eq!(again.id, draft.id);

    // Drafts are for planners (and auditors) only.
    fails(
        s.t()
            .get_training_plan(by(
                &o.zhang,
                GetTrainingPlanRequest {
                    id: draft.id.clone(),
                },
            ))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.t()
            .get_training_plan(by(
                &o.it_head,
                GetTrainingPlanRequest {
                    id: draft.id.clone(),
                },
            ))
            .await,
        Code::PermissionDenied,
    );
    for who in [&o.safety_head, &o.hq_head, &o.admin, &o.auditor] {
        assert_eq!(s.get(who, &draft.id).await.id, draft.id);
    }
    assert!(
        list(&s, &o.zhang, ListTrainingPlansRequest::default())
            .await
            .is_empty()
    );
    assert_eq!(
        list(&s, &o.safety_head, ListTrainingPlansRequest::default())
            .await
            .len(),
        1
    );

    // A draft takes every field; the sessions get new ids.
    let mut changed = draft.clone();
    changed.title = "消防安全与应急疏散培训".into();
    changed.sessions = vec![session("全天实训", T0 + 3 * DAY + HOUR, 360)];
    let updated = s
        .t()
        .update_training_plan(by(
            &o.safety_head,
            UpdateTrainingPlanRequest {
                plan: Some(changed.clone()),
                update_mask: mask(&["title", "sessions"]),
            },
        ))
        .await
        .expect("update draft")
        .into_inner();
    assert_eq!(updated.title, "消防安全与应急疏散培训");
    assert_eq!(updated.sessions.len(), 1);
    assert_eq!(updated.sessions[0].hours, 6.0);
    assert_ne!(updated.etag, draft.etag);
    // The old etag is stale now.
    fails(
        s.t()
            .update_training_plan(by(
                &o.safety_head,
                UpdateTrainingPlanRequest {
                    plan: Some(changed),
                    update_mask: mask(&["title"]),
                },
            ))
            .await,
        Code::Aborted,
    );
    fails(
        s.t()
            .publish_training_plan(by(
                &o.safety_head,
                PublishTrainingPlanRequest {
                    id: draft.id.clone(),
                    etag: draft.etag.clone(),
                },
            ))
            .await,
        Code::Aborted,
    );

    let published = s.publish(&o.safety_head, &updated).await;
    assert_eq!(published.state, PlanState::Published as i32);
    // 陈部长, 张伟, 李娜, Alice Smith and 王芳 (消防科 is below 安全生产部).
    assert_eq!(published.audience_size, 5);
    assert!(published.publish_time.is_some());
    fails(
        s.t()
            .publish_training_plan(by(
                &o.safety_head,
                PublishTrainingPlanRequest {
                    id: published.id.clone(),
                    etag: String::new(),
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    // Everybody sees a published plan; "for me" lists only what covers me.
    assert_eq!(s.get(&o.bob, &published.id).await.id, published.id);
    let mine = ListTrainingPlansRequest {
        for_me: true,
        ..Default::default()
    };
    assert_eq!(list(&s, &o.wang, mine.clone()).await.len(), 1);
    assert!(list(&s, &o.bob, mine).await.is_empty());
    let by_dept = |d: &str, sub: bool| ListTrainingPlansRequest {
        department_id: d.into(),
        include_sub_departments: sub,
        ..Default::default()
    };
    assert_eq!(list(&s, &o.bob, by_dept(&o.hq, true)).await.len(), 1);
    assert!(list(&s, &o.bob, by_dept(&o.hq, false)).await.is_empty());
    assert!(list(&s, &o.bob, by_dept(&o.it, true)).await.is_empty());

    // A published plan keeps what people enrolled for.
    let mut p = published.clone();
    p.sessions = vec![session("改期", T0 + 5 * DAY, 60)];
    fails(
        s.t()
            .update_training_plan(by(
                &o.safety_head,
                UpdateTrainingPlanRequest {
                    plan: Some(p.clone()),
                    update_mask: mask(&["sessions"]),
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    p.place = "二号楼礼堂".into();
    p.capacity = 30;
    let p = s
        .t()
        .update_training_plan(by(
            &o.safety_head,
            UpdateTrainingPlanRequest {
                plan: Some(p),
                update_mask: mask(&["place", "capacity"]),
            },
        ))
        .await
        .expect("update published")
        .into_inner();
    assert_eq!((p.place.as_str(), p.capacity), ("二号楼礼堂", 30));

    let cancelled = s
        .t()
        .cancel_training_plan(by(
            &o.safety_head,
            CancelTrainingPlanRequest {
                id: p.id.clone(),
                etag: p.etag.clone(),
                reason: "讲师临时有事".into(),
            },
        ))
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(cancelled.state, PlanState::Cancelled as i32);
    fails(
        s.t()
            .cancel_training_plan(by(
                &o.safety_head,
                CancelTrainingPlanRequest {
                    id: p.id.clone(),
                    ..Default::default()
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    let mut late = cancelled.clone();
    late.title = "x".into();
    fails(
        s.t()
            .update_training_plan(by(
                &o.safety_head,
                UpdateTrainingPlanRequest {
                    plan: Some(late),
                    update_mask: mask(&["title"]),
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
    let cancelled_only = ListTrainingPlansRequest {
        state: PlanState::Cancelled as i32,
        ..Default::default()
    };
    assert_eq!(list(&s, &o.zhang, cancelled_only).await.len(), 1);

    // Every change is in the audit trail; admins and auditors read it.
    let audit = ListAuditEntriesRequest {
        resource: format!("plans/{}", draft.id),
        page_size: 50,
        ..Default::default()
    };
    let entries = s
        .t()
        .list_audit_entries(by(&o.auditor, audit.clone()))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let mut actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "plan.create",
            "plan.update",
            "plan.publish",
            "plan.update",
            "plan.cancel"
        ]
    );
    assert!(entries.iter().all(|e| e.actor == o.safety_head.id));
    fails(
        s.t()
            .list_audit_entries(by(&o.safety_head, audit.clone()))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.t().list_audit_entries(by(&o.zhang, audit)).await,
        Code::PermissionDenied,
    );
}

async fn modes_need_their_place_or_link(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let mut online = plan_req(&o.it, "Cyber security awareness 网络安全意识", &[&o.it]);
    online.mode = Mode::Online as i32;
    online.place.clear();
    names_fields(
        s.t()
            .create_training_plan(by(&o.it_head, online.clone()))
            .await,
        &["link"],
    );
    online.link = "https://meeting.example.org/j/123".into();
    let p = s.open(&o.it_head, online).await;
    assert_eq!(p.mode, Mode::Online as i32);
    assert_eq!(p.audience_size, 2);

    let mut mentoring = plan_req(&o.safety, "师带徒：特种设备操作", &[]);
    mentoring.mode = Mode::Mentoring as i32;
    mentoring.place.clear();
    mentoring.audience = Some(Audience {
        person_ids: vec![o.zhang.id.clone(), o.zhang.id.clone()],
        ..Default::default()
    });
    let p = s.open(&o.safety_head, mentoring).await;
    assert_eq!(
        p.audience.unwrap().person_ids,
        std::slice::from_ref(&o.zhang.id)
    );
    assert_eq!(p.audience_size, 1);

    // On-site without a plan place needs a place on every session.
    let mut on_site = plan_req(&o.safety, "现场演练", &[&o.safety]);
    on_site.place.clear();
    names_fields(
        s.t()
            .create_training_plan(by(&o.safety_head, on_site.clone()))
            .await,
        &["place"],
    );
    for session in &mut on_site.sessions {
        session.place = "消防训练场".into();
    }
    s.create(&o.safety_head, on_site).await;
}

async fn plan_input_is_checked_field_by_field(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let h = &o.safety_head;
    let bad = CreateTrainingPlanRequest {
        request_id: "x".repeat(200),
        department_id: "not-an-id".into(),
        title: " ".into(),
        content_outline: "\u{7}".into(),
        mode: 99,
        place: "p".repeat(600),
        link: String::new(),
        sessions: vec![
            Session {
                start_time: ts(T0 + DAY),
                end_time: ts(T0 + DAY - MINUTE),
                ..Default::default()
            },
            Session {
                start_time: ts(T0 + DAY),
                end_time: ts(T0 + 3 * DAY),
                title: "t".repeat(300),
                ..Default::default()
            },
            Session {
                start_time: None,
                end_time: Some(prost_types::Timestamp {
                    seconds: 1,
                    nanos: -5,
                }),
                ..Default::default()
            },
        ],
        audience: Some(Audience {
            department_ids: vec!["nope".into()],
            include_sub_departments: false,
            person_ids: vec![String::new()],
        }),
        capacity: -1,
        mandatory: true,
        completion_deadline: Some(prost_types::Timestamp {
            seconds: 0,
            nanos: 2_000_000_000,
        }),
    };
    names_fields(
        s.t().create_training_plan(by(h, bad)).await,
        &[
            "request_id",
            "department_id",
            "title",
            "content_outline",
            "mode",
            "place",
            "sessions[0].end_time",
            "sessions[1].title",
            "sessions[1].end_time",
            "sessions[2].start_time",
            "sessions[2].end_time",
            "audience.department_ids[0]",
            "audience.person_ids[0]",
            "capacity",
            "completion_deadline",
        ],
    );
    let mut empty = plan_req(&o.safety, "空", &[]);
    empty.sessions.clear();
    empty.audience = None;
    names_fields(
        s.t().create_training_plan(by(h, empty)).await,
        &["sessions", "audience"],
    );
    let mut none = plan_req(&o.safety, "空", &[]);
    none.audience = Some(Audience::default());
    none.mode = 0;
    names_fields(
        s.t().create_training_plan(by(h, none)).await,
        &["audience", "mode"],
    );
    // Cross-field rules: deadlines belong to mandatory training, in the future,
    // not before the last session.
    let mut r = plan_req(&o.safety, "期限", &[&o.safety]);
    r.completion_deadline = ts(T0 + 10 * DAY);
    names_fields(
        s.t().create_training_plan(by(h, r.clone())).await,
        &["completion_deadline"],
    );
    r.mandatory = true;
    r.completion_deadline = ts(T0 + DAY);
    names_fields(
        s.t().create_training_plan(by(h, r.clone())).await,
        &["completion_deadline"],
    );
    r.completion_deadline = ts(T0 - DAY);
    names_fields(
        s.t().create_training_plan(by(h, r.clone())).await,
        &["completion_deadline"],
    );
    r.completion_deadline = None;
    names_fields(
        s.t().create_training_plan(by(h, r)).await,
        &["completion_deadline"],
    );
    // Ids the directory does not know are named where they were given.
    let random = concord_kit::ids::new_id();
    names_fields(
        s.t()
            .create_training_plan(by(&o.admin, plan_req(&random, "x", &[&o.safety])))
            .await,
        &["department_id"],
    );
    let mut r = plan_req(&o.safety, "x", &[&o.safety, &random]);
    r.audience.as_mut().unwrap().person_ids = vec![o.zhang.id.clone(), random.clone()];
    names_fields(
        s.t().create_training_plan(by(h, r)).await,
        &["audience.department_ids[1]", "audience.person_ids[1]"],
    );

    // Reads, lists and changes.
    names_fields(
        s.t()
            .get_training_plan(by(h, GetTrainingPlanRequest { id: "1".into() }))
            .await,
        &["id"],
    );
    fails(
        s.t()
            .get_training_plan(by(h, GetTrainingPlanRequest { id: random.clone() }))
            .await,
        Code::NotFound,
    );
    names_fields(
        s.t()
            .list_training_plans(by(
                h,
                ListTrainingPlansRequest {
                    department_id: "x".into(),
                    state: 42,
                    page_size: -1,
                    page_token: "garbage!".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["department_id", "state", "page_size"],
    );
    names_fields(
        s.t()
            .list_training_plans(by(
                h,
                ListTrainingPlansRequest {
                    page_token: "garbage!".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["page_token"],
    );
    let draft = s
        .create(h, plan_req(&o.safety, "字段校验", &[&o.safety]))
        .await;
    names_fields(
        s.t()
            .update_training_plan(by(
                h,
                UpdateTrainingPlanRequest {
                    plan: None,
                    update_mask: None,
                },
            ))
            .await,
        &["update_mask", "plan"],
    );
    let mut p = draft.clone();
    p.title = String::new();
    p.capacity = -5;
    p.etag = "zz".into();
    p.sessions = vec![];
    p.link = "l".repeat(3000);
    names_fields(
        s.t()
            .update_training_plan(by(
                h,
                UpdateTrainingPlanRequest {
                    plan: Some(p.clone()),
                    update_mask: mask(&["title", "capacity", "sessions", "nonsense"]),
                },
            ))
            .await,
        &[
            "update_mask",
            "plan.etag",
            "plan.title",
            "plan.capacity",
            "plan.sessions",
        ],
    );
    // Fields outside the mask are not looked at.
    p.etag = draft.etag.clone();
    p.title = "改名".into();
    let ok = s
        .t()
        .update_training_plan(by(
            h,
            UpdateTrainingPlanRequest {
                plan: Some(p.clone()),
                update_mask: mask(&["title"]),
            },
        ))
        .await
        .expect("only the title")
        .into_inner();
    assert_eq!(ok.title, "改名");
    assert_eq!(ok.sessions.len(), 2);
    // Cross-field rules name the plan's fields.
    let mut p = ok.clone();
    p.mode = Mode::Online as i32;
    names_fields(
        s.t()
            .update_training_plan(by(
                h,
                UpdateTrainingPlanRequest {
                    plan: Some(p),
                    update_mask: mask(&["mode"]),
                },
            ))
            .await,
        &["plan.link"],
    );
    let mut p = ok.clone();
    p.audience = Some(Audience {
        department_ids: vec![random.clone()],
        ..Default::default()
    });
    names_fields(
        s.t()
            .update_training_plan(by(
                h,
                UpdateTrainingPlanRequest {
                    plan: Some(p),
                    update_mask: mask(&["audience"]),
                },
            ))
            .await,
        &["plan.audience.department_ids[0]"],
    );
    names_fields(
        s.t()
            .publish_training_plan(by(
                h,
                PublishTrainingPlanRequest {
                    id: String::new(),
                    etag: "-3".into(),
                },
            ))
            .await,
        &["id", "etag"],
    );
    names_fields(
        s.t()
            .cancel_training_plan(by(
                h,
                CancelTrainingPlanRequest {
                    id: "x".into(),
                    etag: String::new(),
                    reason: "r".repeat(1001),
                },
            ))
            .await,
        &["id", "reason"],
    );
    fails(
        s.t()
            .cancel_training_plan(by(
                h,
                CancelTrainingPlanRequest {
                    id: random,
                    ..Default::default()
                },
            ))
            .await,
        Code::NotFound,
    );
    // A published capacity cannot drop below the seats taken.
    let open = s.publish(h, &ok).await;
    s.enrol(&o.zhang, &open.id).await;
    s.enrol(&o.li, &open.id).await;
    let mut p = s.get(h, &open.id).await;
    p.capacity = 1;
    fails(
        s.t()
            .update_training_plan(by(
                h,
                UpdateTrainingPlanRequest {
                    plan: Some(p),
                    update_mask: mask(&["capacity"]),
                },
            ))
            .await,
        Code::FailedPrecondition,
    );
}

async fn only_planners_plan_and_only_for_their_departments(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let req = plan_req(&o.safety, "安全培训", &[&o.safety]);
    // The coarse policy: members, auditors and services never plan.
    let coordinator = s
        .person(
            "协调员小周",
            &o.hq,
            &[concord_proto::policy::v1::Role::Coordinator],
        )
        .await;
    for who in [&o.zhang, &o.auditor, &o.service, &coordinator] {
        fails(
            s.t().create_training_plan(by(who, req.clone())).await,
            Code::PermissionDenied,
        );
    }
    // Heads plan for their own subtree only, for audiences within it.
    fails(
        s.t()
            .create_training_plan(by(&o.it_head, req.clone()))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.t()
            .create_training_plan(by(&o.it_head, plan_req(&o.it, "跨部门", &[&o.safety])))
            .await,
        Code::PermissionDenied,
    );
    let mut named = plan_req(&o.safety, "点名", &[]);
    named.audience = Some(Audience {
        person_ids: vec![o.bob.id.clone()],
        ..Default::default()
    });
    fails(
        s.t().create_training_plan(by(&o.safety_head, named)).await,
        Code::PermissionDenied,
    );
    fails(
        s.t()
            .create_training_plan(by(&o.safety_head, plan_req(&o.fire, "消防", &[&o.hq])))
            .await,
        Code::PermissionDenied,
    );
    let fire = s
        .create(&o.safety_head, plan_req(&o.fire, "消防科专项", &[&o.fire]))
        .await;
    let from_above = s.create(&o.hq_head, req.clone()).await;
    let any = s.create(&o.admin, plan_req(&o.it, "全员", &[&o.hq])).await;

    // Changing, publishing and cancelling follow the organising department.
    for (plan, outsider) in [
        (&fire, &o.it_head),
        (&from_above, &o.it_head),
        (&any, &o.safety_head),
    ] {
        let mut p = plan.clone();
        p.title = "改".into();
        fails(
            s.t()
                .update_training_plan(by(
                    outsider,
                    UpdateTrainingPlanRequest {
                        plan: Some(p),
                        update_mask: mask(&["title"]),
                    },
                ))
                .await,
            Code::PermissionDenied,
        );
        fails(
            s.t()
                .publish_training_plan(by(
                    outsider,
                    PublishTrainingPlanRequest {
                        id: plan.id.clone(),
                        etag: String::new(),
                    },
                ))
                .await,
            Code::PermissionDenied,
        );
        fails(
            s.t()
                .cancel_training_plan(by(
                    outsider,
                    CancelTrainingPlanRequest {
                        id: plan.id.clone(),
                        ..Default::default()
                    },
                ))
                .await,
            Code::PermissionDenied,
        );
    }
    for who in [&o.zhang, &o.auditor] {
        fails(
            s.t()
                .publish_training_plan(by(
                    who,
                    PublishTrainingPlanRequest {
                        id: fire.id.clone(),
                        etag: String::new(),
                    },
                ))
                .await,
            Code::PermissionDenied,
        );
    }
    // The head above plans for the department below; admins for all.
    s.publish(&o.hq_head, &fire).await;
    s.publish(&o.safety_head, &from_above).await;
    let any = s.publish(&o.admin, &any).await;
    assert_eq!(any.audience_size, 11);
    // Like everybody in the audience, a coordinator enrols themselves.
    let e = s.enrol(&coordinator, &any.id).await;
    assert_eq!(e.status, EnrolmentStatus::Enrolled as i32);
    // Heads see their own drafts and those below, not others'.
    s.create(&o.it_head, plan_req(&o.it, "IT draft", &[&o.it]))
        .await;
    let drafts = ListTrainingPlansRequest {
        state: PlanState::Draft as i32,
        ..Default::default()
    };
    assert!(list(&s, &o.safety_head, drafts.clone()).await.is_empty());
    assert_eq!(list(&s, &o.hq_head, drafts.clone()).await.len(), 1);
    assert_eq!(list(&s, &o.auditor, drafts).await.len(), 1);
    // Pages go through all plans in order, latest first session first.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = s
            .t()
            .list_training_plans(by(
                &o.admin,
                ListTrainingPlansRequest {
                    page_size: 2,
                    page_token: token,
                    ..Default::default()
                },
            ))
            .await
            .expect("page")
            .into_inner();
        seen.extend(page.plans.into_iter().map(|p| p.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 4);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4);
}

concord_kit::backend_tests!(
    plans_live_from_draft_to_cancellation,
    modes_need_their_place_or_link,
    plan_input_is_checked_field_by_field,
    only_planners_plan_and_only_for_their_departments,
);

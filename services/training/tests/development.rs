//! Personal development plans: goals with target dates and status, a
//! mentor, career path notes, progress updates, and the head's reviews;
//! who sees and changes them; bad input field by field.

mod common;

use common::*;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::training::v1::*;
use prost_types::FieldMask;
use tonic::Code;

fn goal(title: &str, date: &str) -> NewGoal {
    NewGoal {
        title: title.into(),
        description: String::new(),
        target_date: date.into(),
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

async fn create(s: &Suite, who: &Who, req: CreateDevelopmentPlanRequest) -> DevelopmentPlan {
    s.d()
        .create_development_plan(by(who, req))
        .await
        .expect("create development plan")
        .into_inner()
}

async fn listed(s: &Suite, who: &Who, req: ListDevelopmentPlansRequest) -> Vec<String> {
    s.d()
        .list_development_plans(by(who, req))
        .await
        .expect("list development plans")
        .into_inner()
        .plans
        .into_iter()
        .map(|p| p.id)
        .collect()
}

async fn development_plans_are_kept_with_a_mentor_and_reviewed(
    backend: concord_kit::testing::Backend,
) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let req = CreateDevelopmentPlanRequest {
        request_id: "dp-1".into(),
        person_id: String::new(),
        title: "2027 年度个人发展计划".into(),
        mentor_id: o.li.id.clone(),
        career_path: "三年内成长为注册安全工程师，五年内担任安全主管".into(),
        goals: vec![
            goal("取得注册安全工程师资格", "2027-10-31"),
            goal("Lead one emergency drill", "2027-04-30"),
        ],
    };
    let plan = create(&s, &o.zhang, req.clone()).await;
    assert_eq!(
        (plan.person_id.as_str(), plan.department_id.as_str()),
        (o.zhang.id.as_str(), o.safety.as_str())
    );
    assert_eq!(plan.mentor_id, o.li.id);
    // Goals by target date, not started.
    let titles: Vec<&str> = plan.goals.iter().map(|g| g.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Lead one emergency drill", "取得注册安全工程师资格"]
    );
    assert!(
        plan.goals
            .iter()
            .all(|g| g.status == GoalStatus::NotStarted as i32)
    );
    assert_eq!(create(&s, &o.zhang, req).await.id, plan.id);

    // The person, the mentor, the heads above, admins and auditors see it.
    let get = GetDevelopmentPlanRequest {
        id: plan.id.clone(),
    };
    for who in [
        &o.zhang,
        &o.li,
        &o.safety_head,
        &o.hq_head,
        &o.admin,
        &o.auditor,
    ] {
        assert_eq!(
            s.d()
                .get_development_plan(by(who, get.clone()))
                .await
                .unwrap()
                .into_inner()
                .id,
            plan.id
        );
    }
    for who in [&o.alice, &o.bob, &o.it_head, &o.service] {
        fails(
            s.d().get_development_plan(by(who, get.clone())).await,
            Code::PermissionDenied,
        );
    }
    let all = ListDevelopmentPlansRequest::default();
    for who in [&o.zhang, &o.li, &o.safety_head, &o.admin, &o.auditor] {
        assert_eq!(
            listed(&s, who, all.clone()).await,
            std::slice::from_ref(&plan.id)
        );
    }
    for who in [&o.alice, &o.it_head] {
        assert!(listed(&s, who, all.clone()).await.is_empty());
    }
    let of_it = ListDevelopmentPlansRequest {
        department_id: o.it.clone(),
        include_sub_departments: true,
        ..Default::default()
    };
    assert!(listed(&s, &o.admin, of_it).await.is_empty());
    let of_zhang = ListDevelopmentPlansRequest {
        person_id: o.zhang.id.clone(),
        ..Default::default()
    };
    assert_eq!(
        listed(&s, &o.hq_head, of_zhang).await,
        std::slice::from_ref(&plan.id)
    );

    // The person changes the career path; the head changes the mentor.
    let mut p = plan.clone();
    p.career_path = "转向应急管理方向".into();
    let p = s
        .d()
        .update_development_plan(by(
            &o.zhang,
            UpdateDevelopmentPlanRequest {
                plan: Some(p),
                update_mask: mask(&["career_path"]),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.career_path, "转向应急管理方向");
    let mut stale = plan.clone();
    stale.title = "旧版本".into();
    fails(
        s.d()
            .update_development_plan(by(
                &o.zhang,
                UpdateDevelopmentPlanRequest {
                    plan: Some(stale),
                    update_mask: mask(&["title"]),
                },
            ))
            .await,
        Code::Aborted,
    );
    let mut m = p.clone();
    m.mentor_id = o.alice.id.clone();
    let p = s
        .d()
        .update_development_plan(by(
            &o.safety_head,
            UpdateDevelopmentPlanRequest {
                plan: Some(m.clone()),
                update_mask: mask(&["mentor_id"]),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.mentor_id, o.alice.id);
    // The old mentor no longer sees it; the mentor does not change the plan.
    fails(
        s.d().get_development_plan(by(&o.li, get.clone())).await,
        Code::PermissionDenied,
    );
    let mut by_mentor = p.clone();
    by_mentor.title = "导师改的".into();
    for who in [&o.alice, &o.it_head, &o.auditor] {
        fails(
            s.d()
                .update_development_plan(by(
                    who,
                    UpdateDevelopmentPlanRequest {
                        plan: Some(by_mentor.clone()),
                        update_mask: mask(&["title"]),
                    },
                ))
                .await,
            Code::PermissionDenied,
        );
    }

    // Goals: added and moved by the person, the heads and admins.
    let added = s
        .d()
        .add_goal(by(
            &o.safety_head,
            AddGoalRequest {
                request_id: "g-1".into(),
                plan_id: plan.id.clone(),
                goal: Some(goal("完成班组长培训", "2027-06-30")),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.status, GoalStatus::NotStarted as i32);
    for who in [&o.alice, &o.bob] {
        fails(
            s.d()
                .add_goal(by(
                    who,
                    AddGoalRequest {
                        plan_id: plan.id.clone(),
                        goal: Some(goal("x", "2027-01-01")),
                        ..Default::default()
                    },
                ))
                .await,
            Code::PermissionDenied,
        );
    }
    let mut g = added.clone();
    g.status = GoalStatus::InProgress as i32;
    g.target_date = "2027-07-15".into();
    let g = s
        .d()
        .update_goal(by(
            &o.zhang,
            UpdateGoalRequest {
                goal: Some(g),
                update_mask: mask(&["status", "target_date"]),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (g.status, g.target_date.as_str()),
        (GoalStatus::InProgress as i32, "2027-07-15")
    );
    fails(
        s.d()
            .update_goal(by(
                &o.zhang,
                UpdateGoalRequest {
                    goal: Some(added.clone()),
                    update_mask: mask(&["title"]),
                },
            ))
            .await,
        Code::Aborted,
    );
    fails(
        s.d()
            .update_goal(by(
                &o.alice,
                UpdateGoalRequest {
                    goal: Some(g.clone()),
                    update_mask: mask(&["title"]),
                },
            ))
            .await,
        Code::PermissionDenied,
    );

    // Progress: the mentor writes too, and may move a goal.
    let u = s
        .d()
        .add_progress_update(by(
            &o.alice,
            AddProgressUpdateRequest {
                request_id: "u-1".into(),
                plan_id: plan.id.clone(),
                goal_id: g.id.clone(),
                text: "已完成全部课程并通过考核".into(),
                goal_status: GoalStatus::Achieved as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (u.author_id.as_str(), u.goal_status),
        (o.alice.id.as_str(), GoalStatus::Achieved as i32)
    );
    s.d()
        .add_progress_update(by(
            &o.zhang,
            AddProgressUpdateRequest {
                plan_id: plan.id.clone(),
                text: "Q1 review: on track".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let p = s
        .d()
        .get_development_plan(by(&o.zhang, get.clone()))
        .await
        .unwrap()
        .into_inner();
    let moved = p.goals.iter().find(|x| x.id == g.id).unwrap();
    assert_eq!(moved.status, GoalStatus::Achieved as i32);
    assert_eq!(p.goals.len(), 3);
    fails(
        s.d()
            .add_progress_update(by(
                &o.bob,
                AddProgressUpdateRequest {
                    plan_id: plan.id.clone(),
                    text: "x".into(),
                    ..Default::default()
                },
            ))
            .await,
        Code::PermissionDenied,
    );
    let updates = ListProgressUpdatesRequest {
        plan_id: plan.id.clone(),
        ..Default::default()
    };
    let list = s
        .d()
        .list_progress_updates(by(&o.safety_head, updates.clone()))
        .await
        .unwrap()
        .into_inner()
        .updates;
    let texts: Vec<&str> = list.iter().map(|u| u.text.as_str()).collect();
    assert_eq!(texts, ["已完成全部课程并通过考核", "Q1 review: on track"]);
    fails(
        s.d().list_progress_updates(by(&o.bob, updates)).await,
        Code::PermissionDenied,
    );

    // Reviews: heads of the person's department (or above) only.
    let review = |who: &Who, comment: &str| {
        by(
            who,
            ReviewDevelopmentPlanRequest {
                request_id: String::new(),
                plan_id: plan.id.clone(),
                comment: comment.into(),
            },
        )
    };
    s.advance(DAY);
    let r = s
        .d()
        .review_development_plan(review(&o.safety_head, "目标明确，建议增加现场实践"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.reviewer_id, o.safety_head.id);
    s.d()
        .review_development_plan(review(&o.hq_head, "同意"))
        .await
        .unwrap();
    fails(
        s.d()
            .review_development_plan(review(&o.it_head, "越权"))
            .await,
        Code::PermissionDenied,
    );
    for who in [&o.zhang, &o.alice, &o.admin] {
        fails(
            s.d().review_development_plan(review(who, "x")).await,
            Code::PermissionDenied,
        );
    }
    let p = s
        .d()
        .get_development_plan(by(&o.zhang, get.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.last_review_time, ts(s.now()));
    let reviews = ListReviewsRequest {
        plan_id: plan.id.clone(),
        ..Default::default()
    };
    let list = s
        .d()
        .list_reviews(by(&o.zhang, reviews.clone()))
        .await
        .unwrap()
        .into_inner()
        .reviews;
    let comments: Vec<&str> = list.iter().map(|r| r.comment.as_str()).collect();
    assert_eq!(comments, ["目标明确，建议增加现场实践", "同意"]);
    fails(
        s.d().list_reviews(by(&o.it_head, reviews)).await,
        Code::PermissionDenied,
    );

    // A head does not review their own plan; the head above does.
    let own = create(
        &s,
        &o.safety_head,
        CreateDevelopmentPlanRequest {
            title: "部门负责人发展计划".into(),
            ..Default::default()
        },
    )
    .await;
    let own_review = |who: &Who| {
        by(
            who,
            ReviewDevelopmentPlanRequest {
                plan_id: own.id.clone(),
                comment: "ok".into(),
                ..Default::default()
            },
        )
    };
    fails(
        s.d()
            .review_development_plan(own_review(&o.safety_head))
            .await,
        Code::PermissionDenied,
    );
    s.d()
        .review_development_plan(own_review(&o.hq_head))
        .await
        .unwrap();

    // Every change is audited.
    let audit = s
        .t()
        .list_audit_entries(by(
            &o.admin,
            ListAuditEntriesRequest {
                resource: format!("development-plans/{}", plan.id),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let mut actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "development_plan.create",
            "development_plan.update",
            "development_plan.update",
            "progress.create",
            "progress.create",
            "development_plan.review",
            "development_plan.review",
        ]
    );
}

async fn who_starts_a_plan_and_bad_input(backend: concord_kit::testing::Backend) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let for_wang = CreateDevelopmentPlanRequest {
        person_id: o.wang.id.clone(),
        title: "Wang Fang development plan".into(),
        ..Default::default()
    };
    // The heads above and admins start plans for others; nobody else.
    for who in [&o.zhang, &o.it_head, &o.auditor] {
        fails(
            s.d()
                .create_development_plan(by(who, for_wang.clone()))
                .await,
            Code::PermissionDenied,
        );
    }
    let p1 = create(&s, &o.safety_head, for_wang.clone()).await;
    let p2 = create(&s, &o.admin, for_wang).await;
    assert_eq!(p1.created_by, o.safety_head.id);
    assert_eq!(p2.department_id, o.fire);
    // Pages, newest first.
    let page1 = s
        .d()
        .list_development_plans(by(
            &o.wang,
            ListDevelopmentPlansRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page1.plans[0].id, p2.id);
    let page2 = s
        .d()
        .list_development_plans(by(
            &o.wang,
            ListDevelopmentPlansRequest {
                page_size: 1,
                page_token: page1.next_page_token,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.plans[0].id, p1.id);
    assert!(page2.next_page_token.is_empty());

    // Bad input, field by field.
    names_fields(
        s.d()
            .create_development_plan(by(
                &o.zhang,
                CreateDevelopmentPlanRequest {
                    request_id: "r".repeat(129),
                    person_id: "p".into(),
                    title: String::new(),
                    mentor_id: "m".into(),
                    career_path: "c".repeat(10_001),
                    goals: vec![
                        goal("ok", "2027-01-01"),
                        goal("", "2027-13-01"),
                        goal("x", "20270101"),
                    ],
                },
            ))
            .await,
        &[
            "request_id",
            "person_id",
            "title",
            "mentor_id",
            "career_path",
            "goals[1].title",
            "goals[1].target_date",
            "goals[2].target_date",
        ],
    );
    let unknown = concord_kit::ids::new_id();
    names_fields(
        s.d()
            .create_development_plan(by(
                &o.admin,
                CreateDevelopmentPlanRequest {
                    person_id: unknown.clone(),
                    title: "t".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["person_id"],
    );
    names_fields(
        s.d()
            .create_development_plan(by(
                &o.zhang,
                CreateDevelopmentPlanRequest {
                    title: "t".into(),
                    mentor_id: unknown.clone(),
                    ..Default::default()
                },
            ))
            .await,
        &["mentor_id"],
    );
    names_fields(
        s.d()
            .create_development_plan(by(
                &o.zhang,
                CreateDevelopmentPlanRequest {
                    title: "t".into(),
                    mentor_id: o.zhang.id.clone(),
                    ..Default::default()
                },
            ))
            .await,
        &["mentor_id"],
    );
    names_fields(
        s.d()
            .get_development_plan(by(&o.zhang, GetDevelopmentPlanRequest { id: "x".into() }))
            .await,
        &["id"],
    );
    fails(
        s.d()
            .get_development_plan(by(
                &o.zhang,
                GetDevelopmentPlanRequest {
                    id: unknown.clone(),
                },
            ))
            .await,
        Code::NotFound,
    );
    names_fields(
        s.d()
            .list_development_plans(by(
                &o.zhang,
                ListDevelopmentPlansRequest {
                    person_id: "p".into(),
                    department_id: "d".into(),
                    page_size: -1,
                    ..Default::default()
                },
            ))
            .await,
        &["person_id", "department_id", "page_size"],
    );
    let mut p = p1.clone();
    p.title = " ".into();
    p.mentor_id = "m".into();
    p.etag = "e".into();
    names_fields(
        s.d()
            .update_development_plan(by(
                &o.wang,
                UpdateDevelopmentPlanRequest {
                    plan: Some(p),
                    update_mask: mask(&["title", "mentor_id", "goals"]),
                },
            ))
            .await,
        &["update_mask", "plan.title", "plan.mentor_id", "plan.etag"],
    );
    let mut p = p1.clone();
    p.mentor_id = o.wang.id.clone();
    names_fields(
        s.d()
            .update_development_plan(by(
                &o.wang,
                UpdateDevelopmentPlanRequest {
                    plan: Some(p),
                    update_mask: mask(&["mentor_id"]),
                },
            ))
            .await,
        &["plan.mentor_id"],
    );
    names_fields(
        s.d()
            .update_development_plan(by(&o.wang, UpdateDevelopmentPlanRequest::default()))
            .await,
        &["update_mask", "plan"],
    );
    names_fields(
        s.d()
            .add_goal(by(
                &o.wang,
                AddGoalRequest {
                    request_id: String::new(),
                    plan_id: "p".into(),
                    goal: Some(goal("", "tomorrow")),
                },
            ))
            .await,
        &["plan_id", "goal.title", "goal.target_date"],
    );
    names_fields(
        s.d()
            .add_goal(by(
                &o.wang,
                AddGoalRequest {
                    plan_id: p1.id.clone(),
                    ..Default::default()
                },
            ))
            .await,
        &["goal"],
    );
    let g = s
        .d()
        .add_goal(by(
            &o.wang,
            AddGoalRequest {
                plan_id: p1.id.clone(),
                goal: Some(goal("学会使用正压式呼吸器", "2027-03-01")),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut bad = g.clone();
    bad.status = 42;
    bad.target_date = "2027-02-30".into();
    bad.description = "d".repeat(5_001);
    names_fields(
        s.d()
            .update_goal(by(
                &o.wang,
                UpdateGoalRequest {
                    goal: Some(bad.clone()),
                    update_mask: mask(&["status", "target_date", "description"]),
                },
            ))
            .await,
        &["goal.status", "goal.target_date", "goal.description"],
    );
    bad.status = 0;
    names_fields(
        s.d()
            .update_goal(by(
                &o.wang,
                UpdateGoalRequest {
                    goal: Some(bad),
                    update_mask: mask(&["status"]),
                },
            ))
            .await,
        &["goal.status"],
    );
    fails(
        s.d()
            .update_goal(by(
                &o.wang,
                UpdateGoalRequest {
                    goal: Some(Goal {
                        id: unknown.clone(),
                        ..g.clone()
                    }),
                    update_mask: mask(&["title"]),
                },
            ))
            .await,
        Code::NotFound,
    );
    names_fields(
        s.d()
            .add_progress_update(by(
                &o.wang,
                AddProgressUpdateRequest {
                    request_id: String::new(),
                    plan_id: p1.id.clone(),
                    goal_id: String::new(),
                    text: " ".into(),
                    goal_status: GoalStatus::Achieved as i32,
                },
            ))
            .await,
        &["text", "goal_status"],
    );
    // A goal of another plan is not this plan's.
    let other = s
        .d()
        .add_goal(by(
            &o.wang,
            AddGoalRequest {
                plan_id: p2.id.clone(),
                goal: Some(goal("别的计划", "2027-03-01")),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    names_fields(
        s.d()
            .add_progress_update(by(
                &o.wang,
                AddProgressUpdateRequest {
                    plan_id: p1.id.clone(),
                    goal_id: other.id,
                    text: "进展".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["goal_id"],
    );
    names_fields(
        s.d()
            .review_development_plan(by(
                &o.safety_head,
                ReviewDevelopmentPlanRequest {
                    request_id: String::new(),
                    plan_id: "p".into(),
                    comment: String::new(),
                },
            ))
            .await,
        &["plan_id", "comment"],
    );
    names_fields(
        s.d()
            .list_progress_updates(by(
                &o.wang,
                ListProgressUpdatesRequest {
                    plan_id: "x".into(),
                    page_size: -1,
                    ..Default::default()
                },
            ))
            .await,
        &["plan_id", "page_size"],
    );
    names_fields(
        s.d()
            .list_reviews(by(
                &o.wang,
                ListReviewsRequest {
                    plan_id: String::new(),
                    page_token: "bad!".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["plan_id", "page_token"],
    );
    fails(
        s.d()
            .list_reviews(by(
                &o.wang,
                ListReviewsRequest {
                    plan_id: unknown,
                    ..Default::default()
                },
            ))
            .await,
        Code::NotFound,
    );
}

concord_kit::backend_tests!(
    development_plans_are_kept_with_a_mentor_and_reviewed,
    who_starts_a_plan_and_bad_input,
);

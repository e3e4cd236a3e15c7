//! Contingency plans: versions, input checks field by field, who may manage them.

use concord_kit::testing::{Backend, bad_fields, token};
use concord_proto::emergency::v1::*;
use concord_proto::policy::v1::Role;
use prost_types::FieldMask;
use tonic::Code;

use crate::harness::{Suite, client_at, step};

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

async fn plans_are_versioned_and_incidents_keep_their_version(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let head = s.as_(&o.office_head);

    // A retried create returns the first plan and creates nothing new.
    let req = CreatePlanRequest {
        request_id: "plan-1".into(),
        plan: Some(s.plan()),
    };
    let plan = head
        .clone()
        .create_plan(req.clone())
        .await
        .unwrap()
        .into_inner();
    let again = head.clone().create_plan(req).await.unwrap().into_inner();
    assert_eq!(plan, again);
    assert_eq!(plan.version, 1);
    assert_eq!(plan.etag, "1");
    assert_eq!(plan.steps.len(), 3);
    assert_eq!(plan.updated_by, o.office_head.id);
    assert_eq!(
        plan.escalation_chain,
        Vec::<i32>::new(),
        "stored as written; the default applies when empty"
    );
    let all = s
        .as_(&o.qian)
        .list_plans(ListPlansRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.plans.len(), 1, "everybody reads plans");

    let incident_v1 = s.declare(&plan.id, true).await;
    assert_eq!(incident_v1.plan_version, 1);

    // Editing makes version 2; version 1 stays readable.
    let mut edit = plan.clone();
    edit.title = "机房断电应急预案（修订）".into();
    edit.steps
        .push(step("通知财务 Inform finance", &o.finance, 120));
    edit.escalation_chain = vec![
        EscalationTarget::DepartmentHead as i32,
        EscalationTarget::Contacts as i32,
    ];
    let v2 = head
        .clone()
        .update_plan(UpdatePlanRequest {
            plan: Some(edit.clone()),
            update_mask: mask(&["title", "steps", "escalation_chain"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((v2.version, v2.etag.as_str()), (2, "2"));
    assert_eq!(v2.steps.len(), 4);
    assert_eq!(
        v2.severity,
        Severity::Ii as i32,
        "fields outside the mask stay"
    );
    let old = head
        .clone()
        .get_plan(GetPlanRequest {
            id: plan.id.clone(),
            version: 1,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(old.title, plan.title);
    assert_eq!(old.steps.len(), 3);
    assert_eq!(old.etag, "2", "the etag names the current version");

    // The stale etag of version 1 is refused.
    let stale = head
        .clone()
        .update_plan(UpdatePlanRequest {
            plan: Some(edit),
            update_mask: mask(&["title"]),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // An incident declared now uses version 2; the first keeps version 1.
    let incident_v2 = s.declare(&plan.id, false).await;
    assert_eq!(incident_v2.plan_version, 2);
    assert_eq!(incident_v2.steps.len(), 4);
    assert_eq!(incident_v2.departments.len(), 3);
    let first = s
        .as_(&o.admin)
        .get_incident(GetIncidentRequest {
            id: incident_v1.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.plan_version, first.steps.len()), (1, 3));

    // Filters.
    let other = Plan {
        title: "Fire drill plan 消防".into(),
        incident_type: IncidentType::Fire as i32,
        owner_department_id: o.security.clone(),
        ..s.plan()
    };
    let fire = s
        .as_(&o.security_head)
        .create_plan(CreatePlanRequest {
            request_id: String::new(),
            plan: Some(other),
        })
        .await
        .unwrap()
        .into_inner();
    let by_type = head
        .clone()
        .list_plans(ListPlansRequest {
            incident_type: IncidentType::Fire as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        by_type
            .plans
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        [fire.id.as_str()]
    );
    let by_owner = head
        .clone()
        .list_plans(ListPlansRequest {
            owner_department_id: o.office.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_owner.plans.len(), 1);
    assert_eq!(by_owner.plans[0].version, 2);
    let page = head
        .clone()
        .list_plans(ListPlansRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.plans.len(), 1);
    let rest = head
        .clone()
        .list_plans(ListPlansRequest {
            page_size: 1,
            page_token: page.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.plans.len(), 1);
    assert_ne!(rest.plans[0].id, page.plans[0].id);
    assert!(rest.next_page_token.is_empty());

    // Archived plans are listed only on request and cannot be declared from.
    let archived = head
        .clone()
        .archive_plan(ArchivePlanRequest {
            id: plan.id.clone(),
            etag: "2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(archived.archived);
    let listed = head
        .clone()
        .list_plans(ListPlansRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.plans.len(), 1);
    let listed = head
        .clone()
        .list_plans(ListPlansRequest {
            include_archived: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.plans.len(), 2);
    let refused = head
        .clone()
        .declare_incident(DeclareIncidentRequest {
            plan_id: plan.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let refused = head
        .clone()
        .update_plan(UpdatePlanRequest {
            plan: Some(archived),
            update_mask: mask(&["title"]),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);

    // Every change is audited.
    let audit = s
        .as_(&o.auditor)
        .list_audit_entries(concord_proto::audit::v1::ListAuditEntriesRequest {
            resource: format!("plans/{}", plan.id),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["plan.archive", "plan.update", "plan.create"]);
}

async fn plan_input_is_checked_field_by_field(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let admin = s.as_(&o.admin);

    let missing = admin
        .clone()
        .create_plan(CreatePlanRequest::default())
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&missing), ["plan"]);

    let bad = Plan {
        title: " ".into(),
        description: "x".repeat(10_001),
        incident_type: 42,
        severity: 9,
        owner_department_id: "not-an-id".into(),
        steps: vec![
            PlanStep {
                title: "".into(),
                instructions: String::new(),
                department_id: "x".into(),
                target_minutes: 0,
            },
            PlanStep {
                title: "第二步\n换行".into(),
                instructions: String::new(),
                department_id: o.it.clone(),
                target_minutes: 99_999,
            },
        ],
        contacts: vec![Contact {
            name: "".into(),
            role: "r".into(),
            phone: "1".into(),
            person_id: "bad".into(),
        }],
        acknowledgement_timeout: Some(prost_types::Duration {
            seconds: 5,
            nanos: 0,
        }),
        reminder_interval: Some(prost_types::Duration {
            seconds: 10,
            nanos: 0,
        }),
        escalation_chain: vec![
            EscalationTarget::Admins as i32,
            EscalationTarget::Admins as i32,
            0,
        ],
        ..Default::default()
    };
    let err = admin
        .clone()
        .create_plan(CreatePlanRequest {
            request_id: "r".repeat(200),
            plan: Some(bad),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut fields = bad_fields(&err);
    fields.sort();
    let mut expected = vec![
        "request_id",
        "plan.title",
        "plan.description",
        "plan.incident_type",
        "plan.severity",
        "plan.owner_department_id",
        "plan.steps[0].title",
        "plan.steps[0].department_id",
        "plan.steps[0].target_minutes",
        "plan.steps[1].title",
        "plan.steps[1].target_minutes",
        "plan.contacts[0].name",
        "plan.contacts[0].person_id",
        "plan.acknowledgement_timeout",
        "plan.reminder_interval",
        "plan.escalation_chain[1]",
        "plan.escalation_chain[2]",
    ];
    expected.sort();
    assert_eq!(fields, expected);

    let no_steps = Plan {
        steps: vec![],
        acknowledgement_timeout: None,
        ..s.plan()
    };
    let err = admin
        .clone()
        .create_plan(CreatePlanRequest {
            request_id: String::new(),
            plan: Some(no_steps),
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        ["plan.steps", "plan.acknowledgement_timeout"]
    );

    // Well-formed ids the directory does not know are named too.
    let ghost = concord_kit::ids::new_id();
    let mut unknown = s.plan();
    unknown.steps[1].department_id = ghost.clone();
    unknown.contacts[0].person_id = ghost.clone();
    let err = admin
        .clone()
        .create_plan(CreatePlanRequest {
            request_id: String::new(),
            plan: Some(unknown),
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        ["plan.steps[1].department_id", "plan.contacts[0].person_id"]
    );

    let plan = s.create_plan().await;
    let err = admin
        .clone()
        .update_plan(UpdatePlanRequest {
            plan: Some(plan.clone()),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["update_mask"]);
    let err = admin
        .clone()
        .update_plan(UpdatePlanRequest {
            plan: Some(plan.clone()),
            update_mask: mask(&["id", "title"]),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["update_mask"]);
    let err = admin
        .clone()
        .update_plan(UpdatePlanRequest {
            plan: Some(Plan {
                id: "x".into(),
                etag: "W/1".into(),
                severity: 0,
                ..plan.clone()
            }),
            update_mask: mask(&["severity"]),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["plan.id", "plan.etag", "plan.severity"]);
    let err = admin
        .clone()
        .update_plan(UpdatePlanRequest {
            plan: None,
            update_mask: mask(&["title"]),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["plan"]);

    let err = admin
        .clone()
        .get_plan(GetPlanRequest {
            id: "nope".into(),
            version: -1,
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["id", "version"]);
    let err = admin
        .clone()
        .get_plan(GetPlanRequest {
            id: plan.id.clone(),
            version: 7,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = admin
        .clone()
        .get_plan(GetPlanRequest {
            id: ghost.clone(),
            version: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = admin
        .clone()
        .list_plans(ListPlansRequest {
            incident_type: 77,
            owner_department_id: "z".into(),
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        ["incident_type", "owner_department_id", "page_size"]
    );
    let err = admin
        .clone()
        .list_plans(ListPlansRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["page_token"]);
    let err = admin
        .clone()
        .archive_plan(ArchivePlanRequest {
            id: "".into(),
            etag: "zz".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["id", "etag"]);
    let err = admin
        .clone()
        .list_audit_entries(concord_proto::audit::v1::ListAuditEntriesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["page_size"]);
    let err = admin
        .clone()
        .list_audit_entries(concord_proto::audit::v1::ListAuditEntriesRequest {
            page_token: "not a token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["page_token"]);
}

async fn plans_are_managed_by_admins_and_the_owner_head(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let create = |p: Plan| CreatePlanRequest {
        request_id: String::new(),
        plan: Some(p),
    };

    // The coarse policy: members, coordinators and auditors never manage plans.
    for who in [&o.zhang, &o.coordinator, &o.auditor] {
        let err = s.as_(who).create_plan(create(s.plan())).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{}", who.name);
    }
    let err = client_at(&s.url(), "")
        .create_plan(create(s.plan()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    // A head manages only plans their department owns.
    let err = s
        .as_(&o.it_head)
        .create_plan(create(s.plan()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let own = Plan {
        owner_department_id: o.it.clone(),
        ..s.plan()
    };
    let it_plan = s
        .as_(&o.it_head)
        .create_plan(create(own))
        .await
        .unwrap()
        .into_inner();
    let plan = s
        .as_(&o.admin)
        .create_plan(create(s.plan()))
        .await
        .unwrap()
        .into_inner();

    let retitle = |p: &Plan, t: &str| UpdatePlanRequest {
        plan: Some(Plan {
            title: t.into(),
            ..p.clone()
        }),
        update_mask: mask(&["title"]),
    };
    let err = s
        .as_(&o.it_head)
        .update_plan(retitle(&plan, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let plan = s
        .as_(&o.office_head)
        .update_plan(retitle(&plan, "新版"))
        .await
        .unwrap()
        .into_inner();
    // Handing a plan to another department needs the right over both.
    let hand_over = UpdatePlanRequest {
        plan: Some(Plan {
            owner_department_id: o.security.clone(),
            ..plan.clone()
        }),
        update_mask: mask(&["owner_department_id"]),
    };
    let err = s
        .as_(&o.office_head)
        .update_plan(hand_over.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let moved = s
        .as_(&o.admin)
        .update_plan(hand_over)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.owner_department_id, o.security);
    let err = s
        .as_(&o.office_head)
        .archive_plan(ArchivePlanRequest {
            id: moved.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = s
        .as_(&o.zhang)
        .archive_plan(ArchivePlanRequest {
            id: it_plan.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    s.as_(&o.it_head)
        .archive_plan(ArchivePlanRequest {
            id: it_plan.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();

    // Everybody signed in reads plans, services too.
    let service = token("appraisal", &[Role::Service], None);
    for c in [s.as_(&o.qian), s.as_(&o.auditor), s.with(&service)] {
        c.clone()
            .get_plan(GetPlanRequest {
                id: plan.id.clone(),
                version: 0,
            })
            .await
            .unwrap();
        c.clone()
            .list_plans(ListPlansRequest::default())
            .await
            .unwrap();
    }
    let err = s
        .as_(&o.office_head)
        .list_audit_entries(concord_proto::audit::v1::ListAuditEntriesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

concord_kit::backend_tests!(
    plans_are_versioned_and_incidents_keep_their_version,
    plan_input_is_checked_field_by_field,
    plans_are_managed_by_admins_and_the_owner_head,
);

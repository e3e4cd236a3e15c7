//! The directory through its gRPC API: a real server on port 0 over a fresh
//! database, once on SQLite and once on PostgreSQL (when
//! `CONCORD_TEST_DATABASE_URL` is set).

use concord_kit::testing::fails;
use std::sync::Arc;
use std::time::Duration;

use concord_kit::bus::InProcessBus;
use concord_kit::clock::{ManualClock, SharedClock, to_timestamp};
use concord_kit::ids::new_id;
use concord_kit::server::Limits;
use concord_kit::testing::{self, Backend, TestDb, TestServer, bad_fields, token, with_token};
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::directory::v1::*;
use concord_proto::policy::v1::Role;
use prost_types::FieldMask;
use tonic::transport::Channel;
use tonic::{Code, Status};

const T0: i64 = 1_790_000_000_000;
const ADMIN: &str = "admin-1";

type Client = DirectoryServiceClient<Channel>;

struct Suite {
    client: Client,
    clock: Arc<ManualClock>,
    admin: String,
    _server: TestServer,
    _db: TestDb,
}

impl Suite {
    async fn start(backend: Backend) -> Self {
        let db = backend.fresh("directory");
        let clock = ManualClock::new(T0);
        let ctx = testing::context(
            db.location.clone(),
            clock.clone() as SharedClock,
            InProcessBus::new(),
            testing::upstreams(&[], "directory-tests"),
        );
        let service = (concord_directory::TARGET.start)(ctx)
            .await
            .expect("directory starts");
        let server = testing::spawn(service, Limits::default()).await;
        let client = DirectoryServiceClient::new(server.channel().await);
        Self {
            client,
            clock,
            admin: token(ADMIN, &[Role::Admin], None),
            _server: server,
            _db: db,
        }
    }

    fn c(&self) -> Client {
        self.client.clone()
    }

    fn admin<T>(&self, msg: T) -> tonic::Request<T> {
        with_token(msg, &self.admin)
    }

    async fn dept(&self, name: &str, parent_id: &str) -> Department {
        let req = CreateDepartmentRequest {
            name: name.into(),
            parent_id: parent_id.into(),
            ..Default::default()
        };
        self.c()
            .create_department(self.admin(req))
            .await
            .expect("create department")
            .into_inner()
    }

    async fn person(&self, name: &str, department_id: &str, roles: &[Role]) -> Person {
        let req = CreatePersonRequest {
            display_name: name.into(),
            department_id: department_id.into(),
            roles: roles.iter().map(|r| *r as i32).collect(),
            ..Default::default()
        };
        self.c()
            .create_person(self.admin(req))
            .await
            .expect("create person")
            .into_inner()
    }

    async fn duty(&self, department_id: &str, text: &str) -> Duty {
        let req = AddDutyRequest {
            department_id: department_id.into(),
            text: text.into(),
            ..Default::default()
        };
        self.c()
            .add_duty(self.admin(req))
            .await
            .expect("add duty")
            .into_inner()
    }

    async fn names(&self, req: ListDepartmentsRequest) -> Vec<String> {
        let resp = self
            .c()
            .list_departments(self.admin(req))
            .await
            .expect("list departments");
        resp.into_inner()
            .departments
            .into_iter()
            .map(|d| d.name)
            .collect()
    }

    async fn people(&self, req: ListPeopleRequest) -> Vec<String> {
        let resp = self
            .c()
            .list_people(self.admin(req))
            .await
            .expect("list people");
        resp.into_inner()
            .people
            .into_iter()
            .map(|p| p.display_name)
            .collect()
    }

    async fn audience(&self, req: ResolveAudienceRequest) -> Vec<String> {
        let resp = self
            .c()
            .resolve_audience(self.admin(req))
            .await
            .expect("resolve audience");
        resp.into_inner()
            .members
            .into_iter()
            .map(|m| m.display_name)
            .collect()
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn head_of(department_id: &str) -> String {
    token("head-1", &[Role::DepartmentHead], Some(department_id))
}

fn role(r: Role) -> String {
    token(&format!("{r:?}").to_lowercase(), &[r], None)
}

/// A call that must fail with INVALID_ARGUMENT naming `field`.
#[track_caller]
fn names_field<T: std::fmt::Debug>(r: Result<tonic::Response<T>, Status>, field: &str) {
    let s = fails(r, Code::InvalidArgument);
    assert!(
        bad_fields(&s).iter().any(|f| f == field),
        "{field} not in {:?}",
        bad_fields(&s)
    );
}

async fn departments_tree_crud(backend: Backend) {
    let s = Suite::start(backend).await;
    let root = s.dept("总部", "").await;
    assert_eq!((root.parent_id.as_str(), root.etag.as_str()), ("", "1"));
    assert_eq!(root.create_time, Some(to_timestamp(T0)));
    let info = s.dept("信息中心", &root.id).await;
    let logistics = s.dept("后勤保障处", &root.id).await;
    let network = s.dept("网络科", &info.id).await;
    assert_eq!(info.parent_id, root.id);

    let got = s
        .c()
        .get_department(s.admin(GetDepartmentRequest {
            id: info.id.clone(),
        }))
        .await
        .unwrap();
    assert_eq!(got.into_inner(), info);
    let missing = s
        .c()
        .get_department(s.admin(GetDepartmentRequest { id: new_id() }))
        .await;
    fails(missing, Code::NotFound);

    // Children by name (code point order), the subtree, every department.
    assert_eq!(s.names(ListDepartmentsRequest::default()).await, ["总部"]);
    let children = ListDepartmentsRequest {
        parent_id: root.id.clone(),
        ..Default::default()
    };
    assert_eq!(s.names(children).await, ["信息中心", "后勤保障处"]);
    let below = ListDepartmentsRequest {
        parent_id: root.id.clone(),
        subtree: true,
        ..Default::default()
    };
    assert_eq!(s.names(below).await, ["信息中心", "后勤保障处", "网络科"]);
    let below_info = ListDepartmentsRequest {
        parent_id: info.id.clone(),
        subtree: true,
        ..Default::default()
    };
    assert_eq!(s.names(below_info).await, ["网络科"]);
    let all = ListDepartmentsRequest {
        subtree: true,
        ..Default::default()
    };
    assert_eq!(
        s.names(all).await,
        ["信息中心", "后勤保障处", "总部", "网络科"]
    );

    // A masked rename leaves the description alone and bumps the etag.
    s.clock.advance(Duration::from_secs(1));
    let change = Department {
        id: logistics.id.clone(),
        name: " 后勤处 ".into(),
        description: "not masked".into(),
        etag: logistics.etag.clone(),
        ..Default::default()
    };
    let req = UpdateDepartmentRequest {
        department: Some(change.clone()),
        update_mask: mask(&["name"]),
    };
    let renamed = s
        .c()
        .update_department(s.admin(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (renamed.name.as_str(), renamed.description.as_str()),
        ("后勤处", "")
    );
    assert_eq!(renamed.etag, "2");
    assert_eq!(renamed.update_time, Some(to_timestamp(T0 + 1000)));
    assert_eq!(renamed.create_time, logistics.create_time);
    // The old etag is stale now.
    let req = UpdateDepartmentRequest {
        department: Some(change),
        update_mask: mask(&["description"]),
    };
    fails(s.c().update_department(s.admin(req)).await, Code::Aborted);
    let described = Department {
        id: logistics.id.clone(),
        description: "水电、维修、保洁".into(),
        ..Default::default()
    };
    let req = UpdateDepartmentRequest {
        department: Some(described),
        update_mask: mask(&["description"]),
    };
    let described = s
        .c()
        .update_department(s.admin(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            described.name.as_str(),
            described.description.as_str(),
            described.etag.as_str()
        ),
        ("后勤处", "水电、维修、保洁", "3")
    );

    // Sibling names are unique, ignoring case; cousins may share a name.
    let dup = CreateDepartmentRequest {
        name: "信息中心".into(),
        parent_id: root.id.clone(),
        ..Default::default()
    };
    fails(
        s.c().create_department(s.admin(dup)).await,
        Code::AlreadyExists,
    );
    let clash = Department {
        id: logistics.id.clone(),
        name: "信息中心".into(),
        ..Default::default()
    };
    let req = UpdateDepartmentRequest {
        department: Some(clash),
        update_mask: mask(&["name"]),
    };
    fails(
        s.c().update_department(s.admin(req)).await,
        Code::AlreadyExists,
    );
    s.dept("IT Support", "").await;
    let it = CreateDepartmentRequest {
        name: "it support".into(),
        ..Default::default()
    };
    fails(
        s.c().create_department(s.admin(it)).await,
        Code::AlreadyExists,
    );
    let cousin = s.dept("信息中心", &logistics.id).await;
    assert_eq!(cousin.parent_id, logistics.id);

    // Move, then delete an empty department.
    let req = MoveDepartmentRequest {
        id: network.id.clone(),
        new_parent_id: logistics.id.clone(),
        etag: network.etag.clone(),
    };
    let moved = s
        .c()
        .move_department(s.admin(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (moved.parent_id.as_str(), moved.etag.as_str()),
        (logistics.id.as_str(), "2")
    );
    let below_info = ListDepartmentsRequest {
        parent_id: info.id.clone(),
        subtree: true,
        ..Default::default()
    };
    assert!(s.names(below_info).await.is_empty());
    let req = DeleteDepartmentRequest {
        id: network.id.clone(),
        etag: moved.etag.clone(),
    };
    s.c().delete_department(s.admin(req)).await.unwrap();
    fails(
        s.c()
            .get_department(s.admin(GetDepartmentRequest {
                id: network.id.clone(),
            }))
            .await,
        Code::NotFound,
    );
    let again = DeleteDepartmentRequest {
        id: network.id.clone(),
        etag: String::new(),
    };
    fails(
        s.c().delete_department(s.admin(again)).await,
        Code::NotFound,
    );
}

async fn department_tree_rules(backend: Backend) {
    let s = Suite::start(backend).await;
    let a = s.dept("A", "").await;
    let b = s.dept("B", &a.id).await;
    let c = s.dept("C", &b.id).await;

    let under = |id: &str, parent: &str| MoveDepartmentRequest {
        id: id.into(),
        new_parent_id: parent.into(),
        etag: String::new(),
    };
    fails(
        s.c().move_department(s.admin(under(&a.id, &c.id))).await,
        Code::FailedPrecondition,
    );
    fails(
        s.c().move_department(s.admin(under(&a.id, &b.id))).await,
        Code::FailedPrecondition,
    );
    fails(
        s.c().move_department(s.admin(under(&a.id, &a.id))).await,
        Code::FailedPrecondition,
    );
    names_field(
        s.c()
            .move_department(s.admin(under(&b.id, &new_id())))
            .await,
        "new_parent_id",
    );
    let stale = MoveDepartmentRequest {
        etag: "7".into(),
        ..under(&c.id, "")
    };
    fails(s.c().move_department(s.admin(stale)).await, Code::Aborted);
    // C becomes a root; then A may go under C.
    let c = s
        .c()
        .move_department(s.admin(under(&c.id, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(c.parent_id, "");
    let a = s
        .c()
        .move_department(s.admin(under(&a.id, &c.id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.parent_id, c.id);
    let tree = ListDepartmentsRequest {
        parent_id: c.id.clone(),
        subtree: true,
        ..Default::default()
    };
    assert_eq!(s.names(tree).await, ["A", "B"]);

    // Only empty departments go; their duties go with them.
    let del = |id: &str| DeleteDepartmentRequest {
        id: id.into(),
        etag: String::new(),
    };
    let refused = fails(
        s.c().delete_department(s.admin(del(&a.id))).await,
        Code::FailedPrecondition,
    );
    assert!(
        refused.message().contains("sub-department"),
        "{}",
        refused.message()
    );
    let p = s.person("王伟", &b.id, &[]).await;
    fails(
        s.c().delete_department(s.admin(del(&b.id))).await,
        Code::FailedPrecondition,
    );
    s.c()
        .deactivate_person(s.admin(DeactivatePersonRequest {
            id: p.id.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap();
    let refused = fails(
        s.c().delete_department(s.admin(del(&b.id))).await,
        Code::FailedPrecondition,
    );
    assert!(
        refused.message().contains("person"),
        "{}",
        refused.message()
    );

    let d = s.dept("D", "").await;
    s.duty(&d.id, "负责档案管理").await;
    let kept = s.duty(&a.id, "负责安全保卫").await;
    let stale = DeleteDepartmentRequest {
        id: d.id.clone(),
        etag: "2".into(),
    };
    fails(s.c().delete_department(s.admin(stale)).await, Code::Aborted);
    s.c()
        .delete_department(s.admin(DeleteDepartmentRequest {
            id: d.id.clone(),
            etag: d.etag.clone(),
        }))
        .await
        .unwrap();
    let duties = s
        .c()
        .list_duties(s.admin(ListDutiesRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .duties;
    assert_eq!(duties, [kept]);
}

async fn people_crud(backend: Backend) {
    let s = Suite::start(backend).await;
    let r = s.dept("总部", "").await;
    let sub = s.dept("信息中心", &r.id).await;
    let req = CreatePersonRequest {
        display_name: "王伟".into(),
        email: "wang.wei@example.org".into(),
        phone: "+86 10 6552 1234".into(),
        title: "主任".into(),
        department_id: r.id.clone(),
        ..Default::default()
    };
    let wang = s
        .c()
        .create_person(s.admin(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wang.roles, [Role::Member as i32]);
    assert!(wang.active);
    assert_eq!(
        (wang.email.as_str(), wang.title.as_str(), wang.etag.as_str()),
        ("wang.wei@example.org", "主任", "1")
    );
    let alice = s
        .person(
            "Alice",
            &sub.id,
            &[Role::Member, Role::Coordinator, Role::Member],
        )
        .await;
    assert_eq!(alice.roles, [Role::Coordinator as i32, Role::Member as i32]);
    let bob = s.person("bob", &r.id, &[]).await;

    let got = s
        .c()
        .get_person(s.admin(GetPersonRequest {
            id: wang.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, wang);
    fails(
        s.c()
            .get_person(s.admin(GetPersonRequest { id: new_id() }))
            .await,
        Code::NotFound,
    );

    // E-mail addresses are unique, ignoring case.
    let dup = CreatePersonRequest {
        display_name: "Other".into(),
        email: "WANG.WEI@example.org".into(),
        department_id: r.id.clone(),
        ..Default::default()
    };
    fails(s.c().create_person(s.admin(dup)).await, Code::AlreadyExists);

    let in_r = |sub_departments, inactive| ListPeopleRequest {
        department_id: r.id.clone(),
        include_sub_departments: sub_departments,
        include_inactive: inactive,
        ..Default::default()
    };
    assert_eq!(s.people(in_r(false, false)).await, ["bob", "王伟"]);
    assert_eq!(s.people(in_r(true, false)).await, ["Alice", "bob", "王伟"]);
    assert_eq!(
        s.people(ListPeopleRequest::default()).await,
        ["Alice", "bob", "王伟"]
    );

    // A masked update changes only the masked fields; the etag guards it.
    s.clock.advance(Duration::from_secs(5));
    let change = Person {
        id: bob.id.clone(),
        title: "Facilities officer".into(),
        phone: "010-1234".into(),
        display_name: "ignored".into(),
        etag: bob.etag.clone(),
        ..Default::default()
    };
    let req = UpdatePersonRequest {
        person: Some(change.clone()),
        update_mask: mask(&["title", "phone"]),
    };
    let bob2 = s
        .c()
        .update_person(s.admin(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            bob2.display_name.as_str(),
            bob2.title.as_str(),
            bob2.phone.as_str()
        ),
        ("bob", "Facilities officer", "010-1234")
    );
    assert_eq!(
        (bob2.etag.as_str(), bob2.update_time),
        ("2", Some(to_timestamp(T0 + 5000)))
    );
    let req = UpdatePersonRequest {
        person: Some(change),
        update_mask: mask(&["title"]),
    };
    fails(s.c().update_person(s.admin(req)).await, Code::Aborted);
    let moved = Person {
        id: bob.id.clone(),
        department_id: sub.id.clone(),
        roles: vec![Role::DepartmentHead as i32],
        ..Default::default()
    };
    let req = UpdatePersonRequest {
        person: Some(moved),
        update_mask: mask(&["department_id", "roles"]),
    };
    let bob3 = s
        .c()
        .update_person(s.admin(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (bob3.department_id.as_str(), bob3.roles.as_slice()),
        (sub.id.as_str(), &[Role::DepartmentHead as i32][..])
    );
    let taken = Person {
        id: bob.id.clone(),
        email: "Wang.Wei@Example.org".into(),
        ..Default::default()
    };
    let req = UpdatePersonRequest {
        person: Some(taken),
        update_mask: mask(&["email"]),
    };
    fails(s.c().update_person(s.admin(req)).await, Code::AlreadyExists);
    assert_eq!(s.people(in_r(false, false)).await, ["王伟"]);

    // Deactivation: a stale etag is refused, then the person drops out of lists.
    let stale = DeactivatePersonRequest {
        id: wang.id.clone(),
        etag: "9".into(),
    };
    fails(s.c().deactivate_person(s.admin(stale)).await, Code::Aborted);
    let req = DeactivatePersonRequest {
        id: wang.id.clone(),
        etag: wang.etag.clone(),
    };
    let gone = s
        .c()
        .deactivate_person(s.admin(req))
        .await
        .unwrap()
        .into_inner();
    assert!(!gone.active);
    assert_eq!(gone.etag, "2");
    assert!(s.people(in_r(false, false)).await.is_empty());
    assert_eq!(s.people(in_r(false, true)).await, ["王伟"]);
    assert_eq!(s.people(in_r(true, true)).await, ["Alice", "bob", "王伟"]);
    // Deactivating again changes nothing.
    let again = s
        .c()
        .deactivate_person(s.admin(DeactivatePersonRequest {
            id: wang.id.clone(),
            etag: String::new(),
        }))
        .await;
    assert_eq!(again.unwrap().into_inner(), gone);
}

async fn idempotent_creates(backend: Backend) {
    let s = Suite::start(backend).await;
    let req = CreateDepartmentRequest {
        request_id: "r-1".into(),
        name: "信息中心".into(),
        ..Default::default()
    };
    let first = s
        .c()
        .create_department(s.admin(req.clone()))
        .await
        .unwrap()
        .into_inner();
    let second = s
        .c()
        .create_department(s.admin(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, second);
    assert_eq!(
        s.names(ListDepartmentsRequest::default()).await,
        ["信息中心"]
    );

    let req = CreatePersonRequest {
        request_id: "r-1".into(),
        display_name: "王伟".into(),
        department_id: first.id.clone(),
        ..Default::default()
    };
    let p1 = s
        .c()
        .create_person(s.admin(req.clone()))
        .await
        .unwrap()
        .into_inner();
    let p2 = s
        .c()
        .create_person(s.admin(req.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p1.id, p2.id);
    assert_eq!(s.people(ListPeopleRequest::default()).await, ["王伟"]);
    // The id is the caller's: another caller's retry creates its own person.
    let other = token("admin-2", &[Role::Admin], None);
    let p3 = s
        .c()
        .create_person(with_token(req, &other))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(p3.id, p1.id);

    let req = AddDutyRequest {
        request_id: "r-1".into(),
        department_id: first.id.clone(),
        text: "负责网络维护".into(),
    };
    let d1 = s
        .c()
        .add_duty(s.admin(req.clone()))
        .await
        .unwrap()
        .into_inner();
    let d2 = s.c().add_duty(s.admin(req)).await.unwrap().into_inner();
    assert_eq!(d1, d2);
    let duties = s
        .c()
        .list_duties(s.admin(ListDutiesRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .duties;
    assert_eq!(duties, [d1]);
}

async fn duties(backend: Backend) {
    let s = Suite::start(backend).await;
    let r = s.dept("后勤保障处", "").await;
    let other = s.dept("信息中心", "").await;
    let mut added = Vec::new();
    for text in [
        "负责办公楼的维修和保洁",
        "负责食堂管理",
        "Parking and vehicles",
    ] {
        added.push(s.duty(&r.id, text).await);
    }
    let it = s
        .duty(&other.id, "IT support: network, email and printers")
        .await;
    assert_eq!(
        (added[0].department_id.as_str(), added[0].text.as_str()),
        (r.id.as_str(), "负责办公楼的维修和保洁")
    );

    let of_r = ListDutiesRequest {
        department_id: r.id.clone(),
        page_size: 2,
        ..Default::default()
    };
    let page1 = s
        .c()
        .list_duties(s.admin(of_r.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page1.duties, added[..2]);
    assert!(!page1.next_page_token.is_empty());
    let page2 = ListDutiesRequest {
        page_token: page1.next_page_token,
        ..of_r
    };
    let page2 = s
        .c()
        .list_duties(s.admin(page2))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.duties, added[2..]);
    assert!(page2.next_page_token.is_empty());
    let all = s
        .c()
        .list_duties(s.admin(ListDutiesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.duties.len(), 4);
    assert!(all.duties.contains(&it));

    s.c()
        .remove_duty(s.admin(RemoveDutyRequest {
            id: added[1].id.clone(),
        }))
        .await
        .unwrap();
    let of_r = ListDutiesRequest {
        department_id: r.id.clone(),
        ..Default::default()
    };
    let left = s
        .c()
        .list_duties(s.admin(of_r))
        .await
        .unwrap()
        .into_inner()
        .duties;
    assert_eq!(left, [added[0].clone(), added[2].clone()]);
    fails(
        s.c()
            .remove_duty(s.admin(RemoveDutyRequest {
                id: added[1].id.clone(),
            }))
            .await,
        Code::NotFound,
    );
}

async fn bad_input_names_fields(backend: Backend) {
    let s = Suite::start(backend).await;
    let d = s.dept("信息中心", "").await;
    let p = s.person("王伟", &d.id, &[]).await;
    let long = "长".repeat(101);

    let create = |name: &str, parent: &str| CreateDepartmentRequest {
        name: name.into(),
        parent_id: parent.into(),
        ..Default::default()
    };
    names_field(
        s.c().create_department(s.admin(create("", ""))).await,
        "name",
    );
    names_field(
        s.c().create_department(s.admin(create("   ", ""))).await,
        "name",
    );
    names_field(
        s.c().create_department(s.admin(create(&long, ""))).await,
        "name",
    );
    names_field(
        s.c().create_department(s.admin(create("a\nb", ""))).await,
        "name",
    );
    names_field(
        s.c()
            .create_department(s.admin(create("x", "not-an-id")))
            .await,
        "parent_id",
    );
    names_field(
        s.c()
            .create_department(s.admin(create("x", &new_id())))
            .await,
        "parent_id",
    );
    let both = s.c().create_department(s.admin(create("", "nope"))).await;
    let status = fails(both, Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["name", "parent_id"]);
    let described = CreateDepartmentRequest {
        description: "x".repeat(2001),
        ..create("x", "")
    };
    names_field(
        s.c().create_department(s.admin(described)).await,
        "description",
    );
    let retried = CreateDepartmentRequest {
        request_id: "r".repeat(200),
        ..create("x", "")
    };
    names_field(
        s.c().create_department(s.admin(retried)).await,
        "request_id",
    );

    names_field(
        s.c()
            .get_department(s.admin(GetDepartmentRequest { id: String::new() }))
            .await,
        "id",
    );
    names_field(
        s.c()
            .get_department(s.admin(GetDepartmentRequest { id: "x".into() }))
            .await,
        "id",
    );
    let list = |size, token: &str, parent: &str| ListDepartmentsRequest {
        page_size: size,
        page_token: token.into(),
        parent_id: parent.into(),
        subtree: false,
    };
    names_field(
        s.c().list_departments(s.admin(list(-1, "", ""))).await,
        "page_size",
    );
    names_field(
        s.c()
            .list_departments(s.admin(list(0, "garbage!", "")))
            .await,
        "page_token",
    );
    names_field(
        s.c().list_departments(s.admin(list(0, "", "bad"))).await,
        "parent_id",
    );
    names_field(
        s.c()
            .list_departments(s.admin(list(0, "", &new_id())))
            .await,
        "parent_id",
    );

    let update = |dep: Option<Department>, paths: &[&str]| UpdateDepartmentRequest {
        department: dep,
        update_mask: mask(paths),
    };
    let named = |name: &str, etag: &str| {
        Some(Department {
            id: d.id.clone(),
            name: name.into(),
            etag: etag.into(),
            ..Default::default()
        })
    };
    names_field(
        s.c()
            .update_department(s.admin(update(None, &["name"])))
            .await,
        "department",
    );
    names_field(
        s.c()
            .update_department(s.admin(update(named("x", ""), &[])))
            .await,
        "update_mask",
    );
    names_field(
        s.c()
            .update_department(s.admin(update(named("x", ""), &["parent_id"])))
            .await,
        "update_mask",
    );
    names_field(
        s.c()
            .update_department(s.admin(update(named("", ""), &["name"])))
            .await,
        "department.name",
    );
    names_field(
        s.c()
            .update_department(s.admin(update(named("x", "abc"), &["name"])))
            .await,
        "department.etag",
    );
    let no_id = Some(Department {
        name: "x".into(),
        ..Default::default()
    });
    names_field(
        s.c()
            .update_department(s.admin(update(no_id, &["name"])))
            .await,
        "department.id",
    );
    let unmasked = s
        .c()
        .update_department(s.admin(UpdateDepartmentRequest {
            department: named("x", ""),
            update_mask: None,
        }))
        .await;
    names_field(unmasked, "update_mask");

    let mv = |id: &str, parent: &str, etag: &str| MoveDepartmentRequest {
        id: id.into(),
        new_parent_id: parent.into(),
        etag: etag.into(),
    };
    names_field(s.c().move_department(s.admin(mv("x", "", ""))).await, "id");
    names_field(
        s.c().move_department(s.admin(mv(&d.id, "bad", ""))).await,
        "new_parent_id",
    );
    names_field(
        s.c().move_department(s.admin(mv(&d.id, "", "W/1"))).await,
        "etag",
    );
    names_field(
        s.c()
            .delete_department(s.admin(DeleteDepartmentRequest {
                id: String::new(),
                etag: String::new(),
            }))
            .await,
        "id",
    );
    names_field(
        s.c()
            .delete_department(s.admin(DeleteDepartmentRequest {
                id: d.id.clone(),
                etag: "-1".into(),
            }))
            .await,
        "etag",
    );

    let person = |f: &dyn Fn(&mut CreatePersonRequest)| {
        let mut r = CreatePersonRequest {
            display_name: "李娜".into(),
            department_id: d.id.clone(),
            ..Default::default()
        };
        f(&mut r);
        s.admin(r)
    };
    names_field(
        s.c()
            .create_person(person(&|r| r.display_name.clear()))
            .await,
        "display_name",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.display_name = long.clone()))
            .await,
        "display_name",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.email = "no-at-sign".into()))
            .await,
        "email",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.email = "a@b@c".into()))
            .await,
        "email",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.phone = "call me".into()))
            .await,
        "phone",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.title = long.clone()))
            .await,
        "title",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.department_id.clear()))
            .await,
        "department_id",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.department_id = new_id()))
            .await,
        "department_id",
    );
    names_field(
        s.c().create_person(person(&|r| r.roles = vec![0])).await,
        "roles[0]",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.roles = vec![Role::Member as i32, 99]))
            .await,
        "roles[1]",
    );
    names_field(
        s.c()
            .create_person(person(&|r| r.roles = vec![Role::Service as i32]))
            .await,
        "roles[0]",
    );

    let upd = |p: Person, paths: &[&str]| UpdatePersonRequest {
        person: Some(p),
        update_mask: mask(paths),
    };
    let me = |f: &dyn Fn(&mut Person)| {
        let mut x = Person {
            id: p.id.clone(),
            ..Default::default()
        };
        f(&mut x);
        x
    };
    names_field(
        s.c()
            .update_person(s.admin(upd(me(&|_| {}), &["active"])))
            .await,
        "update_mask",
    );
    names_field(
        s.c()
            .update_person(s.admin(upd(me(&|x| x.email = "bad".into()), &["email"])))
            .await,
        "person.email",
    );
    names_field(
        s.c()
            .update_person(s.admin(upd(me(&|_| {}), &["roles"])))
            .await,
        "person.roles",
    );
    names_field(
        s.c()
            .update_person(s.admin(upd(me(&|x| x.roles = vec![7]), &["roles"])))
            .await,
        "person.roles[0]",
    );
    names_field(
        s.c()
            .update_person(s.admin(upd(me(&|_| {}), &["display_name"])))
            .await,
        "person.display_name",
    );
    names_field(
        s.c()
            .update_person(s.admin(upd(me(&|x| x.department_id = new_id()), &["department_id"])))
            .await,
        "person.department_id",
    );
    names_field(
        s.c()
            .update_person(s.admin(upd(me(&|x| x.etag = "v1".into()), &["title"])))
            .await,
        "person.etag",
    );
    names_field(
        s.c()
            .update_person(s.admin(UpdatePersonRequest {
                person: None,
                update_mask: mask(&["title"]),
            }))
            .await,
        "person",
    );
    names_field(
        s.c()
            .deactivate_person(s.admin(DeactivatePersonRequest {
                id: "x".into(),
                etag: String::new(),
            }))
            .await,
        "id",
    );
    names_field(
        s.c()
            .deactivate_person(s.admin(DeactivatePersonRequest {
                id: p.id.clone(),
                etag: "x".into(),
            }))
            .await,
        "etag",
    );
    names_field(
        s.c()
            .get_person(s.admin(GetPersonRequest { id: "x".into() }))
            .await,
        "id",
    );
    let people = |dept: &str, size| ListPeopleRequest {
        department_id: dept.into(),
        page_size: size,
        ..Default::default()
    };
    names_field(
        s.c().list_people(s.admin(people("bad", 0))).await,
        "department_id",
    );
    names_field(
        s.c().list_people(s.admin(people("", -5))).await,
        "page_size",
    );

    let duty = |dept: &str, text: &str| AddDutyRequest {
        department_id: dept.into(),
        text: text.into(),
        ..Default::default()
    };
    names_field(s.c().add_duty(s.admin(duty(&d.id, ""))).await, "text");
    names_field(
        s.c()
            .add_duty(s.admin(duty(&d.id, &"责".repeat(1001))))
            .await,
        "text",
    );
    names_field(
        s.c().add_duty(s.admin(duty("bad", "x"))).await,
        "department_id",
    );
    names_field(
        s.c().add_duty(s.admin(duty(&new_id(), "x"))).await,
        "department_id",
    );
    names_field(
        s.c()
            .list_duties(s.admin(ListDutiesRequest {
                page_token: "!!!".into(),
                ..Default::default()
            }))
            .await,
        "page_token",
    );
    names_field(
        s.c()
            .list_duties(s.admin(ListDutiesRequest {
                department_id: "x".into(),
                ..Default::default()
            }))
            .await,
        "department_id",
    );
    names_field(
        s.c()
            .remove_duty(s.admin(RemoveDutyRequest { id: "x".into() }))
            .await,
        "id",
    );

    names_field(
        s.c()
            .search(s.admin(SearchRequest {
                query: " ".into(),
                page_size: 0,
            }))
            .await,
        "query",
    );
    names_field(
        s.c()
            .search(s.admin(SearchRequest {
                query: long.clone(),
                page_size: 0,
            }))
            .await,
        "query",
    );
    names_field(
        s.c()
            .search(s.admin(SearchRequest {
                query: "x".into(),
                page_size: -1,
            }))
            .await,
        "page_size",
    );
    names_field(
        s.c()
            .find_responsible(s.admin(FindResponsibleRequest {
                topic: String::new(),
                max_results: 0,
            }))
            .await,
        "topic",
    );
    names_field(
        s.c()
            .find_responsible(s.admin(FindResponsibleRequest {
                topic: "维修".into(),
                max_results: -1,
            }))
            .await,
        "max_results",
    );

    let aud = |depts: &[&str], people: &[&str]| ResolveAudienceRequest {
        department_ids: depts.iter().map(|x| x.to_string()).collect(),
        person_ids: people.iter().map(|x| x.to_string()).collect(),
        ..Default::default()
    };
    names_field(
        s.c().resolve_audience(s.admin(aud(&[], &[]))).await,
        "everyone",
    );
    names_field(
        s.c().resolve_audience(s.admin(aud(&["x"], &[]))).await,
        "department_ids[0]",
    );
    names_field(
        s.c()
            .resolve_audience(s.admin(aud(&[&d.id, &new_id()], &[])))
            .await,
        "department_ids[1]",
    );
    names_field(
        s.c()
            .resolve_audience(s.admin(aud(&[], &[&new_id()])))
            .await,
        "person_ids[0]",
    );
    names_field(
        s.c()
            .resolve_audience(s.admin(aud(&[], &[&p.id, "bad"])))
            .await,
        "person_ids[1]",
    );

    let audit = ListAuditEntriesRequest {
        page_size: -1,
        ..Default::default()
    };
    names_field(s.c().list_audit_entries(s.admin(audit)).await, "page_size");
}

async fn authorization_by_role(backend: Backend) {
    let s = Suite::start(backend).await;
    let root = s.dept("总部", "").await;
    let a = s.dept("信息中心", &root.id).await;
    let a1 = s.dept("网络科", &a.id).await;
    let b = s.dept("后勤保障处", &root.id).await;
    let in_a = s.person("张三", &a.id, &[]).await;
    let in_a1 = s.person("李四", &a1.id, &[]).await;
    let in_b = s.person("王五", &b.id, &[]).await;
    let admin_in_a = s.person("管理员", &a.id, &[Role::Admin]).await;
    let duty_b = s.duty(&b.id, "负责保洁").await;
    let head = head_of(&a.id);

    // No token, and a token without a role the method allows.
    let mut c = s.c();
    fails(
        c.get_department(GetDepartmentRequest { id: a.id.clone() })
            .await,
        Code::Unauthenticated,
    );
    fails(
        c.create_department(CreateDepartmentRequest {
            name: "x".into(),
            ..Default::default()
        })
        .await,
        Code::Unauthenticated,
    );
    fails(
        c.get_department(with_token(
            GetDepartmentRequest { id: a.id.clone() },
            "not-a-jwt",
        ))
        .await,
        Code::Unauthenticated,
    );
    let new_dept = || CreateDepartmentRequest {
        name: "新部门".into(),
        ..Default::default()
    };
    for r in [
        Role::DepartmentHead,
        Role::Coordinator,
        Role::Member,
        Role::Auditor,
        Role::Service,
    ] {
        let tok = if r == Role::DepartmentHead {
            head.clone()
        } else {
            role(r)
        };
        fails(
            c.create_department(with_token(new_dept(), &tok)).await,
            Code::PermissionDenied,
        );
        let del = DeleteDepartmentRequest {
            id: a1.id.clone(),
            etag: String::new(),
        };
        fails(
            c.delete_department(with_token(del, &tok)).await,
            Code::PermissionDenied,
        );
        let mv = MoveDepartmentRequest {
            id: a1.id.clone(),
            new_parent_id: b.id.clone(),
            etag: String::new(),
        };
        fails(
            c.move_department(with_token(mv, &tok)).await,
            Code::PermissionDenied,
        );
    }
    let create = |dept: &str, roles: &[Role]| CreatePersonRequest {
        display_name: "新人".into(),
        department_id: dept.into(),
        roles: roles.iter().map(|r| *r as i32).collect(),
        ..Default::default()
    };
    let title = |p: &Person| UpdatePersonRequest {
        person: Some(Person {
            id: p.id.clone(),
            title: "科员".into(),
            ..Default::default()
        }),
        update_mask: mask(&["title"]),
    };
    for r in [Role::Coordinator, Role::Member, Role::Auditor] {
        let tok = role(r);
        fails(
            c.create_person(with_token(create(&a.id, &[]), &tok)).await,
            Code::PermissionDenied,
        );
        fails(
            c.update_person(with_token(title(&in_a), &tok)).await,
            Code::PermissionDenied,
        );
        let deact = DeactivatePersonRequest {
            id: in_a.id.clone(),
            etag: String::new(),
        };
        fails(
            c.deactivate_person(with_token(deact, &tok)).await,
            Code::PermissionDenied,
        );
        let duty = AddDutyRequest {
            department_id: a.id.clone(),
            text: "x".into(),
            ..Default::default()
        };
        fails(
            c.add_duty(with_token(duty, &tok)).await,
            Code::PermissionDenied,
        );
        fails(
            c.remove_duty(with_token(
                RemoveDutyRequest {
                    id: duty_b.id.clone(),
                },
                &tok,
            ))
            .await,
            Code::PermissionDenied,
        );
    }

    // Everybody signed in reads.
    for tok in [
        head.clone(),
        role(Role::Coordinator),
        role(Role::Member),
        role(Role::Auditor),
        role(Role::Service),
    ] {
        let got = c
            .get_department(with_token(GetDepartmentRequest { id: b.id.clone() }, &tok))
            .await
            .unwrap();
        assert_eq!(got.into_inner().name, "后勤保障处");
        let people = c
            .list_people(with_token(ListPeopleRequest::default(), &tok))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(people.people.len(), 4);
        assert_eq!(
            c.get_person(with_token(
                GetPersonRequest {
                    id: in_b.id.clone()
                },
                &tok
            ))
            .await
            .unwrap()
            .into_inner(),
            in_b
        );
        let found = c
            .search(with_token(
                SearchRequest {
                    query: "王".into(),
                    page_size: 0,
                },
                &tok,
            ))
            .await
            .unwrap();
        assert_eq!(found.into_inner().people.len(), 1);
        let duties = c
            .list_duties(with_token(ListDutiesRequest::default(), &tok))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(duties.duties, std::slice::from_ref(&duty_b));
        let topic = FindResponsibleRequest {
            topic: "需要保洁".into(),
            max_results: 0,
        };
        let m = c
            .find_responsible(with_token(topic, &tok))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            m.matches[0].department.as_ref().map(|d| d.id.as_str()),
            Some(b.id.as_str())
        );
        let aud = ResolveAudienceRequest {
            everyone: true,
            ..Default::default()
        };
        assert_eq!(
            c.resolve_audience(with_token(aud, &tok))
                .await
                .unwrap()
                .into_inner()
                .members
                .len(),
            4
        );
    }

    // A department head manages their own subtree, and only that.
    let ok = c
        .create_person(with_token(create(&a1.id, &[Role::Coordinator]), &head))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (ok.department_id.as_str(), ok.roles.as_slice()),
        (a1.id.as_str(), &[Role::Coordinator as i32][..])
    );
    c.create_person(with_token(create(&a.id, &[]), &head))
        .await
        .unwrap();
    fails(
        c.create_person(with_token(create(&b.id, &[]), &head)).await,
        Code::PermissionDenied,
    );
    fails(
        c.create_person(with_token(create(&a.id, &[Role::DepartmentHead]), &head))
            .await,
        Code::PermissionDenied,
    );
    fails(
        c.create_person(with_token(create(&a.id, &[Role::Admin]), &head))
            .await,
        Code::PermissionDenied,
    );
    let headless = token("head-2", &[Role::DepartmentHead], None);
    fails(
        c.create_person(with_token(create(&a.id, &[]), &headless))
            .await,
        Code::PermissionDenied,
    );
    // A head of a sub-department does not reach up.
    let sub_head = head_of(&a1.id);
    fails(
        c.update_person(with_token(title(&in_a), &sub_head)).await,
        Code::PermissionDenied,
    );

    let updated = c
        .update_person(with_token(title(&in_a1), &head))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "科员");
    fails(
        c.update_person(with_token(title(&in_b), &head)).await,
        Code::PermissionDenied,
    );
    fails(
        c.update_person(with_token(title(&admin_in_a), &head)).await,
        Code::PermissionDenied,
    );
    let move_to = |p: &Person, dept: &str| UpdatePersonRequest {
        person: Some(Person {
            id: p.id.clone(),
            department_id: dept.into(),
            ..Default::default()
        }),
        update_mask: mask(&["department_id"]),
    };
    let moved = c
        .update_person(with_token(move_to(&in_a, &a1.id), &head))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.department_id, a1.id);
    fails(
        c.update_person(with_token(move_to(&in_a, &b.id), &head))
            .await,
        Code::PermissionDenied,
    );
    let roles = |p: &Person, r: Role| UpdatePersonRequest {
        person: Some(Person {
            id: p.id.clone(),
            roles: vec![r as i32],
            ..Default::default()
        }),
        update_mask: mask(&["roles"]),
    };
    fails(
        c.update_person(with_token(roles(&in_a1, Role::Coordinator), &head))
            .await,
        Code::PermissionDenied,
    );
    let same = c
        .update_person(with_token(roles(&in_a1, Role::Member), &head))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(same.roles, [Role::Member as i32]);
    let promoted = c
        .update_person(s.admin(roles(&in_a1, Role::DepartmentHead)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(promoted.roles, [Role::DepartmentHead as i32]);

    let deact = |p: &Person| DeactivatePersonRequest {
        id: p.id.clone(),
        etag: String::new(),
    };
    fails(
        c.deactivate_person(with_token(deact(&in_b), &head)).await,
        Code::PermissionDenied,
    );
    let off = c
        .deactivate_person(with_token(deact(&in_a1), &head))
        .await
        .unwrap()
        .into_inner();
    assert!(!off.active);

    let duty = |dept: &str| AddDutyRequest {
        department_id: dept.into(),
        text: "负责机房值班".into(),
        ..Default::default()
    };
    let mine = c
        .add_duty(with_token(duty(&a1.id), &head))
        .await
        .unwrap()
        .into_inner();
    fails(
        c.add_duty(with_token(duty(&b.id), &head)).await,
        Code::PermissionDenied,
    );
    fails(
        c.remove_duty(with_token(
            RemoveDutyRequest {
                id: duty_b.id.clone(),
            },
            &head,
        ))
        .await,
        Code::PermissionDenied,
    );
    c.remove_duty(with_token(
        RemoveDutyRequest {
            id: mine.id.clone(),
        },
        &head,
    ))
    .await
    .unwrap();
    let rename = UpdateDepartmentRequest {
        department: Some(Department {
            id: a.id.clone(),
            name: "信息办".into(),
            ..Default::default()
        }),
        update_mask: mask(&["name"]),
    };
    fails(
        c.update_department(with_token(rename.clone(), &head)).await,
        Code::PermissionDenied,
    );
    // Admins do everything.
    assert_eq!(
        c.update_department(s.admin(rename))
            .await
            .unwrap()
            .into_inner()
            .name,
        "信息办"
    );
    c.update_person(s.admin(title(&admin_in_a))).await.unwrap();
    c.remove_duty(s.admin(RemoveDutyRequest {
        id: duty_b.id.clone(),
    }))
    .await
    .unwrap();
}

async fn pagination(backend: Backend) {
    let s = Suite::start(backend).await;
    let root = s.dept("root", "").await;
    for name in ["d4", "d1", "D6", "d0", "d3", "d5", "d2"] {
        s.dept(name, &root.id).await;
    }
    let first = ListDepartmentsRequest {
        parent_id: root.id.clone(),
        page_size: 3,
        ..Default::default()
    };
    let mut req = first.clone();
    let mut pages = Vec::new();
    loop {
        let resp = s
            .c()
            .list_departments(s.admin(req.clone()))
            .await
            .unwrap()
            .into_inner();
        pages.push(
            resp.departments
                .iter()
                .map(|d| d.name.clone())
                .collect::<Vec<_>>(),
        );
        if resp.next_page_token.is_empty() {
            break;
        }
        req.page_token = resp.next_page_token;
    }
    assert_eq!(
        pages,
        [vec!["d0", "d1", "d2"], vec!["d3", "d4", "d5"], vec!["D6"]]
    );

    // A token only works with the filter it was made for.
    let resp = s
        .c()
        .list_departments(s.admin(first.clone()))
        .await
        .unwrap()
        .into_inner();
    let other = ListDepartmentsRequest {
        subtree: true,
        page_token: resp.next_page_token.clone(),
        ..first.clone()
    };
    names_field(s.c().list_departments(s.admin(other)).await, "page_token");
    let people = ListPeopleRequest {
        page_token: resp.next_page_token,
        ..Default::default()
    };
    names_field(s.c().list_people(s.admin(people)).await, "page_token");
    assert_eq!(
        s.names(ListDepartmentsRequest {
            parent_id: root.id.clone(),
            ..Default::default()
        })
        .await
        .len(),
        7
    );

    for name in ["Eve", "张伟", "alice", "Bob", "王芳"] {
        s.person(name, &root.id, &[]).await;
    }
    let mut req = ListPeopleRequest {
        department_id: root.id.clone(),
        page_size: 2,
        ..Default::default()
    };
    let mut seen = Vec::new();
    for _ in 0..10 {
        let resp = s
            .c()
            .list_people(s.admin(req.clone()))
            .await
            .unwrap()
            .into_inner();
        assert!(resp.people.len() <= 2);
        seen.extend(resp.people.into_iter().map(|p| p.display_name));
        if resp.next_page_token.is_empty() {
            break;
        }
        req.page_token = resp.next_page_token;
    }
    assert_eq!(seen, ["alice", "Bob", "Eve", "张伟", "王芳"]);
}

async fn search_in_chinese_and_english(backend: Backend) {
    let s = Suite::start(backend).await;
    let info = s.dept("信息中心", "").await;
    let logistics = s.dept("后勤保障处", "").await;
    s.dept("IT Support", "").await;
    s.dept("100% 满意服务中心", "").await;
    s.person("王伟", &info.id, &[]).await;
    s.person("张伟", &logistics.id, &[]).await;
    s.person("Alice Wong", &info.id, &[]).await;
    let li = s.person("李伟", &logistics.id, &[]).await;
    s.c()
        .deactivate_person(s.admin(DeactivatePersonRequest {
            id: li.id,
            etag: String::new(),
        }))
        .await
        .unwrap();

    let search = |q: &str| {
        let mut c = s.c();
        let req = s.admin(SearchRequest {
            query: q.into(),
            page_size: 0,
        });
        async move {
            let r = c.search(req).await.unwrap().into_inner();
            let depts: Vec<String> = r.departments.into_iter().map(|d| d.name).collect();
            let people: Vec<String> = r.people.into_iter().map(|p| p.display_name).collect();
            (depts, people)
        }
    };
    assert_eq!(
        search("伟").await,
        (vec![], vec!["张伟".to_string(), "王伟".to_string()])
    );
    assert_eq!(search("中心").await.0, ["100% 满意服务中心", "信息中心"]);
    assert_eq!(search("保障").await.0, ["后勤保障处"]);
    assert_eq!(search("it s").await.0, ["IT Support"]);
    assert_eq!(search("ALICE").await.1, ["Alice Wong"]);
    assert_eq!(search("%").await.0, ["100% 满意服务中心"]);
    assert_eq!(search("_").await, (vec![], vec![]));
    assert_eq!(search("财务").await, (vec![], vec![]));
    let one = s
        .c()
        .search(s.admin(SearchRequest {
            query: "中心".into(),
            page_size: 1,
        }))
        .await
        .unwrap();
    assert_eq!(one.into_inner().departments.len(), 1);
}

async fn find_responsible_departments(backend: Backend) {
    let s = Suite::start(backend).await;
    let info = s.dept("信息中心", "").await;
    let logistics = s.dept("后勤保障处", "").await;
    let hr = s.dept("人事处", "").await;
    let it_cn = s.duty(&info.id, "负责网络、邮件、打印机和电脑的维护").await;
    let it_en = s
        .duty(&info.id, "IT support: network, email and printers")
        .await;
    let repair = s.duty(&logistics.id, "负责办公楼的维修和保洁").await;
    s.duty(&hr.id, "负责招聘、薪酬和员工培训").await;
    s.duty(&hr.id, "Recruitment, payroll and staff training")
        .await;

    let find = |topic: &str, max| {
        let mut c = s.c();
        let req = s.admin(FindResponsibleRequest {
            topic: topic.into(),
            max_results: max,
        });
        async move { c.find_responsible(req).await.unwrap().into_inner().matches }
    };
    let m = find("三楼会议室空调坏了，需要维修", 0).await;
    assert_eq!(
        m[0].department.as_ref().map(|d| d.name.as_str()),
        Some("后勤保障处")
    );
    assert!((0.2..=1.0).contains(&m[0].score), "{}", m[0].score);
    assert_eq!(m[0].matched_duties, [repair]);

    let m = find("My printer does not work", 0).await;
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].department.as_ref().map(|d| d.id.as_str()),
        Some(info.id.as_str())
    );
    assert_eq!(m[0].matched_duties, [it_en]);

    let m = find("打印机坏了，邮件也发不出去", 0).await;
    assert_eq!(
        m[0].department.as_ref().map(|d| d.name.as_str()),
        Some("信息中心")
    );
    assert_eq!(m[0].matched_duties[0], it_cn);

    let m = find("网络和打印机维修，还有新员工培训", 0).await;
    let names: Vec<_> = m
        .iter()
        .filter_map(|m| m.department.as_ref().map(|d| d.name.as_str()))
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(m.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(find("网络和打印机维修，还有新员工培训", 1).await.len(), 1);
    assert!(find("今天天气很好", 0).await.is_empty());
}

async fn resolve_audiences(backend: Backend) {
    let s = Suite::start(backend).await;
    let r = s.dept("总部", "").await;
    let a = s.dept("信息中心", &r.id).await;
    let a1 = s.dept("网络科", &a.id).await;
    let b = s.dept("后勤保障处", &r.id).await;
    let pr = s.person("r-赵", &r.id, &[]).await;
    let pa = s.person("a-钱", &a.id, &[]).await;
    s.person("a1-孙", &a1.id, &[]).await;
    s.person("b-李", &b.id, &[]).await;
    let gone = s.person("a1-周", &a1.id, &[]).await;
    s.c()
        .deactivate_person(s.admin(DeactivatePersonRequest {
            id: gone.id.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap();

    let everyone = ResolveAudienceRequest {
        everyone: true,
        ..Default::default()
    };
    assert_eq!(
        s.audience(everyone).await,
        ["a-钱", "a1-孙", "b-李", "r-赵"]
    );
    let depts = |ids: &[&str], sub: bool, people: &[&str]| ResolveAudienceRequest {
        everyone: false,
        department_ids: ids.iter().map(|x| x.to_string()).collect(),
        include_sub_departments: sub,
        person_ids: people.iter().map(|x| x.to_string()).collect(),
    };
    assert_eq!(s.audience(depts(&[&a.id], false, &[])).await, ["a-钱"]);
    assert_eq!(
        s.audience(depts(&[&a.id], true, &[])).await,
        ["a-钱", "a1-孙"]
    );
    assert_eq!(
        s.audience(depts(&[&a1.id, &a.id], true, &[&pa.id, &pr.id, &pr.id]))
            .await,
        ["a-钱", "a1-孙", "r-赵"]
    );
    assert_eq!(
        s.audience(depts(&[&r.id], true, &[])).await,
        ["a-钱", "a1-孙", "b-李", "r-赵"]
    );
    assert!(s.audience(depts(&[], false, &[&gone.id])).await.is_empty());

    let resp = s
        .c()
        .resolve_audience(s.admin(depts(&[&b.id], false, &[])))
        .await
        .unwrap()
        .into_inner();
    let m = &resp.members[0];
    assert_eq!(
        (m.department_id.as_str(), m.display_name.as_str()),
        (b.id.as_str(), "b-李")
    );
    assert!(!m.person_id.is_empty());
}

async fn audit_trail(backend: Backend) {
    let s = Suite::start(backend).await;
    let d = s.dept("信息中心", "").await;
    let p = s.person("王伟", &d.id, &[]).await;
    s.duty(&d.id, "负责网络维护").await;
    let change = Person {
        id: p.id.clone(),
        title: "主任".into(),
        ..Default::default()
    };
    s.c()
        .update_person(s.admin(UpdatePersonRequest {
            person: Some(change),
            update_mask: mask(&["title"]),
        }))
        .await
        .unwrap();

    let list = |tok: &str, resource: &str| {
        with_token(
            ListAuditEntriesRequest {
                resource: resource.into(),
                ..Default::default()
            },
            tok,
        )
    };
    let entries = s
        .c()
        .list_audit_entries(list(&s.admin, ""))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "person.update",
            "duty.add",
            "person.create",
            "department.create"
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e.actor == ADMIN && e.time == Some(to_timestamp(T0)))
    );
    assert!(entries[0].detail_json.contains("主任") || entries[0].detail_json.contains("title"));

    let auditor = role(Role::Auditor);
    let mine = s
        .c()
        .list_audit_entries(list(&auditor, &format!("people/{}", p.id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        mine.entries
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["person.update", "person.create"]
    );
    fails(
        s.c()
            .list_audit_entries(list(&role(Role::Member), ""))
            .await,
        Code::PermissionDenied,
    );
    fails(
        s.c().list_audit_entries(list(&head_of(&d.id), "")).await,
        Code::PermissionDenied,
    );
    fails(
        s.c()
            .list_audit_entries(ListAuditEntriesRequest::default())
            .await,
        Code::Unauthenticated,
    );
}

async fn concurrent_changes(backend: Backend) {
    let s = Suite::start(backend).await;
    // The same create retried concurrently makes one department.
    let req = CreateDepartmentRequest {
        request_id: "same".into(),
        name: "信息中心".into(),
        ..Default::default()
    };
    let calls = (0..6).map(|_| {
        let mut c = s.c();
        let req = s.admin(req.clone());
        tokio::spawn(async move { c.create_department(req).await })
    });
    let mut ids = Vec::new();
    for call in calls {
        match call.await.expect("task") {
            Ok(d) => ids.push(d.into_inner().id),
            // A retry that overlaps the first attempt may be told to retry.
            Err(e) => assert_eq!(e.code(), Code::Aborted, "{e:?}"),
        }
    }
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(
        s.names(ListDepartmentsRequest::default()).await,
        ["信息中心"]
    );

    // Two opposite moves at once: one wins, the tree stays a tree.
    let a = s.dept("A", "").await;
    let b = s.dept("B", "").await;
    let mv = |id: &str, parent: &str| MoveDepartmentRequest {
        id: id.into(),
        new_parent_id: parent.into(),
        etag: String::new(),
    };
    let (mut c1, mut c2) = (s.c(), s.c());
    let (r1, r2) = (s.admin(mv(&a.id, &b.id)), s.admin(mv(&b.id, &a.id)));
    let (r1, r2) = tokio::join!(c1.move_department(r1), c2.move_department(r2));
    assert!(r1.is_ok() != r2.is_ok(), "{r1:?} {r2:?}");
    let loser = r1.err().or(r2.err()).expect("one move fails");
    assert_eq!(loser.code(), Code::FailedPrecondition, "{loser:?}");
    let roots = s.names(ListDepartmentsRequest::default()).await;
    assert_eq!(roots.len(), 2, "{roots:?}");

    // Two updates from the same version: one applies, the other is ABORTED.
    let p = s.person("王伟", &a.id, &[]).await;
    let title = |t: &str| UpdatePersonRequest {
        person: Some(Person {
            id: p.id.clone(),
            title: t.into(),
            etag: p.etag.clone(),
            ..Default::default()
        }),
        update_mask: mask(&["title"]),
    };
    let (r1, r2) = (s.admin(title("主任")), s.admin(title("副主任")));
    let (r1, r2) = tokio::join!(c1.update_person(r1), c2.update_person(r2));
    assert!(r1.is_ok() != r2.is_ok(), "{r1:?} {r2:?}");
    let loser = r1
        .as_ref()
        .err()
        .or(r2.as_ref().err())
        .expect("one update fails");
    assert_eq!(loser.code(), Code::Aborted, "{loser:?}");
    let winner = r1.or(r2).expect("one update applies").into_inner();
    assert_eq!(winner.etag, "2");
}

/// Waits (ten seconds at most) until the process's metrics satisfy `ok`.
async fn metrics_until(what: &str, ok: impl Fn(&str) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if ok(&concord_kit::metrics::render()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Dashboards show department names through
/// `concord_directory_department_info`: it follows creates, renames and
/// deletes.
async fn department_names_are_exported_for_dashboards(backend: Backend) {
    let s = Suite::start(backend).await;
    let d = s.dept("应急管理办公室", "").await;
    let series = |name: &str| {
        format!(
            "concord_directory_department_info{{department=\"{}\",name=\"{name}\"}} 1",
            d.id
        )
    };
    let (first, second) = (series("应急管理办公室"), series("应急办"));
    metrics_until("the new department's name", |m| m.contains(&first)).await;

    let req = UpdateDepartmentRequest {
        department: Some(Department {
            id: d.id.clone(),
            name: "应急办".into(),
            etag: d.etag.clone(),
            ..Default::default()
        }),
        update_mask: mask(&["name"]),
    };
    let renamed = s
        .c()
        .update_department(s.admin(req))
        .await
        .expect("rename")
        .into_inner();
    metrics_until("the new name only", |m| {
        m.contains(&second) && !m.contains(&first)
    })
    .await;

    let req = DeleteDepartmentRequest {
        id: d.id.clone(),
        etag: renamed.etag,
    };
    s.c().delete_department(s.admin(req)).await.expect("delete");
    let id = format!("department=\"{}\"", d.id);
    metrics_until("no series for the deleted department", |m| {
        !m.lines()
            .any(|l| l.starts_with("concord_directory_department_info") && l.contains(&id))
    })
    .await;
}

concord_kit::backend_tests!(
    department_names_are_exported_for_dashboards,
    departments_tree_crud,
    department_tree_rules,
    people_crud,
    idempotent_creates,
    duties,
    bad_input_names_fields,
    authorization_by_role,
    pagination,
    search_in_chinese_and_english,
    find_responsible_departments,
    resolve_audiences,
    audit_trail,
    concurrent_changes,
);

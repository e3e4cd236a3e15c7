//! A small organisation made through the directory: departments with a
//! head and members, each person with a token of their roles.

use concord_kit::testing::token;
use concord_proto::directory::v1 as dir;
use concord_proto::policy::v1::Role;

use crate::Authed;

/// A person of the directory and a token that is theirs.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub department_id: String,
    pub token: String,
}

/// A department with its head and members.
#[derive(Debug, Clone)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub head: Person,
    pub members: Vec<Person>,
}

impl Department {
    /// The head and the members.
    pub fn everyone(&self) -> impl Iterator<Item = &Person> {
        std::iter::once(&self.head).chain(self.members.iter())
    }
}

/// Makes department `name` (under `parent`, when given) with a head and
/// `members` members, through `admin` (a channel carrying an admin token).
pub async fn department(
    admin: Authed,
    name: &str,
    parent: Option<&str>,
    members: usize,
) -> Department {
    let mut directory = dir::directory_service_client::DirectoryServiceClient::new(admin);
    let d = directory
        .create_department(dir::CreateDepartmentRequest {
            request_id: format!("org-{name}"),
            name: name.to_string(),
            parent_id: parent.unwrap_or_default().to_string(),
            description: format!("{name}（测试）"),
        })
        .await
        .unwrap_or_else(|s| panic!("create department {name}: {s:?}"))
        .into_inner();
    let mut person = async |display: String, role: Role| {
        let p = directory
            .create_person(dir::CreatePersonRequest {
                request_id: format!("org-{name}-{display}"),
                display_name: display.clone(),
                email: format!("{}@example.org", uuid_like(&format!("{name}-{display}"))),
                department_id: d.id.clone(),
                roles: vec![role as i32],
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("create person {display}: {s:?}"))
            .into_inner();
        Person {
            token: token(&p.id, &[role], Some(&d.id)),
            id: p.id,
            name: display,
            department_id: d.id.clone(),
        }
    };
    let head = person(format!("{name}主任"), Role::DepartmentHead).await;
    let mut people = Vec::new();
    for i in 0..members {
        people.push(person(format!("{name}职员{i}"), Role::Member).await);
    }
    Department {
        id: d.id,
        name: name.to_string(),
        head,
        members: people,
    }
}

/// A short ASCII name derived from any text (e-mail local parts must be
/// ASCII).
fn uuid_like(text: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    format!("p{:016x}", h.finish())
}

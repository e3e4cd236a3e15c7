//! The organisation itself: the department tree with its duties and the
//! people with their posts. Departments are found by name under their
//! parent and people by e-mail before anything is created, so a second run
//! (or a run after someone else's changes) adds only what is missing.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use concord_proto::directory::v1::*;
use concord_proto::policy::v1::Role;
use futures::{StreamExt, TryStreamExt};

use super::content::{Content, STAFF_PATTERN};
use super::session::{Session, call, pages};

/// What a person does in the demo organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Post {
    Head,
    Deputy,
    Admin,
    Coordinator,
    Auditor,
    Staff,
}

/// A person as the roster wants them.
pub struct Wanted {
    pub email: String,
    pub name: String,
    pub title: String,
    pub dept: &'static str,
    pub roles: Vec<Role>,
    pub post: Post,
}

/// A person of the demo organisation, as the directory has them.
#[derive(Clone)]
pub struct Member {
    pub person: Person,
    pub dept: &'static str,
    pub post: Post,
}

/// The demo organisation as it is in the directory.
pub struct Org {
    pub depts: HashMap<&'static str, Department>,
    pub parents: HashMap<&'static str, Option<&'static str>>,
    pub members: Vec<Member>,
}

/// The people the demo wants, key posts first: every department's head,
/// two deputy directors, an administrator, two coordinators and an
/// auditor; then `people` minus those as staff.
pub fn roster(content: &Content, people: usize) -> Vec<Wanted> {
    let d = &content.domain;
    let mut out: Vec<Wanted> = Vec::new();
    let mut push = |email: String, title: &str, dept: &'static str, roles: Vec<Role>, post| {
        let index = out.len();
        out.push(Wanted {
            name: name(content, index),
            email,
            title: title.to_string(),
            dept,
            roles,
            post,
        });
    };
    for spec in content.departments {
        push(
            format!("head.{}@{d}", spec.key.replace('_', "-")),
            spec.head_title,
            spec.key,
            vec![Role::DepartmentHead],
            Post::Head,
        );
    }
    for n in 1..=2 {
        push(
            format!("deputy{n}@{d}"),
            content.deputy_title,
            "root",
            vec![Role::Member],
            Post::Deputy,
        );
    }
    push(
        format!("admin@{d}"),
        content.admin_title,
        "office",
        vec![Role::Admin],
        Post::Admin,
    );
    push(
        format!("coordinator@{d}"),
        content.coordinator_title,
        "office",
        vec![Role::Coordinator],
        Post::Coordinator,
    );
    push(
        format!("inspector@{d}"),
        content.coordinator_title,
        "legal",
        vec![Role::Coordinator],
        Post::Coordinator,
    );
    push(
        format!("auditor@{d}"),
        content.auditor_title,
        "finance",
        vec![Role::Auditor],
        Post::Auditor,
    );
    // Heads, two deputies, the administrator, two coordinators, the auditor.
    let staff = people.saturating_sub(content.departments.len() + 6);
    for i in 0..staff {
        let dept = STAFF_PATTERN[i % STAFF_PATTERN.len()];
        let titles = content
            .departments
            .iter()
            .find(|s| s.key == dept)
            .map(|s| s.staff_titles)
            .unwrap_or(&[]);
        let title = titles
            .get(i % titles.len().max(1))
            .copied()
            .unwrap_or_default();
        push(
            format!("staff{i:04}@{d}"),
            title,
            dept,
            vec![Role::Member],
            Post::Staff,
        );
    }
    out
}

/// The `index`-th person's name, made from the language's family and given
/// names.
fn name(content: &Content, index: usize) -> String {
    let s = content.surnames;
    let g = content.given_names;
    let family = s[(index * 7 + 3) % s.len()];
    let given = g[(index * 11 + index / s.len()) % g.len()];
    if content.family_first {
        format!("{family}{given}")
    } else {
        format!("{given} {family}")
    }
}

/// Makes sure the departments, duties and people exist; returns them.
pub async fn ensure(s: &Session, people: usize) -> anyhow::Result<Org> {
    let dir = s.admin.directory();
    let existing = pages!(
        dir,
        list_departments,
        ListDepartmentsRequest {
            subtree: true,
            ..Default::default()
        },
        departments
    );
    let mut by_place: HashMap<(String, String), Department> = existing
        .into_iter()
        .map(|d| ((d.parent_id.clone(), d.name.clone()), d))
        .collect();
    let mut depts: HashMap<&'static str, Department> = HashMap::new();
    let mut parents = HashMap::new();
    for spec in s.content.departments {
        let parent_id = match spec.parent {
            Some(p) => depts
                .get(p)
                .map(|d| d.id.clone())
                .context("parent before child")?,
            None => String::new(),
        };
        let dept = match by_place.remove(&(parent_id.clone(), spec.name.to_string())) {
            Some(d) => {
                s.found();
                d
            }
            None => {
                let d = call!(
                    dir,
                    create_department,
                    CreateDepartmentRequest {
                        request_id: s.rid(&["department", spec.key]),
                        name: spec.name.into(),
                        parent_id,
                        description: spec.description.into(),
                    }
                )
                .with_context(|| format!("creating the department {}", spec.name))?;
                s.made();
                d
            }
        };
        s.step(spec.name);
        depts.insert(spec.key, dept);
        parents.insert(spec.key, spec.parent);
    }

    let duties = pages!(dir, list_duties, ListDutiesRequest::default(), duties);
    let have: HashSet<(String, String)> = duties
        .into_iter()
        .map(|d| (d.department_id, d.text))
        .collect();
    for spec in s.content.departments {
        let id = &depts[spec.key].id;
        for text in spec.duties {
            if have.contains(&(id.clone(), text.to_string())) {
                s.found();
                continue;
            }
            call!(
                dir,
                add_duty,
                AddDutyRequest {
                    request_id: s.rid(&["duty", spec.key, text]),
                    department_id: id.clone(),
                    text: text.to_string(),
                }
            )
            .with_context(|| format!("adding the duty {text}"))?;
            s.made();
        }
    }

    let everyone = pages!(
        dir,
        list_people,
        ListPeopleRequest {
            include_inactive: true,
            ..Default::default()
        },
        people
    );
    let by_email: HashMap<String, Person> = everyone
        .into_iter()
        .filter(|p| !p.email.is_empty())
        .map(|p| (p.email.clone(), p))
        .collect();
    let wanted = roster(s.content, people);
    let depts_ref = &depts;
    let by_email_ref = &by_email;
    let members: Vec<Member> = futures::stream::iter(wanted)
        .map(|w| async move {
            let person = match by_email_ref.get(&w.email) {
                Some(p) => {
                    s.found();
                    p.clone()
                }
                None => {
                    let p = call!(
                        s.admin.directory(),
                        create_person,
                        CreatePersonRequest {
                            request_id: s.rid(&["person", &w.email]),
                            display_name: w.name.clone(),
                            email: w.email.clone(),
                            phone: phone(&w.email),
                            title: w.title.clone(),
                            department_id: depts_ref[w.dept].id.clone(),
                            roles: w.roles.iter().map(|r| *r as i32).collect(),
                        }
                    )
                    .with_context(|| format!("creating {} ({})", w.name, w.email))?;
                    s.made();
                    p
                }
            };
            s.step(&person.display_name);
            anyhow::Ok(Member {
                person,
                dept: w.dept,
                post: w.post,
            })
        })
        .buffered(8)
        .try_collect()
        .await?;
    Ok(Org {
        depts,
        parents,
        members,
    })
}

/// A made-up mobile number, the same for the same person.
fn phone(email: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(email.as_bytes());
    let n = u64::from_be_bytes(h[..8].try_into().unwrap_or_default()) % 100_000_000;
    format!("139{n:08}")
}

impl Org {
    pub fn id(&self, key: &str) -> String {
        self.depts
            .get(key)
            .map(|d| d.id.clone())
            .unwrap_or_default()
    }

    pub fn key_of(&self, dept_id: &str) -> Option<&'static str> {
        self.depts
            .iter()
            .find(|(_, d)| d.id == dept_id)
            .map(|(k, _)| *k)
    }

    fn first(&self, post: Post, dept: Option<&str>) -> &Person {
        self.members
            .iter()
            .find(|m| m.post == post && dept.is_none_or(|d| m.dept == d))
            .map(|m| &m.person)
            .unwrap_or(&self.members[0].person)
    }

    pub fn head(&self, key: &str) -> &Person {
        self.first(Post::Head, Some(key))
    }

    pub fn admin(&self) -> &Person {
        self.first(Post::Admin, None)
    }

    pub fn coordinator(&self) -> &Person {
        self.first(Post::Coordinator, None)
    }

    pub fn deputies(&self) -> Vec<&Person> {
        self.with_post(Post::Deputy)
    }

    pub fn heads(&self) -> Vec<&Person> {
        self.with_post(Post::Head)
    }

    fn with_post(&self, post: Post) -> Vec<&Person> {
        self.members
            .iter()
            .filter(|m| m.post == post)
            .map(|m| &m.person)
            .collect()
    }

    /// Staff of exactly this department (not its sub-departments).
    pub fn staff(&self, key: &str) -> Vec<&Person> {
        self.members
            .iter()
            .filter(|m| m.dept == key && m.post == Post::Staff)
            .map(|m| &m.person)
            .collect()
    }

    /// One of the department's staff (its head when it has none), chosen by
    /// `n`.
    pub fn someone_in(&self, key: &str, n: usize) -> &Person {
        let staff = self.staff(key);
        if staff.is_empty() {
            self.head(key)
        } else {
            staff[n % staff.len()]
        }
    }

    /// Whether department `key` is `ancestor` or below it.
    pub fn within(&self, key: &str, ancestor: &str) -> bool {
        let mut at = Some(key);
        while let Some(k) = at {
            if k == ancestor {
                return true;
            }
            at = self.parents.get(k).copied().flatten();
        }
        false
    }

    /// Everybody in department `key` and below it.
    pub fn subtree(&self, key: &str) -> Vec<&Person> {
        self.members
            .iter()
            .filter(|m| self.within(m.dept, key))
            .map(|m| &m.person)
            .collect()
    }

    pub fn everyone(&self) -> Vec<&Person> {
        self.members.iter().map(|m| &m.person).collect()
    }

    /// Staff anywhere, for submitters and enrolments.
    pub fn all_staff(&self) -> Vec<&Person> {
        self.with_post(Post::Staff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_grows_without_moving_anybody() {
        let small = roster(&super::super::zh::CONTENT, 60);
        let large = roster(&super::super::zh::CONTENT, 240);
        assert_eq!(small.len(), 60);
        assert_eq!(large.len(), 240);
        for (a, b) in small.iter().zip(&large) {
            assert_eq!((&a.email, &a.name, a.dept), (&b.email, &b.name, b.dept));
        }
        let emails: HashSet<_> = large.iter().map(|w| &w.email).collect();
        assert_eq!(emails.len(), large.len(), "e-mails are unique");
        assert!(large.iter().any(|w| w.roles == [Role::Admin]));
    }
}

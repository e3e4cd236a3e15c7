//! Development plans: who stands where towards a plan, and creating,
//! reading, listing and changing plans.

use concord_kit::auth::Principal;
use concord_kit::fields::{check_etag, etag, update_mask};
use concord_kit::idempotency::{Key, check_request_id, remember, replay};
use concord_kit::ids::{check_id, check_opt_id, check_opt_text, check_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit};
use concord_proto::training::v1 as pb;
use serde_json::json;

use super::{Training, convert, resource};
use crate::domain::access::{self, Reach};
use crate::domain::development::{self as dev, DevelopmentPlan, Goal, GoalStatus, PlanField};
use crate::store::{self, development as db};

const KIND: &str = "development plan";

/// How the caller stands towards a development plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// The person the plan is for.
    Person,
    Admin,
    /// A head of the person's department, or of one above it.
    Head,
    Mentor,
    Auditor,
    Stranger,
}

impl Standing {
    pub fn sees(self) -> bool {
        self != Standing::Stranger
    }

    /// Changes the plan and its goals.
    pub fn changes(self) -> bool {
        matches!(self, Standing::Person | Standing::Admin | Standing::Head)
    }

    /// Records progress.
    pub fn notes(self) -> bool {
        self.changes() || self == Standing::Mentor
    }
}

pub(super) async fn standing(
    t: &Training,
    who: &Principal,
    plan: &DevelopmentPlan,
) -> Result<Standing, Error> {
    if who.subject == plan.person_id {
        return Ok(Standing::Person);
    }
    if who.is_admin() {
        return Ok(Standing::Admin);
    }
    if let reach @ Reach::Subtree(_) = access::developing(who) {
        let department = match t.org.person(&plan.person_id).await? {
            Some(p) => p.department_id,
            None => plan.department_id.clone(),
        };
        if t.org.covers(&reach, &department).await? {
            return Ok(Standing::Head);
        }
    }
    if !plan.mentor_id.is_empty() && who.subject == plan.mentor_id {
        return Ok(Standing::Mentor);
    }
    if access::is_auditor(who) {
        return Ok(Standing::Auditor);
    }
    Ok(Standing::Stranger)
}

fn denied() -> Error {
    Error::denied(
        "a development plan is seen by the person, their mentor, their department heads, admins and auditors",
    )
}

/// A plan with its goals, or NOT_FOUND.
pub(super) async fn load(t: &Training, id: &str) -> Result<(DevelopmentPlan, Vec<Goal>), Error> {
    let mut conn = t.conn().await?;
    let p = db::get_plan(&mut conn, id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, id))?;
    let goals = db::goals_of(&mut conn, std::slice::from_ref(&p.id))
        .await?
        .remove(&p.id)
        .unwrap_or_default();
    Ok((p, goals))
}

/// Checks a mentor: an existing person other than the plan's person.
async fn check_mentor(
    t: &Training,
    field: &str,
    mentor_id: &str,
    person_id: &str,
) -> Result<(), Error> {
    if mentor_id.is_empty() {
        return Ok(());
    }
    if mentor_id == person_id {
        return Err(concord_kit::invalid(
            field,
            "cannot be the person themselves",
        ));
    }
    match t.org.person(mentor_id).await? {
        Some(_) => Ok(()),
        None => Err(concord_kit::invalid(field, "names no person")),
    }
}

pub async fn create(
    t: &Training,
    who: &Principal,
    req: &pb::CreateDevelopmentPlanRequest,
) -> Result<pb::DevelopmentPlan, Error> {
    let now = t.now();
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    check_opt_id(&mut v, "person_id", &req.person_id);
    check_text(&mut v, "title", &req.title, dev::TITLE_MAX);
    check_opt_id(&mut v, "mentor_id", &req.mentor_id);
    check_opt_text(
        &mut v,
        "career_path",
        &req.career_path,
        dev::CAREER_PATH_MAX,
    );
    if req.goals.len() > dev::GOALS_MAX {
        v.add("goals", format!("at most {} goals", dev::GOALS_MAX));
    }
    let goals: Vec<dev::NewGoal> = req.goals.iter().map(convert::new_goal).collect();
    for (i, g) in goals.iter().enumerate() {
        g.check(&mut v, &format!("goals[{i}]"));
    }
    v.into_result()?;
    let person_id = if req.person_id.is_empty() {
        who.subject.clone()
    } else {
        req.person_id.clone()
    };
    let person = match t.org.person(&person_id).await? {
        Some(p) => p,
        None if req.person_id.is_empty() => {
            return Err(Error::precondition("you are not in the directory"));
        }
        None => return Err(concord_kit::invalid("person_id", "names no person")),
    };
    if person_id != who.subject
        && !t
            .org
            .covers(&access::developing(who), &person.department_id)
            .await?
    {
        return Err(Error::denied(
            "a development plan is made by the person, a head of their department, or an admin",
        ));
    }
    check_mentor(t, "mentor_id", &req.mentor_id, &person_id).await?;

    let key = Key::new("CreateDevelopmentPlan", &who.subject, &req.request_id);
    let mut tx = t.db.begin().await?;
    if let Some(done) = replay::<pb::DevelopmentPlan>(&mut tx, key.as_ref(), now).await? {
        return Ok(done);
    }
    let p = DevelopmentPlan {
        id: new_id(),
        person_id,
        department_id: person.department_id,
        title: req.title.trim().to_string(),
        mentor_id: req.mentor_id.clone(),
        career_path: req.career_path.clone(),
        created_by: who.subject.clone(),
        created_ms: now,
        updated_ms: now,
        last_review_ms: None,
        version: 1,
    };
    db::insert_plan(&mut tx, &p).await?;
    let mut stored = Vec::with_capacity(goals.len());
    for g in goals {
        let goal = Goal {
            id: new_id(),
            plan_id: p.id.clone(),
            goal: g,
            status: GoalStatus::NotStarted,
            created_ms: now,
            updated_ms: now,
            version: 1,
        };
        db::insert_goal(&mut tx, &goal).await?;
        stored.push(goal);
    }
    stored.sort_by(|a, b| {
        a.goal
            .target_date
            .cmp(&b.goal.target_date)
            .then(a.id.cmp(&b.id))
    });
    let detail =
        json!({ "person_id": p.person_id, "mentor_id": p.mentor_id, "goals": stored.len() });
    audit::record(
        &mut tx,
        now,
        who,
        "development_plan.create",
        &resource("development-plans", &p.id),
        detail,
    )
    .await?;
    let out = convert::development_plan(&p, &stored);
    remember(&mut tx, key.as_ref(), &out).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn get(
    t: &Training,
    who: &Principal,
    req: &pb::GetDevelopmentPlanRequest,
) -> Result<pb::DevelopmentPlan, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.into_result()?;
    let (p, goals) = load(t, &req.id).await?;
    if !standing(t, who, &p).await?.sees() {
        return Err(denied());
    }
    Ok(convert::development_plan(&p, &goals))
}

pub async fn list(
    t: &Training,
    who: &Principal,
    req: &pb::ListDevelopmentPlansRequest,
) -> Result<pb::ListDevelopmentPlansResponse, Error> {
    let mut v = Violations::new();
    check_opt_id(&mut v, "person_id", &req.person_id);
    check_opt_id(&mut v, "department_id", &req.department_id);
    let page = v.absorb(Page::parse(
        req.page_size,
        &req.page_token,
        &format!(
            "development|{}|{}|{}",
            req.person_id, req.department_id, req.include_sub_departments
        ),
    ))?;
    v.into_result()?;
    let page = page.ok_or_else(|| concord_kit::invalid("page_token", "is not valid"))?;
    let departments = t
        .org
        .scope(
            &Reach::Everywhere,
            "department_id",
            &req.department_id,
            req.include_sub_departments,
        )
        .await?;
    let visible_to = if who.is_admin() || access::is_auditor(who) {
        None
    } else {
        let heads = t
            .org
            .reach_set(&access::developing(who))
            .await?
            .unwrap_or_default();
        Some((who.subject.clone(), heads))
    };
    let filter = db::Filter {
        person_id: (!req.person_id.is_empty()).then(|| req.person_id.clone()),
        departments,
        visible_to,
    };
    let mut conn = t.conn().await?;
    let rows = db::list_plans(
        &mut conn,
        &filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |p| store::key_cursor(&p.id));
    let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let mut goals = db::goals_of(&mut conn, &ids).await?;
    Ok(pb::ListDevelopmentPlansResponse {
        plans: rows
            .iter()
            .map(|p| convert::development_plan(p, &goals.remove(&p.id).unwrap_or_default()))
            .collect(),
        next_page_token,
    })
}

pub async fn update(
    t: &Training,
    who: &Principal,
    req: &pb::UpdateDevelopmentPlanRequest,
) -> Result<pb::DevelopmentPlan, Error> {
    let now = t.now();
    let mut v = Violations::new();
    let fields = update_mask(&mut v, req.update_mask.as_ref(), PlanField::ALL);
    let Some(given) = req.plan.as_ref() else {
        v.add("plan", "is required");
        return Err(Error::Invalid(v));
    };
    check_id(&mut v, "plan.id", &given.id);
    let expected = etag(&mut v, "plan.etag", &given.etag);
    for f in &fields {
        match f {
            PlanField::Title => check_text(&mut v, "plan.title", &given.title, dev::TITLE_MAX),
            PlanField::MentorId => check_opt_id(&mut v, "plan.mentor_id", &given.mentor_id),
            PlanField::CareerPath => {
                check_opt_text(
                    &mut v,
                    "plan.career_path",
                    &given.career_path,
                    dev::CAREER_PATH_MAX,
                );
            }
        }
    }
    v.into_result()?;
    let (read, _) = load(t, &given.id).await?;
    if !standing(t, who, &read).await?.changes() {
        return Err(Error::denied(
            "a development plan is changed by the person, their department heads and admins",
        ));
    }
    if fields.contains(&PlanField::MentorId) {
        check_mentor(t, "plan.mentor_id", &given.mentor_id, &read.person_id).await?;
    }
    let mut tx = t.db.begin().await?;
    let mut p = db::get_plan(&mut tx, &read.id)
        .await?
        .ok_or_else(|| Error::not_found(KIND, &read.id))?;
    check_etag(KIND, expected, p.version)?;
    for f in &fields {
        match f {
            PlanField::Title => p.title = given.title.trim().to_string(),
            PlanField::MentorId => p.mentor_id.clone_from(&given.mentor_id),
            PlanField::CareerPath => p.career_path.clone_from(&given.career_path),
        }
    }
    let was = p.version;
    p.version += 1;
    p.updated_ms = now;
    if !db::update_plan(&mut tx, &p, was).await? {
        return Err(Error::stale_etag(KIND));
    }
    let paths: Vec<&str> = PlanField::ALL
        .iter()
        .filter(|(_, f)| fields.contains(f))
        .map(|(p, _)| *p)
        .collect();
    let detail = json!({ "fields": paths, "mentor_id": p.mentor_id });
    audit::record(
        &mut tx,
        now,
        who,
        "development_plan.update",
        &resource("development-plans", &p.id),
        detail,
    )
    .await?;
    let goals = db::goals_of(&mut tx, std::slice::from_ref(&p.id))
        .await?
        .remove(&p.id)
        .unwrap_or_default();
    tx.commit().await?;
    Ok(convert::development_plan(&p, &goals))
}

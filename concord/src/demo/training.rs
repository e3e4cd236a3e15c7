//! Training plans (a mandatory one for everybody, one with a waiting list,
//! a draft) with enrolments, attendance and certificates; personal
//! development plans with goals, progress and a head's review.

use std::collections::HashSet;

use anyhow::Context as _;
use concord_kit::clock::{from_timestamp, to_timestamp};
use concord_proto::directory::v1::Person;
use concord_proto::training::v1::Session as Sitting;
use concord_proto::training::v1::*;
use futures::{StreamExt, TryStreamExt};

use super::content::TrainingSpec;
use super::org::Org;
use super::session::{Session, call, chance, pages};

pub async fn training(s: &Session, org: &Org) -> anyhow::Result<()> {
    for spec in s.content.trainings {
        plan(s, org, spec)
            .await
            .with_context(|| format!("the training {}", spec.title))?;
        s.step(spec.title);
    }
    development(s, org).await.context("development plans")
}

/// Who plans it: the organising department's head when the audience lies
/// within that department, else the administrator.
fn planner<'o>(org: &'o Org, spec: &TrainingSpec) -> &'o Person {
    if spec.audience.iter().all(|a| org.within(a, spec.department)) {
        org.head(spec.department)
    } else {
        org.admin()
    }
}

async fn plan(s: &Session, org: &Org, spec: &TrainingSpec) -> anyhow::Result<()> {
    let planner = s.as_person(planner(org, spec))?;
    let tr = planner.training();
    let existing = pages!(
        tr,
        list_training_plans,
        ListTrainingPlansRequest {
            department_id: org.id(spec.department),
            ..Default::default()
        },
        plans
    );
    let mut plan = match existing.into_iter().find(|p| p.title == spec.title) {
        Some(p) => {
            s.found();
            p
        }
        None => {
            s.made();
            let sessions = spec
                .sessions
                .iter()
                .map(|(day, hour, hours, title)| {
                    let start = s.local_at(*day, *hour, 0);
                    Sitting {
                        title: title.to_string(),
                        start_time: Some(to_timestamp(start)),
                        end_time: Some(to_timestamp(start + i64::from(*hours) * 3_600_000)),
                        ..Default::default()
                    }
                })
                .collect();
            call!(
                tr,
                create_training_plan,
                CreateTrainingPlanRequest {
                    request_id: s.rid(&["training", spec.key]),
                    department_id: org.id(spec.department),
                    title: spec.title.into(),
                    content_outline: spec.outline.into(),
                    mode: spec.mode,
                    place: spec.place.into(),
                    link: spec.link.into(),
                    sessions,
                    audience: Some(Audience {
                        department_ids: spec.audience.iter().map(|k| org.id(k)).collect(),
                        include_sub_departments: true,
                        person_ids: vec![],
                    }),
                    capacity: spec.capacity,
                    mandatory: spec.mandatory_days.is_some(),
                    completion_deadline: spec
                        .mandatory_days
                        .map(|d| to_timestamp(s.local_at(d, 18, 0))),
                }
            )?
        }
    };
    if !spec.publish {
        return Ok(());
    }
    if plan.state == PlanState::Draft as i32 {
        plan = call!(
            tr,
            publish_training_plan,
            PublishTrainingPlanRequest {
                id: plan.id.clone(),
                etag: String::new(),
            }
        )?;
    }
    enrol(s, org, spec, &plan).await?;
    attend_and_complete(s, spec, &planner, &plan).await?;
    if plan.mandatory {
        call!(
            tr,
            remind_incomplete,
            RemindIncompleteRequest {
                request_id: s.rid(&["training-remind", spec.key]),
                plan_id: plan.id.clone(),
            }
        )?;
    }
    Ok(())
}

async fn enrolments(
    planner: &crate::client::Conn,
    plan_id: &str,
) -> anyhow::Result<Vec<Enrolment>> {
    Ok(pages!(
        planner.training(),
        list_enrolments,
        ListEnrolmentsRequest {
            plan_id: plan_id.to_string(),
            ..Default::default()
        },
        enrolments
    ))
}

/// People of the audience enrol themselves (once).
async fn enrol(
    s: &Session,
    org: &Org,
    spec: &TrainingSpec,
    plan: &TrainingPlan,
) -> anyhow::Result<()> {
    let planner = s.as_person(planner(org, spec))?;
    let enrolled: HashSet<String> = enrolments(&planner, &plan.id)
        .await?
        .into_iter()
        .filter(|e| e.status != EnrolmentStatus::Cancelled as i32)
        .map(|e| e.person_id)
        .collect();
    let mut people: Vec<&Person> = spec.audience.iter().flat_map(|k| org.subtree(k)).collect();
    people.sort_by(|a, b| a.email.cmp(&b.email));
    people.dedup_by(|a, b| a.id == b.id);
    let joining: Vec<&Person> = people
        .into_iter()
        .filter(|p| !enrolled.contains(&p.id))
        .filter(|p| chance(&format!("{}:{}", spec.key, p.email), spec.enrol))
        .collect();
    futures::stream::iter(joining)
        .map(|p| async move {
            let conn = s.as_person(p)?;
            call!(
                conn.training(),
                enrol_in_training,
                EnrolInTrainingRequest {
                    request_id: s.rid(&["enrol", spec.key, &p.email]),
                    plan_id: plan.id.clone(),
                    person_id: String::new(),
                }
            )?;
            anyhow::Ok(())
        })
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
}

/// The seated people attend the sessions that have begun; some complete.
async fn attend_and_complete(
    s: &Session,
    spec: &TrainingSpec,
    planner: &crate::client::Conn,
    plan: &TrainingPlan,
) -> anyhow::Result<()> {
    let seated: Vec<Enrolment> = enrolments(planner, &plan.id)
        .await?
        .into_iter()
        .filter(|e| {
            e.status == EnrolmentStatus::Enrolled as i32
                || e.status == EnrolmentStatus::Completed as i32
        })
        .collect();
    if seated.is_empty() {
        return Ok(());
    }
    let mut attended = HashSet::new();
    for session in &plan.sessions {
        let started = session
            .start_time
            .as_ref()
            .and_then(from_timestamp)
            .is_some_and(|t| t <= s.now);
        if !started {
            continue;
        }
        let marks: Vec<AttendanceMark> = seated
            .iter()
            .map(|e| {
                let present = !chance(&format!("{}:{}:{}", spec.key, session.id, e.person_id), 8);
                if present {
                    attended.insert(e.person_id.clone());
                }
                AttendanceMark {
                    person_id: e.person_id.clone(),
                    present,
                }
            })
            .collect();
        for chunk in marks.chunks(200) {
            call!(
                planner.training(),
                record_attendance,
                RecordAttendanceRequest {
                    plan_id: plan.id.clone(),
                    session_id: session.id.clone(),
                    marks: chunk.to_vec(),
                }
            )?;
        }
    }
    for e in seated.iter().filter(|e| {
        e.status == EnrolmentStatus::Enrolled as i32
            && attended.contains(&e.person_id)
            && chance(&format!("{}:{}:done", spec.key, e.person_id), spec.complete)
    }) {
        let score = 60.0 + (e.person_id.bytes().map(u32::from).sum::<u32>() % 40) as f64;
        call!(
            planner.training(),
            complete_training,
            CompleteTrainingRequest {
                enrolment_id: e.id.clone(),
                assessment_score: Some(score),
            }
        )?;
    }
    Ok(())
}

/// A development plan for a few members of staff, with their head as
/// mentor and reviewer.
async fn development(s: &Session, org: &Org) -> anyhow::Result<()> {
    let Some(spec) = s.content.development.first() else {
        return Ok(());
    };
    let staff = org.all_staff();
    let chosen: Vec<&Person> = staff.iter().step_by(9).take(8).copied().collect();
    for person in chosen {
        let me = s.as_person(person)?;
        let dev = me.development();
        let mine = pages!(
            dev,
            list_development_plans,
            ListDevelopmentPlansRequest {
                person_id: person.id.clone(),
                ..Default::default()
            },
            plans
        );
        let dept = org.key_of(&person.department_id).unwrap_or("root");
        let head = org.head(dept);
        let plan = match mine.into_iter().find(|p| p.title == spec.title) {
            Some(p) => {
                s.found();
                p
            }
            None => {
                s.made();
                let date = |d: i64| s.zone.date_of(s.days(d)).format("%Y-%m-%d").to_string();
                call!(
                    dev,
                    create_development_plan,
                    CreateDevelopmentPlanRequest {
                        request_id: s.rid(&["development", &person.email]),
                        person_id: String::new(),
                        title: spec.title.into(),
                        mentor_id: head.id.clone(),
                        career_path: spec.career_path.into(),
                        goals: spec
                            .goals
                            .iter()
                            .enumerate()
                            .map(|(i, g)| NewGoal {
                                title: g.to_string(),
                                description: String::new(),
                                target_date: date(90 * (i as i64 + 1)),
                            })
                            .collect(),
                    }
                )?
            }
        };
        let updates = pages!(
            dev,
            list_progress_updates,
            ListProgressUpdatesRequest {
                plan_id: plan.id.clone(),
                ..Default::default()
            },
            updates
        );
        if !updates.iter().any(|u| u.text == spec.progress) {
            call!(
                dev,
                add_progress_update,
                AddProgressUpdateRequest {
                    request_id: s.rid(&["development-progress", &person.email]),
                    plan_id: plan.id.clone(),
                    goal_id: plan.goals.first().map(|g| g.id.clone()).unwrap_or_default(),
                    text: spec.progress.into(),
                    goal_status: if plan.goals.is_empty() {
                        0
                    } else {
                        GoalStatus::InProgress as i32
                    },
                }
            )?;
        }
        if plan.last_review_time.is_none() {
            let reviewer = s.as_person(head)?;
            call!(
                reviewer.development(),
                review_development_plan,
                ReviewDevelopmentPlanRequest {
                    request_id: s.rid(&["development-review", &person.email]),
                    plan_id: plan.id.clone(),
                    comment: spec.review.into(),
                }
            )?;
        }
        s.step(&person.display_name);
    }
    Ok(())
}

//! Proto ⇄ domain at the boundary: each request field is validated into a
//! domain value, naming the field when it is bad; stored values are
//! rendered back into messages.

use concord_kit::Violations;
use concord_kit::clock::{Millis, from_timestamp, to_timestamp, to_timestamp_opt};
use concord_kit::fields::render_etag;
use concord_kit::ids::{check_id, check_opt_text, check_text, new_id};
use concord_proto::directory::v1::ResolveAudienceRequest;
use concord_proto::training::v1 as pb;

use crate::domain::development::{self as dev, GoalStatus};
use crate::domain::enrolment::{Enrolment, Status, score_points};
use crate::domain::hours;
use crate::domain::plan::{self, Audience, Mode, Plan, PlanContent, PlanState, Session};
use crate::store::attendance::Mark;
use crate::store::audience::Incomplete;

/// A required timestamp.
pub fn time(v: &mut Violations, field: &str, ts: Option<&prost_types::Timestamp>) -> Millis {
    match ts.map(from_timestamp) {
        Some(Some(ms)) => ms,
        Some(None) => {
            v.add(field, "is not a valid timestamp");
            0
        }
        None => {
            v.add(field, "is required");
            0
        }
    }
}

/// An optional timestamp.
pub fn opt_time(
    v: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<Millis> {
    ts.map(|t| time(v, field, Some(t)))
}

pub fn mode(v: &mut Violations, field: &str, value: i32) -> Mode {
    match pb::Mode::try_from(value) {
        Ok(pb::Mode::OnSite) => Mode::OnSite,
        Ok(pb::Mode::Online) => Mode::Online,
        Ok(pb::Mode::Mentoring) => Mode::Mentoring,
        Ok(pb::Mode::Unspecified) => {
            v.add(field, "is required: on-site, online or mentoring");
            Mode::OnSite
        }
        Err(_) => {
            v.add(field, "is not a known mode");
            Mode::OnSite
        }
    }
}

/// Validates sessions (new ids are given) and orders them by start.
pub fn sessions(v: &mut Violations, prefix: &str, given: &[pb::Session]) -> Vec<Session> {
    let field = format!("{prefix}sessions");
    if given.is_empty() {
        v.add(&field, "at least one session is required");
    } else if given.len() > plan::SESSIONS_MAX {
        v.add(&field, format!("at most {} sessions", plan::SESSIONS_MAX));
    }
    let mut out: Vec<Session> = given
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f = |name: &str| format!("{field}[{i}].{name}");
            check_opt_text(v, &f("title"), &s.title, plan::TITLE_MAX);
            check_opt_text(v, &f("place"), &s.place, plan::PLACE_MAX);
            let start_ms = time(v, &f("start_time"), s.start_time.as_ref());
            let end_ms = time(v, &f("end_time"), s.end_time.as_ref());
            if s.start_time.is_some() && s.end_time.is_some() {
                if end_ms <= start_ms {
                    v.add(f("end_time"), "must be after start_time");
                } else if end_ms - start_ms > plan::SESSION_MAX_MS {
                    v.add(f("end_time"), "a session lasts at most 24 hours");
                }
            }
            Session {
                id: new_id(),
                title: s.title.trim().to_string(),
                start_ms,
                end_ms,
                place: s.place.trim().to_string(),
            }
        })
        .collect();
    out.sort_by_key(|s| s.start_ms);
    out
}

pub fn audience(v: &mut Violations, prefix: &str, a: Option<&pb::Audience>) -> Audience {
    let field = format!("{prefix}audience");
    let Some(a) = a else {
        v.add(field, "is required: name departments or people");
        return Audience::default();
    };
    if a.department_ids.is_empty() && a.person_ids.is_empty() {
        v.add(&field, "name at least one department or person");
    }
    for (name, ids) in [
        ("department_ids", &a.department_ids),
        ("person_ids", &a.person_ids),
    ] {
        if ids.len() > plan::AUDIENCE_MAX {
            v.add(
                format!("{field}.{name}"),
                format!("at most {}", plan::AUDIENCE_MAX),
            );
        }
        for (i, id) in ids.iter().enumerate() {
            check_id(v, &format!("{field}.{name}[{i}]"), id);
        }
    }
    let dedup = |ids: &[String]| {
        let mut out: Vec<String> = Vec::new();
        for id in ids {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        out
    };
    Audience {
        department_ids: dedup(&a.department_ids),
        include_sub_departments: a.include_sub_departments,
        person_ids: dedup(&a.person_ids),
    }
}

pub fn capacity(v: &mut Violations, field: &str, value: i32) -> i64 {
    let c = i64::from(value);
    if !(0..=plan::CAPACITY_MAX).contains(&c) {
        v.add(
            field,
            format!("must be between 0 (unlimited) and {}", plan::CAPACITY_MAX),
        );
    }
    c
}

/// The whole content of a plan, as in a create request (field names under
/// `prefix`), each field checked on its own.
#[allow(clippy::too_many_arguments)]
pub fn content(
    v: &mut Violations,
    prefix: &str,
    title: &str,
    content_outline: &str,
    mode_value: i32,
    place: &str,
    link: &str,
    given_sessions: &[pb::Session],
    given_audience: Option<&pb::Audience>,
    capacity_value: i32,
    mandatory: bool,
    deadline: Option<&prost_types::Timestamp>,
) -> PlanContent {
    let f = |name: &str| format!("{prefix}{name}");
    check_text(v, &f("title"), title, plan::TITLE_MAX);
    check_opt_text(v, &f("content_outline"), content_outline, plan::OUTLINE_MAX);
    check_opt_text(v, &f("place"), place, plan::PLACE_MAX);
    check_opt_text(v, &f("link"), link, plan::LINK_MAX);
    PlanContent {
        title: title.trim().to_string(),
        content_outline: content_outline.to_string(),
        mode: mode(v, &f("mode"), mode_value),
        place: place.trim().to_string(),
        link: link.trim().to_string(),
        sessions: sessions(v, prefix, given_sessions),
        audience: audience(v, prefix, given_audience),
        capacity: capacity(v, &f("capacity"), capacity_value),
        mandatory,
        deadline_ms: opt_time(v, &f("completion_deadline"), deadline),
    }
}

pub fn plan_state(s: PlanState) -> pb::PlanState {
    match s {
        PlanState::Draft => pb::PlanState::Draft,
        PlanState::Published => pb::PlanState::Published,
        PlanState::Cancelled => pb::PlanState::Cancelled,
    }
}

fn proto_mode(m: Mode) -> pb::Mode {
    match m {
        Mode::OnSite => pb::Mode::OnSite,
        Mode::Online => pb::Mode::Online,
        Mode::Mentoring => pb::Mode::Mentoring,
    }
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub fn plan(p: &Plan) -> pb::TrainingPlan {
    let c = &p.content;
    pb::TrainingPlan {
        id: p.id.clone(),
        department_id: p.department_id.clone(),
        title: c.title.clone(),
        content_outline: c.content_outline.clone(),
        mode: proto_mode(c.mode) as i32,
        place: c.place.clone(),
        link: c.link.clone(),
        sessions: c
            .sessions
            .iter()
            .map(|s| pb::Session {
                id: s.id.clone(),
                title: s.title.clone(),
                start_time: Some(to_timestamp(s.start_ms)),
                end_time: Some(to_timestamp(s.end_ms)),
                place: s.place.clone(),
                hours: hours(s.duration_ms()),
            })
            .collect(),
        audience: Some(pb::Audience {
            department_ids: c.audience.department_ids.clone(),
            include_sub_departments: c.audience.include_sub_departments,
            person_ids: c.audience.person_ids.clone(),
        }),
        capacity: count(c.capacity),
        mandatory: c.mandatory,
        completion_deadline: c.deadline_ms.map(to_timestamp),
        state: plan_state(p.state) as i32,
        seats_taken: count(p.counts.seats_taken),
        waiting: count(p.counts.waiting),
        completed: count(p.counts.completed),
        audience_size: count(p.counts.audience_size),
        deadline_passed: p.deadline_passed,
        created_by: p.created_by.clone(),
        create_time: Some(to_timestamp(p.created_ms)),
        update_time: Some(to_timestamp(p.updated_ms)),
        publish_time: to_timestamp_opt(p.publish_ms),
        etag: render_etag(p.version),
    }
}

pub fn status(s: Status) -> pb::EnrolmentStatus {
    match s {
        Status::Enrolled => pb::EnrolmentStatus::Enrolled,
        Status::Waitlisted => pb::EnrolmentStatus::Waitlisted,
        Status::Cancelled => pb::EnrolmentStatus::Cancelled,
        Status::Completed => pb::EnrolmentStatus::Completed,
    }
}

/// A status filter: UNSPECIFIED means any.
pub fn status_filter(v: &mut Violations, field: &str, value: i32) -> Option<Status> {
    match pb::EnrolmentStatus::try_from(value) {
        Ok(pb::EnrolmentStatus::Unspecified) => None,
        Ok(pb::EnrolmentStatus::Enrolled) => Some(Status::Enrolled),
        Ok(pb::EnrolmentStatus::Waitlisted) => Some(Status::Waitlisted),
        Ok(pb::EnrolmentStatus::Cancelled) => Some(Status::Cancelled),
        Ok(pb::EnrolmentStatus::Completed) => Some(Status::Completed),
        Err(_) => {
            v.add(field, "is not a known enrolment status");
            None
        }
    }
}

/// The completion record of a completed enrolment of `plan`, with the
/// hours the person attended.
pub fn record(e: &Enrolment, p: &Plan, attended_ms: i64) -> Option<pb::CompletionRecord> {
    let c = e.completion.as_ref()?;
    Some(pb::CompletionRecord {
        certificate_number: c.certificate_number.clone(),
        plan_id: p.id.clone(),
        plan_title: p.content.title.clone(),
        person_id: e.person_id.clone(),
        department_id: e.department_id.clone(),
        issue_time: Some(to_timestamp(c.completed_ms)),
        assessment_score: c.score_centi.map(score_points),
        hours: hours(attended_ms),
        issued_by: c.issued_by.clone(),
        within_deadline: p.content.mandatory
            && p.content.deadline_ms.is_some_and(|d| c.completed_ms <= d),
    })
}

pub fn enrolment(e: &Enrolment, completion: Option<pb::CompletionRecord>) -> pb::Enrolment {
    pb::Enrolment {
        id: e.id.clone(),
        plan_id: e.plan_id.clone(),
        person_id: e.person_id.clone(),
        department_id: e.department_id.clone(),
        status: status(e.status) as i32,
        waitlist_position: count(e.waitlist_position),
        enrol_time: Some(to_timestamp(e.enrol_ms)),
        seat_time: e.seat_ms.map(to_timestamp),
        cancel_time: e.cancel_ms.map(to_timestamp),
        completion,
    }
}

pub fn attendance(m: &Mark) -> pb::Attendance {
    pb::Attendance {
        session_id: m.session_id.clone(),
        person_id: m.person_id.clone(),
        present: m.present,
        recorded_by: m.recorded_by.clone(),
        record_time: Some(to_timestamp(m.record_ms)),
    }
}

pub fn incomplete(
    i: &Incomplete,
    deadline_ms: Option<Millis>,
    now: Millis,
) -> pb::IncompletePerson {
    pb::IncompletePerson {
        person_id: i.person_id.clone(),
        department_id: i.department_id.clone(),
        display_name: i.display_name.clone(),
        enrolment_status: i.status.map(|s| status(s) as i32).unwrap_or_default(),
        reminders_sent: count(i.reminders),
        last_reminder_time: i.last_reminder_ms.map(to_timestamp),
        non_compliant: i.non_compliant || deadline_ms.is_some_and(|d| d <= now),
    }
}

pub fn goal_status(s: GoalStatus) -> pb::GoalStatus {
    match s {
        GoalStatus::NotStarted => pb::GoalStatus::NotStarted,
        GoalStatus::InProgress => pb::GoalStatus::InProgress,
        GoalStatus::Achieved => pb::GoalStatus::Achieved,
        GoalStatus::Deferred => pb::GoalStatus::Deferred,
        GoalStatus::Dropped => pb::GoalStatus::Dropped,
    }
}

/// A goal status field: `None` for UNSPECIFIED.
pub fn opt_goal_status(v: &mut Violations, field: &str, value: i32) -> Option<GoalStatus> {
    match pb::GoalStatus::try_from(value) {
        Ok(pb::GoalStatus::Unspecified) => None,
        Ok(pb::GoalStatus::NotStarted) => Some(GoalStatus::NotStarted),
        Ok(pb::GoalStatus::InProgress) => Some(GoalStatus::InProgress),
        Ok(pb::GoalStatus::Achieved) => Some(GoalStatus::Achieved),
        Ok(pb::GoalStatus::Deferred) => Some(GoalStatus::Deferred),
        Ok(pb::GoalStatus::Dropped) => Some(GoalStatus::Dropped),
        Err(_) => {
            v.add(field, "is not a known goal status");
            None
        }
    }
}

pub fn new_goal(g: &pb::NewGoal) -> dev::NewGoal {
    dev::NewGoal {
        title: g.title.trim().to_string(),
        description: g.description.clone(),
        target_date: g.target_date.trim().to_string(),
    }
}

pub fn goal(g: &dev::Goal) -> pb::Goal {
    pb::Goal {
        id: g.id.clone(),
        plan_id: g.plan_id.clone(),
        title: g.goal.title.clone(),
        description: g.goal.description.clone(),
        target_date: g.goal.target_date.clone(),
        status: goal_status(g.status) as i32,
        create_time: Some(to_timestamp(g.created_ms)),
        update_time: Some(to_timestamp(g.updated_ms)),
        etag: render_etag(g.version),
    }
}

pub fn development_plan(p: &dev::DevelopmentPlan, goals: &[dev::Goal]) -> pb::DevelopmentPlan {
    pb::DevelopmentPlan {
        id: p.id.clone(),
        person_id: p.person_id.clone(),
        department_id: p.department_id.clone(),
        title: p.title.clone(),
        mentor_id: p.mentor_id.clone(),
        career_path: p.career_path.clone(),
        goals: goals.iter().map(goal).collect(),
        created_by: p.created_by.clone(),
        create_time: Some(to_timestamp(p.created_ms)),
        update_time: Some(to_timestamp(p.updated_ms)),
        last_review_time: p.last_review_ms.map(to_timestamp),
        etag: render_etag(p.version),
    }
}

pub fn progress(u: &dev::ProgressUpdate) -> pb::ProgressUpdate {
    pb::ProgressUpdate {
        id: u.id.clone(),
        plan_id: u.plan_id.clone(),
        goal_id: u.goal_id.clone(),
        author_id: u.author_id.clone(),
        text: u.text.clone(),
        goal_status: u
            .goal_status
            .map(|s| goal_status(s) as i32)
            .unwrap_or_default(),
        create_time: Some(to_timestamp(u.created_ms)),
    }
}

pub fn review(r: &dev::Review) -> pb::Review {
    pb::Review {
        id: r.id.clone(),
        plan_id: r.plan_id.clone(),
        reviewer_id: r.reviewer_id.clone(),
        comment: r.comment.clone(),
        create_time: Some(to_timestamp(r.created_ms)),
    }
}

/// What the directory is asked to resolve for a plan's audience.
pub fn resolve_request(a: &Audience) -> ResolveAudienceRequest {
    ResolveAudienceRequest {
        everyone: false,
        department_ids: a.department_ids.clone(),
        include_sub_departments: a.include_sub_departments,
        person_ids: a.person_ids.clone(),
    }
}

//! The boundary between the wire and the domain: requests are validated into
//! domain values (every bad field named), domain values rendered as
//! messages. Nothing here ever renders a submitter of an anonymous item:
//! the domain does not hold one.

use concord_kit::clock::{to_timestamp, to_timestamp_opt};
use concord_kit::fields::{opt_id, render_etag};
use concord_kit::idempotency::check_request_id;
use concord_kit::ids::{check_opt_text, check_text};
use concord_kit::{Error, Violations};
use concord_proto::feedback::v1 as pb;

use crate::domain::sla::{DURATION_MAX_MS, DURATION_MIN_MS};
use crate::domain::{
    Author, Category, Channel, Deadline, EntryKind, Item, LINK_MAX, LINKS_MAX, LOCATION_MAX, Level,
    NewItem, Priority, Routing, SUBJECT_MAX, SlaPolicy, Status, TEXT_MAX,
};
use crate::store::entry::Entry;

pub fn channel(c: Channel) -> pb::Channel {
    match c {
        Channel::WebForm => pb::Channel::WebForm,
        Channel::Hotline => pb::Channel::Hotline,
        Channel::Email => pb::Channel::Email,
        Channel::StaffSymposium => pb::Channel::StaffSymposium,
        Channel::Meeting => pb::Channel::Meeting,
        Channel::SuggestionBox => pb::Channel::SuggestionBox,
    }
}

pub fn category(c: Category) -> pb::Category {
    match c {
        Category::Problem => pb::Category::Problem,
        Category::Suggestion => pb::Category::Suggestion,
        Category::Complaint => pb::Category::Complaint,
        Category::Praise => pb::Category::Praise,
    }
}

pub fn priority(p: Priority) -> pb::Priority {
    match p {
        Priority::Low => pb::Priority::Low,
        Priority::Normal => pb::Priority::Normal,
        Priority::High => pb::Priority::High,
        Priority::Urgent => pb::Priority::Urgent,
    }
}

pub fn status(s: Status) -> pb::Status {
    match s {
        Status::Submitted => pb::Status::Submitted,
        Status::Accepted => pb::Status::Accepted,
        Status::InProgress => pb::Status::InProgress,
        Status::Resolved => pb::Status::Resolved,
        Status::Closed => pb::Status::Closed,
        Status::Reopened => pb::Status::Reopened,
    }
}

pub fn level(l: Level) -> pb::EscalationLevel {
    match l {
        Level::Owner => pb::EscalationLevel::Owner,
        Level::DepartmentHead => pb::EscalationLevel::DepartmentHead,
        Level::Admins => pb::EscalationLevel::Admins,
    }
}

pub fn deadline(d: Deadline) -> pb::Deadline {
    match d {
        Deadline::FirstResponse => pb::Deadline::FirstResponse,
        Deadline::Resolution => pb::Deadline::Resolution,
    }
}

fn routing(r: Routing) -> pb::Routing {
    match r {
        Routing::Submitter => pb::Routing::Submitter,
        Routing::Duties => pb::Routing::Duties,
        Routing::Triage => pb::Routing::Triage,
        Routing::Admin => pb::Routing::Admin,
        Routing::Transfer => pb::Routing::Transfer,
    }
}

fn entry_kind(k: EntryKind) -> pb::EntryKind {
    match k {
        EntryKind::Submitted => pb::EntryKind::Submitted,
        EntryKind::Comment => pb::EntryKind::Comment,
        EntryKind::StatusChange => pb::EntryKind::StatusChange,
        EntryKind::Routing => pb::EntryKind::Routing,
        EntryKind::Assignment => pb::EntryKind::Assignment,
        EntryKind::Escalation => pb::EntryKind::Escalation,
        EntryKind::Update => pb::EntryKind::Update,
    }
}

fn author(a: Author) -> pb::Author {
    match a {
        Author::Submitter => pb::Author::Submitter,
        Author::Staff => pb::Author::Staff,
        Author::System => pb::Author::System,
    }
}

/// An item as of `now` (which decides `overdue`).
pub fn item(i: &Item, now: i64) -> pb::FeedbackItem {
    pb::FeedbackItem {
        id: i.id.clone(),
        channel: channel(i.channel) as i32,
        category: category(i.category) as i32,
        priority: priority(i.priority) as i32,
        subject: i.subject.clone(),
        body: i.body.clone(),
        location: i.location.clone(),
        links: i.links.clone(),
        anonymous: i.anonymous,
        submitter_id: i.submitter_id.clone().unwrap_or_default(),
        department_id: i.department_id.clone().unwrap_or_default(),
        routing: routing(i.routing) as i32,
        owner_id: i.owner_id.clone().unwrap_or_default(),
        status: status(i.status) as i32,
        escalation_level: level(i.level) as i32,
        first_response_deadline: Some(to_timestamp(i.first_response_due_ms)),
        resolution_deadline: Some(to_timestamp(i.resolution_due_ms)),
        overdue: i.overdue(now),
        first_response_time: to_timestamp_opt(i.first_response_ms),
        resolve_time: to_timestamp_opt(i.resolved_ms),
        solution: i.solution.clone(),
        auto_close_time: to_timestamp_opt(i.auto_close_ms),
        close_time: to_timestamp_opt(i.closed_ms),
        closed_automatically: i.closed_automatically,
        satisfaction: i
            .satisfaction
            .and_then(|s| i32::try_from(s).ok())
            .unwrap_or(0),
        satisfaction_comment: i.satisfaction_comment.clone(),
        reopen_count: i32::try_from(i.reopen_count).unwrap_or(i32::MAX),
        create_time: Some(to_timestamp(i.created_ms)),
        update_time: Some(to_timestamp(i.updated_ms)),
        etag: render_etag(i.version),
    }
}

pub fn entry(e: &Entry) -> pb::TimelineEntry {
    pb::TimelineEntry {
        id: e.id.clone(),
        item_id: e.item_id.clone(),
        kind: entry_kind(e.kind) as i32,
        public: e.public,
        author: author(e.author) as i32,
        author_id: e.author_id.clone().unwrap_or_default(),
        text: e.text.clone(),
        status: e.status.map_or(0, |s| status(s) as i32),
        create_time: Some(to_timestamp(e.created_ms)),
    }
}

fn duration(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

pub fn opt_duration(ms: Option<i64>) -> Option<prost_types::Duration> {
    ms.map(duration)
}

pub fn policy(p: &SlaPolicy) -> pb::SlaPolicy {
    pb::SlaPolicy {
        category: p.category.map_or(0, |c| category(c) as i32),
        priority: p.priority.map_or(0, |p| priority(p) as i32),
        first_response: Some(duration(p.first_response_ms)),
        resolution: Some(duration(p.resolution_ms)),
        escalate_after: Some(duration(p.escalate_after_ms)),
        auto_close_after: Some(duration(p.auto_close_ms)),
        update_time: to_timestamp_opt(Some(p.updated_ms)),
    }
}

/// A category field: `None` for UNSPECIFIED ("any" or "not given").
pub fn parse_category(v: &mut Violations, field: &str, value: i32) -> Option<Category> {
    match pb::Category::try_from(value) {
        Ok(pb::Category::Unspecified) => None,
        Ok(pb::Category::Problem) => Some(Category::Problem),
        Ok(pb::Category::Suggestion) => Some(Category::Suggestion),
        Ok(pb::Category::Complaint) => Some(Category::Complaint),
        Ok(pb::Category::Praise) => Some(Category::Praise),
        Err(_) => {
            v.add(field, "is not a known category");
            None
        }
    }
}

/// A priority field: `None` for UNSPECIFIED.
pub fn parse_priority(v: &mut Violations, field: &str, value: i32) -> Option<Priority> {
    match pb::Priority::try_from(value) {
        Ok(pb::Priority::Unspecified) => None,
        Ok(pb::Priority::Low) => Some(Priority::Low),
        Ok(pb::Priority::Normal) => Some(Priority::Normal),
        Ok(pb::Priority::High) => Some(Priority::High),
        Ok(pb::Priority::Urgent) => Some(Priority::Urgent),
        Err(_) => {
            v.add(field, "is not a known priority");
            None
        }
    }
}

pub fn parse_status(v: &mut Violations, field: &str, value: i32) -> Option<Status> {
    match pb::Status::try_from(value) {
        Ok(pb::Status::Submitted) => Some(Status::Submitted),
        Ok(pb::Status::Accepted) => Some(Status::Accepted),
        Ok(pb::Status::InProgress) => Some(Status::InProgress),
        Ok(pb::Status::Resolved) => Some(Status::Resolved),
        Ok(pb::Status::Closed) => Some(Status::Closed),
        Ok(pb::Status::Reopened) => Some(Status::Reopened),
        Ok(pb::Status::Unspecified) | Err(_) => {
            v.add(field, "is not a known status");
            None
        }
    }
}

fn parse_channel(v: &mut Violations, value: i32) -> Option<Channel> {
    match pb::Channel::try_from(value) {
        Ok(pb::Channel::Unspecified) => {
            v.add("channel", "is required");
            None
        }
        Ok(pb::Channel::WebForm) => Some(Channel::WebForm),
        Ok(pb::Channel::Hotline) => Some(Channel::Hotline),
        Ok(pb::Channel::Email) => Some(Channel::Email),
        Ok(pb::Channel::StaffSymposium) => Some(Channel::StaffSymposium),
        Ok(pb::Channel::Meeting) => Some(Channel::Meeting),
        Ok(pb::Channel::SuggestionBox) => Some(Channel::SuggestionBox),
        Err(_) => {
            v.add("channel", "is not a known channel");
            None
        }
    }
}

/// A one-line text: required unless `optional`, trimmed.
pub fn line(v: &mut Violations, field: &str, value: &str, max: usize, optional: bool) -> String {
    let value = value.trim();
    if optional {
        check_opt_text(v, field, value, max);
    } else {
        check_text(v, field, value, max);
    }
    if value.contains(['\n', '\r']) {
        v.add(field, "must be a single line");
    }
    value.to_string()
}

/// A free text (comment, reply, solution): required, trimmed.
pub fn text(v: &mut Violations, field: &str, value: &str) -> String {
    let value = value.trim();
    check_text(v, field, value, TEXT_MAX);
    value.to_string()
}

/// An optional free text, trimmed.
pub fn opt_text(v: &mut Violations, field: &str, value: &str) -> String {
    let value = value.trim();
    check_opt_text(v, field, value, TEXT_MAX);
    value.to_string()
}

/// A satisfaction rating, 1 to 5.
pub fn satisfaction(v: &mut Violations, value: i32) -> i64 {
    if !(1..=5).contains(&value) {
        v.add("satisfaction", "must be from 1 to 5");
    }
    i64::from(value)
}

fn link(v: &mut Violations, field: &str, value: &str) {
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    if value.chars().count() > LINK_MAX {
        v.add(field, format!("must be at most {LINK_MAX} characters"));
    } else if rest.is_none_or(|r| r.is_empty())
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        v.add(field, "must be an http or https URL without spaces");
    }
}

impl TryFrom<&pb::SubmitFeedbackRequest> for NewItem {
    type Error = Error;

    fn try_from(r: &pb::SubmitFeedbackRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        check_request_id(&mut v, &r.request_id);
        let channel = parse_channel(&mut v, r.channel);
        let category = parse_category(&mut v, "category", r.category);
        if category.is_none() && r.category == 0 {
            v.add("category", "is required");
        }
        let priority = parse_priority(&mut v, "priority", r.priority).unwrap_or(Priority::Normal);
        let subject = line(&mut v, "subject", &r.subject, SUBJECT_MAX, false);
        let body = text(&mut v, "body", &r.body);
        let location = line(&mut v, "location", &r.location, LOCATION_MAX, true);
        if r.links.len() > LINKS_MAX {
            v.add("links", format!("may hold at most {LINKS_MAX} links"));
        } else {
            for (i, l) in r.links.iter().enumerate() {
                link(&mut v, &format!("links[{i}]"), l);
            }
        }
        let department_id = opt_id(&mut v, "department_id", &r.department_id);
        v.into_result()?;
        Ok(NewItem {
            channel: channel.unwrap_or(Channel::WebForm),
            category: category.unwrap_or(Category::Problem),
            priority,
            subject,
            body,
            location,
            links: r.links.clone(),
            anonymous: r.anonymous,
            department_id,
        })
    }
}

/// A policy duration: required, one minute to a year.
fn policy_duration(v: &mut Violations, field: &str, d: Option<&prost_types::Duration>) -> i64 {
    let Some(d) = d else {
        v.add(field, "is required");
        return 0;
    };
    let ms = d
        .seconds
        .checked_mul(1000)
        .and_then(|s| s.checked_add(i64::from(d.nanos / 1_000_000)));
    match ms {
        Some(ms)
            if (0..1_000_000_000).contains(&d.nanos)
                && (DURATION_MIN_MS..=DURATION_MAX_MS).contains(&ms) =>
        {
            ms
        }
        _ => {
            v.add(field, "must be from one minute to 365 days");
            0
        }
    }
}

/// A policy to set, from `SetSlaPolicyRequest.policy`.
pub fn new_policy(r: &pb::SetSlaPolicyRequest, now: i64) -> Result<SlaPolicy, Error> {
    let mut v = Violations::new();
    let Some(p) = &r.policy else {
        v.add("policy", "is required");
        return Err(Error::Invalid(v));
    };
    let category = parse_category(&mut v, "policy.category", p.category);
    let priority = parse_priority(&mut v, "policy.priority", p.priority);
    let policy = SlaPolicy {
        category,
        priority,
        first_response_ms: policy_duration(
            &mut v,
            "policy.first_response",
            p.first_response.as_ref(),
        ),
        resolution_ms: policy_duration(&mut v, "policy.resolution", p.resolution.as_ref()),
        escalate_after_ms: policy_duration(
            &mut v,
            "policy.escalate_after",
            p.escalate_after.as_ref(),
        ),
        auto_close_ms: policy_duration(
            &mut v,
            "policy.auto_close_after",
            p.auto_close_after.as_ref(),
        ),
        updated_ms: now,
    };
    if v.is_empty() && policy.resolution_ms < policy.first_response_ms {
        v.add(
            "policy.resolution",
            "must not be shorter than policy.first_response",
        );
    }
    v.into_result()?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_must_be_web_urls() {
        let mut v = Violations::new();
        link(&mut v, "links[0]", "https://oa.example.cn/工单/1");
        link(&mut v, "links[1]", "javascript:alert(1)");
        link(&mut v, "links[2]", "http://");
        link(&mut v, "links[3]", "https://a b");
        assert_eq!(
            v.fields().collect::<Vec<_>>(),
            ["links[1]", "links[2]", "links[3]"]
        );
    }

    #[test]
    fn durations_round_trip() {
        let mut v = Violations::new();
        let d = duration(90_500);
        assert_eq!(policy_duration(&mut v, "d", Some(&d)), 90_500);
        assert!(v.is_empty());
        policy_duration(&mut v, "short", Some(&duration(59_000)));
        policy_duration(&mut v, "missing", None);
        assert_eq!(v.fields().collect::<Vec<_>>(), ["short", "missing"]);
    }
}

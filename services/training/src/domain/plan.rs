//! Training plans: what is taught, how, when (one or several sessions),
//! where, for whom, for how many, and whether it must be completed by a
//! deadline.

use concord_kit::Violations;
use concord_kit::clock::Millis;

use super::HOUR_MS;

pub const TITLE_MAX: usize = 200;
pub const OUTLINE_MAX: usize = 20_000;
pub const PLACE_MAX: usize = 500;
pub const LINK_MAX: usize = 2_000;
pub const SESSIONS_MAX: usize = 200;
pub const AUDIENCE_MAX: usize = 2_000;
pub const CAPACITY_MAX: i64 = 100_000;
/// A session lasts at most a day.
pub const SESSION_MAX_MS: i64 = 24 * HOUR_MS;

/// How a training is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    OnSite,
    Online,
    Mentoring,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::OnSite => "on_site",
            Mode::Online => "online",
            Mode::Mentoring => "mentoring",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "on_site" => Mode::OnSite,
            "online" => Mode::Online,
            "mentoring" => Mode::Mentoring,
            _ => return None,
        })
    }
}

/// Where a plan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanState {
    Draft,
    Published,
    Cancelled,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Draft => "draft",
            PlanState::Published => "published",
            PlanState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => PlanState::Draft,
            "published" => PlanState::Published,
            "cancelled" => PlanState::Cancelled,
            _ => return None,
        })
    }
}

/// One sitting of a training.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub title: String,
    pub start_ms: Millis,
    pub end_ms: Millis,
    pub place: String,
}

impl Session {
    /// What attending it earns, in milliseconds.
    pub fn duration_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// Who a plan is for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    pub department_ids: Vec<String>,
    pub include_sub_departments: bool,
    pub person_ids: Vec<String>,
}

/// The content of a plan as a planner writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContent {
    pub title: String,
    pub content_outline: String,
    pub mode: Mode,
    pub place: String,
    pub link: String,
    /// Ordered by start.
    pub sessions: Vec<Session>,
    pub audience: Audience,
    /// 0 means unlimited.
    pub capacity: i64,
    pub mandatory: bool,
    pub deadline_ms: Option<Millis>,
}

impl PlanContent {
    /// The rules between fields, checked after each field on its own: an
    /// online training needs a link, an on-site one a place (the plan's or
    /// every session's), a mandatory one a deadline not before its last
    /// session starts, and only a mandatory one has a deadline. With `now`
    /// the deadline must also lie in the future. Fields are named under
    /// `prefix` (`""` or `"plan."`).
    pub fn check(&self, v: &mut Violations, prefix: &str, now: Option<Millis>) {
        let field = |f: &str| format!("{prefix}{f}");
        match self.mode {
            Mode::Online => v.check(
                self.link.trim().is_empty(),
                &field("link"),
                "is required for online training",
            ),
            Mode::OnSite => v.check(
                self.place.trim().is_empty() && self.sessions.iter().any(|s| s.place.is_empty()),
                &field("place"),
                "is required for on-site training (or a place on every session)",
            ),
            Mode::Mentoring => {}
        }
        let deadline = field("completion_deadline");
        match (self.mandatory, self.deadline_ms) {
            (true, None) => v.add(deadline, "is required for mandatory training"),
            (false, Some(_)) => v.add(
                deadline,
                "is only for mandatory training; set mandatory or leave it empty",
            ),
            (true, Some(d)) => {
                if now.is_some_and(|now| d <= now) {
                    v.add(deadline, "must be in the future");
                } else if self.sessions.last().is_some_and(|s| d < s.start_ms) {
                    v.add(deadline, "must not be before the last session starts");
                }
            }
            (false, None) => {}
        }
    }

    /// The first session's start (the list order).
    pub fn first_session_ms(&self) -> Millis {
        self.sessions.first().map(|s| s.start_ms).unwrap_or(0)
    }
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: String,
    pub department_id: String,
    pub content: PlanContent,
    pub state: PlanState,
    pub deadline_passed: bool,
    pub created_by: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
    pub publish_ms: Option<Millis>,
    pub cancel_reason: String,
    pub version: i64,
    pub counts: PlanCounts,
}

/// Seats, waiting list and completions of a plan, counted on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanCounts {
    pub seats_taken: i64,
    pub waiting: i64,
    pub completed: i64,
    pub audience_size: i64,
}

/// The fields an update mask may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanField {
    Title,
    ContentOutline,
    Mode,
    Place,
    Link,
    Sessions,
    Audience,
    Capacity,
    Mandatory,
    CompletionDeadline,
}

impl PlanField {
    pub const ALL: &'static [(&'static str, PlanField)] = &[
        ("title", PlanField::Title),
        ("content_outline", PlanField::ContentOutline),
        ("mode", PlanField::Mode),
        ("place", PlanField::Place),
        ("link", PlanField::Link),
        ("sessions", PlanField::Sessions),
        ("audience", PlanField::Audience),
        ("capacity", PlanField::Capacity),
        ("mandatory", PlanField::Mandatory),
        ("completion_deadline", PlanField::CompletionDeadline),
    ];

    pub fn path(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map(|(p, _)| *p)
            .unwrap_or("")
    }

    /// Whether a published plan may still change this field. What people
    /// enrolled for (mode, schedule, audience, obligation) stays fixed.
    pub fn editable_when_published(self) -> bool {
        matches!(
            self,
            PlanField::Title
                | PlanField::ContentOutline
                | PlanField::Place
                | PlanField::Link
                | PlanField::Capacity
                | PlanField::CompletionDeadline
        )
    }
}

impl PlanContent {
    /// Copies the masked fields of `new` into `self`.
    pub fn apply(&mut self, new: &PlanContent, fields: &[PlanField]) {
        for f in fields {
            match f {
                PlanField::Title => self.title.clone_from(&new.title),
                PlanField::ContentOutline => self.content_outline.clone_from(&new.content_outline),
                PlanField::Mode => self.mode = new.mode,
                PlanField::Place => self.place.clone_from(&new.place),
                PlanField::Link => self.link.clone_from(&new.link),
                PlanField::Sessions => self.sessions.clone_from(&new.sessions),
                PlanField::Audience => self.audience.clone_from(&new.audience),
                PlanField::Capacity => self.capacity = new.capacity,
                PlanField::Mandatory => self.mandatory = new.mandatory,
                PlanField::CompletionDeadline => self.deadline_ms = new.deadline_ms,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> PlanContent {
        PlanContent {
            title: "消防安全培训".into(),
            content_outline: String::new(),
            mode: Mode::OnSite,
            place: "三楼会议室".into(),
            link: String::new(),
            sessions: vec![Session {
                id: "s".into(),
                title: String::new(),
                start_ms: 10 * HOUR_MS,
                end_ms: 12 * HOUR_MS,
                place: String::new(),
            }],
            audience: Audience::default(),
            capacity: 0,
            mandatory: false,
            deadline_ms: None,
        }
    }

    fn fields(c: &PlanContent, now: Millis) -> Vec<String> {
        let mut v = Violations::new();
        c.check(&mut v, "", Some(now));
        v.fields().map(str::to_string).collect()
    }

    #[test]
    fn cross_field_rules() {
        assert!(fields(&content(), 0).is_empty());
        let mut c = content();
        c.mode = Mode::Online;
        assert_eq!(fields(&c, 0), ["link"]);
        c.mode = Mode::OnSite;
        c.place.clear();
        assert_eq!(fields(&c, 0), ["place"]);
        c.sessions[0].place = "礼堂".into();
        assert!(fields(&c, 0).is_empty());
        c.mandatory = true;
        assert_eq!(fields(&c, 0), ["completion_deadline"]);
        c.deadline_ms = Some(5 * HOUR_MS);
        assert_eq!(fields(&c, 0), ["completion_deadline"]);
        c.deadline_ms = Some(20 * HOUR_MS);
        assert!(fields(&c, 0).is_empty());
        assert_eq!(fields(&c, 21 * HOUR_MS), ["completion_deadline"]);
        let mut v = Violations::new();
        c.check(&mut v, "plan.", None);
        assert!(v.is_empty());
        c.mandatory = false;
        assert_eq!(fields(&c, 0), ["completion_deadline"]);
    }

    #[test]
    fn published_plans_keep_what_people_enrolled_for() {
        assert!(PlanField::Capacity.editable_when_published());
        assert!(!PlanField::Sessions.editable_when_published());
        assert!(!PlanField::Audience.editable_when_published());
        assert_eq!(PlanField::CompletionDeadline.path(), "completion_deadline");
    }
}

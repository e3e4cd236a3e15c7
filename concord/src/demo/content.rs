//! What the demo organisation consists of, written once per language with
//! the same keys, so the steps that build it never depend on the language.

/// A department: its key (the same in every language), its parent's key,
/// names and the duties that route feedback to it.
pub struct DeptSpec {
    pub key: &'static str,
    pub parent: Option<&'static str>,
    pub name: &'static str,
    pub description: &'static str,
    pub duties: &'static [&'static str],
    pub head_title: &'static str,
    pub staff_titles: &'static [&'static str],
}

/// Who writes a notice, runs a meeting, owns a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The organisation's administrator (a person holding the admin role).
    Admin,
    /// The coordinator of the office.
    Coordinator,
    /// The head of this department.
    Head(&'static str),
}

pub enum Audience {
    Everyone,
    /// Departments with their sub-departments.
    Departments(&'static [&'static str]),
}

pub struct NoticeSpec {
    pub key: &'static str,
    pub author: Actor,
    pub audience: Audience,
    /// 1 normal, 2 important, 3 urgent.
    pub priority: i32,
    pub ack: bool,
    pub title: &'static str,
    pub body: &'static str,
    /// Share of recipients who read it, in percent.
    pub read: u64,
    /// Share of recipients who acknowledge it (of those who read it).
    pub acknowledged: u64,
}

pub struct MeetingSpec {
    pub key: &'static str,
    pub organizer: Actor,
    pub department: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub location: &'static str,
    /// 1 weekly, 3 monthly.
    pub recurrence: i32,
    /// The first occurrence, days before today (local time `hour:minute`).
    pub first_days_ago: i64,
    pub hour: u32,
    pub minute: u32,
    /// Participating departments (with all their people) …
    pub departments: &'static [&'static str],
    /// … and, when set, every department head.
    pub heads: bool,
    pub agenda: &'static [&'static str],
    /// Minutes of the past occurrences, oldest first.
    pub minutes: &'static [&'static str],
}

/// The stage a demo proposal is brought to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Goal {
    Draft,
    Consultation,
    Voting,
    /// Closed with the votes given; the rule decides the outcome.
    Decided,
    Implementing,
    Closed,
}

pub struct ProposalSpec {
    pub key: &'static str,
    pub owner: &'static str,
    pub title: &'static str,
    pub background: &'static str,
    /// Empty: approve / reject.
    pub options: &'static [&'static str],
    pub approving: &'static [&'static str],
    pub consulted: &'static [&'static str],
    pub informed: &'static [&'static str],
    /// 1 simple majority, 2 two thirds, 3 unanimity, 4 consent.
    pub rule: i32,
    pub quorum: i32,
    pub heads_only: bool,
    pub goal: Goal,
    /// Option ids voters choose in turn ("" abstains); cycled.
    pub votes: &'static [&'static str],
    /// How many eligible voters vote (all when `None`).
    pub voters: Option<usize>,
    /// Comments during consultation: (department whose head writes, stance
    /// 1 support / 2 concern / 3 objection, text).
    pub comments: &'static [(&'static str, i32, &'static str)],
    /// The proposer's reply to objections.
    pub reply: &'static str,
    pub rationale: &'static str,
}

pub struct ActionSpec {
    pub key: &'static str,
    /// The proposal it implements.
    pub proposal: Option<&'static str>,
    pub title: &'static str,
    pub description: &'static str,
    pub lead: &'static str,
    pub supporting: &'static [&'static str],
    pub due_days: i64,
    /// Progress notes by the owner; the last sets `status` (2 in progress,
    /// 3 blocked, 4 done; 0 leaves it open).
    pub notes: &'static [&'static str],
    pub status: i32,
}

/// How far a feedback item is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Submitted,
    Accepted,
    InProgress,
    Resolved,
    /// Resolved and confirmed with this satisfaction rating.
    Closed(i32),
    /// Resolved, then reopened by the submitter.
    Reopened,
}

pub struct FeedbackSpec {
    pub key: &'static str,
    /// 1 problem, 2 suggestion, 3 complaint, 4 praise.
    pub category: i32,
    /// 1 web form, 2 hotline, 3 e-mail, 4 staff symposium, 5 meeting,
    /// 6 suggestion box.
    pub channel: i32,
    /// 1 low, 2 normal, 3 high, 4 urgent.
    pub priority: i32,
    pub subject: &'static str,
    pub body: &'static str,
    pub location: &'static str,
    pub anonymous: bool,
    /// Routed here by the submitter; else by the departments' duties.
    pub department: Option<&'static str>,
    /// Where an admin routes it when the duties match nothing.
    pub fallback: &'static str,
    pub outcome: Outcome,
    pub solution: &'static str,
    pub reply: &'static str,
}

pub struct StepSpec {
    pub title: &'static str,
    pub department: &'static str,
    pub target_minutes: i32,
}

pub struct PlanSpec {
    pub key: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// 1 fire, 2 IT outage, 3 public health, 4 security, 5 natural disaster.
    pub incident_type: i32,
    /// 1 (I) … 4 (IV).
    pub severity: i32,
    pub owner: &'static str,
    pub steps: &'static [StepSpec],
    pub contact_role: &'static str,
    pub ack_timeout_minutes: i64,
}

pub struct IncidentSpec {
    pub key: &'static str,
    pub plan: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub drill: bool,
    /// Share of alerted people who acknowledge, in percent.
    pub acknowledged: u64,
    pub notes: &'static [&'static str],
    pub contained: &'static str,
    pub resolved: &'static str,
    pub summary: &'static str,
    pub lessons: &'static str,
}

pub struct TrainingSpec {
    pub key: &'static str,
    pub department: &'static str,
    pub title: &'static str,
    pub outline: &'static str,
    /// 1 on site, 2 online, 3 mentoring.
    pub mode: i32,
    pub place: &'static str,
    pub link: &'static str,
    /// (days from today, start hour, hours, title).
    pub sessions: &'static [(i64, u32, u32, &'static str)],
    /// Audience departments (with sub-departments).
    pub audience: &'static [&'static str],
    pub capacity: i32,
    /// Completion deadline in days from today, for a mandatory plan.
    pub mandatory_days: Option<i64>,
    pub publish: bool,
    /// Share of the audience who enrol, in percent.
    pub enrol: u64,
    /// Share of those seated who complete it, in percent.
    pub complete: u64,
}

pub struct DevelopmentSpec {
    pub title: &'static str,
    pub career_path: &'static str,
    pub goals: &'static [&'static str],
    pub progress: &'static str,
    pub review: &'static str,
}

pub struct IndicatorSpec {
    pub code: &'static str,
    pub name: &'static str,
    /// 1 quality, 2 efficiency, 3 attitude.
    pub dimension: i32,
    pub weight: i32,
    /// 1 linear, 2 threshold, 3 manual.
    pub rule: i32,
    pub floor: f64,
    pub target: f64,
    pub lower_is_better: bool,
    /// The appraisal `Source` number (1 manual).
    pub source: i32,
}

pub struct AppraisalSpec {
    pub set_name: &'static str,
    pub set_description: &'static str,
    pub indicators: &'static [IndicatorSpec],
    pub cycle_name: &'static str,
    pub cycle_description: &'static str,
    /// Departments appraised.
    pub subjects: &'static [&'static str],
    pub score_comment: &'static str,
    pub calibrate: (&'static str, &'static str),
    pub strengths: &'static str,
    pub improvements: &'static str,
    pub actions: &'static [&'static str],
    pub response: &'static str,
    pub commend_department: (&'static str, &'static str),
    pub commend_person: (&'static str, &'static str),
}

/// The whole organisation in one language.
pub struct Content {
    pub domain: &'static str,
    pub surnames: &'static [&'static str],
    pub given_names: &'static [&'static str],
    /// Whether the family name comes first and without a space.
    pub family_first: bool,
    pub departments: &'static [DeptSpec],
    /// Titles of the key posts: deputy director, administrator,
    /// coordinator, auditor.
    pub deputy_title: &'static str,
    pub admin_title: &'static str,
    pub coordinator_title: &'static str,
    pub auditor_title: &'static str,
    pub notices: &'static [NoticeSpec],
    pub meetings: &'static [MeetingSpec],
    pub proposals: &'static [ProposalSpec],
    pub actions: &'static [ActionSpec],
    pub feedback: &'static [FeedbackSpec],
    pub accept_comment: &'static str,
    pub start_comment: &'static str,
    pub route_comment: &'static str,
    pub reopen_comment: &'static str,
    pub confirm_comment: &'static str,
    pub plans: &'static [PlanSpec],
    pub incidents: &'static [IncidentSpec],
    pub trainings: &'static [TrainingSpec],
    pub development: &'static [DevelopmentSpec],
    pub appraisal: AppraisalSpec,
}

/// Members of staff beyond the key posts go to departments in this cycle,
/// so adding people never moves anybody already there.
pub const STAFF_PATTERN: &[&str] = &[
    "desk",
    "complaints",
    "it_ops",
    "property",
    "desk",
    "hr",
    "finance",
    "canteen",
    "safety",
    "complaints",
    "office",
    "legal",
    "desk",
    "it_sec",
    "service",
    "property",
    "complaints",
    "it",
    "finance",
    "canteen",
    "desk",
    "secretariat",
    "hr",
    "safety",
    "facilities",
    "office",
    "legal",
    "it_ops",
];

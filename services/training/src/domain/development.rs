//! Personal development plans: goals with target dates and a status, a
//! mentor, career path notes, progress updates, and the head's reviews.

use chrono::NaiveDate;
use concord_kit::Violations;
use concord_kit::clock::Millis;
use concord_kit::ids::{check_opt_text, check_text};

pub const TITLE_MAX: usize = 200;
pub const CAREER_PATH_MAX: usize = 10_000;
pub const GOAL_TITLE_MAX: usize = 200;
pub const GOAL_DESCRIPTION_MAX: usize = 5_000;
pub const TEXT_MAX: usize = 10_000;
pub const GOALS_MAX: usize = 50;

/// Where a goal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalStatus {
    NotStarted,
    InProgress,
    Achieved,
    Deferred,
    Dropped,
}

impl GoalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GoalStatus::NotStarted => "not_started",
            GoalStatus::InProgress => "in_progress",
            GoalStatus::Achieved => "achieved",
            GoalStatus::Deferred => "deferred",
            GoalStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "not_started" => GoalStatus::NotStarted,
            "in_progress" => GoalStatus::InProgress,
            "achieved" => GoalStatus::Achieved,
            "deferred" => GoalStatus::Deferred,
            "dropped" => GoalStatus::Dropped,
            _ => return None,
        })
    }
}

/// A goal as written (title, description, target date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGoal {
    pub title: String,
    pub description: String,
    /// "YYYY-MM-DD", a local date.
    pub target_date: String,
}

impl NewGoal {
    /// Validates the goal; `prefix` is the field path of the goal
    /// (`goals[1]`, `goal`).
    pub fn check(&self, v: &mut Violations, prefix: &str) {
        check_text(v, &format!("{prefix}.title"), &self.title, GOAL_TITLE_MAX);
        check_opt_text(
            v,
            &format!("{prefix}.description"),
            &self.description,
            GOAL_DESCRIPTION_MAX,
        );
        check_date(v, &format!("{prefix}.target_date"), &self.target_date);
    }
}

/// Checks a required local date "YYYY-MM-DD".
pub fn check_date(v: &mut Violations, field: &str, value: &str) {
    if value.is_empty() {
        v.add(field, "is required");
    } else if value.len() != 10 || NaiveDate::parse_from_str(value, "%Y-%m-%d").is_err() {
        v.add(field, "must be a date written YYYY-MM-DD");
    }
}

/// A stored goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub id: String,
    pub plan_id: String,
    pub goal: NewGoal,
    pub status: GoalStatus,
    pub created_ms: Millis,
    pub updated_ms: Millis,
    pub version: i64,
}

/// A stored development plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevelopmentPlan {
    pub id: String,
    pub person_id: String,
    pub department_id: String,
    pub title: String,
    pub mentor_id: String,
    pub career_path: String,
    pub created_by: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
    pub last_review_ms: Option<Millis>,
    pub version: i64,
}

/// The fields of a development plan an update mask may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanField {
    Title,
    MentorId,
    CareerPath,
}

impl PlanField {
    pub const ALL: &'static [(&'static str, PlanField)] = &[
        ("title", PlanField::Title),
        ("mentor_id", PlanField::MentorId),
        ("career_path", PlanField::CareerPath),
    ];
}

/// The fields of a goal an update mask may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalField {
    Title,
    Description,
    TargetDate,
    Status,
}

impl GoalField {
    pub const ALL: &'static [(&'static str, GoalField)] = &[
        ("title", GoalField::Title),
        ("description", GoalField::Description),
        ("target_date", GoalField::TargetDate),
        ("status", GoalField::Status),
    ];
}

/// A progress note on a plan or one of its goals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressUpdate {
    pub id: String,
    pub plan_id: String,
    pub goal_id: String,
    pub author_id: String,
    pub text: String,
    pub goal_status: Option<GoalStatus>,
    pub created_ms: Millis,
}

/// A head's review comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub id: String,
    pub plan_id: String,
    pub reviewer_id: String,
    pub comment: String,
    pub created_ms: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_need_a_title_and_a_real_date() {
        let mut v = Violations::new();
        NewGoal {
            title: "取得注册安全工程师资格".into(),
            description: String::new(),
            target_date: "2027-06-30".into(),
        }
        .check(&mut v, "goal");
        assert!(v.is_empty());
        let mut v = Violations::new();
        NewGoal {
            title: " ".into(),
            description: String::new(),
            target_date: "2027-02-30".into(),
        }
        .check(&mut v, "goals[1]");
        assert_eq!(
            v.fields().collect::<Vec<_>>(),
            ["goals[1].title", "goals[1].target_date"]
        );
        assert_eq!(GoalStatus::parse("achieved"), Some(GoalStatus::Achieved));
    }
}

//! Appraisal cycles: who is appraised over which period with which pinned
//! indicator set version, and the stages a cycle moves through.

use concord_kit::Violations;
use concord_kit::clock::Millis;

/// The stages of a cycle, in their only order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Open,
    Scoring,
    Calibration,
    Published,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Open,
        Stage::Scoring,
        Stage::Calibration,
        Stage::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Open => "open",
            Stage::Scoring => "scoring",
            Stage::Calibration => "calibration",
            Stage::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The stage after this one; `None` once published.
    pub fn next(self) -> Option<Stage> {
        match self {
            Stage::Open => Some(Stage::Scoring),
            Stage::Scoring => Some(Stage::Calibration),
            Stage::Calibration => Some(Stage::Published),
            Stage::Published => None,
        }
    }
}

/// Whether a cycle appraises departments or people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Department,
    Person,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Department => "department",
            SubjectKind::Person => "person",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "department" => Some(SubjectKind::Department),
            "person" => Some(SubjectKind::Person),
            _ => None,
        }
    }
}

/// One appraised department or person, as the directory knew them when the
/// cycle was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub id: String,
    /// The department itself, or the person's department.
    pub department_id: String,
    pub display_name: String,
    /// Order within the cycle (as given at creation).
    pub position: i64,
}

/// A cycle as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Cycle {
    pub id: String,
    pub name: String,
    pub description: String,
    pub set_id: String,
    pub set_version: i64,
    pub subject_kind: SubjectKind,
    /// `None` for the whole organisation.
    pub owner_department_id: Option<String>,
    pub period_start_ms: Millis,
    pub period_end_ms: Millis,
    pub include_sub_departments: bool,
    pub self_assessment: bool,
    pub scoring_start_ms: Millis,
    pub scoring_deadline_ms: Option<Millis>,
    pub stage: Stage,
    pub collected_ms: Option<Millis>,
    pub published_ms: Option<Millis>,
    pub created_by: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
    pub version: i64,
}

/// The times a cycle is created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub period_start_ms: Millis,
    pub period_end_ms: Millis,
    pub scoring_start_ms: Millis,
    pub scoring_deadline_ms: Option<Millis>,
}

/// The longest period a cycle appraises: about ten years.
const PERIOD_MAX_MS: Millis = 3_660 * 86_400_000;

impl Schedule {
    /// Checks the order of the times, naming the field that breaks it
    /// (after `prefix`, e.g. `cycle.`).
    pub fn validate(&self, v: &mut Violations, prefix: &str) {
        if self.period_end_ms <= self.period_start_ms {
            v.add(
                format!("{prefix}period_end_time"),
                "must be after period_start_time",
            );
            // The scoring start defaults to the end: judged once the period is right.
            return;
        }
        if self.period_end_ms - self.period_start_ms > PERIOD_MAX_MS {
            v.add(
                format!("{prefix}period_end_time"),
                "the period may span at most ten years",
            );
        }
        if self.scoring_start_ms < self.period_start_ms {
            v.add(
                format!("{prefix}scoring_start_time"),
                "must not be before the period starts",
            );
        }
        if let Some(d) = self.scoring_deadline_ms
            && d <= self.scoring_start_ms
        {
            v.add(
                format!("{prefix}scoring_deadline"),
                "must be after scoring_start_time",
            );
        }
    }
}

impl Cycle {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            period_start_ms: self.period_start_ms,
            period_end_ms: self.period_end_ms,
            scoring_start_ms: self.scoring_start_ms,
            scoring_deadline_ms: self.scoring_deadline_ms,
        }
    }

    /// Refuses a call made against another stage than the current one.
    pub fn expect_stage(&self, allowed: &[Stage], what: &str) -> Result<(), concord_kit::Error> {
        if allowed.contains(&self.stage) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            Err(concord_kit::Error::precondition(format!(
                "{what} is possible only while the cycle is {}; it is {}",
                names.join(" or "),
                self.stage.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_move_forward_one_at_a_time() {
        assert_eq!(Stage::Open.next(), Some(Stage::Scoring));
        assert_eq!(Stage::Scoring.next(), Some(Stage::Calibration));
        assert_eq!(Stage::Calibration.next(), Some(Stage::Published));
        assert_eq!(Stage::Published.next(), None);
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn schedules_keep_their_order() {
        let ok = Schedule {
            period_start_ms: 0,
            period_end_ms: 100,
            scoring_start_ms: 100,
            scoring_deadline_ms: Some(200),
        };
        let mut v = Violations::new();
        ok.validate(&mut v, "");
        assert!(v.is_empty());
        let bad = Schedule {
            period_start_ms: 100,
            period_end_ms: 100,
            scoring_start_ms: 50,
            scoring_deadline_ms: Some(50),
        };
        bad.validate(&mut v, "");
        assert_eq!(v.fields().collect::<Vec<_>>(), ["period_end_time"]);
        let mut v = Violations::new();
        let bad = Schedule {
            period_end_ms: 200,
            ..bad
        };
        bad.validate(&mut v, "");
        assert_eq!(
            v.fields().collect::<Vec<_>>(),
            ["scoring_start_time", "scoring_deadline"]
        );
    }
}

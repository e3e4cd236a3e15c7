//! SLA policies: deadlines for the first response and the resolution, how
//! long an item may stay in breach before it goes one level up, and how long
//! a resolved item waits for its submitter. The most specific configured
//! policy applies, else the built-in default.

use super::{Category, Priority};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Shortest duration a policy may set.
pub const DURATION_MIN_MS: i64 = MINUTE_MS;
/// Longest duration a policy may set.
pub const DURATION_MAX_MS: i64 = 365 * DAY_MS;

/// The deadlines of a category and priority (`None`: any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    pub category: Option<Category>,
    pub priority: Option<Priority>,
    pub first_response_ms: i64,
    pub resolution_ms: i64,
    pub escalate_after_ms: i64,
    pub auto_close_ms: i64,
    /// 0 for the built-in default.
    pub updated_ms: i64,
}

impl SlaPolicy {
    /// What applies where no configured policy matches: an answer within a
    /// day, a solution within a week, one more level up after another day in
    /// breach, and closing by itself a week after the resolution.
    pub fn builtin() -> Self {
        Self {
            category: None,
            priority: None,
            first_response_ms: DAY_MS,
            resolution_ms: 7 * DAY_MS,
            escalate_after_ms: DAY_MS,
            auto_close_ms: 7 * DAY_MS,
            updated_ms: 0,
        }
    }

    /// How specific the policy is for (`category`, `priority`), or `None`
    /// when it does not apply.
    fn specificity(&self, category: Category, priority: Priority) -> Option<u8> {
        match (self.category, self.priority) {
            (Some(c), Some(p)) if c == category && p == priority => Some(4),
            (Some(c), None) if c == category => Some(3),
            (None, Some(p)) if p == priority => Some(2),
            (None, None) => Some(1),
            _ => None,
        }
    }
}

/// The policy for an item of `category` and `priority` among `configured`.
pub fn choose(configured: &[SlaPolicy], category: Category, priority: Priority) -> SlaPolicy {
    configured
        .iter()
        .filter_map(|p| p.specificity(category, priority).map(|s| (s, p)))
        .max_by_key(|(s, _)| *s)
        .map(|(_, p)| p.clone())
        .unwrap_or_else(SlaPolicy::builtin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(c: Option<Category>, p: Option<Priority>, hours: i64) -> SlaPolicy {
        SlaPolicy {
            category: c,
            priority: p,
            first_response_ms: hours * HOUR_MS,
            ..SlaPolicy::builtin()
        }
    }

    #[test]
    fn the_most_specific_policy_applies() {
        let all = [
            policy(None, None, 1),
            policy(None, Some(Priority::Urgent), 2),
            policy(Some(Category::Complaint), None, 3),
            policy(Some(Category::Complaint), Some(Priority::Urgent), 4),
        ];
        let hours = |c, p| choose(&all, c, p).first_response_ms / HOUR_MS;
        assert_eq!(hours(Category::Complaint, Priority::Urgent), 4);
        assert_eq!(hours(Category::Complaint, Priority::Low), 3);
        assert_eq!(hours(Category::Problem, Priority::Urgent), 2);
        assert_eq!(hours(Category::Problem, Priority::Low), 1);
        assert_eq!(
            choose(&[], Category::Praise, Priority::Low),
            SlaPolicy::builtin()
        );
    }
}

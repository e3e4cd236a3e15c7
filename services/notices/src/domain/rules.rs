//! The organisation's communication rules: for each priority, the local
//! hours in which notices and reminders are pushed live (quiet hours hold
//! the push until the next start; urgent always goes through) and whether
//! acknowledgement is required by default.

use chrono::{Duration, NaiveTime, TimeZone};
use concord_kit::clock::Millis;
use concord_kit::period::OrgZone;

use super::Priority;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunicationRule {
    pub priority: Priority,
    /// Local hour (0–23) pushes start.
    pub push_start_hour: i64,
    /// Local hour (1–24) pushes stop; 0–24 is always.
    pub push_end_hour: i64,
    pub ack_required: bool,
    pub version: i64,
    pub updated_ms: Millis,
}

/// The rule fields UpdateCommunicationRule may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleField {
    PushStartHour,
    PushEndHour,
    AckRequired,
}

impl RuleField {
    pub const ALL: [RuleField; 3] = [
        RuleField::PushStartHour,
        RuleField::PushEndHour,
        RuleField::AckRequired,
    ];

    pub fn path(self) -> &'static str {
        match self {
            RuleField::PushStartHour => "push_start_hour",
            RuleField::PushEndHour => "push_end_hour",
            RuleField::AckRequired => "acknowledgement_required",
        }
    }

    /// Every field with its update-mask path, for `fields::update_mask`.
    pub fn known() -> [(&'static str, Self); 3] {
        Self::ALL.map(|f| (f.path(), f))
    }
}

/// Why a push window is not valid, naming the field.
pub fn window_problem(
    priority: Priority,
    start: i64,
    end: i64,
) -> Option<(&'static str, &'static str)> {
    if !(0..=23).contains(&start) {
        return Some(("rule.push_start_hour", "must be an hour from 0 to 23"));
    }
    if !(1..=24).contains(&end) {
        return Some(("rule.push_end_hour", "must be an hour from 1 to 24"));
    }
    if end <= start {
        return Some(("rule.push_end_hour", "must be after push_start_hour"));
    }
    if priority == Priority::Urgent && (start, end) != (0, 24) {
        return Some((
            "rule.push_start_hour",
            "urgent notices are always pushed at once: keep 0 to 24",
        ));
    }
    None
}

impl CommunicationRule {
    /// When something of this priority made at `now` is pushed: `now` inside
    /// the window, else the next window start in the organisation's zone.
    pub fn push_at(&self, zone: &OrgZone, now: Millis) -> Millis {
        if self.priority == Priority::Urgent
            || (self.push_start_hour, self.push_end_hour) == (0, 24)
        {
            return now;
        }
        let local = zone.local(now);
        let hour = i64::from(chrono::Timelike::hour(&local));
        if (self.push_start_hour..self.push_end_hour).contains(&hour) {
            return now;
        }
        let day = if hour < self.push_start_hour {
            local.date_naive()
        } else {
            local.date_naive() + Duration::days(1)
        };
        let start_hour = u32::try_from(self.push_start_hour).unwrap_or(0);
        let at = day.and_time(NaiveTime::from_hms_opt(start_hour, 0, 0).unwrap_or_default());
        match zone.0.from_local_datetime(&at) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                t.timestamp_millis()
            }
            // A skipped hour (daylight saving): the hour after it.
            chrono::LocalResult::None => zone.0.from_utc_datetime(&at).timestamp_millis(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn rule(priority: Priority, start: i64, end: i64) -> CommunicationRule {
        CommunicationRule {
            priority,
            push_start_hour: start,
            push_end_hour: end,
            ack_required: false,
            version: 1,
            updated_ms: 0,
        }
    }

    fn shanghai(y: i32, m: u32, d: u32, h: u32) -> Millis {
        // Shanghai is UTC+8 all year.
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .timestamp_millis()
            - 8 * 3_600_000
    }

    #[test]
    fn quiet_hours_hold_until_the_next_morning() {
        let zone = OrgZone::default();
        let normal = rule(Priority::Normal, 8, 20);
        let noon = shanghai(2026, 11, 30, 12);
        assert_eq!(normal.push_at(&zone, noon), noon);
        assert_eq!(
            normal.push_at(&zone, shanghai(2026, 11, 30, 22)),
            shanghai(2026, 12, 1, 8)
        );
        assert_eq!(
            normal.push_at(&zone, shanghai(2026, 11, 30, 3)),
            shanghai(2026, 11, 30, 8)
        );
        let urgent = rule(Priority::Urgent, 0, 24);
        let night = shanghai(2026, 11, 30, 23);
        assert_eq!(urgent.push_at(&zone, night), night);
    }

    #[test]
    fn windows_are_checked() {
        assert!(window_problem(Priority::Normal, 8, 20).is_none());
        assert_eq!(
            window_problem(Priority::Normal, 24, 20).unwrap().0,
            "rule.push_start_hour"
        );
        assert_eq!(
            window_problem(Priority::Normal, 8, 8).unwrap().0,
            "rule.push_end_hour"
        );
        assert_eq!(
            window_problem(Priority::Normal, 8, 25).unwrap().0,
            "rule.push_end_hour"
        );
        assert!(window_problem(Priority::Urgent, 8, 20).is_some());
        assert!(window_problem(Priority::Urgent, 0, 24).is_none());
    }
}

//! Recurring cross-department meetings: the series and the arithmetic of its
//! occurrences, computed in the organisation's time zone so a weekly 09:30
//! meeting stays at 09:30 local time.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, TimeZone};
use concord_kit::clock::Millis;
use concord_kit::period::OrgZone;

/// How a meeting repeats. Numbers are the protobuf values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurrence {
    Weekly = 1,
    Biweekly = 2,
    Monthly = 3,
}

impl Recurrence {
    pub const ALL: [Recurrence; 3] = [
        Recurrence::Weekly,
        Recurrence::Biweekly,
        Recurrence::Monthly,
    ];

    pub fn from_i64(n: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as i64 == n)
    }

    /// The shortest gap between two occurrences, in days.
    fn min_gap_days(self) -> i64 {
        match self {
            Recurrence::Weekly => 7,
            Recurrence::Biweekly => 14,
            Recurrence::Monthly => 28,
        }
    }
}

/// A meeting series as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub id: String,
    pub title: String,
    pub description: String,
    pub recurrence: Recurrence,
    pub first_start_ms: Millis,
    pub duration_ms: i64,
    pub location: String,
    pub organizing_department_id: String,
    pub participant_department_ids: Vec<String>,
    pub participant_person_ids: Vec<String>,
    pub until_ms: Option<Millis>,
    pub cancelled: bool,
    pub created_by: String,
    pub version: i64,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// The meeting fields UpdateMeeting may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingField {
    Title,
    Description,
    Location,
    Duration,
    ParticipantDepartments,
    ParticipantPeople,
    Until,
}

impl MeetingField {
    pub const ALL: [MeetingField; 7] = [
        MeetingField::Title,
        MeetingField::Description,
        MeetingField::Location,
        MeetingField::Duration,
        MeetingField::ParticipantDepartments,
        MeetingField::ParticipantPeople,
        MeetingField::Until,
    ];

    pub fn path(self) -> &'static str {
        match self {
            MeetingField::Title => "title",
            MeetingField::Description => "description",
            MeetingField::Location => "location",
            MeetingField::Duration => "duration",
            MeetingField::ParticipantDepartments => "participant_department_ids",
            MeetingField::ParticipantPeople => "participant_person_ids",
            MeetingField::Until => "until_time",
        }
    }

    /// Every field with its update-mask path, for `fields::update_mask`.
    pub fn known() -> [(&'static str, Self); 7] {
        Self::ALL.map(|f| (f.path(), f))
    }
}

/// Longest meeting: one day.
pub const DURATION_MAX_MS: i64 = 24 * 3_600_000;
/// Most occurrences a series may have (about 20 years of weekly meetings).
pub const OCCURRENCES_MAX: i64 = 1_000;

fn to_utc(zone: &OrgZone, local: NaiveDateTime) -> Millis {
    match zone.0.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.timestamp_millis()
        }
        chrono::LocalResult::None => {
            zone.0.from_utc_datetime(&local).timestamp_millis() - 3_600_000
        }
    }
}

/// The date `months` after `date`, on the same day or the month's last day.
fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    let first = date.with_day(1).unwrap_or(date) + Months::new(months);
    let mut day = date.day();
    loop {
        if let Some(d) = first.with_day(day) {
            return d;
        }
        day -= 1;
    }
}

impl Meeting {
    /// Start of occurrence `index`, or `None` when the series has no such
    /// occurrence (past its end or the cap).
    pub fn occurrence_start(&self, zone: &OrgZone, index: i64) -> Option<Millis> {
        if !(0..OCCURRENCES_MAX).contains(&index) {
            return None;
        }
        let first = zone.local(self.first_start_ms).naive_local();
        let local = match self.recurrence {
            Recurrence::Weekly => first + Duration::days(7 * index),
            Recurrence::Biweekly => first + Duration::days(14 * index),
            Recurrence::Monthly => {
                add_months(first.date(), u32::try_from(index).ok()?).and_time(first.time())
            }
        };
        let start = to_utc(zone, local);
        match self.until_ms {
            Some(until) if start >= until => None,
            _ => Some(start),
        }
    }

    /// Occurrences starting in `[from, to)`, as `(index, start)`.
    pub fn occurrences_between(
        &self,
        zone: &OrgZone,
        from: Millis,
        to: Millis,
    ) -> Vec<(i64, Millis)> {
        let gap_ms = self.recurrence.min_gap_days() * 86_400_000;
        // Occurrence i starts no later than first + i * longest gap; start a
        // little before the first one that could fall in the window.
        let longest = match self.recurrence {
            Recurrence::Monthly => 31 * 86_400_000,
            _ => gap_ms,
        };
        let mut index = ((from - self.first_start_ms) / longest - 1).max(0);
        let mut out = Vec::new();
        while let Some(start) = self.occurrence_start(zone, index) {
            if start >= to {
                break;
            }
            if start >= from {
                out.push((index, start));
            }
            index += 1;
        }
        out
    }

    /// Whether `person` (of `department`) takes part.
    pub fn includes(&self, person_id: &str, department_id: Option<&str>) -> bool {
        self.participant_person_ids.iter().any(|p| p == person_id)
            || department_id.is_some_and(|d| self.participant_department_ids.iter().any(|x| x == d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn meeting(recurrence: Recurrence, first: Millis) -> Meeting {
        Meeting {
            id: "m".into(),
            title: "周例会".into(),
            description: String::new(),
            recurrence,
            first_start_ms: first,
            duration_ms: 3_600_000,
            location: "三楼会议室".into(),
            organizing_department_id: "d".into(),
            participant_department_ids: vec!["d".into()],
            participant_person_ids: vec!["p".into()],
            until_ms: None,
            cancelled: false,
            created_by: "c".into(),
            version: 1,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> Millis {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn weekly_and_biweekly_keep_the_local_time() {
        let zone = OrgZone::default();
        // Monday 2026-11-30 09:30 in Shanghai is 01:30 UTC.
        let m = meeting(Recurrence::Weekly, utc(2026, 11, 30, 1, 30));
        assert_eq!(m.occurrence_start(&zone, 1), Some(utc(2026, 12, 7, 1, 30)));
        let b = meeting(Recurrence::Biweekly, utc(2026, 11, 30, 1, 30));
        assert_eq!(b.occurrence_start(&zone, 2), Some(utc(2026, 12, 28, 1, 30)));
        let window = m.occurrences_between(&zone, utc(2026, 12, 1, 0, 0), utc(2026, 12, 22, 0, 0));
        assert_eq!(
            window.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn monthly_clamps_to_the_last_day_and_until_ends_the_series() {
        let zone = OrgZone::default();
        // 31 January 2027, 10:00 Shanghai.
        let mut m = meeting(Recurrence::Monthly, utc(2027, 1, 31, 2, 0));
        assert_eq!(m.occurrence_start(&zone, 1), Some(utc(2027, 2, 28, 2, 0)));
        assert_eq!(m.occurrence_start(&zone, 2), Some(utc(2027, 3, 31, 2, 0)));
        m.until_ms = Some(utc(2027, 3, 1, 0, 0));
        assert_eq!(m.occurrence_start(&zone, 2), None);
        assert_eq!(m.occurrences_between(&zone, 0, i64::MAX / 2).len(), 2);
        assert_eq!(m.occurrence_start(&zone, -1), None);
        assert!(m.includes("p", None));
        assert!(m.includes("x", Some("d")));
        assert!(!m.includes("x", Some("e")));
    }
}

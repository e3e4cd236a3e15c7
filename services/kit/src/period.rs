//! Statistics periods and calendar arithmetic in the organisation's time
//! zone. Timestamps are stored in UTC milliseconds; "per day", "this week"
//! and recurring meetings are computed in the configured zone.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::clock::{Millis, from_timestamp};
use crate::error::{Error, Violations};

/// The organisation's time zone (`CONCORD_TIMEZONE`, e.g. `Asia/Shanghai`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgZone(pub Tz);

impl Default for OrgZone {
    fn default() -> Self {
        OrgZone(chrono_tz::Asia::Shanghai)
    }
}

impl std::str::FromStr for OrgZone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<Tz>().map(OrgZone).map_err(|e| e.to_string())
    }
}

impl OrgZone {
    /// Local date of an instant.
    pub fn date_of(&self, ms: Millis) -> NaiveDate {
        self.local(ms).date_naive()
    }

    /// The instant in the organisation's zone.
    pub fn local(&self, ms: Millis) -> DateTime<Tz> {
        Utc.timestamp_millis_opt(ms)
            .single()
            .unwrap_or_default()
            .with_timezone(&self.0)
    }

    /// Midnight starting `date`, as UTC milliseconds (the earliest instant of
    /// that local date, also across a daylight-saving change).
    pub fn start_of(&self, date: NaiveDate) -> Millis {
        let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self.0.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                t.timestamp_millis()
            }
            chrono::LocalResult::None => self.0.from_utc_datetime(&naive).timestamp_millis(),
        }
    }

    /// The local hour (0–23) of an instant.
    pub fn hour_of(&self, ms: Millis) -> u32 {
        use chrono::Timelike;
        self.local(ms).hour()
    }

    /// The first day of the month of `date`.
    pub fn month_start(date: NaiveDate) -> NaiveDate {
        date.with_day(1).unwrap_or(date)
    }
}

/// A half-open interval `[start, end)` of instants for statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start_ms: Millis,
    pub end_ms: Millis,
}

impl Period {
    /// Validates `start_time` / `end_time` fields of a statistics request.
    /// The longest allowed period is about ten years.
    pub fn from_request(
        start: Option<&prost_types::Timestamp>,
        end: Option<&prost_types::Timestamp>,
    ) -> Result<Self, Error> {
        let mut v = Violations::new();
        let start_ms = match start.map(from_timestamp) {
            Some(Some(ms)) => ms,
            Some(None) => {
                v.add("start_time", "is not a valid timestamp");
                0
            }
            None => {
                v.add("start_time", "is required");
                0
            }
        };
        let end_ms = match end.map(from_timestamp) {
            Some(Some(ms)) => ms,
            Some(None) => {
                v.add("end_time", "is not a valid timestamp");
                0
            }
            None => {
                v.add("end_time", "is required");
                0
            }
        };
        if v.is_empty() && end_ms <= start_ms {
            v.add("end_time", "must be after start_time");
        }
        if v.is_empty() && end_ms - start_ms > 3_660 * 86_400_000 {
            v.add("end_time", "the period may span at most ten years");
        }
        v.into_result()?;
        Ok(Self { start_ms, end_ms })
    }

    pub fn contains(&self, ms: Millis) -> bool {
        (self.start_ms..self.end_ms).contains(&ms)
    }
}

/// The median and a percentile of durations (nearest-rank), `None` when empty.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_local_days() {
        let zone: OrgZone = "Asia/Shanghai".parse().unwrap();
        // 2026-11-28 17:00 UTC is already the 29th in Shanghai (UTC+8).
        let ms = Utc
            .with_ymd_and_hms(2026, 11, 28, 17, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            zone.date_of(ms),
            NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
        );
        assert_eq!(zone.hour_of(ms), 1);
        let midnight = zone.start_of(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
        assert_eq!(
            midnight,
            Utc.with_ymd_and_hms(2026, 11, 28, 16, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
        assert!("Mars/Olympus".parse::<OrgZone>().is_err());
    }

    #[test]
    fn periods_validate_their_fields() {
        let ts = |s| prost_types::Timestamp {
            seconds: s,
            nanos: 0,
        };
        assert!(Period::from_request(Some(&ts(10)), Some(&ts(20))).is_ok());
        let err = Period::from_request(Some(&ts(20)), Some(&ts(10))).unwrap_err();
        assert!(matches!(err, Error::Invalid(v) if v.fields().any(|f| f == "end_time")));
        let err = Period::from_request(None, None).unwrap_err();
        assert!(matches!(err, Error::Invalid(v) if v.fields().count() == 2));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&v, 50.0), Some(5));
        assert_eq!(percentile(&v, 90.0), Some(9));
        assert_eq!(percentile(&[], 50.0), None);
    }
}

//! Flags several commands share: times (absolute, local or relative),
//! statistics periods, pages, request ids, and lowercase enum choices.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use clap::Args;
use concord_kit::clock::{Millis, to_timestamp};
use concord_kit::period::OrgZone;
use prost_types::Timestamp;

use super::error::CliError;

/// A moment given on the command line: `now`, a relative offset (`-30d`,
/// `+2h`, `+15m`, `+1w`), a local date (`2026-12-01`, midnight in the
/// organisation's zone), a local time (`2026-12-01 09:30` or
/// `2026-12-01T09:30`), or RFC 3339 (`2026-12-01T01:30:00Z`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    Now,
    Relative(Millis),
    Date(NaiveDate),
    Local(NaiveDateTime),
    Instant(Millis),
}

impl FromStr for When {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("now") {
            return Ok(When::Now);
        }
        if let Some(rest) = s.strip_prefix(['+', '-']) {
            let sign = if s.starts_with('-') { -1 } else { 1 };
            let (n, unit) = rest.split_at(rest.len().saturating_sub(1));
            let n: i64 = n
                .parse()
                .map_err(|_| format!("{s:?}: expected a number before the unit"))?;
            let unit_ms = match unit {
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 7 * 86_400_000,
                _ => return Err(format!("{s:?}: the unit is one of s, m, h, d, w")),
            };
            return Ok(When::Relative(sign * n * unit_ms));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(When::Instant(t.timestamp_millis()));
        }
        for f in [
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                return Ok(When::Local(t));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(When::Date(d));
        }
        Err(format!(
            "{s:?} is not a time: use now, -30d, +2h, 2026-12-01, 2026-12-01 09:30 or RFC 3339"
        ))
    }
}

impl When {
    /// Milliseconds since the epoch, local forms read in `zone`.
    pub fn millis(&self, zone: &OrgZone, now: Millis) -> Millis {
        match *self {
            When::Now => now,
            When::Relative(d) => now + d,
            When::Date(d) => zone.start_of(d),
            When::Local(t) => match zone.0.from_local_datetime(&t) {
                chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => {
                    x.timestamp_millis()
                }
                chrono::LocalResult::None => zone.0.from_utc_datetime(&t).timestamp_millis(),
            },
            When::Instant(ms) => ms,
        }
    }

    pub fn timestamp(&self, zone: &OrgZone) -> Timestamp {
        to_timestamp(self.millis(zone, now_ms()))
    }
}

/// The wall clock in milliseconds.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An optional time as a protobuf timestamp.
pub fn ts(when: Option<When>, zone: &OrgZone) -> Option<Timestamp> {
    when.map(|w| w.timestamp(zone))
}

/// The period and scope of a statistics command.
#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    /// Only this department (the whole organisation when absent).
    #[arg(long, value_name = "ID")]
    pub department: Option<String>,
    /// With --department: its sub-departments too.
    #[arg(long)]
    pub sub: bool,
    /// Only this person's figures.
    #[arg(long, value_name = "ID")]
    pub person: Option<String>,
    /// Start of the period (inclusive).
    #[arg(
        long,
        default_value = "-30d",
        value_name = "WHEN",
        allow_hyphen_values = true
    )]
    pub from: When,
    /// End of the period (exclusive).
    #[arg(
        long,
        default_value = "now",
        value_name = "WHEN",
        allow_hyphen_values = true
    )]
    pub to: When,
}

impl StatsArgs {
    /// (department_id, include_sub_departments, person_id, start, end).
    pub fn parts(&self, zone: &OrgZone) -> (String, bool, String, Timestamp, Timestamp) {
        let now = now_ms();
        (
            self.department.clone().unwrap_or_default(),
            self.sub,
            self.person.clone().unwrap_or_default(),
            to_timestamp(self.from.millis(zone, now)),
            to_timestamp(self.to.millis(zone, now)),
        )
    }
}

/// Paging of a list command.
#[derive(Args, Debug, Clone, Default)]
pub struct PageArgs {
    /// How many to show (the service's default when absent).
    #[arg(long, value_name = "N")]
    pub page_size: Option<i32>,
    /// Continue a list where the previous page ended.
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
}

impl PageArgs {
    pub fn size(&self) -> i32 {
        self.page_size.unwrap_or(0)
    }
    pub fn token(&self) -> String {
        self.page_token.clone().unwrap_or_default()
    }
}

/// The `request_id` of a create: the one given, or a fresh one (pass your
/// own to make a retried command create nothing twice).
pub fn request_id(given: &Option<String>) -> String {
    given.clone().unwrap_or_else(concord_kit::ids::new_id)
}

/// Text from a flag, or from a file (`-` for standard input).
pub fn text(
    inline: &Option<String>,
    file: &Option<std::path::PathBuf>,
) -> Result<String, CliError> {
    match (inline, file) {
        (Some(t), None) => Ok(t.clone()),
        (None, Some(p)) if p.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| CliError::usage(format!("reading standard input: {e}")))?;
            Ok(s)
        }
        (None, Some(p)) => {
            std::fs::read_to_string(p).map_err(|e| CliError::usage(format!("{}: {e}", p.display())))
        }
        (None, None) => Ok(String::new()),
        (Some(_), Some(_)) => Err(CliError::usage("give the text or a file, not both")),
    }
}

/// A request read from a JSON file (`-` for standard input).
pub fn json_file<M: prost::Message + Default>(path: &std::path::Path) -> Result<M, CliError> {
    let text = text(&None, &Some(path.to_path_buf()))?;
    super::output::from_json(&text)
}

/// A clap choice mapped onto a protobuf enum.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident => $proto:ty { $($variant:ident = $pv:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub enum $name { $($variant),* }
        impl From<$name> for $proto {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => <$proto>::$pv),* }
            }
        }
        impl $name {
            pub fn raw(self) -> i32 {
                <$proto>::from(self) as i32
            }
        }
    };
}
pub(crate) use choice;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form() {
        let zone: OrgZone = "Asia/Shanghai".parse().unwrap();
        let now = 1_800_000_000_000;
        assert_eq!("now".parse::<When>().unwrap().millis(&zone, now), now);
        assert_eq!(
            "-30d".parse::<When>().unwrap().millis(&zone, now),
            now - 30 * 86_400_000
        );
        assert_eq!(
            "+15m".parse::<When>().unwrap().millis(&zone, now),
            now + 900_000
        );
        // Midnight in Shanghai is 16:00 UTC the day before.
        let d = "2026-12-01".parse::<When>().unwrap().millis(&zone, now);
        assert_eq!(
            d,
            DateTime::parse_from_rfc3339("2026-11-30T16:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        let l = "2026-12-01 09:30"
            .parse::<When>()
            .unwrap()
            .millis(&zone, now);
        assert_eq!(l, d + 9 * 3_600_000 + 30 * 60_000);
        assert!("tomorrow".parse::<When>().is_err());
        assert!("+3x".parse::<When>().is_err());
    }
}

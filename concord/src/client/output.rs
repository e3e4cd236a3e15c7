//! Printing what the services answer: tables that keep columns aligned with
//! Chinese (double-width) text, or the response as protobuf JSON (field
//! names as in the `.proto`, enums by name, times in RFC 3339, every field
//! present) for scripts.

use std::sync::LazyLock;

use anyhow::Context as _;
use comfy_table::{ContentArrangement, LineStyle, Table as Comfy, TableStyle, presets};
use concord_kit::config::Settings;
use concord_kit::period::OrgZone;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use super::error::CliError;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// The response message as protobuf JSON (one object; a stream prints
    /// one object per line).
    Json,
}

/// The organisation's time zone from the settings, for showing times.
pub fn zone(settings: &Settings) -> OrgZone {
    settings.timezone.parse().unwrap_or_default()
}

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(concord_proto::FILE_DESCRIPTOR_SET)
        .expect("the compiled descriptor set decodes")
});

/// The protobuf full name of a generated message type, e.g.
/// `concord.directory.v1.Department`.
fn full_name<M>() -> anyhow::Result<String> {
    let rust = std::any::type_name::<M>();
    let tail = rust
        .split_once("::concord::")
        .map(|(_, t)| t)
        .with_context(|| format!("{rust} is not a Concord message"))?;
    Ok(format!("concord.{}", tail.replace("::", ".")))
}

fn dynamic<M: prost::Message>(message: &M) -> anyhow::Result<DynamicMessage> {
    let name = full_name::<M>()?;
    let descriptor = POOL
        .get_message_by_name(&name)
        .with_context(|| format!("no descriptor for {name}"))?;
    Ok(DynamicMessage::decode(
        descriptor,
        message.encode_to_vec().as_slice(),
    )?)
}

fn options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(false)
}

/// A message as a JSON value.
pub fn to_json<M: prost::Message>(message: &M) -> anyhow::Result<serde_json::Value> {
    let dynamic = dynamic(message)?;
    Ok(dynamic.serialize_with_options(serde_json::value::Serializer, &options())?)
}

/// Prints a message as indented JSON.
pub fn print_json<M: prost::Message>(message: &M) -> Result<(), CliError> {
    let value = to_json(message)?;
    say!(
        "{}",
        serde_json::to_string_pretty(&value).map_err(anyhow::Error::from)?
    );
    Ok(())
}

/// Prints a message as one line of JSON (streams).
pub fn print_json_line<M: prost::Message>(message: &M) -> Result<(), CliError> {
    let value = to_json(message)?;
    say!("{value}");
    Ok(())
}

/// Reads a request written as protobuf JSON (either field-name style).
pub fn from_json<M: prost::Message + Default>(text: &str) -> Result<M, CliError> {
    let name = full_name::<M>()?;
    let descriptor = POOL
        .get_message_by_name(&name)
        .with_context(|| format!("no descriptor for {name}"))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let dynamic = DynamicMessage::deserialize(descriptor, &mut de)
        .map_err(|e| CliError::usage(format!("the JSON is not a {name}: {e}")))?;
    dynamic
        .transcode_to::<M>()
        .map_err(|e| CliError::Other(e.into()))
}

/// Writes one line to standard output; a closed pipe (`concord … | head`)
/// ends the program quietly instead of with a panic.
pub fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n"))
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// `println!` that survives a closed pipe.
macro_rules! say {
    () => {
        $crate::client::output::emit(format_args!(""))
    };
    ($($t:tt)*) => {
        $crate::client::output::emit(format_args!($($t)*))
    };
}
pub(crate) use say;

/// A table with a header row.
pub struct Table(Comfy);

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        let mut t = Comfy::new();
        // Only a rule under the header: light to read, easy to grep.
        t.load_style(TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─')));
        // Fit the terminal when there is one; never wrap into a pipe.
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            t.set_content_arrangement(ContentArrangement::Dynamic);
        }
        t.set_header(headers.iter().copied());
        Self(t)
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.0.add_row(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.0.row_count() == 0
    }

    pub fn render(&self) -> String {
        self.0.to_string()
    }

    pub fn print(self) {
        if self.is_empty() {
            say!("(none)");
        } else {
            say!("{}", self.render());
        }
    }
}

/// A single record as field / value lines.
pub fn print_record(rows: Vec<(&str, String)>) {
    let mut t = Comfy::new();
    t.load_style(presets::NOTHING);
    for (k, v) in rows {
        t.add_row(vec![k.to_string(), v]);
    }
    say!("{t}");
}

/// Department names by id, for tables (ids stay in the JSON).
#[derive(Default)]
pub struct Names(std::collections::HashMap<String, String>);

impl Names {
    /// Every department's name; empty when they cannot be read (tables
    /// then show ids).
    pub async fn departments(conn: &super::Conn) -> Self {
        use concord_proto::directory::v1::ListDepartmentsRequest;
        let mut names = std::collections::HashMap::new();
        let mut page_token = String::new();
        let mut dir = conn.directory();
        loop {
            let Ok(r) = dir
                .list_departments(ListDepartmentsRequest {
                    parent_id: String::new(),
                    subtree: true,
                    page_size: 500,
                    page_token,
                })
                .await
            else {
                break;
            };
            let r = r.into_inner();
            names.extend(r.departments.into_iter().map(|d| (d.id, d.name)));
            if r.next_page_token.is_empty() {
                break;
            }
            page_token = r.next_page_token;
        }
        Self(names)
    }

    /// The name of `id`, or `id` itself when unknown.
    pub fn of(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// Tells where the next page starts, on stderr so the table stays clean.
pub fn more(next_page_token: &str) {
    if !next_page_token.is_empty() {
        eprintln!("more: --page-token {next_page_token}");
    }
}

/// A time in the organisation's zone, minutes precision; `-` when unset.
pub fn time(zone: &OrgZone, ts: Option<&prost_types::Timestamp>) -> String {
    match ts.and_then(concord_kit::clock::from_timestamp) {
        Some(ms) => zone.local(ms).format("%Y-%m-%d %H:%M").to_string(),
        None => "-".into(),
    }
}

/// A duration as `1d 2h`, `3h 5m`, `4m 10s`; `-` when unset.
pub fn duration(d: Option<&prost_types::Duration>) -> String {
    let Some(d) = d else { return "-".into() };
    let s = d.seconds.max(0);
    let (days, hours, minutes, secs) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// A ratio 0..1 as a percentage.
pub fn percent(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// `yes` or empty.
pub fn yes(b: bool) -> String {
    if b { "yes".into() } else { String::new() }
}

/// Long text cut to `max` characters for a table cell.
pub fn cut(text: &str, max: usize) -> String {
    let one_line = text.lines().next().unwrap_or_default();
    let mut chars = one_line.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() || one_line.len() < text.trim_end().len() {
        format!("{head}…")
    } else {
        head
    }
}

/// Enum values shown as short lowercase words (`STAGE_IN_PROGRESS` →
/// `in-progress`).
pub trait Label: Sized {
    fn label(self) -> String;
}

/// The label of an enum field's raw value; the number when unknown.
pub fn label<E: Label + TryFrom<i32>>(value: i32) -> String {
    E::try_from(value)
        .map(Label::label)
        .unwrap_or_else(|_| value.to_string())
}

fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
        .replace('_', "-")
}

macro_rules! labels {
    ($($ty:ty => $prefix:literal),* $(,)?) => {
        $(impl Label for $ty {
            fn label(self) -> String {
                short(self.as_str_name(), $prefix)
            }
        })*
    };
}

use concord_proto::{appraisal, decisions, emergency, feedback, notices, policy, training};

labels! {
    policy::v1::Role => "ROLE_",
    notices::v1::Priority => "PRIORITY_",
    notices::v1::NoticeState => "NOTICE_STATE_",
    notices::v1::Recurrence => "RECURRENCE_",
    notices::v1::AttendanceStatus => "ATTENDANCE_STATUS_",
    notices::v1::InboxEventKind => "INBOX_EVENT_KIND_",
    decisions::v1::Stage => "STAGE_",
    decisions::v1::VotingRule => "VOTING_RULE_",
    decisions::v1::Stance => "STANCE_",
    decisions::v1::ActionItemStatus => "ACTION_ITEM_STATUS_",
    decisions::v1::ParticipationRole => "PARTICIPATION_ROLE_",
    feedback::v1::Channel => "CHANNEL_",
    feedback::v1::Category => "CATEGORY_",
    feedback::v1::Priority => "PRIORITY_",
    feedback::v1::Status => "STATUS_",
    feedback::v1::EscalationLevel => "ESCALATION_LEVEL_",
    feedback::v1::EntryKind => "ENTRY_KIND_",
    emergency::v1::IncidentType => "INCIDENT_TYPE_",
    emergency::v1::Severity => "SEVERITY_",
    emergency::v1::IncidentStatus => "INCIDENT_STATUS_",
    emergency::v1::AlertKind => "ALERT_KIND_",
    appraisal::v1::Stage => "STAGE_",
    appraisal::v1::SubjectKind => "SUBJECT_KIND_",
    appraisal::v1::Source => "SOURCE_",
    appraisal::v1::Dimension => "DIMENSION_",
    training::v1::Mode => "MODE_",
    training::v1::PlanState => "PLAN_STATE_",
    training::v1::EnrolmentStatus => "ENROLMENT_STATUS_",
    training::v1::GoalStatus => "GOAL_STATUS_",
}

/// Roles as `admin, department-head`.
pub fn roles(values: &[i32]) -> String {
    values
        .iter()
        .map(|r| label::<policy::v1::Role>(*r))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_proto::directory::v1::Department;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn json_uses_proto_names_and_every_field() {
        let d = Department {
            id: "d1".into(),
            name: "信息中心".into(),
            ..Default::default()
        };
        let v = to_json(&d).unwrap();
        assert_eq!(v["name"], "信息中心");
        assert_eq!(v["parent_id"], "");
        let back: Department = from_json(&v.to_string()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn wide_characters_keep_columns_aligned() {
        let mut t = Table::new(&["ID", "NAME", "TITLE"]);
        t.row(vec![
            "1".into(),
            "欧阳晓东".into(),
            "Facilities officer".into(),
        ]);
        t.row(vec!["22".into(), "Li".into(), "主任".into()]);
        t.row(vec![
            "333".into(),
            "Wang Fang".into(),
            "副处长（主持工作）".into(),
        ]);
        let text = t.render();
        let widths: Vec<usize> = text.lines().map(UnicodeWidthStr::width).collect();
        assert!(
            widths.windows(2).all(|w| w[0] == w[1]),
            "{text}\n{widths:?}"
        );
        // The third column starts at the same display column on every row.
        let starts: Vec<usize> = text
            .lines()
            .filter(|l| l.contains("Facilities") || l.contains("主任") || l.contains("副处长"))
            .map(|l| {
                let at = l
                    .find("Facilities")
                    .or_else(|| l.find("主任"))
                    .or_else(|| l.find("副处长"))
                    .unwrap();
                UnicodeWidthStr::width(&l[..at])
            })
            .collect();
        assert_eq!(starts.len(), 3);
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn labels_are_short_words() {
        assert_eq!(
            decisions::v1::Stage::NoQuorum.label(),
            "no-quorum".to_string()
        );
        assert_eq!(label::<feedback::v1::Status>(3), "in-progress");
        assert_eq!(label::<feedback::v1::Status>(99), "99");
    }

    #[test]
    fn durations_read_naturally() {
        let d = |s| {
            Some(prost_types::Duration {
                seconds: s,
                nanos: 0,
            })
        };
        assert_eq!(duration(d(42).as_ref()), "42s");
        assert_eq!(duration(d(310).as_ref()), "5m 10s");
        assert_eq!(duration(d(7_500).as_ref()), "2h 5m");
        assert_eq!(duration(d(90_000).as_ref()), "1d 1h");
        assert_eq!(duration(None), "-");
    }
}

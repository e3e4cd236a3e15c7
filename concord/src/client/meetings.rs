//! `concord meetings …`: recurring cross-department meetings, their
//! occurrences, agenda, attendance and minutes.

use std::path::PathBuf;

use clap::Subcommand;
use concord_proto::notices::v1::*;

use super::args::{PageArgs, When, choice, request_id, text, ts};
use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{Table, cut, label, more, print_json, print_record, time, yes};

choice! {
    /// How often a meeting recurs.
    RecurrenceArg => Recurrence { Weekly = Weekly, Biweekly = Biweekly, Monthly = Monthly }
}

#[derive(Subcommand)]
pub enum Command {
    /// Meetings the caller takes part in or organises.
    List {
        /// Only those this department organises.
        #[arg(long, value_name = "ID")]
        organizer: Option<String>,
        #[arg(long)]
        cancelled: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one meeting.
    Show { id: String },
    /// Create a recurring meeting.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The organising department.
        #[arg(long, value_name = "ID")]
        organizer: String,
        /// The first occurrence.
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        first: When,
        /// Length in minutes.
        #[arg(long, default_value_t = 60)]
        minutes: i64,
        #[arg(long, value_enum, default_value_t = RecurrenceArg::Weekly)]
        recurrence: RecurrenceArg,
        /// A room or a link.
        #[arg(long, default_value = "")]
        location: String,
        /// A participating department (repeatable).
        #[arg(long = "department", value_name = "ID")]
        departments: Vec<String>,
        /// A participating person (repeatable).
        #[arg(long = "person", value_name = "ID")]
        people: Vec<String>,
        /// No occurrence at or after this time.
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        until: Option<When>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The caller's coming occurrences.
    Upcoming {
        /// How many days ahead.
        #[arg(long, default_value_t = 14)]
        days: i64,
    },
    /// One occurrence with agenda, attendance and minutes.
    Occurrence { meeting: String, index: i64 },
    /// Add an item to an occurrence's agenda.
    Agenda {
        meeting: String,
        index: i64,
        #[arg(long)]
        title: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Record who attended an occurrence.
    Attendance {
        meeting: String,
        index: i64,
        #[arg(long = "present", value_name = "PERSON")]
        present: Vec<String>,
        #[arg(long = "absent", value_name = "PERSON")]
        absent: Vec<String>,
        #[arg(long = "excused", value_name = "PERSON")]
        excused: Vec<String>,
    },
    /// Record an occurrence's minutes and share them as a notice.
    Minutes {
        meeting: String,
        index: i64,
        #[arg(long)]
        text: Option<String>,
        #[arg(long, value_name = "FILE", conflicts_with = "text")]
        file: Option<PathBuf>,
    },
    /// End the series.
    Cancel { id: String },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut meetings = conn.meetings();
    let zone = conn.zone;
    match command {
        Command::List {
            organizer,
            cancelled,
            page,
        } => {
            let r = meetings
                .list_meetings(ListMeetingsRequest {
                    organizing_department_id: organizer.unwrap_or_default(),
                    include_cancelled: cancelled,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&[
                "ID",
                "TITLE",
                "RECURRENCE",
                "FIRST",
                "LOCATION",
                "CANCELLED",
            ]);
            for m in &r.meetings {
                t.row(vec![
                    m.id.clone(),
                    cut(&m.title, 40),
                    label::<Recurrence>(m.recurrence),
                    time(&zone, m.first_start_time.as_ref()),
                    m.location.clone(),
                    yes(m.cancelled),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Show { id } => {
            let m = meetings
                .get_meeting(GetMeetingRequest { id })
                .await?
                .into_inner();
            show(conn, &m)?;
        }
        Command::Create {
            title,
            description,
            organizer,
            first,
            minutes,
            recurrence,
            location,
            departments,
            people,
            until,
            request_id: rid,
        } => {
            let m = meetings
                .create_meeting(CreateMeetingRequest {
                    request_id: request_id(&rid),
                    meeting: Some(Meeting {
                        title,
                        description,
                        recurrence: recurrence.raw(),
                        first_start_time: Some(first.timestamp(&zone)),
                        duration: Some(prost_types::Duration {
                            seconds: minutes * 60,
                            nanos: 0,
                        }),
                        location,
                        organizing_department_id: organizer,
                        participant_department_ids: departments,
                        participant_person_ids: people,
                        until_time: ts(until, &zone),
                        ..Default::default()
                    }),
                })
                .await?
                .into_inner();
            show(conn, &m)?;
        }
        Command::Upcoming { days } => {
            let now = super::args::now_ms();
            let r = meetings
                .list_upcoming_occurrences(ListUpcomingOccurrencesRequest {
                    start_time: None,
                    end_time: Some(concord_kit::clock::to_timestamp(now + days * 86_400_000)),
                    page_size: 0,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            occurrences(conn, &r.occurrences).print();
        }
        Command::Occurrence { meeting, index } => {
            let o = meetings
                .get_occurrence(GetOccurrenceRequest {
                    meeting_id: meeting,
                    occurrence_index: index,
                })
                .await?
                .into_inner();
            occurrence(conn, &o)?;
        }
        Command::Agenda {
            meeting,
            index,
            title,
            request_id: rid,
        } => {
            let a = meetings
                .add_agenda_item(AddAgendaItemRequest {
                    request_id: request_id(&rid),
                    meeting_id: meeting,
                    occurrence_index: index,
                    title,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&a);
            }
            print_record(vec![("id", a.id), ("title", a.title)]);
        }
        Command::Attendance {
            meeting,
            index,
            present,
            absent,
            excused,
        } => {
            let marks = |ids: Vec<String>, status: AttendanceStatus| {
                ids.into_iter().map(move |person_id| Attendance {
                    person_id,
                    status: status as i32,
                })
            };
            let attendance = marks(present, AttendanceStatus::Present)
                .chain(marks(absent, AttendanceStatus::Absent))
                .chain(marks(excused, AttendanceStatus::Excused))
                .collect();
            let o = meetings
                .record_attendance(RecordAttendanceRequest {
                    meeting_id: meeting,
                    occurrence_index: index,
                    attendance,
                })
                .await?
                .into_inner();
            occurrence(conn, &o)?;
        }
        Command::Minutes {
            meeting,
            index,
            text: inline,
            file,
        } => {
            let minutes = text(&inline, &file)?;
            let o = meetings
                .record_minutes(RecordMinutesRequest {
                    meeting_id: meeting,
                    occurrence_index: index,
                    minutes,
                })
                .await?
                .into_inner();
            occurrence(conn, &o)?;
        }
        Command::Cancel { id } => {
            let m = meetings
                .cancel_meeting(CancelMeetingRequest {
                    id,
                    etag: String::new(),
                })
                .await?
                .into_inner();
            show(conn, &m)?;
        }
    }
    Ok(())
}

fn show(conn: &Conn, m: &Meeting) -> Result<(), CliError> {
    if conn.json() {
        return print_json(m);
    }
    print_record(vec![
        ("id", m.id.clone()),
        ("title", m.title.clone()),
        ("recurrence", label::<Recurrence>(m.recurrence)),
        ("first", time(&conn.zone, m.first_start_time.as_ref())),
        ("location", m.location.clone()),
        ("organizer", m.organizing_department_id.clone()),
        ("departments", m.participant_department_ids.join(", ")),
        ("people", m.participant_person_ids.join(", ")),
        ("cancelled", yes(m.cancelled)),
    ]);
    Ok(())
}

fn occurrences(conn: &Conn, list: &[Occurrence]) -> Table {
    let mut t = Table::new(&["MEETING", "#", "TITLE", "START", "LOCATION", "AGENDA"]);
    for o in list {
        t.row(vec![
            o.meeting_id.clone(),
            o.index.to_string(),
            cut(&o.title, 40),
            time(&conn.zone, o.start_time.as_ref()),
            o.location.clone(),
            o.agenda.len().to_string(),
        ]);
    }
    t
}

fn occurrence(conn: &Conn, o: &Occurrence) -> Result<(), CliError> {
    if conn.json() {
        return print_json(o);
    }
    print_record(vec![
        ("meeting", o.meeting_id.clone()),
        ("occurrence", o.index.to_string()),
        ("title", o.title.clone()),
        ("start", time(&conn.zone, o.start_time.as_ref())),
        ("end", time(&conn.zone, o.end_time.as_ref())),
        ("location", o.location.clone()),
        ("minutes notice", o.minutes_notice_id.clone()),
    ]);
    if !o.agenda.is_empty() {
        say!("Agenda");
        let mut t = Table::new(&["ID", "ITEM", "PROPOSED BY"]);
        for a in &o.agenda {
            t.row(vec![a.id.clone(), a.title.clone(), a.proposed_by.clone()]);
        }
        t.print();
    }
    if !o.attendance.is_empty() {
        say!("Attendance");
        let mut t = Table::new(&["PERSON", "STATUS"]);
        for a in &o.attendance {
            t.row(vec![
                a.person_id.clone(),
                label::<AttendanceStatus>(a.status),
            ]);
        }
        t.print();
    }
    if !o.minutes.is_empty() {
        say!("Minutes\n{}", o.minutes);
    }
    Ok(())
}

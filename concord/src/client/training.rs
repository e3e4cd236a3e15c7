//! `concord training …`: training plans, enrolment and the waiting list,
//! attendance, completion records, mandatory compliance, statistics and
//! development plans.

use clap::Subcommand;
use concord_proto::training::v1::*;

use super::args::{PageArgs, StatsArgs, When, choice, request_id, ts};
use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{Names, Table, cut, label, more, percent, print_json, print_record, time, yes};

choice! {
    /// How a training is given.
    ModeArg => Mode { OnSite = OnSite, Online = Online, Mentoring = Mentoring }
}

choice! {
    /// A plan's state.
    StateArg => PlanState { Draft = Draft, Published = Published, Cancelled = Cancelled }
}

/// One sitting: `START..END`, e.g. `2026-12-01 09:00..2026-12-01 12:00`.
#[derive(Debug, Clone)]
pub struct SessionArg(When, When);

impl std::str::FromStr for SessionArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once("..")
            .ok_or_else(|| format!("{s:?}: write a session as START..END"))?;
        Ok(SessionArg(a.parse()?, b.parse()?))
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Training plans, latest first.
    Plans {
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        #[arg(long)]
        mandatory: bool,
        /// Only plans meant for the caller.
        #[arg(long)]
        mine: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a plan with its sessions.
    Plan { id: String },
    /// Draft a training plan.
    Create {
        /// The organising department.
        #[arg(long, value_name = "ID")]
        department: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        outline: String,
        #[arg(long, value_enum, default_value_t = ModeArg::OnSite)]
        mode: ModeArg,
        #[arg(long, default_value = "")]
        place: String,
        #[arg(long, default_value = "")]
        link: String,
        /// A session as START..END (repeatable, at least one).
        #[arg(
            long = "session",
            value_name = "START..END",
            allow_hyphen_values = true,
            required = true
        )]
        sessions: Vec<SessionArg>,
        /// An audience department (repeatable).
        #[arg(long = "audience", value_name = "ID")]
        audience: Vec<String>,
        /// The audience departments' sub-departments too.
        #[arg(long)]
        sub: bool,
        /// An audience person (repeatable).
        #[arg(long = "person", value_name = "ID")]
        people: Vec<String>,
        /// Seats; 0 is unlimited.
        #[arg(long, default_value_t = 0)]
        capacity: i32,
        /// Everybody in the audience must complete it by --deadline.
        #[arg(long, requires = "deadline")]
        mandatory: bool,
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        deadline: Option<When>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Open a draft for enrolment.
    Publish { id: String },
    /// Enrol yourself (or, as a planner, --person) in a plan.
    Enrol {
        plan: String,
        #[arg(long, value_name = "ID")]
        person: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Cancel an enrolment.
    CancelEnrolment {
        id: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Enrolments of a plan or of a person.
    Enrolments {
        #[arg(long, value_name = "ID", required_unless_present = "person")]
        plan: Option<String>,
        #[arg(long, value_name = "ID", conflicts_with = "plan")]
        person: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Mark people present or absent at a session.
    Attendance {
        plan: String,
        session: String,
        #[arg(long = "present", value_name = "PERSON")]
        present: Vec<String>,
        #[arg(long = "absent", value_name = "PERSON")]
        absent: Vec<String>,
    },
    /// Record a completion and issue the certificate.
    Complete {
        enrolment: String,
        /// Assessment score, 0–100.
        #[arg(long)]
        score: Option<f64>,
    },
    /// A person's completion records (the caller's by default).
    Records {
        #[arg(long, value_name = "ID")]
        person: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Who in a mandatory plan's audience has not completed it.
    Incomplete {
        plan: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Remind exactly those who have not completed a mandatory plan.
    Remind {
        plan: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Completion, hours and mandatory compliance over a period.
    Stats {
        #[command(flatten)]
        period: StatsArgs,
    },
    /// Personal development plans the caller may see.
    DevelopmentPlans {
        #[arg(long, value_name = "ID")]
        person: Option<String>,
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut tr = conn.training();
    let zone = conn.zone;
    match command {
        Command::Plans {
            department,
            state,
            mandatory,
            mine,
            page,
        } => {
            let r = tr
                .list_training_plans(ListTrainingPlansRequest {
                    department_id: department.unwrap_or_default(),
                    include_sub_departments: false,
                    state: state.map(StateArg::raw).unwrap_or_default(),
                    mandatory_only: mandatory,
                    for_me: mine,
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
                "STATE",
                "MODE",
                "FIRST SESSION",
                "SEATS",
                "WAITING",
                "COMPLETED",
                "MANDATORY",
            ]);
            for p in &r.plans {
                let seats = if p.capacity > 0 {
                    format!("{}/{}", p.seats_taken, p.capacity)
                } else {
                    p.seats_taken.to_string()
                };
                t.row(vec![
                    p.id.clone(),
                    cut(&p.title, 36),
                    label::<PlanState>(p.state),
                    label::<Mode>(p.mode),
                    time(
                        &zone,
                        p.sessions.first().and_then(|s| s.start_time.as_ref()),
                    ),
                    seats,
                    p.waiting.to_string(),
                    p.completed.to_string(),
                    yes(p.mandatory),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Plan { id } => {
            let p = tr
                .get_training_plan(GetTrainingPlanRequest { id })
                .await?
                .into_inner();
            show(conn, &p)?;
        }
        Command::Create {
            department,
            title,
            outline,
            mode,
            place,
            link,
            sessions,
            audience,
            sub,
            people,
            capacity,
            mandatory,
            deadline,
            request_id: rid,
        } => {
            let sessions = sessions
                .into_iter()
                .map(|SessionArg(start, end)| Session {
                    start_time: Some(start.timestamp(&zone)),
                    end_time: Some(end.timestamp(&zone)),
                    ..Default::default()
                })
                .collect();
            let p = tr
                .create_training_plan(CreateTrainingPlanRequest {
                    request_id: request_id(&rid),
                    department_id: department,
                    title,
                    content_outline: outline,
                    mode: mode.raw(),
                    place,
                    link,
                    sessions,
                    audience: Some(Audience {
                        department_ids: audience,
                        include_sub_departments: sub,
                        person_ids: people,
                    }),
                    capacity,
                    mandatory,
                    completion_deadline: ts(deadline, &zone),
                })
                .await?
                .into_inner();
            show(conn, &p)?;
        }
        Command::Publish { id } => {
            let p = tr
                .publish_training_plan(PublishTrainingPlanRequest {
                    id,
                    etag: String::new(),
                })
                .await?
                .into_inner();
            show(conn, &p)?;
        }
        Command::Enrol {
            plan,
            person,
            request_id: rid,
        } => {
            let e = tr
                .enrol_in_training(EnrolInTrainingRequest {
                    request_id: request_id(&rid),
                    plan_id: plan,
                    person_id: person.unwrap_or_default(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&e);
            }
            enrolments(conn, &[e]).print();
        }
        Command::CancelEnrolment { id, reason } => {
            let e = tr
                .cancel_enrolment(CancelEnrolmentRequest {
                    enrolment_id: id,
                    reason,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&e);
            }
            enrolments(conn, &[e]).print();
        }
        Command::Enrolments { plan, person, page } => {
            let r = tr
                .list_enrolments(ListEnrolmentsRequest {
                    plan_id: plan.unwrap_or_default(),
                    person_id: person.unwrap_or_default(),
                    status: 0,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            enrolments(conn, &r.enrolments).print();
            more(&r.next_page_token);
        }
        Command::Attendance {
            plan,
            session,
            present,
            absent,
        } => {
            let marks = present
                .into_iter()
                .map(|person_id| AttendanceMark {
                    person_id,
                    present: true,
                })
                .chain(absent.into_iter().map(|person_id| AttendanceMark {
                    person_id,
                    present: false,
                }))
                .collect();
            let r = tr
                .record_attendance(RecordAttendanceRequest {
                    plan_id: plan,
                    session_id: session,
                    marks,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["SESSION", "PERSON", "PRESENT"]);
            for a in &r.attendance {
                t.row(vec![
                    a.session_id.clone(),
                    a.person_id.clone(),
                    yes(a.present),
                ]);
            }
            t.print();
        }
        Command::Complete { enrolment, score } => {
            let e = tr
                .complete_training(CompleteTrainingRequest {
                    enrolment_id: enrolment,
                    assessment_score: score,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&e);
            }
            enrolments(conn, &[e]).print();
        }
        Command::Records { person, page } => {
            let r = tr
                .list_completion_records(ListCompletionRecordsRequest {
                    person_id: person.unwrap_or_default(),
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&[
                "CERTIFICATE",
                "TRAINING",
                "PERSON",
                "ISSUED",
                "HOURS",
                "SCORE",
            ]);
            for c in &r.records {
                t.row(vec![
                    c.certificate_number.clone(),
                    cut(&c.plan_title, 36),
                    c.person_id.clone(),
                    time(&zone, c.issue_time.as_ref()),
                    format!("{:.1}", c.hours),
                    c.assessment_score
                        .map(|s| format!("{s:.0}"))
                        .unwrap_or_default(),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Incomplete { plan, page } => {
            let r = tr
                .list_incomplete(ListIncompleteRequest {
                    plan_id: plan,
                    page_size: page.size(),
                    page_token: page.token(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            say!(
                "{} of {} completed ({} by the deadline)",
                r.completed,
                r.audience_size,
                r.completed_by_deadline
            );
            let mut t = Table::new(&[
                "PERSON",
                "NAME",
                "DEPARTMENT",
                "ENROLMENT",
                "REMINDERS",
                "NON-COMPLIANT",
            ]);
            for p in &r.people {
                t.row(vec![
                    p.person_id.clone(),
                    p.display_name.clone(),
                    p.department_id.clone(),
                    if p.enrolment_status == 0 {
                        "not enrolled".into()
                    } else {
                        label::<EnrolmentStatus>(p.enrolment_status)
                    },
                    p.reminders_sent.to_string(),
                    yes(p.non_compliant),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Remind {
            plan,
            request_id: rid,
        } => {
            let r = tr
                .remind_incomplete(RemindIncompleteRequest {
                    request_id: request_id(&rid),
                    plan_id: plan,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            say!("Reminded {} people.", r.reminded);
        }
        Command::Stats { period } => {
            let (department_id, include_sub_departments, person_id, start, end) =
                period.parts(&zone);
            let s = tr
                .get_training_statistics(GetTrainingStatisticsRequest {
                    department_id,
                    include_sub_departments,
                    person_id,
                    start_time: Some(start),
                    end_time: Some(end),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&s);
            }
            let names = Names::departments(conn).await;
            let mut t = Table::new(&[
                "DEPARTMENT",
                "ENROLMENTS",
                "COMPLETED",
                "RATE",
                "HOURS",
                "MANDATORY",
                "BY DEADLINE",
                "COMPLIANCE",
                "CERTIFICATES",
            ]);
            let mut add = |name: String, f: &TrainingFigures| {
                t.row(vec![
                    name,
                    f.enrolments.to_string(),
                    f.completed.to_string(),
                    percent(f.completion_rate),
                    format!("{:.1}", f.training_hours),
                    f.mandatory_required.to_string(),
                    f.mandatory_completed_by_deadline.to_string(),
                    percent(f.mandatory_compliance_rate),
                    f.certificates_issued.to_string(),
                ]);
            };
            for d in &s.departments {
                add(names.of(&d.department_id), &d.figures.unwrap_or_default());
            }
            add("(total)".into(), &s.totals.unwrap_or_default());
            t.print();
        }
        Command::DevelopmentPlans {
            person,
            department,
            page,
        } => {
            let r = conn
                .development()
                .list_development_plans(ListDevelopmentPlansRequest {
                    person_id: person.unwrap_or_default(),
                    department_id: department.unwrap_or_default(),
                    include_sub_departments: false,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&[
                "ID", "TITLE", "PERSON", "MENTOR", "GOALS", "ACHIEVED", "REVIEWED",
            ]);
            for p in &r.plans {
                let achieved = p
                    .goals
                    .iter()
                    .filter(|g| g.status == GoalStatus::Achieved as i32)
                    .count();
                t.row(vec![
                    p.id.clone(),
                    cut(&p.title, 36),
                    p.person_id.clone(),
                    p.mentor_id.clone(),
                    p.goals.len().to_string(),
                    achieved.to_string(),
                    time(&zone, p.last_review_time.as_ref()),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
    }
    Ok(())
}

fn show(conn: &Conn, p: &TrainingPlan) -> Result<(), CliError> {
    if conn.json() {
        return print_json(p);
    }
    let zone = &conn.zone;
    print_record(vec![
        ("id", p.id.clone()),
        ("title", p.title.clone()),
        ("state", label::<PlanState>(p.state)),
        ("department", p.department_id.clone()),
        ("mode", label::<Mode>(p.mode)),
        ("place", p.place.clone()),
        ("capacity", p.capacity.to_string()),
        ("seats taken", p.seats_taken.to_string()),
        ("waiting", p.waiting.to_string()),
        ("completed", p.completed.to_string()),
        ("mandatory", yes(p.mandatory)),
        ("deadline", time(zone, p.completion_deadline.as_ref())),
    ]);
    let mut t = Table::new(&["SESSION", "TITLE", "START", "END", "HOURS"]);
    for s in &p.sessions {
        t.row(vec![
            s.id.clone(),
            s.title.clone(),
            time(zone, s.start_time.as_ref()),
            time(zone, s.end_time.as_ref()),
            format!("{:.1}", s.hours),
        ]);
    }
    t.print();
    Ok(())
}

fn enrolments(conn: &Conn, list: &[Enrolment]) -> Table {
    let mut t = Table::new(&[
        "ID",
        "PLAN",
        "PERSON",
        "STATUS",
        "WAITING #",
        "ENROLLED",
        "CERTIFICATE",
    ]);
    for e in list {
        t.row(vec![
            e.id.clone(),
            e.plan_id.clone(),
            e.person_id.clone(),
            label::<EnrolmentStatus>(e.status),
            if e.waitlist_position > 0 {
                e.waitlist_position.to_string()
            } else {
                String::new()
            },
            time(&conn.zone, e.enrol_time.as_ref()),
            e.completion
                .as_ref()
                .map(|c| c.certificate_number.clone())
                .unwrap_or_default(),
        ]);
    }
    t
}

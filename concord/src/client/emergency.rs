//! `concord emergency …`: contingency plans, declaring incidents and drills,
//! acknowledging alerts, moving an incident on, reports and statistics.

use clap::Subcommand;
use concord_proto::emergency::v1::*;

use super::args::{PageArgs, StatsArgs, choice, json_file, request_id};
use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{
    Names, Table, cut, duration, label, more, print_json, print_record, time, yes,
};

choice! {
    /// Severity on the national four-level scale (I is the gravest).
    SeverityArg => Severity { I = I, Ii = Ii, Iii = Iii, Iv = Iv }
}

choice! {
    /// Where an incident is moved.
    StatusArg => IncidentStatus {
        Responding = Responding,
        Contained = Contained,
        Resolved = Resolved,
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Contingency plans at their current version.
    Plans {
        #[arg(long)]
        archived: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a plan with its steps.
    Plan {
        id: String,
        /// An earlier version.
        #[arg(long, default_value_t = 0)]
        version: i64,
    },
    /// Create a plan from a JSON CreatePlanRequest (steps, contacts, …).
    CreatePlan {
        /// The request as protobuf JSON (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        file: std::path::PathBuf,
    },
    /// Declare an incident (or a drill) from a plan; alerts go out at once.
    Declare {
        #[arg(long, value_name = "PLAN")]
        plan: String,
        /// Default: the plan's title.
        #[arg(long, default_value = "")]
        title: String,
        /// What happened, where.
        #[arg(long, default_value = "")]
        description: String,
        /// Default: the plan's severity.
        #[arg(long, value_enum)]
        severity: Option<SeverityArg>,
        /// A drill, flagged as such everywhere.
        #[arg(long)]
        drill: bool,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Incidents the caller may see, newest first.
    Incidents {
        /// Only drills.
        #[arg(long, conflicts_with = "real")]
        drills: bool,
        /// Only real incidents.
        #[arg(long)]
        real: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show an incident's status, steps and departments; with --set, move it.
    Status {
        id: String,
        /// Move it forward: responding, contained or resolved.
        #[arg(long, value_enum)]
        set: Option<StatusArg>,
        #[arg(long, default_value = "", requires = "set")]
        note: String,
    },
    /// Acknowledge an alert, or every unacknowledged alert of an incident.
    Ack {
        /// The alert id.
        #[arg(required_unless_present = "incident")]
        alert: Option<String>,
        /// All of the caller's unacknowledged alerts of this incident.
        #[arg(long, value_name = "ID", conflicts_with = "alert")]
        incident: Option<String>,
    },
    /// The caller's alerts as a page (see `concord alerts watch` for live).
    Alerts {
        #[arg(long)]
        unacknowledged: bool,
        /// Another person's (admins and auditors).
        #[arg(long, value_name = "ID")]
        person: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Mark a step of an incident done.
    Step {
        incident: String,
        index: i32,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// An incident's timeline.
    Timeline {
        id: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Time to acknowledge and to complete per department (a drill's report).
    Report { id: String },
    /// Close a resolved incident with its review.
    Review {
        id: String,
        #[arg(long)]
        summary: String,
        #[arg(long, default_value = "")]
        lessons: String,
    },
    /// Response figures per department over a period, real and drills apart.
    Stats {
        #[command(flatten)]
        period: StatsArgs,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut em = conn.emergency();
    let zone = conn.zone;
    match command {
        Command::Plans { archived, page } => {
            let r = em
                .list_plans(ListPlansRequest {
                    include_archived: archived,
                    page_size: page.size(),
                    page_token: page.token(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&[
                "ID", "TITLE", "TYPE", "SEVERITY", "VERSION", "STEPS", "OWNER",
            ]);
            for p in &r.plans {
                t.row(vec![
                    p.id.clone(),
                    cut(&p.title, 36),
                    label::<IncidentType>(p.incident_type),
                    label::<Severity>(p.severity).to_uppercase(),
                    p.version.to_string(),
                    p.steps.len().to_string(),
                    p.owner_department_id.clone(),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Plan { id, version } => {
            let p = em
                .get_plan(GetPlanRequest { id, version })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&p);
            }
            print_record(vec![
                ("id", p.id.clone()),
                ("title", p.title.clone()),
                ("type", label::<IncidentType>(p.incident_type)),
                ("severity", label::<Severity>(p.severity).to_uppercase()),
                ("version", p.version.to_string()),
                ("owner", p.owner_department_id.clone()),
                ("ack timeout", duration(p.acknowledgement_timeout.as_ref())),
            ]);
            let mut t = Table::new(&["#", "STEP", "DEPARTMENT", "TARGET (MIN)"]);
            for (i, s) in p.steps.iter().enumerate() {
                t.row(vec![
                    i.to_string(),
                    s.title.clone(),
                    s.department_id.clone(),
                    s.target_minutes.to_string(),
                ]);
            }
            t.print();
        }
        Command::CreatePlan { file } => {
            let mut req: CreatePlanRequest = json_file(&file)?;
            if req.request_id.is_empty() {
                req.request_id = request_id(&None);
            }
            let p = em.create_plan(req).await?.into_inner();
            if conn.json() {
                return print_json(&p);
            }
            print_record(vec![
                ("id", p.id),
                ("title", p.title),
                ("version", p.version.to_string()),
                ("steps", p.steps.len().to_string()),
            ]);
        }
        Command::Declare {
            plan,
            title,
            description,
            severity,
            drill,
            request_id: rid,
        } => {
            let i = em
                .declare_incident(DeclareIncidentRequest {
                    request_id: request_id(&rid),
                    plan_id: plan,
                    title,
                    description,
                    severity: severity.map(SeverityArg::raw).unwrap_or_default(),
                    drill,
                })
                .await?
                .into_inner();
            show(conn, &i).await?;
        }
        Command::Incidents { drills, real, page } => {
            let r = em
                .list_incidents(ListIncidentsRequest {
                    drill: (drills || real).then_some(drills),
                    page_size: page.size(),
                    page_token: page.token(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["ID", "TITLE", "SEVERITY", "STATUS", "DRILL", "DECLARED"]);
            for i in &r.incidents {
                t.row(vec![
                    i.id.clone(),
                    cut(&i.title, 36),
                    label::<Severity>(i.severity).to_uppercase(),
                    label::<IncidentStatus>(i.status),
                    yes(i.drill),
                    time(&zone, i.declare_time.as_ref()),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Status { id, set, note } => {
            let i = match set {
                Some(status) => em
                    .update_incident_status(UpdateIncidentStatusRequest {
                        id,
                        status: status.raw(),
                        note,
                        etag: String::new(),
                    })
                    .await?
                    .into_inner(),
                None => em
                    .get_incident(GetIncidentRequest { id })
                    .await?
                    .into_inner(),
            };
            show(conn, &i).await?;
        }
        Command::Ack { alert, incident } => {
            let alert_ids = match (alert, incident) {
                (Some(a), _) => vec![a],
                (None, Some(incident_id)) => unacknowledged(conn, &incident_id).await?,
                (None, None) => vec![],
            };
            if alert_ids.is_empty() {
                return Err(tonic::Status::not_found(
                    "no unacknowledged alert of yours for this incident",
                )
                .into());
            }
            let mut acks = Vec::new();
            for alert_id in alert_ids {
                acks.push(
                    em.acknowledge_alert(AcknowledgeAlertRequest { alert_id })
                        .await?
                        .into_inner(),
                );
            }
            if conn.json() {
                for a in &acks {
                    print_json(a)?;
                }
                return Ok(());
            }
            let mut t = Table::new(&[
                "INCIDENT",
                "ALERT",
                "DEPARTMENT",
                "TIME TO ACK",
                "FIRST",
                "DRILL",
            ]);
            for a in &acks {
                t.row(vec![
                    a.incident_id.clone(),
                    a.alert_id.clone(),
                    a.department_id.clone(),
                    duration(a.time_to_acknowledge.as_ref()),
                    yes(a.first_for_department),
                    yes(a.drill),
                ]);
            }
            t.print();
        }
        Command::Alerts {
            unacknowledged,
            person,
            page,
        } => {
            let r = em
                .list_alerts(ListAlertsRequest {
                    person_id: person.unwrap_or_default(),
                    after_sequence: 0,
                    unacknowledged_only: unacknowledged,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            super::alerts::table(conn, &r.alerts).print();
            more(&r.next_page_token);
        }
        Command::Step {
            incident,
            index,
            note,
        } => {
            let s = em
                .complete_step(CompleteStepRequest {
                    incident_id: incident,
                    step_index: index,
                    note,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&s);
            }
            print_record(vec![
                ("step", format!("{} {}", s.index, s.title)),
                ("department", s.department_id),
                ("completed", time(&zone, s.complete_time.as_ref())),
                ("by", s.completed_by),
            ]);
        }
        Command::Timeline { id, page } => {
            let r = em
                .list_timeline(ListTimelineRequest {
                    incident_id: id,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["TIME", "KIND", "DEPARTMENT", "ACTOR", "TEXT"]);
            for e in &r.entries {
                t.row(vec![
                    time(&zone, e.time.as_ref()),
                    e.kind.clone(),
                    e.department_id.clone(),
                    e.actor.clone(),
                    cut(&e.text, 50),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Report { id } => {
            let r = em
                .get_incident_report(GetIncidentReportRequest { incident_id: id })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            say!(
                "{}{}: contained after {}, resolved after {}; {} of {} steps on time; {} escalations; {} alerts delivered",
                r.incident
                    .as_ref()
                    .map(|i| i.title.clone())
                    .unwrap_or_default(),
                if r.drill { " (drill)" } else { "" },
                duration(r.time_to_contain.as_ref()),
                duration(r.time_to_resolve.as_ref()),
                r.steps_completed_on_time,
                r.steps_total,
                r.escalations,
                r.alerts_delivered
            );
            let names = Names::departments(conn).await;
            let mut t = Table::new(&[
                "DEPARTMENT",
                "ALERTED",
                "ACKNOWLEDGED",
                "TIME TO ACK",
                "TARGET",
                "WITHIN",
                "STEPS ON TIME",
            ]);
            for d in &r.departments {
                let on_time = d.steps.iter().filter(|s| s.completed_on_time).count();
                t.row(vec![
                    names.of(&d.department_id),
                    d.people_alerted.to_string(),
                    d.people_acknowledged.to_string(),
                    duration(d.time_to_acknowledge.as_ref()),
                    duration(d.acknowledgement_target.as_ref()),
                    yes(d.acknowledged_within_target),
                    format!("{on_time}/{}", d.steps.len()),
                ]);
            }
            t.print();
        }
        Command::Review {
            id,
            summary,
            lessons,
        } => {
            let i = em
                .review_incident(ReviewIncidentRequest {
                    id,
                    summary,
                    lessons,
                    etag: String::new(),
                })
                .await?
                .into_inner();
            show(conn, &i).await?;
        }
        Command::Stats { period } => {
            let (department_id, include_sub_departments, person_id, start, end) =
                period.parts(&zone);
            let s = em
                .get_emergency_statistics(GetEmergencyStatisticsRequest {
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
                "KIND",
                "INCIDENTS",
                "ALERTS",
                "ACKNOWLEDGED",
                "IN TIME",
                "MEDIAN ACK",
                "P90 ACK",
                "STEPS DONE",
                "ON TIME",
            ]);
            let mut add = |name: &str, kind: &str, f: &ResponseFigures| {
                t.row(vec![
                    name.to_string(),
                    kind.to_string(),
                    f.incidents.to_string(),
                    f.alerts_received.to_string(),
                    f.acknowledged.to_string(),
                    f.acknowledged_within_timeout.to_string(),
                    duration(f.median_time_to_acknowledge.as_ref()),
                    duration(f.p90_time_to_acknowledge.as_ref()),
                    format!("{}/{}", f.steps_completed, f.steps),
                    f.steps_completed_on_time.to_string(),
                ]);
            };
            for d in &s.departments {
                let name = names.of(&d.department_id);
                add(&name, "real", &d.real.unwrap_or_default());
                add(&name, "drills", &d.drills.unwrap_or_default());
            }
            add("(total)", "real", &s.real.unwrap_or_default());
            add("(total)", "drills", &s.drills.unwrap_or_default());
            t.print();
        }
    }
    Ok(())
}

/// The caller's unacknowledged alerts of one incident.
async fn unacknowledged(conn: &Conn, incident_id: &str) -> Result<Vec<String>, CliError> {
    let mut em = conn.emergency();
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let r = em
            .list_alerts(ListAlertsRequest {
                unacknowledged_only: true,
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await?
            .into_inner();
        ids.extend(
            r.alerts
                .iter()
                .filter_map(|e| e.alert.as_ref())
                .filter(|a| a.incident_id == incident_id)
                .map(|a| a.id.clone()),
        );
        if r.next_page_token.is_empty() {
            return Ok(ids);
        }
        page_token = r.next_page_token;
    }
}

async fn show(conn: &Conn, i: &Incident) -> Result<(), CliError> {
    if conn.json() {
        return print_json(i);
    }
    let names = Names::departments(conn).await;
    let zone = &conn.zone;
    print_record(vec![
        ("id", i.id.clone()),
        ("title", i.title.clone()),
        ("status", label::<IncidentStatus>(i.status)),
        ("severity", label::<Severity>(i.severity).to_uppercase()),
        ("type", label::<IncidentType>(i.incident_type)),
        ("drill", yes(i.drill)),
        ("declared", time(zone, i.declare_time.as_ref())),
        ("contained", time(zone, i.contain_time.as_ref())),
        ("resolved", time(zone, i.resolve_time.as_ref())),
    ]);
    let mut steps = Table::new(&["#", "STEP", "DEPARTMENT", "TARGET (MIN)", "DONE"]);
    for s in &i.steps {
        steps.row(vec![
            s.index.to_string(),
            s.title.clone(),
            names.of(&s.department_id),
            s.target_minutes.to_string(),
            time(zone, s.complete_time.as_ref()),
        ]);
    }
    steps.print();
    let mut deps = Table::new(&["DEPARTMENT", "ALERTED", "ACKNOWLEDGED", "BY", "ESCALATION"]);
    for d in &i.departments {
        deps.row(vec![
            names.of(&d.department_id),
            d.people_alerted.to_string(),
            time(zone, d.acknowledge_time.as_ref()),
            d.acknowledged_by.clone(),
            d.escalation_level.to_string(),
        ]);
    }
    deps.print();
    Ok(())
}

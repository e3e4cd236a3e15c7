//! `concord appraisal …`: indicator sets, cycles and their stages, reviewers
//! and scores, calibration, scorecards, rankings, commendations.

use std::path::PathBuf;

use clap::Subcommand;
use concord_proto::appraisal::v1::*;

use super::args::{PageArgs, When, choice, json_file, request_id, ts};
use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{Table, cut, label, more, print_json, print_record, time, yes};

choice! {
    /// A cycle's stage.
    StageArg => Stage {
        Open = Open,
        Scoring = Scoring,
        Calibration = Calibration,
        Published = Published,
    }
}

choice! {
    /// What a cycle appraises.
    KindArg => SubjectKind { Department = Department, Person = Person }
}

#[derive(Subcommand)]
pub enum Command {
    /// Indicator sets at their current version.
    Sets {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show an indicator set (its current version, or --version).
    Set {
        id: String,
        #[arg(long, default_value_t = 0)]
        version: i64,
    },
    /// Create an indicator set from a JSON CreateIndicatorSetRequest.
    CreateSet {
        /// The request as protobuf JSON (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Appraisal cycles, newest first.
    Cycles {
        #[arg(long, value_enum)]
        stage: Option<StageArg>,
        /// Only cycles appraising this department or person.
        #[arg(long, value_name = "ID")]
        subject: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a cycle.
    Cycle { id: String },
    /// Open a cycle over departments or people.
    CreateCycle {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, value_name = "SET")]
        set: String,
        #[arg(long, value_enum, default_value_t = KindArg::Department)]
        kind: KindArg,
        /// A department or person appraised (repeatable).
        #[arg(long = "subject", value_name = "ID", required = true)]
        subjects: Vec<String>,
        /// The department running it (the whole organisation when absent).
        #[arg(long, value_name = "ID")]
        owner: Option<String>,
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        from: When,
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        to: When,
        /// Department figures include sub-departments.
        #[arg(long)]
        sub: bool,
        /// The appraised assess themselves.
        #[arg(long)]
        self_assessment: bool,
        /// When reviewers stop scoring.
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        scoring_deadline: Option<When>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Move a cycle to its next stage (from the stage it is in now).
    Advance { id: String },
    /// Collect the automatic indicators again from the services' statistics.
    Collect { id: String },
    /// Assign a reviewer to a subject.
    AssignReviewer {
        cycle: String,
        subject: String,
        reviewer: String,
    },
    /// Review assignments and how far each is scored.
    Reviews {
        cycle: String,
        #[arg(long, value_name = "ID")]
        reviewer: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Score a manual indicator of a subject, with a comment.
    Score {
        cycle: String,
        subject: String,
        indicator: String,
        #[arg(long)]
        value: f64,
        #[arg(long)]
        comment: String,
    },
    /// Set an indicator's score during calibration, with the reason.
    Calibrate {
        cycle: String,
        subject: String,
        indicator: String,
        #[arg(long)]
        score: f64,
        #[arg(long)]
        reason: String,
    },
    /// A subject's scorecard.
    Scorecard { cycle: String, subject: String },
    /// The subjects by total, best first.
    Rankings {
        cycle: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Commend a person or a department.
    Commend {
        #[arg(long, value_enum, default_value_t = KindArg::Person)]
        kind: KindArg,
        #[arg(long, value_name = "ID")]
        subject: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        citation: String,
        /// The published cycle it is for.
        #[arg(long, value_name = "ID")]
        cycle: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Commendations, newest first.
    Commendations {
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut ap = conn.appraisal();
    let zone = conn.zone;
    match command {
        Command::Sets { page } => {
            let r = ap
                .list_indicator_sets(ListIndicatorSetsRequest {
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["ID", "NAME", "VERSION", "INDICATORS"]);
            for s in &r.indicator_sets {
                t.row(vec![
                    s.id.clone(),
                    cut(&s.name, 40),
                    s.current_version.to_string(),
                    s.indicators.len().to_string(),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Set { id, version } => {
            let s = ap
                .get_indicator_set(GetIndicatorSetRequest { id, version })
                .await?
                .into_inner();
            show_set(conn, &s)?;
        }
        Command::CreateSet { file } => {
            let mut req: CreateIndicatorSetRequest = json_file(&file)?;
            if req.request_id.is_empty() {
                req.request_id = request_id(&None);
            }
            let s = ap.create_indicator_set(req).await?.into_inner();
            show_set(conn, &s)?;
        }
        Command::Cycles {
            stage,
            subject,
            page,
        } => {
            let r = ap
                .list_cycles(ListCyclesRequest {
                    stage: stage.map(StageArg::raw).unwrap_or_default(),
                    subject_id: subject.unwrap_or_default(),
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["ID", "NAME", "STAGE", "SUBJECTS", "PERIOD"]);
            for c in &r.cycles {
                t.row(vec![
                    c.id.clone(),
                    cut(&c.name, 40),
                    label::<Stage>(c.stage),
                    format!(
                        "{} {}",
                        c.subjects.len(),
                        label::<SubjectKind>(c.subject_kind)
                    ),
                    format!(
                        "{} – {}",
                        time(&zone, c.period_start_time.as_ref()),
                        time(&zone, c.period_end_time.as_ref())
                    ),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Cycle { id } => {
            let c = ap.get_cycle(GetCycleRequest { id }).await?.into_inner();
            show_cycle(conn, &c)?;
        }
        Command::CreateCycle {
            name,
            description,
            set,
            kind,
            subjects,
            owner,
            from,
            to,
            sub,
            self_assessment,
            scoring_deadline,
            request_id: rid,
        } => {
            let c = ap
                .create_cycle(CreateCycleRequest {
                    request_id: request_id(&rid),
                    name,
                    description,
                    indicator_set_id: set,
                    subject_kind: kind.raw(),
                    subject_ids: subjects,
                    owner_department_id: owner.unwrap_or_default(),
                    period_start_time: Some(from.timestamp(&zone)),
                    period_end_time: Some(to.timestamp(&zone)),
                    include_sub_departments: sub,
                    self_assessment,
                    scoring_start_time: None,
                    scoring_deadline: ts(scoring_deadline, &zone),
                })
                .await?
                .into_inner();
            show_cycle(conn, &c)?;
        }
        Command::Advance { id } => {
            let c = ap
                .get_cycle(GetCycleRequest { id: id.clone() })
                .await?
                .into_inner();
            let c = ap
                .advance_cycle(AdvanceCycleRequest {
                    id,
                    from_stage: c.stage,
                    etag: String::new(),
                })
                .await?
                .into_inner();
            show_cycle(conn, &c)?;
        }
        Command::Collect { id } => {
            let r = ap
                .collect_automatic_scores(CollectAutomaticScoresRequest { cycle_id: id })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["SUBJECT", "INDICATOR", "SOURCE", "APPLICABLE", "VALUE"]);
            for v in &r.values {
                t.row(vec![
                    v.subject_id.clone(),
                    v.indicator_code.clone(),
                    label::<Source>(v.source),
                    yes(v.applicable),
                    format!("{:.2}", v.value),
                ]);
            }
            t.print();
        }
        Command::AssignReviewer {
            cycle,
            subject,
            reviewer,
        } => {
            let a = ap
                .assign_reviewer(AssignReviewerRequest {
                    cycle_id: cycle,
                    subject_id: subject,
                    reviewer_id: reviewer,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&a);
            }
            assignments(&[a]).print();
        }
        Command::Reviews {
            cycle,
            reviewer,
            page,
        } => {
            let r = ap
                .list_review_assignments(ListReviewAssignmentsRequest {
                    cycle_id: cycle,
                    reviewer_id: reviewer.unwrap_or_default(),
                    subject_id: String::new(),
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            assignments(&r.assignments).print();
            more(&r.next_page_token);
        }
        Command::Score {
            cycle,
            subject,
            indicator,
            value,
            comment,
        } => {
            let s = ap
                .submit_score(SubmitScoreRequest {
                    cycle_id: cycle,
                    subject_id: subject,
                    indicator_code: indicator,
                    value,
                    comment,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&s);
            }
            print_record(vec![
                ("subject", s.subject_id),
                ("indicator", s.indicator_code),
                ("value", format!("{:.2}", s.value)),
                ("comment", s.comment),
            ]);
        }
        Command::Calibrate {
            cycle,
            subject,
            indicator,
            score,
            reason,
        } => {
            let c = ap
                .calibrate_score(CalibrateScoreRequest {
                    cycle_id: cycle,
                    subject_id: subject,
                    indicator_code: indicator,
                    score,
                    reason,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&c);
            }
            print_record(vec![
                ("subject", c.subject_id),
                ("indicator", c.indicator_code),
                (
                    "previous",
                    c.previous_score
                        .map(|s| format!("{s:.2}"))
                        .unwrap_or_default(),
                ),
                ("score", format!("{:.2}", c.score)),
                ("reason", c.reason),
            ]);
        }
        Command::Scorecard { cycle, subject } => {
            let s = ap
                .get_scorecard(GetScorecardRequest {
                    cycle_id: cycle,
                    subject_id: subject,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&s);
            }
            let who = s.subject.clone().unwrap_or_default();
            say!(
                "{}: total {:.2}{}{}",
                who.display_name,
                s.total,
                if s.rank > 0 {
                    format!(", rank {}", s.rank)
                } else {
                    String::new()
                },
                if s.complete { "" } else { " (incomplete)" }
            );
            let mut t = Table::new(&[
                "INDICATOR",
                "WEIGHT",
                "VALUE",
                "SCORE",
                "FINAL",
                "CALIBRATED",
            ]);
            let num = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
            for l in &s.lines {
                let i = l.indicator.clone().unwrap_or_default();
                t.row(vec![
                    if l.applicable {
                        i.name
                    } else {
                        format!("{} (n/a)", i.name)
                    },
                    i.weight.to_string(),
                    num(l.value),
                    num(l.score),
                    num(l.final_score),
                    yes(l.calibrated),
                ]);
            }
            t.print();
        }
        Command::Rankings { cycle, page } => {
            let r = ap
                .list_rankings(ListRankingsRequest {
                    cycle_id: cycle,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["RANK", "SUBJECT", "ID", "TOTAL", "COMPLETE"]);
            for e in &r.entries {
                let s = e.subject.clone().unwrap_or_default();
                t.row(vec![
                    e.rank.to_string(),
                    s.display_name,
                    s.id,
                    format!("{:.2}", e.total),
                    yes(e.complete),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Commend {
            kind,
            subject,
            title,
            citation,
            cycle,
            request_id: rid,
        } => {
            let c = ap
                .create_commendation(CreateCommendationRequest {
                    request_id: request_id(&rid),
                    subject_kind: kind.raw(),
                    subject_id: subject,
                    cycle_id: cycle.unwrap_or_default(),
                    title,
                    citation,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&c);
            }
            commendations(conn, &[c]).print();
        }
        Command::Commendations { department, page } => {
            let r = ap
                .list_commendations(ListCommendationsRequest {
                    department_id: department.unwrap_or_default(),
                    page_size: page.size(),
                    page_token: page.token(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            commendations(conn, &r.commendations).print();
            more(&r.next_page_token);
        }
    }
    Ok(())
}

fn show_set(conn: &Conn, s: &IndicatorSet) -> Result<(), CliError> {
    if conn.json() {
        return print_json(s);
    }
    say!(
        "{} ({}), version {} of {}",
        s.name,
        s.id,
        s.version,
        s.current_version
    );
    let mut t = Table::new(&[
        "CODE",
        "INDICATOR",
        "DIMENSION",
        "WEIGHT",
        "SOURCE",
        "TARGET",
    ]);
    for i in &s.indicators {
        t.row(vec![
            i.code.clone(),
            i.name.clone(),
            label::<Dimension>(i.dimension),
            i.weight.to_string(),
            label::<Source>(i.source),
            format!("{} {}", i.target, i.unit),
        ]);
    }
    t.print();
    Ok(())
}

fn show_cycle(conn: &Conn, c: &Cycle) -> Result<(), CliError> {
    if conn.json() {
        return print_json(c);
    }
    let zone = &conn.zone;
    let subjects = c
        .subjects
        .iter()
        .map(|s| s.display_name.clone())
        .collect::<Vec<_>>()
        .join("、");
    print_record(vec![
        ("id", c.id.clone()),
        ("name", c.name.clone()),
        ("stage", label::<Stage>(c.stage)),
        (
            "indicator set",
            format!("{} v{}", c.indicator_set_id, c.indicator_set_version),
        ),
        ("subjects", subjects),
        ("period from", time(zone, c.period_start_time.as_ref())),
        ("period to", time(zone, c.period_end_time.as_ref())),
        ("collected", time(zone, c.collect_time.as_ref())),
        ("published", time(zone, c.publish_time.as_ref())),
    ]);
    Ok(())
}

fn assignments(list: &[ReviewAssignment]) -> Table {
    let mut t = Table::new(&["SUBJECT", "REVIEWER", "SCORED"]);
    for a in list {
        t.row(vec![
            a.subject_id.clone(),
            a.reviewer_id.clone(),
            format!("{}/{}", a.scored, a.to_score),
        ]);
    }
    t
}

fn commendations(conn: &Conn, list: &[Commendation]) -> Table {
    let mut t = Table::new(&["ID", "TITLE", "TO", "CYCLE", "AWARDED"]);
    for c in list {
        t.row(vec![
            c.id.clone(),
            c.title.clone(),
            c.display_name.clone(),
            c.cycle_id.clone(),
            time(&conn.zone, c.create_time.as_ref()),
        ]);
    }
    t
}

//! `concord feedback …`: submit (anonymously if wished), route, assign,
//! answer, resolve, and confirm or reopen; SLA statistics.

use clap::Subcommand;
use concord_proto::feedback::v1::*;

use super::args::{PageArgs, StatsArgs, choice, request_id};
use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{
    Names, Table, cut, duration, label, more, percent, print_json, print_record, time, yes,
};

choice! {
    /// What kind of feedback.
    CategoryArg => Category {
        Problem = Problem,
        Suggestion = Suggestion,
        Complaint = Complaint,
        Praise = Praise,
    }
}

choice! {
    /// How it reached the organisation.
    ChannelArg => Channel {
        WebForm = WebForm,
        Hotline = Hotline,
        Email = Email,
        StaffSymposium = StaffSymposium,
        Meeting = Meeting,
        SuggestionBox = SuggestionBox,
    }
}

choice! {
    /// How urgent.
    PriorityArg => Priority { Low = Low, Normal = Normal, High = High, Urgent = Urgent }
}

choice! {
    /// An item's status.
    StatusArg => Status {
        Submitted = Submitted,
        Accepted = Accepted,
        InProgress = InProgress,
        Resolved = Resolved,
        Closed = Closed,
        Reopened = Reopened,
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Submit a problem, suggestion, complaint or praise.
    Submit {
        /// One line.
        #[arg(long)]
        subject: String,
        #[arg(long)]
        body: String,
        #[arg(long, value_enum, default_value_t = CategoryArg::Problem)]
        category: CategoryArg,
        #[arg(long, value_enum, default_value_t = ChannelArg::WebForm)]
        channel: ChannelArg,
        #[arg(long, value_enum, default_value_t = PriorityArg::Normal)]
        priority: PriorityArg,
        /// Where the problem is.
        #[arg(long, default_value = "")]
        location: String,
        /// A link (repeatable).
        #[arg(long = "link", value_name = "URL")]
        links: Vec<String>,
        /// Keep no trace of you; a follow-up code is printed once instead.
        #[arg(long)]
        anonymous: bool,
        /// Route to this department (else by the departments' duties).
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Items visible to the caller, newest first.
    List {
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        #[arg(long)]
        sub: bool,
        /// Only these statuses (repeatable).
        #[arg(long = "status", value_enum)]
        statuses: Vec<StatusArg>,
        #[arg(long, value_enum)]
        category: Option<CategoryArg>,
        #[arg(long, value_name = "ID")]
        owner: Option<String>,
        /// Only what the caller submitted under their name.
        #[arg(long)]
        mine: bool,
        /// Only unrouted items (admins).
        #[arg(long)]
        triage: bool,
        /// Only open items past a deadline.
        #[arg(long)]
        overdue: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one item.
    Show { id: String },
    /// An item's timeline.
    Timeline {
        id: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Route an item to a department.
    Route {
        id: String,
        #[arg(long, value_name = "ID")]
        department: String,
        #[arg(long)]
        comment: String,
    },
    /// Assign the item's one owner.
    Assign {
        id: String,
        #[arg(long, value_name = "PERSON")]
        owner: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Accept an item (the first response).
    Accept {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Start work on an item.
    Start {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Resolve an item with its solution.
    Resolve {
        id: String,
        #[arg(long)]
        solution: String,
    },
    /// A public reply, or an internal note.
    Reply {
        id: String,
        #[arg(long)]
        text: String,
        #[arg(long)]
        internal: bool,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Confirm a resolution and rate it 1–5 (the submitter; --code when
    /// anonymous).
    Confirm {
        /// The item id (or leave out with --code).
        #[arg(required_unless_present = "code")]
        id: Option<String>,
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=5))]
        satisfaction: i32,
        #[arg(long, default_value = "")]
        comment: String,
        /// The follow-up code of an anonymous submission.
        #[arg(long, conflicts_with = "id")]
        code: Option<String>,
    },
    /// Reopen a resolved item with the reason (--code when anonymous).
    Reopen {
        #[arg(required_unless_present = "code")]
        id: Option<String>,
        #[arg(long)]
        comment: String,
        #[arg(long, conflicts_with = "id")]
        code: Option<String>,
    },
    /// An anonymous submitter's view of their item (no token needed).
    FollowUp { code: String },
    /// Received, open, overdue, on time, satisfaction per department.
    Stats {
        #[command(flatten)]
        period: StatsArgs,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut fb = conn.feedback();
    let zone = conn.zone;
    let item = match command {
        Command::Submit {
            subject,
            body,
            category,
            channel,
            priority,
            location,
            links,
            anonymous,
            department,
            request_id: rid,
        } => {
            let r = fb
                .submit_feedback(SubmitFeedbackRequest {
                    request_id: request_id(&rid),
                    channel: channel.raw(),
                    category: category.raw(),
                    priority: priority.raw(),
                    subject,
                    body,
                    location,
                    links,
                    anonymous,
                    department_id: department.unwrap_or_default(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            show(conn, &r.item.unwrap_or_default())?;
            if !r.follow_up_code.is_empty() {
                say!(
                    "\nFollow-up code (shown only now; keep it): {}",
                    r.follow_up_code
                );
            }
            return Ok(());
        }
        Command::List {
            department,
            sub,
            statuses,
            category,
            owner,
            mine,
            triage,
            overdue,
            page,
        } => {
            let r = fb
                .list_feedback_items(ListFeedbackItemsRequest {
                    department_id: department.unwrap_or_default(),
                    include_sub_departments: sub,
                    statuses: statuses.into_iter().map(StatusArg::raw).collect(),
                    category: category.map(CategoryArg::raw).unwrap_or_default(),
                    owner_id: owner.unwrap_or_default(),
                    submitted_by_me: mine,
                    triage,
                    overdue_only: overdue,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let names = Names::departments(conn).await;
            let mut t = Table::new(&[
                "ID",
                "SUBJECT",
                "CATEGORY",
                "STATUS",
                "DEPARTMENT",
                "OWNER",
                "RESOLVE BY",
                "OVERDUE",
            ]);
            for i in &r.items {
                t.row(vec![
                    i.id.clone(),
                    cut(&i.subject, 36),
                    label::<Category>(i.category),
                    label::<Status>(i.status),
                    names.of(&i.department_id),
                    i.owner_id.clone(),
                    time(&zone, i.resolution_deadline.as_ref()),
                    yes(i.overdue),
                ]);
            }
            t.print();
            more(&r.next_page_token);
            return Ok(());
        }
        Command::Show { id } => fb.get_feedback_item(GetFeedbackItemRequest { id }).await?,
        Command::Timeline { id, page } => {
            let r = fb
                .list_feedback_timeline(ListFeedbackTimelineRequest {
                    id,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            timeline(conn, &r.entries).print();
            more(&r.next_page_token);
            return Ok(());
        }
        Command::Route {
            id,
            department,
            comment,
        } => {
            fb.route_feedback(RouteFeedbackRequest {
                id,
                department_id: department,
                comment,
                etag: String::new(),
            })
            .await?
        }
        Command::Assign { id, owner, comment } => {
            fb.assign_feedback_owner(AssignFeedbackOwnerRequest {
                id,
                owner_id: owner,
                comment,
                etag: String::new(),
            })
            .await?
        }
        Command::Accept { id, comment } => {
            fb.accept_feedback(AcceptFeedbackRequest {
                id,
                comment,
                etag: String::new(),
            })
            .await?
        }
        Command::Start { id, comment } => {
            fb.start_feedback_work(StartFeedbackWorkRequest {
                id,
                comment,
                etag: String::new(),
            })
            .await?
        }
        Command::Resolve { id, solution } => {
            fb.resolve_feedback(ResolveFeedbackRequest {
                id,
                solution,
                etag: String::new(),
            })
            .await?
        }
        Command::Reply {
            id,
            text,
            internal,
            request_id: rid,
        } => {
            let e = fb
                .add_feedback_reply(AddFeedbackReplyRequest {
                    request_id: request_id(&rid),
                    id,
                    text,
                    internal,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&e);
            }
            timeline(conn, &[e]).print();
            return Ok(());
        }
        Command::Confirm {
            id,
            satisfaction,
            comment,
            code,
        } => match code {
            Some(follow_up_code) => {
                let v = fb
                    .confirm_resolution_by_code(ConfirmResolutionByCodeRequest {
                        follow_up_code,
                        satisfaction,
                        comment,
                    })
                    .await?
                    .into_inner();
                return follow_up(conn, &v);
            }
            None => {
                fb.confirm_resolution(ConfirmResolutionRequest {
                    id: id.unwrap_or_default(),
                    satisfaction,
                    comment,
                })
                .await?
            }
        },
        Command::Reopen { id, comment, code } => match code {
            Some(follow_up_code) => {
                let v = fb
                    .reopen_feedback_by_code(ReopenFeedbackByCodeRequest {
                        follow_up_code,
                        comment,
                    })
                    .await?
                    .into_inner();
                return follow_up(conn, &v);
            }
            None => {
                fb.reopen_feedback(ReopenFeedbackRequest {
                    id: id.unwrap_or_default(),
                    comment,
                })
                .await?
            }
        },
        Command::FollowUp { code } => {
            let v = fb
                .get_feedback_by_code(GetFeedbackByCodeRequest {
                    follow_up_code: code,
                })
                .await?
                .into_inner();
            return follow_up(conn, &v);
        }
        Command::Stats { period } => {
            let (department_id, include_sub_departments, person_id, start, end) =
                period.parts(&zone);
            let s = fb
                .get_feedback_statistics(GetFeedbackStatisticsRequest {
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
                "RECEIVED",
                "OPEN",
                "OVERDUE",
                "RESOLVED",
                "ON TIME",
                "TO RESPOND",
                "TO RESOLVE",
                "SATISFACTION",
                "ESCALATED",
            ]);
            let mut add = |name: String, f: &FeedbackFigures| {
                t.row(vec![
                    name,
                    f.received.to_string(),
                    f.open.to_string(),
                    f.overdue.to_string(),
                    f.resolved.to_string(),
                    percent(f.on_time_rate),
                    duration(f.median_time_to_first_response.as_ref()),
                    duration(f.median_time_to_resolve.as_ref()),
                    if f.rated > 0 {
                        format!("{:.2} ({})", f.average_satisfaction, f.rated)
                    } else {
                        "-".into()
                    },
                    f.escalated.to_string(),
                ]);
            };
            for d in &s.departments {
                let name = if d.department_id.is_empty() {
                    "(triage)".to_string()
                } else {
                    names.of(&d.department_id)
                };
                add(name, &d.figures.unwrap_or_default());
            }
            add("(total)".into(), &s.totals.unwrap_or_default());
            t.print();
            return Ok(());
        }
    };
    show(conn, &item.into_inner())
}

fn show(conn: &Conn, i: &FeedbackItem) -> Result<(), CliError> {
    if conn.json() {
        return print_json(i);
    }
    let zone = &conn.zone;
    let submitter = if i.anonymous {
        "(anonymous)".to_string()
    } else {
        i.submitter_id.clone()
    };
    print_record(vec![
        ("id", i.id.clone()),
        ("subject", i.subject.clone()),
        ("category", label::<Category>(i.category)),
        ("priority", label::<Priority>(i.priority)),
        ("status", label::<Status>(i.status)),
        ("submitter", submitter),
        ("department", i.department_id.clone()),
        ("owner", i.owner_id.clone()),
        ("escalation", label::<EscalationLevel>(i.escalation_level)),
        ("respond by", time(zone, i.first_response_deadline.as_ref())),
        ("resolve by", time(zone, i.resolution_deadline.as_ref())),
        ("overdue", yes(i.overdue)),
        ("solution", i.solution.clone()),
        (
            "satisfaction",
            if i.satisfaction > 0 {
                i.satisfaction.to_string()
            } else {
                String::new()
            },
        ),
    ]);
    if !i.body.is_empty() {
        say!("\n{}", i.body);
    }
    Ok(())
}

fn timeline(conn: &Conn, entries: &[TimelineEntry]) -> Table {
    let mut t = Table::new(&["TIME", "KIND", "STATUS", "PUBLIC", "AUTHOR", "TEXT"]);
    for e in entries {
        t.row(vec![
            time(&conn.zone, e.create_time.as_ref()),
            label::<EntryKind>(e.kind),
            if e.status == 0 {
                String::new()
            } else {
                label::<Status>(e.status)
            },
            yes(e.public),
            e.author_id.clone(),
            cut(&e.text, 50),
        ]);
    }
    t
}

fn follow_up(conn: &Conn, v: &FollowUpView) -> Result<(), CliError> {
    if conn.json() {
        return print_json(v);
    }
    show(conn, &v.item.clone().unwrap_or_default())?;
    say!();
    timeline(conn, &v.entries).print();
    Ok(())
}

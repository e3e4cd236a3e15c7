//! `concord notices …`: publish to an audience, the inbox, read and
//! acknowledge, who has not read it, reminders, statistics.

use std::path::PathBuf;

use clap::Subcommand;
use concord_proto::notices::v1::*;

use super::args::{PageArgs, StatsArgs, When, choice, request_id, text, ts};
use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{
    Names, Table, cut, duration, label, more, percent, print_json, print_record, time, yes,
};

choice! {
    /// How urgent a notice is.
    PriorityArg => Priority { Normal = Normal, Important = Important, Urgent = Urgent }
}

choice! {
    /// Which receipts.
    ReceiptArg => ReceiptFilter {
        Unread = Unread,
        Read = Read,
        Unacknowledged = Unacknowledged,
        Acknowledged = Acknowledged,
    }
}

choice! {
    /// A notice's state.
    StateArg => NoticeState {
        Draft = Draft,
        Scheduled = Scheduled,
        Published = Published,
        Retracted = Retracted,
        Expired = Expired,
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a notice and publish it (now, or at --at) to an audience.
    Publish {
        #[arg(long)]
        title: String,
        /// The body (Markdown).
        #[arg(long)]
        body: Option<String>,
        /// Read the body from a file (`-` for standard input).
        #[arg(long, value_name = "FILE", conflicts_with = "body")]
        body_file: Option<PathBuf>,
        /// Everybody in the organisation.
        #[arg(long)]
        everyone: bool,
        /// A department (repeatable).
        #[arg(long = "department", value_name = "ID")]
        departments: Vec<String>,
        /// The departments' sub-departments too.
        #[arg(long)]
        sub: bool,
        /// A person (repeatable).
        #[arg(long = "person", value_name = "ID")]
        people: Vec<String>,
        #[arg(long, value_enum, default_value_t = PriorityArg::Normal)]
        priority: PriorityArg,
        /// Recipients must acknowledge it (default: the priority's rule).
        #[arg(long)]
        ack: bool,
        /// Publish at this time instead of now.
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        at: Option<When>,
        /// It expires at this time.
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        expires: Option<When>,
        /// Keep it as a draft; publish later with `publish-draft`.
        #[arg(long)]
        draft: bool,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Publish a draft.
    PublishDraft { id: String },
    /// Notices the caller manages, newest first.
    List {
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        #[arg(long, value_name = "ID")]
        author: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one notice.
    Show { id: String },
    /// The caller's inbox, newest first.
    Inbox {
        /// Only unread notices.
        #[arg(long)]
        unread: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Mark a notice read.
    Read { id: String },
    /// Acknowledge a notice (and mark it read).
    Ack { id: String },
    /// Who received a notice, who read and acknowledged it.
    Receipts {
        id: String,
        #[arg(long, value_enum)]
        filter: Option<ReceiptArg>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Recipients, read and acknowledged counts of a notice.
    Summary { id: String },
    /// Remind exactly those who have not read (or acknowledged) a notice.
    Remind {
        id: String,
        /// Remind those who have not acknowledged instead.
        #[arg(long)]
        unacknowledged: bool,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Withdraw a notice.
    Retract {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Read and acknowledgement rates per department over a period.
    Stats {
        #[command(flatten)]
        period: StatsArgs,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut notices = conn.notices();
    let zone = conn.zone;
    match command {
        Command::Publish {
            title,
            body,
            body_file,
            everyone,
            departments,
            sub,
            people,
            priority,
            ack,
            at,
            expires,
            draft,
            request_id: rid,
        } => {
            let body = text(&body, &body_file)?;
            let created = notices
                .create_notice(CreateNoticeRequest {
                    request_id: request_id(&rid),
                    title,
                    body,
                    audience: Some(Audience {
                        everyone,
                        department_ids: departments,
                        include_sub_departments: sub,
                        person_ids: people,
                    }),
                    priority: priority.raw(),
                    acknowledgement_required: ack.then_some(true),
                    attachments: vec![],
                    publish_time: ts(at, &zone),
                    expire_time: ts(expires, &zone),
                })
                .await?
                .into_inner();
            let notice = if draft {
                created
            } else {
                notices
                    .publish_notice(PublishNoticeRequest {
                        id: created.id,
                        etag: String::new(),
                    })
                    .await?
                    .into_inner()
            };
            show(conn, &notice)?;
        }
        Command::PublishDraft { id } => {
            let n = notices
                .publish_notice(PublishNoticeRequest {
                    id,
                    etag: String::new(),
                })
                .await?
                .into_inner();
            show(conn, &n)?;
        }
        Command::List {
            state,
            author,
            page,
        } => {
            let r = notices
                .list_notices(ListNoticesRequest {
                    author_id: author.unwrap_or_default(),
                    state: state.map(StateArg::raw).unwrap_or_default(),
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
                "PRIORITY",
                "PUBLISHED",
                "RECIPIENTS",
            ]);
            for n in &r.notices {
                t.row(vec![
                    n.id.clone(),
                    cut(&n.title, 40),
                    label::<NoticeState>(n.state),
                    label::<Priority>(n.priority),
                    time(&zone, n.published_time.as_ref()),
                    n.recipient_count.to_string(),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Show { id } => {
            let n = notices
                .get_notice(GetNoticeRequest { id })
                .await?
                .into_inner();
            show(conn, &n)?;
        }
        Command::Inbox { unread, page } => {
            let r = notices
                .list_inbox(ListInboxRequest {
                    unread_only: unread,
                    include_expired: false,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            say!("{} unread", r.unread_count);
            let mut t = Table::new(&["ID", "TITLE", "PRIORITY", "PUBLISHED", "READ", "ACK"]);
            for item in &r.items {
                let n = item.notice.clone().unwrap_or_default();
                let rc = item.receipt.clone().unwrap_or_default();
                let ack = match (n.acknowledgement_required, rc.acknowledge_time.is_some()) {
                    (true, true) => "done".to_string(),
                    (true, false) => "needed".to_string(),
                    _ => String::new(),
                };
                t.row(vec![
                    n.id,
                    cut(&n.title, 40),
                    label::<Priority>(n.priority),
                    time(&zone, n.published_time.as_ref()),
                    yes(rc.read_time.is_some()),
                    ack,
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Read { id } => {
            let r = notices
                .mark_notice_read(MarkNoticeReadRequest { notice_id: id })
                .await?
                .into_inner();
            receipt(conn, &r)?;
        }
        Command::Ack { id } => {
            let r = notices
                .acknowledge_notice(AcknowledgeNoticeRequest { notice_id: id })
                .await?
                .into_inner();
            receipt(conn, &r)?;
        }
        Command::Receipts { id, filter, page } => {
            let r = notices
                .list_receipts(ListReceiptsRequest {
                    notice_id: id,
                    filter: filter.map(ReceiptArg::raw).unwrap_or_default(),
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
                "PERSON",
                "NAME",
                "DEPARTMENT",
                "READ",
                "ACKNOWLEDGED",
                "REMINDERS",
            ]);
            for rc in &r.receipts {
                t.row(vec![
                    rc.person_id.clone(),
                    rc.display_name.clone(),
                    names.of(&rc.department_id),
                    time(&zone, rc.read_time.as_ref()),
                    time(&zone, rc.acknowledge_time.as_ref()),
                    rc.reminder_count.to_string(),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Summary { id } => {
            let s = notices
                .get_receipt_summary(GetReceiptSummaryRequest { notice_id: id })
                .await?
                .into_inner();
            summary(conn, &s)?;
        }
        Command::Remind {
            id,
            unacknowledged,
            request_id: rid,
        } => {
            let target = if unacknowledged {
                ReceiptFilter::Unacknowledged
            } else {
                ReceiptFilter::Unread
            };
            let r = notices
                .remind_unread(RemindUnreadRequest {
                    request_id: request_id(&rid),
                    notice_id: id,
                    target: target as i32,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            say!("Reminded {} people.", r.reminded);
            if let Some(s) = &r.summary {
                summary(conn, s)?;
            }
        }
        Command::Retract { id, reason } => {
            let n = notices
                .retract_notice(RetractNoticeRequest {
                    id,
                    etag: String::new(),
                    reason,
                })
                .await?
                .into_inner();
            show(conn, &n)?;
        }
        Command::Stats { period } => {
            let (department_id, include_sub_departments, person_id, start, end) =
                period.parts(&zone);
            let s = notices
                .get_notice_statistics(GetNoticeStatisticsRequest {
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
            say!(
                "{} – {}: {} notices published",
                time(&zone, s.start_time.as_ref()),
                time(&zone, s.end_time.as_ref()),
                s.notices_published
            );
            let names = Names::departments(conn).await;
            let mut t = Table::new(&[
                "DEPARTMENT",
                "RECEIVED",
                "READ",
                "READ RATE",
                "ACK REQUIRED",
                "ACKNOWLEDGED",
                "ACK RATE",
                "MEDIAN TO READ",
            ]);
            let mut add = |name: String, f: &ReadingFigures| {
                t.row(vec![
                    name,
                    f.notices_received.to_string(),
                    f.read.to_string(),
                    percent(f.read_rate),
                    f.acknowledgement_required.to_string(),
                    f.acknowledged.to_string(),
                    percent(f.acknowledgement_rate),
                    duration(f.median_time_to_read.as_ref()),
                ]);
            };
            for d in &s.departments {
                add(names.of(&d.department_id), &d.figures.unwrap_or_default());
            }
            add("(total)".into(), &s.total.unwrap_or_default());
            t.print();
        }
    }
    Ok(())
}

fn show(conn: &Conn, n: &Notice) -> Result<(), CliError> {
    if conn.json() {
        return print_json(n);
    }
    let zone = &conn.zone;
    print_record(vec![
        ("id", n.id.clone()),
        ("title", n.title.clone()),
        ("state", label::<NoticeState>(n.state)),
        ("priority", label::<Priority>(n.priority)),
        ("acknowledgement", yes(n.acknowledgement_required)),
        ("author", n.author_id.clone()),
        ("published", time(zone, n.published_time.as_ref())),
        ("expires", time(zone, n.expire_time.as_ref())),
        ("recipients", n.recipient_count.to_string()),
    ]);
    if !n.body.is_empty() {
        say!("\n{}", n.body);
    }
    Ok(())
}

fn receipt(conn: &Conn, r: &Receipt) -> Result<(), CliError> {
    if conn.json() {
        return print_json(r);
    }
    print_record(vec![
        ("notice", r.notice_id.clone()),
        ("read", time(&conn.zone, r.read_time.as_ref())),
        (
            "acknowledged",
            time(&conn.zone, r.acknowledge_time.as_ref()),
        ),
    ]);
    Ok(())
}

fn summary(conn: &Conn, s: &ReceiptSummary) -> Result<(), CliError> {
    if conn.json() {
        return print_json(s);
    }
    print_record(vec![
        ("notice", s.notice_id.clone()),
        ("recipients", s.recipients.to_string()),
        ("read", s.read.to_string()),
        ("acknowledged", s.acknowledged.to_string()),
        ("ack required", yes(s.acknowledgement_required)),
        ("reminder rounds", s.reminder_rounds.to_string()),
        ("reminders sent", s.reminders_sent.to_string()),
    ]);
    Ok(())
}

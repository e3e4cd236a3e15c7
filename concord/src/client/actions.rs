//! `concord actions …`: action items with a lead department, supporting
//! departments, an owner, a due date and progress notes.

use clap::Subcommand;
use concord_proto::decisions::v1::*;

use super::args::{PageArgs, When, choice, request_id};
use super::connect::Conn;
use super::error::CliError;
use super::output::{Names, Table, cut, label, more, print_json, print_record, time, yes};

choice! {
    /// An action item's status.
    StatusArg => ActionItemStatus {
        Open = Open,
        InProgress = InProgress,
        Blocked = Blocked,
        Done = Done,
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Action items, earliest due first.
    List {
        /// Items this department leads.
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        /// With --department: also the items it supports.
        #[arg(long)]
        supporting: bool,
        #[arg(long, value_name = "ID")]
        owner: Option<String>,
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only items past their due time and not done.
        #[arg(long)]
        overdue: bool,
        #[arg(long, value_name = "ID")]
        proposal: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one action item.
    Show { id: String },
    /// Create an action item.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The lead department.
        #[arg(long, value_name = "ID")]
        lead: String,
        /// A supporting department (repeatable).
        #[arg(long = "support", value_name = "ID")]
        supporting: Vec<String>,
        /// The person who reports progress.
        #[arg(long, value_name = "ID")]
        owner: String,
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        due: When,
        /// The decided proposal it implements.
        #[arg(long, value_name = "ID")]
        proposal: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Add a progress note, optionally changing the status.
    Progress {
        id: String,
        #[arg(long)]
        text: String,
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The progress notes of an item.
    Notes {
        id: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut actions = conn.actions();
    let zone = conn.zone;
    match command {
        Command::List {
            department,
            supporting,
            owner,
            status,
            overdue,
            proposal,
            page,
        } => {
            let r = actions
                .list_action_items(ListActionItemsRequest {
                    department_id: department.unwrap_or_default(),
                    include_supporting: supporting,
                    owner_id: owner.unwrap_or_default(),
                    status: status.map(StatusArg::raw).unwrap_or_default(),
                    overdue_only: overdue,
                    proposal_id: proposal.unwrap_or_default(),
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let names = Names::departments(conn).await;
            let mut t = Table::new(&["ID", "TITLE", "LEAD", "OWNER", "DUE", "STATUS", "OVERDUE"]);
            for a in &r.action_items {
                t.row(vec![
                    a.id.clone(),
                    cut(&a.title, 40),
                    names.of(&a.lead_department_id),
                    a.owner_id.clone(),
                    time(&zone, a.due_time.as_ref()),
                    label::<ActionItemStatus>(a.status),
                    yes(a.overdue),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Show { id } => {
            let a = actions
                .get_action_item(GetActionItemRequest { id })
                .await?
                .into_inner();
            show(conn, &a)?;
        }
        Command::Create {
            title,
            description,
            lead,
            supporting,
            owner,
            due,
            proposal,
            request_id: rid,
        } => {
            let a = actions
                .create_action_item(CreateActionItemRequest {
                    request_id: request_id(&rid),
                    title,
                    description,
                    proposal_id: proposal.unwrap_or_default(),
                    lead_department_id: lead,
                    supporting_department_ids: supporting,
                    owner_id: owner,
                    due_time: Some(due.timestamp(&zone)),
                })
                .await?
                .into_inner();
            show(conn, &a)?;
        }
        Command::Progress {
            id,
            text,
            status,
            request_id: rid,
        } => {
            let r = actions
                .report_progress(ReportProgressRequest {
                    request_id: request_id(&rid),
                    action_item_id: id,
                    text,
                    status: status.map(StatusArg::raw).unwrap_or_default(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            show(conn, &r.action_item.unwrap_or_default())?;
        }
        Command::Notes { id, page } => {
            let r = actions
                .list_progress_notes(ListProgressNotesRequest {
                    action_item_id: id,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["TIME", "AUTHOR", "STATUS", "NOTE"]);
            for n in &r.notes {
                t.row(vec![
                    time(&zone, n.create_time.as_ref()),
                    n.author_id.clone(),
                    if n.status == 0 {
                        String::new()
                    } else {
                        label::<ActionItemStatus>(n.status)
                    },
                    cut(&n.text, 60),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
    }
    Ok(())
}

fn show(conn: &Conn, a: &ActionItem) -> Result<(), CliError> {
    if conn.json() {
        return print_json(a);
    }
    print_record(vec![
        ("id", a.id.clone()),
        ("title", a.title.clone()),
        ("status", label::<ActionItemStatus>(a.status)),
        ("lead", a.lead_department_id.clone()),
        ("supporting", a.supporting_department_ids.join(", ")),
        ("owner", a.owner_id.clone()),
        ("due", time(&conn.zone, a.due_time.as_ref())),
        ("overdue", yes(a.overdue)),
        ("done", time(&conn.zone, a.done_time.as_ref())),
        ("proposal", a.proposal_id.clone()),
    ]);
    Ok(())
}

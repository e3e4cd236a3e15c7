//! `concord decisions …`: proposals from draft through consultation and the
//! vote to their outcome, comments, votes, the tally, statistics.

use clap::Subcommand;
use concord_proto::decisions::v1::*;

use super::args::{PageArgs, StatsArgs, When, choice, request_id};
use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{
    Table, cut, duration, label, more, percent, print_json, print_record, time, yes,
};

choice! {
    /// A proposal's stage.
    StageArg => Stage {
        Draft = Draft,
        Consultation = Consultation,
        Voting = Voting,
        Decided = Decided,
        Rejected = Rejected,
        NoQuorum = NoQuorum,
        Implementing = Implementing,
        Closed = Closed,
    }
}

choice! {
    /// How votes decide.
    RuleArg => VotingRule {
        SimpleMajority = SimpleMajority,
        TwoThirds = TwoThirds,
        Unanimity = Unanimity,
        Consent = Consent,
    }
}

choice! {
    /// A comment's stance.
    StanceArg => Stance { Support = Support, Concern = Concern, Objection = Objection }
}

#[derive(Subcommand)]
pub enum Command {
    /// Proposals the caller may see, newest first.
    List {
        #[arg(long, value_enum)]
        stage: Option<StageArg>,
        /// Only those this department owns or takes part in.
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one proposal.
    Show { id: String },
    /// Draft a proposal.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        background: String,
        /// An option's label (repeatable; none makes approve/reject).
        #[arg(long = "option", value_name = "LABEL")]
        options: Vec<String>,
        /// The owning department (default: the caller's).
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        /// A department that votes (repeatable, at least one).
        #[arg(long = "approving", value_name = "ID", required = true)]
        approving: Vec<String>,
        /// A department asked for its view (repeatable).
        #[arg(long = "consulted", value_name = "ID")]
        consulted: Vec<String>,
        /// A department told the outcome (repeatable).
        #[arg(long = "informed", value_name = "ID")]
        informed: Vec<String>,
        #[arg(long, value_enum, default_value_t = RuleArg::SimpleMajority)]
        rule: RuleArg,
        /// Share of eligible voters who must take part, 0–100.
        #[arg(long, default_value_t = 0)]
        quorum: i32,
        /// Only the approving departments' heads vote.
        #[arg(long)]
        heads_only: bool,
        /// Hide the tally until the vote closes.
        #[arg(long)]
        sealed: bool,
        #[arg(
            long,
            value_name = "WHEN",
            allow_hyphen_values = true,
            default_value = "+3d"
        )]
        consultation_end: When,
        #[arg(
            long,
            value_name = "WHEN",
            allow_hyphen_values = true,
            default_value = "+7d"
        )]
        voting_end: When,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Move a proposal to its next stage (from the stage it is in now).
    Advance {
        id: String,
        /// Why, recorded with the outcome when closing the vote.
        #[arg(long, default_value = "")]
        rationale: String,
    },
    /// Comment on a proposal with a stance, or reply to a comment.
    Comment {
        id: String,
        #[arg(long)]
        body: String,
        #[arg(long, value_enum)]
        stance: Option<StanceArg>,
        /// The comment this one answers.
        #[arg(long, value_name = "COMMENT")]
        reply_to: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The comments of a proposal.
    Comments {
        id: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Cast or change the caller's vote.
    Vote {
        id: String,
        /// The option id ("approve", "reject", or "1", "2", …).
        #[arg(long, value_name = "OPTION", required_unless_present = "abstain")]
        option: Option<String>,
        #[arg(long, conflicts_with = "option")]
        abstain: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// The count so far, or the final one.
    Tally { id: String },
    /// Everything that happened to a proposal, oldest first.
    History {
        id: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Proposals decided, participation and action items over a period.
    Stats {
        #[command(flatten)]
        period: StatsArgs,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut decisions = conn.decisions();
    let zone = conn.zone;
    match command {
        Command::List {
            stage,
            department,
            page,
        } => {
            let r = decisions
                .list_proposals(ListProposalsRequest {
                    stage: stage.map(StageArg::raw).unwrap_or_default(),
                    department_id: department.unwrap_or_default(),
                    proposer_id: String::new(),
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["ID", "TITLE", "STAGE", "RULE", "VOTING ENDS", "OUTCOME"]);
            for p in &r.proposals {
                let outcome = p
                    .outcome
                    .as_ref()
                    .map(|o| chosen(p, &o.chosen_option_id))
                    .unwrap_or_default();
                t.row(vec![
                    p.id.clone(),
                    cut(&p.title, 40),
                    label::<Stage>(p.stage),
                    label::<VotingRule>(p.rule),
                    time(&zone, p.voting_end_time.as_ref()),
                    outcome,
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Show { id } => {
            let p = decisions
                .get_proposal(GetProposalRequest { id })
                .await?
                .into_inner();
            show(conn, &p)?;
        }
        Command::Create {
            title,
            background,
            options,
            department,
            approving,
            consulted,
            informed,
            rule,
            quorum,
            heads_only,
            sealed,
            consultation_end,
            voting_end,
            request_id: rid,
        } => {
            let part = |ids: Vec<String>, role: ParticipationRole| {
                ids.into_iter().map(move |department_id| Participant {
                    department_id,
                    role: role as i32,
                })
            };
            let participants = part(approving, ParticipationRole::Approving)
                .chain(part(consulted, ParticipationRole::Consulted))
                .chain(part(informed, ParticipationRole::Informed))
                .collect();
            let electorate = if heads_only {
                Electorate::ApprovingHeads
            } else {
                Electorate::ApprovingMembers
            };
            let p = decisions
                .create_proposal(CreateProposalRequest {
                    request_id: request_id(&rid),
                    title,
                    background,
                    options,
                    owning_department_id: department.unwrap_or_default(),
                    participants,
                    rule: rule.raw(),
                    quorum_percent: quorum,
                    electorate: electorate as i32,
                    sealed,
                    consultation_end_time: Some(consultation_end.timestamp(&zone)),
                    voting_end_time: Some(voting_end.timestamp(&zone)),
                })
                .await?
                .into_inner();
            show(conn, &p)?;
        }
        Command::Advance { id, rationale } => {
            let current = decisions
                .get_proposal(GetProposalRequest { id: id.clone() })
                .await?
                .into_inner();
            let p = decisions
                .advance_proposal(AdvanceProposalRequest {
                    id,
                    from_stage: current.stage,
                    rationale,
                })
                .await?
                .into_inner();
            show(conn, &p)?;
        }
        Command::Comment {
            id,
            body,
            stance,
            reply_to,
            request_id: rid,
        } => {
            let c = decisions
                .create_comment(CreateCommentRequest {
                    request_id: request_id(&rid),
                    proposal_id: id,
                    parent_id: reply_to.unwrap_or_default(),
                    stance: stance.map(StanceArg::raw).unwrap_or_default(),
                    body,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&c);
            }
            comments(conn, &[c]).print();
        }
        Command::Comments { id, page } => {
            let r = decisions
                .list_comments(ListCommentsRequest {
                    proposal_id: id,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            comments(conn, &r.comments).print();
            more(&r.next_page_token);
        }
        Command::Vote {
            id,
            option,
            abstain,
            reason,
        } => {
            let v = decisions
                .cast_vote(CastVoteRequest {
                    proposal_id: id,
                    option_id: option.unwrap_or_default(),
                    abstain,
                    reason,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&v);
            }
            print_record(vec![
                ("proposal", v.proposal_id),
                ("voter", v.voter_id),
                ("option", v.option_id),
                ("abstain", yes(v.abstain)),
                ("changes", v.changes.to_string()),
            ]);
        }
        Command::Tally { id } => {
            let t = decisions
                .get_tally(GetTallyRequest { proposal_id: id })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&t);
            }
            let mut table = Table::new(&["OPTION", "LABEL", "VOTES", "LEADING"]);
            for o in &t.options {
                table.row(vec![
                    o.option_id.clone(),
                    o.label.clone(),
                    o.votes.to_string(),
                    yes(o.option_id == t.leading_option_id),
                ]);
            }
            table.print();
            say!(
                "{} of {} eligible took part ({} by proxy), {} abstained; quorum {}; {}",
                t.participated,
                t.eligible,
                t.by_proxy,
                t.abstentions,
                if t.quorum_met { "met" } else { "not met" },
                if t.r#final { "final" } else { "voting open" }
            );
        }
        Command::History { id, page } => {
            let r = decisions
                .list_proposal_history(ListProposalHistoryRequest {
                    proposal_id: id,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["TIME", "ACTOR", "ACTION"]);
            for e in &r.events {
                t.row(vec![
                    time(&zone, e.time.as_ref()),
                    e.actor.clone(),
                    e.action.clone(),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::Stats { period } => {
            let (department_id, include_sub_departments, person_id, start, end) =
                period.parts(&zone);
            let s = decisions
                .get_decision_statistics(GetDecisionStatisticsRequest {
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
            print_record(vec![
                ("proposals decided", s.proposals_decided.to_string()),
                ("of them passed", s.proposals_passed.to_string()),
                (
                    "median time to decide",
                    duration(s.median_time_to_decide.as_ref()),
                ),
                (
                    "proposals taken part in",
                    s.proposals_taken_part.to_string(),
                ),
                (
                    "votes cast / eligible",
                    format!("{} / {}", s.votes_cast, s.votes_eligible),
                ),
                ("participation", percent(s.participation)),
                ("action items assigned", s.action_items_assigned.to_string()),
                ("action items due", s.action_items_due.to_string()),
                ("done on time", s.action_items_done_on_time.to_string()),
                ("overdue", s.action_items_overdue.to_string()),
            ]);
        }
    }
    Ok(())
}

fn chosen(p: &Proposal, option_id: &str) -> String {
    p.options
        .iter()
        .find(|o| o.id == option_id)
        .map(|o| o.label.clone())
        .unwrap_or_default()
}

fn show(conn: &Conn, p: &Proposal) -> Result<(), CliError> {
    if conn.json() {
        return print_json(p);
    }
    let zone = &conn.zone;
    let options = p
        .options
        .iter()
        .map(|o| format!("{}={}", o.id, o.label))
        .collect::<Vec<_>>()
        .join(", ");
    let participants = p
        .participants
        .iter()
        .map(|x| {
            format!(
                "{} ({})",
                x.department_id,
                label::<ParticipationRole>(x.role)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = vec![
        ("id", p.id.clone()),
        ("title", p.title.clone()),
        ("stage", label::<Stage>(p.stage)),
        ("options", options),
        ("rule", label::<VotingRule>(p.rule)),
        ("quorum", format!("{}%", p.quorum_percent)),
        ("participants", participants),
        ("proposer", p.proposer_id.clone()),
        (
            "consultation ends",
            time(zone, p.consultation_end_time.as_ref()),
        ),
        ("voting ends", time(zone, p.voting_end_time.as_ref())),
        ("eligible voters", p.eligible_voters.to_string()),
        ("open objections", p.unanswered_objections.to_string()),
    ];
    if let Some(o) = &p.outcome {
        rows.push(("outcome", label::<Stage>(o.result)));
        rows.push(("chosen", chosen(p, &o.chosen_option_id)));
        rows.push(("explanation", o.explanation.clone()));
        rows.push(("rationale", o.rationale.clone()));
    }
    print_record(rows);
    Ok(())
}

fn comments(conn: &Conn, list: &[Comment]) -> Table {
    let mut t = Table::new(&["ID", "AUTHOR", "STANCE", "REPLY TO", "COMMENT", "TIME"]);
    for c in list {
        t.row(vec![
            c.id.clone(),
            c.author_id.clone(),
            label::<Stance>(c.stance),
            c.parent_id.clone(),
            cut(&c.body, 50),
            time(&conn.zone, c.create_time.as_ref()),
        ]);
    }
    t
}

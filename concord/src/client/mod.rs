//! The `concord` command line as a client of a running suite: one
//! subcommand per service, all calls through the gateway, readable tables by
//! default and protobuf JSON for scripts, exit codes a script can act on.

mod actions;
mod alerts;
mod appraisal;
pub mod args;
mod config;
mod connect;
mod decisions;
mod directory;
mod emergency;
pub mod error;
mod feedback;
mod meetings;
mod notices;
pub mod output;
mod training;

use std::process::ExitCode;

use clap::Subcommand;
use concord_kit::config::Settings;

pub use config::{ClientConfig, config_path};
pub use connect::{Conn, ConnArgs};
pub use error::{CliError, Exit};

/// Shown under `--help` of the binary and of every client command.
pub const EXIT_CODES: &str = "\
Exit codes of the client commands:
  0  success
  1  any other failure (wrong state, conflict, stale etag, server error)
  2  usage error: unknown command, bad or missing flags or values
  3  permission denied, or not signed in (PERMISSION_DENIED, UNAUTHENTICATED)
  4  not found (NOT_FOUND)
  5  invalid argument (INVALID_ARGUMENT): every bad field is printed
  6  unavailable or timed out (UNAVAILABLE, DEADLINE_EXCEEDED)

The gateway's address and a token come from --addr/--token, then
CONCORD_ADDR/CONCORD_TOKEN, then the file `concord login` writes.";

/// The client commands, flattened into the binary's own.
#[derive(Subcommand)]
pub enum Command {
    /// Save the gateway's address and a token for the commands that follow.
    #[command(after_help = EXIT_CODES)]
    Login(config::LoginArgs),
    /// Departments, people, duties; "who handles X?".
    #[command(after_help = EXIT_CODES)]
    Directory {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: directory::Command,
    },
    /// Publish notices, read the inbox, acknowledge, remind, statistics.
    #[command(after_help = EXIT_CODES)]
    Notices {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: notices::Command,
    },
    /// Recurring cross-department meetings: agenda, attendance, minutes.
    #[command(after_help = EXIT_CODES)]
    Meetings {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: meetings::Command,
    },
    /// Proposals: consultation, votes, outcomes, statistics.
    #[command(after_help = EXIT_CODES)]
    Decisions {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: decisions::Command,
    },
    /// Action items: lead and supporting departments, owners, progress.
    #[command(after_help = EXIT_CODES)]
    Actions {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: actions::Command,
    },
    /// Submit, route, assign, resolve and confirm feedback.
    #[command(after_help = EXIT_CODES)]
    Feedback {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: feedback::Command,
    },
    /// Contingency plans, incidents and drills, acknowledgements.
    #[command(after_help = EXIT_CODES)]
    Emergency {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: emergency::Command,
    },
    /// The caller's emergency alerts, live.
    #[command(after_help = EXIT_CODES)]
    Alerts {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: alerts::Command,
    },
    /// Indicator sets, appraisal cycles, scores, rankings, commendations.
    #[command(after_help = EXIT_CODES)]
    Appraisal {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: appraisal::Command,
    },
    /// Training plans, enrolment, attendance, completion, development plans.
    #[command(after_help = EXIT_CODES)]
    Training {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(subcommand)]
        command: training::Command,
    },
    /// Fill a running suite with a realistic organisation (idempotent).
    #[command(after_help = EXIT_CODES)]
    Demo(crate::demo::DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs a client command; `cli` builds the binary's whole command (for
/// completions).
pub fn run(command: Command, settings: &Settings, cli: fn() -> clap::Command) -> ExitCode {
    if let Command::Completions { shell } = command {
        let mut cmd = cli();
        let name = cmd.get_name().to_string();
        clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return CliError::Other(e.into()).report(),
    };
    match runtime.block_on(dispatch(command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

async fn dispatch(command: Command, settings: &Settings) -> Result<(), CliError> {
    let zone = output::zone(settings);
    match command {
        Command::Login(args) => config::login(args).await,
        Command::Directory { conn, command } => {
            directory::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Notices { conn, command } => {
            notices::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Meetings { conn, command } => {
            meetings::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Decisions { conn, command } => {
            decisions::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Actions { conn, command } => {
            actions::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Feedback { conn, command } => {
            feedback::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Emergency { conn, command } => {
            emergency::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Alerts { conn, command } => alerts::run(command, &Conn::open(&conn, zone)?).await,
        Command::Appraisal { conn, command } => {
            appraisal::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Training { conn, command } => {
            training::run(command, &Conn::open(&conn, zone)?).await
        }
        Command::Demo(args) => crate::demo::run(args, settings).await,
        Command::Completions { .. } => Ok(()),
    }
}

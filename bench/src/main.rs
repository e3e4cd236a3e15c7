//! `concord-bench`: Concord's benchmarks in one command.
//!
//! ```sh
//! cargo run --release -p concord-bench -- all          # the full run, under 10 minutes on 2 cores
//! cargo run -p concord-bench -- all --smoke            # every scenario, small: CI
//! ```
//!
//! It starts everything it measures on loopback (real `concord serve`
//! processes on a fresh PostgreSQL database and Redis, a trivial upstream,
//! Debian's nginx), runs the scenarios, prints a table per scenario with the
//! issue's targets checked, and writes the results as JSON. See
//! docs/BENCHMARKS.md.
#![forbid(unsafe_code)]

mod alerts;
mod double;
mod experiment;
mod feedback;
mod h2;
mod load;
mod nginx;
mod notices;
mod procs;
mod report;
mod run;
mod seed;
mod unary;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "concord-bench",
    version,
    about = "Concord's benchmarks: one command, a table, a JSON file"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every scenario (or those named with --only).
    All(run::RunArgs),
    /// The trivial upstream the runner starts (a directory answering
    /// GetPerson from memory), alone or with the gateway in process.
    #[command(hide = true)]
    Double {
        #[arg(long)]
        gateway: bool,
    },
    /// An experiment the runner starts with --experiments: the gateway alone
    /// on a current-thread runtime.
    #[command(hide = true)]
    Gateway,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Double { gateway } => double::run(gateway),
        Command::Gateway => experiment::gateway(),
        Command::All(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(run::all(args))
        }
    }
}

//! `concord`: run any or all of Concord's targets, or issue a development
//! token. A thin wrapper over the library.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use concord_kit::auth::{Issuer, parse_role};
use concord_kit::config::{LogFormat, Settings};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "concord",
    version,
    about = "Concord: an organisation's administrative communication and collaboration",
    after_help = concord::client::EXIT_CODES
)]
struct Cli {
    /// A TOML file of settings (overridden by the environment and flags).
    #[arg(long, global = true, env = "CONCORD_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    flags: Flags,
    #[command(subcommand)]
    command: Command,
}

/// Settings that can also be given as flags (highest precedence).
#[derive(Args, Serialize, Default)]
struct Flags {
    /// Data directory for the embedded SQLite files and the signing secret.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// Log output: text or json.
    #[arg(long, global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
    /// Address every listener binds.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen_host: Option<std::net::IpAddr>,
    /// The gateway's port; each service listens on this plus its offset.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    port_base: Option<u16>,
    /// Port of /metrics.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_port: Option<u16>,
}

#[derive(Subcommand)]
enum Command {
    /// Run targets: every one by default, or those named with --target.
    Serve {
        /// A target to run (repeatable): all, gateway, directory, notices,
        /// decisions, feedback, emergency, appraisal, training.
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
    },
    /// Apply the targets' database migrations (once per release), or wait
    /// until they are applied.
    Migrate {
        /// A target to migrate (repeatable); every target by default.
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// Write nothing; wait until the migrations are applied.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout_secs: u64,
    },
    /// Development tokens signed with this data directory's secret.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    #[command(flatten)]
    Client(Box<concord::client::Command>),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a token for a person (or a service).
    Issue {
        /// The person id (the token's subject).
        #[arg(long)]
        subject: String,
        /// A role (repeatable): admin, department_head, coordinator, member, auditor, service.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The person's department id.
        #[arg(long)]
        department: Option<String>,
        /// How long the token is valid, in hours.
        #[arg(long, default_value_t = 12)]
        hours: u64,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref(), &cli.flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("concord: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Client(command) => {
            return concord::client::run(
                *command,
                &settings,
                <Cli as clap::CommandFactory>::command,
            );
        }
        Command::Serve { targets } => serve(settings, targets),
        Command::Migrate {
            targets,
            wait,
            timeout_secs,
        } => migrate(settings, targets, wait, timeout_secs),
        Command::Token {
            command:
                TokenCommand::Issue {
                    subject,
                    roles,
                    department,
                    hours,
                },
        } => issue(&settings, &subject, &roles, department.as_deref(), hours),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("concord: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn issue(
    settings: &Settings,
    subject: &str,
    roles: &[String],
    department: Option<&str>,
    hours: u64,
) -> anyhow::Result<()> {
    let roles = roles
        .iter()
        .map(|r| parse_role(r).ok_or_else(|| anyhow::anyhow!("--role {r:?} is not one of admin, department_head, coordinator, member, auditor, service")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let secret = concord::suite::jwt_secret(settings)?;
    let token = Issuer::new(&secret).issue(
        subject,
        &roles,
        department,
        Duration::from_secs(hours * 3600),
    )?;
    println!("{token}");
    Ok(())
}

fn migrate(
    settings: Settings,
    targets: Vec<String>,
    wait: bool,
    timeout_secs: u64,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let _telemetry = concord_kit::telemetry::init(&settings, "concord-migrate")?;
        if wait {
            concord::migrate::wait(&settings, &targets, Duration::from_secs(timeout_secs)).await
        } else {
            concord::migrate::apply(&settings, &targets).await
        }
    })
}

fn serve(settings: Settings, targets: Vec<String>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Traces name the target when a process runs one (concord-gateway,
        // concord-directory …), and the suite otherwise.
        let service_name = match targets.as_slice() {
            [one] if one != "all" => format!("concord-{one}"),
            _ => "concord".to_string(),
        };
        let _telemetry = concord_kit::telemetry::init(&settings, &service_name)?;
        let terminated = concord_kit::server::termination_signal();
        let suite =
            concord::suite::start(&settings, &targets, concord::suite::Bind::Configured, None)
                .await?;
        let secret = concord::suite::jwt_secret(&settings)?;
        let admin = Issuer::new(&secret).issue(
            "bootstrap-admin",
            &[concord_proto::policy::v1::Role::Admin],
            None,
            Duration::from_secs(24 * 3600),
        )?;
        let backend = if settings.database_url.is_some() {
            "PostgreSQL".to_string()
        } else {
            format!("SQLite in {}", settings.data_dir.display())
        };
        let bus = if settings.redis_url.is_some() {
            "Redis"
        } else {
            "in-process bus"
        };
        // One write, and a closed stdout is no reason for a server to stop
        // (println! would panic on a broken pipe).
        use std::fmt::Write as _;
        let mut banner = format!("Concord is running ({backend}, {bus})\n");
        for (name, addr) in &suite.addrs {
            let _ = writeln!(banner, "  {name:<10} {addr}");
        }
        let _ = writeln!(
            banner,
            "  {:<10} http://{}/metrics",
            "metrics", suite.metrics_addr
        );
        let _ = writeln!(banner, "Bootstrap admin token (valid 24 h):\n{admin}");
        let entry = suite
            .addrs
            .get(concord::suite::GATEWAY)
            .or_else(|| suite.addrs.values().next());
        if let Some(addr) = entry {
            let _ = writeln!(
                banner,
                "Try: grpcurl -plaintext -H \"authorization: Bearer <token>\" {addr} list"
            );
        }
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
        }
        let shutdown = suite.shutdown.clone();
        tokio::spawn(async move {
            terminated.await;
            tracing::info!("shutting down: finishing in-flight calls");
            shutdown.cancel();
        });
        suite.wait().await
    })
}

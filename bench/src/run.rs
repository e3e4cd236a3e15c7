//! The runner: a fresh PostgreSQL database, the processes each scenario
//! needs on loopback, the scenarios in order, then the tables and the JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use concord_kit::auth::Issuer;
use sqlx::Executor as _;

use crate::load::Shape;
use crate::procs::{Env, Proc, Resident, RssSampler};
use crate::report::{Machine, Memory, Results};
use crate::unary::Path;
use crate::{alerts, feedback, nginx, notices, seed, unary};

/// The scenarios, selectable with `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Unary,
    Alerts,
    Notices,
    Feedback,
    Memory,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// A small size of every scenario (about a minute): for CI, so the
    /// harness cannot rot. It fails only when the harness breaks.
    #[arg(long)]
    pub smoke: bool,
    /// Only these scenarios (comma-separated); all by default.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub only: Vec<Scenario>,
    /// Where to write the JSON; `results.json` in the run folder by default.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The `concord` binary; by default the one next to this binary, built
    /// first (same profile) when run through cargo.
    #[arg(long)]
    pub concord: Option<PathBuf>,
    /// PostgreSQL server; each run makes a fresh database on it and drops it.
    #[arg(
        long,
        env = "CONCORD_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub database_url: String,
    #[arg(
        long,
        env = "CONCORD_BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// Keep the database after the run (logs are always kept).
    #[arg(long)]
    pub keep: bool,
    /// Also measure changes not shipped (see experiment.rs): the gateway
    /// alone on a current-thread runtime.
    #[arg(long)]
    pub experiments: bool,
}

/// How big each scenario is.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub departments: usize,
    pub people: usize,
    pub incidents: usize,
    pub seeded_notices: usize,
    pub publishes: usize,
    pub rounds: usize,
    pub unary: Shape,
    pub low_load: Duration,
    pub inbox: Shape,
    pub feedback: Shape,
}

impl Sizes {
    pub fn new(smoke: bool) -> Self {
        if smoke {
            Self {
                departments: 10,
                people: 200,
                incidents: 2,
                seeded_notices: 10,
                publishes: 1,
                rounds: 1,
                unary: Shape {
                    connections: 4,
                    concurrency: 64,
                    window: Duration::from_millis(300),
                },
                low_load: Duration::from_millis(200),
                inbox: Shape {
                    connections: 2,
                    concurrency: 8,
                    window: Duration::from_millis(300),
                },
                feedback: Shape {
                    connections: 2,
                    concurrency: 16,
                    window: Duration::from_millis(300),
                },
            }
        } else {
            Self {
                departments: 10,
                people: 10_000,
                incidents: 5,
                seeded_notices: 100,
                publishes: 3,
                rounds: 3,
                unary: Shape {
                    connections: 4,
                    concurrency: 64,
                    window: Duration::from_secs(3),
                },
                low_load: Duration::from_millis(1500),
                inbox: Shape {
                    connections: 2,
                    concurrency: 8,
                    window: Duration::from_secs(5),
                },
                feedback: Shape {
                    connections: 2,
                    concurrency: 16,
                    window: Duration::from_secs(5),
                },
            }
        }
    }
}

/// The `concord` binary to run.
fn concord_binary(args: &RunArgs) -> anyhow::Result<PathBuf> {
    if let Some(p) = &args.concord {
        return Ok(p.clone());
    }
    let me = std::env::current_exe()?;
    let dir = me.parent().context("this binary's folder")?;
    // Under `cargo run`, build concord in the same profile so what is
    // measured is the current source.
    if let Ok(cargo) = std::env::var("CARGO") {
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-q", "-p", "concord", "--bin", "concord"]);
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let status = cmd.status().context("building concord")?;
        anyhow::ensure!(status.success(), "building concord failed");
    }
    let path = dir.join("concord");
    anyhow::ensure!(
        path.exists(),
        "{} does not exist: build it (cargo build --release -p concord) or pass --concord",
        path.display()
    );
    Ok(path)
}

/// A fresh database on the server of `base`; its URL.
async fn fresh_database(base: &str) -> anyhow::Result<(String, String)> {
    let name = format!("t{}_bench", uuid::Uuid::now_v7().simple());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await
        .with_context(|| format!("PostgreSQL at {base} is not reachable"))?;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    admin.close().await;
    let (server, rest) = base
        .rsplit_once('/')
        .with_context(|| format!("{base} names no database"))?;
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Ok((name.clone(), format!("{server}/{name}{query}")))
}

async fn drop_database(base: &str, name: &str) -> anyhow::Result<()> {
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await?;
    admin.close().await;
    Ok(())
}

fn say(started: Instant, what: &str) {
    eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
}

/// Runs the scenarios; prints the tables and the JSON path.
pub async fn all(args: RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let want = |s: Scenario| args.only.is_empty() || args.only.contains(&s);
    let sizes = Sizes::new(args.smoke);
    let mut results = Results {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        smoke: args.smoke,
        started_unix_ms: seed::chrono_ms(),
        machine: Machine::read(),
        ..Results::default()
    };
    let concord = concord_binary(&args)?;
    let dir = std::env::temp_dir()
        .join("concord-bench")
        .join(format!("{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    say(
        started,
        &format!("run folder (logs, data): {}", dir.display()),
    );
    let (db_name, database_url) = fresh_database(&args.database_url).await?;
    let secret = format!(
        "bench-{}-{}",
        uuid::Uuid::now_v7().simple(),
        rand::random::<u64>()
    );
    let env = Env {
        concord,
        bench: std::env::current_exe()?,
        dir: dir.clone(),
        database_url: database_url.clone(),
        redis_url: args.redis_url.clone(),
        secret: secret.clone(),
    };
    let outcome = scenarios(&env, &args, &sizes, &mut results, started, want).await;
    if !args.keep {
        // Give the stopped processes' connections a moment to close.
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Err(e) = drop_database(&args.database_url, &db_name).await {
            eprintln!("could not drop the database {db_name}: {e:#}");
        }
    }
    outcome?;
    results.seconds = started.elapsed().as_secs_f64();
    results.machine.load_after = crate::report::loadavg();
    results.check();
    println!("{}", results.render());
    let json = args
        .json
        .clone()
        .unwrap_or_else(|| dir.join("results.json"));
    std::fs::write(&json, serde_json::to_string_pretty(&results)?)?;
    println!(
        "\n{} in {:.0} s on {} cores (load {:?} before, {:?} after). JSON: {}",
        if args.smoke { "Smoke run" } else { "Full run" },
        results.seconds,
        results.machine.cpus,
        results.machine.load_before,
        results.machine.load_after,
        json.display()
    );
    Ok(())
}

async fn scenarios(
    env: &Env,
    args: &RunArgs,
    sizes: &Sizes,
    results: &mut Results,
    started: Instant,
    want: impl Fn(Scenario) -> bool,
) -> anyhow::Result<()> {
    results.machine.nginx = nginx::find().map(|p| p.display().to_string());
    results.machine.postgres = {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&env.database_url)
            .await?;
        let v: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&pool)
            .await?;
        pool.close().await;
        v
    };
    say(
        started,
        "starting the directory alone, then concord serve (every target)",
    );
    let directory = env.concord("directory", &["directory"], &[]).await?;
    let serve = env.concord("serve", &[], &[]).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut memory = Memory {
        serve_idle: serve.resident(),
        ..Memory::default()
    };
    if want(Scenario::Memory) {
        say(started, "memory: each target alone");
        memory.alone = targets_alone(env, &serve).await?;
    }

    say(
        started,
        &format!(
            "seeding {} people in {} departments through the directory",
            sizes.people, sizes.departments
        ),
    );
    let issuer = Issuer::new(env.secret.as_bytes());
    let org = seed::organisation(
        directory.addr("directory")?,
        issuer,
        sizes.departments,
        sizes.people,
    )
    .await?;
    results.people = org.people.len();
    results.departments = org.departments.len();
    results.organisation_seconds = org.seconds;
    let member = org.token(&org.people[0])?;
    let ids = Arc::new(org.people.iter().map(|m| m.id.clone()).collect::<Vec<_>>());

    if want(Scenario::Unary) || want(Scenario::Memory) {
        say(
            started,
            "scenario 1: unary reads (starting the gateways, the double and nginx)",
        );
        let dir_addr = directory.addr("directory")?;
        let gateway = env
            .concord("gateway", &["gateway"], &[("directory", dir_addr)])
            .await?;
        let double = env.double("double", false).await?;
        let double_gw = env.double("double-gateway", true).await?;
        let gateway_trivial = env
            .concord(
                "gateway-trivial",
                &["gateway"],
                &[("directory", double.addr("directory")?)],
            )
            .await?;
        // With --experiments: the gateway on a current-thread runtime.
        let mut experiments = Vec::new();
        if args.experiments {
            for (name, upstream) in [
                ("experiment-gateway", dir_addr),
                ("experiment-gateway-trivial", double.addr("directory")?),
            ] {
                experiments.push(env.bench_gateway(name, &[("directory", upstream)]).await?);
            }
        }
        for g in [&gateway, &gateway_trivial].into_iter().chain(&experiments) {
            crate::procs::wait_serving_name(g.addr("gateway")?, crate::double::DIRECTORY).await?;
        }
        let proxy = match nginx::find() {
            Some(bin) => Some(
                nginx::Nginx::start(&bin, &env.dir, &[dir_addr, double.addr("directory")?]).await?,
            ),
            None => {
                eprintln!(
                    "nginx is not installed (apt-get install -y nginx): its rows are left out"
                );
                None
            }
        };
        if let Some(p) = &proxy {
            results.machine.nginx = Some(p.version.clone());
        }
        let pids: Vec<u32> = [&serve, &gateway, &gateway_trivial]
            .into_iter()
            .chain(experiments.first())
            .filter_map(|p| p.pid())
            .collect();
        let sampler = RssSampler::start(pids);
        let real = vec![
            path(
                "direct",
                "direct to the directory process",
                dir_addr,
                &[&directory],
            ),
            path(
                "gateway",
                "gateway process → directory process (remote upstream)",
                gateway.addr("gateway")?,
                &[&gateway, &directory],
            ),
            path(
                "serve_direct",
                "concord serve: its directory port",
                serve.addr("directory")?,
                &[&serve],
            ),
            path(
                "serve_gateway",
                "concord serve: its gateway (in-process upstream)",
                serve.addr("gateway")?,
                &[&serve],
            ),
        ];
        let trivial = vec![
            path(
                "direct",
                "direct to the double process",
                double.addr("directory")?,
                &[&double],
            ),
            path(
                "gateway",
                "gateway process → double process (remote upstream)",
                gateway_trivial.addr("gateway")?,
                &[&gateway_trivial, &double],
            ),
            path(
                "serve_direct",
                "double + gateway process: the double's port",
                double_gw.addr("directory")?,
                &[&double_gw],
            ),
            path(
                "serve_gateway",
                "double + gateway process: its gateway (in-process upstream)",
                double_gw.addr("gateway")?,
                &[&double_gw],
            ),
        ];
        let (mut real, mut trivial) = (real, trivial);
        for (i, g) in experiments.iter().enumerate() {
            let (list, upstream, what) = match i {
                0 => (&mut real, &directory, "directory"),
                _ => (&mut trivial, &double, "double"),
            };
            list.push(path(
                "gateway_ct",
                &format!(
                    "experiment: gateway process on a current-thread runtime → {what} process"
                ),
                g.addr("gateway")?,
                &[g, upstream],
            ));
        }
        let upstream_pids = [directory.pid(), double.pid()];
        let with_nginx = |mut v: Vec<Path>, i: usize| {
            if let Some(p) = &proxy {
                let mut pids = p.pids();
                pids.extend(upstream_pids[i]);
                v.push(Path {
                    key: "nginx",
                    label: "nginx grpc_pass → the direct process".into(),
                    addr: p.addrs[i],
                    pids,
                });
            }
            v
        };
        let (real, trivial) = (with_nginx(real, 0), with_nginx(trivial, 1));
        for (name, paths) in [
            ("real read: GetPerson on PostgreSQL", real),
            ("trivial read: GetPerson answered from memory", trivial),
        ] {
            say(started, &format!("  {name}"));
            let r = unary::run(
                name,
                &paths,
                sizes.unary,
                sizes.low_load,
                sizes.rounds,
                &member,
                ids.clone(),
            )
            .await?;
            results.unary.push(r);
        }
        let max = sampler.stop();
        memory.serve_under_load = max.first().copied();
        memory.gateway_under_load = max.get(1).copied();
        memory.gateway_trivial_under_load = max.get(2).copied();
        memory.experiment_gateway_under_load = max.get(3).copied();
        if let Some(p) = proxy {
            p.stop().await?;
        }
        for p in [gateway, gateway_trivial, double, double_gw]
            .into_iter()
            .chain(experiments)
        {
            p.stop().await?;
        }
    }
    results.memory = memory;

    if want(Scenario::Alerts) {
        say(
            started,
            "scenario 2: alert fan-out over two emergency processes",
        );
        let dir_addr = directory.addr("directory")?;
        let a = env
            .concord("emergency-a", &["emergency"], &[("directory", dir_addr)])
            .await?;
        let b = env
            .concord("emergency-b", &["emergency"], &[("directory", dir_addr)])
            .await?;
        let r = alerts::run(
            &[a.addr("emergency")?, b.addr("emergency")?],
            dir_addr,
            &org,
            sizes.incidents,
        )
        .await?;
        anyhow::ensure!(r.delivered > 0, "no alert was delivered");
        results.alerts = Some(r);
        a.stop().await?;
        b.stop().await?;
    }

    if want(Scenario::Notices) {
        say(
            started,
            &format!(
                "scenario 3: seeding {} receipts (SQL), then publishing and reading inboxes",
                sizes.seeded_notices * org.people.len()
            ),
        );
        let seeded = seed::receipts(&env.database_url, &org, sizes.seeded_notices).await?;
        say(
            started,
            &format!(
                "  seeded {} receipts in {:.1} s",
                seeded.receipts, seeded.seconds
            ),
        );
        let r = notices::run(
            serve.addr("gateway")?,
            serve.addr("directory")?,
            &env.database_url,
            &org,
            seeded,
            sizes.publishes,
            sizes.inbox,
        )
        .await?;
        results.notices = Some(r);
    }

    if want(Scenario::Feedback) {
        say(
            started,
            "scenario 4: feedback submissions through the gateway",
        );
        results.feedback = feedback::run(serve.addr("gateway")?, &org, sizes.feedback).await?;
    }

    serve.stop().await?;
    directory.stop().await?;
    say(started, "done");
    Ok(())
}

fn path(key: &'static str, label: &str, addr: std::net::SocketAddr, procs: &[&Proc]) -> Path {
    Path {
        key,
        label: label.to_string(),
        addr,
        pids: procs.iter().filter_map(|p| p.pid()).collect(),
    }
}

/// Every target as `concord serve --target X` alone (the targets it needs
/// reached in the suite process), idle a second after it started.
async fn targets_alone(env: &Env, suite: &Proc) -> anyhow::Result<Vec<(String, Resident)>> {
    let names: Vec<&str> = suite.addrs.keys().map(String::as_str).collect();
    let mut out = Vec::new();
    for name in &names {
        let upstreams: Vec<(&str, std::net::SocketAddr)> = names
            .iter()
            .filter(|n| *n != name && **n != "gateway")
            .map(|n| Ok((*n, suite.addr(n)?)))
            .collect::<anyhow::Result<_>>()?;
        let p = env
            .concord(&format!("alone-{name}"), &[name], &upstreams)
            .await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        out.push((name.to_string(), p.resident().unwrap_or_default()));
        p.stop().await?;
    }
    Ok(out)
}

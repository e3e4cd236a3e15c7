//! The targets this binary can run and how a set of them is started in one
//! process: shared bus, clock and verifier; one listener per target; one
//! `/metrics` endpoint.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use concord_gateway::{GatewayConfig, RateLimit, TlsConfig, Upstream};
use concord_kit::auth::{Issuer, Verifier};
use concord_kit::authz::AuthLayer;
use concord_kit::bus::{InProcessBus, RedisBus, SharedBus};
use concord_kit::clients::{Credentials, Upstreams};
use concord_kit::clock::{SharedClock, SystemClock};
use concord_kit::config::Settings;
use concord_kit::db::Location;
use concord_kit::metrics::GrpcMetricsLayer;
use concord_kit::period::OrgZone;
use concord_kit::server::Limits;
use concord_kit::target::{Context, Target, closure};
use concord_proto::policy_table;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Every target, in no particular order; `closure` orders them.
pub const TARGETS: &[Target] = &[
    concord_directory::TARGET,
    concord_notices::TARGET,
    concord_emergency::TARGET,
    concord_feedback::TARGET,
    concord_decisions::TARGET,
    concord_training::TARGET,
    concord_appraisal::TARGET,
];

/// The gateway's target name; its port is `port_base` itself.
pub const GATEWAY: &str = "gateway";

/// Each target's migrations, for `concord migrate`.
pub const MIGRATIONS: &[(&str, concord_kit::db::Migrations)] = &[
    ("directory", concord_directory::MIGRATIONS),
    ("notices", concord_notices::MIGRATIONS),
    ("emergency", concord_emergency::MIGRATIONS),
    ("feedback", concord_feedback::MIGRATIONS),
    ("decisions", concord_decisions::MIGRATIONS),
    ("training", concord_training::MIGRATIONS),
    ("appraisal", concord_appraisal::MIGRATIONS),
];

/// Where listeners bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// `listen_host` with `port_base + offset`, metrics on `metrics_port`.
    Configured,
    /// Port 0 everywhere (tests).
    Ephemeral,
}

/// A running set of targets.
#[derive(Debug)]
pub struct RunningSuite {
    /// Address of each target's gRPC listener.
    pub addrs: BTreeMap<&'static str, SocketAddr>,
    pub metrics_addr: SocketAddr,
    pub shutdown: CancellationToken,
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
}

impl RunningSuite {
    /// Waits until every server has stopped (after `shutdown` is cancelled),
    /// returning the first error.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_err = None;
        while let Some(done) = self.tasks.join_next().await {
            match done {
                Ok((_, Ok(()))) => {}
                Ok((name, Err(e))) => {
                    tracing::error!(target_name = name, error = ?e, "target failed");
                    self.shutdown.cancel();
                    first_err.get_or_insert(e.context(format!("target {name}")));
                }
                Err(e) => {
                    self.shutdown.cancel();
                    first_err.get_or_insert(anyhow::Error::new(e));
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// The signing secret for development tokens: `CONCORD_JWT_SECRET`, or one
/// generated on first start and kept in the data directory.
pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &settings.jwt_secret {
        return Ok(s.expose_secret().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        anyhow::ensure!(
            existing.len() >= 32,
            "{} is too short; delete it to make a new one",
            path.display()
        );
        return Ok(existing.as_bytes().to_vec());
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating CONCORD_DATA_DIR {}", settings.data_dir.display()))?;
    let secret = {
        use base64::Engine;
        use rand::RngCore;
        let mut bytes = [0u8; 48];
        rand::rng().fill_bytes(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    write_private(&path, &secret)?;
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// Where target `name` keeps its data.
pub fn location(settings: &Settings, name: &str) -> Location {
    match &settings.database_url {
        Some(url) if !url.expose_secret().starts_with("sqlite:") => Location::Postgres {
            url: url.expose_secret().to_string(),
            schema: name.to_string(),
        },
        _ => Location::Sqlite {
            path: settings.data_dir.join(format!("{name}.db")),
        },
    }
}

/// Starts the closure of `wanted` with the shared pieces built from `settings`.
pub async fn start(
    settings: &Settings,
    wanted: &[String],
    bind: Bind,
    clock: Option<SharedClock>,
) -> anyhow::Result<RunningSuite> {
    let everything = wanted.is_empty() || wanted.iter().any(|w| w == "all");
    let run_gateway = everything || wanted.iter().any(|w| w == GATEWAY);
    let services: Vec<String> = wanted.iter().filter(|w| *w != GATEWAY).cloned().collect();
    // A needed target that runs elsewhere (its upstream is configured) is not
    // started here; one named explicitly always is.
    let targets: Vec<&Target> = if !everything && services.is_empty() {
        Vec::new()
    } else {
        closure(TARGETS, &services)
            .map_err(anyhow::Error::msg)?
            .into_iter()
            .filter(|t| {
                everything
                    || services.iter().any(|w| w == t.name)
                    || !settings.upstreams.contains_key(t.name)
            })
            .collect()
    };
    let secret = jwt_secret(settings)?;
    let verifier = Verifier::new(
        Some(&secret),
        settings.jwks_url.as_deref(),
        settings.jwt_issuer.as_deref(),
        settings.jwt_audience.as_deref(),
    )
    .await?;
    let bus: SharedBus = match &settings.redis_url {
        Some(url) => RedisBus::connect(url.expose_secret(), "concord:")
            .await
            .context("REDIS_URL: cannot connect")?,
        None => InProcessBus::new(),
    };
    let clock: SharedClock = clock.unwrap_or_else(|| Arc::new(SystemClock));
    let limits = Limits::from_settings(settings);
    let shutdown = CancellationToken::new();
    let host = settings.listen_host;
    let port = |p: u16| if bind == Bind::Ephemeral { 0 } else { p };

    let metrics_listener = TcpListener::bind((host, port(settings.metrics_port)))
        .await
        .with_context(|| {
            format!(
                "binding the metrics port {} (CONCORD_METRICS_PORT)",
                settings.metrics_port
            )
        })?;
    let metrics_addr = metrics_listener.local_addr()?;
    tokio::spawn(concord_kit::metrics::serve_metrics(
        metrics_listener,
        shutdown.clone(),
    ));

    // Bind every listener first, so each service knows where the others are.
    let mut listeners = Vec::new();
    let mut addrs = BTreeMap::new();
    let gateway_listener = match run_gateway {
        true => {
            let listener = TcpListener::bind((host, port(settings.port_base)))
                .await
                .with_context(|| {
                    format!("binding {host}:{} for the gateway", settings.port_base)
                })?;
            addrs.insert(GATEWAY, listener.local_addr()?);
            Some(listener)
        }
        false => None,
    };
    for target in &targets {
        // A base of 0 lets the system pick every port.
        let want_port = match settings.port_base {
            0 => 0,
            base => base
                .checked_add(target.port_offset)
                .context("CONCORD_PORT_BASE is too high")?,
        };
        let listener = TcpListener::bind((host, port(want_port)))
            .await
            .with_context(|| format!("binding {host}:{want_port} for {}", target.name))?;
        addrs.insert(target.name, listener.local_addr()?);
        listeners.push(listener);
    }
    let mut upstream_addrs: BTreeMap<String, String> = addrs
        .iter()
        .filter(|(name, _)| **name != GATEWAY)
        .map(|(name, addr)| (name.to_string(), format!("http://{addr}")))
        .collect();
    // Configured addresses win: a target may run elsewhere even if named here.
    upstream_addrs.extend(settings.upstreams.clone());
    let issuer = Issuer::new(&secret);
    let zone: OrgZone = settings
        .timezone
        .parse()
        .map_err(|e| anyhow::anyhow!("CONCORD_TIMEZONE: {e}"))?;

    let mut tasks = JoinSet::new();
    let mut gateway = GatewayConfig::from_settings(settings);
    for (target, listener) in targets.into_iter().zip(listeners) {
        let ctx = Context {
            location: location(settings, target.name),
            clock: clock.clone(),
            zone,
            bus: bus.clone(),
            limits,
            upstreams: Upstreams::new(
                upstream_addrs.clone(),
                Credentials::issuer(issuer.clone(), target.name),
                limits.request_timeout,
            ),
            shutdown: shutdown.clone(),
        };
        let service = (target.start)(ctx)
            .await
            .with_context(|| format!("starting target {}", target.name))?;
        // The gateway reaches this service in-process, through the same
        // metrics and auth layers its own server applies.
        let local = Upstream::local(
            tower::ServiceBuilder::new()
                .layer(GrpcMetricsLayer::service())
                .layer(AuthLayer::new(verifier.clone()))
                .service(service.routes.clone()),
        );
        for name in &service.health_names {
            gateway.upstreams.insert(name.to_string(), local.clone());
        }
        let (verifier, shutdown, name) = (verifier.clone(), shutdown.clone(), target.name);
        tasks.spawn(async move {
            (
                name,
                concord_kit::server::serve(listener, service, verifier, limits, shutdown).await,
            )
        });
    }
    if let Some(listener) = gateway_listener {
        // Services run elsewhere are reached by address.
        for (target, url) in &settings.upstreams {
            let uri: http::Uri = url
                .parse()
                .with_context(|| format!("CONCORD_UPSTREAMS__{}", target.to_uppercase()))?;
            let prefix = format!("concord.{target}.");
            for name in policy_table::services()
                .into_iter()
                .filter(|s| s.starts_with(&prefix))
            {
                gateway
                    .upstreams
                    .entry(name.to_string())
                    .or_insert_with(|| Upstream::Remote(uri.clone()));
            }
        }
        gateway.rate_limit = RateLimit {
            per_second: settings.gateway_rate_per_second,
            burst: settings.gateway_rate_burst,
        };
        gateway.max_in_flight = settings.gateway_max_in_flight;
        if let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) {
            let mut tls = TlsConfig::new(cert, key);
            tls.client_ca_path = settings.tls_client_ca.clone();
            tls.require_client_cert = settings.tls_require_client_cert;
            gateway.tls = Some(tls);
        }
        for name in policy_table::services() {
            if !gateway.upstreams.contains_key(name) {
                tracing::warn!(
                    service = name,
                    "no upstream for this service: the gateway answers UNIMPLEMENTED"
                );
            }
        }
        let (verifier, shutdown) = (verifier.clone(), shutdown.clone());
        tasks.spawn(async move {
            (
                GATEWAY,
                concord_gateway::serve(listener, gateway, verifier, shutdown).await,
            )
        });
    }
    Ok(RunningSuite {
        addrs,
        metrics_addr,
        shutdown,
        tasks,
    })
}

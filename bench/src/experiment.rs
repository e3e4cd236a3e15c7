//! Experiments the runner adds with `--experiments`: changes to how Concord
//! runs that are not shipped, measured next to what is.
//!
//! `concord-bench gateway`: the gateway alone in front of remote upstreams
//! (`CONCORD_UPSTREAMS__<TARGET>`), wired as `concord serve --target
//! gateway` wires it, but on a current-thread runtime: one thread carries
//! every connection, so a call crosses no thread inside the gateway.

use concord_gateway::{GatewayConfig, RateLimit, Upstream};
use concord_kit::auth::Verifier;
use concord_kit::config::Settings;
use concord_proto::policy_table;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(serde::Serialize)]
struct NoFlags {}

/// Serves the gateway until SIGTERM on a current-thread runtime.
pub fn gateway() -> anyhow::Result<()> {
    let settings = Settings::load(None, NoFlags {})?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let _telemetry = concord_kit::telemetry::init(&settings, "concord-bench-gateway")?;
        let terminated = concord_kit::server::termination_signal();
        let secret = settings
            .jwt_secret
            .as_ref()
            .map(|s| s.expose_secret().as_bytes().to_vec())
            .ok_or_else(|| anyhow::anyhow!("the gateway needs CONCORD_JWT_SECRET"))?;
        let verifier = Verifier::hs256(&secret);
        let mut config = GatewayConfig::from_settings(&settings);
        for (target, url) in &settings.upstreams {
            let uri: http::Uri = url.parse()?;
            let prefix = format!("concord.{target}.");
            for name in policy_table::services()
                .into_iter()
                .filter(|s| s.starts_with(&prefix))
            {
                config
                    .upstreams
                    .insert(name.to_string(), Upstream::Remote(uri.clone()));
            }
        }
        config.rate_limit = RateLimit {
            per_second: settings.gateway_rate_per_second,
            burst: settings.gateway_rate_burst,
        };
        config.max_in_flight = settings.gateway_max_in_flight;
        let listener = TcpListener::bind((settings.listen_host, 0)).await?;
        println!("  gateway    {}", listener.local_addr()?);
        println!("ready");
        let shutdown = CancellationToken::new();
        let serving = concord_gateway::serve(listener, config, verifier, shutdown.clone());
        tokio::pin!(serving);
        tokio::select! {
            r = &mut serving => return r,
            _ = terminated => shutdown.cancel(),
        }
        serving.await
    })
}

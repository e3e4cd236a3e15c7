//! Configuration, read once at start into typed settings: defaults, then a
//! TOML file, then the environment, then command-line flags. A wrong value
//! stops the process with a message naming the setting.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How logs are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting of a Concord process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the embedded default keeps its SQLite files and signing secret
    /// (`CONCORD_DATA_DIR`).
    pub data_dir: PathBuf,
    /// PostgreSQL instead of SQLite (`DATABASE_URL`, `postgres://…`).
    pub database_url: Option<SecretString>,
    /// Redis pub/sub instead of the in-process bus (`REDIS_URL`, `redis://…`).
    pub redis_url: Option<SecretString>,
    /// HS256 signing secret for development tokens (`CONCORD_JWT_SECRET`);
    /// generated into the data directory when unset.
    pub jwt_secret: Option<SecretString>,
    /// An identity provider's JWKS for RS256 tokens (`CONCORD_JWKS_URL`).
    pub jwks_url: Option<String>,
    /// Expected `iss` of identity-provider tokens (`CONCORD_JWT_ISSUER`).
    pub jwt_issuer: Option<String>,
    /// Expected `aud` of identity-provider tokens (`CONCORD_JWT_AUDIENCE`).
    pub jwt_audience: Option<String>,
    /// Log filter directives (`RUST_LOG`).
    pub log: String,
    /// `text` or `json` (`CONCORD_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// OTLP/gRPC collector for traces (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub otlp_endpoint: Option<String>,
    /// Address every listener binds (`CONCORD_LISTEN_HOST`).
    pub listen_host: IpAddr,
    /// The gateway's port; each service listens on this plus its offset
    /// (`CONCORD_PORT_BASE`).
    pub port_base: u16,
    /// Port of the Prometheus `/metrics` endpoint (`CONCORD_METRICS_PORT`).
    pub metrics_port: u16,
    /// Largest gRPC message accepted, in bytes (`CONCORD_MAX_MESSAGE_BYTES`).
    pub max_message_bytes: usize,
    /// Concurrent HTTP/2 streams per connection (`CONCORD_MAX_CONCURRENT_STREAMS`).
    pub max_concurrent_streams: u32,
    /// Time limit of a unary call in seconds (`CONCORD_REQUEST_TIMEOUT_SECS`).
    pub request_timeout_secs: u64,
    /// How long shutdown waits for in-flight calls (`CONCORD_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
    /// How long a stopping server keeps accepting after reporting
    /// NOT_SERVING, so load balancers and probes see it before the port
    /// closes (`CONCORD_SHUTDOWN_DRAIN_SECS`).
    pub shutdown_drain_secs: u64,
    /// Calls per second each principal may make through the gateway
    /// (`CONCORD_GATEWAY_RATE_PER_SECOND`).
    pub gateway_rate_per_second: f64,
    /// Calls a principal may make at once before the rate applies
    /// (`CONCORD_GATEWAY_RATE_BURST`).
    pub gateway_rate_burst: u32,
    /// Calls the gateway admits at once; more are refused at once
    /// (`CONCORD_GATEWAY_MAX_IN_FLIGHT`).
    pub gateway_max_in_flight: usize,
    /// PEM certificate chain the gateway serves TLS with (`CONCORD_TLS_CERT`);
    /// plaintext when unset.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (`CONCORD_TLS_KEY`).
    pub tls_key: Option<PathBuf>,
    /// CA bundle client certificates must chain to (`CONCORD_TLS_CLIENT_CA`).
    pub tls_client_ca: Option<PathBuf>,
    /// Refuse clients without a certificate (`CONCORD_TLS_REQUIRE_CLIENT_CERT`).
    pub tls_require_client_cert: bool,
    /// The organisation's time zone for calendars and per-day statistics
    /// (`CONCORD_TIMEZONE`, an IANA name).
    pub timezone: String,
    /// Addresses of services not run in this process, by target name
    /// (`CONCORD_UPSTREAMS__DIRECTORY=http://directory:50051`).
    pub upstreams: std::collections::BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("concord-data"),
            database_url: None,
            redis_url: None,
            jwt_secret: None,
            jwks_url: None,
            jwt_issuer: None,
            jwt_audience: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            listen_host: IpAddr::from([127, 0, 0, 1]),
            port_base: 50050,
            metrics_port: 9464,
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_streams: 256,
            request_timeout_secs: 30,
            shutdown_grace_secs: 20,
            shutdown_drain_secs: 0,
            gateway_rate_per_second: 100.0,
            gateway_rate_burst: 200,
            gateway_max_in_flight: 1024,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            tls_require_client_cert: false,
            timezone: "Asia/Shanghai".into(),
            upstreams: Default::default(),
        }
    }
}

/// The settings read from `CONCORD_<NAME>` variables.
const ENV_SETTINGS: &[&str] = &[
    "data_dir",
    "jwt_secret",
    "jwks_url",
    "jwt_issuer",
    "jwt_audience",
    "log_format",
    "listen_host",
    "port_base",
    "metrics_port",
    "max_message_bytes",
    "max_concurrent_streams",
    "request_timeout_secs",
    "shutdown_grace_secs",
    "shutdown_drain_secs",
    "timezone",
    "gateway_rate_per_second",
    "gateway_rate_burst",
    "gateway_max_in_flight",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
    "tls_require_client_cert",
];

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    #[error("configuration: {setting} {why}")]
    Invalid { setting: &'static str, why: String },
}

impl Settings {
    /// Reads defaults < `file` (TOML, when given) < environment < `flags`.
    pub fn load(file: Option<&Path>, flags: impl Serialize) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Invalid {
                    setting: "--config",
                    why: format!("names {} which does not exist", file.display()),
                });
            }
            figment = figment.merge(Toml::file(file));
        }
        let settings: Settings = figment
            .merge(
                Env::raw()
                    .only(&[
                        "DATABASE_URL",
                        "REDIS_URL",
                        "RUST_LOG",
                        "OTEL_EXPORTER_OTLP_ENDPOINT",
                    ])
                    .map(|k| match k.as_str() {
                        "RUST_LOG" => "log".into(),
                        "OTEL_EXPORTER_OTLP_ENDPOINT" => "otlp_endpoint".into(),
                        _ => k.as_str().to_lowercase().into(),
                    }),
            )
            // Only the settings' own names: other CONCORD_* variables (the
            // tests' CONCORD_TEST_*, CONCORD_CONFIG) are not settings.
            .merge(
                Env::prefixed("CONCORD_")
                    .filter(|k| {
                        let k = k.as_str().to_ascii_lowercase();
                        ENV_SETTINGS.contains(&k.as_str()) || k.starts_with("upstreams__")
                    })
                    .split("__"),
            )
            .merge(Serialized::globals(flags))
            .extract()
            .map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |setting, why: &str| {
            Err(ConfigError::Invalid {
                setting,
                why: why.into(),
            })
        };
        if let Some(url) = &self.database_url {
            let url = url.expose_secret();
            if !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
            {
                return bad(
                    "DATABASE_URL",
                    "must start with postgres://, postgresql:// or sqlite:",
                );
            }
        }
        if let Some(url) = &self.redis_url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return bad("REDIS_URL", "must start with redis:// or rediss://");
            }
        }
        if let Some(secret) = &self.jwt_secret
            && secret.expose_secret().len() < 32
        {
            return bad("CONCORD_JWT_SECRET", "must be at least 32 bytes");
        }
        if let Some(url) = &self.jwks_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return bad("CONCORD_JWKS_URL", "must be an http(s) URL");
        }
        if let Some(url) = &self.otlp_endpoint
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return bad("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http(s) URL");
        }
        if let Err(e) = self.log.parse::<tracing_subscriber::EnvFilter>() {
            return Err(ConfigError::Invalid {
                setting: "RUST_LOG",
                why: format!("is not a valid filter: {e}"),
            });
        }
        if self.max_message_bytes < 1024 {
            return bad("CONCORD_MAX_MESSAGE_BYTES", "must be at least 1024");
        }
        if self.request_timeout_secs == 0 {
            return bad("CONCORD_REQUEST_TIMEOUT_SECS", "must be at least 1");
        }
        if self.max_concurrent_streams == 0 {
            return bad("CONCORD_MAX_CONCURRENT_STREAMS", "must be at least 1");
        }
        if !(self.gateway_rate_per_second.is_finite() && self.gateway_rate_per_second > 0.0) {
            return bad(
                "CONCORD_GATEWAY_RATE_PER_SECOND",
                "must be a positive number",
            );
        }
        if self.gateway_rate_burst == 0 {
            return bad("CONCORD_GATEWAY_RATE_BURST", "must be at least 1");
        }
        if self.gateway_max_in_flight == 0 {
            return bad("CONCORD_GATEWAY_MAX_IN_FLIGHT", "must be at least 1");
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return bad(
                "CONCORD_TLS_CERT",
                "and CONCORD_TLS_KEY must be set together",
            );
        }
        if self.tls_require_client_cert && self.tls_client_ca.is_none() {
            return bad(
                "CONCORD_TLS_REQUIRE_CLIENT_CERT",
                "needs CONCORD_TLS_CLIENT_CA",
            );
        }
        if self.tls_client_ca.is_some() && self.tls_cert.is_none() {
            return bad(
                "CONCORD_TLS_CLIENT_CA",
                "needs CONCORD_TLS_CERT and CONCORD_TLS_KEY",
            );
        }
        if let Err(e) = self.timezone.parse::<crate::period::OrgZone>() {
            return Err(ConfigError::Invalid {
                setting: "CONCORD_TIMEZONE",
                why: format!("is not a time zone name: {e}"),
            });
        }
        for (name, url) in &self.upstreams {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    setting: "CONCORD_UPSTREAMS",
                    why: format!("{name} must be an http(s) URL, got {url:?}"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API fixes the error type
    fn layers_apply_in_order_and_bad_values_name_the_setting() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "port_base = 6000\nmetrics_port = 7000\nlog = \"debug\"",
            )?;
            jail.set_env("CONCORD_METRICS_PORT", "7100");
            jail.set_env("CONCORD_TEST_SOMETHING", "not a setting");
            jail.set_env("CONCORD_UPSTREAMS__NOTICES", "http://notices:50052");
            let flags = serde_json::json!({ "log": "warn" });
            let s = Settings::load(Some(Path::new("c.toml")), &flags).expect("loads");
            assert_eq!(s.port_base, 6000); // file over default
            assert_eq!(s.metrics_port, 7100); // environment over file
            assert_eq!(s.log, "warn"); // flag over everything
            assert_eq!(s.upstreams["notices"], "http://notices:50052");

            jail.set_env("CONCORD_METRICS_PORT", "lots");
            let err = Settings::load(None, serde_json::json!({}))
                .unwrap_err()
                .to_string();
            assert!(err.contains("METRICS_PORT"), "{err}");

            jail.set_env("CONCORD_METRICS_PORT", "7100");
            jail.set_env("DATABASE_URL", "mysql://x");
            let err = Settings::load(None, serde_json::json!({}))
                .unwrap_err()
                .to_string();
            assert!(err.contains("DATABASE_URL"), "{err}");
            Ok(())
        });
    }
}

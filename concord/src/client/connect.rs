//! One connection to the gateway for a command: the address and token from
//! flags, the environment or the saved login, every call signed with the
//! token (which is never printed or logged), typed clients per service.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use concord_kit::period::OrgZone;
use tonic::codegen::InterceptedService;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use super::config::ClientConfig;
use super::error::CliError;
use super::output::Format;

/// Where the gateway is when nothing says otherwise (`concord serve`'s default).
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:50050";

/// How a command reaches the gateway and prints what it gets.
#[derive(Args, Clone, Debug, Default)]
pub struct ConnArgs {
    /// The gateway: `host:port`, `http://…` or `https://…`.
    #[arg(long, global = true, env = "CONCORD_ADDR", value_name = "ADDR")]
    pub addr: Option<String>,
    /// Bearer token (see `concord token issue` and `concord login`).
    #[arg(
        long,
        global = true,
        env = "CONCORD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// Output: a readable table, or protobuf JSON for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Give up on a call after this many seconds (exit 6).
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// A CA bundle (PEM) to verify an https:// gateway with (else the
    /// public web roots).
    #[arg(long, global = true, env = "CONCORD_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// Adds `authorization: Bearer …` to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// A channel that signs every call.
pub type Authed = InterceptedService<Channel, Bearer>;

/// An open (lazily connecting) line to the gateway.
#[derive(Clone)]
pub struct Conn {
    raw: Channel,
    bearer: Bearer,
    addr: String,
    token: Option<String>,
    pub format: Format,
    pub zone: OrgZone,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Resolves address and token (flags and environment first, then the
    /// saved login) and prepares the channel; nothing is sent yet.
    pub fn open(args: &ConnArgs, zone: OrgZone) -> Result<Self, CliError> {
        let saved = ClientConfig::load()?;
        let addr = args
            .addr
            .clone()
            .or(saved.addr)
            .unwrap_or_else(|| DEFAULT_ADDR.to_string());
        // A token from a flag or the environment replaces the saved one.
        let token = args
            .token
            .clone()
            .or(saved.token)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let ca = args.ca_cert.clone().or(saved.ca_cert);
        Self::with(
            &addr,
            token,
            ca,
            args.format(),
            Duration::from_secs(args.timeout),
            zone,
        )
    }

    /// A connection to `addr` with `token`, for callers that have both.
    pub fn with(
        addr: &str,
        token: Option<String>,
        ca_cert: Option<PathBuf>,
        format: Format,
        timeout: Duration,
        zone: OrgZone,
    ) -> Result<Self, CliError> {
        let addr = normalise(addr);
        let mut endpoint = Endpoint::from_shared(addr.clone())
            .map_err(|e| CliError::usage(format!("--addr {addr:?} is not a usable address: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .tcp_nodelay(true);
        if addr.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_webpki_roots();
            if let Some(path) = &ca_cert {
                let pem = std::fs::read(path)
                    .map_err(|e| CliError::usage(format!("--ca-cert {}: {e}", path.display())))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| CliError::usage(format!("TLS for {addr}: {e}")))?;
        }
        Ok(Self {
            raw: endpoint.connect_lazy(),
            bearer: bearer(token.as_deref())?,
            addr,
            token,
            format,
            zone,
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The signed channel, for any generated client.
    pub fn channel(&self) -> Authed {
        InterceptedService::new(self.raw.clone(), self.bearer.clone())
    }

    /// The same connection signing its calls with another token.
    pub fn signed(&self, token: String) -> Result<Conn, CliError> {
        Ok(Conn {
            raw: self.raw.clone(),
            bearer: bearer(Some(&token))?,
            addr: self.addr.clone(),
            token: Some(token),
            format: self.format,
            zone: self.zone,
        })
    }

    /// Whether output is JSON.
    pub fn json(&self) -> bool {
        self.format == Format::Json
    }
}

macro_rules! clients {
    ($($name:ident => $client:ty),* $(,)?) => {
        impl Conn {
            $(
                pub fn $name(&self) -> $client {
                    <$client>::new(self.channel())
                }
            )*
        }
    };
}

use concord_proto::appraisal::v1::appraisal_service_client::AppraisalServiceClient;
use concord_proto::decisions::v1::action_item_service_client::ActionItemServiceClient;
use concord_proto::decisions::v1::decision_service_client::DecisionServiceClient;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::emergency::v1::emergency_service_client::EmergencyServiceClient;
use concord_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use concord_proto::notices::v1::meeting_service_client::MeetingServiceClient;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use concord_proto::training::v1::development_service_client::DevelopmentServiceClient;
use concord_proto::training::v1::training_service_client::TrainingServiceClient;

clients! {
    directory => DirectoryServiceClient<Authed>,
    notices => NoticeServiceClient<Authed>,
    meetings => MeetingServiceClient<Authed>,
    decisions => DecisionServiceClient<Authed>,
    actions => ActionItemServiceClient<Authed>,
    feedback => FeedbackServiceClient<Authed>,
    emergency => EmergencyServiceClient<Authed>,
    appraisal => AppraisalServiceClient<Authed>,
    training => TrainingServiceClient<Authed>,
    development => DevelopmentServiceClient<Authed>,
}

impl ConnArgs {
    pub fn format(&self) -> Format {
        self.output
    }
}

fn bearer(token: Option<&str>) -> Result<Bearer, CliError> {
    let value = match token {
        Some(t) => Some(
            format!("Bearer {t}")
                .parse()
                .map_err(|_| CliError::usage("the token has characters a header cannot carry"))?,
        ),
        None => None,
    };
    Ok(Bearer(value))
}

/// `host:port` means plaintext HTTP/2 (`http://host:port`).
fn normalise(addr: &str) -> String {
    let addr = addr.trim();
    if addr.contains("://") {
        addr.trim_end_matches('/').to_string()
    } else {
        format!("http://{addr}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_port_is_plaintext() {
        assert_eq!(normalise("127.0.0.1:50050"), "http://127.0.0.1:50050");
        assert_eq!(normalise("https://gw.example/"), "https://gw.example");
    }
}

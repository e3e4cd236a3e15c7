//! Calls between services: a channel to another target, carrying this
//! service's identity (a token with the `service` role) and the current
//! trace context. Services call each other directly, not through the gateway.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use concord_proto::policy::v1::Role;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::auth::Issuer;

/// A channel that authenticates as a service and propagates traces.
pub type ServiceChannel = InterceptedService<Channel, ServiceAuth>;

/// How this service proves who it is to the others.
#[derive(Clone)]
pub enum Credentials {
    /// Mint short-lived development tokens with the shared secret.
    Issuer {
        issuer: Issuer,
        name: String,
        cached: Arc<RwLock<Option<(String, std::time::Instant)>>>,
    },
    /// A token provided by the platform (`CONCORD_SERVICE_TOKEN`).
    Static(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Issuer { name, .. } => write!(f, "Credentials::Issuer({name})"),
            Credentials::Static(_) => f.write_str("Credentials::Static(..)"),
        }
    }
}

const TOKEN_TTL: Duration = Duration::from_secs(3600);

impl Credentials {
    pub fn issuer(issuer: Issuer, service_name: &str) -> Self {
        Credentials::Issuer {
            issuer,
            name: service_name.to_string(),
            cached: Arc::default(),
        }
    }

    fn bearer(&self) -> Result<String, tonic::Status> {
        match self {
            Credentials::Static(t) => Ok(t.clone()),
            Credentials::Issuer {
                issuer,
                name,
                cached,
            } => {
                if let Some((token, made)) =
                    cached.read().unwrap_or_else(|p| p.into_inner()).as_ref()
                    && made.elapsed() < TOKEN_TTL / 2
                {
                    return Ok(token.clone());
                }
                let token = issuer
                    .issue(name, &[Role::Service], None, TOKEN_TTL)
                    .map_err(|e| {
                        tonic::Status::internal(format!("cannot sign a service token: {e}"))
                    })?;
                *cached.write().unwrap_or_else(|p| p.into_inner()) =
                    Some((token.clone(), std::time::Instant::now()));
                Ok(token)
            }
        }
    }
}

/// Adds the service token and the trace context to every outgoing call.
#[derive(Debug, Clone)]
pub struct ServiceAuth {
    credentials: Credentials,
}

impl tonic::service::Interceptor for ServiceAuth {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = crate::telemetry::PropagateTrace.call(request)?;
        let value = format!("Bearer {}", self.credentials.bearer()?)
            .parse()
            .map_err(|_| tonic::Status::internal("service token is not valid metadata"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// Addresses of the other targets and this service's credentials.
#[derive(Debug, Clone)]
pub struct Upstreams {
    addresses: BTreeMap<String, String>,
    credentials: Credentials,
    request_timeout: Duration,
}

impl Upstreams {
    /// `addresses` maps target names to `http://host:port`.
    pub fn new(
        addresses: BTreeMap<String, String>,
        credentials: Credentials,
        request_timeout: Duration,
    ) -> Self {
        Self {
            addresses,
            credentials,
            request_timeout,
        }
    }

    /// The same addresses, with credentials naming another service.
    pub fn for_service(&self, credentials: Credentials) -> Self {
        Self {
            credentials,
            ..self.clone()
        }
    }

    /// A lazily connecting channel to `target` (reconnects by itself).
    pub fn channel(&self, target: &str) -> anyhow::Result<ServiceChannel> {
        let url = self.addresses.get(target).ok_or_else(|| {
            anyhow::anyhow!(
                "no address for target {target}: run it here or set CONCORD_UPSTREAMS__{}",
                target.to_uppercase()
            )
        })?;
        let channel = Endpoint::from_shared(url.clone())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(self.request_timeout)
            .tcp_nodelay(true)
            .connect_lazy();
        Ok(InterceptedService::new(
            channel,
            ServiceAuth {
                credentials: self.credentials.clone(),
            },
        ))
    }
}

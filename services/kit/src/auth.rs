//! Identity: bearer JWTs verified once per call into a [`Principal`].
//! Development tokens are HS256 with a shared secret; production tokens are
//! RS256 from an identity provider, verified against its JWKS. Verified
//! tokens are cached until they expire, so the hot path is one map lookup.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use concord_proto::policy::v1::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Issuer of development tokens.
pub const DEV_ISSUER: &str = "concord-dev";

/// Who is calling: a person (or a service) with a department and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The person id (or the service name for service identities).
    pub subject: String,
    /// The department the person belongs to, when known.
    pub department_id: Option<String>,
    pub roles: Vec<Role>,
    /// Expiry of the token, seconds since the epoch.
    pub expires_at: i64,
}

impl Principal {
    /// The service itself, acting on its own: what its deadlines and timers
    /// do. `actor` is how the audit trail names it (`"system:decisions"`).
    pub fn service(actor: &str) -> Self {
        Self {
            subject: actor.to_string(),
            department_id: None,
            roles: vec![Role::Service],
            expires_at: i64::MAX,
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }

    /// Another Concord service acting on its own behalf.
    pub fn is_service(&self) -> bool {
        self.has(Role::Service)
    }

    /// Heads the given department (resource rules may extend this to the
    /// department's subtree).
    pub fn heads(&self, department_id: &str) -> bool {
        self.has(Role::DepartmentHead) && self.department_id.as_deref() == Some(department_id)
    }
}

/// Parses a role as written in tokens and on the command line.
pub fn parse_role(s: &str) -> Option<Role> {
    Some(match s {
        "admin" => Role::Admin,
        "department_head" | "head" => Role::DepartmentHead,
        "coordinator" => Role::Coordinator,
        "member" => Role::Member,
        "auditor" => Role::Auditor,
        "service" => Role::Service,
        _ => return None,
    })
}

/// The spelling of a role in tokens.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::DepartmentHead => "department_head",
        Role::Coordinator => "coordinator",
        Role::Member => "member",
        Role::Auditor => "auditor",
        Role::Service => "service",
        Role::Unspecified => "unspecified",
    }
}

/// The claims Concord reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    #[serde(default)]
    pub iss: String,
}

/// Why a token was refused. Every variant is answered UNAUTHENTICATED.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("malformed authorization header")]
    Malformed,
    #[error("token expired")]
    Expired,
    #[error("invalid token: {0}")]
    Invalid(String),
}

impl From<AuthError> for tonic::Status {
    fn from(e: AuthError) -> Self {
        tonic::Status::unauthenticated(e.to_string())
    }
}

/// Signs development tokens (HS256).
#[derive(Clone)]
pub struct Issuer {
    key: EncodingKey,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Issuer(..)")
    }
}

impl Issuer {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
        }
    }

    /// A token for `subject` valid for `ttl`.
    pub fn issue(
        &self,
        subject: &str,
        roles: &[Role],
        department_id: Option<&str>,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let now = now_secs();
        let claims = Claims {
            sub: subject.to_string(),
            dept: department_id.map(str::to_string),
            roles: roles.iter().map(|r| role_name(*r).to_string()).collect(),
            iat: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iss: DEV_ISSUER.to_string(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.key,
        )?)
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Keys of an identity provider, refreshed in the background.
struct Jwks {
    url: String,
    keys: RwLock<HashMap<String, DecodingKey>>,
    validation: Validation,
    http: reqwest::Client,
}

impl Jwks {
    async fn refresh(&self) -> anyhow::Result<()> {
        let set: jsonwebtoken::jwk::JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            if let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) {
                keys.insert(kid, key);
            }
        }
        tracing::info!(url = %self.url, keys = keys.len(), "loaded JWKS");
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(())
    }
}

/// Verifies bearer tokens. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    hs256: Option<(DecodingKey, Validation)>,
    jwks: Option<Arc<Jwks>>,
    cache: RwLock<HashMap<String, Arc<Principal>>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256", &self.inner.hs256.is_some())
            .field("jwks", &self.inner.jwks.as_ref().map(|j| j.url.clone()))
            .finish()
    }
}

/// The most verified tokens kept; beyond it the cache is emptied of expired ones.
const CACHE_LIMIT: usize = 50_000;

impl Verifier {
    /// A verifier of development tokens only.
    pub fn hs256(secret: &[u8]) -> Self {
        Self::build(Some(secret), None)
    }

    fn build(secret: Option<&[u8]>, jwks: Option<Arc<Jwks>>) -> Self {
        let hs256 = secret.map(|s| {
            let mut v = Validation::new(Algorithm::HS256);
            v.set_issuer(&[DEV_ISSUER]);
            v.leeway = 5;
            (DecodingKey::from_secret(s), v)
        });
        Self {
            inner: Arc::new(VerifierInner {
                hs256,
                jwks,
                cache: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// A verifier of development tokens (when `secret` is given) and of an
    /// identity provider's RS256 tokens (when `jwks_url` is given). The JWKS
    /// is fetched now and refreshed every ten minutes.
    pub async fn new(
        secret: Option<&[u8]>,
        jwks_url: Option<&str>,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> anyhow::Result<Self> {
        let jwks = match jwks_url {
            Some(url) => {
                let mut validation = Validation::new(Algorithm::RS256);
                validation.algorithms = vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];
                validation.leeway = 30;
                match issuer {
                    Some(iss) => validation.set_issuer(&[iss]),
                    None => validation.iss = None,
                }
                match audience {
                    Some(aud) => validation.set_audience(&[aud]),
                    None => validation.validate_aud = false,
                }
                let jwks = Arc::new(Jwks {
                    url: url.to_string(),
                    keys: RwLock::new(HashMap::new()),
                    validation,
                    http: reqwest::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()?,
                });
                jwks.refresh()
                    .await
                    .map_err(|e| anyhow::anyhow!("CONCORD_JWKS_URL {url}: {e}"))?;
                let weak = Arc::downgrade(&jwks);
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        let Some(jwks) = weak.upgrade() else { break };
                        if let Err(e) = jwks.refresh().await {
                            tracing::warn!(error = %e, "JWKS refresh failed; keeping the old keys");
                        }
                    }
                });
                Some(jwks)
            }
            None => None,
        };
        if secret.is_none() && jwks.is_none() {
            anyhow::bail!("no way to verify tokens: set CONCORD_JWT_SECRET or CONCORD_JWKS_URL");
        }
        Ok(Self::build(secret, jwks))
    }

    /// Verifies an `authorization` header value (`Bearer …`).
    pub fn verify_header(
        &self,
        value: Option<&http::HeaderValue>,
    ) -> Result<Arc<Principal>, AuthError> {
        let value = value.ok_or(AuthError::Missing)?;
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::Malformed)?
            .trim();
        self.verify(token)
    }

    /// Verifies a token, answering from the cache when it was seen before.
    pub fn verify(&self, token: &str) -> Result<Arc<Principal>, AuthError> {
        let now = now_secs();
        if let Some(p) = self
            .inner
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
        {
            if p.expires_at > now {
                return Ok(p.clone());
            }
            return Err(AuthError::Expired);
        }
        let principal = Arc::new(self.verify_uncached(token)?);
        let mut cache = self.inner.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.retain(|_, p| p.expires_at > now);
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
        }
        cache.insert(token.to_string(), principal.clone());
        Ok(principal)
    }

    fn verify_uncached(&self, token: &str) -> Result<Principal, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let claims = match header.alg {
            Algorithm::HS256 => {
                let (key, validation) = self.inner.hs256.as_ref().ok_or_else(|| {
                    AuthError::Invalid("HS256 tokens are not accepted here".into())
                })?;
                decode(token, key, validation)?
            }
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
                let jwks = self.inner.jwks.as_ref().ok_or_else(|| {
                    AuthError::Invalid("RS256 tokens are not accepted here".into())
                })?;
                let kid = header
                    .kid
                    .ok_or_else(|| AuthError::Invalid("token has no kid".into()))?;
                let keys = jwks.keys.read().unwrap_or_else(|p| p.into_inner());
                let Some(key) = keys.get(&kid) else {
                    drop(keys);
                    // A rotated key: fetch the set again for the next attempt.
                    let jwks = jwks.clone();
                    tokio::spawn(async move { jwks.refresh().await.ok() });
                    return Err(AuthError::Invalid(format!("unknown key id {kid}")));
                };
                decode(token, key, &jwks.validation)?
            }
            other => {
                return Err(AuthError::Invalid(format!(
                    "algorithm {other:?} is not accepted"
                )));
            }
        };
        let roles = claims
            .roles
            .iter()
            .map(|r| parse_role(r).ok_or_else(|| AuthError::Invalid(format!("unknown role {r:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if claims.sub.is_empty() {
            return Err(AuthError::Invalid("token has no subject".into()));
        }
        Ok(Principal {
            subject: claims.sub,
            department_id: claims.dept.filter(|d| !d.is_empty()),
            roles,
            expires_at: claims.exp,
        })
    }
}

fn decode(token: &str, key: &DecodingKey, validation: &Validation) -> Result<Claims, AuthError> {
    jsonwebtoken::decode::<Claims>(token, key, validation)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid(e.to_string()),
        })
}

/// The verified caller of a request, put there by the auth layer.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Arc<Principal>, tonic::Status> {
    request
        .extensions()
        .get::<Arc<Principal>>()
        .cloned()
        .ok_or_else(|| tonic::Status::unauthenticated("missing bearer token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn issued_tokens_verify_into_a_principal() {
        let issuer = Issuer::new(SECRET);
        let token = issuer
            .issue(
                "p1",
                &[Role::DepartmentHead],
                Some("d1"),
                Duration::from_secs(60),
            )
            .unwrap();
        let p = Verifier::hs256(SECRET).verify(&token).unwrap();
        assert_eq!(p.subject, "p1");
        assert!(p.heads("d1"));
        assert!(!p.is_admin());
        let timer = Principal::service("system:decisions");
        assert!(timer.is_service() && !timer.is_admin());
        assert_eq!(timer.subject, "system:decisions");
    }

    #[test]
    fn forged_expired_and_malformed_tokens_are_refused() {
        let verifier = Verifier::hs256(SECRET);
        let forged = Issuer::new(b"another-secret-another-secret-xx")
            .issue("p1", &[Role::Admin], None, Duration::from_secs(60))
            .unwrap();
        assert!(matches!(
            verifier.verify(&forged),
            Err(AuthError::Invalid(_))
        ));
        let claims = Claims {
            sub: "p1".into(),
            dept: None,
            roles: vec![],
            exp: now_secs() - 600,
            iat: 0,
            iss: DEV_ISSUER.into(),
        };
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(matches!(verifier.verify(&expired), Err(AuthError::Expired)));
        assert!(matches!(
            verifier.verify("not.a.jwt"),
            Err(AuthError::Invalid(_))
        ));
        assert!(matches!(
            verifier.verify_header(Some(&http::HeaderValue::from_static("Basic x"))),
            Err(AuthError::Malformed)
        ));
        assert!(matches!(
            verifier.verify_header(None),
            Err(AuthError::Missing)
        ));
    }
}

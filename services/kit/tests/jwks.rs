//! RS256 tokens from an identity provider, verified against its JWKS served
//! over HTTP: accepted when signed by a published key with the right issuer
//! and audience; refused otherwise.

use std::time::Duration;

use concord_kit::auth::{AuthError, Claims, Verifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const KEY: &[u8] = include_bytes!("fixtures/jwks-test-key.pem");
const JWKS: &str = include_str!("fixtures/jwks.json");

/// Serves `body` at every path over HTTP/1.1 until the test ends.
async fn serve_jwks(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/.well-known/jwks.json")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[derive(serde::Serialize)]
struct ProviderClaims<'a> {
    sub: &'a str,
    dept: &'a str,
    roles: Vec<&'a str>,
    exp: i64,
    iat: i64,
    iss: &'a str,
    aud: &'a str,
}

fn sign(kid: Option<&str>, claims: &ProviderClaims<'_>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(KEY).unwrap()).unwrap()
}

fn claims<'a>(iss: &'a str, aud: &'a str, exp: i64) -> ProviderClaims<'a> {
    ProviderClaims {
        sub: "p-42",
        dept: "d-7",
        roles: vec!["department_head"],
        exp,
        iat: now(),
        iss,
        aud,
    }
}

#[tokio::test]
async fn provider_tokens_verify_against_the_jwks() {
    let url = serve_jwks(JWKS).await;
    let verifier = Verifier::new(
        None,
        Some(&url),
        Some("https://idp.example"),
        Some("concord"),
    )
    .await
    .unwrap();

    let good = sign(
        Some("test-key-1"),
        &claims("https://idp.example", "concord", now() + 600),
    );
    let p = verifier.verify(&good).unwrap();
    assert_eq!(p.subject, "p-42");
    assert!(p.heads("d-7"));

    let wrong_issuer = sign(
        Some("test-key-1"),
        &claims("https://evil.example", "concord", now() + 600),
    );
    assert!(matches!(
        verifier.verify(&wrong_issuer),
        Err(AuthError::Invalid(_))
    ));
    let wrong_audience = sign(
        Some("test-key-1"),
        &claims("https://idp.example", "other", now() + 600),
    );
    assert!(matches!(
        verifier.verify(&wrong_audience),
        Err(AuthError::Invalid(_))
    ));
    let expired = sign(
        Some("test-key-1"),
        &claims("https://idp.example", "concord", now() - 600),
    );
    assert!(matches!(verifier.verify(&expired), Err(AuthError::Expired)));
    let unknown_key = sign(
        Some("rotated-key"),
        &claims("https://idp.example", "concord", now() + 600),
    );
    assert!(matches!(
        verifier.verify(&unknown_key),
        Err(AuthError::Invalid(_))
    ));
    let no_kid = sign(None, &claims("https://idp.example", "concord", now() + 600));
    assert!(matches!(
        verifier.verify(&no_kid),
        Err(AuthError::Invalid(_))
    ));

    // Development tokens are refused when only the provider is trusted.
    let dev = concord_kit::auth::Issuer::new(b"0123456789abcdef0123456789abcdef")
        .issue("p", &[], None, Duration::from_secs(60))
        .unwrap();
    assert!(matches!(verifier.verify(&dev), Err(AuthError::Invalid(_))));
    // The claims type is the one tokens are read into.
    let _ = std::mem::size_of::<Claims>();
}

#[tokio::test]
async fn an_unreachable_jwks_stops_the_start_naming_the_setting() {
    let err = Verifier::new(None, Some("http://127.0.0.1:1/jwks.json"), None, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CONCORD_JWKS_URL"), "{err}");
}

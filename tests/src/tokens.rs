//! Tokens the verifier must refuse: expired ones, and ones signed with
//! another key.

use concord_kit::auth::{Claims, DEV_ISSUER, Issuer, role_name};
use concord_proto::policy::v1::Role;

/// A token signed with the test secret that expired ten minutes ago (well
/// past any clock-skew leeway).
pub fn expired(subject: &str, roles: &[Role], department: Option<&str>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let now = i64::try_from(now).expect("seconds fit");
    let claims = Claims {
        sub: subject.to_string(),
        dept: department.map(str::to_string),
        roles: roles.iter().map(|r| role_name(*r).to_string()).collect(),
        exp: now - 600,
        iat: now - 1200,
        iss: DEV_ISSUER.to_string(),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(concord_kit::testing::TEST_SECRET),
    )
    .expect("sign")
}

/// A well-formed, unexpired token signed with a key the suite does not
/// trust.
pub fn forged(subject: &str, roles: &[Role], department: Option<&str>) -> String {
    Issuer::new(b"somebody-else's-secret-0123456789ab")
        .issue(
            subject,
            roles,
            department,
            std::time::Duration::from_secs(600),
        )
        .expect("sign")
}

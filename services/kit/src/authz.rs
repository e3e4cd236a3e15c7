//! The coarse role policy, enforced once per call before a handler runs:
//! the token is verified into a [`Principal`] placed in the request's
//! extensions, and the method's `(concord.policy.v1.allow)` is checked.
//! Resource rules (whose department, whose item) stay in the handlers; the
//! [`Reach`] they start from is defined here once.

use std::sync::Arc;
use std::task::{Context, Poll};

use concord_proto::policy::v1::Role;
use concord_proto::policy_table::{self, Allow};
use tonic::Status;

use crate::auth::{AuthError, Principal, Verifier};

/// What the policy says about one request.
#[derive(Debug)]
pub enum Decision {
    /// Not a Concord method (health, reflection) or a public one without a token.
    Pass,
    /// Verified and allowed.
    Allowed(Arc<Principal>),
    Refused(Status),
}

/// Decides a request from its path and `authorization` header.
pub fn decide(
    verifier: &Verifier,
    path: &str,
    authorization: Option<&http::HeaderValue>,
) -> Decision {
    let Some(method) = policy_table::lookup(path) else {
        return Decision::Pass;
    };
    if method.allow == Allow::Public && authorization.is_none() {
        return Decision::Pass;
    }
    let principal = match verifier.verify_header(authorization) {
        Ok(p) => p,
        Err(
            e @ (AuthError::Missing
            | AuthError::Malformed
            | AuthError::Expired
            | AuthError::Invalid(_)),
        ) => {
            return Decision::Refused(e.into());
        }
    };
    if method.allow.permits(principal.roles.iter().copied()) {
        Decision::Allowed(principal)
    } else {
        Decision::Refused(Status::permission_denied(format!(
            "{} may not be called with roles {:?}",
            method.method,
            principal
                .roles
                .iter()
                .map(|r| crate::auth::role_name(*r))
                .collect::<Vec<_>>()
        )))
    }
}

/// How far a caller's say reaches in the department tree. Resource rules
/// pick the reach that fits ([`Reach::managing`], [`Reach::reading`]);
/// `kit::directory::DirectoryLink` resolves it into departments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// The whole organisation.
    Everywhere,
    /// This department and every department below it.
    Subtree(String),
    Nowhere,
}

impl Reach {
    /// Who manages (plans, changes people, runs things): admins everywhere,
    /// department heads in their own subtree.
    pub fn managing(who: &Principal) -> Reach {
        if who.is_admin() {
            Reach::Everywhere
        } else {
            Reach::headed(who)
        }
    }

    /// Who reads records and statistics: admins, auditors and services
    /// everywhere, department heads in their own subtree.
    pub fn reading(who: &Principal) -> Reach {
        if who.is_admin() || who.has(Role::Auditor) || who.is_service() {
            Reach::Everywhere
        } else {
            Reach::headed(who)
        }
    }

    /// A department head's own subtree; nowhere for anybody else.
    pub fn headed(who: &Principal) -> Reach {
        match (&who.department_id, who.has(Role::DepartmentHead)) {
            (Some(d), true) => Reach::Subtree(d.clone()),
            _ => Reach::Nowhere,
        }
    }
}

/// Tower layer applying [`decide`] in front of tonic services.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Verifier,
}

impl AuthLayer {
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::Either<
        S::Future,
        futures::future::Ready<Result<Self::Response, Self::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        match decide(
            &self.verifier,
            req.uri().path(),
            req.headers().get(http::header::AUTHORIZATION),
        ) {
            Decision::Pass => futures::future::Either::Left(self.inner.call(req)),
            Decision::Allowed(p) => {
                req.extensions_mut().insert(p);
                futures::future::Either::Left(self.inner.call(req))
            }
            Decision::Refused(status) => {
                futures::future::Either::Right(futures::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(roles: &[Role], dept: Option<&str>) -> Principal {
        Principal {
            subject: "p".into(),
            department_id: dept.map(str::to_string),
            roles: roles.to_vec(),
            expires_at: i64::MAX,
        }
    }

    #[test]
    fn reaches_follow_roles_and_department() {
        let head = p(&[Role::DepartmentHead], Some("d"));
        assert_eq!(Reach::managing(&p(&[Role::Admin], None)), Reach::Everywhere);
        assert_eq!(Reach::managing(&head), Reach::Subtree("d".into()));
        assert_eq!(
            Reach::managing(&p(&[Role::DepartmentHead], None)),
            Reach::Nowhere
        );
        assert_eq!(Reach::managing(&p(&[Role::Auditor], None)), Reach::Nowhere);
        assert_eq!(
            Reach::managing(&p(&[Role::Coordinator], Some("d"))),
            Reach::Nowhere
        );
        assert_eq!(
            Reach::reading(&p(&[Role::Auditor], None)),
            Reach::Everywhere
        );
        assert_eq!(
            Reach::reading(&p(&[Role::Service], None)),
            Reach::Everywhere
        );
        assert_eq!(Reach::reading(&head), Reach::Subtree("d".into()));
        assert_eq!(
            Reach::reading(&p(&[Role::Member], Some("d"))),
            Reach::Nowhere
        );
    }
}

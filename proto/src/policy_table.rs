//! The coarse role policy of every RPC, compiled from the
//! `(concord.policy.v1.allow)` options by the build script.

pub use crate::policy::v1::Role;

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// No token needed.
    Public,
    /// Any verified principal.
    AnySignedIn,
    /// A principal holding at least one of these roles.
    Roles(&'static [Role]),
}

impl Allow {
    /// Whether a principal with `roles` passes this policy. Admins pass every
    /// role-restricted method.
    pub fn permits(&self, roles: impl IntoIterator<Item = Role> + Clone) -> bool {
        match self {
            Allow::Public | Allow::AnySignedIn => true,
            Allow::Roles(allowed) => roles
                .into_iter()
                .any(|r| r == Role::Admin || allowed.contains(&r)),
        }
    }
}

/// Whether a method streams, in the grpc-ecosystem `grpc_type` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Unary,
    ClientStream,
    ServerStream,
    BidiStream,
}

impl MethodKind {
    /// The `grpc_type` label value.
    pub fn as_label(self) -> &'static str {
        match self {
            MethodKind::Unary => "unary",
            MethodKind::ClientStream => "client_stream",
            MethodKind::ServerStream => "server_stream",
            MethodKind::BidiStream => "bidi_stream",
        }
    }
}

/// One RPC of the contracts.
#[derive(Debug, Clone, Copy)]
pub struct MethodInfo {
    /// `/package.Service/Method`, the HTTP/2 path.
    pub path: &'static str,
    /// `package.Service`.
    pub service: &'static str,
    /// `Method`.
    pub method: &'static str,
    pub kind: MethodKind,
    pub allow: Allow,
    /// Declared `idempotency_level = NO_SIDE_EFFECTS`: safe to retry.
    pub safe: bool,
}

include!(concat!(env!("OUT_DIR"), "/policy_table.rs"));

/// The method at an HTTP/2 path, if it is one of Concord's.
pub fn lookup(path: &str) -> Option<&'static MethodInfo> {
    METHODS
        .binary_search_by(|m| m.path.cmp(path))
        .ok()
        .map(|i| &METHODS[i])
}

/// The names of every Concord gRPC service.
pub fn services() -> Vec<&'static str> {
    let mut names: Vec<_> = METHODS.iter().map(|m| m.service).collect();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// Every method in the descriptor set has a row, and nothing else does.
    #[test]
    fn every_rpc_has_a_policy() {
        let fds = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
        let mut paths = Vec::new();
        for file in fds
            .file
            .iter()
            .filter(|f| f.package().starts_with("concord."))
        {
            for svc in &file.service {
                for m in &svc.method {
                    paths.push(format!("/{}.{}/{}", file.package(), svc.name(), m.name()));
                }
            }
        }
        paths.sort();
        let table: Vec<_> = METHODS.iter().map(|m| m.path.to_string()).collect();
        assert!(!paths.is_empty());
        assert_eq!(paths, table);
        for p in &paths {
            assert!(lookup(p).is_some(), "{p}");
        }
    }

    #[test]
    fn admins_pass_role_checks_and_others_only_when_listed() {
        let m = lookup("/concord.directory.v1.DirectoryService/CreateDepartment").unwrap();
        assert!(m.allow.permits([Role::Admin]));
        assert!(!m.allow.permits([Role::Member, Role::Auditor]));
        let m = lookup("/concord.directory.v1.DirectoryService/GetDepartment").unwrap();
        assert_eq!(m.allow, Allow::AnySignedIn);
        assert!(m.safe);
        assert_eq!(m.kind, MethodKind::Unary);
    }
}

//! The authorization matrix: every RPC of every service, called through the
//! gateway (and again on the service's own port, around the gateway) by
//! every kind of caller, with the outcome compared to the policy of the
//! contracts. The observed matrix is also kept, rendered, in
//! `tests/e2e/authz_matrix.md`: the test fails when it changes, so that file
//! always says who may call what (`UPDATE_AUTHZ_MATRIX=1` rewrites it after
//! a deliberate change of policy).
//!
//! The coarse policy cannot tell the head of one department from the head
//! of another; the resource rules that do are in [`resources`], one row per
//! rule with a request that makes the difference visible, and rendered in
//! the same file.

mod resources;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use concord_e2e::raw::{self, Outcome};
use concord_e2e::{Authed, spawn_suite, tokens};
use concord_kit::testing::{Backend, token};
use concord_proto::policy::v1::Role;
use concord_proto::policy_table::{self, Allow, MethodInfo};
use futures::StreamExt;
use tonic::Code;

/// The words `kit::authz` refuses a role with: how a refusal by the coarse
/// policy is told apart from one by a resource rule (both PERMISSION_DENIED).
const POLICY_REFUSAL: &str = "may not be called with roles";

/// A kind of caller: a column of the matrix.
#[derive(Debug, Clone)]
struct Caller {
    column: &'static str,
    token: Option<String>,
    /// The roles the token carries when it is valid.
    roles: &'static [Role],
    valid: bool,
}

fn callers() -> Vec<Caller> {
    let valid = |column, roles: &'static [Role], subject: &str, dept: Option<&str>| Caller {
        column,
        token: Some(token(subject, roles, dept)),
        roles,
        valid: true,
    };
    vec![
        valid("admin", &[Role::Admin], "matrix-admin", None),
        valid(
            "head",
            &[Role::DepartmentHead],
            "matrix-head",
            Some("matrix-dept"),
        ),
        valid(
            "coordinator",
            &[Role::Coordinator],
            "matrix-coordinator",
            Some("matrix-dept"),
        ),
        valid(
            "member",
            &[Role::Member],
            "matrix-member",
            Some("matrix-dept"),
        ),
        valid("auditor", &[Role::Auditor], "matrix-auditor", None),
        valid("service", &[Role::Service], "matrix-service", None),
        Caller {
            column: "anonymous",
            token: None,
            roles: &[],
            valid: false,
        },
        Caller {
            column: "expired",
            token: Some(tokens::expired("matrix-admin", &[Role::Admin], None)),
            roles: &[],
            valid: false,
        },
        Caller {
            column: "forged",
            token: Some(tokens::forged("matrix-admin", &[Role::Admin], None)),
            roles: &[],
            valid: false,
        },
    ]
}

/// A cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// Past authentication and the role policy: the handler ran.
    Passes,
    /// PERMISSION_DENIED by the role policy.
    Denied,
    Unauthenticated,
}

impl Cell {
    fn symbol(self) -> &'static str {
        match self {
            Cell::Passes => "✓",
            Cell::Denied => "✗",
            Cell::Unauthenticated => "⊘",
        }
    }
}

/// What the contracts say.
fn expected(method: &MethodInfo, caller: &Caller) -> Cell {
    match (caller.token.is_some(), caller.valid) {
        (false, _) if method.allow == Allow::Public => Cell::Passes,
        (false, _) | (true, false) => Cell::Unauthenticated,
        (true, true) if method.allow.permits(caller.roles.iter().copied()) => Cell::Passes,
        (true, true) => Cell::Denied,
    }
}

/// What happened; a status no caller should ever see is an error.
fn observed(outcome: &Outcome) -> Result<Cell, String> {
    match outcome.status() {
        None => Ok(Cell::Passes),
        Some(s) => match s.code() {
            Code::Unauthenticated => Ok(Cell::Unauthenticated),
            Code::PermissionDenied if s.message().contains(POLICY_REFUSAL) => Ok(Cell::Denied),
            Code::Internal | Code::Unknown | Code::Unimplemented | Code::DataLoss => {
                Err(format!("{:?}: {}", s.code(), s.message()))
            }
            _ => Ok(Cell::Passes),
        },
    }
}

/// Calls every method as every caller through `channel_for(method, token)`
/// with an empty request, and returns the matrix and the mismatches.
async fn sweep<F>(callers: &[Caller], channel_for: F) -> (Matrix, Vec<String>)
where
    F: Fn(&MethodInfo, Option<&str>) -> Authed,
{
    let calls: Vec<_> = policy_table::METHODS
        .iter()
        .flat_map(|m| callers.iter().map(move |c| (m, c)))
        .map(|(m, c)| {
            let channel = channel_for(m, c.token.as_deref());
            async move {
                let outcome = raw::call(channel, m, Bytes::new(), Duration::from_secs(20)).await;
                (m, c, outcome)
            }
        })
        .collect();
    let results: Vec<_> = futures::stream::iter(calls)
        .buffer_unordered(16)
        .collect()
        .await;
    let mut matrix = Matrix::default();
    let mut wrong = Vec::new();
    for (m, c, outcome) in results {
        let want = expected(m, c);
        match observed(&outcome) {
            Ok(got) => {
                if got != want {
                    wrong.push(format!(
                        "{} as {}: expected {want:?}, got {got:?} ({outcome:?})",
                        m.path, c.column
                    ));
                }
                matrix.insert((m.path, c.column), got);
            }
            Err(e) => wrong.push(format!("{} as {}: {e}", m.path, c.column)),
        }
    }
    (matrix, wrong)
}

type Matrix = BTreeMap<(&'static str, &'static str), Cell>;

/// The matrix as Markdown: one table per service, one row per method.
fn render(matrix: &Matrix, callers: &[Caller]) -> String {
    let mut out = String::from(
        "# Who may call what\n\n\
         Generated by `tests/e2e/authz_matrix.rs` from what the running suite \
         answered through the gateway; the test fails when the suite and this \
         file disagree (`UPDATE_AUTHZ_MATRIX=1 cargo test -p concord-e2e authz_matrix` \
         rewrites it).\n\n\
         ✓ passes authentication and the role policy (resource rules may still \
         refuse: see the last table), \
         ✗ PERMISSION_DENIED, ⊘ UNAUTHENTICATED. `head`, `coordinator` and `member` \
         carry a department; `expired` and `forged` are admin tokens past their \
         expiry or signed with another key.\n",
    );
    let columns: Vec<_> = callers.iter().map(|c| c.column).collect();
    for service in policy_table::services() {
        let _ = write!(
            out,
            "\n## {service}\n\n| method | {} |\n|---|{}\n",
            columns.join(" | "),
            "---|".repeat(columns.len())
        );
        for m in policy_table::METHODS
            .iter()
            .filter(|m| m.service == service)
        {
            let cells: Vec<_> = columns
                .iter()
                .map(|c| matrix.get(&(m.path, *c)).map_or("?", |cell| cell.symbol()))
                .collect();
            let _ = writeln!(out, "| {} | {} |", m.method, cells.join(" | "));
        }
    }
    out.push_str(&resources::render());
    out
}

/// Every RPC, every caller, through the gateway and around it: exactly the
/// allowed set passes, and nobody ever sees INTERNAL or UNIMPLEMENTED.
async fn every_rpc_admits_exactly_the_callers_its_policy_names(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let callers = callers();

    let (through_gateway, wrong) = sweep(&callers, |_, t| suite.as_(t)).await;
    assert!(
        wrong.is_empty(),
        "through the gateway, {} of {} cells are wrong:\n{}",
        wrong.len(),
        through_gateway.len(),
        wrong.join("\n")
    );

    // Around the gateway, straight to each service's port: the service
    // enforces the same policy itself.
    let mut direct = BTreeMap::new();
    for (target, addr) in suite.addrs.iter().filter(|(t, _)| **t != "gateway") {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect()
            .await
            .expect("connect to the service");
        direct.insert(target.to_string(), channel);
    }
    let (around, wrong) = sweep(&callers, |m, t| {
        let target = m.service.split('.').nth(1).expect("concord.<target>.v1");
        concord_e2e::authed(direct[target].clone(), t)
    })
    .await;
    assert!(
        wrong.is_empty(),
        "around the gateway, {} cells are wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(around, through_gateway);

    let rendered = render(&through_gateway, &callers);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/authz_matrix.md");
    if std::env::var("UPDATE_AUTHZ_MATRIX").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &rendered).expect("write the matrix");
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == rendered,
        "{} no longer says who may call what; rerun with UPDATE_AUTHZ_MATRIX=1 and review the diff",
        path.display()
    );
    let mut tally = concord_e2e::report::Tally::new("authorization matrix (coarse)", &backend);
    tally.calls = u64::try_from(through_gateway.len() + around.len()).unwrap_or(0);
    tally.note = format!(
        "{} RPCs x {} callers, through the gateway and direct",
        policy_table::METHODS.len(),
        callers.len()
    );
    tally.report();
    suite.stop().await.unwrap();
}

use resources::resource_rules_let_in_exactly_whom_they_name;

concord_kit::backend_tests!(
    every_rpc_admits_exactly_the_callers_its_policy_names,
    resource_rules_let_in_exactly_whom_they_name,
);

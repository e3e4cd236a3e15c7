//! Targets, the Loki-style modules of the one `concord` binary: each has a
//! name, the targets it needs, a port offset and a function that builds its
//! gRPC service from a [`Context`]. `concord serve` starts the closure of
//! what was asked.

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::bus::SharedBus;
use crate::clients::Upstreams;
use crate::clock::SharedClock;
use crate::db::Location;
use crate::period::OrgZone;
use crate::server::{Limits, Service};

/// What a service gets to build itself.
#[derive(Debug, Clone)]
pub struct Context {
    /// Where this service's data lives.
    pub location: Location,
    pub clock: SharedClock,
    /// The organisation's time zone.
    pub zone: OrgZone,
    pub bus: SharedBus,
    pub limits: Limits,
    /// Channels to the other targets, with this service's identity.
    pub upstreams: Upstreams,
    /// Cancelled when the process begins to shut down; background workers and
    /// long streams end on it.
    pub shutdown: CancellationToken,
}

/// Builds a target's service.
pub type StartFn = fn(Context) -> BoxFuture<'static, anyhow::Result<Service>>;

/// One module of the binary.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    /// Targets that must run (in this process or elsewhere) for this one to work.
    pub needs: &'static [&'static str],
    /// The port is `port_base + port_offset`.
    pub port_offset: u16,
    pub start: StartFn,
}

/// The targets named in `wanted` and everything they need, in start order
/// (needs first). `all` means every target.
pub fn closure<'a>(all: &'a [Target], wanted: &[String]) -> Result<Vec<&'a Target>, String> {
    let mut order: Vec<&Target> = Vec::new();
    fn visit<'a>(
        all: &'a [Target],
        name: &str,
        order: &mut Vec<&'a Target>,
        path: &mut Vec<String>,
    ) -> Result<(), String> {
        if order.iter().any(|t| t.name == name) {
            return Ok(());
        }
        if path.iter().any(|p| p == name) {
            return Err(format!(
                "targets depend on each other in a cycle: {}",
                path.join(" -> ")
            ));
        }
        let t = all.iter().find(|t| t.name == name).ok_or_else(|| {
            format!(
                "unknown target {name:?}; known: all, {}",
                all.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
            )
        })?;
        path.push(name.to_string());
        for need in t.needs {
            visit(all, need, order, path)?;
        }
        path.pop();
        order.push(t);
        Ok(())
    }
    let names: Vec<String> = if wanted.is_empty() || wanted.iter().any(|w| w == "all") {
        all.iter().map(|t| t.name.to_string()).collect()
    } else {
        wanted.to_vec()
    };
    for n in &names {
        visit(all, n, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: Context) -> BoxFuture<'static, anyhow::Result<Service>> {
        Box::pin(async { anyhow::bail!("not started in this test") })
    }

    #[test]
    fn closure_puts_needs_first_and_rejects_unknown_names() {
        let all = [
            Target {
                name: "directory",
                needs: &[],
                port_offset: 1,
                start: never,
            },
            Target {
                name: "notices",
                needs: &["directory"],
                port_offset: 2,
                start: never,
            },
        ];
        let names = |v: Vec<&Target>| v.iter().map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(
            names(closure(&all, &["notices".into()]).unwrap()),
            ["directory", "notices"]
        );
        assert_eq!(names(closure(&all, &[]).unwrap()), ["directory", "notices"]);
        assert!(
            closure(&all, &["nope".into()])
                .unwrap_err()
                .contains("unknown target")
        );
    }
}

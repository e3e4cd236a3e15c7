//! gRPC health of the gateway: `""` is the gateway itself; each upstream
//! service name reflects that upstream, checked periodically (and at once
//! when a connection comes up or goes down) through `grpc.health.v1.Health/Check`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Wire;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::HealthReporter;

use crate::upstream::{PoolChannel, RemotePool};

/// Reports `status` for every name in `names` and for `""`.
pub(crate) async fn set_all(reporter: &HealthReporter, names: &[String], status: ServingStatus) {
    for name in names {
        reporter.set_service_status(name, status).await;
    }
    reporter.set_service_status("", status).await;
}

/// Keeps `pool.service`'s health entry in step with the upstream until `stop`.
pub(crate) async fn watch_upstream(
    pool: Arc<RemotePool>,
    reporter: HealthReporter,
    interval: Duration,
    timeout: Duration,
    stop: CancellationToken,
) {
    let mut reported = None;
    loop {
        // Registered before the check, so a change during it is not missed.
        let changed = pool.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let status = tokio::select! {
            _ = stop.cancelled() => return,
            s = check(&pool, timeout) => s,
        };
        if reported != Some(status) {
            tracing::info!(upstream = %pool.service, ?status, "upstream health");
            reporter.set_service_status(&*pool.service, status).await;
            reported = Some(status);
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
            _ = &mut changed => {}
        }
    }
}

/// One health check of an upstream: its entry for the service name, or its
/// overall `""` entry when it does not register names.
async fn check(pool: &Arc<RemotePool>, timeout: Duration) -> ServingStatus {
    if !pool.connected() {
        return ServingStatus::NotServing;
    }
    let mut client = HealthClient::new(PoolChannel(pool.clone()));
    for name in [&*pool.service, ""] {
        let asked = client.check(HealthCheckRequest {
            service: name.to_string(),
        });
        match tokio::time::timeout(timeout, asked).await {
            Ok(Ok(res)) if res.get_ref().status == Wire::Serving as i32 => {
                return ServingStatus::Serving;
            }
            Ok(Ok(_)) => return ServingStatus::NotServing,
            Ok(Err(status)) if status.code() == tonic::Code::NotFound => continue,
            Ok(Err(status)) => {
                tracing::debug!(upstream = %pool.service, %status, "health check failed");
                return ServingStatus::NotServing;
            }
            Err(_) => return ServingStatus::NotServing,
        }
    }
    ServingStatus::NotServing
}

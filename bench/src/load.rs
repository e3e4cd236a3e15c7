//! The load generator: a fixed number of closed-loop callers spread over a
//! fixed number of HTTP/2 connections, for a fixed time, each call's latency
//! recorded in an HdrHistogram (microseconds). It runs on its own thread
//! with its own current-thread runtime, so the servers' runtimes and the
//! caller's never share a thread.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::h2::H2;

/// A new latency histogram: 1 µs to 10 minutes, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Records `d` (in µs) into `h`, saturating at its top.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    h.saturating_record(us);
}

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub calls: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latency of successful calls, µs.
    pub latency: Histogram<u64>,
    /// CPU time the load generator's thread used, seconds.
    pub client_cpu: f64,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A percentile in µs.
    pub fn p(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64
    }

    /// Fails when a call failed: a benchmark of failing calls measures
    /// nothing.
    pub fn check(&self, what: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.errors == 0,
            "{what}: {} of {} calls failed, first: {}",
            self.errors,
            self.calls + self.errors,
            self.first_error.as_deref().unwrap_or("?")
        );
        anyhow::ensure!(self.calls > 0, "{what}: no call completed");
        Ok(())
    }
}

/// One closed-loop caller: makes one call and returns when it is answered.
pub trait Caller: Send + 'static {
    fn call(&mut self) -> impl Future<Output = Result<(), tonic::Status>> + Send;
}

/// The shape of a run.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub connections: usize,
    pub concurrency: usize,
    pub window: Duration,
}

/// Runs `make(connection, caller_index)` callers against `addr` for
/// `shape.window` on a thread of its own.
pub fn run<C, M>(addr: SocketAddr, shape: Shape, make: M) -> anyhow::Result<Outcome>
where
    C: Caller,
    M: Fn(H2, usize) -> C + Send + 'static,
{
    std::thread::Builder::new()
        .name("loadgen".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let before = crate::procs::cpu_seconds("/proc/thread-self/stat");
            let mut out = rt.block_on(drive(addr, shape, make))?;
            out.client_cpu = crate::procs::cpu_seconds("/proc/thread-self/stat") - before;
            Ok(out)
        })?
        .join()
        .map_err(|_| anyhow::anyhow!("the load generator panicked"))?
}

async fn drive<C, M>(addr: SocketAddr, shape: Shape, make: M) -> anyhow::Result<Outcome>
where
    C: Caller,
    M: Fn(H2, usize) -> C,
{
    let connections = H2::connect_many(addr, shape.connections.max(1)).await?;
    let callers: Vec<C> = (0..shape.concurrency.max(1))
        .map(|i| make(connections[i % connections.len()].clone(), i))
        .collect();
    let started = Instant::now();
    let until = started + shape.window;
    let tasks: Vec<_> = callers
        .into_iter()
        .map(|mut caller| {
            tokio::spawn(async move {
                let mut h = histogram();
                let (mut errors, mut first_error) = (0u64, None);
                while Instant::now() < until {
                    let t = Instant::now();
                    match caller.call().await {
                        Ok(()) => record(&mut h, t.elapsed()),
                        Err(status) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| {
                                format!("{:?}: {}", status.code(), status.message())
                            });
                        }
                    }
                }
                (h, errors, first_error)
            })
        })
        .collect();
    let mut out = Outcome {
        calls: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency: histogram(),
        client_cpu: 0.0,
    };
    for t in tasks {
        let (h, errors, first) = t.await?;
        out.latency.add(&h)?;
        out.errors += errors;
        if out.first_error.is_none() {
            out.first_error = first;
        }
    }
    out.elapsed = started.elapsed();
    out.calls = out.latency.len();
    Ok(out)
}

/// Adds `authorization: Bearer …` to a request.
pub fn authed<T>(
    message: T,
    bearer: &tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    req.metadata_mut().insert("authorization", bearer.clone());
    req
}

/// The header value for `token`.
pub fn bearer(
    token: &str,
) -> anyhow::Result<tonic::metadata::MetadataValue<tonic::metadata::Ascii>> {
    Ok(format!("Bearer {token}").parse()?)
}

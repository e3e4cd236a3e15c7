//! Scenario 1: one unary read through each path at the same concurrency,
//! the paths alternated within each round so a noisy machine hits them
//! alike; then the same with one caller on one connection for the latency a
//! hop adds.

use std::net::SocketAddr;
use std::sync::Arc;

use concord_proto::directory::v1::GetPersonRequest;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use serde::Serialize;

use crate::h2::H2;
use crate::load::{self, Caller, Outcome, Shape, authed};

type Bearer = tonic::metadata::MetadataValue<tonic::metadata::Ascii>;

/// GetPerson by one caller, cycling through ids.
struct GetPerson {
    client: DirectoryServiceClient<H2>,
    bearer: Bearer,
    ids: Arc<Vec<String>>,
    next: usize,
}

impl Caller for GetPerson {
    fn call(&mut self) -> impl Future<Output = Result<(), tonic::Status>> + Send {
        let id = self.ids[self.next % self.ids.len()].clone();
        self.next = self.next.wrapping_add(7919);
        let req = authed(GetPersonRequest { id }, &self.bearer);
        async move { self.client.get_person(req).await.map(|_| ()) }
    }
}

/// One way to reach the read.
#[derive(Debug, Clone)]
pub struct Path {
    /// Short name in the JSON: `direct`, `gateway`, `serve_direct`,
    /// `serve_gateway`, `nginx`.
    pub key: &'static str,
    pub label: String,
    pub addr: SocketAddr,
    /// The server processes a call through this path runs in (not
    /// PostgreSQL), for CPU per call.
    pub pids: Vec<u32>,
}

/// What one path measured over the rounds.
#[derive(Debug, Clone, Serialize)]
pub struct PathResult {
    pub key: &'static str,
    pub label: String,
    /// Calls per second: the median of the rounds.
    pub per_second: f64,
    pub rounds_per_second: Vec<f64>,
    /// Latency under load over all rounds, µs.
    pub p50_us: f64,
    pub p99_us: f64,
    /// One caller, one connection: mean and percentiles, µs.
    pub low_load_mean_us: f64,
    pub low_load_p50_us: f64,
    pub low_load_p99_us: f64,
    /// Low-load mean minus that of the path it is compared with.
    pub added_mean_us: Option<f64>,
    pub calls: u64,
    /// CPU per call under load in the path's server processes (PostgreSQL
    /// not counted) and in the load generator, µs: robust on a noisy
    /// machine, and what decides throughput when everything shares 2 cores.
    pub server_cpu_us: f64,
    pub client_cpu_us: f64,
}

/// A ratio of two paths' throughput, the median of the rounds' ratios
/// (each from adjacent windows of one round).
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub of: &'static str,
    pub to: &'static str,
    pub median: f64,
    pub rounds: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadResult {
    pub read: String,
    pub connections: usize,
    pub concurrency: usize,
    pub window_secs: f64,
    pub rounds: usize,
    pub paths: Vec<PathResult>,
    pub ratios: Vec<Ratio>,
}

impl ReadResult {
    pub fn path(&self, key: &str) -> Option<&PathResult> {
        self.paths.iter().find(|p| p.key == key)
    }

    pub fn ratio(&self, of: &str, to: &str) -> Option<f64> {
        self.ratios
            .iter()
            .find(|r| r.of == of && r.to == to)
            .map(|r| r.median)
    }
}

/// Which path each path's added latency and ratio are measured against.
pub const COMPARISONS: &[(&str, &str)] = &[
    ("gateway", "direct"),
    ("gateway_ct", "direct"),
    ("gateway_ct", "nginx"),
    ("serve_gateway", "serve_direct"),
    ("serve_gateway", "direct"),
    ("nginx", "direct"),
    ("gateway", "nginx"),
    ("serve_gateway", "nginx"),
];

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A load run and the CPU its server processes used meanwhile.
async fn measure(
    path: &Path,
    shape: Shape,
    token: &str,
    ids: &Arc<Vec<String>>,
) -> anyhow::Result<(Outcome, f64)> {
    let bearer = load::bearer(token)?;
    let ids = ids.clone();
    let addr = path.addr;
    let before = crate::procs::cpu_of(&path.pids);
    let o = tokio::task::spawn_blocking(move || {
        load::run(addr, shape, move |conn, i| GetPerson {
            client: DirectoryServiceClient::new(conn),
            bearer: bearer.clone(),
            ids: ids.clone(),
            next: i * 131,
        })
    })
    .await??;
    Ok((o, crate::procs::cpu_of(&path.pids) - before))
}

/// Runs the read through every path: `rounds` rounds of a `shape` window per
/// path, then `rounds` low-load windows per path.
pub async fn run(
    read: &str,
    paths: &[Path],
    shape: Shape,
    low_load: std::time::Duration,
    rounds: usize,
    token: &str,
    ids: Arc<Vec<String>>,
) -> anyhow::Result<ReadResult> {
    // Warm every path: connections, token caches, upstream connections.
    for p in paths {
        let warm = Shape {
            window: std::time::Duration::from_millis(300),
            ..shape
        };
        measure(p, warm, token, &ids)
            .await?
            .0
            .check(&format!("{read} warm-up via {}", p.label))?;
    }
    let n = paths.len();
    let mut loaded: Vec<Vec<Outcome>> = vec![Vec::new(); n];
    let mut server_cpu = vec![0f64; n];
    for round in 0..rounds {
        // Rotate the order so no path always runs first or last.
        for k in 0..n {
            let i = (k + round) % n;
            let (o, cpu) = measure(&paths[i], shape, token, &ids).await?;
            o.check(&format!("{read} via {}", paths[i].label))?;
            server_cpu[i] += cpu;
            loaded[i].push(o);
        }
    }
    let single = Shape {
        connections: 1,
        concurrency: 1,
        window: low_load,
    };
    let mut alone: Vec<Vec<Outcome>> = vec![Vec::new(); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (k + round) % n;
            let (o, _) = measure(&paths[i], single, token, &ids).await?;
            o.check(&format!("{read} one caller via {}", paths[i].label))?;
            alone[i].push(o);
        }
    }
    let merged = |outs: &[Outcome]| {
        let mut h = load::histogram();
        for o in outs {
            let _ = h.add(&o.latency);
        }
        h
    };
    let mut results: Vec<PathResult> = paths
        .iter()
        .zip(loaded.iter().zip(&alone))
        .zip(&server_cpu)
        .map(|((p, (l, a)), cpu)| {
            let lh = merged(l);
            let ah = merged(a);
            let rates: Vec<f64> = l.iter().map(Outcome::per_second).collect();
            let calls = (lh.len() as f64).max(1.0);
            let client: f64 = l.iter().map(|o| o.client_cpu).sum();
            PathResult {
                key: p.key,
                label: p.label.clone(),
                per_second: median(&rates),
                rounds_per_second: rates,
                p50_us: lh.value_at_quantile(0.5) as f64,
                p99_us: lh.value_at_quantile(0.99) as f64,
                low_load_mean_us: ah.mean(),
                low_load_p50_us: ah.value_at_quantile(0.5) as f64,
                low_load_p99_us: ah.value_at_quantile(0.99) as f64,
                added_mean_us: None,
                calls: lh.len(),
                server_cpu_us: cpu / calls * 1e6,
                client_cpu_us: client / calls * 1e6,
            }
        })
        .collect();
    let mut ratios = Vec::new();
    for (of, to) in COMPARISONS {
        let (Some(a), Some(b)) = (
            paths.iter().position(|p| p.key == *of),
            paths.iter().position(|p| p.key == *to),
        ) else {
            continue;
        };
        let per_round: Vec<f64> = loaded[a]
            .iter()
            .zip(&loaded[b])
            .map(|(x, y)| x.per_second() / y.per_second())
            .collect();
        ratios.push(Ratio {
            of,
            to,
            median: median(&per_round),
            rounds: per_round,
        });
    }
    // Added latency: the gateway over direct, the in-process gateway over
    // its own process's direct port, nginx over direct.
    for (of, to) in [
        ("gateway", "direct"),
        ("gateway_ct", "direct"),
        ("serve_gateway", "serve_direct"),
        ("nginx", "direct"),
    ] {
        let base = results
            .iter()
            .find(|r| r.key == to)
            .map(|r| r.low_load_mean_us);
        if let (Some(base), Some(r)) = (base, results.iter_mut().find(|r| r.key == of)) {
            r.added_mean_us = Some(r.low_load_mean_us - base);
        }
    }
    Ok(ReadResult {
        read: read.to_string(),
        connections: shape.connections,
        concurrency: shape.concurrency,
        window_secs: shape.window.as_secs_f64(),
        rounds,
        paths: results,
        ratios,
    })
}

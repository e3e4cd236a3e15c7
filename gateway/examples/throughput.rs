//! A rough, by-hand measurement of what the gateway costs: the same unary
//! read (GetDepartment, with a token, so authentication, policy and metrics
//! are on) called directly on the upstream and through the gateway, with
//! `concurrency` callers for `seconds` each way, alternating, on loopback.
//! The upstream and the gateway each run on their own current-thread
//! runtime and thread; the callers on a third. It prints, it does not assert.
//!
//! ```sh
//! cargo run --release -p concord-gateway --example throughput -- [concurrency] [seconds]
//! ```
//!
//! `UPSTREAM_CONNECTIONS=n` sets the gateway's connections to the upstream.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use concord_gateway::RateLimit;
use concord_kit::testing::{token, with_token};
use concord_proto::directory::v1::GetDepartmentRequest;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::directory::v1::directory_service_server::DirectoryServiceServer;
use concord_proto::policy::v1::Role;

/// Client connections the callers share.
const CONNECTIONS: usize = 4;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let seconds: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2.0);
    let window = Duration::from_secs_f64(seconds);
    // As in a real process: a subscriber that drops what is below warnings.
    tracing_subscriber::fmt().with_env_filter("warn").init();

    let upstream = on_own_thread("upstream", |tx| async move {
        let up = common::spawn_upstream().await;
        tx.send(up.server.addr).unwrap();
        std::future::pending::<()>().await;
    });
    let upstream_url = format!("http://{upstream}");
    let gateway = on_own_thread("gateway", move |tx| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        tx.send(listener.local_addr().unwrap()).unwrap();
        let mut config = common::config_for(&upstream_url);
        if let Some(n) = std::env::var("UPSTREAM_CONNECTIONS")
            .ok()
            .and_then(|n| n.parse().ok())
        {
            config.connections_per_upstream = n;
        }
        config.rate_limit = RateLimit::UNLIMITED;
        config.max_in_flight = 100_000;
        let shutdown = tokio_util::sync::CancellationToken::new();
        concord_gateway::serve(listener, config, concord_kit::testing::verifier(), shutdown)
            .await
            .unwrap();
    });

    // The same gateway with the directory in its own process, as `concord
    // serve` runs it: the kit's metrics and auth layers, no network hop.
    let local = on_own_thread("gateway-local", |tx| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        tx.send(listener.local_addr().unwrap()).unwrap();
        let directory = tower::ServiceBuilder::new()
            .layer(concord_kit::metrics::GrpcMetricsLayer::service())
            .layer(concord_kit::authz::AuthLayer::new(
                concord_kit::testing::verifier(),
            ))
            .service(tonic::service::Routes::new(DirectoryServiceServer::new(
                common::Directory::default(),
            )));
        let mut config = concord_gateway::GatewayConfig::default();
        config.upstreams.insert(
            common::DIRECTORY.into(),
            concord_gateway::Upstream::local(directory),
        );
        config.rate_limit = RateLimit::UNLIMITED;
        config.max_in_flight = 100_000;
        let shutdown = tokio_util::sync::CancellationToken::new();
        concord_gateway::serve(listener, config, concord_kit::testing::verifier(), shutdown)
            .await
            .unwrap();
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        concord_kit::testing::wait_serving(&format!("http://{gateway}"), common::DIRECTORY).await;
        let token = token("p-bench", &[Role::Member], None);
        // Warm both paths: connections, caches, the verifier.
        run(upstream, &token, concurrency, Duration::from_millis(300)).await;
        run(gateway, &token, concurrency, Duration::from_millis(300)).await;
        concord_kit::testing::wait_serving(&format!("http://{local}"), common::DIRECTORY).await;
        run(local, &token, concurrency, Duration::from_millis(300)).await;

        let (mut direct, mut through) = (0f64, 0f64);
        for round in 1..=2 {
            let before = thread_cpu();
            let d = run(upstream, &token, concurrency, window).await;
            let mid = thread_cpu();
            let g = run(gateway, &token, concurrency, window).await;
            let after = thread_cpu();
            println!("round {round}: direct {d:>8.0} calls/s   gateway {g:>8.0} calls/s   ratio {:.2}", g / d);
            let per_call = |from: &[(String, f64)], to: &[(String, f64)], rate: f64, name: &str| {
                let cpu = |v: &[(String, f64)]| v.iter().filter(|(n, _)| n == name).map(|(_, s)| s).sum::<f64>();
                (cpu(to) - cpu(from)) / (rate * window.as_secs_f64()) * 1e6
            };
            println!(
                "         CPU per call: direct upstream {:.1} µs; through the gateway upstream {:.1} µs, gateway {:.1} µs",
                per_call(&before, &mid, d, "upstream"),
                per_call(&mid, &after, g, "upstream"),
                per_call(&mid, &after, g, "gateway"),
            );
            let before = thread_cpu();
            let l = run(local, &token, concurrency, window).await;
            let after = thread_cpu();
            println!(
                "         in-process upstream: {l:>8.0} calls/s, ratio {:.2}, gateway CPU per call {:.1} µs",
                l / d,
                per_call(&before, &after, l, "gateway-local")
            );
            direct = direct.max(d);
            through = through.max(g);
        }
        println!(
            "best of 2: direct {direct:.0} calls/s, gateway {through:.0} calls/s, ratio {:.2} (concurrency {concurrency}, {CONNECTIONS} connections, {seconds} s)",
            through / direct
        );

        let d = latency(upstream, &token, window).await;
        let g = latency(gateway, &token, window).await;
        let l = latency(local, &token, window).await;
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "one caller, one connection: direct {:.0} µs, gateway {:.0} µs (added {:.0}), in-process upstream {:.0} µs (added {:.0})",
            us(d),
            us(g),
            us(g) - us(d),
            us(l),
            us(l) - us(d)
        );
    });
    Ok(())
}

/// CPU seconds used so far by each thread of this process, by name.
fn thread_cpu() -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        out.push((comm.trim().to_string(), (ticks(11) + ticks(12)) / 100.0));
    }
    out
}

/// Runs `body` on a new thread with its own current-thread runtime and
/// returns the address it reports.
fn on_own_thread<F, Fut>(name: &str, body: F) -> SocketAddr
where
    F: FnOnce(std::sync::mpsc::Sender<SocketAddr>) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(body(tx));
        })
        .expect("thread");
    rx.recv().expect("server address")
}

/// Calls per second with `concurrency` callers over `CONNECTIONS` connections.
async fn run(addr: SocketAddr, token: &str, concurrency: usize, window: Duration) -> f64 {
    let mut connections = Vec::new();
    for _ in 0..CONNECTIONS {
        connections.push(common::H2::tcp(addr).await);
    }
    let until = Instant::now() + window;
    let started = Instant::now();
    let callers: Vec<_> = (0..concurrency)
        .map(|i| {
            let mut client = DirectoryServiceClient::new(connections[i % CONNECTIONS].clone());
            let token = token.to_string();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < until {
                    let req = with_token(GetDepartmentRequest { id: "d1".into() }, &token);
                    client.get_department(req).await.expect("call");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for c in callers {
        total += c.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Mean time of one call with a single caller on a single connection.
async fn latency(addr: SocketAddr, token: &str, window: Duration) -> Duration {
    let mut client = DirectoryServiceClient::new(common::H2::tcp(addr).await);
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < window {
        client
            .get_department(with_token(GetDepartmentRequest { id: "d1".into() }, token))
            .await
            .expect("call");
        calls += 1;
    }
    started.elapsed() / calls
}

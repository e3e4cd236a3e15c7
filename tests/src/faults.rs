//! Faults on purpose: a Redis server of the test's own that can be stopped,
//! restarted and have its clients killed; a TCP proxy that passes, delays,
//! swallows or refuses traffic; PostgreSQL backends terminated.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Whether `redis-server` can be run here.
pub fn redis_server_available() -> bool {
    std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A `redis-server` on a port of its own, without persistence, that the
/// test may stop and start again on the same port.
#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    child: Option<tokio::process::Child>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers PING.
    pub async fn start() -> RedisServer {
        let port = crate::process::free_port_range(1);
        let mut server = RedisServer { port, child: None };
        server.restart().await;
        server
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(reply) = self.command(&["PING"]).await
                && reply.starts_with("+PONG")
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server on {} never answered",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the server (its clients see their connections drop) and waits
    /// until it is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// `CLIENT KILL TYPE <kind>` (`pubsub` or `normal`): how many
    /// connections were killed.
    pub async fn kill_clients(&self, kind: &str) -> u64 {
        let reply = self
            .command(&["CLIENT", "KILL", "TYPE", kind])
            .await
            .expect("CLIENT KILL");
        reply
            .trim()
            .trim_start_matches(':')
            .parse()
            .unwrap_or_else(|_| panic!("CLIENT KILL answered {reply:?}"))
    }

    /// Sends one command (RESP array of bulk strings) and returns the raw
    /// first reply line.
    pub async fn command(&self, args: &[&str]) -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).await?;
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::other("no reply"))??;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything at once.
    Pass,
    /// Hold every chunk this long before forwarding it.
    Delay(Duration),
    /// Accept and keep connections but let nothing through, as a network
    /// partition does, until the fault changes.
    Blackhole,
    /// Close new connections at once (connection refused after accept).
    Refuse,
}

/// A TCP proxy from a local port to `upstream`, with a fault that can be
/// changed while it runs.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<ProxyState>,
}

#[derive(Debug)]
struct ProxyState {
    /// Encoded [`Fault`]: 0 pass, 1 delay, 2 blackhole, 3 refuse.
    mode: AtomicU64,
    delay_ms: AtomicU64,
    /// Cancelled to cut every open connection; replaced after.
    cut: std::sync::Mutex<CancellationToken>,
    pub accepted: AtomicUsize,
    stop: CancellationToken,
}

impl Drop for ProxyState {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free local port.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(ProxyState {
            mode: AtomicU64::new(0),
            delay_ms: AtomicU64::new(0),
            cut: std::sync::Mutex::new(CancellationToken::new()),
            accepted: AtomicUsize::new(0),
            stop: CancellationToken::new(),
        });
        let weak = Arc::downgrade(&state);
        let stop = state.stop.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stop.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((client, _)) = accepted else { continue };
                let Some(state) = weak.upgrade() else { return };
                state.accepted.fetch_add(1, Ordering::Relaxed);
                if state.fault() == Fault::Refuse {
                    drop(client);
                    continue;
                }
                let cut = state.cut.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let stop = stop.clone();
                let weak = weak.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pump(cr, sw, weak.clone()) => {}
                        _ = pump(sr, cw, weak) => {}
                        _ = cut.cancelled() => {}
                        _ = stop.cancelled() => {}
                    }
                });
            }
        });
        Proxy { addr, state }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes what happens to traffic from now on (open connections too).
    pub fn set(&self, fault: Fault) {
        let (mode, delay) = match fault {
            Fault::Pass => (0, 0),
            Fault::Delay(d) => (1, u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            Fault::Blackhole => (2, 0),
            Fault::Refuse => (3, 0),
        };
        self.state.delay_ms.store(delay, Ordering::SeqCst);
        self.state.mode.store(mode, Ordering::SeqCst);
    }

    /// Cuts every open connection (both sides see it closed).
    pub fn cut_all(&self) {
        let mut cut = self.state.cut.lock().unwrap_or_else(|p| p.into_inner());
        cut.cancel();
        *cut = CancellationToken::new();
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::Relaxed)
    }
}

impl ProxyState {
    fn fault(&self) -> Fault {
        match self.mode.load(Ordering::SeqCst) {
            0 => Fault::Pass,
            1 => Fault::Delay(Duration::from_millis(self.delay_ms.load(Ordering::SeqCst))),
            2 => Fault::Blackhole,
            _ => Fault::Refuse,
        }
    }
}

/// Copies one direction, applying the proxy's fault to every chunk.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: std::sync::Weak<ProxyState>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let Some(fault) = state.upgrade().map(|s| s.fault()) else {
            return;
        };
        match fault {
            Fault::Pass | Fault::Refuse => {}
            Fault::Delay(d) => tokio::time::sleep(d).await,
            // A partition: nothing gets through until it heals (TCP would
            // keep retransmitting meanwhile).
            Fault::Blackhole => loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                match state.upgrade().map(|s| s.fault()) {
                    Some(Fault::Blackhole) => continue,
                    Some(_) => break,
                    None => return,
                }
            },
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// PostgreSQL: terminates every backend connected to database `datname`
/// (and only those), returning how many were terminated.
pub async fn pg_terminate_backends(admin_url: &str, datname: &str) -> u64 {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(admin_url)
        .await
        .expect("connect to PostgreSQL as the test's admin");
    let row = sqlx::query(
        "SELECT count(*)::BIGINT FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
    )
    .bind(datname)
    .fetch_one(&mut conn)
    .await
    .expect("pg_terminate_backend");
    let n: i64 = row.try_get(0).expect("count");
    let _ = sqlx::Connection::close(conn).await;
    u64::try_from(n).unwrap_or(0)
}

/// The database name of a PostgreSQL URL (`…/name?…`).
pub fn database_name(url: &str) -> String {
    let tail = url.rsplit('/').next().unwrap_or_default();
    tail.split('?').next().unwrap_or_default().to_string()
}

//! The processes a run starts: real `concord serve` processes, the trivial
//! double, nginx. Each is stopped by its own pid (SIGTERM, then SIGKILL) and
//! killed when dropped; their output goes to log files in the run folder.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// How long a process may take to print its addresses.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// What every server process of a run shares.
#[derive(Debug, Clone)]
pub struct Env {
    /// The `concord` binary.
    pub concord: PathBuf,
    /// This binary (for the double).
    pub bench: PathBuf,
    /// Logs and data directories.
    pub dir: PathBuf,
    pub database_url: String,
    pub redis_url: String,
    pub secret: String,
}

/// A running server process.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    /// Each listener it printed, by target name.
    pub addrs: BTreeMap<String, SocketAddr>,
}

impl Env {
    fn base(&self, program: &Path, name: &str) -> anyhow::Result<Command> {
        let data = self.dir.join(format!("data-{name}"));
        std::fs::create_dir_all(&data)?;
        let mut cmd = Command::new(program);
        cmd.env("CONCORD_DATA_DIR", &data)
            .env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", &self.redis_url)
            .env("CONCORD_JWT_SECRET", &self.secret)
            .env("CONCORD_LISTEN_HOST", "127.0.0.1")
            .env("CONCORD_PORT_BASE", "0")
            .env("CONCORD_METRICS_PORT", "0")
            // The limiter stays on the path; the benchmark's principals
            // just never reach it.
            .env("CONCORD_GATEWAY_RATE_PER_SECOND", "1000000000")
            .env("CONCORD_GATEWAY_RATE_BURST", "1000000000")
            .env("CONCORD_GATEWAY_MAX_IN_FLIGHT", "100000")
            .env("RUST_LOG", "warn")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        Ok(cmd)
    }

    /// `concord serve --target …` (every target when `targets` is empty),
    /// with `upstreams` as the addresses of targets run elsewhere.
    pub async fn concord(
        &self,
        name: &str,
        targets: &[&str],
        upstreams: &[(&str, SocketAddr)],
    ) -> anyhow::Result<Proc> {
        let mut cmd = self.base(&self.concord, name)?;
        cmd.arg("serve");
        for t in targets {
            cmd.arg("--target").arg(t);
        }
        for (target, addr) in upstreams {
            cmd.env(
                format!("CONCORD_UPSTREAMS__{}", target.to_uppercase()),
                format!("http://{addr}"),
            );
        }
        self.start(name, cmd, "Bootstrap admin token").await
    }

    /// The trivial double, alone or behind an in-process gateway.
    pub async fn double(&self, name: &str, gateway: bool) -> anyhow::Result<Proc> {
        let mut cmd = self.base(&self.bench, name)?;
        cmd.arg("double");
        if gateway {
            cmd.arg("--gateway");
        }
        self.start(name, cmd, "ready").await
    }

    /// The experimental current-thread gateway in front of `upstreams`.
    pub async fn bench_gateway(
        &self,
        name: &str,
        upstreams: &[(&str, SocketAddr)],
    ) -> anyhow::Result<Proc> {
        let mut cmd = self.base(&self.bench, name)?;
        cmd.arg("gateway");
        for (target, addr) in upstreams {
            cmd.env(
                format!("CONCORD_UPSTREAMS__{}", target.to_uppercase()),
                format!("http://{addr}"),
            );
        }
        self.start(name, cmd, "ready").await
    }

    async fn start(&self, name: &str, mut cmd: Command, last: &str) -> anyhow::Result<Proc> {
        let log = self.dir.join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log)?;
        cmd.stderr(stderr.try_clone()?);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut addrs = BTreeMap::new();
        let read = async {
            while let Some(line) = lines.next_line().await? {
                if line.starts_with(last) {
                    return Ok::<bool, anyhow::Error>(true);
                }
                let mut words = line.split_whitespace();
                if let (Some(target), Some(addr), None) = (words.next(), words.next(), words.next())
                    && let Ok(addr) = addr.parse::<SocketAddr>()
                {
                    addrs.insert(target.to_string(), addr);
                }
            }
            Ok(false)
        };
        let started = tokio::time::timeout(START_TIMEOUT, read).await;
        match started {
            Ok(Ok(true)) => {}
            other => {
                let _ = child.start_kill();
                let tail = tail(&log);
                anyhow::bail!(
                    "{name} did not start ({other:?}); its log {}:\n{tail}",
                    log.display()
                );
            }
        }
        // Keep reading: a process writing to a closed pipe would fail.
        let mut sink = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .await?;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = sink.write_all(line.as_bytes()).await;
                let _ = sink.write_all(b"\n").await;
            }
        });
        let proc = Proc {
            name: name.to_string(),
            child: Some(child),
            addrs,
        };
        for addr in proc.addrs.values() {
            wait_serving(*addr).await?;
        }
        Ok(proc)
    }
}

impl Proc {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// The listener of `target`.
    pub fn addr(&self, target: &str) -> anyhow::Result<SocketAddr> {
        self.addrs.get(target).copied().with_context(|| {
            format!(
                "{} printed no address for {target} (it printed {:?})",
                self.name, self.addrs
            )
        })
    }

    /// Resident memory now.
    pub fn resident(&self) -> Option<Resident> {
        self.pid().and_then(Resident::of)
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => {
                child.kill().await?;
                Ok(())
            }
        }
    }
}

/// `VmRSS` of `pid`, in bytes.
pub fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// Resident memory split: (anonymous, file-backed) bytes.
pub fn rss_split(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}

/// CPU seconds (user + system) a process, or with `/task/<tid>` a thread,
/// has used: fields 14 and 15 of its `stat`.
pub fn cpu_seconds(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
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
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of each of `pids`, summed.
pub fn cpu_of(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|p| cpu_seconds(&format!("/proc/{p}/stat")))
        .sum()
}

/// The direct children of `pid` (nginx's worker).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u32>().ok());
            ppid == Some(pid)
        })
        .collect()
}

/// The last lines of a log file.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Waits until `addr` answers gRPC health for the whole server.
pub async fn wait_serving(addr: SocketAddr) -> anyhow::Result<()> {
    wait_serving_name(addr, "").await
}

/// Waits until `addr` reports `service` SERVING (through a gateway: until
/// it sees its upstream).
pub async fn wait_serving_name(addr: SocketAddr, service: &str) -> anyhow::Result<()> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(ch) = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await
        {
            let answer = HealthClient::new(ch)
                .check(HealthCheckRequest {
                    service: service.to_string(),
                })
                .await;
            if let Ok(r) = answer
                && r.into_inner().status == ServingStatus::Serving as i32
            {
                return Ok(());
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{addr} never reported {service:?} SERVING"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Resident memory of a process at one moment, bytes.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Resident {
    pub rss: u64,
    /// Heap, stacks: what the process allocated.
    pub anon: u64,
    /// Pages of the binary (and libraries) mapped in: clean, shared
    /// between processes of the same binary, dropped first under pressure.
    pub file: u64,
}

impl Resident {
    pub fn of(pid: u32) -> Option<Self> {
        let rss = rss_of(pid)?;
        let (anon, file) = rss_split(pid)?;
        Some(Self { rss, anon, file })
    }
}

/// Samples the resident size of some processes every 50 ms on its own
/// thread; `stop` returns the largest seen for each.
pub struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Vec<Resident>>,
}

impl RssSampler {
    pub fn start(pids: Vec<u32>) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut max = vec![Resident::default(); pids.len()];
            while !flag.load(Ordering::Relaxed) {
                for (m, pid) in max.iter_mut().zip(&pids) {
                    if let Some(now) = Resident::of(*pid)
                        && now.rss > m.rss
                    {
                        *m = now;
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            max
        });
        Self { stop, handle }
    }

    pub fn stop(self) -> Vec<Resident> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

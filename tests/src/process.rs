//! The real `concord` binary as a child process, for what only a process
//! shows: SIGKILL and SIGTERM, restarts, and what it writes to its logs.
//!
//! Which binary: `CONCORD_BIN` when set (a prebuilt one, used as is);
//! otherwise `<target>/<profile>/concord` of the target directory this test
//! binary was built in, brought up to date once per test run with
//! `cargo test --workspace --no-run`: the very build `cargo test
//! --workspace` (CI) has just done, so there it costs a second, and the
//! binary has the same features as the one the `concord` package's own
//! tests run (`cargo build -p concord` would resolve features differently
//! and rebuild half the dependency tree). From `cargo test -p concord-e2e`
//! the first run builds the workspace's tests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The path of an up-to-date `concord` binary.
pub fn concord_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("CONCORD_BIN").filter(|b| !b.is_empty()) {
            return PathBuf::from(bin);
        }
        // <target>/<profile>/deps/e2e-<hash>: the binary goes to <target>/<profile>.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("<target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("<target>").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
        let mut build = std::process::Command::new(cargo);
        build
            .args(["test", "--workspace", "--no-run", "--quiet"])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(
            status.success(),
            "cargo test --workspace --no-run failed; set CONCORD_BIN to a built binary"
        );
        let bin = profile_dir.join(format!("concord{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
    .clone()
}

/// What a process wrote, stdout and stderr interleaved by line.
#[derive(Debug, Clone, Default)]
pub struct Output(Arc<Mutex<String>>);

impl Output {
    /// Everything written so far.
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn push(&self, line: &str) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        s.push_str(line);
        s.push('\n');
    }
}

/// A running `concord serve`; killed when dropped.
#[derive(Debug)]
pub struct Concord {
    child: Child,
    /// Each target's address, as the process printed it.
    pub addrs: BTreeMap<String, SocketAddr>,
    /// Its `/metrics` address.
    pub metrics: SocketAddr,
    /// Everything it wrote; complete once [`Concord::wait`] returned.
    pub output: Output,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

/// How to start a process: the environment it gets besides the defaults
/// below, and the targets it runs (all when empty).
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub env: Vec<(String, String)>,
    pub targets: Vec<String>,
}

impl Launch {
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_string(), value.into()));
        self
    }

    pub fn target(mut self, name: &str) -> Self {
        self.targets.push(name.to_string());
        self
    }
}

impl Concord {
    /// Starts `concord serve` with the test signing secret, `data_dir` for
    /// its SQLite files, every port chosen by the system unless `launch`
    /// sets `CONCORD_PORT_BASE`, and waits until it printed its addresses
    /// (at most 60 seconds).
    pub async fn start(data_dir: &Path, launch: Launch) -> Concord {
        let mut cmd = Command::new(concord_binary());
        cmd.arg("serve");
        for t in &launch.targets {
            cmd.args(["--target", t]);
        }
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CONCORD_DATA_DIR", data_dir)
            .env(
                "CONCORD_JWT_SECRET",
                String::from_utf8(concord_kit::testing::TEST_SECRET.to_vec()).expect("ascii"),
            )
            .env("CONCORD_PORT_BASE", "0")
            .env("CONCORD_METRICS_PORT", "0")
            .env("CONCORD_GATEWAY_RATE_PER_SECOND", "100000")
            .env("CONCORD_GATEWAY_RATE_BURST", "100000")
            .env("RUST_LOG", "info")
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("concord starts");
        let output = Output::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let mut readers = Vec::new();
        for pipe in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Pipe>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Pipe>),
        ]
        .into_iter()
        .flatten()
        {
            let (output, tx) = (output.clone(), tx.clone());
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
                        eprintln!("[concord {}] {line}", std::process::id());
                    }
                    output.push(&line);
                    let _ = tx.send(line);
                }
            }));
        }
        drop(tx);
        // The banner: "Concord is running", one "  <target> <addr>" line per
        // target, the metrics URL, then the bootstrap token.
        let mut addrs = BTreeMap::new();
        let mut metrics = None;
        let banner = async {
            while let Some(line) = rx.recv().await {
                let mut words = line.split_whitespace();
                if line.starts_with("  ")
                    && let (Some(name), Some(addr), None) =
                        (words.next(), words.next(), words.next())
                {
                    if name == "metrics" {
                        let addr = addr
                            .trim_start_matches("http://")
                            .trim_end_matches("/metrics");
                        metrics = addr.parse().ok();
                        return;
                    }
                    if let Ok(a) = addr.parse() {
                        addrs.insert(name.to_string(), a);
                    }
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), banner)
            .await
            .is_err()
            || metrics.is_none()
        {
            let _ = child.start_kill();
            panic!(
                "concord serve did not print its addresses:\n{}",
                output.text()
            );
        }
        let process = Concord {
            child,
            addrs,
            metrics: metrics.expect("checked"),
            output,
            readers,
        };
        for (target, addr) in &process.addrs {
            let url = format!("http://{addr}");
            let names = if target == "gateway" {
                vec![""]
            } else {
                let prefix = format!("concord.{target}.");
                concord_proto::policy_table::services()
                    .into_iter()
                    .filter(|s| s.starts_with(&prefix))
                    .collect()
            };
            for name in names {
                concord_kit::testing::wait_serving(&url, name).await;
            }
        }
        process
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// `http://<addr>` of `target`.
    pub fn url(&self, target: &str) -> String {
        format!("http://{}", self.addrs[target])
    }

    /// A channel to `target`'s own listener (the gateway's for "gateway").
    pub async fn channel(&self, target: &str) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.url(target))
            .expect("url")
            .timeout(Duration::from_secs(30))
            .connect()
            .await
            .expect("connect")
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&self) {
        signal(self.pid(), "TERM");
    }

    /// SIGKILL: no shutdown at all, as when a machine dies. Waits until the
    /// process is gone.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// Waits for the process to exit (at most `within`), returning whether
    /// it exited successfully.
    pub async fn wait(&mut self, within: Duration) -> Option<bool> {
        let exited = match tokio::time::timeout(within, self.child.wait()).await {
            Ok(Ok(status)) => Some(status.success()),
            _ => None,
        };
        if exited.is_some() {
            // Its pipes are closed: read what is left in them.
            for reader in self.readers.drain(..) {
                let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
            }
        }
        exited
    }

    /// `/metrics` as text.
    pub async fn metrics_text(&self) -> String {
        crate::http_get(self.metrics, "/metrics").await
    }
}

trait Pipe: tokio::io::AsyncRead + Unpin + Send {}
impl<T: tokio::io::AsyncRead + Unpin + Send> Pipe for T {}

/// Sends a signal (by name, e.g. "TERM") to a process, with `kill(1)`: the
/// crate forbids unsafe code, so no libc call.
pub fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// A free TCP port on 127.0.0.1 with the `n - 1` ports above it free too
/// (checked by binding them; another process may still take one later).
pub fn free_port_range(n: u16) -> u16 {
    for _ in 0..200 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        if base.checked_add(n).is_none() {
            continue;
        }
        let held: Vec<_> = (0..n)
            .map_while(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return base;
        }
    }
    panic!("no {n} free consecutive ports")
}

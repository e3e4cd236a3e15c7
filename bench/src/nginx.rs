//! Debian's nginx as the comparison proxy: `grpc_pass` with one worker,
//! upstream keepalive and `keepalive_requests` raised (nginx otherwise
//! closes an HTTP/2 connection after 1,000 requests), on free loopback
//! ports, with a configuration written into the run folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// A running nginx with one listener per upstream.
#[derive(Debug)]
pub struct Nginx {
    child: Option<Child>,
    /// The listener in front of each upstream, in the order given.
    pub addrs: Vec<SocketAddr>,
    pub version: String,
}

/// The nginx binary, when installed.
pub fn find() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The configuration: one server per upstream.
pub fn config(dir: &Path, listeners: &[(u16, SocketAddr)]) -> String {
    let d = dir.display();
    let mut upstreams = String::new();
    let mut servers = String::new();
    for (i, (port, upstream)) in listeners.iter().enumerate() {
        upstreams.push_str(&format!(
            "    upstream u{i} {{\n        server {upstream};\n        keepalive 128;\n        keepalive_requests 1000000;\n        keepalive_timeout 300s;\n    }}\n"
        ));
        servers.push_str(&format!(
            "    server {{\n        listen 127.0.0.1:{port} http2;\n        location / {{\n            grpc_pass grpc://u{i};\n        }}\n    }}\n"
        ));
    }
    format!(
        "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\n\
         events {{\n    worker_connections 4096;\n}}\n\
         http {{\n    access_log off;\n    keepalive_requests 1000000;\n    keepalive_timeout 300s;\n\
         \x20   client_body_temp_path {d}/nginx-tmp/body;\n    proxy_temp_path {d}/nginx-tmp/proxy;\n\
         \x20   fastcgi_temp_path {d}/nginx-tmp/fastcgi;\n    uwsgi_temp_path {d}/nginx-tmp/uwsgi;\n\
         \x20   scgi_temp_path {d}/nginx-tmp/scgi;\n{upstreams}{servers}}}\n"
    )
}

impl Drop for Nginx {
    /// On an early exit: a graceful stop, so the worker goes with the master.
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = std::process::Command::new("kill")
                .arg("-QUIT")
                .arg(pid.to_string())
                .status();
        }
    }
}

impl Nginx {
    /// Starts nginx at `binary` in front of `upstreams`.
    pub async fn start(
        binary: &Path,
        dir: &Path,
        upstreams: &[SocketAddr],
    ) -> anyhow::Result<Self> {
        let dir = dir.join("nginx");
        std::fs::create_dir_all(dir.join("nginx-tmp"))?;
        let mut listeners = Vec::new();
        for u in upstreams {
            listeners.push((free_port()?, *u));
        }
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(&dir, &listeners))?;
        let version = std::process::Command::new(binary)
            .arg("-v")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
            .unwrap_or_default();
        let log = std::fs::File::create(dir.join("nginx-stderr.log"))?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("nginx-error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|(p, _)| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect();
        let nginx = Self {
            child: Some(child),
            addrs,
            version,
        };
        for a in &nginx.addrs {
            crate::procs::wait_serving(*a)
                .await
                .with_context(|| format!("nginx on {a} (see {})", dir.display()))?;
        }
        Ok(nginx)
    }

    /// The master's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// The master's and its worker's pids.
    pub fn pids(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self.pid().into_iter().collect();
        if let Some(master) = self.pid() {
            out.extend(crate::procs::children(master));
        }
        out
    }

    /// Stops nginx (SIGQUIT lets the worker finish; then SIGKILL).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill")
                .arg("-QUIT")
                .arg(pid.to_string())
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            child.kill().await?;
        }
        Ok(())
    }
}

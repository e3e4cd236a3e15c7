//! The suite started in the test process on port 0 (SQLite, or PostgreSQL
//! with Redis), and the real `concord` binary pointed at its gateway.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Output;

use concord::suite::{Bind, GATEWAY, RunningSuite};
use concord_kit::config::Settings;
use concord_kit::testing::{Backend, TEST_SECRET};
use concord_proto::policy::v1::Role;

pub struct Suite {
    pub gateway: SocketAddr,
    running: Option<RunningSuite>,
    /// Client configuration and scratch files of the binary.
    pub home: tempfile::TempDir,
    _data: tempfile::TempDir,
}

impl Drop for Suite {
    fn drop(&mut self) {
        if let Some(r) = &self.running {
            r.shutdown.cancel();
        }
    }
}

pub async fn spawn(backend: &Backend) -> Suite {
    concord_kit::testing::init_log();
    let data = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        data_dir: data.path().to_path_buf(),
        jwt_secret: Some(
            String::from_utf8(TEST_SECRET.to_vec())
                .expect("ascii")
                .into(),
        ),
        gateway_rate_per_second: 100_000.0,
        gateway_rate_burst: 100_000,
        ..Settings::default()
    };
    if let Backend::Postgres(url) = backend {
        settings.database_url = Some(concord_kit::testing::fresh_database(url).await.into());
        let redis = concord_kit::testing::redis_url()
            .expect("set CONCORD_TEST_REDIS_URL with CONCORD_TEST_DATABASE_URL");
        settings.redis_url = Some(redis.into());
    }
    let running = concord::suite::start(&settings, &[], Bind::Ephemeral, None)
        .await
        .expect("suite starts");
    let gateway = running.addrs[GATEWAY];
    let url = format!("http://{gateway}");
    for target in running.addrs.keys().filter(|t| **t != GATEWAY) {
        let prefix = format!("concord.{target}.");
        for name in concord_proto::policy_table::services()
            .into_iter()
            .filter(|s| s.starts_with(&prefix))
        {
            concord_kit::testing::wait_serving(&url, name).await;
        }
    }
    Suite {
        gateway,
        running: Some(running),
        home: tempfile::tempdir().expect("temp dir"),
        _data: data,
    }
}

/// A token signed with the suite's secret.
pub fn token(subject: &str, roles: &[Role], department: Option<&str>) -> String {
    concord_kit::testing::token(subject, roles, department)
}

/// What the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The standard output as JSON; panics with both streams otherwise.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(
            self.code, 0,
            "exit {}: {}\n{}",
            self.code, self.stdout, self.stderr
        );
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "exit {}: {}\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

impl Suite {
    /// Runs `concord ARGS` as `token` (none when `None`), against this
    /// suite's gateway, with no saved login.
    pub async fn run(&self, token: Option<&str>, args: &[&str]) -> Run {
        let mut cmd = self.command(token);
        cmd.args(args);
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("the binary runs");
        decode(out)
    }

    /// Asserts the exit code and what stderr says, on a blocking thread.
    pub async fn expect(&self, token: Option<&str>, args: &[&str], code: i32, says: &[&str]) {
        let mut cmd = self.command(token);
        cmd.args(args);
        let says: Vec<String> = says.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let mut assert = cmd.assert().code(code);
            for s in says {
                assert = assert.stderr(predicates::str::contains(s));
            }
        })
        .await
        .expect("assertions hold");
    }

    /// The binary with this suite's environment.
    pub fn command(&self, token: Option<&str>) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_concord"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CONCORD_ADDR", self.gateway.to_string())
            .env(
                "CONCORD_CLIENT_CONFIG",
                self.home.path().join("client.toml"),
            )
            .env("CONCORD_DATA_DIR", self.home.path().join("data"))
            .env(
                "CONCORD_JWT_SECRET",
                String::from_utf8(TEST_SECRET.to_vec()).expect("ascii"),
            );
        if let Some(t) = token {
            cmd.env("CONCORD_TOKEN", t);
        }
        cmd
    }
}

fn decode(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

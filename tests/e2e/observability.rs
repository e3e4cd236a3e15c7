//! The dashboards proven against a real Prometheus: Debian's `prometheus`
//! runs on deploy/prometheus/prometheus.yml (the suite's metrics address and
//! a one-second interval put in) with the rule files beside it, scraping a
//! suite that gets traffic through the gateway to every service. Then every
//! panel and variable query of every dashboard in dashboards/, its template
//! variables filled in as Grafana would, goes to Prometheus's HTTP API: each
//! must parse and return data.

mod traffic;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use concord::suite::{Bind, GATEWAY};
use concord_kit::clock::{Clock, ManualClock, SharedClock, SystemClock};
use concord_kit::testing::Backend;
use serde_json::Value;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Debian's `prometheus`, installed by deploy/prometheus/check.sh when
/// missing (CI runs that script before the tests).
/// Both backends' tests may get here at once: one installs, the other waits.
fn prometheus_binary() -> PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = on_path("prometheus") {
        return p;
    }
    let script = root().join("deploy/prometheus/check.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg("--install")
        .status()
        .expect("run deploy/prometheus/check.sh --install");
    assert!(
        status.success(),
        "could not install Debian's prometheus package: run `bash deploy/prometheus/check.sh` as root"
    );
    on_path("prometheus").expect("prometheus on PATH after installing it")
}

/// A Prometheus of our own on a free loopback port, with its storage in a
/// temporary directory; killed when dropped.
struct Prometheus {
    child: Child,
    url: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces `from` with `to` in `text`, which must contain it.
fn put(text: String, from: &str, to: &str) -> String {
    assert!(text.contains(from), "expected {from:?} in the file");
    text.replace(from, to)
}

impl Prometheus {
    /// Starts Prometheus on deploy/prometheus/prometheus.yml, scraping
    /// `metrics` and evaluating every rule group every second.
    async fn start(metrics: SocketAddr) -> Self {
        let binary = prometheus_binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let source = root().join("deploy/prometheus");
        let config =
            std::fs::read_to_string(source.join("prometheus.yml")).expect("prometheus.yml");
        let config = put(config, "127.0.0.1:9464", &metrics.to_string());
        let config = put(config, "scrape_interval: 15s", "scrape_interval: 1s");
        let config = put(
            config,
            "evaluation_interval: 15s",
            "evaluation_interval: 1s",
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write config");
        std::fs::create_dir(dir.path().join("rules")).expect("rules dir");
        for entry in std::fs::read_dir(source.join("rules")).expect("rules") {
            let path = entry.expect("entry").path();
            // The groups' own intervals (1 to 15 minutes) give way to the
            // global second.
            let rules: String = std::fs::read_to_string(&path)
                .expect("rule file")
                .lines()
                .filter(|l| !l.trim_start().starts_with("interval:"))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(
                dir.path().join("rules").join(path.file_name().unwrap()),
                rules,
            )
            .expect("write rules");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            dir,
        };
        p.wait_ready().await;
        p
    }

    async fn wait_ready(&self) {
        for _ in 0..300 {
            if let Ok(r) = self.http.get(format!("{}/-/ready", self.url)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Prometheus not ready in 30 s:\n{}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query: `Ok(result)` or `Err(error)` from the API.
    async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let body: Value = self
            .http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        Ok(match &body["data"]["result"] {
            Value::Array(v) => v.clone(),
            // A scalar or a string is data too.
            other => vec![other.clone()],
        })
    }

    /// Waits until the suite's target has been scraped `n` more times.
    async fn scrapes(&self, n: u32) {
        let count = || async {
            self.query("sum(count_over_time(up{job=\"concord\"}[1h]))")
                .await
                .ok()
                .and_then(|r| {
                    r.first()
                        .and_then(|s| s["value"][1].as_str()?.parse::<f64>().ok())
                })
                .unwrap_or(0.0)
        };
        let start = count().await;
        for _ in 0..300 {
            if count().await >= start + f64::from(n) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Prometheus did not scrape the suite:\n{}", self.log());
    }
}

/// One query of a dashboard, with where it comes from.
struct Query {
    dashboard: String,
    panel: String,
    expr: String,
}

/// The value Grafana gives a variable when nothing is chosen: "All" where
/// offered (its `allValue`), otherwise its current value.
fn variable_value(v: &Value) -> String {
    if v["includeAll"].as_bool() == Some(true) {
        return v["allValue"].as_str().unwrap_or(".*").to_string();
    }
    match &v["current"]["value"] {
        Value::Array(values) => {
            let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            format!("({})", values.join("|"))
        }
        value => value.as_str().unwrap_or_default().to_string(),
    }
}

/// Every panel query and variable query of every dashboard, with Grafana's
/// built-in and the dashboard's own variables filled in.
fn dashboard_queries() -> Vec<Query> {
    let provisioned = std::fs::read_to_string(
        root().join("deploy/grafana/provisioning/datasources/prometheus.yaml"),
    )
    .expect("the datasource provisioning file");
    let mut out = Vec::new();
    let mut uids = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("dashboards"))
        .expect("dashboards/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "the six dashboards: {files:?}");
    for file in files {
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read"))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = d["title"].as_str().expect("a title").to_string();
        let uid = d["uid"].as_str().expect("a uid").to_string();
        assert!(!uids.contains(&uid), "{name}: uid {uid} used twice");
        uids.push(uid);
        let variables = d["templating"]["list"].as_array().expect("variables");
        // The datasource is chosen through a variable whose default is the
        // provisioned Prometheus.
        let ds = variables
            .iter()
            .find(|v| v["type"] == "datasource")
            .unwrap_or_else(|| panic!("{name}: no datasource variable"));
        assert_eq!(ds["name"], "datasource", "{name}");
        assert_eq!(ds["query"], "prometheus", "{name}");
        let default_uid = ds["current"]["value"]
            .as_str()
            .expect("a default datasource");
        assert!(
            provisioned.contains(&format!("uid: {default_uid}")),
            "{name}: the default datasource {default_uid} is not the provisioned one"
        );
        let mut values: Vec<(String, String)> = variables
            .iter()
            .filter(|v| v["type"] != "datasource")
            .map(|v| {
                (
                    v["name"].as_str().expect("name").to_string(),
                    variable_value(v),
                )
            })
            .collect();
        // Longest names first, so `$department` never eats `$departments`.
        values.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        values.extend(
            [
                ("__rate_interval", "1m"),
                ("__interval", "15s"),
                ("__range", "1h"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string())),
        );
        let fill = |expr: &str| {
            let mut e = expr.to_string();
            for (n, v) in &values {
                e = e
                    .replace(&format!("${{{n}}}"), v)
                    .replace(&format!("${n}"), v);
            }
            assert!(
                !e.contains('$') || e.contains("\"$1\""),
                "{name}: unfilled variable in {e}"
            );
            e
        };
        for v in variables.iter().filter(|v| v["type"] == "query") {
            let q = v["query"]["query"].as_str().expect("a variable query");
            let expr = if let Some(inner) = q
                .strip_prefix("query_result(")
                .and_then(|r| r.strip_suffix(')'))
            {
                // query_result(expr): the series of `expr`, whose labels the
                // variable's regex reads.
                inner.to_string()
            } else {
                // label_values(metric, label): the series of `metric` with `label`.
                let inner = q
                    .strip_prefix("label_values(")
                    .and_then(|r| r.strip_suffix(')'))
                    .expect("a label_values or query_result query");
                let (metric, label) = inner.rsplit_once(',').expect("metric, label");
                format!("count by ({}) ({})", label.trim(), metric.trim())
            };
            out.push(Query {
                dashboard: name.clone(),
                panel: format!("variable {}", v["name"]),
                expr: fill(&expr),
            });
        }
        let mut panels: Vec<&Value> = Vec::new();
        for p in d["panels"].as_array().expect("panels") {
            panels.push(p);
            panels.extend(p["panels"].as_array().into_iter().flatten());
        }
        for p in panels.into_iter().filter(|p| p["type"] != "row") {
            let title = p["title"].as_str().expect("a panel title");
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{name} / {title}");
            let targets = p["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{name} / {title}: no query");
            for t in targets {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{name} / {title}");
                out.push(Query {
                    dashboard: name.clone(),
                    panel: title.to_string(),
                    expr: fill(t["expr"].as_str().expect("an expression")),
                });
            }
        }
    }
    out
}

/// Whether `expr` reads a metric of a target this suite does not run.
fn needs_missing_target(expr: &str, served: &BTreeMap<&'static str, SocketAddr>) -> Option<String> {
    [
        "appraisal",
        "training",
        "emergency",
        "feedback",
        "decisions",
        "notices",
    ]
    .into_iter()
    .find(|t| expr.contains(&format!("concord_{t}_")) && !served.contains_key(t))
    .map(str::to_string)
}

/// A suite like `spawn_suite`'s, on a manual clock that starts now, so the
/// traffic can let deadlines pass.
async fn suite_on_manual_clock(backend: &Backend) -> (traffic::Suite, Arc<ManualClock>) {
    concord_kit::testing::init_log();
    let data = tempfile::tempdir().expect("temp dir");
    let settings = concord_e2e::settings(backend, data.path()).await;
    let clock = ManualClock::new(SystemClock.now_ms());
    let running = concord::suite::start(
        &settings,
        &[],
        Bind::Ephemeral,
        Some(clock.clone() as SharedClock),
    )
    .await
    .expect("suite starts");
    let url = format!("http://{}", running.addrs[GATEWAY]);
    for target in running.addrs.keys().filter(|t| **t != GATEWAY) {
        let prefix = format!("concord.{target}.");
        for name in concord_proto::policy_table::services()
            .into_iter()
            .filter(|s| s.starts_with(&prefix))
        {
            concord_kit::testing::wait_serving(&url, name).await;
        }
    }
    let channel = tonic::transport::Endpoint::from_shared(url)
        .expect("url")
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("connect to the gateway");
    (
        traffic::Suite::new(running, channel, clock.clone(), data),
        clock,
    )
}

async fn every_panel_of_every_dashboard_returns_data(backend: Backend) {
    let (suite, _clock) = suite_on_manual_clock(&backend).await;
    let prometheus = Prometheus::start(suite.metrics()).await;
    prometheus.scrapes(2).await;

    // Every kind of event once, then (after Prometheus has seen the series)
    // again, so that windowed figures count real increases.
    let mut org = traffic::Org::build(&suite).await;
    traffic::first_round(&suite, &mut org).await;
    prometheus.scrapes(2).await;
    traffic::second_round(&suite, &mut org).await;
    prometheus.scrapes(3).await;

    let queries = dashboard_queries();
    let served = suite.addrs();
    let mut skipped = Vec::new();
    let mut pending: Vec<&Query> = Vec::new();
    for q in &queries {
        match needs_missing_target(&q.expr, &served) {
            Some(target) => skipped.push(format!(
                "{} / {} (target {target} not served)",
                q.dashboard, q.panel
            )),
            None => pending.push(q),
        }
    }
    // Recording rules need an evaluation after the last scrape: retry the
    // empty ones for a while; a parse error fails at once.
    let mut failures = Vec::new();
    for _ in 0..40 {
        failures.clear();
        for q in &pending {
            match prometheus.query(&q.expr).await {
                Ok(result) if !result.is_empty() => {}
                Ok(_) => failures.push(format!(
                    "{} / {}: no data\n    {}",
                    q.dashboard, q.panel, q.expr
                )),
                Err(e) => panic!("{} / {}: {e}\n    {}", q.dashboard, q.panel, q.expr),
            }
        }
        if failures.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        failures.is_empty(),
        "{} of {} queries returned no data:\n{}\nPrometheus log:\n{}",
        failures.len(),
        pending.len(),
        failures.join("\n"),
        prometheus.log()
    );
    for s in &skipped {
        eprintln!("skipped: {s}");
    }
    traffic::check_figures(&prometheus, &org).await;
    eprintln!(
        "{} dashboard queries returned data ({} skipped)",
        pending.len(),
        skipped.len()
    );
    suite.stop().await;
}

concord_kit::backend_tests!(every_panel_of_every_dashboard_returns_data);

//! The deployment in `deploy/` matches the binary: every overlay, rendered
//! with kustomize, runs each target the way `concord serve` serves it (port,
//! probes, health names, metrics), sets only settings the binary reads, and
//! the nightly backup restores into a database the suite runs on.
//!
//! Rendering needs kubectl: `CONCORD_KUBECTL`, else the one `deploy/check.sh`
//! installs under the target directory, else `kubectl` on the PATH. Without
//! one these tests say so and pass, except under CI (`CI` set), where they
//! fail. The backup test runs when `CONCORD_TEST_DATABASE_URL` is set and then
//! needs `psql`, `pg_dump` and `pg_restore`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use concord_kit::config::Settings;
use concord_kit::testing::{TEST_SECRET, token, with_token};
use concord_proto::policy::v1::Role;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;

/// Every target the manifests deploy: its port offset, the gRPC service name
/// its readiness probe asks for ("" for the process), and whether it has a
/// database. Targets the binary serves are checked against it; the others
/// (still being built) follow this table until they are served.
struct Deployed {
    name: &'static str,
    offset: u16,
    readiness: &'static str,
    database: bool,
}

const fn deployed(
    name: &'static str,
    offset: u16,
    readiness: &'static str,
    database: bool,
) -> Deployed {
    Deployed {
        name,
        offset,
        readiness,
        database,
    }
}

#[rustfmt::skip]
const DEPLOYED: &[Deployed] = &[
    deployed("gateway", 0, "", false),
    deployed("directory", 1, "concord.directory.v1.DirectoryService", true),
    deployed("notices", 2, "concord.notices.v1.NoticeService", true),
    deployed("decisions", 3, "concord.decisions.v1.DecisionService", true),
    deployed("feedback", 4, "concord.feedback.v1.FeedbackService", true),
    deployed("emergency", 5, "concord.emergency.v1.EmergencyService", true),
    deployed("appraisal", 6, "concord.appraisal.v1.AppraisalService", true),
    deployed("training", 7, "concord.training.v1.TrainingService", true),
];

const OVERLAYS: &[&str] = &["base", "overlays/dev", "overlays/prod"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The kubectl to render with, or `None` (and a note) when there is none.
fn kubectl() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CONCORD_KUBECTL") {
        return Some(PathBuf::from(path));
    }
    // deploy/check.sh installs into <target dir>/deploy/tools; this test runs
    // from <target dir>/debug/deps.
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir));
    }
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).take(4).map(Path::to_path_buf));
    }
    candidates.push(repo().join("target"));
    for dir in candidates {
        let k = dir.join("deploy/tools/bin/kubectl");
        if k.is_file() {
            return Some(k);
        }
    }
    let on_path = Command::new("kubectl")
        .args(["version", "--client"])
        .output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return Some(PathBuf::from("kubectl"));
    }
    assert!(
        !in_ci(),
        "no kubectl to render deploy/k8s with: run deploy/check.sh first (it installs one)"
    );
    eprintln!(
        "deploy tests: no kubectl (run deploy/check.sh, or set CONCORD_KUBECTL); manifest checks skipped"
    );
    None
}

/// Every object `kubectl kustomize` renders for `overlay`, as JSON values.
fn render(kubectl: &Path, overlay: &str) -> Vec<Value> {
    let dir = repo().join("deploy/k8s").join(overlay);
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(&dir)
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    yaml_documents(&String::from_utf8(out.stdout).expect("UTF-8"))
}

fn yaml_documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml_file(relative: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    yaml_documents(&text)
        .into_iter()
        .next()
        .expect("one document")
}

/// One overlay's objects, looked up by kind and name.
struct Rendered {
    overlay: &'static str,
    objects: Vec<Value>,
}

impl Rendered {
    fn all(&self, kind: &str) -> impl Iterator<Item = &Value> {
        self.objects.iter().filter(move |o| o["kind"] == kind)
    }

    fn get(&self, kind: &str, name: &str) -> Option<&Value> {
        self.all(kind).find(|o| o["metadata"]["name"] == name)
    }

    fn must(&self, kind: &str, name: &str) -> &Value {
        self.get(kind, name)
            .unwrap_or_else(|| panic!("{}: no {kind} {name}", self.overlay))
    }

    /// The settings ConfigMap (its name carries kustomize's hash).
    fn config(&self) -> BTreeMap<String, String> {
        let cm = self
            .all("ConfigMap")
            .find(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("concord-config"))
            })
            .unwrap_or_else(|| panic!("{}: no concord-config ConfigMap", self.overlay));
        serde_json::from_value(cm["data"].clone()).expect("string data")
    }

    fn setting(&self, name: &str) -> String {
        self.config()
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("{}: concord-config has no {name}", self.overlay))
    }

    fn port_base(&self) -> u16 {
        self.setting("CONCORD_PORT_BASE").parse().expect("a port")
    }

    /// Every Concord workload's pod spec (Deployments, Jobs, CronJobs).
    fn pod_specs(&self) -> Vec<(String, &Value)> {
        let mut specs = Vec::new();
        for o in &self.objects {
            if o["metadata"]["labels"]["app.kubernetes.io/part-of"] != "concord" {
                continue;
            }
            let name = format!(
                "{} {}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            );
            match o["kind"].as_str() {
                Some("Deployment" | "Job" | "StatefulSet") => {
                    specs.push((name, &o["spec"]["template"]["spec"]))
                }
                Some("CronJob") => {
                    specs.push((name, &o["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
                }
                _ => {}
            }
        }
        specs
    }
}

/// Every overlay, rendered once for all the tests; `None` without kubectl.
fn rendered() -> Option<&'static [Rendered]> {
    static RENDERED: std::sync::OnceLock<Option<Vec<Rendered>>> = std::sync::OnceLock::new();
    RENDERED
        .get_or_init(|| {
            let kubectl = kubectl()?;
            Some(
                OVERLAYS
                    .iter()
                    .map(|&overlay| Rendered {
                        overlay,
                        objects: render(&kubectl, overlay),
                    })
                    .collect(),
            )
        })
        .as_deref()
}

fn container<'a>(pod: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
    pod[list].as_array()?.iter().find(|c| c["name"] == name)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn secret_ref<'a>(c: &'a Value, var: &str) -> Option<&'a Value> {
    let e = c["env"].as_array()?.iter().find(|e| e["name"] == var)?;
    e.get("valueFrom")?.get("secretKeyRef")
}

fn named_port(c: &Value, name: &str) -> Option<u64> {
    c["ports"].as_array()?.iter().find(|p| p["name"] == name)?["containerPort"].as_u64()
}

fn labels_match(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

#[test]
fn the_table_of_deployed_targets_agrees_with_the_binary() {
    for served in concord::suite::TARGETS {
        let d = DEPLOYED
            .iter()
            .find(|d| d.name == served.name)
            .unwrap_or_else(|| {
                panic!(
                    "the binary serves {:?}, which deploy/k8s does not deploy",
                    served.name
                )
            });
        assert_eq!(d.offset, served.port_offset, "{}: port offset", d.name);
    }
    for d in DEPLOYED {
        assert!(
            d.name == concord::suite::GATEWAY
                || concord::suite::TARGETS.iter().any(|t| t.name == d.name),
            "deploy/k8s deploys {:?}, which the binary does not serve",
            d.name
        );
    }
}

#[test]
fn every_overlay_runs_each_target_as_the_binary_serves_it() {
    let Some(overlays) = rendered() else { return };
    for r in overlays {
        let o = r.overlay;
        assert_eq!(
            r.port_base(),
            Settings::default().port_base,
            "{o}: CONCORD_PORT_BASE, as the table assumes"
        );
        let deployments: BTreeSet<_> = r
            .all("Deployment")
            .filter(|d| d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "concord")
            .filter_map(|d| d["metadata"]["name"].as_str())
            .collect();
        assert_eq!(
            deployments,
            DEPLOYED.iter().map(|d| d.name).collect(),
            "{o}: one Deployment per target"
        );
        let image = r.image();
        for d in DEPLOYED {
            check_target(r, d, &image);
        }
        // The migrations Job runs the same image once per release.
        let job = r.must("Job", "concord-migrate");
        let c = container(&job["spec"]["template"]["spec"], "containers", "concord")
            .expect("migrate container");
        assert_eq!(
            strings(&c["args"]),
            ["migrate", "--target", "all"],
            "{o}: migrate Job"
        );
        assert_eq!(c["image"], image, "{o}: migrate image");
        assert!(
            secret_ref(c, "DATABASE_URL").is_some(),
            "{o}: migrate DATABASE_URL"
        );
    }
}

impl Rendered {
    /// The one Concord image every target runs.
    fn image(&self) -> Value {
        let pod = &self.must("Deployment", "gateway")["spec"]["template"]["spec"];
        container(pod, "containers", "concord").expect("container")["image"].clone()
    }
}

/// One target's Deployment, Service, autoscaler and disruption budget.
fn check_target(r: &Rendered, d: &Deployed, image: &Value) {
    let (o, name) = (r.overlay, d.name);
    let port = u64::from(r.port_base() + d.offset);
    let metrics: u64 = r.setting("CONCORD_METRICS_PORT").parse().expect("a port");
    let grace: u64 = r
        .setting("CONCORD_SHUTDOWN_GRACE_SECS")
        .parse()
        .expect("seconds");
    let deployment = r.must("Deployment", name);
    let pod = &deployment["spec"]["template"]["spec"];
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert!(
        labels_match(&deployment["spec"]["selector"]["matchLabels"], pod_labels),
        "{o} {name}: selector"
    );
    let c = container(pod, "containers", "concord")
        .unwrap_or_else(|| panic!("{o} {name}: no concord container"));
    assert_eq!(
        &c["image"], image,
        "{o} {name}: every target runs the one image"
    );
    assert_eq!(
        strings(&c["args"]),
        ["serve", "--target", name],
        "{o} {name}: command line"
    );
    assert_eq!(
        named_port(c, "grpc"),
        Some(port),
        "{o} {name}: gRPC port = CONCORD_PORT_BASE + offset"
    );
    assert_eq!(
        named_port(c, "metrics"),
        Some(metrics),
        "{o} {name}: metrics port = CONCORD_METRICS_PORT"
    );
    for probe in ["startupProbe", "livenessProbe"] {
        assert_eq!(
            c[probe]["grpc"]["port"].as_u64(),
            Some(port),
            "{o} {name}: {probe} port"
        );
        assert_eq!(
            c[probe]["grpc"]["service"].as_str().unwrap_or(""),
            "",
            "{o} {name}: {probe} asks for the process"
        );
    }
    assert_eq!(
        c["readinessProbe"]["grpc"]["port"].as_u64(),
        Some(port),
        "{o} {name}: readiness port"
    );
    assert_eq!(
        c["readinessProbe"]["grpc"]["service"]
            .as_str()
            .unwrap_or(""),
        d.readiness,
        "{o} {name}: readiness service"
    );
    let from_config = c["envFrom"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["configMapRef"]["name"].as_str())
        .any(|n| n.starts_with("concord-config"));
    assert!(from_config, "{o} {name}: settings from concord-config");

    // Every serving pod shares the token secret; only the services get the
    // database and Redis, and wait for their migrations.
    assert!(
        secret_ref(c, "CONCORD_JWT_SECRET").is_some(),
        "{o} {name}: CONCORD_JWT_SECRET"
    );
    for var in ["DATABASE_URL", "REDIS_URL"] {
        assert_eq!(
            secret_ref(c, var).is_some(),
            d.database,
            "{o} {name}: {var} only where there is a database"
        );
    }
    let wait = container(pod, "initContainers", "wait-for-migrations");
    assert_eq!(
        wait.is_some(),
        d.database,
        "{o} {name}: waits for migrations iff it has a database"
    );
    if let Some(wait) = wait {
        assert_eq!(
            strings(&wait["args"]),
            ["migrate", "--wait", "--target", name],
            "{o} {name}: wait command"
        );
        assert_eq!(&wait["image"], image, "{o} {name}: init image");
        assert!(
            secret_ref(wait, "DATABASE_URL").is_some(),
            "{o} {name}: init DATABASE_URL"
        );
    }

    // Shutdown: the preStop pause and the binary's grace fit before SIGKILL.
    let pause = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("{o} {name}: preStop sleep"));
    let budget = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    assert!(
        budget > pause + grace,
        "{o} {name}: terminationGracePeriodSeconds {budget} <= preStop {pause} + grace {grace}"
    );

    // The Service the other targets and Prometheus reach it by.
    let svc = r.must("Service", name);
    assert!(
        labels_match(&svc["spec"]["selector"], pod_labels),
        "{o} {name}: Service selects the pods"
    );
    for (port_name, want) in [("grpc", port), ("metrics", metrics)] {
        let p = svc["spec"]["ports"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == port_name))
            .unwrap_or_else(|| panic!("{o} {name}: Service port {port_name}"));
        assert_eq!(
            p["port"].as_u64(),
            Some(want),
            "{o} {name}: Service port {port_name}"
        );
        assert!(
            p["targetPort"] == port_name || p["targetPort"].as_u64() == Some(want),
            "{o} {name}: Service targetPort {port_name}"
        );
    }
    if d.database {
        let key = format!("CONCORD_UPSTREAMS__{}", name.to_uppercase());
        assert_eq!(
            r.setting(&key),
            format!("http://{name}:{port}"),
            "{o}: {key}"
        );
    }
    let pdb = r.must("PodDisruptionBudget", name);
    assert!(
        labels_match(&pdb["spec"]["selector"]["matchLabels"], pod_labels),
        "{o} {name}: PodDisruptionBudget selector"
    );
    if let Some(hpa) = r.get("HorizontalPodAutoscaler", name) {
        assert_eq!(
            hpa["spec"]["scaleTargetRef"]["name"], name,
            "{o}: HorizontalPodAutoscaler target"
        );
        assert!(
            deployment["spec"].get("replicas").is_none(),
            "{o} {name}: replicas belong to the autoscaler"
        );
    } else {
        assert_eq!(
            deployment["spec"]["replicas"].as_u64(),
            Some(1),
            "{o} {name}: without an autoscaler, one replica"
        );
    }
}

#[test]
fn every_concord_pod_is_hardened() {
    let Some(overlays) = rendered() else { return };
    for r in overlays {
        let o = r.overlay;
        for (what, pod) in r.pod_specs() {
            assert_eq!(
                pod["automountServiceAccountToken"], false,
                "{o} {what}: no service account token"
            );
            assert_eq!(
                pod["securityContext"]["runAsNonRoot"], true,
                "{o} {what}: runAsNonRoot"
            );
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{o} {what}: seccomp"
            );
            for c in ["initContainers", "containers"]
                .iter()
                .flat_map(|l| pod[*l].as_array().into_iter().flatten())
            {
                let sc = &c["securityContext"];
                assert_eq!(
                    sc["readOnlyRootFilesystem"], true,
                    "{o} {what}: read-only root"
                );
                assert_eq!(
                    sc["allowPrivilegeEscalation"], false,
                    "{o} {what}: no privilege escalation"
                );
                assert_eq!(
                    strings(&sc["capabilities"]["drop"]),
                    ["ALL"],
                    "{o} {what}: capabilities dropped"
                );
                assert!(
                    c["resources"]["requests"].is_object() && c["resources"]["limits"].is_object(),
                    "{o} {what}: resources"
                );
            }
        }
    }
}

#[test]
fn network_policies_admit_clients_only_at_the_gateway() {
    let Some(overlays) = rendered() else { return };
    for r in overlays {
        let o = r.overlay;
        let policy = |name: &str| &r.must("NetworkPolicy", name)["spec"];
        assert!(
            policy("default-deny-ingress")["podSelector"]
                .as_object()
                .is_some_and(|s| s.is_empty()),
            "{o}: default deny"
        );
        let gateway_in = &policy("gateway-ingress")["ingress"][0];
        assert!(
            gateway_in.get("from").is_none(),
            "{o}: the gateway takes clients from anywhere"
        );
        assert_eq!(
            gateway_in["ports"][0]["port"], "grpc",
            "{o}: only the gateway's gRPC port"
        );
        assert!(
            policy("services-ingress")["ingress"][0]["from"].is_array(),
            "{o}: the services only from the suite"
        );
        assert_eq!(
            policy("metrics-ingress")["ingress"][0]["ports"][0]["port"],
            "metrics",
            "{o}: metrics port"
        );
        // Named ports in the policies exist on the pods they select.
        for d in DEPLOYED {
            let c = container(
                &r.must("Deployment", d.name)["spec"]["template"]["spec"],
                "containers",
                "concord",
            )
            .unwrap();
            assert!(
                named_port(c, "grpc").is_some() && named_port(c, "metrics").is_some(),
                "{o} {}: named ports",
                d.name
            );
        }
        let egress = policy("concord-egress")["egress"]
            .as_array()
            .expect("egress");
        let range = egress
            .iter()
            .flat_map(|e| e["ports"].as_array().into_iter().flatten())
            .find(|p| p.get("endPort").is_some())
            .expect("the targets' port range");
        let (lo, hi) = (
            range["port"].as_u64().unwrap(),
            range["endPort"].as_u64().unwrap(),
        );
        for d in DEPLOYED {
            assert!(
                (lo..=hi).contains(&u64::from(r.port_base() + d.offset)),
                "{o}: egress to {}",
                d.name
            );
        }
    }
}

#[test]
fn prometheus_scrapes_every_target() {
    let Some(overlays) = rendered() else { return };
    for r in overlays {
        let o = r.overlay;
        let metrics = r.setting("CONCORD_METRICS_PORT");
        if let Some(sm) = r.get("ServiceMonitor", "concord") {
            let endpoint = &sm["spec"]["endpoints"][0];
            assert_eq!(endpoint["path"], "/metrics", "{o}: ServiceMonitor path");
            for d in DEPLOYED {
                let svc = r.must("Service", d.name);
                assert!(
                    labels_match(
                        &sm["spec"]["selector"]["matchLabels"],
                        &svc["metadata"]["labels"]
                    ),
                    "{o}: ServiceMonitor selects {}",
                    d.name
                );
                assert!(
                    svc["spec"]["ports"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == endpoint["port"]),
                    "{o}: {} has the scraped port",
                    d.name
                );
            }
        } else {
            // No Prometheus Operator in dev: its own Prometheus scrapes.
            assert_eq!(
                o, "overlays/dev",
                "only dev goes without the ServiceMonitor"
            );
            let scrape = r
                .all("ConfigMap")
                .find(|c| {
                    c["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("prometheus-config"))
                })
                .expect("prometheus-config");
            let config =
                yaml_documents(scrape["data"]["prometheus.yml"].as_str().unwrap()).remove(0);
            let targets: BTreeSet<String> =
                strings(&config["scrape_configs"][0]["static_configs"][0]["targets"])
                    .into_iter()
                    .collect();
            let want: BTreeSet<String> = DEPLOYED
                .iter()
                .map(|d| format!("{}:{metrics}", d.name))
                .collect();
            assert_eq!(targets, want, "{o}: Prometheus scrapes every target");
        }
    }
}

/// A setting of the binary: its environment variable, how to read it back
/// from `Settings`, and another valid value.
type Read = fn(&Settings) -> Option<String>;

fn settings_table() -> Vec<(&'static str, Read, &'static str)> {
    fn secret(s: &Option<secrecy::SecretString>) -> Option<String> {
        s.as_ref().map(|v| v.expose_secret().to_string())
    }
    vec![
        (
            "CONCORD_DATA_DIR",
            |s| Some(s.data_dir.display().to_string()),
            "/srv/elsewhere",
        ),
        (
            "DATABASE_URL",
            |s| secret(&s.database_url),
            "postgres://other@db.internal:5432/other",
        ),
        (
            "REDIS_URL",
            |s| secret(&s.redis_url),
            "redis://cache.internal:6380",
        ),
        (
            "CONCORD_JWT_SECRET",
            |s| secret(&s.jwt_secret),
            "another-signing-secret-of-32-bytes-or-more",
        ),
        (
            "CONCORD_JWKS_URL",
            |s| s.jwks_url.clone(),
            "https://idp.internal/jwks.json",
        ),
        (
            "CONCORD_JWT_ISSUER",
            |s| s.jwt_issuer.clone(),
            "https://idp.internal",
        ),
        (
            "CONCORD_JWT_AUDIENCE",
            |s| s.jwt_audience.clone(),
            "concord-elsewhere",
        ),
        ("RUST_LOG", |s| Some(s.log.clone()), "warn,concord=debug"),
        (
            "CONCORD_LOG_FORMAT",
            |s| {
                serde_json::to_value(s.log_format)
                    .ok()?
                    .as_str()
                    .map(String::from)
            },
            "text",
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            |s| s.otlp_endpoint.clone(),
            "http://collector.internal:4317",
        ),
        (
            "CONCORD_LISTEN_HOST",
            |s| Some(s.listen_host.to_string()),
            "127.0.0.2",
        ),
        (
            "CONCORD_PORT_BASE",
            |s| Some(s.port_base.to_string()),
            "40000",
        ),
        (
            "CONCORD_METRICS_PORT",
            |s| Some(s.metrics_port.to_string()),
            "9999",
        ),
        (
            "CONCORD_MAX_MESSAGE_BYTES",
            |s| Some(s.max_message_bytes.to_string()),
            "2048",
        ),
        (
            "CONCORD_MAX_CONCURRENT_STREAMS",
            |s| Some(s.max_concurrent_streams.to_string()),
            "7",
        ),
        (
            "CONCORD_REQUEST_TIMEOUT_SECS",
            |s| Some(s.request_timeout_secs.to_string()),
            "9",
        ),
        (
            "CONCORD_SHUTDOWN_GRACE_SECS",
            |s| Some(s.shutdown_grace_secs.to_string()),
            "9",
        ),
        (
            "CONCORD_TIMEZONE",
            |s| Some(s.timezone.clone()),
            "Europe/Paris",
        ),
    ]
}

/// Values standing in for Secret references, so the settings load as in a pod.
fn secret_placeholder(var: &str) -> String {
    match var {
        "DATABASE_URL" => "postgres://concord:secret@postgres:5432/concord".into(),
        "REDIS_URL" => "redis://redis:6379".into(),
        "CONCORD_JWT_SECRET" => "a-signing-secret-of-at-least-32-bytes".into(),
        other => panic!("{other} comes from a Secret; give it a placeholder here"),
    }
}

/// Loads the settings with `env` set, as in the container, and checks each
/// variable lands in its setting; then sets another value of each and sees
/// it land there too, which proves the binary reads that variable.
#[allow(clippy::result_large_err)] // figment's Jail API fixes the error type
fn assert_binary_reads(place: &str, env: &BTreeMap<String, String>) {
    let table = settings_table();
    let load =
        || Settings::load(None, serde_json::json!({})).unwrap_or_else(|e| panic!("{place}: {e}"));
    figment::Jail::expect_with(|jail| {
        for (k, v) in env {
            jail.set_env(k, v);
        }
        let loaded = load();
        for (var, value) in env {
            if let Some(target) = var.strip_prefix("CONCORD_UPSTREAMS__") {
                let target = target.to_lowercase();
                assert!(
                    DEPLOYED.iter().any(|d| d.name == target),
                    "{place}: {var} names no target"
                );
                assert_eq!(loaded.upstreams.get(&target), Some(value), "{place}: {var}");
                jail.set_env(var, "http://elsewhere.internal:1");
                assert_eq!(
                    load().upstreams[&target],
                    "http://elsewhere.internal:1",
                    "{place}: {var} is read"
                );
            } else {
                let (_, read, other) = table
                    .iter()
                    .find(|(name, ..)| name == var)
                    .unwrap_or_else(|| panic!("{place}: the binary reads no {var}"));
                assert_eq!(
                    read(&loaded).as_deref(),
                    Some(value.as_str()),
                    "{place}: {var}"
                );
                assert_ne!(other, value, "pick another value for {var}");
                jail.set_env(var, other);
                assert_eq!(
                    read(&load()).as_deref(),
                    Some(*other),
                    "{place}: {var} is read"
                );
            }
            jail.set_env(var, value);
        }
        Ok(())
    });
}

/// `${NAME:-default}` in the compose file, as compose reads it with NAME unset.
fn compose_default(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        let inner = &rest[start + 2..end];
        out.push_str(inner.split_once(":-").map_or("", |(_, d)| d));
        rest = &rest[end + 1..];
    }
    out + rest
}

/// The `ENV` settings of the runtime stage of the Dockerfile.
fn dockerfile_env() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo().join("deploy/docker/Dockerfile")).unwrap();
    let runtime = text.rsplit_once("\nFROM ").expect("a runtime stage").1;
    let joined = runtime.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|l| l.strip_prefix("ENV "))
        .flat_map(|l| {
            l.split_whitespace()
                .map(|kv| kv.split_once('=').expect("ENV KEY=VALUE"))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_setting_in_manifests_compose_and_image_is_read_by_the_binary() {
    assert_binary_reads("deploy/docker/Dockerfile", &dockerfile_env());

    let compose = yaml_file("deploy/compose.yaml");
    let concord = &compose["services"]["concord"];
    let env: BTreeMap<String, String> = concord["environment"]
        .as_object()
        .expect("environment as a map")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                compose_default(v.as_str().expect("string values")),
            )
        })
        .collect();
    assert_binary_reads("deploy/compose.yaml", &env);
    // The suite's ports, published on loopback.
    let base: u16 = env["CONCORD_PORT_BASE"].parse().unwrap();
    let last = base + DEPLOYED.iter().map(|d| d.offset).max().unwrap();
    let ports = strings(&concord["ports"]);
    assert!(
        ports.contains(&format!("127.0.0.1:{base}-{last}:{base}-{last}")),
        "compose publishes every target: {ports:?}"
    );
    assert!(
        ports.contains(&format!("127.0.0.1:{0}:{0}", env["CONCORD_METRICS_PORT"])),
        "compose publishes metrics: {ports:?}"
    );
    let scrape = yaml_file("deploy/compose/prometheus.yml");
    assert_eq!(
        scrape["scrape_configs"][0]["static_configs"][0]["targets"][0],
        format!("concord:{}", env["CONCORD_METRICS_PORT"])
    );

    let Some(overlays) = rendered() else { return };
    for r in overlays {
        for (what, pod) in r.pod_specs() {
            for list in ["initContainers", "containers"] {
                for c in pod[list].as_array().into_iter().flatten() {
                    if !c["image"].as_str().is_some_and(|i| i.contains("concord")) {
                        continue; // the backup's pg_dump
                    }
                    let mut env = BTreeMap::new();
                    if c["envFrom"].as_array().is_some_and(|e| !e.is_empty()) {
                        env.extend(r.config());
                    }
                    for e in c["env"].as_array().into_iter().flatten() {
                        let name = e["name"].as_str().unwrap().to_string();
                        let value = match e["value"].as_str() {
                            Some(v) => v.to_string(),
                            None => secret_placeholder(&name),
                        };
                        env.insert(name, value);
                    }
                    assert!(!env.is_empty(), "{} {what}: no settings", r.overlay);
                    assert_binary_reads(&format!("{} {what} {}", r.overlay, c["name"]), &env);
                }
            }
        }
    }
}

/// Runs the binary with `args` and `--help`: clap accepts the command line.
fn parses(args: &[String]) -> Result<(), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_concord"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run concord");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn every_command_line_in_the_deployment_parses() {
    let mut lines: BTreeSet<Vec<String>> = BTreeSet::new();
    let compose = yaml_file("deploy/compose.yaml");
    lines.insert(strings(&compose["services"]["concord"]["command"]));
    let dockerfile = std::fs::read_to_string(repo().join("deploy/docker/Dockerfile")).unwrap();
    let entrypoint = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("ENTRYPOINT");
    assert_eq!(
        entrypoint, r#"["/usr/local/bin/concord"]"#,
        "the image runs the binary itself, no shell"
    );
    let cmd = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("CMD");
    lines.insert(serde_json::from_str(cmd).expect("CMD in exec form"));
    if let Some(overlays) = rendered() {
        for r in overlays {
            for (_, pod) in r.pod_specs() {
                for list in ["initContainers", "containers"] {
                    for c in pod[list].as_array().into_iter().flatten() {
                        if c["image"].as_str().is_some_and(|i| i.contains("concord")) {
                            lines.insert(strings(&c["args"]));
                        }
                    }
                }
            }
        }
    }
    for line in &lines {
        if let Err(e) = parses(line) {
            panic!("concord {}: {e}", line.join(" "));
        }
    }
    for line in lines
        .iter()
        .filter(|l| l.first().is_some_and(|c| c == "serve"))
    {
        for name in line.iter().skip_while(|a| *a != "--target").skip(1).take(1) {
            assert!(
                DEPLOYED.iter().any(|d| d.name == name),
                "serve --target {name}: not a deployed target"
            );
        }
    }
}

#[test]
fn image_builds_from_every_workspace_member_and_runs_as_the_pods_user() {
    let manifest = workspace_members(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap());
    let ignore =
        std::fs::read_to_string(repo().join("deploy/docker/Dockerfile.dockerignore")).unwrap();
    let allowed: BTreeSet<&str> = ignore
        .lines()
        .filter_map(|l| l.strip_prefix('!'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    for member in manifest {
        let top = member.split('/').next().unwrap().to_string();
        assert!(
            allowed.contains(top.as_str()),
            "deploy/docker/Dockerfile.dockerignore leaves out workspace member {member}"
        );
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        assert!(allowed.contains(file), "the build context needs {file}");
    }
    let dockerfile = std::fs::read_to_string(repo().join("deploy/docker/Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    let defaults =
        std::fs::read_to_string(repo().join("deploy/k8s/base/pod-defaults.yaml")).unwrap();
    let pod = yaml_documents(&defaults).remove(0);
    let sc = &pod["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(
        user,
        format!("{}:{}", sc["runAsUser"], sc["runAsGroup"]),
        "the image's user is the pods' user"
    );
    let expose = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .expect("EXPOSE");
    let (base, last) = (
        Settings::default().port_base,
        Settings::default().port_base + DEPLOYED.iter().map(|d| d.offset).max().unwrap(),
    );
    assert!(
        expose
            .split_whitespace()
            .any(|p| p == format!("{base}-{last}")),
        "EXPOSE {expose}"
    );
    assert!(
        expose
            .split_whitespace()
            .any(|p| p == Settings::default().metrics_port.to_string()),
        "EXPOSE {expose}"
    );
}

/// The workspace's `members = [...]` (one quoted path per entry).
fn workspace_members(cargo_toml: &str) -> Vec<String> {
    let start = cargo_toml.find("members = [").expect("members") + "members = [".len();
    let end = cargo_toml[start..].find(']').expect("]") + start;
    cargo_toml[start..end]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_metrics_answer_as_deployed_on_the_running_suite() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    concord_kit::testing::init_log();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().to_path_buf(),
        jwt_secret: Some(String::from_utf8(TEST_SECRET.to_vec()).unwrap().into()),
        ..Settings::default()
    };
    let suite = concord::suite::start(&settings, &[], concord::suite::Bind::Ephemeral, None)
        .await
        .unwrap();
    for target in concord::suite::TARGETS {
        let d = DEPLOYED
            .iter()
            .find(|d| d.name == target.name)
            .expect("deployed");
        let url = format!("http://{}", suite.addrs[target.name]);
        concord_kit::testing::wait_serving(&url, d.readiness).await;
        let channel = tonic::transport::Endpoint::from_shared(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel);
        for service in ["", d.readiness] {
            let status = health
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .status;
            assert_eq!(
                status,
                ServingStatus::Serving as i32,
                "{}: health of {service:?}",
                d.name
            );
        }
    }
    // The ServiceMonitor's and Prometheus' path, and the plain liveness one.
    for (path, want) in [("/metrics", "# TYPE"), ("/healthz", "ok")] {
        let response = http_get(suite.metrics_addr, path).await;
        assert!(
            response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
            "{path}: {response}"
        );
        assert!(response.contains(want), "{path}: {response}");
    }
    suite.shutdown.cancel();
    suite.wait().await.unwrap();
}

/// A pod runs one target: `serve --target <name>` must not also start the
/// targets it needs when their addresses are configured, as every pod's
/// `CONCORD_UPSTREAMS__*` are (they run in their own pods, and migrate their
/// own schemas).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_runs_only_its_own_target() {
    concord_kit::testing::init_log();
    for target in concord::suite::TARGETS {
        let dir = tempfile::tempdir().unwrap();
        let upstreams = DEPLOYED
            .iter()
            .filter(|d| d.name != target.name)
            .map(|d| {
                (
                    d.name.to_string(),
                    format!("http://{}.invalid:{}", d.name, 50050 + d.offset),
                )
            })
            .collect();
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            jwt_secret: Some(String::from_utf8(TEST_SECRET.to_vec()).unwrap().into()),
            upstreams,
            ..Settings::default()
        };
        let wanted = [target.name.to_string()];
        let suite =
            concord::suite::start(&settings, &wanted, concord::suite::Bind::Ephemeral, None)
                .await
                .unwrap();
        let started: Vec<_> = suite.addrs.keys().copied().collect();
        suite.shutdown.cancel();
        suite.wait().await.unwrap();
        assert_eq!(
            started,
            [target.name],
            "serve --target {} with every upstream configured",
            target.name
        );
    }
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

mod backup {
    //! The nightly backup, run as the CronJob runs it, restored as the README
    //! says, with the suite started on the restored database.

    use super::*;
    use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
    use concord_proto::directory::v1::*;
    use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
    use concord_proto::notices::v1::*;

    fn psql(url: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--dbname",
                url,
                "-c",
                sql,
            ])
            .output()
            .expect("psql on the PATH");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A database of its own on the test server, dropped at the end.
    struct Database {
        admin: String,
        name: String,
        url: String,
    }

    impl Database {
        fn create(admin: &str, role: &str) -> Self {
            let name = format!("concord_deploy_{role}_{:016x}", rand::random::<u64>());
            psql(admin, &format!("CREATE DATABASE {name}"));
            let (without_query, query) = admin
                .split_once('?')
                .map_or((admin, None), |(a, q)| (a, Some(q)));
            let (server, _) = without_query.rsplit_once('/').expect("a database URL");
            let url = format!(
                "{server}/{name}{}",
                query.map(|q| format!("?{q}")).unwrap_or_default()
            );
            Self {
                admin: admin.to_string(),
                name,
                url,
            }
        }
    }

    impl Drop for Database {
        fn drop(&mut self) {
            let _ = Command::new("psql")
                .args([
                    "-X",
                    "-q",
                    "--dbname",
                    &self.admin,
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                ])
                .output();
        }
    }

    fn settings_on(db: &Database, dir: &Path) -> Settings {
        Settings {
            data_dir: dir.to_path_buf(),
            database_url: Some(db.url.clone().into()),
            jwt_secret: Some(String::from_utf8(TEST_SECRET.to_vec()).unwrap().into()),
            ..Settings::default()
        }
    }

    /// Every table of every service schema: row count and a digest of the rows.
    fn contents(url: &str, schemas: &[&str]) -> BTreeMap<String, String> {
        let list = schemas
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(",");
        let tables = psql(
            url,
            &format!(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema IN ({list}) ORDER BY 1"
            ),
        );
        tables
            .lines()
            .map(|t| {
                let digest = psql(url, &format!("SELECT count(*) || ' ' || coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '') FROM {t} r"));
                (t.to_string(), digest)
            })
            .collect()
    }

    /// The backup CronJob's container, read from its manifest.
    fn cronjob_container() -> Value {
        let text =
            std::fs::read_to_string(repo().join("deploy/k8s/overlays/prod/backup/cronjob.yaml"))
                .unwrap();
        let cron = yaml_documents(&text)
            .into_iter()
            .find(|d| d["kind"] == "CronJob")
            .expect("CronJob");
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0].clone()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restored_backup_holds_every_record_and_the_suite_runs_on_it() {
        concord_kit::testing::init_log();
        let Some(admin) = std::env::var("CONCORD_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!("CONCORD_TEST_DATABASE_URL unset: backup test skipped");
            return;
        };
        let source = Database::create(&admin, "source");
        let restored = Database::create(&admin, "restored");
        let work = tempfile::tempdir().unwrap();

        // A populated suite: departments, people, duties, a published notice
        // with receipts, one of them read; audit entries for all of it.
        let suite = concord::suite::start(
            &settings_on(&source, &work.path().join("a")),
            &[],
            concord::suite::Bind::Ephemeral,
            None,
        )
        .await
        .unwrap();
        let url = |t: &str| format!("http://{}", suite.addrs[t]);
        concord_kit::testing::wait_serving(
            &url("directory"),
            "concord.directory.v1.DirectoryService",
        )
        .await;
        concord_kit::testing::wait_serving(&url("notices"), "concord.notices.v1.NoticeService")
            .await;
        let admin_token = token("admin-1", &[Role::Admin], None);
        let mut directory = DirectoryServiceClient::connect(url("directory"))
            .await
            .unwrap();
        let mut departments = Vec::new();
        let mut parent = String::new();
        for (i, name) in ["信息中心", "Operations", "应急管理办公室"]
            .into_iter()
            .enumerate()
        {
            let d = directory
                .create_department(with_token(
                    CreateDepartmentRequest {
                        request_id: format!("d{i}"),
                        name: name.into(),
                        parent_id: parent.clone(),
                        description: format!("{name} 的职责"),
                    },
                    &admin_token,
                ))
                .await
                .unwrap()
                .into_inner();
            directory
                .add_duty(with_token(
                    AddDutyRequest {
                        request_id: format!("duty{i}"),
                        department_id: d.id.clone(),
                        text: format!("负责{name}的日常事务"),
                    },
                    &admin_token,
                ))
                .await
                .unwrap();
            parent = d.id.clone();
            departments.push(d);
        }
        let mut people = Vec::new();
        for (i, (name, dept)) in [("张伟", 0), ("Li Na", 1), ("王芳", 2), ("Chen Jie", 2)]
            .into_iter()
            .enumerate()
        {
            let p = directory
                .create_person(with_token(
                    CreatePersonRequest {
                        request_id: format!("p{i}"),
                        display_name: name.into(),
                        department_id: departments[dept].id.clone(),
                        ..Default::default()
                    },
                    &admin_token,
                ))
                .await
                .unwrap()
                .into_inner();
            people.push(p);
        }
        let mut notices = NoticeServiceClient::connect(url("notices")).await.unwrap();
        let notice = notices
            .create_notice(with_token(
                CreateNoticeRequest {
                    request_id: "n1".into(),
                    title: "防汛演练通知".into(),
                    body: "All staff: flood drill on Friday. 周五进行防汛演练。".into(),
                    audience: Some(Audience {
                        department_ids: vec![departments[0].id.clone()],
                        include_sub_departments: true,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &admin_token,
            ))
            .await
            .unwrap()
            .into_inner();
        let notice = notices
            .publish_notice(with_token(
                PublishNoticeRequest {
                    id: notice.id,
                    etag: String::new(),
                },
                &admin_token,
            ))
            .await
            .unwrap()
            .into_inner();
        let reader = &people[3];
        let reader_token = token(&reader.id, &[Role::Member], Some(&reader.department_id));
        notices
            .mark_notice_read(with_token(
                MarkNoticeReadRequest {
                    notice_id: notice.id.clone(),
                },
                &reader_token,
            ))
            .await
            .unwrap();
        let receipts_before = notices
            .list_receipts(with_token(
                ListReceiptsRequest {
                    notice_id: notice.id.clone(),
                    ..Default::default()
                },
                &admin_token,
            ))
            .await
            .unwrap()
            .into_inner()
            .receipts;
        assert_eq!(
            receipts_before.len(),
            people.len(),
            "every person of the subtree got the notice"
        );
        // Connections closed first, so shutdown need not wait out its grace.
        drop((directory, notices));
        suite.shutdown.cancel();
        suite.wait().await.unwrap();

        // The backup, exactly as the CronJob runs it: its command, its
        // environment, the connection string from a mounted file.
        let container = cronjob_container();
        assert_eq!(
            strings(&container["command"]),
            ["bash", "/scripts/backup.sh"]
        );
        let backups = work.path().join("backups");
        std::fs::create_dir_all(&backups).unwrap();
        let url_file = work.path().join("database-url");
        std::fs::write(&url_file, &source.url).unwrap();
        let mut backup = Command::new("bash");
        backup.arg(repo().join("deploy/k8s/overlays/prod/backup/backup.sh"));
        for e in container["env"].as_array().unwrap() {
            let (name, value) = (e["name"].as_str().unwrap(), e["value"].as_str().unwrap());
            let value = match name {
                "BACKUP_DIR" => backups.display().to_string(),
                "DATABASE_URL_FILE" => url_file.display().to_string(),
                _ => value.to_string(),
            };
            backup.env(name, value);
        }
        let out = backup.output().expect("bash");
        assert!(
            out.status.success(),
            "backup.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let taken: Vec<_> = std::fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        assert_eq!(taken.len(), 1, "one complete backup: {taken:?}");
        let schemas_file = std::fs::read_to_string(taken[0].join("schemas.txt")).unwrap();
        let schemas: Vec<&str> = concord::suite::TARGETS.iter().map(|t| t.name).collect();
        for schema in &schemas {
            assert!(
                schemas_file.lines().any(|l| l == *schema),
                "the backup holds schema {schema}: {schemas_file}"
            );
        }

        // Restored into a fresh database as the README says.
        let out = Command::new("bash")
            .arg(repo().join("deploy/k8s/overlays/prod/backup/restore.sh"))
            .arg(&taken[0])
            .env("DATABASE_URL", &restored.url)
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "restore.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (before, after) = (
            contents(&source.url, &schemas),
            contents(&restored.url, &schemas),
        );
        assert!(
            before.len() >= schemas.len() * 3,
            "tables of every schema: {before:?}"
        );
        assert!(
            before
                .iter()
                .any(|(t, d)| t.starts_with("directory.") && !d.starts_with("0 ")),
            "rows were written"
        );
        assert_eq!(before, after, "every table restored row for row");

        // The suite starts on the restored database and finds every record.
        let suite = concord::suite::start(
            &settings_on(&restored, &work.path().join("b")),
            &[],
            concord::suite::Bind::Ephemeral,
            None,
        )
        .await
        .unwrap();
        let url = |t: &str| format!("http://{}", suite.addrs[t]);
        concord_kit::testing::wait_serving(
            &url("directory"),
            "concord.directory.v1.DirectoryService",
        )
        .await;
        concord_kit::testing::wait_serving(&url("notices"), "concord.notices.v1.NoticeService")
            .await;
        let mut directory = DirectoryServiceClient::connect(url("directory"))
            .await
            .unwrap();
        for d in &departments {
            let got = directory
                .get_department(with_token(
                    GetDepartmentRequest { id: d.id.clone() },
                    &admin_token,
                ))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(got, *d, "department {}", d.name);
        }
        for p in &people {
            let got = directory
                .get_person(with_token(
                    GetPersonRequest { id: p.id.clone() },
                    &admin_token,
                ))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(got, *p, "person {}", p.display_name);
        }
        let duties = directory
            .list_duties(with_token(ListDutiesRequest::default(), &admin_token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(duties.duties.len(), departments.len(), "every duty");
        // A retried create still finds its first result: idempotency records came along.
        let again = directory
            .create_department(with_token(
                CreateDepartmentRequest {
                    request_id: "d0".into(),
                    name: "信息中心".into(),
                    parent_id: String::new(),
                    description: "信息中心 的职责".into(),
                },
                &admin_token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            again.id, departments[0].id,
            "the retried create returns the first department"
        );
        let mut notices = NoticeServiceClient::connect(url("notices")).await.unwrap();
        let got = notices
            .get_notice(with_token(
                GetNoticeRequest {
                    id: notice.id.clone(),
                },
                &admin_token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got, notice, "the notice");
        let receipts_after = notices
            .list_receipts(with_token(
                ListReceiptsRequest {
                    notice_id: notice.id.clone(),
                    ..Default::default()
                },
                &admin_token,
            ))
            .await
            .unwrap()
            .into_inner()
            .receipts;
        assert_eq!(
            receipts_after, receipts_before,
            "every receipt, the read one read"
        );
        let inbox = notices
            .list_inbox(with_token(ListInboxRequest::default(), &reader_token))
            .await
            .unwrap()
            .into_inner();
        assert!(
            format!("{inbox:?}").contains(&notice.id),
            "the reader's inbox: {inbox:?}"
        );
        // And the restored suite takes new writes.
        directory
            .create_department(with_token(
                CreateDepartmentRequest {
                    request_id: "after-restore".into(),
                    name: "恢复后新建".into(),
                    ..Default::default()
                },
                &admin_token,
            ))
            .await
            .unwrap();
        drop((directory, notices));
        suite.shutdown.cancel();
        suite.wait().await.unwrap();
    }
}

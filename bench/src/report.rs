//! The results of a run: one JSON document, and the same as tables on the
//! terminal, with every target of the issue checked against what this run
//! measured.

use serde::Serialize;

use crate::alerts::AlertsResult;
use crate::feedback::SubmitResult;
use crate::notices::NoticesResult;
use crate::procs::Resident;
use crate::unary::ReadResult;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    /// `/proc/loadavg` (1, 5, 15 minutes) at start and at the end.
    pub load_before: Vec<f64>,
    pub load_after: Vec<f64>,
    pub postgres: String,
    pub nginx: Option<String>,
    /// Whether this harness and `concord` were built with optimisations.
    pub release: bool,
}

impl Machine {
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
                .unwrap_or_default(),
            memory_gib: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            load_before: loadavg(),
            release: !cfg!(debug_assertions),
            ..Self::default()
        }
    }
}

pub fn loadavg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect()
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Memory {
    /// Each target run alone as `concord serve --target X`, idle.
    pub alone: Vec<(String, Resident)>,
    /// `concord serve` (every target) a second after start.
    pub serve_idle: Option<Resident>,
    /// `concord serve`: the most resident during scenario 1.
    pub serve_under_load: Option<Resident>,
    /// The gateway alone (`--target gateway`) during scenario 1: the real
    /// read's and the trivial read's gateway processes.
    pub gateway_under_load: Option<Resident>,
    pub gateway_trivial_under_load: Option<Resident>,
    /// With `--experiments`: the current-thread gateway (real read).
    pub experiment_gateway_under_load: Option<Resident>,
}

/// A target of the issue and whether this run met it.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub what: String,
    pub target: String,
    pub measured: String,
    pub met: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    pub command: String,
    pub smoke: bool,
    pub started_unix_ms: i64,
    pub seconds: f64,
    pub machine: Machine,
    pub people: usize,
    pub departments: usize,
    pub organisation_seconds: f64,
    pub unary: Vec<ReadResult>,
    pub alerts: Option<AlertsResult>,
    pub notices: Option<NoticesResult>,
    pub feedback: Vec<SubmitResult>,
    pub memory: Memory,
    pub checks: Vec<Check>,
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1_000_000.0)
}

fn ms(us: f64) -> String {
    format!("{:.2} ms", us / 1000.0)
}

/// A Markdown table.
struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn add_row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
        writeln!(f, "{}", line(&self.headers))?;
        let rule: Vec<String> = self.headers.iter().map(|_| "---".to_string()).collect();
        write!(f, "{}", line(&rule))?;
        for r in &self.rows {
            write!(f, "\n{}", line(r))?;
        }
        Ok(())
    }
}

fn table(headers: &[&str]) -> Table {
    Table {
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows: Vec::new(),
    }
}

impl Results {
    /// Checks every target the issue sets against this run.
    pub fn check(&mut self) {
        let mut checks = Vec::new();
        let mut push = |what: &str, target: &str, measured: String, met: bool| {
            checks.push(Check {
                what: what.into(),
                target: target.into(),
                measured,
                met,
            })
        };
        for r in &self.unary {
            let real = r.read.starts_with("real");
            for (shape, of, to) in [
                ("remote upstream", "gateway", "direct"),
                ("concord serve", "serve_gateway", "serve_direct"),
            ] {
                if let Some(x) = r.ratio(of, to) {
                    let (target, floor) = if real {
                        ("≥ 0.85× direct", 0.85)
                    } else {
                        ("≥ 0.6× direct", 0.6)
                    };
                    push(
                        &format!("{}: gateway ({shape}) throughput", r.read),
                        target,
                        format!("{x:.2}×"),
                        x >= floor,
                    );
                }
            }
            if !real {
                for (shape, of) in [
                    ("remote upstream", "gateway"),
                    ("concord serve", "serve_gateway"),
                ] {
                    if let Some(x) = r.ratio(of, "nginx") {
                        push(
                            &format!("{}: gateway ({shape}) vs nginx grpc_pass", r.read),
                            "≥ 2.5× nginx",
                            format!("{x:.2}×"),
                            x >= 2.5,
                        );
                    }
                }
                for (shape, key) in [
                    ("remote upstream", "gateway"),
                    ("concord serve", "serve_gateway"),
                    ("nginx", "nginx"),
                ] {
                    if let Some(added) = r.path(key).and_then(|p| p.added_mean_us) {
                        let target = if key == "nginx" {
                            "(reference: 65–80 µs)"
                        } else {
                            "< 50 µs"
                        };
                        push(
                            &format!(
                                "{}: added mean latency, 1 connection × 1 stream, {shape}",
                                r.read
                            ),
                            target,
                            format!("{added:.0} µs"),
                            key == "nginx" || added < 50.0,
                        );
                    }
                }
            }
        }
        if let Some(a) = &self.alerts {
            push(
                "alert delivery p99 (from DeclareIncident sent)",
                "< 50 ms",
                ms(a.p99_us),
                a.p99_us < 50_000.0,
            );
            push(
                "alerts lost",
                "0",
                format!("{} of {}", a.lost, a.expected),
                a.lost == 0,
            );
        }
        if let Some(n) = &self.notices {
            push(
                &format!("publish to {} recipients (slowest)", n.recipients),
                "< 250 ms",
                ms(n.publish_max_us),
                n.publish_max_us < 250_000.0,
            );
            for r in [&n.inbox_single, &n.inbox] {
                push(
                    &format!(
                        "ListInbox p99, {} receipts stored, {} caller(s)",
                        n.receipts_stored, r.concurrency
                    ),
                    "< 5 ms",
                    ms(r.p99_us),
                    r.p99_us < 5_000.0,
                );
            }
            for r in [&n.unread_single, &n.unread] {
                push(
                    &format!(
                        "unread count p99, {} receipts stored, {} caller(s)",
                        n.receipts_stored, r.concurrency
                    ),
                    "< 5 ms",
                    ms(r.p99_us),
                    r.p99_us < 5_000.0,
                );
            }
        }
        if let Some(b) = self.memory.serve_idle {
            push(
                "concord serve idle, resident",
                "< 40 MB",
                mb(b.rss),
                b.rss < 40_000_000,
            );
        }
        if let Some(b) = self.memory.gateway_under_load {
            push(
                "gateway under load (scenario 1), resident",
                "< 20 MB",
                mb(b.rss),
                b.rss < 20_000_000,
            );
        }
        self.checks = checks;
    }

    /// The tables, in Markdown (what docs/BENCHMARKS.md shows).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.unary {
            out.push_str(&format!(
                "\n### 1. {} — {} connections × {} streams, {} s windows, {} round(s), paths alternated\n\n",
                r.read,
                r.connections,
                r.concurrency / r.connections.max(1),
                r.window_secs,
                r.rounds
            ));
            let mut t = table(&[
                "path",
                "calls/s",
                "p50",
                "p99",
                "1×1 mean",
                "1×1 p99",
                "added (1×1 mean)",
                "server CPU/call",
                "client CPU/call",
            ]);
            for p in &r.paths {
                t.add_row(vec![
                    p.label.clone(),
                    format!("{:.0}", p.per_second),
                    ms(p.p50_us),
                    ms(p.p99_us),
                    format!("{:.0} µs", p.low_load_mean_us),
                    format!("{:.0} µs", p.low_load_p99_us),
                    p.added_mean_us
                        .map_or(String::new(), |a| format!("{a:+.0} µs")),
                    format!("{:.0} µs", p.server_cpu_us),
                    format!("{:.0} µs", p.client_cpu_us),
                ]);
            }
            out.push_str(&format!("{t}\n\nratios (median of the rounds' ratios):"));
            for x in &r.ratios {
                out.push_str(&format!(" {} / {} = {:.2};", x.of, x.to, x.median));
            }
            out.push('\n');
        }
        if let Some(a) = &self.alerts {
            out.push_str(&format!(
                "\n### 2. Alert fan-out — {} WatchAlerts subscribers over {} emergency processes, {} incidents\n\n",
                a.subscribers, a.instances, a.incidents
            ));
            let mut t = table(&[
                "delivered",
                "lost",
                "duplicates",
                "p50",
                "p99",
                "max",
                "after commit p50 / p99 / max",
                "DeclareIncident p50 / max",
                "ResolveAudience alone",
            ]);
            t.add_row(vec![
                format!("{} / {}", a.delivered, a.expected),
                a.lost.to_string(),
                a.duplicates.to_string(),
                ms(a.p50_us),
                ms(a.p99_us),
                ms(a.max_us),
                format!(
                    "{} / {} / {}",
                    ms(a.after_commit_p50_us),
                    ms(a.after_commit_p99_us),
                    ms(a.after_commit_max_us)
                ),
                format!("{} / {}", ms(a.declare_p50_us), ms(a.declare_max_us)),
                ms(a.resolve_audience_us),
            ]);
            out.push_str(&format!("{t}\n"));
        }
        if let Some(n) = &self.notices {
            out.push_str(&format!(
                "\n### 3. Notices — {} receipts stored ({} seeded in {:.1} s)\n\n",
                n.receipts_stored, n.seeded.receipts, n.seeded.seconds
            ));
            let mut t = table(&["measure", "calls/s", "p50", "p99", "max"]);
            let publishes: Vec<String> = n.publish_us.iter().map(|u| ms(*u)).collect();
            t.add_row(vec![
                format!(
                    "PublishNotice to {} recipients ({} publishes: {})",
                    n.recipients,
                    n.publish_us.len(),
                    publishes.join(", ")
                ),
                String::new(),
                String::new(),
                String::new(),
                ms(n.publish_max_us),
            ]);
            t.add_row(vec![
                "of which ResolveAudience of everybody, alone (median of 3)".to_string(),
                String::new(),
                ms(n.resolve_audience_us),
                String::new(),
                String::new(),
            ]);
            for (label, r) in [
                ("ListInbox (20 newest + unread count)", &n.inbox_single),
                (
                    "unread count (ListInbox unread only, 1 item)",
                    &n.unread_single,
                ),
                ("ListInbox (20 newest + unread count)", &n.inbox),
                ("unread count (ListInbox unread only, 1 item)", &n.unread),
            ] {
                t.add_row(vec![
                    format!("{label}, {} callers", r.concurrency),
                    format!("{:.0}", r.per_second),
                    ms(r.p50_us),
                    ms(r.p99_us),
                    ms(r.max_us),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        if !self.feedback.is_empty() {
            out.push_str("\n### 4. Feedback submissions through the gateway on PostgreSQL\n\n");
            let mut t = table(&["routing", "callers", "submissions/s", "p50", "p99"]);
            for f in &self.feedback {
                t.add_row(vec![
                    f.routing.to_string(),
                    f.concurrency.to_string(),
                    format!("{:.0}", f.per_second),
                    ms(f.p50_us),
                    ms(f.p99_us),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        out.push_str("\n### 5. Resident memory (VmRSS)\n\n");
        let mut t = table(&[
            "process",
            "resident",
            "of which heap and stacks",
            "of which binary pages",
        ]);
        let m = &self.memory;
        let row = |label: String, r: &Resident| vec![label, mb(r.rss), mb(r.anon), mb(r.file)];
        for (name, r) in &m.alone {
            t.add_row(row(format!("concord serve --target {name}, idle"), r));
        }
        for (label, v) in [
            ("concord serve (every target), idle", m.serve_idle),
            ("concord serve, most during scenario 1", m.serve_under_load),
            (
                "gateway alone, most during scenario 1 (real read)",
                m.gateway_under_load,
            ),
            (
                "gateway alone, most during scenario 1 (trivial read)",
                m.gateway_trivial_under_load,
            ),
            (
                "experiment: current-thread gateway, most during scenario 1 (real read)",
                m.experiment_gateway_under_load,
            ),
        ] {
            if let Some(r) = v {
                t.add_row(row(label.to_string(), &r));
            }
        }
        out.push_str(&format!("{t}\n"));
        out.push_str("\n### Targets\n\n");
        let mut t = table(&["what", "target", "measured", "met"]);
        for c in &self.checks {
            t.add_row(vec![
                c.what.clone(),
                c.target.clone(),
                c.measured.clone(),
                if c.met { "yes".into() } else { "**no**".into() },
            ]);
        }
        out.push_str(&format!("{t}\n"));
        out
    }
}

//! The figures of a reliability scenario: printed on stderr (`cargo test --
//! --nocapture` shows them) and appended to the file named by
//! `CONCORD_RELIABILITY_REPORT`, from which `docs/RELIABILITY.md` is filled.

use std::io::Write;

/// What a scenario did and what came of it.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub scenario: &'static str,
    pub backend: String,
    /// Calls (or events expected) in the scenario.
    pub calls: u64,
    /// Faults injected (kills, terminations, restarts, cuts).
    pub faults: u64,
    /// Acknowledged writes or events that never showed up.
    pub lost: u64,
    /// Events a deduplicating client saw twice, or actions done twice.
    pub duplicated: u64,
    /// Calls that ended in a status the scenario does not allow.
    pub failed: u64,
    /// Anything else worth a column (latencies, retries).
    pub note: String,
}

impl Tally {
    pub fn new(scenario: &'static str, backend: &concord_kit::testing::Backend) -> Tally {
        Tally {
            scenario,
            backend: match backend {
                concord_kit::testing::Backend::Sqlite => "sqlite".into(),
                concord_kit::testing::Backend::Postgres(_) => "postgres".into(),
            },
            ..Tally::default()
        }
    }

    /// Prints the figures as one `RELIABILITY` line and appends them to the
    /// report file, if one is named.
    pub fn report(&self) {
        let line = format!(
            "RELIABILITY | {} | {} | calls {} | faults {} | lost {} | duplicated {} | failed {} | {}",
            self.scenario,
            self.backend,
            self.calls,
            self.faults,
            self.lost,
            self.duplicated,
            self.failed,
            self.note
        );
        eprintln!("{line}");
        if let Some(path) = std::env::var_os("CONCORD_RELIABILITY_REPORT")
            && let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

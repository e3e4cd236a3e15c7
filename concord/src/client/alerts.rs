//! `concord alerts watch`: the caller's emergency alerts as they happen.
//! The stream resumes from the last sequence seen when the connection
//! drops, so a watcher misses nothing; `--count N` ends after N alerts.

use std::time::Duration;

use clap::Subcommand;
use concord_proto::emergency::v1::{AlertEvent, AlertKind, Severity, WatchAlertsRequest};
use tokio_stream::StreamExt;

use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{Table, cut, label, print_json_line, time};

#[derive(Subcommand)]
pub enum Command {
    /// Print alerts as they come (missed ones first), one per line.
    Watch {
        /// Start after this sequence number (0: every alert of yours).
        #[arg(long, default_value_t = 0, value_name = "SEQ")]
        after: i64,
        /// Exit after this many alerts (for scripts).
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let Command::Watch { after, count } = command;
    watch(conn, after, count).await
}

async fn watch(conn: &Conn, mut after: i64, count: Option<u64>) -> Result<(), CliError> {
    let mut seen = 0u64;
    let mut backoff = Duration::from_millis(200);
    if count == Some(0) {
        return Ok(());
    }
    loop {
        let opened = conn
            .emergency()
            .watch_alerts(WatchAlertsRequest {
                after_sequence: after,
            })
            .await;
        let mut stream = match opened {
            Ok(s) => s.into_inner(),
            Err(s) if retryable(&s) => {
                eprintln!("concord: {}; reconnecting", s.message());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
            Err(s) => return Err(s.into()),
        };
        while let Some(next) = stream.next().await {
            match next {
                Ok(event) => {
                    backoff = Duration::from_millis(200);
                    // A resumed stream may repeat the last event: skip it.
                    if event.sequence <= after {
                        continue;
                    }
                    after = event.sequence;
                    print(conn, &event)?;
                    seen += 1;
                    if count.is_some_and(|n| seen >= n) {
                        return Ok(());
                    }
                }
                Err(s) if retryable(&s) => {
                    eprintln!("concord: {}; resuming after #{after}", s.message());
                    break;
                }
                Err(s) => return Err(s.into()),
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn retryable(s: &tonic::Status) -> bool {
    matches!(
        s.code(),
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown
    )
}

fn print(conn: &Conn, event: &AlertEvent) -> Result<(), CliError> {
    if conn.json() {
        return print_json_line(event);
    }
    let a = event.alert.clone().unwrap_or_default();
    say!(
        "#{} {} {}{} {} {} — {} (alert {}, incident {})",
        event.sequence,
        time(&conn.zone, a.create_time.as_ref()),
        if a.drill { "[drill] " } else { "" },
        label::<Severity>(a.severity).to_uppercase(),
        label::<AlertKind>(a.kind),
        a.title,
        a.message.replace('\n', " / "),
        a.id,
        a.incident_id
    );
    Ok(())
}

/// Alerts as a table (for `concord emergency alerts`).
pub fn table(conn: &Conn, events: &[AlertEvent]) -> Table {
    let mut t = Table::new(&[
        "#",
        "ALERT",
        "KIND",
        "SEVERITY",
        "TITLE",
        "DEPARTMENT",
        "TIME",
        "ACKNOWLEDGED",
    ]);
    for e in events {
        let a = e.alert.clone().unwrap_or_default();
        t.row(vec![
            e.sequence.to_string(),
            a.id,
            format!(
                "{}{}",
                label::<AlertKind>(a.kind),
                if a.drill { " (drill)" } else { "" }
            ),
            label::<Severity>(a.severity).to_uppercase(),
            cut(&a.title, 30),
            e.department_id.clone(),
            time(&conn.zone, a.create_time.as_ref()),
            time(&conn.zone, e.acknowledge_time.as_ref()),
        ]);
    }
    t
}

//! Secrets and privacy: the real `concord serve` logs at debug level while
//! people sign in with good and bad tokens and somebody submits feedback
//! anonymously. Tokens, the signing secret, the database password, the
//! anonymous submitter and their follow-up code appear nowhere: not in the
//! process's output, not in `/metrics`, not in any error message, and (for
//! the submitter) not in the feedback service's database.

use concord_e2e::authed;
use concord_e2e::process::{Concord, Launch};
use concord_e2e::report::Tally;
use concord_e2e::tokens;
use concord_kit::testing::{Backend, TEST_SECRET, token};
use concord_proto::directory::v1 as dir;
use concord_proto::feedback::v1 as fb;
use concord_proto::policy::v1::Role;

/// A password PostgreSQL's trust authentication accepts and ignores.
const DB_PASSWORD: &str = "Pw-of-the-db-7f3c9a21";

/// `url` with `password` for its user (`postgres://user:password@host/db`).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (userinfo, host) = rest.split_once('@').expect("a user in the URL");
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    format!("{scheme}://{user}:{password}@{host}")
}

/// Everything the suite must keep to itself, with a name for the report.
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn leaks_in(&self, where_: &str, text: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, s)| !s.is_empty() && text.contains(s.as_str()))
            .map(|(name, _)| format!("{name} appears in {where_}"))
            .collect()
    }
}

/// The signature part of a JWT: enough to replay it when logged alone.
fn signature(token: &str) -> String {
    token.rsplit('.').next().unwrap_or_default().to_string()
}

async fn secrets_stay_out_of_logs_metrics_errors_and_storage(backend: Backend) {
    let data = tempfile::tempdir().expect("temp dir");
    let mut launch = Launch::default()
        .env("RUST_LOG", "debug")
        .env("CONCORD_LOG_FORMAT", "json");
    let mut database_url = None;
    if let Backend::Postgres(url) = &backend {
        let url = with_password(
            &concord_kit::testing::fresh_database(url).await,
            DB_PASSWORD,
        );
        database_url = Some(url.clone());
        launch = launch.env("DATABASE_URL", url).env(
            "REDIS_URL",
            concord_kit::testing::redis_url()
                .expect("set CONCORD_TEST_REDIS_URL with CONCORD_TEST_DATABASE_URL"),
        );
    }
    let mut process = Concord::start(data.path(), launch).await;
    let gateway = process.channel("gateway").await;

    let admin = token("secrets-admin", &[Role::Admin], None);
    // Somebody who only ever submits anonymously: their id must vanish.
    let submitter = "0196f0aa-5ec2-7e7a-9b1d-a11ce5ec2e75";
    let submitter_token = token(submitter, &[Role::Member], None);
    let expired = tokens::expired("secrets-admin", &[Role::Admin], None);
    let forged = tokens::forged("secrets-admin", &[Role::Admin], None);
    let mut errors = Vec::new();

    let office = dir::directory_service_client::DirectoryServiceClient::new(authed(
        gateway.clone(),
        Some(&admin),
    ))
    .create_department(dir::CreateDepartmentRequest {
        request_id: "secrets-office".into(),
        name: "后勤保障处".into(),
        ..Default::default()
    })
    .await
    .expect("department")
    .into_inner();

    // Refused tokens: their error messages must not echo them.
    for bad in [&expired, &forged, &"Bearer-less garbage".to_string()] {
        let status = dir::directory_service_client::DirectoryServiceClient::new(authed(
            gateway.clone(),
            Some(bad),
        ))
        .list_departments(dir::ListDepartmentsRequest::default())
        .await
        .expect_err("refused");
        errors.push(format!("{status:?}"));
    }

    // An anonymous submission, a follow-up by code, and a wrong code.
    let mut feedback = fb::feedback_service_client::FeedbackServiceClient::new(authed(
        gateway.clone(),
        Some(&submitter_token),
    ));
    let submitted = feedback
        .submit_feedback(fb::SubmitFeedbackRequest {
            request_id: "secrets-anonymous".into(),
            channel: fb::Channel::WebForm as i32,
            category: fb::Category::Complaint as i32,
            subject: "主管经常迟到 My manager is often late".into(),
            body: "不想透露姓名。".into(),
            anonymous: true,
            department_id: office.id.clone(),
            ..Default::default()
        })
        .await
        .expect("anonymous submission")
        .into_inner();
    let code = submitted.follow_up_code.clone();
    let item = submitted.item.expect("item");
    assert!(!code.is_empty() && item.submitter_id.is_empty());
    let mut public =
        fb::feedback_service_client::FeedbackServiceClient::new(authed(gateway.clone(), None));
    public
        .reply_by_code(fb::ReplyByCodeRequest {
            request_id: "secrets-reply".into(),
            follow_up_code: code.clone(),
            text: "补充：上周三次。".into(),
        })
        .await
        .expect("reply by code");
    // The last character changed (to X, or to Y when it is X already).
    let (head, last) = code.split_at(code.len().saturating_sub(1));
    let wrong_code = format!("{head}{}", if last == "X" { "Y" } else { "X" });
    let status = public
        .get_feedback_by_code(fb::GetFeedbackByCodeRequest {
            follow_up_code: wrong_code,
        })
        .await
        .expect_err("a wrong code");
    errors.push(format!("{status:?}"));

    // What the department and the auditors see carries no submitter.
    let mut staff = fb::feedback_service_client::FeedbackServiceClient::new(authed(
        gateway.clone(),
        Some(&admin),
    ));
    let seen = staff
        .get_feedback_item(fb::GetFeedbackItemRequest {
            id: item.id.clone(),
        })
        .await
        .expect("item")
        .into_inner();
    let timeline = staff
        .list_feedback_timeline(fb::ListFeedbackTimelineRequest {
            id: item.id.clone(),
            ..Default::default()
        })
        .await
        .expect("timeline")
        .into_inner();
    let audit = staff
        .list_audit_entries(concord_proto::audit::v1::ListAuditEntriesRequest::default())
        .await
        .expect("audit")
        .into_inner();
    let answers = format!("{seen:?}{timeline:?}{audit:?}");

    let metrics = process.metrics_text().await;
    process.terminate();
    let exited = process.wait(std::time::Duration::from_secs(30)).await;
    assert_eq!(exited, Some(true), "concord stops on SIGTERM");
    let output = process.output.text();

    let mut secrets = vec![
        ("the admin token", admin.clone()),
        ("the admin token's signature", signature(&admin)),
        ("the submitter's token", submitter_token.clone()),
        ("the expired token", expired.clone()),
        ("the expired token's signature", signature(&expired)),
        ("the forged token", forged.clone()),
        (
            "the signing secret",
            String::from_utf8(TEST_SECRET.to_vec()).expect("ascii"),
        ),
        ("the anonymous submitter", submitter.to_string()),
        ("the follow-up code", code.clone()),
    ];
    if database_url.is_some() {
        secrets.push(("the database password", DB_PASSWORD.to_string()));
    }
    let secrets = Secrets(secrets);
    let mut leaks = Vec::new();
    leaks.extend(secrets.leaks_in("the process's output (RUST_LOG=debug)", &output));
    leaks.extend(secrets.leaks_in("/metrics", &metrics));
    leaks.extend(secrets.leaks_in("an error message", &errors.join("\n")));
    leaks.extend(secrets.leaks_in("what staff and auditors read", &answers));

    // At rest: the feedback service's data keeps no trace of the submitter.
    let stored = match &database_url {
        Some(url) => dump_postgres_schema(url, "feedback").await,
        None => dump_sqlite(&data.path().join("feedback.db")),
    };
    leaks.extend(
        Secrets(vec![("the anonymous submitter", submitter.to_string())])
            .leaks_in("the feedback database", &stored),
    );

    let mut tally = Tally::new("secrets in logs, metrics, errors and storage", &backend);
    tally.calls = 12;
    tally.failed = leaks.len() as u64;
    tally.note = format!(
        "{} secrets checked in {} lines of debug logs, {} bytes of metrics, {} error messages, {} bytes stored",
        secrets.0.len(),
        output.lines().count(),
        metrics.len(),
        errors.len(),
        stored.len()
    );
    tally.report();
    assert!(output.lines().count() > 50, "debug logs were captured");
    assert!(!stored.is_empty(), "the feedback data was read");
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// Every row of every table of `schema`, as text.
async fn dump_postgres_schema(url: &str, schema: &str) -> String {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .expect("connect");
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_all(&mut conn)
    .await
    .expect("tables")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    let mut out = String::new();
    for t in tables {
        let sql =
            format!("SELECT coalesce(string_agg(t::TEXT, E'\\n'), '') FROM \"{schema}\".\"{t}\" t");
        let rows: String = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .expect("dump")
            .get(0);
        out.push_str(&rows);
    }
    out
}

/// The SQLite file and its write-ahead log, bytes as text.
fn dump_sqlite(path: &std::path::Path) -> String {
    let mut out = String::new();
    for p in [path.to_path_buf(), path.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(&p) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

concord_kit::backend_tests!(secrets_stay_out_of_logs_metrics_errors_and_storage);

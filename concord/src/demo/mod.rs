//! `concord demo`: fills a running suite, through the gateway, with a
//! realistic organisation — a department tree with duties, a few hundred
//! people with roles, notices partly read and acknowledged, meetings with
//! minutes, proposals in every stage with votes and action items, feedback
//! with SLA breaches and ratings, contingency plans with a resolved incident
//! and a drill, an appraisal cycle, training with enrolments and
//! development plans.
//!
//! It acts as the organisation's people with development tokens signed by
//! the suite's secret, so it runs where `concord serve` keeps its data (or
//! with the same `CONCORD_JWT_SECRET`). Every create carries a request id
//! derived from the item, and everything is looked up before it is made, so
//! running it again adds nothing.

mod appraisal;
mod content;
mod decisions;
mod emergency;
mod en;
mod feedback;
mod notices;
mod org;
mod session;
mod training;
mod zh;

use std::time::Duration;

use clap::Args;
use concord_kit::auth::Issuer;
use concord_kit::config::Settings;
use concord_proto::policy::v1::Role;
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;

use crate::client::output::{self, say, time};
use crate::client::{CliError, Conn, ConnArgs};
use session::Session;

/// The organisation's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// 中文：江州市政务服务中心
    Zh,
    /// English: Riverside Civic Services Centre
    En,
}

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// The organisation's language (names, notices, feedback).
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    lang: Lang,
    /// How many people work there (run again with the same number).
    #[arg(long, default_value_t = 240, value_parser = clap::value_parser!(u16).range(40..=2000))]
    people: u16,
}

/// The development signing secret, as `concord serve` keeps it; never made
/// here (a new one would sign tokens the suite rejects).
fn secret(settings: &Settings) -> Result<Vec<u8>, CliError> {
    if let Some(s) = &settings.jwt_secret {
        return Ok(s.expose_secret().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(s.trim().as_bytes().to_vec()),
        Err(_) => Err(CliError::usage(format!(
            "the demo acts as its people with tokens signed by the suite's development secret: \
             run it where `concord serve` keeps its data ({} not found; see --data-dir) or set \
             CONCORD_JWT_SECRET",
            path.display()
        ))),
    }
}

pub async fn run(args: DemoArgs, settings: &Settings) -> Result<(), CliError> {
    let zone = output::zone(settings);
    let issuer = Issuer::new(&secret(settings)?);
    let mut admin = Conn::open(&args.conn, zone)?;
    if admin.token().is_none() {
        let token = issuer.issue(
            "concord-demo",
            &[Role::Admin],
            None,
            Duration::from_secs(4 * 3600),
        )?;
        admin = admin.signed(token)?;
    }
    // Fail early, with the right exit code, when the suite is not there or
    // refuses the token.
    admin
        .directory()
        .list_departments(concord_proto::directory::v1::ListDepartmentsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await?;

    let (content, lang) = match args.lang {
        Lang::Zh => (&zh::CONTENT, "zh"),
        Lang::En => (&en::CONTENT, "en"),
    };
    let people = usize::from(args.people);
    let progress = ProgressBar::new(estimate(content, people));
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let now = crate::client::args::now_ms();
    let s = Session::new(admin.clone(), issuer, content, lang, now, progress);
    // Statistics of the demo cover the month before and after today.
    let period = (s.local_at(-30, 0, 0), s.local_at(31, 0, 0));

    let result = fill(&s, people, period).await;
    s.progress.finish_and_clear();
    let org = result.map_err(status_of)?;

    let (created, existing) = s.counts();
    let admin_person = org.admin();
    if admin.json() {
        let summary = serde_json::json!({
            "organisation": org.depts.get("root").map(|d| d.name.clone()),
            "people": org.members.len(),
            "created": created,
            "existing": existing,
            "period_start": concord_kit::clock::to_timestamp(period.0).to_string(),
            "period_end": concord_kit::clock::to_timestamp(period.1).to_string(),
            "admin_id": admin_person.id,
            "admin_department_id": admin_person.department_id,
        });
        say!("{summary:#}");
        return Ok(());
    }
    let root = org
        .depts
        .get("root")
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let head = org.head("service");
    say!(
        "{root}: {} people in {} departments; {created} items created, {existing} already there.",
        org.members.len(),
        org.depts.len()
    );
    let from = time(&zone, Some(&concord_kit::clock::to_timestamp(period.0)));
    let to = time(&zone, Some(&concord_kit::clock::to_timestamp(period.1)));
    say!("Statistics cover {from} – {to}, e.g.:");
    say!(
        "  concord feedback stats --from {} --to {}",
        &from[..10],
        &to[..10]
    );
    say!(
        "Sign in as the administrator, {}:",
        admin_person.display_name
    );
    say!(
        "  concord token issue --subject {} --role admin --department {}",
        admin_person.id,
        admin_person.department_id
    );
    say!(
        "or as the head of {}, {}:",
        org.depts["service"].name,
        head.display_name
    );
    say!(
        "  concord token issue --subject {} --role department_head --department {}",
        head.id,
        head.department_id
    );
    Ok(())
}

/// Every part of the organisation, in the order they depend on each other.
async fn fill(s: &Session, people: usize, period: (i64, i64)) -> anyhow::Result<org::Org> {
    let org = org::ensure(s, people).await?;
    notices::notices(s, &org).await?;
    notices::meetings(s, &org).await?;
    let proposals = decisions::proposals(s, &org).await?;
    decisions::action_items(s, &org, &proposals).await?;
    feedback::feedback(s, &org).await?;
    emergency::emergency(s, &org).await?;
    training::training(s, &org).await?;
    // Last: its automatic indicators read everything above.
    appraisal::appraisal(s, &org, period).await?;
    Ok(org)
}

/// Steps the progress bar counts.
fn estimate(c: &content::Content, people: usize) -> u64 {
    let n = c.departments.len()
        + people
        + c.notices.len()
        + c.meetings.len()
        + c.proposals.len()
        + c.actions.len()
        + c.feedback.len()
        + c.plans.len()
        + c.incidents.len()
        + c.trainings.len()
        + 8
        + 5;
    n as u64
}

/// A failed step keeps its gRPC status (and so its exit code), with what
/// the demo was doing in the message.
fn status_of(e: anyhow::Error) -> CliError {
    let said: Vec<String> = e
        .chain()
        .map(|cause| match cause.downcast_ref::<tonic::Status>() {
            Some(s) => s.message().to_string(),
            None => cause.to_string(),
        })
        .collect();
    match e.downcast_ref::<tonic::Status>() {
        Some(s) => CliError::Status(tonic::Status::with_details(
            s.code(),
            said.join(": "),
            tonic::codegen::Bytes::copy_from_slice(s.details()),
        )),
        None => CliError::Other(e),
    }
}

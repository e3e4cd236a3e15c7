//! A cycle's way through its stages, shared by AdvanceCycle and the
//! deadlines: entering scoring collects the automatic indicators, entering
//! calibration closes scoring, publishing freezes totals and ranks. Also the
//! collection on its own and the scorecards of a cycle.

use std::collections::HashMap;

use concord_kit::fields::check_etag;
use concord_kit::{Error, audit, due};
use serde_json::json;
use sqlx::AnyConnection;

use crate::domain::scorecard::{self, Card};
use crate::domain::{AutoValue, Cycle, Indicator, Inputs, Stage, Subject};
use crate::service::{Appraisal, resource};
use crate::store;
use crate::store::score::Ranked;

/// Due action: move OPEN to SCORING at `scoring_start_time`.
pub const SCORING_START: &str = "appraisal.scoring_start";
/// Due action: move SCORING to CALIBRATION at `scoring_deadline`.
pub const SCORING_DEADLINE: &str = "appraisal.scoring_deadline";

/// The scorecards of `subjects` (in their order) under `indicators`.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle.id, subjects = subjects.len()))]
pub async fn cards(
    conn: &mut AnyConnection,
    cycle: &Cycle,
    subjects: &[Subject],
    indicators: &[Indicator],
) -> Result<Vec<Card>, Error> {
    let one = (subjects.len() == 1).then(|| subjects[0].id.as_str());
    let inputs: HashMap<String, Inputs> = store::score::inputs(conn, &cycle.id, one).await?;
    let empty = Inputs::default();
    Ok(subjects
        .iter()
        .map(|s| scorecard::card(indicators, inputs.get(&s.id).unwrap_or(&empty)))
        .collect())
}

/// Asks the sources for every automatic value of the cycle (none when the
/// set has no automatic indicator).
#[tracing::instrument(skip_all, fields(cycle_id = %cycle.id))]
async fn gather(app: &Appraisal, cycle: &Cycle, now: i64) -> Result<Vec<AutoValue>, Error> {
    let indicators = app.indicators(cycle).await?;
    if indicators.iter().all(Indicator::is_manual) {
        return Ok(Vec::new());
    }
    let subjects = store::cycle::all_subjects(&mut *app.conn().await?, &cycle.id).await?;
    let outcome = app
        .sources
        .collect(cycle, &subjects, &indicators, now)
        .await;
    crate::metrics::collected(outcome.is_ok());
    outcome
}

/// Locks the cycle for a change; NOT_FOUND when it is gone.
async fn lock(app: &Appraisal, conn: &mut AnyConnection, id: &str) -> Result<Cycle, Error> {
    store::cycle::get(conn, id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("cycle", id))
}

/// Why a cycle cannot be published yet, or its frozen results.
async fn results(conn: &mut AnyConnection, cycle: &Cycle) -> Result<Vec<Ranked>, Error> {
    let indicators = store::set::indicators(conn, &cycle.set_id, cycle.set_version).await?;
    if cycle.collected_ms.is_none() && indicators.iter().any(|i| !i.is_manual()) {
        return Err(Error::precondition(
            "the automatic indicators have not been collected",
        ));
    }
    let subjects = store::cycle::all_subjects(conn, &cycle.id).await?;
    let cards = cards(conn, cycle, &subjects, &indicators).await?;
    let missing: Vec<String> = subjects
        .iter()
        .zip(&cards)
        .flat_map(|(s, c)| {
            c.missing()
                .map(move |code| format!("{} {code}", s.display_name))
        })
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(10).map(String::as_str).collect();
        return Err(Error::precondition(format!(
            "{} scores are missing (score them or calibrate them first): {}{}",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    let totals: Vec<f64> = cards.iter().map(|c| c.total).collect();
    let ranks = scorecard::ranks(&totals);
    Ok(subjects
        .iter()
        .zip(&cards)
        .zip(ranks)
        .map(|((s, c), rank)| Ranked {
            subject_id: s.id.clone(),
            department_id: s.department_id.clone(),
            total: c.total,
            complete: c.complete,
            rank: i64::from(rank),
        })
        .collect())
}

/// Moves cycle `id` from `from` to the next stage on behalf of `actor`.
#[tracing::instrument(skip_all, fields(cycle_id = %id, from = from.as_str()))]
pub async fn advance(
    app: &Appraisal,
    actor: &str,
    id: &str,
    from: Stage,
    expected: Option<i64>,
) -> Result<Cycle, Error> {
    let before = app.cycle(id).await?;
    check_etag("cycle", expected, before.version)?;
    if before.stage != from {
        return Err(Error::precondition(format!(
            "the cycle is {}, not {}",
            before.stage.as_str(),
            from.as_str()
        )));
    }
    let Some(to) = from.next() else {
        return Err(Error::precondition("a published cycle is final"));
    };
    let now = app.now();
    // The statistics calls happen before the transaction, which stays short.
    let values = if to == Stage::Scoring {
        gather(app, &before, now).await?
    } else {
        Vec::new()
    };
    let mut tx = app.db.begin().await?;
    let mut c = lock(app, &mut tx, id).await?;
    check_etag("cycle", expected, c.version)?;
    if c.stage != from {
        return Err(Error::precondition(format!(
            "the cycle moved to {} meanwhile",
            c.stage.as_str()
        )));
    }
    let mut detail = json!({ "from": from.as_str(), "to": to.as_str() });
    match to {
        Stage::Scoring => {
            store::score::put_automatic(&mut tx, id, &values).await?;
            c.collected_ms = Some(now);
            due::cancel(&mut tx, SCORING_START, id).await?;
            if let Some(deadline) = c.scoring_deadline_ms {
                due::schedule(&mut tx, SCORING_DEADLINE, id, deadline, "").await?;
            }
            detail["values_collected"] = json!(values.len());
        }
        Stage::Calibration => due::cancel(&mut tx, SCORING_DEADLINE, id).await?,
        Stage::Published => {
            let ranked = results(&mut tx, &c).await?;
            store::score::put_results(&mut tx, id, &ranked).await?;
            c.published_ms = Some(now);
            detail["subjects"] = json!(ranked.len());
        }
        Stage::Open => {}
    }
    let read = c.version;
    c.stage = to;
    c.version += 1;
    c.updated_ms = now;
    if !store::cycle::update(&mut tx, &c, read).await? {
        return Err(Error::stale_etag("cycle"));
    }
    let action = format!("cycle.{}", to.as_str());
    audit::record_as(
        &mut tx,
        now,
        actor,
        &action,
        &resource("cycles", id),
        detail,
    )
    .await?;
    tx.commit().await?;
    app.gauges.nudge();
    Ok(c)
}

/// Collects the automatic indicators again (SCORING or CALIBRATION),
/// replacing the earlier values.
#[tracing::instrument(skip_all, fields(cycle_id = %id))]
pub async fn collect(
    app: &Appraisal,
    actor: &str,
    id: &str,
) -> Result<(Cycle, Vec<AutoValue>), Error> {
    const ALLOWED: [Stage; 2] = [Stage::Scoring, Stage::Calibration];
    const WHAT: &str = "collecting automatic scores";
    let before = app.cycle(id).await?;
    before.expect_stage(&ALLOWED, WHAT)?;
    let now = app.now();
    let values = gather(app, &before, now).await?;
    let mut tx = app.db.begin().await?;
    let mut c = lock(app, &mut tx, id).await?;
    c.expect_stage(&ALLOWED, WHAT)?;
    store::score::put_automatic(&mut tx, id, &values).await?;
    let read = c.version;
    c.collected_ms = Some(now);
    c.version += 1;
    c.updated_ms = now;
    if !store::cycle::update(&mut tx, &c, read).await? {
        return Err(Error::stale_etag("cycle"));
    }
    let applicable = values.iter().filter(|v| v.applicable).count();
    let detail = json!({ "values_collected": values.len(), "applicable": applicable });
    audit::record_as(
        &mut tx,
        now,
        actor,
        "cycle.collect",
        &resource("cycles", id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok((c, values))
}

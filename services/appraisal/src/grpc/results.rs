//! Results: automatic collection, calibration, scorecards and rankings.

use concord_kit::auth::Principal;
use concord_kit::ids::{check_id, check_opt_id, check_text, new_id};
use concord_kit::page::Page;
use concord_kit::{Error, Violations, audit, invalid};
use concord_proto::appraisal::v1 as pb;
use serde_json::json;

use super::convert;
use super::cycles::ensure_manager;
use super::reviews::visible_subjects;
use crate::domain::access::{ensure_may_judge, ensure_may_see, manages_cycle, sees_all};
use crate::domain::scorecard::ranks;
use crate::domain::{Calibration, Cycle, DESCRIPTION_MAX, Stage, Subject};
use crate::flow;
use crate::service::{Appraisal, resource};
use crate::store;

pub async fn collect(
    app: &Appraisal,
    who: &Principal,
    req: &pb::CollectAutomaticScoresRequest,
) -> Result<pb::CollectAutomaticScoresResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    ensure_manager(app, who, &cycle).await?;
    let (cycle, values) = flow::collect(app, &who.subject, &cycle.id).await?;
    Ok(pb::CollectAutomaticScoresResponse {
        cycle: Some(super::cycles::render(app, &cycle).await?),
        values: values.iter().map(convert::automatic_value).collect(),
    })
}

pub async fn calibrate(
    app: &Appraisal,
    who: &Principal,
    req: &pb::CalibrateScoreRequest,
) -> Result<pb::Calibration, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    check_id(&mut v, "subject_id", &req.subject_id);
    v.check(
        req.indicator_code.is_empty(),
        "indicator_code",
        "is required",
    );
    v.check(
        !(req.score.is_finite() && (0.0..=100.0).contains(&req.score)),
        "score",
        "must be between 0 and 100",
    );
    check_text(&mut v, "reason", &req.reason, DESCRIPTION_MAX);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let subject = app.subject(&cycle, &req.subject_id).await?;
    let reach = app.reach(who).await?;
    ensure_may_judge(
        who,
        &reach,
        cycle.owner_department_id.as_deref(),
        cycle.subject_kind,
        &subject,
    )?;
    cycle.expect_stage(&[Stage::Calibration], "calibration")?;
    let indicators = app.indicators(&cycle).await?;
    let Some(position) = indicators.iter().position(|i| i.code == req.indicator_code) else {
        return Err(invalid(
            "indicator_code",
            "is not an indicator of the cycle's set version",
        ));
    };
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let locked = store::cycle::get(&mut tx, &cycle.id, app.db.for_update())
        .await?
        .ok_or_else(|| Error::not_found("cycle", &cycle.id))?;
    locked.expect_stage(&[Stage::Calibration], "calibration")?;
    let card = flow::cards(
        &mut tx,
        &locked,
        std::slice::from_ref(&subject),
        &indicators,
    )
    .await?;
    let previous = card
        .first()
        .and_then(|c| c.lines.get(position))
        .and_then(|l| l.final_score);
    let calibration = Calibration {
        id: new_id(),
        cycle_id: cycle.id.clone(),
        subject_id: subject.id.clone(),
        code: req.indicator_code.clone(),
        previous_score: previous,
        score: crate::domain::round2(req.score),
        reason: req.reason.clone(),
        calibrated_by: who.subject.clone(),
        created_ms: now,
    };
    store::score::insert_calibration(&mut tx, &calibration).await?;
    let detail = json!({
        "subject_id": subject.id,
        "indicator_code": calibration.code,
        "previous_score": previous,
        "score": calibration.score,
        "reason": calibration.reason,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "score.calibrate",
        &resource("cycles", &cycle.id),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::calibration(&calibration))
}

pub async fn calibrations(
    app: &Appraisal,
    who: &Principal,
    req: &pb::ListCalibrationsRequest,
) -> Result<pb::ListCalibrationsResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    check_opt_id(&mut v, "subject_id", &req.subject_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("calibrations|{}|{}", cycle.id, req.subject_id),
    )?;
    let subject = (!req.subject_id.is_empty()).then_some(req.subject_id.as_str());
    let rows = if sees_all(who) {
        store::score::calibrations(
            &mut *app.conn().await?,
            &cycle.id,
            subject,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?
    } else {
        let visible = visible_subjects(app, who, &cycle).await?;
        store::score::calibrations(
            &mut *app.conn().await?,
            &cycle.id,
            subject,
            page.after.as_deref(),
            i64::MAX,
        )
        .await?
        .into_iter()
        .filter(|c| visible.get(&c.subject_id) == Some(&true))
        .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
        .collect()
    };
    let (rows, next_page_token) = page.finish(rows, |c| c.id.clone());
    Ok(pb::ListCalibrationsResponse {
        calibrations: rows.iter().map(convert::calibration).collect(),
        next_page_token,
    })
}

/// Scorecards of `subjects`, with their frozen ranks once published.
async fn scorecards(
    app: &Appraisal,
    cycle: &Cycle,
    subjects: &[Subject],
) -> Result<Vec<pb::Scorecard>, Error> {
    let mut conn = app.conn().await?;
    let indicators = store::set::indicators(&mut conn, &cycle.set_id, cycle.set_version).await?;
    let cards = flow::cards(&mut conn, cycle, subjects, &indicators).await?;
    let results = if cycle.stage == Stage::Published {
        store::score::results(&mut conn, &cycle.id).await?
    } else {
        Default::default()
    };
    Ok(subjects
        .iter()
        .zip(&cards)
        .map(|(s, card)| {
            let rank = results.get(&s.id).map_or(0, |r| r.rank);
            convert::scorecard(cycle, s, card, rank)
        })
        .collect())
}

pub async fn scorecard(
    app: &Appraisal,
    who: &Principal,
    req: &pb::GetScorecardRequest,
) -> Result<pb::Scorecard, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    check_id(&mut v, "subject_id", &req.subject_id);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let subject = app.subject(&cycle, &req.subject_id).await?;
    let reach = app.reach(who).await?;
    ensure_may_see(who, &reach, cycle.subject_kind, &subject, cycle.stage)?;
    let mut cards = scorecards(app, &cycle, std::slice::from_ref(&subject)).await?;
    cards
        .pop()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("no scorecard computed")))
}

pub async fn list_scorecards(
    app: &Appraisal,
    who: &Principal,
    req: &pb::ListScorecardsRequest,
) -> Result<pb::ListScorecardsResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("scorecards|{}", cycle.id),
    )?;
    let after = page
        .after
        .as_deref()
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| invalid("page_token", "is not a token returned by this list"))
        })
        .transpose()?;
    let visible = visible_subjects(app, who, &cycle).await?;
    let subjects: Vec<Subject> =
        store::cycle::subjects(&mut *app.conn().await?, &cycle.id, after, i64::MAX)
            .await?
            .into_iter()
            .filter(|s| visible.get(&s.id) == Some(&true))
            .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
            .collect();
    let (subjects, next_page_token) = page.finish(subjects, |s| s.position.to_string());
    Ok(pb::ListScorecardsResponse {
        scorecards: scorecards(app, &cycle, &subjects).await?,
        next_page_token,
    })
}

pub async fn rankings(
    app: &Appraisal,
    who: &Principal,
    req: &pb::ListRankingsRequest,
) -> Result<pb::ListRankingsResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "cycle_id", &req.cycle_id);
    concord_kit::fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let cycle = app.cycle(&req.cycle_id).await?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("rankings|{}", cycle.id),
    )?;
    let offset = page
        .after
        .as_deref()
        .map(|a| {
            a.parse::<usize>()
                .map_err(|_| invalid("page_token", "is not a token returned by this list"))
        })
        .transpose()?
        .unwrap_or(0);
    let reach = app.reach(who).await?;
    let whole = sees_all(who) || manages_cycle(who, &reach, cycle.owner_department_id.as_deref());
    if !whole && cycle.stage != Stage::Published {
        return Err(Error::denied(
            "rankings are for admins, auditors and the cycle's managers until the cycle is published",
        ));
    }
    let mut conn = app.conn().await?;
    let subjects = store::cycle::all_subjects(&mut conn, &cycle.id).await?;
    let (totals, complete, rank): (Vec<f64>, Vec<bool>, Vec<i32>) =
        if cycle.stage == Stage::Published {
            let results = store::score::results(&mut conn, &cycle.id).await?;
            let get = |s: &Subject| results.get(&s.id);
            (
                subjects
                    .iter()
                    .map(|s| get(s).map_or(0.0, |r| r.total))
                    .collect(),
                subjects
                    .iter()
                    .map(|s| get(s).is_some_and(|r| r.complete))
                    .collect(),
                subjects
                    .iter()
                    .map(|s| get(s).map_or(0, |r| i32::try_from(r.rank).unwrap_or(0)))
                    .collect(),
            )
        } else {
            let indicators =
                store::set::indicators(&mut conn, &cycle.set_id, cycle.set_version).await?;
            let cards = flow::cards(&mut conn, &cycle, &subjects, &indicators).await?;
            let totals: Vec<f64> = cards.iter().map(|c| c.total).collect();
            let rank = ranks(&totals);
            (totals, cards.iter().map(|c| c.complete).collect(), rank)
        };
    drop(conn);
    let visible = if whole {
        None
    } else {
        Some(visible_subjects(app, who, &cycle).await?)
    };
    let mut entries: Vec<pb::RankingEntry> = subjects
        .iter()
        .enumerate()
        .filter(|(_, s)| visible.as_ref().is_none_or(|v| v.get(&s.id) == Some(&true)))
        .map(|(i, s)| pb::RankingEntry {
            rank: rank[i],
            subject: Some(convert::subject(s)),
            total: totals[i],
            complete: complete[i],
        })
        .collect();
    // Best first; ties keep the cycle's subject order.
    entries.sort_by_key(|e| e.rank);
    let rows: Vec<(usize, pb::RankingEntry)> = entries
        .into_iter()
        .enumerate()
        .skip(offset)
        .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
        .collect();
    let (rows, next_page_token) = page.finish(rows, |(i, _)| (i + 1).to_string());
    Ok(pb::ListRankingsResponse {
        entries: rows.into_iter().map(|(_, e)| e).collect(),
        next_page_token,
        ranked_subjects: i32::try_from(subjects.len()).unwrap_or(i32::MAX),
    })
}

//! Proposals and their participating departments.

use std::collections::HashMap;

use concord_kit::Error;
use concord_kit::sql::{flag, placeholders};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::write_error;
use crate::domain::{
    Electorate, Outcome, Participant, ParticipationRole, Proposal, ProposalOption, Stage,
    VotingRule,
};

const COLUMNS: &str = "id, title, background, options, approve_or_reject, proposer_id, \
     owning_department_id, rule, quorum_percent, electorate, sealed, consultation_end_ms, \
     voting_end_ms, stage, stage_ms, consultation_start_ms, voting_start_ms, outcome_result, \
     chosen_option, explanation, rationale, decided_ms, decided_by, notice_id, eligible_voters, \
     version, created_ms, updated_ms";

fn corrupt(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what} {value:?} is not known").into())
}

fn from_row(r: &AnyRow) -> Result<Proposal, sqlx::Error> {
    let options: String = r.try_get(3)?;
    let options: Vec<ProposalOption> =
        serde_json::from_str(&options).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let rule: String = r.try_get(7)?;
    let electorate: String = r.try_get(9)?;
    let stage: String = r.try_get(13)?;
    let outcome_result: Option<String> = r.try_get(17)?;
    let outcome = match outcome_result {
        Some(res) => Some(Outcome {
            result: Stage::parse(&res).ok_or_else(|| corrupt("outcome", &res))?,
            chosen_option: r.try_get(18)?,
            explanation: r.try_get::<Option<String>, _>(19)?.unwrap_or_default(),
            rationale: r.try_get::<Option<String>, _>(20)?.unwrap_or_default(),
            decided_ms: r.try_get::<Option<i64>, _>(21)?.unwrap_or_default(),
            decided_by: r.try_get(22)?,
            notice_id: r.try_get(23)?,
        }),
        None => None,
    };
    Ok(Proposal {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        background: r.try_get(2)?,
        options,
        approve_or_reject: r.try_get::<i64, _>(4)? != 0,
        proposer_id: r.try_get(5)?,
        owning_department_id: r.try_get(6)?,
        participants: Vec::new(),
        rule: VotingRule::parse(&rule).ok_or_else(|| corrupt("rule", &rule))?,
        quorum_percent: r.try_get(8)?,
        electorate: Electorate::parse(&electorate)
            .ok_or_else(|| corrupt("electorate", &electorate))?,
        sealed: r.try_get::<i64, _>(10)? != 0,
        consultation_end_ms: r.try_get(11)?,
        voting_end_ms: r.try_get(12)?,
        stage: Stage::parse(&stage).ok_or_else(|| corrupt("stage", &stage))?,
        stage_ms: r.try_get(14)?,
        consultation_start_ms: r.try_get(15)?,
        voting_start_ms: r.try_get(16)?,
        outcome,
        eligible_voters: r.try_get(24)?,
        version: r.try_get(25)?,
        created_ms: r.try_get(26)?,
        updated_ms: r.try_get(27)?,
    })
}

/// Loads the participants of `proposals` in one query.
async fn with_participants(
    conn: &mut AnyConnection,
    mut proposals: Vec<Proposal>,
) -> Result<Vec<Proposal>, Error> {
    if proposals.is_empty() {
        return Ok(proposals);
    }
    let sql = format!(
        "SELECT proposal_id, department_id, role FROM participant WHERE proposal_id IN ({}) \
         ORDER BY proposal_id, position",
        placeholders(1, proposals.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for p in &proposals {
        q = q.bind(p.id.clone());
    }
    let rows = q.fetch_all(conn).await?;
    let mut by_proposal: HashMap<String, Vec<Participant>> = HashMap::new();
    for r in &rows {
        let role: String = r.try_get(2)?;
        by_proposal
            .entry(r.try_get(0)?)
            .or_default()
            .push(Participant {
                department_id: r.try_get(1)?,
                role: ParticipationRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            });
    }
    for p in &mut proposals {
        p.participants = by_proposal.remove(&p.id).unwrap_or_default();
    }
    Ok(proposals)
}

/// The proposal with `id`; `lock` is `Db::for_update()` inside a
/// transaction that must keep others from changing it meanwhile, else "".
#[tracing::instrument(skip_all, fields(proposal_id = %id))]
pub async fn get(
    conn: &mut AnyConnection,
    id: &str,
    lock: &str,
) -> Result<Option<Proposal>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM proposal WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(p) = row.as_ref().map(from_row).transpose()? else {
        return Ok(None);
    };
    Ok(with_participants(conn, vec![p]).await?.pop())
}

async fn write_participants(conn: &mut AnyConnection, p: &Proposal) -> Result<(), Error> {
    sqlx::query("DELETE FROM participant WHERE proposal_id = $1")
        .bind(&p.id)
        .execute(&mut *conn)
        .await?;
    for (i, part) in p.participants.iter().enumerate() {
        sqlx::query(
            "INSERT INTO participant (proposal_id, department_id, role, position) VALUES ($1, $2, $3, $4)",
        )
        .bind(&p.id)
        .bind(&part.department_id)
        .bind(part.role.as_str())
        .bind(i64::try_from(i).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await
        .map_err(write_error)?;
    }
    Ok(())
}

fn options_json(p: &Proposal) -> String {
    serde_json::to_string(&p.options).unwrap_or_else(|_| "[]".into())
}

/// Inserts a new proposal with its participants.
#[tracing::instrument(skip_all, fields(proposal_id = %p.id))]
pub async fn insert(conn: &mut AnyConnection, p: &Proposal) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO proposal (id, title, background, options, approve_or_reject, proposer_id, \
         owning_department_id, rule, quorum_percent, electorate, sealed, consultation_end_ms, \
         voting_end_ms, stage, stage_ms, eligible_voters, version, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, $17, $18)",
    )
    .bind(&p.id)
    .bind(&p.title)
    .bind(&p.background)
    .bind(options_json(p))
    .bind(flag(p.approve_or_reject))
    .bind(&p.proposer_id)
    .bind(&p.owning_department_id)
    .bind(p.rule.as_str())
    .bind(p.quorum_percent)
    .bind(p.electorate.as_str())
    .bind(flag(p.sealed))
    .bind(p.consultation_end_ms)
    .bind(p.voting_end_ms)
    .bind(p.stage.as_str())
    .bind(p.stage_ms)
    .bind(p.version)
    .bind(p.created_ms)
    .bind(p.updated_ms)
    .execute(&mut *conn)
    .await
    .map_err(write_error)?;
    write_participants(conn, p).await
}

/// Writes `p` over the stored row when that is still at `read_version`
/// (participants too, when `participants_changed`); `false` when somebody
/// changed it meanwhile.
#[tracing::instrument(skip_all, fields(proposal_id = %p.id, stage = p.stage.as_str()))]
pub async fn update(
    conn: &mut AnyConnection,
    p: &Proposal,
    read_version: i64,
    participants_changed: bool,
) -> Result<bool, Error> {
    let o = p.outcome.as_ref();
    let done = sqlx::query(
        "UPDATE proposal SET title = $3, background = $4, options = $5, approve_or_reject = $6, \
         rule = $7, quorum_percent = $8, electorate = $9, sealed = $10, consultation_end_ms = $11, \
         voting_end_ms = $12, stage = $13, stage_ms = $14, consultation_start_ms = $15, \
         voting_start_ms = $16, outcome_result = $17, chosen_option = $18, explanation = $19, \
         rationale = $20, decided_ms = $21, decided_by = $22, notice_id = $23, \
         eligible_voters = $24, version = $25, updated_ms = $26 \
         WHERE id = $1 AND version = $2",
    )
    .bind(&p.id)
    .bind(read_version)
    .bind(&p.title)
    .bind(&p.background)
    .bind(options_json(p))
    .bind(flag(p.approve_or_reject))
    .bind(p.rule.as_str())
    .bind(p.quorum_percent)
    .bind(p.electorate.as_str())
    .bind(flag(p.sealed))
    .bind(p.consultation_end_ms)
    .bind(p.voting_end_ms)
    .bind(p.stage.as_str())
    .bind(p.stage_ms)
    .bind(p.consultation_start_ms)
    .bind(p.voting_start_ms)
    .bind(o.map(|o| o.result.as_str()))
    .bind(o.and_then(|o| o.chosen_option.clone()))
    .bind(o.map(|o| o.explanation.clone()))
    .bind(o.map(|o| o.rationale.clone()))
    .bind(o.map(|o| o.decided_ms))
    .bind(o.and_then(|o| o.decided_by.clone()))
    .bind(o.and_then(|o| o.notice_id.clone()))
    .bind(p.eligible_voters)
    .bind(p.version)
    .bind(p.updated_ms)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    if participants_changed {
        write_participants(conn, p).await?;
    }
    Ok(true)
}

/// What a proposal list selects.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub stage: Option<Stage>,
    pub department_id: Option<&'a str>,
    pub proposer_id: Option<&'a str>,
    /// Whether the caller reads every draft.
    pub all_drafts: bool,
    /// The caller, who reads their own drafts.
    pub me: &'a str,
    /// The department the caller heads, whose drafts they read.
    pub heads: Option<&'a str>,
}

/// Proposals newest first, after the id `after`.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    f: &Filter<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Proposal>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM proposal p WHERE ($1 = '' OR p.stage = $1) \
         AND ($2 = '' OR p.owning_department_id = $2 OR EXISTS \
              (SELECT 1 FROM participant x WHERE x.proposal_id = p.id AND x.department_id = $2)) \
         AND ($3 = '' OR p.proposer_id = $3) \
         AND ($4 = 1 OR p.stage <> 'draft' OR p.proposer_id = $5 OR p.owning_department_id = $6) \
         AND ($7 = '' OR p.id < $7) \
         ORDER BY p.id DESC LIMIT $8"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(f.stage.map(Stage::as_str).unwrap_or_default())
        .bind(f.department_id.unwrap_or_default())
        .bind(f.proposer_id.unwrap_or_default())
        .bind(flag(f.all_drafts))
        .bind(f.me)
        .bind(f.heads.unwrap_or_default())
        .bind(after.unwrap_or_default())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let proposals = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    with_participants(conn, proposals).await
}

/// How many proposals are in each stage (for the gauge).
#[tracing::instrument(skip_all)]
pub async fn count_by_stage(conn: &mut AnyConnection) -> Result<Vec<(Stage, i64)>, Error> {
    let rows = sqlx::query("SELECT stage, COUNT(*) FROM proposal GROUP BY stage")
        .fetch_all(conn)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let s: String = r.try_get(0)?;
        if let Some(stage) = Stage::parse(&s) {
            out.push((stage, r.try_get::<i64, _>(1)?));
        }
    }
    Ok(out)
}

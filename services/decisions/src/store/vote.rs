//! Eligible voters (resolved when voting opened), votes and delegations.

use std::collections::HashMap;

use concord_kit::Error;
use concord_kit::sql::flag;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::write_error;
use crate::domain::Choice;

/// An eligible voter as resolved when voting opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    pub person_id: String,
    pub department_id: String,
    pub display_name: String,
    pub delegate_id: Option<String>,
}

/// A stored vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub proposal_id: String,
    pub voter_id: String,
    pub choice: Choice,
    pub reason: String,
    pub cast_ms: i64,
    pub updated_ms: i64,
    pub changes: i64,
}

/// Records the voters of a proposal.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id, voters = voters.len()))]
pub async fn insert_voters(
    conn: &mut AnyConnection,
    proposal_id: &str,
    voters: &[Voter],
) -> Result<(), Error> {
    for v in voters {
        sqlx::query(
            "INSERT INTO voter (proposal_id, person_id, department_id, display_name) VALUES ($1, $2, $3, $4)",
        )
        .bind(proposal_id)
        .bind(&v.person_id)
        .bind(&v.department_id)
        .bind(&v.display_name)
        .execute(&mut *conn)
        .await
        .map_err(write_error)?;
    }
    Ok(())
}

/// The voter `person_id` of a proposal, with their delegation.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn voter(
    conn: &mut AnyConnection,
    proposal_id: &str,
    person_id: &str,
) -> Result<Option<Voter>, Error> {
    let row = sqlx::query(
        "SELECT v.person_id, v.department_id, v.display_name, d.delegate_id FROM voter v \
         LEFT JOIN delegation d ON d.proposal_id = v.proposal_id AND d.delegator_id = v.person_id \
         WHERE v.proposal_id = $1 AND v.person_id = $2",
    )
    .bind(proposal_id)
    .bind(person_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(voter_row).transpose()?)
}

fn voter_row(r: &AnyRow) -> Result<Voter, sqlx::Error> {
    Ok(Voter {
        person_id: r.try_get(0)?,
        department_id: r.try_get(1)?,
        display_name: r.try_get(2)?,
        delegate_id: r.try_get(3)?,
    })
}

/// Voters ordered by person id, after `after`.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn voters(
    conn: &mut AnyConnection,
    proposal_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Voter>, Error> {
    let rows = sqlx::query(
        "SELECT v.person_id, v.department_id, v.display_name, d.delegate_id FROM voter v \
         LEFT JOIN delegation d ON d.proposal_id = v.proposal_id AND d.delegator_id = v.person_id \
         WHERE v.proposal_id = $1 AND ($2 = '' OR v.person_id > $2) ORDER BY v.person_id LIMIT $3",
    )
    .bind(proposal_id)
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(voter_row).collect::<Result<_, _>>()?)
}

/// Every voter id of a proposal.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn voter_ids(conn: &mut AnyConnection, proposal_id: &str) -> Result<Vec<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT person_id FROM voter WHERE proposal_id = $1 ORDER BY person_id")
            .bind(proposal_id)
            .fetch_all(conn)
            .await?,
    )
}

/// The voters whose proxy `person_id` holds.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn proxies_held(
    conn: &mut AnyConnection,
    proposal_id: &str,
    person_id: &str,
) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT delegator_id FROM delegation WHERE proposal_id = $1 AND delegate_id = $2 ORDER BY delegator_id",
    )
    .bind(proposal_id)
    .bind(person_id)
    .fetch_all(conn)
    .await?)
}

fn vote_row(r: &AnyRow) -> Result<Vote, sqlx::Error> {
    let option: String = r.try_get(2)?;
    let abstain = r.try_get::<i64, _>(3)? != 0;
    Ok(Vote {
        proposal_id: r.try_get(0)?,
        voter_id: r.try_get(1)?,
        choice: if abstain {
            Choice::Abstain
        } else {
            Choice::Option(option)
        },
        reason: r.try_get(4)?,
        cast_ms: r.try_get(5)?,
        updated_ms: r.try_get(6)?,
        changes: r.try_get(7)?,
    })
}

const VOTE_COLUMNS: &str =
    "proposal_id, voter_id, option_id, abstain, reason, cast_ms, updated_ms, changes";

/// The vote of `voter_id`, if any.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn get_vote(
    conn: &mut AnyConnection,
    proposal_id: &str,
    voter_id: &str,
) -> Result<Option<Vote>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {VOTE_COLUMNS} FROM vote WHERE proposal_id = $1 AND voter_id = $2"
    )))
    .bind(proposal_id)
    .bind(voter_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(vote_row).transpose()?)
}

/// Stores a vote (a first vote, or a change of it).
#[tracing::instrument(skip_all, fields(proposal_id = %v.proposal_id))]
pub async fn put_vote(conn: &mut AnyConnection, v: &Vote) -> Result<(), Error> {
    let (option, abstain) = match &v.choice {
        Choice::Option(o) => (o.clone(), false),
        Choice::Abstain => (String::new(), true),
    };
    sqlx::query(
        "INSERT INTO vote (proposal_id, voter_id, option_id, abstain, reason, cast_ms, updated_ms, changes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (proposal_id, voter_id) DO UPDATE SET \
         option_id = excluded.option_id, abstain = excluded.abstain, reason = excluded.reason, \
         updated_ms = excluded.updated_ms, changes = excluded.changes",
    )
    .bind(&v.proposal_id)
    .bind(&v.voter_id)
    .bind(option)
    .bind(flag(abstain))
    .bind(&v.reason)
    .bind(v.cast_ms)
    .bind(v.updated_ms)
    .bind(v.changes)
    .execute(conn)
    .await
    .map_err(write_error)?;
    Ok(())
}

/// Withdraws a vote (when its voter delegates).
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn delete_vote(
    conn: &mut AnyConnection,
    proposal_id: &str,
    voter_id: &str,
) -> Result<bool, Error> {
    let done = sqlx::query("DELETE FROM vote WHERE proposal_id = $1 AND voter_id = $2")
        .bind(proposal_id)
        .bind(voter_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Votes ordered by voter id after `after`; only `only_voter`'s when given.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn votes(
    conn: &mut AnyConnection,
    proposal_id: &str,
    only_voter: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Vote>, Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {VOTE_COLUMNS} FROM vote WHERE proposal_id = $1 AND ($2 = '' OR voter_id = $2) \
         AND ($3 = '' OR voter_id > $3) ORDER BY voter_id LIMIT $4"
    )))
    .bind(proposal_id)
    .bind(only_voter.unwrap_or_default())
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(vote_row).collect::<Result<_, _>>()?)
}

/// Every ballot of a proposal, by voter.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn ballots(
    conn: &mut AnyConnection,
    proposal_id: &str,
) -> Result<HashMap<String, Choice>, Error> {
    let all = votes(conn, proposal_id, None, None, i64::MAX).await?;
    Ok(all.into_iter().map(|v| (v.voter_id, v.choice)).collect())
}

/// Every delegation of a proposal: delegator to delegate.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn delegations(
    conn: &mut AnyConnection,
    proposal_id: &str,
) -> Result<HashMap<String, String>, Error> {
    let rows =
        sqlx::query("SELECT delegator_id, delegate_id FROM delegation WHERE proposal_id = $1")
            .bind(proposal_id)
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Records (or replaces) a delegation.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn put_delegation(
    conn: &mut AnyConnection,
    proposal_id: &str,
    delegator_id: &str,
    delegate_id: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO delegation (proposal_id, delegator_id, delegate_id, created_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (proposal_id, delegator_id) DO UPDATE SET delegate_id = excluded.delegate_id, \
         created_ms = excluded.created_ms",
    )
    .bind(proposal_id)
    .bind(delegator_id)
    .bind(delegate_id)
    .bind(now)
    .execute(conn)
    .await
    .map_err(write_error)?;
    Ok(())
}

/// Removes a delegation; `false` when there was none.
#[tracing::instrument(skip_all, fields(proposal_id = %proposal_id))]
pub async fn delete_delegation(
    conn: &mut AnyConnection,
    proposal_id: &str,
    delegator_id: &str,
) -> Result<bool, Error> {
    let done = sqlx::query("DELETE FROM delegation WHERE proposal_id = $1 AND delegator_id = $2")
        .bind(proposal_id)
        .bind(delegator_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

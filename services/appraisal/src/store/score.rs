//! Scores: reviewers' scores and self-assessments, collected automatic
//! values, calibrations, and the results frozen at publishing.

use concord_kit::Error;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use std::collections::HashMap;

use super::{corrupt, flag};
use crate::domain::{AutoValue, Calibration, Inputs, Score, Source};

fn decode_score(r: &AnyRow) -> Result<Score, Error> {
    Ok(Score {
        cycle_id: r.try_get("cycle_id")?,
        subject_id: r.try_get("subject_id")?,
        code: r.try_get("indicator_code")?,
        author_id: r.try_get("author_id")?,
        self_assessment: r.try_get::<i64, _>("self_assessment")? != 0,
        value: r.try_get("value")?,
        comment: r.try_get("comment")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

const SCORE_COLUMNS: &str = "cycle_id, subject_id, indicator_code, self_assessment, reviewer_id, \
    author_id, value, comment, created_ms, updated_ms";

/// Writes a score or replaces the author's earlier one (for a
/// self-assessment: the subject's earlier one); returns it as stored.
#[tracing::instrument(skip_all, fields(cycle_id = %s.cycle_id, subject_id = %s.subject_id, code = %s.code))]
pub async fn upsert(conn: &mut AnyConnection, s: &Score) -> Result<Score, Error> {
    let reviewer = if s.self_assessment { "" } else { &s.author_id };
    let sql = format!(
        "INSERT INTO scores ({SCORE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (cycle_id, subject_id, indicator_code, self_assessment, reviewer_id) \
         DO UPDATE SET author_id = excluded.author_id, value = excluded.value, \
         comment = excluded.comment, updated_ms = excluded.updated_ms \
         RETURNING {SCORE_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&s.cycle_id)
        .bind(&s.subject_id)
        .bind(&s.code)
        .bind(flag(s.self_assessment))
        .bind(reviewer)
        .bind(&s.author_id)
        .bind(s.value)
        .bind(&s.comment)
        .bind(s.updated_ms)
        .fetch_one(conn)
        .await?;
    decode_score(&row)
}

/// A position in the score list: subject position, indicator code,
/// self-assessment flag, reviewer.
pub type ScoreCursor = (i64, String, i64, String);

/// Scores of a cycle in subject, indicator, reviewer order (self-assessment
/// last), filtered, after the cursor. Returns each with its cursor.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id))]
pub async fn list(
    conn: &mut AnyConnection,
    cycle_id: &str,
    subject_id: Option<&str>,
    author_id: Option<&str>,
    after: Option<&ScoreCursor>,
    limit: i64,
) -> Result<Vec<(Score, ScoreCursor)>, Error> {
    let (pos, code, selfa, rid) = after
        .cloned()
        .unwrap_or((-1, String::new(), 0, String::new()));
    let rows = sqlx::query(
        "SELECT x.cycle_id, x.subject_id, x.indicator_code, x.self_assessment, x.reviewer_id, \
         x.author_id, x.value, x.comment, x.created_ms, x.updated_ms, s.position \
         FROM scores x JOIN cycle_subjects s ON s.cycle_id = x.cycle_id AND s.subject_id = x.subject_id \
         WHERE x.cycle_id = $1 AND ($2 = '' OR x.subject_id = $2) AND ($3 = '' OR x.author_id = $3) \
         AND (s.position > $4 OR (s.position = $4 AND (x.indicator_code > $5 OR (x.indicator_code = $5 \
         AND (x.self_assessment > $6 OR (x.self_assessment = $6 AND x.reviewer_id > $7)))))) \
         ORDER BY s.position, x.indicator_code, x.self_assessment, x.reviewer_id LIMIT $8",
    )
    .bind(cycle_id)
    .bind(subject_id.unwrap_or_default())
    .bind(author_id.unwrap_or_default())
    .bind(pos)
    .bind(&code)
    .bind(selfa)
    .bind(&rid)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let cursor = (
                r.try_get("position")?,
                r.try_get("indicator_code")?,
                r.try_get("self_assessment")?,
                r.try_get("reviewer_id")?,
            );
            Ok((decode_score(r)?, cursor))
        })
        .collect()
}

/// Replaces the automatic values of the given subjects and indicators.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id, values = values.len()))]
pub async fn put_automatic(
    conn: &mut AnyConnection,
    cycle_id: &str,
    values: &[AutoValue],
) -> Result<(), Error> {
    for v in values {
        sqlx::query(
            "INSERT INTO automatic_values (cycle_id, subject_id, indicator_code, source, applicable, \
             value, raw_json, collected_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (cycle_id, subject_id, indicator_code) DO UPDATE SET source = excluded.source, \
             applicable = excluded.applicable, value = excluded.value, raw_json = excluded.raw_json, \
             collected_ms = excluded.collected_ms",
        )
        .bind(cycle_id)
        .bind(&v.subject_id)
        .bind(&v.code)
        .bind(v.source.as_str())
        .bind(flag(v.applicable))
        .bind(v.value)
        .bind(&v.raw_json)
        .bind(v.collected_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn decode_auto(r: &AnyRow) -> Result<AutoValue, Error> {
    let source: String = r.try_get("source")?;
    Ok(AutoValue {
        subject_id: r.try_get("subject_id")?,
        code: r.try_get("indicator_code")?,
        source: Source::parse(&source).ok_or_else(|| corrupt("source", &source))?,
        applicable: r.try_get::<i64, _>("applicable")? != 0,
        value: r.try_get("value")?,
        raw_json: r.try_get("raw_json")?,
        collected_ms: r.try_get("collected_ms")?,
    })
}

fn decode_calibration(r: &AnyRow) -> Result<Calibration, Error> {
    Ok(Calibration {
        id: r.try_get("id")?,
        cycle_id: r.try_get("cycle_id")?,
        subject_id: r.try_get("subject_id")?,
        code: r.try_get("indicator_code")?,
        previous_score: r.try_get("previous_score")?,
        score: r.try_get("score")?,
        reason: r.try_get("reason")?,
        calibrated_by: r.try_get("calibrated_by")?,
        created_ms: r.try_get("created_ms")?,
    })
}

const CALIBRATION_COLUMNS: &str = "id, cycle_id, subject_id, indicator_code, previous_score, score, \
    reason, calibrated_by, created_ms";

#[tracing::instrument(skip_all, fields(cycle_id = %c.cycle_id, subject_id = %c.subject_id))]
pub async fn insert_calibration(conn: &mut AnyConnection, c: &Calibration) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO calibrations ({CALIBRATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&c.id)
        .bind(&c.cycle_id)
        .bind(&c.subject_id)
        .bind(&c.code)
        .bind(c.previous_score)
        .bind(c.score)
        .bind(&c.reason)
        .bind(&c.calibrated_by)
        .bind(c.created_ms)
        .execute(conn)
        .await?;
    Ok(())
}

/// Calibrations of a cycle oldest first, filtered by subject, after the
/// cursor id.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id))]
pub async fn calibrations(
    conn: &mut AnyConnection,
    cycle_id: &str,
    subject_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Calibration>, Error> {
    let sql = format!(
        "SELECT {CALIBRATION_COLUMNS} FROM calibrations WHERE cycle_id = $1 \
         AND ($2 = '' OR subject_id = $2) AND id > $3 ORDER BY id LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(cycle_id)
        .bind(subject_id.unwrap_or_default())
        .bind(after.unwrap_or_default())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode_calibration).collect()
}

/// Everything recorded about the subjects of a cycle (one subject when
/// `subject_id` is given), by subject id.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id))]
pub async fn inputs(
    conn: &mut AnyConnection,
    cycle_id: &str,
    subject_id: Option<&str>,
) -> Result<HashMap<String, Inputs>, Error> {
    let subject = subject_id.unwrap_or_default();
    let autos = sqlx::query(
        "SELECT subject_id, indicator_code, source, applicable, value, raw_json, collected_ms \
         FROM automatic_values WHERE cycle_id = $1 AND ($2 = '' OR subject_id = $2)",
    )
    .bind(cycle_id)
    .bind(subject)
    .fetch_all(&mut *conn)
    .await?;
    let sql = format!(
        "SELECT {SCORE_COLUMNS} FROM scores WHERE cycle_id = $1 AND ($2 = '' OR subject_id = $2) \
         ORDER BY reviewer_id"
    );
    let scores = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(cycle_id)
        .bind(subject)
        .fetch_all(&mut *conn)
        .await?;
    let calibrations = calibrations(conn, cycle_id, subject_id, None, i64::MAX).await?;
    let mut by: HashMap<String, Inputs> = HashMap::new();
    for r in &autos {
        let a = decode_auto(r)?;
        by.entry(a.subject_id.clone()).or_default().add_automatic(a);
    }
    for r in &scores {
        let s = decode_score(r)?;
        by.entry(s.subject_id.clone()).or_default().add_score(s);
    }
    for c in calibrations {
        by.entry(c.subject_id.clone())
            .or_default()
            .add_calibration(c);
    }
    Ok(by)
}

/// A subject's frozen result.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub subject_id: String,
    pub department_id: String,
    pub total: f64,
    pub complete: bool,
    pub rank: i64,
}

#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id, results = results.len()))]
pub async fn put_results(
    conn: &mut AnyConnection,
    cycle_id: &str,
    results: &[Ranked],
) -> Result<(), Error> {
    for r in results {
        sqlx::query(
            "INSERT INTO results (cycle_id, subject_id, department_id, total, complete, ranking) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(cycle_id)
        .bind(&r.subject_id)
        .bind(&r.department_id)
        .bind(r.total)
        .bind(flag(r.complete))
        .bind(r.rank)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The frozen results of a published cycle, by subject id.
#[tracing::instrument(skip_all, fields(cycle_id = %cycle_id))]
pub async fn results(
    conn: &mut AnyConnection,
    cycle_id: &str,
) -> Result<HashMap<String, Ranked>, Error> {
    let rows = sqlx::query(
        "SELECT subject_id, department_id, total, complete, ranking FROM results WHERE cycle_id = $1",
    )
    .bind(cycle_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let res = Ranked {
                subject_id: r.try_get("subject_id")?,
                department_id: r.try_get("department_id")?,
                total: r.try_get("total")?,
                complete: r.try_get::<i64, _>("complete")? != 0,
                rank: r.try_get("ranking")?,
            };
            Ok((res.subject_id.clone(), res))
        })
        .collect()
}

/// Per department and subject kind, the mean total of the latest published
/// cycle that appraised it: `(department_id, subject_kind, mean)`.
#[tracing::instrument(skip_all)]
pub async fn latest_published(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, String, f64)>, Error> {
    let rows = sqlx::query(
        "SELECT r.department_id, c.subject_kind, c.published_ms, c.id, r.total \
         FROM results r JOIN cycles c ON c.id = r.cycle_id WHERE c.stage = 'published' \
         ORDER BY c.published_ms, c.id",
    )
    .fetch_all(conn)
    .await?;
    // (department, kind) -> (cycle, sum, n) of the latest cycle seen.
    let mut latest: std::collections::BTreeMap<(String, String), (String, f64, i64)> =
        Default::default();
    for r in &rows {
        let key = (r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?);
        let cycle: String = r.try_get(3)?;
        let total: f64 = r.try_get(4)?;
        let entry = latest.entry(key).or_insert((cycle.clone(), 0.0, 0));
        if entry.0 != cycle {
            *entry = (cycle, 0.0, 0);
        }
        entry.1 += total;
        entry.2 += 1;
    }
    Ok(latest
        .into_iter()
        .map(|((d, k), (_, sum, n))| (d, k, crate::domain::round2(sum / n as f64)))
        .collect())
}

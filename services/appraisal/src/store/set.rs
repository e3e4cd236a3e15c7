//! Indicator sets: the set row, and one immutable row per version with its
//! indicators in order.

use concord_kit::Error;
use concord_kit::clock::Millis;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{corrupt, flag};
use crate::domain::{Dimension, Indicator, Rule, SetContent, Source};

/// The set row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetRow {
    pub id: String,
    pub current_version: i64,
    pub created_by: String,
    pub created_ms: Millis,
}

/// One version of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub set_id: String,
    pub version: i64,
    pub content: SetContent,
    pub created_by: String,
    pub created_ms: Millis,
}

/// The key sets are ordered by.
pub fn sort_key(name: &str) -> String {
    name.to_lowercase()
}

#[tracing::instrument(skip_all, fields(set_id = %id))]
pub async fn insert_set(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    created_by: &str,
    now: Millis,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO indicator_sets (id, current_version, sort_key, created_by, created_ms, updated_ms) \
         VALUES ($1, 1, $2, $3, $4, $4)",
    )
    .bind(id)
    .bind(sort_key(name))
    .bind(created_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a version and its indicators.
#[tracing::instrument(skip_all, fields(set_id = %v.set_id, version = v.version))]
pub async fn insert_version(conn: &mut AnyConnection, v: &Version) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO indicator_set_versions (set_id, version, name, description, change_note, created_by, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&v.set_id)
    .bind(v.version)
    .bind(&v.content.name)
    .bind(&v.content.description)
    .bind(&v.content.change_note)
    .bind(&v.created_by)
    .bind(v.created_ms)
    .execute(&mut *conn)
    .await?;
    for (i, ind) in v.content.indicators.iter().enumerate() {
        let (floor, target) = ind.rule.bounds();
        sqlx::query(
            "INSERT INTO indicators (set_id, version, position, code, name, description, dimension, \
             custom_dimension, weight, rule, floor_value, target_value, lower_is_better, source) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&v.set_id)
        .bind(v.version)
        .bind(i64::try_from(i).unwrap_or(i64::MAX))
        .bind(&ind.code)
        .bind(&ind.name)
        .bind(&ind.description)
        .bind(ind.dimension.as_str())
        .bind(ind.dimension.custom_name())
        .bind(ind.weight)
        .bind(ind.rule.as_str())
        .bind(floor)
        .bind(target)
        .bind(flag(ind.lower_is_better))
        .bind(ind.source.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn decode_set(r: &AnyRow) -> Result<SetRow, Error> {
    Ok(SetRow {
        id: r.try_get("id")?,
        current_version: r.try_get("current_version")?,
        created_by: r.try_get("created_by")?,
        created_ms: r.try_get("created_ms")?,
    })
}

/// The set row; `lock` is `Db::for_update()` when the caller will change it.
#[tracing::instrument(skip_all, fields(set_id = %id))]
pub async fn get_set(
    conn: &mut AnyConnection,
    id: &str,
    lock: &str,
) -> Result<Option<SetRow>, Error> {
    let sql = format!(
        "SELECT id, current_version, created_by, created_ms FROM indicator_sets WHERE id = $1{lock}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode_set).transpose()
}

/// Makes `to` the current version; false when the set moved on meanwhile.
#[tracing::instrument(skip_all, fields(set_id = %id, to))]
pub async fn bump(
    conn: &mut AnyConnection,
    id: &str,
    from: i64,
    to: i64,
    name: &str,
    now: Millis,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE indicator_sets SET current_version = $3, sort_key = $4, updated_ms = $5 \
         WHERE id = $1 AND current_version = $2",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(sort_key(name))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn decode_indicator(r: &AnyRow) -> Result<Indicator, Error> {
    let dimension: String = r.try_get("dimension")?;
    let custom: String = r.try_get("custom_dimension")?;
    let rule: String = r.try_get("rule")?;
    let source: String = r.try_get("source")?;
    Ok(Indicator {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        dimension: Dimension::parse(&dimension, &custom)
            .ok_or_else(|| corrupt("dimension", &dimension))?,
        weight: r.try_get("weight")?,
        rule: Rule::parse(&rule, r.try_get("floor_value")?, r.try_get("target_value")?)
            .ok_or_else(|| corrupt("rule", &rule))?,
        lower_is_better: r.try_get::<i64, _>("lower_is_better")? != 0,
        source: Source::parse(&source).ok_or_else(|| corrupt("source", &source))?,
    })
}

/// The indicators of a version, in order.
#[tracing::instrument(skip_all, fields(set_id = %set_id, version))]
pub async fn indicators(
    conn: &mut AnyConnection,
    set_id: &str,
    version: i64,
) -> Result<Vec<Indicator>, Error> {
    let rows = sqlx::query(
        "SELECT code, name, description, dimension, custom_dimension, weight, rule, floor_value, \
         target_value, lower_is_better, source FROM indicators \
         WHERE set_id = $1 AND version = $2 ORDER BY position",
    )
    .bind(set_id)
    .bind(version)
    .fetch_all(conn)
    .await?;
    rows.iter().map(decode_indicator).collect()
}

const VERSION_COLUMNS: &str =
    "set_id, version, name, description, change_note, created_by, created_ms";

async fn with_indicators(conn: &mut AnyConnection, r: &AnyRow) -> Result<Version, Error> {
    let set_id: String = r.try_get("set_id")?;
    let version: i64 = r.try_get("version")?;
    let indicators = indicators(conn, &set_id, version).await?;
    Ok(Version {
        content: SetContent {
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            indicators,
            change_note: r.try_get("change_note")?,
        },
        set_id,
        version,
        created_by: r.try_get("created_by")?,
        created_ms: r.try_get("created_ms")?,
    })
}

/// One version with its indicators.
#[tracing::instrument(skip_all, fields(set_id = %set_id, version))]
pub async fn version(
    conn: &mut AnyConnection,
    set_id: &str,
    version: i64,
) -> Result<Option<Version>, Error> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM indicator_set_versions WHERE set_id = $1 AND version = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(set_id)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(Some(with_indicators(conn, &r).await?)),
        None => Ok(None),
    }
}

/// Sets at their current version, by name, after the cursor `(sort_key, id)`.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AnyConnection,
    after: Option<&(String, String)>,
    limit: i64,
) -> Result<Vec<(SetRow, Version, String)>, Error> {
    let (key, id) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(
        "SELECT s.id, s.current_version, s.created_by AS set_created_by, s.created_ms AS set_created_ms, \
         s.sort_key, v.set_id, v.version, v.name, v.description, v.change_note, v.created_by, v.created_ms \
         FROM indicator_sets s JOIN indicator_set_versions v \
         ON v.set_id = s.id AND v.version = s.current_version \
         WHERE ($1 = 0 OR s.sort_key > $2 OR (s.sort_key = $2 AND s.id > $3)) \
         ORDER BY s.sort_key, s.id LIMIT $4",
    )
    .bind(flag(after.is_some()))
    .bind(&key)
    .bind(&id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let set = SetRow {
            id: r.try_get("id")?,
            current_version: r.try_get("current_version")?,
            created_by: r.try_get("set_created_by")?,
            created_ms: r.try_get("set_created_ms")?,
        };
        let key: String = r.try_get("sort_key")?;
        out.push((set, with_indicators(conn, r).await?, key));
    }
    Ok(out)
}

/// Versions of a set, newest first, below `before` when given.
#[tracing::instrument(skip_all, fields(set_id = %set_id))]
pub async fn versions(
    conn: &mut AnyConnection,
    set_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Version>, Error> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM indicator_set_versions WHERE set_id = $1 AND version < $2 \
         ORDER BY version DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(set_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(with_indicators(conn, r).await?);
    }
    Ok(out)
}

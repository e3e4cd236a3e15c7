//! Alerts and their deliveries. Each delivery takes the next number of its
//! person's counter row in the delivering transaction: the row lock orders
//! concurrent deliveries to one person by commit, so a person's sequence is
//! gap-free in commit order and a stream's cursor never passes a row that is
//! still to commit.

use concord_kit::Error;
use concord_kit::sql::{corrupt, flag};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::domain::{Alert, AlertKind, Delivery, IncidentType, Recipient, Severity};

/// People per statement: a few hundred rows keep both backends' parameter
/// limits far away.
const CHUNK: usize = 200;

#[tracing::instrument(skip_all, fields(alert_id = %a.id, incident_id = %a.incident_id))]
pub async fn insert(conn: &mut AnyConnection, a: &Alert) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO alert (id, incident_id, kind, drill, severity, incident_type, title, message, department_id, \
         escalation_level, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&a.id)
    .bind(&a.incident_id)
    .bind(a.kind.code())
    .bind(flag(a.drill))
    .bind(a.severity.code())
    .bind(a.incident_type.code())
    .bind(&a.title)
    .bind(&a.message)
    .bind(&a.department_id)
    .bind(a.escalation_level)
    .bind(a.created_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Delivers `alert` to each recipient (each person at most once) and records
/// them as recipients of the incident. Returns the people reached.
#[tracing::instrument(skip_all, fields(alert_id = %alert.id, recipients = recipients.len()))]
pub async fn deliver(
    conn: &mut AnyConnection,
    alert: &Alert,
    recipients: &[Recipient],
) -> Result<Vec<String>, Error> {
    let mut sorted: Vec<&Recipient> = recipients.iter().collect();
    // One order for every transaction, so two deliveries cannot deadlock on
    // each other's counter rows.
    sorted.sort();
    sorted.dedup_by(|a, b| a.person_id == b.person_id);
    let mut reached = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, 1)", i + 1))
            .collect();
        let sql = format!(
            "INSERT INTO alert_counter (person_id, seq) VALUES {} \
             ON CONFLICT (person_id) DO UPDATE SET seq = alert_counter.seq + 1 RETURNING person_id, seq",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q.bind(&r.person_id);
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let mut seqs = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            seqs.insert(row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
        }

        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = 3 + i * 3;
                format!("(${b}, ${}, $1, $2, ${}, NULL)", b + 1, b + 2)
            })
            .collect();
        let sql = format!(
            "INSERT INTO alert_delivery (person_id, seq, alert_id, incident_id, department_id, acknowledged_ms) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&alert.id)
            .bind(&alert.incident_id);
        for r in chunk {
            let seq = seqs
                .get(&r.person_id)
                .copied()
                .ok_or_else(|| corrupt("counter of", &r.person_id))?;
            q = q.bind(&r.person_id).bind(seq).bind(&r.department_id);
        }
        q.execute(&mut *conn).await?;

        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${}, $2, NULL)", i * 2 + 3, i * 2 + 4))
            .collect();
        let sql = format!(
            "INSERT INTO incident_recipient (incident_id, person_id, department_id, first_alert_ms, acknowledged_ms) \
             VALUES {} ON CONFLICT (incident_id, person_id, department_id) DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&alert.incident_id)
            .bind(alert.created_ms);
        for r in chunk {
            q = q.bind(&r.person_id).bind(&r.department_id);
        }
        q.execute(&mut *conn).await?;
        reached.extend(chunk.iter().map(|r| r.person_id.clone()));
    }
    Ok(reached)
}

const DELIVERY_COLUMNS: &str = "d.person_id, d.seq, d.department_id, d.acknowledged_ms, a.id, a.incident_id, a.kind, \
     a.drill, a.severity, a.incident_type, a.title, a.message, a.department_id, a.escalation_level, a.created_ms";

fn decode_delivery(r: &AnyRow) -> Result<Delivery, Error> {
    let kind: i64 = r.try_get(6)?;
    let severity: i64 = r.try_get(8)?;
    let incident_type: i64 = r.try_get(9)?;
    Ok(Delivery {
        person_id: r.try_get(0)?,
        seq: r.try_get(1)?,
        department_id: r.try_get(2)?,
        acknowledged_ms: r.try_get(3)?,
        alert: Alert {
            id: r.try_get(4)?,
            incident_id: r.try_get(5)?,
            kind: AlertKind::from_code(kind).ok_or_else(|| corrupt("alert kind", kind))?,
            drill: r.try_get::<i64, _>(7)? != 0,
            severity: Severity::from_code(severity).ok_or_else(|| corrupt("severity", severity))?,
            incident_type: IncidentType::from_code(incident_type)
                .ok_or_else(|| corrupt("incident type", incident_type))?,
            title: r.try_get(10)?,
            message: r.try_get(11)?,
            department_id: r.try_get(12)?,
            escalation_level: r.try_get(13)?,
            created_ms: r.try_get(14)?,
        },
    })
}

/// A person's deliveries after `after`, in sequence order.
#[tracing::instrument(skip_all, fields(person_id = %person_id, after))]
pub async fn after(
    pool: &AnyPool,
    person_id: &str,
    after: i64,
    unacknowledged_only: bool,
    limit: i64,
) -> Result<Vec<Delivery>, Error> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_delivery d JOIN alert a ON a.id = d.alert_id \
         WHERE d.person_id = $1 AND d.seq > $2 AND ($3 = 0 OR d.acknowledged_ms IS NULL) ORDER BY d.seq LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person_id)
        .bind(after)
        .bind(flag(unacknowledged_only))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode_delivery).collect()
}

/// The delivery of `alert_id` to `person_id`.
#[tracing::instrument(skip_all, fields(alert_id = %alert_id, person_id = %person_id))]
pub async fn delivery(
    conn: &mut AnyConnection,
    alert_id: &str,
    person_id: &str,
) -> Result<Option<Delivery>, Error> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_delivery d JOIN alert a ON a.id = d.alert_id \
         WHERE d.alert_id = $1 AND d.person_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(alert_id)
        .bind(person_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode_delivery).transpose()
}

/// Whether an alert with this id exists at all.
#[tracing::instrument(skip_all, fields(alert_id = %alert_id))]
pub async fn exists(conn: &mut AnyConnection, alert_id: &str) -> Result<bool, Error> {
    let row = sqlx::query("SELECT COUNT(*) FROM alert WHERE id = $1")
        .bind(alert_id)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Records a person's acknowledgement for a department of an incident on
/// every delivery and on the recipient row.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, person_id = %person_id, department_id = %department_id))]
pub async fn acknowledge(
    conn: &mut AnyConnection,
    incident_id: &str,
    person_id: &str,
    department_id: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE alert_delivery SET acknowledged_ms = $4 \
         WHERE incident_id = $1 AND person_id = $2 AND department_id = $3 AND acknowledged_ms IS NULL",
    )
    .bind(incident_id)
    .bind(person_id)
    .bind(department_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE incident_recipient SET acknowledged_ms = $4 \
         WHERE incident_id = $1 AND person_id = $2 AND department_id = $3 AND acknowledged_ms IS NULL",
    )
    .bind(incident_id)
    .bind(person_id)
    .bind(department_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The people an incident reached, optionally only for one department.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn recipients(
    conn: &mut AnyConnection,
    incident_id: &str,
    department_id: Option<&str>,
) -> Result<Vec<Recipient>, Error> {
    let rows = sqlx::query(
        "SELECT person_id, department_id FROM incident_recipient \
         WHERE incident_id = $1 AND ($2 = '' OR department_id = $2) ORDER BY person_id, department_id",
    )
    .bind(incident_id)
    .bind(department_id.unwrap_or_default())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Recipient {
                person_id: r.try_get(0)?,
                department_id: r.try_get(1)?,
            })
        })
        .collect()
}

/// Whether `person_id` was reached for `department_id` in the incident.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, person_id = %person_id))]
pub async fn is_recipient_for(
    conn: &mut AnyConnection,
    incident_id: &str,
    person_id: &str,
    department_id: &str,
) -> Result<bool, Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM incident_recipient WHERE incident_id = $1 AND person_id = $2 AND department_id = $3",
    )
    .bind(incident_id)
    .bind(person_id)
    .bind(department_id)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// For a report: people who acknowledged per department, escalations sent,
/// deliveries made.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn report_counts(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> Result<crate::domain::report::Counts, Error> {
    let rows = sqlx::query(
        "SELECT department_id, COUNT(*) FROM incident_recipient \
         WHERE incident_id = $1 AND acknowledged_ms IS NOT NULL GROUP BY department_id",
    )
    .bind(incident_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = crate::domain::report::Counts::default();
    for r in &rows {
        counts
            .acknowledged_people
            .insert(r.try_get(0)?, r.try_get(1)?);
    }
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM alert WHERE incident_id = $1 AND kind = $2), \
         (SELECT COUNT(*) FROM alert_delivery WHERE incident_id = $1)",
    )
    .bind(incident_id)
    .bind(AlertKind::Escalation.code())
    .fetch_one(conn)
    .await?;
    counts.escalations = row.try_get(0)?;
    counts.alerts_delivered = row.try_get(1)?;
    Ok(counts)
}

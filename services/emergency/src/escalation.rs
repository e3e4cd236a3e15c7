//! Deadlines of an incident, kept as due rows so they survive restarts and
//! fire once across replicas: escalation of a department that has not
//! acknowledged (one level of the plan's chain per acknowledgement timeout),
//! and reminders to an acknowledged department whose steps are still open
//! (every reminder interval until the incident is contained).
//!
//! Each handler checks the state it acts on and moves a counter
//! (`escalation_level`, `reminders_sent`) from the value in its payload, in
//! the transaction that sends the alert: a second run of the same action
//! finds the counter moved on and does nothing.

use concord_kit::Error;
use concord_kit::directory::Person;
use concord_kit::due::{self, DueAction, DueHandler, Handlers};
use sqlx::AnyConnection;

use crate::dispatch;
use crate::domain::alert::{escalation_message, reminder_message};
use crate::domain::incident::drill_label;
use crate::domain::{Alert, AlertKind, EscalationTarget, Incident, Recipient};
use crate::grpc::{Emergency, load_incident};
use crate::metrics::METRICS;
use crate::store::timeline::{self, Entry};
use crate::store::{alert as alerts, incident as db};

pub const ESCALATE: &str = "emergency.escalate";
pub const REMIND: &str = "emergency.remind";

/// The due subject of a department of an incident.
fn subject(incident_id: &str, department_id: &str) -> String {
    format!("{incident_id}/{department_id}")
}

fn parse(action: &DueAction) -> Result<(String, String, i64), Error> {
    let bad = || {
        Error::Internal(anyhow::anyhow!(
            "malformed due action {} {} {}",
            action.kind,
            action.subject,
            action.payload
        ))
    };
    let (incident, department) = action.subject.split_once('/').ok_or_else(bad)?;
    let n = action.payload.parse::<i64>().map_err(|_| bad())?;
    Ok((incident.to_string(), department.to_string(), n))
}

/// Schedules escalation `level` (1-based) of a department, one timeout after
/// `from_ms`, when the chain has that level.
pub async fn schedule_escalation(
    conn: &mut AnyConnection,
    incident: &Incident,
    department_id: &str,
    level: i64,
    from_ms: i64,
) -> Result<(), Error> {
    if level as usize > incident.escalation_chain.len() {
        return Ok(());
    }
    let at = from_ms + incident.ack_timeout_ms;
    due::schedule(
        conn,
        ESCALATE,
        &subject(&incident.id, department_id),
        at,
        &level.to_string(),
    )
    .await
}

/// Schedules reminder `n` of a department, one interval after `from_ms`.
pub async fn schedule_reminder(
    conn: &mut AnyConnection,
    incident: &Incident,
    department_id: &str,
    n: i64,
    from_ms: i64,
) -> Result<(), Error> {
    let at = from_ms + incident.reminder_ms;
    due::schedule(
        conn,
        REMIND,
        &subject(&incident.id, department_id),
        at,
        &n.to_string(),
    )
    .await
}

pub async fn cancel_escalation(
    conn: &mut AnyConnection,
    incident_id: &str,
    department_id: &str,
) -> Result<(), Error> {
    due::cancel(conn, ESCALATE, &subject(incident_id, department_id)).await
}

pub async fn cancel_reminder(
    conn: &mut AnyConnection,
    incident_id: &str,
    department_id: &str,
) -> Result<(), Error> {
    due::cancel(conn, REMIND, &subject(incident_id, department_id)).await
}

/// Nothing more is due for a contained incident.
pub async fn cancel_all(
    conn: &mut AnyConnection,
    incident_id: &str,
    departments: &[String],
) -> Result<(), Error> {
    for d in departments {
        cancel_escalation(conn, incident_id, d).await?;
        cancel_reminder(conn, incident_id, d).await?;
    }
    Ok(())
}

/// The handlers of the emergency service's due actions.
pub fn handlers(e: Emergency) -> Handlers {
    Handlers::new()
        .on(ESCALATE, Escalate(e.clone()))
        .on(REMIND, Remind(e))
}

struct Escalate(Emergency);

#[async_trait::async_trait]
impl DueHandler for Escalate {
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        let (incident_id, department_id, level) = parse(action)?;
        escalate(&self.0, &incident_id, &department_id, level).await
    }
}

/// Fires escalation `level` of a department unless it was acknowledged, the
/// incident is contained, or this level already fired.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, department_id = %department_id, level))]
async fn escalate(
    e: &Emergency,
    incident_id: &str,
    department_id: &str,
    level: i64,
) -> Result<(), Error> {
    let mut conn = e.conn().await?;
    let Some(incident) = db::get(&mut conn, incident_id, "").await? else {
        return Ok(());
    };
    let Some(dept) = db::department(&mut conn, incident_id, department_id, "").await? else {
        return Ok(());
    };
    if incident.status.is_settled()
        || dept.acknowledged_ms.is_some()
        || dept.escalation_level >= level
    {
        return Ok(());
    }
    let Some(target) = usize::try_from(level - 1)
        .ok()
        .and_then(|i| incident.escalation_chain.get(i))
        .copied()
    else {
        return Ok(());
    };
    // Ask the directory outside the transaction.
    let people = match target {
        EscalationTarget::DepartmentHead => ids(e.directory.heads(department_id).await?),
        EscalationTarget::Admins => ids(e.directory.admins().await?),
        EscalationTarget::Contacts => incident.contact_people.clone(),
    };
    drop(conn);

    let now = e.now();
    let mut tx = e.db.begin().await?;
    let incident = load_incident(&mut tx, incident_id, e.db.for_update()).await?;
    if incident.status.is_settled()
        || !db::escalate_department(&mut tx, incident_id, department_id, level - 1).await?
    {
        return Ok(());
    }
    let recipients: Vec<Recipient> = people
        .iter()
        .map(|p| Recipient {
            person_id: p.clone(),
            department_id: department_id.to_string(),
        })
        .collect();
    let message = escalation_message(&incident, department_id, level, target);
    let alert = Alert::about(
        &incident,
        AlertKind::Escalation,
        message,
        department_id,
        level,
        now,
    );
    let sent = dispatch::send(&mut tx, &alert, &recipients).await?;
    let text = format!(
        "escalated to {} (level {level}): {} people",
        target.label(),
        sent.people()
    );
    timeline::add(
        &mut tx,
        &Entry::new(incident_id, now, "escalated", "", department_id, text),
    )
    .await?;
    schedule_escalation(&mut tx, &incident, department_id, level + 1, now).await?;
    tx.commit().await?;
    METRICS
        .escalations
        .with_label_values(&[target.label(), drill_label(incident.drill)])
        .inc();
    sent.announce(&e.announcer);
    Ok(())
}

struct Remind(Emergency);

#[async_trait::async_trait]
impl DueHandler for Remind {
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        let (incident_id, department_id, n) = parse(action)?;
        remind(&self.0, &incident_id, &department_id, n).await
    }
}

/// Sends reminder `n` to a department with open steps, and schedules the
/// next, until the incident is contained or the steps are done.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id, department_id = %department_id, n))]
async fn remind(
    e: &Emergency,
    incident_id: &str,
    department_id: &str,
    n: i64,
) -> Result<(), Error> {
    let now = e.now();
    let mut tx = e.db.begin().await?;
    let Some(incident) = db::get(&mut tx, incident_id, e.db.for_update()).await? else {
        return Ok(());
    };
    if incident.status.is_settled() || incident.reminder_ms <= 0 {
        return Ok(());
    }
    let steps = db::steps(&mut tx, incident_id).await?;
    let open: Vec<_> = steps
        .iter()
        .filter(|s| s.department_id == department_id && s.completed_ms.is_none())
        .collect();
    if open.is_empty() || !db::count_reminder(&mut tx, incident_id, department_id, n - 1).await? {
        return Ok(());
    }
    let recipients = alerts::recipients(&mut tx, incident_id, Some(department_id)).await?;
    let alert = Alert::about(
        &incident,
        AlertKind::Reminder,
        reminder_message(&incident, &open),
        department_id,
        0,
        now,
    );
    let sent = dispatch::send(&mut tx, &alert, &recipients).await?;
    let text = format!(
        "reminder {n}: {} open steps, {} people",
        open.len(),
        sent.people()
    );
    timeline::add(
        &mut tx,
        &Entry::new(incident_id, now, "reminded", "", department_id, text),
    )
    .await?;
    schedule_reminder(&mut tx, &incident, department_id, n + 1, now).await?;
    tx.commit().await?;
    sent.announce(&e.announcer);
    Ok(())
}

fn ids(people: Vec<Person>) -> Vec<String> {
    people.into_iter().map(|p| p.id).collect()
}

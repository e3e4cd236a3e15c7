//! The caller's alerts: the resumable live stream, the list, and
//! acknowledgement.

use concord_kit::announce::concerns;
use concord_kit::auth::Principal;
use concord_kit::ids::check_id;
use concord_kit::page::Page;
use concord_kit::stream::{ResumeOptions, resume};
use concord_kit::{Error, Violations, audit, fields, invalid};
use concord_proto::emergency::v1 as pb;
use futures::StreamExt;
use serde_json::json;

use super::{AlertStream, Emergency, load_incident, render, resource};
use crate::domain::Status;
use crate::domain::access::may_list_alerts_of;
use crate::domain::incident::drill_label;
use crate::metrics::METRICS;
use crate::store::timeline::{self, Entry};
use crate::store::{alert as db, incident as incidents};
use crate::{ALERTS_TOPIC, escalation};

/// Alerts read from the database per round trip of a stream.
const STREAM_BATCH: i64 = 200;

pub fn watch(
    e: &Emergency,
    who: &Principal,
    req: &pb::WatchAlertsRequest,
) -> Result<AlertStream, Error> {
    if req.after_sequence < 0 {
        return Err(invalid("after_sequence", "must not be negative"));
    }
    let person = who.subject.clone();
    let pool = e.db.pool().clone();
    let fetch = {
        let person = person.clone();
        move |cursor: i64| {
            let pool = pool.clone();
            let person = person.clone();
            async move {
                let rows = db::after(&pool, &person, cursor, false, STREAM_BATCH).await?;
                Ok(rows.into_iter().map(|d| (d.seq, d)).collect::<Vec<_>>())
            }
        }
    };
    let relevant = move |payload: &[u8]| concerns(payload, &person);
    let options = ResumeOptions {
        topic: ALERTS_TOPIC.to_string(),
        poll_every: e.poll_every,
    };
    let stream = resume(
        e.bus.clone(),
        options,
        req.after_sequence,
        fetch,
        relevant,
        e.shutdown.clone(),
    )
    .map(|item| {
        item.map(|(_, d)| {
            METRICS
                .delivered
                .with_label_values(&[drill_label(d.alert.drill)])
                .inc();
            render::alert_event(&d)
        })
    });
    Ok(Box::pin(stream))
}

pub async fn list(
    e: &Emergency,
    who: &Principal,
    req: &pb::ListAlertsRequest,
) -> Result<pb::ListAlertsResponse, Error> {
    let mut v = Violations::new();
    concord_kit::ids::check_opt_id(&mut v, "person_id", &req.person_id);
    v.check(
        req.after_sequence < 0,
        "after_sequence",
        "must not be negative",
    );
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let person = if req.person_id.is_empty() {
        who.subject.clone()
    } else {
        req.person_id.clone()
    };
    may_list_alerts_of(who, &person)?;
    let filter = format!(
        "alerts|{person}|{}|{}",
        req.after_sequence, req.unacknowledged_only
    );
    let page = Page::parse(req.page_size, &req.page_token, &filter)?;
    let after = match page.after.as_deref() {
        Some(k) => k
            .parse::<i64>()
            .map_err(|_| invalid("page_token", "is not a token returned by this list"))?,
        None => req.after_sequence,
    };
    let rows = db::after(
        e.db.pool(),
        &person,
        after,
        req.unacknowledged_only,
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |d| d.seq.to_string());
    Ok(pb::ListAlertsResponse {
        alerts: rows.iter().map(render::alert_event).collect(),
        next_page_token,
    })
}

pub async fn acknowledge(
    e: &Emergency,
    who: &Principal,
    req: &pb::AcknowledgeAlertRequest,
) -> Result<pb::Acknowledgement, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "alert_id", &req.alert_id);
    v.into_result()?;
    let now = e.now();
    let mut tx = e.db.begin().await?;
    let Some(delivery) = db::delivery(&mut tx, &req.alert_id, &who.subject).await? else {
        return Err(if db::exists(&mut tx, &req.alert_id).await? {
            Error::denied("you acknowledge only alerts addressed to you")
        } else {
            Error::not_found("alert", &req.alert_id)
        });
    };
    // The incident row serializes acknowledgements with status changes.
    let mut incident =
        load_incident(&mut tx, &delivery.alert.incident_id, e.db.for_update()).await?;
    let department_id = delivery.department_id.clone();
    let dept = incidents::department(&mut tx, &incident.id, &department_id, "")
        .await?
        .ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "alert delivered for a department the incident does not have"
            ))
        })?;
    let acknowledged_ms = delivery.acknowledged_ms.unwrap_or(now);
    let mut first = false;
    if delivery.acknowledged_ms.is_none() {
        db::acknowledge(&mut tx, &incident.id, &who.subject, &department_id, now).await?;
        first = incidents::acknowledge_department(
            &mut tx,
            &incident.id,
            &department_id,
            now,
            &who.subject,
        )
        .await?;
        if first {
            escalation::cancel_escalation(&mut tx, &incident.id, &department_id).await?;
            let open = incidents::steps(&mut tx, &incident.id)
                .await?
                .iter()
                .any(|s| s.department_id == department_id && s.completed_ms.is_none());
            if open && incident.reminder_ms > 0 && !incident.status.is_settled() {
                escalation::schedule_reminder(
                    &mut tx,
                    &incident,
                    &department_id,
                    dept.reminders_sent + 1,
                    now,
                )
                .await?;
            }
            let text = format!("acknowledged after {} s", (now - dept.alerted_ms) / 1000);
            timeline::add(
                &mut tx,
                &Entry::new(
                    &incident.id,
                    now,
                    "acknowledged",
                    &who.subject,
                    &department_id,
                    text,
                ),
            )
            .await?;
            if incident.status == Status::Declared {
                let read = incident.version;
                incident.move_to(Status::Responding, now);
                incident.version += 1;
                if !incidents::update(&mut tx, &incident, read).await? {
                    return Err(Error::Aborted(
                        "the incident changed meanwhile; acknowledge again".into(),
                    ));
                }
                let text = "declared → responding";
                timeline::add(
                    &mut tx,
                    &Entry::new(&incident.id, now, "status_changed", &who.subject, "", text),
                )
                .await?;
            }
        }
        let detail = json!({ "alert_id": req.alert_id, "department_id": department_id, "first_for_department": first });
        audit::record(
            &mut tx,
            now,
            who,
            "alert.acknowledge",
            &resource("incidents", &incident.id),
            detail,
        )
        .await?;
    }
    tx.commit().await?;
    let time_to_acknowledge = acknowledged_ms - dept.alerted_ms;
    if first {
        METRICS
            .time_to_acknowledge
            .with_label_values(&[department_id.as_str(), drill_label(incident.drill)])
            .observe(time_to_acknowledge as f64 / 1000.0);
        e.incidents_changed();
    }
    Ok(pb::Acknowledgement {
        incident_id: incident.id.clone(),
        alert_id: req.alert_id.clone(),
        person_id: who.subject.clone(),
        department_id,
        acknowledge_time: Some(concord_kit::clock::to_timestamp(acknowledged_ms)),
        time_to_acknowledge: Some(render::duration(time_to_acknowledge)),
        first_for_department: first,
        drill: incident.drill,
    })
}

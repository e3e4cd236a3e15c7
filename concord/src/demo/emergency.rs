//! Contingency plans, a real incident and a drill declared from them,
//! acknowledged by most of the people alerted, worked through step by
//! step, resolved and reviewed.

use anyhow::Context as _;
use concord_proto::directory::v1::Person;
use concord_proto::emergency::v1::*;
use futures::{StreamExt, TryStreamExt};

use super::content::{IncidentSpec, PlanSpec};
use super::org::Org;
use super::session::{Session, call, chance, pages};

pub async fn emergency(s: &Session, org: &Org) -> anyhow::Result<()> {
    let admin = s.as_person(org.admin())?;
    let existing = pages!(
        admin.emergency(),
        list_plans,
        ListPlansRequest {
            include_archived: true,
            ..Default::default()
        },
        plans
    );
    let mut plans = Vec::new();
    for spec in s.content.plans {
        let plan = match existing.iter().find(|p| p.title == spec.title) {
            Some(p) => {
                s.found();
                p.clone()
            }
            None => {
                s.made();
                create_plan(s, org, spec)
                    .await
                    .with_context(|| format!("the plan {}", spec.title))?
            }
        };
        s.step(spec.title);
        plans.push((spec.key, plan));
    }
    for spec in s.content.incidents {
        let plan = plans
            .iter()
            .find(|(k, _)| *k == spec.plan)
            .map(|(_, p)| p)
            .context("an incident names a plan the demo does not have")?;
        incident(s, org, spec, plan)
            .await
            .with_context(|| format!("the incident {}", spec.title))?;
        s.step(spec.title);
    }
    Ok(())
}

async fn create_plan(s: &Session, org: &Org, spec: &PlanSpec) -> anyhow::Result<Plan> {
    let admin = s.as_person(org.admin())?;
    let commander = org.head(spec.owner);
    Ok(call!(
        admin.emergency(),
        create_plan,
        CreatePlanRequest {
            request_id: s.rid(&["plan", spec.key]),
            plan: Some(Plan {
                title: spec.title.into(),
                description: spec.description.into(),
                incident_type: spec.incident_type,
                severity: spec.severity,
                owner_department_id: org.id(spec.owner),
                steps: spec
                    .steps
                    .iter()
                    .map(|st| PlanStep {
                        title: st.title.into(),
                        instructions: String::new(),
                        department_id: org.id(st.department),
                        target_minutes: st.target_minutes,
                    })
                    .collect(),
                contacts: vec![Contact {
                    name: commander.display_name.clone(),
                    role: spec.contact_role.into(),
                    phone: commander.phone.clone(),
                    person_id: commander.id.clone(),
                }],
                acknowledgement_timeout: Some(prost_types::Duration {
                    seconds: spec.ack_timeout_minutes * 60,
                    nanos: 0,
                }),
                ..Default::default()
            }),
        }
    )?)
}

async fn incident(s: &Session, org: &Org, spec: &IncidentSpec, plan: &Plan) -> anyhow::Result<()> {
    let owner = org.key_of(&plan.owner_department_id).unwrap_or("root");
    let declarer_person = org.head(owner);
    let declarer = s.as_person(declarer_person)?;
    let admin = s.as_person(org.admin())?;
    let existing = pages!(
        admin.emergency(),
        list_incidents,
        ListIncidentsRequest {
            plan_id: plan.id.clone(),
            ..Default::default()
        },
        incidents
    );
    let mut incident = match existing.into_iter().find(|i| i.title == spec.title) {
        Some(i) => {
            s.found();
            i
        }
        None => {
            s.made();
            call!(
                declarer.emergency(),
                declare_incident,
                DeclareIncidentRequest {
                    request_id: s.rid(&["incident", spec.key]),
                    plan_id: plan.id.clone(),
                    title: spec.title.into(),
                    description: spec.description.into(),
                    severity: 0,
                    drill: spec.drill,
                }
            )?
        }
    };
    if incident.status >= IncidentStatus::Contained as i32 {
        return review(spec, &declarer, incident).await;
    }
    acknowledge(s, org, spec, &incident).await?;
    for (i, text) in spec.notes.iter().enumerate() {
        call!(
            declarer.emergency(),
            add_timeline_entry,
            AddTimelineEntryRequest {
                request_id: s.rid(&["incident-note", spec.key, &i.to_string()]),
                incident_id: incident.id.clone(),
                text: text.to_string(),
            }
        )?;
    }
    for step in incident
        .steps
        .iter()
        .filter(|st| st.complete_time.is_none())
    {
        let dept = org.key_of(&step.department_id).unwrap_or(owner);
        let by = s.as_person(org.someone_in(dept, step.index as usize))?;
        call!(
            by.emergency(),
            complete_step,
            CompleteStepRequest {
                incident_id: incident.id.clone(),
                step_index: step.index,
                note: String::new(),
            }
        )?;
    }
    // Acknowledgements may have moved it on meanwhile.
    incident = call!(
        declarer.emergency(),
        get_incident,
        GetIncidentRequest {
            id: incident.id.clone(),
        }
    )?;
    for (status, note) in [
        (IncidentStatus::Responding, ""),
        (IncidentStatus::Contained, spec.contained),
        (IncidentStatus::Resolved, spec.resolved),
    ] {
        if incident.status < status as i32 {
            incident = call!(
                declarer.emergency(),
                update_incident_status,
                UpdateIncidentStatusRequest {
                    id: incident.id.clone(),
                    status: status as i32,
                    note: note.into(),
                    etag: String::new(),
                }
            )?;
        }
    }
    review(spec, &declarer, incident).await
}

/// Most people alerted acknowledge their alerts of the incident.
async fn acknowledge(
    s: &Session,
    org: &Org,
    spec: &IncidentSpec,
    incident: &Incident,
) -> anyhow::Result<()> {
    let alerted: Vec<&Person> = org
        .everyone()
        .into_iter()
        .filter(|p| {
            incident.departments.iter().any(|d| {
                let (Some(mine), Some(theirs)) =
                    (org.key_of(&p.department_id), org.key_of(&d.department_id))
                else {
                    return false;
                };
                org.within(mine, theirs)
            })
        })
        .filter(|p| chance(&format!("{}:{}", spec.key, p.email), spec.acknowledged))
        .collect();
    futures::stream::iter(alerted)
        .map(|p| async move {
            let conn = s.as_person(p)?;
            let mine = pages!(
                conn.emergency(),
                list_alerts,
                ListAlertsRequest {
                    unacknowledged_only: true,
                    ..Default::default()
                },
                alerts
            );
            for e in mine {
                let Some(alert) = e.alert else { continue };
                if alert.incident_id == incident.id {
                    call!(
                        conn.emergency(),
                        acknowledge_alert,
                        AcknowledgeAlertRequest { alert_id: alert.id }
                    )?;
                }
            }
            anyhow::Ok(())
        })
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
}

async fn review(
    spec: &IncidentSpec,
    declarer: &crate::client::Conn,
    incident: Incident,
) -> anyhow::Result<()> {
    if incident.status == IncidentStatus::Resolved as i32 {
        call!(
            declarer.emergency(),
            review_incident,
            ReviewIncidentRequest {
                id: incident.id.clone(),
                summary: spec.summary.into(),
                lessons: spec.lessons.into(),
                etag: String::new(),
            }
        )?;
    }
    Ok(())
}

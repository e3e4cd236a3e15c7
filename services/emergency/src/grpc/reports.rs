//! The incident (or drill) report, and response statistics per department
//! and period with real incidents and drills apart.

use concord_kit::auth::Principal;
use concord_kit::authz::Reach;
use concord_kit::ids::{check_id, check_opt_id};
use concord_kit::period::Period;
use concord_kit::{Error, Violations};
use concord_proto::emergency::v1 as pb;

use super::{Emergency, incident_response, load_incident, render};
use crate::domain::access::may_read_report;
use crate::domain::{report, stats};
use crate::store::{alert as alerts, incident as db, stats as samples};

pub async fn incident_report(
    e: &Emergency,
    who: &Principal,
    req: &pb::GetIncidentReportRequest,
) -> Result<pb::IncidentReport, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "incident_id", &req.incident_id);
    v.into_result()?;
    let mut conn = e.conn().await?;
    let i = load_incident(&mut conn, &req.incident_id, "").await?;
    let departments = db::departments(&mut conn, &i.id).await?;
    let ids: Vec<String> = departments
        .iter()
        .map(|d| d.department_id.clone())
        .collect();
    may_read_report(who, &i, &ids)?;
    let steps = db::steps(&mut conn, &i.id).await?;
    let counts = alerts::report_counts(&mut conn, &i.id).await?;
    let r = report::build(&i, &departments, &steps, &counts);
    let incident = incident_response(&mut conn, &i).await?;
    Ok(render::report(incident, &r, i.drill))
}

/// The departments a statistics request covers: `None` for the whole
/// organisation. Heads are limited to their own subtree; naming no
/// department, a head asks about their own.
async fn scope(
    e: &Emergency,
    who: &Principal,
    req: &pb::GetEmergencyStatisticsRequest,
) -> Result<Option<Vec<String>>, Error> {
    let reach = Reach::reading(who);
    let asked = match &reach {
        Reach::Subtree(own) if req.department_id.is_empty() => own.as_str(),
        _ => req.department_id.as_str(),
    };
    let departments = e
        .directory
        .scope(&reach, "department_id", asked, req.include_sub_departments)
        .await?;
    Ok(departments.map(|d| d.into_iter().collect()))
}

pub async fn statistics(
    e: &Emergency,
    who: &Principal,
    req: &pb::GetEmergencyStatisticsRequest,
) -> Result<pb::GetEmergencyStatisticsResponse, Error> {
    let mut v = Violations::new();
    check_opt_id(&mut v, "department_id", &req.department_id);
    check_opt_id(&mut v, "person_id", &req.person_id);
    let period = match Period::from_request(req.start_time.as_ref(), req.end_time.as_ref()) {
        Ok(p) => p,
        // Alone, the period's own violations say best what is wrong.
        Err(err @ Error::Invalid(_)) if v.is_empty() => return Err(err),
        Err(Error::Invalid(more)) => {
            for f in more.fields() {
                v.add(f, "is missing, not a valid timestamp, or not in order");
            }
            return Err(Error::Invalid(v));
        }
        Err(other) => return Err(other),
    };
    v.into_result()?;
    let departments = scope(e, who, req).await?;

    let mut conn = e.conn().await?;
    if !req.person_id.is_empty() {
        let person_department = e
            .directory
            .person(&req.person_id)
            .await?
            .ok_or_else(|| concord_kit::invalid("person_id", "names no person"))?
            .department_id;
        if let Some(allowed) = &departments
            && !allowed.contains(&person_department)
        {
            return Err(Error::denied(
                "the person is outside the departments you may see",
            ));
        }
        let acks = samples::person_acks(&mut conn, period, &req.person_id).await?;
        let steps = samples::person_steps(&mut conn, period, &req.person_id).await?;
        let (all, _) = stats::tally(&acks, &steps);
        return Ok(pb::GetEmergencyStatisticsResponse {
            real: Some(render::figures(&all.real)),
            drills: Some(render::figures(&all.drills)),
            departments: vec![],
        });
    }
    let acks = samples::department_acks(&mut conn, period, departments.as_deref()).await?;
    let steps = samples::department_steps(&mut conn, period, departments.as_deref()).await?;
    let (all, per) = stats::tally(&acks, &steps);
    Ok(pb::GetEmergencyStatisticsResponse {
        real: Some(render::figures(&all.real)),
        drills: Some(render::figures(&all.drills)),
        departments: per.iter().map(|(d, s)| render::split(d, s)).collect(),
    })
}

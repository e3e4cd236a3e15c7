//! GetFeedbackStatistics: exact figures over the items received in a
//! period, in total and per department. Admins, auditors and services see
//! the whole organisation; heads their own subtree.

use concord_kit::auth::Principal;
use concord_kit::authz::Reach;
use concord_kit::period::Period;
use concord_kit::{Error, Violations, fields};
use concord_proto::feedback::v1 as pb;

use super::{Feedback, convert};
use crate::domain::stats::{Figures, by_department, figures};
use crate::store::{self, item::Filter};

fn render(f: &Figures) -> pb::FeedbackFigures {
    pb::FeedbackFigures {
        received: f.received,
        open: f.open,
        overdue: f.overdue,
        resolved: f.resolved,
        resolved_on_time: f.resolved_on_time,
        on_time_rate: f.on_time_rate,
        median_time_to_first_response: convert::opt_duration(f.median_first_response_ms),
        median_time_to_resolve: convert::opt_duration(f.median_resolve_ms),
        rated: f.rated,
        average_satisfaction: f.average_satisfaction,
        escalated: f.escalated,
        closed_automatically: f.closed_automatically,
    }
}

/// The departments the statistics cover: `None` for the whole organisation.
/// Admins, auditors and services see everything; heads their own subtree.
async fn scope(
    svc: &Feedback,
    who: &Principal,
    department: Option<&str>,
    with_subs: bool,
) -> Result<Option<Vec<String>>, Error> {
    let departments = svc
        .org
        .scope(
            &Reach::reading(who),
            "department_id",
            department.unwrap_or_default(),
            with_subs,
        )
        .await?;
    Ok(departments.map(|d| d.into_iter().collect()))
}

pub async fn get(
    svc: &Feedback,
    who: &Principal,
    req: &pb::GetFeedbackStatisticsRequest,
) -> Result<pb::GetFeedbackStatisticsResponse, Error> {
    let mut v = Violations::new();
    let department = fields::opt_id(&mut v, "department_id", &req.department_id);
    let person = fields::opt_id(&mut v, "person_id", &req.person_id);
    v.into_result()?;
    let period = Period::from_request(req.start_time.as_ref(), req.end_time.as_ref())?;
    let departments = scope(svc, who, department.as_deref(), req.include_sub_departments).await?;
    let filter = Filter {
        departments,
        owner_id: person,
        created_in: Some((period.start_ms, period.end_ms)),
        ..Filter::default()
    };
    let mut conn = svc.db.pool().acquire().await?;
    let items = store::item::outcomes(&mut conn, &filter).await?;
    let now = svc.now();
    Ok(pb::GetFeedbackStatisticsResponse {
        totals: Some(render(&figures(&items, now))),
        departments: by_department(&items, now)
            .into_iter()
            .map(|(department_id, f)| pb::DepartmentFeedbackStatistics {
                department_id,
                figures: Some(render(&f)),
            })
            .collect(),
    })
}

//! Statistics per department and period: completion rate, hours of
//! training, mandatory compliance.

use concord_kit::auth::Principal;
use concord_kit::ids::check_opt_id;
use concord_kit::period::Period;
use concord_kit::{Error, Violations};
use concord_proto::training::v1 as pb;

use super::Training;
use crate::domain::access;
use crate::domain::stats::Figures;
use crate::store::stats::{Scope, collect};

fn figures(f: &Figures) -> pb::TrainingFigures {
    pb::TrainingFigures {
        enrolments: f.enrolments,
        completed: f.completed,
        completion_rate: f.completion_rate(),
        training_hours: f.training_hours(),
        mandatory_required: f.mandatory_required,
        mandatory_completed_by_deadline: f.mandatory_completed_by_deadline,
        mandatory_compliance_rate: f.compliance_rate(),
        certificates_issued: f.certificates,
        average_assessment_score: f.average_score(),
    }
}

pub async fn get(
    t: &Training,
    who: &Principal,
    req: &pb::GetTrainingStatisticsRequest,
) -> Result<pb::GetTrainingStatisticsResponse, Error> {
    let mut v = Violations::new();
    check_opt_id(&mut v, "department_id", &req.department_id);
    check_opt_id(&mut v, "person_id", &req.person_id);
    let period = v.absorb(Period::from_request(
        req.start_time.as_ref(),
        req.end_time.as_ref(),
    ))?;
    v.into_result()?;
    let period = period.ok_or_else(|| concord_kit::invalid("start_time", "is not valid"))?;
    let departments = t
        .org
        .scope(
            &access::reading(who),
            "department_id",
            &req.department_id,
            req.include_sub_departments,
        )
        .await?;
    let scope = Scope {
        departments,
        person_id: (!req.person_id.is_empty()).then(|| req.person_id.clone()),
    };
    let stats = collect(&mut *t.conn().await?, period, &scope).await?;
    Ok(pb::GetTrainingStatisticsResponse {
        totals: Some(figures(&stats.totals())),
        departments: stats
            .departments
            .iter()
            .map(|(id, f)| pb::DepartmentTrainingStatistics {
                department_id: id.clone(),
                figures: Some(figures(f)),
            })
            .collect(),
    })
}

//! Reading statistics per department and period, for management and for
//! appraisal (the notice read rate).

use std::collections::BTreeMap;

use concord_kit::auth::Principal;
use concord_kit::authz::Reach;
use concord_kit::clock::to_timestamp;
use concord_kit::period::{Period, percentile};
use concord_kit::{Error, Violations, fields};
use concord_proto::notices::v1 as pb;

use super::Notices;
use crate::store::stats::{self, Counts, Scope};

#[allow(clippy::cast_precision_loss)]
fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn duration(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

fn figures(c: &Counts, read_times: &mut [i64]) -> pb::ReadingFigures {
    read_times.sort_unstable();
    pb::ReadingFigures {
        notices_received: c.received,
        read: c.read,
        read_rate: ratio(c.read, c.received),
        acknowledgement_required: c.ack_required,
        acknowledged: c.acknowledged,
        acknowledgement_rate: ratio(c.acknowledged, c.ack_required),
        median_time_to_read: percentile(read_times, 50.0).map(duration),
    }
}

pub async fn get(
    svc: &Notices,
    who: &Principal,
    req: &pb::GetNoticeStatisticsRequest,
) -> Result<pb::NoticeStatistics, Error> {
    let mut v = Violations::new();
    let department = fields::opt_id(&mut v, "department_id", &req.department_id);
    let person = fields::opt_id(&mut v, "person_id", &req.person_id);
    v.into_result()?;
    let period = Period::from_request(req.start_time.as_ref(), req.end_time.as_ref())?;

    let reach = Reach::reading(who);
    if department.is_none() && reach != Reach::Everywhere {
        return Err(Error::denied(
            "heads ask for their own department or one below it (department_id)",
        ));
    }
    let departments: Option<Vec<String>> = svc
        .core
        .directory
        .scope(
            &reach,
            "department_id",
            &req.department_id,
            req.include_sub_departments,
        )
        .await?
        .map(|d| d.into_iter().collect());
    let scope = Scope {
        departments: departments.as_deref(),
        person_id: person.as_deref(),
    };
    let mut conn = svc.core.db.pool().acquire().await?;
    let counts = stats::counts(&mut conn, period, scope).await?;
    let times = stats::read_times(&mut conn, period, scope).await?;
    let published = stats::published(&mut conn, period, departments.as_deref()).await?;

    let mut per_department: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut all_times = Vec::with_capacity(times.len());
    for (d, t) in times {
        all_times.push(t);
        per_department.entry(d).or_default().push(t);
    }
    let mut total = Counts::default();
    let mut rows = Vec::with_capacity(counts.len());
    for (d, c) in &counts {
        total.received += c.received;
        total.read += c.read;
        total.ack_required += c.ack_required;
        total.acknowledged += c.acknowledged;
        let mut t = per_department.remove(d).unwrap_or_default();
        rows.push(pb::DepartmentReadingFigures {
            department_id: d.clone(),
            figures: Some(figures(c, &mut t)),
        });
    }
    Ok(pb::NoticeStatistics {
        start_time: Some(to_timestamp(period.start_ms)),
        end_time: Some(to_timestamp(period.end_ms)),
        total: Some(figures(&total, &mut all_times)),
        departments: rows,
        notices_published: published,
    })
}

//! Statistics over the items received in a period, as they stand now:
//! received, open, overdue, resolved (on time), median times to the first
//! response and to the resolution, satisfaction, escalations and automatic
//! closings. Computed exactly from the rows, per department and in total.

use std::collections::BTreeMap;

use concord_kit::period::percentile;

use super::escalation::breach;
use super::{Level, Status};

/// What statistics need of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub department_id: Option<String>,
    pub status: Status,
    pub level: Level,
    pub created_ms: i64,
    pub first_response_due_ms: i64,
    pub resolution_due_ms: i64,
    pub first_response_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
    pub satisfaction: Option<i64>,
    pub closed_automatically: bool,
}

/// The figures of a set of items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub received: i64,
    pub open: i64,
    pub overdue: i64,
    pub resolved: i64,
    pub resolved_on_time: i64,
    pub on_time_rate: f64,
    pub median_first_response_ms: Option<i64>,
    pub median_resolve_ms: Option<i64>,
    pub rated: i64,
    pub average_satisfaction: f64,
    pub escalated: i64,
    pub closed_automatically: i64,
}

/// The figures of `items` at `now`.
pub fn figures<'a>(items: impl IntoIterator<Item = &'a Outcome>, now: i64) -> Figures {
    let mut f = Figures::default();
    let mut to_answer = Vec::new();
    let mut to_resolve = Vec::new();
    let mut satisfaction = 0i64;
    for o in items {
        f.received += 1;
        if o.status.is_open() {
            f.open += 1;
        }
        let answered = o.first_response_ms.is_some();
        if breach(
            o.status,
            answered,
            o.first_response_due_ms,
            o.resolution_due_ms,
            now,
        )
        .is_some()
        {
            f.overdue += 1;
        }
        if let Some(t) = o.first_response_ms {
            to_answer.push(t - o.created_ms);
        }
        if let Some(t) = o.resolved_ms {
            f.resolved += 1;
            if t <= o.resolution_due_ms {
                f.resolved_on_time += 1;
            }
            to_resolve.push(t - o.created_ms);
        }
        if let Some(s) = o.satisfaction {
            f.rated += 1;
            satisfaction += s;
        }
        if o.level > Level::Owner {
            f.escalated += 1;
        }
        if o.closed_automatically {
            f.closed_automatically += 1;
        }
    }
    to_answer.sort_unstable();
    to_resolve.sort_unstable();
    f.median_first_response_ms = percentile(&to_answer, 50.0);
    f.median_resolve_ms = percentile(&to_resolve, 50.0);
    if f.resolved > 0 {
        f.on_time_rate = f.resolved_on_time as f64 / f.resolved as f64;
    }
    if f.rated > 0 {
        f.average_satisfaction = satisfaction as f64 / f.rated as f64;
    }
    f
}

/// The figures per department (`""` for unrouted items), ordered by id.
pub fn by_department(items: &[Outcome], now: i64) -> BTreeMap<String, Figures> {
    let mut groups: BTreeMap<String, Vec<&Outcome>> = BTreeMap::new();
    for o in items {
        groups
            .entry(o.department_id.clone().unwrap_or_default())
            .or_default()
            .push(o);
    }
    groups
        .into_iter()
        .map(|(d, items)| (d, figures(items, now)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Status, answered: Option<i64>, resolved: Option<i64>) -> Outcome {
        Outcome {
            department_id: Some("d".into()),
            status,
            level: Level::Owner,
            created_ms: 0,
            first_response_due_ms: 10,
            resolution_due_ms: 100,
            first_response_ms: answered,
            resolved_ms: resolved,
            satisfaction: None,
            closed_automatically: false,
        }
    }

    #[test]
    fn figures_count_exactly() {
        let mut rated = outcome(Status::Closed, Some(4), Some(90));
        rated.satisfaction = Some(5);
        let mut late = outcome(Status::Closed, Some(8), Some(150));
        late.satisfaction = Some(2);
        late.closed_automatically = true;
        let mut escalated = outcome(Status::Submitted, None, None);
        escalated.level = Level::DepartmentHead;
        let items = [
            rated,
            late,
            escalated,
            outcome(Status::Accepted, Some(6), None),
        ];
        let f = figures(&items, 50);
        assert_eq!((f.received, f.open, f.overdue), (4, 2, 1));
        assert_eq!((f.resolved, f.resolved_on_time), (2, 1));
        assert_eq!(f.on_time_rate, 0.5);
        assert_eq!(f.median_first_response_ms, Some(6));
        assert_eq!(f.median_resolve_ms, Some(90));
        assert_eq!((f.rated, f.average_satisfaction), (2, 3.5));
        assert_eq!((f.escalated, f.closed_automatically), (1, 1));
        assert_eq!(figures(&[], 0), Figures::default());
        assert_eq!(by_department(&items, 50)["d"], f);
    }
}

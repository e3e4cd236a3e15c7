//! `GetDecisionStatistics`: proposals decided and the time they took,
//! participation in votes, and action items done on time, per department
//! (or person) and period. Heads read their own subtree only.

use std::collections::HashSet;

use concord_kit::auth::Principal;
use concord_kit::authz::Reach;
use concord_kit::clock::to_timestamp;
use concord_kit::period::{Period, percentile};
use concord_kit::{Error, Violations, fields, invalid};
use concord_proto::decisions::v1 as pb;

use crate::service::Decisions;
use crate::store;
use crate::store::stats::Scope;

pub async fn get(
    s: &Decisions,
    who: &Principal,
    req: &pb::GetDecisionStatisticsRequest,
) -> Result<pb::DecisionStatistics, Error> {
    let mut v = Violations::new();
    let department = fields::opt_id(&mut v, "department_id", &req.department_id);
    let person = fields::opt_id(&mut v, "person_id", &req.person_id);
    let period = Period::from_request(req.start_time.as_ref(), req.end_time.as_ref());
    // The period's own message is the precise one; alongside other bad
    // fields its fields are named with a general one (Violations cannot
    // be merged).
    if let (Err(Error::Invalid(bad)), false) = (&period, v.is_empty()) {
        for f in bad.fields() {
            v.add(f, "is missing or not a valid period bound");
        }
    }
    v.into_result()?;
    let period = period?;

    // Heads: only within the subtree they head.
    let reach = Reach::reading(who);
    if reach == Reach::Nowhere {
        return Err(Error::denied(
            "statistics are for admins, auditors, heads and services",
        ));
    }
    let scope = if let Some(pid) = &person {
        let facts = s
            .directory
            .person(pid)
            .await?
            .ok_or_else(|| invalid("person_id", "names no person"))?;
        if !s.directory.covers(&reach, &facts.department_id).await? {
            return Err(Error::denied(
                "heads read the figures of people in their own subtree",
            ));
        }
        Scope::Person(pid.clone())
    } else if let Some(d) = &department {
        let ids = s
            .directory
            .scope(&reach, "department_id", d, req.include_sub_departments)
            .await?
            .unwrap_or_default();
        Scope::Departments(ids.into_iter().collect())
    } else {
        if reach != Reach::Everywhere {
            return Err(Error::denied(
                "heads read the statistics of their own subtree: name a department",
            ));
        }
        Scope::Everyone
    };

    let mut conn = s.conn().await?;
    let closed = store::stats::closed_proposals(&mut conn, &scope, &period).await?;
    let places = store::stats::voter_places(&mut conn, &scope, &period).await?;
    let items = store::stats::action_items(&mut conn, &scope, &period).await?;
    let now = s.now();

    let mut cycle: Vec<i64> = closed.iter().map(|c| c.decided_ms - c.created_ms).collect();
    cycle.sort_unstable();
    let counted: Vec<&store::stats::Place> = places.iter().filter(|p| p.counted).collect();
    let taken_part: HashSet<&str> = counted.iter().map(|p| p.proposal_id.as_str()).collect();
    let eligible = places.len() as i64;
    let cast = counted.len() as i64;
    let due: Vec<&store::stats::ItemDates> =
        items.iter().filter(|i| period.contains(i.due_ms)).collect();
    let on_time = due
        .iter()
        .filter(|i| i.done_ms.is_some_and(|d| d <= i.due_ms))
        .count();
    let overdue = due
        .iter()
        .filter(|i| match i.done_ms {
            Some(d) => d > i.due_ms,
            None => i.due_ms <= now,
        })
        .count();
    Ok(pb::DecisionStatistics {
        start_time: Some(to_timestamp(period.start_ms)),
        end_time: Some(to_timestamp(period.end_ms)),
        proposals_decided: closed.len() as i64,
        proposals_passed: closed.iter().filter(|c| c.passed).count() as i64,
        median_time_to_decide: percentile(&cycle, 50.0).map(|ms| prost_types::Duration {
            seconds: ms.div_euclid(1000),
            nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
        }),
        proposals_taken_part: taken_part.len() as i64,
        votes_eligible: eligible,
        votes_cast: cast,
        participation: if eligible == 0 {
            0.0
        } else {
            cast as f64 / eligible as f64
        },
        action_items_assigned: items
            .iter()
            .filter(|i| period.contains(i.created_ms))
            .count() as i64,
        action_items_due: due.len() as i64,
        action_items_done_on_time: on_time as i64,
        action_items_overdue: overdue as i64,
    })
}

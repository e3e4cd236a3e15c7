//! Questions the rest of the suite asks the directory: search by name, "who
//! handles X?", and who an audience covers.

use std::collections::{BTreeMap, HashMap, HashSet};

use concord_kit::fields;
use concord_kit::ids::check_id;
use concord_kit::{Error, Violations};
use concord_proto::directory::v1 as pb;

use super::{Directory, convert};
use crate::domain::{AUDIENCE_IDS_MAX, QUERY_MAX, TOPIC_MAX, matcher};
use crate::store::person::Audience;
use crate::store::{department, duty, person};

/// `value` when positive, `default` when 0, at most `max`.
fn bounded(value: i32, default: i64, max: i64) -> i64 {
    match i64::from(value) {
        0 => default,
        n => n.min(max),
    }
}

pub async fn search(dir: &Directory, req: &pb::SearchRequest) -> Result<pb::SearchResponse, Error> {
    let mut v = Violations::new();
    let query = req.query.trim();
    concord_kit::ids::check_text(&mut v, "query", query, QUERY_MAX);
    fields::page_size(&mut v, req.page_size);
    v.into_result()?;
    let limit = bounded(req.page_size, 20, 100);
    let needle = crate::domain::sort_key(query);
    let mut conn = dir.conn().await?;
    let departments = department::search(&mut conn, &needle, limit).await?;
    let people = person::search(&mut conn, &needle, limit).await?;
    Ok(pb::SearchResponse {
        departments: departments.iter().map(convert::department).collect(),
        people: people.iter().map(convert::person).collect(),
    })
}

pub async fn find_responsible(
    dir: &Directory,
    req: &pb::FindResponsibleRequest,
) -> Result<pb::FindResponsibleResponse, Error> {
    let mut v = Violations::new();
    concord_kit::ids::check_text(&mut v, "topic", &req.topic, TOPIC_MAX);
    v.check(req.max_results < 0, "max_results", "must not be negative");
    v.into_result()?;
    let max = usize::try_from(bounded(req.max_results, 3, 20)).unwrap_or(3);
    let mut conn = dir.conn().await?;
    let duties = duty::all(&mut conn).await?;
    let ranked = matcher::rank(&duties, &req.topic, max);
    let ids: Vec<String> = ranked.iter().map(|m| m.department_id.clone()).collect();
    let departments: HashMap<String, _> = department::get_many(&mut conn, &ids)
        .await?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    let matches = ranked
        .into_iter()
        .filter_map(|m| {
            let d = departments.get(&m.department_id)?;
            Some(pb::ResponsibleMatch {
                department: Some(convert::department(d)),
                score: m.score,
                matched_duties: m.duties.iter().map(|(d, _)| convert::duty(d)).collect(),
            })
        })
        .collect();
    Ok(pb::FindResponsibleResponse { matches })
}

/// Checks a list of ids, naming each bad one as `field[i]`.
fn check_ids(v: &mut Violations, field: &str, ids: &[String]) {
    if ids.len() > AUDIENCE_IDS_MAX {
        v.add(field, format!("must name at most {AUDIENCE_IDS_MAX} ids"));
        return;
    }
    for (i, id) in ids.iter().enumerate() {
        check_id(v, &format!("{field}[{i}]"), id);
    }
}

/// Names `field[i]` for each id not in `known`.
fn report_unknown(
    v: &mut Violations,
    field: &str,
    ids: &[String],
    known: &HashSet<String>,
    what: &str,
) {
    for (i, id) in ids.iter().enumerate() {
        if !known.contains(id) {
            v.add(format!("{field}[{i}]"), format!("names no {what}"));
        }
    }
}

pub async fn resolve_audience(
    dir: &Directory,
    req: &pb::ResolveAudienceRequest,
) -> Result<pb::ResolveAudienceResponse, Error> {
    let mut v = Violations::new();
    check_ids(&mut v, "department_ids", &req.department_ids);
    check_ids(&mut v, "person_ids", &req.person_ids);
    if !req.everyone && req.department_ids.is_empty() && req.person_ids.is_empty() {
        v.add(
            "everyone",
            "name an audience: everyone, department_ids or person_ids",
        );
    }
    v.into_result()?;

    let mut conn = dir.conn().await?;
    let mut v = Violations::new();
    let known: HashSet<String> = department::get_many(&mut conn, &req.department_ids)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect();
    report_unknown(
        &mut v,
        "department_ids",
        &req.department_ids,
        &known,
        "department",
    );
    let known: HashSet<String> = person::existing(&mut conn, &req.person_ids)
        .await?
        .into_iter()
        .collect();
    report_unknown(&mut v, "person_ids", &req.person_ids, &known, "person");
    v.into_result()?;

    let parts = if req.everyone {
        vec![Audience::Everyone]
    } else {
        vec![
            Audience::Departments {
                ids: &req.department_ids,
                with_sub_departments: req.include_sub_departments,
            },
            Audience::People(&req.person_ids),
        ]
    };
    // Each person once, in display-name order.
    let mut members = BTreeMap::new();
    for part in parts {
        for (sort_key, m) in person::audience(&mut conn, part).await? {
            members.insert((sort_key, m.person_id.clone()), m);
        }
    }
    Ok(pb::ResolveAudienceResponse {
        members: members
            .into_values()
            .map(|m| pb::AudienceMember {
                person_id: m.person_id,
                department_id: m.department_id,
                display_name: m.display_name,
            })
            .collect(),
    })
}

//! Reading items and timelines, each caller within their reach: admins and
//! auditors everything, heads their subtree, people their department,
//! owners their items, submitters their own named items.

use concord_kit::auth::Principal;
use concord_kit::ids::check_id;
use concord_kit::page::Page;
use concord_kit::{Error, Violations, fields, invalid};
use concord_proto::feedback::v1 as pb;
use concord_proto::policy::v1::Role;

use super::{Feedback, convert};
use crate::store::item::Filter;
use crate::store::{self, entry};

pub async fn get(svc: &Feedback, who: &Principal, id: &str) -> Result<pb::FeedbackItem, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", id);
    v.into_result()?;
    let mut conn = svc.db.pool().acquire().await?;
    let item = store::item::get(&mut conn, id, "")
        .await?
        .ok_or_else(|| Error::not_found("feedback item", id))?;
    drop(conn);
    let standing = svc.standing(who, &item).await?;
    standing.require(id, true, "")?;
    Ok(convert::item(&item, svc.now()))
}

pub async fn timeline(
    svc: &Feedback,
    who: &Principal,
    req: &pb::ListFeedbackTimelineRequest,
) -> Result<pb::ListFeedbackTimelineResponse, Error> {
    let mut v = Violations::new();
    check_id(&mut v, "id", &req.id);
    v.check(req.page_size < 0, "page_size", "must not be negative");
    v.into_result()?;
    let page = Page::parse(
        req.page_size,
        &req.page_token,
        &format!("timeline|{}", req.id),
    )?;
    let after = match &page.after {
        Some(a) => a
            .parse::<i64>()
            .map_err(|_| invalid("page_token", "is not a token returned by this list"))?,
        None => 0,
    };
    let mut conn = svc.db.pool().acquire().await?;
    let item = store::item::get(&mut conn, &req.id, "")
        .await?
        .ok_or_else(|| Error::not_found("feedback item", &req.id))?;
    let standing = svc.standing(who, &item).await?;
    standing.require(&req.id, true, "")?;
    let rows = entry::list(
        &mut conn,
        &req.id,
        !standing.staff_view(),
        after,
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |e| e.seq.to_string());
    Ok(pb::ListFeedbackTimelineResponse {
        entries: rows.iter().map(convert::entry).collect(),
        next_page_token,
    })
}

/// Sees every item.
fn sees_everything(who: &Principal) -> bool {
    who.is_admin() || who.has(Role::Auditor)
}

/// The departments whose items `who` may list: `None` for all.
async fn reach(svc: &Feedback, who: &Principal) -> Result<Option<Vec<String>>, Error> {
    if sees_everything(who) {
        return Ok(None);
    }
    match &who.department_id {
        Some(d) if who.has(Role::DepartmentHead) => Ok(Some(
            svc.org.subtree_or_self(d).await?.into_iter().collect(),
        )),
        Some(d) => Ok(Some(vec![d.clone()])),
        None => Err(Error::denied(
            "you belong to no department; list the items you submitted (submitted_by_me)",
        )),
    }
}

pub async fn list(
    svc: &Feedback,
    who: &Principal,
    req: &pb::ListFeedbackItemsRequest,
) -> Result<pb::ListFeedbackItemsResponse, Error> {
    let mut v = Violations::new();
    let department = fields::opt_id(&mut v, "department_id", &req.department_id);
    let statuses: Vec<_> = req
        .statuses
        .iter()
        .enumerate()
        .filter_map(|(i, s)| convert::parse_status(&mut v, &format!("statuses[{i}]"), *s))
        .collect();
    let category = convert::parse_category(&mut v, "category", req.category);
    let owner = fields::opt_id(&mut v, "owner_id", &req.owner_id);
    v.check(req.page_size < 0, "page_size", "must not be negative");
    if req.triage && department.is_some() {
        v.add(
            "triage",
            "cannot be combined with department_id: triage items have none",
        );
    }
    v.into_result()?;
    let fingerprint = format!(
        "items|{}|{}|{:?}|{}|{}|{}|{}|{}",
        req.department_id,
        req.include_sub_departments,
        req.statuses,
        req.category,
        req.owner_id,
        req.submitted_by_me,
        req.triage,
        req.overdue_only
    );
    let page = Page::parse(req.page_size, &req.page_token, &fingerprint)?;
    let now = svc.now();
    let requested = match &department {
        Some(d) if req.include_sub_departments => {
            Some(svc.org.subtree_or_self(d).await?.into_iter().collect())
        }
        Some(d) => Some(vec![d.clone()]),
        None => None,
    };
    let mut filter = Filter {
        statuses,
        category,
        owner_id: owner.clone(),
        overdue_at: req.overdue_only.then_some(now),
        triage_only: req.triage,
        departments: requested.clone(),
        ..Filter::default()
    };
    if req.submitted_by_me {
        filter.submitter_id = Some(who.subject.clone());
    } else if req.triage {
        if !sees_everything(who) {
            return Err(Error::denied("the triage queue is for admins and auditors"));
        }
    } else if owner.as_deref() == Some(who.subject.as_str()) {
        // One's own items, wherever they are.
    } else if let Some(reach) = reach(svc, who).await? {
        filter.departments = Some(match (&department, requested) {
            (Some(d), Some(requested)) => {
                if !reach.contains(d) {
                    return Err(Error::denied(
                        "you see the items of your own department (heads: and those below it)",
                    ));
                }
                requested
                    .into_iter()
                    .filter(|r| reach.contains(r))
                    .collect()
            }
            _ => reach,
        });
    }
    let mut conn = svc.db.pool().acquire().await?;
    let rows = store::item::list(
        &mut conn,
        &filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |i| i.id.clone());
    Ok(pb::ListFeedbackItemsResponse {
        items: rows.iter().map(|i| convert::item(i, now)).collect(),
        next_page_token,
    })
}

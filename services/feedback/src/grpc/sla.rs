//! SLA policies: set, list, delete. A policy applies to items submitted (or
//! reclassified, or reopened) after it is set; running deadlines stay.

use concord_kit::auth::Principal;
use concord_kit::{Error, Violations, audit};
use concord_proto::feedback::v1 as pb;
use serde_json::json;

use super::{Feedback, convert};
use crate::domain::SlaPolicy;
use crate::store;

fn resource(p: &SlaPolicy) -> String {
    format!(
        "sla-policies/{}/{}",
        p.category.map_or("any", |c| c.as_str()),
        p.priority.map_or("any", |p| p.as_str())
    )
}

fn only_admins(who: &Principal) -> Result<(), Error> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(Error::denied("only admins configure SLA policies"))
    }
}

pub async fn set(
    svc: &Feedback,
    who: &Principal,
    req: &pb::SetSlaPolicyRequest,
) -> Result<pb::SlaPolicy, Error> {
    only_admins(who)?;
    let now = svc.now();
    let policy = convert::new_policy(req, now)?;
    let mut tx = svc.db.begin().await?;
    store::sla::upsert(&mut tx, &policy).await?;
    let detail = json!({
        "first_response_ms": policy.first_response_ms,
        "resolution_ms": policy.resolution_ms,
        "escalate_after_ms": policy.escalate_after_ms,
        "auto_close_ms": policy.auto_close_ms,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "sla_policy.set",
        &resource(&policy),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::policy(&policy))
}

pub async fn list(svc: &Feedback) -> Result<pb::ListSlaPoliciesResponse, Error> {
    let mut conn = svc.db.pool().acquire().await?;
    let policies = store::sla::all(&mut conn).await?;
    Ok(pb::ListSlaPoliciesResponse {
        policies: policies.iter().map(convert::policy).collect(),
        default_policy: Some(convert::policy(&SlaPolicy::builtin())),
    })
}

pub async fn delete(
    svc: &Feedback,
    who: &Principal,
    req: &pb::DeleteSlaPolicyRequest,
) -> Result<(), Error> {
    only_admins(who)?;
    let mut v = Violations::new();
    let category = convert::parse_category(&mut v, "category", req.category);
    let priority = convert::parse_priority(&mut v, "priority", req.priority);
    v.into_result()?;
    let now = svc.now();
    let mut tx = svc.db.begin().await?;
    if !store::sla::delete(&mut tx, category, priority).await? {
        return Err(Error::not_found(
            "SLA policy",
            format!(
                "{}/{}",
                category.map_or("any", |c| c.as_str()),
                priority.map_or("any", |p| p.as_str())
            ),
        ));
    }
    let gone = SlaPolicy {
        category,
        priority,
        ..SlaPolicy::builtin()
    };
    audit::record(
        &mut tx,
        now,
        who,
        "sla_policy.delete",
        &resource(&gone),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

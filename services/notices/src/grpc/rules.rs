//! The communication rules: read by everybody, changed by admins.

use concord_kit::auth::Principal;
use concord_kit::{Error, Violations, audit, fields};
use concord_proto::notices::v1 as pb;
use serde_json::json;

use super::{Notices, convert};
use crate::core::resource;
use crate::domain::Priority;
use crate::domain::rules::{RuleField, window_problem};
use crate::store::rules as db;

pub async fn list(svc: &Notices) -> Result<pb::ListCommunicationRulesResponse, Error> {
    let rules = db::all(&mut *svc.core.db.pool().acquire().await?).await?;
    Ok(pb::ListCommunicationRulesResponse {
        rules: rules.iter().map(convert::rule).collect(),
    })
}

pub async fn update(
    svc: &Notices,
    who: &Principal,
    req: &pb::UpdateCommunicationRuleRequest,
) -> Result<pb::CommunicationRule, Error> {
    if !who.is_admin() {
        return Err(Error::denied("only admins change the communication rules"));
    }
    let mut v = Violations::new();
    let fields = fields::update_mask(&mut v, req.update_mask.as_ref(), &RuleField::known());
    let Some(r) = &req.rule else {
        v.add("rule", "is required");
        return Err(Error::Invalid(v));
    };
    let priority = Priority::from_i64(i64::from(r.priority));
    v.check(
        priority.is_none(),
        "rule.priority",
        "must name a priority: normal, important or urgent",
    );
    let expected = fields::etag(&mut v, "rule.etag", &r.etag);
    v.into_result()?;
    let priority = priority.unwrap_or(Priority::Normal);

    let now = svc.core.now();
    let mut tx = svc.core.db.begin().await?;
    let mut rule = db::get(&mut tx, priority, svc.core.db.for_update()).await?;
    fields::check_etag("communication rule", expected, rule.version)?;
    for f in &fields {
        match f {
            RuleField::PushStartHour => rule.push_start_hour = i64::from(r.push_start_hour),
            RuleField::PushEndHour => rule.push_end_hour = i64::from(r.push_end_hour),
            RuleField::AckRequired => rule.ack_required = r.acknowledgement_required,
        }
    }
    if let Some((field, why)) = window_problem(priority, rule.push_start_hour, rule.push_end_hour) {
        return Err(concord_kit::invalid(field, why));
    }
    let read = rule.version;
    rule.version += 1;
    rule.updated_ms = now;
    if !db::update(&mut tx, &rule, read).await? {
        return Err(Error::stale_etag("communication rule"));
    }
    let detail = json!({
        "push_start_hour": rule.push_start_hour,
        "push_end_hour": rule.push_end_hour,
        "acknowledgement_required": rule.ack_required,
    });
    audit::record(
        &mut tx,
        now,
        who,
        "rule.update",
        &resource("rules", priority.label()),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(convert::rule(&rule))
}

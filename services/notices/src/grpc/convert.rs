//! The boundary between the wire and the domain: requests are validated into
//! domain values (every bad field named, AIP-style `notice.audience.person_ids[2]`),
//! domain values are rendered as messages.

use concord_kit::clock::{Millis, from_timestamp, to_timestamp, to_timestamp_opt};
use concord_kit::fields::{render_etag, single_line};
use concord_kit::ids::{check_id, check_opt_text};
use concord_kit::{Error, Violations};
use concord_proto::notices::v1 as pb;
use prost_types::Timestamp;

use crate::domain::notice::times_problem;
use crate::domain::{
    ATTACHMENTS_MAX, Attachment, Audience, BODY_MAX, CommunicationRule, IDS_MAX, Notice,
    NoticeContent, NoticeField, Priority, Receipt, ReceiptCounts, TITLE_MAX, URL_MAX,
};
use crate::store::grant::Grant;

pub fn notice(n: &Notice) -> pb::Notice {
    pb::Notice {
        id: n.id.clone(),
        title: n.title.clone(),
        body: n.body.clone(),
        author_id: n.author_id.clone(),
        author_department_id: n.author_department_id.clone(),
        audience: Some(pb::Audience {
            everyone: n.audience.everyone,
            department_ids: n.audience.department_ids.clone(),
            include_sub_departments: n.audience.include_sub_departments,
            person_ids: n.audience.person_ids.clone(),
        }),
        priority: n.priority as i32,
        acknowledgement_required: n.ack_required,
        attachments: n
            .attachments
            .iter()
            .map(|a| pb::Attachment {
                title: a.title.clone(),
                url: a.url.clone(),
            })
            .collect(),
        publish_time: to_timestamp_opt(n.publish_ms),
        expire_time: to_timestamp_opt(n.expire_ms),
        state: n.state as i32,
        published_time: to_timestamp_opt(n.published_ms),
        recipient_count: n.recipient_count,
        create_time: Some(to_timestamp(n.created_ms)),
        update_time: Some(to_timestamp(n.updated_ms)),
        etag: render_etag(n.version),
        meeting_id: n.meeting_id.clone(),
    }
}

pub fn receipt(r: &Receipt) -> pb::Receipt {
    pb::Receipt {
        notice_id: r.notice_id.clone(),
        person_id: r.person_id.clone(),
        department_id: r.department_id.clone(),
        delivered_time: Some(to_timestamp(r.delivered_ms)),
        read_time: to_timestamp_opt(r.read_ms),
        acknowledge_time: to_timestamp_opt(r.ack_ms),
        reminder_count: r.reminders,
        display_name: r.display_name.clone(),
    }
}

pub fn summary(n: &Notice, c: &ReceiptCounts) -> pb::ReceiptSummary {
    pb::ReceiptSummary {
        notice_id: n.id.clone(),
        recipients: c.recipients,
        read: c.read,
        acknowledged: c.acknowledged,
        acknowledgement_required: n.ack_required,
        reminder_rounds: c.reminder_rounds,
        reminders_sent: c.reminders_sent,
    }
}

pub fn rule(r: &CommunicationRule) -> pb::CommunicationRule {
    pb::CommunicationRule {
        priority: r.priority as i32,
        push_start_hour: i32::try_from(r.push_start_hour).unwrap_or(0),
        push_end_hour: i32::try_from(r.push_end_hour).unwrap_or(24),
        acknowledgement_required: r.ack_required,
        update_time: to_timestamp_opt(Some(r.updated_ms)),
        etag: render_etag(r.version),
    }
}

pub fn grant(g: &Grant) -> pb::PublishingGrant {
    pb::PublishingGrant {
        id: g.id.clone(),
        person_id: g.person_id.clone(),
        department_id: g.department_id.clone(),
        granted_by: g.granted_by.clone(),
        create_time: Some(to_timestamp(g.created_ms)),
    }
}

/// A title: required, one line, at most [`TITLE_MAX`] characters; trimmed.
pub fn title(v: &mut Violations, field: &str, value: &str) -> String {
    single_line(v, field, value, TITLE_MAX)
}

/// A list of ids, each checked and named `field[i]`; duplicates dropped.
pub fn ids(v: &mut Violations, field: &str, values: &[String]) -> Vec<String> {
    if values.len() > IDS_MAX {
        v.add(field, format!("must name at most {IDS_MAX} ids"));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, id) in values.iter().enumerate() {
        check_id(v, &format!("{field}[{i}]"), id);
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

/// An optional timestamp field.
pub fn opt_time(v: &mut Violations, field: &str, value: Option<&Timestamp>) -> Option<Millis> {
    let ms = value.map(from_timestamp)?;
    if ms.is_none() {
        v.add(field, "is not a valid timestamp");
    }
    ms
}

pub fn audience(v: &mut Violations, field: &str, a: Option<&pb::Audience>) -> Audience {
    let Some(a) = a else {
        v.add(field, "is required: everyone, department_ids or person_ids");
        return Audience::default();
    };
    let out = Audience {
        everyone: a.everyone,
        department_ids: ids(v, &format!("{field}.department_ids"), &a.department_ids),
        include_sub_departments: a.include_sub_departments,
        person_ids: ids(v, &format!("{field}.person_ids"), &a.person_ids),
    };
    if out.is_empty() {
        v.add(field, "is required: everyone, department_ids or person_ids");
    }
    if a.everyone && !(a.department_ids.is_empty() && a.person_ids.is_empty()) {
        v.add(
            format!("{field}.everyone"),
            "cannot be combined with department_ids or person_ids",
        );
    }
    out
}

pub fn priority(v: &mut Violations, field: &str, value: i32) -> Priority {
    if value == 0 {
        return Priority::Normal;
    }
    Priority::from_i64(i64::from(value)).unwrap_or_else(|| {
        v.add(field, "is not a known priority");
        Priority::Normal
    })
}

fn attachments(v: &mut Violations, field: &str, values: &[pb::Attachment]) -> Vec<Attachment> {
    if values.len() > ATTACHMENTS_MAX {
        v.add(
            field,
            format!("must hold at most {ATTACHMENTS_MAX} attachments"),
        );
        return Vec::new();
    }
    values
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let t = title(v, &format!("{field}[{i}].title"), &a.title);
            let url = a.url.trim();
            let url_field = format!("{field}[{i}].url");
            if url.is_empty() {
                v.add(url_field, "is required");
            } else if url.chars().count() > URL_MAX {
                v.add(url_field, format!("must be at most {URL_MAX} characters"));
            } else if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.len() <= "https://".len()
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                v.add(url_field, "must be an http or https link without spaces");
            }
            Attachment {
                title: t,
                url: url.to_string(),
            }
        })
        .collect()
}

/// The client-set fields of a notice, as they come in a create or update.
pub struct ContentIn<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub audience: Option<&'a pb::Audience>,
    pub priority: i32,
    pub ack_required: Option<bool>,
    pub attachments: &'a [pb::Attachment],
    pub publish_time: Option<&'a Timestamp>,
    pub expire_time: Option<&'a Timestamp>,
}

/// Validates the `fields` of `c`, naming fields with `prefix` (`""` or `"notice."`).
pub fn content(
    v: &mut Violations,
    prefix: &str,
    c: &ContentIn<'_>,
    fields: &[NoticeField],
    now: Millis,
) -> NoticeContent {
    let mut out = NoticeContent {
        title: String::new(),
        body: String::new(),
        audience: Audience::default(),
        priority: Priority::Normal,
        ack_required: c.ack_required,
        attachments: Vec::new(),
        publish_ms: None,
        expire_ms: None,
    };
    let f = |name: &str| format!("{prefix}{name}");
    for field in fields {
        match field {
            NoticeField::Title => out.title = title(v, &f("title"), c.title),
            NoticeField::Body => {
                check_opt_text(v, &f("body"), c.body, BODY_MAX);
                out.body = c.body.trim().to_string();
            }
            NoticeField::Audience => out.audience = audience(v, &f("audience"), c.audience),
            NoticeField::Priority => out.priority = priority(v, &f("priority"), c.priority),
            NoticeField::AckRequired => {}
            NoticeField::Attachments => {
                out.attachments = attachments(v, &f("attachments"), c.attachments)
            }
            NoticeField::PublishTime => {
                out.publish_ms = opt_time(v, &f("publish_time"), c.publish_time);
                if out.publish_ms.is_some_and(|p| p <= now) {
                    v.add(
                        f("publish_time"),
                        "must be in the future (leave it unset to publish at once)",
                    );
                }
            }
            NoticeField::ExpireTime => {
                out.expire_ms = opt_time(v, &f("expire_time"), c.expire_time)
            }
        }
    }
    out
}

/// Checks the publish and expire times of a notice as they will be stored.
pub fn check_times(
    v: &mut Violations,
    prefix: &str,
    publish_ms: Option<Millis>,
    expire_ms: Option<Millis>,
    now: Millis,
) {
    if let Some((field, why)) = times_problem(publish_ms, expire_ms, now) {
        v.add(format!("{prefix}{field}"), why);
    }
}

/// A request's single required id.
pub fn required_id(field: &str, value: &str) -> Result<(), Error> {
    let mut v = Violations::new();
    check_id(&mut v, field, value);
    v.into_result()
}

//! Feedback from staff through every channel, some anonymous, routed by
//! the departments' duties, taken to every status; urgent problems left
//! unanswered under a tight SLA so they breach it and escalate within
//! minutes of the demo.

use anyhow::Context as _;
use concord_proto::feedback::v1::*;

use super::content::{FeedbackSpec, Outcome};
use super::org::Org;
use super::session::{Session, call, pages};

fn minutes(m: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: m * 60,
        nanos: 0,
    })
}

pub async fn feedback(s: &Session, org: &Org) -> anyhow::Result<()> {
    let admin = s.as_person(org.admin())?;
    // Urgent problems: a first answer within 5 minutes, solved within 30.
    call!(
        admin.feedback(),
        set_sla_policy,
        SetSlaPolicyRequest {
            policy: Some(SlaPolicy {
                category: Category::Problem as i32,
                priority: Priority::Urgent as i32,
                first_response: minutes(5),
                resolution: minutes(30),
                escalate_after: minutes(10),
                auto_close_after: minutes(3 * 24 * 60),
                update_time: None,
            }),
        }
    )
    .context("setting the SLA of urgent problems")?;
    let existing = pages!(
        admin.feedback(),
        list_feedback_items,
        ListFeedbackItemsRequest::default(),
        items
    );
    let staff = org.all_staff();
    anyhow::ensure!(!staff.is_empty(), "the demo organisation has no staff");
    for (n, spec) in s.content.feedback.iter().enumerate() {
        let submitter = staff[(n * 37 + 11) % staff.len()];
        let item = match existing.iter().find(|i| i.subject == spec.subject) {
            Some(i) => {
                s.found();
                i.clone()
            }
            None => {
                s.made();
                let conn = s.as_person(submitter)?;
                call!(
                    conn.feedback(),
                    submit_feedback,
                    SubmitFeedbackRequest {
                        request_id: s.rid(&["feedback", spec.key]),
                        channel: spec.channel,
                        category: spec.category,
                        priority: spec.priority,
                        subject: spec.subject.into(),
                        body: spec.body.into(),
                        location: spec.location.into(),
                        links: vec![],
                        anonymous: spec.anonymous,
                        department_id: spec.department.map(|k| org.id(k)).unwrap_or_default(),
                    }
                )
                .with_context(|| format!("submitting {}", spec.subject))?
                .item
                .unwrap_or_default()
            }
        };
        follow(s, org, spec, n, item, submitter)
            .await
            .with_context(|| format!("handling {}", spec.subject))?;
        s.step(spec.subject);
    }
    Ok(())
}

/// Takes an item as far as its spec says, from where it stands.
async fn follow(
    s: &Session,
    org: &Org,
    spec: &FeedbackSpec,
    n: usize,
    mut item: FeedbackItem,
    submitter: &concord_proto::directory::v1::Person,
) -> anyhow::Result<()> {
    let admin = s.as_person(org.admin())?;
    if item.department_id.is_empty() {
        item = call!(
            admin.feedback(),
            route_feedback,
            RouteFeedbackRequest {
                id: item.id.clone(),
                department_id: org.id(spec.fallback),
                comment: s.content.route_comment.into(),
                etag: String::new(),
            }
        )?;
    }
    if spec.outcome == Outcome::Submitted {
        return Ok(());
    }
    let dept = org.key_of(&item.department_id).unwrap_or(spec.fallback);
    if item.owner_id.is_empty() {
        let head = s.as_person(org.head(dept))?;
        item = call!(
            head.feedback(),
            assign_feedback_owner,
            AssignFeedbackOwnerRequest {
                id: item.id.clone(),
                owner_id: org.someone_in(dept, n).id.clone(),
                comment: String::new(),
                etag: String::new(),
            }
        )?;
    }
    let owner = org
        .everyone()
        .into_iter()
        .find(|p| p.id == item.owner_id)
        .unwrap_or(org.head(dept));
    let owner = s.as_person(owner)?;
    let by_submitter = s.as_person(submitter)?;
    let target = match spec.outcome {
        Outcome::Submitted => 0,
        Outcome::Accepted => 1,
        Outcome::InProgress => 2,
        Outcome::Resolved | Outcome::Reopened => 3,
        Outcome::Closed(_) => 4,
    };
    loop {
        let status = Status::try_from(item.status).unwrap_or(Status::Unspecified);
        let id = item.id.clone();
        item = match status {
            Status::Submitted if target >= 1 => call!(
                owner.feedback(),
                accept_feedback,
                AcceptFeedbackRequest {
                    id,
                    comment: s.content.accept_comment.into(),
                    etag: String::new(),
                }
            )?,
            Status::Accepted if target >= 2 => {
                reply(s, spec, &owner, &item).await?;
                call!(
                    owner.feedback(),
                    start_feedback_work,
                    StartFeedbackWorkRequest {
                        id,
                        comment: s.content.start_comment.into(),
                        etag: String::new(),
                    }
                )?
            }
            Status::InProgress if target >= 3 => call!(
                owner.feedback(),
                resolve_feedback,
                ResolveFeedbackRequest {
                    id,
                    solution: spec.solution.into(),
                    etag: String::new(),
                }
            )?,
            Status::Resolved => match spec.outcome {
                Outcome::Closed(rating) => call!(
                    by_submitter.feedback(),
                    confirm_resolution,
                    ConfirmResolutionRequest {
                        id,
                        satisfaction: rating,
                        comment: s.content.confirm_comment.into(),
                    }
                )?,
                Outcome::Reopened => call!(
                    by_submitter.feedback(),
                    reopen_feedback,
                    ReopenFeedbackRequest {
                        id,
                        comment: s.content.reopen_comment.into(),
                    }
                )?,
                _ => return Ok(()),
            },
            _ => return Ok(()),
        };
    }
}

/// The owner's public reply, once.
async fn reply(
    s: &Session,
    spec: &FeedbackSpec,
    owner: &crate::client::Conn,
    item: &FeedbackItem,
) -> anyhow::Result<()> {
    if spec.reply.is_empty() {
        return Ok(());
    }
    let timeline = pages!(
        owner.feedback(),
        list_feedback_timeline,
        ListFeedbackTimelineRequest {
            id: item.id.clone(),
            ..Default::default()
        },
        entries
    );
    if timeline.iter().any(|e| e.text == spec.reply) {
        return Ok(());
    }
    call!(
        owner.feedback(),
        add_feedback_reply,
        AddFeedbackReplyRequest {
            request_id: s.rid(&["reply", spec.key]),
            id: item.id.clone(),
            text: spec.reply.into(),
            internal: false,
        }
    )?;
    Ok(())
}

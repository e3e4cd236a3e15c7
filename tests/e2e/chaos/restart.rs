//! The real `concord serve` is killed with SIGKILL while deadlines are
//! pending (a scheduled notice, the consultation and voting deadlines of a
//! proposal, the acknowledgement timeout of an incident, the first-response
//! SLA of a feedback item), stays down past them, and is started again:
//! every due action happens once, not zero times, not twice. A second kill
//! and restart does not repeat them.
//!
//! Real time: the SLA's shortest allowed duration is one minute, so this
//! test takes a little over a minute.

use std::time::{Duration, Instant, SystemTime};

use concord_e2e::org::{self, Department};
use concord_e2e::process::{Concord, Launch};
use concord_e2e::report::Tally;
use concord_e2e::{Authed, authed};
use concord_kit::testing::{Backend, token};
use concord_proto::decisions::v1 as de;
use concord_proto::emergency::v1 as em;
use concord_proto::feedback::v1 as fb;
use concord_proto::notices::v1 as no;
use concord_proto::policy::v1::Role;
use futures::StreamExt;
use tonic::transport::Channel;

/// Seconds after the start of the scenario.
const NOTICE_AT: u64 = 8;
const CONSULTATION_ENDS: u64 = 8;
const VOTING_ENDS: u64 = 11;
/// The plan's acknowledgement timeout (its shortest allowed).
const ACK_TIMEOUT: u64 = 10;
/// The SLA's first response (its shortest allowed).
const FIRST_RESPONSE: u64 = 60;

fn at(t0: SystemTime, secs: u64) -> Option<prost_types::Timestamp> {
    let t = t0 + Duration::from_secs(secs);
    let since = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970");
    Some(prost_types::Timestamp {
        seconds: i64::try_from(since.as_secs()).expect("fits"),
        nanos: 0,
    })
}

fn minutes(n: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: n * 60,
        nanos: 0,
    })
}

/// What was set up, by id.
struct Pending {
    notice: String,
    proposal: String,
    incident: String,
    feedback: String,
}

async fn set_up(gateway: Authed, office: &Department, t0: SystemTime) -> Pending {
    let mut notices = no::notice_service_client::NoticeServiceClient::new(gateway.clone());
    let draft = notices
        .create_notice(no::CreateNoticeRequest {
            request_id: "restart-notice".into(),
            title: "周五消防演练 Fire drill on Friday".into(),
            body: "请各部门提前安排。".into(),
            audience: Some(no::Audience {
                department_ids: vec![office.id.clone()],
                ..Default::default()
            }),
            priority: no::Priority::Urgent as i32,
            publish_time: at(t0, NOTICE_AT),
            ..Default::default()
        })
        .await
        .expect("notice")
        .into_inner();
    let scheduled = notices
        .publish_notice(no::PublishNoticeRequest {
            id: draft.id.clone(),
            ..Default::default()
        })
        .await
        .expect("schedule")
        .into_inner();
    assert_eq!(scheduled.state, no::NoticeState::Scheduled as i32);

    let mut decisions = de::decision_service_client::DecisionServiceClient::new(gateway.clone());
    let proposal = decisions
        .create_proposal(de::CreateProposalRequest {
            request_id: "restart-proposal".into(),
            title: "调整午休时间 Move the lunch break".into(),
            background: "The canteen is crowded at noon.".into(),
            owning_department_id: office.id.clone(),
            participants: vec![de::Participant {
                department_id: office.id.clone(),
                role: de::ParticipationRole::Approving as i32,
            }],
            rule: de::VotingRule::SimpleMajority as i32,
            electorate: de::Electorate::ApprovingMembers as i32,
            consultation_end_time: at(t0, CONSULTATION_ENDS),
            voting_end_time: at(t0, VOTING_ENDS),
            ..Default::default()
        })
        .await
        .expect("proposal")
        .into_inner();
    decisions
        .advance_proposal(de::AdvanceProposalRequest {
            id: proposal.id.clone(),
            from_stage: de::Stage::Draft as i32,
            ..Default::default()
        })
        .await
        .expect("to consultation");

    let mut emergency = em::emergency_service_client::EmergencyServiceClient::new(gateway.clone());
    let plan = emergency
        .create_plan(em::CreatePlanRequest {
            request_id: "restart-plan".into(),
            plan: Some(em::Plan {
                title: "服务器机房漏水 Water in the server room".into(),
                incident_type: em::IncidentType::ItOutage as i32,
                severity: em::Severity::Ii as i32,
                owner_department_id: office.id.clone(),
                steps: vec![em::PlanStep {
                    title: "关闭总闸".into(),
                    department_id: office.id.clone(),
                    target_minutes: 5,
                    ..Default::default()
                }],
                acknowledgement_timeout: Some(prost_types::Duration {
                    seconds: i64::try_from(ACK_TIMEOUT).expect("small"),
                    nanos: 0,
                }),
                ..Default::default()
            }),
        })
        .await
        .expect("plan")
        .into_inner();
    let incident = emergency
        .declare_incident(em::DeclareIncidentRequest {
            request_id: "restart-incident".into(),
            plan_id: plan.id,
            description: "三楼机房地面有积水。".into(),
            ..Default::default()
        })
        .await
        .expect("incident")
        .into_inner();

    let mut feedback = fb::feedback_service_client::FeedbackServiceClient::new(gateway);
    feedback
        .set_sla_policy(fb::SetSlaPolicyRequest {
            policy: Some(fb::SlaPolicy {
                category: fb::Category::Problem as i32,
                priority: fb::Priority::High as i32,
                first_response: minutes(1),
                resolution: minutes(10),
                escalate_after: minutes(10),
                auto_close_after: minutes(10),
                ..Default::default()
            }),
        })
        .await
        .expect("SLA policy");
    let item = feedback
        .submit_feedback(fb::SubmitFeedbackRequest {
            request_id: "restart-feedback".into(),
            channel: fb::Channel::Hotline as i32,
            category: fb::Category::Problem as i32,
            priority: fb::Priority::High as i32,
            subject: "电梯停在二楼不动 The lift is stuck".into(),
            body: "已经停了半小时。".into(),
            department_id: office.id.clone(),
            ..Default::default()
        })
        .await
        .expect("feedback")
        .into_inner()
        .item
        .expect("item");
    Pending {
        notice: draft.id,
        proposal: proposal.id,
        incident: incident.id,
        feedback: item.id,
    }
}

/// How many times each due action has happened so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Done {
    /// Inbox events announcing the scheduled notice, per recipient (max).
    notice_delivered: usize,
    voting_opened: usize,
    vote_closed: usize,
    /// First-level escalation alerts to the department's head.
    escalated: usize,
    /// SLA escalations on the feedback item's timeline.
    sla_escalated: usize,
}

async fn count(channel: &Channel, office: &Department, p: &Pending) -> Done {
    let gateway = authed(channel.clone(), Some(&admin()));
    let mut done = Done::default();
    for person in office.everyone() {
        let mut stream = no::notice_service_client::NoticeServiceClient::new(authed(
            channel.clone(),
            Some(&person.token),
        ))
        .watch_inbox(no::WatchInboxRequest { after_sequence: 0 })
        .await
        .expect("watch inbox")
        .into_inner();
        let mut n = 0;
        // The backlog comes first; a quiet second means it is all there.
        while let Ok(Some(Ok(e))) =
            tokio::time::timeout(Duration::from_secs(1), stream.next()).await
        {
            if e.kind == no::InboxEventKind::Notice as i32
                && e.notice.is_some_and(|n| n.id == p.notice)
            {
                n += 1;
            }
        }
        done.notice_delivered = done.notice_delivered.max(n);
    }
    let history = de::decision_service_client::DecisionServiceClient::new(gateway.clone())
        .list_proposal_history(de::ListProposalHistoryRequest {
            proposal_id: p.proposal.clone(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .events;
    done.voting_opened = history
        .iter()
        .filter(|e| e.action == "proposal.voting")
        .count();
    done.vote_closed = history
        .iter()
        .filter(|e| e.action == "proposal.outcome")
        .count();
    let alerts = em::emergency_service_client::EmergencyServiceClient::new(gateway.clone())
        .list_alerts(em::ListAlertsRequest {
            person_id: office.head.id.clone(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("alerts")
        .into_inner()
        .alerts;
    done.escalated = alerts
        .iter()
        .filter_map(|e| e.alert.as_ref())
        .filter(|a| {
            a.incident_id == p.incident
                && a.kind == em::AlertKind::Escalation as i32
                && a.escalation_level == 1
        })
        .count();
    let timeline = fb::feedback_service_client::FeedbackServiceClient::new(gateway)
        .list_feedback_timeline(fb::ListFeedbackTimelineRequest {
            id: p.feedback.clone(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("timeline")
        .into_inner()
        .entries;
    done.sla_escalated = timeline
        .iter()
        .filter(|e| e.kind == fb::EntryKind::Escalation as i32)
        .count();
    done
}

fn admin() -> String {
    token("restart-admin", &[Role::Admin], None)
}

/// Polls until `want` holds or `within` passes; the last count.
async fn until(
    channel: &Channel,
    office: &Department,
    p: &Pending,
    within: Duration,
    want: impl Fn(&Done) -> bool,
) -> Done {
    let deadline = Instant::now() + within;
    loop {
        let done = count(channel, office, p).await;
        if want(&done) || Instant::now() >= deadline {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn start(data: &std::path::Path, launch: &Launch) -> (Concord, Channel) {
    let process = Concord::start(data, launch.clone()).await;
    let channel = process.channel("gateway").await;
    (process, channel)
}

pub async fn a_killed_process_does_each_due_action_once_after_restart(backend: Backend) {
    let data = tempfile::tempdir().expect("temp dir");
    let mut launch = Launch::default();
    if let Backend::Postgres(url) = &backend {
        let redis = concord_kit::testing::redis_url()
            .expect("set CONCORD_TEST_REDIS_URL with CONCORD_TEST_DATABASE_URL");
        launch = launch
            .env(
                "DATABASE_URL",
                concord_kit::testing::fresh_database(url).await,
            )
            .env("REDIS_URL", redis);
    }
    let mut tally = Tally::new("SIGKILL with deadlines pending, then restart", &backend);
    let (process, channel) = start(data.path(), &launch).await;
    let gateway = authed(channel.clone(), Some(&admin()));
    let office = org::department(gateway.clone(), "总务处", None, 2).await;
    let t0 = SystemTime::now();
    let began = Instant::now();
    let pending = set_up(gateway, &office, t0).await;
    tally.calls = 12;

    // Killed before anything is due; down until all but the SLA are.
    let before = count(&channel, &office, &pending).await;
    assert_eq!(before, Done::default(), "nothing is due yet");
    process.kill().await;
    tally.faults += 1;
    tokio::time::sleep_until(
        (began + Duration::from_secs(ACK_TIMEOUT.max(VOTING_ENDS) + 3)).into(),
    )
    .await;
    let (process, channel) = start(data.path(), &launch).await;
    let first = until(&channel, &office, &pending, Duration::from_secs(20), |d| {
        d.notice_delivered >= 1 && d.voting_opened >= 1 && d.vote_closed >= 1 && d.escalated >= 1
    })
    .await;

    // Killed again while the SLA is pending, back after it is due.
    process.kill().await;
    tally.faults += 1;
    tokio::time::sleep_until((began + Duration::from_secs(FIRST_RESPONSE + 3)).into()).await;
    let (process, channel) = start(data.path(), &launch).await;
    let last = until(&channel, &office, &pending, Duration::from_secs(20), |d| {
        d.sla_escalated >= 1
    })
    .await;
    // A little longer: a second run of anything would show now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let last = count(&channel, &office, &pending).await.max_with(&last);

    let expected = Done {
        notice_delivered: 1,
        voting_opened: 1,
        vote_closed: 1,
        escalated: 1,
        sla_escalated: 1,
    };
    let happened = [
        last.notice_delivered,
        last.voting_opened,
        last.vote_closed,
        last.escalated,
        last.sla_escalated,
    ];
    tally.lost = happened.iter().filter(|n| **n == 0).count() as u64;
    tally.duplicated = happened.iter().filter(|n| **n > 1).count() as u64;
    tally.note = format!(
        "5 due actions (scheduled notice, consultation and voting deadlines, alert escalation, SLA escalation); after the first restart {first:?}; at the end {last:?}; {:.0} s",
        began.elapsed().as_secs_f64()
    );
    tally.report();
    assert_eq!(last, expected, "each due action exactly once");
    drop(process);
}

impl Done {
    /// The larger of each count (a count never goes down).
    fn max_with(&self, other: &Done) -> Done {
        Done {
            notice_delivered: self.notice_delivered.max(other.notice_delivered),
            voting_opened: self.voting_opened.max(other.voting_opened),
            vote_closed: self.vote_closed.max(other.vote_closed),
            escalated: self.escalated.max(other.escalated),
            sla_escalated: self.sla_escalated.max(other.sla_escalated),
        }
    }
}

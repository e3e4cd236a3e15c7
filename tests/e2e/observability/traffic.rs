//! Traffic through the gateway to every service, the way an organisation
//! uses Concord over a week: notices read and acknowledged, feedback
//! answered, resolved, rated or left to go overdue, a drill and an incident
//! acknowledged late by one department, proposals decided, action items done
//! or overdue, mandatory training attended and completed, an appraisal cycle
//! published, and some calls refused. The manual clock lets deadlines pass.

use concord_kit::testing::eventually;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use concord::suite::RunningSuite;
use concord_kit::clock::{Clock, ManualClock, to_timestamp};
use concord_kit::testing::{token, with_token};
use concord_proto::appraisal::v1 as ap;
use concord_proto::decisions::v1 as de;
use concord_proto::directory::v1 as dir;
use concord_proto::emergency::v1 as em;
use concord_proto::feedback::v1 as fb;
use concord_proto::notices::v1 as no;
use concord_proto::policy::v1::Role;
use concord_proto::training::v1 as tr;
use futures::StreamExt;
use tonic::transport::Channel;

use super::Prometheus;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The running suite, its gateway channel and its clock.
pub struct Suite {
    running: Option<RunningSuite>,
    addrs: BTreeMap<&'static str, SocketAddr>,
    metrics: SocketAddr,
    channel: Channel,
    clock: Arc<ManualClock>,
    _data: tempfile::TempDir,
}

impl Suite {
    pub fn new(
        running: RunningSuite,
        channel: Channel,
        clock: Arc<ManualClock>,
        data: tempfile::TempDir,
    ) -> Self {
        Self {
            addrs: running.addrs.clone(),
            metrics: running.metrics_addr,
            running: Some(running),
            channel,
            clock,
            _data: data,
        }
    }

    pub fn metrics(&self) -> SocketAddr {
        self.metrics
    }

    pub fn addrs(&self) -> BTreeMap<&'static str, SocketAddr> {
        self.addrs.clone()
    }

    fn serves(&self, target: &str) -> bool {
        self.addrs.contains_key(target)
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn advance(&self, ms: i64) {
        self.clock
            .advance(Duration::from_millis(u64::try_from(ms).expect("forward")));
    }

    fn ts(&self, after_ms: i64) -> Option<prost_types::Timestamp> {
        Some(to_timestamp(self.now() + after_ms))
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown.cancel();
            r.wait().await.expect("the suite stops cleanly");
        }
    }

    fn directory(&self) -> dir::directory_service_client::DirectoryServiceClient<Channel> {
        dir::directory_service_client::DirectoryServiceClient::new(self.channel.clone())
    }
    fn notices(&self) -> no::notice_service_client::NoticeServiceClient<Channel> {
        no::notice_service_client::NoticeServiceClient::new(self.channel.clone())
    }
    fn feedback(&self) -> fb::feedback_service_client::FeedbackServiceClient<Channel> {
        fb::feedback_service_client::FeedbackServiceClient::new(self.channel.clone())
    }
    fn emergency(&self) -> em::emergency_service_client::EmergencyServiceClient<Channel> {
        em::emergency_service_client::EmergencyServiceClient::new(self.channel.clone())
    }
    fn decisions(&self) -> de::decision_service_client::DecisionServiceClient<Channel> {
        de::decision_service_client::DecisionServiceClient::new(self.channel.clone())
    }
    fn actions(&self) -> de::action_item_service_client::ActionItemServiceClient<Channel> {
        de::action_item_service_client::ActionItemServiceClient::new(self.channel.clone())
    }
    fn training(&self) -> tr::training_service_client::TrainingServiceClient<Channel> {
        tr::training_service_client::TrainingServiceClient::new(self.channel.clone())
    }
    fn appraisal(&self) -> ap::appraisal_service_client::AppraisalServiceClient<Channel> {
        ap::appraisal_service_client::AppraisalServiceClient::new(self.channel.clone())
    }
}

/// A person with their token.
#[derive(Debug, Clone)]
pub struct Who {
    pub id: String,
    pub token: String,
}

impl Who {
    fn req<T>(&self, m: T) -> tonic::Request<T> {
        with_token(m, &self.token)
    }
}

/// 办公室 (office), 信息中心 (it) and 后勤保障处 (logistics) with their
/// people, and what the first round made for the second to continue.
pub struct Org {
    pub office: String,
    pub it: String,
    pub logistics: String,
    admin: Who,
    office_head: Who,
    coordinator: Who,
    it_head: Who,
    zhang: Who,
    alice: Who,
    logistics_head: Who,
    wang: Who,
    made: BTreeMap<&'static str, String>,
    enrolments: Vec<String>,
    _watches: Vec<tokio::task::JoinHandle<()>>,
}

async fn department(s: &Suite, admin: &str, name: &str, duty: &str) -> String {
    let d = s
        .directory()
        .create_department(with_token(
            dir::CreateDepartmentRequest {
                name: name.into(),
                ..Default::default()
            },
            admin,
        ))
        .await
        .expect("create department")
        .into_inner();
    s.directory()
        .add_duty(with_token(
            dir::AddDutyRequest {
                department_id: d.id.clone(),
                text: duty.into(),
                ..Default::default()
            },
            admin,
        ))
        .await
        .expect("add duty");
    d.id
}

async fn person(s: &Suite, admin: &str, name: &str, dept: &str, role: Role) -> Who {
    let p = s
        .directory()
        .create_person(with_token(
            dir::CreatePersonRequest {
                display_name: name.into(),
                email: format!("{}@example.org", concord_kit::ids::new_id()),
                department_id: dept.into(),
                roles: vec![role as i32],
                ..Default::default()
            },
            admin,
        ))
        .await
        .expect("create person")
        .into_inner();
    Who {
        token: token(&p.id, &[role], Some(dept)),
        id: p.id,
    }
}

impl Org {
    pub async fn build(s: &Suite) -> Org {
        let bootstrap = token("bootstrap-admin", &[Role::Admin], None);
        let b = bootstrap.as_str();
        let office = department(
            s,
            b,
            "办公室",
            "文件收发、会议组织 Correspondence and meetings",
        )
        .await;
        let it = department(
            s,
            b,
            "信息中心",
            "网络、邮件和打印机 IT support: network, email and printers",
        )
        .await;
        let logistics = department(
            s,
            b,
            "后勤保障处",
            "办公楼维修和保洁 Building maintenance and cleaning",
        )
        .await;
        Org {
            admin: person(s, b, "系统管理员", &office, Role::Admin).await,
            office_head: person(s, b, "王主任", &office, Role::DepartmentHead).await,
            coordinator: person(s, b, "Coordinator Liu", &office, Role::Coordinator).await,
            it_head: person(s, b, "刘处长", &it, Role::DepartmentHead).await,
            zhang: person(s, b, "张三", &it, Role::Member).await,
            alice: person(s, b, "Alice Chen", &it, Role::Member).await,
            logistics_head: person(s, b, "李处长", &logistics, Role::DepartmentHead).await,
            wang: person(s, b, "王师傅", &logistics, Role::Member).await,
            office,
            it,
            logistics,
            made: BTreeMap::new(),
            enrolments: Vec::new(),
            _watches: Vec::new(),
        }
    }

    fn made(&self, what: &str) -> String {
        self.made[what].clone()
    }
}

/// Keeps a server stream open, reading what it sends.
fn watch<T: Send + 'static>(mut stream: tonic::Streaming<T>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} })
}

/// The first round: every kind of record and event once.
pub async fn first_round(s: &Suite, o: &mut Org) {
    let watches = vec![
        watch(
            s.notices()
                .watch_inbox(o.zhang.req(no::WatchInboxRequest::default()))
                .await
                .expect("watch inbox")
                .into_inner(),
        ),
        watch(
            s.emergency()
                .watch_alerts(o.zhang.req(em::WatchAlertsRequest::default()))
                .await
                .expect("watch alerts")
                .into_inner(),
        ),
    ];
    o._watches.extend(watches);
    notices_round(s, o, "first").await;
    feedback_first(s, o).await;
    emergency_first(s, o).await;
    decisions_round(s, o, "first").await;
    training_first(s, o).await;
    refused_calls(s, o).await;
}

/// The second round: the same events again, then a week passes.
pub async fn second_round(s: &Suite, o: &mut Org) {
    notices_round(s, o, "second").await;
    feedback_second(s, o).await;
    emergency_second(s, o).await;
    decisions_round(s, o, "second").await;
    training_second(s, o).await;
    if s.serves("appraisal") {
        appraisal_round(s, o).await;
    }
    refused_calls(s, o).await;
    // A week and a day: unanswered feedback and an action item go overdue and
    // escalate, a resolved item closes by itself, deadlines fire.
    let due_items = s.now() + 8 * DAY;
    s.advance(8 * DAY);
    let admin = o.admin.clone();
    eventually("an overdue action item", || {
        let c = s.actions();
        let admin = admin.clone();
        async move {
            c.clone()
                .list_action_items(admin.req(de::ListActionItemsRequest::default()))
                .await
                .ok()
                .filter(|r| r.get_ref().action_items.iter().any(|i| i.overdue))
                .map(|_| ())
        }
    })
    .await;
    assert!(s.now() >= due_items);
}

async fn notices_round(s: &Suite, o: &Org, round: &str) {
    let notice = s
        .notices()
        .create_notice(o.admin.req(no::CreateNoticeRequest {
            request_id: format!("notice-{round}"),
            title: format!("关于{round}季度安全检查的通知"),
            body: "各部门请于周五前完成自查。Please finish the self-check by Friday.".into(),
            audience: Some(no::Audience {
                department_ids: vec![o.it.clone(), o.logistics.clone()],
                ..Default::default()
            }),
            priority: no::Priority::Important as i32,
            acknowledgement_required: Some(true),
            ..Default::default()
        }))
        .await
        .expect("create notice")
        .into_inner();
    s.notices()
        .publish_notice(o.admin.req(no::PublishNoticeRequest {
            id: notice.id.clone(),
            ..Default::default()
        }))
        .await
        .expect("publish notice");
    s.advance(7 * MINUTE);
    for who in [&o.zhang, &o.alice, &o.wang] {
        s.notices()
            .mark_notice_read(who.req(no::MarkNoticeReadRequest {
                notice_id: notice.id.clone(),
            }))
            .await
            .expect("read notice");
    }
    s.notices()
        .acknowledge_notice(o.zhang.req(no::AcknowledgeNoticeRequest {
            notice_id: notice.id.clone(),
        }))
        .await
        .expect("acknowledge notice");
    s.notices()
        .remind_unread(o.admin.req(no::RemindUnreadRequest {
            request_id: format!("remind-{round}"),
            notice_id: notice.id.clone(),
            ..Default::default()
        }))
        .await
        .expect("remind the unread");
}

async fn submit(s: &Suite, who: &Who, req: fb::SubmitFeedbackRequest) -> String {
    s.feedback()
        .submit_feedback(who.req(req))
        .await
        .expect("submit feedback")
        .into_inner()
        .item
        .expect("an item")
        .id
}

fn report(
    channel: fb::Channel,
    category: fb::Category,
    subject: &str,
    department: &str,
) -> fb::SubmitFeedbackRequest {
    fb::SubmitFeedbackRequest {
        channel: channel as i32,
        category: category as i32,
        subject: subject.into(),
        body: "详情见标题 See the subject.".into(),
        department_id: department.into(),
        ..Default::default()
    }
}

async fn feedback_first(s: &Suite, o: &mut Org) {
    use fb::{Category, Channel};
    let ac = report(
        Channel::WebForm,
        Category::Problem,
        "301 室空调不制冷",
        &o.logistics,
    );
    o.made.insert("ac", submit(s, &o.zhang, ac).await);
    // Routed by the directory's duties.
    let cleaning = report(
        Channel::Hotline,
        Category::Suggestion,
        "办公楼三楼保洁 cleaning on floor 3",
        "",
    );
    o.made
        .insert("cleaning", submit(s, &o.alice, cleaning).await);
    let printer = fb::SubmitFeedbackRequest {
        anonymous: true,
        ..report(Channel::Email, Category::Complaint, "打印机经常卡纸", &o.it)
    };
    submit(s, &o.wang, printer).await;
    let network = report(
        Channel::StaffSymposium,
        Category::Problem,
        "The network is slow",
        &o.it,
    );
    o.made.insert("network", submit(s, &o.wang, network).await);
    let praise = report(
        Channel::Meeting,
        Category::Praise,
        "感谢信息中心及时修好电脑",
        &o.it,
    );
    o.made
        .insert("praise", submit(s, &o.logistics_head, praise).await);
    // Answered and resolved within the hour, rated 5.
    s.advance(40 * MINUTE);
    answer(s, &o.it_head, &o.made("praise"), true).await;
    confirm(s, &o.logistics_head, &o.made("praise"), 5).await;
}

/// Accepts and (when `resolve`) resolves as `who`.
async fn answer(s: &Suite, who: &Who, id: &str, resolve: bool) {
    s.feedback()
        .accept_feedback(who.req(fb::AcceptFeedbackRequest {
            id: id.into(),
            comment: "已受理 We are on it.".into(),
            ..Default::default()
        }))
        .await
        .expect("accept feedback");
    if resolve {
        s.feedback()
            .resolve_feedback(who.req(fb::ResolveFeedbackRequest {
                id: id.into(),
                solution: "已处理 Done.".into(),
                ..Default::default()
            }))
            .await
            .expect("resolve feedback");
    }
}

async fn confirm(s: &Suite, who: &Who, id: &str, satisfaction: i32) {
    s.feedback()
        .confirm_resolution(who.req(fb::ConfirmResolutionRequest {
            id: id.into(),
            satisfaction,
            comment: "谢谢 Thanks".into(),
        }))
        .await
        .expect("confirm resolution");
}

async fn feedback_second(s: &Suite, o: &Org) {
    s.advance(3 * HOUR);
    answer(s, &o.logistics_head, &o.made("ac"), true).await;
    confirm(s, &o.zhang, &o.made("ac"), 4).await;
    // Resolved, never confirmed: closes by itself after a week.
    answer(s, &o.it_head, &o.made("network"), true).await;
    let again = report(
        fb::Channel::WebForm,
        fb::Category::Problem,
        "会议室投影仪坏了",
        &o.it,
    );
    let id = submit(s, &o.alice, again).await;
    answer(s, &o.it_head, &id, true).await;
    confirm(s, &o.alice, &id, 3).await;
}

async fn emergency_first(s: &Suite, o: &mut Org) {
    let step = |title: &str, dept: &str, minutes| em::PlanStep {
        title: title.into(),
        department_id: dept.into(),
        target_minutes: minutes,
        ..Default::default()
    };
    let plan = s
        .emergency()
        .create_plan(o.office_head.req(em::CreatePlanRequest {
            request_id: String::new(),
            plan: Some(em::Plan {
                title: "机房断电应急预案 Server room power failure".into(),
                incident_type: em::IncidentType::ItOutage as i32,
                severity: em::Severity::Ii as i32,
                owner_department_id: o.office.clone(),
                steps: vec![
                    step("切换备用服务器 Switch to the standby servers", &o.it, 15),
                    step("检查配电室 Check the switch room", &o.logistics, 10),
                ],
                acknowledgement_timeout: Some(prost_types::Duration {
                    seconds: 60,
                    nanos: 0,
                }),
                reminder_interval: Some(prost_types::Duration {
                    seconds: 300,
                    nanos: 0,
                }),
                ..Default::default()
            }),
        }))
        .await
        .expect("create plan")
        .into_inner();
    o.made.insert("plan", plan.id.clone());
    declare_and_acknowledge(s, o, true).await;
}

/// Declares from the plan and lets 张三 acknowledge for 信息中心 after 30 s;
/// 后勤保障处 does not, so it is escalated at 60 s and its head acknowledges.
async fn declare_and_acknowledge(s: &Suite, o: &Org, drill: bool) {
    let incident = s
        .emergency()
        .declare_incident(o.office_head.req(em::DeclareIncidentRequest {
            plan_id: o.made("plan"),
            description: "三号楼机房 Building 3".into(),
            drill,
            ..Default::default()
        }))
        .await
        .expect("declare")
        .into_inner();
    s.advance(30_000);
    acknowledge(s, &o.zhang, &incident.id).await;
    s.advance(31_000);
    let head = o.logistics_head.clone();
    let id = incident.id.clone();
    let escalation = eventually("the escalation to 后勤保障处's head", || {
        let (head, id) = (head.clone(), id.clone());
        async move { alert_of(s, &head, &id, em::AlertKind::Escalation).await }
    })
    .await;
    s.emergency()
        .acknowledge_alert(head.req(em::AcknowledgeAlertRequest {
            alert_id: escalation,
        }))
        .await
        .expect("acknowledge the escalation");
    if !drill {
        for status in [em::IncidentStatus::Contained, em::IncidentStatus::Resolved] {
            s.emergency()
                .update_incident_status(o.office_head.req(em::UpdateIncidentStatusRequest {
                    id: incident.id.clone(),
                    status: status as i32,
                    note: "已恢复供电 Power is back".into(),
                    ..Default::default()
                }))
                .await
                .expect("update incident status");
        }
    }
}

/// The first unacknowledged alert of `kind` of `incident` that reached `who`.
async fn alert_of(s: &Suite, who: &Who, incident: &str, kind: em::AlertKind) -> Option<String> {
    s.emergency()
        .list_alerts(who.req(em::ListAlertsRequest {
            unacknowledged_only: true,
            ..Default::default()
        }))
        .await
        .expect("list alerts")
        .into_inner()
        .alerts
        .into_iter()
        .filter_map(|e| e.alert)
        .find(|a| a.incident_id == incident && a.kind == kind as i32)
        .map(|a| a.id)
}

async fn acknowledge(s: &Suite, who: &Who, incident: &str) {
    let alert = alert_of(s, who, incident, em::AlertKind::Declared)
        .await
        .expect("an alert to acknowledge");
    s.emergency()
        .acknowledge_alert(who.req(em::AcknowledgeAlertRequest { alert_id: alert }))
        .await
        .expect("acknowledge alert");
}

async fn emergency_second(s: &Suite, o: &Org) {
    declare_and_acknowledge(s, o, false).await;
    declare_and_acknowledge(s, o, true).await;
}

async fn decisions_round(s: &Suite, o: &mut Org, round: &str) {
    use de::Stage;
    let proposal = s
        .decisions()
        .create_proposal(o.it_head.req(de::CreateProposalRequest {
            request_id: format!("proposal-{round}"),
            title: format!("采购新服务器（{round}）Buy new servers"),
            background: "现有服务器已使用八年。The servers are eight years old.".into(),
            participants: vec![
                de::Participant {
                    department_id: o.it.clone(),
                    role: de::ParticipationRole::Approving as i32,
                },
                de::Participant {
                    department_id: o.logistics.clone(),
                    role: de::ParticipationRole::Consulted as i32,
                },
            ],
            rule: de::VotingRule::SimpleMajority as i32,
            quorum_percent: 50,
            electorate: de::Electorate::ApprovingMembers as i32,
            consultation_end_time: s.ts(DAY),
            voting_end_time: s.ts(3 * DAY),
            ..Default::default()
        }))
        .await
        .expect("create proposal")
        .into_inner();
    let advance = |from: Stage| de::AdvanceProposalRequest {
        id: proposal.id.clone(),
        from_stage: from as i32,
        rationale: match from {
            Stage::Voting => "多数同意 A majority approves".into(),
            _ => String::new(),
        },
    };
    for from in [Stage::Draft, Stage::Consultation] {
        s.decisions()
            .advance_proposal(o.it_head.req(advance(from)))
            .await
            .expect("advance proposal");
    }
    s.advance(2 * HOUR);
    for (who, choice) in [
        (&o.zhang, "approve"),
        (&o.alice, "approve"),
        (&o.it_head, "reject"),
    ] {
        s.decisions()
            .cast_vote(who.req(de::CastVoteRequest {
                proposal_id: proposal.id.clone(),
                option_id: choice.into(),
                ..Default::default()
            }))
            .await
            .expect("cast vote");
    }
    s.decisions()
        .advance_proposal(o.it_head.req(advance(Stage::Voting)))
        .await
        .expect("close the vote");
    // Work that follows: one item done on time, one left to go overdue.
    let item = |title: &str, lead: &str, owner: &Who, due| de::CreateActionItemRequest {
        request_id: format!("{title}-{round}"),
        title: title.into(),
        proposal_id: proposal.id.clone(),
        lead_department_id: lead.into(),
        owner_id: owner.id.clone(),
        due_time: s.ts(due),
        ..Default::default()
    };
    let done = s
        .actions()
        .create_action_item(
            o.coordinator
                .req(item("安装新服务器", &o.it, &o.zhang, 2 * DAY)),
        )
        .await
        .expect("create action item")
        .into_inner();
    s.actions()
        .create_action_item(
            o.coordinator
                .req(item("改造机房供电", &o.logistics, &o.wang, 3 * DAY)),
        )
        .await
        .expect("create action item");
    s.actions()
        .report_progress(o.zhang.req(de::ReportProgressRequest {
            request_id: format!("done-{round}"),
            action_item_id: done.id,
            text: "已安装完毕 Installed".into(),
            status: de::ActionItemStatus::Done as i32,
        }))
        .await
        .expect("report progress");
    o.made.insert("proposal", proposal.id);
}

async fn training_first(s: &Suite, o: &mut Org) {
    let plan = s
        .training()
        .create_training_plan(o.it_head.req(tr::CreateTrainingPlanRequest {
            department_id: o.it.clone(),
            title: "网络安全必修课 Cyber security (mandatory)".into(),
            content_outline: "一、法规；二、案例；三、演练".into(),
            mode: tr::Mode::OnSite as i32,
            place: "三楼大会议室".into(),
            sessions: vec![tr::Session {
                title: "第一讲".into(),
                start_time: s.ts(HOUR),
                end_time: s.ts(3 * HOUR),
                ..Default::default()
            }],
            audience: Some(tr::Audience {
                department_ids: vec![o.it.clone()],
                ..Default::default()
            }),
            mandatory: true,
            completion_deadline: s.ts(5 * DAY),
            ..Default::default()
        }))
        .await
        .expect("create training plan")
        .into_inner();
    let plan = s
        .training()
        .publish_training_plan(o.it_head.req(tr::PublishTrainingPlanRequest {
            id: plan.id.clone(),
            etag: plan.etag.clone(),
        }))
        .await
        .expect("publish training plan")
        .into_inner();
    for who in [&o.zhang, &o.alice] {
        let e = s
            .training()
            .enrol_in_training(who.req(tr::EnrolInTrainingRequest {
                plan_id: plan.id.clone(),
                ..Default::default()
            }))
            .await
            .expect("enrol")
            .into_inner();
        o.enrolments.push(e.id);
    }
    s.advance(4 * HOUR);
    s.training()
        .record_attendance(
            o.it_head.req(tr::RecordAttendanceRequest {
                plan_id: plan.id.clone(),
                session_id: plan.sessions[0].id.clone(),
                marks: [&o.zhang, &o.alice]
                    .iter()
                    .map(|p| tr::AttendanceMark {
                        person_id: p.id.clone(),
                        present: true,
                    })
                    .collect(),
            }),
        )
        .await
        .expect("record attendance");
    complete(s, o, 0).await;
    s.training()
        .remind_incomplete(o.it_head.req(tr::RemindIncompleteRequest {
            request_id: "remind-training".into(),
            plan_id: plan.id.clone(),
        }))
        .await
        .expect("remind the incomplete");
    o.made.insert("training", plan.id);
}

async fn complete(s: &Suite, o: &Org, i: usize) {
    s.training()
        .complete_training(o.it_head.req(tr::CompleteTrainingRequest {
            enrolment_id: o.enrolments[i].clone(),
            assessment_score: Some(92.0),
        }))
        .await
        .expect("complete training");
}

async fn training_second(s: &Suite, o: &Org) {
    complete(s, o, 1).await;
    s.training()
        .enrol_in_training(o.it_head.req(tr::EnrolInTrainingRequest {
            plan_id: o.made("training"),
            ..Default::default()
        }))
        .await
        .expect("enrol");
}

/// A department cycle over 信息中心 and 后勤保障处: a reviewer's scores, an
/// automatic indicator collected from notices, published.
async fn appraisal_round(s: &Suite, o: &Org) {
    let manual = |code: &str, name: &str, weight| ap::Indicator {
        code: code.into(),
        name: name.into(),
        dimension: ap::Dimension::Quality as i32,
        weight,
        rule: ap::ScoringRule::Manual as i32,
        source: ap::Source::Manual as i32,
        ..Default::default()
    };
    let set = s
        .appraisal()
        .create_indicator_set(o.admin.req(ap::CreateIndicatorSetRequest {
            name: "部门考核 Department appraisal".into(),
            indicators: vec![
                manual("quality", "工作质量", 60),
                ap::Indicator {
                    code: "read".into(),
                    name: "通知阅读率 Notice read rate".into(),
                    dimension: ap::Dimension::Efficiency as i32,
                    weight: 40,
                    rule: ap::ScoringRule::Linear as i32,
                    floor: 0.0,
                    target: 1.0,
                    source: ap::Source::NoticeReadRate as i32,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }))
        .await
        .expect("create indicator set")
        .into_inner();
    let c = s.appraisal();
    let mut cycle = c
        .clone()
        .create_cycle(o.admin.req(ap::CreateCycleRequest {
            name: "2026 部门考核".into(),
            indicator_set_id: set.id.clone(),
            subject_kind: ap::SubjectKind::Department as i32,
            subject_ids: vec![o.it.clone(), o.logistics.clone()],
            period_start_time: s.ts(-DAY),
            period_end_time: s.ts(DAY),
            ..Default::default()
        }))
        .await
        .expect("create cycle")
        .into_inner();
    for dept in [&o.it, &o.logistics] {
        c.clone()
            .assign_reviewer(o.admin.req(ap::AssignReviewerRequest {
                cycle_id: cycle.id.clone(),
                subject_id: dept.clone(),
                reviewer_id: o.office_head.id.clone(),
            }))
            .await
            .expect("assign reviewer");
    }
    let advance = |cycle: &ap::Cycle| {
        let (c, req) = (
            c.clone(),
            o.admin.req(ap::AdvanceCycleRequest {
                id: cycle.id.clone(),
                from_stage: cycle.stage,
                etag: String::new(),
            }),
        );
        async move {
            c.clone()
                .advance_cycle(req)
                .await
                .expect("advance cycle")
                .into_inner()
        }
    };
    cycle = advance(&cycle).await;
    for (dept, value) in [(&o.it, 90.0), (&o.logistics, 75.0)] {
        c.clone()
            .submit_score(o.office_head.req(ap::SubmitScoreRequest {
                cycle_id: cycle.id.clone(),
                subject_id: dept.clone(),
                indicator_code: "quality".into(),
                value,
                comment: "工作扎实 Solid work".into(),
            }))
            .await
            .expect("submit score");
    }
    c.clone()
        .collect_automatic_scores(o.admin.req(ap::CollectAutomaticScoresRequest {
            cycle_id: cycle.id.clone(),
        }))
        .await
        .expect("collect automatic scores");
    cycle = advance(&cycle).await;
    advance(&cycle).await;
}

/// Calls the gateway or a service refuses: no token, a role the policy does
/// not allow, a record that does not exist, a bad field.
async fn refused_calls(s: &Suite, o: &Org) {
    let anonymous = s
        .directory()
        .list_departments(dir::ListDepartmentsRequest::default())
        .await;
    assert_eq!(anonymous.unwrap_err().code(), tonic::Code::Unauthenticated);
    let denied = s
        .directory()
        .create_department(o.zhang.req(dir::CreateDepartmentRequest {
            name: "越权 Not mine".into(),
            ..Default::default()
        }))
        .await;
    assert_eq!(denied.unwrap_err().code(), tonic::Code::PermissionDenied);
    let missing = s
        .notices()
        .get_notice(o.zhang.req(no::GetNoticeRequest {
            id: concord_kit::ids::new_id(),
        }))
        .await;
    assert_eq!(missing.unwrap_err().code(), tonic::Code::NotFound);
    let bad = s
        .feedback()
        .submit_feedback(o.zhang.req(fb::SubmitFeedbackRequest::default()))
        .await;
    assert_eq!(bad.unwrap_err().code(), tonic::Code::InvalidArgument);
}

/// A figure of one of our departments, as Prometheus has it.
async fn value(p: &Prometheus, expr: &str) -> f64 {
    let result = p.query(expr).await.expect("query");
    let sample = result
        .first()
        .unwrap_or_else(|| panic!("no data for {expr}"));
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{expr}: {sample}"))
}

/// The dashboards' figures of this organisation are what the traffic made.
pub async fn check_figures(p: &Prometheus, o: &Org) {
    let (it, logistics) = (&o.it, &o.logistics);
    // Two notices of which 信息中心 read every copy in the second round:
    // one increase of two reads per two deliveries at least.
    let read = value(
        p,
        &format!("department:concord_notices_read:increase1d{{department=\"{it}\"}}"),
    )
    .await;
    let delivered = value(
        p,
        &format!("department:concord_notices_delivered:increase1d{{department=\"{it}\"}}"),
    )
    .await;
    assert!(read > 0.0 && delivered > 0.0, "read {read} of {delivered}");
    // The suggestion routed by duties to 后勤保障处 was never answered.
    let overdue = value(p, &format!("department_state:concord_feedback_items:max{{department=\"{logistics}\", state=\"overdue\"}}")).await;
    assert!(overdue >= 1.0, "overdue feedback of 后勤保障处: {overdue}");
    let items = value(
        p,
        &format!(
            "department:concord_decisions_action_items_overdue:max{{department=\"{logistics}\"}}"
        ),
    )
    .await;
    assert_eq!(items, 2.0, "overdue action items of 后勤保障处");
    // 后勤保障处 acknowledged only after its escalation, 61 s after the alert.
    let late = value(p, &format!("sum(department_drill_le:concord_emergency_time_to_acknowledge_seconds_bucket:increase30d{{department=\"{logistics}\", le=\"60\"}})")).await;
    let all = value(p, &format!("sum(department_drill:concord_emergency_time_to_acknowledge_seconds_count:increase30d{{department=\"{logistics}\"}})")).await;
    assert!(late == 0.0 && all > 0.0, "{late} of {all} within a minute");
}

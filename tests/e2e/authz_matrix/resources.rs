//! Resource rules: who may act on *this* department's person, notice,
//! plan, feedback item, proposal or cycle, beyond what their role allows in
//! general. Each row names the RPC, what it is about, who may and who may
//! not; the test calls it as each of them with a request that is valid in
//! every other respect, so that only the caller makes the difference.
//!
//! The organisation: 办公室 (the owner of everything below, with its head
//! and a member), 财务处 (another department, its head and a member), a
//! coordinator of 协调办, an auditor, an admin.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use concord_e2e::org::{self, Department, Person};
use concord_e2e::raw::{self, Outcome};
use concord_e2e::{Suite, spawn_suite};
use concord_kit::testing::{Backend, token};
use concord_proto::appraisal::v1 as ap;
use concord_proto::decisions::v1 as de;
use concord_proto::directory::v1 as dir;
use concord_proto::emergency::v1 as em;
use concord_proto::feedback::v1 as fb;
use concord_proto::notices::v1 as no;
use concord_proto::policy::v1::Role;
use concord_proto::policy_table;
use concord_proto::training::v1 as tr;
use prost::Message;
use tonic::Code;

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    /// The head of 办公室, the department the resource belongs to.
    HeadOfOwner,
    /// The head of 财务处.
    HeadOfOther,
    Coordinator,
    /// A member of 办公室 (the proposer, the development plan's person).
    MemberOfOwner,
    /// A member of 财务处 (the feedback item's submitter).
    MemberOfOther,
    Auditor,
}

use Who::*;

impl Who {
    fn name(self) -> &'static str {
        match self {
            Admin => "admin",
            HeadOfOwner => "head of 办公室",
            HeadOfOther => "head of 财务处",
            Coordinator => "coordinator (协调办)",
            MemberOfOwner => "member of 办公室",
            MemberOfOther => "member of 财务处",
            Auditor => "auditor",
        }
    }
}

/// One rule: the RPC, what the request is about, who may, who may not.
struct Rule {
    path: &'static str,
    about: &'static str,
    may: &'static [Who],
    may_not: &'static [Who],
    request: fn(&World, Who) -> Bytes,
}

fn encode(m: impl Message) -> Bytes {
    Bytes::from(m.encode_to_vec())
}

/// The rules. `may_not` is tried first, so a call that changes something
/// (advancing a proposal) is refused while the resource is as described;
/// for the later `may` callers a FAILED_PRECONDITION still counts as
/// allowed (the rule let them in; the state had moved on).
const RULES: &[Rule] = &[
    Rule {
        path: "/concord.directory.v1.DirectoryService/CreatePerson",
        about: "a new person in 办公室",
        may: &[Admin, HeadOfOwner],
        may_not: &[HeadOfOther],
        request: |w, who| {
            encode(dir::CreatePersonRequest {
                request_id: format!("rule-person-{who:?}"),
                display_name: format!("新同事 {who:?}"),
                email: format!("new.{who:?}@example.org").to_lowercase(),
                department_id: w.owner.id.clone(),
                ..Default::default()
            })
        },
    },
    Rule {
        path: "/concord.directory.v1.DirectoryService/AddDuty",
        about: "a duty of 办公室",
        may: &[Admin, HeadOfOwner],
        may_not: &[HeadOfOther],
        request: |w, who| {
            encode(dir::AddDutyRequest {
                request_id: format!("rule-duty-{who:?}"),
                department_id: w.owner.id.clone(),
                text: format!("负责公文收发 ({who:?})"),
            })
        },
    },
    Rule {
        path: "/concord.notices.v1.NoticeService/CreateNotice",
        about: "a notice to 办公室 (no publishing grants)",
        may: &[Admin, HeadOfOwner],
        may_not: &[HeadOfOther, Coordinator, MemberOfOwner],
        request: |w, who| {
            encode(no::CreateNoticeRequest {
                request_id: format!("rule-notice-{who:?}"),
                title: "下周一例会".into(),
                body: "Monday meeting.".into(),
                audience: Some(no::Audience {
                    department_ids: vec![w.owner.id.clone()],
                    ..Default::default()
                }),
                ..Default::default()
            })
        },
    },
    Rule {
        path: "/concord.notices.v1.NoticeService/GetReceiptSummary",
        about: "the read counts of a notice the head of 办公室 published to 办公室",
        may: &[Admin, Auditor, HeadOfOwner],
        may_not: &[HeadOfOther, MemberOfOwner],
        request: |w, _| {
            encode(no::GetReceiptSummaryRequest {
                notice_id: w.notice.clone(),
            })
        },
    },
    Rule {
        path: "/concord.emergency.v1.EmergencyService/CreatePlan",
        about: "a contingency plan owned by 办公室",
        may: &[Admin, HeadOfOwner],
        may_not: &[HeadOfOther],
        request: |w, who| {
            encode(em::CreatePlanRequest {
                request_id: format!("rule-plan-{who:?}"),
                plan: Some(em::Plan {
                    title: format!("停水预案 ({who:?})"),
                    incident_type: em::IncidentType::Other as i32,
                    severity: em::Severity::Iv as i32,
                    owner_department_id: w.owner.id.clone(),
                    steps: vec![em::PlanStep {
                        title: "通知各楼层".into(),
                        department_id: w.owner.id.clone(),
                        target_minutes: 30,
                        ..Default::default()
                    }],
                    acknowledgement_timeout: Some(prost_types::Duration {
                        seconds: 600,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            })
        },
    },
    Rule {
        path: "/concord.emergency.v1.EmergencyService/GetEmergencyStatistics",
        about: "the response figures of 办公室",
        may: &[Admin, Auditor, HeadOfOwner],
        may_not: &[HeadOfOther],
        request: |w, _| {
            encode(em::GetEmergencyStatisticsRequest {
                department_id: w.owner.id.clone(),
                start_time: Some(timestamp(w.now - Duration::from_secs(30 * 86_400))),
                end_time: Some(timestamp(w.now)),
                ..Default::default()
            })
        },
    },
    Rule {
        path: "/concord.feedback.v1.FeedbackService/GetFeedbackItem",
        about: "a named item a member of 财务处 submitted to 办公室",
        may: &[Admin, Auditor, HeadOfOwner, MemberOfOwner, MemberOfOther],
        may_not: &[HeadOfOther, Coordinator],
        request: |w, _| {
            encode(fb::GetFeedbackItemRequest {
                id: w.feedback.clone(),
            })
        },
    },
    Rule {
        path: "/concord.feedback.v1.FeedbackService/AcceptFeedback",
        about: "accepting that item (the owning department's part)",
        may: &[Admin, HeadOfOwner],
        may_not: &[HeadOfOther, MemberOfOther, Coordinator],
        request: |w, _| {
            encode(fb::AcceptFeedbackRequest {
                id: w.feedback.clone(),
                comment: "已受理，正在核实。".into(),
                ..Default::default()
            })
        },
    },
    Rule {
        path: "/concord.decisions.v1.DecisionService/GetProposal",
        about: "a draft proposal a member of 办公室 made",
        may: &[Admin, Auditor, HeadOfOwner, MemberOfOwner],
        may_not: &[HeadOfOther, MemberOfOther, Coordinator],
        request: |w, _| {
            encode(de::GetProposalRequest {
                id: w.draft_to_read.clone(),
            })
        },
    },
    Rule {
        path: "/concord.decisions.v1.DecisionService/AdvanceProposal",
        about: "moving such a draft to consultation",
        may: &[Admin, HeadOfOwner, MemberOfOwner],
        may_not: &[HeadOfOther, MemberOfOther],
        request: |w, _| {
            encode(de::AdvanceProposalRequest {
                id: w.draft_to_advance.clone(),
                from_stage: de::Stage::Draft as i32,
                ..Default::default()
            })
        },
    },
    Rule {
        path: "/concord.training.v1.TrainingService/CreateTrainingPlan",
        about: "a training plan of 办公室",
        may: &[Admin, HeadOfOwner],
        may_not: &[HeadOfOther],
        request: |w, who| {
            let start = w.now + Duration::from_secs(7 * 86_400);
            encode(tr::CreateTrainingPlanRequest {
                request_id: format!("rule-training-{who:?}"),
                department_id: w.owner.id.clone(),
                title: format!("公文写作培训 ({who:?})"),
                content_outline: "格式、用语、常见错误。".into(),
                mode: tr::Mode::OnSite as i32,
                place: "三楼会议室".into(),
                sessions: vec![tr::Session {
                    title: "第一讲".into(),
                    start_time: Some(timestamp(start)),
                    end_time: Some(timestamp(start + Duration::from_secs(7_200))),
                    ..Default::default()
                }],
                audience: Some(tr::Audience {
                    department_ids: vec![w.owner.id.clone()],
                    ..Default::default()
                }),
                capacity: 20,
                ..Default::default()
            })
        },
    },
    Rule {
        path: "/concord.training.v1.DevelopmentService/CreateDevelopmentPlan",
        about: "a development plan for a member of 办公室",
        may: &[Admin, HeadOfOwner, MemberOfOwner],
        may_not: &[HeadOfOther, MemberOfOther],
        request: |w, who| {
            encode(tr::CreateDevelopmentPlanRequest {
                request_id: format!("rule-development-{who:?}"),
                person_id: w.owner.members[0].id.clone(),
                title: format!("年度发展计划 ({who:?})"),
                ..Default::default()
            })
        },
    },
    Rule {
        path: "/concord.appraisal.v1.AppraisalService/CreateCycle",
        about: "an appraisal cycle of 办公室 over 办公室",
        may: &[Admin, HeadOfOwner],
        may_not: &[HeadOfOther],
        request: |w, who| {
            encode(ap::CreateCycleRequest {
                request_id: format!("rule-cycle-{who:?}"),
                name: format!("季度考核 ({who:?})"),
                indicator_set_id: w.indicator_set.clone(),
                subject_kind: ap::SubjectKind::Department as i32,
                subject_ids: vec![w.owner.id.clone()],
                owner_department_id: w.owner.id.clone(),
                period_start_time: Some(timestamp(w.now - Duration::from_secs(90 * 86_400))),
                period_end_time: Some(timestamp(w.now - Duration::from_secs(86_400))),
                ..Default::default()
            })
        },
    },
];

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970");
    prost_types::Timestamp {
        seconds: i64::try_from(d.as_secs()).expect("fits"),
        nanos: 0,
    }
}

/// The organisation and the resources the rules are about.
struct World {
    now: SystemTime,
    admin: String,
    owner: Department,
    other: Department,
    coordinator: Person,
    auditor: String,
    notice: String,
    feedback: String,
    draft_to_read: String,
    draft_to_advance: String,
    indicator_set: String,
}

impl World {
    fn token(&self, who: Who) -> String {
        match who {
            Admin => self.admin.clone(),
            HeadOfOwner => self.owner.head.token.clone(),
            HeadOfOther => self.other.head.token.clone(),
            Coordinator => self.coordinator.token.clone(),
            MemberOfOwner => self.owner.members[0].token.clone(),
            MemberOfOther => self.other.members[0].token.clone(),
            Auditor => self.auditor.clone(),
        }
    }

    async fn build(suite: &Suite) -> World {
        let admin = token("rules-admin", &[Role::Admin], None);
        let owner = org::department(suite.as_(Some(&admin)), "办公室", None, 1).await;
        let other = org::department(suite.as_(Some(&admin)), "财务处", None, 1).await;
        let post = org::department(suite.as_(Some(&admin)), "协调办", None, 0).await;
        let coordinator =
            dir::directory_service_client::DirectoryServiceClient::new(suite.as_(Some(&admin)))
                .create_person(dir::CreatePersonRequest {
                    request_id: "rules-coordinator".into(),
                    display_name: "赵协调".into(),
                    email: "coordinator@example.org".into(),
                    department_id: post.id.clone(),
                    roles: vec![Role::Coordinator as i32],
                    ..Default::default()
                })
                .await
                .expect("coordinator")
                .into_inner();
        let coordinator = Person {
            token: token(&coordinator.id, &[Role::Coordinator], Some(&post.id)),
            id: coordinator.id,
            name: coordinator.display_name,
            department_id: post.id,
        };

        let mut notices =
            no::notice_service_client::NoticeServiceClient::new(suite.as_(Some(&owner.head.token)));
        let notice = notices
            .create_notice(no::CreateNoticeRequest {
                request_id: "rules-notice".into(),
                title: "办公室值班表".into(),
                body: "The duty roster.".into(),
                audience: Some(no::Audience {
                    department_ids: vec![owner.id.clone()],
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("notice by the head")
            .into_inner();
        notices
            .publish_notice(no::PublishNoticeRequest {
                id: notice.id.clone(),
                ..Default::default()
            })
            .await
            .expect("publish");

        let feedback = fb::feedback_service_client::FeedbackServiceClient::new(
            suite.as_(Some(&other.members[0].token)),
        )
        .submit_feedback(fb::SubmitFeedbackRequest {
            request_id: "rules-feedback".into(),
            channel: fb::Channel::WebForm as i32,
            category: fb::Category::Problem as i32,
            subject: "报销单据送到办公室后无人签收".into(),
            body: "Receipts delivered to the office go unsigned.".into(),
            department_id: owner.id.clone(),
            ..Default::default()
        })
        .await
        .expect("feedback")
        .into_inner()
        .item
        .expect("item")
        .id;

        let now = SystemTime::now();
        let mut decisions = de::decision_service_client::DecisionServiceClient::new(
            suite.as_(Some(&owner.members[0].token)),
        );
        let mut drafts = Vec::new();
        for n in 0..2 {
            drafts.push(
                decisions
                    .create_proposal(de::CreateProposalRequest {
                        request_id: format!("rules-draft-{n}"),
                        title: format!("更换打印机 ({n})"),
                        background: "The printer jams daily.".into(),
                        owning_department_id: owner.id.clone(),
                        participants: vec![de::Participant {
                            department_id: owner.id.clone(),
                            role: de::ParticipationRole::Approving as i32,
                        }],
                        rule: de::VotingRule::SimpleMajority as i32,
                        electorate: de::Electorate::ApprovingMembers as i32,
                        consultation_end_time: Some(timestamp(now + Duration::from_secs(86_400))),
                        voting_end_time: Some(timestamp(now + Duration::from_secs(2 * 86_400))),
                        ..Default::default()
                    })
                    .await
                    .expect("draft proposal")
                    .into_inner()
                    .id,
            );
        }

        let indicator_set =
            ap::appraisal_service_client::AppraisalServiceClient::new(suite.as_(Some(&admin)))
                .create_indicator_set(ap::CreateIndicatorSetRequest {
                    request_id: "rules-indicators".into(),
                    name: "部门考核指标".into(),
                    indicators: vec![ap::Indicator {
                        code: "quality".into(),
                        name: "工作质量".into(),
                        dimension: ap::Dimension::Quality as i32,
                        weight: 100,
                        rule: ap::ScoringRule::Manual as i32,
                        source: ap::Source::Manual as i32,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .await
                .expect("indicator set")
                .into_inner()
                .id;

        World {
            now,
            admin,
            owner,
            other,
            coordinator,
            auditor: token("rules-auditor", &[Role::Auditor], None),
            notice: notice.id,
            feedback,
            draft_to_advance: drafts.pop().expect("two"),
            draft_to_read: drafts.pop().expect("two"),
            indicator_set,
        }
    }
}

/// Every rule, as each caller it names: exactly those in `may` get past it.
pub async fn resource_rules_let_in_exactly_whom_they_name(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let world = World::build(&suite).await;
    let mut wrong = Vec::new();
    let mut calls = 0u64;
    for rule in RULES {
        let method = policy_table::lookup(rule.path)
            .unwrap_or_else(|| panic!("{} is not in the contracts", rule.path));
        let order = rule
            .may_not
            .iter()
            .map(|w| (*w, false))
            .chain(rule.may.iter().map(|w| (*w, true)));
        for (who, may) in order {
            calls += 1;
            let outcome = raw::call(
                suite.as_(Some(&world.token(who))),
                method,
                (rule.request)(&world, who),
                Duration::from_secs(20),
            )
            .await;
            let code = outcome.code();
            let right = if may {
                matches!(
                    code,
                    Code::Ok | Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted
                )
            } else {
                matches!(code, Code::PermissionDenied | Code::NotFound)
            };
            if !right {
                wrong.push(format!(
                    "{} ({}) as {}: {}, expected {}",
                    method.method,
                    rule.about,
                    who.name(),
                    describe(&outcome),
                    if may {
                        "to be let in"
                    } else {
                        "PERMISSION_DENIED or NOT_FOUND"
                    }
                ));
            }
        }
    }
    let mut tally =
        concord_e2e::report::Tally::new("authorization matrix (resource rules)", &backend);
    tally.calls = calls;
    tally.failed = wrong.len() as u64;
    tally.note = format!("{} rules", RULES.len());
    tally.report();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    suite.stop().await.unwrap();
}

fn describe(outcome: &Outcome) -> String {
    match outcome.status() {
        Some(s) => format!("{:?} ({})", s.code(), s.message()),
        None => "OK".into(),
    }
}

/// The rules as a Markdown table, for `authz_matrix.md`.
pub fn render() -> String {
    let mut out = String::from(
        "\n## Resource rules\n\n\
         Checked by `tests/e2e/authz_matrix/resources.rs` with requests that are \
         valid in every other respect. 办公室 owns each resource; 财务处 is another \
         department. Refused means PERMISSION_DENIED, or NOT_FOUND where the \
         service does not even admit the resource exists.\n\n\
         | RPC | about | may | may not |\n|---|---|---|---|\n",
    );
    for r in RULES {
        let names = |ws: &[Who]| ws.iter().map(|w| w.name()).collect::<Vec<_>>().join(", ");
        let method = r.path.rsplit('/').next().unwrap_or(r.path);
        let _ = writeln!(
            out,
            "| {method} | {} | {} | {} |",
            r.about,
            names(r.may),
            names(r.may_not)
        );
    }
    out
}

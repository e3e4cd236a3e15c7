//! Proposals through the gRPC API: the staged flow, changes, deliberation,
//! who may do what, bad input field by field, and the audit trail of a
//! whole life, on SQLite and on PostgreSQL.

mod common;

use common::*;
use concord_kit::clock::to_timestamp;
use concord_kit::testing::{Backend, with_token};
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::decisions::v1::*;
use concord_proto::policy::v1::Role;
use tonic::Code;

async fn create_read_and_list(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let p = s
        .create(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 50))
        .await;
    assert_eq!(p.title, "调整午休时间 Adjust the lunch break");
    assert_eq!((p.stage, p.etag.as_str()), (Stage::Draft as i32, "1"));
    assert_eq!(
        (p.proposer_id.as_str(), p.owning_department_id.as_str()),
        (zhang.id.as_str(), o.it.as_str())
    );
    assert!(p.approve_or_reject);
    let ids: Vec<_> = p.options.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["approve", "reject"]);
    assert_eq!(p.create_time, Some(to_timestamp(T0)));
    assert_eq!(p.consultation_end_time, Some(to_timestamp(T0 + DAY)));
    assert!(p.outcome.is_none());

    // Several options, owned by another department (admins only).
    let mut req = s.draft(&[&o.it, &o.logistics], VotingRule::TwoThirds, 60);
    req.options = vec![
        "方案甲：推迟半小时".into(),
        "Option B: keep it".into(),
        "方案丙".into(),
    ];
    req.owning_department_id = o.logistics.clone();
    req.participants.push(Participant {
        department_id: o.finance.clone(),
        role: ParticipationRole::Informed as i32,
    });
    req.sealed = true;
    let q = s.create(&o.admin, req).await;
    assert!(!q.approve_or_reject && q.sealed);
    assert_eq!(
        q.options.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    assert_eq!(q.options[1].label, "Option B: keep it");
    assert_eq!(q.owning_department_id, o.logistics);
    assert_eq!(q.participants.len(), 3);

    // Reads: drafts are for the proposer, the owning head, admins and auditors.
    let get = |who: &Caller, id: &str| {
        let mut c = s.p();
        let r = who.req(GetProposalRequest { id: id.into() });
        async move { c.get_proposal(r).await }
    };
    assert_eq!(get(zhang, &p.id).await.unwrap().into_inner(), p);
    assert!(get(&o.it_head, &p.id).await.is_ok());
    assert!(get(&o.auditor, &p.id).await.is_ok());
    fails(get(&o.it_members[1], &p.id).await, Code::PermissionDenied);
    fails(get(&o.logistics_head, &p.id).await, Code::PermissionDenied);
    fails(
        get(zhang, &concord_kit::ids::new_id()).await,
        Code::NotFound,
    );

    let list = |who: &Caller, req: ListProposalsRequest| {
        let mut c = s.p();
        let r = who.req(req);
        async move {
            c.list_proposals(r)
                .await
                .expect("list")
                .into_inner()
                .proposals
                .into_iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        }
    };
    // Newest first; a colleague sees neither draft, the logistics head sees
    // the one its department owns.
    assert_eq!(
        list(&o.admin, Default::default()).await,
        [q.id.clone(), p.id.clone()]
    );
    assert_eq!(
        list(&o.it_members[1], Default::default()).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(&o.logistics_head, Default::default()).await,
        vec![q.id.clone()]
    );
    assert_eq!(list(zhang, Default::default()).await, vec![p.id.clone()]);
    s.advance_by(zhang, &p.id, Stage::Draft, "").await;
    assert_eq!(
        list(&o.it_members[1], Default::default()).await,
        vec![p.id.clone()]
    );
    let by_dept = ListProposalsRequest {
        department_id: o.finance.clone(),
        ..Default::default()
    };
    assert_eq!(list(&o.admin, by_dept).await, vec![q.id.clone()]);
    let by_stage = ListProposalsRequest {
        stage: Stage::Consultation as i32,
        ..Default::default()
    };
    assert_eq!(list(&o.admin, by_stage).await, vec![p.id.clone()]);
    let by_proposer = ListProposalsRequest {
        proposer_id: o.admin.id.clone(),
        ..Default::default()
    };
    assert_eq!(list(&o.admin, by_proposer).await, vec![q.id.clone()]);

    // Pages of one.
    let first = s
        .p()
        .list_proposals(o.admin.req(ListProposalsRequest {
            page_size: 1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.proposals[0].id, q.id);
    let second = s
        .p()
        .list_proposals(o.admin.req(ListProposalsRequest {
            page_size: 1,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.proposals[0].id, p.id);
    assert!(second.next_page_token.is_empty());
    names(
        s.p()
            .list_proposals(o.admin.req(ListProposalsRequest {
                page_token: first.next_page_token,
                stage: Stage::Draft as i32,
                ..Default::default()
            }))
            .await,
        &["page_token"],
    );
}

async fn idempotent_creates(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let mut req = s.draft(&[&o.it], VotingRule::SimpleMajority, 0);
    req.request_id = "提案-1".into();
    let a = s.create(&o.it_head, req.clone()).await;
    let b = s.create(&o.it_head, req.clone()).await;
    assert_eq!(a, b);
    // The id is the caller's: another person's same id is a new proposal.
    let c = s.create(&o.it_members[0], req).await;
    assert_ne!(a.id, c.id);
    s.advance_by(&o.it_head, &a.id, Stage::Draft, "").await;
    let comment = CreateCommentRequest {
        request_id: "c-1".into(),
        proposal_id: a.id.clone(),
        stance: Stance::Support as i32,
        body: "同意".into(),
        ..Default::default()
    };
    let x = s
        .p()
        .create_comment(o.it_head.req(comment.clone()))
        .await
        .unwrap()
        .into_inner();
    let y = s
        .p()
        .create_comment(o.it_head.req(comment))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(x, y);
    let all = s
        .p()
        .list_comments(o.admin.req(ListCommentsRequest {
            proposal_id: a.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.comments.len(), 1);
    let creates = s
        .actions(&a.id)
        .await
        .iter()
        .filter(|a| *a == "proposal.create")
        .count();
    assert_eq!(creates, 1);
}

async fn the_staged_flow_in_order(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let p = s
        .create(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 50))
        .await;
    // Stages cannot be skipped, and from_stage must be the current one.
    let skip = s
        .p()
        .advance_proposal(zhang.req(AdvanceProposalRequest {
            id: p.id.clone(),
            from_stage: Stage::Consultation as i32,
            rationale: String::new(),
        }))
        .await;
    fails(skip, Code::FailedPrecondition);
    s.advance(HOUR);
    let c = s.advance_by(zhang, &p.id, Stage::Draft, "").await;
    assert_eq!(c.stage, Stage::Consultation as i32);
    assert_eq!(c.consultation_start_time, Some(to_timestamp(T0 + HOUR)));
    assert_eq!(c.stage_time, Some(to_timestamp(T0 + HOUR)));
    assert_eq!(c.etag, "2");
    // A retried advance finds the proposal moved on.
    let again = s
        .p()
        .advance_proposal(zhang.req(AdvanceProposalRequest {
            id: p.id.clone(),
            from_stage: Stage::Draft as i32,
            rationale: String::new(),
        }))
        .await;
    fails(again, Code::FailedPrecondition);

    s.advance(HOUR);
    let v = s.advance_by(zhang, &p.id, Stage::Consultation, "").await;
    assert_eq!(v.stage, Stage::Voting as i32);
    assert_eq!(v.voting_start_time, Some(to_timestamp(T0 + 2 * HOUR)));
    // The head and three members of 信息中心; not 网络科 below it.
    assert_eq!(v.eligible_voters, 4);
    let voters = s
        .p()
        .list_eligible_voters(o.admin.req(ListEligibleVotersRequest {
            proposal_id: p.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .voters;
    let mut names: Vec<_> = voters.iter().map(|v| v.display_name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Alice Wang", "张三", "李主任", "李四"]);
    assert!(
        voters
            .iter()
            .all(|v| v.department_id == o.it && v.delegate_id.is_empty())
    );

    // People who join later do not vote.
    let late = s.person("新同事", &o.it, &[Role::Member]).await;
    let denied = s
        .p()
        .cast_vote(late.req(CastVoteRequest {
            proposal_id: p.id.clone(),
            option_id: "approve".into(),
            ..Default::default()
        }))
        .await;
    fails(denied, Code::PermissionDenied);

    s.vote(&o.it_members[0], &p.id, "approve").await;
    s.vote(&o.it_members[1], &p.id, "approve").await;
    s.vote(&o.it_head, &p.id, "reject").await;
    s.advance(HOUR);
    let d = s
        .advance_by(zhang, &p.id, Stage::Voting, "多数同意，按期实施")
        .await;
    assert_eq!(d.stage, Stage::Decided as i32);
    let out = d.outcome.clone().unwrap();
    assert_eq!(out.result, Stage::Decided as i32);
    assert_eq!(out.chosen_option_id, "approve");
    assert_eq!(out.rationale, "多数同意，按期实施");
    assert_eq!(out.decided_by, zhang.id);
    assert_eq!(out.decide_time, Some(to_timestamp(T0 + 3 * HOUR)));
    assert_eq!(
        out.explanation,
        "simple majority: approve: 2, reject: 1, abstain: 0; 3 of 4 eligible voters took part (0 by proxy), quorum 50% met; \"approve\" carries."
    );
    // Voting is over.
    let late_vote = s
        .p()
        .cast_vote(o.it_members[2].req(CastVoteRequest {
            proposal_id: p.id.clone(),
            option_id: "approve".into(),
            ..Default::default()
        }))
        .await;
    fails(late_vote, Code::FailedPrecondition);
    let i = s.advance_by(zhang, &p.id, Stage::Decided, "").await;
    assert_eq!(i.stage, Stage::Implementing as i32);
    let closed = s
        .advance_by(&o.it_head, &p.id, Stage::Implementing, "")
        .await;
    assert_eq!(closed.stage, Stage::Closed as i32);
    let no_further = s
        .p()
        .advance_proposal(zhang.req(AdvanceProposalRequest {
            id: p.id.clone(),
            from_stage: Stage::Closed as i32,
            rationale: String::new(),
        }))
        .await;
    fails(no_further, Code::FailedPrecondition);

    // A rejected proposal closes directly; it cannot be implemented.
    let r = s
        .voting(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    s.vote(&o.it_head, &r.id, "reject").await;
    let rejected = s.advance_by(zhang, &r.id, Stage::Voting, "").await;
    assert_eq!(
        (
            rejected.stage,
            rejected.outcome.unwrap().chosen_option_id.as_str()
        ),
        (Stage::Rejected as i32, "")
    );
    let implement = s
        .p()
        .advance_proposal(zhang.req(AdvanceProposalRequest {
            id: r.id.clone(),
            from_stage: Stage::Decided as i32,
            rationale: String::new(),
        }))
        .await;
    fails(implement, Code::FailedPrecondition);
    assert_eq!(
        s.advance_by(zhang, &r.id, Stage::Rejected, "").await.stage,
        Stage::Closed as i32
    );

    // Heads as the electorate: only 李主任 votes.
    let mut heads = s.draft(&[&o.it, &o.logistics], VotingRule::Unanimity, 100);
    heads.electorate = Electorate::ApprovingHeads as i32;
    heads.owning_department_id = o.it.clone();
    let h = s.voting(&o.admin, heads).await;
    assert_eq!(h.eligible_voters, 2);
    fails(
        s.p()
            .cast_vote(zhang.req(CastVoteRequest {
                proposal_id: h.id.clone(),
                option_id: "approve".into(),
                ..Default::default()
            }))
            .await,
        Code::PermissionDenied,
    );
    s.vote(&o.it_head, &h.id, "approve").await;
    s.vote(&o.logistics_head, &h.id, "approve").await;
    let done = s.advance_by(&o.admin, &h.id, Stage::Voting, "").await;
    assert_eq!(done.stage, Stage::Decided as i32);
}

async fn who_moves_and_changes(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let p = s
        .create(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    let advance = |who: &Caller, from: Stage| {
        let mut c = s.p();
        let r = who.req(AdvanceProposalRequest {
            id: p.id.clone(),
            from_stage: from as i32,
            rationale: String::new(),
        });
        async move { c.advance_proposal(r).await }
    };
    // A colleague, another department's head and the coordinator may not
    // (they do not see the draft, or may not move it).
    for who in [&o.it_members[1], &o.logistics_head, &o.coordinator] {
        fails(advance(who, Stage::Draft).await, Code::PermissionDenied);
    }
    fails(
        advance(&o.auditor, Stage::Draft).await,
        Code::PermissionDenied,
    );
    fails(
        advance(&o.service, Stage::Draft).await,
        Code::PermissionDenied,
    );
    // The owning department's head may.
    advance(&o.it_head, Stage::Draft).await.unwrap();
    fails(
        advance(&o.it_members[1], Stage::Consultation).await,
        Code::PermissionDenied,
    );
    // An admin may.
    advance(&o.admin, Stage::Consultation).await.unwrap();

    // Owning another department is for admins.
    let mut req = s.draft(&[&o.it], VotingRule::SimpleMajority, 0);
    req.owning_department_id = o.finance.clone();
    fails(
        s.p().create_proposal(zhang.req(req)).await,
        Code::PermissionDenied,
    );
    // Auditors and services do not propose.
    for who in [&o.auditor, &o.service] {
        let r = s
            .p()
            .create_proposal(who.req(s.draft(&[&o.it], VotingRule::SimpleMajority, 0)))
            .await;
        fails(r, Code::PermissionDenied);
    }
    // Unauthenticated calls are refused before anything else.
    let anon = s
        .p()
        .get_proposal(tonic::Request::new(GetProposalRequest { id: p.id.clone() }))
        .await;
    fails(anon, Code::Unauthenticated);

    // Changes: only the mover, with the right etag and stage.
    let q = s
        .create(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    let update = |who: &Caller, proposal: Proposal, paths: &[&str]| {
        let mut c = s.p();
        let r = who.req(UpdateProposalRequest {
            proposal: Some(proposal),
            update_mask: mask(paths),
        });
        async move { c.update_proposal(r).await }
    };
    let mut change = q.clone();
    change.title = "调整午休时间（修订）".into();
    change.options = vec![
        ProposalOption {
            id: String::new(),
            label: "十二点".into(),
        },
        ProposalOption {
            id: String::new(),
            label: "十二点半".into(),
        },
    ];
    fails(
        update(&o.it_members[1], change.clone(), &["title"]).await,
        Code::PermissionDenied,
    );
    let changed = update(zhang, change.clone(), &["title", "options"])
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (changed.title.as_str(), changed.etag.as_str()),
        ("调整午休时间（修订）", "2")
    );
    assert!(!changed.approve_or_reject);
    assert_eq!(changed.options[1].label, "十二点半");
    // The old etag is stale.
    fails(
        update(zhang, change.clone(), &["title"]).await,
        Code::Aborted,
    );
    // Consent needs approve/reject.
    let mut consent = changed.clone();
    consent.rule = VotingRule::Consent as i32;
    names(update(zhang, consent, &["rule"]).await, &["proposal.rule"]);
    // A participant that names no department.
    let mut bad = changed.clone();
    bad.participants[0].department_id = concord_kit::ids::new_id();
    names(
        update(zhang, bad, &["participants"]).await,
        &["proposal.participants[0].department_id"],
    );
    // In consultation only the deadlines change.
    s.advance_by(zhang, &q.id, Stage::Draft, "").await;
    let current = s.get(&q.id).await;
    let mut later = current.clone();
    later.consultation_end_time = Some(to_timestamp(T0 + 3 * DAY));
    later.voting_end_time = Some(to_timestamp(T0 + 4 * DAY));
    let moved = update(
        zhang,
        later.clone(),
        &["consultation_end_time", "voting_end_time"],
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(moved.voting_end_time, Some(to_timestamp(T0 + 4 * DAY)));
    let mut retitle = moved.clone();
    retitle.title = "不可".into();
    fails(
        update(zhang, retitle, &["title"]).await,
        Code::FailedPrecondition,
    );
    let mut backwards = moved.clone();
    backwards.voting_end_time = Some(to_timestamp(T0 + 2 * DAY));
    names(
        update(zhang, backwards, &["voting_end_time"]).await,
        &["proposal.voting_end_time"],
    );
    // After the decision, the rationale.
    s.advance_by(zhang, &q.id, Stage::Consultation, "").await;
    s.vote(zhang, &q.id, "1").await;
    let decided = s.advance_by(zhang, &q.id, Stage::Voting, "").await;
    let mut why = decided.clone();
    why.outcome.as_mut().unwrap().rationale = "午休提前便于错峰就餐".into();
    let r = update(&o.it_head, why, &["outcome.rationale"])
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outcome.unwrap().rationale, "午休提前便于错峰就餐");
}

async fn deliberation_and_objections(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let p = s
        .create(zhang, s.draft(&[&o.it], VotingRule::Consent, 0))
        .await;
    let comment = |who: &Caller, parent: &str, stance: Stance, body: &str| {
        let mut c = s.p();
        let r = who.req(CreateCommentRequest {
            proposal_id: p.id.clone(),
            parent_id: parent.into(),
            stance: stance as i32,
            body: body.into(),
            ..Default::default()
        });
        async move { c.create_comment(r).await }
    };
    // Not while a draft.
    fails(
        comment(zhang, "", Stance::Support, "x").await,
        Code::FailedPrecondition,
    );
    s.advance_by(zhang, &p.id, Stage::Draft, "").await;
    let support = comment(&o.logistics_head, "", Stance::Support, "后勤支持")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            support.author_id.as_str(),
            support.author_department_id.as_str()
        ),
        (o.logistics_head.id.as_str(), o.logistics.as_str())
    );
    let objection = comment(
        &o.it_members[1],
        "",
        Stance::Objection,
        "会影响值班安排 It clashes with the duty roster",
    )
    .await
    .unwrap()
    .into_inner();
    assert!(!objection.answered);
    assert_eq!(s.get(&p.id).await.unanswered_objections, 1);
    // The objection stands: voting cannot open on a consent proposal.
    let blocked = s
        .p()
        .advance_proposal(zhang.req(AdvanceProposalRequest {
            id: p.id.clone(),
            from_stage: Stage::Consultation as i32,
            rationale: String::new(),
        }))
        .await;
    fails(blocked, Code::FailedPrecondition);
    // A colleague's reply does not answer it; replies need no stance.
    comment(
        &o.it_members[2],
        &objection.id,
        Stance::Unspecified,
        "我也这么认为",
    )
    .await
    .unwrap();
    assert_eq!(s.get(&p.id).await.unanswered_objections, 1);
    // A top-level comment needs a stance; a parent must belong here.
    names(
        comment(zhang, "", Stance::Unspecified, "无立场").await,
        &["stance"],
    );
    let other = s
        .create(zhang, s.draft(&[&o.it], VotingRule::Consent, 0))
        .await;
    s.advance_by(zhang, &other.id, Stage::Draft, "").await;
    let foreign = s
        .p()
        .create_comment(zhang.req(CreateCommentRequest {
            proposal_id: other.id.clone(),
            stance: Stance::Concern as i32,
            body: "?".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    names(
        comment(zhang, &foreign.id, Stance::Unspecified, "错帖").await,
        &["parent_id"],
    );
    // The proposer answers; voting opens.
    comment(
        zhang,
        &objection.id,
        Stance::Unspecified,
        "值班表将同步调整",
    )
    .await
    .unwrap();
    assert_eq!(s.get(&p.id).await.unanswered_objections, 0);
    let v = s.advance_by(zhang, &p.id, Stage::Consultation, "").await;
    assert_eq!(v.stage, Stage::Voting as i32);
    // Comments stay open while voting; not afterwards.
    comment(&o.finance_head, "", Stance::Concern, "预算影响？")
        .await
        .unwrap();
    s.advance_by(zhang, &p.id, Stage::Voting, "").await;
    fails(
        comment(zhang, "", Stance::Support, "晚了").await,
        Code::FailedPrecondition,
    );

    let all = s
        .p()
        .list_comments(o.it_members[1].req(ListCommentsRequest {
            proposal_id: p.id.clone(),
            page_size: 2,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.comments.len(), 2);
    assert_eq!(all.comments[0].id, support.id);
    let rest = s
        .p()
        .list_comments(o.it_members[1].req(ListCommentsRequest {
            proposal_id: p.id.clone(),
            page_size: 10,
            page_token: all.next_page_token,
        }))
        .await
        .unwrap()
        .into_inner();
    let stances: Vec<i32> = rest.comments.iter().map(|c| c.stance).collect();
    assert_eq!(
        stances,
        [
            Stance::Unspecified as i32,
            Stance::Unspecified as i32,
            Stance::Concern as i32
        ]
    );
    let answered = rest
        .comments
        .iter()
        .find(|c| c.parent_id == objection.id && c.author_id == zhang.id)
        .unwrap();
    assert_eq!(answered.body, "值班表将同步调整");
    let history = s.history(&o.admin, &p.id).await;
    let answer = history
        .iter()
        .filter(|e| e.action == "comment.create")
        .nth(3)
        .unwrap();
    assert!(
        answer.detail_json.contains(&objection.id),
        "{}",
        answer.detail_json
    );
}

async fn bad_input_names_fields(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let admin = &o.admin;
    let bad_id = "not-an-id".to_string();

    // CreateProposal: every field at once, then the cross-field rules.
    let everything = CreateProposalRequest {
        request_id: "x".repeat(200),
        title: String::new(),
        background: "\u{7}".into(),
        options: vec!["唯一".into()],
        owning_department_id: bad_id.clone(),
        participants: vec![Participant {
            department_id: bad_id.clone(),
            role: 0,
        }],
        rule: 0,
        quorum_percent: 101,
        electorate: 0,
        sealed: false,
        consultation_end_time: None,
        voting_end_time: Some(prost_types::Timestamp {
            seconds: 1,
            nanos: -5,
        }),
    };
    names(
        s.p().create_proposal(admin.req(everything)).await,
        &[
            "request_id",
            "title",
            "background",
            "options",
            "owning_department_id",
            "participants[0].department_id",
            "participants[0].role",
            "participants",
            "rule",
            "quorum_percent",
            "electorate",
            "consultation_end_time",
            "voting_end_time",
        ],
    );
    let mut r = s.draft(&[&o.it], VotingRule::Consent, 0);
    r.options = vec!["甲".into(), "甲".into(), " ".into()];
    r.title = "两行\n标题".into();
    r.consultation_end_time = Some(to_timestamp(T0 - 1));
    names(
        s.p().create_proposal(admin.req(r)).await,
        &[
            "options[1]",
            "options[2]",
            "title",
            "rule",
            "consultation_end_time",
        ],
    );
    let mut r = s.draft(&[&o.it, &o.it], VotingRule::SimpleMajority, 0);
    r.voting_end_time = r.consultation_end_time;
    names(
        s.p().create_proposal(admin.req(r)).await,
        &["participants[1].department_id", "voting_end_time"],
    );
    let mut r = s.draft(&[], VotingRule::SimpleMajority, 0);
    r.participants.push(Participant {
        department_id: o.it.clone(),
        role: ParticipationRole::Informed as i32,
    });
    names(s.p().create_proposal(admin.req(r)).await, &["participants"]);
    // Ids that name nothing.
    let mut r = s.draft(
        &[&o.it, &concord_kit::ids::new_id()],
        VotingRule::SimpleMajority,
        0,
    );
    r.owning_department_id = concord_kit::ids::new_id();
    names(
        s.p().create_proposal(admin.req(r)).await,
        &["owning_department_id", "participants[1].department_id"],
    );

    let p = s
        .create(&o.it_head, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    names(
        s.p()
            .get_proposal(admin.req(GetProposalRequest { id: bad_id.clone() }))
            .await,
        &["id"],
    );
    names(
        s.p()
            .list_proposals(admin.req(ListProposalsRequest {
                stage: 99,
                department_id: bad_id.clone(),
                proposer_id: "\u{2}".into(),
                page_size: -1,
                page_token: String::new(),
            }))
            .await,
        &["stage", "department_id", "proposer_id", "page_size"],
    );
    names(
        s.p()
            .list_proposals(admin.req(ListProposalsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            }))
            .await,
        &["page_token"],
    );
    // UpdateProposal.
    names(
        s.p()
            .update_proposal(admin.req(UpdateProposalRequest {
                proposal: None,
                update_mask: mask(&["title"]),
            }))
            .await,
        &["proposal"],
    );
    let mut bad = p.clone();
    bad.id = bad_id.clone();
    bad.etag = "W/1".into();
    bad.title = String::new();
    bad.quorum_percent = -1;
    bad.options = vec![
        ProposalOption {
            id: String::new(),
            label: String::new(),
        },
        ProposalOption {
            id: String::new(),
            label: "乙".into(),
        },
    ];
    names(
        s.p()
            .update_proposal(admin.req(UpdateProposalRequest {
                proposal: Some(bad),
                update_mask: mask(&["title", "quorum_percent", "options", "nope"]),
            }))
            .await,
        &[
            "proposal.id",
            "proposal.etag",
            "proposal.title",
            "proposal.quorum_percent",
            "proposal.options[0].label",
            "update_mask",
        ],
    );
    names(
        s.p()
            .update_proposal(admin.req(UpdateProposalRequest {
                proposal: Some(p.clone()),
                update_mask: None,
            }))
            .await,
        &["update_mask"],
    );
    // AdvanceProposal.
    names(
        s.p()
            .advance_proposal(admin.req(AdvanceProposalRequest {
                id: bad_id.clone(),
                from_stage: 0,
                rationale: "\u{1}".into(),
            }))
            .await,
        &["id", "from_stage", "rationale"],
    );
    names(
        s.p()
            .advance_proposal(admin.req(AdvanceProposalRequest {
                id: p.id.clone(),
                from_stage: Stage::Draft as i32,
                rationale: "为何".into(),
            }))
            .await,
        &["rationale"],
    );
    // Comments.
    names(
        s.p()
            .create_comment(admin.req(CreateCommentRequest {
                request_id: "r".repeat(129),
                proposal_id: bad_id.clone(),
                parent_id: bad_id.clone(),
                stance: 42,
                body: " ".into(),
            }))
            .await,
        &["request_id", "proposal_id", "parent_id", "stance", "body"],
    );
    names(
        s.p()
            .list_comments(admin.req(ListCommentsRequest {
                proposal_id: bad_id.clone(),
                page_size: -3,
                ..Default::default()
            }))
            .await,
        &["proposal_id", "page_size"],
    );
    names(
        s.p()
            .list_proposal_history(admin.req(ListProposalHistoryRequest {
                proposal_id: bad_id.clone(),
                page_size: -1,
                ..Default::default()
            }))
            .await,
        &["proposal_id", "page_size"],
    );
    fails(
        s.p()
            .list_proposal_history(admin.req(ListProposalHistoryRequest {
                proposal_id: concord_kit::ids::new_id(),
                ..Default::default()
            }))
            .await,
        Code::NotFound,
    );
    names(
        s.p()
            .list_audit_entries(admin.req(ListAuditEntriesRequest {
                page_size: -1,
                ..Default::default()
            }))
            .await,
        &["page_size"],
    );
}

async fn audit_and_history_access(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let p = s
        .create(&o.it_head, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    let audit = |who: &Caller| {
        let mut c = s.p();
        let r = who.req(ListAuditEntriesRequest {
            resource: format!("proposals/{}", p.id),
            ..Default::default()
        });
        async move { c.list_audit_entries(r).await }
    };
    for who in [&o.it_head, &o.coordinator, &o.it_members[0], &o.service] {
        fails(audit(who).await, Code::PermissionDenied);
    }
    for who in [&o.admin, &o.auditor] {
        let entries = audit(who).await.unwrap().into_inner().entries;
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].action.as_str(), entries[0].actor.as_str()),
            ("proposal.create", o.it_head.id.as_str())
        );
    }
    // The history of a draft follows the draft's visibility.
    let history = |who: &Caller| {
        let mut c = s.p();
        let r = who.req(ListProposalHistoryRequest {
            proposal_id: p.id.clone(),
            ..Default::default()
        });
        async move { c.list_proposal_history(r).await }
    };
    fails(history(&o.it_members[0]).await, Code::PermissionDenied);
    assert!(history(&o.it_head).await.is_ok());
    s.advance_by(&o.it_head, &p.id, Stage::Draft, "").await;
    assert_eq!(
        history(&o.it_members[0])
            .await
            .unwrap()
            .into_inner()
            .events
            .len(),
        2
    );
    // A token that is not a bearer token.
    let mut req = tonic::Request::new(ListProposalHistoryRequest {
        proposal_id: p.id.clone(),
        ..Default::default()
    });
    req.metadata_mut()
        .insert("authorization", "Basic abc".parse().unwrap());
    fails(
        s.p().list_proposal_history(req).await,
        Code::Unauthenticated,
    );
    // A forged token.
    let forged = concord_kit::auth::Issuer::new(b"some-other-secret-some-other-secret")
        .issue(
            "x",
            &[Role::Admin],
            None,
            std::time::Duration::from_secs(60),
        )
        .unwrap();
    fails(
        s.p()
            .list_proposal_history(with_token(
                ListProposalHistoryRequest {
                    proposal_id: p.id.clone(),
                    ..Default::default()
                },
                &forged,
            ))
            .await,
        Code::Unauthenticated,
    );
}

/// The history of a proposal's whole life, event by event.
async fn audit_trail_of_a_whole_life(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let li = &o.it_members[1];
    let alice = &o.it_members[2];
    let mut req = s.draft(&[&o.it], VotingRule::SimpleMajority, 50);
    req.sealed = true;
    let p = s.create(zhang, req).await;
    let mut change = p.clone();
    change.background = "## 背景\n补充：征求了各部门意见。".into();
    s.p()
        .update_proposal(zhang.req(UpdateProposalRequest {
            proposal: Some(change),
            update_mask: mask(&["background"]),
        }))
        .await
        .unwrap();
    s.advance_by(zhang, &p.id, Stage::Draft, "").await;
    let objection = s
        .p()
        .create_comment(li.req(CreateCommentRequest {
            proposal_id: p.id.clone(),
            stance: Stance::Objection as i32,
            body: "反对".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    s.p()
        .create_comment(zhang.req(CreateCommentRequest {
            proposal_id: p.id.clone(),
            parent_id: objection.id.clone(),
            body: "已调整".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    s.advance_by(zhang, &p.id, Stage::Consultation, "").await;
    s.vote(li, &p.id, "reject").await;
    s.vote(li, &p.id, "approve").await;
    s.p()
        .delegate_vote(alice.req(DelegateVoteRequest {
            proposal_id: p.id.clone(),
            delegate_id: zhang.id.clone(),
        }))
        .await
        .unwrap();
    s.vote(zhang, &p.id, "approve").await;
    s.p()
        .revoke_delegation(alice.req(RevokeDelegationRequest {
            proposal_id: p.id.clone(),
        }))
        .await
        .unwrap();
    s.vote(alice, &p.id, "").await;
    s.advance(HOUR);
    s.advance_by(zhang, &p.id, Stage::Voting, "赞成多数").await;
    s.advance_by(zhang, &p.id, Stage::Decided, "").await;
    s.i()
        .create_action_item(o.coordinator.req(CreateActionItemRequest {
            title: "发布新作息表".into(),
            proposal_id: p.id.clone(),
            lead_department_id: o.it.clone(),
            supporting_department_ids: vec![o.logistics.clone()],
            owner_id: zhang.id.clone(),
            due_time: Some(to_timestamp(s.now() + 7 * DAY)),
            ..Default::default()
        }))
        .await
        .unwrap();
    s.advance_by(&o.it_head, &p.id, Stage::Implementing, "")
        .await;

    let events = s.history(&o.admin, &p.id).await;
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    let want = vec![
        ("proposal.create", zhang.id.as_str()),
        ("proposal.update", zhang.id.as_str()),
        ("proposal.consultation", zhang.id.as_str()),
        ("comment.create", li.id.as_str()),
        ("comment.create", zhang.id.as_str()),
        ("proposal.voting", zhang.id.as_str()),
        ("vote.cast", li.id.as_str()),
        ("vote.change", li.id.as_str()),
        ("delegation.create", alice.id.as_str()),
        ("vote.cast", zhang.id.as_str()),
        ("delegation.revoke", alice.id.as_str()),
        ("vote.cast", alice.id.as_str()),
        ("proposal.outcome", zhang.id.as_str()),
        ("proposal.implementing", zhang.id.as_str()),
        ("action_item.create", o.coordinator.id.as_str()),
        ("proposal.closed", o.it_head.id.as_str()),
    ];
    assert_eq!(got, want);
    let detail =
        |i: usize| -> serde_json::Value { serde_json::from_str(&events[i].detail_json).unwrap() };
    assert_eq!(detail(1)["fields"], serde_json::json!(["background"]));
    assert_eq!(
        detail(4)["answers_objection"],
        serde_json::json!(objection.id)
    );
    assert_eq!(detail(5)["eligible_voters"], 4);
    assert_eq!(detail(7)["previous_option_id"], "reject");
    assert_eq!(detail(7)["option_id"], "approve");
    assert_eq!(detail(8)["delegate_id"], serde_json::json!(zhang.id));
    assert_eq!(detail(9)["proxy_for"], serde_json::json!([alice.id]));
    assert_eq!(detail(11)["abstain"], true);
    let outcome = detail(12);
    assert_eq!(outcome["result"], "decided");
    assert_eq!(outcome["chosen_option_id"], "approve");
    assert_eq!(outcome["rationale"], "赞成多数");
    assert_eq!(
        (
            outcome["eligible"].as_i64(),
            outcome["participated"].as_i64()
        ),
        (Some(4), Some(3))
    );
    assert_eq!(detail(14)["title"], "发布新作息表");
    // Times follow the clock.
    assert_eq!(events[0].time, Some(to_timestamp(T0)));
    assert_eq!(events[12].time, Some(to_timestamp(T0 + HOUR)));
    // The service's own audit list has the same entries, newest first.
    let audit = s
        .p()
        .list_audit_entries(o.auditor.req(ListAuditEntriesRequest {
            resource: format!("proposals/{}", p.id),
            page_size: 100,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let mut ids: Vec<_> = audit.iter().map(|e| e.id.clone()).collect();
    ids.reverse();
    assert_eq!(ids, events.iter().map(|e| e.id.clone()).collect::<Vec<_>>());
}

/// Every read of a proposal, by role: drafts for the proposer, the owning
/// head, admins and auditors; later stages for everybody signed in.
async fn reads_by_role(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let draft = s
        .create(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    let open = s
        .voting(zhang, s.draft(&[&o.it], VotingRule::SimpleMajority, 0))
        .await;
    async fn reads(s: &Suite, who: Option<&Caller>, id: &str) -> Vec<(&'static str, Code)> {
        fn req<T>(who: Option<&Caller>, m: T) -> tonic::Request<T> {
            match who {
                Some(w) => w.req(m),
                None => tonic::Request::new(m),
            }
        }
        let code = |r: Result<(), tonic::Status>| r.err().map_or(Code::Ok, |e| e.code());
        let mut p = s.p();
        let id = id.to_string();
        vec![
            (
                "GetProposal",
                code(
                    p.get_proposal(req(who, GetProposalRequest { id: id.clone() }))
                        .await
                        .map(drop),
                ),
            ),
            (
                "ListComments",
                code(
                    p.list_comments(req(
                        who,
                        ListCommentsRequest {
                            proposal_id: id.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .map(drop),
                ),
            ),
            (
                "ListEligibleVoters",
                code(
                    p.list_eligible_voters(req(
                        who,
                        ListEligibleVotersRequest {
                            proposal_id: id.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .map(drop),
                ),
            ),
            (
                "ListVotes",
                code(
                    p.list_votes(req(
                        who,
                        ListVotesRequest {
                            proposal_id: id.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .map(drop),
                ),
            ),
            (
                "ListProposalHistory",
                code(
                    p.list_proposal_history(req(
                        who,
                        ListProposalHistoryRequest {
                            proposal_id: id.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .map(drop),
                ),
            ),
        ]
    }
    let all = |c: Code| -> Vec<(&'static str, Code)> {
        [
            "GetProposal",
            "ListComments",
            "ListEligibleVoters",
            "ListVotes",
            "ListProposalHistory",
        ]
        .into_iter()
        .map(|m| (m, c))
        .collect()
    };
    for who in [zhang, &o.it_head, &o.admin, &o.auditor] {
        assert_eq!(
            reads(&s, Some(who), &draft.id).await,
            all(Code::Ok),
            "{}",
            who.id
        );
    }
    for who in [
        &o.it_members[1],
        &o.logistics_head,
        &o.coordinator,
        &o.service,
    ] {
        assert_eq!(
            reads(&s, Some(who), &draft.id).await,
            all(Code::PermissionDenied),
            "{}",
            who.id
        );
    }
    for who in [
        &o.it_members[1],
        &o.logistics_head,
        &o.coordinator,
        &o.service,
        &o.auditor,
        &o.finance_member,
    ] {
        assert_eq!(
            reads(&s, Some(who), &open.id).await,
            all(Code::Ok),
            "{}",
            who.id
        );
    }
    assert_eq!(reads(&s, None, &open.id).await, all(Code::Unauthenticated));
    // Lists leave out the drafts the caller may not see.
    let seen = s
        .p()
        .list_proposals(o.service.req(ListProposalsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .proposals;
    assert_eq!(
        seen.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![open.id.clone()]
    );
    let auditor = s
        .p()
        .list_proposals(o.auditor.req(ListProposalsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .proposals;
    assert_eq!(auditor.len(), 2);
    fails(
        s.p()
            .list_proposals(tonic::Request::new(ListProposalsRequest::default()))
            .await,
        Code::Unauthenticated,
    );
    // Comments: people, not auditors or services.
    for who in [&o.auditor, &o.service] {
        let r = s
            .p()
            .create_comment(who.req(CreateCommentRequest {
                proposal_id: open.id.clone(),
                stance: Stance::Support as i32,
                body: "x".into(),
                ..Default::default()
            }))
            .await;
        fails(r, Code::PermissionDenied);
    }
    for who in [
        &o.coordinator,
        &o.finance_member,
        &o.logistics_head,
        &o.admin,
    ] {
        s.p()
            .create_comment(who.req(CreateCommentRequest {
                proposal_id: open.id.clone(),
                stance: Stance::Concern as i32,
                body: "意见 A view".into(),
                ..Default::default()
            }))
            .await
            .unwrap();
    }
    // Updates: policy refuses auditors and services outright.
    for who in [&o.auditor, &o.service] {
        let r = s
            .p()
            .update_proposal(who.req(UpdateProposalRequest {
                proposal: Some(draft.clone()),
                update_mask: mask(&["title"]),
            }))
            .await;
        fails(r, Code::PermissionDenied);
    }
}

concord_kit::backend_tests!(
    reads_by_role,
    create_read_and_list,
    idempotent_creates,
    the_staged_flow_in_order,
    who_moves_and_changes,
    deliberation_and_objections,
    bad_input_names_fields,
    audit_and_history_access,
    audit_trail_of_a_whole_life,
);

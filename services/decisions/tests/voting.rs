//! Votes through the gRPC API: every rule at its exact thresholds, ties, a
//! failed quorum, proxy votes and changed votes, sealed tallies; and the
//! moves the service makes by itself at deadlines, with a manual clock,
//! across a restart and with two replicas; on SQLite and on PostgreSQL.

mod common;

use common::*;
use concord_kit::clock::to_timestamp;
use concord_kit::testing::Backend;
use concord_proto::audit::v1::ListAuditEntriesRequest;
use concord_proto::decisions::v1::*;
use concord_proto::policy::v1::Role;
use tonic::Code;

/// A committee of six voters.
async fn committee(s: &Suite) -> (String, Vec<Caller>) {
    let d = s.department("表决委员会 Committee", &s.org.root).await;
    let mut voters = Vec::new();
    for name in ["陈一", "林二", "黄三", "Grace Liu", "何五", "高六"] {
        voters.push(s.person(name, &d, &[Role::Member]).await);
    }
    // Ordered as the voter list is (by id), so ballots line up.
    voters.sort_by(|a, b| a.id.cmp(&b.id));
    (d, voters)
}

/// Runs a vote of the committee: ballot i is voter i's ("" abstains, "-"
/// does not vote); closed by an admin. Returns the proposal after the close.
async fn run(
    s: &Suite,
    c: &(String, Vec<Caller>),
    rule: VotingRule,
    quorum: i32,
    options: &[&str],
    ballots: &[&str],
) -> Proposal {
    let mut req = s.draft(&[&c.0], rule, quorum);
    req.owning_department_id = c.0.clone();
    req.options = options.iter().map(|o| o.to_string()).collect();
    let p = s.voting(&s.org.admin, req).await;
    assert_eq!(p.eligible_voters, 6);
    for (who, ballot) in c.1.iter().zip(ballots) {
        if *ballot != "-" {
            s.vote(who, &p.id, ballot).await;
        }
    }
    s.advance_by(&s.org.admin, &p.id, Stage::Voting, "").await
}

fn result(p: &Proposal) -> (Stage, String) {
    let o = p.outcome.clone().expect("an outcome");
    (Stage::try_from(o.result).unwrap(), o.chosen_option_id)
}

fn decided(option: &str) -> (Stage, String) {
    (Stage::Decided, option.to_string())
}

fn rejected() -> (Stage, String) {
    (Stage::Rejected, String::new())
}

fn no_quorum() -> (Stage, String) {
    (Stage::NoQuorum, String::new())
}

const AR: &[&str] = &[];

async fn simple_majority(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let r = VotingRule::SimpleMajority;
    let tie = run(
        &s,
        &c,
        r,
        0,
        AR,
        &[
            "approve", "approve", "approve", "reject", "reject", "reject",
        ],
    )
    .await;
    assert_eq!(result(&tie), rejected());
    assert!(
        tie.outcome
            .unwrap()
            .explanation
            .ends_with("no option reached the threshold.")
    );
    let four = run(
        &s,
        &c,
        r,
        0,
        AR,
        &[
            "approve", "approve", "approve", "approve", "reject", "reject",
        ],
    )
    .await;
    assert_eq!(result(&four), decided("approve"));
    // Abstentions do not count against: 3 of 5 votes cast for options.
    let abst = run(
        &s,
        &c,
        r,
        0,
        AR,
        &["approve", "approve", "approve", "reject", "reject", ""],
    )
    .await;
    assert_eq!(result(&abst), decided("approve"));
    // A majority against is a rejection.
    let against = run(
        &s,
        &c,
        r,
        0,
        AR,
        &["approve", "approve", "reject", "reject", "reject", "-"],
    )
    .await;
    assert_eq!(result(&against), rejected());
    // Several options: a plurality is not a majority.
    let opts = &["方案甲", "Plan B", "方案丙"];
    let plural = run(&s, &c, r, 0, opts, &["1", "1", "2", "2", "3", "-"]).await;
    assert_eq!(result(&plural), rejected());
    let major = run(&s, &c, r, 0, opts, &["1", "1", "1", "2", "3", ""]).await;
    assert_eq!(result(&major), decided("1"));
    assert!(
        major
            .outcome
            .unwrap()
            .explanation
            .contains("\"方案甲\" carries")
    );
}

async fn two_thirds(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let r = VotingRule::TwoThirds;
    // Exactly two thirds carries.
    let exact = run(
        &s,
        &c,
        r,
        0,
        AR,
        &[
            "approve", "approve", "approve", "approve", "reject", "reject",
        ],
    )
    .await;
    assert_eq!(result(&exact), decided("approve"));
    let exact3 = run(
        &s,
        &c,
        r,
        0,
        AR,
        &["approve", "approve", "reject", "-", "-", "-"],
    )
    .await;
    assert_eq!(result(&exact3), decided("approve"));
    // Three of five (60%) does not.
    let short = run(
        &s,
        &c,
        r,
        0,
        AR,
        &["approve", "approve", "approve", "reject", "reject", ""],
    )
    .await;
    assert_eq!(result(&short), rejected());
    let tie = run(
        &s,
        &c,
        r,
        0,
        AR,
        &[
            "approve", "approve", "approve", "reject", "reject", "reject",
        ],
    )
    .await;
    assert_eq!(result(&tie), rejected());
}

async fn unanimity(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let r = VotingRule::Unanimity;
    let all = run(
        &s,
        &c,
        r,
        0,
        AR,
        &["approve", "approve", "approve", "approve", "approve", ""],
    )
    .await;
    assert_eq!(result(&all), decided("approve"));
    let one = run(
        &s,
        &c,
        r,
        0,
        AR,
        &[
            "approve", "approve", "approve", "approve", "approve", "reject",
        ],
    )
    .await;
    assert_eq!(result(&one), rejected());
    let nobody = run(&s, &c, r, 0, AR, &["", "", "", "", "", ""]).await;
    assert_eq!(result(&nobody), rejected());
}

async fn consent(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let r = VotingRule::Consent;
    let objected = run(
        &s,
        &c,
        r,
        0,
        AR,
        &[
            "approve", "approve", "approve", "approve", "approve", "reject",
        ],
    )
    .await;
    assert_eq!(result(&objected), rejected());
    assert!(
        objected
            .outcome
            .unwrap()
            .explanation
            .ends_with("1 objection(s) stand.")
    );
    let aside = run(&s, &c, r, 0, AR, &["approve", "", "", "-", "-", "-"]).await;
    assert_eq!(result(&aside), decided("approve"));
    // An objection withdrawn by changing the vote no longer stands.
    let mut req = s.draft(&[&c.0], r, 0);
    req.owning_department_id = c.0.clone();
    let p = s.voting(&s.org.admin, req).await;
    s.vote(&c.1[0], &p.id, "approve").await;
    s.vote(&c.1[1], &p.id, "reject").await;
    assert_eq!(
        s.tally(&s.org.admin, &p.id)
            .await
            .unwrap()
            .leading_option_id,
        ""
    );
    s.vote(&c.1[1], &p.id, "").await;
    assert_eq!(
        s.tally(&s.org.admin, &p.id)
            .await
            .unwrap()
            .leading_option_id,
        "approve"
    );
    let closed = s.advance_by(&s.org.admin, &p.id, Stage::Voting, "").await;
    assert_eq!(result(&closed), decided("approve"));
}

async fn quorum(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let r = VotingRule::SimpleMajority;
    // 50% of six is three voters, exactly.
    let met = run(
        &s,
        &c,
        r,
        50,
        AR,
        &["approve", "approve", "reject", "-", "-", "-"],
    )
    .await;
    assert_eq!(result(&met), decided("approve"));
    let failed = run(
        &s,
        &c,
        r,
        50,
        AR,
        &["approve", "approve", "-", "-", "-", "-"],
    )
    .await;
    assert_eq!(result(&failed), no_quorum());
    assert_eq!(failed.stage, Stage::NoQuorum as i32);
    assert!(
        failed.outcome.unwrap().explanation.contains(
            "2 of 6 eligible voters took part (0 by proxy), quorum 50% not met; no quorum."
        )
    );
    // Abstaining is taking part.
    let abst = run(
        &s,
        &c,
        r,
        50,
        AR,
        &["approve", "approve", "", "-", "-", "-"],
    )
    .await;
    assert_eq!(result(&abst), decided("approve"));
    // 100% needs everybody.
    let five = run(
        &s,
        &c,
        r,
        100,
        AR,
        &["approve", "approve", "approve", "approve", "approve", "-"],
    )
    .await;
    assert_eq!(result(&five), no_quorum());
    // A failed quorum closes without implementation.
    fails(
        s.p()
            .advance_proposal(s.org.admin.req(AdvanceProposalRequest {
                id: five.id.clone(),
                from_stage: Stage::Decided as i32,
                rationale: String::new(),
            }))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(
        s.advance_by(&s.org.admin, &five.id, Stage::NoQuorum, "")
            .await
            .stage,
        Stage::Closed as i32
    );
}

async fn proxy_votes(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let v = &c.1;
    let mut req = s.draft(&[&c.0], VotingRule::TwoThirds, 50);
    req.owning_department_id = c.0.clone();
    let p = s.voting(&s.org.admin, req).await;
    let delegate = |who: &Caller, to: &str| {
        let mut cl = s.p();
        let r = who.req(DelegateVoteRequest {
            proposal_id: p.id.clone(),
            delegate_id: to.into(),
        });
        async move { cl.delegate_vote(r).await }
    };
    let d = delegate(&v[0], &v[1].id).await.unwrap().into_inner();
    assert_eq!(
        (d.delegator_id.as_str(), d.delegate_id.as_str()),
        (v[0].id.as_str(), v[1].id.as_str())
    );
    s.vote(&v[1], &p.id, "approve").await;
    let t = s.tally(&v[3], &p.id).await.unwrap();
    assert_eq!((t.options[0].votes, t.participated, t.by_proxy), (2, 2, 1));
    delegate(&v[2], &v[1].id).await.unwrap();
    // One level only: the delegate holds proxies, the delegator gave hers away.
    fails(delegate(&v[1], &v[5].id).await, Code::FailedPrecondition);
    fails(delegate(&v[3], &v[0].id).await, Code::FailedPrecondition);
    // Not to oneself, not to somebody who may not vote.
    names(delegate(&v[3], &v[3].id).await, &["delegate_id"]);
    names(delegate(&v[3], &s.org.it_head.id).await, &["delegate_id"]);
    // Who delegated does not vote until she revokes.
    fails(
        s.p()
            .cast_vote(v[0].req(CastVoteRequest {
                proposal_id: p.id.clone(),
                option_id: "reject".into(),
                ..Default::default()
            }))
            .await,
        Code::FailedPrecondition,
    );
    s.p()
        .revoke_delegation(v[0].req(RevokeDelegationRequest {
            proposal_id: p.id.clone(),
        }))
        .await
        .unwrap();
    // Revoking again is harmless.
    s.p()
        .revoke_delegation(v[0].req(RevokeDelegationRequest {
            proposal_id: p.id.clone(),
        }))
        .await
        .unwrap();
    s.vote(&v[0], &p.id, "reject").await;
    // Delegating withdraws one's own vote.
    s.vote(&v[4], &p.id, "reject").await;
    delegate(&v[4], &v[1].id).await.unwrap();
    let votes = s
        .p()
        .list_votes(s.org.admin.req(ListVotesRequest {
            proposal_id: p.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .votes;
    let mut voters: Vec<_> = votes.iter().map(|x| x.voter_id.clone()).collect();
    voters.sort();
    let mut want = vec![v[0].id.clone(), v[1].id.clone()];
    want.sort();
    assert_eq!(voters, want);
    let carried = votes.iter().find(|x| x.voter_id == v[1].id).unwrap();
    let mut proxies = vec![v[2].id.clone(), v[4].id.clone()];
    proxies.sort();
    assert_eq!(carried.proxy_for, proxies);
    let listed = s
        .p()
        .list_eligible_voters(v[5].req(ListEligibleVotersRequest {
            proposal_id: p.id.clone(),
            page_size: 4,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.voters.len(), 4);
    assert!(!listed.next_page_token.is_empty());
    let delegates: Vec<_> = listed
        .voters
        .iter()
        .map(|x| x.delegate_id.clone())
        .collect();
    assert_eq!(
        delegates,
        [String::new(), String::new(), v[1].id.clone(), String::new()]
    );
    // approve: v1 with v2 and v4 by proxy; reject: v0. 3 of 4 is two thirds.
    let t = s.tally(&s.org.admin, &p.id).await.unwrap();
    assert_eq!(
        (
            t.options[0].votes,
            t.options[1].votes,
            t.by_proxy,
            t.participated
        ),
        (3, 1, 2, 4)
    );
    assert!(t.quorum_met && !t.r#final);
    let closed = s.advance_by(&s.org.admin, &p.id, Stage::Voting, "").await;
    assert_eq!(result(&closed), decided("approve"));
    assert!(
        closed
            .outcome
            .unwrap()
            .explanation
            .contains("4 of 6 eligible voters took part (2 by proxy)")
    );
    // Delegations end with the vote.
    fails(delegate(&v[3], &v[1].id).await, Code::FailedPrecondition);
}

async fn changed_votes(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let mut req = s.draft(&[&c.0], VotingRule::SimpleMajority, 0);
    req.owning_department_id = c.0.clone();
    let p = s.voting(&s.org.admin, req).await;
    let cast = |who: &Caller, option: &str, reason: &str| {
        let mut cl = s.p();
        let r = who.req(CastVoteRequest {
            proposal_id: p.id.clone(),
            option_id: option.into(),
            abstain: option.is_empty(),
            reason: reason.into(),
        });
        async move { cl.cast_vote(r).await.unwrap().into_inner() }
    };
    let first = cast(&c.1[0], "approve", "同意").await;
    assert_eq!(
        (first.changes, first.cast_time),
        (0, Some(to_timestamp(T0)))
    );
    s.advance(HOUR);
    // The same vote again changes nothing.
    let again = cast(&c.1[0], "approve", "同意").await;
    assert_eq!(again, first);
    let changed = cast(&c.1[0], "reject", "重新考虑后反对 On reflection, no").await;
    assert_eq!((changed.changes, changed.option_id.as_str()), (1, "reject"));
    assert_eq!(changed.cast_time, Some(to_timestamp(T0)));
    assert_eq!(changed.update_time, Some(to_timestamp(T0 + HOUR)));
    cast(&c.1[1], "approve", "").await;
    let t = s.tally(&c.1[2], &p.id).await.unwrap();
    assert_eq!(
        (t.options[0].votes, t.options[1].votes, t.participated),
        (1, 1, 2)
    );
    assert_eq!(t.leading_option_id, "");
    let abst = cast(&c.1[0], "", "弃权").await;
    assert_eq!((abst.abstain, abst.changes), (true, 2));
    let t = s.tally(&c.1[2], &p.id).await.unwrap();
    assert_eq!(
        (t.options[0].votes, t.options[1].votes, t.abstentions),
        (1, 0, 1)
    );
    assert_eq!(t.leading_option_id, "approve");
    let actions = s.actions(&p.id).await;
    assert_eq!(actions.iter().filter(|a| *a == "vote.cast").count(), 2);
    assert_eq!(actions.iter().filter(|a| *a == "vote.change").count(), 2);
    let closed = s.advance_by(&s.org.admin, &p.id, Stage::Voting, "").await;
    assert_eq!(result(&closed), decided("approve"));
}

async fn sealed_tallies(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let v = &c.1;
    let mut req = s.draft(&[&c.0], VotingRule::SimpleMajority, 0);
    req.owning_department_id = c.0.clone();
    req.sealed = true;
    let p = s.voting(&s.org.admin, req).await;
    s.vote(&v[0], &p.id, "approve").await;
    s.vote(&v[1], &p.id, "reject").await;
    // Hidden from everybody but admins until the close.
    for who in [&v[0], &v[2], &s.org.auditor, &s.org.coordinator] {
        fails(
            s.tally(who, &p.id).await.map(tonic::Response::new),
            Code::PermissionDenied,
        );
    }
    let t = s.tally(&s.org.admin, &p.id).await.unwrap();
    assert_eq!((t.options[0].votes, t.options[1].votes), (1, 1));
    let votes_of = |who: &Caller| {
        let mut cl = s.p();
        let r = who.req(ListVotesRequest {
            proposal_id: p.id.clone(),
            ..Default::default()
        });
        async move { cl.list_votes(r).await.unwrap().into_inner().votes }
    };
    let own = votes_of(&v[0]).await;
    assert_eq!(own.len(), 1);
    assert_eq!(
        (own[0].voter_id.as_str(), own[0].option_id.as_str()),
        (v[0].id.as_str(), "approve")
    );
    assert!(votes_of(&v[2]).await.is_empty());
    assert_eq!(votes_of(&s.org.admin).await.len(), 2);
    // The history says who voted, not what.
    let seen = s.history(&v[2], &p.id).await;
    let votes: Vec<_> = seen.iter().filter(|e| e.action == "vote.cast").collect();
    assert_eq!(votes.len(), 2);
    for e in &votes {
        assert!(
            !e.detail_json.contains("approve") && !e.detail_json.contains("reject"),
            "{}",
            e.detail_json
        );
        assert!(e.detail_json.contains("\"sealed\":true"));
    }
    let audit = s
        .p()
        .list_audit_entries(s.org.auditor.req(ListAuditEntriesRequest {
            resource: format!("proposals/{}", p.id),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        audit
            .iter()
            .filter(|e| e.action == "vote.cast")
            .all(|e| !e.detail_json.contains("approve"))
    );
    let admin_view = s.history(&s.org.admin, &p.id).await;
    assert!(
        admin_view
            .iter()
            .any(|e| e.detail_json.contains("\"option_id\":\"approve\""))
    );
    // After the close, everybody sees everything.
    s.advance_by(&s.org.admin, &p.id, Stage::Voting, "").await;
    let t = s.tally(&v[2], &p.id).await.unwrap();
    assert!(t.r#final);
    assert_eq!((t.options[0].votes, t.options[1].votes), (1, 1));
    assert_eq!(votes_of(&v[2]).await.len(), 2);
    let seen = s.history(&v[2], &p.id).await;
    assert!(
        seen.iter()
            .any(|e| e.detail_json.contains("\"option_id\":\"reject\""))
    );

    // An open tally is visible while voting, with the leading option.
    let mut req = s.draft(&[&c.0], VotingRule::SimpleMajority, 0);
    req.owning_department_id = c.0.clone();
    let q = s.voting(&s.org.admin, req).await;
    s.vote(&v[0], &q.id, "approve").await;
    let t = s.tally(&s.org.finance_member, &q.id).await.unwrap();
    assert_eq!(
        (t.leading_option_id.as_str(), t.eligible, t.r#final),
        ("approve", 6, false)
    );
}

async fn voting_bad_input_and_authorization(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let v = &c.1;
    let bad = "bad-id".to_string();
    let mut req = s.draft(&[&c.0], VotingRule::SimpleMajority, 0);
    req.owning_department_id = c.0.clone();
    let draft = s.create(&s.org.admin, req.clone()).await;
    let p = s.voting(&s.org.admin, req).await;
    let cast = |who: &Caller, r: CastVoteRequest| {
        let mut cl = s.p();
        let r = who.req(r);
        async move { cl.cast_vote(r).await }
    };
    names(
        cast(
            &v[0],
            CastVoteRequest {
                proposal_id: bad.clone(),
                option_id: "approve".into(),
                abstain: true,
                reason: "x".repeat(5_001),
            },
        )
        .await,
        &["proposal_id", "abstain", "reason"],
    );
    names(
        cast(
            &v[0],
            CastVoteRequest {
                proposal_id: p.id.clone(),
                ..Default::default()
            },
        )
        .await,
        &["option_id"],
    );
    names(
        cast(
            &v[0],
            CastVoteRequest {
                proposal_id: p.id.clone(),
                option_id: "maybe".into(),
                ..Default::default()
            },
        )
        .await,
        &["option_id"],
    );
    fails(
        cast(
            &v[0],
            CastVoteRequest {
                proposal_id: concord_kit::ids::new_id(),
                option_id: "approve".into(),
                ..Default::default()
            },
        )
        .await,
        Code::NotFound,
    );
    fails(
        cast(
            &v[0],
            CastVoteRequest {
                proposal_id: draft.id.clone(),
                option_id: "approve".into(),
                ..Default::default()
            },
        )
        .await,
        Code::FailedPrecondition,
    );
    // Who may vote: eligible people only; auditors and services never.
    fails(
        cast(
            &s.org.it_head,
            CastVoteRequest {
                proposal_id: p.id.clone(),
                option_id: "approve".into(),
                ..Default::default()
            },
        )
        .await,
        Code::PermissionDenied,
    );
    for who in [&s.org.auditor, &s.org.service] {
        let r = cast(
            who,
            CastVoteRequest {
                proposal_id: p.id.clone(),
                option_id: "approve".into(),
                ..Default::default()
            },
        )
        .await;
        fails(r, Code::PermissionDenied);
        let r = s
            .p()
            .delegate_vote(who.req(DelegateVoteRequest {
                proposal_id: p.id.clone(),
                delegate_id: v[0].id.clone(),
            }))
            .await;
        fails(r, Code::PermissionDenied);
        let r = s
            .p()
            .revoke_delegation(who.req(RevokeDelegationRequest {
                proposal_id: p.id.clone(),
            }))
            .await;
        fails(r, Code::PermissionDenied);
    }
    fails(
        s.p()
            .revoke_delegation(s.org.it_head.req(RevokeDelegationRequest {
                proposal_id: p.id.clone(),
            }))
            .await,
        Code::PermissionDenied,
    );
    names(
        s.p()
            .delegate_vote(v[0].req(DelegateVoteRequest {
                proposal_id: bad.clone(),
                delegate_id: bad.clone(),
            }))
            .await,
        &["proposal_id", "delegate_id"],
    );
    names(
        s.p()
            .revoke_delegation(v[0].req(RevokeDelegationRequest {
                proposal_id: bad.clone(),
            }))
            .await,
        &["proposal_id"],
    );
    names(
        s.p()
            .list_votes(v[0].req(ListVotesRequest {
                proposal_id: bad.clone(),
                page_size: -1,
                ..Default::default()
            }))
            .await,
        &["proposal_id", "page_size"],
    );
    names(
        s.p()
            .list_eligible_voters(v[0].req(ListEligibleVotersRequest {
                proposal_id: bad.clone(),
                page_size: -1,
                ..Default::default()
            }))
            .await,
        &["proposal_id", "page_size"],
    );
    names(
        s.p()
            .get_tally(v[0].req(GetTallyRequest {
                proposal_id: bad.clone(),
            }))
            .await,
        &["proposal_id"],
    );
    // Reads: everybody signed in, once voting opened; drafts stay private.
    fails(
        s.tally(&s.org.admin, &draft.id)
            .await
            .map(tonic::Response::new),
        Code::FailedPrecondition,
    );
    fails(
        s.tally(&v[0], &draft.id).await.map(tonic::Response::new),
        Code::PermissionDenied,
    );
    for who in [&s.org.auditor, &s.org.service, &s.org.finance_member] {
        assert!(s.tally(who, &p.id).await.is_ok());
        let r = s
            .p()
            .list_votes(who.req(ListVotesRequest {
                proposal_id: p.id.clone(),
                ..Default::default()
            }))
            .await;
        assert!(r.is_ok());
    }
    let anon = s
        .p()
        .get_tally(tonic::Request::new(GetTallyRequest {
            proposal_id: p.id.clone(),
        }))
        .await;
    fails(anon, Code::Unauthenticated);
}

/// Consultation and voting end by themselves at their deadlines.
async fn deadlines_move_proposals(backend: Backend) {
    let s = Suite::start(backend).await;
    let c = committee(&s).await;
    let mut req = s.draft(&[&c.0], VotingRule::SimpleMajority, 50);
    req.owning_department_id = c.0.clone();
    let p = s.create(&s.org.admin, req).await;
    s.advance_by(&s.org.admin, &p.id, Stage::Draft, "").await;
    // Just before the deadline nothing moves.
    s.advance(DAY - 1);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(s.get(&p.id).await.stage, Stage::Consultation as i32);
    s.advance(1);
    let v = s.until_stage(&p.id, Stage::Voting).await;
    assert_eq!(v.voting_start_time, Some(to_timestamp(T0 + DAY)));
    assert_eq!(v.eligible_voters, 6);
    for who in &c.1[..3] {
        s.vote(who, &p.id, "approve").await;
    }
    s.vote(&c.1[3], &p.id, "reject").await;
    s.advance(DAY);
    let d = s.until_stage(&p.id, Stage::Decided).await;
    let o = d.outcome.unwrap();
    assert_eq!(
        (o.chosen_option_id.as_str(), o.decided_by.as_str()),
        ("approve", "")
    );
    assert_eq!(o.decide_time, Some(to_timestamp(T0 + 2 * DAY)));
    let history = s.history(&s.org.admin, &p.id).await;
    let moves: Vec<_> = history
        .iter()
        .filter(|e| e.action == "proposal.voting" || e.action == "proposal.outcome")
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        moves,
        [
            ("proposal.voting", "system:decisions"),
            ("proposal.outcome", "system:decisions")
        ]
    );

    // A deadline moved later moves the proposal later.
    let mut req = s.draft(&[&c.0], VotingRule::SimpleMajority, 0);
    req.owning_department_id = c.0.clone();
    let q = s.create(&s.org.admin, req).await;
    let q = s.advance_by(&s.org.admin, &q.id, Stage::Draft, "").await;
    let mut later = q.clone();
    later.consultation_end_time = Some(to_timestamp(s.now() + 2 * DAY));
    later.voting_end_time = Some(to_timestamp(s.now() + 3 * DAY));
    s.p()
        .update_proposal(s.org.admin.req(UpdateProposalRequest {
            proposal: Some(later),
            update_mask: mask(&["consultation_end_time", "voting_end_time"]),
        }))
        .await
        .unwrap();
    s.advance(DAY);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(s.get(&q.id).await.stage, Stage::Consultation as i32);
    s.advance(DAY);
    s.until_stage(&q.id, Stage::Voting).await;
    // Moved by hand first, the deadline finds nothing left to do.
    s.advance_by(&s.org.admin, &q.id, Stage::Voting, "提前结束")
        .await;
    s.advance(2 * DAY);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let outcomes = s
        .actions(&q.id)
        .await
        .iter()
        .filter(|a| *a == "proposal.outcome")
        .count();
    assert_eq!(outcomes, 1);
}

/// The deadlines are rows: they fire after a restart, and votes cast before
/// it are counted.
async fn deadlines_survive_a_restart(backend: Backend) {
    let mut s = Suite::start(backend).await;
    let c = committee(&s).await;
    let mut req = s.draft(&[&c.0], VotingRule::TwoThirds, 50);
    req.owning_department_id = c.0.clone();
    let p = s.create(&s.org.admin, req).await;
    s.advance_by(&s.org.admin, &p.id, Stage::Draft, "").await;
    // Down across the consultation deadline.
    s.stop().await;
    s.advance(DAY + HOUR);
    s.restart().await;
    s.until_stage(&p.id, Stage::Voting).await;
    for who in &c.1[..4] {
        s.vote(who, &p.id, "approve").await;
    }
    s.vote(&c.1[4], &p.id, "reject").await;
    // Down across the voting deadline.
    s.stop().await;
    s.advance(DAY);
    s.restart().await;
    let d = s.until_stage(&p.id, Stage::Decided).await;
    assert_eq!(d.outcome.unwrap().chosen_option_id, "approve");
    // Down across both: the vote opens and closes at once, without quorum.
    let mut req = s.draft(&[&c.0], VotingRule::SimpleMajority, 50);
    req.owning_department_id = c.0.clone();
    let q = s.create(&s.org.admin, req).await;
    s.advance_by(&s.org.admin, &q.id, Stage::Draft, "").await;
    s.stop().await;
    s.advance(3 * DAY);
    s.restart().await;
    let n = s.until_stage(&q.id, Stage::NoQuorum).await;
    assert_eq!(n.eligible_voters, 6);
    let actions = s.actions(&q.id).await;
    assert_eq!(
        actions,
        [
            "proposal.create",
            "proposal.consultation",
            "proposal.voting",
            "proposal.outcome"
        ]
    );
}

/// Two replicas over one database: each deadline moves the proposal once.
async fn deadlines_fire_once_across_replicas(backend: Backend) {
    let s = Suite::start(backend).await;
    let replica = s.launch().await;
    let c = committee(&s).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let mut req = s.draft(&[&c.0], VotingRule::SimpleMajority, 0);
        req.owning_department_id = c.0.clone();
        let p = s.create(&s.org.admin, req).await;
        s.advance_by(&s.org.admin, &p.id, Stage::Draft, "").await;
        ids.push(p.id);
    }
    s.advance(DAY);
    for id in &ids {
        s.until_stage(id, Stage::Voting).await;
    }
    s.advance(DAY);
    for id in &ids {
        s.until_stage(id, Stage::Rejected).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for id in &ids {
        let actions = s.actions(id).await;
        assert_eq!(
            actions,
            [
                "proposal.create",
                "proposal.consultation",
                "proposal.voting",
                "proposal.outcome"
            ],
            "{id}"
        );
    }
    // Both replicas answer for the same data.
    let seen = replica
        .proposals
        .clone()
        .get_proposal(s.org.admin.req(GetProposalRequest { id: ids[0].clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.stage, Stage::Rejected as i32);
    replica.shutdown.cancel();
}

/// At the consultation deadline a consent proposal with an objection still
/// unanswered stays in consultation, and says why.
async fn consent_objection_holds_the_deadline(backend: Backend) {
    let s = Suite::start(backend).await;
    let o = &s.org;
    let zhang = &o.it_members[0];
    let p = s
        .create(zhang, s.draft(&[&o.it], VotingRule::Consent, 0))
        .await;
    s.advance_by(zhang, &p.id, Stage::Draft, "").await;
    let objection = s
        .p()
        .create_comment(o.logistics_head.req(CreateCommentRequest {
            proposal_id: p.id.clone(),
            stance: Stance::Objection as i32,
            body: "车辆调度冲突".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    s.advance(DAY);
    let held = eventually(|| async {
        let h = s.history(&o.admin, &p.id).await;
        h.into_iter().find(|e| e.action == "proposal.voting_held")
    })
    .await;
    assert_eq!(held.actor, "system:decisions");
    assert!(
        held.detail_json.contains("objection"),
        "{}",
        held.detail_json
    );
    assert_eq!(s.get(&p.id).await.stage, Stage::Consultation as i32);
    // Answered, the proposer opens the vote by hand.
    s.p()
        .create_comment(zhang.req(CreateCommentRequest {
            proposal_id: p.id.clone(),
            parent_id: objection.id.clone(),
            body: "已与后勤协商调度".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let v = s.advance_by(zhang, &p.id, Stage::Consultation, "").await;
    assert_eq!(v.stage, Stage::Voting as i32);
}

/// A department of 300: every member is a voter, each vote counts once, and
/// the time to open and close the vote is printed (`--nocapture`).
async fn a_large_electorate(backend: Backend) {
    let s = Suite::start(backend).await;
    let d = s.department("大型部门 Large", &s.org.root).await;
    let mut people = Vec::new();
    for i in 0..300 {
        people.push(
            s.person(&format!("员工{i:03} Staff {i}"), &d, &[Role::Member])
                .await,
        );
    }
    let mut req = s.draft(&[&d], VotingRule::TwoThirds, 60);
    req.owning_department_id = d.clone();
    let p = s.create(&s.org.admin, req).await;
    s.advance_by(&s.org.admin, &p.id, Stage::Draft, "").await;
    let started = std::time::Instant::now();
    let v = s
        .advance_by(&s.org.admin, &p.id, Stage::Consultation, "")
        .await;
    let open = started.elapsed();
    assert_eq!(v.eligible_voters, 300);
    let started = std::time::Instant::now();
    for (i, who) in people.iter().enumerate().take(200) {
        s.vote(who, &p.id, if i % 3 == 0 { "reject" } else { "approve" })
            .await;
    }
    let per_vote = started.elapsed() / 200;
    let started = std::time::Instant::now();
    let closed = s.advance_by(&s.org.admin, &p.id, Stage::Voting, "").await;
    let close = started.elapsed();
    // 133 approve of 200: just under two thirds.
    assert_eq!(result(&closed), rejected());
    assert!(
        closed
            .outcome
            .unwrap()
            .explanation
            .starts_with("two thirds: approve: 133, reject: 67")
    );
    eprintln!("300 voters: open {open:?}, a vote {per_vote:?}, close {close:?}");
}

concord_kit::backend_tests!(
    a_large_electorate,
    simple_majority,
    two_thirds,
    unanimity,
    consent,
    quorum,
    proxy_votes,
    changed_votes,
    sealed_tallies,
    voting_bad_input_and_authorization,
    deadlines_move_proposals,
    deadlines_survive_a_restart,
    deadlines_fire_once_across_replicas,
    consent_objection_holds_the_deadline,
);

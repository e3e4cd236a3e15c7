//! Counting votes and applying a proposal's rule. Every eligible voter
//! counts once: by their own vote, or, when they delegated and did not vote,
//! by their delegate's. Abstentions count towards quorum, not towards the
//! thresholds. All arithmetic is on integers, so thresholds are exact.

use std::collections::HashMap;

use super::proposal::{APPROVE, ProposalOption, REJECT, Stage, VotingRule};

/// What a vote chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Option(String),
    Abstain,
}

/// The count of a vote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Count {
    /// Per option id, in the proposal's order.
    pub options: Vec<(String, i64)>,
    pub abstentions: i64,
    pub eligible: i64,
    /// Eligible voters counted (own vote or their delegate's).
    pub participated: i64,
    /// Of them, counted through a delegate.
    pub by_proxy: i64,
}

impl Count {
    /// Votes cast for options (abstentions left out).
    pub fn decisive(&self) -> i64 {
        self.options.iter().map(|(_, n)| n).sum()
    }

    pub fn votes_for(&self, option: &str) -> i64 {
        self.options
            .iter()
            .find(|(id, _)| id == option)
            .map_or(0, |(_, n)| *n)
    }
}

/// Counts the ballots of `voters` (the eligible voters), following
/// delegations one level: `delegations` maps a delegator to their delegate.
pub fn count(
    options: &[ProposalOption],
    voters: &[String],
    ballots: &HashMap<String, Choice>,
    delegations: &HashMap<String, String>,
) -> Count {
    let mut c = Count {
        options: options.iter().map(|o| (o.id.clone(), 0)).collect(),
        eligible: i64::try_from(voters.len()).unwrap_or(i64::MAX),
        ..Count::default()
    };
    for voter in voters {
        let (choice, proxy) = match ballots.get(voter) {
            Some(own) => (Some(own), false),
            None => (
                delegations
                    .get(voter)
                    .filter(|d| !delegations.contains_key(*d))
                    .and_then(|d| ballots.get(d)),
                true,
            ),
        };
        let Some(choice) = choice else { continue };
        match choice {
            Choice::Abstain => c.abstentions += 1,
            Choice::Option(id) => match c.options.iter_mut().find(|(o, _)| o == id) {
                Some((_, n)) => *n += 1,
                // A vote for an option that no longer exists does not count.
                None => continue,
            },
        }
        c.participated += 1;
        if proxy {
            c.by_proxy += 1;
        }
    }
    c
}

/// Whether enough eligible voters took part. Nobody eligible means no quorum.
pub fn quorum_met(quorum_percent: i64, c: &Count) -> bool {
    c.eligible > 0 && c.participated * 100 >= quorum_percent * c.eligible
}

/// The option the rule chooses from `c`, quorum aside.
pub fn winner(rule: VotingRule, c: &Count) -> Option<String> {
    let decisive = c.decisive();
    let wins = |votes: i64| match rule {
        VotingRule::SimpleMajority => 2 * votes > decisive,
        VotingRule::TwoThirds => decisive > 0 && 3 * votes >= 2 * decisive,
        VotingRule::Unanimity => decisive > 0 && votes == decisive,
        VotingRule::Consent => false,
    };
    if rule == VotingRule::Consent {
        return (c.votes_for(REJECT) == 0).then(|| APPROVE.to_string());
    }
    c.options
        .iter()
        .find(|(_, n)| wins(*n))
        .map(|(id, _)| id.clone())
}

/// What a closed vote comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Decided, rejected or no quorum.
    pub result: Stage,
    pub chosen: Option<String>,
    pub quorum_met: bool,
    pub explanation: String,
}

/// Applies `rule` and `quorum_percent` to `c`. An approve/reject proposal is
/// decided only when "approve" wins.
pub fn verdict(
    rule: VotingRule,
    quorum_percent: i64,
    approve_or_reject: bool,
    options: &[ProposalOption],
    c: &Count,
) -> Verdict {
    let quorum = quorum_met(quorum_percent, c);
    let chosen = winner(rule, c).filter(|w| !approve_or_reject || w == APPROVE);
    let result = match (&chosen, quorum) {
        (_, false) => Stage::NoQuorum,
        (Some(_), true) => Stage::Decided,
        (None, true) => Stage::Rejected,
    };
    let label = |id: &str| {
        options
            .iter()
            .find(|o| o.id == id)
            .map_or(id.to_string(), |o| o.label.clone())
    };
    let counts: Vec<String> = c
        .options
        .iter()
        .map(|(id, n)| format!("{}: {n}", label(id)))
        .collect();
    let verdict_text = match (result, &chosen) {
        (Stage::NoQuorum, _) => "no quorum".to_string(),
        (Stage::Decided, Some(w)) => format!("\"{}\" carries", label(w)),
        _ if rule == VotingRule::Consent => {
            format!("{} objection(s) stand", c.votes_for(REJECT))
        }
        _ => "no option reached the threshold".to_string(),
    };
    let explanation = format!(
        "{rule}: {counts}, abstain: {abst}; {part} of {elig} eligible voters took part ({proxy} by proxy), quorum {q}% {met}; {verdict_text}.",
        rule = rule.as_str().replace('_', " "),
        counts = counts.join(", "),
        abst = c.abstentions,
        part = c.participated,
        elig = c.eligible,
        proxy = c.by_proxy,
        q = quorum_percent,
        met = if quorum { "met" } else { "not met" },
    );
    Verdict {
        result,
        chosen: if result == Stage::Decided {
            chosen
        } else {
            None
        },
        quorum_met: quorum,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::proposal::options_from_labels;

    /// A count with `eligible` voters and the given option votes and abstentions.
    fn tally(eligible: i64, votes: &[(&str, i64)], abstain: i64) -> Count {
        let participated = votes.iter().map(|(_, n)| n).sum::<i64>() + abstain;
        Count {
            options: votes.iter().map(|(o, n)| (o.to_string(), *n)).collect(),
            abstentions: abstain,
            eligible,
            participated,
            by_proxy: 0,
        }
    }

    fn ar() -> Vec<ProposalOption> {
        options_from_labels(&[])
    }

    fn decide(rule: VotingRule, quorum: i64, c: &Count) -> (Stage, Option<String>) {
        let v = verdict(rule, quorum, true, &ar(), c);
        (v.result, v.chosen)
    }

    fn decided() -> (Stage, Option<String>) {
        (Stage::Decided, Some(APPROVE.into()))
    }

    fn rejected() -> (Stage, Option<String>) {
        (Stage::Rejected, None)
    }

    #[test]
    fn simple_majority_needs_more_than_half() {
        let r = VotingRule::SimpleMajority;
        assert_eq!(
            decide(r, 0, &tally(10, &[("approve", 3), ("reject", 2)], 0)),
            decided()
        );
        // A tie decides nothing.
        assert_eq!(
            decide(r, 0, &tally(10, &[("approve", 2), ("reject", 2)], 0)),
            rejected()
        );
        // Abstentions do not count against.
        assert_eq!(
            decide(r, 0, &tally(10, &[("approve", 1), ("reject", 0)], 5)),
            decided()
        );
        // A majority to reject is a rejection.
        assert_eq!(
            decide(r, 0, &tally(10, &[("approve", 1), ("reject", 2)], 0)),
            rejected()
        );
        // Nobody voting for an option: nothing carries.
        assert_eq!(
            decide(r, 0, &tally(10, &[("approve", 0), ("reject", 0)], 3)),
            rejected()
        );
    }

    #[test]
    fn simple_majority_among_several_options_needs_half_not_a_plurality() {
        let opts = options_from_labels(&["甲".into(), "乙".into(), "丙".into()]);
        let c = tally(9, &[("1", 4), ("2", 3), ("3", 2)], 0);
        let v = verdict(VotingRule::SimpleMajority, 0, false, &opts, &c);
        assert_eq!((v.result, v.chosen), (Stage::Rejected, None));
        let c = tally(9, &[("1", 5), ("2", 2), ("3", 2)], 0);
        let v = verdict(VotingRule::SimpleMajority, 0, false, &opts, &c);
        assert_eq!((v.result, v.chosen.as_deref()), (Stage::Decided, Some("1")));
        assert!(
            v.explanation.contains("\"甲\" carries"),
            "{}",
            v.explanation
        );
    }

    #[test]
    fn two_thirds_at_its_exact_threshold() {
        let r = VotingRule::TwoThirds;
        // Exactly two thirds carries.
        assert_eq!(
            decide(r, 0, &tally(9, &[("approve", 6), ("reject", 3)], 0)),
            decided()
        );
        assert_eq!(
            decide(r, 0, &tally(3, &[("approve", 2), ("reject", 1)], 0)),
            decided()
        );
        // Just below does not.
        assert_eq!(
            decide(r, 0, &tally(9, &[("approve", 5), ("reject", 3)], 0)),
            rejected()
        );
        assert_eq!(
            decide(r, 0, &tally(10, &[("approve", 6), ("reject", 4)], 0)),
            rejected()
        );
        assert_eq!(
            decide(r, 0, &tally(10, &[("approve", 7), ("reject", 3)], 0)),
            decided()
        );
        // A tie, and no votes at all.
        assert_eq!(
            decide(r, 0, &tally(4, &[("approve", 2), ("reject", 2)], 0)),
            rejected()
        );
        assert_eq!(
            decide(r, 0, &tally(4, &[("approve", 0), ("reject", 0)], 4)),
            rejected()
        );
    }

    #[test]
    fn unanimity_needs_every_vote_and_ignores_abstentions() {
        let r = VotingRule::Unanimity;
        assert_eq!(
            decide(r, 0, &tally(5, &[("approve", 5), ("reject", 0)], 0)),
            decided()
        );
        assert_eq!(
            decide(r, 0, &tally(5, &[("approve", 4), ("reject", 1)], 0)),
            rejected()
        );
        assert_eq!(
            decide(r, 0, &tally(5, &[("approve", 3), ("reject", 0)], 2)),
            decided()
        );
        assert_eq!(
            decide(r, 0, &tally(5, &[("approve", 0), ("reject", 0)], 5)),
            rejected()
        );
        // Unanimous rejection is a rejection.
        assert_eq!(
            decide(r, 0, &tally(5, &[("approve", 0), ("reject", 5)], 0)),
            rejected()
        );
    }

    #[test]
    fn consent_passes_unless_an_objection_stands() {
        let r = VotingRule::Consent;
        assert_eq!(
            decide(r, 0, &tally(5, &[("approve", 1), ("reject", 0)], 4)),
            decided()
        );
        assert_eq!(
            decide(r, 0, &tally(5, &[("approve", 0), ("reject", 0)], 5)),
            decided()
        );
        assert_eq!(
            decide(r, 0, &tally(5, &[("approve", 4), ("reject", 1)], 0)),
            rejected()
        );
        let v = verdict(
            r,
            0,
            true,
            &ar(),
            &tally(5, &[("approve", 3), ("reject", 2)], 0),
        );
        assert!(
            v.explanation.contains("2 objection(s) stand"),
            "{}",
            v.explanation
        );
    }

    #[test]
    fn quorum_at_its_exact_threshold() {
        let r = VotingRule::SimpleMajority;
        // 50% of 4 is 2 voters.
        assert_eq!(
            decide(r, 50, &tally(4, &[("approve", 2), ("reject", 0)], 0)),
            decided()
        );
        assert_eq!(
            decide(r, 50, &tally(4, &[("approve", 1), ("reject", 0)], 0)),
            (Stage::NoQuorum, None)
        );
        // Abstentions count towards quorum.
        assert_eq!(
            decide(r, 50, &tally(4, &[("approve", 1), ("reject", 0)], 1)),
            decided()
        );
        // 34% of 3 needs two voters (1 * 100 < 34 * 3).
        assert_eq!(
            decide(r, 34, &tally(3, &[("approve", 1), ("reject", 0)], 0)),
            (Stage::NoQuorum, None)
        );
        assert_eq!(
            decide(r, 33, &tally(3, &[("approve", 1), ("reject", 0)], 0)),
            decided()
        );
        // 100% needs everybody; nobody eligible is never a quorum.
        assert_eq!(
            decide(r, 100, &tally(3, &[("approve", 2), ("reject", 0)], 0)),
            (Stage::NoQuorum, None)
        );
        assert_eq!(
            decide(r, 0, &tally(0, &[("approve", 0), ("reject", 0)], 0)),
            (Stage::NoQuorum, None)
        );
        // A failed quorum wins over a consent nobody objected to.
        assert_eq!(
            decide(
                VotingRule::Consent,
                60,
                &tally(5, &[("approve", 2), ("reject", 0)], 0)
            ),
            (Stage::NoQuorum, None)
        );
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn proxies_count_for_their_delegators_unless_they_voted() {
        let voters = ids(&["a", "b", "c", "d", "e"]);
        let mut ballots = HashMap::new();
        ballots.insert("a".to_string(), Choice::Option(APPROVE.into()));
        ballots.insert("c".to_string(), Choice::Option(REJECT.into()));
        let mut delegations = HashMap::new();
        // b and d give their votes to a; d also voted himself (own vote wins).
        delegations.insert("b".to_string(), "a".to_string());
        delegations.insert("d".to_string(), "a".to_string());
        ballots.insert("d".to_string(), Choice::Option(REJECT.into()));
        // e delegated to c... who delegated nowhere but c's vote counts.
        delegations.insert("e".to_string(), "c".to_string());
        let c = count(&ar(), &voters, &ballots, &delegations);
        assert_eq!(c.votes_for(APPROVE), 2);
        assert_eq!(c.votes_for(REJECT), 3);
        assert_eq!((c.participated, c.by_proxy, c.eligible), (5, 2, 5));
    }

    #[test]
    fn a_delegate_who_did_not_vote_carries_nothing() {
        let voters = ids(&["a", "b", "c"]);
        let ballots = HashMap::from([("c".to_string(), Choice::Abstain)]);
        let delegations = HashMap::from([("a".to_string(), "b".to_string())]);
        let c = count(&ar(), &voters, &ballots, &delegations);
        assert_eq!((c.participated, c.abstentions, c.by_proxy), (1, 1, 0));
    }

    #[test]
    fn delegation_chains_are_not_followed() {
        let voters = ids(&["a", "b", "c"]);
        let ballots = HashMap::from([("c".to_string(), Choice::Option(APPROVE.into()))]);
        let delegations = HashMap::from([
            ("a".to_string(), "b".to_string()),
            ("b".to_string(), "c".to_string()),
        ]);
        let c = count(&ar(), &voters, &ballots, &delegations);
        // b counts through c; a's delegate b delegated on, so a is not counted.
        assert_eq!((c.participated, c.by_proxy), (2, 1));
    }

    #[test]
    fn a_changed_vote_is_counted_once_as_it_is_now() {
        let voters = ids(&["a", "b", "c"]);
        let mut ballots = HashMap::from([
            ("a".to_string(), Choice::Option(APPROVE.into())),
            ("b".to_string(), Choice::Option(APPROVE.into())),
            ("c".to_string(), Choice::Option(REJECT.into())),
        ]);
        let before = count(&ar(), &voters, &ballots, &HashMap::new());
        assert_eq!(decide(VotingRule::TwoThirds, 0, &before), decided());
        ballots.insert("b".to_string(), Choice::Option(REJECT.into()));
        let after = count(&ar(), &voters, &ballots, &HashMap::new());
        assert_eq!((after.votes_for(APPROVE), after.votes_for(REJECT)), (1, 2));
        assert_eq!(decide(VotingRule::TwoThirds, 0, &after), rejected());
    }

    #[test]
    fn ballots_of_people_not_eligible_are_ignored() {
        let voters = ids(&["a"]);
        let ballots = HashMap::from([
            ("a".to_string(), Choice::Option(APPROVE.into())),
            ("stranger".to_string(), Choice::Option(REJECT.into())),
        ]);
        let c = count(&ar(), &voters, &ballots, &HashMap::new());
        assert_eq!((c.votes_for(REJECT), c.participated), (0, 1));
    }

    #[test]
    fn explanations_say_the_count() {
        let v = verdict(
            VotingRule::TwoThirds,
            50,
            true,
            &ar(),
            &tally(6, &[("approve", 4), ("reject", 1)], 1),
        );
        assert_eq!(
            v.explanation,
            "two thirds: approve: 4, reject: 1, abstain: 1; 6 of 6 eligible voters took part (0 by proxy), quorum 50% met; \"approve\" carries."
        );
    }
}

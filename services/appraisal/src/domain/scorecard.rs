//! Scorecards: from the collected values, the reviewers' scores and the
//! calibrations to a score per indicator, a part per dimension and a
//! weighted total; and rankings in which equal totals share a rank.

use std::collections::HashMap;

use concord_kit::clock::Millis;

use super::indicator::{Dimension, Indicator, Source};
use super::round2;

/// An automatic indicator's value for one subject, as last collected.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoValue {
    pub subject_id: String,
    pub code: String,
    pub source: Source,
    /// False when the source had no data for the subject in the period.
    pub applicable: bool,
    pub value: f64,
    /// The figures the value came from.
    pub raw_json: String,
    pub collected_ms: Millis,
}

/// A reviewer's score or a self-assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub cycle_id: String,
    pub subject_id: String,
    pub code: String,
    /// The reviewer, or the author of a self-assessment.
    pub author_id: String,
    pub self_assessment: bool,
    pub value: f64,
    pub comment: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// A score set in calibration, with its kept reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub id: String,
    pub cycle_id: String,
    pub subject_id: String,
    pub code: String,
    pub previous_score: Option<f64>,
    pub score: f64,
    pub reason: String,
    pub calibrated_by: String,
    pub created_ms: Millis,
}

/// Everything recorded about one subject in a cycle.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub automatic: HashMap<String, AutoValue>,
    /// Reviewers' scores (not self-assessments) by indicator code.
    pub reviews: HashMap<String, Vec<Score>>,
    pub self_assessments: HashMap<String, Score>,
    /// The latest calibration by indicator code.
    pub calibrations: HashMap<String, Calibration>,
}

impl Inputs {
    /// Sorts scores and calibrations of one subject into their places;
    /// calibrations must come oldest first.
    pub fn gather(
        automatic: Vec<AutoValue>,
        scores: Vec<Score>,
        calibrations: Vec<Calibration>,
    ) -> Self {
        let mut inputs = Inputs::default();
        automatic.into_iter().for_each(|a| inputs.add_automatic(a));
        scores.into_iter().for_each(|s| inputs.add_score(s));
        calibrations
            .into_iter()
            .for_each(|c| inputs.add_calibration(c));
        inputs
    }

    pub fn add_automatic(&mut self, a: AutoValue) {
        self.automatic.insert(a.code.clone(), a);
    }

    pub fn add_score(&mut self, s: Score) {
        if s.self_assessment {
            self.self_assessments.insert(s.code.clone(), s);
        } else {
            self.reviews.entry(s.code.clone()).or_default().push(s);
        }
    }

    /// Calibrations must be added oldest first: the latest counts.
    pub fn add_calibration(&mut self, c: Calibration) {
        self.calibrations.insert(c.code.clone(), c);
    }
}

/// One indicator of a scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub indicator: Indicator,
    pub applicable: bool,
    pub value: Option<f64>,
    pub raw_json: String,
    pub score: Option<f64>,
    pub final_score: Option<f64>,
    pub calibration: Option<Calibration>,
    pub reviews: Vec<Score>,
    pub self_assessment: Option<Score>,
}

/// A dimension's part of the total.
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionPart {
    pub dimension: Dimension,
    pub weight: i64,
    pub score: f64,
    pub contribution: f64,
}

/// A subject's scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub lines: Vec<Line>,
    pub dimensions: Vec<DimensionPart>,
    pub total: f64,
    pub complete: bool,
}

impl Card {
    /// The codes of applicable indicators without a final score.
    pub fn missing(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .filter(|l| l.applicable && l.final_score.is_none())
            .map(|l| l.indicator.code.as_str())
    }
}

fn line(ind: &Indicator, inputs: &Inputs) -> Line {
    let calibration = inputs.calibrations.get(&ind.code).cloned();
    let reviews = inputs.reviews.get(&ind.code).cloned().unwrap_or_default();
    let (applicable, value, raw_json) = if ind.is_manual() {
        let value = (!reviews.is_empty())
            .then(|| reviews.iter().map(|r| r.value).sum::<f64>() / reviews.len() as f64);
        (true, value, String::new())
    } else {
        match inputs.automatic.get(&ind.code) {
            Some(a) if a.applicable => (true, Some(a.value), a.raw_json.clone()),
            Some(a) => (calibration.is_some(), None, a.raw_json.clone()),
            None => (true, None, String::new()),
        }
    };
    let score = value.map(|v| ind.score(v));
    let final_score = calibration.as_ref().map(|c| c.score).or(score);
    Line {
        indicator: ind.clone(),
        applicable,
        value,
        raw_json,
        score,
        final_score,
        calibration,
        reviews,
        self_assessment: inputs.self_assessments.get(&ind.code).cloned(),
    }
}

/// The scorecard of one subject under the indicators of the pinned version.
pub fn card(indicators: &[Indicator], inputs: &Inputs) -> Card {
    let lines: Vec<Line> = indicators.iter().map(|i| line(i, inputs)).collect();
    let counted = || {
        lines
            .iter()
            .filter(|l| l.applicable)
            .filter_map(|l| l.final_score.map(|s| (l, s)))
    };
    let weight: i64 = counted().map(|(l, _)| l.indicator.weight).sum();
    let points = |l: &Line, s: f64| l.indicator.weight as f64 * s;
    let total = if weight == 0 {
        0.0
    } else {
        round2(counted().map(|(l, s)| points(l, s)).sum::<f64>() / weight as f64)
    };
    let mut order: Vec<Dimension> = Vec::new();
    for l in &lines {
        if !order.contains(&l.indicator.dimension) {
            order.push(l.indicator.dimension.clone());
        }
    }
    let dimensions = order
        .into_iter()
        .map(|d| {
            let (w, p) = counted()
                .filter(|(l, _)| l.indicator.dimension == d)
                .fold((0i64, 0.0f64), |(w, p), (l, s)| {
                    (w + l.indicator.weight, p + points(l, s))
                });
            DimensionPart {
                dimension: d,
                weight: w,
                score: if w == 0 { 0.0 } else { round2(p / w as f64) },
                contribution: if weight == 0 {
                    0.0
                } else {
                    round2(p / weight as f64)
                },
            }
        })
        .collect();
    let complete = lines
        .iter()
        .all(|l| !l.applicable || l.final_score.is_some());
    Card {
        lines,
        dimensions,
        total,
        complete,
    }
}

/// Ranks totals, best first: equal totals share a rank and the next rank
/// skips (1, 1, 3). Returns the rank of each input, in input order.
pub fn ranks(totals: &[f64]) -> Vec<i32> {
    totals
        .iter()
        .map(|t| {
            let better = totals.iter().filter(|o| *o > t).count();
            i32::try_from(better + 1).unwrap_or(i32::MAX)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator::{Rule, Source};

    fn ind(code: &str, weight: i64, dimension: Dimension, source: Source, rule: Rule) -> Indicator {
        Indicator {
            code: code.into(),
            name: code.into(),
            description: String::new(),
            dimension,
            weight,
            rule,
            lower_is_better: false,
            source,
        }
    }

    fn review(code: &str, who: &str, value: f64) -> Score {
        Score {
            cycle_id: "c".into(),
            subject_id: "s".into(),
            code: code.into(),
            author_id: who.into(),
            self_assessment: false,
            value,
            comment: "好".into(),
            created_ms: 0,
            updated_ms: 0,
        }
    }

    fn auto(code: &str, applicable: bool, value: f64) -> AutoValue {
        AutoValue {
            subject_id: "s".into(),
            code: code.into(),
            source: Source::NoticeReadRate,
            applicable,
            value,
            raw_json: "{}".into(),
            collected_ms: 1,
        }
    }

    fn set() -> Vec<Indicator> {
        vec![
            ind("q", 50, Dimension::Quality, Source::Manual, Rule::Manual),
            ind(
                "r",
                30,
                Dimension::Efficiency,
                Source::NoticeReadRate,
                Rule::Linear {
                    floor: 50.0,
                    target: 100.0,
                },
            ),
            ind(
                "a",
                20,
                Dimension::Custom("廉洁".into()),
                Source::FeedbackResolvedOnTime,
                Rule::Threshold { target: 90.0 },
            ),
        ]
    }

    #[test]
    fn totals_weigh_final_scores_and_dimensions_add_up() {
        let inputs = Inputs::gather(
            vec![auto("r", true, 80.0), auto("a", true, 95.0)],
            vec![review("q", "x", 70.0), review("q", "y", 90.0)],
            vec![],
        );
        let c = card(&set(), &inputs);
        // q = 80 (mean), r = 60, a = 100: (50*80 + 30*60 + 20*100) / 100.
        assert_eq!(c.total, 78.0);
        assert!(c.complete);
        let parts: Vec<(i64, f64, f64)> = c
            .dimensions
            .iter()
            .map(|d| (d.weight, d.score, d.contribution))
            .collect();
        assert_eq!(
            parts,
            [(50, 80.0, 40.0), (30, 60.0, 18.0), (20, 100.0, 20.0)]
        );
    }

    #[test]
    fn indicators_without_data_leave_the_total_and_calibration_overrides() {
        let mut inputs = Inputs::gather(
            vec![auto("r", true, 75.0), auto("a", false, 0.0)],
            vec![review("q", "x", 70.0)],
            vec![],
        );
        let c = card(&set(), &inputs);
        // a is not applicable: (50*70 + 30*50) / 80.
        assert_eq!(c.total, 62.5);
        assert!(c.complete);
        inputs.calibrations.insert(
            "q".into(),
            Calibration {
                id: "k".into(),
                cycle_id: "c".into(),
                subject_id: "s".into(),
                code: "q".into(),
                previous_score: Some(70.0),
                score: 86.0,
                reason: "跨部门协作突出".into(),
                calibrated_by: "admin".into(),
                created_ms: 2,
            },
        );
        let c = card(&set(), &inputs);
        assert_eq!(c.lines[0].score, Some(70.0));
        assert_eq!(c.lines[0].final_score, Some(86.0));
        assert_eq!(c.total, 72.5);
    }

    #[test]
    fn unscored_manual_indicators_leave_the_card_incomplete() {
        let inputs = Inputs::gather(vec![auto("r", true, 100.0)], vec![], vec![]);
        let c = card(&set(), &inputs);
        assert!(!c.complete);
        assert_eq!(c.missing().collect::<Vec<_>>(), ["q", "a"]);
        assert_eq!(c.total, 100.0);
    }

    #[test]
    fn ties_share_a_rank_and_the_next_skips() {
        assert_eq!(ranks(&[80.0, 92.5, 80.0, 70.0]), [2, 1, 2, 4]);
        assert_eq!(ranks(&[50.0, 50.0, 50.0]), [1, 1, 1]);
        assert!(ranks(&[]).is_empty());
    }
}

//! Indicators and indicator sets: what is measured, how much it weighs, where
//! the value comes from and how a value becomes a 0..100 score.

use concord_kit::Violations;
use concord_kit::ids::{check_opt_text, check_text};

use super::{DESCRIPTION_MAX, INDICATORS_MAX, NAME_MAX, round2};

/// What an indicator measures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Quality,
    Efficiency,
    Attitude,
    /// A dimension the organisation names itself.
    Custom(String),
}

impl Dimension {
    /// The stored form: `quality`, `efficiency`, `attitude` or `custom`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Dimension::Quality => "quality",
            Dimension::Efficiency => "efficiency",
            Dimension::Attitude => "attitude",
            Dimension::Custom(_) => "custom",
        }
    }

    pub fn parse(kind: &str, custom: &str) -> Option<Self> {
        Some(match kind {
            "quality" => Dimension::Quality,
            "efficiency" => Dimension::Efficiency,
            "attitude" => Dimension::Attitude,
            "custom" => Dimension::Custom(custom.to_string()),
            _ => return None,
        })
    }

    /// The custom name, empty for the built-in dimensions.
    pub fn custom_name(&self) -> &str {
        match self {
            Dimension::Custom(name) => name,
            _ => "",
        }
    }
}

/// How a value becomes a score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// 0 at `floor`, 100 at `target`, linear in between, clamped.
    Linear { floor: f64, target: f64 },
    /// 100 when the target is reached, else 0.
    Threshold { target: f64 },
    /// The value is the score (0..100).
    Manual,
}

impl Rule {
    pub fn as_str(&self) -> &'static str {
        match self {
            Rule::Linear { .. } => "linear",
            Rule::Threshold { .. } => "threshold",
            Rule::Manual => "manual",
        }
    }

    pub fn parse(kind: &str, floor: f64, target: f64) -> Option<Self> {
        Some(match kind {
            "linear" => Rule::Linear { floor, target },
            "threshold" => Rule::Threshold { target },
            "manual" => Rule::Manual,
            _ => return None,
        })
    }

    /// `(floor, target)` as stored (0 where the rule has none).
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Rule::Linear { floor, target } => (floor, target),
            Rule::Threshold { target } => (0.0, target),
            Rule::Manual => (0.0, 0.0),
        }
    }
}

/// Where an indicator's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Manual,
    FeedbackResolvedOnTime,
    FeedbackSatisfaction,
    AlertTimeToAcknowledge,
    DrillTimeToAcknowledge,
    AlertsAcknowledgedOnTime,
    ActionItemsOnTime,
    VoteParticipation,
    NoticeReadRate,
    NoticeAcknowledgementRate,
    TrainingCompletion,
    TrainingMandatoryCompliance,
}

/// The service an automatic source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Feedback,
    Emergency,
    Decisions,
    Notices,
    Training,
}

impl Service {
    pub fn target(self) -> &'static str {
        match self {
            Service::Feedback => "feedback",
            Service::Emergency => "emergency",
            Service::Decisions => "decisions",
            Service::Notices => "notices",
            Service::Training => "training",
        }
    }
}

impl Source {
    pub const ALL: [Source; 12] = [
        Source::Manual,
        Source::FeedbackResolvedOnTime,
        Source::FeedbackSatisfaction,
        Source::AlertTimeToAcknowledge,
        Source::DrillTimeToAcknowledge,
        Source::AlertsAcknowledgedOnTime,
        Source::ActionItemsOnTime,
        Source::VoteParticipation,
        Source::NoticeReadRate,
        Source::NoticeAcknowledgementRate,
        Source::TrainingCompletion,
        Source::TrainingMandatoryCompliance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::FeedbackResolvedOnTime => "feedback_resolved_on_time",
            Source::FeedbackSatisfaction => "feedback_satisfaction",
            Source::AlertTimeToAcknowledge => "alert_time_to_acknowledge",
            Source::DrillTimeToAcknowledge => "drill_time_to_acknowledge",
            Source::AlertsAcknowledgedOnTime => "alerts_acknowledged_on_time",
            Source::ActionItemsOnTime => "action_items_on_time",
            Source::VoteParticipation => "vote_participation",
            Source::NoticeReadRate => "notice_read_rate",
            Source::NoticeAcknowledgementRate => "notice_acknowledgement_rate",
            Source::TrainingCompletion => "training_completion",
            Source::TrainingMandatoryCompliance => "training_mandatory_compliance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The service it reads; `None` for manual.
    pub fn service(self) -> Option<Service> {
        Some(match self {
            Source::Manual => return None,
            Source::FeedbackResolvedOnTime | Source::FeedbackSatisfaction => Service::Feedback,
            Source::AlertTimeToAcknowledge
            | Source::DrillTimeToAcknowledge
            | Source::AlertsAcknowledgedOnTime => Service::Emergency,
            Source::ActionItemsOnTime | Source::VoteParticipation => Service::Decisions,
            Source::NoticeReadRate | Source::NoticeAcknowledgementRate => Service::Notices,
            Source::TrainingCompletion | Source::TrainingMandatoryCompliance => Service::Training,
        })
    }

    pub fn is_automatic(self) -> bool {
        self != Source::Manual
    }

    /// Whether a lower value is better; `None` for manual (the set says).
    pub fn lower_is_better(self) -> Option<bool> {
        match self {
            Source::Manual => None,
            Source::AlertTimeToAcknowledge | Source::DrillTimeToAcknowledge => Some(true),
            _ => Some(false),
        }
    }

    /// The unit of the value.
    pub fn unit(self, rule: &Rule) -> &'static str {
        match self {
            Source::Manual if *rule == Rule::Manual => "points",
            Source::Manual => "value",
            Source::FeedbackSatisfaction => "rating",
            Source::AlertTimeToAcknowledge | Source::DrillTimeToAcknowledge => "seconds",
            _ => "percent",
        }
    }
}

/// One indicator of a set version.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub code: String,
    pub name: String,
    pub description: String,
    pub dimension: Dimension,
    pub weight: i64,
    pub rule: Rule,
    pub lower_is_better: bool,
    pub source: Source,
}

impl Indicator {
    /// The 0..100 score of `value` under the indicator's rule, rounded to
    /// two decimals.
    pub fn score(&self, value: f64) -> f64 {
        let raw = match self.rule {
            Rule::Manual => value,
            Rule::Linear { floor, target } => (value - floor) / (target - floor) * 100.0,
            Rule::Threshold { target } => {
                let reached = if self.lower_is_better {
                    value <= target
                } else {
                    value >= target
                };
                if reached { 100.0 } else { 0.0 }
            }
        };
        round2(raw.clamp(0.0, 100.0))
    }

    /// Whether reviewers score it.
    pub fn is_manual(&self) -> bool {
        self.source == Source::Manual
    }

    /// Checks a value a reviewer entered.
    pub fn check_value(&self, v: &mut Violations, field: &str, value: f64) {
        if !value.is_finite() {
            v.add(field, "must be a finite number");
        } else if self.rule == Rule::Manual && !(0.0..=100.0).contains(&value) {
            v.add(field, "must be between 0 and 100");
        }
    }
}

/// The content of one version of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct SetContent {
    pub name: String,
    pub description: String,
    pub indicators: Vec<Indicator>,
    pub change_note: String,
}

fn valid_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

impl SetContent {
    /// Checks the whole content, naming each bad field (`indicators[2].weight`).
    pub fn validate(&self, v: &mut Violations) {
        if !self.validate_text(v) {
            return;
        }
        let mut weights_ok = true;
        for (i, ind) in self.indicators.iter().enumerate() {
            let f = |name: &str| format!("indicators[{i}].{name}");
            weights_ok &= (1..=100).contains(&ind.weight);
            ind_rule_checks(v, ind, &f);
        }
        let sum: i64 = self.indicators.iter().map(|i| i.weight).sum();
        if weights_ok && sum != 100 {
            v.add(
                "indicators",
                format!("the weights must sum to 100, not {sum}"),
            );
        }
    }

    /// Checks names, texts, codes and weight ranges (not the rules nor the
    /// sum of weights). False when the indicator list itself is unusable.
    pub fn validate_text(&self, v: &mut Violations) -> bool {
        check_text(v, "name", &self.name, NAME_MAX);
        check_opt_text(v, "description", &self.description, DESCRIPTION_MAX);
        check_opt_text(v, "change_note", &self.change_note, DESCRIPTION_MAX);
        if self.indicators.is_empty() {
            v.add("indicators", "at least one indicator is required");
            return false;
        }
        if self.indicators.len() > INDICATORS_MAX {
            v.add(
                "indicators",
                format!("at most {INDICATORS_MAX} indicators are allowed"),
            );
            return false;
        }
        for (i, ind) in self.indicators.iter().enumerate() {
            let f = |name: &str| format!("indicators[{i}].{name}");
            if !valid_code(&ind.code) {
                v.add(f("code"), "must be 1 to 64 of a-z, 0-9, '_', '-' and '.'");
            } else if self.indicators[..i].iter().any(|o| o.code == ind.code) {
                v.add(f("code"), "is used by another indicator of the set");
            }
            check_text(v, &f("name"), &ind.name, NAME_MAX);
            check_opt_text(v, &f("description"), &ind.description, DESCRIPTION_MAX);
            if let Dimension::Custom(name) = &ind.dimension {
                check_text(v, &f("custom_dimension"), name, NAME_MAX);
            }
            if !(1..=100).contains(&ind.weight) {
                v.add(f("weight"), "must be between 1 and 100");
            }
        }
        true
    }
}

fn ind_rule_checks(v: &mut Violations, ind: &Indicator, f: &dyn Fn(&str) -> String) {
    match ind.rule {
        Rule::Manual if ind.source.is_automatic() => {
            v.add(f("rule"), "an automatic source needs LINEAR or THRESHOLD")
        }
        Rule::Linear { floor, target } => {
            if !floor.is_finite() {
                v.add(f("floor"), "must be a finite number");
            }
            if !target.is_finite() {
                v.add(f("target"), "must be a finite number");
            }
            if floor.is_finite() && target.is_finite() {
                if floor == target {
                    v.add(f("floor"), "must differ from the target");
                } else if ind.lower_is_better && floor < target {
                    v.add(f("floor"), "must lie above the target when lower is better");
                } else if !ind.lower_is_better && floor > target {
                    v.add(
                        f("floor"),
                        "must lie below the target when higher is better",
                    );
                }
            }
        }
        Rule::Threshold { target } if !target.is_finite() => {
            v.add(f("target"), "must be a finite number")
        }
        _ => {}
    }
    if let Some(lower) = ind.source.lower_is_better()
        && lower != ind.lower_is_better
    {
        v.add(
            f("lower_is_better"),
            if lower {
                "must be set: a lower value of this source is better"
            } else {
                "must not be set: a higher value of this source is better"
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(code: &str, weight: i64, rule: Rule, source: Source, lower: bool) -> Indicator {
        Indicator {
            code: code.into(),
            name: format!("指标 {code}"),
            description: String::new(),
            dimension: Dimension::Quality,
            weight,
            rule,
            lower_is_better: lower,
            source,
        }
    }

    fn fields(content: &SetContent) -> Vec<String> {
        let mut v = Violations::new();
        content.validate(&mut v);
        v.fields().map(str::to_string).collect()
    }

    #[test]
    fn linear_scores_in_both_directions_and_clamps() {
        let up = ind(
            "a",
            100,
            Rule::Linear {
                floor: 50.0,
                target: 100.0,
            },
            Source::FeedbackResolvedOnTime,
            false,
        );
        assert_eq!(up.score(75.0), 50.0);
        assert_eq!(up.score(40.0), 0.0);
        assert_eq!(up.score(120.0), 100.0);
        let down = ind(
            "b",
            100,
            Rule::Linear {
                floor: 600.0,
                target: 60.0,
            },
            Source::DrillTimeToAcknowledge,
            true,
        );
        assert_eq!(down.score(330.0), 50.0);
        assert_eq!(down.score(30.0), 100.0);
        assert_eq!(down.score(200.0), 74.07);
    }

    #[test]
    fn thresholds_follow_the_direction() {
        let t = ind(
            "t",
            100,
            Rule::Threshold { target: 90.0 },
            Source::NoticeReadRate,
            false,
        );
        assert_eq!(t.score(90.0), 100.0);
        assert_eq!(t.score(89.99), 0.0);
        let d = ind(
            "d",
            100,
            Rule::Threshold { target: 300.0 },
            Source::AlertTimeToAcknowledge,
            true,
        );
        assert_eq!(d.score(300.0), 100.0);
        assert_eq!(d.score(301.0), 0.0);
    }

    #[test]
    fn weights_must_sum_to_one_hundred() {
        let set = |weights: &[i64]| SetContent {
            name: "2026 部门考核".into(),
            description: String::new(),
            indicators: weights
                .iter()
                .enumerate()
                .map(|(i, w)| ind(&format!("i{i}"), *w, Rule::Manual, Source::Manual, false))
                .collect(),
            change_note: String::new(),
        };
        assert!(fields(&set(&[60, 40])).is_empty());
        assert_eq!(fields(&set(&[60, 30])), ["indicators"]);
        assert_eq!(fields(&set(&[0, 100])), ["indicators[0].weight"]);
        assert_eq!(fields(&set(&[])), ["indicators"]);
    }

    #[test]
    fn rules_and_directions_are_checked_per_indicator() {
        let content = SetContent {
            name: "x".into(),
            description: String::new(),
            indicators: vec![
                ind("a", 20, Rule::Manual, Source::NoticeReadRate, false),
                ind(
                    "b",
                    20,
                    Rule::Linear {
                        floor: 10.0,
                        target: 10.0,
                    },
                    Source::Manual,
                    false,
                ),
                ind(
                    "c",
                    20,
                    Rule::Threshold { target: 60.0 },
                    Source::AlertTimeToAcknowledge,
                    false,
                ),
                ind(
                    "c",
                    40,
                    Rule::Linear {
                        floor: 100.0,
                        target: 0.0,
                    },
                    Source::Manual,
                    false,
                ),
            ],
            change_note: String::new(),
        };
        assert_eq!(
            fields(&content),
            [
                "indicators[3].code",
                "indicators[0].rule",
                "indicators[1].floor",
                "indicators[2].lower_is_better",
                "indicators[3].floor"
            ]
        );
    }
}

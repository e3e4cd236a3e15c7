//! Proto ⇄ domain conversion. Requests become domain values or a violation
//! naming each bad field; domain values become messages.

use concord_kit::Violations;
use concord_kit::clock::{from_timestamp, to_timestamp, to_timestamp_opt};
use concord_kit::fields::render_etag;
use concord_proto::appraisal::v1 as pb;

use crate::domain::recognition::{AppraisalFeedback, Commendation};
use crate::domain::scorecard::{Card, DimensionPart, Line};
use crate::domain::{
    AutoValue, Calibration, Cycle, Dimension, Indicator, Rule, Score, SetContent, Source, Stage,
    Subject, SubjectKind,
};
use crate::store::set::Version;

/// A required timestamp field.
pub fn time(v: &mut Violations, field: &str, ts: Option<&prost_types::Timestamp>) -> i64 {
    match ts.map(from_timestamp) {
        Some(Some(ms)) => ms,
        Some(None) => {
            v.add(field, "is not a valid timestamp");
            0
        }
        None => {
            v.add(field, "is required");
            0
        }
    }
}

/// An optional timestamp field.
pub fn opt_time(
    v: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<i64> {
    ts.and_then(|t| match from_timestamp(t) {
        Some(ms) => Some(ms),
        None => {
            v.add(field, "is not a valid timestamp");
            None
        }
    })
}

pub fn stage(s: Stage) -> pb::Stage {
    match s {
        Stage::Open => pb::Stage::Open,
        Stage::Scoring => pb::Stage::Scoring,
        Stage::Calibration => pb::Stage::Calibration,
        Stage::Published => pb::Stage::Published,
    }
}

/// A stage field; `required` refuses UNSPECIFIED.
pub fn parse_stage(v: &mut Violations, field: &str, value: i32, required: bool) -> Option<Stage> {
    match pb::Stage::try_from(value) {
        Ok(pb::Stage::Open) => Some(Stage::Open),
        Ok(pb::Stage::Scoring) => Some(Stage::Scoring),
        Ok(pb::Stage::Calibration) => Some(Stage::Calibration),
        Ok(pb::Stage::Published) => Some(Stage::Published),
        Ok(pb::Stage::Unspecified) => {
            if required {
                v.add(field, "is required");
            }
            None
        }
        Err(_) => {
            v.add(field, "is not a known stage");
            None
        }
    }
}

pub fn subject_kind(k: SubjectKind) -> pb::SubjectKind {
    match k {
        SubjectKind::Department => pb::SubjectKind::Department,
        SubjectKind::Person => pb::SubjectKind::Person,
    }
}

pub fn parse_subject_kind(v: &mut Violations, field: &str, value: i32) -> Option<SubjectKind> {
    match pb::SubjectKind::try_from(value) {
        Ok(pb::SubjectKind::Department) => Some(SubjectKind::Department),
        Ok(pb::SubjectKind::Person) => Some(SubjectKind::Person),
        Ok(pb::SubjectKind::Unspecified) => {
            v.add(field, "is required");
            None
        }
        Err(_) => {
            v.add(field, "is not a known subject kind");
            None
        }
    }
}

fn source(s: Source) -> pb::Source {
    match s {
        Source::Manual => pb::Source::Manual,
        Source::FeedbackResolvedOnTime => pb::Source::FeedbackResolvedOnTime,
        Source::FeedbackSatisfaction => pb::Source::FeedbackSatisfaction,
        Source::AlertTimeToAcknowledge => pb::Source::AlertTimeToAcknowledge,
        Source::DrillTimeToAcknowledge => pb::Source::DrillTimeToAcknowledge,
        Source::AlertsAcknowledgedOnTime => pb::Source::AlertsAcknowledgedOnTime,
        Source::ActionItemsOnTime => pb::Source::ActionItemsOnTime,
        Source::VoteParticipation => pb::Source::VoteParticipation,
        Source::NoticeReadRate => pb::Source::NoticeReadRate,
        Source::NoticeAcknowledgementRate => pb::Source::NoticeAcknowledgementRate,
        Source::TrainingCompletion => pb::Source::TrainingCompletion,
        Source::TrainingMandatoryCompliance => pb::Source::TrainingMandatoryCompliance,
    }
}

fn parse_source(v: &mut Violations, field: &str, value: i32) -> Option<Source> {
    match pb::Source::try_from(value) {
        Ok(pb::Source::Unspecified) => {
            v.add(field, "is required");
            None
        }
        Ok(p) => Source::ALL.into_iter().find(|s| source(*s) == p),
        Err(_) => {
            v.add(field, "is not a known source");
            None
        }
    }
}

fn dimension(d: &Dimension) -> pb::Dimension {
    match d {
        Dimension::Quality => pb::Dimension::Quality,
        Dimension::Efficiency => pb::Dimension::Efficiency,
        Dimension::Attitude => pb::Dimension::Attitude,
        Dimension::Custom(_) => pb::Dimension::Custom,
    }
}

fn parse_dimension(v: &mut Violations, prefix: &str, p: &pb::Indicator) -> Option<Dimension> {
    let field = format!("{prefix}.dimension");
    let d = match pb::Dimension::try_from(p.dimension) {
        Ok(pb::Dimension::Quality) => Dimension::Quality,
        Ok(pb::Dimension::Efficiency) => Dimension::Efficiency,
        Ok(pb::Dimension::Attitude) => Dimension::Attitude,
        Ok(pb::Dimension::Custom) => return Some(Dimension::Custom(p.custom_dimension.clone())),
        Ok(pb::Dimension::Unspecified) => {
            v.add(field, "is required");
            return None;
        }
        Err(_) => {
            v.add(field, "is not a known dimension");
            return None;
        }
    };
    if !p.custom_dimension.is_empty() {
        v.add(
            format!("{prefix}.custom_dimension"),
            "is only for the CUSTOM dimension",
        );
    }
    Some(d)
}

fn parse_rule(v: &mut Violations, prefix: &str, p: &pb::Indicator) -> Option<Rule> {
    let field = format!("{prefix}.rule");
    match pb::ScoringRule::try_from(p.rule) {
        Ok(pb::ScoringRule::Linear) => Some(Rule::Linear {
            floor: p.floor,
            target: p.target,
        }),
        Ok(pb::ScoringRule::Threshold) => Some(Rule::Threshold { target: p.target }),
        Ok(pb::ScoringRule::Manual) => Some(Rule::Manual),
        Ok(pb::ScoringRule::Unspecified) => {
            v.add(field, "is required");
            None
        }
        Err(_) => {
            v.add(field, "is not a known scoring rule");
            None
        }
    }
}

/// The content of a set version from request fields. Cross-field rules are
/// checked once every indicator's enums are readable.
pub fn set_content(
    name: &str,
    description: &str,
    indicators: &[pb::Indicator],
    change_note: &str,
) -> Result<SetContent, concord_kit::Error> {
    let mut v = Violations::new();
    let mut parsed = Vec::with_capacity(indicators.len());
    for (i, p) in indicators.iter().enumerate() {
        let prefix = format!("indicators[{i}]");
        let dimension = parse_dimension(&mut v, &prefix, p);
        let rule = parse_rule(&mut v, &prefix, p);
        let source = parse_source(&mut v, &format!("{prefix}.source"), p.source);
        if let (Some(dimension), Some(rule), Some(source)) = (dimension, rule, source) {
            parsed.push(Indicator {
                code: p.code.clone(),
                name: p.name.clone(),
                description: p.description.clone(),
                dimension,
                weight: i64::from(p.weight),
                rule,
                lower_is_better: p.lower_is_better,
                source,
            });
        }
    }
    let complete = parsed.len() == indicators.len();
    let content = SetContent {
        name: name.to_string(),
        description: description.to_string(),
        indicators: parsed,
        change_note: change_note.to_string(),
    };
    if complete {
        content.validate(&mut v);
    } else {
        content.validate_text(&mut v);
    }
    v.into_result()?;
    Ok(content)
}

pub fn indicator(i: &Indicator) -> pb::Indicator {
    let (floor, target) = i.rule.bounds();
    pb::Indicator {
        code: i.code.clone(),
        name: i.name.clone(),
        description: i.description.clone(),
        dimension: dimension(&i.dimension) as i32,
        custom_dimension: i.dimension.custom_name().to_string(),
        weight: i32::try_from(i.weight).unwrap_or(i32::MAX),
        rule: match i.rule {
            Rule::Linear { .. } => pb::ScoringRule::Linear,
            Rule::Threshold { .. } => pb::ScoringRule::Threshold,
            Rule::Manual => pb::ScoringRule::Manual,
        } as i32,
        floor,
        target,
        lower_is_better: i.lower_is_better,
        source: source(i.source) as i32,
        unit: i.source.unit(&i.rule).to_string(),
    }
}

/// A set as of `v`, whose current version is `current`.
pub fn indicator_set(v: &Version, current: i64, created_ms: i64) -> pb::IndicatorSet {
    pb::IndicatorSet {
        id: v.set_id.clone(),
        name: v.content.name.clone(),
        description: v.content.description.clone(),
        version: v.version,
        current_version: current,
        indicators: v.content.indicators.iter().map(indicator).collect(),
        change_note: v.content.change_note.clone(),
        created_by: v.created_by.clone(),
        create_time: Some(to_timestamp(created_ms)),
        version_create_time: Some(to_timestamp(v.created_ms)),
        etag: render_etag(current),
    }
}

pub fn subject(s: &Subject) -> pb::Subject {
    pb::Subject {
        id: s.id.clone(),
        department_id: s.department_id.clone(),
        display_name: s.display_name.clone(),
    }
}

pub fn cycle(c: &Cycle, subjects: &[Subject]) -> pb::Cycle {
    pb::Cycle {
        id: c.id.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        indicator_set_id: c.set_id.clone(),
        indicator_set_version: c.set_version,
        subject_kind: subject_kind(c.subject_kind) as i32,
        subjects: subjects.iter().map(subject).collect(),
        owner_department_id: c.owner_department_id.clone().unwrap_or_default(),
        period_start_time: Some(to_timestamp(c.period_start_ms)),
        period_end_time: Some(to_timestamp(c.period_end_ms)),
        include_sub_departments: c.include_sub_departments,
        self_assessment: c.self_assessment,
        scoring_start_time: Some(to_timestamp(c.scoring_start_ms)),
        scoring_deadline: to_timestamp_opt(c.scoring_deadline_ms),
        stage: stage(c.stage) as i32,
        collect_time: to_timestamp_opt(c.collected_ms),
        publish_time: to_timestamp_opt(c.published_ms),
        created_by: c.created_by.clone(),
        create_time: Some(to_timestamp(c.created_ms)),
        update_time: Some(to_timestamp(c.updated_ms)),
        etag: render_etag(c.version),
    }
}

pub fn automatic_value(a: &AutoValue) -> pb::AutomaticValue {
    pb::AutomaticValue {
        subject_id: a.subject_id.clone(),
        indicator_code: a.code.clone(),
        source: source(a.source) as i32,
        applicable: a.applicable,
        value: a.value,
        raw_json: a.raw_json.clone(),
        collect_time: Some(to_timestamp(a.collected_ms)),
    }
}

pub fn score(s: &Score) -> pb::Score {
    pb::Score {
        cycle_id: s.cycle_id.clone(),
        subject_id: s.subject_id.clone(),
        indicator_code: s.code.clone(),
        reviewer_id: s.author_id.clone(),
        self_assessment: s.self_assessment,
        value: s.value,
        comment: s.comment.clone(),
        create_time: Some(to_timestamp(s.created_ms)),
        update_time: Some(to_timestamp(s.updated_ms)),
    }
}

pub fn calibration(c: &Calibration) -> pb::Calibration {
    pb::Calibration {
        id: c.id.clone(),
        cycle_id: c.cycle_id.clone(),
        subject_id: c.subject_id.clone(),
        indicator_code: c.code.clone(),
        previous_score: c.previous_score,
        score: c.score,
        reason: c.reason.clone(),
        calibrated_by: c.calibrated_by.clone(),
        create_time: Some(to_timestamp(c.created_ms)),
    }
}

fn line(l: &Line) -> pb::ScorecardLine {
    pb::ScorecardLine {
        indicator: Some(indicator(&l.indicator)),
        applicable: l.applicable,
        value: l.value,
        raw_json: l.raw_json.clone(),
        score: l.score,
        final_score: l.final_score,
        calibrated: l.calibration.is_some(),
        calibration_reason: l
            .calibration
            .as_ref()
            .map(|c| c.reason.clone())
            .unwrap_or_default(),
        reviewer_scores: l
            .reviews
            .iter()
            .map(|r| pb::ReviewerScore {
                reviewer_id: r.author_id.clone(),
                value: r.value,
                comment: r.comment.clone(),
                update_time: Some(to_timestamp(r.updated_ms)),
            })
            .collect(),
        self_assessment: l.self_assessment.as_ref().map(|s| s.value),
        self_assessment_comment: l
            .self_assessment
            .as_ref()
            .map(|s| s.comment.clone())
            .unwrap_or_default(),
    }
}

fn dimension_part(d: &DimensionPart) -> pb::DimensionScore {
    pb::DimensionScore {
        dimension: dimension(&d.dimension) as i32,
        custom_dimension: d.dimension.custom_name().to_string(),
        weight: i32::try_from(d.weight).unwrap_or(i32::MAX),
        score: d.score,
        contribution: d.contribution,
    }
}

pub fn scorecard(c: &Cycle, s: &Subject, card: &Card, rank: i64) -> pb::Scorecard {
    pb::Scorecard {
        cycle_id: c.id.clone(),
        subject_kind: subject_kind(c.subject_kind) as i32,
        subject: Some(subject(s)),
        stage: stage(c.stage) as i32,
        indicator_set_id: c.set_id.clone(),
        indicator_set_version: c.set_version,
        total: card.total,
        complete: card.complete,
        rank: i32::try_from(rank).unwrap_or(0),
        lines: card.lines.iter().map(line).collect(),
        dimensions: card.dimensions.iter().map(dimension_part).collect(),
    }
}

pub fn feedback(f: &AppraisalFeedback) -> pb::AppraisalFeedback {
    pb::AppraisalFeedback {
        cycle_id: f.cycle_id.clone(),
        subject_id: f.subject_id.clone(),
        strengths: f.strengths.clone(),
        improvements: f.improvements.clone(),
        agreed_actions: f.agreed_actions.clone(),
        author_id: f.author_id.clone(),
        create_time: Some(to_timestamp(f.created_ms)),
        update_time: Some(to_timestamp(f.updated_ms)),
        acknowledge_time: to_timestamp_opt(f.acknowledged_ms),
        acknowledged_by: f.acknowledged_by.clone(),
        response: f.response.clone(),
        etag: render_etag(f.version),
    }
}

pub fn commendation(c: &Commendation) -> pb::Commendation {
    pb::Commendation {
        id: c.id.clone(),
        subject_kind: subject_kind(c.subject_kind) as i32,
        subject_id: c.subject_id.clone(),
        department_id: c.department_id.clone(),
        display_name: c.display_name.clone(),
        cycle_id: c.cycle_id.clone().unwrap_or_default(),
        title: c.title.clone(),
        citation: c.citation.clone(),
        awarded_by: c.awarded_by.clone(),
        create_time: Some(to_timestamp(c.created_ms)),
    }
}

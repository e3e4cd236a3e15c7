//! An indicator set and a department appraisal cycle over the demo period,
//! taken from open to published: automatic indicators collected from the
//! other services, reviewers' scores, a calibration with its reason,
//! feedback to the appraised and commendations.

use anyhow::Context as _;
use concord_kit::clock::{Millis, to_timestamp};
use concord_proto::appraisal::v1::*;
use concord_proto::directory::v1::Person;

use super::org::Org;
use super::session::{Session, call, pages};

pub async fn appraisal(s: &Session, org: &Org, period: (Millis, Millis)) -> anyhow::Result<()> {
    let spec = &s.content.appraisal;
    let admin = s.as_person(org.admin())?;
    let ap = admin.appraisal();
    let sets = match super::session::retry(|| {
        let mut c = ap.clone();
        async move {
            c.list_indicator_sets(ListIndicatorSetsRequest {
                page_size: 500,
                page_token: String::new(),
            })
            .await
        }
    })
    .await
    {
        Ok(r) => r.indicator_sets,
        Err(e) if e.code() == tonic::Code::Unimplemented => {
            s.note("appraisal is not served by this suite: skipped the appraisal cycle");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let set = match sets.into_iter().find(|x| x.name == spec.set_name) {
        Some(x) => {
            s.found();
            x
        }
        None => {
            s.made();
            call!(
                ap,
                create_indicator_set,
                CreateIndicatorSetRequest {
                    request_id: s.rid(&["indicator-set"]),
                    name: spec.set_name.into(),
                    description: spec.set_description.into(),
                    indicators: spec
                        .indicators
                        .iter()
                        .map(|i| Indicator {
                            code: i.code.into(),
                            name: i.name.into(),
                            dimension: i.dimension,
                            weight: i.weight,
                            rule: i.rule,
                            floor: i.floor,
                            target: i.target,
                            lower_is_better: i.lower_is_better,
                            source: i.source,
                            ..Default::default()
                        })
                        .collect(),
                    change_note: String::new(),
                }
            )
            .context("creating the indicator set")?
        }
    };
    s.step(spec.set_name);
    let cycles = pages!(ap, list_cycles, ListCyclesRequest::default(), cycles);
    let mut cycle = match cycles.into_iter().find(|c| c.name == spec.cycle_name) {
        Some(c) => {
            s.found();
            c
        }
        None => {
            s.made();
            call!(
                ap,
                create_cycle,
                CreateCycleRequest {
                    request_id: s.rid(&["cycle"]),
                    name: spec.cycle_name.into(),
                    description: spec.cycle_description.into(),
                    indicator_set_id: set.id.clone(),
                    subject_kind: SubjectKind::Department as i32,
                    subject_ids: spec.subjects.iter().map(|k| org.id(k)).collect(),
                    owner_department_id: String::new(),
                    period_start_time: Some(to_timestamp(period.0)),
                    period_end_time: Some(to_timestamp(period.1)),
                    include_sub_departments: true,
                    self_assessment: false,
                    scoring_start_time: None,
                    scoring_deadline: None,
                }
            )
            .context("creating the appraisal cycle")?
        }
    };
    let mut reviewers: Vec<&Person> = vec![org.head("root")];
    reviewers.extend(org.deputies().into_iter().take(1));
    let manual: Vec<&str> = spec
        .indicators
        .iter()
        .filter(|i| i.source == Source::Manual as i32)
        .map(|i| i.code)
        .collect();
    loop {
        let stage = Stage::try_from(cycle.stage).unwrap_or(Stage::Unspecified);
        match stage {
            Stage::Open => {
                for subject in &cycle.subjects {
                    for r in &reviewers {
                        call!(
                            ap,
                            assign_reviewer,
                            AssignReviewerRequest {
                                cycle_id: cycle.id.clone(),
                                subject_id: subject.id.clone(),
                                reviewer_id: r.id.clone(),
                            }
                        )?;
                    }
                }
            }
            Stage::Scoring => {
                for r in &reviewers {
                    let conn = s.as_person(r)?;
                    for subject in &cycle.subjects {
                        for code in &manual {
                            let value = 72.0
                                + f64::from(
                                    (subject
                                        .id
                                        .bytes()
                                        .chain(r.id.bytes())
                                        .map(u32::from)
                                        .sum::<u32>())
                                        % 24,
                                );
                            call!(
                                conn.appraisal(),
                                submit_score,
                                SubmitScoreRequest {
                                    cycle_id: cycle.id.clone(),
                                    subject_id: subject.id.clone(),
                                    indicator_code: code.to_string(),
                                    value,
                                    comment: spec.score_comment.into(),
                                }
                            )?;
                        }
                    }
                }
            }
            Stage::Calibration => {
                let (key, reason) = spec.calibrate;
                let subject_id = org.id(key);
                let done = pages!(
                    ap,
                    list_calibrations,
                    ListCalibrationsRequest {
                        cycle_id: cycle.id.clone(),
                        subject_id: subject_id.clone(),
                        ..Default::default()
                    },
                    calibrations
                );
                if done.is_empty()
                    && let Some(code) = manual.first()
                {
                    call!(
                        ap,
                        calibrate_score,
                        CalibrateScoreRequest {
                            cycle_id: cycle.id.clone(),
                            subject_id,
                            indicator_code: code.to_string(),
                            score: 96.0,
                            reason: reason.into(),
                        }
                    )?;
                }
            }
            Stage::Published | Stage::Unspecified => break,
        }
        cycle = call!(
            ap,
            advance_cycle,
            AdvanceCycleRequest {
                id: cycle.id.clone(),
                from_stage: cycle.stage,
                etag: String::new(),
            }
        )
        .with_context(|| format!("moving the cycle on from {}", stage.as_str_name()))?;
        s.step(spec.cycle_name);
    }
    results(s, org, &cycle).await
}

/// Feedback to the first subjects (acknowledged by their heads) and the
/// commendations.
async fn results(s: &Session, org: &Org, cycle: &Cycle) -> anyhow::Result<()> {
    let spec = &s.content.appraisal;
    let admin = s.as_person(org.admin())?;
    let ap = admin.appraisal();
    for subject in cycle.subjects.iter().take(3) {
        let existing = call!(
            ap,
            get_appraisal_feedback,
            GetAppraisalFeedbackRequest {
                cycle_id: cycle.id.clone(),
                subject_id: subject.id.clone(),
            }
        );
        let feedback = match existing {
            Ok(f) => f,
            Err(e) if e.code() == tonic::Code::NotFound => call!(
                ap,
                set_appraisal_feedback,
                SetAppraisalFeedbackRequest {
                    feedback: Some(AppraisalFeedback {
                        cycle_id: cycle.id.clone(),
                        subject_id: subject.id.clone(),
                        strengths: spec.strengths.into(),
                        improvements: spec.improvements.into(),
                        agreed_actions: spec.actions.iter().map(|a| a.to_string()).collect(),
                        ..Default::default()
                    }),
                }
            )?,
            Err(e) => return Err(e.into()),
        };
        if feedback.acknowledge_time.is_none()
            && let Some(key) = org.key_of(&subject.id)
        {
            let head = s.as_person(org.head(key))?;
            call!(
                head.appraisal(),
                acknowledge_appraisal_feedback,
                AcknowledgeAppraisalFeedbackRequest {
                    cycle_id: cycle.id.clone(),
                    subject_id: subject.id.clone(),
                    response: spec.response.into(),
                    etag: String::new(),
                }
            )?;
        }
    }
    let given = pages!(
        ap,
        list_commendations,
        ListCommendationsRequest::default(),
        commendations
    );
    let top = pages!(
        ap,
        list_rankings,
        ListRankingsRequest {
            cycle_id: cycle.id.clone(),
            ..Default::default()
        },
        entries
    )
    .into_iter()
    .next()
    .and_then(|e| e.subject);
    let counter = org.someone_in("desk", 0);
    let wanted = [
        top.map(|t| {
            (
                SubjectKind::Department,
                t.id,
                cycle.id.clone(),
                spec.commend_department,
            )
        }),
        Some((
            SubjectKind::Person,
            counter.id.clone(),
            String::new(),
            spec.commend_person,
        )),
    ];
    for (kind, subject_id, cycle_id, (title, citation)) in wanted.into_iter().flatten() {
        if given.iter().any(|c| c.title == title) {
            s.found();
            continue;
        }
        s.made();
        call!(
            ap,
            create_commendation,
            CreateCommendationRequest {
                request_id: s.rid(&["commendation", title]),
                subject_kind: kind as i32,
                subject_id,
                cycle_id,
                title: title.into(),
                citation: citation.into(),
            }
        )?;
    }
    s.step(spec.cycle_name);
    Ok(())
}

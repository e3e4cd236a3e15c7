//! The automatic indicators: the other services' statistics RPCs, called
//! with the service's own identity over a cycle's period for each subject,
//! and the value each source takes from them with the raw figures it used.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use concord_kit::Error;
use concord_kit::clients::{ServiceChannel, Upstreams};
use concord_kit::clock::{Millis, to_timestamp};
use concord_proto::decisions::v1 as decisions;
use concord_proto::emergency::v1 as emergency;
use concord_proto::feedback::v1 as feedback;
use concord_proto::notices::v1 as notices;
use concord_proto::training::v1 as training;
use futures::StreamExt;
use serde_json::{Value, json};
use tonic::Code;

use crate::domain::{AutoValue, Cycle, Indicator, Service, Source, Subject, SubjectKind};

/// Every service an automatic source reads.
const SERVICES: [Service; 5] = [
    Service::Feedback,
    Service::Emergency,
    Service::Decisions,
    Service::Notices,
    Service::Training,
];

/// How many statistics calls run at once during a collection.
const CONCURRENCY: usize = 8;

/// Channels to the services the automatic sources read, made once (they
/// connect lazily and reconnect by themselves). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sources {
    channels: Arc<BTreeMap<Service, Result<ServiceChannel, String>>>,
}

/// Who and when one statistics call is about.
#[derive(Debug, Clone)]
struct Scope {
    department_id: String,
    include_sub_departments: bool,
    person_id: String,
    start: prost_types::Timestamp,
    end: prost_types::Timestamp,
}

/// What one service reported for one subject.
#[derive(Debug, Clone)]
enum Figures {
    Feedback(feedback::FeedbackFigures),
    Emergency {
        real: emergency::ResponseFigures,
        drills: emergency::ResponseFigures,
    },
    Decisions(decisions::DecisionStatistics),
    Notices(notices::ReadingFigures),
    Training(training::TrainingFigures),
}

/// A statistics call that failed: the source cannot be reached (the whole
/// collection fails and is retried), or it refused the subject (a
/// department deleted since the cycle began), which leaves the subject's
/// indicators of that source without data.
fn failed(target: &str, status: &tonic::Status) -> Result<Reply, Error> {
    match status.code() {
        Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition => {
            Ok(Reply::Refused(status.message().to_string()))
        }
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => Err(
            Error::Unavailable(format!("{target}: {}", status.message())),
        ),
        code => Err(Error::Internal(anyhow::anyhow!(
            "{target} statistics answered {code:?}: {}",
            status.message()
        ))),
    }
}

/// What a service answered for one subject.
#[derive(Debug, Clone)]
enum Reply {
    Figures(Figures),
    Refused(String),
}

fn seconds(d: Option<&prost_types::Duration>) -> Option<f64> {
    d.map(|d| d.seconds as f64 + f64::from(d.nanos) / 1e9)
}

/// `part / whole` in percent, not applicable when `whole` is 0.
fn percent(part: i64, whole: i64) -> (bool, f64) {
    if whole == 0 {
        (false, 0.0)
    } else {
        (true, part as f64 * 100.0 / whole as f64)
    }
}

/// The value `source` takes from `figures`, whether it had data, and the
/// figures used.
fn value(source: Source, figures: &Figures) -> Option<(bool, f64, Value)> {
    Some(match (source, figures) {
        (Source::FeedbackResolvedOnTime, Figures::Feedback(f)) => {
            let (ok, v) = percent(f.resolved_on_time, f.resolved);
            (
                ok,
                v,
                json!({"resolved": f.resolved, "resolved_on_time": f.resolved_on_time}),
            )
        }
        (Source::FeedbackSatisfaction, Figures::Feedback(f)) => (
            f.rated > 0,
            f.average_satisfaction,
            json!({"rated": f.rated, "average_satisfaction": f.average_satisfaction}),
        ),
        (Source::AlertTimeToAcknowledge, Figures::Emergency { real, .. })
        | (Source::DrillTimeToAcknowledge, Figures::Emergency { drills: real, .. }) => {
            let median = seconds(real.median_time_to_acknowledge.as_ref());
            (
                median.is_some(),
                median.unwrap_or(0.0),
                json!({
                    "incidents": real.incidents,
                    "alerts_received": real.alerts_received,
                    "acknowledged": real.acknowledged,
                    "median_time_to_acknowledge_seconds": median,
                }),
            )
        }
        (Source::AlertsAcknowledgedOnTime, Figures::Emergency { real, drills }) => {
            let on_time = real.acknowledged_within_timeout + drills.acknowledged_within_timeout;
            let received = real.alerts_received + drills.alerts_received;
            let (ok, v) = percent(on_time, received);
            (
                ok,
                v,
                json!({"alerts_received": received, "acknowledged_within_timeout": on_time}),
            )
        }
        (Source::ActionItemsOnTime, Figures::Decisions(d)) => {
            let (ok, v) = percent(d.action_items_done_on_time, d.action_items_due);
            (
                ok,
                v,
                json!({"action_items_due": d.action_items_due, "action_items_done_on_time": d.action_items_done_on_time}),
            )
        }
        (Source::VoteParticipation, Figures::Decisions(d)) => {
            let (ok, v) = percent(d.votes_cast, d.votes_eligible);
            (
                ok,
                v,
                json!({"votes_eligible": d.votes_eligible, "votes_cast": d.votes_cast}),
            )
        }
        (Source::NoticeReadRate, Figures::Notices(n)) => {
            let (ok, v) = percent(n.read, n.notices_received);
            (
                ok,
                v,
                json!({"notices_received": n.notices_received, "read": n.read}),
            )
        }
        (Source::NoticeAcknowledgementRate, Figures::Notices(n)) => {
            let (ok, v) = percent(n.acknowledged, n.acknowledgement_required);
            (
                ok,
                v,
                json!({"acknowledgement_required": n.acknowledgement_required, "acknowledged": n.acknowledged}),
            )
        }
        (Source::TrainingCompletion, Figures::Training(t)) => {
            let (ok, v) = percent(t.completed, t.enrolments);
            (
                ok,
                v,
                json!({"enrolments": t.enrolments, "completed": t.completed}),
            )
        }
        (Source::TrainingMandatoryCompliance, Figures::Training(t)) => {
            let (ok, v) = percent(t.mandatory_completed_by_deadline, t.mandatory_required);
            (
                ok,
                v,
                json!({"mandatory_required": t.mandatory_required, "mandatory_completed_by_deadline": t.mandatory_completed_by_deadline}),
            )
        }
        _ => return None,
    })
}

impl Sources {
    pub fn new(upstreams: &Upstreams) -> Self {
        let channels = SERVICES
            .into_iter()
            .map(|s| (s, upstreams.channel(s.target()).map_err(|e| e.to_string())))
            .collect();
        Self {
            channels: Arc::new(channels),
        }
    }

    fn channel(&self, service: Service) -> Result<ServiceChannel, Error> {
        match self.channels.get(&service) {
            Some(Ok(ch)) => Ok(ch.clone()),
            Some(Err(why)) => Err(Error::Unavailable(why.clone())),
            None => Err(Error::Unavailable(format!(
                "no channel to {}",
                service.target()
            ))),
        }
    }

    /// Asks one service for one subject's figures.
    #[tracing::instrument(skip_all, fields(service = service.target(), subject_id = %subject.id))]
    async fn figures(
        &self,
        service: Service,
        subject: &Subject,
        scope: Scope,
    ) -> Result<Reply, Error> {
        let target = service.target();
        let ch = self.channel(service)?;
        macro_rules! call {
            ($e:expr) => {
                match $e.await {
                    Ok(r) => r.into_inner(),
                    Err(s) => return failed(target, &s),
                }
            };
        }
        Ok(Reply::Figures(match service {
            Service::Feedback => {
                let r = call!(
                    feedback::feedback_service_client::FeedbackServiceClient::new(ch)
                        .get_feedback_statistics(feedback::GetFeedbackStatisticsRequest {
                            department_id: scope.department_id,
                            include_sub_departments: scope.include_sub_departments,
                            person_id: scope.person_id,
                            start_time: Some(scope.start),
                            end_time: Some(scope.end),
                        })
                );
                Figures::Feedback(r.totals.unwrap_or_default())
            }
            Service::Emergency => {
                let r = call!(
                    emergency::emergency_service_client::EmergencyServiceClient::new(ch)
                        .get_emergency_statistics(emergency::GetEmergencyStatisticsRequest {
                            department_id: scope.department_id,
                            include_sub_departments: scope.include_sub_departments,
                            person_id: scope.person_id,
                            start_time: Some(scope.start),
                            end_time: Some(scope.end),
                        })
                );
                Figures::Emergency {
                    real: r.real.unwrap_or_default(),
                    drills: r.drills.unwrap_or_default(),
                }
            }
            Service::Decisions => {
                let r = call!(
                    decisions::decision_service_client::DecisionServiceClient::new(ch)
                        .get_decision_statistics(decisions::GetDecisionStatisticsRequest {
                            department_id: scope.department_id,
                            include_sub_departments: scope.include_sub_departments,
                            person_id: scope.person_id,
                            start_time: Some(scope.start),
                            end_time: Some(scope.end),
                        })
                );
                Figures::Decisions(r)
            }
            Service::Notices => {
                let r = call!(
                    notices::notice_service_client::NoticeServiceClient::new(ch)
                        .get_notice_statistics(notices::GetNoticeStatisticsRequest {
                            department_id: scope.department_id,
                            include_sub_departments: scope.include_sub_departments,
                            person_id: scope.person_id,
                            start_time: Some(scope.start),
                            end_time: Some(scope.end),
                        })
                );
                Figures::Notices(r.total.unwrap_or_default())
            }
            Service::Training => {
                let r = call!(
                    training::training_service_client::TrainingServiceClient::new(ch)
                        .get_training_statistics(training::GetTrainingStatisticsRequest {
                            department_id: scope.department_id,
                            include_sub_departments: scope.include_sub_departments,
                            person_id: scope.person_id,
                            start_time: Some(scope.start),
                            end_time: Some(scope.end),
                        })
                );
                Figures::Training(r.totals.unwrap_or_default())
            }
        }))
    }

    /// Collects every automatic indicator of every subject of `cycle` over
    /// its period, in subject then indicator order. Nothing is written here; any failed call fails the whole
    /// collection, so a collection is all or nothing.
    #[tracing::instrument(skip_all, fields(cycle_id = %cycle.id, subjects = subjects.len()))]
    pub async fn collect(
        &self,
        cycle: &Cycle,
        subjects: &[Subject],
        indicators: &[Indicator],
        now: Millis,
    ) -> Result<Vec<AutoValue>, Error> {
        let automatic: Vec<&Indicator> = indicators.iter().filter(|i| !i.is_manual()).collect();
        let services: BTreeSet<Service> = automatic
            .iter()
            .filter_map(|i| i.source.service())
            .collect();
        let calls: Vec<(usize, Service)> = (0..subjects.len())
            .flat_map(|s| services.iter().map(move |svc| (s, *svc)))
            .collect();
        let results: Vec<Result<(usize, Service, Reply), Error>> =
            futures::stream::iter(calls.into_iter().map(|(s, svc)| {
                let subject = &subjects[s];
                let scope = Scope {
                    department_id: match cycle.subject_kind {
                        SubjectKind::Department => subject.id.clone(),
                        SubjectKind::Person => String::new(),
                    },
                    include_sub_departments: cycle.subject_kind == SubjectKind::Department
                        && cycle.include_sub_departments,
                    person_id: match cycle.subject_kind {
                        SubjectKind::Person => subject.id.clone(),
                        SubjectKind::Department => String::new(),
                    },
                    start: to_timestamp(cycle.period_start_ms),
                    end: to_timestamp(cycle.period_end_ms),
                };
                async move { Ok((s, svc, self.figures(svc, subject, scope).await?)) }
            }))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut by_subject: Vec<Vec<(Service, Reply)>> = vec![Vec::new(); subjects.len()];
        for r in results {
            let (s, svc, f) = r?;
            by_subject[s].push((svc, f));
        }
        let mut out = Vec::with_capacity(subjects.len() * automatic.len());
        for (subject, figures) in subjects.iter().zip(&by_subject) {
            for ind in &automatic {
                let reply = figures
                    .iter()
                    .find(|(svc, _)| Some(*svc) == ind.source.service())
                    .map(|(_, r)| r);
                let (applicable, v, raw) = match reply {
                    Some(Reply::Figures(f)) => value(ind.source, f),
                    Some(Reply::Refused(why)) => Some((false, 0.0, json!({ "refused": why }))),
                    None => None,
                }
                .ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!("no figures for {}", ind.source.as_str()))
                })?;
                out.push(AutoValue {
                    subject_id: subject.id.clone(),
                    code: ind.code.clone(),
                    source: ind.source,
                    applicable,
                    value: v,
                    raw_json: raw.to_string(),
                    collected_ms: now,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_percent_and_empty_figures_are_not_applicable() {
        let f = Figures::Feedback(feedback::FeedbackFigures {
            resolved: 4,
            resolved_on_time: 3,
            ..Default::default()
        });
        let (ok, v, raw) = value(Source::FeedbackResolvedOnTime, &f).unwrap();
        assert!(ok);
        assert_eq!(v, 75.0);
        assert_eq!(raw, json!({"resolved": 4, "resolved_on_time": 3}));
        let (ok, _, _) = value(Source::FeedbackSatisfaction, &f).unwrap();
        assert!(!ok);
        assert!(value(Source::NoticeReadRate, &f).is_none());
    }

    #[test]
    fn times_are_seconds_of_the_median() {
        let drills = emergency::ResponseFigures {
            acknowledged: 2,
            alerts_received: 2,
            acknowledged_within_timeout: 1,
            median_time_to_acknowledge: Some(prost_types::Duration {
                seconds: 90,
                nanos: 500_000_000,
            }),
            ..Default::default()
        };
        let f = Figures::Emergency {
            real: emergency::ResponseFigures::default(),
            drills,
        };
        let (ok, v, _) = value(Source::DrillTimeToAcknowledge, &f).unwrap();
        assert!(ok);
        assert_eq!(v, 90.5);
        let (ok, _, _) = value(Source::AlertTimeToAcknowledge, &f).unwrap();
        assert!(!ok);
        let (ok, v, _) = value(Source::AlertsAcknowledgedOnTime, &f).unwrap();
        assert!(ok);
        assert_eq!(v, 50.0);
    }
}

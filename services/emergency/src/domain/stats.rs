//! Response statistics: alerts received, acknowledged within the timeout,
//! median and p90 time to acknowledge, steps completed on time, with real
//! incidents and drills always counted apart.

use std::collections::{BTreeMap, HashSet};

use concord_kit::period::percentile;

/// One alert that asked for acknowledgement: of a department, or of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckSample {
    /// The department (or person) the figures are grouped by.
    pub key: String,
    pub incident_id: String,
    pub drill: bool,
    pub time_to_acknowledge_ms: Option<i64>,
    pub timeout_ms: i64,
}

/// One step of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSample {
    pub key: String,
    pub incident_id: String,
    pub drill: bool,
    pub target_ms: i64,
    pub time_to_complete_ms: Option<i64>,
}

/// The figures of one group, real or drill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub incidents: i64,
    pub alerts_received: i64,
    pub acknowledged: i64,
    pub acknowledged_within_timeout: i64,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub steps: i64,
    pub steps_completed: i64,
    pub steps_on_time: i64,
}

/// Real incidents and drills, apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    pub real: Figures,
    pub drills: Figures,
}

#[derive(Debug, Default)]
struct Tally {
    incidents: HashSet<String>,
    durations: Vec<i64>,
    figures: Figures,
}

impl Tally {
    fn ack(&mut self, s: &AckSample) {
        self.incidents.insert(s.incident_id.clone());
        self.figures.alerts_received += 1;
        if let Some(t) = s.time_to_acknowledge_ms {
            self.figures.acknowledged += 1;
            if t <= s.timeout_ms {
                self.figures.acknowledged_within_timeout += 1;
            }
            self.durations.push(t);
        }
    }

    fn step(&mut self, s: &StepSample) {
        self.incidents.insert(s.incident_id.clone());
        self.figures.steps += 1;
        if let Some(t) = s.time_to_complete_ms {
            self.figures.steps_completed += 1;
            if t <= s.target_ms {
                self.figures.steps_on_time += 1;
            }
        }
    }

    fn finish(mut self) -> Figures {
        self.durations.sort_unstable();
        self.figures.incidents = self.incidents.len() as i64;
        self.figures.median_ms = percentile(&self.durations, 50.0);
        self.figures.p90_ms = percentile(&self.durations, 90.0);
        self.figures
    }
}

#[derive(Debug, Default)]
struct SplitTally {
    real: Tally,
    drills: Tally,
}

impl SplitTally {
    fn side(&mut self, drill: bool) -> &mut Tally {
        if drill {
            &mut self.drills
        } else {
            &mut self.real
        }
    }

    fn finish(self) -> Split {
        Split {
            real: self.real.finish(),
            drills: self.drills.finish(),
        }
    }
}

/// The figures over everything, and per key.
pub fn tally(acks: &[AckSample], steps: &[StepSample]) -> (Split, BTreeMap<String, Split>) {
    let mut all = SplitTally::default();
    let mut per: BTreeMap<String, SplitTally> = BTreeMap::new();
    for a in acks {
        all.side(a.drill).ack(a);
        per.entry(a.key.clone()).or_default().side(a.drill).ack(a);
    }
    for s in steps {
        all.side(s.drill).step(s);
        per.entry(s.key.clone()).or_default().side(s.drill).step(s);
    }
    (
        all.finish(),
        per.into_iter().map(|(k, v)| (k, v.finish())).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(key: &str, incident: &str, drill: bool, t: Option<i64>) -> AckSample {
        AckSample {
            key: key.into(),
            incident_id: incident.into(),
            drill,
            time_to_acknowledge_ms: t,
            timeout_ms: 60_000,
        }
    }

    #[test]
    fn drills_never_mix_with_real_incidents() {
        let acks = [
            ack("a", "i1", false, Some(10_000)),
            ack("a", "i2", false, Some(90_000)),
            ack("b", "i1", false, None),
            ack("a", "d1", true, Some(5_000)),
        ];
        let steps = [StepSample {
            key: "a".into(),
            incident_id: "i1".into(),
            drill: false,
            target_ms: 60_000,
            time_to_complete_ms: Some(30_000),
        }];
        let (all, per) = tally(&acks, &steps);
        assert_eq!(all.real.incidents, 2);
        assert_eq!(all.real.alerts_received, 3);
        assert_eq!(all.real.acknowledged, 2);
        assert_eq!(all.real.acknowledged_within_timeout, 1);
        assert_eq!(all.real.median_ms, Some(10_000));
        assert_eq!(all.real.p90_ms, Some(90_000));
        assert_eq!(all.real.steps_on_time, 1);
        assert_eq!(all.drills.alerts_received, 1);
        assert_eq!(all.drills.median_ms, Some(5_000));
        assert_eq!(per["b"].real.acknowledged, 0);
        assert_eq!(per["b"].real.median_ms, None);
    }
}

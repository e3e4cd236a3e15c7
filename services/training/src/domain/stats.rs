//! How the statistics are counted: per department and in total, from the
//! facts of the period (enrolments made, sessions attended, mandatory
//! deadlines falling due, certificates issued). Sums are kept in integers
//! (milliseconds, hundredths of a point) so figures are exact.

use std::collections::BTreeMap;

use super::enrolment::score_points;
use super::hours;

/// The figures of one department, or of all together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figures {
    pub enrolments: i64,
    pub completed: i64,
    pub training_ms: i64,
    pub mandatory_required: i64,
    pub mandatory_completed_by_deadline: i64,
    pub certificates: i64,
    pub scored: i64,
    pub score_sum_centi: i64,
}

impl Figures {
    /// completed / enrolments; 0 without enrolments.
    pub fn completion_rate(&self) -> f64 {
        ratio(self.completed, self.enrolments)
    }

    pub fn training_hours(&self) -> f64 {
        hours(self.training_ms)
    }

    /// Completed by the deadline / required; 0 when nothing was required.
    pub fn compliance_rate(&self) -> f64 {
        ratio(
            self.mandatory_completed_by_deadline,
            self.mandatory_required,
        )
    }

    /// Mean of the scored certificates; 0 when none carries a score.
    pub fn average_score(&self) -> f64 {
        if self.scored == 0 {
            0.0
        } else {
            score_points(self.score_sum_centi) / self.scored as f64
        }
    }

    fn add(&mut self, o: &Figures) {
        self.enrolments += o.enrolments;
        self.completed += o.completed;
        self.training_ms += o.training_ms;
        self.mandatory_required += o.mandatory_required;
        self.mandatory_completed_by_deadline += o.mandatory_completed_by_deadline;
        self.certificates += o.certificates;
        self.scored += o.scored;
        self.score_sum_centi += o.score_sum_centi;
    }
}

/// `part / whole`, 0 when `whole` is 0.
pub fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Figures by department id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    pub departments: BTreeMap<String, Figures>,
}

impl Statistics {
    fn row(&mut self, department: &str) -> &mut Figures {
        self.departments.entry(department.to_string()).or_default()
    }

    /// An enrolment made in the period that holds (or held) a seat.
    pub fn enrolment(&mut self, department: &str, completed: bool) {
        let f = self.row(department);
        f.enrolments += 1;
        f.completed += i64::from(completed);
    }

    /// Presence at a session that started in the period.
    pub fn attended(&mut self, department: &str, duration_ms: i64) {
        self.row(department).training_ms += duration_ms;
    }

    /// A person required by a mandatory plan whose deadline fell in the
    /// period.
    pub fn required(&mut self, department: &str, completed_by_deadline: bool) {
        let f = self.row(department);
        f.mandatory_required += 1;
        f.mandatory_completed_by_deadline += i64::from(completed_by_deadline);
    }

    /// A certificate issued in the period.
    pub fn certificate(&mut self, department: &str, score_centi: Option<i64>) {
        let f = self.row(department);
        f.certificates += 1;
        if let Some(s) = score_centi {
            f.scored += 1;
            f.score_sum_centi += s;
        }
    }

    /// Every department together.
    pub fn totals(&self) -> Figures {
        let mut t = Figures::default();
        for f in self.departments.values() {
            t.add(f);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_add_up_exactly() {
        let mut s = Statistics::default();
        s.enrolment("a", true);
        s.enrolment("a", false);
        s.enrolment("b", true);
        s.attended("a", 90 * 60_000);
        s.attended("b", 30 * 60_000);
        s.required("a", true);
        s.required("a", false);
        s.required("a", false);
        s.certificate("a", Some(9000));
        s.certificate("b", Some(7550));
        s.certificate("b", None);
        let a = s.departments["a"];
        assert_eq!(a.completion_rate(), 0.5);
        assert_eq!(a.training_hours(), 1.5);
        assert_eq!(a.compliance_rate(), 1.0 / 3.0);
        let t = s.totals();
        assert_eq!(t.enrolments, 3);
        assert_eq!(t.training_hours(), 2.0);
        assert_eq!(t.certificates, 3);
        assert_eq!(t.average_score(), 82.75);
        assert_eq!(Figures::default().compliance_rate(), 0.0);
    }
}

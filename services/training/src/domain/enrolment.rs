//! Enrolments: a seat while there is one, the waiting list otherwise; a
//! freed seat goes to the first who waits. Completion issues a numbered
//! record that serves as a certificate.

use concord_kit::clock::Millis;

/// Where an enrolment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Holds a seat.
    Enrolled,
    Waitlisted,
    Cancelled,
    Completed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Enrolled => "enrolled",
            Status::Waitlisted => "waitlisted",
            Status::Cancelled => "cancelled",
            Status::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "enrolled" => Status::Enrolled,
            "waitlisted" => Status::Waitlisted,
            "cancelled" => Status::Cancelled,
            "completed" => Status::Completed,
            _ => return None,
        })
    }

    /// Enrolled and completed people hold (or held) a seat.
    pub fn holds_seat(self) -> bool {
        matches!(self, Status::Enrolled | Status::Completed)
    }

    /// Still taking part (not cancelled).
    pub fn active(self) -> bool {
        self != Status::Cancelled
    }
}

/// A stored enrolment.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrolment {
    pub id: String,
    pub plan_id: String,
    pub person_id: String,
    pub department_id: String,
    pub status: Status,
    pub queue_key: String,
    pub enrol_ms: Millis,
    pub seat_ms: Option<Millis>,
    pub cancel_ms: Option<Millis>,
    pub completion: Option<Completion>,
    /// 1-based place on the waiting list; 0 unless waitlisted.
    pub waitlist_position: i64,
}

/// The completion record of an enrolment.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub certificate_number: String,
    pub completed_ms: Millis,
    /// Hundredths of a point, when assessed.
    pub score_centi: Option<i64>,
    pub issued_by: String,
}

/// Seats still free under `capacity` (0 = unlimited: `None`).
pub fn free_seats(capacity: i64, seats_taken: i64) -> Option<i64> {
    (capacity > 0).then(|| (capacity - seats_taken).max(0))
}

/// Whether one more person gets a seat now.
pub fn seat_available(capacity: i64, seats_taken: i64) -> bool {
    free_seats(capacity, seats_taken).is_none_or(|n| n > 0)
}

/// How many waiting people move up when `capacity` applies to
/// `seats_taken` seats and `waiting` people wait.
pub fn promotions(capacity: i64, seats_taken: i64, waiting: i64) -> i64 {
    match free_seats(capacity, seats_taken) {
        None => waiting,
        Some(free) => free.min(waiting),
    }
}

/// The certificate number of the `n`th completion in local `year`.
pub fn certificate_number(year: i32, n: i64) -> String {
    format!("TR-{year}-{n:06}")
}

/// Validates an assessment score (0–100) into hundredths of a point.
pub fn score_centi(score: f64) -> Result<i64, &'static str> {
    if !score.is_finite() || !(0.0..=100.0).contains(&score) {
        return Err("must be between 0 and 100");
    }
    // Within 0..=10_000 after the check above, so the cast is exact.
    Ok((score * 100.0).round() as i64)
}

/// A stored score as points.
pub fn score_points(centi: i64) -> f64 {
    centi as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_and_the_waiting_list() {
        assert!(seat_available(0, 1_000));
        assert!(seat_available(2, 1));
        assert!(!seat_available(2, 2));
        assert_eq!(promotions(2, 1, 5), 1);
        assert_eq!(promotions(2, 2, 5), 0);
        assert_eq!(promotions(5, 2, 2), 2);
        assert_eq!(promotions(0, 2, 7), 7);
        assert_eq!(promotions(1, 3, 2), 0);
    }

    #[test]
    fn certificates_and_scores() {
        assert_eq!(certificate_number(2026, 42), "TR-2026-000042");
        assert_eq!(score_centi(87.5), Ok(8750));
        assert_eq!(score_centi(100.0), Ok(10_000));
        assert!(score_centi(100.01).is_err());
        assert!(score_centi(-1.0).is_err());
        assert!(score_centi(f64::NAN).is_err());
        assert!((score_points(8750) - 87.5).abs() < f64::EPSILON);
        assert!(Status::Completed.holds_seat() && !Status::Waitlisted.holds_seat());
    }
}

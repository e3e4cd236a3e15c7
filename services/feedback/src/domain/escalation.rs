//! SLA breaches and what follows them: a missed first-response or
//! resolution deadline raises the item one level (owner → department head →
//! admins; an unrouted item straight to the admins), an item still in breach
//! `escalate_after` later goes one level further, and a resolution the
//! submitter leaves unanswered closes by itself. Each step is a no-op when
//! the deadline was met, moved or already counted, so a due row that runs
//! twice changes nothing twice.

use super::effects::{Actor, Effects, due};
use super::sla::SlaPolicy;
use super::{Deadline, EntryKind, Item, Level, Status};

/// The deadline an item in `status` is in breach of at `now`, if any.
pub fn breach(
    status: Status,
    answered: bool,
    first_response_due_ms: i64,
    resolution_due_ms: i64,
    now: i64,
) -> Option<Deadline> {
    if !status.is_open() {
        None
    } else if !answered && now >= first_response_due_ms {
        Some(Deadline::FirstResponse)
    } else if now >= resolution_due_ms {
        Some(Deadline::Resolution)
    } else {
        None
    }
}

impl Item {
    /// The escalation a missed `deadline` causes at `now`: one level up (an
    /// unrouted item straight to the admins), and another check
    /// `policy.escalate_after_ms` later. Nothing when the deadline was met,
    /// moved, or already counted.
    pub fn deadline_passed(
        &mut self,
        deadline: Deadline,
        policy: &SlaPolicy,
        now: i64,
    ) -> Option<Effects> {
        if !self.status.is_open() {
            return None;
        }
        match deadline {
            Deadline::FirstResponse => {
                if self.first_response_ms.is_some()
                    || self.first_response_breached
                    || now < self.first_response_due_ms
                {
                    return None;
                }
                self.first_response_breached = true;
            }
            Deadline::Resolution => {
                if self.resolution_breached || now < self.resolution_due_ms {
                    return None;
                }
                self.resolution_breached = true;
            }
        }
        Some(self.raise(deadline, policy, now))
    }

    /// The check `escalate_after` after an escalation: still in breach at
    /// the level escalated to, so one level further.
    pub fn still_in_breach(
        &mut self,
        from: Level,
        policy: &SlaPolicy,
        now: i64,
    ) -> Option<Effects> {
        if self.level != from || self.level == Level::Admins {
            return None;
        }
        let deadline = self.breach(now)?;
        Some(self.raise(deadline, policy, now))
    }

    fn raise(&mut self, deadline: Deadline, policy: &SlaPolicy, now: i64) -> Effects {
        let mut fx = Effects::default();
        let to = match (self.department_id.is_some(), self.level) {
            (false, _) | (true, Level::DepartmentHead | Level::Admins) => Level::Admins,
            (true, Level::Owner) => Level::DepartmentHead,
        };
        if to == self.level {
            // Already with the admins: the breach is recorded, nothing to raise.
            return fx;
        }
        self.level = to;
        let text = format!(
            "{} deadline missed; escalated to {}",
            deadline.as_str().replace('_', " "),
            to.as_str().replace('_', " ")
        );
        fx.entry(Actor::System.entry(EntryKind::Escalation, false, &text, None));
        if to < Level::Admins {
            fx.schedule(
                due::ESCALATE,
                now + policy.escalate_after_ms,
                to.stored().to_string(),
            );
        } else {
            fx.cancel(due::ESCALATE);
        }
        fx.escalated = Some((to, deadline));
        self.touch(now);
        fx
    }

    /// Resolved and unanswered until `auto_close_ms`: closed, marked as such.
    pub fn close_unanswered(&mut self, now: i64) -> Option<Effects> {
        if self.status != Status::Resolved || self.auto_close_ms.is_none_or(|t| now < t) {
            return None;
        }
        let mut fx = Effects::default();
        self.closed_ms = Some(now);
        self.closed_automatically = true;
        self.auto_close_ms = None;
        self.set_status(
            &Actor::System,
            Status::Closed,
            "提交人未在期限内答复，自动关闭 (closed without an answer from the submitter)",
            &mut fx,
        );
        self.touch(now);
        Some(fx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::item::tests::{H, new_item, staff};

    #[test]
    fn missed_deadlines_escalate_one_level_at_a_time_and_once() {
        let policy = SlaPolicy::builtin();
        let (mut item, _) = new_item(Some("d1"));
        let now = policy.first_response_ms;
        assert!(
            item.deadline_passed(Deadline::FirstResponse, &policy, now - 1)
                .is_none()
        );
        let fx = item
            .deadline_passed(Deadline::FirstResponse, &policy, now)
            .unwrap();
        assert_eq!(
            fx.escalated,
            Some((Level::DepartmentHead, Deadline::FirstResponse))
        );
        assert!(
            item.deadline_passed(Deadline::FirstResponse, &policy, now)
                .is_none()
        );
        assert!(item.still_in_breach(Level::Owner, &policy, now).is_none());
        let later = now + policy.escalate_after_ms;
        let fx = item
            .still_in_breach(Level::DepartmentHead, &policy, later)
            .unwrap();
        assert_eq!(fx.escalated, Some((Level::Admins, Deadline::FirstResponse)));
        assert!(
            item.still_in_breach(Level::Admins, &policy, later)
                .is_none()
        );
    }

    #[test]
    fn an_answer_stops_the_escalation_and_unrouted_items_go_to_admins() {
        let policy = SlaPolicy::builtin();
        let (mut item, _) = new_item(Some("d1"));
        item.comment(&staff(), "我们看看", true, H).unwrap();
        assert!(
            item.deadline_passed(Deadline::FirstResponse, &policy, policy.first_response_ms)
                .is_none()
        );
        let (mut triage, _) = new_item(None);
        let fx = triage
            .deadline_passed(Deadline::FirstResponse, &policy, policy.first_response_ms)
            .unwrap();
        assert_eq!(fx.escalated, Some((Level::Admins, Deadline::FirstResponse)));
    }

    #[test]
    fn unanswered_resolutions_close_by_themselves() {
        let policy = SlaPolicy::builtin();
        let (mut item, _) = new_item(Some("d1"));
        item.resolve(&staff(), "done", &policy, H).unwrap();
        assert!(item.close_unanswered(H).is_none());
        item.close_unanswered(H + policy.auto_close_ms).unwrap();
        assert!(item.closed_automatically);
        assert_eq!(item.status, Status::Closed);
    }
}

//! A feedback item and its state machine. Every transition changes the item
//! in memory and returns its [`Effects`]: the timeline entries to write and
//! the deadlines (due rows) to schedule or cancel, all of which the caller
//! writes in one transaction with the item. Breaches and what follows them
//! are in [`super::escalation`].

use concord_kit::Error;

use super::effects::{Actor, Effects, due};
use super::escalation::breach;
use super::sla::SlaPolicy;
use super::{Category, Channel, Deadline, EntryKind, Level, Priority, Routing, Status};

/// What a submission carries once validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub channel: Channel,
    pub category: Category,
    pub priority: Priority,
    pub subject: String,
    pub body: String,
    pub location: String,
    pub links: Vec<String>,
    pub anonymous: bool,
    pub department_id: Option<String>,
}

/// A feedback item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub channel: Channel,
    pub category: Category,
    pub priority: Priority,
    pub subject: String,
    pub body: String,
    pub location: String,
    pub links: Vec<String>,
    pub anonymous: bool,
    /// Never set for anonymous items.
    pub submitter_id: Option<String>,
    pub department_id: Option<String>,
    pub routing: Routing,
    pub owner_id: Option<String>,
    pub status: Status,
    pub level: Level,
    pub first_response_due_ms: i64,
    /// When the running resolution clock started (submission or reopening).
    pub resolution_start_ms: i64,
    pub resolution_due_ms: i64,
    pub first_response_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
    pub solution: String,
    pub auto_close_ms: Option<i64>,
    pub closed_ms: Option<i64>,
    pub closed_automatically: bool,
    pub satisfaction: Option<i64>,
    pub satisfaction_comment: String,
    pub reopen_count: i64,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// Timeline entries written so far (the next entry's sequence number
    /// is one more).
    pub entries: i64,
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

fn refuse(status: Status, what: &str) -> Error {
    Error::precondition(format!(
        "a {} item cannot be {what}",
        status.as_str().replace('_', " ")
    ))
}

impl Item {
    /// A new item submitted at `now` under `policy`, routed to
    /// `department_id` (or waiting in triage).
    pub fn submit(
        id: String,
        new: NewItem,
        submitter_id: Option<String>,
        routing: Routing,
        policy: &SlaPolicy,
        now: i64,
    ) -> (Self, Effects) {
        let item = Item {
            id,
            channel: new.channel,
            category: new.category,
            priority: new.priority,
            subject: new.subject,
            body: new.body,
            location: new.location,
            links: new.links,
            anonymous: new.anonymous,
            submitter_id: if new.anonymous { None } else { submitter_id },
            department_id: new.department_id,
            routing,
            owner_id: None,
            status: Status::Submitted,
            level: Level::Owner,
            first_response_due_ms: now + policy.first_response_ms,
            resolution_start_ms: now,
            resolution_due_ms: now + policy.resolution_ms,
            first_response_ms: None,
            resolved_ms: None,
            solution: String::new(),
            auto_close_ms: None,
            closed_ms: None,
            closed_automatically: false,
            satisfaction: None,
            satisfaction_comment: String::new(),
            reopen_count: 0,
            first_response_breached: false,
            resolution_breached: false,
            entries: 0,
            version: 1,
            created_ms: now,
            updated_ms: now,
        };
        let actor = Actor::Submitter(item.submitter_id.clone());
        let mut fx = Effects::default();
        fx.entry(actor.entry(
            EntryKind::Submitted,
            true,
            &item.subject,
            Some(Status::Submitted),
        ))
        .schedule(
            due::FIRST_RESPONSE,
            item.first_response_due_ms,
            String::new(),
        )
        .schedule(due::RESOLUTION, item.resolution_due_ms, String::new());
        (item, fx)
    }

    /// Open and past a deadline it has not met.
    pub fn overdue(&self, now: i64) -> bool {
        self.breach(now).is_some()
    }

    /// The deadline the item is in breach of at `now`, if any.
    pub fn breach(&self, now: i64) -> Option<Deadline> {
        breach(
            self.status,
            self.first_response_ms.is_some(),
            self.first_response_due_ms,
            self.resolution_due_ms,
            now,
        )
    }

    pub(super) fn touch(&mut self, now: i64) {
        self.updated_ms = now;
    }

    /// Records the department's first answer, once.
    fn responded(&mut self, now: i64, fx: &mut Effects) {
        if self.first_response_ms.is_none() {
            self.first_response_ms = Some(now);
            fx.cancel(due::FIRST_RESPONSE);
        }
    }

    pub(super) fn set_status(
        &mut self,
        actor: &Actor,
        status: Status,
        comment: &str,
        fx: &mut Effects,
    ) {
        self.status = status;
        fx.entry(actor.entry(EntryKind::StatusChange, true, comment, Some(status)));
    }

    fn require_department(&self) -> Result<(), Error> {
        if self.department_id.is_none() {
            return Err(Error::precondition(
                "the item waits in the triage queue; route it to a department first",
            ));
        }
        Ok(())
    }

    /// Submitted or reopened → accepted.
    pub fn accept(&mut self, actor: &Actor, comment: &str, now: i64) -> Result<Effects, Error> {
        if !matches!(self.status, Status::Submitted | Status::Reopened) {
            return Err(refuse(self.status, "accepted"));
        }
        self.require_department()?;
        let mut fx = Effects::default();
        self.responded(now, &mut fx);
        self.set_status(actor, Status::Accepted, comment, &mut fx);
        self.touch(now);
        Ok(fx)
    }

    /// Submitted, accepted or reopened → in progress.
    pub fn start_work(&mut self, actor: &Actor, comment: &str, now: i64) -> Result<Effects, Error> {
        if !matches!(
            self.status,
            Status::Submitted | Status::Accepted | Status::Reopened
        ) {
            return Err(refuse(self.status, "started"));
        }
        self.require_department()?;
        let mut fx = Effects::default();
        self.responded(now, &mut fx);
        self.set_status(actor, Status::InProgress, comment, &mut fx);
        self.touch(now);
        Ok(fx)
    }

    /// Any open status → resolved with `solution`; the item closes by itself
    /// `policy.auto_close_ms` later unless the submitter answers.
    pub fn resolve(
        &mut self,
        actor: &Actor,
        solution: &str,
        policy: &SlaPolicy,
        now: i64,
    ) -> Result<Effects, Error> {
        if !self.status.is_open() {
            return Err(refuse(self.status, "resolved"));
        }
        self.require_department()?;
        let mut fx = Effects::default();
        self.responded(now, &mut fx);
        self.resolved_ms = Some(now);
        self.solution = solution.to_string();
        let auto_close = now + policy.auto_close_ms;
        self.auto_close_ms = Some(auto_close);
        self.set_status(actor, Status::Resolved, solution, &mut fx);
        fx.cancel(due::RESOLUTION).cancel(due::ESCALATE).schedule(
            due::AUTO_CLOSE,
            auto_close,
            String::new(),
        );
        self.touch(now);
        Ok(fx)
    }

    /// Resolved → closed with the submitter's rating (1–5).
    pub fn confirm(
        &mut self,
        actor: &Actor,
        satisfaction: i64,
        comment: &str,
        now: i64,
    ) -> Result<Effects, Error> {
        if self.status != Status::Resolved {
            return Err(refuse(self.status, "confirmed"));
        }
        let mut fx = Effects::default();
        self.closed_ms = Some(now);
        self.auto_close_ms = None;
        self.satisfaction = Some(satisfaction);
        self.satisfaction_comment = comment.to_string();
        let text = if comment.is_empty() {
            format!("满意度 {satisfaction}/5")
        } else {
            format!("满意度 {satisfaction}/5: {comment}")
        };
        self.set_status(actor, Status::Closed, &text, &mut fx);
        fx.cancel(due::AUTO_CLOSE);
        self.touch(now);
        Ok(fx)
    }

    /// Resolved → reopened; the resolution clock starts again.
    pub fn reopen(
        &mut self,
        actor: &Actor,
        comment: &str,
        policy: &SlaPolicy,
        now: i64,
    ) -> Result<Effects, Error> {
        if self.status != Status::Resolved {
            return Err(refuse(self.status, "reopened"));
        }
        let mut fx = Effects::default();
        self.reopen_count += 1;
        self.resolved_ms = None;
        self.auto_close_ms = None;
        self.resolution_start_ms = now;
        self.resolution_due_ms = now + policy.resolution_ms;
        self.resolution_breached = false;
        self.set_status(actor, Status::Reopened, comment, &mut fx);
        fx.cancel(due::AUTO_CLOSE)
            .schedule(due::RESOLUTION, self.resolution_due_ms, String::new());
        self.touch(now);
        Ok(fx)
    }

    /// A reply (public) or an internal note. A public reply by staff is the
    /// department's answer.
    pub fn comment(
        &mut self,
        actor: &Actor,
        text: &str,
        public: bool,
        now: i64,
    ) -> Result<Effects, Error> {
        if self.status == Status::Closed {
            return Err(refuse(self.status, "commented on"));
        }
        let mut fx = Effects::default();
        if public && matches!(actor, Actor::Staff(_)) && self.department_id.is_some() {
            self.responded(now, &mut fx);
        }
        fx.entry(actor.entry(EntryKind::Comment, public, text, None));
        self.touch(now);
        Ok(fx)
    }

    /// Hands the item to `owner_id`.
    pub fn assign(
        &mut self,
        actor: &Actor,
        owner_id: &str,
        comment: &str,
        now: i64,
    ) -> Result<Effects, Error> {
        if !self.status.is_open() {
            return Err(refuse(self.status, "assigned"));
        }
        self.require_department()?;
        let mut fx = Effects::default();
        let text = if comment.is_empty() {
            format!("owner: {owner_id}")
        } else {
            format!("owner: {owner_id}; {comment}")
        };
        self.owner_id = Some(owner_id.to_string());
        fx.entry(actor.entry(EntryKind::Assignment, false, &text, None));
        self.touch(now);
        Ok(fx)
    }

    /// Moves the item to `department_id`; the owner is cleared.
    pub fn route(
        &mut self,
        actor: &Actor,
        department_id: &str,
        routing: Routing,
        comment: &str,
        now: i64,
    ) -> Result<Effects, Error> {
        if !self.status.is_open() {
            return Err(refuse(self.status, "routed"));
        }
        if self.department_id.as_deref() == Some(department_id) {
            return Err(Error::precondition(
                "the item is already with that department",
            ));
        }
        let mut fx = Effects::default();
        self.department_id = Some(department_id.to_string());
        self.routing = routing;
        self.owner_id = None;
        fx.entry(actor.entry(
            EntryKind::Routing,
            false,
            &format!("department: {department_id}; {comment}"),
            None,
        ));
        fx.cancel(due::ROUTE);
        self.touch(now);
        Ok(fx)
    }

    /// A new category or priority: the deadlines follow the policy that now
    /// applies, counted from the same starts.
    pub fn reclassify(
        &mut self,
        actor: &Actor,
        category: Category,
        priority: Priority,
        policy: &SlaPolicy,
        comment: &str,
        now: i64,
    ) -> Result<Effects, Error> {
        if !self.status.is_open() {
            return Err(refuse(self.status, "reclassified"));
        }
        let mut fx = Effects::default();
        let text = format!(
            "category: {} → {}; priority: {} → {}; {comment}",
            self.category.as_str(),
            category.as_str(),
            self.priority.as_str(),
            priority.as_str()
        );
        self.category = category;
        self.priority = priority;
        self.first_response_due_ms = self.created_ms + policy.first_response_ms;
        self.resolution_due_ms = self.resolution_start_ms + policy.resolution_ms;
        if self.first_response_ms.is_none() {
            self.first_response_breached =
                now >= self.first_response_due_ms && self.first_response_breached;
            if !self.first_response_breached {
                fx.schedule(
                    due::FIRST_RESPONSE,
                    self.first_response_due_ms,
                    String::new(),
                );
            }
        }
        self.resolution_breached = now >= self.resolution_due_ms && self.resolution_breached;
        if !self.resolution_breached {
            fx.schedule(due::RESOLUTION, self.resolution_due_ms, String::new());
        }
        fx.entry(actor.entry(EntryKind::Update, false, &text, None));
        self.touch(now);
        Ok(fx)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::effects::Timer;

    pub const H: i64 = 3_600_000;

    pub fn new_item(department: Option<&str>) -> (Item, Effects) {
        let new = NewItem {
            channel: Channel::WebForm,
            category: Category::Problem,
            priority: Priority::Normal,
            subject: "空调坏了".into(),
            body: "三楼会议室空调不制冷".into(),
            location: String::new(),
            links: vec![],
            anonymous: false,
            department_id: department.map(str::to_string),
        };
        let routing = if department.is_some() {
            Routing::Submitter
        } else {
            Routing::Triage
        };
        Item::submit(
            "i1".into(),
            new,
            Some("p1".into()),
            routing,
            &SlaPolicy::builtin(),
            0,
        )
    }

    pub fn staff() -> Actor {
        Actor::Staff("owner".into())
    }

    #[test]
    fn the_closed_loop_runs_submitted_to_closed() {
        let policy = SlaPolicy::builtin();
        let (mut item, fx) = new_item(Some("d1"));
        assert_eq!(fx.timers.len(), 2);
        item.accept(&staff(), "收到", H).unwrap();
        assert_eq!(item.first_response_ms, Some(H));
        item.start_work(&staff(), "处理中", 2 * H).unwrap();
        let fx = item
            .resolve(&staff(), "已更换压缩机", &policy, 3 * H)
            .unwrap();
        assert!(fx.timers.contains(&Timer::Schedule {
            kind: due::AUTO_CLOSE,
            due_ms: 3 * H + policy.auto_close_ms,
            payload: String::new()
        }));
        let fx = item
            .reopen(
                &Actor::Submitter(Some("p1".into())),
                "还是不冷",
                &policy,
                4 * H,
            )
            .unwrap();
        assert_eq!(item.resolution_due_ms, 4 * H + policy.resolution_ms);
        assert!(fx.timers.contains(&Timer::Cancel(due::AUTO_CLOSE)));
        item.resolve(&staff(), "加了冷媒", &policy, 5 * H).unwrap();
        item.confirm(&Actor::Submitter(None), 4, "", 6 * H).unwrap();
        assert_eq!(
            (item.status, item.satisfaction, item.reopen_count),
            (Status::Closed, Some(4), 1)
        );
        assert!(item.accept(&staff(), "x", 7 * H).is_err());
        assert!(item.comment(&staff(), "x", true, 7 * H).is_err());
    }

    #[test]
    fn triage_items_must_be_routed_before_work() {
        let (mut item, _) = new_item(None);
        assert!(item.accept(&staff(), "收到", H).is_err());
        item.route(
            &Actor::Staff("admin".into()),
            "d2",
            Routing::Admin,
            "后勤",
            H,
        )
        .unwrap();
        assert!(
            item.route(&staff(), "d2", Routing::Transfer, "again", H)
                .is_err()
        );
        item.accept(&staff(), "收到", H).unwrap();
    }
}

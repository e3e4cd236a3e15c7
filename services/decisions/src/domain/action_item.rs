//! Action items: work with a lead department, supporting departments, an
//! owner and a due date. An item is overdue when its due time passed before
//! it was done; the service flags that at the due time by itself.

use concord_kit::clock::Millis;

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    Open,
    InProgress,
    Blocked,
    Done,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 4] = [
        ActionStatus::Open,
        ActionStatus::InProgress,
        ActionStatus::Blocked,
        ActionStatus::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::InProgress => "in_progress",
            ActionStatus::Blocked => "blocked",
            ActionStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ActionStatus::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A validated `CreateActionItem` (also the values of an update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActionItem {
    pub title: String,
    pub description: String,
    pub proposal_id: Option<String>,
    pub lead_department_id: String,
    pub supporting_department_ids: Vec<String>,
    pub owner_id: String,
    pub due_ms: Millis,
}

impl NewActionItem {
    /// Whether other departments than the lead take part.
    pub fn is_cross_department(&self) -> bool {
        self.supporting_department_ids
            .iter()
            .any(|d| *d != self.lead_department_id)
    }
}

/// A stored action item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    pub id: String,
    pub title: String,
    pub description: String,
    pub proposal_id: Option<String>,
    pub lead_department_id: String,
    pub supporting_department_ids: Vec<String>,
    pub owner_id: String,
    pub due_ms: Millis,
    pub status: ActionStatus,
    pub overdue: bool,
    pub done_ms: Option<Millis>,
    pub created_by: String,
    pub version: i64,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// A field `UpdateActionItem` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionItemField {
    Title,
    Description,
    LeadDepartment,
    SupportingDepartments,
    Owner,
    Due,
}

impl ActionItemField {
    /// The update-mask paths of the fields.
    pub const KNOWN: [(&'static str, Self); 6] = [
        ("title", Self::Title),
        ("description", Self::Description),
        ("lead_department_id", Self::LeadDepartment),
        ("supporting_department_ids", Self::SupportingDepartments),
        ("owner_id", Self::Owner),
        ("due_time", Self::Due),
    ];

    /// Every field.
    pub fn all() -> Vec<Self> {
        Self::KNOWN.iter().map(|(_, f)| *f).collect()
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Description => "description",
            Self::LeadDepartment => "lead_department_id",
            Self::SupportingDepartments => "supporting_department_ids",
            Self::Owner => "owner_id",
            Self::Due => "due_time",
        }
    }
}

/// A validated `UpdateActionItem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItemChange {
    pub id: String,
    pub expected_version: Option<i64>,
    pub fields: Vec<ActionItemField>,
    pub new: NewActionItem,
}

impl ActionItemChange {
    pub fn touches(&self, f: ActionItemField) -> bool {
        self.fields.contains(&f)
    }
}

impl ActionItem {
    /// The values as a "new item", for the checks shared with creation.
    pub fn values(&self) -> NewActionItem {
        NewActionItem {
            title: self.title.clone(),
            description: self.description.clone(),
            proposal_id: self.proposal_id.clone(),
            lead_department_id: self.lead_department_id.clone(),
            supporting_department_ids: self.supporting_department_ids.clone(),
            owner_id: self.owner_id.clone(),
            due_ms: self.due_ms,
        }
    }

    /// Applies the masked fields; a due time moved past `now` clears the
    /// overdue flag.
    pub fn apply(&mut self, change: &ActionItemChange, now: Millis) {
        let n = &change.new;
        for f in &change.fields {
            match f {
                ActionItemField::Title => self.title.clone_from(&n.title),
                ActionItemField::Description => self.description.clone_from(&n.description),
                ActionItemField::LeadDepartment => {
                    self.lead_department_id.clone_from(&n.lead_department_id)
                }
                ActionItemField::SupportingDepartments => self
                    .supporting_department_ids
                    .clone_from(&n.supporting_department_ids),
                ActionItemField::Owner => self.owner_id.clone_from(&n.owner_id),
                ActionItemField::Due => {
                    self.due_ms = n.due_ms;
                    if self.status != ActionStatus::Done {
                        self.overdue = self.due_ms <= now;
                    }
                }
            }
        }
    }

    /// Sets the status. Done records when; leaving done (reopening) clears
    /// it, and the item is overdue again if its due time has passed.
    pub fn set_status(&mut self, status: ActionStatus, now: Millis) {
        if status == self.status {
            return;
        }
        if status == ActionStatus::Done {
            self.done_ms = Some(now);
            self.overdue = now > self.due_ms;
        } else {
            self.done_ms = None;
            self.overdue = self.due_ms <= now;
        }
        self.status = status;
    }

    /// Whether the due time passed and it is not done: the flag the overdue
    /// job sets.
    pub fn is_overdue_at(&self, now: Millis) -> bool {
        self.status != ActionStatus::Done && self.due_ms <= now
    }

    /// Whether it was done by its due time.
    pub fn done_on_time(&self) -> bool {
        self.done_ms.is_some_and(|d| d <= self.due_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> ActionItem {
        ActionItem {
            id: "a".into(),
            title: "更换消防器材".into(),
            description: String::new(),
            proposal_id: None,
            lead_department_id: "后勤".into(),
            supporting_department_ids: vec![],
            owner_id: "王五".into(),
            due_ms: 100,
            status: ActionStatus::Open,
            overdue: false,
            done_ms: None,
            created_by: "x".into(),
            version: 1,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in ActionStatus::ALL {
            assert_eq!(ActionStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn done_on_time_or_late() {
        let mut a = item();
        a.set_status(ActionStatus::InProgress, 50);
        a.set_status(ActionStatus::Done, 100);
        assert!(a.done_on_time() && !a.overdue);
        let mut late = item();
        late.set_status(ActionStatus::Done, 101);
        assert!(!late.done_on_time() && late.overdue);
        // Reopening clears the done time; it is overdue again past its due time.
        late.set_status(ActionStatus::Blocked, 150);
        assert_eq!((late.done_ms, late.overdue), (None, true));
    }

    #[test]
    fn overdue_is_due_and_not_done() {
        let mut a = item();
        assert!(!a.is_overdue_at(99));
        assert!(a.is_overdue_at(100));
        a.set_status(ActionStatus::Done, 90);
        assert!(!a.is_overdue_at(200));
    }

    #[test]
    fn moving_the_due_time_later_clears_overdue() {
        let mut a = item();
        a.overdue = true;
        let change = ActionItemChange {
            id: "a".into(),
            expected_version: None,
            fields: vec![ActionItemField::Due],
            new: NewActionItem {
                due_ms: 500,
                ..a.values()
            },
        };
        a.apply(&change, 200);
        assert!(!a.overdue);
    }

    #[test]
    fn cross_department_means_another_department_supports() {
        let mut n = item().values();
        assert!(!n.is_cross_department());
        n.supporting_department_ids = vec!["后勤".into()];
        assert!(!n.is_cross_department());
        n.supporting_department_ids.push("信息中心".into());
        assert!(n.is_cross_department());
    }
}

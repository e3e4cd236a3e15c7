//! A notice: what it says, who it is for, and where it is in its lifecycle
//! (draft, scheduled, published, retracted, expired).

use concord_kit::clock::Millis;
use serde::{Deserialize, Serialize};

/// How pressing a notice is. Numbers are the protobuf values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    Normal = 1,
    Important = 2,
    Urgent = 3,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Normal, Priority::Important, Priority::Urgent];

    pub fn from_i64(n: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|p| *p as i64 == n)
    }

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Important => "important",
            Priority::Urgent => "urgent",
        }
    }
}

/// Where a notice is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeState {
    Draft = 1,
    Scheduled = 2,
    Published = 3,
    Retracted = 4,
    Expired = 5,
}

impl NoticeState {
    pub const ALL: [NoticeState; 5] = [
        NoticeState::Draft,
        NoticeState::Scheduled,
        NoticeState::Published,
        NoticeState::Retracted,
        NoticeState::Expired,
    ];

    pub fn from_i64(n: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i64 == n)
    }

    /// Whether RetractNotice applies.
    pub fn may_retract(self) -> bool {
        matches!(
            self,
            NoticeState::Draft | NoticeState::Scheduled | NoticeState::Published
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            NoticeState::Draft => "draft",
            NoticeState::Scheduled => "scheduled",
            NoticeState::Published => "published",
            NoticeState::Retracted => "retracted",
            NoticeState::Expired => "expired",
        }
    }
}

/// Who a notice is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    pub everyone: bool,
    pub department_ids: Vec<String>,
    pub include_sub_departments: bool,
    pub person_ids: Vec<String>,
}

impl Audience {
    pub fn is_empty(&self) -> bool {
        !self.everyone && self.department_ids.is_empty() && self.person_ids.is_empty()
    }

    /// Stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Self {
        serde_json::from_str(s).unwrap_or_default()
    }
}

/// A titled link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub title: String,
    pub url: String,
}

/// A notice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: String,
    pub title: String,
    pub body: String,
    pub author_id: String,
    pub author_department_id: String,
    pub audience: Audience,
    pub priority: Priority,
    pub ack_required: bool,
    pub attachments: Vec<Attachment>,
    pub publish_ms: Option<Millis>,
    pub expire_ms: Option<Millis>,
    pub state: NoticeState,
    pub published_ms: Option<Millis>,
    pub recipient_count: i64,
    pub pushed: bool,
    /// The meeting whose minutes this notice carries, or empty.
    pub meeting_id: String,
    pub version: i64,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// The fields of a notice a client sets, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeContent {
    pub title: String,
    pub body: String,
    pub audience: Audience,
    pub priority: Priority,
    /// `None`: take the communication rule's default.
    pub ack_required: Option<bool>,
    pub attachments: Vec<Attachment>,
    pub publish_ms: Option<Millis>,
    pub expire_ms: Option<Millis>,
}

/// The fields UpdateNotice may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeField {
    Title,
    Body,
    Audience,
    Priority,
    AckRequired,
    Attachments,
    PublishTime,
    ExpireTime,
}

impl NoticeField {
    pub const ALL: [NoticeField; 8] = [
        NoticeField::Title,
        NoticeField::Body,
        NoticeField::Audience,
        NoticeField::Priority,
        NoticeField::AckRequired,
        NoticeField::Attachments,
        NoticeField::PublishTime,
        NoticeField::ExpireTime,
    ];

    pub fn path(self) -> &'static str {
        match self {
            NoticeField::Title => "title",
            NoticeField::Body => "body",
            NoticeField::Audience => "audience",
            NoticeField::Priority => "priority",
            NoticeField::AckRequired => "acknowledgement_required",
            NoticeField::Attachments => "attachments",
            NoticeField::PublishTime => "publish_time",
            NoticeField::ExpireTime => "expire_time",
        }
    }

    /// Every field with its update-mask path, for `fields::update_mask`.
    pub fn known() -> [(&'static str, Self); 8] {
        Self::ALL.map(|f| (f.path(), f))
    }
}

impl Notice {
    /// Applies the masked fields of `new`; `ack_default` fills an unset
    /// acknowledgement flag.
    pub fn apply(&mut self, fields: &[NoticeField], new: &NoticeContent, ack_default: bool) {
        for f in fields {
            match f {
                NoticeField::Title => self.title = new.title.clone(),
                NoticeField::Body => self.body = new.body.clone(),
                NoticeField::Audience => self.audience = new.audience.clone(),
                NoticeField::Priority => self.priority = new.priority,
                NoticeField::AckRequired => {
                    self.ack_required = new.ack_required.unwrap_or(ack_default)
                }
                NoticeField::Attachments => self.attachments = new.attachments.clone(),
                NoticeField::PublishTime => self.publish_ms = new.publish_ms,
                NoticeField::ExpireTime => self.expire_ms = new.expire_ms,
            }
        }
    }

    /// Whether a publish now would have to wait for the scheduled time.
    pub fn waits_until(&self, now: Millis) -> Option<Millis> {
        self.publish_ms.filter(|t| *t > now)
    }
}

/// Why the publish and expire times do not fit together, if they do not.
pub fn times_problem(
    publish_ms: Option<Millis>,
    expire_ms: Option<Millis>,
    now: Millis,
) -> Option<(&'static str, &'static str)> {
    if let Some(e) = expire_ms {
        if e <= now {
            return Some(("expire_time", "must be in the future"));
        }
        if publish_ms.is_some_and(|p| e <= p) {
            return Some(("expire_time", "must be after publish_time"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_round_trip_through_json() {
        let a = Audience {
            everyone: false,
            department_ids: vec!["d1".into()],
            include_sub_departments: true,
            person_ids: vec!["p1".into()],
        };
        assert_eq!(Audience::from_json(&a.to_json()), a);
        assert!(Audience::default().is_empty());
    }

    #[test]
    fn masks_and_times() {
        let mask = |p: &str| {
            let mut v = concord_kit::Violations::new();
            let m = prost_types::FieldMask {
                paths: vec![p.to_string()],
            };
            let fields = concord_kit::fields::update_mask(&mut v, Some(&m), &NoticeField::known());
            v.is_empty().then_some(fields)
        };
        assert_eq!(mask("*").map(|f| f.len()), Some(8));
        assert_eq!(mask("audience"), Some(vec![NoticeField::Audience]));
        assert_eq!(mask("author_id"), None);
        assert_eq!(
            times_problem(None, Some(5), 10),
            Some(("expire_time", "must be in the future"))
        );
        assert_eq!(
            times_problem(Some(50), Some(40), 10),
            Some(("expire_time", "must be after publish_time"))
        );
        assert_eq!(times_problem(Some(50), Some(60), 10), None);
        assert!(NoticeState::Published.may_retract());
        assert!(!NoticeState::Expired.may_retract());
    }
}

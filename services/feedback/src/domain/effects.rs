//! What a transition leaves to write besides the item itself: timeline
//! entries, and the item's deadlines as due rows to schedule or cancel; and
//! who acts (the submitter, possibly anonymous; staff; the system).

use super::{Author, Deadline, EntryKind, Level, Status};

/// Due-row kinds: one pending row per kind and item.
pub mod due {
    pub const FIRST_RESPONSE: &str = "feedback.first_response";
    pub const RESOLUTION: &str = "feedback.resolution";
    /// Still in breach some time after an escalation: one level further.
    pub const ESCALATE: &str = "feedback.escalate";
    pub const AUTO_CLOSE: &str = "feedback.auto_close";
    /// Routing by duties again after the directory could not be asked.
    pub const ROUTE: &str = "feedback.route";
}

/// A timeline entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub public: bool,
    pub author: Author,
    /// `None` for the system and for an anonymous submitter.
    pub author_id: Option<String>,
    pub text: String,
    pub status: Option<Status>,
}

/// A change to an item's due rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    Schedule {
        kind: &'static str,
        due_ms: i64,
        payload: String,
    },
    Cancel(&'static str),
}

/// What a transition leaves to write besides the item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub entries: Vec<NewEntry>,
    pub timers: Vec<Timer>,
    /// Set when the transition raised the escalation level.
    pub escalated: Option<(Level, Deadline)>,
}

impl Effects {
    pub(super) fn entry(&mut self, e: NewEntry) -> &mut Self {
        self.entries.push(e);
        self
    }
    pub(super) fn schedule(
        &mut self,
        kind: &'static str,
        due_ms: i64,
        payload: String,
    ) -> &mut Self {
        self.timers.push(Timer::Schedule {
            kind,
            due_ms,
            payload,
        });
        self
    }
    pub(super) fn cancel(&mut self, kind: &'static str) -> &mut Self {
        self.timers.push(Timer::Cancel(kind));
        self
    }
}

/// Who acts on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The submitter; `None` for an anonymous one.
    Submitter(Option<String>),
    Staff(String),
    System,
}

impl Actor {
    fn author(&self) -> (Author, Option<String>) {
        match self {
            Actor::Submitter(id) => (Author::Submitter, id.clone()),
            Actor::Staff(id) => (Author::Staff, Some(id.clone())),
            Actor::System => (Author::System, None),
        }
    }

    pub(super) fn entry(
        &self,
        kind: EntryKind,
        public: bool,
        text: &str,
        status: Option<Status>,
    ) -> NewEntry {
        let (author, author_id) = self.author();
        NewEntry {
            kind,
            public,
            author,
            author_id,
            text: text.to_string(),
            status,
        }
    }
}

//! Feedback's rules, free of gRPC and SQL: the item and its state machine,
//! SLA policies and escalation, follow-up codes, who may see and act, and
//! the statistics.

pub mod access;
pub mod code;
pub mod effects;
pub mod escalation;
pub mod item;
pub mod sla;
pub mod stats;

pub use effects::{Effects, NewEntry, Timer};
pub use item::{Item, NewItem};
pub use sla::SlaPolicy;

/// Longest subject, in characters.
pub const SUBJECT_MAX: usize = 200;
/// Longest body, reply, comment or solution, in characters.
pub const TEXT_MAX: usize = 10_000;
/// Longest location, in characters.
pub const LOCATION_MAX: usize = 200;
/// Most links on one item.
pub const LINKS_MAX: usize = 10;
/// Longest link, in characters.
pub const LINK_MAX: usize = 2000;

/// Declares a closed set of values stored as text, with their spellings.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The spelling stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Reads a stored spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

stored_enum!(
    /// How an item reached the organisation.
    Channel {
        WebForm = "web_form",
        Hotline = "hotline",
        Email = "email",
        StaffSymposium = "staff_symposium",
        Meeting = "meeting",
        SuggestionBox = "suggestion_box",
    }
);

stored_enum!(
    Category {
        Problem = "problem",
        Suggestion = "suggestion",
        Complaint = "complaint",
        Praise = "praise",
    }
);

stored_enum!(
    Priority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
);

stored_enum!(
    Status {
        Submitted = "submitted",
        Accepted = "accepted",
        InProgress = "in_progress",
        Resolved = "resolved",
        Closed = "closed",
        Reopened = "reopened",
    }
);

impl Status {
    /// Waiting for the organisation: not resolved, not closed.
    pub const OPEN: &'static [Status] = &[
        Status::Submitted,
        Status::Accepted,
        Status::InProgress,
        Status::Reopened,
    ];

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

stored_enum!(
    /// How an item found its department.
    Routing {
        Submitter = "submitter",
        Duties = "duties",
        Triage = "triage",
        Admin = "admin",
        Transfer = "transfer",
    }
);

stored_enum!(
    EntryKind {
        Submitted = "submitted",
        Comment = "comment",
        StatusChange = "status_change",
        Routing = "routing",
        Assignment = "assignment",
        Escalation = "escalation",
        Update = "update",
    }
);

stored_enum!(
    /// Who wrote a timeline entry.
    Author {
        Submitter = "submitter",
        Staff = "staff",
        System = "system",
    }
);

stored_enum!(
    /// An SLA deadline.
    Deadline {
        FirstResponse = "first_response",
        Resolution = "resolution",
    }
);

/// Who is answerable now; a missed deadline raises it. Stored as 1, 2, 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Owner = 1,
    DepartmentHead = 2,
    Admins = 3,
}

impl Level {
    pub fn from_stored(n: i64) -> Option<Self> {
        match n {
            1 => Some(Level::Owner),
            2 => Some(Level::DepartmentHead),
            3 => Some(Level::Admins),
            _ => None,
        }
    }

    pub fn stored(self) -> i64 {
        self as i64
    }

    /// The label value in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Owner => "owner",
            Level::DepartmentHead => "department_head",
            Level::Admins => "admins",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_spellings_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Status::parse("nope"), None);
        assert!(Status::Reopened.is_open());
        assert!(!Status::Resolved.is_open());
        assert_eq!(Level::from_stored(2), Some(Level::DepartmentHead));
        assert_eq!(Level::from_stored(9), None);
    }
}

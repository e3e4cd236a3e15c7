//! Contingency plans: what kind of incident they answer, how grave it is by
//! default, the ordered steps with the department responsible for each and a
//! target time, contacts, the acknowledgement timeout and the escalation
//! chain. Every edit makes a new version; versions never change.

use serde::{Deserialize, Serialize};

/// What kind of event a plan answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentType {
    Fire = 1,
    ItOutage = 2,
    PublicHealth = 3,
    Security = 4,
    NaturalDisaster = 5,
    Other = 6,
}

impl IncidentType {
    pub const ALL: [IncidentType; 6] = [
        IncidentType::Fire,
        IncidentType::ItOutage,
        IncidentType::PublicHealth,
        IncidentType::Security,
        IncidentType::NaturalDisaster,
        IncidentType::Other,
    ];

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The name used in alert texts.
    pub fn label(self) -> &'static str {
        match self {
            IncidentType::Fire => "火灾 fire",
            IncidentType::ItOutage => "信息系统故障 IT outage",
            IncidentType::PublicHealth => "公共卫生事件 public health",
            IncidentType::Security => "安全事件 security",
            IncidentType::NaturalDisaster => "自然灾害 natural disaster",
            IncidentType::Other => "其他 other",
        }
    }
}

/// Severity on the Chinese national scale; I is the gravest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// 特别重大
    I = 1,
    /// 重大
    Ii = 2,
    /// 较大
    Iii = 3,
    /// 一般
    Iv = 4,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::I, Severity::Ii, Severity::Iii, Severity::Iv];

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The level and its Chinese name, e.g. "I级（特别重大）".
    pub fn label(self) -> &'static str {
        match self {
            Severity::I => "I级（特别重大）",
            Severity::Ii => "II级（重大）",
            Severity::Iii => "III级（较大）",
            Severity::Iv => "IV级（一般）",
        }
    }

    /// The metric label value.
    pub fn roman(self) -> &'static str {
        match self {
            Severity::I => "I",
            Severity::Ii => "II",
            Severity::Iii => "III",
            Severity::Iv => "IV",
        }
    }
}

/// Where an unacknowledged alert goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationTarget {
    DepartmentHead = 1,
    Admins = 2,
    Contacts = 3,
}

impl EscalationTarget {
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        [
            EscalationTarget::DepartmentHead,
            EscalationTarget::Admins,
            EscalationTarget::Contacts,
        ]
        .into_iter()
        .find(|t| t.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            EscalationTarget::DepartmentHead => "department_head",
            EscalationTarget::Admins => "admins",
            EscalationTarget::Contacts => "contacts",
        }
    }
}

/// The chain used when a plan names none: the head, then the admins.
pub const DEFAULT_CHAIN: [EscalationTarget; 2] =
    [EscalationTarget::DepartmentHead, EscalationTarget::Admins];

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    pub title: String,
    pub instructions: String,
    pub department_id: String,
    pub target_minutes: i64,
}

/// Somebody to call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub role: String,
    pub phone: String,
    pub person_id: Option<String>,
}

/// What a plan version says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContent {
    pub title: String,
    pub description: String,
    pub incident_type: IncidentType,
    pub severity: Severity,
    pub owner_department_id: String,
    pub steps: Vec<PlanStep>,
    pub contacts: Vec<Contact>,
    pub ack_timeout_ms: i64,
    /// 0: no reminders.
    pub reminder_ms: i64,
    /// As written; see [`PlanContent::chain`].
    pub escalation_chain: Vec<EscalationTarget>,
}

impl PlanContent {
    /// The departments of the steps, each once, in step order: the audience.
    pub fn departments(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in &self.steps {
            if !out.contains(&s.department_id) {
                out.push(s.department_id.clone());
            }
        }
        out
    }

    /// The escalation chain in force.
    pub fn chain(&self) -> Vec<EscalationTarget> {
        if self.escalation_chain.is_empty() {
            DEFAULT_CHAIN.to_vec()
        } else {
            self.escalation_chain.clone()
        }
    }

    /// The people named as contacts.
    pub fn contact_people(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.contacts.iter().filter_map(|c| c.person_id.clone()) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// Takes the `fields` of `other` over.
    pub fn apply(&mut self, fields: &[PlanField], other: PlanContent) {
        for f in fields {
            match f {
                PlanField::Title => self.title = other.title.clone(),
                PlanField::Description => self.description = other.description.clone(),
                PlanField::IncidentType => self.incident_type = other.incident_type,
                PlanField::Severity => self.severity = other.severity,
                PlanField::OwnerDepartmentId => {
                    self.owner_department_id = other.owner_department_id.clone()
                }
                PlanField::Steps => self.steps = other.steps.clone(),
                PlanField::Contacts => self.contacts = other.contacts.clone(),
                PlanField::AcknowledgementTimeout => self.ack_timeout_ms = other.ack_timeout_ms,
                PlanField::ReminderInterval => self.reminder_ms = other.reminder_ms,
                PlanField::EscalationChain => {
                    self.escalation_chain = other.escalation_chain.clone()
                }
            }
        }
    }
}

/// A plan at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: String,
    pub version: i64,
    /// The current version of the plan (the etag), which may be newer than
    /// `version` when an old version was asked for.
    pub current_version: i64,
    pub archived: bool,
    pub created_ms: i64,
    /// When this version was made, and by whom.
    pub updated_ms: i64,
    pub updated_by: String,
    pub content: PlanContent,
}

/// A field an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanField {
    Title,
    Description,
    IncidentType,
    Severity,
    OwnerDepartmentId,
    Steps,
    Contacts,
    AcknowledgementTimeout,
    ReminderInterval,
    EscalationChain,
}

impl PlanField {
    pub const ALL: [PlanField; 10] = [
        PlanField::Title,
        PlanField::Description,
        PlanField::IncidentType,
        PlanField::Severity,
        PlanField::OwnerDepartmentId,
        PlanField::Steps,
        PlanField::Contacts,
        PlanField::AcknowledgementTimeout,
        PlanField::ReminderInterval,
        PlanField::EscalationChain,
    ];

    pub fn path(self) -> &'static str {
        match self {
            PlanField::Title => "title",
            PlanField::Description => "description",
            PlanField::IncidentType => "incident_type",
            PlanField::Severity => "severity",
            PlanField::OwnerDepartmentId => "owner_department_id",
            PlanField::Steps => "steps",
            PlanField::Contacts => "contacts",
            PlanField::AcknowledgementTimeout => "acknowledgement_timeout",
            PlanField::ReminderInterval => "reminder_interval",
            PlanField::EscalationChain => "escalation_chain",
        }
    }

    /// Every field with its update-mask path, for `fields::update_mask`.
    pub fn known() -> [(&'static str, Self); 10] {
        Self::ALL.map(|f| (f.path(), f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(dept: &str) -> PlanStep {
        PlanStep {
            title: "疏散".into(),
            instructions: String::new(),
            department_id: dept.into(),
            target_minutes: 5,
        }
    }

    fn content() -> PlanContent {
        PlanContent {
            title: "消防应急预案".into(),
            description: String::new(),
            incident_type: IncidentType::Fire,
            severity: Severity::Ii,
            owner_department_id: "d0".into(),
            steps: vec![step("a"), step("b"), step("a")],
            contacts: vec![
                Contact {
                    name: "王".into(),
                    role: String::new(),
                    phone: String::new(),
                    person_id: Some("p1".into()),
                },
                Contact {
                    name: "Li".into(),
                    role: String::new(),
                    phone: String::new(),
                    person_id: None,
                },
            ],
            ack_timeout_ms: 60_000,
            reminder_ms: 0,
            escalation_chain: vec![],
        }
    }

    #[test]
    fn departments_are_distinct_in_step_order_and_the_chain_defaults() {
        let c = content();
        assert_eq!(c.departments(), ["a", "b"]);
        assert_eq!(c.chain(), DEFAULT_CHAIN);
        assert_eq!(c.contact_people(), ["p1"]);
    }

    #[test]
    fn masks_parse_and_apply_only_named_fields() {
        let mask = |p: &str| {
            let mut v = concord_kit::Violations::new();
            let m = prost_types::FieldMask {
                paths: vec![p.to_string()],
            };
            let fields = concord_kit::fields::update_mask(&mut v, Some(&m), &PlanField::known());
            v.is_empty().then_some(fields)
        };
        assert_eq!(mask("steps"), Some(vec![PlanField::Steps]));
        assert_eq!(mask("*").map(|f| f.len()), Some(10));
        assert_eq!(mask("id"), None);
        let mut c = content();
        let mut other = content();
        other.title = "新标题".into();
        other.severity = Severity::I;
        c.apply(&[PlanField::Title], other);
        assert_eq!(c.title, "新标题");
        assert_eq!(c.severity, Severity::Ii);
    }

    #[test]
    fn codes_round_trip() {
        for s in Severity::ALL {
            assert_eq!(Severity::from_code(s.code()), Some(s));
        }
        for t in IncidentType::ALL {
            assert_eq!(IncidentType::from_code(t.code()), Some(t));
        }
        assert_eq!(Severity::from_code(0), None);
        assert_eq!(Severity::I.label(), "I级（特别重大）");
    }
}

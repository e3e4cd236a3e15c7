//! People: who works in which department, how to reach them, and the roles
//! they hold.

use concord_kit::auth::{parse_role, role_name};
use concord_proto::policy::v1::Role;

/// A stored person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub department_id: String,
    pub display_name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
    pub roles: Roles,
    pub active: bool,
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A validated request to create a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub display_name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
    pub department_id: String,
    pub roles: Roles,
}

/// A field `UpdatePerson` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonField {
    DisplayName,
    Email,
    Phone,
    Title,
    DepartmentId,
    Roles,
}

impl PersonField {
    /// Every field, in the order `*` names them.
    pub const ALL: [Self; 6] = [
        Self::DisplayName,
        Self::Email,
        Self::Phone,
        Self::Title,
        Self::DepartmentId,
        Self::Roles,
    ];

    /// Every field with its update-mask path, for `fields::update_mask`.
    pub fn known() -> [(&'static str, Self); 6] {
        Self::ALL.map(|f| (f.path(), f))
    }

    /// The field's update-mask path.
    pub fn path(self) -> &'static str {
        match self {
            Self::DisplayName => "display_name",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Title => "title",
            Self::DepartmentId => "department_id",
            Self::Roles => "roles",
        }
    }
}

/// A validated `UpdatePerson`: the fields to change and their new values
/// (only the masked ones are meaningful).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonChange {
    pub id: String,
    pub expected_version: Option<i64>,
    pub fields: Vec<PersonField>,
    pub new: NewPerson,
}

impl PersonChange {
    pub fn touches(&self, field: PersonField) -> bool {
        self.fields.contains(&field)
    }
}

impl Person {
    /// Applies the masked fields of `change`.
    pub fn apply(&mut self, change: &PersonChange) {
        let new = &change.new;
        for field in &change.fields {
            match field {
                PersonField::DisplayName => self.display_name.clone_from(&new.display_name),
                PersonField::Email => self.email.clone_from(&new.email),
                PersonField::Phone => self.phone.clone_from(&new.phone),
                PersonField::Title => self.title.clone_from(&new.title),
                PersonField::DepartmentId => self.department_id.clone_from(&new.department_id),
                PersonField::Roles => self.roles = new.roles.clone(),
            }
        }
    }
}

/// An active person an audience covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceMember {
    pub person_id: String,
    pub department_id: String,
    pub display_name: String,
}

/// The roles a person holds: at least one, no duplicates, in enum order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles(Vec<Role>);

impl Default for Roles {
    /// Everybody is at least a member.
    fn default() -> Self {
        Self(vec![Role::Member])
    }
}

impl Roles {
    /// Validates roles as sent on the wire. Empty means the default (member);
    /// each bad entry is reported with its index.
    pub fn parse(values: &[i32]) -> Result<Self, Vec<(usize, &'static str)>> {
        let mut roles = Vec::new();
        let mut bad = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match Role::try_from(*v) {
                Ok(Role::Unspecified) => bad.push((i, "must name a role")),
                Ok(Role::Service) => bad.push((i, "the service role is for services, not people")),
                Ok(role) => roles.push(role),
                Err(_) => bad.push((i, "is not a known role")),
            }
        }
        if !bad.is_empty() {
            return Err(bad);
        }
        Ok(Self::from_roles(roles))
    }

    fn from_roles(mut roles: Vec<Role>) -> Self {
        if roles.is_empty() {
            return Self::default();
        }
        roles.sort_by_key(|r| *r as i32);
        roles.dedup();
        Self(roles)
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    /// The wire values.
    pub fn to_values(&self) -> Vec<i32> {
        self.0.iter().map(|r| *r as i32).collect()
    }

    /// The stored form: role names joined by commas.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|r| role_name(*r))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form; names it does not know are skipped.
    pub fn from_text(text: &str) -> Self {
        Self::from_roles(text.split(',').filter_map(parse_role).collect())
    }
}

/// Why an e-mail address is unacceptable, if it is. Checked loosely: one
/// `@` with something on both sides and no spaces.
pub fn email_problem(email: &str) -> Option<&'static str> {
    if email.is_empty() {
        return None;
    }
    if email.chars().count() > 254 {
        return Some("must be at most 254 characters");
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Some("must contain exactly one @");
    };
    if local.is_empty() || domain.is_empty() {
        return Some("needs a name before and a domain after the @");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain spaces");
    }
    None
}

/// Why a phone number is unacceptable, if it is: digits, spaces and `+-()`,
/// at most 32 characters.
pub fn phone_problem(phone: &str) -> Option<&'static str> {
    if phone.chars().count() > 32 {
        return Some("must be at most 32 characters");
    }
    if !phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Some("may contain only digits, spaces and + - ( ) .");
    }
    None
}

/// The key e-mail addresses are unique by.
pub fn email_key(email: &str) -> String {
    email.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_default_to_member_and_refuse_unknown_values() {
        assert_eq!(Roles::parse(&[]).unwrap(), Roles::default());
        let r = Roles::parse(&[
            Role::Member as i32,
            Role::DepartmentHead as i32,
            Role::Member as i32,
        ])
        .unwrap();
        assert_eq!(
            r.to_values(),
            [Role::DepartmentHead as i32, Role::Member as i32]
        );
        assert_eq!(Roles::from_text(&r.to_text()), r);
        let bad = Roles::parse(&[Role::Member as i32, 0, 99, Role::Service as i32]).unwrap_err();
        assert_eq!(bad.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn emails_are_checked_loosely() {
        assert_eq!(email_problem(""), None);
        assert_eq!(email_problem("王伟@例子.中国"), None);
        assert_eq!(email_problem("a.b@example.org"), None);
        assert!(email_problem("no-at-sign").is_some());
        assert!(email_problem("a@b@c").is_some());
        assert!(email_problem("@example.org").is_some());
        assert!(email_problem("a b@example.org").is_some());
    }

    #[test]
    fn phones_are_digits_and_punctuation() {
        assert_eq!(phone_problem("+86 (10) 6552-1234"), None);
        assert!(phone_problem("call me").is_some());
        assert!(phone_problem(&"1".repeat(40)).is_some());
    }
}

//! Departments: a tree of named units. A department's children have distinct
//! names (ignoring case), and it can never sit below itself.

/// A stored department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: String,
    /// `None` for a root.
    pub parent_id: Option<String>,
    pub name: String,
    pub description: String,
    /// Bumped by every change; rendered as the etag.
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A validated request to create a department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDepartment {
    pub name: String,
    pub parent_id: Option<String>,
    pub description: String,
}

/// A field `UpdateDepartment` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartmentField {
    Name,
    Description,
}

impl DepartmentField {
    /// Every field, in the order `*` names them.
    pub const ALL: [Self; 2] = [Self::Name, Self::Description];

    /// Every field with its update-mask path, for `fields::update_mask`.
    pub fn known() -> [(&'static str, Self); 2] {
        Self::ALL.map(|f| (f.path(), f))
    }

    /// The field's update-mask path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Description => "description",
        }
    }
}

/// A validated `UpdateDepartment`: the fields to change and their new values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentChange {
    pub id: String,
    pub expected_version: Option<i64>,
    pub fields: Vec<DepartmentField>,
    pub name: String,
    pub description: String,
}

impl Department {
    /// Applies `change` and returns whether the name changed (which needs a
    /// sibling-name check).
    pub fn apply(&mut self, change: &DepartmentChange) -> bool {
        let mut renamed = false;
        for field in &change.fields {
            match field {
                DepartmentField::Name => {
                    renamed = self.name != change.name;
                    self.name.clone_from(&change.name);
                }
                DepartmentField::Description => self.description.clone_from(&change.description),
            }
        }
        renamed
    }
}

/// Why a department may not move under `new_parent`, if it may not.
/// `parent_inside` says whether the new parent lies in the department's own
/// subtree.
pub fn move_refusal(
    id: &str,
    new_parent: Option<&str>,
    parent_inside: bool,
) -> Option<&'static str> {
    match new_parent {
        Some(p) if p == id => Some("a department cannot be moved under itself"),
        Some(_) if parent_inside => {
            Some("a department cannot be moved under one of its own sub-departments")
        }
        _ => None,
    }
}

/// Why a department may not be deleted, if it may not.
pub fn delete_refusal(children: i64, people: i64) -> Option<String> {
    match (children, people) {
        (0, 0) => None,
        (c, 0) => Some(format!(
            "the department still has {c} sub-department(s); move or delete them first"
        )),
        (0, p) => Some(format!(
            "the department still has {p} person(s), active or not; move them first"
        )),
        (c, p) => Some(format!(
            "the department still has {c} sub-department(s) and {p} person(s); move or delete them first"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_into_own_subtree_are_refused() {
        assert!(move_refusal("a", Some("a"), true).is_some());
        assert!(move_refusal("a", Some("b"), true).is_some());
        assert!(move_refusal("a", Some("b"), false).is_none());
        assert!(move_refusal("a", None, false).is_none());
    }

    #[test]
    fn only_empty_departments_are_deleted() {
        assert!(delete_refusal(0, 0).is_none());
        assert!(delete_refusal(1, 0).is_some_and(|m| m.contains("sub-department")));
        assert!(delete_refusal(0, 2).is_some_and(|m| m.contains("person")));
        assert!(delete_refusal(1, 2).is_some());
    }

    #[test]
    fn masks_name_known_fields_only() {
        use concord_kit::fields::update_mask;
        let mask = |p: &str| {
            let mut v = concord_kit::Violations::new();
            let m = prost_types::FieldMask {
                paths: vec![p.to_string()],
            };
            let fields = update_mask(&mut v, Some(&m), &DepartmentField::known());
            v.is_empty().then_some(fields)
        };
        assert_eq!(mask("name"), Some(vec![DepartmentField::Name]));
        assert_eq!(mask("*").map(|f| f.len()), Some(2));
        assert_eq!(mask("parent_id"), None);
    }

    #[test]
    fn apply_changes_only_masked_fields() {
        let mut d = Department {
            id: "d".into(),
            parent_id: None,
            name: "后勤处".into(),
            description: "old".into(),
            version: 1,
            created_ms: 0,
            updated_ms: 0,
        };
        let change = DepartmentChange {
            id: "d".into(),
            expected_version: None,
            fields: vec![DepartmentField::Description],
            name: "ignored".into(),
            description: "new".into(),
        };
        assert!(!d.apply(&change));
        assert_eq!((d.name.as_str(), d.description.as_str()), ("后勤处", "new"));
    }
}

//! The boundary between the wire and the domain: requests are validated into
//! domain values (every bad field named, AIP-style `person.email`), domain
//! values are rendered as messages.

use concord_kit::clock::to_timestamp;
use concord_kit::fields::{etag, opt_id, render_etag, single_line, update_mask};
use concord_kit::idempotency::check_request_id;
use concord_kit::ids::{check_id, check_opt_text, check_text};
use concord_kit::{Error, Violations};
use concord_proto::directory::v1 as pb;

use crate::domain::person::{email_problem, phone_problem};
use crate::domain::{
    DESCRIPTION_MAX, DUTY_MAX, Department, DepartmentChange, DepartmentField, Duty, NAME_MAX,
    NewDepartment, NewDuty, NewPerson, Person, PersonChange, PersonField, Roles, TITLE_MAX,
};

pub fn department(d: &Department) -> pb::Department {
    pb::Department {
        id: d.id.clone(),
        name: d.name.clone(),
        parent_id: d.parent_id.clone().unwrap_or_default(),
        description: d.description.clone(),
        create_time: Some(to_timestamp(d.created_ms)),
        update_time: Some(to_timestamp(d.updated_ms)),
        etag: render_etag(d.version),
    }
}

pub fn person(p: &Person) -> pb::Person {
    pb::Person {
        id: p.id.clone(),
        display_name: p.display_name.clone(),
        email: p.email.clone(),
        phone: p.phone.clone(),
        title: p.title.clone(),
        department_id: p.department_id.clone(),
        roles: p.roles.to_values(),
        active: p.active,
        create_time: Some(to_timestamp(p.created_ms)),
        update_time: Some(to_timestamp(p.updated_ms)),
        etag: render_etag(p.version),
    }
}

pub fn duty(d: &Duty) -> pb::Duty {
    pb::Duty {
        id: d.id.clone(),
        department_id: d.department_id.clone(),
        text: d.text.clone(),
        create_time: Some(to_timestamp(d.created_ms)),
    }
}

/// A name: required, one line, at most [`NAME_MAX`] characters; trimmed.
fn name(v: &mut Violations, field: &str, value: &str) -> String {
    single_line(v, field, value, NAME_MAX)
}

impl TryFrom<&pb::CreateDepartmentRequest> for NewDepartment {
    type Error = Error;

    fn try_from(r: &pb::CreateDepartmentRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        check_request_id(&mut v, &r.request_id);
        let name = name(&mut v, "name", &r.name);
        let parent_id = opt_id(&mut v, "parent_id", &r.parent_id);
        check_opt_text(&mut v, "description", &r.description, DESCRIPTION_MAX);
        v.into_result()?;
        Ok(Self {
            name,
            parent_id,
            description: r.description.trim().to_string(),
        })
    }
}

impl TryFrom<&pb::UpdateDepartmentRequest> for DepartmentChange {
    type Error = Error;

    fn try_from(r: &pb::UpdateDepartmentRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        let fields = update_mask(&mut v, r.update_mask.as_ref(), &DepartmentField::known());
        let Some(d) = &r.department else {
            v.add("department", "is required");
            return Err(Error::Invalid(v));
        };
        check_id(&mut v, "department.id", &d.id);
        let expected_version = etag(&mut v, "department.etag", &d.etag);
        let mut new_name = String::new();
        for field in &fields {
            match field {
                DepartmentField::Name => new_name = name(&mut v, "department.name", &d.name),
                DepartmentField::Description => check_opt_text(
                    &mut v,
                    "department.description",
                    &d.description,
                    DESCRIPTION_MAX,
                ),
            }
        }
        v.into_result()?;
        Ok(Self {
            id: d.id.clone(),
            expected_version,
            fields,
            name: new_name,
            description: d.description.trim().to_string(),
        })
    }
}

/// The person fields shared by create and update; `prefix` is `""` or
/// `"person."`. Only `fields` are checked.
fn person_fields(
    v: &mut Violations,
    prefix: &str,
    p: &pb::Person,
    fields: &[PersonField],
) -> NewPerson {
    let mut new = NewPerson {
        display_name: String::new(),
        email: p.email.trim().to_string(),
        phone: p.phone.trim().to_string(),
        title: p.title.trim().to_string(),
        department_id: p.department_id.clone(),
        roles: Roles::default(),
    };
    for field in fields {
        match field {
            PersonField::DisplayName => {
                new.display_name = name(v, &format!("{prefix}display_name"), &p.display_name);
            }
            PersonField::Email => {
                if let Some(why) = email_problem(&new.email) {
                    v.add(format!("{prefix}email"), why);
                }
            }
            PersonField::Phone => {
                if let Some(why) = phone_problem(&new.phone) {
                    v.add(format!("{prefix}phone"), why);
                }
            }
            PersonField::Title => {
                check_opt_text(v, &format!("{prefix}title"), &new.title, TITLE_MAX)
            }
            PersonField::DepartmentId => {
                check_id(v, &format!("{prefix}department_id"), &p.department_id)
            }
            PersonField::Roles => match Roles::parse(&p.roles) {
                Ok(roles) => new.roles = roles,
                Err(bad) => {
                    for (i, why) in bad {
                        v.add(format!("{prefix}roles[{i}]"), why);
                    }
                }
            },
        }
    }
    new
}

impl TryFrom<&pb::CreatePersonRequest> for NewPerson {
    type Error = Error;

    fn try_from(r: &pb::CreatePersonRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        check_request_id(&mut v, &r.request_id);
        let as_person = pb::Person {
            display_name: r.display_name.clone(),
            email: r.email.clone(),
            phone: r.phone.clone(),
            title: r.title.clone(),
            department_id: r.department_id.clone(),
            roles: r.roles.clone(),
            ..Default::default()
        };
        let new = person_fields(&mut v, "", &as_person, &PersonField::ALL);
        v.into_result()?;
        Ok(new)
    }
}

impl TryFrom<&pb::UpdatePersonRequest> for PersonChange {
    type Error = Error;

    fn try_from(r: &pb::UpdatePersonRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        let fields = update_mask(&mut v, r.update_mask.as_ref(), &PersonField::known());
        let Some(p) = &r.person else {
            v.add("person", "is required");
            return Err(Error::Invalid(v));
        };
        check_id(&mut v, "person.id", &p.id);
        let expected_version = etag(&mut v, "person.etag", &p.etag);
        if fields.contains(&PersonField::Roles) && p.roles.is_empty() {
            v.add("person.roles", "must hold at least one role");
        }
        let new = person_fields(&mut v, "person.", p, &fields);
        v.into_result()?;
        Ok(Self {
            id: p.id.clone(),
            expected_version,
            fields,
            new,
        })
    }
}

impl TryFrom<&pb::AddDutyRequest> for NewDuty {
    type Error = Error;

    fn try_from(r: &pb::AddDutyRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        check_request_id(&mut v, &r.request_id);
        check_id(&mut v, "department_id", &r.department_id);
        let text = r.text.trim();
        check_text(&mut v, "text", text, DUTY_MAX);
        v.into_result()?;
        Ok(Self {
            department_id: r.department_id.clone(),
            text: text.to_string(),
        })
    }
}

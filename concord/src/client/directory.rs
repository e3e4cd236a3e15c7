//! `concord directory …`: departments, people, duties, search and "who
//! handles X?".

use clap::Subcommand;
use concord_proto::directory::v1::*;
use concord_proto::policy::v1::Role;

use super::args::{PageArgs, choice, request_id};
use super::connect::Conn;
use super::error::CliError;
use super::output::say;
use super::output::{Names, Table, cut, more, print_json, print_record, roles, time, yes};

choice! {
    /// A role to give a person.
    RoleArg => Role {
        Admin = Admin,
        DepartmentHead = DepartmentHead,
        Coordinator = Coordinator,
        Member = Member,
        Auditor = Auditor,
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// List departments: the roots, a department's children, or a subtree.
    Departments {
        /// Children of this department (roots when absent).
        #[arg(long, value_name = "ID")]
        parent: Option<String>,
        /// The whole subtree (every department when no --parent).
        #[arg(long)]
        subtree: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one department.
    Department { id: String },
    /// Create a department (admins).
    CreateDepartment {
        #[arg(long)]
        name: String,
        /// The parent department (a root when absent).
        #[arg(long, value_name = "ID")]
        parent: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// Reuse to make a retry create nothing twice.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// List people, of a department or of everybody.
    People {
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        /// With --department: its sub-departments too.
        #[arg(long)]
        sub: bool,
        /// Inactive people too.
        #[arg(long)]
        inactive: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one person.
    Person { id: String },
    /// Create a person (admins; heads within their department).
    CreatePerson {
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "ID")]
        department: String,
        #[arg(long, default_value = "")]
        title: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "")]
        phone: String,
        /// Repeatable; member when absent.
        #[arg(long = "role", value_enum)]
        roles: Vec<RoleArg>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// A department's written duties (every department's when absent).
    Duties {
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Add a duty to a department.
    AddDuty {
        #[arg(long, value_name = "ID")]
        department: String,
        #[arg(long)]
        text: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Find departments and people by name (any language, any part of it).
    Search { query: String },
    /// "Who handles X?": departments whose duties match a topic, best first.
    WhoHandles {
        topic: String,
        #[arg(long, default_value_t = 3)]
        max: i32,
    },
}

pub async fn run(command: Command, conn: &Conn) -> Result<(), CliError> {
    let mut dir = conn.directory();
    match command {
        Command::Departments {
            parent,
            subtree,
            page,
        } => {
            let r = dir
                .list_departments(ListDepartmentsRequest {
                    parent_id: parent.unwrap_or_default(),
                    subtree,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let names = Names::departments(conn).await;
            departments(&r.departments, &names).print();
            more(&r.next_page_token);
        }
        Command::Department { id } => {
            let d = dir
                .get_department(GetDepartmentRequest { id })
                .await?
                .into_inner();
            show_department(conn, &d)?;
        }
        Command::CreateDepartment {
            name,
            parent,
            description,
            request_id: rid,
        } => {
            let d = dir
                .create_department(CreateDepartmentRequest {
                    request_id: request_id(&rid),
                    name,
                    parent_id: parent.unwrap_or_default(),
                    description,
                })
                .await?
                .into_inner();
            show_department(conn, &d)?;
        }
        Command::People {
            department,
            sub,
            inactive,
            page,
        } => {
            let r = dir
                .list_people(ListPeopleRequest {
                    department_id: department.unwrap_or_default(),
                    include_sub_departments: sub,
                    include_inactive: inactive,
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let names = Names::departments(conn).await;
            people(&r.people, &names).print();
            more(&r.next_page_token);
        }
        Command::Person { id } => {
            let p = dir.get_person(GetPersonRequest { id }).await?.into_inner();
            show_person(conn, &p)?;
        }
        Command::CreatePerson {
            name,
            department,
            title,
            email,
            phone,
            roles,
            request_id: rid,
        } => {
            let p = dir
                .create_person(CreatePersonRequest {
                    request_id: request_id(&rid),
                    display_name: name,
                    email,
                    phone,
                    title,
                    department_id: department,
                    roles: roles.into_iter().map(RoleArg::raw).collect(),
                })
                .await?
                .into_inner();
            show_person(conn, &p)?;
        }
        Command::Duties { department, page } => {
            let r = dir
                .list_duties(ListDutiesRequest {
                    department_id: department.unwrap_or_default(),
                    page_size: page.size(),
                    page_token: page.token(),
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let names = Names::departments(conn).await;
            let mut t = Table::new(&["ID", "DEPARTMENT", "DUTY"]);
            for d in &r.duties {
                t.row(vec![
                    d.id.clone(),
                    names.of(&d.department_id),
                    cut(&d.text, 60),
                ]);
            }
            t.print();
            more(&r.next_page_token);
        }
        Command::AddDuty {
            department,
            text,
            request_id: rid,
        } => {
            let d = dir
                .add_duty(AddDutyRequest {
                    request_id: request_id(&rid),
                    department_id: department,
                    text,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&d);
            }
            print_record(vec![
                ("id", d.id),
                ("department", d.department_id),
                ("duty", d.text),
            ]);
        }
        Command::Search { query } => {
            let r = dir
                .search(SearchRequest {
                    query,
                    page_size: 0,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let names = Names::departments(conn).await;
            if !r.departments.is_empty() {
                say!("Departments");
                departments(&r.departments, &names).print();
            }
            if !r.people.is_empty() {
                say!("People");
                people(&r.people, &names).print();
            }
            if r.departments.is_empty() && r.people.is_empty() {
                say!("(nothing found)");
            }
        }
        Command::WhoHandles { topic, max } => {
            let r = dir
                .find_responsible(FindResponsibleRequest {
                    topic,
                    max_results: max,
                })
                .await?
                .into_inner();
            if conn.json() {
                return print_json(&r);
            }
            let mut t = Table::new(&["DEPARTMENT", "ID", "SCORE", "MATCHED DUTY"]);
            for m in &r.matches {
                let d = m.department.clone().unwrap_or_default();
                let duty = m
                    .matched_duties
                    .first()
                    .map(|d| cut(&d.text, 50))
                    .unwrap_or_default();
                t.row(vec![d.name, d.id, format!("{:.2}", m.score), duty]);
            }
            t.print();
        }
    }
    Ok(())
}

fn departments(list: &[Department], names: &Names) -> Table {
    let mut t = Table::new(&["ID", "NAME", "PARENT", "DESCRIPTION"]);
    for d in list {
        t.row(vec![
            d.id.clone(),
            d.name.clone(),
            names.of(&d.parent_id),
            cut(&d.description, 40),
        ]);
    }
    t
}

fn people(list: &[Person], names: &Names) -> Table {
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "TITLE",
        "DEPARTMENT",
        "ROLES",
        "EMAIL",
        "INACTIVE",
    ]);
    for p in list {
        t.row(vec![
            p.id.clone(),
            p.display_name.clone(),
            p.title.clone(),
            names.of(&p.department_id),
            roles(&p.roles),
            p.email.clone(),
            yes(!p.active),
        ]);
    }
    t
}

fn show_department(conn: &Conn, d: &Department) -> Result<(), CliError> {
    if conn.json() {
        return print_json(d);
    }
    print_record(vec![
        ("id", d.id.clone()),
        ("name", d.name.clone()),
        ("parent", d.parent_id.clone()),
        ("description", d.description.clone()),
        ("created", time(&conn.zone, d.create_time.as_ref())),
        ("etag", d.etag.clone()),
    ]);
    Ok(())
}

fn show_person(conn: &Conn, p: &Person) -> Result<(), CliError> {
    if conn.json() {
        return print_json(p);
    }
    print_record(vec![
        ("id", p.id.clone()),
        ("name", p.display_name.clone()),
        ("title", p.title.clone()),
        ("department", p.department_id.clone()),
        ("roles", roles(&p.roles)),
        ("email", p.email.clone()),
        ("phone", p.phone.clone()),
        ("active", p.active.to_string()),
        ("etag", p.etag.clone()),
    ]);
    Ok(())
}

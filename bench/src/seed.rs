//! Data the scenarios need. The organisation is made through the
//! directory's own API (departments, duties, people), so it is exactly what
//! the services read. Only the million stored receipts of the inbox
//! scenario are seeded straight into the notices schema with multi-row SQL:
//! publishing a hundred notices to ten thousand people through the API
//! would take the whole time budget, and what is measured there is reading
//! an inbox next to a million rows, not writing them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use concord_kit::auth::Issuer;
use concord_proto::directory::v1 as dir;
use concord_proto::directory::v1::directory_service_client::DirectoryServiceClient;
use concord_proto::policy::v1::Role;
use futures::StreamExt as _;

use crate::h2::H2;
use crate::load::{authed, bearer};

/// The departments, in the organisation's words. The first is the
/// emergency scenario's audience.
const DEPARTMENTS: &[(&str, &str)] = &[
    (
        "应急管理办公室 Emergency Office",
        "火灾 疏散 应急演练 fire evacuation drills",
    ),
    (
        "信息中心 IT Centre",
        "网络 故障 电脑 邮箱 network outage computers email",
    ),
    (
        "总务处 General Affairs",
        "食堂 宿舍 维修 canteen dormitory repairs",
    ),
    (
        "人事处 Human Resources",
        "招聘 培训 考勤 hiring training attendance",
    ),
    (
        "财务处 Finance Office",
        "报销 工资 预算 expenses salaries budget",
    ),
    (
        "保卫处 Security Office",
        "门禁 监控 停车 access control cameras parking",
    ),
    (
        "办公室 General Office",
        "公文 会议 印章 documents meetings seals",
    ),
    (
        "后勤保障部 Logistics",
        "水电 供暖 绿化 utilities heating grounds",
    ),
    (
        "宣传部 Communications",
        "网站 新闻 宣传栏 website news noticeboards",
    ),
    ("工会 Trade Union", "福利 活动 慰问 welfare events visits"),
];

/// A person as the scenarios use them.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub department_id: String,
    pub display_name: String,
}

/// The organisation made for a run.
#[derive(Debug)]
pub struct Org {
    pub departments: Vec<String>,
    pub people: Vec<Member>,
    pub issuer: Issuer,
    /// A token of an admin who is no person of the organisation.
    pub admin: String,
    pub seconds: f64,
}

impl Org {
    /// A member's token.
    pub fn token(&self, m: &Member) -> anyhow::Result<String> {
        self.issuer.issue(
            &m.id,
            &[Role::Member],
            Some(&m.department_id),
            Duration::from_secs(6 * 3600),
        )
    }

    /// The people of the first department (the emergency audience).
    pub fn first_department(&self) -> Vec<&Member> {
        self.people
            .iter()
            .filter(|m| m.department_id == self.departments[0])
            .collect()
    }
}

/// Makes `departments` departments with duties and `people` people spread
/// evenly over them, through the directory at `addr`.
pub async fn organisation(
    addr: std::net::SocketAddr,
    issuer: Issuer,
    departments: usize,
    people: usize,
) -> anyhow::Result<Org> {
    let started = Instant::now();
    let admin = issuer.issue(
        "bench-admin",
        &[Role::Admin],
        None,
        Duration::from_secs(6 * 3600),
    )?;
    let auth = bearer(&admin)?;
    let conns = H2::connect_many(addr, 4).await?;
    let mut client = DirectoryServiceClient::new(conns[0].clone());
    let mut ids = Vec::new();
    for (i, (name, duties)) in DEPARTMENTS.iter().cycle().take(departments).enumerate() {
        let d = client
            .create_department(authed(
                dir::CreateDepartmentRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    name: format!("{name} {i}"),
                    parent_id: String::new(),
                    description: String::new(),
                },
                &auth,
            ))
            .await
            .context("CreateDepartment")?
            .into_inner();
        client
            .add_duty(authed(
                dir::AddDutyRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    department_id: d.id.clone(),
                    text: duties.to_string(),
                },
                &auth,
            ))
            .await
            .context("AddDuty")?;
        ids.push(d.id);
    }
    let ids = Arc::new(ids);
    let made = futures::stream::iter(0..people)
        .map(|n| {
            let mut client = DirectoryServiceClient::new(conns[n % conns.len()].clone());
            let (auth, ids) = (auth.clone(), ids.clone());
            async move {
                let department_id = ids[n % ids.len()].clone();
                let p = client
                    .create_person(authed(
                        dir::CreatePersonRequest {
                            request_id: uuid::Uuid::now_v7().to_string(),
                            display_name: format!("职员{n} Staff {n}"),
                            email: format!("staff{n}@bench.example.org"),
                            phone: String::new(),
                            title: "科员 Clerk".into(),
                            department_id,
                            roles: vec![Role::Member as i32],
                        },
                        &auth,
                    ))
                    .await
                    .context("CreatePerson")?
                    .into_inner();
                Ok::<_, anyhow::Error>(Member {
                    id: p.id,
                    department_id: p.department_id,
                    display_name: p.display_name,
                })
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let people = made.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Org {
        departments: Arc::unwrap_or_clone(ids),
        people,
        issuer,
        admin,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What seeding the receipts did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seeded {
    pub notices: usize,
    pub receipts: i64,
    pub seconds: f64,
}

/// Stores `notices` published notices addressed to everybody, each with a
/// receipt for every person (70 % of them read), straight into the notices
/// schema of `database_url`. SEEDING, not a measurement: the rows match what
/// PublishNotice writes (the inbox event log, which ListInbox does not read,
/// is left out).
pub async fn receipts(database_url: &str, org: &Org, notices: usize) -> anyhow::Result<Seeded> {
    use sqlx::Executor as _;
    let started = Instant::now();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await
        .context("connecting to PostgreSQL to seed receipts")?;
    let ids: Vec<&str> = org.people.iter().map(|m| m.id.as_str()).collect();
    let depts: Vec<&str> = org
        .people
        .iter()
        .map(|m| m.department_id.as_str())
        .collect();
    let names: Vec<&str> = org.people.iter().map(|m| m.display_name.as_str()).collect();
    let audience =
        r#"{"everyone":true,"department_ids":[],"include_sub_departments":false,"person_ids":[]}"#;
    // A day apart, the newest yesterday: the published notices come later.
    let now_ms = chrono_ms();
    for k in 0..notices {
        let published = now_ms - (notices - k) as i64 * 86_400_000;
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO notices.notice (id, title, body, author_id, author_department_id, audience, \
             priority, ack_required, attachments, publish_ms, expire_ms, state, published_ms, recipient_count, \
             pushed, meeting_id, version, created_ms, updated_ms) \
             VALUES ($1, $2, $3, 'bench-admin', $4, $5, 1, 0, '[]', NULL, NULL, 3, $6, $7, 1, '', 1, $6, $6)",
        )
        .bind(&id)
        .bind(format!("第{k}期工作简报 Bulletin {k}"))
        .bind("本周工作安排见附件。This week's schedule is attached.")
        .bind(&org.departments[0])
        .bind(audience)
        .bind(published)
        .bind(ids.len() as i64)
        .execute(&mut *tx)
        .await
        .context("seeding a notice")?;
        sqlx::query(
            "INSERT INTO notices.receipt (notice_id, person_id, department_id, display_name, delivered_ms, \
             ack_required, read_ms, ack_ms, reminders, last_reminder_id) \
             SELECT $1, p.id, p.dept, p.name, $2, 0, \
                    CASE WHEN random() < 0.7 THEN $2 + 3600000 ELSE NULL END, NULL, 0, '' \
             FROM unnest($3::text[], $4::text[], $5::text[]) AS p(id, dept, name)",
        )
        .bind(&id)
        .bind(published)
        .bind(&ids)
        .bind(&depts)
        .bind(&names)
        .execute(&mut *tx)
        .await
        .context("seeding receipts")?;
        tx.commit().await?;
    }
    pool.execute("ANALYZE notices.receipt").await?;
    pool.execute("ANALYZE notices.notice").await?;
    let receipts: i64 = sqlx::query_scalar("SELECT count(*) FROM notices.receipt")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(Seeded {
        notices,
        receipts,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Milliseconds since the epoch.
pub fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The median time of `times` ResolveAudience calls straight to the
/// directory at `addr`, µs, and the members it answered: the share of a
/// fan-out spent learning who is in the audience.
pub async fn resolve_audience(
    addr: std::net::SocketAddr,
    org: &Org,
    request: dir::ResolveAudienceRequest,
    times: usize,
) -> anyhow::Result<(f64, usize)> {
    let auth = bearer(&org.admin)?;
    let mut client =
        DirectoryServiceClient::new(H2::connect(addr).await?).max_decoding_message_size(64 << 20);
    let mut took = Vec::new();
    let mut members = 0;
    for _ in 0..times.max(1) {
        let t = Instant::now();
        members = client
            .resolve_audience(authed(request.clone(), &auth))
            .await
            .context("ResolveAudience")?
            .into_inner()
            .members
            .len();
        took.push(t.elapsed().as_secs_f64() * 1e6);
    }
    took.sort_by(f64::total_cmp);
    Ok((took[took.len() / 2], members))
}

//! Scenario 3: notices. With the inboxes already holding the seeded
//! receipts, an admin publishes urgent notices to everybody (urgent: pushed
//! at once whatever the hour, so the result does not depend on the time of
//! day) and each PublishNotice is timed; then people read their inboxes
//! (ListInbox, newest 20, with the unread count) and their unread count
//! alone (ListInbox unread only, one item) at a fixed concurrency. All
//! through the gateway of `concord serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use concord_proto::notices::v1 as nt;
use concord_proto::notices::v1::notice_service_client::NoticeServiceClient;
use serde::Serialize;

use crate::h2::H2;
use crate::load::{self, Caller, Shape, authed, bearer};
use crate::seed::{Org, Seeded};

type Bearer = tonic::metadata::MetadataValue<tonic::metadata::Ascii>;

#[derive(Debug, Clone, Serialize)]
pub struct NoticesResult {
    pub seeded: Seeded,
    pub recipients: i64,
    /// Each PublishNotice, µs.
    pub publish_us: Vec<f64>,
    pub publish_max_us: f64,
    pub receipts_stored: i64,
    /// ResolveAudience of everybody straight to the directory (median of
    /// 3), µs: part of every publish.
    pub resolve_audience_us: f64,
    /// One caller: the latency of an inbox read itself.
    pub inbox_single: InboxResult,
    pub unread_single: InboxResult,
    /// Several callers at once: CPU-bound on 2 cores.
    pub inbox: InboxResult,
    pub unread: InboxResult,
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxResult {
    pub concurrency: usize,
    pub per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub calls: u64,
}

/// ListInbox as a rotating set of people.
struct Inbox {
    client: NoticeServiceClient<H2>,
    bearers: Arc<Vec<Bearer>>,
    next: usize,
    unread_only: bool,
}

impl Caller for Inbox {
    fn call(&mut self) -> impl Future<Output = Result<(), tonic::Status>> + Send {
        let b = &self.bearers[self.next % self.bearers.len()];
        self.next = self.next.wrapping_add(1);
        let req = authed(
            nt::ListInboxRequest {
                unread_only: self.unread_only,
                include_expired: false,
                page_size: if self.unread_only { 1 } else { 20 },
                page_token: String::new(),
            },
            b,
        );
        async move { self.client.list_inbox(req).await.map(|_| ()) }
    }
}

async fn inbox(
    gateway: SocketAddr,
    bearers: &Arc<Vec<Bearer>>,
    shape: Shape,
    unread_only: bool,
) -> anyhow::Result<InboxResult> {
    let bearers = bearers.clone();
    let o = tokio::task::spawn_blocking(move || {
        load::run(gateway, shape, move |conn, i| Inbox {
            client: NoticeServiceClient::new(conn),
            bearers: bearers.clone(),
            next: i * 97,
            unread_only,
        })
    })
    .await??;
    o.check(if unread_only {
        "unread count"
    } else {
        "ListInbox"
    })?;
    Ok(InboxResult {
        concurrency: shape.concurrency,
        per_second: o.per_second(),
        p50_us: o.p(0.5),
        p99_us: o.p(0.99),
        max_us: o.latency.max() as f64,
        calls: o.calls,
    })
}

/// Publishes `publishes` notices to everybody, then measures the inboxes.
pub async fn run(
    gateway: SocketAddr,
    directory: SocketAddr,
    database_url: &str,
    org: &Org,
    seeded: Seeded,
    publishes: usize,
    shape: Shape,
) -> anyhow::Result<NoticesResult> {
    let admin = bearer(&org.admin)?;
    let mut client = NoticeServiceClient::new(H2::connect(gateway).await?);
    let mut publish_us = Vec::new();
    let mut recipients = 0;
    for k in 0..publishes {
        let draft = client
            .create_notice(authed(
                nt::CreateNoticeRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    title: format!("紧急通知 {k}：明日停电 Power cut tomorrow"),
                    body: "明天 9:00–12:00 全校停电，请提前保存工作。\n\nPower is off tomorrow 9:00–12:00; save your work."
                        .into(),
                    audience: Some(nt::Audience {
                        everyone: true,
                        ..Default::default()
                    }),
                    priority: nt::Priority::Urgent as i32,
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .context("CreateNotice")?
            .into_inner();
        let t = Instant::now();
        let published = client
            .publish_notice(authed(
                nt::PublishNoticeRequest {
                    id: draft.id.clone(),
                    etag: String::new(),
                },
                &admin,
            ))
            .await
            .context("PublishNotice")?
            .into_inner();
        publish_us.push(t.elapsed().as_secs_f64() * 1e6);
        recipients = published.recipient_count;
        anyhow::ensure!(
            recipients == org.people.len() as i64,
            "the notice reached {recipients} people, not {}",
            org.people.len()
        );
        // Let the database settle between publishes.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let receipts_stored = {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(database_url)
            .await?;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM notices.receipt")
            .fetch_one(&pool)
            .await?;
        pool.close().await;
        n
    };
    // Readers: up to 500 people's tokens, spread over the organisation.
    let step = (org.people.len() / 500).max(1);
    let bearers: Vec<Bearer> = org
        .people
        .iter()
        .step_by(step)
        .map(|m| bearer(&org.token(m)?))
        .collect::<anyhow::Result<_>>()?;
    let bearers = Arc::new(bearers);
    // Warm the readers' token caches and the connections.
    inbox(
        gateway,
        &bearers,
        Shape {
            window: Duration::from_millis(300),
            ..shape
        },
        false,
    )
    .await?;
    let single = Shape {
        connections: 1,
        concurrency: 1,
        ..shape
    };
    let inbox_single = inbox(gateway, &bearers, single, false).await?;
    let unread_single = inbox(gateway, &bearers, single, true).await?;
    let list = inbox(gateway, &bearers, shape, false).await?;
    let unread = inbox(gateway, &bearers, shape, true).await?;
    let (resolve_audience_us, _) = crate::seed::resolve_audience(
        directory,
        org,
        concord_proto::directory::v1::ResolveAudienceRequest {
            everyone: true,
            ..Default::default()
        },
        3,
    )
    .await?;
    Ok(NoticesResult {
        seeded,
        recipients,
        publish_max_us: publish_us.iter().copied().fold(0.0, f64::max),
        publish_us,
        receipts_stored,
        resolve_audience_us,
        inbox_single,
        unread_single,
        inbox: list,
        unread,
    })
}

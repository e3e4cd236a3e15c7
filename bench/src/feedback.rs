//! Scenario 4: feedback submissions per second through the gateway of
//! `concord serve` on PostgreSQL, by many people at a fixed concurrency:
//! once addressed to a department, once routed by the directory's duties
//! (FindResponsible on every submission).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use concord_proto::feedback::v1 as fb;
use concord_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use serde::Serialize;

use crate::h2::H2;
use crate::load::{self, Caller, Shape, authed, bearer};
use crate::seed::Org;

type Bearer = tonic::metadata::MetadataValue<tonic::metadata::Ascii>;

const TOPICS: &[(&str, &str)] = &[
    (
        "三楼网络故障 Network down on the third floor",
        "办公室的网络从早上开始断断续续。The network has been dropping since this morning.",
    ),
    (
        "食堂排队太久 Long queues in the canteen",
        "午饭时间排队超过二十分钟。Lunch queues take over twenty minutes.",
    ),
    (
        "宿舍热水器维修 Dormitory water heater",
        "二号宿舍楼的热水器坏了。The water heater in dormitory 2 is broken.",
    ),
    (
        "停车位不足 Not enough parking",
        "东门停车场经常满。The east gate car park is always full.",
    ),
];

#[derive(Debug, Clone, Serialize)]
pub struct SubmitResult {
    pub routing: &'static str,
    pub concurrency: usize,
    pub per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub calls: u64,
}

struct Submit {
    client: FeedbackServiceClient<H2>,
    people: Arc<Vec<(Bearer, String)>>,
    next: usize,
    routed: bool,
}

impl Caller for Submit {
    fn call(&mut self) -> impl Future<Output = Result<(), tonic::Status>> + Send {
        let (b, dept) = &self.people[self.next % self.people.len()];
        let (subject, body) = TOPICS[self.next % TOPICS.len()];
        self.next = self.next.wrapping_add(1);
        let req = authed(
            fb::SubmitFeedbackRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                channel: fb::Channel::WebForm as i32,
                category: fb::Category::Problem as i32,
                priority: fb::Priority::Normal as i32,
                subject: subject.into(),
                body: body.into(),
                location: "二号楼 Building 2".into(),
                links: vec![],
                anonymous: false,
                department_id: if self.routed {
                    String::new()
                } else {
                    dept.clone()
                },
            },
            b,
        );
        async move { self.client.submit_feedback(req).await.map(|_| ()) }
    }
}

/// Submissions for `shape.window`, addressed and then routed by duties.
pub async fn run(
    gateway: SocketAddr,
    org: &Org,
    shape: Shape,
) -> anyhow::Result<Vec<SubmitResult>> {
    let step = (org.people.len() / 200).max(1);
    let people: Vec<(Bearer, String)> = org
        .people
        .iter()
        .step_by(step)
        .map(|m| Ok((bearer(&org.token(m)?)?, m.department_id.clone())))
        .collect::<anyhow::Result<_>>()?;
    let people = Arc::new(people);
    let mut out = Vec::new();
    for (routing, routed) in [("department given", false), ("routed by duties", true)] {
        let run = |shape: Shape| {
            let people = people.clone();
            tokio::task::spawn_blocking(move || {
                load::run(gateway, shape, move |conn, i| Submit {
                    client: FeedbackServiceClient::new(conn),
                    people: people.clone(),
                    next: i * 13,
                    routed,
                })
            })
        };
        run(Shape {
            window: Duration::from_millis(300),
            ..shape
        })
        .await??
        .check("SubmitFeedback warm-up")?;
        let o = run(shape).await??;
        o.check(&format!("SubmitFeedback {routing}"))?;
        out.push(SubmitResult {
            routing,
            concurrency: shape.concurrency,
            per_second: o.per_second(),
            p50_us: o.p(0.5),
            p99_us: o.p(0.99),
            calls: o.calls,
        });
    }
    Ok(out)
}

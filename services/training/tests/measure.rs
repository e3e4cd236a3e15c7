//! Enrolment when everybody wants the same training at once (every
//! enrolment of a plan waits on the plan row's lock): exactly the seats are
//! taken and everybody else is on the waiting list in one unbroken order;
//! the timings are printed (`cargo test -p concord-training --test measure
//! -- --nocapture`, with `CONCORD_TEST_DATABASE_URL` for PostgreSQL too).
//! About a second per backend, so CI runs it.

mod common;

use std::time::Instant;

use common::*;
use concord_kit::testing::Backend;
use concord_proto::policy::v1::Role;
use concord_proto::training::v1::*;

const PEOPLE: usize = 200;
const SEATS: i32 = 50;

async fn measure(backend: Backend, label: &str) {
    let s = Suite::start(backend).await;
    let o = s.org.clone();
    let mut crowd = Vec::with_capacity(PEOPLE);
    for i in 0..PEOPLE {
        crowd.push(
            s.person(&format!("学员{i:03}"), &o.safety, &[Role::Member])
                .await,
        );
    }
    let mut req = plan_req(&o.safety, "热门培训", &[&o.safety]);
    req.capacity = SEATS;
    let plan = s.open(&o.safety_head, req).await;

    // One at a time: the latency of an enrolment.
    let solo = s
        .open(
            &o.safety_head,
            plan_req(&o.safety, "逐个报名", &[&o.safety]),
        )
        .await;
    let started = Instant::now();
    for who in &crowd[..50] {
        s.enrol(who, &solo.id).await;
    }
    let sequential = started.elapsed() / 50;

    // Everybody at once for the same plan.
    let started = Instant::now();
    let calls = crowd.iter().map(|who| {
        let mut client = s.t();
        let req = by(
            who,
            EnrolInTrainingRequest {
                plan_id: plan.id.clone(),
                ..Default::default()
            },
        );
        tokio::spawn(async move {
            let t = Instant::now();
            client
                .enrol_in_training(req)
                .await
                .map(|r| (r.into_inner(), t.elapsed()))
        })
    });
    let mut results = Vec::with_capacity(PEOPLE);
    for r in futures::future::join_all(calls).await {
        results.push(r.expect("task").expect("enrol"));
    }
    let wall = started.elapsed();
    let seated = results
        .iter()
        .filter(|(e, _)| e.status == EnrolmentStatus::Enrolled as i32)
        .count();
    assert_eq!(seated, SEATS as usize);
    let mut waiting: Vec<i32> = results
        .iter()
        .map(|(e, _)| e.waitlist_position)
        .filter(|p| *p > 0)
        .collect();
    waiting.sort();
    assert_eq!(waiting, (1..=(PEOPLE as i32 - SEATS)).collect::<Vec<_>>());
    let mut latencies: Vec<_> = results.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).max(1) - 1];
    println!(
        "{label}: sequential enrolment {sequential:?} each; {PEOPLE} at once for {SEATS} seats in {wall:?} \
         ({:.0}/s), latency p50 {:?} p95 {:?} max {:?}; seats taken {seated}",
        PEOPLE as f64 / wall.as_secs_f64(),
        p(0.5),
        p(0.95),
        p(1.0),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_under_contention() {
    measure(Backend::Sqlite, "SQLite").await;
    if let Some(pg) = Backend::postgres() {
        measure(pg, "PostgreSQL").await;
    }
}

//! Two emergency instances sharing PostgreSQL and Redis, watchers on each:
//! every alert reaches every addressed watcher exactly once, and every
//! escalation fires once although both instances run the due worker.

use std::collections::HashMap;

use concord_kit::bus::RedisBus;
use concord_kit::testing::{Backend, redis_url};
use concord_proto::emergency::v1::*;
use futures::StreamExt;

use crate::harness::{Suite, Watcher, assert_once, client_at, kind, settle, unique_prefix};

const INCIDENTS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_deliver_every_alert_exactly_once() {
    let (Some(backend @ Backend::Postgres(_)), Some(redis)) = (Backend::postgres(), redis_url())
    else {
        eprintln!(
            "skipped: set CONCORD_TEST_DATABASE_URL and CONCORD_TEST_REDIS_URL to run two replicas"
        );
        return;
    };
    let prefix = unique_prefix();
    let s = Suite::start_with_bus(backend, RedisBus::connect(&redis, &prefix).await.unwrap()).await;
    let b = s
        .start_instance(RedisBus::connect(&redis, &prefix).await.unwrap())
        .await;
    let (a_url, b_url) = (s.url(), b.url());
    let o = s.org.clone();
    let plan = s.create_plan().await;

    let on = |url: &str, p: &crate::harness::Person| client_at(url, &p.token);
    let watchers = vec![
        ("张三@A", Watcher::start(on(&a_url, &o.zhang), 0).await),
        ("Alice@B", Watcher::start(on(&b_url, &o.alice), 0).await),
        ("Bob@A", Watcher::start(on(&a_url, &o.bob), 0).await),
        (
            "赵处长@B",
            Watcher::start(on(&b_url, &o.security_head), 0).await,
        ),
        ("李工@A", Watcher::start(on(&a_url, &o.it_head), 0).await),
        ("李工@B", Watcher::start(on(&b_url, &o.it_head), 0).await),
    ];
    let outsider = Watcher::start(on(&b_url, &o.qian), 0).await;

    // Declarations through both instances at once.
    let started = std::time::Instant::now();
    let declared: Vec<String> = futures::stream::iter(0..INCIDENTS)
        .map(|i| {
            let url = if i % 2 == 0 {
                a_url.clone()
            } else {
                b_url.clone()
            };
            let c = on(&url, &o.office_head);
            let plan_id = plan.id.clone();
            async move {
                let req = DeclareIncidentRequest {
                    plan_id,
                    drill: i % 3 == 0,
                    ..Default::default()
                };
                c.clone()
                    .declare_incident(req)
                    .await
                    .expect("declare")
                    .into_inner()
                    .id
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for (who, w) in &watchers {
        let got = w.wait_count(INCIDENTS, 30).await;
        assert_once(&got, who);
        let mut incidents: Vec<String> = got
            .iter()
            .map(|e| e.alert.as_ref().unwrap().incident_id.clone())
            .collect();
        incidents.sort();
        let mut expected = declared.clone();
        expected.sort();
        assert_eq!(incidents, expected, "{who} has every alert");
        assert_eq!(
            got.last().unwrap().sequence,
            INCIDENTS as i64,
            "{who}: gap-free"
        );
    }

    eprintln!(
        "two replicas: {INCIDENTS} declarations reached 6 watchers in {:?}",
        started.elapsed()
    );

    // Nobody acknowledges: both workers race for the same due rows, and
    // each department's head hears once per incident.
    s.advance(61);
    for (who, w) in &watchers {
        let escalations =
            if who.starts_with("张三") || who.starts_with("Alice") || who.starts_with("Bob") {
                0
            } else {
                INCIDENTS
            };
        let got = w.wait_count(INCIDENTS + escalations, 30).await;
        settle().await;
        let got_now = w.snapshot();
        assert_eq!(
            got_now.len(),
            got.len(),
            "{who}: nothing more than expected"
        );
        assert_once(&got_now, who);
        let mut per_incident: HashMap<String, usize> = HashMap::new();
        for e in got_now.iter().filter(|e| kind(e) == AlertKind::Escalation) {
            *per_incident
                .entry(e.alert.as_ref().unwrap().incident_id.clone())
                .or_default() += 1;
        }
        assert_eq!(per_incident.len(), escalations, "{who}");
        assert!(
            per_incident.values().all(|n| *n == 1),
            "{who}: an escalation fired twice"
        );
    }
    assert!(outsider.snapshot().is_empty());
    b.stop().await;
}

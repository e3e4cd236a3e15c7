//! A real Redis outage in the middle of a burst of 500 alerts: the test runs
//! its own redis-server, kills it after 150 declarations and starts it again
//! after 350. Every watcher, on either of two instances, ends with every
//! alert exactly once.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concord_kit::bus::RedisBus;
use concord_kit::testing::Backend;
use concord_proto::emergency::v1::*;
use futures::StreamExt;

use crate::harness::{Suite, Watcher, assert_once, client_at, unique_prefix};

const BURST: usize = 500;
const KILL_AT: usize = 150;
const RESTART_AT: usize = 350;

/// A redis-server of this test's own on a free port.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self { port, child: None };
        r.spawn().await;
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is on the PATH");
        self.child = Some(child);
        for _ in 0..200 {
            if self.answers().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server on port {} did not come up", self.port);
    }

    async fn answers(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(Ok(mut conn)) = tokio::time::timeout(
            Duration::from_millis(500),
            client.get_multiplexed_async_connection(),
        )
        .await
        else {
            return false;
        };
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn a_redis_outage_during_a_burst_loses_no_alert(backend: Backend) {
    let mut redis = PrivateRedis::start().await;
    let prefix = unique_prefix();
    let s = Suite::start_with_bus(
        backend,
        RedisBus::connect(&redis.url(), &prefix).await.unwrap(),
    )
    .await;
    let b = s
        .start_instance(RedisBus::connect(&redis.url(), &prefix).await.unwrap())
        .await;
    let (a_url, b_url) = (s.url(), b.url());
    let o = s.org.clone();
    let plan = s.create_plan().await;
    let on = |url: &str, p: &crate::harness::Person| client_at(url, &p.token);
    let watchers = vec![
        ("张三@A", Watcher::start(on(&a_url, &o.zhang), 0).await),
        ("Alice@B", Watcher::start(on(&b_url, &o.alice), 0).await),
        ("Bob@B", Watcher::start(on(&b_url, &o.bob), 0).await),
        (
            "赵处长@A",
            Watcher::start(on(&a_url, &o.security_head), 0).await,
        ),
    ];

    let started = std::time::Instant::now();
    let progress = Arc::new(AtomicUsize::new(0));
    let burst = {
        let progress = progress.clone();
        let (a_url, b_url, head, plan_id) = (
            a_url.clone(),
            b_url.clone(),
            o.office_head.clone(),
            plan.id.clone(),
        );
        tokio::spawn(async move {
            futures::stream::iter(0..BURST)
                .map(|i| {
                    let c = client_at(if i % 2 == 0 { &a_url } else { &b_url }, &head.token);
                    let (plan_id, progress) = (plan_id.clone(), progress.clone());
                    async move {
                        let req = DeclareIncidentRequest {
                            plan_id,
                            drill: true,
                            ..Default::default()
                        };
                        let id = c
                            .clone()
                            .declare_incident(req)
                            .await
                            .expect("declaring needs no Redis")
                            .into_inner()
                            .id;
                        progress.fetch_add(1, Ordering::SeqCst);
                        id
                    }
                })
                .buffer_unordered(8)
                .collect::<Vec<String>>()
                .await
        })
    };
    let wait_for = async |n: usize| {
        while progress.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    wait_for(KILL_AT).await;
    redis.kill();
    let down = std::time::Instant::now();
    assert!(!redis.answers().await, "Redis is really down");
    let killed_at = progress.load(Ordering::SeqCst);
    wait_for(RESTART_AT).await;
    let restarted_at = progress.load(Ordering::SeqCst);
    redis.spawn().await;
    let up = std::time::Instant::now();
    let mut declared = burst.await.unwrap();
    let burst_done = std::time::Instant::now();
    assert!(
        killed_at < restarted_at,
        "declarations went on while Redis was down ({killed_at}..{restarted_at})"
    );
    declared.sort();

    for (_, w) in &watchers {
        w.wait_count(BURST, 60).await;
    }
    let complete = std::time::Instant::now();
    // Time for a late duplicate to show up, were there one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (who, w) in &watchers {
        let got_now = w.snapshot();
        assert_eq!(got_now.len(), BURST, "{who}: more alerts than declared");
        assert_once(&got_now, who);
        assert_eq!(
            got_now.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            (1..=BURST as i64).collect::<Vec<_>>(),
            "{who}"
        );
        let mut incidents: Vec<String> = got_now
            .iter()
            .map(|e| e.alert.as_ref().unwrap().incident_id.clone())
            .collect();
        incidents.sort();
        assert_eq!(incidents, declared, "{who} has every alert");
        assert!(got_now.iter().all(|e| e.alert.as_ref().unwrap().drill));
    }
    eprintln!(
        "redis outage: {BURST} declarations in {:?} ({:.0}/s); Redis down {:?} during declarations {killed_at}..{restarted_at}; \
         every watcher complete {:?} after the burst, {:?} after Redis came back",
        burst_done - started,
        BURST as f64 / (burst_done - started).as_secs_f64(),
        up - down,
        complete - burst_done,
        complete - up,
    );
    b.stop().await;
}

concord_kit::backend_tests!(a_redis_outage_during_a_burst_loses_no_alert);

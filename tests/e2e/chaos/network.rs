//! The network between the gateway and a service breaks: a proxy in
//! between delays, partitions (lets nothing through), cuts connections
//! mid-call and refuses new ones. The gateway runs alone, as in a
//! deployment, with `CONCORD_UPSTREAMS__<TARGET>` pointing at the proxy.
//! Every call ends within its deadline (DEADLINE_EXCEEDED) or soon with
//! UNAVAILABLE; none hangs; service resumes when the network heals.

use std::time::{Duration, Instant};

use concord::suite::{Bind, GATEWAY, RunningSuite};
use concord_e2e::faults::{Fault, Proxy};
use concord_e2e::raw::bare_unary;
use concord_e2e::report::Tally;
use concord_kit::testing::{Backend, token};
use concord_proto::directory::v1 as dir;
use concord_proto::policy::v1::Role;
use concord_proto::training::v1 as tr;
use prost::Message;
use std::net::SocketAddr;
use tonic::Code;

/// `CONCORD_REQUEST_TIMEOUT_SECS` of the gateway: the longest a unary call
/// without a deadline of its own may take.
const REQUEST_TIMEOUT_SECS: u64 = 2;

const SERVICES: &[&str] = &[
    "directory",
    "notices",
    "emergency",
    "feedback",
    "decisions",
    "training",
    "appraisal",
];

/// A read (retried by the gateway when safe) or a write.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Call {
    Read,
    Write,
}

/// Calls the directory through the gateway over a bare HTTP/2 connection,
/// so that only the gateway keeps the deadline; gives up after `give_up`.
async fn call(
    gateway: SocketAddr,
    what: Call,
    deadline: Option<Duration>,
    give_up: Duration,
    n: usize,
) -> Result<(Code, String), &'static str> {
    let admin = token("network-admin", &[Role::Admin], None);
    let (path, body) = match what {
        Call::Read => (
            "/concord.directory.v1.DirectoryService/ListDepartments",
            dir::ListDepartmentsRequest::default().encode_to_vec(),
        ),
        Call::Write => (
            "/concord.directory.v1.DirectoryService/CreateDepartment",
            dir::CreateDepartmentRequest {
                request_id: format!("network-{n}"),
                name: format!("网络故障科 {n}"),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
    };
    bare_unary(gateway, path, Some(&admin), body.into(), deadline, give_up).await
}

/// One row of the scenario: under `fault`, a call with `deadline` ends in
/// one of `expect` within `within`.
struct Step {
    name: &'static str,
    fault: Fault,
    cut_after: Option<Duration>,
    deadline: Option<Duration>,
    expect: &'static [Code],
    within: Duration,
}

const STEPS: &[Step] = &[
    Step {
        name: "healthy network",
        fault: Fault::Pass,
        cut_after: None,
        deadline: Some(Duration::from_secs(5)),
        expect: &[Code::Ok],
        within: Duration::from_secs(2),
    },
    Step {
        name: "300 ms per packet, 3 s deadline",
        fault: Fault::Delay(Duration::from_millis(300)),
        cut_after: None,
        deadline: Some(Duration::from_secs(3)),
        expect: &[Code::Ok],
        within: Duration::from_secs(3),
    },
    Step {
        name: "300 ms per packet, 200 ms deadline",
        fault: Fault::Delay(Duration::from_millis(300)),
        cut_after: None,
        deadline: Some(Duration::from_millis(200)),
        expect: &[Code::DeadlineExceeded],
        within: Duration::from_millis(1_000),
    },
    Step {
        name: "partition, 1 s deadline",
        fault: Fault::Blackhole,
        cut_after: None,
        deadline: Some(Duration::from_secs(1)),
        expect: &[Code::DeadlineExceeded],
        within: Duration::from_millis(1_800),
    },
    Step {
        // A safe read may be retried by the gateway on a new connection
        // (slow: 2 s per packet) and succeed; a write must not be.
        name: "connection cut mid-call",
        fault: Fault::Delay(Duration::from_secs(2)),
        cut_after: Some(Duration::from_millis(300)),
        deadline: Some(Duration::from_secs(10)),
        expect: &[Code::Unavailable, Code::Ok],
        within: Duration::from_secs(10),
    },
    Step {
        name: "connections refused",
        fault: Fault::Refuse,
        cut_after: Some(Duration::ZERO),
        deadline: Some(Duration::from_secs(10)),
        expect: &[Code::Unavailable],
        within: Duration::from_secs(3),
    },
];

/// Starts every service here, and a gateway alone whose directory and
/// training upstreams are the proxies in front of them.
async fn topology(
    backend: &Backend,
) -> (RunningSuite, RunningSuite, Proxy, Proxy, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("temp dir");
    let settings = concord_e2e::settings(backend, data.path()).await;
    let wanted: Vec<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    let services = concord::suite::start(&settings, &wanted, Bind::Ephemeral, None)
        .await
        .expect("services start");
    let directory = Proxy::start(services.addrs["directory"]).await;
    let training = Proxy::start(services.addrs["training"]).await;
    let mut gateway_settings = settings.clone();
    for (target, addr) in &services.addrs {
        gateway_settings
            .upstreams
            .insert(target.to_string(), format!("http://{addr}"));
    }
    gateway_settings
        .upstreams
        .insert("directory".into(), directory.url());
    gateway_settings
        .upstreams
        .insert("training".into(), training.url());
    // What a call without a deadline of its own may take.
    gateway_settings.request_timeout_secs = REQUEST_TIMEOUT_SECS;
    let gateway =
        concord::suite::start(&gateway_settings, &[GATEWAY.into()], Bind::Ephemeral, None)
            .await
            .expect("gateway starts");
    let url = format!("http://{}", gateway.addrs[GATEWAY]);
    for name in [
        "concord.directory.v1.DirectoryService",
        "concord.training.v1.TrainingService",
    ] {
        concord_kit::testing::wait_serving(&url, name).await;
    }
    (services, gateway, directory, training, data)
}

pub async fn network_faults_between_gateway_and_service_end_calls_in_time(backend: Backend) {
    concord_kit::testing::init_log();
    let (services, gateway, directory, training, _data) = topology(&backend).await;
    let addr = gateway.addrs[GATEWAY];

    // A call without any deadline into a partition: the gateway's request
    // timeout bounds it (the upstream connection's keepalive would notice
    // the dead peer only after a minute). Runs beside the steps below.
    training.set(Fault::Blackhole);
    let undeadlined = tokio::spawn(async move {
        let began = Instant::now();
        let member = token("network-member", &[Role::Member], None);
        let outcome = bare_unary(
            addr,
            "/concord.training.v1.TrainingService/ListTrainingPlans",
            Some(&member),
            tr::ListTrainingPlansRequest::default()
                .encode_to_vec()
                .into(),
            None,
            Duration::from_secs(REQUEST_TIMEOUT_SECS + 6),
        )
        .await;
        (outcome, began.elapsed())
    });

    let mut tally = Tally::new("network faults between gateway and a service", &backend);
    let mut wrong = Vec::new();
    let mut n = 0;
    for step in STEPS {
        directory.set(step.fault);
        tally.faults += u64::from(step.fault != Fault::Pass);
        for what in [Call::Read, Call::Write] {
            n += 1;
            let began = Instant::now();
            let give_up = step.within + Duration::from_secs(2);
            let pending = tokio::spawn(call(addr, what, step.deadline, give_up, n));
            if let Some(after) = step.cut_after {
                tokio::time::sleep(after).await;
                directory.cut_all();
                tally.faults += 1;
            }
            let outcome = pending.await.expect("call task");
            let elapsed = began.elapsed();
            tally.calls += 1;
            match outcome {
                Ok((code, _)) if step.expect.contains(&code) && elapsed <= step.within => {}
                Ok((code, message)) => wrong.push(format!(
                    "{} ({what:?}): {code:?} {message} after {elapsed:?}, expected {:?} within {:?}",
                    step.name, step.expect, step.within
                )),
                Err(why) => wrong.push(format!("{} ({what:?}): {why} after {elapsed:?}", step.name)),
            }
        }
    }

    // The network heals: calls succeed again within seconds.
    directory.set(Fault::Pass);
    let healed = Instant::now();
    loop {
        n += 1;
        tally.calls += 1;
        let outcome = call(
            addr,
            Call::Read,
            Some(Duration::from_secs(2)),
            Duration::from_secs(4),
            n,
        )
        .await;
        if matches!(outcome, Ok((Code::Ok, _))) {
            break;
        }
        if healed.elapsed() > Duration::from_secs(10) {
            wrong.push(format!("still {outcome:?} 10 s after the network healed"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovery = healed.elapsed();

    let (outcome, took) = undeadlined.await.expect("task");
    tally.calls += 1;
    tally.faults += 1;
    let bounded = Duration::from_secs(REQUEST_TIMEOUT_SECS + 2);
    if !matches!(outcome, Ok((Code::Unavailable | Code::DeadlineExceeded, _))) || took > bounded {
        wrong.push(format!(
            "a call without a deadline into a partition: {outcome:?} after {took:?}, expected DEADLINE_EXCEEDED or UNAVAILABLE within {bounded:?} (the gateway's request timeout)"
        ));
    }
    training.set(Fault::Pass);
    tally.failed = wrong.len() as u64;
    tally.note = format!(
        "recovered {recovery:?} after healing; a call without a deadline into a partition: {outcome:?} after {took:?}"
    );
    tally.report();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    gateway.shutdown.cancel();
    services.shutdown.cancel();
    gateway.wait().await.expect("gateway stops");
    services.wait().await.expect("services stop");
}

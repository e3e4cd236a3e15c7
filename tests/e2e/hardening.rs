//! Input hardening through the gateway: every request message of every RPC
//! with hostile field values (property-based, time-bounded), SQL and LIKE
//! metacharacters in every text filter, page sizes and page tokens, message
//! sizes, and bytes that are not protobuf at all. Nothing may panic, hang,
//! or answer INTERNAL for what is the client's mistake.
//!
//! `CONCORD_FUZZ_CASES` sets the generated requests per RPC and
//! `CONCORD_FUZZ_SEED` the generator's seed (CI: the defaults below, the
//! same requests every run; a longer run: `CONCORD_FUZZ_CASES=500
//! CONCORD_FUZZ_SEED=$RANDOM cargo test -p concord-e2e hardening --
//! --nocapture`).

mod requests;

use std::time::{Duration, Instant};

use bytes::Bytes;
use concord_e2e::raw::{self, Outcome};
use concord_e2e::report::Tally;
use concord_e2e::{Suite, spawn_suite};
use concord_kit::testing::{Backend, bad_fields, token};
use concord_proto::directory::v1 as dir;
use concord_proto::policy::v1::Role;
use concord_proto::policy_table::{self, MethodInfo, MethodKind};
use futures::StreamExt;
use prost::Message;
use prost_reflect::{DynamicMessage, Kind, ReflectMessage, Value};
use tonic::Code;

/// Generated requests per RPC when `CONCORD_FUZZ_CASES` is not set.
const DEFAULT_CASES: u32 = 6;

/// The generator's seed when `CONCORD_FUZZ_SEED` is not set: CI replays the
/// same requests every run; a longer run picks its own seed.
const DEFAULT_SEED: u64 = 14;

/// A reproducible generator for `method` under `seed`.
fn rng(seed: u64, method: &MethodInfo) -> proptest::test_runner::TestRng {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(method.path.as_bytes())
        .finalize();
    proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &digest)
}

/// A call's deadline: a client's mistake is answered long before.
const DEADLINE: Duration = Duration::from_secs(15);

fn admin() -> String {
    token("hardening-admin", &[Role::Admin], None)
}

/// Codes a client's bad request may be answered with.
fn acceptable(code: Code) -> bool {
    matches!(
        code,
        Code::Ok
            | Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::FailedPrecondition
            | Code::Aborted
            | Code::PermissionDenied
            | Code::OutOfRange
            | Code::ResourceExhausted
    )
}

fn describe(outcome: &Outcome) -> String {
    match outcome.status() {
        Some(s) => format!("{:?}: {}", s.code(), s.message()),
        None => "OK".into(),
    }
}

/// The fields set in a message, values cut short.
fn compact(m: &DynamicMessage) -> String {
    let mut parts = Vec::new();
    for (f, v) in m.fields() {
        let mut shown = match v {
            Value::Message(inner) => format!("{{{}}}", compact(inner)),
            Value::String(s) if s.len() > 60 => {
                format!(
                    "{:?}… ({} bytes)",
                    s.chars().take(20).collect::<String>(),
                    s.len()
                )
            }
            Value::List(items) if items.len() > 3 => format!("[{} items]", items.len()),
            other => format!("{other:?}"),
        };
        shown.truncate(200);
        parts.push(format!("{}: {shown}", f.name()));
    }
    parts.join(", ")
}

/// A few departments and people, and a real page token (bound to the
/// department list's filter) to reuse where it does not belong.
async fn seed(suite: &Suite) -> Vec<String> {
    let mut directory =
        dir::directory_service_client::DirectoryServiceClient::new(suite.as_(Some(&admin())));
    for (i, name) in ["办公室", "财务处", "Facilities"].iter().enumerate() {
        let d = directory
            .create_department(dir::CreateDepartmentRequest {
                request_id: format!("seed-dept-{i}"),
                name: (*name).into(),
                ..Default::default()
            })
            .await
            .expect("seed department")
            .into_inner();
        directory
            .create_person(dir::CreatePersonRequest {
                request_id: format!("seed-person-{i}"),
                display_name: ["王芳", "李强", "Alex Moreau"][i].into(),
                email: format!("seed{i}@example.org"),
                department_id: d.id,
                ..Default::default()
            })
            .await
            .expect("seed person");
    }
    let page = directory
        .list_departments(dir::ListDepartmentsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(!page.next_page_token.is_empty());
    let mut tokens = requests::garbage_page_tokens();
    tokens.push(page.next_page_token);
    tokens
}

/// Property: whatever the fields hold, every RPC answers with a status a
/// client's mistake deserves, in time.
async fn every_rpc_survives_hostile_field_values(backend: Backend) {
    use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
    let suite = spawn_suite(&backend).await;
    let tokens = seed(&suite).await;
    let pool = requests::pool();
    let cases = std::env::var("CONCORD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seed = std::env::var("CONCORD_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let handle = tokio::runtime::Handle::current();
    let started = Instant::now();
    let calls = std::cell::Cell::new(0u64);
    let mut failures = Vec::new();
    for method in policy_table::METHODS {
        let strategy = requests::message(requests::input(&pool, method), &tokens, 2);
        let config = Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 32,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(config, rng(seed, method));
        let channel = suite.as_(Some(&admin()));
        let result = tokio::task::block_in_place(|| {
            runner.run(&strategy, |request: DynamicMessage| {
                calls.set(calls.get() + 1);
                let body = Bytes::from(request.encode_to_vec());
                let size = body.len();
                let began = Instant::now();
                let outcome = handle.block_on(raw::call(channel.clone(), method, body, DEADLINE));
                if !acceptable(outcome.code()) {
                    return Err(TestCaseError::fail(format!(
                        "{} ({size} bytes)",
                        describe(&outcome)
                    )));
                }
                if began.elapsed() > Duration::from_secs(10) {
                    return Err(TestCaseError::fail(format!("took {:?}", began.elapsed())));
                }
                Ok(())
            })
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, minimal)) => {
                let shown = compact(&minimal);
                failures.push(format!(
                    "{}: {why}\n    minimal request: {shown}",
                    method.path
                ));
            }
            Err(TestError::Abort(why)) => failures.push(format!("{}: aborted: {why}", method.path)),
        }
    }
    // Still standing: a plain call answers.
    let mut directory =
        dir::directory_service_client::DirectoryServiceClient::new(suite.as_(Some(&admin())));
    directory
        .list_departments(dir::ListDepartmentsRequest::default())
        .await
        .expect("the suite still answers after the fuzzing");
    let mut tally = Tally::new("input hardening: generated requests", &backend);
    tally.calls = calls.get();
    tally.failed = failures.len() as u64;
    tally.note = format!(
        "{} RPCs x {cases} cases (plus shrinking), seed {seed}, in {:.1} s",
        policy_table::METHODS.len(),
        started.elapsed().as_secs_f64()
    );
    tally.report();
    assert!(
        failures.is_empty(),
        "{} RPCs answered a bad request wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
    suite.stop().await.unwrap();
}

/// Every text field of every list and search, set to each SQL or LIKE
/// metacharacter string, matches nothing (no filter is ever spliced into
/// SQL or left unescaped in a LIKE pattern) and is never INTERNAL.
async fn sql_and_like_metacharacters_in_text_filters_match_nothing(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    seed(&suite).await;
    let pool = requests::pool();
    let lists: Vec<&MethodInfo> = policy_table::METHODS
        .iter()
        .filter(|m| m.kind == MethodKind::Unary)
        .filter(|m| m.method.starts_with("List") || m.method.starts_with("Search"))
        .collect();
    let mut requests = Vec::new();
    for method in &lists {
        let input = requests::input(&pool, method);
        for field in input.fields().filter(|f| {
            f.kind() == Kind::String && !f.is_list() && !f.name().ends_with("page_token")
        }) {
            for value in requests::HOSTILE.iter().filter(|v| !v.trim().is_empty()) {
                let mut m = DynamicMessage::new(input.clone());
                m.set_field(&field, Value::String((*value).to_string()));
                requests.push((*method, field.name().to_string(), *value, m));
            }
        }
    }
    let calls = requests.len();
    let results: Vec<_> =
        futures::stream::iter(requests.into_iter().map(|(m, field, value, req)| {
            let channel = suite.as_(Some(&admin()));
            async move {
                let outcome =
                    raw::call(channel, m, Bytes::from(req.encode_to_vec()), DEADLINE).await;
                (m, field, value, outcome)
            }
        }))
        .buffer_unordered(8)
        .collect()
        .await;
    let mut wrong = Vec::new();
    for (method, field, value, outcome) in results {
        if !acceptable(outcome.code()) {
            wrong.push(format!(
                "{} {field}={value:?}: {}",
                method.path,
                describe(&outcome)
            ));
            continue;
        }
        let Outcome::Ok(Some(bytes)) = outcome else {
            continue;
        };
        let response =
            DynamicMessage::decode(requests::output(&pool, method), bytes).expect("decodes");
        for f in response.descriptor().fields().filter(|f| f.is_list()) {
            let n = response.get_field(&f).as_list().map_or(0, <[Value]>::len);
            if n > 0 {
                wrong.push(format!(
                    "{} {field}={value:?} matched {n} {} (a filter that matches everything?)",
                    method.path,
                    f.name()
                ));
            }
        }
    }
    let mut tally = Tally::new("input hardening: metacharacters in text filters", &backend);
    tally.calls = calls as u64;
    tally.failed = wrong.len() as u64;
    tally.note = format!("{} list and search RPCs", lists.len());
    tally.report();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    suite.stop().await.unwrap();
}

/// Page sizes: a negative one is INVALID_ARGUMENT naming `page_size` on
/// every list; a huge one returns at most 500 (proved on a list of more).
async fn page_sizes_are_capped_and_negative_ones_refused(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let admin = admin();
    let creates: Vec<_> = (0..510)
        .map(|i| {
            let mut directory =
                dir::directory_service_client::DirectoryServiceClient::new(suite.as_(Some(&admin)));
            async move {
                directory
                    .create_department(dir::CreateDepartmentRequest {
                        request_id: format!("many-{i}"),
                        name: format!("科室 {i:03}"),
                        ..Default::default()
                    })
                    .await
                    .expect("create department");
            }
        })
        .collect();
    futures::stream::iter(creates)
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let mut directory =
        dir::directory_service_client::DirectoryServiceClient::new(suite.as_(Some(&admin)));
    let page = directory
        .list_departments(dir::ListDepartmentsRequest {
            page_size: i32::MAX,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.departments.len(), 500, "the page is capped at 500");
    assert!(
        !page.next_page_token.is_empty(),
        "and the rest is a page away"
    );

    let pool = requests::pool();
    let mut calls = 1u64;
    let mut wrong = Vec::new();
    for method in policy_table::METHODS
        .iter()
        .filter(|m| m.kind == MethodKind::Unary)
    {
        let input = requests::input(&pool, method);
        let Some(size) = input.get_field_by_name("page_size") else {
            continue;
        };
        for (n, expect_invalid) in [(-1, true), (i32::MAX, false)] {
            let mut m = DynamicMessage::new(input.clone());
            m.set_field(&size, Value::I32(n));
            calls += 1;
            let outcome = raw::call(
                suite.as_(Some(&admin)),
                method,
                Bytes::from(m.encode_to_vec()),
                DEADLINE,
            )
            .await;
            match (&outcome, expect_invalid) {
                (Outcome::Err(s), true) => {
                    if s.code() != Code::InvalidArgument
                        || !bad_fields(s).contains(&"page_size".to_string())
                    {
                        wrong.push(format!(
                            "{} page_size=-1: {}",
                            method.path,
                            describe(&outcome)
                        ));
                    }
                }
                (Outcome::Ok(_), true) => {
                    wrong.push(format!("{} accepted page_size=-1", method.path))
                }
                (Outcome::Ok(Some(bytes)), false) => {
                    let response =
                        DynamicMessage::decode(requests::output(&pool, method), bytes.clone())
                            .expect("decodes");
                    for f in response.descriptor().fields().filter(|f| f.is_list()) {
                        let len = response.get_field(&f).as_list().map_or(0, <[Value]>::len);
                        if len > 500 {
                            wrong.push(format!("{} returned {len} {}", method.path, f.name()));
                        }
                    }
                }
                (other, false) => {
                    if !acceptable(other.code()) {
                        wrong.push(format!(
                            "{} page_size=MAX: {}",
                            method.path,
                            describe(other)
                        ));
                    }
                }
            }
        }
    }
    let mut tally = Tally::new("input hardening: page sizes", &backend);
    tally.calls = calls;
    tally.failed = wrong.len() as u64;
    tally.report();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    suite.stop().await.unwrap();
}

/// A request over the maximum message size (4 MiB) is refused with
/// RESOURCE_EXHAUSTED or OUT_OF_RANGE, for a write (streamed through the
/// gateway) and for a read (buffered by the gateway to be retried); one
/// just under the limit is an ordinary INVALID_ARGUMENT; the suite serves
/// on.
async fn the_maximum_message_size_is_enforced(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let admin = admin();
    let method = |name: &str| {
        policy_table::lookup(name).unwrap_or_else(|| panic!("{name} is in the contracts"))
    };
    let create = method("/concord.directory.v1.DirectoryService/CreateDepartment");
    let list = method("/concord.directory.v1.DirectoryService/ListDepartments");
    let search = method("/concord.directory.v1.DirectoryService/Search");
    let over = "大".repeat(2 * 1024 * 1024); // 6 MiB of UTF-8
    let under = "x".repeat(3 * 1024 * 1024);
    let department = |name: &str| {
        Bytes::from(
            dir::CreateDepartmentRequest {
                request_id: "huge".into(),
                name: name.into(),
                ..Default::default()
            }
            .encode_to_vec(),
        )
    };
    let query = |q: &str| {
        Bytes::from(
            dir::SearchRequest {
                query: q.into(),
                ..Default::default()
            }
            .encode_to_vec(),
        )
    };
    let mut wrong = Vec::new();
    for (m, body, want) in [
        (create, department(&over), "too large"),
        (search, query(&over), "too large"),
        (create, department(&under), "invalid"),
        (search, query(&under), "invalid"),
    ] {
        let began = Instant::now();
        let outcome = raw::call(suite.as_(Some(&admin)), m, body, DEADLINE).await;
        let ok = match want {
            "too large" => matches!(outcome.code(), Code::ResourceExhausted | Code::OutOfRange),
            _ => outcome.code() == Code::InvalidArgument,
        };
        if !ok || began.elapsed() > Duration::from_secs(5) {
            wrong.push(format!(
                "{} ({want}): {} in {:?}",
                m.path,
                describe(&outcome),
                began.elapsed()
            ));
        }
    }
    let outcome = raw::call(suite.as_(Some(&admin)), list, Bytes::new(), DEADLINE).await;
    assert_eq!(outcome.code(), Code::Ok, "still serving: {outcome:?}");
    let mut tally = Tally::new("input hardening: maximum message size", &backend);
    tally.calls = 5;
    tally.failed = wrong.len() as u64;
    tally.report();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    suite.stop().await.unwrap();
}

/// Bytes that are not a valid message of the method's request type (a
/// string field holding invalid UTF-8, a truncated varint, a length past
/// the end) are the client's mistake: INVALID_ARGUMENT on every RPC, never
/// INTERNAL.
async fn malformed_protobuf_is_invalid_argument_on_every_rpc(backend: Backend) {
    let suite = spawn_suite(&backend).await;
    let pool = requests::pool();
    let mut calls = 0u64;
    let mut wrong = Vec::new();
    for method in policy_table::METHODS {
        let input = requests::input(&pool, method);
        let mut bodies = vec![
            // A truncated varint tag.
            Bytes::from_static(&[0xff, 0xff, 0xff]),
            // Field 1, length-delimited, longer than what follows.
            Bytes::from_static(&[0x0a, 0x7f, 0x01]),
        ];
        if let Some(f) = input
            .fields()
            .find(|f| f.kind() == Kind::String && !f.is_list() && f.number() < 16)
        {
            let tag = u8::try_from((f.number() << 3) | 2).expect("a small field number");
            bodies.push(Bytes::from(vec![tag, 0x02, 0xff, 0xfe]));
        }
        for body in bodies {
            calls += 1;
            let outcome =
                raw::call(suite.as_(Some(&admin())), method, body.clone(), DEADLINE).await;
            if outcome.code() != Code::InvalidArgument {
                wrong.push(format!(
                    "{} {:02x?}: {}",
                    method.path,
                    &body[..],
                    describe(&outcome)
                ));
            }
        }
    }
    let mut tally = Tally::new("input hardening: malformed protobuf", &backend);
    tally.calls = calls;
    tally.failed = wrong.len() as u64;
    tally.report();
    assert!(
        wrong.is_empty(),
        "{} of {calls} malformed requests were not INVALID_ARGUMENT, e.g.:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    suite.stop().await.unwrap();
}

/// A request with hundreds of bad items is INVALID_ARGUMENT that an
/// ordinary client can read: the status (its message and its BadRequest)
/// must fit in the 16 KiB of headers clients accept by default, or the
/// client sees a broken HTTP/2 stream (INTERNAL) instead of the answer.
async fn many_bad_items_are_reported_within_header_limits(backend: Backend) {
    use concord_proto::training::v1 as tr;
    let suite = spawn_suite(&backend).await;
    let mut wrong = Vec::new();
    for n in [10usize, 100, 1000] {
        let request = tr::RecordAttendanceRequest {
            plan_id: "no such plan".into(),
            session_id: String::new(),
            marks: (0..n)
                .map(|i| tr::AttendanceMark {
                    person_id: format!("不是编号 {i}"),
                    present: true,
                })
                .collect(),
        };
        let status =
            tr::training_service_client::TrainingServiceClient::new(suite.as_(Some(&admin())))
                .record_attendance(request)
                .await
                .expect_err("invalid");
        if status.code() != Code::InvalidArgument
            || !bad_fields(&status).contains(&"plan_id".to_string())
        {
            wrong.push(format!(
                "{n} bad marks: {:?} {}",
                status.code(),
                status.message()
            ));
        }
    }
    let mut tally = Tally::new("input hardening: many bad items", &backend);
    tally.calls = 3;
    tally.failed = wrong.len() as u64;
    tally.report();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    suite.stop().await.unwrap();
}

concord_kit::backend_tests!(
    many_bad_items_are_reported_within_header_limits,
    every_rpc_survives_hostile_field_values,
    sql_and_like_metacharacters_in_text_filters_match_nothing,
    page_sizes_are_capped_and_negative_ones_refused,
    the_maximum_message_size_is_enforced,
    malformed_protobuf_is_invalid_argument_on_every_rpc,
);

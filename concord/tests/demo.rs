//! `concord demo` against a suite started on port 0 in this process: it
//! completes, a second run adds nothing, and afterwards every statistics
//! RPC reports the demo organisation's activity.

mod support;

use concord_kit::testing::Backend;
use concord_proto::policy::v1::Role;
use serde_json::Value;
use support::{Suite, spawn, token};

fn num(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

/// How many of everything the suite holds, read through the binary.
async fn counts(suite: &Suite, admin: &str) -> Vec<(String, usize)> {
    let lists: &[(&[&str], &str)] = &[
        (&["directory", "departments", "--subtree"], "departments"),
        (&["directory", "people", "--inactive"], "people"),
        (&["directory", "duties"], "duties"),
        (&["notices", "list"], "notices"),
        (&["meetings", "list", "--cancelled"], "meetings"),
        (&["decisions", "list"], "proposals"),
        (&["actions", "list"], "action_items"),
        (&["feedback", "list"], "items"),
        (&["emergency", "plans", "--archived"], "plans"),
        (&["emergency", "incidents"], "incidents"),
        (&["training", "plans"], "plans"),
        (&["training", "development-plans"], "plans"),
        (&["appraisal", "sets"], "indicator_sets"),
        (&["appraisal", "cycles"], "cycles"),
        (&["appraisal", "commendations"], "commendations"),
    ];
    let mut out = Vec::new();
    for (command, field) in lists {
        let mut args: Vec<&str> = vec![command[0], "-o", "json"];
        args.extend(&command[1..]);
        args.extend(["--page-size", "500"]);
        let r = suite.run(Some(admin), &args).await.json();
        assert_eq!(r["next_page_token"], "", "{command:?} fits one page");
        let items = r[*field]
            .as_array()
            .unwrap_or_else(|| panic!("{command:?}: {r}"));
        out.push((command.join(" "), items.len()));
        if command[..2] == ["training", "plans"] {
            for plan in items {
                let id = plan["id"].as_str().unwrap();
                let e = suite
                    .run(
                        Some(admin),
                        &[
                            "training",
                            "-o",
                            "json",
                            "enrolments",
                            "--plan",
                            id,
                            "--page-size",
                            "500",
                        ],
                    )
                    .await
                    .json();
                out.push((
                    format!("enrolments of {id}"),
                    e["enrolments"].as_array().unwrap().len(),
                ));
            }
        }
    }
    out
}

async fn statistics(suite: &Suite, admin: &str, from: &str, to: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for service in ["notices", "decisions", "feedback", "emergency", "training"] {
        all.push(
            suite
                .run(
                    Some(admin),
                    &[service, "-o", "json", "stats", "--from", from, "--to", to],
                )
                .await
                .json(),
        );
    }
    all
}

async fn demo_fills_the_suite_once(backend: Backend) {
    let suite = spawn(&backend).await;
    let admin = token("demo-checker", &[Role::Admin], None);
    let first = suite
        .run(None, &["demo", "--people", "60", "-o", "json"])
        .await
        .json();
    assert!(num(&first["created"]) > 100.0, "{first}");
    assert_eq!(num(&first["people"]), 60.0);
    assert_eq!(first["organisation"], "江州市政务服务中心");
    let before = counts(&suite, &admin).await;
    for (what, n) in before.iter().filter(|(w, _)| !w.starts_with("enrolments")) {
        assert!(*n > 0, "the demo made no {what}");
    }
    let enrolled: usize = before
        .iter()
        .filter(|(w, _)| w.starts_with("enrolments"))
        .map(|(_, n)| n)
        .sum();
    assert!(enrolled > 20, "{before:?}");
    let people = before
        .iter()
        .find(|(w, _)| w == "directory people --inactive")
        .unwrap();
    assert_eq!(people.1, 60);
    let from = first["period_start"].as_str().unwrap().to_string();
    let to = first["period_end"].as_str().unwrap().to_string();
    let stats_before = statistics(&suite, &admin, &from, &to).await;

    let second = suite
        .run(None, &["demo", "--people", "60", "-o", "json"])
        .await
        .json();
    assert_eq!(num(&second["created"]), 0.0, "{second}");
    assert_eq!(
        counts(&suite, &admin).await,
        before,
        "a second run adds nothing"
    );
    let stats = statistics(&suite, &admin, &from, &to).await;
    assert_eq!(
        stats[0]["total"], stats_before[0]["total"],
        "no notice read twice"
    );

    // Every statistics RPC reports activity over the demo period.
    let [notices, decisions, feedback, emergency, training] = &stats[..] else {
        unreachable!()
    };
    let t = &notices["total"];
    for f in [
        "notices_received",
        "read",
        "acknowledgement_required",
        "acknowledged",
        "read_rate",
    ] {
        assert!(num(&t[f]) > 0.0, "notices {f}: {notices}");
    }
    assert!(num(&notices["notices_published"]) > 0.0);
    for f in [
        "proposals_decided",
        "proposals_passed",
        "votes_eligible",
        "votes_cast",
        "action_items_assigned",
        "action_items_due",
        "action_items_done_on_time",
    ] {
        assert!(num(&decisions[f]) > 0.0, "decisions {f}: {decisions}");
    }
    let t = &feedback["totals"];
    for f in [
        "received",
        "open",
        "resolved",
        "resolved_on_time",
        "rated",
        "average_satisfaction",
    ] {
        assert!(num(&t[f]) > 0.0, "feedback {f}: {feedback}");
    }
    for kind in ["real", "drills"] {
        let r = &emergency[kind];
        for f in [
            "incidents",
            "alerts_received",
            "acknowledged",
            "steps",
            "steps_completed",
        ] {
            assert!(num(&r[f]) > 0.0, "emergency {kind} {f}: {emergency}");
        }
    }
    let t = &training["totals"];
    for f in [
        "enrolments",
        "completed",
        "training_hours",
        "certificates_issued",
        "average_assessment_score",
    ] {
        assert!(num(&t[f]) > 0.0, "training {f}: {training}");
    }

    // The appraisal cycle went all the way, scored from those figures.
    let cycles = suite
        .run(Some(&admin), &["appraisal", "-o", "json", "cycles"])
        .await
        .json();
    let cycle = &cycles["cycles"][0];
    assert_eq!(cycle["stage"], "STAGE_PUBLISHED");
    let rankings = suite
        .run(
            Some(&admin),
            &[
                "appraisal",
                "-o",
                "json",
                "rankings",
                cycle["id"].as_str().unwrap(),
            ],
        )
        .await
        .json();
    assert_eq!(rankings["entries"].as_array().unwrap().len(), 8);
    assert!(num(&rankings["entries"][0]["total"]) > 0.0);
}

async fn demo_in_english(backend: Backend) {
    let suite = spawn(&backend).await;
    let admin = token("demo-checker", &[Role::Admin], None);
    // A member of staff's token cannot fill a suite.
    let member = token("someone", &[Role::Member], None);
    suite
        .expect(
            Some(&member),
            &["demo", "--lang", "en", "--people", "40"],
            3,
            &["permission denied"],
        )
        .await;
    // With an explicit admin token instead of one the demo signs itself.
    let out = suite
        .run(Some(&admin), &["demo", "--lang", "en", "--people", "40"])
        .await;
    out.ok();
    assert!(
        out.stdout.contains("Riverside Civic Services Centre"),
        "{}",
        out.stdout
    );
    let depts = suite
        .run(
            Some(&admin),
            &["directory", "-o", "json", "departments", "--subtree"],
        )
        .await
        .json();
    let names: Vec<&str> = depts["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Public Service Hall") && names.contains(&"IT Operations"),
        "{names:?}"
    );
    let items = suite
        .run(Some(&admin), &["feedback", "-o", "json", "list"])
        .await
        .json();
    assert!(
        items["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["subject"] == "The lift in building 3 keeps breaking down")
    );
}

concord_kit::backend_tests!(demo_fills_the_suite_once, demo_in_english);

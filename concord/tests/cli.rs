//! The `concord` client commands, driven as a person or a script would
//! drive them: the real binary against a suite started on port 0 in this
//! process, at least one command per service, JSON parsed and checked, and
//! every documented exit code.

mod support;

use concord_kit::testing::Backend;
use concord_proto::policy::v1::Role;
use serde_json::Value;
use support::{Suite, spawn, token};
use unicode_width::UnicodeWidthStr;

/// A department with a head and two members, made through the binary.
struct Dept {
    id: String,
    head: String,
    member: String,
    other: String,
}

async fn organisation(suite: &Suite, admin: &str, name: &str) -> Dept {
    let d = suite
        .run(
            Some(admin),
            &[
                "directory",
                "-o",
                "json",
                "create-department",
                "--name",
                name,
            ],
        )
        .await
        .json();
    let id = d["id"].as_str().unwrap().to_string();
    let person = |n: &'static str, role: &'static str| {
        let id = id.clone();
        async move {
            suite
                .run(
                    Some(admin),
                    &[
                        "directory",
                        "-o",
                        "json",
                        "create-person",
                        "--name",
                        n,
                        "--department",
                        &id,
                        "--role",
                        role,
                        "--title",
                        "科员",
                    ],
                )
                .await
                .json()["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let head = person("欧阳晓东", "department-head").await;
    let member = person("李娜", "member").await;
    let other = person("Wang Fang", "member").await;
    Dept {
        id,
        head,
        member,
        other,
    }
}

fn as_member(d: &Dept, person: &str) -> String {
    token(person, &[Role::Member], Some(&d.id))
}

fn as_head(d: &Dept) -> String {
    token(&d.head, &[Role::DepartmentHead], Some(&d.id))
}

fn num(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

async fn every_service(backend: Backend) {
    let suite = spawn(&backend).await;
    let admin = token("cli-admin", &[Role::Admin], None);
    let d = organisation(&suite, &admin, "信息中心").await;
    let member = as_member(&d, &d.member);
    let head = as_head(&d);

    // Directory: duties, "who handles", and a table whose wide names line up.
    suite
        .run(
            Some(&admin),
            &[
                "directory",
                "add-duty",
                "--department",
                &d.id,
                "--text",
                "办公网络与电脑故障报修",
            ],
        )
        .await
        .ok();
    let who = suite
        .run(
            Some(&member),
            &[
                "directory",
                "-o",
                "json",
                "who-handles",
                "电脑无法上网，请报修",
            ],
        )
        .await
        .json();
    assert_eq!(who["matches"][0]["department"]["id"], d.id.as_str());
    let table = suite
        .run(
            Some(&member),
            &["directory", "people", "--department", &d.id],
        )
        .await;
    table.ok();
    assert!(
        table.stdout.contains("欧阳晓东") && table.stdout.contains("信息中心"),
        "{}",
        table.stdout
    );
    let widths: Vec<usize> = table.stdout.lines().map(UnicodeWidthStr::width).collect();
    assert!(
        widths.windows(2).all(|w| w[0] == w[1]),
        "{}\n{widths:?}",
        table.stdout
    );

    // Notices: publish, the inbox, read, acknowledge, remind, statistics.
    let n = suite
        .run(
            Some(&admin),
            &[
                "notices",
                "-o",
                "json",
                "publish",
                "--title",
                "关于开展消防安全检查的通知",
                "--body",
                "请各处室自查。",
                "--department",
                &d.id,
                "--ack",
                "--priority",
                "important",
            ],
        )
        .await
        .json();
    let notice = n["id"].as_str().unwrap().to_string();
    assert_eq!(n["state"], "NOTICE_STATE_PUBLISHED");
    assert_eq!(num(&n["recipient_count"]), 3);
    let inbox = suite
        .run(
            Some(&member),
            &["notices", "-o", "json", "inbox", "--unread"],
        )
        .await
        .json();
    assert_eq!(num(&inbox["unread_count"]), 1);
    assert_eq!(inbox["items"][0]["notice"]["id"], notice.as_str());
    suite
        .run(Some(&member), &["notices", "read", &notice])
        .await
        .ok();
    let ack = suite
        .run(Some(&member), &["notices", "-o", "json", "ack", &notice])
        .await
        .json();
    assert!(ack["acknowledge_time"].is_string());
    let other = as_member(&d, &d.other);
    suite
        .run(Some(&other), &["notices", "read", &notice])
        .await
        .ok();
    let remind = suite
        .run(
            Some(&admin),
            &[
                "notices",
                "-o",
                "json",
                "remind",
                &notice,
                "--unacknowledged",
            ],
        )
        .await
        .json();
    assert_eq!(
        num(&remind["reminded"]),
        2,
        "the head and the one who only read"
    );
    let stats = suite
        .run(Some(&admin), &["notices", "-o", "json", "stats"])
        .await
        .json();
    assert_eq!(num(&stats["total"]["notices_received"]), 3);
    assert_eq!(num(&stats["total"]["read"]), 2);
    assert_eq!(num(&stats["total"]["acknowledged"]), 1);

    // Meetings: a weekly meeting that began yesterday, its minutes shared.
    let m = suite
        .run(
            Some(&admin),
            &[
                "meetings",
                "-o",
                "json",
                "create",
                "--title",
                "信息中心周例会",
                "--organizer",
                &d.id,
                "--first",
                "-1d",
                "--department",
                &d.id,
                "--location",
                "三楼会议室",
            ],
        )
        .await
        .json();
    let meeting = m["id"].as_str().unwrap().to_string();
    let o = suite
        .run(
            Some(&admin),
            &[
                "meetings",
                "-o",
                "json",
                "minutes",
                &meeting,
                "0",
                "--text",
                "一、通报网络升级安排。",
            ],
        )
        .await
        .json();
    assert!(!o["minutes_notice_id"].as_str().unwrap().is_empty());

    // Decisions: a proposal drafted, consulted, voted on and decided.
    let p = suite
        .run(
            Some(&head),
            &[
                "decisions",
                "-o",
                "json",
                "create",
                "--title",
                "关于推行无纸化办公的提议",
                "--approving",
                &d.id,
                "--heads-only",
            ],
        )
        .await
        .json();
    let proposal = p["id"].as_str().unwrap().to_string();
    for stage in ["STAGE_CONSULTATION", "STAGE_VOTING"] {
        let p = suite
            .run(
                Some(&head),
                &["decisions", "-o", "json", "advance", &proposal],
            )
            .await
            .json();
        assert_eq!(p["stage"], stage);
    }
    suite
        .run(
            Some(&head),
            &["decisions", "vote", &proposal, "--option", "approve"],
        )
        .await
        .ok();
    let tally = suite
        .run(
            Some(&member),
            &["decisions", "-o", "json", "tally", &proposal],
        )
        .await
        .json();
    assert_eq!(tally["leading_option_id"], "approve");
    let p = suite
        .run(
            Some(&head),
            &[
                "decisions",
                "-o",
                "json",
                "advance",
                &proposal,
                "--rationale",
                "一致同意",
            ],
        )
        .await
        .json();
    assert_eq!(p["stage"], "STAGE_DECIDED");
    let stats = suite
        .run(Some(&admin), &["decisions", "-o", "json", "stats"])
        .await
        .json();
    assert_eq!(num(&stats["proposals_decided"]), 1);

    // Action items: created, progress reported by its owner, done.
    let a = suite
        .run(
            Some(&admin),
            &[
                "actions",
                "-o",
                "json",
                "create",
                "--title",
                "完成终端补丁升级",
                "--lead",
                &d.id,
                "--owner",
                &d.member,
                "--due",
                "+7d",
                "--proposal",
                &proposal,
            ],
        )
        .await
        .json();
    let item = a["id"].as_str().unwrap().to_string();
    let r = suite
        .run(
            Some(&member),
            &[
                "actions",
                "-o",
                "json",
                "progress",
                &item,
                "--text",
                "已完成",
                "--status",
                "done",
            ],
        )
        .await
        .json();
    assert_eq!(r["action_item"]["status"], "ACTION_ITEM_STATUS_DONE");
    let list = suite
        .run(
            Some(&member),
            &["actions", "-o", "json", "list", "--department", &d.id],
        )
        .await
        .json();
    assert_eq!(list["action_items"].as_array().unwrap().len(), 1);

    // Feedback: submitted, assigned, resolved, confirmed with a rating.
    let f = suite
        .run(
            Some(&other),
            &[
                "feedback",
                "-o",
                "json",
                "submit",
                "--subject",
                "二楼网络经常断线",
                "--body",
                "下午经常断网。",
                "--department",
                &d.id,
            ],
        )
        .await
        .json();
    let fb = f["item"]["id"].as_str().unwrap().to_string();
    suite
        .run(
            Some(&head),
            &["feedback", "assign", &fb, "--owner", &d.member],
        )
        .await
        .ok();
    suite
        .run(
            Some(&member),
            &["feedback", "resolve", &fb, "--solution", "更换了交换机。"],
        )
        .await
        .ok();
    let done = suite
        .run(
            Some(&other),
            &[
                "feedback",
                "-o",
                "json",
                "confirm",
                &fb,
                "--satisfaction",
                "5",
            ],
        )
        .await
        .json();
    assert_eq!(done["status"], "STATUS_CLOSED");
    assert_eq!(done["satisfaction"], 5);
    let stats = suite
        .run(Some(&admin), &["feedback", "-o", "json", "stats"])
        .await
        .json();
    assert_eq!(num(&stats["totals"]["received"]), 1);
    assert_eq!(num(&stats["totals"]["rated"]), 1);

    // Emergency: a plan, a drill declared from it, the alert watched and
    // acknowledged, the drill contained; statistics.
    let plan_file = suite.home.path().join("plan.json");
    let plan = serde_json::json!({
        "plan": {
            "title": "信息系统故障应急预案",
            "incident_type": "INCIDENT_TYPE_IT_OUTAGE",
            "severity": "SEVERITY_IV",
            "owner_department_id": d.id,
            "steps": [{"title": "排查故障", "department_id": d.id, "target_minutes": 15}],
            "acknowledgement_timeout": "300s"
        }
    });
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let plan = suite
        .run(
            Some(&admin),
            &[
                "emergency",
                "-o",
                "json",
                "create-plan",
                "--file",
                plan_file.to_str().unwrap(),
            ],
        )
        .await
        .json();
    let plans = suite
        .run(Some(&member), &["emergency", "-o", "json", "plans"])
        .await
        .json();
    assert_eq!(plans["plans"][0]["id"], plan["id"]);
    let i = suite
        .run(
            Some(&admin),
            &[
                "emergency",
                "-o",
                "json",
                "declare",
                "--plan",
                plan["id"].as_str().unwrap(),
                "--drill",
            ],
        )
        .await
        .json();
    let incident = i["id"].as_str().unwrap().to_string();
    assert_eq!(i["drill"], true);
    let watched = suite
        .run(
            Some(&member),
            &["alerts", "-o", "json", "watch", "--count", "1"],
        )
        .await;
    watched.ok();
    let event: Value = serde_json::from_str(watched.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(event["alert"]["incident_id"], incident.as_str());
    assert_eq!(event["alert"]["kind"], "ALERT_KIND_DECLARED");
    let acks = suite
        .run(
            Some(&member),
            &["emergency", "-o", "json", "ack", "--incident", &incident],
        )
        .await
        .json();
    assert_eq!(acks["first_for_department"], true);
    let i = suite
        .run(
            Some(&admin),
            &[
                "emergency",
                "-o",
                "json",
                "status",
                &incident,
                "--set",
                "contained",
            ],
        )
        .await
        .json();
    assert_eq!(i["status"], "INCIDENT_STATUS_CONTAINED");
    let stats = suite
        .run(Some(&admin), &["emergency", "-o", "json", "stats"])
        .await
        .json();
    assert_eq!(num(&stats["drills"]["incidents"]), 1);
    assert_eq!(num(&stats["drills"]["acknowledged"]), 1);

    // Training: a plan whose session started an hour ago; enrolment,
    // attendance, completion; statistics.
    let t = suite
        .run(
            Some(&admin),
            &[
                "training",
                "-o",
                "json",
                "create",
                "--department",
                &d.id,
                "--title",
                "网络安全意识培训",
                "--place",
                "培训室",
                "--session",
                "-1h..+1h",
                "--audience",
                &d.id,
            ],
        )
        .await
        .json();
    let tp = t["id"].as_str().unwrap().to_string();
    let session = t["sessions"][0]["id"].as_str().unwrap().to_string();
    suite
        .run(Some(&admin), &["training", "publish", &tp])
        .await
        .ok();
    let e = suite
        .run(Some(&member), &["training", "-o", "json", "enrol", &tp])
        .await
        .json();
    assert_eq!(e["status"], "ENROLMENT_STATUS_ENROLLED");
    suite
        .run(
            Some(&admin),
            &[
                "training",
                "attendance",
                &tp,
                &session,
                "--present",
                &d.member,
            ],
        )
        .await
        .ok();
    let c = suite
        .run(
            Some(&admin),
            &[
                "training",
                "-o",
                "json",
                "complete",
                e["id"].as_str().unwrap(),
                "--score",
                "92",
            ],
        )
        .await
        .json();
    assert!(
        c["completion"]["certificate_number"]
            .as_str()
            .unwrap()
            .starts_with("TR-")
    );
    let stats = suite
        .run(Some(&admin), &["training", "-o", "json", "stats"])
        .await
        .json();
    assert_eq!(num(&stats["totals"]["completed"]), 1);
    assert!(stats["totals"]["training_hours"].as_f64().unwrap() > 1.9);

    // Appraisal: an indicator set from JSON, a cycle over the department.
    let set_file = suite.home.path().join("set.json");
    let set = serde_json::json!({
        "name": "部门考核指标",
        "indicators": [{
            "code": "quality", "name": "工作质量", "dimension": "DIMENSION_QUALITY",
            "weight": 100, "rule": "SCORING_RULE_MANUAL", "source": "SOURCE_MANUAL"
        }]
    });
    std::fs::write(&set_file, set.to_string()).unwrap();
    let s = suite
        .run(
            Some(&admin),
            &[
                "appraisal",
                "-o",
                "json",
                "create-set",
                "--file",
                set_file.to_str().unwrap(),
            ],
        )
        .await
        .json();
    let c = suite
        .run(
            Some(&admin),
            &[
                "appraisal",
                "-o",
                "json",
                "create-cycle",
                "--name",
                "季度考核",
                "--set",
                s["id"].as_str().unwrap(),
                "--subject",
                &d.id,
                "--from",
                "-30d",
                "--to",
                "+1d",
            ],
        )
        .await
        .json();
    assert_eq!(c["stage"], "STAGE_OPEN");
    let cycles = suite
        .run(Some(&member), &["appraisal", "-o", "json", "cycles"])
        .await
        .json();
    assert_eq!(cycles["cycles"][0]["id"], c["id"]);
}

async fn exit_codes(backend: Backend) {
    let suite = spawn(&backend).await;
    let admin = token("cli-admin", &[Role::Admin], None);
    let d = organisation(&suite, &admin, "Facilities").await;
    let member = as_member(&d, &d.member);

    // 3: denied, and not signed in.
    suite
        .expect(
            Some(&member),
            &["directory", "create-department", "--name", "X"],
            3,
            &["permission denied"],
        )
        .await;
    suite
        .expect(
            None,
            &["directory", "departments"],
            3,
            &["not signed in", "concord login"],
        )
        .await;
    // 4: not found.
    suite
        .expect(
            Some(&member),
            &[
                "directory",
                "person",
                "01a22457-5b7a-71b5-b774-000000000000",
            ],
            4,
            &["not found"],
        )
        .await;
    // 5: every bad field named.
    suite
        .expect(
            Some(&admin),
            &["notices", "publish", "--title", "", "--department", "nope"],
            5,
            &[
                "invalid argument",
                "  title: ",
                "  audience.department_ids[0]: ",
            ],
        )
        .await;
    suite
        .expect(
            Some(&admin),
            &[
                "feedback",
                "submit",
                "--subject",
                "x",
                "--body",
                "y",
                "--link",
                "ftp://nope",
            ],
            5,
            &["links[0]"],
        )
        .await;
    // 2: clap's usage errors and values the command cannot use.
    suite
        .expect(
            Some(&member),
            &["directory", "bogus"],
            2,
            &["unrecognized subcommand"],
        )
        .await;
    suite
        .expect(
            Some(&member),
            &["feedback", "confirm", "x", "--satisfaction", "9"],
            2,
            &["9"],
        )
        .await;
    suite
        .expect(
            Some(&member),
            &["notices", "stats", "--from", "yesterday"],
            2,
            &["is not a time"],
        )
        .await;
    // 6: nobody listening.
    suite
        .expect(
            Some(&member),
            &["directory", "--addr", "127.0.0.1:1", "departments"],
            6,
            &["unavailable"],
        )
        .await;
    // 1: a wrong state.
    let n = suite
        .run(
            Some(&admin),
            &[
                "notices",
                "-o",
                "json",
                "publish",
                "--title",
                "t",
                "--body",
                "b",
                "--everyone",
            ],
        )
        .await
        .json();
    let id = n["id"].as_str().unwrap();
    suite
        .run(
            Some(&admin),
            &["notices", "retract", id, "--reason", "错发"],
        )
        .await
        .ok();
    suite
        .expect(
            Some(&admin),
            &["notices", "publish-draft", id],
            1,
            &["not possible now"],
        )
        .await;
    // A retracted notice has left the inboxes.
    suite
        .expect(Some(&member), &["notices", "ack", id], 4, &["not found"])
        .await;
}

async fn login_and_help(backend: Backend) {
    let suite = spawn(&backend).await;
    let admin = token("cli-admin", &[Role::Admin], None);
    let login = suite
        .run(
            None,
            &[
                "login",
                "--addr",
                &suite.gateway.to_string(),
                "--token",
                &admin,
            ],
        )
        .await;
    login.ok();
    assert!(
        !login.stdout.contains(&admin) && !login.stderr.contains(&admin),
        "the token is never printed"
    );
    let config = suite.home.path().join("client.toml");
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains(&admin));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Later commands use the saved login; no token in the environment.
    let mut cmd = suite.command(None);
    cmd.env_remove("CONCORD_ADDR")
        .args(["directory", "-o", "json", "departments"]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong token is refused at login and nothing is saved.
    suite
        .expect(
            None,
            &["login", "--token", "not-a-token"],
            3,
            &["not signed in"],
        )
        .await;
    assert_eq!(std::fs::read_to_string(&config).unwrap(), saved);

    let help = suite.run(None, &["--help"]).await;
    help.ok();
    assert!(help.stdout.contains("Exit codes") && help.stdout.contains("5  invalid argument"));
    let help = suite.run(None, &["notices", "--help"]).await;
    assert!(help.stdout.contains("publish") && help.stdout.contains("Exit codes"));
    for shell in ["bash", "zsh", "fish"] {
        let c = suite.run(None, &["completions", shell]).await;
        c.ok();
        assert!(
            c.stdout.contains("concord") && c.stdout.contains("notices"),
            "{shell}"
        );
    }
}

concord_kit::backend_tests!(every_service, exit_codes, login_and_help);

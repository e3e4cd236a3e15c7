//! `concord migrate`: applies each target's migrations once; `--wait` writes
//! nothing and succeeds only once they are applied.

use std::process::Command;

fn concord(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_concord"))
        .args(args)
        .env("CONCORD_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs")
}

#[test]
fn migrate_applies_once_and_wait_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let waited = concord(
        dir.path(),
        &[
            "migrate",
            "--wait",
            "--timeout-secs",
            "1",
            "--target",
            "directory",
        ],
    );
    assert!(!waited.status.success(), "nothing is migrated yet");
    assert!(String::from_utf8_lossy(&waited.stderr).contains("directory"));
    assert!(
        !dir.path().join("directory.db").exists(),
        "--wait writes nothing"
    );

    let applied = concord(dir.path(), &["migrate"]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let out = String::from_utf8_lossy(&applied.stdout);
    for (name, _) in concord::suite::MIGRATIONS {
        assert!(
            out.contains(&format!("{name}: migrations applied")),
            "{out}"
        );
        assert!(dir.path().join(format!("{name}.db")).exists());
    }
    // Applying again changes nothing and succeeds.
    assert!(concord(dir.path(), &["migrate"]).status.success());
    let waited = concord(dir.path(), &["migrate", "--wait", "--timeout-secs", "5"]);
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );

    let unknown = concord(dir.path(), &["migrate", "--target", "nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nope"));
}

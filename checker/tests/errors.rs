//! Bad input gets one clear line and a non-zero exit, never a panic.

mod util;

use util::Sandbox;

#[test]
fn an_unknown_kata_gets_a_suggestion() {
    let sandbox = Sandbox::new();
    let run = sandbox.checker(&["run", "lazy-futurs"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("did you mean `01-lazy-futures`"),
        "{}",
        run.stderr
    );
}

#[test]
fn outside_the_repository_it_says_so() {
    let sandbox = Sandbox::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let run = sandbox.checker_in(elsewhere.path(), &["list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not inside a kata repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_corrupt_progress_file_is_kept_aside_and_reported() {
    let sandbox = Sandbox::new();
    sandbox.write(".kata/progress.json", "{ this is not json");
    let run = sandbox.checker(&["list"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unreadable"), "{}", run.stderr);
    let kept: Vec<_> = std::fs::read_dir(sandbox.path(".kata"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("corrupt"))
        .collect();
    assert_eq!(kept.len(), 1, "the corrupt file is kept aside");
    assert_eq!(
        sandbox.checker(&["list"]).code,
        0,
        "the next command starts afresh"
    );
}

#[test]
fn a_progress_file_from_a_newer_checker_is_left_alone() {
    let sandbox = Sandbox::new();
    sandbox.write(".kata/progress.json", r#"{"version": 99}"#);
    let run = sandbox.checker(&["progress"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("version 99"), "{}", run.stderr);
    assert_eq!(
        sandbox.read(".kata/progress.json"),
        r#"{"version": 99}"#,
        "never overwritten"
    );
}

#[test]
fn watch_without_a_terminal_refuses() {
    let sandbox = Sandbox::new();
    let run = sandbox.checker(&["watch"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("interactive terminal"),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_catches_metadata_that_lies() {
    let sandbox = Sandbox::new();
    let meta = format!("exercises/{}/kata.toml", "10-channel-close");
    let lie = sandbox.read(&meta).replace(
        r#"failing = ["collector_returns_when_the_last_worker_is_done"]"#,
        "failing = []",
    );
    sandbox.write(&meta, &lie);
    let run = sandbox.checker(&["verify", "10"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("MISMATCH"), "{}", run.stdout);
}

#[test]
fn a_missing_toolchain_is_one_clear_line() {
    let sandbox = Sandbox::new();
    let run = sandbox.checker_with(&["run", "01"], |cmd| {
        cmd.env("PATH", "/nonexistent").env_remove("CARGO");
    });
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cargo was not found"), "{}", run.stderr);
}

#[test]
fn a_broken_kata_does_not_stop_the_others() {
    let sandbox = Sandbox::new();
    sandbox.write("exercises/10-channel-close/kata.toml", "format = 1\n");
    let list = sandbox.checker(&["list", "--json"]);
    assert_eq!(list.code, 0);
    assert!(list.stderr.contains("skipping"), "{}", list.stderr);
    let names: Vec<String> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("01-lazy-futures")),
        "the other katas are listed: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("10-channel-close")),
        "the broken one is not: {names:?}"
    );
}

#[test]
fn a_deleted_lib_rs_is_named_with_the_way_back() {
    let sandbox = Sandbox::new();
    assert_eq!(
        sandbox.checker(&["list"]).code,
        0,
        "the checker has seen the katas as shipped"
    );
    std::fs::remove_file(sandbox.path("exercises/10-channel-close/src/lib.rs")).unwrap();
    let run = sandbox.checker(&["run", "01"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("exercises/10-channel-close/src/lib.rs is missing")
            && run.stderr.contains("cargo kata reset 10-channel-close"),
        "{}",
        run.stderr
    );
    let reset = sandbox.checker(&["reset", "10"]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert!(
        sandbox
            .path("exercises/10-channel-close/src/lib.rs")
            .is_file(),
        "reset brings it back"
    );
}

#[test]
fn a_reader_that_goes_away_early_ends_the_checker_quietly() {
    let sandbox = Sandbox::new();
    // `cargo kata list | head -1`: the reader closes before the checker has printed.
    let mut child = util::checker_command(sandbox.root())
        .arg("list")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

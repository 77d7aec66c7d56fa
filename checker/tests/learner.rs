//! The learner's loop, driven through the real binary on a copy of the repository.

mod util;

use util::{tests_with_status, Sandbox};

const LAZY: &str = "01-lazy-futures";
const CLOSE: &str = "10-channel-close";

#[test]
fn a_failing_kata_passes_once_fixed_and_progress_follows() {
    let sandbox = Sandbox::new();

    let run = sandbox.checker(&["run", LAZY, "--json"]);
    assert_eq!(run.code, 1, "an untouched kata must fail: {}", run.stderr);
    let report = run.json();
    assert_eq!(report["outcome"], "failed");
    assert_eq!(
        tests_with_status(&report, "failed"),
        sandbox.untouched_failing(LAZY)
    );
    let failed = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "failed")
        .unwrap();
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty() && !message.contains("panicked at") && !message.starts_with("thread"),
        "the test's own message is shown first, not the panic's framing: {message}"
    );

    sandbox.solve(LAZY);
    let run = sandbox.checker(&["run", LAZY, "--json"]);
    assert_eq!(run.code, 0, "the fixed kata passes: {}", run.stdout);
    let points = sandbox.max_points(LAZY);
    assert_eq!(run.json()["points"], points);

    let progress = sandbox.checker(&["progress", "--json"]).json();
    assert_eq!(progress["done"], 1);
    assert_eq!(progress["points"], points);
    let list = sandbox.checker(&["list", "--json"]).json();
    assert_eq!(list[0]["status"], "passed");
    assert_eq!(list[0]["attempts"], 2);
}

#[test]
fn reset_restores_the_original_and_keeps_the_learners_code() {
    let sandbox = Sandbox::new();
    let lib = format!("exercises/{LAZY}/src/lib.rs");
    let original = sandbox.read(&lib);
    sandbox.checker(&["list"]);
    sandbox.write(&lib, "// my attempt\n");

    let reset = sandbox.checker(&["reset", LAZY]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert_eq!(
        sandbox.read(&lib),
        original,
        "reset puts the original code back"
    );
    let backups: Vec<_> = std::fs::read_dir(sandbox.path(&format!(".kata/backups/{LAZY}")))
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1, "one backup is kept");

    let undo = sandbox.checker(&["reset", LAZY, "--undo"]);
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert_eq!(
        sandbox.read(&lib),
        "// my attempt\n",
        "--undo brings the learner's code back"
    );
}

#[test]
fn the_solution_is_gated_and_recorded() {
    let sandbox = Sandbox::new();
    let refused = sandbox.checker(&["solution", LAZY]);
    assert_eq!(refused.code, 2, "without a terminal and --yes it refuses");
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);

    let shown = sandbox.checker(&["solution", LAZY, "--yes"]);
    assert_eq!(shown.code, 0);
    assert!(
        shown
            .stdout
            .contains("+++ solutions/01-lazy-futures/src/lib.rs"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("tokio::join!"),
        "the diff shows the fix"
    );

    sandbox.solve(LAZY);
    let run = sandbox.checker(&["run", LAZY]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let list = sandbox.checker(&["list", "--json"]).json();
    assert_eq!(list[0]["status"], "passed-after-solution");
}

#[test]
fn hints_come_one_at_a_time_and_are_counted() {
    let sandbox = Sandbox::new();
    let first = sandbox.checker(&["hint", LAZY]);
    assert!(first.stdout.contains("Hint 1 of 3"), "{}", first.stdout);
    let second = sandbox.checker(&["hint", LAZY]);
    assert!(second.stdout.contains("Hint 2 of 3"), "{}", second.stdout);
    let list = sandbox.checker(&["list", "--json"]).json();
    assert_eq!(list[0]["hints_shown"], 2);
}

#[test]
fn a_hung_test_is_killed_at_its_timeout_and_explained() {
    let sandbox = Sandbox::new();
    let run = sandbox.checker(&["run", CLOSE, "--json"]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(
        tests_with_status(&report, "timed-out"),
        ["every_service_gets_exactly_one_report"]
    );
    assert_eq!(
        tests_with_status(&report, "failed"),
        ["collector_returns_when_the_last_worker_is_done"]
    );
    let hung = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "timed-out")
        .unwrap();
    assert!(
        hung["message"]
            .as_str()
            .unwrap()
            .contains("timed out after 3s"),
        "{hung}"
    );
    assert!(
        hung["duration"].as_u64().unwrap() < 10_000,
        "killed near its 3 s timeout: {hung}"
    );
}

#[test]
fn exiting_the_process_early_does_not_pass() {
    let sandbox = Sandbox::new();
    sandbox.solve(LAZY);
    let lib = format!("exercises/{LAZY}/src/lib.rs");
    let cheat = sandbox.read(&lib).replace(
        "pub async fn sign_up(&self, email: &str) -> UserId {",
        "pub async fn sign_up(&self, email: &str) -> UserId {\n        std::process::exit(0);",
    );
    sandbox.write(&lib, &cheat);

    let run = sandbox.checker(&["run", LAZY, "--json"]);
    assert_eq!(
        run.code, 1,
        "exit(0) inside a test must not count as a pass"
    );
    let report = run.json();
    assert_eq!(tests_with_status(&report, "passed"), Vec::<String>::new());
    let message = report["tests"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("before the test reported a result"),
        "{message}"
    );
}

#[test]
fn a_compile_error_is_shown_as_the_compiler_renders_it() {
    let sandbox = Sandbox::new();
    sandbox.write(
        &format!("exercises/{LAZY}/src/lib.rs"),
        "pub fn broken( {}\n",
    );
    let run = sandbox.checker(&["run", LAZY]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("does not compile"), "{}", run.stdout);
    assert!(
        run.stdout.contains("src/lib.rs:1"),
        "the compiler's own rendering: {}",
        run.stdout
    );
}

#[test]
fn flooding_output_is_capped() {
    let sandbox = Sandbox::new();
    let lib = format!("exercises/{LAZY}/src/lib.rs");
    let flood = sandbox.read(&lib).replace(
        "pub async fn sign_up(&self, email: &str) -> UserId {",
        "pub async fn sign_up(&self, email: &str) -> UserId {\n        for i in 0..2_000_000 { println!(\"line {i}\"); }",
    );
    sandbox.write(&lib, &flood);
    let run = sandbox.checker(&["run", LAZY, "--json"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.len() < 2_000_000,
        "output is capped, got {} bytes",
        run.stdout.len()
    );
    let report = run.json();
    assert_eq!(
        tests_with_status(&report, "failed"),
        sandbox.untouched_failing(LAZY),
        "the verdicts survive the flood"
    );
}

#[test]
fn watch_runs_the_current_kata_and_quits_on_q() {
    let sandbox = Sandbox::new();
    let run = sandbox.checker_in_terminal(&["watch", LAZY], "q");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("01-lazy-futures · Futures are lazy"),
        "{}",
        run.stdout
    );
    let (all, failing) = (
        sandbox.test_names(LAZY).len(),
        sandbox.untouched_failing(LAZY).len(),
    );
    let summary = format!("{} of {all} tests passed", all - failing);
    assert!(run.stdout.contains(&summary), "{summary}: {}", run.stdout);
    assert!(
        run.stdout.contains("[h] hint"),
        "the keys are shown: {}",
        run.stdout
    );
}

#[test]
fn watch_moves_on_once_the_kata_passes() {
    let sandbox = Sandbox::new();
    let list = sandbox.checker(&["list", "--json"]).json();
    let second = list[1]["name"].as_str().unwrap().to_string();
    sandbox.solve(LAZY);
    let run = sandbox.checker_in_terminal(&["watch", LAZY], "q");
    let moved = format!("01-lazy-futures passed! On to {second}");
    assert!(run.stdout.contains(&moved), "{}", run.stdout);
    let progress = sandbox.checker(&["progress", "--json"]).json();
    assert_eq!(progress["current"], second.as_str());
}

#[test]
fn concurrent_commands_lose_no_update() {
    let sandbox = Sandbox::new();
    let hints: Vec<_> = (0..3)
        .map(|_| {
            util::checker_command(sandbox.root())
                .args(["hint", LAZY])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut hint in hints {
        assert!(hint.wait().unwrap().success());
    }
    let list = sandbox.checker(&["list", "--json"]).json();
    assert_eq!(
        list[0]["hints_shown"], 3,
        "three hints at once are three hints"
    );
}

#[test]
fn deleted_tests_count_as_missing_not_passed() {
    let sandbox = Sandbox::new();
    sandbox.checker(&["list"]);
    sandbox.solve(LAZY);
    std::fs::remove_file(sandbox.path(&format!("exercises/{LAZY}/tests/lazy_futures.rs"))).unwrap();
    let run = sandbox.checker(&["run", LAZY, "--json"]);
    assert_eq!(run.code, 1, "no tests is not a pass: {}", run.stdout);
    let report = run.json();
    assert_eq!(
        report["outcome"], "failed",
        "it compiled; the tests are missing"
    );
    assert_eq!(
        tests_with_status(&report, "missing"),
        sandbox.test_names(LAZY)
    );
    assert!(
        report["edited_files"]
            .to_string()
            .contains("tests/lazy_futures.rs"),
        "{report}"
    );
}

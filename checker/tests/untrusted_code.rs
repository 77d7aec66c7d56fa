//! Code under test is untrusted input: it writes straight to stdout, hangs before any test runs,
//! prints escape sequences, starts processes of its own. The checker still reports what really
//! happened and leaves nothing running. Each case is a fixture kata in a copy of the repository.

mod util;

use util::{tests_with_status, Sandbox};

/// kata.toml lines for a fixture kata with one test, `the_test`, that passes untouched.
fn one_test(timeout_secs: u64) -> String {
    format!("timeout_secs = {timeout_secs}\n[tests]\nthe_test = 1\n[untouched]\ncompiles = true\n")
}

const CALLS_RUN: &str = "#[test]\nfn the_test() {\n    fixture::run();\n}\n";

#[test]
fn code_that_writes_to_stdout_directly_still_passes() {
    let sandbox = Sandbox::new();
    // Direct writes are not captured by the test harness: they land in the same stream as its
    // result line, one of them without a newline.
    let lib = r#"
use std::io::Write;
pub fn run() {
    let mut out = std::io::stdout();
    writeln!(out, "test the_test ... FAILED").unwrap();
    write!(out, "no newline at the end").unwrap();
    out.flush().unwrap();
}
"#;
    let kata = sandbox.add_fixture_kata(lib, CALLS_RUN, &one_test(5));
    let run = sandbox.checker(&["run", kata, "--json"]);
    let report = run.json();
    assert_eq!(
        tests_with_status(&report, "passed"),
        ["the_test"],
        "a test that passes is seen to pass, whatever the code printed: {report}"
    );
    assert_eq!(run.code, 0);
}

#[test]
fn a_binary_that_hangs_before_listing_its_tests_is_stopped_at_the_timeout() {
    let sandbox = Sandbox::new();
    // A constructor runs before main, so before the harness can even list the tests.
    let lib = r#"
pub fn run() {}

#[used]
#[link_section = ".init_array"]
static HANG_WHEN_LISTED: extern "C" fn() = hang_when_listed;

extern "C" fn hang_when_listed() {
    if std::env::args().any(|a| a == "--list") {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}
"#;
    let kata = sandbox.add_fixture_kata(lib, CALLS_RUN, &one_test(2));
    let started = std::time::Instant::now();
    let run = sandbox.checker(&["run", kata, "--json"]);
    let report = run.json();
    assert_eq!(run.code, 1, "{report}");
    assert_eq!(tests_with_status(&report, "timed-out"), ["the_test"]);
    let message = report["tests"][0]["message"].as_str().unwrap();
    assert!(message.contains("did not even list its tests"), "{message}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "stopped near its 2 s timeout, not after {:?}",
        started.elapsed()
    );
}

#[test]
fn escape_sequences_from_a_test_are_shown_not_obeyed() {
    let sandbox = Sandbox::new();
    let lib = r#"
pub fn run() {
    println!("\x1b[2J\x1bc printed");
    panic!("\x1b[2J\x1bc\x1b]0;pwned\x07 failed");
}
"#;
    let kata = sandbox.add_fixture_kata(lib, CALLS_RUN, &one_test(5));
    let shown = sandbox.checker(&["run", kata]);
    assert_eq!(shown.code, 1);
    assert!(
        !shown.stdout.contains('\x1b') && !shown.stdout.contains('\x07'),
        "no raw control character reaches the terminal: {:?}",
        shown.stdout
    );
    assert!(shown.stdout.contains("␛[2J␛c"), "{}", shown.stdout);
    let report = sandbox.checker(&["run", kata, "--json"]).json();
    let test = &report["tests"][0];
    for field in ["message", "output"] {
        let text = test[field].as_str().unwrap();
        assert!(!text.contains('\x1b'), "{field}: {text:?}");
    }
}

#[test]
fn a_timeout_of_zero_seconds_is_refused_where_it_is_written() {
    let sandbox = Sandbox::new();
    let kata = sandbox.add_fixture_kata("pub fn run() {}\n", CALLS_RUN, &one_test(0));
    let list = sandbox.checker(&["list"]);
    assert!(
        list.stderr.contains("timeout_secs must be at least 1") && list.stderr.contains('^'),
        "a warning that points at the value: {}",
        list.stderr
    );
    assert!(
        list.stdout.contains("01-lazy-futures") && !list.stdout.contains(kata),
        "the other katas are still there: {}",
        list.stdout
    );
}

#[cfg(unix)]
mod signals {
    use super::*;
    use std::path::Path;
    use std::time::{Duration, Instant};

    /// The test starts a `sleep` (a grandchild of the checker), writes both pids to the file
    /// named by FIXTURE_PIDS, then hangs.
    const SPAWNS_AND_HANGS: &str = r#"
pub fn run() {
    let sleeper = std::process::Command::new("sleep").arg("300").spawn().unwrap();
    let pids = format!("{} {}\n", std::process::id(), sleeper.id());
    std::fs::write(std::env::var("FIXTURE_PIDS").unwrap(), pids).unwrap();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
"#;

    fn alive(pid: u32) -> bool {
        // A zombie has exited; it only waits to be reaped.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|s| !s.starts_with('Z'))
        })
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "gave up waiting: {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn read_pids(file: &Path) -> Vec<u32> {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Stops `checker run` with `signal` while its test hangs; returns the test's and the
    /// grandchild's pids.
    fn stop_mid_run(signal: rustix::process::Signal) -> Vec<u32> {
        let sandbox = Sandbox::new();
        let kata = sandbox.add_fixture_kata(SPAWNS_AND_HANGS, CALLS_RUN, &one_test(120));
        let pids_file = sandbox.path("pids");
        let mut checker = util::checker_command(sandbox.root())
            .args(["run", kata])
            .env("FIXTURE_PIDS", &pids_file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_until("the test to start its grandchild", || {
            read_pids(&pids_file).len() == 2
        });
        let pid = rustix::process::Pid::from_child(&checker);
        rustix::process::kill_process(pid, signal).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while checker.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the checker did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
        read_pids(&pids_file)
    }

    fn assert_all_gone(pids: &[u32], how: &str) {
        for &pid in pids {
            wait_until(&format!("process {pid} to be gone after {how}"), || {
                !alive(pid)
            });
        }
    }

    #[test]
    fn ctrl_c_stops_the_test_and_everything_it_started() {
        let pids = stop_mid_run(rustix::process::Signal::INT);
        assert_all_gone(&pids, "Ctrl-C");
    }

    #[test]
    fn sigterm_stops_the_test_and_everything_it_started() {
        let pids = stop_mid_run(rustix::process::Signal::TERM);
        assert_all_gone(&pids, "SIGTERM");
    }

    #[test]
    fn a_closed_terminal_stops_the_test_and_everything_it_started() {
        let pids = stop_mid_run(rustix::process::Signal::HUP);
        assert_all_gone(&pids, "SIGHUP");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_checker_killed_outright_takes_its_test_with_it() {
        let pids = stop_mid_run(rustix::process::Signal::KILL);
        assert_all_gone(&pids[..1], "SIGKILL of the checker");
        // The grandchild is out of reach once its parent is gone: end it here.
        if let Some(&sleeper) = pids.get(1) {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(sleeper as i32).unwrap(),
                rustix::process::Signal::KILL,
            );
        }
    }
}

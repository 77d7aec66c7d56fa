//! Reading what a test process did: libtest's output, its exit, a timeout, into a status and
//! the message a learner should see.

use crate::events::TestStatus;
use crate::kata::Kata;
use crate::process;

/// Decides a test's status from what its process did. A test passes only when the harness was
/// seen to report it passed and the process then exited cleanly.
pub fn verdict(
    name: &str,
    finished: &process::Finished,
    kata: &Kata,
) -> (TestStatus, Option<String>) {
    if finished.timed_out {
        let why = kata.meta.on_timeout.clone().unwrap_or_else(|| {
            "probably a deadlock, a task waiting for something that never happens, \
             or blocking code holding up the runtime"
                .to_string()
        });
        let secs = kata.timeout().as_secs();
        return (
            TestStatus::TimedOut,
            Some(format!("timed out after {secs}s and was stopped: {why}")),
        );
    }
    let stdout = &finished.stdout;
    let reported = |outcome: &str| harness_reported(stdout, name, outcome);
    let summary_ok = stdout
        .lines()
        .any(|l| l.starts_with("test result: ok. 1 passed;"));
    let exited_ok = finished.status.is_some_and(|s| s.success());
    if reported("ok") && summary_ok && exited_ok {
        return (TestStatus::Passed, None);
    }
    if reported("FAILED") {
        return (TestStatus::Failed, Some(failure_message(name, stdout)));
    }
    if reported("ignored") {
        let why = "the test is marked #[ignore], so it never ran: remove the attribute";
        return (TestStatus::Failed, Some(why.to_string()));
    }
    (TestStatus::Failed, Some(early_exit_message(finished)))
}

/// Whether libtest printed `test NAME ... OUTCOME` (with ` - should panic` for such tests).
fn harness_reported(stdout: &str, name: &str, outcome: &str) -> bool {
    let (plain, should_panic) = (
        format!("test {name} ... {outcome}"),
        format!("test {name} - should panic ... {outcome}"),
    );
    stdout.lines().any(|l| l == plain || l == should_panic)
}

/// The test's own failure message: what libtest printed under `---- name stdout ----`.
fn failure_message(name: &str, stdout: &str) -> String {
    let header = format!("---- {name} stdout ----\n");
    let Some(start) = stdout.find(&header).map(|i| i + header.len()) else {
        return "the test failed without a message".to_string();
    };
    let body = &stdout[start..];
    let end = body.find("\n\nfailures:\n").unwrap_or(body.len());
    body[..end]
        .lines()
        .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn early_exit_message(finished: &process::Finished) -> String {
    if finished.stderr.contains("memory allocation of") {
        return "the test ran out of memory: it used more than the memory limit of a test process"
            .to_string();
    }
    let how = match finished.status {
        Some(status) if status.code().is_some() => {
            format!("exit status {}", status.code().unwrap_or_default())
        }
        Some(status) => signal_description(status),
        None => "no exit status".to_string(),
    };
    let mut message = format!(
        "the test process ended ({how}) before the test reported a result: \
         does the code call std::process::exit, abort, or overflow its stack?"
    );
    let stderr = finished.stderr.trim();
    if !stderr.is_empty() {
        message.push('\n');
        message.push_str(stderr);
    }
    message
}

#[cfg(unix)]
fn signal_description(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    status
        .signal()
        .map_or("killed".to_string(), |s| format!("killed by signal {s}"))
}

#[cfg(not(unix))]
fn signal_description(_status: std::process::ExitStatus) -> String {
    "killed".to_string()
}

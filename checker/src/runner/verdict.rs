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
///
/// The runner asks for two test threads, and libtest then writes the whole line once the test
/// has ended, so the code's own output (a direct write to stdout is not captured) can land
/// before the line but never inside it. Output without a final newline runs into the line's
/// start, hence the suffix match.
fn harness_reported(stdout: &str, name: &str, outcome: &str) -> bool {
    let (plain, should_panic) = (
        format!("test {name} ... {outcome}"),
        format!("test {name} - should panic ... {outcome}"),
    );
    stdout
        .lines()
        .any(|l| l.ends_with(&plain) || l.ends_with(&should_panic))
}

/// The test's own failure message: the message of its panic, without libtest's
/// `thread '...' panicked at` framing, with where it panicked on a last line. Panics of other
/// threads and whatever the test printed stay in the test's output, not in its message.
fn failure_message(name: &str, stdout: &str) -> String {
    let header = format!("---- {name} stdout ----\n");
    let Some(start) = stdout.find(&header).map(|i| i + header.len()) else {
        return "the test failed without a message".to_string();
    };
    let body = &stdout[start..];
    let end = body.find("\n\nfailures:\n").unwrap_or(body.len());
    let body = &body[..end];
    let panics = panics(body);
    let own = panics
        .iter()
        .rev()
        .find(|p| p.thread == name)
        .or(panics.last());
    match own {
        Some(panic) if panic.message.is_empty() => format!("panicked at {}", panic.location),
        Some(panic) => format!("{}\nat {}", panic.message, panic.location),
        // A test that returned `Err` prints `Error: ...` and nothing else of note.
        None => without_notes(body),
    }
}

/// One panic as libtest's capture shows it.
#[derive(Debug, PartialEq)]
struct Panic<'a> {
    thread: &'a str,
    location: &'a str,
    message: String,
}

/// Every panic in a test's captured output: a `thread 'NAME' (ID) panicked at LOCATION:` line
/// (without the id before Rust 1.92), then the message, up to std's notes or the next panic.
fn panics(body: &str) -> Vec<Panic<'_>> {
    let mut found: Vec<Panic> = Vec::new();
    let mut message: Vec<&str> = Vec::new();
    let mut in_message = false;
    for line in body.lines() {
        if let Some((thread, location)) = panic_header(line) {
            if let Some(last) = found.last_mut() {
                last.message = trimmed_lines(&message);
            }
            message.clear();
            found.push(Panic {
                thread,
                location,
                message: String::new(),
            });
            in_message = true;
        } else if line.starts_with("note: ") || line == "stack backtrace:" {
            in_message = false;
        } else if in_message {
            message.push(line);
        }
    }
    if let Some(last) = found.last_mut() {
        last.message = trimmed_lines(&message);
    }
    found
}

fn panic_header(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("thread '")?;
    let (thread, location) = rest.rsplit_once(" panicked at ")?;
    let location = location.strip_suffix(':')?;
    let thread = match thread.strip_suffix(')').and_then(|t| t.rsplit_once("' (")) {
        Some((name, id)) if id.chars().all(|c| c.is_ascii_digit()) => name,
        _ => thread.strip_suffix('\'')?,
    };
    Some((thread, location))
}

fn trimmed_lines(lines: &[&str]) -> String {
    lines.join("\n").trim_matches('\n').trim_end().to_string()
}

fn without_notes(body: &str) -> String {
    body.lines()
        .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// How a process ended, in a few words: `exit status 3`, `killed by signal 9`.
pub fn describe_exit(status: Option<std::process::ExitStatus>) -> String {
    match status {
        Some(status) if status.code().is_some() => {
            format!("exit status {}", status.code().unwrap_or_default())
        }
        Some(status) => signal_description(status),
        None => "no exit status".to_string(),
    }
}

fn early_exit_message(finished: &process::Finished) -> String {
    if finished.stderr.contains("memory allocation of") {
        return "the test ran out of memory: it used more than the memory limit of a test process"
            .to_string();
    }
    let how = describe_exit(finished.status);
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

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PANICS: &str = "running 1 test\ntest k::fails ... FAILED\n\nfailures:\n\n\
---- k::fails stdout ----\nprinted by the test\n\n\
thread 'tokio-runtime-worker' (4220) panicked at src/lib.rs:4:37:\nworker blew up: 42\n\
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\
thread 'k::fails' (4219) panicked at tests/t.rs:6:5:\n\
assertion `left == right` failed: the teaching message\nsecond line\n  left: 1\n right: 2\n\n\
failures:\n    k::fails\n\ntest result: FAILED. 0 passed; 1 failed;\n";

    #[test]
    fn the_message_is_the_tests_own_panic_without_the_thread_line() {
        assert_eq!(
            failure_message("k::fails", TWO_PANICS),
            "assertion `left == right` failed: the teaching message\nsecond line\n  left: 1\n right: 2\nat tests/t.rs:6:5"
        );
    }

    #[test]
    fn panic_headers_with_and_without_a_thread_id_are_read() {
        assert_eq!(
            panic_header("thread 'a::b' (12) panicked at tests/x.rs:1:2:"),
            Some(("a::b", "tests/x.rs:1:2"))
        );
        assert_eq!(
            panic_header("thread '<unnamed>' panicked at src/lib.rs:9:1:"),
            Some(("<unnamed>", "src/lib.rs:9:1"))
        );
        assert_eq!(panic_header("thread is fine"), None);
    }

    #[test]
    fn a_test_that_returned_an_error_shows_it() {
        let stdout = "---- k::errs stdout ----\nError: the store is down\n\n\nfailures:\n";
        assert_eq!(
            failure_message("k::errs", stdout),
            "Error: the store is down"
        );
    }

    #[test]
    fn the_harness_line_is_found_after_the_codes_own_unfinished_output() {
        let stdout = "running 1 test\nno newlinetest k::t ... ok\n";
        assert!(harness_reported(stdout, "k::t", "ok"));
        assert!(!harness_reported(stdout, "k::t", "FAILED"));
        assert!(!harness_reported("test k::t ... ok, not\n", "k::t", "ok"));
    }
}

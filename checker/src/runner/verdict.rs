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
    // Anywhere in a line, like the result line: the code's output may run into its start.
    let summary_ok = stdout
        .lines()
        .any(|l| l.contains("test result: ok. 1 passed;"));
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

/// Why a test's transcript looks like libtest's without being what libtest writes when it runs
/// one test of a binary that listed `listed` tests (`--exact NAME --test-threads=2`), if it does:
/// `running 1 test`, one result line for NAME, then, once the test has ended, one summary
/// counting that test and `listed - 1` filtered out, and nothing of the harness after it.
///
/// Code under test can print all of that itself and exit; nothing inside the test process is
/// out of its reach. What it cannot easily do is match a harness that has not finished: a
/// result with no summary, a summary whose counts do not fit the binary, two of anything. A test
/// that did not get as far as libtest's first line, or timed out, is not judged here.
pub fn transcript_suspicion(
    name: &str,
    finished: &process::Finished,
    listed: usize,
) -> Option<String> {
    if finished.timed_out {
        return None;
    }
    let lines: Vec<&str> = finished.stdout.lines().collect();
    // Captured output of a failed test is the test's own text, between libtest's `failures:`
    // heading and the `failures:` list before the summary: anything may stand there.
    let last_summary = lines.iter().rposition(|l| l.contains("test result: "));
    let first_failures = lines.iter().position(|l| *l == "failures:");
    let last_failures = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| **l == "failures:" && last_summary.is_some_and(|s| *i < s))
        .map(|(i, _)| i)
        .next_back();
    let opaque = |i: usize| match (first_failures, last_failures) {
        (Some(first), Some(last)) => first < i && i < last,
        _ => false,
    };
    let find = |test: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (0..lines.len())
            .filter(|&i| !opaque(i) && test(lines[i]))
            .collect()
    };
    let runs = find(&|l| running_count(l).is_some());
    let summaries = find(&|l| l.contains("test result: "));
    let results = find(&|l| result_line(l).is_some());
    let failures = first_failures;
    if runs.is_empty() && summaries.is_empty() && results.is_empty() {
        return None;
    }
    if runs.len() != 1 || running_count(lines[runs[0]]) != Some(1) {
        return Some(format!(
            "libtest announces one run of one test, but the output announces {} run(s)",
            runs.len()
        ));
    }
    let Some(&summary_at) = summaries.first() else {
        return (!results.is_empty()).then(|| {
            "the output reports a test result, but the process ended before libtest's summary: \
             the harness never finished (a forged transcript and an early exit?)"
                .to_string()
        });
    };
    if summaries.len() > 1 {
        return Some(format!(
            "the output holds {} test summaries; libtest writes one",
            summaries.len()
        ));
    }
    let Some(summary) = parse_summary(lines[summary_at]) else {
        return Some("the test summary is not in libtest's form".to_string());
    };
    if summary.passed + summary.failed + summary.ignored != 1 || summary.measured != 0 {
        return Some("the test summary does not count exactly one test".to_string());
    }
    if listed > 0 && summary.filtered_out != listed - 1 {
        return Some(format!(
            "the summary says {} filtered out, but the test binary lists {listed} tests, so \
             libtest would say {}",
            summary.filtered_out,
            listed - 1
        ));
    }
    if results.len() != 1 || results[0] < runs[0] || results[0] > summary_at {
        return Some(format!(
            "the output holds {} test result lines; libtest writes one, between its first line \
             and its summary",
            results.len()
        ));
    }
    let (reported_name, outcome) = result_line(lines[results[0]]).expect("found above");
    let fits = match outcome {
        "ok" => summary.passed == 1 && summary.ok,
        "FAILED" => summary.failed == 1 && !summary.ok,
        _ => summary.ignored == 1 && summary.ok,
    };
    if !reported_name.ends_with(name) || !fits {
        return Some(format!(
            "the result line (`{reported_name} ... {outcome}`) does not fit the test or its summary"
        ));
    }
    if summary.ok && failures.is_some_and(|f| f < summary_at) {
        return Some("a passing summary after a list of failures".to_string());
    }
    let after = lines[summary_at + 1..].iter().find(|l| {
        running_count(l).is_some()
            || result_line(l).is_some()
            || matches!(l.trim(), "failures:" | "successes:")
    });
    after.map(|line| format!("libtest's lines after its summary: `{}`", line.trim()))
}

/// `running N test(s)`, possibly after unterminated output of the code's own: N.
fn running_count(line: &str) -> Option<usize> {
    let at = line.rfind("running ")?;
    let rest = &line[at + "running ".len()..];
    let count = rest
        .strip_suffix(" tests")
        .or_else(|| rest.strip_suffix(" test"))?;
    count.parse().ok()
}

/// `test NAME ... OUTCOME`: the name as written (with ` - should panic`) and the outcome.
fn result_line(line: &str) -> Option<(&str, &str)> {
    let (head, outcome) = line.rsplit_once(" ... ")?;
    let outcome = match outcome {
        "ok" | "FAILED" | "ignored" => outcome,
        o if o.starts_with("ignored, ") => "ignored",
        _ => return None,
    };
    let at = head.find("test ")?;
    let name = head[at + "test ".len()..].trim_end_matches(" - should panic");
    Some((name, outcome))
}

struct Summary {
    ok: bool,
    passed: usize,
    failed: usize,
    ignored: usize,
    measured: usize,
    filtered_out: usize,
}

/// `test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 4 filtered out; finished in
/// 0.00s`, exactly.
fn parse_summary(line: &str) -> Option<Summary> {
    let at = line.find("test result: ")?;
    let rest = &line[at + "test result: ".len()..];
    let (verdict, rest) = rest.split_once(". ")?;
    let ok = match verdict {
        "ok" => true,
        "FAILED" => false,
        _ => return None,
    };
    let parts: Vec<&str> = rest.split("; ").collect();
    let [passed, failed, ignored, measured, filtered, finished] = parts.as_slice() else {
        return None;
    };
    let count = |part: &str, label: &str| part.strip_suffix(label)?.parse::<usize>().ok();
    let seconds = finished
        .strip_prefix("finished in ")?
        .strip_suffix('s')?
        .parse::<f64>()
        .ok()?;
    (seconds >= 0.0).then_some(())?;
    Some(Summary {
        ok,
        passed: count(passed, " passed")?,
        failed: count(failed, " failed")?,
        ignored: count(ignored, " ignored")?,
        measured: count(measured, " measured")?,
        filtered_out: count(filtered, " filtered out")?,
    })
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

    fn ended(stdout: &str) -> process::Finished {
        process::Finished {
            status: None,
            timed_out: false,
            stdout: stdout.to_string(),
            stderr: String::new(),
            duration: std::time::Duration::ZERO,
        }
    }

    const HONEST: &str =
        "\nrunning 1 test\ntest k::t ... ok\n\ntest result: ok. 1 passed; 0 failed; \
        0 ignored; 0 measured; 2 filtered out; finished in 0.01s\n\n";

    #[test]
    fn libtests_own_transcripts_are_not_suspicious() {
        assert_eq!(transcript_suspicion("k::t", &ended(HONEST), 3), None);
        let raw = HONEST.replace("test k::t", "the code's own words, no newlinetest k::t");
        assert_eq!(transcript_suspicion("k::t", &ended(&raw), 3), None);
        let failed = "\nrunning 1 test\ntest k::t ... FAILED\n\nfailures:\n\n---- k::t stdout ----\n\
            test k::t ... ok\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\n\
            failures:\n    k::t\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; \
            2 filtered out; finished in 0.10s\n\n";
        assert_eq!(transcript_suspicion("k::t", &ended(failed), 3), None);
        assert_eq!(
            transcript_suspicion("k::t", &ended("\nrunning 1 test\n"), 3),
            None
        );
        assert_eq!(transcript_suspicion("k::t", &ended(""), 3), None);
    }

    #[test]
    fn forged_transcripts_are_suspicious() {
        let wrong_count = HONEST.replace("2 filtered out", "0 filtered out");
        let forged_twice = HONEST.replace("\ntest result", "\ntest k::t ... ok\ntest result");
        let no_summary = "\nrunning 1 test\ntest k::t ... ok\n";
        let after = format!("{HONEST}test k::t ... ok\n");
        let two_summaries = format!("{HONEST}{}", &HONEST[HONEST.find("test result").unwrap()..]);
        for forged in [
            &wrong_count,
            &forged_twice,
            no_summary,
            &after,
            &two_summaries,
        ] {
            assert!(
                transcript_suspicion("k::t", &ended(forged), 3).is_some(),
                "{forged}"
            );
        }
    }

    #[test]
    fn the_harness_line_is_found_after_the_codes_own_unfinished_output() {
        let stdout = "running 1 test\nno newlinetest k::t ... ok\n";
        assert!(harness_reported(stdout, "k::t", "ok"));
        assert!(!harness_reported(stdout, "k::t", "FAILED"));
        assert!(!harness_reported("test k::t ... ok, not\n", "k::t", "ok"));
    }
}

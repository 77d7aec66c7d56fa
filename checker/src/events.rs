//! The one contract between the runner and everything that shows or stores results.
//!
//! The runner emits events and never prints; reporters listen and never start processes.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestStatus {
    Passed,
    Failed,
    TimedOut,
    /// Expected by the kata's metadata but absent from the compiled tests.
    Missing,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub status: TestStatus,
    /// The test's own failure message (its panic), or the checker's explanation.
    pub message: Option<String>,
    /// Everything else the test printed, capped.
    pub output: String,
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
    pub points: u32,
    pub max_points: u32,
    /// Why the test's output looks like libtest's without being what libtest writes for one
    /// test (a forged transcript, say), whatever the test scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspicious: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LintResult {
    pub lint: String,
    pub clean: bool,
    /// The lint's findings as clippy renders them.
    pub findings: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    Failed,
    DidNotCompile,
}

/// Everything one check of one crate found.
#[derive(Debug, Clone, Serialize)]
pub struct CrateReport {
    pub kata: String,
    pub package: String,
    pub outcome: Outcome,
    /// Compiler output as cargo renders it, when the crate did not compile.
    pub diagnostics: Option<String>,
    pub tests: Vec<TestResult>,
    pub lints: Vec<LintResult>,
    pub points: u32,
    pub max_points: u32,
}

impl CrateReport {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// The one line that says why the check did not pass: the first compiler error, or the
    /// first test that did not pass with the first line of its message, or the first lint.
    pub fn headline(&self) -> Option<String> {
        let line = match self.outcome {
            Outcome::Passed => return None,
            Outcome::DidNotCompile => {
                let diagnostics = strip_ansi(self.diagnostics.as_deref().unwrap_or(""));
                let error = diagnostics
                    .lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("error");
                format!("does not compile: {}", error.trim())
            }
            Outcome::Failed => match self.tests.iter().find(|t| t.status != TestStatus::Passed) {
                Some(test) => {
                    let message = strip_ansi(test.message.as_deref().unwrap_or(""));
                    let first = message.lines().map(str::trim).find(|l| !l.is_empty());
                    match (test.status, first) {
                        (TestStatus::TimedOut, _) => format!("{}: timed out", test.name),
                        (TestStatus::Missing, _) => format!("{}: missing", test.name),
                        (_, Some(first)) => format!("{}: {first}", test.name),
                        (_, None) => format!("{}: failed", test.name),
                    }
                }
                None => match self.lints.iter().find(|l| !l.clean) {
                    Some(lint) => format!("clippy: {}", lint.lint),
                    None => "failed".to_string(),
                },
            },
        };
        Some(line)
    }
}

/// Text without terminal colour codes (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip to the end of the escape sequence: its final byte is a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A line of cargo's progress ("Compiling ..."), for a status line.
    BuildProgress(&'a str),
    BuildFinished,
    /// The tests are listed and about to run: how many (grading's progress bar counts them).
    RunStarted {
        #[cfg_attr(not(feature = "grading"), allow(dead_code))]
        tests: usize,
    },
    TestFinished(&'a TestResult),
    CrateFinished(&'a CrateReport),
}

/// Anything that wants to hear about a run.
pub trait Reporter {
    fn event(&mut self, event: &Event<'_>);
}

/// A reporter that listens to nothing, for runs whose results are only stored or compared.
pub struct Silent;

impl Reporter for Silent {
    fn event(&mut self, _: &Event<'_>) {}
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome, tests: Vec<TestResult>, diagnostics: Option<&str>) -> CrateReport {
        CrateReport {
            kata: "01-k".into(),
            package: "kata-01-k".into(),
            outcome,
            diagnostics: diagnostics.map(String::from),
            tests,
            lints: vec![],
            points: 0,
            max_points: 2,
        }
    }

    fn test(name: &str, status: TestStatus, message: Option<&str>) -> TestResult {
        TestResult {
            name: name.into(),
            status,
            message: message.map(String::from),
            output: String::new(),
            duration: Duration::ZERO,
            points: 0,
            max_points: 1,
            suspicious: None,
        }
    }

    #[test]
    fn the_headline_is_the_first_test_that_did_not_pass_and_its_first_line() {
        let tests = vec![
            test("a_passes", TestStatus::Passed, None),
            test(
                "b_fails",
                TestStatus::Failed,
                Some("\n  assertion failed: ran twice\nleft: 2\n"),
            ),
            test("c_hangs", TestStatus::TimedOut, Some("killed after 3 s")),
        ];
        let headline = report(Outcome::Failed, tests, None).headline();
        assert_eq!(
            headline.as_deref(),
            Some("b_fails: assertion failed: ran twice")
        );
    }

    #[test]
    fn the_headline_of_a_compile_error_is_its_first_error_without_colour() {
        let diagnostics = "\x1b[1m\x1b[33mwarning\x1b[0m: unused\n\x1b[1m\x1b[31merror[E0277]\x1b[0m: `Rc<u8>` cannot be sent\n";
        let headline = report(Outcome::DidNotCompile, vec![], Some(diagnostics)).headline();
        assert_eq!(
            headline.as_deref(),
            Some("does not compile: error[E0277]: `Rc<u8>` cannot be sent")
        );
        assert_eq!(report(Outcome::Passed, vec![], None).headline(), None);
    }
}

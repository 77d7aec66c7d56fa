//! Judging what a check found against what the kata declares: the untouched code fails as its
//! metadata says, the reference solution and every accepted fix pass, and every rejected fix
//! fails the tests it names.

use crate::events::{CrateReport, Outcome, TestStatus};
use crate::kata::Kata;
use crate::kept_fixes::{KeptFix, Kind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How one kept fix fared.
#[derive(Debug, Serialize)]
pub struct FixVerdict {
    pub fix: String,
    pub summary: String,
    /// What a rejected fix names in its `Fails:` line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fails: Vec<String>,
    /// The tests (and `clippy::` lints) that did not pass on it in the first run.
    pub did_not_pass: Vec<String>,
    pub result: String,
    /// Whether it behaved as declared in every run.
    pub ok: bool,
}

pub fn untouched(kata: &Kata, report: &CrateReport, problems: &mut Vec<String>) {
    let expected = &kata.meta.untouched;
    match (expected.compiles, report.outcome) {
        (false, Outcome::DidNotCompile) => {
            let diagnostics = report.diagnostics.as_deref().unwrap_or("");
            match &expected.compile_error {
                Some(wanted) if !diagnostics.contains(wanted.as_str()) => problems.push(format!(
                    "untouched: does not compile, but not with `{wanted}`:\n{diagnostics}"
                )),
                Some(_) => {}
                None => problems
                    .push("metadata: a kata that must not compile names its compile_error".into()),
            }
        }
        (false, _) => {
            problems.push("untouched: compiles, but the metadata says it must not".into())
        }
        (true, Outcome::DidNotCompile) => problems.push(format!(
            "untouched: does not compile:\n{}",
            report.diagnostics.as_deref().unwrap_or("")
        )),
        (true, _) => {
            let wanted: BTreeMap<&str, TestStatus> = kata
                .meta
                .tests
                .keys()
                .map(|name| {
                    let status = if expected.failing.contains(name) {
                        TestStatus::Failed
                    } else if expected.timed_out.contains(name) {
                        TestStatus::TimedOut
                    } else {
                        TestStatus::Passed
                    };
                    (name.as_str(), status)
                })
                .collect();
            compare_tests("untouched", &wanted, report, problems);
            let fired: BTreeSet<&str> = report
                .lints
                .iter()
                .filter(|l| !l.clean)
                .map(|l| l.lint.as_str())
                .collect();
            let listed: BTreeSet<&str> = expected.lints.iter().map(String::as_str).collect();
            if fired != listed {
                problems.push(format!(
                    "untouched: lints firing {fired:?}, metadata says {listed:?}"
                ));
            }
        }
    }
}

/// Code that must pass every test and every listed lint: the solution, an accepted fix.
pub fn passes_everything(
    side: &str,
    kata: &Kata,
    report: &CrateReport,
    problems: &mut Vec<String>,
) {
    if report.outcome == Outcome::DidNotCompile {
        problems.push(format!(
            "{side}: does not compile:\n{}",
            report.diagnostics.as_deref().unwrap_or("")
        ));
        return;
    }
    let all_pass: BTreeMap<&str, TestStatus> = kata
        .meta
        .tests
        .keys()
        .map(|n| (n.as_str(), TestStatus::Passed))
        .collect();
    compare_tests(side, &all_pass, report, problems);
    for lint in report.lints.iter().filter(|l| !l.clean) {
        problems.push(format!(
            "{side}: clippy::{} fires:\n{}",
            lint.lint, lint.findings
        ));
    }
}

pub fn kept_fix(
    kata: &Kata,
    fix: &KeptFix,
    report: &CrateReport,
    problems: &mut Vec<String>,
) -> FixVerdict {
    let side = fix.label();
    let before = problems.len();
    match fix.kind {
        Kind::Accepted => passes_everything(&side, kata, report, problems),
        Kind::Rejected if report.outcome == Outcome::DidNotCompile => problems.push(format!(
            "{side}: does not compile, so it proves nothing about the tests:\n{}",
            report.diagnostics.as_deref().unwrap_or("")
        )),
        Kind::Rejected => {
            let caught = did_not_pass(report);
            for name in fix.fails.iter().filter(|n| !caught.contains(n)) {
                problems.push(format!(
                    "{side}: `{name}` passes on this wrong fix, but its `Fails:` line names it: \
                     the tests no longer catch it ({})",
                    fix.summary
                ));
            }
        }
    }
    FixVerdict {
        fix: side,
        summary: fix.summary.clone(),
        fails: fix.fails.clone(),
        did_not_pass: did_not_pass(report),
        result: describe(report),
        ok: problems.len() == before,
    }
}

fn did_not_pass(report: &CrateReport) -> Vec<String> {
    let tests = report
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed)
        .map(|t| t.name.clone());
    let lints = report
        .lints
        .iter()
        .filter(|l| !l.clean)
        .map(|l| format!("clippy::{}", l.lint));
    tests.chain(lints).collect()
}

fn compare_tests(
    side: &str,
    wanted: &BTreeMap<&str, TestStatus>,
    report: &CrateReport,
    problems: &mut Vec<String>,
) {
    for test in &report.tests {
        match wanted.get(test.name.as_str()) {
            None => problems.push(format!(
                "{side}: test `{}` is not listed in kata.toml [tests]",
                test.name
            )),
            Some(&status) if status != test.status => problems.push(format!(
                "{side}: `{}` {}, expected {}{}",
                test.name,
                label(test.status),
                label(status),
                test.message
                    .as_deref()
                    .map(|m| format!("\n{m}"))
                    .unwrap_or_default()
            )),
            Some(_) => {}
        }
    }
}

pub fn metadata_problems(kata: &Kata) -> Vec<String> {
    let meta = &kata.meta;
    let mut problems = Vec::new();
    let listed = meta
        .untouched
        .failing
        .iter()
        .chain(&meta.untouched.timed_out);
    for name in listed.filter(|n| !meta.tests.contains_key(*n)) {
        problems.push(format!(
            "metadata: [untouched] names `{name}`, which is not in [tests]"
        ));
    }
    for lint in meta
        .untouched
        .lints
        .iter()
        .filter(|l| !meta.clippy_lints.contains(l))
    {
        problems.push(format!(
            "metadata: [untouched] lint `{lint}` is not in clippy_lints"
        ));
    }
    let prefix = kata
        .name
        .split('-')
        .next()
        .and_then(|n| n.parse::<u32>().ok());
    if prefix != Some(meta.order) {
        problems.push(format!(
            "metadata: order {} does not match the folder number",
            meta.order
        ));
    }
    if meta.hints.len() < 2 {
        problems.push("metadata: a kata needs at least two hints".into());
    }
    if !kata.solution_dir.join("Cargo.toml").is_file() {
        problems.push(format!("solutions/{} is missing", kata.name));
    }
    problems
}

fn label(status: TestStatus) -> &'static str {
    match status {
        TestStatus::Passed => "passed",
        TestStatus::Failed => "failed",
        TestStatus::TimedOut => "timed out",
        TestStatus::Missing => "is missing",
    }
}

/// A check's result in a few words: `3/5 pass`, `does not compile`.
pub fn describe(report: &CrateReport) -> String {
    match report.outcome {
        Outcome::DidNotCompile => "does not compile".into(),
        _ => {
            let passed = report
                .tests
                .iter()
                .filter(|t| t.status == TestStatus::Passed)
                .count();
            let lints = report.lints.iter().filter(|l| !l.clean).count();
            let lints = if lints > 0 {
                format!(", {lints} lint(s)")
            } else {
                String::new()
            };
            format!("{passed}/{} pass{lints}", report.tests.len())
        }
    }
}

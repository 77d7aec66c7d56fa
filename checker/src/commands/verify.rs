//! `verify`: for authors and CI. Proves that every untouched kata fails exactly as its metadata
//! says and that every reference solution passes every test and lint.

use super::{until_interrupted, Workspace};
use crate::events::{CrateReport, Outcome, TestStatus};
use crate::exit;
use crate::kata::Kata;
use crate::report::{json, terminal};
use crate::runner::{self, Check, Options};
use anyhow::Result;
use colored::Colorize;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

#[derive(Serialize)]
struct Verdict {
    kata: String,
    untouched: String,
    solution: String,
    problems: Vec<String>,
    /// Runs (of `--repeat`) that found a problem; between 0 and all of them means flaky.
    mismatched_runs: u32,
    runs: u32,
}

pub fn verify(
    workspace: &Workspace,
    names: &[String],
    as_json: bool,
    repeat: u32,
) -> Result<ExitCode> {
    let katas: Vec<&Kata> = if names.is_empty() {
        workspace.catalogue.katas.iter().collect()
    } else {
        names
            .iter()
            .map(|n| workspace.catalogue.resolve(n))
            .collect::<Result<_>>()?
    };
    let checks: Vec<Check> = katas
        .iter()
        .flat_map(|&kata| [Check::exercise(kata), Check::solution(kata)])
        .collect();
    let mut reporter = terminal::Terminal::progress_only();
    let options = Options::new(false);
    let mut verdicts: Vec<Verdict> = Vec::new();
    for _ in 0..repeat {
        let check = runner::check(&workspace.repo.root, &checks, &options, &mut reporter);
        let reports = until_interrupted(check)?;
        let run = katas
            .iter()
            .zip(reports.chunks(2))
            .map(|(kata, pair)| judge(kata, &pair[0], &pair[1]));
        if verdicts.is_empty() {
            verdicts = run.collect();
        } else {
            verdicts
                .iter_mut()
                .zip(run)
                .for_each(|(kept, new)| kept.add_run(new));
        }
    }
    let ok =
        verdicts.iter().all(|v| v.problems.is_empty()) && workspace.catalogue.broken.is_empty();
    if as_json {
        json::print(&verdicts)?;
    } else {
        print_table(&verdicts);
    }
    Ok(exit::from_passed(ok))
}

impl Verdict {
    /// Folds in another run of the same kata, keeping the first problems seen.
    fn add_run(&mut self, run: Verdict) {
        self.runs += 1;
        self.mismatched_runs += run.mismatched_runs;
        if self.problems.is_empty() {
            self.problems = run.problems;
        }
    }

    fn flaky(&self) -> bool {
        self.mismatched_runs > 0 && self.mismatched_runs < self.runs
    }
}

fn judge(kata: &Kata, untouched: &CrateReport, solution: &CrateReport) -> Verdict {
    let mut problems = metadata_problems(kata);
    let expected = &kata.meta.untouched;
    match (expected.compiles, untouched.outcome) {
        (false, Outcome::DidNotCompile) => {
            let diagnostics = untouched.diagnostics.as_deref().unwrap_or("");
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
            untouched.diagnostics.as_deref().unwrap_or("")
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
            compare_tests("untouched", &wanted, untouched, &mut problems);
            let fired: BTreeSet<&str> = untouched
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
    let all_pass: BTreeMap<&str, TestStatus> = kata
        .meta
        .tests
        .keys()
        .map(|n| (n.as_str(), TestStatus::Passed))
        .collect();
    if solution.outcome == Outcome::DidNotCompile {
        problems.push(format!(
            "solution: does not compile:\n{}",
            solution.diagnostics.as_deref().unwrap_or("")
        ));
    } else {
        compare_tests("solution", &all_pass, solution, &mut problems);
        for lint in solution.lints.iter().filter(|l| !l.clean) {
            problems.push(format!(
                "solution: clippy::{} fires:\n{}",
                lint.lint, lint.findings
            ));
        }
    }
    Verdict {
        kata: kata.name.clone(),
        untouched: describe(untouched),
        solution: describe(solution),
        mismatched_runs: u32::from(!problems.is_empty()),
        runs: 1,
        problems,
    }
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

fn metadata_problems(kata: &Kata) -> Vec<String> {
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

fn describe(report: &CrateReport) -> String {
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

fn print_table(verdicts: &[Verdict]) {
    let width = verdicts
        .iter()
        .map(|v| v.kata.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<width$}  {:<22} {:<14} verdict",
        "kata", "untouched", "solution"
    );
    for v in verdicts {
        let verdict = if v.problems.is_empty() {
            "ok".green()
        } else if v.flaky() {
            format!(
                "FLAKY ({} of {} runs mismatched)",
                v.mismatched_runs, v.runs
            )
            .red()
            .bold()
        } else {
            "MISMATCH".red().bold()
        };
        println!(
            "{:<width$}  {:<22} {:<14} {verdict}",
            v.kata, v.untouched, v.solution
        );
    }
    for v in verdicts.iter().filter(|v| !v.problems.is_empty()) {
        println!("\n{}", v.kata.bold());
        for problem in &v.problems {
            println!("  - {}", problem.replace('\n', "\n    "));
        }
    }
    let bad = verdicts.iter().filter(|v| !v.problems.is_empty()).count();
    let runs = verdicts.first().map_or(1, |v| v.runs);
    let times = if runs > 1 {
        format!(" {runs} times each")
    } else {
        String::new()
    };
    let summary = format!("{} katas verified{times}, {bad} mismatched", verdicts.len());
    println!(
        "\n{}",
        if bad == 0 {
            summary.green()
        } else {
            summary.red()
        }
    );
}

//! `verify`: for authors and CI. Proves, for every kata, that the untouched code fails exactly as
//! its metadata says, that the reference solution and every accepted kept fix pass every test and
//! lint, and that every rejected kept fix fails the tests it names.

mod fixes;
mod judge;
mod table;

use super::{until_interrupted, Workspace};
use crate::events::CrateReport;
use crate::exit;
use crate::kata::Kata;
use crate::kept_fixes::{self, KeptFix, Kind};
use crate::report::{json, terminal};
use crate::runner::{self, Check, Options};
use anyhow::Result;
use fixes::FixWorkspace;
use judge::FixVerdict;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
pub struct Verdict {
    kata: String,
    untouched: String,
    solution: String,
    accepted: Vec<FixVerdict>,
    rejected: Vec<FixVerdict>,
    problems: Vec<String>,
    /// Runs (of `--repeat`) that found a problem; between 0 and all of them means flaky.
    mismatched_runs: u32,
    runs: u32,
}

/// A kata with its kept fixes and where each is built.
struct Subject<'a> {
    kata: &'a Kata,
    fixes: Vec<KeptFix>,
    fix_problems: Vec<String>,
    fix_checks: Vec<Check<'a>>,
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
    let target = workspace.repo.target_dir();
    let fix_space = FixWorkspace::open(&workspace.repo.root, &target)?;
    if names.is_empty() {
        fix_space.forget_other_katas(&workspace.catalogue.katas)?;
    }
    let mut subjects = Vec::new();
    for &kata in &katas {
        let found = kept_fixes::discover(kata);
        let crates = fix_space.lay_out(kata, &found.fixes)?;
        let fix_checks = crates
            .into_iter()
            .map(|c| Check {
                kata,
                package: c.package,
                dir: c.dir,
                group: None,
            })
            .collect();
        subjects.push(Subject {
            kata,
            fixes: found.fixes,
            fix_problems: found.problems,
            fix_checks,
        });
    }
    let repo_checks: Vec<Check> = katas
        .iter()
        .flat_map(|&kata| [Check::exercise(kata), Check::solution(kata)])
        .collect();
    let fix_checks: Vec<Check> = subjects
        .iter()
        .flat_map(|s| s.fix_checks.iter().cloned())
        .collect();

    let mut reporter = terminal::Terminal::progress_only();
    let options = Options {
        target_dir: Some(target),
        ..Options::new(false)
    };
    let mut verdicts: Vec<Verdict> = Vec::new();
    for _ in 0..repeat {
        let (reports, fix_reports) = until_interrupted(async {
            let reports =
                runner::check(&workspace.repo.root, &repo_checks, &options, &mut reporter).await?;
            let fix_reports = if fix_checks.is_empty() {
                Vec::new()
            } else {
                runner::check(&fix_space.root, &fix_checks, &options, &mut reporter).await?
            };
            Ok((reports, fix_reports))
        })?;
        let mut fix_reports = fix_reports.iter();
        let run = subjects
            .iter()
            .zip(reports.chunks(2))
            .map(|(subject, pair)| {
                let kata_fix_reports: Vec<&CrateReport> =
                    fix_reports.by_ref().take(subject.fixes.len()).collect();
                judge_kata(subject, &pair[0], &pair[1], &kata_fix_reports)
            });
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
        table::print(&verdicts);
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
        let fixes = self.accepted.iter_mut().chain(self.rejected.iter_mut());
        for (kept, new) in fixes.zip(run.accepted.iter().chain(&run.rejected)) {
            kept.ok &= new.ok;
        }
    }

    fn flaky(&self) -> bool {
        self.mismatched_runs > 0 && self.mismatched_runs < self.runs
    }
}

fn judge_kata(
    subject: &Subject,
    untouched: &CrateReport,
    solution: &CrateReport,
    fix_reports: &[&CrateReport],
) -> Verdict {
    let kata = subject.kata;
    let mut problems = judge::metadata_problems(kata);
    problems.extend(subject.fix_problems.iter().cloned());
    judge::untouched(kata, untouched, &mut problems);
    judge::passes_everything("solution", kata, solution, &mut problems);
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    for (fix, report) in subject.fixes.iter().zip(fix_reports) {
        let verdict = judge::kept_fix(kata, fix, report, &mut problems);
        match fix.kind {
            Kind::Accepted => accepted.push(verdict),
            Kind::Rejected => rejected.push(verdict),
        }
    }
    Verdict {
        kata: kata.name.clone(),
        untouched: judge::describe(untouched),
        solution: judge::describe(solution),
        accepted,
        rejected,
        mismatched_runs: u32::from(!problems.is_empty()),
        runs: 1,
        problems,
    }
}

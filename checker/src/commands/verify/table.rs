//! The verdict table `verify` prints for people.

use super::{FixVerdict, Verdict};
use colored::Colorize;

pub fn print(verdicts: &[Verdict]) {
    let width = verdicts
        .iter()
        .map(|v| v.kata.len())
        .max()
        .unwrap_or(4)
        .max(4);
    outln!(
        "{:<width$}  {:<22} {:<10} {:<10} {:<10} verdict",
        "kata",
        "untouched",
        "solution",
        "accepted",
        "rejected"
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
        outln!(
            "{:<width$}  {:<22} {:<10} {:<10} {:<10} {verdict}",
            v.kata,
            v.untouched,
            v.solution,
            kept(&v.accepted, "pass"),
            kept(&v.rejected, "fail"),
        );
    }
    for v in verdicts.iter().filter(|v| !v.problems.is_empty()) {
        outln!("\n{}", v.kata.bold());
        for problem in &v.problems {
            outln!("  - {}", problem.replace('\n', "\n    "));
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
    outln!(
        "\n{}",
        if bad == 0 {
            summary.green()
        } else {
            summary.red()
        }
    );
}

/// How many kept fixes of one kind behaved as declared: `2/2 pass`, `3/3 fail`.
fn kept(fixes: &[FixVerdict], behaviour: &str) -> String {
    let ok = fixes.iter().filter(|f| f.ok).count();
    format!("{ok}/{} {behaviour}", fixes.len())
}

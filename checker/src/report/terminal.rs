//! The human view of a run: live test lines, then the failures with their own messages.

use crate::events::{CrateReport, Event, Outcome, Reporter, TestResult, TestStatus};
use crate::kata::Kata;
use crate::screen;
use colored::Colorize;
use std::io::{IsTerminal, Write};

pub struct Terminal {
    /// Whether cargo's progress can be drawn on one self-erasing status line.
    status_line: bool,
    drew_status: bool,
    /// Whether test results are shown, or only the build's progress.
    results: bool,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            status_line: std::io::stderr().is_terminal(),
            drew_status: false,
            results: true,
        }
    }

    /// Shows cargo's progress only, for commands that print their own summary.
    pub fn progress_only() -> Terminal {
        Terminal {
            results: false,
            ..Terminal::new()
        }
    }

    fn clear_status(&mut self) {
        if self.drew_status {
            eprint!("\r\x1b[2K");
            self.drew_status = false;
        }
    }
}

impl Reporter for Terminal {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::BuildProgress(line) => {
                if self.status_line && !line.is_empty() {
                    // One line that never wraps, or erasing it would leave a piece behind.
                    let width = screen::width().unwrap_or(100).saturating_sub(1);
                    let line: String = line.chars().take(width.min(100)).collect();
                    eprint!("\r\x1b[2K{}", line.dimmed());
                    let _ = std::io::stderr().flush();
                    self.drew_status = true;
                }
            }
            Event::BuildFinished => self.clear_status(),
            Event::RunStarted { .. } => {}
            Event::TestFinished(result) if self.results => {
                outln!("  {} {}", symbol(result.status), result.name)
            }
            Event::CrateFinished(report) if self.results => print_details(report),
            Event::TestFinished(_) | Event::CrateFinished(_) => {}
        }
    }
}

pub fn header(kata: &Kata) {
    let title = format!("{} · {} ({})", kata.name, kata.meta.title, kata.meta.id);
    outln!("{} {}", "━━".cyan(), title.bold());
}

fn symbol(status: TestStatus) -> colored::ColoredString {
    match status {
        TestStatus::Passed => "✓".green(),
        TestStatus::Failed => "✗".red(),
        TestStatus::TimedOut => "⏱".yellow(),
        TestStatus::Missing => "?".red(),
    }
}

fn print_details(report: &CrateReport) {
    if report.outcome == Outcome::DidNotCompile {
        outln!(
            "\n{}\n",
            "It does not compile yet. The compiler says:".red().bold()
        );
        outln!("{}", report.diagnostics.as_deref().unwrap_or("").trim_end());
        return;
    }
    for test in report
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed)
    {
        print_failure(test);
    }
    for lint in report.lints.iter().filter(|l| !l.clean) {
        outln!("\n  {} clippy::{} fires:", "✗".red(), lint.lint.bold());
        outln!("{}", lint.findings.trim_end());
    }
    let passed = report
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .count();
    let summary = format!(
        "{passed} of {} tests passed · {}/{} points",
        report.tests.len(),
        report.points,
        report.max_points
    );
    let summary = if report.passed() {
        summary.green().bold()
    } else {
        summary.yellow()
    };
    outln!("\n  {summary}");
}

fn print_failure(test: &TestResult) {
    let what = match test.status {
        TestStatus::TimedOut => "timed out",
        TestStatus::Missing => "missing",
        _ => "failed",
    };
    outln!(
        "\n  {} {} {}",
        symbol(test.status),
        test.name.bold(),
        what.dimmed()
    );
    screen::print_indented(test.message.as_deref().unwrap_or(""), 6);
}

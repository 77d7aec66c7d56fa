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
}

#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A line of cargo's progress ("Compiling ..."), for a status line.
    BuildProgress(&'a str),
    BuildFinished,
    /// The tests are listed and about to run.
    RunStarted {
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

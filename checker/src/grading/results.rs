//! A class's grades: per test, per kata and per student. This is what `grade` writes as
//! `results.json`, what shards merge, and what every other output is made from.

use super::review::Finding;
use crate::events::{CrateReport, Outcome, TestResult, TestStatus};
use crate::kata::Kata;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The version of `results.json`.
pub const FORMAT: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GradeStatus {
    Passed,
    Failed,
    TimedOut,
    DidNotCompile,
    Missing,
}

impl GradeStatus {
    pub fn label(self) -> &'static str {
        match self {
            GradeStatus::Passed => "passed",
            GradeStatus::Failed => "failed",
            GradeStatus::TimedOut => "timed out",
            GradeStatus::DidNotCompile => "did not compile",
            GradeStatus::Missing => "missing",
        }
    }
}

/// What a test does for a grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// It fails on the untouched kata: passing it earns its points.
    Earns,
    /// It already passes on the untouched kata (a released test, as `kata.toml` records; a
    /// hidden one, as the handout's run showed): passing it earns nothing, breaking it costs its
    /// points (never taking the kata below zero).
    Guards,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestGrade {
    pub student: String,
    pub kata: String,
    pub test: String,
    pub status: GradeStatus,
    pub role: Role,
    /// Points earned: 0 for a guard.
    pub score: u32,
    /// Points this test can earn: 0 for a guard.
    pub max_score: u32,
    /// The test's points in the kata's manifest (or hidden.toml).
    pub points: u32,
    /// Points taken off the kata because this guard did not pass.
    pub penalty: u32,
    /// One of the instructor's hidden tests (`--hidden`).
    pub hidden: bool,
    pub duration_ms: u64,
    pub message: Option<String>,
    /// What the test printed, truncated.
    pub output: String,
    /// Why the transcript does not look like libtest's own, whatever the test scored.
    pub suspicious: Option<String>,
}

impl TestGrade {
    /// What the test adds to the kata's score: its points, or minus its penalty.
    pub fn net_score(&self) -> i64 {
        i64::from(self.score) - i64::from(self.penalty)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentGrade {
    pub student: String,
    pub score: u32,
    pub max_score: u32,
    /// Score per kata, by kata name.
    pub katas: BTreeMap<String, u32>,
    /// Protected files the student changed (tests, manifests, build scripts); the grade used
    /// the released files regardless.
    pub tampered: Vec<String>,
    /// What went wrong while grading this student, if anything.
    pub problems: Vec<String>,
    /// What the review found in the student's sources that an honest fix never needs.
    pub review: Vec<Finding>,
    /// Tests that ran but did not count: not the instructor's, or the same test again.
    pub ignored_tests: Vec<String>,
}

impl StudentGrade {
    pub fn new(student: &str) -> StudentGrade {
        StudentGrade {
            student: student.to_string(),
            score: 0,
            max_score: 0,
            katas: BTreeMap::new(),
            tampered: Vec::new(),
            problems: Vec::new(),
            review: Vec::new(),
            ignored_tests: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassResults {
    pub format: u32,
    /// The graded katas in course order, with the points each can earn.
    pub katas: Vec<(String, u32)>,
    pub students: Vec<StudentGrade>,
    pub tests: Vec<TestGrade>,
}

/// How much of a test's output is kept in the results.
const OUTPUT_KEPT: usize = 4 * 1024;

/// How a kata is scored: each of its tests (released and hidden) with its points and role.
#[derive(Debug, Clone)]
pub struct Scoring {
    pub kata: String,
    /// By test name, in name order: points, role, hidden.
    pub tests: BTreeMap<String, (u32, Role, bool)>,
}

impl Scoring {
    /// `released` is the kata as the instructor ships it; `graded` the same with hidden tests;
    /// `passed_on_handout` the tests that passed when the handout was run with its hidden tests
    /// (which is how a hidden test is known to fail untouched, or not).
    pub fn of(released: &Kata, graded: &Kata, passed_on_handout: &BTreeSet<String>) -> Scoring {
        let untouched = &released.meta.untouched;
        let tests = graded
            .meta
            .tests
            .iter()
            .map(|(name, &points)| {
                let hidden = !released.meta.tests.contains_key(name);
                let fails_untouched = if hidden {
                    !passed_on_handout.contains(name)
                } else {
                    !untouched.compiles
                        || untouched.failing.contains(name)
                        || untouched.timed_out.contains(name)
                };
                let role = if fails_untouched {
                    Role::Earns
                } else {
                    Role::Guards
                };
                (name.clone(), (points, role, hidden))
            })
            .collect();
        Scoring {
            kata: graded.name.clone(),
            tests,
        }
    }

    /// The points a submission can earn in this kata.
    pub fn max_points(&self) -> u32 {
        self.tests
            .values()
            .filter(|(_, role, _)| *role == Role::Earns)
            .map(|(points, _, _)| points)
            .sum()
    }
}

/// The test grades of one student's kata, from its report (all missing without one), and the
/// tests that ran without counting. Each test of the kata counts once, by name: when the run
/// holds it more than once, its worst result counts.
pub fn kata_tests(
    student: &str,
    scoring: &Scoring,
    report: Option<&CrateReport>,
) -> (Vec<TestGrade>, Vec<String>) {
    let grade = |test: &str, status, message: Option<String>| {
        let (points, role, hidden) = scoring.tests[test];
        TestGrade {
            student: student.to_string(),
            kata: scoring.kata.clone(),
            test: test.to_string(),
            status,
            role,
            score: 0,
            max_score: if role == Role::Earns { points } else { 0 },
            points,
            penalty: 0,
            hidden,
            duration_ms: 0,
            message,
            output: String::new(),
            suspicious: None,
        }
    };
    let mut ignored = Vec::new();
    let mut grades: Vec<TestGrade> = match report {
        None => {
            let why = "the submission has no sources for this kata".to_string();
            scoring
                .tests
                .keys()
                .map(|t| grade(t, GradeStatus::Missing, Some(why.clone())))
                .collect()
        }
        Some(report) if report.outcome == Outcome::DidNotCompile => {
            let why = report
                .diagnostics
                .clone()
                .map(|d| truncate(&d, OUTPUT_KEPT));
            scoring
                .tests
                .keys()
                .map(|t| grade(t, GradeStatus::DidNotCompile, why.clone()))
                .collect()
        }
        Some(report) => {
            for test in &report.tests {
                if !scoring.tests.contains_key(&test.name) {
                    ignored.push(format!(
                        "{}: `{}` is not a test of this kata",
                        scoring.kata, test.name
                    ));
                }
            }
            scoring
                .tests
                .keys()
                .map(|name| {
                    let runs: Vec<&TestResult> =
                        report.tests.iter().filter(|t| &t.name == name).collect();
                    if runs.len() > 1 {
                        ignored.push(format!(
                            "{}: `{name}` ran {} times; it counts once, with its worst result",
                            scoring.kata,
                            runs.len()
                        ));
                    }
                    let Some(run) = runs
                        .iter()
                        .find(|t| t.status != TestStatus::Passed)
                        .or(runs.first())
                    else {
                        let why = "this test was not found in the compiled tests".to_string();
                        return grade(name, GradeStatus::Missing, Some(why));
                    };
                    TestGrade {
                        duration_ms: run.duration.as_millis() as u64,
                        output: truncate(&run.output, OUTPUT_KEPT),
                        suspicious: runs.iter().find_map(|t| t.suspicious.clone()),
                        ..grade(name, status_of(run.status), run.message.clone())
                    }
                })
                .collect()
        }
    };
    // Earned points first; then each guard that did not pass takes its points off, down to 0.
    for test in &mut grades {
        if test.role == Role::Earns && test.status == GradeStatus::Passed {
            test.score = test.points;
        }
    }
    let mut left: u32 = grades.iter().map(|t| t.score).sum();
    for test in &mut grades {
        if test.role == Role::Guards && test.status != GradeStatus::Passed {
            test.penalty = test.points.min(left);
            left -= test.penalty;
        }
    }
    (grades, ignored)
}

fn status_of(status: TestStatus) -> GradeStatus {
    match status {
        TestStatus::Passed => GradeStatus::Passed,
        TestStatus::Failed => GradeStatus::Failed,
        TestStatus::TimedOut => GradeStatus::TimedOut,
        TestStatus::Missing => GradeStatus::Missing,
    }
}

impl ClassResults {
    /// Totals per student from the test grades.
    pub fn new(
        katas: &[Scoring],
        mut students: Vec<StudentGrade>,
        tests: Vec<TestGrade>,
    ) -> ClassResults {
        for student in &mut students {
            for kata in katas {
                let score: i64 = tests
                    .iter()
                    .filter(|t| t.student == student.student && t.kata == kata.kata)
                    .map(TestGrade::net_score)
                    .sum();
                student
                    .katas
                    .insert(kata.kata.clone(), u32::try_from(score.max(0)).unwrap_or(0));
            }
            student.score = student.katas.values().sum();
            student.max_score = katas.iter().map(Scoring::max_points).sum();
        }
        let mut results = ClassResults {
            format: FORMAT,
            katas: katas
                .iter()
                .map(|k| (k.kata.clone(), k.max_points()))
                .collect(),
            students,
            tests,
        };
        results.sort();
        results
    }

    /// One student's grade, by name.
    pub fn student(&self, name: &str) -> Option<&StudentGrade> {
        self.students.iter().find(|s| s.student == name)
    }

    /// One student's test grades, in the results' order.
    pub fn tests_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a TestGrade> + 'a {
        self.tests.iter().filter(move |t| t.student == name)
    }

    /// Students by name, tests by student, kata in course order and name: the same class
    /// graded in one run or in shards gives the same results.
    fn sort(&mut self) {
        self.students.sort_by(|a, b| a.student.cmp(&b.student));
        let position: BTreeMap<&str, usize> = self
            .katas
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect();
        self.tests.sort_by(|a, b| {
            (&a.student, position.get(a.kata.as_str()), &a.test).cmp(&(
                &b.student,
                position.get(b.kata.as_str()),
                &b.test,
            ))
        });
    }

    /// One class from the results of several shards.
    pub fn merge(shards: Vec<ClassResults>) -> anyhow::Result<ClassResults> {
        let mut shards = shards.into_iter();
        let mut merged = shards
            .next()
            .ok_or_else(|| anyhow::anyhow!("no results to merge"))?;
        for shard in shards {
            if shard.format != merged.format || shard.katas != merged.katas {
                anyhow::bail!("the shards graded different katas or come from different checkers");
            }
            for student in &shard.students {
                if merged.students.iter().any(|s| s.student == student.student) {
                    anyhow::bail!(
                        "student `{}` is in two shards: merge each shard once",
                        student.student
                    );
                }
            }
            merged.students.extend(shard.students);
            merged.tests.extend(shard.tests);
        }
        merged.sort();
        Ok(merged)
    }
}

fn truncate(text: &str, keep: usize) -> String {
    if text.len() <= keep {
        return text.to_string();
    }
    let mut end = keep;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[... {} more bytes cut ...]",
        &text[..end],
        text.len() - end
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ran(name: &str, status: TestStatus) -> TestResult {
        TestResult {
            name: name.into(),
            status,
            message: None,
            output: String::new(),
            duration: Duration::ZERO,
            points: 5,
            max_points: 5,
            suspicious: None,
        }
    }

    #[test]
    fn a_test_counts_once_with_its_worst_result_and_strangers_are_ignored() {
        let scoring = Scoring {
            kata: "01-k".into(),
            tests: BTreeMap::from([
                ("fixed".to_string(), (2, Role::Earns, false)),
                ("kept".to_string(), (1, Role::Guards, false)),
            ]),
        };
        let report = CrateReport {
            kata: "01-k".into(),
            package: "p".into(),
            outcome: Outcome::Failed,
            diagnostics: None,
            tests: vec![
                ran("fixed", TestStatus::Passed),
                ran("fixed", TestStatus::Passed),
                ran("kept", TestStatus::Passed),
                ran("kept", TestStatus::Failed),
                ran("mine", TestStatus::Passed),
            ],
            lints: vec![],
            points: 0,
            max_points: 3,
        };
        let (grades, ignored) = kata_tests("ada", &scoring, Some(&report));
        assert_eq!(grades.len(), 2);
        let net: i64 = grades.iter().map(TestGrade::net_score).sum();
        assert_eq!(net, 1, "2 earned, 1 lost to the broken guard");
        assert_eq!(ignored.len(), 3, "{ignored:?}");
        assert!(ignored.iter().any(|i| i.contains("`mine` is not a test")));
    }
}

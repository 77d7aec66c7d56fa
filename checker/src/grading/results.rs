//! A class's grades: per test, per kata and per student. This is what `grade` writes as
//! `results.json`, what shards merge, and what every other output is made from.

use crate::events::{CrateReport, Outcome, TestStatus};
use crate::kata::Kata;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of `results.json`.
pub const FORMAT: u32 = 1;

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestGrade {
    pub student: String,
    pub kata: String,
    pub test: String,
    pub status: GradeStatus,
    pub score: u32,
    pub max_score: u32,
    pub duration_ms: u64,
    pub message: Option<String>,
    /// What the test printed, truncated.
    pub output: String,
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassResults {
    pub format: u32,
    /// The graded katas in course order, with their maximum scores.
    pub katas: Vec<(String, u32)>,
    pub students: Vec<StudentGrade>,
    pub tests: Vec<TestGrade>,
}

/// How much of a test's output is kept in the results.
const OUTPUT_KEPT: usize = 4 * 1024;

/// The test grades of one student's kata: from its report, or all missing without one.
pub fn kata_tests(student: &str, kata: &Kata, report: Option<&CrateReport>) -> Vec<TestGrade> {
    let grade = |test: &str, status, message: Option<String>| TestGrade {
        student: student.to_string(),
        kata: kata.name.clone(),
        test: test.to_string(),
        status,
        score: 0,
        max_score: kata.points_for(test),
        duration_ms: 0,
        message,
        output: String::new(),
    };
    let Some(report) = report else {
        let why = "the submission has no sources for this kata".to_string();
        return kata
            .meta
            .tests
            .keys()
            .map(|t| grade(t, GradeStatus::Missing, Some(why.clone())))
            .collect();
    };
    if report.outcome == Outcome::DidNotCompile {
        let why = report
            .diagnostics
            .clone()
            .map(|d| truncate(&d, OUTPUT_KEPT));
        return kata
            .meta
            .tests
            .keys()
            .map(|t| grade(t, GradeStatus::DidNotCompile, why.clone()))
            .collect();
    }
    report
        .tests
        .iter()
        .filter(|t| kata.meta.tests.contains_key(&t.name))
        .map(|t| TestGrade {
            status: match t.status {
                TestStatus::Passed => GradeStatus::Passed,
                TestStatus::Failed => GradeStatus::Failed,
                TestStatus::TimedOut => GradeStatus::TimedOut,
                TestStatus::Missing => GradeStatus::Missing,
            },
            score: t.points,
            duration_ms: t.duration.as_millis() as u64,
            message: t.message.clone(),
            output: truncate(&t.output, OUTPUT_KEPT),
            ..grade(&t.name, GradeStatus::Failed, None)
        })
        .collect()
}

impl ClassResults {
    /// Totals per student from the test grades.
    pub fn new(
        katas: &[&Kata],
        mut students: Vec<StudentGrade>,
        tests: Vec<TestGrade>,
    ) -> ClassResults {
        for student in &mut students {
            for kata in katas {
                let score = tests
                    .iter()
                    .filter(|t| t.student == student.student && t.kata == kata.name)
                    .map(|t| t.score)
                    .sum();
                student.katas.insert(kata.name.clone(), score);
            }
            student.score = student.katas.values().sum();
            student.max_score = katas.iter().map(|k| k.max_points()).sum();
        }
        ClassResults {
            format: FORMAT,
            katas: katas
                .iter()
                .map(|k| (k.name.clone(), k.max_points()))
                .collect(),
            students,
            tests,
        }
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
            merged.students.extend(shard.students);
            merged.tests.extend(shard.tests);
        }
        merged.students.sort_by(|a, b| a.student.cmp(&b.student));
        merged.students.dedup_by(|a, b| a.student == b.student);
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

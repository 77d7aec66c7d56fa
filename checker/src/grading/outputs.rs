//! The formats instructors already use, all made from one `ClassResults`: a gradebook CSV in
//! the spirit of nbgrader's export, per-test JSON, JUnit XML, Gradescope's `results.json`, a
//! similarity CSV, and a table for the terminal.

use super::results::{ClassResults, GradeStatus, Role, StudentGrade, TestGrade};
use super::similarity::SimilarPair;
use crate::cli::HiddenVisibility;
use crate::progress;
use crate::sanitize;
use anyhow::{Context, Result};
use colored::Colorize;
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;

/// Writes every file output into `dir`.
/// Without `similar`, no similarity.csv is written (merging shards cannot compute it).
pub fn write_all(
    dir: &Path,
    results: &ClassResults,
    similar: Option<&[SimilarPair]>,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, text: String| write_file(&dir.join(name), &text);
    write(
        "results.json",
        serde_json::to_string_pretty(results)? + "\n",
    )?;
    write("gradebook.csv", gradebook_csv(results))?;
    write("junit.xml", junit_xml(results))?;
    if let Some(similar) = similar {
        write("similarity.csv", similarity_csv(similar))?;
    }
    Ok(())
}

/// Writes one output file whole or not at all (see `progress::replace_file`): a grading killed
/// while writing leaves the file as it was, never truncated, and "results in ..." is said only
/// once every file is on the disk.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .map_or("output".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    progress::replace_file(path, &tmp, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// One row per student: student, score, max score, each kata's score, the protected files they
/// changed, and what the review found (with suspicious test transcripts).
pub fn gradebook_csv(results: &ClassResults) -> String {
    let mut header = vec!["student".to_string(), "score".into(), "max_score".into()];
    header.extend(results.katas.iter().map(|(name, _)| name.clone()));
    header.push("tampered_files".into());
    header.push("review".into());
    let mut out = csv_row(&header);
    for student in &results.students {
        let mut row = vec![
            student.student.clone(),
            student.score.to_string(),
            student.max_score.to_string(),
        ];
        row.extend(
            results
                .katas
                .iter()
                .map(|(name, _)| student.katas.get(name).copied().unwrap_or(0).to_string()),
        );
        row.push(student.tampered.join("; "));
        row.push(review_notes(results, &student.student).join("; "));
        out.push_str(&csv_row(&row));
    }
    out
}

/// What an instructor should look at for a student: each review finding, and each test whose
/// transcript was not libtest's own, as `kata: what`.
pub fn review_notes(results: &ClassResults, student: &str) -> Vec<String> {
    notes(results, student, Audience::Instructor)
}

/// Who reads a text: the student never reads the name of a hidden test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    Instructor,
    Student,
}

fn notes(results: &ClassResults, student: &str, audience: Audience) -> Vec<String> {
    let Some(grade) = results.student(student) else {
        return Vec::new();
    };
    let findings = grade
        .review
        .iter()
        .map(|f| format!("{}: {}", f.kata, f.describe()));
    let suspicious = results.tests_of(student).filter_map(move |t| {
        if t.hidden && audience == Audience::Student {
            return None;
        }
        let why = t.suspicious.as_ref()?;
        Some(format!(
            "{}: {} has a suspicious transcript ({why})",
            t.kata, t.test
        ))
    });
    findings.chain(suspicious).collect()
}

fn similarity_csv(pairs: &[SimilarPair]) -> String {
    let mut out = csv_row(&["kata", "student_a", "student_b", "score", "size"].map(String::from));
    for p in pairs {
        let row = [
            p.kata.clone(),
            p.student_a.clone(),
            p.student_b.clone(),
            format!("{:.2}", p.score),
            p.size.to_string(),
        ];
        out.push_str(&csv_row(&row));
    }
    out
}

fn csv_row(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            let f = neutralized(f);
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect();
    quoted.join(",") + "\n"
}

/// A cell a spreadsheet would read as a formula (`=HYPERLINK(..)`, `+`, `-`, `@`, or a tab or
/// carriage return before one) starts with an apostrophe instead, which shows it as text.
fn neutralized(field: &str) -> String {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}")
    } else {
        field.to_string()
    }
}

/// JUnit XML: one `<testsuite>` per student and kata, one `<testcase>` per test.
pub fn junit_xml(results: &ClassResults) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failed = |t: &TestGrade| t.status != GradeStatus::Passed;
    let total_failed = results.tests.iter().filter(|t| failed(t)).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"kata grades\" tests=\"{}\" failures=\"{total_failed}\">",
        results.tests.len()
    );
    for student in &results.students {
        for (kata, _) in &results.katas {
            let tests: Vec<&TestGrade> = results
                .tests_of(&student.student)
                .filter(|t| &t.kata == kata)
                .collect();
            let seconds: f64 = tests.iter().map(|t| t.duration_ms as f64 / 1000.0).sum();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{seconds:.3}\">",
                xml(&format!("{}/{kata}", student.student)),
                tests.len(),
                tests.iter().filter(|t| failed(t)).count()
            );
            for test in tests {
                let _ = write!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                    xml(&format!("{}.{kata}", student.student)),
                    xml(&test.test),
                    test.duration_ms as f64 / 1000.0
                );
                if test.status == GradeStatus::Passed {
                    out.push_str("/>\n");
                } else {
                    let message = test.message.as_deref().unwrap_or("");
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        xml(first_line(message)),
                        test.status.label(),
                        xml(message)
                    );
                }
            }
            out.push_str("  </testsuite>\n");
        }
    }
    out.push_str("</testsuites>\n");
    out
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("thread '"))
        .unwrap_or("")
}

/// Escapes text for XML, dropping characters XML 1.0 cannot hold (test output may have any):
/// controls other than tab and line ends, and U+FFFE and U+FFFF. Line ends are written as
/// character references so that attribute values keep them.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// XML 1.0's `Char`: tab, line feed, carriage return, U+0020 to U+D7FF, U+E000 to U+FFFD and
/// U+10000 onwards (a Rust `char` is never a surrogate).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Gradescope's `results.json` for one submission. Hidden tests carry `visibility`; problems
/// with the submission and what the review found are in the submission's `output`, where the
/// student sees them (without a word about hidden tests).
pub fn gradescope_json(
    results: &ClassResults,
    student: &str,
    hidden: HiddenVisibility,
) -> Result<String> {
    let grade = results
        .student(student)
        .context("the submission was not graded")?;
    let tests: Vec<_> = results
        .tests_of(student)
        .map(|t| {
            let mut test = json!({
                "name": test_title(t),
                "score": t.net_score(),
                "max_score": t.max_score,
                "status": if t.status == GradeStatus::Passed { "passed" } else { "failed" },
                "output": test_output(t),
            });
            if t.hidden {
                test["visibility"] = json!(hidden.gradescope());
            }
            test
        })
        .collect();
    Ok(serde_json::to_string_pretty(&json!({
        "score": grade.score,
        "output": submission_output(results, grade),
        "tests": tests,
    }))?)
}

/// `kata · test`, with what kind of test it is when it is not an ordinary one.
fn test_title(t: &TestGrade) -> String {
    match t.role {
        Role::Guards => format!(
            "{} · {} (already passes on the handout: breaking it costs {} point{})",
            t.kata,
            t.test,
            t.points,
            if t.points == 1 { "" } else { "s" }
        ),
        Role::Earns => format!("{} · {}", t.kata, t.test),
    }
}

fn test_output(t: &TestGrade) -> String {
    let mut output = format!(
        "{}: {}",
        t.status.label(),
        t.message.as_deref().unwrap_or("")
    );
    output.truncate(output.trim_end().len());
    if let Some(why) = &t.suspicious {
        output.push_str(&format!("\nSuspicious transcript: {why}"));
    }
    output
}

/// Everything about a submission as a whole that its student should read.
fn submission_output(results: &ClassResults, grade: &StudentGrade) -> String {
    let mut sections = Vec::new();
    let mut section = |title: &str, lines: &[String]| {
        if !lines.is_empty() {
            sections.push(format!("{title}\n- {}", lines.join("\n- ")));
        }
    };
    section("Problems with the submission:", &grade.problems);
    section(
        "Changed files that grading ignored (your grade used the released ones):",
        &grade.tampered,
    );
    section(
        "Flagged for review (an honest fix never needs these):",
        &notes(results, &grade.student, Audience::Student),
    );
    section(
        "Tests that ran but did not count:",
        &ignored_for_student(results, grade),
    );
    sections.join("\n\n")
}

/// The tests that did not count, but for those that name a hidden test (`kata: `name` ...`).
fn ignored_for_student(results: &ClassResults, grade: &StudentGrade) -> Vec<String> {
    let hidden: Vec<String> = results
        .tests_of(&grade.student)
        .filter(|t| t.hidden)
        .map(|t| format!("{}: `{}`", t.kata, t.test))
        .collect();
    grade
        .ignored_tests
        .iter()
        .filter(|entry| !hidden.iter().any(|h| entry.starts_with(h.as_str())))
        .cloned()
        .collect()
}

/// The payload GitHub Classroom's autograding reporter reads from a runner step (its `result`
/// output, base64-encoded): one test per kata test with the points it adds (a broken guard
/// subtracts), and the points that can be earned as `max_score`.
pub fn classroom_json(results: &ClassResults, student: &str) -> Result<String> {
    let grade = results
        .student(student)
        .context("the submission was not graded")?;
    // The student reads this in their own repository's workflow log: a hidden test shows its
    // points and status, never its name or its messages.
    let mut hidden = 0;
    let tests: Vec<_> = results
        .tests_of(student)
        .map(|t| {
            let (name, message) = if t.hidden {
                hidden += 1;
                (
                    format!("{} · hidden test {hidden}", t.kata),
                    t.status.label().to_string(),
                )
            } else {
                (test_title(t), test_output(t))
            };
            json!({
                "name": name,
                "status": if t.status == GradeStatus::Passed { "pass" } else { "fail" },
                "score": t.net_score(),
                "message": message,
                "filename": format!("exercises/{}", t.kata),
                "execution_time": format!("{:.2}s", t.duration_ms as f64 / 1000.0),
            })
        })
        .collect();
    let all_passed = results
        .tests_of(student)
        .all(|t| t.status == GradeStatus::Passed);
    Ok(serde_json::to_string(&json!({
        "version": 1,
        "status": if all_passed { "pass" } else { "fail" },
        "max_score": grade.max_score,
        "tests": tests,
    }))? + "\n")
}

/// Students down, katas across, each cell the kata's score; under each student what to look at.
pub fn print_summary(results: &ClassResults) {
    let name = |s: &str| sanitize::visible(s).replace(['\n', '\t'], " ");
    let width = results
        .students
        .iter()
        .map(|s| name(&s.student).chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut header = format!("{:<width$} {:>9}", "student", "score");
    for (kata, _) in &results.katas {
        let _ = write!(header, " {:>5}", &kata[..2.min(kata.len())]);
    }
    outln!("{}", header.bold());
    for student in &results.students {
        let mut line = format!(
            "{:<width$} {:>9}",
            name(&student.student),
            format!("{}/{}", student.score, student.max_score)
        );
        for (kata, max) in &results.katas {
            let score = student.katas.get(kata).copied().unwrap_or(0);
            let cell = format!(" {:>5}", format!("{score}/{max}"));
            let _ = write!(
                line,
                "{}",
                if score == *max {
                    cell.green()
                } else if score == 0 {
                    cell.red()
                } else {
                    cell.yellow()
                }
            );
        }
        outln!("{line}");
        let notes = [
            ("tampered:", student.tampered.clone()),
            ("problem:", student.problems.clone()),
            ("review:", review_notes(results, &student.student)),
            ("ignored:", student.ignored_tests.clone()),
        ];
        for (label, lines) in notes {
            for text in lines {
                outln!("  {} {}", label.red().bold(), name(&text));
            }
        }
    }
}

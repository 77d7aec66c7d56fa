//! The formats instructors already use, all made from one `ClassResults`: a gradebook CSV in
//! the spirit of nbgrader's export, per-test JSON, JUnit XML, Gradescope's `results.json`, a
//! similarity CSV, and a table for the terminal.

use super::results::{ClassResults, GradeStatus, TestGrade};
use super::similarity::SimilarPair;
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
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
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

/// One row per student: student, score, max score, then each kata's score.
pub fn gradebook_csv(results: &ClassResults) -> String {
    let mut header = vec!["student".to_string(), "score".into(), "max_score".into()];
    header.extend(results.katas.iter().map(|(name, _)| name.clone()));
    header.push("tampered_files".into());
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
        out.push_str(&csv_row(&row));
    }
    out
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
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    quoted.join(",") + "\n"
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
                .tests
                .iter()
                .filter(|t| t.student == student.student && &t.kata == kata)
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

/// Escapes text for XML, dropping characters XML 1.0 cannot hold (test output may have any).
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// Gradescope's `results.json` for one submission.
pub fn gradescope_json(results: &ClassResults, student: &str) -> Result<String> {
    let grade = results
        .students
        .iter()
        .find(|s| s.student == student)
        .context("the submission was not graded")?;
    let tests: Vec<_> = results
        .tests
        .iter()
        .filter(|t| t.student == student)
        .map(|t| {
            let mut output = format!(
                "{}: {}",
                t.status.label(),
                t.message.as_deref().unwrap_or("")
            );
            output.truncate(output.trim_end().len());
            json!({
                "name": format!("{} · {}", t.kata, t.test),
                "score": t.score,
                "max_score": t.max_score,
                "status": if t.status == GradeStatus::Passed { "passed" } else { "failed" },
                "output": output,
            })
        })
        .collect();
    let mut output = String::new();
    if !grade.tampered.is_empty() {
        output = format!(
            "Changed files that grading ignored: {}",
            grade.tampered.join(", ")
        );
    }
    Ok(serde_json::to_string_pretty(&json!({
        "score": grade.score,
        "output": output,
        "tests": tests,
    }))?)
}

/// Students down, katas across, each cell the kata's score.
pub fn print_summary(results: &ClassResults) {
    let width = results
        .students
        .iter()
        .map(|s| s.student.len())
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
            student.student,
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
        for file in &student.tampered {
            outln!("  {} {file}", "tampered:".red().bold());
        }
        for problem in &student.problems {
            outln!("  {} {problem}", "problem:".yellow().bold());
        }
    }
}

//! `grade` and `merge-grades`: a class's submissions in, gradebooks out.

use super::Workspace;
use crate::cli::GradeArgs;
use crate::exit;
use crate::grading::distinct::Known;
use crate::grading::results::{ClassResults, Scoring, StudentGrade};
use crate::grading::review::{self, Baseline};
use crate::grading::{class, outputs, results, session, similarity, tree};
use crate::kata::Kata;
use crate::process;
use crate::report::progress_bar::Bar;
use crate::style;
use anyhow::{bail, Context, Result};
use colored::Colorize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Pairs of submissions at least this alike are listed in similarity.csv.
const SIMILARITY_THRESHOLD: f64 = 0.8;

pub fn grade(workspace: &Workspace, args: &GradeArgs) -> Result<ExitCode> {
    if (args.gradescope.is_some() || args.classroom.is_some()) && !args.single {
        bail!("--gradescope and --classroom write one submission's results: add --single");
    }
    let katas: Vec<&Kata> = if args.katas.is_empty() {
        workspace.catalogue.katas.iter().collect()
    } else {
        args.katas
            .iter()
            .map(|k| workspace.catalogue.resolve(k))
            .collect::<Result<_>>()?
    };
    let class = class::discover(&args.submissions, args.single)?;
    let submissions: Vec<class::Submission> = match args.shard {
        Some((k, n)) => class
            .iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, s)| s.clone())
            .collect(),
        None => class.clone(),
    };
    let graded = tree::with_hidden_tests(&katas, args.hidden.as_deref())?;
    let confined = !args.unconfined;
    if confined {
        session::confinement_available().context(
            "grading runs students' code confined (Landlock and a network namespace); on a \
             machine that cannot, grade inside a throwaway VM or container and add --unconfined",
        )?;
    } else {
        style::warning(
            "--unconfined: students' code builds and runs with your rights, reads your files \
             and reaches the network. Do this only in a throwaway VM or container.",
        );
    }
    let grounds = tree::Grounds::prepare(
        &workspace.repo.root,
        &workspace.repo.target_dir(),
        args.work_dir.as_deref(),
    )?;
    // Taking the katas' snapshots runs git beside the command: it must be done before any child
    // we did not register counts as an orphan to kill.
    workspace.snapshots()?;
    process::reaper::become_subreaper()?;
    let limits = session::Limits {
        memory_limit: args.memory_limit * 1024 * 1024,
        output_cap: args.output_cap * 1024,
        time_limit: Duration::from_secs(args.time_limit),
        build_timeout: Duration::from_secs(args.build_time_limit),
        confined,
    };
    eprintln!(
        "grading {} submissions × {} katas{}",
        submissions.len(),
        katas.len(),
        if confined {
            ", confined"
        } else {
            ", UNCONFINED"
        }
    );
    let mut bar = Bar::new();
    let passed_on_handout = session::build_handout(&grounds, &graded, &mut bar)?;
    let scorings: Vec<Scoring> = katas
        .iter()
        .zip(&graded)
        .zip(&passed_on_handout)
        .map(|((released, graded), passed)| Scoring::of(released, &graded.kata, passed))
        .collect();
    let slots = tree::student_slots(&submissions);
    let mut runs = Vec::new();
    // Identical sources of a kata are built and tested once: later copies take that result.
    let mut known = Known::default();
    for (index, submission) in submissions.iter().enumerate() {
        bar.student(index + 1, submissions.len(), &submission.student);
        runs.push(session::grade_student(
            &grounds,
            &slots[index],
            submission,
            &graded,
            &limits,
            &mut known,
            &mut bar,
        )?);
    }
    bar.finish();
    drop(grounds);

    let baselines: Vec<Baseline> = katas.iter().map(|k| Baseline::of(k)).collect();
    let mut students = Vec::new();
    let mut tests = Vec::new();
    for (index, submission) in submissions.iter().enumerate() {
        let mut student = StudentGrade::new(&submission.student);
        student.problems = runs[index].problems.clone();
        student.problems.extend(submission.problem());
        for (kata_index, kata) in katas.iter().enumerate() {
            student
                .tampered
                .extend(class::tampered_files(submission, kata));
            if let Some(src) = submission.kata_sources(kata) {
                student
                    .review
                    .extend(review::review(kata, &src, &baselines[kata_index]));
            }
            let report = runs[index]
                .reports
                .iter()
                .find(|(kata, _)| *kata == kata_index)
                .map(|(_, report)| report);
            let (kata_tests, ignored) =
                results::kata_tests(&submission.student, &scorings[kata_index], report);
            tests.extend(kata_tests);
            student.ignored_tests.extend(ignored);
        }
        students.push(student);
    }
    let results = ClassResults::new(&scorings, students, tests);
    // Similarity looks at the whole class, whatever the shard: it builds nothing.
    let similar = similarity::similar_pairs(&class, &katas, SIMILARITY_THRESHOLD);
    outputs::write_all(&args.out, &results, Some(&similar))?;
    let single = || -> Result<&str> {
        Ok(&submissions
            .first()
            .context("no submission to grade")?
            .student)
    };
    if let Some(path) = &args.gradescope {
        let text = outputs::gradescope_json(&results, single()?, args.hidden_visibility)?;
        outputs::write_file(path, &text)?;
    }
    if let Some(path) = &args.classroom {
        let text = outputs::classroom_json(&results, single()?)?;
        outputs::write_file(path, &text)?;
    }
    outputs::print_summary(&results);
    outln!(
        "\n{} in {} ({} similar pairs)",
        "results".bold(),
        args.out.display(),
        similar.len()
    );
    Ok(exit::SUCCESS.into())
}

pub fn merge(shards: &[PathBuf], out: &Path) -> Result<ExitCode> {
    let results = shards
        .iter()
        .map(|dir| {
            let path = dir.join("results.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a grading result", path.display()))
        })
        .collect::<Result<Vec<ClassResults>>>()?;
    let merged = ClassResults::merge(results)?;
    outputs::write_all(out, &merged, None)?;
    let similarity = shards[0].join("similarity.csv");
    if similarity.is_file() {
        let text = std::fs::read_to_string(&similarity)
            .with_context(|| format!("cannot read {}", similarity.display()))?;
        outputs::write_file(&out.join("similarity.csv"), &text)?;
    }
    outputs::print_summary(&merged);
    outln!("\n{} in {}", "merged results".bold(), out.display());
    Ok(exit::SUCCESS.into())
}

//! `grade` and `merge-grades`: a class's submissions in, gradebooks out.

use super::{until_interrupted, Workspace};
use crate::cli::GradeArgs;
use crate::events::CrateReport;
use crate::exit;
use crate::grading::results::{ClassResults, Scoring, StudentGrade};
use crate::grading::review::{self, Baseline};
use crate::grading::{class, distinct, outputs, results, similarity, tree};
use crate::kata::Kata;
use crate::report::progress_bar::Bar;
use crate::runner::{self, Check, Options};
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
    let scorings: Vec<Scoring> = katas
        .iter()
        .zip(&graded)
        .map(|(released, graded)| Scoring::of(released, &graded.kata))
        .collect();

    // Beside the repository's build output, so compiled dependencies outlive one grading run.
    let grading_dir = workspace.repo.target_dir().join("grading");
    let temporary_work = grading_dir.join(format!("work-{}", std::process::id()));
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| temporary_work.clone());
    let tree::Layout { entries, problems } =
        tree::build(&workspace.repo.root, &work, &submissions, &graded)?;
    let same = distinct::group(&work, &entries)?;
    let checks: Vec<Check> = same
        .graded
        .iter()
        .map(|&i| {
            let e = &entries[i];
            Check {
                kata: &graded[e.kata].kata,
                package: e.package.clone(),
                dir: e.dir.clone(),
                group: Some(e.student),
            }
        })
        .collect();
    let options = Options {
        output_cap: args.output_cap * 1024,
        target_dir: Some(grading_dir.join("target")),
        memory_limit: Some(args.memory_limit * 1024 * 1024),
        group_budget: Some(Duration::from_secs(args.time_limit)),
        ..Options::new(false)
    };
    eprintln!(
        "grading {} submissions × {} katas ({} distinct kata sources to build and test)",
        submissions.len(),
        katas.len(),
        checks.len()
    );
    let mut bar = Bar::new();
    let reports = if checks.is_empty() {
        Vec::new()
    } else {
        until_interrupted(runner::check(&work, &checks, &options, &mut bar))?
    };
    bar.finish();
    // Each entry's report: its own, or that of the identical sources graded in its place, with
    // that crate's folder named as the entry's own, so no student reads another's path.
    let entry_reports: Vec<CrateReport> = (0..entries.len())
        .map(|i| {
            let graded_as = same.graded_as[i];
            let report = &reports[same
                .graded
                .iter()
                .position(|&g| g == graded_as)
                .expect("graded")];
            if graded_as == i {
                report.clone()
            } else {
                distinct::as_entry(report, &work, &entries[graded_as], &entries[i])
            }
        })
        .collect();
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&temporary_work);
    }

    let baselines: Vec<Baseline> = katas.iter().map(|k| Baseline::of(k)).collect();
    let mut students = Vec::new();
    let mut tests = Vec::new();
    for (index, submission) in submissions.iter().enumerate() {
        let mut student = StudentGrade::new(&submission.student);
        student.problems = problems
            .iter()
            .filter(|(s, _)| *s == index)
            .map(|(_, p)| p.clone())
            .collect();
        if submission.exercises.is_none() {
            student
                .problems
                .push("no exercises/ folder and no kata folders found".into());
        }
        for (kata_index, kata) in katas.iter().enumerate() {
            student
                .tampered
                .extend(class::tampered_files(submission, kata));
            if let Some(src) = submission.kata_sources(kata) {
                student
                    .review
                    .extend(review::review(kata, &src, &baselines[kata_index]));
            }
            let report = entries
                .iter()
                .position(|e| e.student == index && e.kata == kata_index)
                .map(|i| &entry_reports[i]);
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
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.classroom {
        let text = outputs::classroom_json(&results, single()?)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
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
        std::fs::copy(&similarity, out.join("similarity.csv"))?;
    }
    outputs::print_summary(&merged);
    outln!("\n{} in {}", "merged results".bold(), out.display());
    Ok(exit::SUCCESS.into())
}

//! `grade` and `merge-grades`: a class's submissions in, gradebooks out.

use super::{until_interrupted, Workspace};
use crate::cli::GradeArgs;
use crate::exit;
use crate::grading::results::{ClassResults, StudentGrade};
use crate::grading::{class, outputs, results, similarity, tree};
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
    if args.gradescope.is_some() && !args.single {
        bail!("--gradescope writes one submission's results: add --single");
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

    // Beside the repository's build output, so compiled dependencies outlive one grading run.
    let grading_dir = workspace.repo.target_dir().join("grading");
    let temporary_work = grading_dir.join(format!("work-{}", std::process::id()));
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| temporary_work.clone());
    let tree::Layout { entries, problems } =
        tree::build(&workspace.repo.root, &work, &submissions, &graded)?;
    let checks: Vec<Check> = entries
        .iter()
        .map(|e| Check {
            kata: &graded[e.kata].kata,
            package: e.package.clone(),
            dir: e.dir.clone(),
            group: Some(e.student),
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
        "grading {} submissions × {} katas",
        submissions.len(),
        katas.len()
    );
    let mut bar = Bar::new();
    let reports = if checks.is_empty() {
        Vec::new()
    } else {
        until_interrupted(runner::check(&work, &checks, &options, &mut bar))?
    };
    bar.finish();
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&temporary_work);
    }

    let mut students = Vec::new();
    let mut tests = Vec::new();
    for (index, submission) in submissions.iter().enumerate() {
        let mut student = StudentGrade {
            student: submission.student.clone(),
            score: 0,
            max_score: 0,
            katas: Default::default(),
            tampered: Vec::new(),
            problems: problems
                .iter()
                .filter(|(s, _)| *s == index)
                .map(|(_, p)| p.clone())
                .collect(),
        };
        if submission.exercises.is_none() {
            student
                .problems
                .push("no exercises/ folder and no kata folders found".into());
        }
        for (kata_index, kata) in graded.iter().map(|g| &g.kata).enumerate() {
            student
                .tampered
                .extend(class::tampered_files(submission, kata));
            let report = entries
                .iter()
                .position(|e| e.student == index && e.kata == kata_index)
                .map(|i| &reports[i]);
            tests.extend(results::kata_tests(&submission.student, kata, report));
        }
        students.push(student);
    }
    let graded_katas: Vec<&Kata> = graded.iter().map(|g| &g.kata).collect();
    let results = ClassResults::new(&graded_katas, students, tests);
    // Similarity looks at the whole class, whatever the shard: it builds nothing.
    let similar = similarity::similar_pairs(&class, &katas, SIMILARITY_THRESHOLD);
    outputs::write_all(&args.out, &results, Some(&similar))?;
    if let Some(path) = &args.gradescope {
        let student = &submissions
            .first()
            .context("no submission to grade")?
            .student;
        std::fs::write(path, outputs::gradescope_json(&results, student)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
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

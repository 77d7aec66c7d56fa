//! The grading workspace: one crate per student and kata, made of the instructor's pristine kata
//! (manifest, tests, hidden tests) with only the student's `src/` laid over it.
//!
//! Every crate gets a package name of its own (`grade-<student>-<kata>`), so the whole class
//! builds in one cargo invocation, in parallel, and shares one set of compiled dependencies.
//! The instructor's solutions are never part of it.

use super::class::Submission;
use crate::kata::Kata;
use crate::snapshots::{copy_tree, walk};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Hidden tests of one kata: `HIDDEN/NN-slug/*.rs`, with `HIDDEN/NN-slug/hidden.toml` giving
/// each test's points in a `[tests]` table, as in `kata.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HiddenPoints {
    tests: BTreeMap<String, u32>,
}

/// A kata as graded: its metadata with the hidden tests added, and the files of those tests.
pub struct GradedKata {
    pub kata: Kata,
    hidden_files: Vec<PathBuf>,
}

/// Adds the hidden tests found under `hidden` (if any) to each kata.
pub fn with_hidden_tests(katas: &[&Kata], hidden: Option<&Path>) -> Result<Vec<GradedKata>> {
    katas
        .iter()
        .map(|&kata| {
            let mut graded = GradedKata {
                kata: kata.clone(),
                hidden_files: Vec::new(),
            };
            let Some(dir) = hidden.map(|h| h.join(&kata.name)).filter(|d| d.is_dir()) else {
                return Ok(graded);
            };
            let points_file = dir.join("hidden.toml");
            let text = fs::read_to_string(&points_file).with_context(|| {
                format!(
                    "hidden tests need {} naming each test's points",
                    points_file.display()
                )
            })?;
            let points: HiddenPoints = toml::from_str(&text)
                .with_context(|| format!("{} is not valid", points_file.display()))?;
            for name in points.tests.keys() {
                if kata.meta.tests.contains_key(name) {
                    bail!(
                        "hidden test `{name}` of {} has the name of a released test",
                        kata.name
                    );
                }
            }
            graded.kata.meta.tests.extend(points.tests);
            graded.hidden_files = walk(&dir)?
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "rs"))
                .collect();
            Ok(graded)
        })
        .collect()
}

/// One crate of the grading workspace.
pub struct Entry {
    pub student: usize,
    pub kata: usize,
    pub package: String,
    pub dir: PathBuf,
}

/// The grading workspace as laid out.
pub struct Layout {
    pub entries: Vec<Entry>,
    /// Problems met with a student's files, by student: one broken folder costs only its owner.
    pub problems: Vec<(usize, String)>,
}

/// Lays out the grading workspace at `root`, replacing whatever was there.
pub fn build(
    repo_root: &Path,
    root: &Path,
    submissions: &[Submission],
    katas: &[GradedKata],
) -> Result<Layout> {
    clear_grading_dir(root)?;
    let slots = student_slots(submissions);
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (student, submission) in submissions.iter().enumerate() {
        for (index, graded) in katas.iter().enumerate() {
            let Some(src) = submission.kata_sources(&graded.kata) else {
                continue;
            };
            // Without it cargo could not even load the workspace, for anyone.
            if !src.join("lib.rs").is_file() {
                problems.push((
                    student,
                    format!("{}: src/lib.rs is missing", graded.kata.name),
                ));
                continue;
            }
            let dir = root
                .join("students")
                .join(&slots[student])
                .join(&graded.kata.name);
            let package = format!("grade-{}-{}", slots[student], graded.kata.name);
            if let Err(err) = lay_out_crate(graded, &src, &dir, &package) {
                problems.push((student, format!("{}: {err:#}", graded.kata.name)));
                let _ = fs::remove_dir_all(&dir);
                continue;
            }
            entries.push(Entry {
                student,
                kata: index,
                package,
                dir,
            });
        }
    }
    write_workspace_manifest(repo_root, root)?;
    let lock = repo_root.join("Cargo.lock");
    if lock.is_file() {
        fs::copy(&lock, root.join("Cargo.lock"))?;
    }
    Ok(Layout { entries, problems })
}

fn lay_out_crate(graded: &GradedKata, student_src: &Path, dir: &Path, package: &str) -> Result<()> {
    let pristine = &graded.kata.exercise_dir;
    let mut manifest: toml::Table =
        toml::from_str(&fs::read_to_string(pristine.join("Cargo.toml"))?)?;
    let package_table = manifest
        .get_mut("package")
        .and_then(|p| p.as_table_mut())
        .context("the kata's manifest has no [package]")?;
    package_table.insert("name".into(), package.into());
    fs::create_dir_all(dir)?;
    fs::write(dir.join("Cargo.toml"), toml::to_string(&manifest)?)?;
    copy_tree(&pristine.join("tests"), &dir.join("tests"))?;
    for file in &graded.hidden_files {
        let name = file
            .file_name()
            .expect("a file has a name")
            .to_string_lossy();
        fs::copy(file, dir.join("tests").join(format!("hidden_{name}")))?;
    }
    // Only the student's sources, and only Rust files: nothing else of theirs is built.
    for file in walk(student_src)? {
        let relative = file.strip_prefix(student_src).expect("walked inside");
        if file.extension().is_some_and(|e| e == "rs") {
            let target = dir.join("src").join(relative);
            fs::create_dir_all(target.parent().expect("a file has a parent"))?;
            fs::copy(&file, &target)?;
        }
    }
    Ok(())
}

/// Marks a folder as a grading workspace, which a later run may clear.
const MARKER: &str = ".kata-grading-workspace";

/// Empties `root` for a new layout, but only if it is a grading workspace or empty: a mistyped
/// `--work-dir` must never delete anyone's files.
fn clear_grading_dir(root: &Path) -> Result<()> {
    let is_empty = |dir: &Path| fs::read_dir(dir).is_ok_and(|mut e| e.next().is_none());
    if root.exists() {
        if !root.join(MARKER).is_file() && !is_empty(root) {
            bail!(
                "{} is not empty and not a grading workspace: choose another --work-dir",
                root.display()
            );
        }
        fs::remove_dir_all(root).with_context(|| format!("cannot clear {}", root.display()))?;
    }
    fs::create_dir_all(root)?;
    fs::write(
        root.join(MARKER),
        "made by `cargo kata grade`; cleared by the next run\n",
    )?;
    Ok(())
}

/// The instructor's workspace manifest, with the students' crates as its only members.
fn write_workspace_manifest(repo_root: &Path, root: &Path) -> Result<()> {
    let mut manifest: toml::Table =
        toml::from_str(&fs::read_to_string(repo_root.join("Cargo.toml"))?)?;
    let workspace = manifest
        .get_mut("workspace")
        .and_then(|w| w.as_table_mut())
        .context("the repository's Cargo.toml has no [workspace]")?;
    workspace.insert(
        "members".into(),
        toml::Value::Array(vec!["students/*/*".into()]),
    );
    workspace.remove("default-members");
    fs::create_dir_all(root.join("students"))?;
    fs::write(root.join("Cargo.toml"), toml::to_string(&manifest)?)?;
    Ok(())
}

/// A folder and package-name part for each student: lowercase letters, digits and dashes,
/// unique even when two names clean up to the same thing.
fn student_slots(submissions: &[Submission]) -> Vec<String> {
    let mut taken = HashSet::new();
    submissions
        .iter()
        .map(|s| {
            let cleaned: String = s
                .student
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let base = format!("s-{}", cleaned.trim_matches('-'));
            let slot = (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|c| !taken.contains(c));
            let slot = slot.expect("some suffix is free");
            taken.insert(slot.clone());
            slot
        })
        .collect()
}

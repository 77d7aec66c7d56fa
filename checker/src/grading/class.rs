//! The submissions of a class: one folder per student, each a copy of the repository (or of its
//! `exercises/`) as the student left it; what each holds of each kata; and what they changed
//! that they should not have.

use crate::kata::Kata;
use crate::snapshots::walk;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Submission {
    pub student: String,
    /// The folder holding the student's `NN-slug/` kata folders, if one was found.
    pub exercises: Option<PathBuf>,
}

impl Submission {
    /// The student's `src/` of a kata, when they handed it in.
    pub fn kata_sources(&self, kata: &Kata) -> Option<PathBuf> {
        let src = self.exercises.as_ref()?.join(&kata.name).join("src");
        src.is_dir().then_some(src)
    }
}

/// Every submission under `dir` (one per sub-folder, sorted by name), or `dir` itself as the
/// only one when `single`.
pub fn discover(dir: &Path, single: bool) -> Result<Vec<Submission>> {
    if !dir.is_dir() {
        bail!("{} is not a folder of submissions", dir.display());
    }
    if single {
        let student = dir
            .canonicalize()?
            .file_name()
            .map_or("submission".into(), |n| n.to_string_lossy().into_owned());
        return Ok(vec![submission(student, dir)]);
    }
    // Every entry must be a student's folder: a stray file or link is a mistake in how the
    // class was collected, and grading round it would hide a student or grade the wrong thing.
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        if kind.is_dir() {
            folders.push(entry.path());
        } else {
            let what = if kind.is_symlink() {
                "a symbolic link"
            } else {
                "a file"
            };
            bail!(
                "{} is {what}, not a student's folder: a folder of submissions holds one folder \
                 per student and nothing else (move it out, or grade one submission with --single)",
                entry.path().display()
            );
        }
    }
    if folders.is_empty() {
        bail!(
            "{} holds no student folders: nothing to grade (one folder per student, each a copy \
             of the repository or of its exercises/)",
            dir.display()
        );
    }
    folders.sort();
    Ok(folders
        .iter()
        .map(|f| {
            submission(
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                f,
            )
        })
        .collect())
}

fn submission(student: String, root: &Path) -> Submission {
    let exercises = if root.join("exercises").is_dir() {
        Some(root.join("exercises"))
    } else if looks_like_exercises(root) {
        Some(root.to_path_buf())
    } else {
        None
    };
    Submission { student, exercises }
}

/// A folder that holds kata folders directly (`01-lazy-futures/src/...`).
fn looks_like_exercises(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.split('-')
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok())
                && entry.path().join("src").is_dir()
        })
}

/// The files a student must not change, when theirs differ from the released ones (by
/// sha256), or were added: tests, the manifest, a build script.
pub fn tampered_files(submission: &Submission, kata: &Kata) -> Vec<String> {
    let Some(exercises) = &submission.exercises else {
        return Vec::new();
    };
    let theirs = exercises.join(&kata.name);
    if !theirs.is_dir() {
        return Vec::new();
    }
    let mut changed = Vec::new();
    for entry in ["tests", "Cargo.toml", "build.rs"] {
        for file in walk(&theirs.join(entry)).unwrap_or_default() {
            let relative = file.strip_prefix(&theirs).unwrap_or(&file);
            let released = kata.exercise_dir.join(relative);
            let verdict = match (digest(&file), digest(&released)) {
                (Some(a), Some(b)) if a == b => continue,
                (_, None) => "added",
                _ => "changed",
            };
            changed.push(format!(
                "exercises/{}/{} ({verdict})",
                kata.name,
                relative.display()
            ));
        }
    }
    changed
}

fn digest(path: &Path) -> Option<[u8; 32]> {
    let bytes = std::fs::read(path).ok()?;
    Some(Sha256::digest(bytes).into())
}

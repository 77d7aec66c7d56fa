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
    /// Why the submission's `exercises/` was refused (it is a symbolic link).
    refused: Option<String>,
}

/// What a submission holds of one kata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KataFolder {
    /// Nothing: the kata was not handed in.
    Missing,
    /// A symbolic link where the kata's folder or its `src/` should be, refused with why: it
    /// would grade whatever it points at (the reference solution, a classmate's folder) as the
    /// student's own code.
    Refused(String),
    /// The student's `src/` of the kata, a real folder inside a real kata folder.
    Sources(PathBuf),
}

impl Submission {
    /// The student's `src/` of a kata, when they handed it in as real folders.
    pub fn kata_sources(&self, kata: &Kata) -> Option<PathBuf> {
        match self.kata_folder(kata) {
            KataFolder::Sources(src) => Some(src),
            KataFolder::Missing | KataFolder::Refused(_) => None,
        }
    }

    /// What the student handed in of a kata. Links are never followed: neither the kata's folder
    /// nor its `src/` may be one (`exercises/` itself was judged when the submission was found).
    pub fn kata_folder(&self, kata: &Kata) -> KataFolder {
        let Some(exercises) = &self.exercises else {
            return KataFolder::Missing;
        };
        let folder = exercises.join(&kata.name);
        let src = folder.join("src");
        for (path, shown) in [(&folder, "its folder"), (&src, "src/")] {
            match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return KataFolder::Refused(format!(
                        "{shown} is a symbolic link: refused (only real folders are graded)"
                    ));
                }
                Ok(meta) if meta.is_dir() => {}
                _ => return KataFolder::Missing,
            }
        }
        KataFolder::Sources(src)
    }

    /// What is wrong with the submission as a whole: its `exercises/` was refused, or it holds
    /// no kata at all.
    pub fn problem(&self) -> Option<String> {
        if let Some(why) = &self.refused {
            return Some(why.clone());
        }
        self.exercises
            .is_none()
            .then(|| "no exercises/ folder and no kata folders found".to_string())
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

/// The student's folder of kata folders: `root/exercises/`, or `root` itself when it holds kata
/// folders directly. An `exercises` that is a symbolic link (to the instructor's `solutions/`,
/// say) is refused, never followed.
fn submission(student: String, root: &Path) -> Submission {
    let nested = root.join("exercises");
    let (exercises, refused) = match std::fs::symlink_metadata(&nested) {
        Ok(meta) if meta.file_type().is_symlink() => (
            None,
            Some("exercises/ is a symbolic link: refused (only real folders are graded)".into()),
        ),
        Ok(meta) if meta.is_dir() => (Some(nested), None),
        _ if looks_like_exercises(root) => (Some(root.to_path_buf()), None),
        _ => (None, None),
    };
    Submission {
        student,
        exercises,
        refused,
    }
}

/// A folder that holds kata folders directly (`01-lazy-futures/src/...`). A link named like a
/// kata counts too, without being followed, so that it is refused and reported as such.
fn looks_like_exercises(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let kata_like = name
                .split('-')
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok());
            let folder = entry.file_type().is_ok_and(|kind| {
                kind.is_symlink()
                    || (kind.is_dir()
                        && std::fs::symlink_metadata(entry.path().join("src"))
                            .is_ok_and(|m| m.is_dir() || m.file_type().is_symlink()))
            });
            kata_like && folder
        })
}

/// The files a student must not change, when theirs differ from the released ones (by
/// sha256), or were added: tests, the manifest, a build script.
pub fn tampered_files(submission: &Submission, kata: &Kata) -> Vec<String> {
    let Some(exercises) = &submission.exercises else {
        return Vec::new();
    };
    let theirs = exercises.join(&kata.name);
    // A link is refused, not graded: nothing of what it points at is the student's.
    if !std::fs::symlink_metadata(&theirs).is_ok_and(|m| m.is_dir()) {
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
